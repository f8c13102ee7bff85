"""The landmark file: format ``spinecheck-landmarks/1`` (formats.md §1).

One JSON object per film: the view, the named points as ``[x, y]`` image
pixels (x = column, y = row, origin at the centre of the top-left pixel, y
down) and optional blocks for the image, the patient, a user calibration, the
patient's side, femoral-head circles and, on a post-operative film, the operation
(:class:`~spinecheck.landmarks.points.operation.Operation`). Which reader a file needs (this one,
the SpineWeb/AASCE ``.mat`` labels or the wide CSV of many studies) is decided
in one place, :mod:`spinecheck.landmarks.io.read`.

Every problem is reported at the door as one line that names the file, the
field, what was expected and what came in::

    landmarks file 'a.json': point "S1.sup.ant" must be [x, y] numbers (finite, pixels); got "12,7"

Files are written atomically (:func:`write_landmarks`): the annotation window
saves after every click, and a crash must never leave half a file behind.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidLandmarksError
from ..points.anatomy import Anatomy, check_anatomy, check_sacralised
from ..points.calibration import Calibration
from ..points.circle import Circle, fit_circle
from ..points.model import FloatPoints, ImageRef, LandmarkSet, PatientInfo, PointMove, Refinement, Sex
from ..points.names import PatientRight, View, check_point_name
from ..points.operation import OPERATION_ITEMS, Operation, OperationProblem
from .atomic import write_text_atomic
from .checks import check_endplates, check_inside_image, format_xy, landmarks_where, read_json_text
from .provenance import parse_provenance, provenance_to_json

__all__ = [
    "FORMAT",
    "PATIENT_SOURCE",
    "read_landmark_json",
    "load_landmark_json",
    "parse_landmarks",
    "landmarks_to_json",
    "landmarks_to_text",
    "write_landmarks",
    "landmarks_where",
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
    "operation",
    "anatomy",
    "provenance",
)
#: A circle and a point of the same name may differ by this much (pixels).
_CIRCLE_POINT_TOLERANCE_PX = 1.0
_MAX_AGE_YEARS = 130


# ----------------------------------------------------------------------------------------------- reading


def read_landmark_json(path: str | os.PathLike[str]) -> LandmarkSet:
    """Read a ``spinecheck-landmarks/1`` file.

    :func:`spinecheck.landmarks.io.read.read_landmarks` chooses this reader for a ``.json``
    file; call that one unless the file type is already known.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    LandmarkSet
        Points as ``(x, y)`` pixels; ``source`` is *path* as a string.

    Raises
    ------
    InvalidLandmarksError
        The file is missing or unreadable, or does not follow its format. The
        message names the file and the field.
    DegenerateGeometryError
        Two corners of one endplate coincide, or a circle's rim points are
        collinear.

    Examples
    --------
    A file is named in every message about it:

    >>> read_landmark_json("no-such-case.json")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'no-such-case.json': cannot be read: ...
    """
    name = os.fspath(path)
    return parse_landmarks(load_landmark_json(name), where=landmarks_where(name), source=name)


def load_landmark_json(path: str | os.PathLike[str]) -> Any:
    """The decoded JSON of a landmark file, not yet checked: what :func:`read_landmark_json` parses.

    For a caller that looks at the content before parsing it (a batch worker tells
    whether the file is a landmark file at all, and which film it records), so that
    the file is read and decoded once: ``parse_landmarks(obj, where=landmarks_where(path),
    source=path)`` then gives what :func:`read_landmark_json` gives. A key given twice is
    remembered, for :func:`parse_landmarks` to refuse.

    Raises
    ------
    InvalidLandmarksError
        The file is missing, unreadable, too large, not UTF-8 or not JSON.
    """
    name = os.fspath(path)
    return read_json_text(
        name, landmarks_where(name), f"a {FORMAT} JSON file", object_pairs_hook=_object_pairs
    )


def parse_landmarks(
    obj: Mapping[str, Any], *, where: str = "landmarks", source: str | None = None
) -> LandmarkSet:
    """Validate a decoded ``spinecheck-landmarks/1`` object.

    The core of :func:`read_landmark_json`, usable on a dict built in a notebook.

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
    operation = _parse_operation(obj.get("operation"), where)
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
    floats = True  # every point a (float, float) tuple (_parse_points makes them so), for LandmarkSet
    for name, circle in circles.items():
        if name not in points:
            points[name] = circle.center
            floats = False
            continue
        gap = math.dist(points[name], circle.center)
        if gap > _CIRCLE_POINT_TOLERANCE_PX:
            raise InvalidLandmarksError(
                f'{where}: point "{name}" {format_xy(points[name])} and the centre of circle "{name}" '
                f"{format_xy(circle.center)} are {gap:.1f} px apart; they must agree within "
                f"{_CIRCLE_POINT_TOLERANCE_PX:g} px (give one, or correct the other)"
            )

    check_inside_image(points, image.rows, image.columns, where)
    check_endplates(points, view, where)
    anatomy = _parse_anatomy(obj.get("anatomy"), where)
    check_anatomy(anatomy, points, where=where)
    refinement = _parse_refinement(obj.get("refinement"), points, view, where)
    skipped = _parse_skipped(obj.get("skipped"), points, view, where)
    provenance = None
    if obj.get("provenance") is not None:
        provenance = parse_provenance(obj["provenance"], where=where, points=points)
        warnings.extend(provenance.flags())
    for key in obj:
        if key not in _KNOWN_KEYS:
            close = _close_matches(str(key), _KNOWN_KEYS, n=1, cutoff=0.8)
            if close:
                warnings.append(f'unknown key "{key}" ignored; did you mean "{close[0]}"?')
    return LandmarkSet(
        view=view,
        points=FloatPoints(points) if floats else points,
        calibration=calibration,
        patient=patient,
        image=image,
        patient_right=patient_right,
        circles=circles,
        source=source,
        warnings=tuple(warnings),
        refinement=refinement,
        skipped=skipped,
        operation=operation,
        anatomy=anatomy,
        provenance=provenance,
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
    if s.operation is not None:
        doc["operation"] = s.operation.to_json()
    if s.anatomy:
        doc["anatomy"] = s.anatomy.to_json()
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
    if s.provenance is not None:
        doc["provenance"] = provenance_to_json(s.provenance)
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
    >>> read_landmark_json(p).points == s.points
    True
    """
    write_text_atomic(path, landmarks_to_text(s))


# ----------------------------------------------------------------------------------------------- helpers


class _JsonObject(dict[str, Any]):
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


def _no_duplicates(obj: Mapping[str, Any], where: str, in_what: str) -> None:
    dups = getattr(obj, "duplicates", ())
    if dups:
        raise InvalidLandmarksError(
            f'{where}: key "{dups[0]}" is given more than once in {in_what}; '
            "JSON keys must be unique (keep one)"
        )


def _close_matches(word: str, possibilities: Sequence[str], *, n: int, cutoff: float) -> list[str]:
    """The close matches of *word* (difflib's), for a message: difflib is imported only then."""
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n, cutoff=cutoff)


def _required(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key in obj:
        return obj[key]
    hint = ""
    close = [k for k in obj if isinstance(k, str) and k.lower() == key]
    close = close or _close_matches(key, [str(k) for k in obj], n=1, cutoff=0.8)
    if close:
        hint = f' (found "{close[0]}": keys are case-sensitive)'
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
    return View.parse(value, where=where, field="view")


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
    fields["study_date"] = _study_date(block.get("study_date"), where)
    return ImageRef(**fields)


def _study_date(value: Any, where: str) -> datetime.date | None:
    """``image.study_date``: the day the film was taken, ``"YYYY-MM-DD"``, not in the future."""
    if value is None:
        return None
    expected = 'a date "YYYY-MM-DD" (the day the film was taken)'
    try:
        iso = isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
        day = datetime.date.fromisoformat(value) if iso else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidLandmarksError(f'{where}: "image.study_date" must be {expected}; got {_show(value)}')
    if day > datetime.date.today():
        raise InvalidLandmarksError(
            f'{where}: "image.study_date" {value} is in the future; expected {expected}'
        )
    return day


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


def _parse_operation(value: Any, where: str) -> Operation | None:
    """The optional ``"operation"`` block of a post-operative film (None: not known to be operated)."""
    block = _block(value, "operation", where)
    if block is None:
        return None
    for key in block:
        if key not in OPERATION_ITEMS:
            close = [k for k in OPERATION_ITEMS if k == str(key).lower()]
            close = close or _close_matches(str(key), OPERATION_ITEMS, n=1, cutoff=0.6)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            allowed = ", ".join(f'"{k}"' for k in OPERATION_ITEMS)
            raise InvalidLandmarksError(
                f'{where}: "operation" may hold {allowed}; got unknown key "{key}"{hint}'
            )
    try:
        return Operation.checked(**{k: block.get(k) for k in OPERATION_ITEMS}, source=PATIENT_SOURCE)
    except OperationProblem as e:
        raise InvalidLandmarksError(f'{where}: "operation.{e.item}" {e}') from None


def _parse_anatomy(value: Any, where: str) -> Anatomy:
    """The optional ``"anatomy"`` block: a sacralised vertebra (formats.md §1, transitional anatomy).

    An unknown key is an error, not a warning: a misspelt key ignored would
    measure from the wrong sacral endplate without a word.
    """
    block = _block(value, "anatomy", where)
    if block is None:
        return Anatomy()
    for key in block:
        if key != "sacralised":
            hint = ' (spelt "sacralised")' if str(key).lower().startswith("sacrali") else ""
            raise InvalidLandmarksError(
                f'{where}: "anatomy" may hold "sacralised"; got unknown key "{key}"{hint}'
            )
    return Anatomy(check_sacralised(block.get("sacralised"), where=where))


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
    known = _NAMES_SEEN[view]
    isfinite = math.isfinite
    for name, xy in value.items():
        if name not in known:
            check_point_name(name, view, where=where)
            known.add(name)
        # what JSON gives for nearly every point, checked here without a call per point (issue 17, 4)
        if type(xy) is list and len(xy) == 2:
            x, y = xy
            if type(x) is float and type(y) is float and isfinite(x) and isfinite(y):
                points[name] = (x, y)
                continue
        points[name] = _xy(xy, f'point "{name}"', where)
    return points


#: Per view, the point names already checked valid (:func:`check_point_name` depends on the name and
#: the view only): about a hundred names a film, each checked once a process.
_NAMES_SEEN: dict[View, set[str]] = {view: set() for view in View}


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
