"""Batch discovery pairs by names without opening the films; the workers check the UIDs (issue 17, 4).

Whatever the archive, the table is the one the pairing with every UID read gives (``run_batch``
with an explicit ``worker`` pairs that way): a film that contradicts the UID its landmark file
records makes the run pair again, and the rows that pairing changes are replaced.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from batch_factory import write_study
from spinecheck.alignment.batch import archive as archive_module
from spinecheck.alignment.batch.archive import discover, uid_doubt
from spinecheck.alignment.batch.runner import measure_chunk, run_batch


def _record_uid(landmarks: Path, uid: str | None) -> None:
    data = json.loads(landmarks.read_text())
    data["image"]["sop_instance_uid"] = uid
    landmarks.write_text(json.dumps(data))


def _plain(root: Path) -> None:
    write_study(root, "a.dcm", uid="1.2.3.4.1")
    write_study(root / "sub", "b.dcm", uid="1.2.3.4.2", view="ap", seed=1)


def _swapped(root: Path) -> None:
    """x.json beside x.dcm holds y.dcm's points and the other way round."""
    write_study(root / "a", "x.dcm", uid="1.2.3.4.1", landmarks=root / "b" / "y.json")
    write_study(root / "b", "y.dcm", uid="1.2.3.4.2", seed=1, landmarks=root / "a" / "x.json")


def _another_films(root: Path) -> None:
    """Exact files that record films not in the archive, or another film of it."""
    _, lm = write_study(root, "x.dcm", uid="1.2.3.4.1")
    _record_uid(lm, "1.2.3.4.9")
    write_study(root, "other.dcm", uid="1.2.3.4.5", seed=1)
    _, lm = write_study(root, "z.dcm", uid="1.2.3.4.6", seed=2)
    _record_uid(lm, "1.2.3.4.5")


def _freed_for_its_film(root: Path) -> None:
    """a.json beside a.dcm records b.dcm's UID, and b.dcm has no file: b.dcm is measured with it."""
    _, lm = write_study(root, "a.dcm", uid="1.2.3.4.1")
    _record_uid(lm, "1.2.3.4.2")
    write_study(root, "b.dcm", uid="1.2.3.4.2", seed=1, landmarks=None)
    write_study(root, "c.dcm", uid="1.2.3.4.3", seed=2)


def _duplicate_stems(root: Path) -> None:
    """x.json records a UID x.dcm does not have: it is x.png's."""
    _, lm = write_study(root, "x.dcm", uid="1.2.3.4.1", declare_path=False)
    _record_uid(lm, "1.2.3.4.9")
    write_study(root, "x.png", png=True, landmarks=None)


def _unreadable_film(root: Path) -> None:
    """A film whose header cannot be read keeps its exact file (its row says why)."""
    write_study(root, "bad.dcm", uid="1.2.3.4.1")
    (root / "bad.dcm").write_bytes(b"truncated")
    write_study(root, "good.dcm", uid="1.2.3.4.2", seed=1)


@pytest.mark.parametrize(
    "build", [_plain, _swapped, _another_films, _freed_for_its_film, _duplicate_stems, _unreadable_film]
)
def test_the_table_is_the_one_of_the_pairing_with_every_uid_read(tmp_path, build):
    root = tmp_path / "archive"
    build(root)
    deferred = run_batch(root, tmp_path / "deferred.csv", jobs=1)
    read = run_batch(root, tmp_path / "read.csv", jobs=1, worker=measure_chunk)
    assert (tmp_path / "deferred.csv").read_bytes() == (tmp_path / "read.csv").read_bytes()
    assert deferred.counts == read.counts and deferred.measured <= read.measured + 1


def test_a_resumed_run_that_must_pair_again_keeps_each_study_once(tmp_path):
    root = tmp_path / "archive"
    _freed_for_its_film(root)
    reference = tmp_path / "read.csv"
    run_batch(root, reference, jobs=1, worker=measure_chunk)
    out = tmp_path / "t.csv"
    lines = reference.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]))  # one row done, as a killed run leaves it
    run_batch(root, out, jobs=1, resume=True)
    assert out.read_bytes() == reference.read_bytes()


def test_discovery_opens_no_film_when_the_names_pair(tmp_path, monkeypatch):
    reads: list[str] = []
    real = archive_module.read_sop_instance_uid
    monkeypatch.setattr(archive_module, "read_sop_instance_uid", lambda p: reads.append(str(p)) or real(p))
    _plain(tmp_path)
    lazy = discover(tmp_path, defer_uid_checks=True)
    assert reads == []
    assert [(j.image, j.expected_uid) for j in lazy.jobs] == [
        ("a.dcm", "1.2.3.4.1"),
        ("sub/b.dcm", "1.2.3.4.2"),
    ]
    strict = discover(tmp_path)
    assert len(reads) == 2  # the default reads the UID of each film whose file records one
    assert [j.expected_uid for j in strict.jobs] == [None, None]
    assert lazy.unmeasured == strict.unmeasured


def test_a_doubt_among_candidates_is_settled_by_reading_the_uids(tmp_path):
    _duplicate_stems(tmp_path)
    assert discover(tmp_path, defer_uid_checks=True) == discover(tmp_path)


def test_uid_doubt_reads_the_film_only_when_its_header_gave_none(tmp_path):
    image, _ = write_study(tmp_path, "a.dcm", uid="1.2.3.4.1")
    (job,) = discover(tmp_path, defer_uid_checks=True).jobs
    assert not uid_doubt(job, "1.2.3.4.1") and uid_doubt(job, "1.2.3.4.7")
    assert not uid_doubt(job, None)  # read from the film: its own
    shutil.copy(tmp_path / "a.json", tmp_path / "copy.json")
    assert not uid_doubt(discover(tmp_path).jobs[0], "anything")  # nothing deferred: nothing to doubt
