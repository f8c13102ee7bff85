"""DICOM results (issue 16, 1): a TID 1500 Structured Report and a Secondary Capture in the film's study.

Everything is read back with pydicom and highdicom: every parameter's value and unit equal the
JSON report's, the landmarks are SCOORD points at the landmark + 0.5 (PS3.3 C.18.6.1.1), each
verdict carries its rule and citation, the patient and study are the film's and the objects
reference it. ``dciodvfy`` (dicom3tools) checks both files where it is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from spinecheck.alignment.export import codes
from spinecheck.alignment.export.dicom import export_dicom, output_paths
from spinecheck.alignment.export.source import DicomExportError, ascii_text, read_source_film
from spinecheck.alignment.parameters import PARAMETERS, shown_number
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError, InvalidLandmarksError
from spinecheck.landmarks.io import read_provenance
from spinecheck.landmarks.io.provenance import parse_provenance
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
#: The film's patient and study, as a hospital's header would hold them.
HEADER = {
    "PatientName": "DOE^JANE^Q",
    "PatientID": "P-000123",
    "PatientBirthDate": "19570314",
    "AccessionNumber": "ACC-42",
    "StudyID": "7",
    "StudyDescription": "XR WHOLE SPINE STANDING",
    "ReferringPhysicianName": "HOUSE^GREGORY",
    "IssuerOfPatientID": "GENERAL HOSPITAL",
}
COPIED = (*HEADER, "PatientSex", "PatientAge", "StudyDate", "StudyTime", "StudyInstanceUID")
MODEL = {"name": "spine-ap-net", "version": "2.1", "sha256": "ab" * 32}

highdicom = pytest.importorskip("highdicom")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dicom-export")


def _film(folder: Path, name: str, film, landmarks: dict | None = None, **write) -> tuple[Path, Path]:
    dcm = write_dicom(film, folder / f"{name}.dcm", patient_age=67, extra=HEADER, **write)
    points = folder / f"{name}.landmarks.json"
    if landmarks is None:
        from spinecheck.landmarks.io import write_landmarks

        write_landmarks(film.landmarks, points)
    else:
        points.write_text(json.dumps({"format": "spinecheck-landmarks/1", **landmarks}))
    return dcm, points


#: Hand-placed AP points with known answers: the CSVL at x = 120, C7 10 px to the image right of
#: it, the patient's right on the image left, so C7-CSVL = -10 px (-10 mm at 1 mm/px).
HAND_AP = {
    "view": "ap",
    "patient_right": "image_left",
    "points": {"C7.centroid": [130.0, 100.25], "S1.sup.left": [100.0, 400.0], "S1.sup.right": [140.0, 400.0]},
}


@pytest.fixture(scope="module")
def films(folder) -> dict[str, tuple[Path, Path]]:
    lateral = synthetic_lateral(mm_per_px=0.5)
    ap = synthetic_ap(mm_per_px=0.5)
    hand = synthetic_ap(mm_per_px=1.0)
    model = {
        **HAND_AP,
        "provenance": {
            "kind": "model",
            "model": MODEL,
            "confidence": {"film": 0.93, "points": {"C7.centroid": 0.88, "S1.sup.left": 0.5}},
            "corrected": ["S1.sup.right"],
        },
        "operation": {"date": "2023-05-04", "uiv": "T10", "liv": "S1"},
    }
    return {
        "lateral": _film(folder, "lateral", lateral),
        "ap": _film(folder, "ap", ap),
        "hand": _film(folder, "hand", hand, HAND_AP),
        "uncalibrated": _film(folder, "uncalibrated", hand, HAND_AP, spacing="none"),
        "model": _film(folder, "model", hand, model),
    }


@pytest.fixture(scope="module")
def exported(folder, films) -> dict[str, dict]:
    """Each film exported once: the export, its report JSON (from the command line) and both files read."""
    out = {}
    for name, (dcm, points) in films.items():
        done = export_dicom(dcm, points, folder / "out")
        report = _report_json(dcm, points)
        out[name] = {
            "done": done,
            "report": report,
            "sr": pydicom.dcmread(done.structured_report),
            "sc": pydicom.dcmread(done.secondary_capture),
            "film": pydicom.dcmread(dcm, stop_before_pixels=True),
        }
    return out


def _report_json(dcm: Path, points: Path) -> dict:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["measure", str(points), "--image", str(dcm), "--format", "json"]) == 0
    return json.loads(buf.getvalue())


# ----------------------------------------------------------------------------- reading an SR back


def _walk(item, parents=()):
    """Every content item with the concept names of its parents."""
    yield item, parents
    name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else ""
    for child in item.get("ContentSequence", []):
        yield from _walk(child, (*parents, name))


def _code(item) -> tuple[str, str]:
    c = item.ConceptNameCodeSequence[0]
    return str(c.get("CodeValue") or c.get("LongCodeValue")), str(c.CodingSchemeDesignator)


def _groups(sr) -> list:
    return [i for i, _ in _walk(sr) if i.ValueType == "CONTAINER" and _code(i) == ("125007", "DCM")]


def _tracking(group) -> str:
    return next(str(c.TextValue) for c in group.ContentSequence if _code(c) == ("112039", "DCM"))


def _group(sr, tracking: str):
    return next(g for g in _groups(sr) if _tracking(g) == tracking)


def _texts(group) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in group.ContentSequence:
        if c.ValueType == "TEXT" and c.ConceptNameCodeSequence[0].CodingSchemeDesignator == codes.SCHEME:
            out.setdefault(_code(c)[0], []).append(str(c.TextValue))
    return out


def _nums(group) -> dict[str, object]:
    """The group's NUM items by parameter id (the standard-coded Cobb_max by its derivation)."""
    out = {}
    for c in group.ContentSequence:
        if c.ValueType != "NUM":
            continue
        value, scheme = _code(c)
        if scheme == "SCT":
            mods = [_code(m) for m in c.get("ContentSequence", []) if m.ValueType == "CODE"]
            derived = {
                str(m.ConceptCodeSequence[0].CodeValue)
                for m in c.get("ContentSequence", [])
                if m.ValueType == "CODE"
            }
            assert (
                value == codes.COBB_ANGLE.value
                and ("121401", "DCM") in mods
                and codes.MAXIMUM.value in derived
            )
            value = "Cobb_max"
        out[value] = c
    return out


# ----------------------------------------------------------------------------- values equal the report's


@pytest.mark.parametrize("name", ["lateral", "ap", "hand", "uncalibrated"])
def test_every_parameter_has_the_report_value_and_its_ucum_unit(exported, name):
    e = exported[name]
    group = _group(e["sr"], "spinal alignment")
    nums, texts = _nums(group), _texts(group)
    measured = {pid: p for pid, p in e["report"]["parameters"].items() if p["value"] is not None}
    withheld = {pid: p for pid, p in e["report"]["parameters"].items() if p["value"] is None}
    assert set(nums) == set(measured)
    for pid, p in measured.items():
        mv = nums[pid].MeasuredValueSequence[0]
        assert float(mv.FloatingPointValue) == p["value"], pid  # the report's number, full precision
        assert str(mv.NumericValue) == shown_number(p["value"]), pid  # what a viewer shows: as reports show
        unit = mv.MeasurementUnitsCodeSequence[0]
        assert (unit.CodingSchemeDesignator, unit.CodeValue) == ("UCUM", codes.UNITS[p["unit"]].value)
        ref = nums[pid].ContentSequence[-1].ReferencedSOPSequence[0]
        assert ref.ReferencedSOPInstanceUID == e["film"].SOPInstanceUID
    for pid, p in withheld.items():  # never a number: the reason, as text
        assert texts[pid] == [f"not measured: {p['reason']}"], pid


def test_known_answers_by_hand(exported):
    hand = _nums(_group(exported["hand"]["sr"], "spinal alignment"))
    mv = hand["C7_CSVL"].MeasuredValueSequence[0]
    assert float(mv.FloatingPointValue) == -10.0 and str(mv.NumericValue) == "-10.0"
    assert mv.MeasurementUnitsCodeSequence[0].CodeValue == "mm"
    assert float(hand["PO"].MeasuredValueSequence[0].FloatingPointValue) == 0.0
    assert str(hand["PO"].MeasuredValueSequence[0].NumericValue) == "0.0"  # never "-0.0"
    bare = _nums(_group(exported["uncalibrated"]["sr"], "spinal alignment"))
    mv = bare["C7_CSVL"].MeasuredValueSequence[0]
    assert float(mv.FloatingPointValue) == -10.0
    assert (mv.MeasurementUnitsCodeSequence[0].CodeValue, mv.MeasurementUnitsCodeSequence[0].CodeMeaning) == (
        "{pixels}",
        "pixels",
    )
    texts = _texts(_group(exported["uncalibrated"]["sr"], "spinal alignment"))
    assert texts["calib-source"][0].startswith("none: distances in pixels")
    coronal = texts["balance.coronal"][0]  # no millimetre threshold on a film without spacing
    assert "not applied" in coronal


def test_cobb_max_is_the_snomed_cobb_angle_with_the_maximum_as_its_derivation(exported):
    e = exported["ap"]
    nums = _nums(_group(e["sr"], "spinal alignment"))
    assert (
        float(nums["Cobb_max"].MeasuredValueSequence[0].FloatingPointValue)
        == e["report"]["parameters"]["Cobb_max"]["value"]
    )


def test_each_coronal_curve_is_a_group_with_its_cobb_angle_and_levels(exported):
    e = exported["ap"]
    curves = e["report"]["curves"]
    assert curves
    for curve in curves:
        group = _group(e["sr"], f"coronal curve {curve['upper_end']}-{curve['lower_end']}")
        (num,) = [c for c in group.ContentSequence if c.ValueType == "NUM"]
        assert _code(num) == ("285285000", "SCT")
        assert float(num.MeasuredValueSequence[0].FloatingPointValue) == curve["angle_deg"]
        texts = _texts(group)
        assert texts["upper-end"] == [curve["upper_end"]] and texts["lower-end"] == [curve["lower_end"]]
        assert texts["apex-vertebra"] == [curve["apex"]] and texts["convex-side"] == [curve["convex"]]
        assert texts["lenke-region"] == [curve["lenke_region"]]


def test_every_verdict_is_text_with_its_rule_citation_and_status(exported):
    for name in ("lateral", "ap"):
        e = exported[name]
        texts = _texts(_group(e["sr"], "spinal alignment"))
        assert e["report"]["criteria"]
        for row in e["report"]["criteria"]:
            (text,) = texts[row["id"]]
            assert f"[{row['status']}]" in text and ascii_text(f"source: {row['source']}") in text, row["id"]
            if "rule" in row:
                assert ascii_text(row["rule"]) in text, row["id"]
            if "note" in row:
                assert ascii_text(f"note: {row['note']}") in text, row["id"]
    sva = _texts(_group(exported["lateral"]["sr"], "spinal alignment"))["sagittal_balance.sva"][0]
    value = exported["lateral"]["report"]["parameters"]["SVA"]["value"]
    flagged = "flagged" if round(value, 1) >= 50 else "not flagged"
    assert sva.startswith(
        f"Sagittal imbalance (SVA >= 5 cm): {flagged} ({shown_number(value)} mm; SVA >= 50 mm) [V]"
    )


def test_the_calibration_age_conventions_and_landmark_source_are_said(exported):
    e = exported["lateral"]
    texts = _texts(_group(e["sr"], "spinal alignment"))
    cal = e["report"]["calibration"]
    assert texts["calib-source"] == [
        f"{cal['mm_per_px'][0]:g} x {cal['mm_per_px'][1]:g} mm/px (row x col); source {cal['source']}; "
        f"plane {cal['plane']}; {cal['rule']}"
    ]
    patient = e["report"]["patient"]
    assert texts["patient-age"] == [f"{patient['age_years']:g} years ({patient['age_source']})"]
    assert _texts(_group(exported["hand"]["sr"], "spinal alignment"))["patient-age"] == [
        "67 years (DICOM PatientAge)"
    ]
    assert texts["landmark-source"] == ["placed by hand (the landmark file records no model provenance)"]
    assert texts["sign-conventions"][0].startswith("vertical: image column axis (standing film)")
    algorithm = {
        _code(c)[0]: str(c.TextValue)
        for c in _group(e["sr"], "spinal alignment").ContentSequence
        if c.ValueType == "TEXT" and _code(c)[1] == "DCM"
    }
    assert algorithm["111001"] == "spinecheck"  # TID 4019: the algorithm that measured


# ----------------------------------------------------------------------------- landmarks as SCOORD points


def test_landmarks_are_scoord_points_half_a_pixel_further(exported):
    e = exported["hand"]
    sr = e["sr"]
    for name, (x, y) in HAND_AP["points"].items():
        group = _group(sr, name)
        (region,) = [c for c in group.ContentSequence if c.ValueType == "SCOORD"]
        assert region.GraphicType == "POINT"
        assert list(region.GraphicData) == [x + 0.5, y + 0.5]  # exact in float32 for these values
        ref = region.ContentSequence[0].ReferencedSOPSequence[0]
        assert (ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID) == (
            e["film"].SOPClassUID,
            e["film"].SOPInstanceUID,
        )
    assert list(_group(sr, "C7.centroid").ContentSequence[-1].GraphicData) == [130.5, 100.75]


def test_every_landmark_of_a_whole_film_is_a_point(films, exported):
    from spinecheck.landmarks.io import read_landmarks

    points = read_landmarks(films["lateral"][1]).points
    sr = exported["lateral"]["sr"]
    regions = {
        _tracking(g): next(c for c in g.ContentSequence if c.ValueType == "SCOORD")
        for g in _groups(sr)
        if any(c.ValueType == "SCOORD" for c in g.ContentSequence)
    }
    assert set(regions) == set(points)
    for name, (x, y) in points.items():
        got = np.asarray(regions[name].GraphicData, dtype=np.float32)
        assert np.array_equal(got, np.array([x + 0.5, y + 0.5], dtype=np.float32)), name


def test_highdicom_reads_the_report_back(exported):
    sr = highdicom.sr.srread(exported["hand"]["done"].structured_report)
    assert isinstance(sr, highdicom.sr.ComprehensiveSR)
    report = sr.content
    (group,) = report.get_image_measurement_groups()
    assert group.tracking_identifier == "spinal alignment"
    names = {m.name.value: m for m in group.get_measurements()}
    assert names["C7_CSVL"].value == -10.0 and names["C7_CSVL"].unit.value == "mm"
    rois = report.get_planar_roi_measurement_groups()
    assert {g.tracking_identifier for g in rois} == set(HAND_AP["points"])
    assert sr.get_evidence() == [
        (
            exported["hand"]["film"].StudyInstanceUID,
            exported["hand"]["film"].SeriesInstanceUID,
            exported["hand"]["film"].SOPInstanceUID,
            exported["hand"]["film"].SOPClassUID,
        )
    ]


# ----------------------------------------------------------------------------- model provenance


def test_machine_made_landmarks_name_their_model_point_by_point(exported):
    sr = exported["model"]["sr"]
    texts = _texts(_group(sr, "spinal alignment"))
    assert texts["landmark-source"] == [
        f"placed by model spine-ap-net 2.1 (weights sha256 {'ab' * 32}); film confidence 0.93; "
        "corrected by a person: S1.sup.right"
    ]

    def algorithm(group) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in group.ContentSequence:
            if c.ValueType == "TEXT" and _code(c)[1] == "DCM" and _code(c)[0] != "112039":
                out.setdefault(_code(c)[0], []).append(str(c.TextValue))
        return out

    c7 = _group(sr, "C7.centroid")
    assert algorithm(c7) == {
        "111001": ["spine-ap-net"],
        "111003": ["2.1"],
        "111002": [f"weights sha256 {'ab' * 32}"],
    }
    assert _texts(c7)["landmark-source"] == ["placed by model spine-ap-net 2.1, confidence 0.88"]
    corrected = _group(sr, "S1.sup.right")
    assert algorithm(corrected) == {}  # a person placed it last
    assert _texts(corrected)["landmark-source"] == ["placed by model spine-ap-net 2.1, corrected by a person"]
    assert _texts(_group(exported["hand"]["sr"], "C7.centroid")) == {}  # by hand: nothing per point
    assert texts["operation-record"] == ["operated 2023-05-04; UIV T10, LIV S1 (landmark file)"]
    assert "operation-record" not in _texts(_group(exported["hand"]["sr"], "spinal alignment"))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        pytest.param([], '"provenance" must be a JSON object {...}; got []', id="not-object"),
        pytest.param(
            {"model": MODEL},
            '"provenance" needs "kind": "model" (absent block: placed by hand)',
            id="no-kind",
        ),
        pytest.param(
            {"kind": "person", "model": MODEL},
            "\"provenance.kind\" must be one of 'model'; got 'person'",
            id="kind",
        ),
        pytest.param(
            {"kind": "model"}, '"provenance.model" must be a JSON object {...}; got nothing', id="no-model"
        ),
        pytest.param(
            {"kind": "model", "model": {"name": "m"}},
            '"provenance.model.version" must be a non-empty string; got nothing',
            id="no-version",
        ),
        pytest.param(
            {"kind": "model", "model": {**MODEL, "sha256": "abc"}},
            '"provenance.model.sha256" must be the 64 hexadecimal digits of a SHA-256; got "abc"',
            id="sha",
        ),
        pytest.param(
            {"kind": "model", "model": MODEL, "confidence": {"film": 1.5}},
            '"provenance.confidence.film" must be a confidence from 0 to 1; got 1.5',
            id="film-confidence",
        ),
        pytest.param(
            {"kind": "model", "model": MODEL, "confidence": {"film": True}},
            '"provenance.confidence.film" must be a confidence from 0 to 1; got true',
            id="boolean",
        ),
        pytest.param(
            {"kind": "model", "model": MODEL, "confidence": {"points": {"FH": -0.1}}},
            '"provenance.confidence.points.FH" must be a confidence from 0 to 1; got -0.1',
            id="point-confidence",
        ),
        pytest.param(
            {"kind": "model", "model": MODEL, "corrected": "FH"},
            '"provenance.corrected" must be a list of point names; got "FH"',
            id="corrected",
        ),
        pytest.param(
            {"kind": "model", "model": MODEL, "confidense": {}},
            '"provenance" may hold "kind", "model", "confidence", "corrected"; got unknown key "confidense"; '
            'did you mean "confidence"?',
            id="misspelt",
        ),
    ],
)
def test_a_bad_provenance_block_is_one_line_naming_the_file_and_field(tmp_path, block, message):
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps(
            {"format": "spinecheck-landmarks/1", "view": "ap", "points": {"FH": [1, 2]}, "provenance": block}
        )
    )
    with pytest.raises(InvalidLandmarksError) as info:
        read_provenance(path)
    assert str(info.value) == f"landmarks file '{path}': {message}"


def test_confidence_for_a_point_the_file_does_not_place_is_left_out():
    p = parse_provenance(
        {
            "kind": "model",
            "model": MODEL,
            "confidence": {"points": {"FH": 0.9, "T1.sup.left": 0.2}},
            "corrected": ["T2.sup.left"],
        },
        where="x",
        points={"FH": [1, 2]},
    )
    assert dict(p.point_confidence) == {"FH": 0.9} and p.corrected == ()


def test_other_landmark_formats_have_no_provenance(tmp_path):
    assert read_provenance(tmp_path / "x.csv") is None and read_provenance(tmp_path / "x.mrk.json") is None


# ----------------------------------------------------------------------------- identity and references


@pytest.mark.parametrize("kind", ["sr", "sc"])
def test_both_are_in_the_film_study_with_its_patient_and_new_uids(exported, kind):
    e = exported["lateral"]
    ds, film = e[kind], e["film"]
    for keyword in COPIED:
        assert ds[keyword].value == film[keyword].value, keyword
        assert ds[keyword].VR == film[keyword].VR
    assert ds.SOPClassUID == (COMPREHENSIVE_SR if kind == "sr" else SECONDARY_CAPTURE)
    assert ds.SeriesInstanceUID != film.SeriesInstanceUID and ds.SOPInstanceUID != film.SOPInstanceUID
    done = e["done"]
    assert done.study_instance_uid == film.StudyInstanceUID
    assert ds.SOPInstanceUID == (done.sr_sop_instance_uid if kind == "sr" else done.sc_sop_instance_uid)
    assert ds.SeriesInstanceUID == (
        done.sr_series_instance_uid if kind == "sr" else done.sc_series_instance_uid
    )
    assert done.sr_series_instance_uid != done.sc_series_instance_uid


def test_the_report_references_the_film_and_is_unverified(exported):
    e = exported["lateral"]
    sr, film = e["sr"], e["film"]
    (evidence,) = sr.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == film.StudyInstanceUID
    (series,) = evidence.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == film.SeriesInstanceUID
    assert [(r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID) for r in series.ReferencedSOPSequence] == [
        (film.SOPClassUID, film.SOPInstanceUID)
    ]
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == (
        "COMPLETE",
        "UNVERIFIED",
        "PRELIMINARY",
    )
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    (scheme,) = sr.CodingSchemeIdentificationSequence
    assert scheme.CodingSchemeDesignator == "99SPINECHECK"
    assert sr.Modality == "SR" and sr.SeriesNumber == 9901


def test_the_capture_is_the_figure_in_rgb_without_a_spacing(films, exported):
    from spinecheck.alignment.export.capture import figure_pixels
    from spinecheck.landmarks.imaging.radiograph import load_radiograph

    e = exported["lateral"]
    sc, film = e["sc"], e["film"]
    assert (sc.PhotometricInterpretation, sc.SamplesPerPixel, sc.BitsAllocated) == ("RGB", 3, 8)
    assert sc.Rows == 1650  # the 11-inch figure at 150 dots per inch
    dcm, points = films["lateral"]
    radiograph = load_radiograph(dcm)
    expected = figure_pixels(radiograph.display, load_study(str(points), image=radiograph))
    assert np.array_equal(sc.pixel_array, expected)
    assert "PixelSpacing" not in sc and "ImagerPixelSpacing" not in sc  # a picture, not for measuring
    assert sc.BurnedInAnnotation == "YES" and sc.ConversionType == "WSD"
    assert list(sc.PatientOrientation) == list(film.PatientOrientation)
    assert "Laterality" not in sc  # a spine film: an unpaired part
    (source,) = sc.SourceImageSequence
    assert (source.ReferencedSOPClassUID, source.ReferencedSOPInstanceUID) == (
        film.SOPClassUID,
        film.SOPInstanceUID,
    )
    assert source.PurposeOfReferenceCodeSequence[0].CodeValue == "121322"
    assert sc.Modality == "OT" and sc.SeriesNumber == 9902


# ----------------------------------------------------------------------------- dciodvfy


def _dciodvfy_errors(path: Path) -> list[str]:
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True)
    text = (run.stdout + run.stderr).decode("latin-1")
    return [line for line in text.splitlines() if line.startswith("Error")]


needs_dciodvfy = pytest.mark.skipif(
    shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed"
)


@needs_dciodvfy
@pytest.mark.parametrize("name", ["lateral", "ap", "uncalibrated", "model"])
def test_dciodvfy_finds_no_error(exported, name):
    done = exported[name]["done"]
    assert _dciodvfy_errors(done.structured_report) == []
    assert _dciodvfy_errors(done.secondary_capture) == []


def _attribute(line: str) -> str:
    found = re.search(r"\(0x[0-9a-f]{4},0x[0-9a-f]{4}\)", line)
    return found.group(0) if found else line


@needs_dciodvfy
@pytest.mark.shared
@pytest.mark.parametrize("film", ["RG2_UNC", "DX_chest_MONOCHROME1_inverse_J2KR.dcm"])
def test_real_films_get_no_error_they_do_not_have_themselves(shared_data, tmp_path, film):
    """A real film's own invalid values (an anonymiser's hash as a birth date) are copied as they are, and said."""
    source = shared_data / "dicom" / film
    points = tmp_path / "ap.json"
    points.write_text(json.dumps({"format": "spinecheck-landmarks/1", **HAND_AP}))
    done = export_dicom(source, points, tmp_path / "out")
    own = {_attribute(line) for line in _dciodvfy_errors(source)}
    for path in (done.structured_report, done.secondary_capture):
        added = [line for line in _dciodvfy_errors(path) if _attribute(line) not in own]
        assert added == [], path.name
    sr = pydicom.dcmread(done.structured_report)
    header = pydicom.dcmread(source, stop_before_pixels=True)
    with warnings.catch_warnings():  # pydicom says the film's hash is too long for an accession number
        warnings.simplefilter("ignore", UserWarning)
        for keyword in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "AccessionNumber",
            "StudyInstanceUID",
        ):
            assert sr[keyword].value == header[keyword].value, keyword
    if film.startswith("DX"):
        assert any("Patient's Birth Date" in n and "copy it as the film has it" in n for n in done.notes)
    else:
        assert done.notes == ()


# ----------------------------------------------------------------------------- files and refusals


def test_nothing_is_overwritten_without_overwrite_and_no_temporary_file_is_left(films, tmp_path):
    dcm, points = films["hand"]
    first = export_dicom(dcm, points, tmp_path / "out")
    before = first.structured_report.read_bytes()
    with pytest.raises(DicomExportError) as info:
        export_dicom(dcm, points, tmp_path / "out")
    assert str(info.value) == f"output '{first.structured_report}': exists; overwrite=True replaces it"
    assert info.value.argument == "overwrite"
    assert first.structured_report.read_bytes() == before
    again = export_dicom(dcm, points, tmp_path / "out", overwrite=True)
    assert again.sr_sop_instance_uid != first.sr_sop_instance_uid
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hand-sc.dcm", "hand-sr.dcm"]


def test_output_names_follow_the_film():
    assert [p.name for p in output_paths("a/IM0001", "o")] == ["IM0001-sr.dcm", "IM0001-sc.dcm"]
    assert [p.name for p in output_paths("a/x.DCM", "o")] == ["x-sr.dcm", "x-sc.dcm"]


def test_a_picture_film_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys):
    from PIL import Image

    png = tmp_path / "film.png"
    Image.fromarray(np.zeros((500, 200), np.uint8)).save(png)
    points = tmp_path / "p.json"
    points.write_text(json.dumps({"format": "spinecheck-landmarks/1", **HAND_AP}))
    assert main(["export", str(png), str(points), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: image '{png}': is a PNG picture, not a DICOM film; the DICOM results go into the film's "
        "DICOM study, and a picture has none (measure, plot and report take it)\n"
    )
    assert not (tmp_path / "out").exists()


def test_without_highdicom_the_command_names_the_extra(films, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "highdicom" else real(name, *a)
    )
    dcm, points = films["hand"]
    assert main(["export", str(dcm), str(points), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "error: DICOM export needs the highdicom package, which is not installed: pip install 'spinecheck[dicom]'\n"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"delete": "StudyInstanceUID"},
            "has no Study Instance UID; the DICOM results must reference the film by it",
            id="no-study",
        ),
        pytest.param(
            {"delete": "SOPInstanceUID"},
            "has no SOP Instance UID; the DICOM results must reference the film by it",
            id="no-instance",
        ),
        pytest.param(
            {"NumberOfFrames": 2},
            "holds 2 frames; the DICOM results are made for single-frame films",
            id="frames",
        ),
    ],
)
def test_a_film_the_results_cannot_reference_is_refused(films, tmp_path, change, message):
    ds = pydicom.dcmread(films["hand"][0])
    if "delete" in change:
        delattr(ds, change["delete"])
    else:
        for keyword, value in change.items():
            setattr(ds, keyword, value)
    path = tmp_path / "film.dcm"
    ds.save_as(path)
    with pytest.raises(DicomExportError) as info:
        read_source_film(path)
    assert str(info.value) == f"image '{path}': {message}"


def test_a_study_measured_on_another_film_is_refused(films, tmp_path):
    study = load_study(str(films["hand"][1]), image=str(films["uncalibrated"][0]))
    with pytest.raises(InvalidArgumentError) as info:
        export_dicom(films["hand"][0], study, tmp_path / "out")
    assert info.value.argument == "study"
    assert str(info.value).startswith(f"study: was measured on '{films['uncalibrated'][0]}', not on the film")


def test_an_output_folder_inside_a_missing_folder_is_refused(films, tmp_path, capsys):
    dcm, points = films["hand"]
    missing = tmp_path / "no" / "out"
    assert main(["export", str(dcm), str(points), "-o", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: -o '{missing}': its folder '{missing.parent}' does not exist\n"


# ----------------------------------------------------------------------------- the command line


def test_export_and_report_dicom_on_the_command_line(films, tmp_path, capsys):
    dcm, points = films["ap"]
    assert main(["export", str(dcm), str(points), "-o", str(tmp_path / "a"), "--criteria", "balance"]) == 0
    err = capsys.readouterr().err
    assert f"wrote {tmp_path / 'a' / 'ap-sr.dcm'} (Structured Report)" in err
    sr = pydicom.dcmread(tmp_path / "a" / "ap-sr.dcm")
    texts = _texts(_group(sr, "spinal alignment"))
    assert "balance.coronal" in texts and "srs_schwab.curve_type" not in texts  # the sets chosen
    assert (
        main(["report", str(dcm), str(points), "-o", str(tmp_path / "r.pdf"), "--dicom", str(tmp_path / "b")])
        == 0
    )
    capsys.readouterr()
    assert (tmp_path / "r.pdf").is_file()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["ap-sc.dcm", "ap-sr.dcm"]
    assert (
        main(
            ["report", str(dcm), str(points), "-o", str(tmp_path / "r2.pdf"), "--dicom", str(tmp_path / "b")]
        )
        == 2
    )
    assert (
        capsys.readouterr().err
        == f"error: output '{tmp_path / 'b' / 'ap-sr.dcm'}': exists; --overwrite replaces it\n"
    )
    assert not (tmp_path / "r2.pdf").exists()  # refused before anything was written


def test_the_installed_command_exports(films, tmp_path):
    dcm, points = films["hand"]
    run = subprocess.run(
        ["spinecheck", "export", str(dcm), str(points), "-o", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "hand-sr.dcm").is_file() and (tmp_path / "hand-sc.dcm").is_file()


# ----------------------------------------------------------------------------- the codes


def test_fixed_codes_never_collide_with_parameter_or_criterion_ids(exported):
    ids = set(PARAMETERS) | {row["id"] for e in exported.values() for row in e["report"]["criteria"]}
    for concept in codes.FIXED:
        assert "-" in concept.value and len(concept.value) <= 16 and len(concept.meaning) <= 64
        assert concept.value not in ids
    assert all("-" not in i for i in ids)
    assert all(len(codes.parameter_concept(pid)[0].meaning) <= 64 for pid in PARAMETERS)
