"""The README stays true: its two commands, and every parameter and criterion it must document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from spinecheck.alignment import PARAMETERS, assess, measure
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_two_newcomer_commands():
    assert 'pip install -e ".[test]" && spinecheck demo' in README
    assert "\npytest\n" in README


def test_ci_runs_what_the_readme_says():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && spinecheck demo' in ci
    assert "\npytest\n" in ci


def test_every_parameter_is_in_the_readme_table():
    for pid in PARAMETERS:
        assert f"`{pid}`" in README, pid


def test_every_criterion_applied_to_the_sample_is_in_the_readme():
    films = [synthetic_lateral(mm_per_px=1.0).landmarks, synthetic_ap(mm_per_px=1.0).landmarks]
    m = measure(__import__("spinecheck.landmarks", fromlist=["x"]).LandmarkTable.from_sets(films))
    a = assess(m, np.array([67.0, 67.0]))
    ids = {row["id"] for i in range(2) for row in a.rows(i)}
    for cid in ids:
        stem = cid if not cid.startswith("age_adjusted") else "age_adjusted"
        assert stem in README, cid
