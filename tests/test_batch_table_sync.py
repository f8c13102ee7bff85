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
