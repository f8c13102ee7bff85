"""Every coronal curve by region (issue 14, 5): proximal thoracic, main thoracic, thoracolumbar/lumbar.

Known answers come from AP films built vertebra by vertebra: each vertebra a rectangle whose
endplates tilt by a chosen angle, so a Cobb angle is the difference of two chosen tilts; the apex
is placed by shifting the vertebrae sideways (the apex is the vertebra farthest from the chord).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from batch_factory import write_study
from spinecheck.alignment import assess, measure
from spinecheck.alignment.batch.table import batch_header
from spinecheck.alignment.geometry.regions import REGIONS, CurveRegion, region_codes, regional_curves
from spinecheck.alignment.parameters import CurveTable
from spinecheck.alignment.render.curves import CURVE_KEYS, curve_columns
from spinecheck.alignment.render.text import format_csv, format_table, study_report, table_columns
from spinecheck.alignment.study import Study
from spinecheck.cli import main
from spinecheck.landmarks.points.model import LandmarkSet
from spinecheck.landmarks.points.names import LEVELS, level_index
from spinecheck.landmarks.points.sanity import check_vertebrae

#: The levels of the constructed films, top to bottom (a spine of 12 thoracic and 5 lumbar vertebrae).
SPINE = tuple(f"T{i}" for i in range(1, 13)) + tuple(f"L{i}" for i in range(1, 6))
STEP_PX = 40.0


def _corners(cx: float, cy: float, tilt_deg: float, w: float = 40.0, h: float = 26.0) -> dict:
    """A vertebra's four AP corners: a w x h rectangle centred on (cx, cy), its right side higher by *tilt_deg*."""
    t = math.radians(tilt_deg)
    along, down = (math.cos(t), -math.sin(t)), (math.sin(t), math.cos(t))  # image pixels, y down
    out = {}
    for endplate, s in (("sup", -1), ("inf", 1)):
        for corner, r in (("left", -1), ("right", 1)):
            out[f"{endplate}.{corner}"] = (
                cx + r * w / 2 * along[0] + s * h / 2 * down[0],
                cy + r * w / 2 * along[1] + s * h / 2 * down[1],
            )
    return out


def ap_film(
    tilts: dict[str, float],
    bulges: dict[str, float],
    *,
    levels: tuple[str, ...] = SPINE,
    patient_right: str | None = None,
) -> LandmarkSet:
    """An AP landmark set: tilts interpolated between the *tilts* knots, sideways shifts between *bulges*.

    Both are given at some levels (deg; px to image right) and interpolated linearly in between.
    """
    pos = np.arange(len(levels), dtype=float)
    at = {lv: k for k, lv in enumerate(levels)}
    tilt = np.interp(pos, [at[lv] for lv in tilts], list(tilts.values()))
    shift = np.interp(pos, [at[lv] for lv in bulges], list(bulges.values()))
    points = {}
    for k, level in enumerate(levels):
        for name, xy in _corners(500.0 + shift[k], 100.0 + STEP_PX * k, tilt[k]).items():
            points[f"{level}.{name}"] = xy
    return LandmarkSet("ap", points, patient_right=patient_right)


def study_of(*sets: LandmarkSet) -> Study:
    from spinecheck.landmarks.points.model import LandmarkTable

    table = LandmarkTable.from_sets(list(sets))
    m = measure(table)
    return Study(table, m, assess(m, table.age_years), ["x.json"] * len(sets), [None] * len(sets))


def _read(path: Path) -> list[list[str]]:
    """Every record of a CSV table, the header first."""
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _row(study: Study, i: int = 0) -> dict:
    return {k: v[i] for k, v in curve_columns(study).items()}


# ----------------------------------------------------------------------------- the regions


@pytest.mark.parametrize(
    ("apex", "region"),
    [
        pytest.param("C7", None, id="C7-none"),
        pytest.param("T1", None, id="T1-none"),
        pytest.param("T2", None, id="T2-none"),
        pytest.param("T3", "PT", id="T3-PT"),
        pytest.param("T4", "PT", id="T4-PT"),
        pytest.param("T5", "PT", id="T5-PT"),
        pytest.param("T6", "MT", id="T6-MT"),
        pytest.param("T11", "MT", id="T11-MT"),
        pytest.param("T12", "TL/L", id="T12-TLL"),
        pytest.param("L1", "TL/L", id="L1-TLL"),
        pytest.param("L4", "TL/L", id="L4-TLL"),
        pytest.param("L5", None, id="L5-none"),
        pytest.param("S1", None, id="S1-none"),
    ],
)
def test_region_of_every_boundary_apex(apex, region):
    code = int(region_codes([level_index(apex)])[0])
    assert (REGIONS[code].region.value if code >= 0 else None) == region


def test_transitional_levels_are_placed_by_name():
    """A thirteenth thoracic vertebra lies between T12 and L1 (TL/L); a sixth lumbar below L4 (none)."""
    assert "T13" in LEVELS and "L6" in LEVELS
    assert region_codes([level_index("T13"), level_index("L6"), -1]).tolist() == [2, -1, -1]


def test_a_t13_apex_is_thoracolumbar_and_its_absence_is_not_a_gap():
    """With a thirteenth thoracic vertebra, a curve whose apex is T13 fills the TL/L columns."""
    levels = (*SPINE[:12], "T13", *SPINE[12:])
    lm = ap_film({"T1": 15.0, "L5": -15.0}, {"T1": 0.0, "T13": 60.0, "L5": 0.0}, levels=levels)
    row = _row(study_of(lm))
    assert (row["tll_upper_end"], row["tll_lower_end"], row["tll_apex"]) == ("T1", "L5", "T13")
    assert row["mt_note"] == "no curve with apex T6-T11" and row["pt_note"] == "no curve with apex T3-T5"
    row = _row(study_of(ap_film(**THREE)))  # a typical spine: no T13, and no "not annotated: T13"
    assert row["pt_note"] is row["mt_note"] is row["tll_note"] is None


def test_regions_follow_the_published_apex_ranges():
    assert [(r.region.value, r.apex_from, r.apex_to) for r in REGIONS] == [
        ("PT", "T3", "T5"),
        ("MT", "T6", "T11"),
        ("TL/L", "T12", "L4"),
    ]
    assert [r.region.prefix for r in REGIONS] == ["pt", "mt", "tll"]
    assert CurveRegion.parse("tl/l") is CurveRegion.TLL


def _table(angles, apexes, withheld=None) -> CurveTable:
    a = np.array([angles], dtype=float)
    apex = np.array([[level_index(x) if x else -1 for x in apexes]])
    held = None if withheld is None else np.array([withheld], dtype=object)
    return CurveTable(a, apex - 1, apex + 1, apex, np.zeros(a.shape, bool), withheld=held)


def test_largest_curve_of_a_region_wins_and_a_tie_goes_to_the_cranial_one():
    pt, mt, tll = regional_curves(_table([12.0, 30.0, 30.0, 20.0], ["T7", "T9", "T10", "L2"]))
    assert (mt.curve[0], mt.measured[0], mt.withheld[0]) == (1, 3, 0)
    assert (tll.curve[0], pt.curve[0]) == (3, -1)


def test_a_measured_curve_wins_over_a_withheld_one_and_a_lone_withheld_curve_is_kept():
    held = [None, "landmark check failed: T9"]
    _, mt, _ = regional_curves(_table([15.0, np.nan], ["T7", "T9"], held))
    assert (mt.curve[0], mt.measured[0], mt.withheld[0]) == (0, 1, 1)
    _, mt, _ = regional_curves(_table([np.nan, np.nan], ["T7", None], ["landmark check failed: T8", None]))
    assert (mt.curve[0], mt.measured[0], mt.withheld[0]) == (0, 0, 1)


def _regional_by_study(curves: CurveTable, region) -> tuple[list[int], list[int], list[int]]:
    """regional_curves' answer for one region, study by study in plain Python (the rule as written)."""
    chosen, measured, withheld = [], [], []
    for i in range(curves.angle_deg.shape[0]):
        inside = [k for k, a in enumerate(curves.apex[i].tolist()) if region.contains(np.array(a))]
        m = [k for k in inside if math.isfinite(curves.angle_deg[i, k])]
        w = [k for k in inside if curves.withheld is not None and curves.withheld[i, k] is not None]
        w = [k for k in w if curves.upper[i, k] >= 0]
        largest = max(m, key=lambda k: (curves.angle_deg[i, k], -k)) if m else None
        chosen.append(largest if m else (w[0] if w else -1))
        measured.append(len(m))
        withheld.append(len(w))
    return chosen, measured, withheld


@pytest.mark.parametrize("k", [0, 1, 3, 7])
def test_regional_curves_agree_with_the_rule_study_by_study(k):
    """Ties, no curve, withheld curves only, padding: each region's curve and counts as the rule says."""
    rng = np.random.default_rng(k)
    n = 300
    apex = rng.integers(-1, len(LEVELS), (n, k))
    angle = rng.choice([np.nan, 10.0, 20.0, 20.0, 35.5], (n, k))  # repeated angles: ties
    angle[apex < 0] = np.nan
    held = np.full((n, k), None, dtype=object)
    held[np.isnan(angle) & (apex >= 0) & (rng.random((n, k)) < 0.5)] = "landmark check failed: T8"
    upper = np.where(rng.random((n, k)) < 0.9, apex, -1)
    curves = CurveTable(angle, upper, apex, apex, np.zeros((n, k), bool), withheld=held)
    for rc in regional_curves(curves):
        chosen, measured, withheld = _regional_by_study(curves, rc.region)
        assert rc.curve.tolist() == chosen
        assert rc.measured.tolist() == measured
        assert rc.withheld.tolist() == withheld


# ----------------------------------------------------------------------------- known answers on films

#: Three curves, one per region: T2-T6 (25 deg, apex T4), T6-T11 (35 deg, apex T8), T11-L4 (30 deg, apex L2).
THREE = dict(
    tilts={"T1": -5.0, "T2": -10.0, "T6": 15.0, "T11": -20.0, "L4": 10.0, "L5": 5.0},
    bulges={
        "T1": 0.0,
        "T2": 0.0,
        "T4": 30.0,
        "T6": 0.0,
        "T8": -40.0,
        "T11": 0.0,
        "L2": 35.0,
        "L4": 0.0,
        "L5": 0.0,
    },
)


def test_three_curves_fill_the_three_groups():
    study = study_of(ap_film(**THREE))
    row = _row(study)
    got = {
        r.region.prefix: tuple(row[f"{r.region.prefix}_{k}"] for k in ("upper_end", "lower_end", "apex"))
        for r in REGIONS
    }
    assert got == {"pt": ("T2", "T6", "T4"), "mt": ("T6", "T11", "T8"), "tll": ("T11", "L4", "L2")}
    assert row["pt_angle_deg"] == pytest.approx(25.0, abs=1e-9)
    assert row["mt_angle_deg"] == pytest.approx(35.0, abs=1e-9)
    assert row["tll_angle_deg"] == pytest.approx(30.0, abs=1e-9)
    # the patient's side is not known: the side is the image's, and says so
    assert (row["pt_convex"], row["mt_convex"], row["tll_convex"]) == (
        "image right",
        "image left",
        "image right",
    )
    assert row["pt_note"] is row["mt_note"] is row["tll_note"] is row["curves_other"] is None
    assert study.measurements.values["Cobb_max"][0] == pytest.approx(35.0, abs=1e-9)


@pytest.mark.parametrize(
    ("patient_right", "sides"),
    [
        pytest.param("image_right", ("right", "left", "right"), id="patient-right-is-image-right"),
        pytest.param("image_left", ("left", "right", "left"), id="patient-right-is-image-left"),
    ],
)
def test_convex_side_is_the_patients_when_known(patient_right, sides):
    row = _row(study_of(ap_film(**THREE, patient_right=patient_right)))
    assert (row["pt_convex"], row["mt_convex"], row["tll_convex"]) == sides


@pytest.mark.parametrize(
    ("apex", "prefix"),
    [
        pytest.param("T2", None, id="T2-other"),
        pytest.param("T3", "pt", id="T3-pt"),
        pytest.param("T5", "pt", id="T5-pt"),
        pytest.param("T6", "mt", id="T6-mt"),
        pytest.param("T11", "mt", id="T11-mt"),
        pytest.param("T12", "tll", id="T12-tll"),
        pytest.param("L4", "tll", id="L4-tll"),
    ],
)
def test_one_long_curve_goes_where_its_apex_is(apex, prefix):
    """T1-L5, 30 deg; only the apex moves, across every region boundary (both sides)."""
    lm = ap_film({"T1": 15.0, "L5": -15.0}, {"T1": 0.0, apex: 60.0, "L5": 0.0})
    row = _row(study_of(lm))
    filled = [r.region.prefix for r in REGIONS if row[f"{r.region.prefix}_apex"] is not None]
    assert filled == ([prefix] if prefix else [])
    if prefix:
        assert (row[f"{prefix}_upper_end"], row[f"{prefix}_lower_end"], row[f"{prefix}_apex"]) == (
            "T1",
            "L5",
            apex,
        )
        assert row[f"{prefix}_angle_deg"] == pytest.approx(30.0, abs=1e-9)
        assert row["curves_other"] is None
    else:
        assert row["curves_other"] == f"T1-L5 apex {apex} (30.0 deg)"


#: Two curves with their apex in MT (T5-T8 15 deg apex T6; T8-T11 20 deg apex T10) and one in TL/L.
TWO_IN_MT = dict(
    tilts={"T5": 10.0, "T8": -5.0, "T11": 15.0, "L3": -5.0},
    bulges={"T5": 0.0, "T6": 20.0, "T8": 0.0, "T10": -30.0, "T11": 0.0, "L1": 25.0, "L3": 0.0},
    levels=SPINE[4:15],
)


def test_two_curves_in_one_region_the_largest_shown_and_the_other_named():
    study = study_of(ap_film(**TWO_IN_MT))
    row = _row(study)
    assert (row["mt_upper_end"], row["mt_lower_end"], row["mt_apex"]) == ("T8", "T11", "T10")
    assert row["mt_angle_deg"] == pytest.approx(20.0, abs=1e-9)
    assert row["mt_note"] == "2 curves with apex T6-T11: the largest shown; also T5-T8 apex T6 (15.0 deg)"
    assert row["pt_note"] == "no curve with apex T3-T5 (not annotated: T3, T4)"
    assert (row["tll_upper_end"], row["tll_lower_end"], row["tll_apex"]) == ("T11", "L3", "L1")
    report = study_report(study, 0)
    assert [c["lenke_region"] for c in report["curves"]] == ["MT", "MT", "TL/L"]
    assert report["curves_by_region"]["MT"]["note"] == row["mt_note"]


def test_a_region_without_annotated_vertebrae_says_not_measured():
    lm = ap_film({"T10": 10.0, "L4": -15.0}, {"T10": 0.0, "L1": 20.0, "L4": 0.0}, levels=SPINE[9:16])
    row = _row(study_of(lm))
    assert row["pt_note"] == "not measured: no vertebra T3-T5 annotated with all four corners"
    assert row["mt_note"] == "no curve with apex T6-T11 (not annotated: T6, T7, T8, T9)"
    assert row["tll_apex"] == "L1" and row["tll_angle_deg"] == pytest.approx(25.0, abs=1e-9)


def _rotated(lm: LandmarkSet, level: str) -> LandmarkSet:
    """*lm* with *level*'s corners rotated by one place (the landmark check flags it)."""
    names = [f"{level}.sup.left", f"{level}.sup.right", f"{level}.inf.right", f"{level}.inf.left"]
    vals = [lm.points[n] for n in names]
    for turned in (vals[-1:] + vals[:-1], vals[1:] + vals[:1]):
        out = dataclasses.replace(lm, points={**lm.points, **dict(zip(names, turned, strict=True))})
        if check_vertebrae(out.to_table())[0].any():
            return out
    raise AssertionError("neither rotation is flagged")


def test_a_withheld_curve_keeps_its_levels_and_says_why():
    """A turned T9 withholds the curves through it; T2-T6 stays measured.

    The curves are found without T9 (T6-T11 apex T8, then one apex L2), as if it were not annotated.
    """
    study = study_of(_rotated(ap_film(**THREE), "T9"))
    row = _row(study)
    assert (row["mt_upper_end"], row["mt_lower_end"], row["mt_apex"]) == ("T6", "T11", "T8")
    assert math.isnan(row["mt_angle_deg"]) and row["mt_convex"] is None
    assert row["mt_note"].startswith("withheld: landmark check failed: T9")
    assert row["tll_apex"] == "L2" and row["tll_note"].startswith("withheld: landmark check failed: T9")
    assert row["pt_angle_deg"] == pytest.approx(25.0, abs=1e-9) and row["pt_note"] is None
    report = study_report(study, 0)
    assert report["curves_by_region"]["MT"]["angle_deg"] is None
    assert [w["lenke_region"] for w in report["curves_withheld"]] == ["MT", "TL/L"]
    assert [c["lenke_region"] for c in report["curves"]] == ["PT"]


def test_lateral_films_and_error_rows_leave_every_curve_cell_empty():
    lateral = LandmarkSet("lateral", {"S1.sup.ant": (10.0, 20.0), "S1.sup.post": (0.0, 18.0)})
    row = _row(study_of(lateral, ap_film(**THREE)), 0)
    assert all(v is None or (isinstance(v, float) and math.isnan(v)) for v in row.values())


# ----------------------------------------------------------------------------- the table, the CSV, the JSON


def test_the_columns_follow_the_parameters_in_a_fixed_order():
    header = batch_header()
    names = [f"{r.region.prefix}_{k}" for r in REGIONS for k in CURVE_KEYS] + ["curves_other"]
    at = header.index("pt_upper_end")
    assert list(header[at : at + len(names)]) == names
    # after every parameter's value column, before the criteria
    assert header.index("Cobb_max_deg") < at and header.index("PO_deg") < at < header.index("balance_coronal")
    assert names[3] == "pt_angle_deg" and "mt_angle_deg" in header and "tll_convex" in header


def test_measure_csv_and_json_carry_every_curve_by_region(tmp_path, capsys):
    from spinecheck.landmarks.io.landmark_file import write_landmarks

    path = tmp_path / "ap.json"
    write_landmarks(ap_film(**THREE, patient_right="image_left"), path)
    assert main(["measure", str(path), "--format", "csv"]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["mt_upper_end"], row["mt_lower_end"], row["mt_apex"], row["mt_convex"]) == (
        "T6",
        "T11",
        "T8",
        "right",
    )
    assert float(row["mt_angle_deg"]) == pytest.approx(35.0, abs=1e-9)
    assert row["pt_note"] == "" and row["curves_other"] == ""
    assert main(["measure", str(path), "--format", "json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert list(report["curves_by_region"]) == ["PT", "MT", "TL/L"]
    assert list(report["curves_by_region"]["MT"]) == list(CURVE_KEYS)
    assert report["curves_by_region"]["TL/L"]["apex"] == "L2"
    assert [c["lenke_region"] for c in report["curves"]] == ["PT", "MT", "TL/L"]
    assert [c["region"] for c in report["curves"]] == ["thoracic", "thoracic", "thoracolumbar/lumbar"]


def test_text_report_names_each_curves_region():
    text = format_table(study_of(ap_film(**THREE)), 0)
    assert "MT   T6-T11 apex T8: 35.0°" in text and "TL/L T11-L4 apex L2: 30.0°" in text


def test_format_csv_and_table_columns_agree():
    study = study_of(ap_film(**THREE))
    header = next(csv.reader(io.StringIO(format_csv(study))))
    assert header == list(table_columns(study))


def test_batch_rows_carry_the_curve_columns_like_measure(tmp_path, capsys):
    image, landmarks = write_study(tmp_path / "arch", "film.dcm", view="ap")
    out = tmp_path / "t.csv"
    assert main(["batch", str(tmp_path / "arch"), "-o", str(out), "--jobs", "1", "--quiet"]) == 0
    header, first = _read(out)[:2]
    batch = dict(zip(header, first, strict=True))
    assert main(["measure", str(landmarks), "--image", str(image), "--format", "csv"]) == 0
    measured = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    curve_cols = [c for c in measured if c.startswith(("pt_", "mt_", "tll_")) or c == "curves_other"]
    assert len(curve_cols) == 19
    assert {c: batch[c] for c in curve_cols} == {c: measured[c] for c in curve_cols}
    assert batch["mt_angle_deg"] or batch["tll_angle_deg"]  # the generated AP film has curves


def test_resume_of_a_table_written_before_the_curve_columns_is_refused(tmp_path, capsys):
    write_study(tmp_path / "arch", "film.dcm", view="ap")
    out = tmp_path / "t.csv"
    assert main(["batch", str(tmp_path / "arch"), "-o", str(out), "--jobs", "1", "--quiet"]) == 0
    rows = _read(out)
    keep = [
        j for j, name in enumerate(rows[0]) if not name.startswith(("pt_", "mt_", "tll_", "curves_other"))
    ]
    old = tmp_path / "old.csv"
    with old.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([[r[j] for j in keep] for r in rows])
    before = old.read_bytes()
    shutil.copy(old, tmp_path / "keep.csv")
    code = main(["batch", str(tmp_path / "arch"), "-o", str(old), "--resume", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "19 columns missing (e.g. pt_upper_end)" in err and "--overwrite" in err
    assert old.read_bytes() == before and Path(tmp_path / "keep.csv").read_bytes() == before
