"""A coronal curve whose apex cannot be found is reported without one, never with a made-up level.

The endplate method takes as end vertebra the one whose *endplate* tilts most, so a
vertebra with only that endplate placed (its other corners missing: a film cut off at
T1, or points still being placed) can end a curve. It has a tilt but no body centre,
so there is no chord to find the apex from. Such a curve keeps its angle, ends and
convex side; its apex is unknown (-1), and whatever needs the apex says it cannot be
told. Before, the apex came out as C2 (and LEVELS[-1], S1, in the report).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

import numpy as np
import pytest
from matplotlib.text import Text
from spinecheck.alignment import assess, measure
from spinecheck.alignment.criteria.engine import curve_regions
from spinecheck.alignment.geometry.coronal import find_curves, vertebra_tilts
from spinecheck.alignment.geometry.regions import lenke_regions, regional_curves
from spinecheck.alignment.render.curves import curve_columns
from spinecheck.alignment.render.figure import figure_for
from spinecheck.alignment.render.live import live_parameters
from spinecheck.alignment.render.pages import report_figure
from spinecheck.alignment.render.text import format_table, study_report
from spinecheck.alignment.study import Study
from spinecheck.cli import main
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.io.wide_csv import write_landmark_table
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.names import LEVELS
from spinecheck.landmarks.synthetic.films import synthetic_ap
from test_curve_regions import ap_film

#: A curve convex to image right from T1 to T9 (40 deg, apex T5), then a lumbar one.
TILTS = {"T1": 20.0, "T9": -20.0, "L5": 5.0}
BULGES = {"T1": 0.0, "T5": 50.0, "T9": 0.0, "L2": -30.0, "L5": 0.0}
UNTOLD = "cannot be told: T1-T9 apex unknown (40.0 deg)"


def _whole() -> LandmarkSet:
    return ap_film(TILTS, BULGES)


def _cut() -> LandmarkSet:
    """The same film with T1's inferior corners not placed: T1 keeps its superior endplate only."""
    lm = _whole()
    return dataclasses.replace(lm, points={k: v for k, v in lm.points.items() if not k.startswith("T1.inf.")})


def _study(*sets: LandmarkSet) -> Study:
    table = LandmarkTable.from_sets(list(sets))
    m = measure(table)
    return Study(table, m, assess(m, table.age_years), ["x.json"] * len(sets), [None] * len(sets))


def _first_curve(lm: LandmarkSet) -> dict:
    return measure(lm).curves.curves(0)[0]


def test_the_whole_film_has_its_apex():
    c = _first_curve(_whole())
    assert (c["upper_end"], c["lower_end"], c["apex"], c["convex"]) == ("T1", "T9", "T5", "image right")
    assert c["angle_deg"] == pytest.approx(40.0, abs=1e-9)


def test_an_end_vertebra_without_a_centre_leaves_the_apex_unknown():
    m = measure(_cut())
    c = m.curves.curves(0)[0]
    # the angle, the ends and the convex side stay those of the whole film
    assert (c["upper_end"], c["lower_end"], c["apex"], c["convex"]) == ("T1", "T9", None, "image right")
    assert c["angle_deg"] == pytest.approx(40.0, abs=1e-9)
    assert m.curves.apex[0, 0] == -1
    assert m.values["Cobb_max"][0] == pytest.approx(40.0, abs=1e-9)
    assert (
        "curve T1-T9: apex not known: no body centre of T1 (its four corners, or its centroid, are needed)"
        in m.warnings[0]
    )
    # the second curve is untouched
    assert m.curves.curves(0)[1]["apex"] == measure(_whole()).curves.curves(0)[1]["apex"]


def test_a_centroid_gives_the_centre_back():
    lm = _cut()
    whole = _whole().points
    centre = np.mean([whole[f"T1.{e}.{s}"] for e in ("sup", "inf") for s in ("left", "right")], axis=0)
    lm = dataclasses.replace(lm, points={**lm.points, "T1.centroid": tuple(centre.tolist())})
    assert _first_curve(lm)["apex"] == "T5"


@pytest.mark.parametrize("convex_right", [True, False], ids=["convex-right", "convex-left"])
def test_find_curves_tells_the_convex_side_from_the_end_tilts(convex_right):
    """Known answer on tilts: five vertebrae, the top one with a superior endplate only."""
    sign = 1.0 if convex_right else -1.0
    n_lv = len(LEVELS)
    tilts = {key: np.full((1, n_lv), np.nan) for key in ("sup", "inf", "mid", "centre_x", "centre_y")}
    j = LEVELS.index("T1")
    tilts["sup"][0, j] = sign * 25.0  # T1: superior endplate only, no centre
    for k, t in enumerate([15.0, 0.0, -10.0, -20.0], start=1):  # T2..T5, whole
        tilts["sup"][0, j + k] = tilts["inf"][0, j + k] = tilts["mid"][0, j + k] = sign * t
        tilts["centre_x"][0, j + k], tilts["centre_y"][0, j + k] = 0.0, 30.0 * k
    c = find_curves(tilts, 10.0, "endplate")
    assert (LEVELS[c.upper[0, 0]], LEVELS[c.lower[0, 0]]) == ("T1", "T5")
    assert c.angle_deg[0, 0] == pytest.approx(45.0)
    assert c.apex[0, 0] == -1 and bool(c.convex_right[0, 0]) is convex_right


def test_midline_method_needs_every_corner_so_it_always_has_the_apex():
    """The midline tilt needs all four corners, which also make the centre: the case cannot arise."""
    t = vertebra_tilts(LandmarkTable.from_sets([_cut()]), "midline")
    assert np.array_equal(np.isfinite(t["mid"]), np.isfinite(t["centre_x"]))
    c = measure(_cut(), cobb_method="midline").curves
    assert (c.apex[np.isfinite(c.angle_deg)] >= 0).all()


# ----------------------------------------------------------------------------- the consumers


def test_regions_and_the_curve_type_cannot_be_told():
    study = _study(_cut())
    curves = study.measurements.curves
    assert lenke_regions(curves)[0, 0] is None
    assert curve_regions(curves)[0, 0] is None
    assert [int(r.curve[0]) for r in regional_curves(curves)[:2]] == [-1, -1]  # PT, MT: no curve put there
    row = {k: v[0] for k, v in curve_columns(study).items()}
    # T1-T9 reaches into PT (T3-T5) and MT (T6-T11), not into TL/L (T12-L4)
    assert row["pt_note"] == row["mt_note"] == UNTOLD
    assert row["pt_apex"] is None and row["mt_apex"] is None and row["mt_upper_end"] is None
    assert row["tll_apex"] is not None and row["tll_note"] is None
    assert row["curves_other"] == "T1-T9 apex unknown (40.0 deg)"
    ct = next(r for r in study.assessment.rows(0) if r["id"] == "srs_schwab.curve_type")
    assert ct["applied"] is False
    assert ct["reason"] == (
        "curve T1-T9 (40.0 deg) has no known apex: thoracic or thoracolumbar/lumbar cannot be told"
    )


def test_a_small_curve_without_apex_does_not_stop_the_curve_type():
    """Below 30 deg a curve cannot make a type, wherever its apex is: the type is told without it."""
    small = {"T1": 10.0, "T9": -10.0, "L5": 5.0}
    lm = ap_film(small, BULGES)
    lm = dataclasses.replace(lm, points={k: v for k, v in lm.points.items() if not k.startswith("T1.inf.")})
    m = measure(lm)
    assert m.curves.apex[0, 0] == -1 and m.curves.angle_deg[0, 0] == pytest.approx(20.0, abs=1e-9)
    ct = next(r for r in assess(m).rows(0) if r["id"] == "srs_schwab.curve_type")
    assert ct["category"] == "N" and ct["value"] == pytest.approx(20.0, abs=1e-9)  # the largest curve


def test_a_region_with_its_own_curve_adds_the_note():
    """A T1-T9 curve without apex and a measured MT curve: the MT note says which other curve may belong."""
    from spinecheck.alignment.parameters import CurveTable
    from spinecheck.landmarks.points.names import level_index as ix

    curves = CurveTable(
        np.array([[40.0, 20.0]]),
        np.array([[ix("T1"), ix("T9")]]),
        np.array([[ix("T9"), ix("L1")]]),
        np.array([[-1, ix("T10")]]),
        np.zeros((1, 2), bool),
    )
    study = _study(_cut())
    study = dataclasses.replace(study, measurements=dataclasses.replace(study.measurements, curves=curves))
    row = {k: v[0] for k, v in curve_columns(study).items()}
    assert row["mt_apex"] == "T10" and row["mt_note"] == UNTOLD
    assert row["pt_note"] == UNTOLD


def test_measure_json_table_and_live_lines(tmp_path, capsys):
    path = tmp_path / "cut.json"
    write_landmarks(_cut(), path)
    assert main(["measure", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    first = report["curves"][0]
    assert (first["upper_end"], first["lower_end"], first["apex"]) == ("T1", "T9", None)
    assert first["angle_deg"] == pytest.approx(40.0, abs=1e-9)
    assert first["region"] is None and first["lenke_region"] is None
    assert report["curves_by_region"]["MT"]["note"] == UNTOLD
    assert any(w.startswith("curve T1-T9: apex not known") for w in report["warnings"])

    assert main(["measure", str(path)]) == 0
    text = capsys.readouterr().out
    assert "T1-T9 apex unknown: 40.0° (convex image right)" in text
    assert f"MT: {UNTOLD}" in text
    for level in ("C2", "S1", "None"):
        assert f"apex {level}" not in text

    lines = live_parameters(_cut())
    assert "Cobb     T1–T9 40.0° (apex unknown)" in lines


def test_measure_wide_csv_one_row_without_apex_the_other_unchanged(tmp_path, capsys):
    whole = synthetic_ap(mm_per_px=1.0).landmarks
    path = tmp_path / "films.csv"
    write_landmark_table(LandmarkTable.from_sets([_cut(), whole]), path)
    assert main(["measure", str(path), "--format", "csv"]) == 0
    both = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    alone = tmp_path / "alone.csv"
    write_landmark_table(LandmarkTable.from_sets([whole]), alone)
    assert main(["measure", str(alone), "--format", "csv"]) == 0
    (single,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    cut = both[0]
    assert (cut["pt_apex"], cut["mt_apex"], cut["mt_note"]) == ("", "", UNTOLD)
    assert cut["curves_other"] == "T1-T9 apex unknown (40.0 deg)"
    assert cut["srs_schwab_curve_type"] == "" and "no known apex" in cut["srs_schwab_curve_type_reason"]
    assert "curve T1-T9: apex not known" in cut["warnings"]
    where = ("image", "landmarks")
    assert {k: v for k, v in both[1].items() if k not in where} == {
        k: v for k, v in single.items() if k not in where
    }


def test_report_page_and_figure_show_no_apex(tmp_path):
    study = _study(_cut())
    image = np.zeros((900, 1000), dtype=np.uint8)
    page = report_figure(image, study)
    texts = [t.get_text() for t in page.findobj(Text)]
    row = texts.index("T1–T9")
    assert texts[row + 1 : row + 3] == ["—", "40.0°"]
    assert f"• PT: {UNTOLD.replace('-', '–')}" in texts
    fig = figure_for(image, study, height_in=6)
    assert "Cobb T1–T9" in fig.spinecheck_drawing.drawn
    labels = [t.get_text() for t in fig.findobj(Text) if "T1–T9" in t.get_text() and "Cobb" in t.get_text()]
    assert labels and all("apex" not in t for t in labels)
    assert "apex" not in format_table(study, 0).split("T1-T9", 1)[1].split("\n", 1)[0].replace(
        "apex unknown", ""
    )
    assert math.isclose(study_report(study, 0)["curves"][0]["angle_deg"], 40.0, abs_tol=1e-9)
