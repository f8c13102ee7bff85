"""Joinable batch tables and DICOM results from a batch (issue 16, points 4 and 1).

The film's identifiers (``sop_instance_uid``, ``study_instance_uid``, ``study_date``,
``study_date_source``, ``sex``) on every row; the patient's (``patient_id``,
``patient_name``, or the keyed ``patient_pseudonym``) only on request; ``batch --dicom``.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import hmac
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest
from batch_factory import film
from spinecheck.alignment.batch.personal import (
    MIN_KEY_BYTES,
    PSEUDONYM_KEY_ENV,
    PseudonymKeyError,
    pseudonym,
    read_pseudonym_key,
)
from spinecheck.alignment.batch.runner import BatchError, BatchOptions, batch_header, run_batch
from spinecheck.cli import main
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.points.film import film_date
from spinecheck.landmarks.points.model import ImageRef, PatientInfo
from spinecheck.landmarks.synthetic.films import write_dicom, write_png

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
PATIENT_ID = "PID-73519"
PATIENT_NAME = "Doe^Jane"
BIRTH = "19570312"
IDENTIFIERS = ("sop_instance_uid", "study_instance_uid", "study_date", "study_date_source", "sex")
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
SC_CLASSES = ("1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.4")  # SC, multi-frame true colour SC


def _read(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return {r["image"] or r["landmarks"]: r for r in csv.DictReader(f)}


def _study(folder: Path, name: str, *, view="lateral", seed=0, png=False, stated=None, **dicom) -> Path:
    """A film and its landmark file ``<stem>.json``; DICOM attributes from *dicom*."""
    folder.mkdir(parents=True, exist_ok=True)
    f = film(view, seed)
    image = folder / name
    uid = None
    if png:
        write_png(f, image)
    else:
        write_dicom(f, image, extra=dicom)
        uid = pydicom.dcmread(image, stop_before_pixels=True).SOPInstanceUID
    rows, cols = f.shape
    ref = ImageRef(name, uid, rows, cols, stated)
    write_landmarks(
        f.landmarks.replace(image=ref, patient=PatientInfo(), source=None), folder / f"{image.stem}.json"
    )
    return image


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Two DICOM films of one patient (one without Study Date), a PNG dated by its landmark file, a bad study."""
    root = tmp_path_factory.mktemp("ids")
    _study(
        root / "a",
        "lat.dcm",
        PatientID=PATIENT_ID,
        PatientName=PATIENT_NAME,
        PatientBirthDate=BIRTH,
        PatientSex="M",
        StudyDate="20230405",
    )
    _study(
        root / "a",
        "ap.dcm",
        view="ap",
        PatientID=PATIENT_ID,
        PatientName=PATIENT_NAME,
        PatientBirthDate=BIRTH,
        StudyDate="",
        AcquisitionDate="20230406",
    )
    _study(root / "b", "pic.png", png=True, stated=datetime.date(2022, 1, 2))
    bad = _study(root / "b", "other.dcm", seed=1, PatientID="PID-2", StudyDate="20200101")
    text = (
        bad.with_suffix(".json").read_text().replace('"points": {', '"points": {"T99.sup.ant": [1, 2], ', 1)
    )
    bad.with_suffix(".json").write_text(text)  # an unknown point name: an error row
    return root


def _batch(root: Path, out: Path, *args: str, env_key: bytes | None = None, monkeypatch=None) -> int:
    return main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet", *args])


@pytest.fixture(scope="module")
def plain(archive, tmp_path_factory) -> dict[str, dict[str, str]]:
    out = tmp_path_factory.mktemp("plain") / "t.csv"
    assert _batch(archive, out) == 0
    return _read(out) | {"__path__": {"csv": str(out)}}


def test_the_film_identifiers_equal_the_headers(archive, plain):
    for name in ("a/lat.dcm", "a/ap.dcm"):
        ds = pydicom.dcmread(archive / name, stop_before_pixels=True)
        row = plain[name]
        assert row["status"] == "ok"
        assert row["sop_instance_uid"] == ds.SOPInstanceUID
        assert row["study_instance_uid"] == ds.StudyInstanceUID
    assert (plain["a/lat.dcm"]["study_date"], plain["a/lat.dcm"]["study_date_source"]) == (
        "2023-04-05",
        "DICOM Study Date",
    )
    # no Study Date: the Acquisition Date, as spinecheck compare dates a film
    assert (plain["a/ap.dcm"]["study_date"], plain["a/ap.dcm"]["study_date_source"]) == (
        "2023-04-06",
        "DICOM Acquisition Date",
    )
    assert plain["a/lat.dcm"]["sex"] == "M"
    assert plain["a/lat.dcm"]["age_years"] != ""


def test_a_picture_has_only_what_its_landmark_file_says(plain):
    row = plain["b/pic.png"]
    assert row["status"] == "ok"
    assert (row["sop_instance_uid"], row["study_instance_uid"], row["sex"]) == ("", "", "")
    assert (row["study_date"], row["study_date_source"]) == ("2022-01-02", "landmark file image.study_date")


def test_an_error_row_keeps_the_identifiers_of_its_film(archive, plain):
    row = plain["b/other.dcm"]
    assert row["status"] == "error" and "T99.sup.ant" in row["error"]
    ds = pydicom.dcmread(archive / "b/other.dcm", stop_before_pixels=True)
    assert (row["sop_instance_uid"], row["study_instance_uid"], row["study_date"]) == (
        ds.SOPInstanceUID,
        ds.StudyInstanceUID,
        "2020-01-01",
    )
    assert row["PI_deg"] == ""


def test_personal_data_are_not_written_unless_asked(plain):
    data = Path(plain["__path__"]["csv"]).read_bytes()
    parquet = Path(plain["__path__"]["csv"]).with_suffix(".parquet")
    for secret in (PATIENT_ID, "PID-2", "Doe", BIRTH, "1957-03-12"):
        assert secret.encode() not in data
        assert secret.encode() not in parquet.read_bytes()
    header = next(csv.reader(data.decode().splitlines()))
    assert not {"patient_id", "patient_name", "patient_pseudonym", "birth_date"} & set(header)


def test_patient_identifiers_on_request_and_never_the_birth_date(archive, tmp_path):
    out = tmp_path / "t.csv"
    assert _batch(archive, out, "--patient-identifiers") == 0
    rows = _read(out)
    assert (rows["a/lat.dcm"]["patient_id"], rows["a/lat.dcm"]["patient_name"]) == (PATIENT_ID, PATIENT_NAME)
    assert rows["b/other.dcm"]["patient_id"] == "PID-2"  # the error row too
    assert rows["b/pic.png"]["patient_id"] == ""
    table = pq.read_table(out.with_suffix(".parquet")).to_pydict()
    assert PATIENT_ID in table["patient_id"]
    for text in (out.read_text(), str(table)):
        assert BIRTH not in text and "1957-03-12" not in text


def _expected(patient_id: str, key: bytes) -> str:
    return hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()[:16]


def test_pseudonyms_are_keyed_stable_and_hide_the_id(archive, tmp_path, monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY.decode())
    first, again, other = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "3.csv"
    assert _batch(archive, first, "--pseudonymise") == 0
    assert _batch(archive, again, "--pseudonymise") == 0
    key_file = tmp_path / "key.txt"
    key_file.write_bytes(OTHER_KEY + b"\n")  # a file wins over the environment; its line end is dropped
    assert _batch(archive, other, "--pseudonymise", "--pseudonym-key", str(key_file)) == 0
    a, b, c = _read(first), _read(again), _read(other)
    assert a["a/lat.dcm"]["patient_pseudonym"] == _expected(PATIENT_ID, KEY)
    assert (
        a["a/lat.dcm"]["patient_pseudonym"] == a["a/ap.dcm"]["patient_pseudonym"]
    )  # one patient, one pseudonym
    assert a["b/other.dcm"]["patient_pseudonym"] == _expected("PID-2", KEY)
    assert a["b/pic.png"]["patient_pseudonym"] == ""  # no Patient ID, no pseudonym
    assert [r["patient_pseudonym"] for r in a.values()] == [r["patient_pseudonym"] for r in b.values()]
    assert (
        c["a/lat.dcm"]["patient_pseudonym"]
        == _expected(PATIENT_ID, OTHER_KEY)
        != a["a/lat.dcm"]["patient_pseudonym"]
    )
    for path in (first, first.with_suffix(".parquet"), other):
        data = path.read_bytes()
        assert PATIENT_ID.encode() not in data and b"Doe" not in data and KEY not in data


def test_pseudonym_known_answer_and_spaces():
    assert pseudonym("PID-73519", KEY) == _expected("PID-73519", KEY)
    assert pseudonym("  PID-73519 ", KEY) == pseudonym("PID-73519", KEY)
    assert pseudonym("", KEY) == pseudonym(None, KEY) == ""


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(["--pseudonymise"], None, "needs a secret key: give --pseudonym-key FILE", id="no-key"),
        pytest.param(["--pseudonymise"], "short", "has 5 bytes; at least 16", id="short-key"),
        pytest.param(
            ["--pseudonymise", "--patient-identifiers"], KEY.decode(), "choose one", id="both-options"
        ),
        pytest.param(["--pseudonym-key", "k.txt"], None, "--pseudonym-key FILE: is the key", id="key-alone"),
        pytest.param(
            ["--pseudonymise", "--pseudonym-key", "/no/such/key"], None, "cannot be read", id="no-file"
        ),
    ],
)
def test_refusals(archive, tmp_path, monkeypatch, capsys, args, env, message):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    if env is not None:
        monkeypatch.setenv(PSEUDONYM_KEY_ENV, env)
    assert _batch(archive, tmp_path / "t.csv", *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.csv").exists()


def test_key_length_is_checked_at_the_boundary():
    assert read_pseudonym_key(environ={PSEUDONYM_KEY_ENV: "x" * MIN_KEY_BYTES}) == b"x" * MIN_KEY_BYTES
    with pytest.raises(PseudonymKeyError, match="15 bytes"):
        read_pseudonym_key(environ={PSEUDONYM_KEY_ENV: "x" * (MIN_KEY_BYTES - 1)})
    with pytest.raises(BatchError, match="choose one"):
        BatchOptions(patient_identifiers=True, pseudonym_key=KEY)
    with pytest.raises(BatchError, match="at least 16 bytes"):
        BatchOptions(pseudonym_key=b"x" * (MIN_KEY_BYTES - 1))
    assert "kkkk" not in repr(BatchOptions(pseudonym_key=KEY))


def test_resume_refuses_another_key_and_an_older_table(archive, tmp_path, capsys):
    out = tmp_path / "t.csv"
    run_batch(archive, out, jobs=1, options=BatchOptions(pseudonym_key=KEY))
    with pytest.raises(BatchError, match="another pseudonym key"):
        run_batch(archive, out, jobs=1, resume=True, options=BatchOptions(pseudonym_key=OTHER_KEY))
    before = out.read_text()
    summary = run_batch(archive, out, jobs=1, resume=True, options=BatchOptions(pseudonym_key=KEY))
    assert summary.measured == 0 and out.read_text() == before
    # a table written before the identifier columns existed: the message for changed columns
    old = tmp_path / "old.csv"
    run_batch(archive, old, jobs=1)
    keep = [i for i, c in enumerate(batch_header()) if c not in IDENTIFIERS]
    with open(old, newline="") as f:
        records = [[r[i] for i in keep] for r in csv.reader(f)]
    with open(old, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(records)
    assert main(["batch", str(archive), "-o", str(old), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "5 columns missing (e.g. sex)" in err and "--overwrite" in err


def test_measure_csv_has_the_identifiers_with_and_without_the_film(archive, plain, capsys):
    lat = archive / "a" / "lat.dcm"
    assert main(["measure", str(lat.with_suffix(".json")), "--image", str(lat), "--format", "csv"]) == 0
    row = next(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert {k: row[k] for k in IDENTIFIERS} == {k: plain["a/lat.dcm"][k] for k in IDENTIFIERS}
    assert main(["measure", str(lat.with_suffix(".json")), "--format", "csv"]) == 0
    row = next(csv.DictReader(capsys.readouterr().out.splitlines()))
    # without the film: the UID its landmark file records, nothing the header alone knows
    assert row["sop_instance_uid"] == plain["a/lat.dcm"]["sop_instance_uid"]
    assert (row["study_instance_uid"], row["study_date"]) == ("", "")


def test_film_date_is_one_rule():
    d = datetime.date
    assert film_date(None) == (None, None, None)
    assert film_date(d(2024, 1, 1), d(2024, 1, 1)).note is None
    assert film_date(d(2024, 1, 1), None, d(2024, 2, 1)).source == "landmark file image.study_date"


# ----------------------------------------------------------------------------- batch --dicom


@pytest.fixture(scope="module")
def exported(archive, tmp_path_factory) -> tuple[Path, Path, Path]:
    pytest.importorskip("highdicom")
    root = tmp_path_factory.mktemp("dicomrun")
    out, folder = root / "t.csv", root / "dicom"
    assert _batch(archive, out, "--dicom", str(folder)) == 0
    return archive, out, folder


def test_batch_dicom_writes_sr_and_capture_in_each_films_study(exported):
    archive, out, folder = exported
    rows = _read(out)
    for name in ("a/lat.dcm", "a/ap.dcm"):
        row = rows[name]
        assert row["dicom_export"] == "written", row["dicom_export"]
        assert (row["dicom_sr"], row["dicom_sc"]) == (f"{name}-sr.dcm", f"{name}-sc.dcm")
        film_ds = pydicom.dcmread(archive / name, stop_before_pixels=True)
        sr = pydicom.dcmread(folder / row["dicom_sr"])
        sc = pydicom.dcmread(folder / row["dicom_sc"])
        assert sr.SOPClassUID == SR_CLASS and sc.SOPClassUID in SC_CLASSES
        assert sr.StudyInstanceUID == sc.StudyInstanceUID == film_ds.StudyInstanceUID
        assert sr.PatientID == film_ds.PatientID
        assert row["study_instance_uid"] == film_ds.StudyInstanceUID
    assert rows["b/pic.png"]["dicom_export"].startswith("not written: a PNG film has no DICOM study")
    assert rows["b/pic.png"]["dicom_sr"] == ""
    assert rows["b/other.dcm"]["dicom_export"] == ""  # an error row: its error says why
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "a/ap.dcm-sc.dcm",
        "a/ap.dcm-sr.dcm",
        "a/lat.dcm-sc.dcm",
        "a/lat.dcm-sr.dcm",
    ]


def test_batch_dicom_resumes_without_duplicates_or_losses(exported, tmp_path):
    archive, out, folder = exported
    table, results = tmp_path / "t.csv", tmp_path / "dicom"
    lines = out.read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith("a/ap.dcm,")]  # killed before the AP study's row
    table.write_text("".join(kept))
    results.mkdir()
    (results / "a").mkdir()
    for name in ("lat.dcm-sr.dcm", "lat.dcm-sc.dcm"):
        (results / "a" / name).write_bytes((folder / "a" / name).read_bytes())
    before = {p: p.read_bytes() for p in results.rglob("*.dcm")}
    assert _batch(archive, table, "--dicom", str(results), "--resume") == 0
    rows = _read(table)
    assert rows["a/ap.dcm"]["dicom_export"] == "written" and len(rows) == len(_read(out))
    assert all(p.read_bytes() == data for p, data in before.items())  # done studies keep their files
    assert sorted(p.name for p in results.rglob("*.dcm")) == sorted(p.name for p in folder.rglob("*.dcm"))
    # the results folder is never taken for part of the archive
    assert not any("-sr.dcm" in k for k in rows)


def test_batch_dicom_records_a_failed_export_in_the_row(tmp_path):
    pytest.importorskip("highdicom")
    root = tmp_path / "arch"
    _study(root, "nostudy.dcm", StudyInstanceUID="")
    out = tmp_path / "t.csv"
    assert _batch(root, out, "--dicom", str(tmp_path / "dicom")) == 0
    row = _read(out)["nostudy.dcm"]
    assert row["status"] == "ok" and row["PI_deg"] != ""
    assert row["dicom_export"].startswith("not written: ") and "Study Instance UID" in row["dicom_export"]
    assert row["study_instance_uid"] == ""


def test_batch_dicom_refuses_a_full_folder_for_a_new_table(archive, tmp_path, capsys):
    pytest.importorskip("highdicom")
    folder = tmp_path / "dicom"
    folder.mkdir()
    (folder / "x").write_text("x")
    assert _batch(archive, tmp_path / "t.csv", "--dicom", str(folder)) == 2
    assert "is not empty" in capsys.readouterr().err
