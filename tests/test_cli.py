"""End-to-end tests of the command line through ``main([...])``, and one real subprocess."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image
from radiograph_factory import dx_dataset, write
from spinecheck.cli import main
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom


@pytest.fixture(scope="module")
def lateral_film():
    return synthetic_lateral(mm_per_px=0.5)


@pytest.fixture(scope="module")
def ap_film():
    return synthetic_ap(mm_per_px=0.5)


@pytest.fixture
def lateral_files(tmp_path, lateral_film):
    """A lateral film's DICOM (Pixel Spacing 0.5, age 67) and its landmark file (no calibration, no age)."""
    dcm = write_dicom(lateral_film, tmp_path / "lat.dcm", patient_age=67)
    points = tmp_path / "lat.json"
    write_landmarks(lateral_film.landmarks.replace(patient=type(lateral_film.patient)()), points)
    return dcm, points


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return path


def base_file(**overrides):
    obj = {
        "format": "spinecheck-landmarks/1",
        "view": "lateral",
        "calibration": {"mm_per_px": [0.5, 0.5]},
        "points": {
            "S1.sup.post": [100, 500],
            "S1.sup.ant": [140, 520],
            "FH": [160, 600],
            "L1.sup.post": [90, 200],
            "L1.sup.ant": [130, 195],
            "C7.centroid": [150, 0],
        },
    }
    obj.update(overrides)
    return obj


# ----------------------------------------------------------------------------- results


def test_measure_json_reproduces_the_synthetic_truth(capsys, lateral_film, lateral_files):
    dcm, points = lateral_files
    code, out, err = run(capsys, "measure", points, "--image", dcm, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["format"] == "spinecheck-report/1"
    for pid in ("PI", "PT", "SS", "LL", "TK", "SVA", "TPA", "GT", "CL"):
        assert report["parameters"][pid]["value"] == pytest.approx(lateral_film.truth[pid], abs=1e-6), pid
    assert report["parameters"]["SVA"]["unit"] == "mm"
    assert report["calibration"]["source"] == "PixelSpacing"
    assert report["patient"] == {
        "age_years": 67,
        "age_source": "DICOM PatientAge",
        "sex": "F",
        "sex_source": "DICOM PatientSex",
    }
    ids = {c["id"] for c in report["criteria"]}
    assert {"srs_schwab.pi_ll", "srs_schwab.pt", "srs_schwab.sva", "sagittal_balance.sva"} <= ids
    assert all("source" in c for c in report["criteria"])


def test_sources_precedence_file_over_image_and_command_line_over_both(
    capsys, tmp_path, lateral_film, lateral_files
):
    dcm, _ = lateral_files
    points = tmp_path / "with_cal.json"
    write_landmarks(
        lateral_film.landmarks.replace(
            calibration=__import__("spinecheck.landmarks", fromlist=["x"]).Calibration.from_spacing(
                [0.25, 0.25]
            ),
            patient=__import__("spinecheck.landmarks", fromlist=["x"]).PatientInfo(50.0, "landmark file"),
        ),
        points,
    )
    report = json.loads(run(capsys, "measure", points, "--image", dcm, "--format", "json")[1])
    assert report["calibration"]["source"] == "user mm_per_px"
    assert report["patient"]["age_years"] == 50 and report["patient"]["age_source"] == "landmark file"
    # the file's scale is half the header's: millimetres halve
    assert report["parameters"]["SVA"]["value"] == pytest.approx(lateral_film.truth["SVA"] / 2, abs=1e-6)
    report = json.loads(
        run(
            capsys,
            "measure",
            points,
            "--image",
            dcm,
            "--format",
            "json",
            "--mm-per-px",
            "1",
            "1",
            "--age",
            "30",
        )[1]
    )
    assert report["calibration"]["mm_per_px"] == [1.0, 1.0]
    assert "command line" in report["calibration"]["rule"]
    assert report["patient"]["age_years"] == 30 and report["patient"]["age_source"] == "command line"


def test_uncalibrated_distances_in_pixels_and_no_millimetre_criterion(capsys, tmp_path):
    obj = base_file()
    del obj["calibration"]
    code, out, _ = run(capsys, "measure", write_json(tmp_path / "u.json", obj), "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["parameters"]["SVA"]["unit"] == "px" and report["parameters"]["SVA"]["value"] == 50.0
    sva = next(c for c in report["criteria"] if c["id"] == "sagittal_balance.sva")
    assert sva["applied"] is False and "calibration" in sva["reason"]
    assert any("isotropic" in w for w in report["warnings"])


def test_age_unknown_says_age_adjusted_targets_not_applied(capsys, tmp_path):
    report = json.loads(
        run(capsys, "measure", write_json(tmp_path / "a.json", base_file()), "--format", "json")[1]
    )
    rows = [c for c in report["criteria"] if c["id"].startswith("age_adjusted")]
    assert rows and all(c["applied"] is False and "age unknown" in c["reason"] for c in rows)


def test_missing_landmarks_null_with_reason_others_computed(capsys, tmp_path):
    report = json.loads(
        run(capsys, "measure", write_json(tmp_path / "m.json", base_file()), "--format", "json")[1]
    )
    tk = report["parameters"]["TK"]
    assert tk["value"] is None and "T4.sup.ant" in tk["reason"]
    assert report["parameters"]["PI"]["value"] is not None
    assert report["parameters"]["LL"]["value"] is not None


def test_table_output_is_readable(capsys, tmp_path):
    code, out, _ = run(capsys, "measure", write_json(tmp_path / "t.json", base_file()))
    assert code == 0
    assert "PI " in out and "pelvic incidence" in out and "Criteria" in out


def test_wide_csv_every_study_kept_bad_row_reported(capsys, tmp_path):
    src = tmp_path / "many.csv"
    src.write_text(
        "image,view,mm_per_px_row,mm_per_px_col,S1.sup.post.x,S1.sup.post.y,S1.sup.ant.x,S1.sup.ant.y,FH.x,FH.y\n"
        "a.dcm,lateral,0.5,0.5,100,500,140,520,160,600\n"
        "b.dcm,lateral,0.5,0.5,100,500,abc,520,160,600\n"
        "c.dcm,lateral,,,100,500,140,530,170,600\n"
    )
    code, out, err = run(capsys, "measure", src, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["image"] for r in rows] == ["a.dcm", "b.dcm", "c.dcm"]
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert "abc" in rows[1]["error"] and rows[1]["PI_deg"] == ""
    assert math.isclose(float(rows[0]["SS_deg"]), math.degrees(math.atan2(20, 40)))
    assert rows[2]["mm_per_px_row"] == "" and rows[2]["calibration_source"] == "none"
    for column in (
        "image",
        "landmarks",
        "status",
        "error",
        "PI_deg",
        "SVA_mm",
        "C7_CSVL_mm",
        "Cobb_max_deg",
        "srs_schwab_pi_ll",
        "mm_per_px_row",
        "mm_per_px_col",
        "calibration_source",
        "age_years",
        "age_source",
        "tool_version",
    ):
        assert column in rows[0], column
    code, out, _ = run(capsys, "measure", src, "--format", "json")
    assert [r["status"] for r in json.loads(out)] == ["ok", "error", "ok"]


def test_aasce_mat_midline_matches_dataset(capsys, shared_data):
    name = "sunhl-1th-02-Jan-2017-162 A AP.jpg"
    expected = next(
        r
        for r in csv.DictReader(io.StringIO((shared_data / "aasce-dev" / "angles.csv").read_text()))
        if r["image"] == name
    )
    code, out, _ = run(
        capsys,
        "measure",
        shared_data / "aasce-dev" / "labels" / f"{name}.mat",
        "--cobb-method",
        "midline",
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["parameters"]["Cobb_max"]["value"] == pytest.approx(float(expected["angle1_deg"]), abs=0.05)
    assert report["curves"] and all("region" in c for c in report["curves"])


# ----------------------------------------------------------------------------- bad input

BAD = [
    pytest.param(lambda p: p.write_text("{not json"), ["bad.json", "line 1"], id="invalid-json"),
    pytest.param(
        lambda p: write_json(p, base_file(format="spinecheck-landmarks/2")),
        ["bad.json", "spinecheck-landmarks/1"],
        id="unknown-version",
    ),
    pytest.param(
        lambda p: write_json(p, base_file(points={"S1.sup.anterior": [1, 2]})),
        ["bad.json", "S1.sup.ant"],
        id="unknown-name-suggests",
    ),
    pytest.param(
        lambda p: write_json(p, base_file(points={"S1.sup.ant": "12,7"})),
        ["bad.json", "S1.sup.ant", "[x, y]"],
        id="non-numeric",
    ),
    pytest.param(
        lambda p: p.write_text(
            '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"S1.sup.ant": [NaN, 1]}}'
        ),
        ["bad.json", "S1.sup.ant"],
        id="nan",
    ),
    pytest.param(
        lambda p: p.write_text(
            '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"FH": [1, 2], "FH": [3, 4]}}'
        ),
        ["bad.json", "FH", "more than once"],
        id="duplicate-name",
    ),
    pytest.param(
        lambda p: write_json(p, base_file(points={"S1.sup.ant": [5, 5], "S1.sup.post": [5, 5]})),
        ["bad.json", "S1.sup"],
        id="zero-length-endplate",
    ),
    pytest.param(
        lambda p: write_json(p, base_file(points={"S1.sup.left": [5, 5]})),
        ["bad.json", "S1.sup.left", "lateral"],
        id="wrong-view",
    ),
    pytest.param(
        lambda p: write_json(p, base_file(calibration={"mm_per_px": [0, 0.5]})),
        ["bad.json", "mm_per_px"],
        id="zero-spacing",
    ),
    pytest.param(
        lambda p: write_json(p, base_file(calibration={"mm_per_px": [-0.2, 0.2]})),
        ["bad.json", "mm_per_px"],
        id="negative-spacing",
    ),
]


@pytest.mark.parametrize("make, words", BAD)
def test_bad_landmark_files_give_one_error_line(capsys, tmp_path, make, words):
    path = tmp_path / "bad.json"
    make(path)
    code, out, err = run(capsys, "measure", path)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word.lower() in err.lower(), (word, err)


@pytest.mark.parametrize(
    "argv, words",
    [
        pytest.param(["measure", "{tmp}/absent.json"], ["absent.json"], id="missing-file"),
        pytest.param(["measure", "{good}", "--mm-per-px", "0", "1"], ["--mm-per-px"], id="cli-zero-spacing"),
        pytest.param(["measure", "{good}", "--age", "-3"], ["--age"], id="cli-bad-age"),
        pytest.param(["measure", "{good}", "--format", "xml"], ["format"], id="usage"),
        pytest.param(["frobnicate"], ["frobnicate"], id="unknown-command"),
        pytest.param(
            ["measure", "{good}", "--image", "{tmp}/noise.dcm"], ["noise.dcm"], id="unreadable-image"
        ),
        pytest.param(["info", "{tmp}/noise.dcm"], ["noise.dcm"], id="info-unreadable"),
    ],
)
def test_command_line_errors_are_one_line(capsys, tmp_path, argv, words):
    good = write_json(tmp_path / "good.json", base_file())
    (tmp_path / "noise.dcm").write_bytes(bytes(range(256)) * 8)
    code, out, err = run(capsys, *[a.format(tmp=tmp_path, good=good) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err


def test_traceback_only_on_request(tmp_path):
    path = write_json(tmp_path / "v.json", base_file(format="spinecheck-landmarks/9"))
    from spinecheck.landmarks.errors import InvalidLandmarksError

    with pytest.raises(InvalidLandmarksError):
        main(["--traceback", "measure", str(path)])


# ----------------------------------------------------------------------------- info and demo


def test_info_json_has_the_contract_keys(capsys, tmp_path, lateral_film):
    dcm = write_dicom(lateral_film, tmp_path / "x.dcm", patient_age=67)
    code, out, _ = run(capsys, "info", dcm, "--format", "json")
    info = json.loads(out)
    from test_radiograph import FORMATS_KEYS  # the formats.md §4 contract, listed once

    for key in sorted(FORMATS_KEYS):
        assert key in info, key
    assert (info["rows"], info["columns"]) == lateral_film.shape
    assert info["view"] == "lateral" and info["age_years"] == 67


def test_demo_writes_measured_reports(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo")
    assert code == 0, err
    assert str(tmp_path / "demo") in out
    lateral = json.loads((tmp_path / "demo" / "lateral.report.json").read_text())
    ap = json.loads((tmp_path / "demo" / "ap.report.json").read_text())
    truth_l, truth_a = synthetic_lateral(mm_per_px=1.0).truth, synthetic_ap(mm_per_px=1.0).truth
    assert lateral["parameters"]["PI"]["value"] == pytest.approx(truth_l["PI"], abs=1e-6)
    assert lateral["calibration"]["plane"] == "patient (calibrated)"
    assert ap["parameters"]["C7_CSVL"]["value"] == pytest.approx(truth_a["C7_CSVL"], abs=1e-6)
    for view in ("lateral", "ap"):
        assert (tmp_path / "demo" / f"{view}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pdf = (tmp_path / "demo" / f"{view}.report.pdf").read_bytes()
        assert pdf[:5] == b"%PDF-" and len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    rows = list(csv.DictReader(io.StringIO((tmp_path / "demo" / "table.csv").read_text())))
    assert [r["view"] for r in rows] == ["lateral", "ap"]


def test_a_batch_of_the_demo_folder_takes_no_figure_for_a_film(capsys, tmp_path):
    demo = tmp_path / "demo"
    assert run(capsys, "demo", "--out", demo)[0] == 0
    Image.new("L", (40, 60)).save(demo / "scan.png")  # a film of someone else's, without landmarks
    code, _, err = run(capsys, "batch", demo, "-o", demo / "batch.csv", "--jobs", "1", "-q")
    assert (code, err) == (0, "")
    rows = {r["image"]: r for r in csv.DictReader(io.StringIO((demo / "batch.csv").read_text()))}
    assert sorted(rows) == [
        "ap.dcm",
        "lateral.dcm",
        "scan.png",
    ]  # not lateral.png, ap.png: spinecheck drew them
    assert [rows[n]["status"] for n in ("ap.dcm", "lateral.dcm", "scan.png")] == ["ok", "ok", "skipped"]


def test_installed_command_runs_as_a_real_process(tmp_path):
    exe = shutil.which("spinecheck")
    assert exe, "the spinecheck console script is not installed (pip install -e .)"
    path = write_json(tmp_path / "s.json", base_file())
    done = subprocess.run(
        [exe, "measure", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["parameters"]["SS"]["value"] == pytest.approx(
        math.degrees(math.atan2(20, 40))
    )
    bad = subprocess.run(
        [sys.executable, "-m", "spinecheck.cli", "measure", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "calibration, source, mm",
    [
        pytest.param({"line": [[0, 0], [0, 400]], "length_mm": 100.0}, "user line", 0.25, id="line"),
        pytest.param(
            {"ball": {"rim": [[125, 100], [100, 125], [75, 100], [100, 75]], "diameter_mm": 25.0}},
            "user ball",
            0.5,
            id="ball",
        ),
    ],
)
def test_user_calibration_object_wins_over_the_header_and_says_so(
    capsys, tmp_path, lateral_film, lateral_files, calibration, source, mm
):
    dcm, points = lateral_files
    obj = json.loads(points.read_text())
    obj["calibration"] = calibration
    path = write_json(tmp_path / "cal.json", obj)
    report = json.loads(run(capsys, "measure", path, "--image", dcm, "--format", "json")[1])
    assert report["calibration"]["source"] == source
    assert report["calibration"]["mm_per_px"] == [mm, mm]
    assert "PixelSpacing" in report["calibration"]["rule"] or "Pixel Spacing" in report["calibration"]["rule"]
    # the film's own header scale is 0.5 mm/px: SVA scales with the user's calibration instead
    assert report["parameters"]["SVA"]["value"] == pytest.approx(
        lateral_film.truth["SVA"] * mm / 0.5, abs=1e-6
    )


def test_image_must_be_the_film_the_landmarks_were_placed_on(capsys, tmp_path, lateral_film, lateral_files):
    dcm, points = lateral_files
    obj = json.loads(points.read_text())
    obj["image"] = {"sop_instance_uid": "1.2.3"}
    code, _, err = run(capsys, "measure", write_json(tmp_path / "uid.json", obj), "--image", dcm)
    assert code == 2 and "SOP Instance UID" in err and "1.2.3" in err
    obj["image"] = {"rows": lateral_film.shape[0] + 1}
    code, _, err = run(capsys, "measure", write_json(tmp_path / "rows.json", obj), "--image", dcm)
    assert code == 2 and "rows" in err
    small = write_dicom(synthetic_lateral(mm_per_px=2.0), tmp_path / "small.dcm")
    del obj["image"]  # no declared size: the points themselves must fit on the image
    code, _, err = run(capsys, "measure", write_json(tmp_path / "bare.json", obj), "--image", small)
    assert code == 2 and "outside the image" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, words",
    [
        pytest.param(["--min-curve-deg", "nan"], ["--min-curve-deg"], id="nan-hysteresis"),
        pytest.param(["--min-curve-deg", "-5"], ["--min-curve-deg"], id="negative-hysteresis"),
        pytest.param(
            ["--age-set", "schwab2013-odi40"], ["--age-set", "lafage2016-linear"], id="age-set-not-age"
        ),
    ],
)
def test_option_values_are_checked(capsys, tmp_path, argv, words):
    code, out, err = run(capsys, "measure", write_json(tmp_path / "g.json", base_file()), *argv)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err


def test_header_only_table_is_an_error_not_a_crash(capsys, tmp_path):
    src = tmp_path / "hdr.csv"
    src.write_text("image,view,S1.sup.ant.x,S1.sup.ant.y\n")
    code, _, err = run(capsys, "measure", src)
    assert code == 2 and "no study rows" in err


def test_batch_columns_never_name_the_landmark_file_as_the_image(capsys, tmp_path):
    obj = base_file(image={"path": "case7.dcm"})
    rows = list(
        csv.DictReader(
            io.StringIO(run(capsys, "measure", write_json(tmp_path / "c.json", obj), "--format", "csv")[1])
        )
    )
    assert rows[0]["image"] == "case7.dcm" and rows[0]["landmarks"].endswith("c.json")
    rows = list(
        csv.DictReader(
            io.StringIO(
                run(capsys, "measure", write_json(tmp_path / "d.json", base_file()), "--format", "csv")[1]
            )
        )
    )
    assert rows[0]["image"] == ""


def test_exact_30_degree_curve_is_a_boundary_even_with_float_noise():
    from spinecheck.alignment import assess, measure
    from spinecheck.landmarks import LandmarkSet

    def vertebra(level, y, tilt_deg):
        t = math.radians(tilt_deg)
        dx, dy = 20 * math.cos(t), -20 * math.sin(t)  # right corner higher for positive tilt (y down)
        return {
            f"{level}.sup.left": (100 - dx, y - dy),
            f"{level}.sup.right": (100 + dx, y + dy),
            f"{level}.inf.left": (100 - dx, y + 20 - dy),
            f"{level}.inf.right": (100 + dx, y + 20 + dy),
        }

    pts = {}
    for k, (level, tilt) in enumerate(
        [("T5", 10.1), ("T6", 5.0), ("T8", 0.0), ("T10", -5.0), ("T11", -19.9)]
    ):
        pts.update(vertebra(level, 100 + 40 * k, tilt))
    m = measure(LandmarkSet("ap", pts))
    assert m.values["Cobb_max"][0] == pytest.approx(30.0, abs=1e-9)
    row = next(r for r in assess(m).rows(0) if r["id"] == "srs_schwab.curve_type")
    assert row["category"] == "boundary", row


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_a_ct_or_mr_file_is_one_error_line_naming_the_modality(capsys, tmp_path, modality):
    path = write(dx_dataset(Modality=modality), tmp_path / "slice.dcm")
    code, out, err = run(capsys, "info", path)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("error: ") and "slice.dcm" in err
    assert f"Modality: {modality} (" in err and "is not a projection radiograph" in err
