"""Known answers for what a header says: calibration (clinical.md §4), age, sex, view, side."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from radiograph_factory import dx_file
from spinecheck.landmarks.imaging.dicom_header import (
    DETECTOR_WARNING,
    header_calibration,
    parse_dicom_date,
    parse_patient_age,
    patient_from_header,
    patient_right_from_orientation,
    view_from_position,
)
from spinecheck.landmarks.imaging.radiograph import load_radiograph
from spinecheck.landmarks.points.calibration import CalibrationPlane, CalibrationSource
from spinecheck.landmarks.points.model import Sex
from spinecheck.landmarks.points.names import PatientRight, View

PS, IPS, ERMF = "pixel_spacing", "imager_pixel_spacing", "ermf"
NONE, DETECTOR = CalibrationPlane.NONE, CalibrationPlane.DETECTOR
CALIBRATED, ESTIMATE = CalibrationPlane.PATIENT_CALIBRATED, CalibrationPlane.PATIENT_ESTIMATE


# ----------------------------------------------------------------------------- calibration rules


@pytest.mark.parametrize(
    "values, mm, source, plane, rule_has",
    [
        # rule 2: Pixel Spacing usable
        pytest.param(
            {PS: [0.14, 0.14], IPS: [0.16, 0.16]},
            (0.14, 0.14),
            "PixelSpacing",
            CALIBRATED,
            "differs from Imager Pixel Spacing 0.16 mm (factor 1.143): calibrated to another plane; "
            "calibration type not stated",
            id="PS-differs-from-IPS",
        ),
        pytest.param(
            {
                PS: [0.14, 0.14],
                IPS: [0.16, 0.16],
                "calibration_type": "GEOMETRY",
                "calibration_description": "SID 180 cm",
            },
            (0.14, 0.14),
            "PixelSpacing",
            CALIBRATED,
            "Pixel Spacing Calibration Type GEOMETRY, Description 'SID 180 cm'",
            id="PS-with-type",
        ),
        pytest.param(
            {PS: [0.2, 0.2], "calibration_type": "FIDUCIAL"},
            (0.2, 0.2),
            "PixelSpacing",
            CALIBRATED,
            "calibrated (Pixel Spacing Calibration Type FIDUCIAL)",
            id="PS-fiducial-no-IPS",
        ),
        pytest.param(
            {PS: ["0.160", "0.160"], IPS: [0.16, 0.16]},
            (0.16, 0.16),
            "PixelSpacing",
            DETECTOR,
            "equals Imager Pixel Spacing",
            id="PS-equals-IPS",
        ),
        pytest.param(
            {PS: [0.2, 0.2]}, (0.2, 0.2), "PixelSpacing", DETECTOR, "the plane is not stated", id="PS-alone"
        ),
        pytest.param(
            {PS: [0.2, 0.25]},
            (0.2, 0.25),
            "PixelSpacing",
            DETECTOR,
            "0.2\\0.25 mm (row\\column)",
            id="PS-anisotropic-row-col",
        ),
        pytest.param(
            {PS: [0.2, 0.2], IPS: ["0", "0"]},
            (0.2, 0.2),
            "PixelSpacing",
            DETECTOR,
            "Imager Pixel Spacing '0\\0' is zero",
            id="PS-with-zero-IPS",
        ),
        # rule 3: only Imager Pixel Spacing
        pytest.param(
            {IPS: [0.4, 0.4]},
            (0.4, 0.4),
            "ImagerPixelSpacing",
            DETECTOR,
            "only: at detector — distances overstated by the radiographic magnification",
            id="IPS",
        ),
        pytest.param(
            {IPS: [0.4, 0.4], ERMF: "1.25"},
            (0.32, 0.32),
            "ImagerPixelSpacing/ERMF",
            ESTIMATE,
            "ERMF-corrected estimate: Imager Pixel Spacing 0.4 mm / Estimated Radiographic "
            "Magnification Factor 1.25 = 0.32 mm",
            id="IPS-ERMF",
        ),
        pytest.param(
            {IPS: [0.4, 0.4], ERMF: 1.0},
            (0.4, 0.4),
            "ImagerPixelSpacing/ERMF",
            ESTIMATE,
            "ERMF-corrected estimate",
            id="IPS-ERMF-1",
        ),
        pytest.param(
            {IPS: [0.4, 0.4], ERMF: "0.8"},
            (0.4, 0.4),
            "ImagerPixelSpacing",
            DETECTOR,
            "Factor '0.8' ignored (a projection magnification is a number >= 1)",
            id="IPS-ERMF-below-1",
        ),
        pytest.param(
            {IPS: [0.4, 0.4], ERMF: "0"},
            (0.4, 0.4),
            "ImagerPixelSpacing",
            DETECTOR,
            "Factor '0' ignored",
            id="IPS-ERMF-zero",
        ),
        pytest.param(
            {IPS: [0.4, 0.4], ERMF: "abc"},
            (0.4, 0.4),
            "ImagerPixelSpacing",
            DETECTOR,
            "Factor 'abc' ignored (not a number)",
            id="IPS-ERMF-junk",
        ),
        pytest.param(
            {PS: ["0", "0"], IPS: [0.4, 0.4]},
            (0.4, 0.4),
            "ImagerPixelSpacing",
            DETECTOR,
            "Pixel Spacing '0\\0' ignored (zero)",
            id="zero-PS-IPS",
        ),
        # rule 4: nothing usable
        pytest.param(
            {}, None, "none", NONE, "no Pixel Spacing or Imager Pixel Spacing in the header", id="absent"
        ),
        pytest.param({PS: ["0", "0"]}, None, "none", NONE, "Pixel Spacing '0\\0' is zero", id="PS-zero"),
        pytest.param({PS: [0.0, 0.2]}, None, "none", NONE, "is zero", id="PS-one-zero"),
        pytest.param(
            {PS: [-0.2, 0.2]}, None, "none", NONE, "Pixel Spacing '-0.2\\0.2' is negative", id="PS-negative"
        ),
        pytest.param(
            {PS: "0.2"},
            None,
            "none",
            NONE,
            "Pixel Spacing '0.2' is not two numbers (1 value)",
            id="PS-one-number",
        ),
        pytest.param(
            {PS: [0.2, 0.2, 0.2]}, None, "none", NONE, "not two numbers (3 values)", id="PS-three-numbers"
        ),
        pytest.param(
            {PS: ["abc", "0.2"]},
            None,
            "none",
            NONE,
            "Pixel Spacing 'abc\\0.2' is not two numbers",
            id="PS-letters",
        ),
        pytest.param({PS: [float("nan"), 0.2]}, None, "none", NONE, "is not finite", id="PS-nan"),
        pytest.param({PS: ""}, None, "none", NONE, "Pixel Spacing '' is empty", id="PS-empty"),
        pytest.param(
            {IPS: ["0", "0"]}, None, "none", NONE, "Imager Pixel Spacing '0\\0' is zero", id="IPS-zero"
        ),
        pytest.param(
            {PS: ["0", "0"], IPS: [-1, 1]},
            None,
            "none",
            NONE,
            "Pixel Spacing '0\\0' is zero and Imager Pixel Spacing '-1\\1' is negative",
            id="both-bad",
        ),
    ],
)
def test_header_calibration_rules(
    values: dict, mm, source: str, plane: CalibrationPlane, rule_has: str
) -> None:
    cal = header_calibration(**values)
    assert cal.mm_per_px == pytest.approx(mm) if mm else cal.mm_per_px is None
    assert cal.source.value == source
    assert cal.plane is plane
    assert rule_has in cal.rule
    assert (DETECTOR_WARNING in cal.warnings) == (plane is DETECTOR)
    if mm is None:
        assert cal.rule.endswith(": distances in pixels, no millimetre thresholds")


@pytest.mark.parametrize(
    "attrs, mm, source, plane",
    [
        pytest.param(
            {"PixelSpacing": [0.15, 0.15], "ImagerPixelSpacing": [0.18, 0.18]},
            (0.15, 0.15),
            CalibrationSource.PIXEL_SPACING,
            CALIBRATED,
            id="calibrated",
        ),
        pytest.param(
            {"PixelSpacing": [0.16, 0.16], "ImagerPixelSpacing": [0.16, 0.16]},
            (0.16, 0.16),
            CalibrationSource.PIXEL_SPACING,
            DETECTOR,
            id="equal",
        ),
        pytest.param(
            {"ImagerPixelSpacing": [0.4, 0.4], "EstimatedRadiographicMagnificationFactor": 1.25},
            (0.32, 0.32),
            CalibrationSource.ERMF,
            ESTIMATE,
            id="ermf",
        ),
        pytest.param(
            {"ImagerPixelSpacing": [0.4, 0.4]},
            (0.4, 0.4),
            CalibrationSource.IMAGER_PIXEL_SPACING,
            DETECTOR,
            id="detector",
        ),
        pytest.param({"PixelSpacing": [0, 0]}, None, CalibrationSource.NONE, NONE, id="zero"),
        pytest.param({"PixelSpacing": [-0.1, 0.1]}, None, CalibrationSource.NONE, NONE, id="negative"),
        pytest.param({"PixelSpacing": 0.1}, None, CalibrationSource.NONE, NONE, id="one-number"),
        pytest.param({}, None, CalibrationSource.NONE, NONE, id="absent"),
    ],
)
def test_calibration_rules_through_files(tmp_path: Path, attrs: dict, mm, source, plane) -> None:
    r = load_radiograph(dx_file(tmp_path / "c.dcm", **attrs))
    assert r.calibration.mm_per_px == pytest.approx(mm) if mm else r.calibration.mm_per_px is None
    assert r.calibration.source is source and r.calibration.plane is plane


def test_raw_header_values_are_kept_for_the_record() -> None:
    cal = header_calibration(
        pixel_spacing=["0.139", "0.139"], imager_pixel_spacing=["0.16", "0.16"], calibration_type="GEOMETRY"
    )
    assert cal.extra["PixelSpacing"] == "0.139\\0.139"
    assert cal.extra["ImagerPixelSpacing"] == "0.16\\0.16"
    assert cal.extra["PixelSpacingCalibrationType"] == "GEOMETRY"


# ----------------------------------------------------------------------------- age


@pytest.mark.parametrize(
    "raw, years, warns",
    [
        pytest.param("067Y", 67.0, False, id="years"),
        pytest.param("030M", 2.5, False, id="months"),
        pytest.param("012W", 0.23, False, id="weeks"),
        pytest.param("010D", 0.03, False, id="days"),
        pytest.param("130Y", 130.0, False, id="oldest"),
        pytest.param("67Y", 67.0, True, id="short-form-read-with-note"),
        pytest.param("067y", 67.0, True, id="lower-case-read-with-note"),
        pytest.param("000Y", None, True, id="zero-placeholder"),
        pytest.param("131Y", None, True, id="too-old"),
        pytest.param("999Y", None, True, id="absurd"),
        pytest.param("67", None, True, id="no-unit"),
        pytest.param("sixty", None, True, id="words"),
        pytest.param("067X", None, True, id="bad-unit"),
        pytest.param("", None, False, id="empty"),
        pytest.param(None, None, False, id="absent"),
    ],
)
def test_patient_age_forms(raw, years, warns: bool) -> None:
    got, warning = parse_patient_age(raw)
    assert got == years
    assert (warning is not None) == warns


@pytest.mark.parametrize(
    "birth, study, years",
    [
        pytest.param("19400305", "20040826", 64.0, id="after-birthday"),
        pytest.param("19400827", "20040826", 63.0, id="day-before-birthday"),
        pytest.param("19400826", "20040826", 64.0, id="on-birthday"),
        pytest.param("20000229", "20040228", 3.0, id="leap-day-not-yet"),
        pytest.param("20000229", "20040229", 4.0, id="leap-day"),
        pytest.param("20040101", "20040701", 0.49, id="infant-completed-hundredths"),
        pytest.param("20030826", "20040825", 0.99, id="one-day-short-of-a-year"),
        pytest.param("1940.03.05", "2004.08.26", 64.0, id="acr-nema-dates"),
    ],
)
def test_age_from_birth_date(birth: str, study: str, years: float) -> None:
    r = patient_from_header(birth_date=birth, study_date=study)
    assert r.patient.age_years == years
    assert r.patient.age_source == "DICOM PatientBirthDate/StudyDate"
    assert r.warnings == ()


def test_age_prefers_patient_age_and_says_when_dates_disagree() -> None:
    r = patient_from_header(patient_age="070Y", birth_date="19400305", study_date="20040826")
    assert (r.patient.age_years, r.patient.age_source) == (70.0, "DICOM PatientAge")
    assert r.warnings == (
        "Patient's Age '070Y' (70 y) disagrees with the birth date by 6 years (Patient's Birth Date and "
        "Study Date, not shown): Patient's Age used",
    )
    assert not any(d in w for w in r.warnings for d in ("1940", "2004", "0305", "0826"))
    agree = patient_from_header(patient_age="064Y", birth_date="19400305", study_date="20040826")
    assert agree.warnings == ()


def test_age_falls_back_to_acquisition_then_content_date() -> None:
    r = patient_from_header(birth_date="19790408", acquisition_date="19921225", content_date="19921226")
    assert (r.patient.age_years, r.patient.age_source) == (13.0, "DICOM PatientBirthDate/AcquisitionDate")
    r = patient_from_header(birth_date="19790408", content_date="19921226")
    assert r.patient.age_source == "DICOM PatientBirthDate/ContentDate"


def test_age_warns_when_study_and_acquisition_dates_give_different_ages() -> None:
    r = patient_from_header(birth_date="19790408", study_date="20040826", acquisition_date="19921225")
    assert r.patient.age_years == 25.0
    assert r.warnings == (
        "age 25 y from Patient's Birth Date and Study Date; the Acquisition Date would give 13 y (dates not shown)",
    )


@pytest.mark.parametrize(
    "values, warning",
    [
        pytest.param(
            {"birth_date": "d14a028c2a3a2bc9", "study_date": "20040826"},
            "Patient's Birth Date (value not shown) is not a DICOM date (YYYYMMDD)",
            id="hashed-birth",
        ),
        pytest.param(
            {"birth_date": "19400230", "study_date": "20040826"},
            "Patient's Birth Date (value not shown) is not a DICOM date",
            id="no-30-february",
        ),
        pytest.param(
            {"birth_date": "19400305", "study_date": "2004-08-26"},
            "Study Date (value not shown) is not a DICOM date",
            id="iso-study-date",
        ),
        pytest.param(
            {"birth_date": "20100101", "study_date": "20040826"},
            "Study Date is before Patient's Birth Date (dates not shown): no age from it",
            id="future",
        ),
        pytest.param(
            {"birth_date": "18000101", "study_date": "20040826"},
            "age 204 y from the dates is over 130 years: ignored",
            id="too-old",
        ),
        pytest.param({"patient_age": "sixty"}, "Patient's Age 'sixty' is not a DICOM age", id="age-words"),
    ],
)
def test_malformed_dates_give_unknown_age_and_a_warning(values: dict, warning: str) -> None:
    r = patient_from_header(**values)
    assert r.patient.age_years is None and r.patient.age_source is None
    assert any(w.startswith(warning) for w in r.warnings), r.warnings


def test_no_dates_no_age_no_warning() -> None:
    r = patient_from_header(birth_date="", study_date="20040826")
    assert r.patient.age_years is None and r.warnings == ()


@pytest.mark.parametrize(
    "raw, sex, warns",
    [
        ("M", Sex.M, False),
        ("F", Sex.F, False),
        ("O", Sex.O, False),
        ("f ", Sex.F, False),
        ("", None, False),
        (None, None, False),
        ("X", None, True),
        ("male", None, True),
    ],
)
def test_sex(raw, sex, warns: bool) -> None:
    r = patient_from_header(patient_sex=raw)
    assert r.patient.sex is sex
    assert r.patient.sex_source == ("DICOM PatientSex" if sex else None)
    assert bool(r.warnings) == warns


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("20040826", datetime.date(2004, 8, 26)),
        ("2004.08.26", datetime.date(2004, 8, 26)),
        (datetime.date(2001, 2, 3), datetime.date(2001, 2, 3)),
        ("20041301", None),
        ("2004", None),
        ("", None),
        (None, None),
    ],
)
def test_dicom_dates(raw, expected) -> None:
    assert parse_dicom_date(raw) == expected


# ----------------------------------------------------------------------------- view and side


@pytest.mark.parametrize(
    "raw, view",
    [
        ("LATERAL", View.LATERAL),
        ("LL", View.LATERAL),
        ("RL", View.LATERAL),
        ("ll ", View.LATERAL),
        ("AP", View.AP),
        ("PA", View.AP),
        ("RLO", None),
        ("LLD", None),
        ("", None),
        (None, None),
    ],
)
def test_view_from_view_position(raw, view) -> None:
    assert view_from_position(raw) is view


@pytest.mark.parametrize(
    "raw, side",
    [
        (["L", "F"], PatientRight.IMAGE_LEFT),
        (["R", "F"], PatientRight.IMAGE_RIGHT),
        (["A", "F"], None),
        (["LP", "F"], None),
        ("L", PatientRight.IMAGE_LEFT),
        ([], None),
        (None, None),
    ],
)
def test_patient_right_from_orientation(raw, side) -> None:
    assert patient_right_from_orientation(raw) is side


def test_header_fields_through_a_file(tmp_path: Path) -> None:
    r = load_radiograph(
        dx_file(
            tmp_path / "ap.dcm",
            ViewPosition="AP",
            PatientOrientation=["R", "F"],
            PatientAge="015Y",
            PatientSex="F",
            StudyDate="20230405",
        )
    )
    assert (r.view, r.view_position, r.patient_orientation) == (View.AP, "AP", ("R", "F"))
    assert r.patient_right is PatientRight.IMAGE_RIGHT
    assert (r.patient.age_years, r.patient.age_source) == (15.0, "DICOM PatientAge")
    assert r.study_date == datetime.date(2023, 4, 5)


def test_a_value_pydicom_only_warns_about_is_kept_with_a_note(tmp_path: Path) -> None:
    """An Accession Number longer than SH allows (an anonymiser's hash) stays in the header, with a note.

    Reading converts every element up front; under a warnings filter that raises (pytest's
    ``error``, ``python -W error``) pydicom's length warning used to drop the element.
    """
    import warnings

    from spinecheck.landmarks.imaging.header import read_dataset

    long = "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = dx_file(tmp_path / "long.dcm", AccessionNumber=long)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds, notes = read_dataset(path, "film", preamble=True)
    assert ds.AccessionNumber == long
    assert any("exceeds the maximum length" in n for n in notes)
