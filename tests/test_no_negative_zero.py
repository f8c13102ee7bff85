"""A number that rounds to zero is never shown with a minus sign ("-0.0")."""

from __future__ import annotations

import csv
import io

import pytest
from spinecheck.alignment.render.text import format_csv, format_table
from spinecheck.alignment.study import load_study
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_lateral


@pytest.mark.parametrize(
    "x, kw, want",
    [
        (-0.04, {}, "0.0"),
        (-0.0, {}, "0.0"),
        (-0.004, {"decimals": 2}, "0.00"),
        (-0.4, {"decimals": 0}, "0"),
        (-0.04, {"signed": True}, "0.0"),
        (0.04, {"signed": True}, "0.0"),
        (-0.06, {}, "-0.1"),
        (0.06, {"signed": True}, "+0.1"),
        (-0.0, {"decimals": None}, "0"),
        (2.5, {"decimals": None}, "2.5"),
    ],
)
def test_shown_number(x, kw, want):
    from spinecheck.alignment.parameters import shown_number

    assert shown_number(x, **kw) == want


def _study(tmp_path, value):
    path = tmp_path / "film.json"
    write_landmarks(synthetic_lateral(mm_per_px=1.0).landmarks, path)
    study = load_study(str(path), mm_per_px=(1.0, 1.0))
    study.measurements.values["PT"][0] = value
    return study


def test_text_report_shows_minus_0_04_deg_as_0_0(tmp_path):
    text = format_table(_study(tmp_path, -0.04), 0)
    row = next(line for line in text.splitlines() if line.startswith("PT "))
    assert "0.0°" in row and "-0.0" not in row and "−0.0" not in row, row


@pytest.mark.parametrize("value", [-0.04, -0.0])
def test_csv_never_has_a_negative_zero_cell(tmp_path, value):
    rows = list(csv.DictReader(io.StringIO(format_csv(_study(tmp_path, value)))))
    cell = rows[0]["PT_deg"]
    assert float(cell) == pytest.approx(value) and cell not in ("-0.0", "-0", "-0.00"), cell


def test_the_value_a_criterion_is_decided_on_is_never_negative_zero():
    import numpy as np
    from spinecheck.alignment.criteria.rules import as_shown

    assert not np.signbit(as_shown(np.array([-0.04, -0.0, -1e-15]))).any()


def test_criteria_lines_never_show_negative_zero(tmp_path):
    """PT 0.04 deg under an age-adjusted target of 20 deg at age 55: value, target and offset lines."""
    from spinecheck.alignment.criteria import assess

    study = _study(tmp_path, 19.96)
    study.measurements.values["PI_LL"][0] = 2.96  # target (55 - 55) / 2 + 3 = 3: offset -0.04
    lines = [line for c in assess(study.measurements, 55.0).columns if (line := c.summary(0))]
    shown = [line for line in lines if "age-adjusted" in line.lower() or "target" in line]
    assert shown and not [line for line in shown if "-0.0" in line], shown
