"""The CSV writer makes its chunks in two threads, and hands them on in order (issue 17, 2).

:func:`csv_column_chunks` makes the independent chunks of a large table at once where the process
has two cores (:func:`~spinecheck.landmarks.io.in_order.in_order`): the text must be the text of one
thread, chunk for chunk, an error making a chunk must reach the caller where that chunk would have
come, no thread may outlive the writer, and a process with one core makes every chunk in its own
thread.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from spinecheck.landmarks.io import csv_cells, in_order
from spinecheck.landmarks.io.csv_cells import csv_column_chunks


def _table(n: int = 50) -> tuple[list[str], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    names = np.array(["a.png", "=b, c.png", None, 'say "x"', "x\ry"], dtype=object)
    values = np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 50, n))
    return ["image", "SVA_mm", "row"], [names[rng.integers(0, 5, n)], values, np.arange(n, dtype=float)]


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("spinecheck-in-order")]


def test_threaded_chunks_are_the_one_thread_chunks_in_order():
    header, columns = _table()
    one = list(csv_column_chunks(header, columns, chunk_rows=7, threads=1))
    two = list(csv_column_chunks(header, columns, chunk_rows=7, threads=2))
    assert len(one) == 1 + 8  # the header, then ceil(50 / 7) chunks
    assert two == one  # the text of one thread (itself the row writer's: test_table_writing.py)
    assert not _writer_threads()


def test_results_come_in_order_though_a_later_one_is_made_first():
    # item 0 waits until item 1 is made: with two threads both are under way at once, and 0 still
    # comes first (a writer of one thread would never make item 1, and item 0's wait would fail)
    made_1 = threading.Event()

    def make(k: int) -> int:
        if k == 0:
            assert made_1.wait(timeout=30)
        if k == 1:
            made_1.set()
        return k

    assert list(in_order.in_order(make, range(6), threads=2)) == list(range(6))
    assert not _writer_threads()


def test_an_error_making_a_chunk_reaches_the_caller_where_the_chunk_would_come(monkeypatch):
    header, columns = _table()
    before = list(csv_column_chunks(header, columns, chunk_rows=7, threads=1))[:2]
    real = csv_cells._chunk_text

    def chunk_text(cols):
        if cols[2][0] == 7.0:  # the second chunk (rows 7 to 13)
            raise ValueError("no text for these rows")
        return real(cols)

    monkeypatch.setattr(csv_cells, "_chunk_text", chunk_text)
    chunks = csv_column_chunks(header, columns, chunk_rows=7, threads=2)
    got = [next(chunks), next(chunks)]  # the header, the first chunk
    with pytest.raises(ValueError, match="no text for these rows"):
        next(chunks)
    assert got == before
    assert not _writer_threads()


def test_a_caller_that_stops_early_leaves_no_thread_behind():
    header, columns = _table(500)
    chunks = csv_column_chunks(header, columns, chunk_rows=7, threads=2)
    next(chunks), next(chunks)
    assert _writer_threads()  # the next chunks are under way
    chunks.close()
    assert not _writer_threads()


def _record_threads(monkeypatch):
    """The threads that make chunks from now on: a set filled as _chunk_text is called."""
    callers = set()
    real = csv_cells._chunk_text

    def chunk_text(cols):
        callers.add(threading.get_ident())
        return real(cols)

    monkeypatch.setattr(csv_cells, "_chunk_text", chunk_text)
    return callers


def test_one_core_makes_every_chunk_in_the_calling_thread(monkeypatch):
    monkeypatch.setattr(in_order.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert in_order.threads_to_use() == 1
    callers = _record_threads(monkeypatch)
    header, columns = _table()
    assert "".join(csv_column_chunks(header, columns, chunk_rows=7)) == "".join(
        csv_column_chunks(header, columns, chunk_rows=7, threads=1)
    )
    assert callers == {threading.get_ident()}


def test_two_cores_make_two_chunks_at_a_time(monkeypatch):
    monkeypatch.setattr(in_order.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert in_order.threads_to_use() == in_order.THREADS == 2
    callers = _record_threads(monkeypatch)
    header, columns = _table()
    list(csv_column_chunks(header, columns, chunk_rows=7))
    assert threading.get_ident() not in callers  # made by the writer's threads
    list(csv_column_chunks(header, columns))  # one chunk: made where it is asked for
    assert threading.get_ident() in callers


def test_the_threads_share_the_rows_of_a_chunk():
    # as many rows in the making at a time with two threads as with one: about as much memory
    n = csv_cells.CHUNK_ROWS + 1
    header, columns = _table(n)
    lines = [[c.count("\n") for c in csv_column_chunks(header, columns, threads=t)] for t in (1, 2)]
    half = csv_cells.CHUNK_ROWS // 2
    assert lines == [[1, csv_cells.CHUNK_ROWS, 1], [1, half, half, 1]]
