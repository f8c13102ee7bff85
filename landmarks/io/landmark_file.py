"""The landmark file: format ``spinecheck-landmarks/1`` (formats.md §1).

One JSON object per film: the view, the named points as ``[x, y]`` image
pixels (x = column, y = row, origin at the centre of the top-left pixel, y
down) and optional blocks for the image, the patient, a user calibration, the
patient's side and femoral-head circles. :func:`read_landmarks` also reads the
SpineWeb/AASCE ``.mat`` labels (:mod:`spinecheck.landmarks.io.aasce`); a wide CSV holds many
studies and is read by :func:`spinecheck.landmarks.io.wide_csv.read_landmark_table`.

Every problem is reported at the door as one line that names the file, the
field, what was expected and what came in::

    landmarks file 'a.json': point "S1.sup.ant" must be [x, y] numbers (finite, pixels); got "12,7"

Files are written atomically (:func:`write_landmarks`): the annotation window
saves after every click, and a crash must never leave half a file behind.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DegenerateGeometryError, InvalidLandmarksError
from ..points.calibration import Calibration
from ..points.circle import Circle, fit_circle
from ..points.model import ImageRef, LandmarkSet, PatientInfo, PointMove, Refinement, Sex
from ..points.names import PatientRight, View, check_point_name

__all__ = [
    "FORMAT",
    "PATIENT_SOURCE",
    "read_landmarks",
    "parse_landmarks",
    "landmarks_to_json",
    "landmarks_to_text",
    "write_landmarks",
    "write_text_atomic",
    "check_inside_image",
    "check_same_image",
    "check_endplates",
]

#: The format name and version this module reads and writes.
FORMAT = "spinecheck-landmarks/1"
#: ``age_source``/``sex_source`` of patient data read from a landmark file.
PATIENT_SOURCE = "landmark file"

_FORMAT_FAMILY = FORMAT.rsplit("/", 1)[0] + "/"
_KNOWN_KEYS = (
    "format",
    "view",
    "image",
    "patient",
    "calibration",
    "patient_right",
    "points",
    "circles",
    "refinement",
    "skipped",
)
#: A circle and a point of the same name may differ by this much (pixels).
_CIRCLE_POINT_TOLERANCE_PX = 1.0
_MAX_AGE_YEARS = 130


# ----------------------------------------------------------------------------------------------- reading


def read_landmarks(path: str | os.PathLike[str]) -> LandmarkSet:
    """Read the landmarks of one film.

    Parameters
    ----------
    path : str or path-like
        A ``spinecheck-landmarks/1`` file (``.json``) or a SpineWeb/AASCE
        label file (``.mat``, read as an AP film by
        :func:`spinecheck.landmarks.io.aasce.read_aasce_mat`).

    Returns
    -------
    LandmarkSet
        Points as ``(x, y)`` pixels; ``source`` is *path* as a string.

    Raises
    ------
    InvalidLandmarksError
        The file is missing or unreadable, has another suffix (a ``.csv`` is
        a table: use :func:`spinecheck.landmarks.io.wide_csv.read_landmark_table`), or does
        not follow its format. The message names the file and the field.
    DegenerateGeometryError
        Two corners of one endplate coincide, or a circle's rim points are
        collinear.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "case.json")
    >>> with open(p, "w") as f:
    ...     _ = f.write('{"format": "spinecheck-landmarks/1", "view": "lateral",'
    ...                 ' "points": {"S1.sup.ant": [1620, 5305], "S1.sup.post": [1455, 5248]}}')
    >>> read_landmarks(p).points["S1.sup.ant"]
    (1620.0, 5305.0)
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    where = _where(name)
    if suffix == ".json":
        text = _read_text(name, where)
        return parse_landmarks(_loads(text, where), where=where, source=name)
    if suffix == ".mat":
        from .aasce import read_aasce_mat  # aasce imports this module's helpers

        return read_aasce_mat(name)
    if suffix == ".csv":
        raise InvalidLandmarksError(
            f"{where}: a .csv file is a landmark table (one row per study); "
            "use read_landmark_table, or give a .json or .mat file"
        )
    raise InvalidLandmarksError(
        f"{where}: unsupported file type {suffix or '(no suffix)'!r}; "
        "expected a .json landmark file or a .mat AASCE label file"
    )


def parse_landmarks(
    obj: Mapping[str, Any], *, where: str = "landmarks", source: str | None = None
) -> LandmarkSet:
    """Validate a decoded ``spinecheck-landmarks/1`` object.

    The core of :func:`read_landmarks`, usable on a dict built in a notebook.

    Parameters
    ----------
    obj : dict
        The JSON object (see formats.md §1).
    where : str
        Prefix of every error message, e.g. ``"landmarks file 'a.json'"``.
    source : str, optional
        Recorded as :attr:`LandmarkSet.source`.

    Returns
    -------
    LandmarkSet
        Unknown top-level keys are ignored (forward compatibility); a key
        that looks like a misspelt known key adds a warning.

    Raises
    ------
    InvalidLandmarksError
        Any field not as formats.md §1 says.
    DegenerateGeometryError
        Two corners of one endplate at the same position; a calibration
        line of zero length; collinear rim points.

    Notes
    -----
    A circle whose name is not among the points adds its centre as that
    point; when both are given they must agree within 1 px.

    Examples
    --------
    >>> s = parse_landmarks({"format": "spinecheck-landmarks/1", "view": "ap",
    ...                      "points": {"S1.sup.left": [10, 20], "S1.sup.right": [30, 20]}})
    >>> s.view, len(s.points)
    (<View.AP: 'ap'>, 2)
    >>> parse_landmarks({"format": "spinecheck-landmarks/1", "view": "ap",
    ...                  "points": {"S1.sup.left": "12,7"}}, where="a.json")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: a.json: point "S1.sup.left" must be [x, y] numbers (finite, ...
    """
    if not isinstance(obj, Mapping):
        raise InvalidLandmarksError(
            f'{where}: expected a JSON object {{"format": ..., "view": ..., "points": {{...}}}} '
            f"at the top level; got {_json_type(obj)}"
        )
    _no_duplicates(obj, where, "the top level")
    _check_format(obj, where)
    view = _parse_view(_required(obj, "view", where), where)
    warnings: list[str] = []

    image = _parse_image(obj.get("image"), where)
    patient = _parse_patient(obj.get("patient"), where)
    calibration = _parse_calibration(obj.get("calibration"), where)
    patient_right = None
    if obj.get("patient_right") is not None:
        patient_right = PatientRight.parse(obj["patient_right"], where=where, field="patient_right")
        if view is not View.AP:
            warnings.append(
                f'"patient_right" is only meaningful on an AP film; ignored on this {view.value} film'
            )
            patient_right = None

    points = _parse_points(_required(obj, "points", where), view, where)
    circles = _parse_circles(obj.get("circles"), view, where)
    for name, circle in circles.items():
        if name not in points:
            points[name] = circle.center
            continue
        gap = math.dist(points[name], circle.center)
        if gap > _CIRCLE_POINT_TOLERANCE_PX:
            raise InvalidLandmarksError(
                f'{where}: point "{name}" {_fmt_xy(points[name])} and the centre of circle "{name}" '
                f"{_fmt_xy(circle.center)} are {gap:.1f} px apart; they must agree within "
                f"{_CIRCLE_POINT_TOLERANCE_PX:g} px (give one, or correct the other)"
            )

    check_inside_image(points, image.rows, image.columns, where)
    check_endplates(points, view, where)
    refinement = _parse_refinement(obj.get("refinement"), points, view, where)
    skipped = _parse_skipped(obj.get("skipped"), points, view, where)
    for key in obj:
        if key not in _KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), _KNOWN_KEYS, n=1, cutoff=0.8)
            if close:
                warnings.append(f'unknown key "{key}" ignored; did you mean "{close[0]}"?')
    return LandmarkSet(
        view=view,
        points=points,
        calibration=calibration,
        patient=patient,
        image=image,
        patient_right=patient_right,
        circles=circles,
        source=source,
        warnings=tuple(warnings),
        refinement=refinement,
        skipped=skipped,
    )


# ----------------------------------------------------------------------------------------------- writing


def landmarks_to_json(s: LandmarkSet) -> dict[str, Any]:
    """Return the ``spinecheck-landmarks/1`` object of a landmark set.

    Parameters
    ----------
    s : LandmarkSet

    Returns
    -------
    dict
        Plain JSON types only; floats are kept as they are, so writing and
        reading back is lossless.

    Raises
    ------
    InvalidLandmarksError
        A point or circle is not finite (JSON has no NaN).

    Notes
    -----
    ``s.calibration`` is written as the user calibration it stands for: a
    line or a ball when it carries one, otherwise its ``mm_per_px``. An
    uncalibrated one is left out. Circles are written as centre and radius
    (a fitted circle does not keep its rim) with ``rms_px`` when the fit
    left a residual, an optional key this module reads back.

    Examples
    --------
    >>> s = LandmarkSet("lateral", {"C7.centroid": (1510, 1432.5)})
    >>> landmarks_to_json(s)
    {'format': 'spinecheck-landmarks/1', 'view': 'lateral', 'points': {'C7.centroid': [1510.0, 1432.5]}}
    """
    doc: dict[str, Any] = {"format": FORMAT, "view": View.parse(s.view).value}
    image = s.image.to_json()
    if image:
        doc["image"] = image
    patient: dict[str, Any] = {}
    if s.patient.age_years is not None:
        patient["age_years"] = s.patient.age_years
    if s.patient.sex is not None:
        patient["sex"] = Sex(s.patient.sex).value
    if patient:
        doc["patient"] = patient
    cal = s.calibration
    if cal is not None and cal.calibrated:
        if cal.line is not None and cal.length_mm is not None:
            doc["calibration"] = {"line": [list(cal.line[0]), list(cal.line[1])], "length_mm": cal.length_mm}
        elif cal.rim is not None and cal.diameter_mm is not None:
            doc["calibration"] = {"ball": {"rim": [list(p) for p in cal.rim], "diameter_mm": cal.diameter_mm}}
        else:
            doc["calibration"] = {"mm_per_px": list(cal.mm_per_px)}  # type: ignore[arg-type]
    if s.patient_right is not None:
        doc["patient_right"] = PatientRight.parse(s.patient_right).value
    points: dict[str, list[float]] = {}
    for name, (x, y) in s.points.items():
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidLandmarksError(
                f'cannot write point "{name}": coordinates must be finite; got [{x!r}, {y!r}]'
            )
        points[name] = [x, y]
    doc["points"] = points
    if s.circles:
        circles: dict[str, dict[str, Any]] = {}
        for name, c in s.circles.items():
            if not all(math.isfinite(v) for v in (*c.center, c.radius, c.rms_px)):
                raise InvalidLandmarksError(f'cannot write circle "{name}": it must be finite; got {c}')
            circles[name] = {"center": list(c.center), "radius": c.radius}
            if c.rms_px:
                circles[name]["rms_px"] = c.rms_px
        doc["circles"] = circles
    if s.refinement:
        doc["refinement"] = _refinement_to_json(s.refinement)
    if s.skipped:
        doc["skipped"] = list(s.skipped)
    return doc


def _refinement_to_json(r: Refinement) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.moved:
        out["moved"] = {
            name: {
                "from": list(m.original),
                "distance_px": round(m.distance_px, 3),
                "method": m.method,
                "confidence": round(m.confidence, 3),
            }
            for name, m in r.moved.items()
        }
    if r.declined:
        out["declined"] = dict(r.declined)
    return out


def landmarks_to_text(s: LandmarkSet) -> str:
    """Return the landmark file's text: one top-level key and one point per line.

    Examples
    --------
    >>> print(landmarks_to_text(LandmarkSet("ap", {"S1.sup.left": (10.5, 20)})))
    {
      "format": "spinecheck-landmarks/1",
      "view": "ap",
      "points": {
        "S1.sup.left": [10.5, 20.0]
      }
    }
    <BLANKLINE>
    """
    doc = landmarks_to_json(s)

    def dumps(value: object) -> str:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)

    items = []
    for key, value in doc.items():
        if key in ("points", "circles") and value:
            inner = ",\n".join(f"    {dumps(k)}: {dumps(v)}" for k, v in value.items())
            items.append(f"  {dumps(key)}: {{\n{inner}\n  }}")
        else:
            items.append(f"  {dumps(key)}: {dumps(value)}")
    return "{\n" + ",\n".join(items) + "\n}\n"


def write_landmarks(s: LandmarkSet, path: str | os.PathLike[str]) -> None:
    """Write *s* as a ``spinecheck-landmarks/1`` file, atomically.

    The text goes to a temporary file in the same directory, is flushed and
    fsynced, and then replaces *path* in one step (:func:`os.replace`): a
    reader sees the old file or the new one, never a mixture, even if the
    process dies half-way.

    Parameters
    ----------
    s : LandmarkSet
    path : str or path-like

    Raises
    ------
    InvalidLandmarksError
        *s* has a non-finite point (nothing is written).
    OSError
        The file cannot be written (the old file, if any, is intact).

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "case.json")
    >>> s = LandmarkSet("lateral", {"S1.sup.ant": (1620.25, 5305.0)})
    >>> write_landmarks(s, p)
    >>> read_landmarks(p).points == s.points
    True
    """
    write_text_atomic(path, landmarks_to_text(s))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace the file at *path* by *text* (UTF-8) in one atomic step.

    The temporary file is created beside *path* (``os.replace`` is atomic
    only within one file system), takes the mode of the file it replaces
    (or the umask's default) and is removed if anything fails.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    tmp = fd = None
    for _ in range(100):
        candidate = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666 so that the kernel applies the umask, as for an ordinary new file
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as e:
            raise type(e)(e.errno, e.strerror, target) from None
        tmp = candidate
        break
    if tmp is None or fd is None:
        raise FileExistsError(f"cannot create a temporary file beside {target!r}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    # the rename itself is durable only once the directory entry is on disk (POSIX)
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ------------------------------------------------------------------------------- checks shared by readers


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
        f'{where}: point "{first}" {_fmt_xy(points[first])} lies outside the image{of} '
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
    suffix = "." + a
    for name, xy in points.items():
        if not name.endswith(suffix):
            continue
        other = name[: -len(a)] + b
        if points.get(other) == xy:
            raise DegenerateGeometryError(
                f'{where}: endplate {name[: -len(a) - 1]} has zero length: points "{name}" and '
                f'"{other}" are both at {_fmt_xy(xy)}; one of them is misplaced'
            )


# ----------------------------------------------------------------------------------------------- helpers


def _where(path: str) -> str:
    return f"landmarks file {path!r}"


def _read_text(path: str, where: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InvalidLandmarksError(f"{where}: cannot be read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidLandmarksError(
            f"{where}: is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "expected a spinecheck-landmarks/1 JSON file"
        ) from None


class _JsonObject(dict):  # type: ignore[type-arg]
    """A decoded JSON object that remembers keys given more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _JsonObject:
    # a repeated key keeps its first place and its last value, as assignment in a loop would
    obj = _JsonObject(pairs)
    seen: dict[str, None] = {}
    if len(obj) < len(pairs):
        given: set[str] = set()
        for key, _ in pairs:
            if key in given:
                seen[key] = None
            given.add(key)
    obj.duplicates = tuple(seen)
    return obj


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as e:
        raise InvalidLandmarksError(
            f"{where}: is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except RecursionError:
        raise InvalidLandmarksError(f"{where}: is not valid JSON: nested too deeply") from None


def _no_duplicates(obj: Mapping[str, Any], where: str, in_what: str) -> None:
    dups = getattr(obj, "duplicates", ())
    if dups:
        raise InvalidLandmarksError(
            f'{where}: key "{dups[0]}" is given more than once in {in_what}; '
            "JSON keys must be unique (keep one)"
        )


def _required(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key in obj:
        return obj[key]
    hint = ""
    close = [k for k in obj if isinstance(k, str) and k.lower() == key]
    close = close or difflib.get_close_matches(key, [str(k) for k in obj], n=1, cutoff=0.8)
    if close:
        hint = f' (found "{close[0]}": keys are case-sensitive and spelt as in formats.md §1)'
    raise InvalidLandmarksError(f'{where}: required key "{key}" is missing{hint}')


def _check_format(obj: Mapping[str, Any], where: str) -> None:
    if "format" not in obj:
        raise InvalidLandmarksError(
            f'{where}: required key "format" is missing; expected "format": "{FORMAT}"'
        )
    fmt = obj["format"]
    if fmt == FORMAT:
        return
    if isinstance(fmt, str) and fmt.startswith(_FORMAT_FAMILY):
        raise InvalidLandmarksError(
            f'{where}: "format" is {fmt!r}, a version this spinecheck cannot read; '
            f"this version reads {FORMAT} (a newer spinecheck may read it)"
        )
    raise InvalidLandmarksError(f'{where}: "format" must be "{FORMAT}"; got {_show(fmt)}')


def _parse_view(value: Any, where: str) -> View:
    if isinstance(value, str) and value.strip().lower() == "pa":
        raise InvalidLandmarksError(
            f'{where}: "view" must be "lateral" or "ap"; got "{value}" '
            '(AP and PA films are both "ap"; give "patient_right" to fix the sides)'
        )
    if not isinstance(value, str):
        raise InvalidLandmarksError(f'{where}: "view" must be "lateral" or "ap"; got {_show(value)}')
    return View.parse(value, where=where, field="view")  # type: ignore[return-value]


def _block(value: Any, key: str, where: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidLandmarksError(f'{where}: "{key}" must be a JSON object {{...}}; got {_show(value)}')
    _no_duplicates(value, where, f'"{key}"')
    return value


def _parse_image(value: Any, where: str) -> ImageRef:
    block = _block(value, "image", where)
    if block is None:
        return ImageRef()
    fields: dict[str, Any] = {}
    for key in ("path", "sop_instance_uid"):
        v = block.get(key)
        if v is not None and not isinstance(v, str):
            raise InvalidLandmarksError(f'{where}: "image.{key}" must be a string; got {_show(v)}')
        fields[key] = v
    for key in ("rows", "columns"):
        v = block.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
            raise InvalidLandmarksError(
                f'{where}: "image.{key}" must be a whole number of pixels > 0; got {_show(v)}'
            )
        fields[key] = v
    return ImageRef(**fields)


def _parse_patient(value: Any, where: str) -> PatientInfo:
    block = _block(value, "patient", where)
    if block is None:
        return PatientInfo()
    age = block.get("age_years")
    if age is not None:
        if not _is_number(age) or not 0 <= age <= _MAX_AGE_YEARS:
            raise InvalidLandmarksError(
                f'{where}: "patient.age_years" must be a number of years from 0 to {_MAX_AGE_YEARS}; '
                f"got {_show(age)}"
            )
        age = float(age)
    sex = block.get("sex")
    if sex is not None:
        code = sex.strip().upper() if isinstance(sex, str) else None
        if code not in ("F", "M", "O"):
            raise InvalidLandmarksError(f'{where}: "patient.sex" must be "F", "M" or "O"; got {_show(sex)}')
        sex = Sex(code)
    return PatientInfo(
        age_years=age,
        age_source=PATIENT_SOURCE if age is not None else None,
        sex=sex,
        sex_source=PATIENT_SOURCE if sex is not None else None,
    )


def _parse_calibration(value: Any, where: str) -> Calibration | None:
    block = _block(value, "calibration", where)
    if block is None:
        return None
    forms = [k for k in ("mm_per_px", "line", "ball") if k in block]
    if len(forms) != 1:
        got = "none of them" if not forms else "both " + " and ".join(f'"{k}"' for k in forms)
        raise InvalidLandmarksError(
            f'{where}: "calibration" must hold exactly one of {{"mm_per_px": [row, col]}}, '
            f'{{"line": [[x, y], [x, y]], "length_mm": L}} or {{"ball": {{"rim": [[x, y], ...], '
            f'"diameter_mm": D}}}}; got {got}'
        )
    form = forms[0]
    if form == "mm_per_px":
        v = block["mm_per_px"]
        if not (isinstance(v, list) and len(v) == 2 and all(_is_number(c) and c > 0 for c in v)):
            raise InvalidLandmarksError(
                f'{where}: "calibration.mm_per_px" must be [row, col] millimetres per pixel, '
                f"two numbers > 0; got {_show(v)}"
            )
        return Calibration.from_spacing(v, where=where, field_name="calibration.mm_per_px")
    if form == "line":
        line = block["line"]
        if not (isinstance(line, list) and len(line) == 2):
            raise InvalidLandmarksError(
                f'{where}: "calibration.line" must be two points [[x, y], [x, y]]; got {_show(line)}'
            )
        p0 = _xy(line[0], '"calibration.line" end 1', where)
        p1 = _xy(line[1], '"calibration.line" end 2', where)
        length = _positive(
            _required(block, "length_mm", f'{where}: "calibration"'), '"calibration.length_mm"', where
        )
        return Calibration.from_line(p0, p1, length, where=f'{where}: "calibration"')
    ball = _block(block["ball"], "calibration.ball", where)
    if ball is None:
        raise InvalidLandmarksError(f'{where}: "calibration.ball" must be a JSON object; got null')
    rim = _rim(_required(ball, "rim", f'{where}: "calibration.ball"'), '"calibration.ball.rim"', where)
    diameter = _positive(
        _required(ball, "diameter_mm", f'{where}: "calibration.ball"'),
        '"calibration.ball.diameter_mm"',
        where,
    )
    return Calibration.from_ball(rim, diameter, where=f'{where}: "calibration.ball"')


def _parse_points(value: Any, view: View, where: str) -> dict[str, tuple[float, float]]:
    if not isinstance(value, Mapping):
        raise InvalidLandmarksError(
            f'{where}: "points" must be a JSON object {{"<name>": [x, y], ...}}; got {_show(value)}'
        )
    dups = getattr(value, "duplicates", ())
    if dups:
        raise InvalidLandmarksError(
            f'{where}: point "{dups[0]}" is given more than once in "points"; keep one'
        )
    points: dict[str, tuple[float, float]] = {}
    for name, xy in value.items():
        check_point_name(name, view, where=where)
        points[name] = _xy(xy, f'point "{name}"', where)
    return points


def _parse_circles(value: Any, view: View, where: str) -> dict[str, Circle]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidLandmarksError(
            f'{where}: "circles" must be a JSON object '
            f'{{"FH.left": {{"center": [x, y], "radius": r}}, ...}}; got {_show(value)}'
        )
    dups = getattr(value, "duplicates", ())
    if dups:
        raise InvalidLandmarksError(
            f'{where}: circle "{dups[0]}" is given more than once in "circles"; keep one'
        )
    circles: dict[str, Circle] = {}
    for name, spec in value.items():
        check_point_name(name, view, where=f'{where}: "circles"')
        what = f'circle "{name}"'
        if not isinstance(spec, Mapping):
            raise InvalidLandmarksError(
                f'{where}: {what} must be {{"center": [x, y], "radius": r}} or {{"rim": [[x, y], ...]}}; '
                f"got {_show(spec)}"
            )
        _no_duplicates(spec, where, what)
        has_center = "center" in spec or "radius" in spec
        if has_center == ("rim" in spec):
            raise InvalidLandmarksError(
                f'{where}: {what} must give either "center" and "radius" or "rim" (3 or more points); '
                f"got keys {sorted(spec)}"
            )
        if "rim" in spec:
            rim = _rim(spec["rim"], f"{what} rim", where)
            circles[name] = fit_circle(rim, where=f"{where}: {what} rim")
            continue
        center = _xy(_required(spec, "center", f"{where}: {what}"), f"{what} center", where)
        radius = _positive(_required(spec, "radius", f"{where}: {what}"), f"{what} radius", where)
        rms = spec.get("rms_px", 0.0)
        if not _is_number(rms) or rms < 0:
            raise InvalidLandmarksError(f'{where}: {what} "rms_px" must be a number >= 0; got {_show(rms)}')
        circles[name] = Circle(center, radius, float(rms))
    return circles


def _parse_refinement(
    value: Any, points: Mapping[str, tuple[float, float]], view: View, where: str
) -> Refinement | None:
    block = _block(value, "refinement", where)
    if block is None:
        return None
    for key in block:
        if key not in ("moved", "declined"):
            raise InvalidLandmarksError(
                f'{where}: "refinement" may hold "moved" and "declined"; got unknown key "{key}"'
            )
    moved: dict[str, PointMove] = {}
    for name, item in (_block(block.get("moved"), "refinement.moved", where) or {}).items():
        what = f'"refinement.moved.{name}"'
        check_point_name(name, view, where=where)
        if name not in points:
            raise InvalidLandmarksError(f'{where}: {what} records a move of a point that is not in "points"')
        if not isinstance(item, Mapping) or "from" not in item or "method" not in item:
            raise InvalidLandmarksError(
                f'{where}: {what} must be {{"from": [x, y], "method": ..., "confidence": ...}}; '
                f"got {_show(item)}"
            )
        confidence = item.get("confidence", 0.0)
        if not _is_number(confidence) or not 0 <= confidence <= 1:
            raise InvalidLandmarksError(
                f"{where}: {what} confidence must be a number in [0, 1]; got {_show(confidence)}"
            )
        if not isinstance(item["method"], str):
            raise InvalidLandmarksError(f"{where}: {what} method must be text; got {_show(item['method'])}")
        moved[name] = PointMove(
            name, _xy(item["from"], f"{what} from", where), points[name], item["method"], float(confidence)
        )
    declined: dict[str, str] = {}
    for name, why in (_block(block.get("declined"), "refinement.declined", where) or {}).items():
        check_point_name(name, view, where=where)
        if not isinstance(why, str):
            raise InvalidLandmarksError(
                f'{where}: "refinement.declined.{name}" must be the reason as text; got {_show(why)}'
            )
        declined[name] = why
    return Refinement(moved, declined)


def _parse_skipped(
    value: Any, points: Mapping[str, tuple[float, float]], view: View, where: str
) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise InvalidLandmarksError(f'{where}: "skipped" must be a list of point names; got {_show(value)}')
    for name in value:
        check_point_name(name, view, where=where)
        if name in points:
            raise InvalidLandmarksError(
                f'{where}: "skipped" lists "{name}", which is also placed in "points"; keep one'
            )
    return tuple(dict.fromkeys(value))


def _rim(value: Any, what: str, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list) or len(value) < 3:
        raise InvalidLandmarksError(
            f"{where}: {what} must be a list of 3 or more [x, y] points; got {_show(value)}"
        )
    return [_xy(p, f"{what} point {i + 1}", where) for i, p in enumerate(value)]


def _is_number(v: object) -> bool:
    """Tell whether *v* is a finite JSON number (bools are not numbers here)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer too large for a float
        return False


def _xy(value: Any, what: str, where: str) -> tuple[float, float]:
    if type(value) is list and len(value) == 2:
        # what JSON gives for nearly every point: two plain floats, which float() would return as is
        x, y = value
        if type(x) is float and type(y) is float and math.isfinite(x) and math.isfinite(y):
            return (x, y)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value):
        return (float(value[0]), float(value[1]))
    raise InvalidLandmarksError(
        f"{where}: {what} must be [x, y] numbers (finite, pixels); got {_show(value)}"
    )


def _positive(value: Any, what: str, where: str) -> float:
    if not _is_number(value) or value <= 0:
        raise InvalidLandmarksError(f"{where}: {what} must be a number > 0; got {_show(value)}")
    return float(value)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _show(value: object, limit: int = 60) -> str:
    """*value* as it appeared in the JSON, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt_xy(xy: tuple[float, float]) -> str:
    return f"[{xy[0]:.10g}, {xy[1]:.10g}]"


def _fmt_edge(n: int | None) -> str:
    return "?" if n is None else f"{n - 0.5:g}"
