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
