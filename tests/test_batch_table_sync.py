"""The batch table puts its appended lines on disk at most every SYNC_SECONDS, and on an interruption."""

from __future__ import annotations

from pathlib import Path

import pytest
from spinecheck.alignment.batch import table as batch_table
from spinecheck.alignment.batch.table import BatchTable


@pytest.fixture
def clock_and_syncs(monkeypatch):
    """A clock the test moves, and the inodes of the files fsync'd (the atomic writes' too)."""
    now = [1000.0]
    synced: list[int] = []
    real_fsync = batch_table.os.fsync

    def fsync(fd: int) -> None:
        synced.append(batch_table.os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(batch_table.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(batch_table.os, "fsync", fsync)
    return now, synced


def _row(name: str) -> tuple[str, ...]:
    return (name, f"{name}.json", "ok", "")


def test_lines_are_synced_once_the_interval_has_passed(tmp_path: Path, clock_and_syncs) -> None:
    now, synced = clock_and_syncs
    table = BatchTable(tmp_path / "t.csv", ("image", "landmarks", "status", "error"))
    table.start(resume=False)  # written atomically, synced
    synced.clear()
    table.append([_row("a")])
    now[0] += batch_table.SYNC_SECONDS / 2
    table.append([_row("b")])
    assert synced == []  # written (below), not yet synced
    assert (tmp_path / "t.csv").read_text().splitlines()[1:] == ["a,a.json,ok,", "b,b.json,ok,"]
    now[0] += batch_table.SYNC_SECONDS / 2
    table.append([_row("c")])
    assert len(synced) == 1
    now[0] += 1
    table.append([_row("d")])
    assert len(synced) == 1
    table.close()  # an interrupted run: what is unsynced goes to disk now
    assert len(synced) == 2
    table.close()
    assert len(synced) == 2


def test_finish_replaces_the_table_without_syncing_the_lines_it_replaces(
    tmp_path: Path, clock_and_syncs
) -> None:
    now, synced = clock_and_syncs
    table = BatchTable(tmp_path / "t.csv", ("image", "landmarks", "status", "error"))
    table.start(resume=False)
    synced.clear()
    table.append([_row("b"), _row("a")])
    appended = (tmp_path / "t.csv").stat().st_ino
    assert [r[0] for r in table.finish()] == ["a", "b"]
    # the lines appended were not synced: the sorted table replaced them, written and synced atomically
    assert appended not in synced
    assert (tmp_path / "t.csv").stat().st_ino in synced
    assert (tmp_path / "t.csv").read_text().splitlines() == [
        "image,landmarks,status,error",
        "a,a.json,ok,",
        "b,b.json,ok,",
    ]


HEADER = ("image", "landmarks", "status", "error")


@pytest.mark.parametrize(
    ("chunks", "reordered"),
    [
        pytest.param(
            [[("b", "b.json", "ok", "")], [("a", "a.json", "ok", "")]], True, id="chunks out of order"
        ),
        pytest.param(
            [
                [("", "lost.json", "skipped", "no image found"), ("c", "", "skipped", "no landmark file")],
                [("a", "a.json", "error", 'say "why", with commas\r\nand lines')],
                [("d", "d.json", "ok", "=1+1"), ("b", "b.json", "ok", "-2.5")],
            ],
            True,
            id="unmeasured rows, quotes, formulas",
        ),
        pytest.param(
            [[("a", "a.json", "ok", "")], [("a", "a.json", "error", "again")]],
            False,
            id="a row written twice",
        ),
        pytest.param(
            [[("é", "é.json", "ok", "ünïcode")], [("a", "a.json", "ok", "")]], True, id="beyond ASCII"
        ),
    ],
)
def test_finish_writes_the_rows_sorted_as_csv_text_does(
    tmp_path: Path, monkeypatch, chunks: list, reordered: bool
) -> None:
    table = BatchTable(tmp_path / "t.csv", HEADER)
    table.start(resume=False)
    for rows in chunks:
        table.append(rows)
    made = []  # the rows finish makes text of
    csv_text = batch_table._csv_text
    monkeypatch.setattr(batch_table, "_csv_text", lambda rows: made.extend(rows[1:]) or csv_text(rows))
    rows = table.finish()
    monkeypatch.undo()
    assert made == ([] if reordered else rows)  # the lines written were put in order, or made again
    assert rows == sorted(table.done.values(), key=batch_table._order)
    assert (tmp_path / "t.csv").read_bytes() == batch_table._csv_text([HEADER, *rows]).encode("utf-8")


def test_finish_after_a_discard_or_a_resume(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    table = BatchTable(path, HEADER)
    table.start(resume=False)
    table.append([("b", "b.json", "ok", ""), ("a", "a.json", "ok", "")])
    table.discard([("image", "b")])
    table.append([("c", "c.json", "ok", "")])
    rows = table.finish()
    assert [r[0] for r in rows] == ["a", "c"]
    assert path.read_bytes() == batch_table._csv_text([HEADER, *rows]).encode("utf-8")
    resumed = BatchTable(path, HEADER)
    assert resumed.start(resume=True) == 2
    resumed.append([("b", "b.json", "ok", "")])
    rows = resumed.finish()
    assert [r[0] for r in rows] == ["a", "b", "c"]
    assert path.read_bytes() == batch_table._csv_text([HEADER, *rows]).encode("utf-8")
