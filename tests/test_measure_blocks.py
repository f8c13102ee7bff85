"""Measuring a large table a block of studies at a time gives what measuring it whole gives.

``measure`` works on :data:`~spinecheck.alignment.measure._BLOCK_ROWS` studies at a time, so that the
temporaries of the geometry and of the landmark checks are a block's; here the blocks are made a few
studies long, on a mixed table whose blocks have different numbers of coronal curves, suspect vertebrae
and both views, and every result is compared with the table measured in one piece. Where there are
two cores, two blocks are measured at a time in two threads: the results must be the same, in the
same order, an error of a block must reach the caller, and one core must measure in its own thread.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading

import numpy as np
import pytest
from spinecheck.alignment import measure
from spinecheck.landmarks.io import in_order
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


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("block", [1, 3, 8])
def test_blocks_measure_what_the_whole_table_measures(
    table: LandmarkTable, block: int, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = measure(table)
    monkeypatch.setattr(in_order, "threads_to_use", lambda: threads)  # two blocks at a time, or one
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


def _measuring_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("spinecheck-in-order")]


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_are_measured_in_threads_only_where_there_are_cores(
    table: LandmarkTable, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    callers: list[int] = []
    real = _MODULE._measured

    def measured(*args, **kwargs):
        callers.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(_MODULE, "_measured", measured)
    monkeypatch.setattr(_MODULE, "_BLOCK_ROWS", 8)
    monkeypatch.setattr(in_order, "threads_to_use", lambda: threads)
    measure(table)
    assert len(callers) == 5  # 40 studies, 8 at a time
    assert (threading.get_ident() in callers) == (threads == 1)
    measure(table.subset(np.arange(8)))  # one block: measured where it is asked for, whatever the cores
    assert callers[-1] == threading.get_ident()
    assert not _measuring_threads()


def test_an_error_of_a_block_reaches_the_caller(
    table: LandmarkTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _MODULE.coronal_parameters

    def coronal_parameters(sub, **kwargs):
        if {f"s{i}" for i in range(16, 24)} & set(sub.ids):  # the third block's AP films
            raise ValueError("no curves for these films")
        return real(sub, **kwargs)

    monkeypatch.setattr(_MODULE, "coronal_parameters", coronal_parameters)
    monkeypatch.setattr(_MODULE, "_BLOCK_ROWS", 8)
    monkeypatch.setattr(in_order, "threads_to_use", lambda: 2)
    with pytest.raises(ValueError, match="no curves for these films"):
        measure(table)
    assert not _measuring_threads()
