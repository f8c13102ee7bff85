"""A coronal curve spanning a vertebra that failed the landmark check is withheld, not graded or drawn."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from spinecheck.alignment import assess, measure
from spinecheck.alignment.render.figure import figure_for
from spinecheck.alignment.render.text import format_table, study_report
from spinecheck.alignment.study import load_study
from spinecheck.landmarks.io import read_landmarks
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.points.sanity import check_vertebrae
from spinecheck.landmarks.synthetic.films import synthetic_ap


def _rotated(lm, level):
    """*lm* with *level*'s four corners rotated by one place, in the direction the check flags."""
    names = [f"{level}.sup.left", f"{level}.sup.right", f"{level}.inf.right", f"{level}.inf.left"]
    vals = [lm.points[n] for n in names]
    for turned in (vals[-1:] + vals[:-1], vals[1:] + vals[:1]):
        out = dataclasses.replace(lm, points={**lm.points, **dict(zip(names, turned, strict=True))})
        if check_vertebrae(out.to_table())[0].any():
            return out
    raise AssertionError("neither rotation is flagged")


def _spans(m, i, level):
    from spinecheck.landmarks.points.names import LEVELS

    j = LEVELS.index(level)
    return [
        (c["upper_end"], c["lower_end"])
        for c in m.curves.curves(i)
        if LEVELS.index(c["upper_end"]) <= j <= LEVELS.index(c["lower_end"])
    ]


def _curve_type(m):
    return next(r for r in assess(m).rows(0) if r["id"] == "srs_schwab.curve_type")


@pytest.mark.parametrize("level", ["T8", "L1"])
def test_generated_ap_film_curve_through_a_rotated_vertebra_is_withheld(tmp_path, level):
    lm = _rotated(synthetic_ap(mm_per_px=1.0).landmarks, level)
    m = measure(lm, cobb_method="endplate")
    assert math.isnan(m.values["Cobb_max"][0])
    assert _spans(m, 0, level) == []  # no measured curve runs through the suspect vertebra
    assert all(c["angle_deg"] < 60 for c in m.curves.curves(0))
    withheld = m.curves.withheld_curves(0)
    assert withheld and all(level in w["reason"] and w["angle_deg"] is None for w in withheld)
    row = _curve_type(m)
    assert row["applied"] is False and "withheld" in row["reason"] and level in row["reason"], row

    path = tmp_path / "film.json"
    write_landmarks(lm, path)
    study = load_study(str(path), mm_per_px=(1.0, 1.0))
    report = study_report(study, 0)
    assert all(c["angle_deg"] < 60 for c in report["curves"])
    assert report["curves_withheld"] and level in report["curves_withheld"][0]["reason"]
    assert "withheld" in format_table(study, 0)
    film = synthetic_ap(mm_per_px=1.0)
    fig = figure_for((film.pixels >> 4).astype(np.uint8), study, height_in=9)
    drawing = fig.spinecheck_drawing
    for w in withheld:
        name = f"Cobb {w['upper_end']}–{w['lower_end']}"
        assert name not in drawing.drawn and level in drawing.not_drawn[name]


def test_real_aasce_label_with_a_rotated_vertebra(shared_data):
    path = sorted((shared_data / "aasce-dev" / "labels").glob("*.mat"))[0]
    lm = _rotated(read_landmarks(path), "T8")
    m = measure(lm, cobb_method="endplate")
    assert _spans(m, 0, "T8") == []
    assert all(c["angle_deg"] < 90 for c in m.curves.curves(0))
    assert any("T8" in w["reason"] for w in m.curves.withheld_curves(0))
    row = _curve_type(m)
    assert row["applied"] is False and "withheld" in row["reason"], row
