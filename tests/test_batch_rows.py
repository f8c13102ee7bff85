"""The batch table's cells, made a column at a time (alignment.batch.table.rows_of)."""

from __future__ import annotations

import itertools
import math

import pytest
from spinecheck.alignment.batch.table import _cell, _column_cells


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["a", "b", ""],
        ["a\nb", "c"],
        ["a\r", "b"],
        [1.5, 2.0, -3.25],
        [1.5, -0.0],
        [0.0, 1.0],
        [math.nan, math.inf, -math.inf, 1e-300],
        [1, -2, 0],
        [True, False],
        [None, None],
        [None, "a"],
        [None, 1.5, "x"],
        [1, 1.0],
        [True, 1],
    ],
)
def test_a_column_s_cells_are_its_values_cells(values):
    assert _column_cells(list(values)) == [_cell(v) for v in values]


def test_every_mix_of_a_few_values_gives_the_cells_one_at_a_time():
    pool = [None, "", "a", "a\nb", 0.0, -0.0, 2.5, math.nan, 0, 7, True]
    for values in itertools.product(pool, repeat=3):
        got = _column_cells(list(values))
        assert got == [_cell(v) for v in values], values
        assert all(type(c) is str for c in got)
