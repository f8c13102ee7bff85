"""3D Slicer markups (``.mrk.json`` point lists) read and written as landmark sets.

Annotation teams place points in 3D Slicer's Markups module; a point list saved from it is a
``.mrk.json`` file. :func:`read_slicer_markups` reads one as a
:class:`~spinecheck.landmarks.points.model.LandmarkSet`, and :func:`write_slicer_markups`
writes a landmark set as a file 3D Slicer opens as a point list over the same film, so an
annotation made in either tool is measured or corrected in the other.

The file (Slicer's markups JSON schema, ``markups-schema-v1.0.3.json``, the version Slicer writes):

- ``"@schema"``: the schema's URL; Slicer reads any ``markups-schema-v1.<minor>.<patch>.json``.
- ``"markups"``: a list of markups nodes. Each point list (``"type": "Fiducial"``) is read, several
  merged (a name given twice is refused); lines, angles, curves, planes and ROIs are not landmarks
  and are left out with a warning.
- ``"coordinateSystem"``: ``"LPS"`` (the default, what Slicer writes) or ``"RAS"``;
  ``"coordinateUnits"``: ``"mm"`` (default) or ``"um"``, or the coded form ``["mm", "UCUM", ...]``.
- ``"controlPoints"``: each point's ``"label"`` is its spinecheck name (``S1.sup.ant``, valid for
  the film's view, case-sensitive) and ``"position"`` its ``[x, y, z]``. Only points whose
  ``"positionStatus"`` is ``"defined"`` (or absent) are placed; ``"undefined"`` and ``"preview"``
  points are not there yet and are left out.

Coordinates. Slicer gives positions in patient space, millimetres, not pixels: it shows a film
where ITK places it (:class:`~spinecheck.landmarks.points.plane.ImagePlane`: origin, directions
and spacing from the DICOM header by GDCM's rules, or at 1 mm per pixel from the top-left pixel
for a PNG), and RAS is LPS with x and y negated. So reading a markup needs the film, or its
geometry another way, in this order:

1. *image*: the film (a :class:`~spinecheck.landmarks.imaging.radiograph.Radiograph` or its
   :class:`~spinecheck.landmarks.imaging.header.RadiographHeader`; this room sits below the
   image loaders and never opens a film itself) and the plane ITK gives it;
2. the plane spinecheck recorded in the file when it wrote it (below);
3. *mm_per_px*: a ``(row, col)`` spacing, taken as a film at the origin with the identity
   directions (how Slicer shows a DICOM film without position); a warning says so.

Without any of them the file is refused. A position must lie on the film's plane: more than
0.5 mm off it (half the 1 mm slice ITK gives a 2-D image) is refused, naming the control point.
The spacing that places the points is not a calibration: what a millimetre measures is decided
as for any landmark file (clinical.md §4), and when Slicer's spacing differs from the one
spinecheck measures with (a DX film's Imager and calibrated Pixel Spacing) a warning says so.
Slicer's "Center volume" loading option moves the film; points placed on a centred film do not
fit it.

Writing. :func:`write_slicer_markups` writes one point list in LPS millimetres, the coordinate
system Slicer itself writes and DICOM's own, every placed point a ``"defined"`` control point
labelled with its name. Beside the points, the markup carries a ``"spinecheck"`` block (the
schema allows further properties): the view, the image reference, patient, calibration and side
of the landmark set, and the plane the points were placed with, so spinecheck reads its own file
back without the film. Slicer keeps only the points when it saves the file again; the view then
comes from the names (a corner ``ant``/``post`` is lateral, ``left``/``right`` AP) or the film,
the rest from the film or the command line. Circles' radii, the refinement record and skipped
points have no place in a point list and are left out (the writer says which).

References
----------
3D Slicer, Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json and
MRML/vtkMRMLMarkupsJsonStorageNode.cxx (the accepted schema versions, LPS/RAS, units, the
default and meaning of ``positionStatus``). ITK and GDCM for the image plane: see
:mod:`spinecheck.landmarks.points.plane`.

Examples
--------
>>> import json, os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "case.mrk.json")
>>> with open(p, "w") as f:
...     json.dump({"@schema": SLICER_SCHEMA, "markups": [{"type": "Fiducial", "coordinateSystem": "RAS",
...         "controlPoints": [{"label": "S1.sup.ant", "position": [-16.2, -53.05, 0.0]},
...                           {"label": "S1.sup.post", "position": [-14.55, -52.48, 0.0]}]}]}, f)
>>> read_slicer_markups(p, mm_per_px=(0.02, 0.02)).points["S1.sup.ant"]
(810.0, 2652.5)
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import InvalidArgumentError, InvalidLandmarksError, shorten
from ..points.calibration import Calibration, check_spacing
from ..points.model import ImageRef, LandmarkSet
from ..points.names import View, check_point_name, closest_point_names, parse_point_name
from ..points.plane import ImagePlane
from .atomic import write_text_atomic
from .checks import SLICER_SUFFIX, check_same_image, is_slicer_markups, read_json_text
from .landmark_file import FORMAT, landmarks_to_json, landmarks_where, parse_landmarks

__all__ = [
    "SLICER_SUFFIX",
    "SLICER_SCHEMA",
    "OFF_PLANE_TOLERANCE_MM",
    "SlicerFilm",
    "is_slicer_markups",
    "read_slicer_markups",
    "parse_slicer_markups",
    "slicer_markups_to_json",
    "write_slicer_markups",
]

#: The schema URL Slicer writes (and so does spinecheck); Slicer reads any v1 minor and patch.
SLICER_SCHEMA = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/"
    "Schema/markups-schema-v1.0.3.json#"
)
#: How far (mm) a control point may lie off the film's plane: half the 1 mm slice of a 2-D image.
OFF_PLANE_TOLERANCE_MM = 0.5

_SCHEMA_RE = re.compile(r"markups-schema-v1\.[0-9]+\.[0-9]+\.json#*$", re.IGNORECASE)
_BLOCK = "spinecheck"
#: Point-by-point records a point list has no place for (left out of the "spinecheck" block).
_NOT_KEPT = {
    "circles": "circle radii",
    "refinement": "the refinement record",
    "skipped": "the skipped points",
}
_UNITS = {"mm": 1.0, "um": 0.001}
_STATUSES = ("defined", "preview", "undefined")


class SlicerFilm(Protocol):
    """What this module reads of a film: a Radiograph or a RadiographHeader has it all."""

    @property
    def plane(self) -> ImagePlane: ...

    @property
    def image_ref(self) -> ImageRef: ...

    @property
    def view(self) -> View | None: ...

    @property
    def calibration(self) -> Calibration: ...


# ----------------------------------------------------------------------------------------------- reading


def read_slicer_markups(
    path: str | os.PathLike[str],
    *,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
    view: View | str | None = None,
) -> LandmarkSet:
    """Read a 3D Slicer markups file (``.mrk.json``) as the landmarks of one film.

    Parameters
    ----------
    path : str or path-like
    image : Radiograph or RadiographHeader, optional
        The film the points were placed on: where Slicer shows its pixels (its
        :class:`~spinecheck.landmarks.points.plane.ImagePlane`), its size and its view.
    mm_per_px : (row, col), optional
        The spacing Slicer showed the film at, used only when neither *image* nor the file
        tells where the pixels are (a film at the origin, identity directions).
    view : {"lateral", "ap"}, optional
        The film's view. Otherwise: the file's ``"spinecheck"`` block, else the point names
        (corners ``ant``/``post`` or ``left``/``right``), else *image*'s header.

    Returns
    -------
    LandmarkSet
        Points as ``(x, y)`` pixels; ``source`` is *path*; ``warnings`` say what was assumed
        or left out.

    Raises
    ------
    InvalidLandmarksError
        The file is unreadable or not a markups file, a label is not a valid point name (the
        closest names listed) or is given twice, a position is malformed or off the film's
        plane, the geometry is unknown, or the points do not fit *image*. The message names
        the file, the markup and the control point.
    InvalidArgumentError
        *view* or *mm_per_px* is malformed.
    """
    _film_argument(image)  # arguments before the file: a wrong call is told as such
    _spacing_argument(mm_per_px)
    name = os.fspath(path)
    where = landmarks_where(name)
    return parse_slicer_markups(
        read_json_text(name, where, "a 3D Slicer markups JSON file"),
        where=where,
        source=name,
        image=image,
        mm_per_px=mm_per_px,
        view=view,
    )


def parse_slicer_markups(
    obj: Any,
    *,
    where: str = "markups",
    source: str | None = None,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
    view: View | str | None = None,
) -> LandmarkSet:
    """Validate a decoded markups object and place its points on the film's pixels.

    The core of :func:`read_slicer_markups` (see there), usable on a dict; *where* prefixes
    every message.

    Examples
    --------
    >>> doc = {"@schema": SLICER_SCHEMA, "markups": [{"type": "Fiducial", "controlPoints": [
    ...     {"label": "C7.centroid", "position": [10.0, 20.0, 0.0]}]}]}
    >>> parse_slicer_markups(doc, mm_per_px=(0.5, 0.5), view="ap").points
    mappingproxy({'C7.centroid': (20.0, 40.0)})
    >>> doc["markups"][0]["controlPoints"][0]["label"] = "C7.center"
    >>> parse_slicer_markups(doc, where="a.mrk.json", mm_per_px=(0.5, 0.5), view="ap")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: a.mrk.json: markup 1, control point 1: unknown point \
name 'C7.center'; did you mean 'C7.centroid', ...
    """
    spacing = _spacing_argument(mm_per_px)
    _film_argument(image)
    chosen_view = None if view is None else View.parse(view, argument="view")
    warnings: list[str] = []
    lists, block = _point_lists(obj, where, warnings)
    placed = [p for markup in lists for p in _placed_points(markup, where)]
    film_view = image.view if image is not None else None
    the_view = _view(chosen_view, block, placed, film_view, where, warnings)
    seen: dict[str, str] = {}
    for label, at, _ in placed:
        check_point_name(label, the_view, where=f"{where}: {at}")
        if label in seen:
            raise InvalidLandmarksError(
                f'{where}: {at} is labelled "{label}", as {seen[label]} is; each point is placed once '
                "(rename or delete one in Slicer)"
            )
        seen[label] = at
    recorded = None
    if block is not None and "plane" in block:
        recorded = ImagePlane.from_json(block["plane"], where=f'{where}: "spinecheck.plane"')
    plane = _plane(image, recorded, spacing, where, warnings)
    xy = np.empty((0, 2))
    if placed:
        xy, off = plane.to_pixels(np.array([lps for _, _, lps in placed]))
        far = np.flatnonzero(np.abs(off) > OFF_PLANE_TOLERANCE_MM)
        if far.size:
            label, at, _ = placed[far[0]]
            raise InvalidLandmarksError(
                f'{where}: {at} ("{label}") lies {off[far[0]]:+.3g} mm off the film\'s plane (at most '
                f"{OFF_PLANE_TOLERANCE_MM:g} mm on a 2-D film); was it placed on another volume or in the 3-D view?"
            )
    doc = _landmark_document(block, the_view, where)
    doc["points"] = {label: [float(x), float(y)] for (label, _, _), (x, y) in zip(placed, xy, strict=True)}
    s = parse_landmarks(doc, where=where, source=source)
    if image is not None:
        check_same_image(s, image.image_ref, where)
        ref = image.image_ref
        s = s.replace(image=s.image.completed_by(ImageRef(None, ref.sop_instance_uid, ref.rows, ref.columns)))
    return s.replace(warnings=(*s.warnings, *warnings))


def _point_lists(obj: Any, where: str, warnings: list[str]) -> tuple[list[tuple[int, Mapping]], dict | None]:
    """The point lists of a markups object, each with its 1-based index, and its "spinecheck" block."""
    if not isinstance(obj, Mapping):
        raise InvalidLandmarksError(
            f'{where}: expected a 3D Slicer markups object {{"@schema": ..., "markups": [...]}} at the top '
            f"level; got {_json_type(obj)}"
        )
    schema = obj.get("@schema")
    if not isinstance(schema, str) or not _SCHEMA_RE.search(schema.strip()):
        raise InvalidLandmarksError(
            f'{where}: "@schema" must name 3D Slicer\'s markups schema, version 1 ({SLICER_SCHEMA}); '
            f"got {_show(schema)}"
        )
    markups = obj.get("markups")
    if not isinstance(markups, list) or not markups:
        raise InvalidLandmarksError(
            f'{where}: "markups" must be a list of one or more markups; got {_show(markups)}'
        )
    lists: list[tuple[int, Mapping]] = []
    blocks: list[tuple[int, dict]] = []
    for i, markup in enumerate(markups, start=1):
        if not isinstance(markup, Mapping) or not isinstance(markup.get("type"), str):
            raise InvalidLandmarksError(
                f'{where}: markup {i} must be an object with a "type" (e.g. "Fiducial"); got {_show(markup)}'
            )
        if markup["type"] != "Fiducial":
            warnings.append(
                f'markup {i} (a {markup["type"]}) left out: spinecheck reads point lists ("type": "Fiducial")'
            )
            continue
        lists.append((i, markup))
        if _BLOCK in markup:
            if not isinstance(markup[_BLOCK], Mapping):
                raise InvalidLandmarksError(
                    f'{where}: markup {i} "{_BLOCK}" must be an object (spinecheck writes it); '
                    f"got {_show(markup[_BLOCK])}"
                )
            blocks.append((i, dict(markup[_BLOCK])))
    if not lists:
        kinds = ", ".join(sorted({str(m["type"]) for m in markups}))
        raise InvalidLandmarksError(
            f'{where}: has no point list ("type": "Fiducial"), only {kinds}; place the landmarks as a point list'
        )
    for i, other in blocks[1:]:
        if other != blocks[0][1]:
            raise InvalidLandmarksError(
                f'{where}: markups {blocks[0][0]} and {i} carry different "{_BLOCK}" blocks; keep one point list '
                "per film"
            )
    return lists, blocks[0][1] if blocks else None


def _placed_points(numbered: tuple[int, Mapping], where: str) -> list[tuple[str, str, np.ndarray]]:
    """The defined control points of one point list: label, how messages name it, LPS mm."""
    i, markup = numbered
    system = markup.get("coordinateSystem", "LPS")
    if system not in ("LPS", "RAS"):
        raise InvalidLandmarksError(
            f'{where}: markup {i} "coordinateSystem" must be "LPS" or "RAS"; got {_show(system)}'
        )
    mm = _units(markup.get("coordinateUnits", "mm"), f"{where}: markup {i}")
    points = markup.get("controlPoints", [])
    if not isinstance(points, list):
        raise InvalidLandmarksError(
            f'{where}: markup {i} "controlPoints" must be a list; got {_show(points)}'
        )
    flip = np.array([-1.0, -1.0, 1.0]) if system == "RAS" else np.ones(3)
    out = []
    for k, point in enumerate(points, start=1):
        at = f"markup {i}, control point {k}"
        if not isinstance(point, Mapping):
            raise InvalidLandmarksError(f"{where}: {at} must be an object; got {_show(point)}")
        status = point.get("positionStatus", "defined")
        if status not in _STATUSES:
            raise InvalidLandmarksError(
                f'{where}: {at} "positionStatus" must be one of "defined", "preview", "undefined"; got {_show(status)}'
            )
        if status != "defined":
            continue  # not placed yet (or being placed): not a landmark
        label = point.get("label")
        if not isinstance(label, str) or not label:
            raise InvalidLandmarksError(
                f'{where}: {at} has no "label"; its label is the point name (e.g. "S1.sup.ant")'
            )
        position = point.get("position")
        if not (
            isinstance(position, list)
            and len(position) == 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position)
            and all(math.isfinite(v) for v in position)
        ):
            raise InvalidLandmarksError(
                f'{where}: {at} ("{label}") is "defined" but its "position" is not [x, y, z] finite numbers; '
                f"got {_show(position)}"
            )
        out.append((label, at, np.asarray(position, dtype=float) * flip * mm))
    return out


def _units(value: Any, where: str) -> float:
    """Millimetres per unit of a ``coordinateUnits`` value (a UCUM code, plain or coded)."""
    code = value
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, str) for v in value)
        and value[1] == "UCUM"
    ):
        code = value[0]
    if isinstance(code, str) and code in _UNITS:
        return _UNITS[code]
    raise InvalidLandmarksError(
        f'{where} "coordinateUnits" must be "mm" or "um" (or coded, ["mm", "UCUM", "millimeter"]); got {_show(value)}'
    )


def _view(
    given: View | None,
    block: Mapping | None,
    placed: list[tuple[str, str, np.ndarray]],
    film_view: View | None,
    where: str,
    warnings: list[str],
) -> View:
    """The film's view: as given, else as the file says, else as the names say, else the film's header."""
    recorded = None
    if block is not None and "view" in block:
        recorded = View.parse(block["view"], where=where, field="spinecheck.view")
    if given is not None:
        if recorded is not None and recorded is not given:
            warnings.append(
                f"the file says the view is {recorded.value}; {given.value} was given and is used"
            )
        return given
    if recorded is not None:
        return recorded
    votes: dict[View, str] = {}
    for label, _, _ in placed:
        parsed = parse_point_name(label)
        if parsed is None:
            continue
        if parsed.corner is not None:
            votes.setdefault(View.LATERAL if parsed.corner.value in ("ant", "post") else View.AP, label)
        elif label.startswith("IC."):
            votes.setdefault(View.AP, label)
    if len(votes) == 1:
        return next(iter(votes))
    if film_view is not None:
        return film_view
    for label, at, _ in placed:
        if parse_point_name(label) is None:  # a name no view has: say so before asking for the view
            close = list(dict.fromkeys(n for v in View for n in closest_point_names(label, v)))[:3]
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise InvalidLandmarksError(f"{where}: {at}: unknown point name {shorten(label)!r}{hint}")
    if len(votes) > 1:
        raise InvalidLandmarksError.about(
            "view",
            '{where}: its names are of both views ("{lateral}" is lateral, "{ap}" is AP); give {view} '
            '("lateral" or "ap") and correct the others',
            where=where,
            lateral=votes[View.LATERAL],
            ap=votes[View.AP],
        )
    raise InvalidLandmarksError.about(
        "view",
        "{where}: does not say whether the film is lateral or AP (no corner names, no film view); give "
        '{view} ("lateral" or "ap")',
        where=where,
    )


def _plane(
    film: SlicerFilm | None,
    recorded: ImagePlane | None,
    mm_per_px: tuple[float, float] | None,
    where: str,
    warnings: list[str],
) -> ImagePlane:
    """Where Slicer showed the film's pixels: the film's plane, else the file's, else *mm_per_px*."""
    if film is not None:
        plane = film.plane
        name = f"image '{film.image_ref.path}'"
        spacing = plane.mm_per_px
        if spacing is not None:
            if recorded is not None and not recorded.agrees_with(plane):
                raise InvalidLandmarksError(
                    f"{where}: was written for a film whose pixels lie at {recorded.describe()}, but 3D Slicer "
                    f"shows {name} at {plane.describe()}; it belongs to another film"
                )
            cal = film.calibration
            if cal.mm_per_px is not None and not np.allclose(cal.mm_per_px, spacing, rtol=1e-9):
                row, col = spacing
                warnings.append(
                    f"3D Slicer shows this film's pixels {row:g} x {col:g} mm apart ({plane.rule}), and the markup's "
                    f"millimetres were converted so; spinecheck measures at {cal.mm_per_px[0]:g} x "
                    f"{cal.mm_per_px[1]:g} mm/px ({cal.source.value})"
                )
            return plane
        if recorded is None and mm_per_px is None:
            raise InvalidLandmarksError.about(
                "mm_per_px",
                "{where}: where 3D Slicer shows {name}'s pixels is not known ({rule}); give {mm_per_px}, the "
                "spacing Slicer shows it at (Volumes module, Image spacing)",
                where=where,
                name=name,
                rule=plane.rule,
            )
    if recorded is not None:
        return recorded
    if mm_per_px is None:
        raise InvalidLandmarksError.about(
            "image",
            "{where}: a 3D Slicer markup gives positions in millimetres, not pixels; give the film it was placed "
            "on ({image}) or the spacing Slicer showed it at ({mm_per_px})",
            names={"mm_per_px": "mm_per_px"},
            where=where,
        )
    row, col = mm_per_px
    warnings.append(
        f"millimetres and pixels related at {row:g} x {col:g} mm/px (mm_per_px), the top-left pixel at the "
        "origin: as 3D Slicer shows a film whose header gives that spacing and no position"
    )
    return ImagePlane.from_spacing(mm_per_px, "mm_per_px given: origin at the top-left pixel, no rotation")


def _film_argument(image: object) -> None:
    if image is not None and not isinstance(getattr(image, "plane", None), ImagePlane):
        raise InvalidArgumentError.about(
            "image",
            "{image}: must be a loaded film (load_radiograph or read_radiograph_header), which knows where 3D "
            "Slicer shows its pixels; got {got}. (spinecheck.load_study takes a path.)",
            got=type(image).__name__ if not isinstance(image, (str, os.PathLike)) else repr(os.fspath(image)),
        )


def _spacing_argument(mm_per_px: Sequence[float] | None) -> tuple[float, float] | None:
    if mm_per_px is None:
        return None
    try:
        return check_spacing(list(mm_per_px), where="mm_per_px")
    except (InvalidLandmarksError, TypeError):
        raise InvalidArgumentError.about(
            "mm_per_px",
            "{mm_per_px}: must be (row, col) millimetres per pixel, two numbers from 0.02 to 2 (the range "
            "of radiographs); got {got!r}",
            got=mm_per_px,
        ) from None


def _landmark_document(block: Mapping | None, view: View, where: str) -> dict[str, Any]:
    """The ``spinecheck-landmarks/1`` object the block describes (no points yet), its fields checked."""
    doc: dict[str, Any] = {k: v for k, v in (block or {}).items() if k not in ("plane", "points", *_NOT_KEPT)}
    doc["format"] = doc.get("format", FORMAT)
    doc["view"] = view.value
    if block is not None:
        # the block's own fields, checked on their own so that a message names the block
        parse_landmarks({**doc, "points": {}}, where=f'{where}: "{_BLOCK}"')
    return doc


# ----------------------------------------------------------------------------------------------- writing


def slicer_markups_to_json(
    landmarks: LandmarkSet,
    *,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The markups object of a landmark set, and what it could not keep.

    Parameters
    ----------
    landmarks : LandmarkSet
    image : Radiograph or RadiographHeader, optional
        The film: the points are placed where Slicer shows its pixels, and must fit it.
    mm_per_px : (row, col), optional
        The spacing Slicer will show the film at, used only when *image* does not tell.

    Returns
    -------
    doc : dict
        One point list in LPS millimetres with a ``"spinecheck"`` block.
    notes : tuple of str
        What the point list leaves out (circle radii, the refinement record, skipped points)
        and what was assumed.

    Raises
    ------
    InvalidLandmarksError
        No film geometry (neither *image* nor *mm_per_px*), a point does not fit *image*, or a
        point is not finite.

    Examples
    --------
    >>> s = LandmarkSet("lateral", {"S1.sup.ant": (1620.0, 5305.0)})
    >>> doc, notes = slicer_markups_to_json(s, mm_per_px=(0.1, 0.1))
    >>> doc["markups"][0]["controlPoints"][0]["position"]
    [162.0, 530.5, 0.0]
    """
    spacing = _spacing_argument(mm_per_px)
    _film_argument(image)
    where = f"landmarks '{landmarks.source}'" if landmarks.source else "landmarks"
    notes: list[str] = []
    ref = landmarks.image
    if image is not None:
        check_same_image(landmarks, image.image_ref, where)
        film = image.image_ref
        ref = ref.completed_by(ImageRef(None, film.sop_instance_uid, film.rows, film.columns))
    plane = _plane(image, None, spacing, where, notes)
    base = landmarks_to_json(landmarks.replace(image=ref))
    block = {k: v for k, v in base.items() if k not in ("points", *_NOT_KEPT)}
    block["plane"] = plane.to_json()
    notes[:0] = [
        f"{what} left out: a point list has no place for them" for k, what in _NOT_KEPT.items() if k in base
    ]
    names = list(base["points"])
    lps = plane.to_patient(np.array([base["points"][n] for n in names]).reshape(-1, 2))
    points = [
        {
            "id": str(k),
            "label": name,
            "description": "",
            "position": [float(v) for v in p],
            "selected": True,
            "locked": False,
            "visibility": True,
            "positionStatus": "defined",
        }
        for k, (name, p) in enumerate(zip(names, lps, strict=True), start=1)
    ]
    markup = {
        "type": "Fiducial",
        "coordinateSystem": "LPS",
        "coordinateUnits": "mm",
        "locked": False,
        "fixedNumberOfControlPoints": False,
        "labelFormat": "%N-%d",
        "lastUsedControlPointNumber": len(points),
        "controlPoints": points,
        "measurements": [],
        _BLOCK: block,
    }
    return {"@schema": SLICER_SCHEMA, "markups": [markup]}, tuple(notes)


def write_slicer_markups(
    landmarks: LandmarkSet,
    path: str | os.PathLike[str],
    *,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
) -> tuple[str, ...]:
    """Write *landmarks* as a 3D Slicer markups file (one point list), atomically.

    See :func:`slicer_markups_to_json` for *image* and *mm_per_px*. The file is written as
    :func:`~spinecheck.landmarks.io.landmark_file.write_landmarks` writes: to a temporary file
    beside *path*, then moved over it in one step.

    Returns
    -------
    tuple of str
        What the point list leaves out or assumed (for the caller to tell its user).

    Raises
    ------
    InvalidLandmarksError
        As :func:`slicer_markups_to_json` (nothing is written).
    OSError
        The file cannot be written (the old file, if any, is intact).

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "case.mrk.json")
    >>> s = LandmarkSet("lateral", {"S1.sup.ant": (1620.25, 5305.0)})
    >>> write_slicer_markups(s, p, mm_per_px=(0.2, 0.2))
    ('millimetres and pixels related at 0.2 x 0.2 mm/px (mm_per_px), the top-left pixel at the origin: ...',)
    >>> read_slicer_markups(p).points == s.points
    True
    """
    doc, notes = slicer_markups_to_json(landmarks, image=image, mm_per_px=mm_per_px)
    write_text_atomic(path, _dumps(doc))
    return notes


# ----------------------------------------------------------------------------------------------- helpers


_NUMBER_LIST = re.compile(
    r"\[\n\s*(-?[0-9][-+.eE0-9]*(?:,\n\s*-?[0-9][-+.eE0-9]*)*)\n\s*\]"
)  # as json.dumps spreads it


def _dumps(doc: Mapping[str, Any]) -> str:
    """JSON indented as Slicer writes it, each list of numbers (a position, a direction) on one line.

    Only lists that ``json.dumps`` spread over lines are joined: a newline never occurs inside a
    JSON string, so no text (a path, a label) is touched.
    """
    text = json.dumps(doc, indent=4, allow_nan=False, ensure_ascii=False)
    return (
        _NUMBER_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
        + "\n"
    )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _show(value: object, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
