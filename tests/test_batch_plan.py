"""How a batch cuts its studies into tasks, and the Parquet copy's columns built from their cells.

Shapes and values, not timings (``bench/bench_floor.py`` measures ``--jobs 2`` against ``--jobs 1``).
"""

from __future__ import annotations

import math
import struct
import sys

import pyarrow as pa
import pytest
from spinecheck.alignment.batch import runner
from spinecheck.alignment.batch.archive import RowStatus, StudyJob
from spinecheck.alignment.batch.table import BatchOptions, BatchTable, _arrow_column, batch_header, plain_row

HEADERS = BatchOptions()
DECODED = BatchOptions(verify_pixels=True)


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("options", [HEADERS, DECODED], ids=["headers", "decoded"])
def test_the_plan_covers_every_study_once_in_bounded_tasks(workers, options):
    most = runner.MAX_CHUNK if options.decode else runner.MAX_HEADER_CHUNK
    for studies in [*range(0, 300), 999, 1000, 1001, 4096, 10_000, 100_003]:
        plan = runner._chunk_plan(studies, workers, options)
        assert sum(plan) == studies, (studies, plan)
        assert all(1 <= size <= most for size in plan), (studies, plan)


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_several_workers_end_on_a_round_of_small_tasks(workers):
    for studies in (300, 1000, 1001, 4096, 10_000, 100_003):
        plan = runner._chunk_plan(studies, workers, HEADERS)
        last, body = plan[-workers:], plan[:-workers]
        assert len(plan) % workers == 0  # whole rounds, one task per worker
        assert max(last) - min(last) <= 1 and max(body) - min(body) <= 1
        assert 32 <= min(last) and max(last) <= 128 and max(last) < min(body)
        # as few tasks as the largest allows, with the last round set aside
        assert len(body) == workers * math.ceil(sum(body) / (runner.MAX_HEADER_CHUNK * workers))


def test_one_worker_and_decoded_films_keep_tasks_of_one_size():
    assert runner._chunk_plan(1000, 1, HEADERS) == [500, 500]
    assert runner._chunk_plan(1030, 1, HEADERS) == [344, 344, 342]
    assert runner._chunk_plan(1000, 2, DECODED) == [32] * 31 + [8]


def test_few_studies_are_one_task_per_worker():
    assert runner._chunk_plan(100, 2, HEADERS) == [50, 50]
    assert runner._chunk_plan(3, 4, HEADERS) == [1, 1, 1]


def test_the_tasks_are_the_studies_in_order():
    todo = [object() for _ in range(1000)]
    chunks = runner._chunks(todo, runner._chunk_plan(1000, 2, HEADERS))  # type: ignore[arg-type]
    assert [len(c) for c in chunks] == [450, 450, 50, 50]
    assert [job for chunk in chunks for job in chunk] == todo


TEXTS = [
    ("a", "bc", "", "x,y", 'quote"d'),
    ("", ""),
    (),
    ("é", "", "日本語", "a\u2028b", "😀", "plain"),  # bytes are not characters: offsets from the encodings
    ("=cmd", "\r\n", " ", "\x00"),
]


@pytest.mark.parametrize("cells", TEXTS)
def test_a_text_column_is_the_cells_an_empty_one_null(cells):
    got = _arrow_column(cells, False)
    want = pa.array([c if c else None for c in cells], type=pa.string())
    assert got.equals(want)
    assert got.null_count == sum(not c for c in cells)


def _bits(x: float | None) -> bytes | None:
    return None if x is None else struct.pack("<d", x)


NUMBERS = [
    ("1.5", "-0", "0", "1e-300", "2.2250738585072014e-308", "179769313486231570000000"),
    ("", "3", "", "-0.0", "nan", "inf", "-inf"),
    ("", ""),
    (),
]


@pytest.mark.parametrize("cells", NUMBERS)
def test_a_number_column_is_float_of_each_cell_bit_for_bit(cells):
    got = _arrow_column(cells, True)
    assert got.type == pa.float64()
    assert [_bits(v) for v in got.to_pylist()] == [_bits(float(c)) if c else None for c in cells]


class _Workers:
    """An engine of two workers that runs each task when submitted, recording what happened when."""

    workers = 2
    name = "2 recorded workers"

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def submit(self, fn, *args):
        from concurrent.futures import Future

        self.events.append(f"submit {len(args[0])}")
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def wait(self, futures):
        return set(futures), set()

    def result(self, future):
        return future.result()


def _error_rows(jobs, options):
    header = batch_header(options)
    return [plain_row(header, j.image, j.landmarks, RowStatus.ERROR, "recorded") for j in jobs]


def test_the_parquet_copy_is_prepared_before_the_first_task_is_handed_out(tmp_path, monkeypatch):
    events: list[str] = []
    monkeypatch.setattr(runner, "prepare_parquet", lambda options: events.append("prepare"))
    table = BatchTable(tmp_path / "t.csv", batch_header(HEADERS))
    table.start(resume=False)
    todo = [
        StudyJob(f"s{i:04d}.dcm", f"s{i:04d}.json", f"/a/s{i:04d}.dcm", f"/a/s{i:04d}.json")
        for i in range(1000)
    ]
    runner._run(_Workers(events), todo, HEADERS, table, None, False, sys.stderr, _error_rows)
    assert events == ["prepare", "submit 450", "submit 450", "submit 50", "submit 50"]
    assert len(table.finish()) == 1000
