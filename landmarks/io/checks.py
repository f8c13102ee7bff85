"""Checks every landmark reader shares: readable UTF-8 JSON, points on the image, endplates of non-zero length.

The name test of a 3D Slicer markups file is here too: the door that picks a reader by name
(:mod:`~spinecheck.landmarks.io.read`) loads the Slicer reader only for a Slicer file.

Each check raises one line that names the file (*where*), the point and what was expected.
"""

from __future__ import annotations

import functools
import json
import operator
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DegenerateGeometryError, InvalidLandmarksError
from ..points.model import ImageRef, LandmarkSet
from ..points.names import View

__all__ = [
    "MAX_LANDMARK_FILE_BYTES",
    "SLICER_SUFFIX",
    "is_slicer_markups",
    "read_json_text",
    "check_same_image",
    "check_inside_image",
    "check_endplates",
    "format_xy",
    "landmarks_where",
]


#: The largest landmark file read. A file of every point, circle, provenance and
#: confidence is under 20 kB; a wide CSV of 100 000 studies is read by its own reader.
MAX_LANDMARK_FILE_BYTES = 16 << 20
#: The file name ending of a Slicer markups file (Slicer also reads a plain ``.json``).
SLICER_SUFFIX = ".mrk.json"


def is_slicer_markups(path: str | os.PathLike[str]) -> bool:
    """Tell a Slicer markups file by its name: it ends in ``.mrk.json`` (any case).

    >>> is_slicer_markups("case.MRK.json"), is_slicer_markups("case.json")
    (True, False)
    """
    return os.fspath(path).lower().endswith(SLICER_SUFFIX)


def landmarks_where(path: str) -> str:
    """How messages name a landmark file: ``landmarks file 'a.json'``."""
    return f"landmarks file {path!r}"


def _read_at_most(f: Any, most: int) -> bytes:
    """The first *most* bytes of the open file *f* (all of it when shorter), as ``f.read(most)``.

    ``f.read(most)`` allocates *most* bytes before it reads (16 MiB for a landmark file of a few
    kilobytes: some 30 µs a file, issue 17, 4); this asks for the size the file says it has, and
    for the rest only where there is more (a file that grew, a pipe whose size reads 0).
    """
    asked = min(os.fstat(f.fileno()).st_size, most - 1) + 1
    data = f.read(asked)
    if len(data) == asked < most:  # a byte more than the size said: read on, up to *most*
        data += f.read(most - asked)
    return data


def read_json_text(
    path: str,
    where: str,
    expected: str,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """The decoded JSON of the file at *path*; each failure one line naming *where*.

    *expected* says what the file should be (``"a spinecheck-landmarks/1 JSON
    file"``) when it is not UTF-8 text.
    """
    try:
        with open(path, "rb") as f:
            data = _read_at_most(f, MAX_LANDMARK_FILE_BYTES + 1)
    except OSError as e:
        raise InvalidLandmarksError(f"{where}: cannot be read: {e.strerror or e}") from None
    if len(data) > MAX_LANDMARK_FILE_BYTES:
        raise InvalidLandmarksError(
            f"{where}: is larger than {MAX_LANDMARK_FILE_BYTES >> 20} MiB; a landmark file is a few kilobytes "
            f"(expected {expected})"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidLandmarksError(
            f"{where}: is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); expected {expected}"
        ) from None
    try:
        if object_pairs_hook is None:
            return json.loads(text)
        if text.startswith("\ufeff"):  # what json.loads says of a text that begins with a BOM (a second one)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _decoder(object_pairs_hook).decode(text)
    except json.JSONDecodeError as e:
        raise InvalidLandmarksError(
            f"{where}: is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except RecursionError:
        raise InvalidLandmarksError(f"{where}: is not valid JSON: nested too deeply") from None


@functools.lru_cache(maxsize=8)
def _decoder(object_pairs_hook: Callable[[list[tuple[str, Any]]], Any]) -> json.JSONDecoder:
    """One decoder for each hook, made once: ``json.loads`` with a hook makes a decoder (and its scanner) a call.

    Some 5-15 us of a landmark file's 100-150 us decode, every study of a batch (issue 17, 4).
    """
    return json.JSONDecoder(object_pairs_hook=object_pairs_hook)


def check_same_image(landmarks: LandmarkSet, image: ImageRef, where: str, *, advice: str = "") -> None:
    """Refuse an image that is not the one *landmarks* were placed on.

    The landmark file's declared SOP Instance UID and size must match the
    image's (when both sides know them) and every point must lie on the
    image: applying another film's calibration, age or pixels to these
    points would be silently wrong.

    Parameters
    ----------
    landmarks : LandmarkSet
        Its ``image`` reference is what the file declares.
    image : ImageRef
        The image at hand (``Radiograph.image_ref``).
    where : str
        Prefix of the message, e.g. ``"landmarks file 'a.json'"``.
    advice : str
        Appended to the message: the way out (e.g. ``"; choose another output with -o"``).

    Raises
    ------
    InvalidLandmarksError

    Examples
    --------
    >>> s = LandmarkSet("ap", {"C7.centroid": (10, 10)}, image=ImageRef(sop_instance_uid="1.2"))
    >>> check_same_image(s, ImageRef("b.dcm", "1.3", 100, 50), "landmarks file 'a.json'")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'a.json': were placed on the image with SOP ...
    """
    declared = landmarks.image
    name = f"'{image.path}'" if image.path else "this image"
    if (
        declared.sop_instance_uid
        and image.sop_instance_uid
        and declared.sop_instance_uid != image.sop_instance_uid
    ):
        raise InvalidLandmarksError(
            f"{where}: were placed on the image with SOP Instance UID {declared.sop_instance_uid}, "
            f"not on {name} ({image.sop_instance_uid}){advice}"
        )
    for what, said, actual in (
        ("rows", declared.rows, image.rows),
        ("columns", declared.columns, image.columns),
    ):
        if said is not None and actual is not None and said != actual:
            raise InvalidLandmarksError(
                f"{where}: declares an image of {said} {what}, but {name} has {actual}; "
                f"it belongs to another film{advice}"
            )
    check_inside_image(landmarks.points, image.rows, image.columns, where, image=image.path)


def check_inside_image(
    points: Mapping[str, tuple[float, float]],
    rows: int | None,
    columns: int | None,
    where: str,
    image: str | None = None,
) -> None:
    """Raise when a point lies outside the image.

    Pixel centres run from 0 to ``columns - 1`` (x) and ``rows - 1`` (y);
    the image covers half a pixel more on each side, so the valid ranges
    are ``-0.5 <= x <= columns - 0.5`` and ``-0.5 <= y <= rows - 0.5``. An
    unknown size (None) is not checked.

    Raises
    ------
    InvalidLandmarksError
        Names the first point outside and how many others are.
    """
    if rows is None and columns is None:
        return
    if rows is not None and columns is not None:
        # both edges known (nearly every film): one pass with the bounds made once, and the list below
        # only when a point lies outside; it made them and tested both for None at every point, twice
        # as long, and a batch checks each film twice (issue 17, 4)
        x_end, y_end = columns - 0.5, rows - 0.5
        for x, y in points.values():
            if not (-0.5 <= x <= x_end and -0.5 <= y <= y_end):
                break
        else:
            return
    outside = [
        name
        for name, (x, y) in points.items()
        if (columns is not None and not -0.5 <= x <= columns - 0.5)
        or (rows is not None and not -0.5 <= y <= rows - 0.5)
    ]
    if not outside:
        return
    size = f"{columns if columns is not None else '?'} x {rows if rows is not None else '?'} px"
    of = f" of {image!r}" if image else ""
    more = (
        f" (and {len(outside) - 1} more point{'s' if len(outside) > 2 else ''})" if len(outside) > 1 else ""
    )
    first = outside[0]
    raise InvalidLandmarksError(
        f'{where}: point "{first}" {format_xy(points[first])} lies outside the image{of} '
        f"({size}; x from -0.5 to {_fmt_edge(columns)}, y from -0.5 to {_fmt_edge(rows)}){more}"
    )


def check_endplates(points: Mapping[str, tuple[float, float]], view: View | str, where: str) -> None:
    """Raise when the two corners of one endplate are at the same position.

    Raises
    ------
    DegenerateGeometryError
        Names both points.
    """
    view = View.parse(view)
    a, b = ("ant", "post") if view is View.LATERAL else ("left", "right")
    # the endplates' first corners among the names, found by set operations on the names seen before
    # (a batch's films name the same points): a test per point cost some 20 µs a film (issue 17, 4)
    partners, seen = _ENDPLATE_PARTNERS[view], _ENDPLATE_NAMES_SEEN[view]
    names = points.keys()
    new = names - seen
    if new:
        if len(seen) > _ENDPLATE_NAMES_MOST:
            partners.clear()
            seen.clear()
        for name in new:
            if name.endswith("." + a):
                partners[name] = name[: -len(a)] + b
        seen.update(new)
    firsts = names & partners.keys()
    corners = map(points.__getitem__, firsts)
    others = map(points.get, map(partners.__getitem__, firsts))
    if not any(map(operator.eq, corners, others)):
        return
    suffix = "." + a  # which endplate the message names: the first in the points' order
    for name, xy in points.items():
        if not name.endswith(suffix):
            continue
        other = name[: -len(a)] + b
        if points.get(other) == xy:
            raise DegenerateGeometryError(
                f'{where}: endplate {name[: -len(a) - 1]} has zero length: points "{name}" and '
                f'"{other}" are both at {format_xy(xy)}; one of them is misplaced'
            )


#: Per view, the names of endplates' first corners seen (left on AP, ant on lateral), with their partners.
_ENDPLATE_PARTNERS: dict[View, dict[str, str]] = {view: {} for view in View}
#: Per view, every point name :func:`check_endplates` has looked at; emptied past this many.
_ENDPLATE_NAMES_SEEN: dict[View, set[str]] = {view: set() for view in View}
_ENDPLATE_NAMES_MOST = 10_000


def format_xy(xy: tuple[float, float]) -> str:
    """A point as messages show it: ``[12.5, 7]``."""
    return f"[{xy[0]:.10g}, {xy[1]:.10g}]"


def _fmt_edge(n: int | None) -> str:
    return "?" if n is None else f"{n - 0.5:g}"
