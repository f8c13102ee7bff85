"""What a radiograph's DICOM header says about scale, patient and projection.

Each reading comes in two forms, as in highdicom: a function of plain header
values (strings, numbers, sequences exactly as pydicom returns them), which
needs no DICOM file and is what the known-answer tests call, and a
``*_from_dataset`` wrapper that picks those values out of a
:class:`pydicom.dataset.Dataset`. Nothing here raises on a malformed value:
a value that cannot be read becomes "unknown" with a warning that names the
attribute and what came in.

- :func:`header_calibration` chooses millimetres per pixel by the rules 2–4
  of clinical.md §4 and says which rule, tag and plane.
- :func:`patient_from_header` reads age (Patient's Age, else Patient's Birth
  Date against the Study, Acquisition or Content Date) and sex.
- :func:`view_from_position` and :func:`patient_right_from_orientation` read
  View Position and Patient Orientation.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from typing import Any

from ..points.calibration import Calibration, CalibrationPlane, CalibrationSource, implausible_spacing
from ..points.model import PatientInfo, Sex
from ..points.names import PatientRight, View
from .fast_header import tag_key

__all__ = [
    "DETECTOR_WARNING",
    "PatientReading",
    "header_calibration",
    "calibration_from_dataset",
    "dataset_value",
    "parse_patient_age",
    "parse_dicom_date",
    "patient_from_header",
    "patient_from_dataset",
    "view_from_position",
    "PROJECTION_MODALITIES",
    "modality_refusal",
    "patient_right_from_orientation",
]

#: The caveat every millimetre measured at the detector must carry.
DETECTOR_WARNING = (
    "pixel spacing taken at the detector: distances overstated by the radiographic magnification"
)

_DAYS_PER_YEAR = 365.25
_MAX_AGE_YEARS = 130


# ----------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class _Spacing:
    """One spacing attribute as found: usable ``(row, col)`` or why not."""

    value: tuple[float, float] | None
    shown: str  # the raw value as a DICOM string, e.g. "0\\0"
    problem: str | None  # None when usable; "absent" when the attribute is missing


def _read_spacing(raw: Any) -> _Spacing:
    if raw is None:
        return _Spacing(None, "", "absent")
    items = list(raw) if isinstance(raw, (list, tuple)) or type(raw).__name__ == "MultiValue" else [raw]
    shown = "\\".join(str(v).strip() for v in items)
    if not items or shown == "":
        return _Spacing(None, shown, "empty")
    if len(items) != 2:
        return _Spacing(None, shown, f"not two numbers ({len(items)} value{'s' if len(items) != 1 else ''})")
    try:
        row, col = (float(v) for v in items)
    except (TypeError, ValueError):
        return _Spacing(None, shown, "not two numbers")
    if not (math.isfinite(row) and math.isfinite(col)):
        return _Spacing(None, shown, "not finite")
    if row == 0 or col == 0:
        return _Spacing(None, shown, "zero")
    if row < 0 or col < 0:
        return _Spacing(None, shown, "negative")
    implausible = implausible_spacing(row, col)
    if implausible:  # a broken header: refused as if absent, the rule names the tag
        return _Spacing(None, shown, implausible)
    return _Spacing((row, col), shown, None)


def _mm(pair: tuple[float, float]) -> str:
    row, col = pair
    return f"{row:.6g} mm" if row == col else f"{row:.6g}\\{col:.6g} mm (row\\column)"


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def header_calibration(
    pixel_spacing: Any = None,
    imager_pixel_spacing: Any = None,
    ermf: Any = None,
    calibration_type: Any = None,
    calibration_description: Any = None,
) -> Calibration:
    r"""Choose the header's pixel spacing by clinical.md §4, rules 2–4.

    Parameters
    ----------
    pixel_spacing : sequence of 2 numbers, or None
        Pixel Spacing (0028,0030), ``(row, column)`` mm, as read.
    imager_pixel_spacing : sequence of 2 numbers, or None
        Imager Pixel Spacing (0018,1164), mm at the detector front plane.
    ermf : number or None
        Estimated Radiographic Magnification Factor (0018,1114).
    calibration_type, calibration_description : str or None
        Pixel Spacing Calibration Type (0028,0A02) and Description (0028,0A04).

    Returns
    -------
    Calibration
        ``mm_per_px`` as ``(row, col)`` mm per pixel, or None (uncalibrated)
        with the reason in ``rule``. ``extra`` holds the raw values.

    Notes
    -----
    - Rule 2, Pixel Spacing usable (two finite numbers > 0): it is used.
      Its plane is "patient (calibrated)" when Imager Pixel Spacing differs
      from it or a calibration type is given. When it *equals* Imager Pixel
      Spacing, or stands alone with no calibration type (typical of CR, where
      it is the plate pitch), nothing says it was corrected for
      magnification: the plane is "detector", with :data:`DETECTOR_WARNING`.
    - Rule 3, only Imager Pixel Spacing usable: divided by the ERMF when
      that is a number >= 1 ("ERMF-corrected estimate", plane "patient
      (estimate)"), else used as is at the detector with
      :data:`DETECTOR_WARNING`.
    - Rule 4, neither usable (absent, empty, zero, negative, not two
      numbers, e.g. ``0\0``): uncalibrated, with the reason.

    Examples
    --------
    >>> header_calibration(imager_pixel_spacing=[0.4, 0.4]).plane.value
    'detector'
    >>> header_calibration(imager_pixel_spacing=[0.4, 0.4], ermf=1.25).mm_per_px
    (0.32, 0.32)
    >>> header_calibration(pixel_spacing=["0", "0"]).calibrated
    False
    """
    ps = _read_spacing(pixel_spacing)
    ips = _read_spacing(imager_pixel_spacing)
    ctype = _text(calibration_type)
    cdesc = _text(calibration_description)
    extra = {
        "PixelSpacing": ps.shown or None,
        "ImagerPixelSpacing": ips.shown or None,
        "EstimatedRadiographicMagnificationFactor": _text(ermf),
        "PixelSpacingCalibrationType": ctype,
        "PixelSpacingCalibrationDescription": cdesc,
    }

    if ps.value is not None:
        said = ", ".join(
            x
            for x in (
                f"Pixel Spacing Calibration Type {ctype}" if ctype else "",
                f"Description '{cdesc}'" if cdesc else "",
            )
            if x
        )
        if ips.value is not None and not _same(ps.value, ips.value):
            ratio = ips.value[0] / ps.value[0]
            rule = (
                f"Pixel Spacing {_mm(ps.value)} differs from Imager Pixel Spacing {_mm(ips.value)} "
                f"(factor {ratio:.4g}): calibrated to another plane; "
                + (said if said else "calibration type not stated")
            )
            return Calibration(
                ps.value,
                CalibrationSource.PIXEL_SPACING,
                rule,
                CalibrationPlane.PATIENT_CALIBRATED,
                extra=extra,
            )
        if ctype or cdesc:
            rule = f"Pixel Spacing {_mm(ps.value)}, calibrated ({said})"
            return Calibration(
                ps.value,
                CalibrationSource.PIXEL_SPACING,
                rule,
                CalibrationPlane.PATIENT_CALIBRATED,
                extra=extra,
            )
        if ips.value is not None:
            rule = (
                f"Pixel Spacing {_mm(ps.value)} equals Imager Pixel Spacing and no calibration type is "
                "given: not corrected for magnification, i.e. at the detector"
            )
        else:
            unusable = ""
            if ips.problem != "absent":
                unusable = f" (Imager Pixel Spacing '{ips.shown}' is {ips.problem})"
            rule = (
                f"Pixel Spacing {_mm(ps.value)} with no Imager Pixel Spacing and no calibration type: "
                "the plane is not stated (on CR it is the plate pitch), taken as at the detector"
                f"{unusable}"
            )
        return Calibration(
            ps.value,
            CalibrationSource.PIXEL_SPACING,
            rule,
            CalibrationPlane.DETECTOR,
            (DETECTOR_WARNING,),
            extra=extra,
        )

    ignored = f"; Pixel Spacing '{ps.shown}' ignored ({ps.problem})" if ps.problem != "absent" else ""
    if ips.value is not None:
        factor, why_not = _read_ermf(ermf)
        if factor is not None:
            spacing = (ips.value[0] / factor, ips.value[1] / factor)
            rule = (
                f"ERMF-corrected estimate: Imager Pixel Spacing {_mm(ips.value)} / Estimated "
                "Radiographic "
                f"Magnification Factor {factor:g} = {_mm(spacing)}{ignored}"
            )
            return Calibration(
                spacing, CalibrationSource.ERMF, rule, CalibrationPlane.PATIENT_ESTIMATE, extra=extra
            )
        rule = (
            f"Imager Pixel Spacing {_mm(ips.value)} only: at detector — distances overstated by the "
            f"radiographic magnification{ignored}{why_not}"
        )
        return Calibration(
            ips.value,
            CalibrationSource.IMAGER_PIXEL_SPACING,
            rule,
            CalibrationPlane.DETECTOR,
            (DETECTOR_WARNING,),
            extra=extra,
        )

    reasons = [
        f"{name} '{sp.shown}' is {sp.problem}"
        for name, sp in (("Pixel Spacing", ps), ("Imager Pixel Spacing", ips))
        if sp.problem != "absent"
    ]
    reason = " and ".join(reasons) if reasons else "no Pixel Spacing or Imager Pixel Spacing in the header"
    cal = Calibration.none(reason)
    return Calibration(None, cal.source, cal.rule, cal.plane, extra=extra)


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    # DS strings ("0.160" vs "0.16") and float32 round trips must not count as a calibration
    return all(math.isclose(x, y, rel_tol=1e-4) for x, y in zip(a, b, strict=True))


def _read_ermf(raw: Any) -> tuple[float | None, str]:
    if raw is None or str(raw).strip() == "":
        return None, ""
    try:
        factor = float(raw)
    except (TypeError, ValueError):
        return None, f"; Estimated Radiographic Magnification Factor '{raw}' ignored (not a number)"
    if not math.isfinite(factor) or factor < 1:
        return None, (
            f"; Estimated Radiographic Magnification Factor '{raw}' ignored "
            "(a projection magnification is a number >= 1)"
        )
    return factor, ""


def dataset_value(ds: Any, keyword: str, default: Any = None) -> Any:
    """``ds.get(keyword)`` of a pydicom data set, reached through the element's tag.

    The same value, or *default* where the data set has no such element; pydicom's lookup
    by keyword costs several times the element access, and a header is read some 35 times
    per film.

    Examples
    --------
    >>> from pydicom import Dataset
    >>> ds = Dataset()
    >>> ds.Rows = 512
    >>> dataset_value(ds, "Rows"), dataset_value(ds, "Columns"), dataset_value(ds, "Columns", 0)
    (512, None, 0)
    """
    tag = _KEYWORD_TAGS.get(keyword)
    if tag is None:
        from pydicom.datadict import tag_for_keyword

        number = tag_for_keyword(keyword)
        if number is None:
            return ds.get(keyword, default)
        # the tag object the fast reader keys its elements by: found by identity (fast_header.tag_key)
        tag = _KEYWORD_TAGS[keyword] = tag_key(number)
    # An element already converted is what ds[tag] returns as it is: taken from the data set's own
    # dict (pydicom's Dataset._dict), without the two conversions of the tag that `in` and [] make
    # (issue 17, 4). A raw or deferred element, or a data set kept otherwise, goes through pydicom.
    elements: Any = getattr(ds, "_dict", None)
    if elements.__class__ is dict:
        element: Any = elements.get(tag, _ABSENT)
        if element is _ABSENT:
            return default
        if element.__class__ is (_ELEMENT_CLASS[0] if _ELEMENT_CLASS else _converted_element()):
            return element.value
    return ds[tag].value if tag in ds else default


_KEYWORD_TAGS: dict[str, Any] = {}
_ABSENT = object()


def _converted_element() -> Any:
    """The class of a converted pydicom element (a raw one is a RawDataElement), imported once."""
    if not _ELEMENT_CLASS:
        from pydicom.dataelem import DataElement

        _ELEMENT_CLASS.append(DataElement)
    return _ELEMENT_CLASS[0]


_ELEMENT_CLASS: list[Any] = []


def calibration_from_dataset(ds: Any) -> Calibration:
    """:func:`header_calibration` of a pydicom dataset."""
    return header_calibration(
        dataset_value(ds, "PixelSpacing"),
        dataset_value(ds, "ImagerPixelSpacing"),
        dataset_value(ds, "EstimatedRadiographicMagnificationFactor"),
        dataset_value(ds, "PixelSpacingCalibrationType"),
        dataset_value(ds, "PixelSpacingCalibrationDescription"),
    )


# ----------------------------------------------------------------------------- patient


@dataclass(frozen=True)
class PatientReading:
    """Patient data read from a header, and what was wrong with it."""

    patient: PatientInfo
    warnings: tuple[str, ...] = ()


_AGE_RE = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$", re.IGNORECASE)
_AGE_UNIT_YEARS = {"D": 1 / _DAYS_PER_YEAR, "W": 7 / _DAYS_PER_YEAR, "M": 1 / 12, "Y": 1.0}


def _short(raw: Any, limit: int = 24) -> str:
    text = str(raw)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def parse_patient_age(raw: Any) -> tuple[float | None, str | None]:
    """Years from a Patient's Age (0010,1010) string, and a warning if any.

    ``nnnD``, ``nnnW``, ``nnnM`` and ``nnnY`` are days, weeks, months and
    years; fractions of a year are rounded to 0.01. Zero (``000Y``, a common
    placeholder for "unknown") and more than 130 years are not ages.

    Returns
    -------
    (years or None, warning or None)
        None, None when the attribute is absent or empty.

    Examples
    --------
    >>> parse_patient_age("067Y")
    (67.0, None)
    >>> parse_patient_age("030M")
    (2.5, None)
    >>> parse_patient_age("sixty")[0] is None
    True
    """
    if raw is None or str(raw).strip() == "":
        return None, None
    text = str(raw)
    m = _AGE_RE.match(text)
    if m is None:
        return None, (
            f"Patient's Age {_short(raw)} is not a DICOM age (nnnD, nnnW, nnnM or nnnY, "
            "e.g. 067Y): age not read from it"
        )
    number, unit = int(m[1]), m[2].upper()
    if number == 0:
        return None, f"Patient's Age {_short(raw)} is zero, commonly a placeholder for 'unknown': ignored"
    years = number * _AGE_UNIT_YEARS[unit]
    if years > _MAX_AGE_YEARS:
        return None, f"Patient's Age {_short(raw)} is over {_MAX_AGE_YEARS} years: ignored"
    years = float(number) if unit == "Y" else round(years, 2)
    note = None
    if not re.fullmatch(r"\d{3}[DWMY]", text):
        note = f"Patient's Age {_short(raw)} is not in the DICOM form nnnX; read as {years:g} years"
    return years, note


def parse_dicom_date(raw: Any) -> datetime.date | None:
    """Read a DICOM DA value (``YYYYMMDD``; also the old ``YYYY.MM.DD``) as a date.

    Returns None when *raw* is absent, empty or not a valid date.

    Examples
    --------
    >>> parse_dicom_date("20040826")
    datetime.date(2004, 8, 26)
    >>> parse_dicom_date("2004-13-01") is None
    True
    """
    if isinstance(raw, datetime.date):
        return raw if not isinstance(raw, datetime.datetime) else raw.date()
    if raw is None:
        return None
    text = str(raw).strip()
    m = re.fullmatch(r"(\d{4})\.?(\d{2})\.?(\d{2})", text)
    if m is None:
        return None
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _completed_years(birth: datetime.date, on: datetime.date) -> float:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if years >= 1:
        return float(years)
    return math.floor((on - birth).days / _DAYS_PER_YEAR * 100) / 100  # completed hundredths


def patient_from_header(
    *,
    patient_age: Any = None,
    patient_sex: Any = None,
    birth_date: Any = None,
    study_date: Any = None,
    acquisition_date: Any = None,
    content_date: Any = None,
) -> PatientReading:
    """Age and sex from header values; never raises on malformed values.

    Parameters
    ----------
    patient_age : str, optional
        Patient's Age (0010,1010), e.g. ``"067Y"``.
    patient_sex : str, optional
        Patient's Sex (0010,0040): ``M``, ``F`` or ``O``.
    birth_date, study_date, acquisition_date, content_date : str or date, optional
        Patient's Birth Date (0010,0030) and the dates to compare it with,
        in that order of preference.

    Returns
    -------
    PatientReading
        ``age_years`` from Patient's Age when usable, else completed years
        from the birth date to the first usable of study, acquisition and
        content date (fractions of a year under one year), else None. The
        sources are named ``"DICOM PatientAge"``,
        ``"DICOM PatientBirthDate/StudyDate"`` and so on. Malformed values,
        and dates that disagree by a year or more, give warnings.

    Examples
    --------
    >>> r = patient_from_header(birth_date="19400305", study_date="20040826", patient_sex="F")
    >>> r.patient.age_years, r.patient.age_source, r.patient.sex
    (64.0, 'DICOM PatientBirthDate/StudyDate', <Sex.F: 'F'>)
    """
    warnings: list[str] = []
    age, note = parse_patient_age(patient_age)
    if note:
        warnings.append(note)

    birth = parse_dicom_date(birth_date)
    if birth is None and _text(birth_date):
        # the birth date itself is never shown (issue 13): the warnings reach reports and tables
        warnings.append("Patient's Birth Date (value not shown) is not a DICOM date (YYYYMMDD)")
    dated: list[tuple[str, str, datetime.date, float]] = []  # keyword, words, date, age
    for keyword, words, raw in (
        ("StudyDate", "Study Date", study_date),
        ("AcquisitionDate", "Acquisition Date", acquisition_date),
        ("ContentDate", "Content Date", content_date),
    ):
        on = parse_dicom_date(raw)
        if on is None:
            if _text(raw):
                # no date is ever shown (issue 13): the warnings reach reports, tables and figures
                warnings.append(f"{words} (value not shown) is not a DICOM date (YYYYMMDD)")
            continue
        if birth is None:
            continue
        if on < birth:
            warnings.append(f"{words} is before Patient's Birth Date (dates not shown): no age from it")
            continue
        dated.append((keyword, words, on, _completed_years(birth, on)))

    source = "DICOM PatientAge" if age is not None else None
    if age is None and dated:
        keyword, words, on, age = dated[0]
        source = f"DICOM PatientBirthDate/{keyword}"
        for _, other_words, _, other_age in dated[1:]:
            if abs(other_age - age) >= 1:
                warnings.append(
                    f"age {age:g} y from Patient's Birth Date and {words}; the {other_words} would give "
                    f"{other_age:g} y (dates not shown)"
                )
    elif age is not None and dated and abs(dated[0][3] - age) >= 1:
        _, words, _, date_age = dated[0]
        warnings.append(
            f"Patient's Age {_short(patient_age)} ({age:g} y) disagrees with the birth date by "
            f"{round(abs(date_age - age), 2):g} years (Patient's Birth Date and {words}, not shown): "
            "Patient's Age used"
        )
    if age is not None and age > _MAX_AGE_YEARS:
        warnings.append(f"age {age:g} y from the dates is over {_MAX_AGE_YEARS} years: ignored")
        age, source = None, None

    sex: Sex | None = None
    sex_text = _text(patient_sex)
    if sex_text is not None:
        try:
            sex = Sex(sex_text.upper())
        except ValueError:
            warnings.append(f"Patient's Sex {_short(patient_sex)} is not M, F or O: sex unknown")
    patient = PatientInfo(age, source, sex, "DICOM PatientSex" if sex is not None else None)
    return PatientReading(patient, tuple(warnings))


def patient_from_dataset(ds: Any) -> PatientReading:
    """:func:`patient_from_header` of a pydicom dataset."""
    return patient_from_header(
        patient_age=dataset_value(ds, "PatientAge"),
        patient_sex=dataset_value(ds, "PatientSex"),
        birth_date=dataset_value(ds, "PatientBirthDate"),
        study_date=dataset_value(ds, "StudyDate"),
        acquisition_date=dataset_value(ds, "AcquisitionDate"),
        content_date=dataset_value(ds, "ContentDate"),
    )


# ----------------------------------------------------------------------------- projection

_LATERAL_POSITIONS = frozenset({"LATERAL", "LAT", "LL", "RL"})
_AP_POSITIONS = frozenset({"AP", "PA"})


def view_from_position(view_position: Any) -> View | None:
    """Return the film's view from View Position (0018,5101).

    ``LATERAL``, ``LL`` and ``RL`` are lateral; ``AP`` and ``PA`` are
    ``"ap"``; anything else (oblique, decubitus, empty) is None.

    Examples
    --------
    >>> view_from_position("LL"), view_from_position("PA"), view_from_position("RLO")
    (<View.LATERAL: 'lateral'>, <View.AP: 'ap'>, None)
    """
    text = (_text(view_position) or "").upper()
    if text in _LATERAL_POSITIONS:
        return View.LATERAL
    if text in _AP_POSITIONS:
        return View.AP
    return None


def patient_right_from_orientation(orientation: Any) -> PatientRight | None:
    """Which image side the patient's right is on, from Patient Orientation.

    The first value of Patient Orientation (0020,0020) is the patient
    direction of the image rows (increasing column index): ``L`` means
    columns run toward the patient's left, so the patient's right is on the
    image left. Only a plain ``L`` or ``R`` is read; anything else is None.

    Examples
    --------
    >>> patient_right_from_orientation(["L", "F"])
    <PatientRight.IMAGE_LEFT: 'image_left'>
    >>> patient_right_from_orientation(["A", "F"]) is None
    True
    """
    if orientation is None or isinstance(orientation, str):
        values = [orientation] if orientation else []
    else:
        values = list(orientation)
    first = str(values[0]).strip().upper() if values else ""
    if first == "L":
        return PatientRight.IMAGE_LEFT
    if first == "R":
        return PatientRight.IMAGE_RIGHT
    return None


#: Modality (0008,0060) values of a projection radiograph spinecheck measures: CR (computed radiography), DX
#: (digital radiography), RG (radiographic imaging, a digitised film-screen radiograph), RF (radio fluoroscopy)
#: and XA (X-ray angiography: a C-arm's spot image of the spine during an operation is stored as RF or XA).
#: OT (other) is accepted too: a film scanned or captured as a Secondary Capture is usually stored as OT, and
#: a file without Modality is read as before (many converted films have none). MG, IO and PX are projection
#: radiographs of the breast and the teeth; CT, MR, US, NM, PT and the rest are not projections at all.
PROJECTION_MODALITIES = ("CR", "DX", "RG", "RF", "XA", "OT")

# The names of the common Modality defined terms (DICOM PS3.3 C.7.3.1.1.1), for the message.
_MODALITY_NAMES = {
    "CT": "computed tomography",
    "MR": "magnetic resonance",
    "US": "ultrasound",
    "NM": "nuclear medicine",
    "PT": "positron emission tomography",
    "MG": "mammography",
    "IO": "intra-oral radiography",
    "PX": "panoramic X-ray",
    "OP": "ophthalmic photography",
    "XC": "external-camera photography",
    "SR": "a structured report",
    "SEG": "a segmentation",
    "RTDOSE": "a radiotherapy dose",
    "RTSTRUCT": "a radiotherapy structure set",
    "RTPLAN": "a radiotherapy plan",
    "RTIMAGE": "a radiotherapy image",
}


def modality_refusal(modality: Any) -> str | None:
    """Why a DICOM image of this Modality (0008,0060) is not a film to measure, or None when it is.

    Parameters
    ----------
    modality : str or None
        The Modality value as read; None or empty when the file has none (accepted).

    Returns
    -------
    str or None
        ``"Modality: CT (computed tomography) is not a projection radiograph (expected ...)"``, or None for
        one of :data:`PROJECTION_MODALITIES` and for a missing Modality.

    Examples
    --------
    >>> modality_refusal("DX") is None, modality_refusal(None) is None, modality_refusal(" cr ") is None
    (True, True, True)
    >>> modality_refusal("MR")
    'Modality: MR (magnetic resonance) is not a projection radiograph (expected CR, DX, RG, RF, XA or OT)'
    """
    text = _text(modality)
    if text is None or text.strip().upper() in PROJECTION_MODALITIES:
        return None
    code = text.strip().upper()
    name = _MODALITY_NAMES.get(code)
    # a Code String is at most 16 of A-Z, 0-9, space and _; anything else is shown quoted, as it came
    shown = (code if re.fullmatch(r"[A-Z0-9_ ]{1,16}", code) else _short(text)) + (
        f" ({name})" if name else ""
    )
    expected = ", ".join(PROJECTION_MODALITIES[:-1]) + f" or {PROJECTION_MODALITIES[-1]}"
    what = "is not a film of the spine" if code in ("MG", "IO", "PX") else "is not a projection radiograph"
    return f"Modality: {shown} {what} (expected {expected})"
