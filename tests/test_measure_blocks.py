"""Measuring a large table a block of studies at a time gives what measuring it whole gives.

``measure`` works on :data:`~spinecheck.alignment.measure._BLOCK_ROWS` studies at a time, so that the
temporaries of the geometry and of the landmark checks are a block's; here the blocks are made a few
studies long, on a mixed table whose blocks have different numbers of coronal curves, suspect vertebrae
and both views, and every result is compared with the table measured in one piece.
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
from spinecheck.alignment import measure
from spinecheck.landmarks.points.model import LandmarkTable
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

_MODULE = importlib.import_module("spinecheck.alignment.measure")


@pytest.fixture(scope="module")
def table() -> LandmarkTable:
    """40 films, lateral and AP mixed: the corners moved at random, some missing, some vertebrae far off."""
    rng = np.random.default_rng(17)
    bases = {
        view: film.landmarks
        for view, film in (("lateral", synthetic_lateral(mm_per_px=2.0)), ("ap", synthetic_ap(mm_per_px=2.0)))
    }
    sets = []
    for i in range(40):
        base = bases["ap" if rng.random() < 0.55 else "lateral"]
        points = {}
        far = f"{rng.choice(['T8', 'L2', 'T3'])}." if i % 7 == 3 else None  # a vertebra placed far off
        for name, (x, y) in base.points.items():
            if rng.random() < 0.04:
                continue
            dx, dy = rng.normal(0, 6 if far and name.startswith(far) else 1.5, 2) * (10 if far else 1)
            points[name] = (x + dx, y + dy)
        sets.append(dataclasses.replace(base, points=points, warnings=()))
    return LandmarkTable.from_sets(sets, ids=[f"s{i}" for i in range(len(sets))])


def _same(a: object, b: object, where: str) -> None:
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype == object:
            assert a.tolist() == b.tolist(), where
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("block", [1, 3, 8, 16])  # 16: three equal blocks of 14, 14 and 12
def test_blocks_measure_what_the_whole_table_measures(
    table: LandmarkTable, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = measure(table)
    curves_per_study = np.isfinite(whole.curves.angle_deg).sum(axis=1)
    # what the blocks must get right: curves padded to different counts, withheld curves, both views
    assert len(set(curves_per_study.tolist())) > 2
    assert whole.curves.withheld is not None and any(whole.curves.withheld.ravel())
    assert {"lateral", "ap"} == set(whole.views.tolist())
    monkeypatch.setattr(_MODULE, "_BLOCK_ROWS", block)
    _same(measure(table), whole, "measurements")


def test_one_view_in_blocks_keeps_every_point(table: LandmarkTable, monkeypatch: pytest.MonkeyPatch) -> None:
    ap = table.subset(np.flatnonzero(table.views == "ap"))
    whole = measure(ap)
    monkeypatch.setattr(_MODULE, "_BLOCK_ROWS", 4)
    _same(measure(ap), whole, "measurements")
