"""Batch discovery pairs by names without opening the landmark files either (issue 17, 4).

A ``.json`` file that is the one candidate of one image, at its exact place, is left to the
worker, which reads it anyway: each landmark file is read once. Whatever the archive, the table
is the one the pairing with every file read gives (``run_batch`` with an explicit ``worker``
pairs that way): a file that turns out to be no landmark file, or to record another film, makes
the run pair again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_factory import write_study
from spinecheck.alignment.batch import archive as archive_module
from spinecheck.alignment.batch.archive import discover, landmark_claim
from spinecheck.alignment.batch.runner import measure_chunk, run_batch


def _edit(landmarks: Path, change) -> None:
    data = json.loads(landmarks.read_text())
    change(data)
    landmarks.write_text(json.dumps(data))


def _plain(root: Path) -> None:
    write_study(root, "a.dcm", uid="1.2.3.4.1")
    write_study(root / "sub", "b.dcm", uid="1.2.3.4.2", view="ap", seed=1)


def _not_landmarks_beside(root: Path) -> None:
    """x.json beside x.dcm is some other JSON; x.landmarks.json holds the points; y.json is a list."""
    _, lm = write_study(root, "x.dcm", uid="1.2.3.4.1")
    lm.rename(root / "x.landmarks.json")
    (root / "x.json").write_text('{"format": "something-else/2", "note": "not points"}')
    write_study(root, "y.dcm", uid="1.2.3.4.2", seed=1)
    (root / "y.json").write_text("[1, 2, 3]")
    write_study(root, "z.dcm", uid="1.2.3.4.3", seed=2)


def _another_film(root: Path) -> None:
    """x.json records z.dcm's UID, and z.dcm has no file of its own: z.dcm is measured with it."""
    _, lm = write_study(root, "x.dcm", uid="1.2.3.4.1")
    _edit(lm, lambda d: d["image"].update(sop_instance_uid="1.2.3.4.3"))
    write_study(root, "z.dcm", uid="1.2.3.4.3", seed=1, landmarks=None)


def _broken_files(root: Path) -> None:
    """Undecodable files, a BOM, a duplicated key, a refused header beside a file of another film."""
    write_study(root, "a.dcm", uid="1.2.3.4.1")
    (root / "a.json").write_bytes(b'{"format": "spinecheck-landmarks/1", "view": ')
    _, lm = write_study(root, "b.dcm", uid="1.2.3.4.2", seed=1)
    lm.write_bytes(b"\xef\xbb\xbf" + lm.read_bytes())
    _, lm = write_study(root, "c.dcm", uid="1.2.3.4.3", seed=2)
    lm.write_text(lm.read_text().replace('"view"', '"view": "ap", "view"', 1))
    _, lm = write_study(root, "d.dcm", uid="1.2.3.4.4", seed=3)
    _edit(lm, lambda d: d["image"].update(sop_instance_uid="1.2.3.4.9"))
    (root / "d.dcm").write_bytes(b"truncated")
    (root / "e.json").write_bytes(b"\xff\xfe not utf-8")


def _orphans_and_landmarks_dir(root: Path) -> None:
    """Files no image takes by name, and files under a separate landmarks folder."""
    write_study(root / "images", "p.dcm", uid="1.2.3.4.1", landmarks=root / "labels" / "p.json")
    write_study(
        root / "images" / "s", "q.dcm", uid="1.2.3.4.2", seed=1, landmarks=root / "labels" / "x" / "q.json"
    )
    _, lm = write_study(
        root / "images", "r.dcm", uid="1.2.3.4.3", seed=2, landmarks=root / "images" / "r.json"
    )
    lm.rename(root / "images" / "orphan.json")


def _duplicate_stems(root: Path) -> None:
    """x.json beside x.dcm and x.png, naming x.dcm in its image.path."""
    write_study(root, "x.dcm", uid="1.2.3.4.1")
    write_study(root, "x.png", png=True, landmarks=None)


@pytest.mark.parametrize(
    "build",
    [
        _plain,
        _not_landmarks_beside,
        _another_film,
        _broken_files,
        _orphans_and_landmarks_dir,
        _duplicate_stems,
    ],
)
def test_the_table_is_the_one_of_the_pairing_with_every_file_read(tmp_path, build):
    root = tmp_path / "archive"
    build(root)
    landmarks_dir = root / "labels" if (root / "labels").is_dir() else None
    unread = run_batch(root, tmp_path / "unread.csv", jobs=1, landmarks_dir=landmarks_dir)
    read = run_batch(root, tmp_path / "read.csv", jobs=1, landmarks_dir=landmarks_dir, worker=measure_chunk)
    assert (tmp_path / "unread.csv").read_bytes() == (tmp_path / "read.csv").read_bytes()
    assert unread.counts == read.counts and unread.ignored == read.ignored


def test_discovery_opens_no_landmark_file_when_the_names_pair(tmp_path, monkeypatch):
    opened: list[str] = []
    real = archive_module._load_json
    monkeypatch.setattr(archive_module, "_load_json", lambda p: opened.append(Path(p).name) or real(p))
    _plain(tmp_path)
    lazy = discover(tmp_path, defer_uid_checks=True, read_landmarks=False)
    assert opened == []
    assert [(j.image, j.landmarks_unread, j.expected_uid) for j in lazy.jobs] == [
        ("a.dcm", True, None),
        ("sub/b.dcm", True, None),
    ]
    strict = discover(tmp_path, defer_uid_checks=True)
    assert sorted(opened) == ["a.json", "b.json"] and not any(j.landmarks_unread for j in strict.jobs)
    assert lazy.unmeasured == strict.unmeasured and lazy.ignored == strict.ignored


def test_discovery_reads_the_files_whose_content_decides(tmp_path, monkeypatch):
    opened: list[str] = []
    real = archive_module._load_json
    monkeypatch.setattr(archive_module, "_load_json", lambda p: opened.append(Path(p).name) or real(p))
    _not_landmarks_beside(tmp_path)
    (tmp_path / "orphan.json").write_bytes((tmp_path / "z.json").read_bytes())
    lazy = discover(tmp_path, defer_uid_checks=True, read_landmarks=False)
    # two candidates for x.dcm, and a file no image takes by name: read; the others left to the worker
    assert sorted(opened) == ["orphan.json", "x.json", "x.landmarks.json"]
    assert [(j.image, j.landmarks, j.landmarks_unread) for j in lazy.jobs] == [
        ("x.dcm", "x.landmarks.json", False),
        ("y.dcm", "y.json", True),
        ("z.dcm", "z.json", True),
    ]
    assert lazy.ignored == 1  # x.json, read: not a landmark file


def test_a_file_that_is_no_landmark_file_makes_the_run_pair_again(tmp_path):
    root = tmp_path / "archive"
    write_study(root, "y.dcm", uid="1.2.3.4.2")
    (root / "y.json").write_text('{"some": "other json"}')
    (job,) = discover(root, defer_uid_checks=True, read_landmarks=False).jobs
    assert job.landmarks_unread
    assert measure_chunk([job], run_batch.__kwdefaults__["options"])[0][2] == "uid-doubt"
    summary = run_batch(root, tmp_path / "t.csv", jobs=1)
    assert summary.counts == {"ok": 0, "error": 0, "skipped": 1} and summary.ignored == 1


def test_landmark_claim_is_what_discovery_makes_of_a_file():
    assert landmark_claim("a.json", {"format": "spinecheck-landmarks/1"}) == (True, None)
    assert landmark_claim(
        "a.json", {"format": "spinecheck-landmarks/1", "image": {"sop_instance_uid": " 1.2 "}}
    ) == (
        True,
        "1.2",
    )
    assert landmark_claim("a.json", None) == (False, None)  # JSON null: no landmark file
    assert landmark_claim("a.json") == (True, None)  # not decoded: its row says why
    assert landmark_claim("a.mrk.json", {"markups": []}) == (True, None)
