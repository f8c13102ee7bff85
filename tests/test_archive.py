"""Finding the studies of an archive and pairing each image with its landmark file (alignment.batch.archive)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from batch_factory import write_study
from spinecheck.alignment.batch.archive import RowStatus, candidate_names, discover


def _by_image(archive):
    jobs = {j.image: j for j in archive.jobs}
    rows = {u.image or u.landmarks: u for u in archive.unmeasured}
    return jobs, rows


def test_pairs_beside_the_image_under_every_documented_name(tmp_path):
    write_study(tmp_path / "a", "one.dcm")  # one.json
    write_study(tmp_path / "a" / "b", "two.dcm", landmarks=tmp_path / "a" / "b" / "two.landmarks.json")
    write_study(tmp_path / "c", "three.dcm", landmarks=tmp_path / "c" / "three.dcm.json")
    write_study(tmp_path / "c", "IM0001", landmarks=tmp_path / "c" / "IM0001.json")  # no extension
    write_study(
        tmp_path / "c", "film.bin", landmarks=tmp_path / "c" / "film.json"
    )  # DICOM under another name
    write_study(tmp_path / "d", "pic.png", png=True)
    archive = discover(tmp_path)
    jobs, rows = _by_image(archive)
    assert {k: v.landmarks for k, v in jobs.items()} == {
        "a/one.dcm": "a/one.json",
        "a/b/two.dcm": "a/b/two.landmarks.json",
        "c/three.dcm": "c/three.dcm.json",
        "c/IM0001": "c/IM0001.json",
        "c/film.bin": "c/film.json",
        "d/pic.png": "d/pic.json",
    }
    assert rows == {}
    assert jobs["a/one.dcm"].image_path == str(tmp_path / "a" / "one.dcm")
    assert [j.image for j in archive.jobs] == sorted(jobs)


def test_other_files_are_ignored_and_hidden_ones_never_looked_at(tmp_path):
    write_study(tmp_path, "x.dcm")
    (tmp_path / "notes.txt").write_text("not a study")
    (tmp_path / "meta.json").write_text(json.dumps({"format": "someone-else/2"}))
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / ".DS_Store").write_bytes(b"\0" * 200)
    write_study(tmp_path / ".cache", "hidden.dcm")
    archive = discover(tmp_path)
    assert [j.image for j in archive.jobs] == ["x.dcm"]
    assert archive.unmeasured == ()
    assert archive.ignored == 3


def test_images_without_landmarks_and_landmarks_without_image_keep_a_row(tmp_path):
    write_study(tmp_path, "lonely.dcm", landmarks=None)
    _, lm = write_study(tmp_path / "tmp", "gone.dcm")
    (tmp_path / "tmp" / "gone.dcm").unlink()
    (tmp_path / "broken.json").write_text("{ not json")  # a landmark file too broken to tell
    archive = discover(tmp_path)
    _, rows = _by_image(archive)
    assert rows["lonely.dcm"].status is RowStatus.SKIPPED
    assert rows["lonely.dcm"].reason == (
        "no landmark file (looked for lonely.json, lonely.landmarks.json, lonely.dcm.json, lonely.mrk.json, "
        "lonely.mat, lonely.dcm.mat beside it or a landmark file with its SOP Instance UID)"
    )
    assert rows["tmp/gone.json"].status is RowStatus.SKIPPED
    assert rows["tmp/gone.json"].reason == "no image found for these landmarks"
    assert rows["broken.json"].image == ""
    assert archive.jobs == ()


def test_an_unreadable_dicom_is_a_job_whose_row_will_say_why(tmp_path):
    write_study(tmp_path, "bad.dcm")
    (tmp_path / "bad.dcm").write_bytes(b"truncated")
    assert [j.image for j in discover(tmp_path).jobs] == ["bad.dcm"]


def test_duplicate_stems_are_errors_naming_the_candidates_never_a_guess(tmp_path):
    write_study(tmp_path, "dup.dcm", declare_path=False)
    write_study(tmp_path, "dup.png", png=True, landmarks=None)
    archive = discover(tmp_path)
    jobs, rows = _by_image(archive)
    assert jobs == {}
    for name, other in (("dup.dcm", "dup.png"), ("dup.png", "dup.dcm")):
        assert rows[name].status is RowStatus.ERROR
        assert "ambiguous image" in rows[name].reason and other in rows[name].reason
        assert rows[name].landmarks == "dup.json"
    assert "dup.json" not in rows  # named in the error rows, not listed again as without image


def test_a_declared_image_path_settles_duplicate_stems(tmp_path):
    write_study(tmp_path, "dup.dcm")  # dup.json says image.path "dup.dcm"
    write_study(tmp_path, "dup.png", png=True, landmarks=None)
    jobs, rows = _by_image(discover(tmp_path))
    assert jobs["dup.dcm"].landmarks == "dup.json"
    assert rows["dup.png"].status is RowStatus.SKIPPED


def test_two_landmark_files_for_one_image_are_an_error(tmp_path):
    write_study(tmp_path, "y.dcm", declare_path=False)
    write_study(tmp_path / "copy", "y.dcm", declare_path=False)
    shutil.copy(tmp_path / "copy" / "y.json", tmp_path / "y.landmarks.json")
    jobs, rows = _by_image(discover(tmp_path))
    assert rows["y.dcm"].status is RowStatus.ERROR
    assert "y.json" in rows["y.dcm"].reason and "y.landmarks.json" in rows["y.dcm"].reason
    assert set(jobs) == {"copy/y.dcm"}


def test_landmarks_folder_mirrored_first_then_by_name(tmp_path):
    root, marks = tmp_path / "images", tmp_path / "marks"
    write_study(root / "p1", "a.dcm", landmarks=marks / "p1" / "a.json")
    write_study(root / "p1", "b.dcm", landmarks=marks / "elsewhere" / "b.json")
    write_study(root / "p2", "a.dcm", landmarks=marks / "p2" / "a.json")  # same stem, other folder
    write_study(root, "c.dcm", landmarks=marks / "x" / "c.json")
    shutil.copy(marks / "x" / "c.json", marks / "y_c.json")  # another name: not a candidate
    (marks / "z").mkdir()
    shutil.copy(marks / "x" / "c.json", marks / "z" / "c.json")  # a second c.json: ambiguous
    archive = discover(root, landmarks_dir=marks)
    jobs, rows = _by_image(archive)
    shown = marks.as_posix()
    assert jobs["p1/a.dcm"].landmarks == f"{shown}/p1/a.json"
    assert jobs["p2/a.dcm"].landmarks == f"{shown}/p2/a.json"
    assert jobs["p1/b.dcm"].landmarks == f"{shown}/elsewhere/b.json"
    assert rows["c.dcm"].status is RowStatus.ERROR and "2 landmark files" in rows["c.dcm"].reason
    assert rows[f"{shown}/y_c.json"].status is RowStatus.SKIPPED


def test_pairs_by_the_sop_instance_uid_the_landmark_file_records(tmp_path):
    write_study(tmp_path / "img", "IM0007", uid="1.2.3.4.7", landmarks=tmp_path / "lm" / "patient7.json")
    write_study(tmp_path / "img", "IM0008", uid="1.2.3.4.8", landmarks=tmp_path / "lm" / "patient8.json")
    write_study(tmp_path / "img", "IM0009", uid="1.2.3.4.8", landmarks=None)  # a copy: same UID
    jobs, rows = _by_image(discover(tmp_path))
    assert jobs["img/IM0007"].landmarks == "lm/patient7.json"
    assert (
        rows["img/IM0008"].status is RowStatus.ERROR and "share SOP Instance UID" in rows["img/IM0008"].reason
    )
    assert rows["img/IM0009"].status is RowStatus.ERROR


def test_aasce_layout_images_and_labels(tmp_path):
    import scipy.io as scipy_io

    write_study(tmp_path / "images", "case 1.jpg", png=True, landmarks=None)
    (tmp_path / "labels").mkdir()
    scipy_io.savemat(str(tmp_path / "labels" / "case 1.jpg.mat"), {"p2": [[1, 2]] * 68})
    jobs, rows = _by_image(discover(tmp_path))
    assert jobs["images/case 1.jpg"].landmarks == "labels/case 1.jpg.mat"


def test_root_must_be_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError, match="not a folder"):
        discover(tmp_path / "missing")


def test_candidate_names_for_extensionless_and_double_suffix():
    assert candidate_names("x.jpg") == (
        "x.json",
        "x.landmarks.json",
        "x.jpg.json",
        "x.mrk.json",
        "x.mat",
        "x.jpg.mat",
    )
    assert Path("x.landmarks.json").name in candidate_names("x.dcm")


def test_a_second_annotation_of_a_paired_film_says_which_film(tmp_path):
    """A refined copy beside the original names the film it annotates, not 'no image found'."""
    _, lm = write_study(tmp_path, "case.dcm", uid="1.2.3.4.5")
    shutil.copy(lm, tmp_path / "refined.json")  # records the same SOP Instance UID
    jobs, rows = _by_image(discover(tmp_path))
    assert jobs["case.dcm"].landmarks == "case.json"
    why = rows["refined.json"].reason
    assert rows["refined.json"].status is RowStatus.SKIPPED
    assert why == "another annotation of case.dcm (same SOP Instance UID), which is measured with case.json"


def test_an_exact_match_wins_over_the_same_name_in_another_folder(tmp_path):
    """Case A: generic DICOM names in every patient folder; only p1 has landmarks."""
    root, lm = tmp_path / "root", tmp_path / "lm"
    write_study(root / "p1", "IM0001.dcm", landmarks=lm / "p1" / "IM0001.json")
    write_study(root / "p2", "IM0001.dcm", seed=1, landmarks=None)
    jobs, rows = _by_image(discover(root, landmarks_dir=lm))
    assert jobs["p1/IM0001.dcm"].landmarks == f"{lm.as_posix()}/p1/IM0001.json"
    assert rows["p2/IM0001.dcm"].status is RowStatus.SKIPPED
    why = rows["p2/IM0001.dcm"].reason
    assert f"{lm.as_posix()}/p1/IM0001.json" in why and "relative path of p1/IM0001.dcm" in why
    assert set(rows) == {"p2/IM0001.dcm"}


def test_the_same_name_in_another_folder_without_a_uid_is_not_taken(tmp_path):
    """Case B: p1's landmarks must never measure p2's film, even when p1's film is missing."""
    root, lm = tmp_path / "root", tmp_path / "lm"
    _, marks = write_study(tmp_path / "gone", "IM0001.dcm", landmarks=lm / "p1" / "IM0001.json")
    data = json.loads(marks.read_text())
    data["image"].pop("sop_instance_uid", None)  # the image is named by its path only
    marks.write_text(json.dumps(data))
    write_study(root / "p2", "IM0001.dcm", seed=1, landmarks=None)
    archive = discover(root, landmarks_dir=lm)
    jobs, rows = _by_image(archive)
    assert jobs == {}
    shown = lm.as_posix()
    assert rows["p2/IM0001.dcm"].status is RowStatus.SKIPPED
    assert rows["p2/IM0001.dcm"].reason.endswith(
        f"{shown}/p1/IM0001.json has the same name but lies under another folder and records no "
        f"SOP Instance UID; move it to {shown}/p2/ or record the UID"
    )
    assert rows[f"{shown}/p1/IM0001.json"].reason == "no image found for these landmarks"


def test_the_same_name_elsewhere_is_taken_when_it_records_the_images_uid(tmp_path):
    root, lm = tmp_path / "root", tmp_path / "lm"
    write_study(root / "p2", "IM0001.dcm", uid="1.2.3.4.2", landmarks=lm / "p1" / "IM0001.json")
    write_study(root / "p3", "IM0001.dcm", uid="1.2.3.4.3", landmarks=lm / "old" / "IM0001.json")
    write_study(root / "p4", "IM0001.dcm", uid="1.2.3.4.4", landmarks=None)  # no file records 1.2.3.4.4
    jobs, rows = _by_image(discover(root, landmarks_dir=lm))
    shown = lm.as_posix()
    assert jobs["p2/IM0001.dcm"].landmarks == f"{shown}/p1/IM0001.json"
    assert jobs["p3/IM0001.dcm"].landmarks == f"{shown}/old/IM0001.json"
    why = rows["p4/IM0001.dcm"].reason
    assert rows["p4/IM0001.dcm"].status is RowStatus.SKIPPED
    assert "records another SOP Instance UID (1.2.3.4.2)" in why and "(1.2.3.4.3)" in why
    assert set(rows) == {"p4/IM0001.dcm"}


def test_a_flat_landmarks_folder_still_pairs_nested_images_by_name(tmp_path):
    root, lm = tmp_path / "root", tmp_path / "lm"
    write_study(root / "site" / "p1", "a.png", png=True, landmarks=lm / "a.json")  # records no UID
    write_study(root / "p2", "b.dcm", landmarks=lm / "b.json")
    write_study(root / "p3", "c.png", png=True, landmarks=lm / "c.json")
    write_study(root / "p4", "c.png", png=True, landmarks=None)  # a second c: ambiguous, never a guess
    jobs, rows = _by_image(discover(root, landmarks_dir=lm))
    shown = lm.as_posix()
    assert jobs["site/p1/a.png"].landmarks == f"{shown}/a.json"
    assert jobs["p2/b.dcm"].landmarks == f"{shown}/b.json"
    for image in ("p3/c.png", "p4/c.png"):
        assert rows[image].status is RowStatus.ERROR and "ambiguous image" in rows[image].reason


# ----------------------------------------------------------------------------- an exact place that records another UID


def _record_uid(landmarks: Path, uid: str | None) -> None:
    """Make a landmark file record another SOP Instance UID (or none)."""
    data = json.loads(landmarks.read_text())
    if uid is None:
        data["image"].pop("sop_instance_uid", None)
    else:
        data["image"]["sop_instance_uid"] = uid
    landmarks.write_text(json.dumps(data))


def test_swapped_landmark_files_pair_by_the_uid_they_record(tmp_path):
    """x.json beside x.dcm holds y.dcm's points and the other way round: each film gets its own points."""
    write_study(tmp_path / "a", "x.dcm", uid="1.2.3.4.1", landmarks=tmp_path / "b" / "y.json")
    write_study(tmp_path / "b", "y.dcm", uid="1.2.3.4.2", seed=1, landmarks=tmp_path / "a" / "x.json")
    jobs, rows = _by_image(discover(tmp_path))
    assert {k: j.landmarks for k, j in jobs.items()} == {"a/x.dcm": "b/y.json", "b/y.dcm": "a/x.json"}
    assert rows == {}


def test_swapped_files_under_a_landmarks_folder_pair_by_name_and_uid(tmp_path):
    """The same relative path under --landmarks that records another UID falls through to rule 2 by name."""
    root, lm = tmp_path / "root", tmp_path / "lm"
    write_study(root / "p1", "a.dcm", uid="1.2.3.4.1", landmarks=lm / "p9" / "a.json")
    write_study(root / "p9", "a.dcm", uid="1.2.3.4.9", seed=1, landmarks=lm / "p1" / "a.json")
    jobs, rows = _by_image(discover(root, landmarks_dir=lm))
    shown = lm.as_posix()
    assert {k: j.landmarks for k, j in jobs.items()} == {
        "p1/a.dcm": f"{shown}/p9/a.json",
        "p9/a.dcm": f"{shown}/p1/a.json",
    }
    assert rows == {}


def test_an_exact_file_of_another_film_is_an_error_naming_it_and_both_uids(tmp_path):
    _, lm = write_study(tmp_path, "x.dcm", uid="1.2.3.4.1")
    _record_uid(lm, "1.2.3.4.9")  # a film that is not in the archive
    write_study(tmp_path, "other.dcm", uid="1.2.3.4.5", seed=1)
    _, lm = write_study(tmp_path, "z.dcm", uid="1.2.3.4.6", seed=2)
    _record_uid(lm, "1.2.3.4.5")  # other.dcm's UID: a copy of its file under z's name
    jobs, rows = _by_image(discover(tmp_path))
    assert set(jobs) == {"other.dcm"}
    assert set(rows) == {"x.dcm", "z.dcm"}  # x.json and z.json are named in those rows, not listed again
    assert (rows["x.dcm"].status, rows["x.dcm"].landmarks) == (RowStatus.ERROR, "x.json")
    assert rows["x.dcm"].reason == (
        "landmark file 'x.json' at this image's path was placed on another film (it records SOP Instance "
        "UID 1.2.3.4.9; this image's is 1.2.3.4.1), and no other landmark file was found for it; put this "
        "film's landmarks there, or correct image.sop_instance_uid in the file"
    )
    assert "(it records SOP Instance UID 1.2.3.4.5, that of 'other.dcm'; this image's is 1.2.3.4.6)" in (
        rows["z.dcm"].reason
    )
    assert "\n" not in rows["z.dcm"].reason
    # the same when --landmarks is the archive itself: the file is named once, in its column too
    jobs, again = _by_image(discover(tmp_path, landmarks_dir=tmp_path))
    assert set(jobs) == {"other.dcm"} and again == rows


def test_a_uid_that_cannot_be_checked_does_not_refuse_the_exact_file(tmp_path):
    """A picture has no UID, an unreadable DICOM none that can be read: they keep their exact file."""
    _, lm = write_study(tmp_path, "pic.png", png=True)
    _record_uid(lm, "1.2.3.4.9")
    write_study(tmp_path, "bad.dcm", uid="1.2.3.4.1")
    (tmp_path / "bad.dcm").write_bytes(b"truncated")  # measuring will say why
    jobs, rows = _by_image(discover(tmp_path))
    assert {k: j.landmarks for k, j in jobs.items()} == {"pic.png": "pic.json", "bad.dcm": "bad.json"}
    assert rows == {}


def test_a_file_refused_by_one_duplicate_stem_goes_to_the_other(tmp_path):
    """x.json records a UID that x.dcm does not have: it is x.png's alone, and x.dcm's row says so."""
    _, lm = write_study(tmp_path, "x.dcm", uid="1.2.3.4.1", declare_path=False)
    _record_uid(lm, "1.2.3.4.9")
    write_study(tmp_path, "x.png", png=True, landmarks=None)
    jobs, rows = _by_image(discover(tmp_path))
    assert jobs["x.png"].landmarks == "x.json"
    assert (rows["x.dcm"].status, rows["x.dcm"].landmarks) == (RowStatus.ERROR, "")
    assert "(it records SOP Instance UID 1.2.3.4.9, measured with 'x.png'; this image's is 1.2.3.4.1)" in (
        rows["x.dcm"].reason
    )


def test_an_image_uid_is_read_once_and_only_when_a_file_records_one(tmp_path, monkeypatch):
    from spinecheck.alignment.batch import archive

    reads: list[str] = []
    real = archive.read_sop_instance_uid

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(archive, "read_sop_instance_uid", counting)
    for name in ("a.dcm", "b.dcm"):
        _, lm = write_study(tmp_path, name)
        _record_uid(lm, None)
    assert [j.image for j in discover(tmp_path).jobs] == ["a.dcm", "b.dcm"]
    assert reads == []  # nothing to check: no header read at discovery
    _, lm = write_study(tmp_path, "c.dcm", uid="1.2.3.4.3")
    shutil.copy(lm, tmp_path / "refined.json")  # an orphan with c's UID: the paired films' UIDs are looked up
    jobs, rows = _by_image(discover(tmp_path))
    assert set(jobs) == {"a.dcm", "b.dcm", "c.dcm"} and "c.dcm" in rows["refined.json"].reason
    assert sorted(reads) == ["a.dcm", "b.dcm", "c.dcm"]  # c once, though checked and looked up
