"""The PACS, for real (issue 16, 2): find, fetch, measure and store against a real Orthanc archive.

One Orthanc per session (tests/orthanc_server.py), on loopback, with a test user; the tests skip
with the reason when Orthanc, its DICOMweb plugin or pynetdicom is not installed (``.ci/run``
installs them). DICOMweb and DIMSE are each tested both ways; the error cases (a closed port, wrong
password, wrong AE, unknown UID, a transfer cut short, a partial store) are each one line, and
leave nothing half-written or half-sent.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pydicom
import pytest
from orthanc_server import (
    ARCHIVE_AE,
    PASSWORD,
    USER,
    dicomweb_plugin,
    free_port,
    orthanc_binary,
    start_orthanc,
)
from pydicom.uid import generate_uid
from spinecheck.alignment.export import codes
from spinecheck.alignment.pacs import StudyQuery, client_for, server_from
from spinecheck.alignment.pacs.server import PacsError
from spinecheck.cli import main
from spinecheck.landmarks.io import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom

pytest.importorskip("pynetdicom")
pytest.importorskip("highdicom")
if not orthanc_binary() or not dicomweb_plugin():
    pytest.skip(
        "Orthanc and its DICOMweb plugin are not installed (apt-get install orthanc orthanc-dicomweb)",
        allow_module_level=True,
    )

CREDENTIALS = {"SPINECHECK_PACS_USER": USER, "SPINECHECK_PACS_PASSWORD": PASSWORD}
PATIENT = {"PatientID": "SPINE-001", "PatientName": "DOE^JANE", "BodyPartExamined": "SPINE"}
OTHER = {"PatientID": "OTHER-002", "PatientName": "ROE^RICHARD", "BodyPartExamined": "SPINE"}


# ----------------------------------------------------------------------------- the archive


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"), free_port())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def films(orthanc, tmp_path_factory) -> dict[str, dict]:
    """Two films of one patient (DX lateral, CR AP in JPEG 2000) and one of another, uploaded by REST."""
    folder = tmp_path_factory.mktemp("films")
    made = {
        "lateral": (synthetic_lateral(mm_per_px=0.5), dict(extra=PATIENT)),
        "ap": (
            synthetic_ap(mm_per_px=0.5),
            dict(extra=PATIENT, modality="CR", transfer_syntax="jpeg2000 lossless"),
        ),
        "other": (synthetic_lateral(mm_per_px=0.5), dict(extra=OTHER)),
    }
    out = {}
    for name, (film, write) in made.items():
        uids = {k: generate_uid() for k in ("StudyInstanceUID", "SeriesInstanceUID")}
        write = {**write, "extra": {**write["extra"], **uids}, "sop_instance_uid": generate_uid()}
        dcm = write_dicom(film, folder / f"{name}.dcm", patient_age=67, **write)
        points = folder / f"{name}.landmarks.json"
        write_landmarks(film.landmarks, points)
        orthanc.upload(dcm.read_bytes())
        ds = pydicom.dcmread(dcm)
        out[name] = {"dcm": dcm, "landmarks": points, "ds": ds, "uids": _uids(ds)}
    return out


def _uids(ds) -> tuple[str, str, str]:
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


@pytest.fixture(params=["dicomweb", "dimse"])
def archive(request, orthanc, films):
    return client_for(_server(request.param, orthanc))


def _server(kind, orthanc, **changes):
    if kind == "dicomweb":
        return server_from(orthanc.dicomweb, env={**CREDENTIALS, **changes.get("env", {})})
    return server_from(
        dimse=f"127.0.0.1:{changes.get('port', orthanc.dicom_port)}",
        called_ae=changes.get("called_ae", ARCHIVE_AE),
        env={},
    )


def _cli(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _pixels_and_uids(path) -> tuple[bytes, tuple[str, str, str], str]:
    ds = pydicom.dcmread(path)
    return ds.PixelData, _uids(ds), str(ds.file_meta.TransferSyntaxUID)


# ----------------------------------------------------------------------------- find


def test_find_a_patients_films_by_qido_and_by_c_find(archive, films):
    rows = archive.find(StudyQuery(patient_id="SPINE-001"))
    assert {r.sop_uid for r in rows} == {films["lateral"]["uids"][2], films["ap"]["uids"][2]}
    by_sop = {r.sop_uid: r for r in rows}
    lateral = by_sop[films["lateral"]["uids"][2]]
    assert (lateral.study_uid, lateral.series_uid) == films["lateral"]["uids"][:2]
    assert (lateral.patient_id, lateral.modality, lateral.body_part) == ("SPINE-001", "DX", "SPINE")
    assert lateral.view_position == "LATERAL"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(dict(patient_id="SPINE-001", modalities=("cr",)), {"ap"}, id="modality-cr"),
        pytest.param(
            dict(patient_id="SPINE-001", modalities=("CR", "DX")), {"ap", "lateral"}, id="modality-both"
        ),
        pytest.param(dict(modalities=("CT",)), set(), id="modality-none"),
        pytest.param(dict(body_part="spine"), {"ap", "lateral", "other"}, id="body-part"),
        pytest.param(dict(body_part="CHEST"), set(), id="body-part-other"),
        pytest.param(dict(patient_id="OTHER-002"), {"other"}, id="other-patient"),
        # the synthetic films are of 2024-01-01: both ends are included
        pytest.param(
            dict(date_from="2024-01-01", date_to="2024-01-01"), {"ap", "lateral", "other"}, id="day-in"
        ),
        pytest.param(dict(date_from="2024-01-02"), set(), id="day-after"),
        pytest.param(dict(date_to="2023-12-31"), set(), id="day-before"),
    ],
)
def test_find_filters_the_same_way_on_both_protocols(archive, films, query, expected):
    rows = archive.find(StudyQuery(**query))
    assert {r.sop_uid for r in rows} == {films[n]["uids"][2] for n in expected}


def test_find_by_study_and_series_level(archive, films):
    studies = archive.find(StudyQuery(patient_id="SPINE-001", level="study"))
    assert {s.study_uid for s in studies} == {films["lateral"]["uids"][0], films["ap"]["uids"][0]}
    assert all(s.series_uid == "" and s.sop_uid == "" for s in studies)
    series = archive.find(StudyQuery(study_uid=films["ap"]["uids"][0], level="series"))
    assert [(s.series_uid, s.modality) for s in series] == [(films["ap"]["uids"][1], "CR")]


def test_find_on_the_command_line_lists_one_film_per_line_and_json(orthanc, films, monkeypatch):
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    code, out, err = _cli(
        ["pacs", "find", "--url", orthanc.dicomweb, "--patient-id", "SPINE-001", "--modality", "CR"]
    )
    assert code == 0, err
    [line] = out.splitlines()
    assert line.split("\t")[:6] == [*films["ap"]["uids"], "SPINE-001", "20240101", "CR"]
    assert "1 films found" in err
    code, out, _ = _cli(
        [
            "pacs",
            "find",
            "--dimse",
            f"127.0.0.1:{orthanc.dicom_port}",
            "--called-ae",
            ARCHIVE_AE,
            "--format",
            "json",
        ]
    )
    assert code == 0
    assert {r["sop_uid"] for r in json.loads(out)} == {f["uids"][2] for f in films.values()}


# ----------------------------------------------------------------------------- fetch


def test_wado_fetches_the_film_byte_for_byte(orthanc, films, tmp_path):
    web = client_for(_server("dicomweb", orthanc))
    for name in ("lateral", "ap"):
        [path] = web.fetch(tmp_path, *films[name]["uids"])
        assert path.name == f"{films[name]['uids'][2]}.dcm"
        assert path.read_bytes() == films[name]["dcm"].read_bytes()  # as stored, compressed or not


def test_c_get_fetches_the_film_with_its_pixels_and_uids(orthanc, films, tmp_path):
    dimse = client_for(_server("dimse", orthanc))
    for name in ("lateral", "ap"):
        [path] = dimse.fetch(tmp_path, *films[name]["uids"])
        assert _pixels_and_uids(path) == _pixels_and_uids(films[name]["dcm"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{films[n]['uids'][2]}.dcm" for n in ("lateral", "ap")
    )


def test_a_whole_study_is_fetched(archive, films, tmp_path):
    paths = archive.fetch(tmp_path, films["other"]["uids"][0])
    assert [p.name for p in paths] == [f"{films['other']['uids'][2]}.dcm"]


def test_a_real_film_goes_through_the_archive(orthanc, shared_data, tmp_path):
    real = shared_data / "dicom" / "RG2_JPLL"
    orthanc.upload(real.read_bytes())
    ds = pydicom.dcmread(real)
    rows = client_for(_server("dicomweb", orthanc)).find(StudyQuery(study_uid=str(ds.StudyInstanceUID)))
    assert [r.sop_uid for r in rows] == [str(ds.SOPInstanceUID)]
    (tmp_path / "web").mkdir()
    [web] = client_for(_server("dicomweb", orthanc)).fetch(tmp_path / "web", *_uids(ds))
    assert web.read_bytes() == real.read_bytes()
    (tmp_path / "dimse").mkdir()
    [dimse] = client_for(_server("dimse", orthanc)).fetch(tmp_path / "dimse", *_uids(ds))
    got = pydicom.dcmread(dimse)
    assert _uids(got) == _uids(ds)
    assert (got.pixel_array == ds.pixel_array).all()


# ----------------------------------------------------------------------------- the round trip


def _sr_values(sr) -> dict[str, float]:
    """Every NUM of the SR by its concept code value (parameter id), as its Floating Point Value."""
    out = {}

    def walk(item, group):
        for c in item.get("ContentSequence", []):
            if c.ValueType == "NUM" and "MeasuredValueSequence" in c and group == "spinal alignment":
                code = str(c.ConceptNameCodeSequence[0].CodeValue)
                # the largest Cobb angle is SNOMED's Cobb angle with the derivation Maximum (see export)
                out[code if code != codes.COBB_ANGLE.value else "Cobb_max"] = float(
                    c.MeasuredValueSequence[0].FloatingPointValue
                )
            tracking = [str(t.TextValue) for t in c.get("ContentSequence", []) if t.ValueType == "TEXT"]
            walk(c, tracking[0] if c.ValueType == "CONTAINER" and tracking else group)

    walk(sr, "")
    return out


@pytest.mark.parametrize("kind", ["dicomweb", "dimse"])
def test_round_trip_fetch_measure_store_and_read_back(orthanc, films, tmp_path, monkeypatch, kind):
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    where = (
        ["--url", orthanc.dicomweb]
        if kind == "dicomweb"
        else ["--dimse", f"127.0.0.1:{orthanc.dicom_port}", "--called-ae", ARCHIVE_AE]
    )
    name = "lateral" if kind == "dicomweb" else "ap"
    study, series, sop = films[name]["uids"]
    out = tmp_path / "out"
    argv = [
        "pacs",
        "measure",
        study,
        series,
        sop,
        "--landmarks",
        str(films[name]["landmarks"]),
        "-o",
        str(out),
    ]
    code, text, err = _cli([*argv, *where, "--store"])
    assert code == 0, err
    assert "stored" in err and f"{sop}-sr.dcm" in err
    code, report, _ = _cli(
        ["measure", str(films[name]["landmarks"]), "--image", str(films[name]["dcm"]), "--format", "json"]
    )
    report = json.loads(report)
    values = {pid: p["value"] for pid, p in report["parameters"].items() if p["value"] is not None}
    assert values and all(pid in text for pid in values)  # the printed report
    # read both back from the archive, by the other protocol than the one that stored them
    sent_sr, sent_sc = pydicom.dcmread(out / f"{sop}-sr.dcm"), pydicom.dcmread(out / f"{sop}-sc.dcm")
    back = client_for(_server("dimse" if kind == "dicomweb" else "dicomweb", orthanc))
    rows = back.find(StudyQuery(study_uid=study))
    assert {sent_sr.SOPInstanceUID, sent_sc.SOPInstanceUID, sop} <= {r.sop_uid for r in rows}
    got = tmp_path / "back"
    got.mkdir()
    [sr_path] = back.fetch(got, study, str(sent_sr.SeriesInstanceUID), str(sent_sr.SOPInstanceUID))
    [sc_path] = back.fetch(got, study, str(sent_sc.SeriesInstanceUID), str(sent_sc.SOPInstanceUID))
    sr = pydicom.dcmread(sr_path)
    assert _sr_values(sr) == values
    assert str(sr.StudyInstanceUID) == study and sr.PatientID == "SPINE-001"
    assert pydicom.dcmread(sc_path).PixelData == sent_sc.PixelData


def test_measure_refuses_existing_outputs_before_fetching(orthanc, films, tmp_path, monkeypatch):
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    study, series, sop = films["other"]["uids"]
    (tmp_path / f"{sop}-sr.dcm").write_bytes(b"mine")
    argv = ["pacs", "measure", study, series, sop, "--landmarks", str(films["other"]["landmarks"])]
    code, _, err = _cli([*argv, "-o", str(tmp_path), "--url", orthanc.dicomweb])
    assert code == 2 and "exists; --overwrite replaces it" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{sop}-sr.dcm"]


# ----------------------------------------------------------------------------- errors: one line each


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_a_closed_port_is_one_line(tmp_path):
    port = free_port()
    code, _, err = _cli(["pacs", "find", "--url", f"http://127.0.0.1:{port}/dicom-web"])
    assert code == 2 and "cannot reach the archive" in _one_error_line(err)
    code, _, err = _cli(["pacs", "find", "--dimse", f"127.0.0.1:{port}", "--called-ae", "X"])
    assert code == 2 and "cannot reach the archive" in _one_error_line(err)


def test_a_wrong_password_is_one_line_that_never_shows_it(orthanc, monkeypatch):
    monkeypatch.setenv("SPINECHECK_PACS_USER", USER)
    monkeypatch.setenv("SPINECHECK_PACS_PASSWORD", "not-the-password")
    code, _, err = _cli(["pacs", "find", "--url", orthanc.dicomweb])
    line = _one_error_line(err)
    assert code == 2 and "refused the credentials given (HTTP 401" in line and "not-the-password" not in line


def test_no_credentials_says_how_to_give_them(orthanc, monkeypatch):
    for k in ("SPINECHECK_PACS_USER", "SPINECHECK_PACS_PASSWORD", "SPINECHECK_PACS_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    code, _, err = _cli(["pacs", "find", "--url", orthanc.dicomweb])
    assert (
        code == 2 and "asks for credentials (HTTP 401" in _one_error_line(err) and "--credentials FILE" in err
    )


def test_a_credentials_file_only_its_owner_reads(orthanc, films, tmp_path, monkeypatch):
    for k in CREDENTIALS:
        monkeypatch.delenv(k, raising=False)
    file = tmp_path / "pacs.json"
    file.write_text(json.dumps({"user": USER, "password": PASSWORD}), encoding="utf-8")
    file.chmod(0o644)
    code, _, err = _cli(["pacs", "find", "--url", orthanc.dicomweb, "--credentials", str(file)])
    assert code == 2 and "others may read it (mode 644); make it private with 'chmod 600" in _one_error_line(
        err
    )
    assert PASSWORD not in err
    file.chmod(0o600)
    code, out, err = _cli(["pacs", "find", "--url", orthanc.dicomweb, "--credentials", str(file)])
    assert code == 0, err
    assert len(out.splitlines()) >= 3


def test_a_wrong_called_ae_is_a_refused_association(orthanc):
    code, _, err = _cli(
        ["pacs", "find", "--dimse", f"127.0.0.1:{orthanc.dicom_port}", "--called-ae", "NOT-IT"]
    )
    line = _one_error_line(err)
    # Orthanc refuses it and closes the connection: once, on a loaded machine, pynetdicom saw the close
    # before the refusal, an abort; either way the line says which AE titles to check
    opened = ("refused the association; ", "aborted the association as it opened; ")
    assert code == 2 and any(f"{how}check the called AE title 'NOT-IT'" in line for how in opened), line


@pytest.mark.parametrize(
    ("rejected", "aborted", "words"),
    [
        (True, False, "refused the association; check the called AE title 'ARCH'"),
        (False, True, "aborted the association as it opened; check the called AE title 'ARCH'"),
        (False, False, "cannot reach the archive; check the host, the port"),
    ],
)
def test_an_association_that_does_not_open_says_what_to_check(rejected, aborted, words):
    from types import SimpleNamespace

    from spinecheck.alignment.pacs import dimse

    server = server_from(dimse="archive.example:104", called_ae="ARCH", calling_ae="ME")
    message = str(dimse._refusal(server, SimpleNamespace(is_rejected=rejected, is_aborted=aborted)))
    assert message.startswith("DIMSE 'ARCH' at archive.example:104: ") and words in message
    assert ("calling AE 'ME' from this host" in message) == (rejected or aborted)


def test_a_calling_ae_the_archive_does_not_know_is_refused(orthanc, films, tmp_path):
    server = server_from(
        dimse=f"127.0.0.1:{orthanc.dicom_port}", called_ae=ARCHIVE_AE, calling_ae="STRANGER", env={}
    )
    with pytest.raises(PacsError, match="calling AE 'STRANGER'|failed with status"):
        client_for(server).find(StudyQuery())


@pytest.mark.parametrize("kind", ["dicomweb", "dimse"])
def test_an_unknown_uid_is_one_line_and_writes_nothing(orthanc, films, tmp_path, kind):
    study, series, _ = films["lateral"]["uids"]
    with pytest.raises(PacsError, match="holds no") as e:
        client_for(_server(kind, orthanc)).fetch(tmp_path, study, series, "1.2.3.4.5.6.7.8.9")
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- a transfer cut short, a partial store


class _Fake(BaseHTTPRequestHandler):
    """A DICOMweb server that misbehaves as the test says (class attributes set per test)."""

    body = b""
    content_type = ""
    declared = None  # a Content-Length longer than what is sent cuts the body off
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's name
        self._answer()

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer()

    def _answer(self):
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(self.declared or len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _multipart(data: bytes, close: bool = True) -> bytes:
    return (
        b"--B\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n--B" + (b"--\r\n" if close else b"")
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            lambda d: (_multipart(d), len(_multipart(d)) + 500), "cut off after", id="short-of-length"
        ),
        pytest.param(
            lambda d: (_multipart(d, close=False), None), "no closing boundary", id="no-closing-boundary"
        ),
        pytest.param(lambda d: (_multipart(d[: len(d) // 2]), None), "cut short", id="dicom-cut-in-the-part"),
    ],
)
def test_a_half_received_film_leaves_nothing(fake, films, tmp_path, answer, message):
    data = films["lateral"]["dcm"].read_bytes()
    _Fake.body, _Fake.declared = answer(data)
    _Fake.content_type, _Fake.status = 'multipart/related; type="application/dicom"; boundary=B', 200
    url = f"http://127.0.0.1:{fake.server_address[1]}/dicom-web"
    code, _, err = _cli(["pacs", "fetch", *films["lateral"]["uids"], "-o", str(tmp_path), "--url", url])
    assert code == 2 and message in _one_error_line(err)
    assert list(tmp_path.iterdir()) == []  # no file, no hidden staging folder


def test_the_wrong_instance_is_refused(fake, films, tmp_path):
    _Fake.body, _Fake.declared = _multipart(films["other"]["dcm"].read_bytes()), None
    _Fake.content_type, _Fake.status = 'multipart/related; type="application/dicom"; boundary=B', 200
    url = f"http://127.0.0.1:{fake.server_address[1]}/dicom-web"
    with pytest.raises(PacsError, match="the archive sent StudyInstanceUID"):
        client_for(server_from(url, env={})).fetch(tmp_path, *films["lateral"]["uids"])
    assert list(tmp_path.iterdir()) == []


def test_a_partial_store_names_the_failed_instance_and_the_stored_one(fake, films, tmp_path):
    sops = [films[n]["uids"][2] for n in ("lateral", "ap")]
    _Fake.body = json.dumps(
        {
            "00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [sops[0]]}}]},
            "00081198": {
                "vr": "SQ",
                "Value": [
                    {
                        "00081155": {"vr": "UI", "Value": [sops[1]]},
                        "00081197": {"vr": "US", "Value": [0xA700]},
                    }
                ],
            },
        }
    ).encode()
    _Fake.content_type, _Fake.status, _Fake.declared = "application/dicom+json", 202, None
    url = f"http://127.0.0.1:{fake.server_address[1]}/dicom-web"
    code, out, err = _cli(
        ["pacs", "store", str(films["lateral"]["dcm"]), str(films["ap"]["dcm"]), "--url", url]
    )
    line = _one_error_line(err)
    assert (
        code == 2
        and f"did not store 'ap.dcm' ({sops[1]}): out of resources (0xA700); stored: lateral.dcm" in line
    )
    assert out.splitlines()[0].startswith("stored\t") and out.splitlines()[1].startswith("FAILED\t")


@pytest.mark.parametrize("kind", ["dicomweb", "dimse"])
def test_a_bad_file_among_those_to_store_sends_none(orthanc, films, tmp_path, kind):
    extra = {**PATIENT, "StudyInstanceUID": generate_uid()}
    film = synthetic_lateral(mm_per_px=1.0)
    good = write_dicom(film, tmp_path / "good.dcm", extra=extra, sop_instance_uid=generate_uid())
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(films["ap"]["dcm"].read_bytes()[:-100])
    with pytest.raises(PacsError, match="file '.*cut.dcm': .*; nothing was sent"):
        client_for(_server(kind, orthanc)).store([good, cut])
    ds = pydicom.dcmread(good)
    rows = client_for(_server(kind, orthanc)).find(StudyQuery(study_uid=str(ds.StudyInstanceUID)))
    assert rows == []


@pytest.mark.parametrize("kind", ["dicomweb", "dimse"])
def test_store_reports_each_instance(orthanc, tmp_path, kind):
    extra = {**PATIENT, "PatientID": f"S-{kind}", "StudyInstanceUID": generate_uid()}
    film = synthetic_ap(mm_per_px=1.0)
    paths = [
        write_dicom(film, tmp_path / f"{n}.dcm", extra=extra, sop_instance_uid=generate_uid())
        for n in ("a", "b")
    ]
    report = client_for(_server(kind, orthanc)).store(paths)
    assert [(i.path, i.stored) for i in report.instances] == [(p, True) for p in paths]
    report.raise_for_failures()  # nothing to say
    assert len(client_for(_server(kind, orthanc)).find(StudyQuery(patient_id=f"S-{kind}"))) == 2


# ----------------------------------------------------------------------------- the address and the credentials


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "no archive given: --url (DICOMweb) or --dimse with --called-ae", id="none"),
        pytest.param(["--url", "http://a/b", "--dimse", "h:1"], "--url and --dimse: give one", id="both"),
        pytest.param(
            ["--url", "http://me:pw@host/dw"], "--url: holds a user or password", id="password-in-url"
        ),
        pytest.param(["--url", "ftp://host/x"], "--url: must be an http:// or https://", id="scheme"),
        pytest.param(["--dimse", "host"], "--dimse: must be HOST:PORT; got 'host'", id="no-port"),
        pytest.param(["--dimse", "host:0", "--called-ae", "A"], "--dimse: must be HOST:PORT", id="port-0"),
        pytest.param(["--dimse", "host:104"], "--called-ae: the archive's AE title is needed", id="no-ae"),
        pytest.param(
            ["--dimse", "h:104", "--called-ae", "A" * 17], "--called-ae: an AE title is 1 to 16", id="ae-17"
        ),
        pytest.param(
            ["--dimse", "h:104", "--called-ae", "A\\B"], "--called-ae: an AE title", id="ae-backslash"
        ),
        pytest.param(
            ["--url", "http://h/x", "--date-from", "2024-1-1"], "--date-from: must be YYYY-MM-DD", id="date"
        ),
        pytest.param(
            ["--url", "http://h/x", "--date-from", "2024-01-02", "--date-to", "2024-01-01"],
            "--date-from 2024-01-02 is after --date-to 2024-01-01",
            id="dates-reversed",
        ),
    ],
)
def test_bad_addresses_are_one_line_naming_the_flag(argv, message, monkeypatch):
    for k in ("SPINECHECK_PACS_URL", "SPINECHECK_PACS_DIMSE", "SPINECHECK_PACS_CALLED_AE"):
        monkeypatch.delenv(k, raising=False)
    code, _, err = _cli(["pacs", "find", *argv])
    assert code == 2 and message in _one_error_line(err)


def test_a_bad_uid_names_its_argument(tmp_path):
    code, _, err = _cli(["pacs", "fetch", "1.2.x", "-o", str(tmp_path), "--url", "http://127.0.0.1:1/dw"])
    assert code == 2 and "STUDY_UID: must be a DICOM UID" in _one_error_line(err)


def test_the_address_and_credentials_come_from_the_environment():
    env = {
        "SPINECHECK_PACS_DIMSE": "pacs:11112",
        "SPINECHECK_PACS_CALLED_AE": "ARCH",
        "SPINECHECK_PACS_CALLING_AE": "ME",
    }
    s = server_from(env=env)
    assert (s.host, s.port, s.called_ae, s.calling_ae) == ("pacs", 11112, "ARCH", "ME")
    s = server_from(env={"SPINECHECK_PACS_URL": "https://h/dw/", "SPINECHECK_PACS_TOKEN": "t0k3n-x"})
    assert s.url == "https://h/dw" and s.credentials.header() == "Bearer t0k3n-x"
    assert "t0k3n-x" not in repr(s)
    with pytest.raises(PacsError, match="must hold a user and a password, or a token alone"):
        server_from("https://h/dw", env={"SPINECHECK_PACS_USER": "only-me"})


@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"user": "u"}', id="no-password"),
        pytest.param('{"user": "u", "password": "p", "token": "t"}', id="both"),
        pytest.param('{"token": ""}', id="empty-token"),
        pytest.param("user=u", id="not-json"),
    ],
)
def test_a_credentials_file_of_the_wrong_shape_is_refused(tmp_path, content):
    file = tmp_path / "c.json"
    file.write_text(content, encoding="utf-8")
    os.chmod(file, 0o600)
    with pytest.raises(
        PacsError, match=r"credentials file '.*c.json': must hold a user and a password, or a token"
    ):
        server_from("https://h/dw", credentials=file, env={})


def test_a_missing_credentials_file_is_one_line(tmp_path):
    with pytest.raises(PacsError, match="credentials file '.*nope.json': cannot be read"):
        server_from("https://h/dw", credentials=tmp_path / "nope.json", env={})
