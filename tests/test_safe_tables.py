"""Safe tables and private data (issue 13, 4).

The findings: file names and ``image.path`` values beginning with ``=``, ``+``, ``-`` or ``@`` went
verbatim into CSV cells a researcher opens in a spreadsheet; a file symlink inside an archive that
points outside it was followed, and a non-image error row printed its first bytes in hex (a link to the
process environment printed the start of a secret variable); when Patient's Age disagreed with the
birth date, the birth date and study date went into the warnings, the batch table and the figure;
``--scheduler ""`` silently ran locally and there was no way to use TLS.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
from pathlib import Path

import pytest
from batch_factory import film, write_study
from hypothesis import given
from hypothesis import strategies as st
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError
from spinecheck.landmarks.io.csv_cells import (
    FORMULA_STARTS,
    csv_lines,
    csv_text,
    neutralise_cell,
    restore_cell,
)
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.io.wide_csv import landmark_table_to_csv, read_wide_csv
from spinecheck.landmarks.points.model import ImageRef, PatientInfo
from spinecheck.landmarks.synthetic.films import write_dicom


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def harmless(cell: str) -> bool:
    """A written cell no spreadsheet runs: not starting like a formula, or a number, or a grade (signs only)."""
    if not cell or cell[0] not in FORMULA_STARTS or set(cell) <= {"+", "-"}:
        return True
    float(cell)
    return True


def records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# ----------------------------------------------------------------------------- the OWASP rule


@pytest.mark.parametrize(
    "cell, written",
    [
        pytest.param("=1+2", "'=1+2", id="equals"),
        pytest.param("+cmd", "'+cmd", id="plus"),
        pytest.param("-x.png", "'-x.png", id="minus"),
        pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
        pytest.param("\t=1", "'\t=1", id="tab"),
        pytest.param("\r=1", "'\r=1", id="carriage-return"),
        pytest.param("\0=1", "'\0=1", id="nul-asvs"),
        pytest.param("-12.5", "-12.5", id="negative-number"),
        pytest.param("+3", "+3", id="signed-integer"),
        pytest.param("-1.5e-07", "-1.5e-07", id="exponent"),
        pytest.param("-.5", "-.5", id="no-leading-digit"),
        pytest.param("-12.5.png", "'-12.5.png", id="number-then-text"),
        pytest.param("-1+1", "'-1+1", id="arithmetic"),
        pytest.param("-", "-", id="lone-minus"),
        pytest.param("+", "+", id="grade-plus"),
        pytest.param("++", "++", id="grade-plus-plus"),
        pytest.param("+-x", "'+-x", id="signs-then-text"),
        pytest.param("-inf", "'-inf", id="not-a-decimal"),
        pytest.param("a=1", "a=1", id="later-equals"),
        pytest.param(" =1", " =1", id="leading-space"),
        pytest.param("'=1", "''=1", id="quote-then-formula"),
        pytest.param("'text", "'text", id="quote-then-text"),
        pytest.param("", "", id="empty"),
    ],
)
def test_neutralise_cell_follows_owasp_and_leaves_numbers(cell, written):
    assert neutralise_cell(cell) == written
    assert restore_cell(written) == cell


@given(st.text())
def test_every_text_survives_the_round_trip_and_no_written_cell_starts_a_formula(text):
    written = neutralise_cell(text)
    assert restore_cell(written) == text
    if written and written[0] in FORMULA_STARTS:
        assert set(written) <= {"+", "-"} or float(written) == float(written)  # a number or a grade
    (row,) = records(csv_text([[text]])) if text else [[""]]
    assert restore_cell(row[0]) == text


def _line(row):
    """One row as csv_text wrote it before it went through csv_lines: a writer and neutralise_cell per cell."""
    cells = [neutralise_cell("" if c is None else str(c)) for c in row]
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if any("\r" in c for c in cells) else csv.QUOTE_MINIMAL
    csv.writer(buf, lineterminator="\n", quoting=quoting).writerow(cells)
    return buf.getvalue()


CELLS = st.one_of(
    st.none(), st.text(), st.sampled_from(["", "'", "''=a", "-x", "-1.5", "++", "a\rb"]), st.floats()
)


@given(st.lists(st.lists(CELLS, max_size=6), max_size=5))
def test_csv_lines_are_the_rows_lines_each_cell_neutralised(rows):
    lines = csv_lines(rows)
    assert lines == [_line(row) for row in rows]
    assert csv_text(rows) == "".join(lines)


def test_csv_text_quotes_and_neutralises():
    text = csv_text([["image", "note"], ['=HYPERLINK("http://x/?"&A1,"c").png', "a,b"], [None, -0.5]])
    assert text == 'image,note\n"\'=HYPERLINK(""http://x/?""&A1,""c"").png","a,b"\n,-0.5\n'


# ----------------------------------------------------------------------------- every CSV spinecheck writes

HOSTILE = ("=cmd.dcm", "+sum.dcm", "-x.dcm", "@at.dcm")


@pytest.fixture
def hostile_archive(tmp_path):
    root = tmp_path / "archive"
    for k, name in enumerate(HOSTILE):
        write_study(root, name, seed=k)
    return root


def test_the_batch_table_neutralises_names_keeps_numbers_and_resumes(capsys, hostile_archive, tmp_path):
    pytest.importorskip("pandas")
    from spinecheck import read_batch_table

    table = tmp_path / "t.csv"
    assert main(["batch", str(hostile_archive), "-o", str(table), "--jobs", "1", "--quiet"]) == 0
    rows = records(table.read_text())
    header, body = rows[0], rows[1:]
    image, landmarks, sva = header.index("image"), header.index("landmarks"), header.index("SVA_mm")
    assert sorted(r[image] for r in body) == sorted("'" + n for n in HOSTILE)
    assert all(r[landmarks].startswith("'") for r in body)
    assert all(harmless(c) for r in body for c in r)  # no text cell starts a formula; numbers stay numbers
    assert all(r[sva] and math.isfinite(float(r[sva])) for r in body)  # measured, written as numbers
    # the Parquet copy and the reader hold the names as they are
    pq = pytest.importorskip("pyarrow.parquet")
    assert sorted(pq.read_table(table.with_suffix(".parquet")).column("image").to_pylist()) == sorted(HOSTILE)
    assert sorted(read_batch_table(table)["image"]) == sorted(HOSTILE)
    # a resumed table recognises every study as done (its key is the name, not the protected cell)
    before = table.read_bytes()
    code, _, err = run(capsys, "batch", hostile_archive, "-o", table, "--jobs", "1", "--resume")
    assert code == 0 and "this run: 0 studies measured" in err
    assert table.read_bytes() == before


def test_measure_csv_neutralises_its_paths(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = film("lateral")
    write_landmarks(
        f.landmarks.replace(image=ImageRef(path="@film.dcm"), patient=PatientInfo(), source=None),
        tmp_path / "=case.json",
    )
    code, out, _ = run(capsys, "measure", "=case.json", "--format", "csv", "--mm-per-px", "2", "2")
    assert code == 0
    header, row = records(out)
    assert row[header.index("landmarks")] == "'=case.json"
    assert row[header.index("image")] == "'@film.dcm"
    assert float(row[header.index("PI_deg")]) > 0


def test_the_wide_landmark_csv_protects_its_ids_and_reads_them_back(tmp_path):
    text = 'image,view,C7.centroid.x,C7.centroid.y\n"\'=a.dcm",lateral,1.5,-2\n-b.dcm,lateral,1,2\n'
    table = read_wide_csv(io.StringIO(text))
    assert table.ids == ("=a.dcm", "-b.dcm")
    written = landmark_table_to_csv(table)
    assert written.splitlines()[1:] == ["'=a.dcm,lateral,1.5,-2.0", "'-b.dcm,lateral,1.0,2.0"]
    assert read_wide_csv(io.StringIO(written)).ids == ("=a.dcm", "-b.dcm")


def test_the_series_and_instability_csvs_are_neutralised(capsys, tmp_path, monkeypatch):
    from test_instability import write_pair

    monkeypatch.chdir(tmp_path)
    p = write_pair(tmp_path, film("lateral"))
    (flex, flex_img), (ext, ext_img) = p["flexion"], p["extension"]
    flex.rename(tmp_path / "=flex.json")
    flex_img.rename(tmp_path / "@flex.dcm")
    code, out, err = run(capsys, "instability", "=flex.json", ext.name, "--format", "csv")
    assert code == 0, err
    header, *rows = records(out)
    assert {r[header.index("flexion_landmarks")] for r in rows} == {"'=flex.json"}
    numbers = [
        r[header.index("translation_change_px")] for r in rows if r[header.index("translation_change_px")]
    ]
    assert any(float(c) < 0 for c in numbers)  # a negative change stays a number, unquoted
    code, _, err = run(
        capsys,
        "compare",
        "@flex.dcm",
        "=flex.json",
        ext_img.name,
        ext.name,
        "-o",
        "c.pdf",
        "--table",
        "s.csv",
    )
    assert code == 0, err
    header, *rows = records((tmp_path / "s.csv").read_text())
    assert "'=flex.json" in {r[header.index("landmarks")] for r in rows}
    cells = [c for r in rows for c in r]
    assert all(harmless(c) for c in cells)


# ----------------------------------------------------------------------------- the archive


def test_links_out_of_the_archive_are_not_followed_and_no_row_shows_file_contents(capsys, tmp_path):
    root = tmp_path / "archive"
    write_study(root, "a.dcm")
    secret = tmp_path / "secret.env"
    secret.write_bytes(b"AWS_SECRET=hunter2hunter2\x00PATH=/bin")
    (root / "out.dcm").symlink_to(secret)  # a file link leaving the root
    (root / "out.json").symlink_to(secret)
    (root / "outdir").symlink_to(tmp_path, target_is_directory=True)  # a folder link
    (root / "sub").mkdir()
    inside = write_study(root / "sub", "b.dcm", seed=1)[0]
    (root / "link-b.dcm").symlink_to(inside)  # inside the root: followed
    write_study(root, "junk.dcm", seed=2)
    (root / "junk.dcm").write_bytes(b"AWS_SECRET=hunter2hunter2" * 10)  # not an image at all, with landmarks
    table = tmp_path / "t.csv"
    code, _, err = run(capsys, "batch", root, "-o", table, "--jobs", "1")
    assert code == 0, err
    text = table.read_text()
    assert "hunter2" not in text and "0x" not in text and "secret" not in text
    assert "out.dcm" not in text and "out.json" not in text and "outdir" not in text
    rows = {r[0]: r for r in records(text)[1:]}
    assert "link-b.dcm" in rows and "sub/b.dcm" in rows
    junk = rows["junk.dcm"]
    assert junk[2] == "error" and "not a DICOM, PNG, JPEG or TIFF file" in junk[3]
    assert "2 symbolic links leading out of the archive not followed" in err


# ----------------------------------------------------------------------------- dates of birth


def test_no_birth_or_study_date_in_a_warning_the_table_or_the_report(capsys, tmp_path):
    f = film("lateral")
    root = tmp_path / "archive"
    root.mkdir()
    image = write_dicom(
        f,
        root / "a.dcm",
        patient_age=70,
        sop_instance_uid="1.2.826.0.1.3680043.10.511.4242",
        extra={"PatientBirthDate": "19400305", "StudyDate": "20040826"},
    )
    write_landmarks(
        f.landmarks.replace(image=ImageRef(path="a.dcm"), patient=PatientInfo(), source=None), root / "a.json"
    )
    table = tmp_path / "t.csv"
    assert main(["batch", str(root), "-o", str(table), "--jobs", "1", "--quiet"]) == 0
    header, row = records(table.read_text())
    warnings = row[header.index("warnings")]
    assert "Patient's Age '070Y' (70 y) disagrees with the birth date by 6 years" in warnings
    birth = ("19400305", "1940-03-05", "1940")
    assert not any(b in c for c in row for b in birth)  # the birth date nowhere in the row
    assert "20040826" not in warnings and "2004-08-26" not in warnings
    code, out, _ = run(capsys, "measure", root / "a.json", "--image", image, "--format", "json")
    report = json.loads(out)
    assert code == 0 and not any(b in json.dumps(report) for b in birth)
    assert not any("2004" in w for w in report["warnings"])
    # the drawn page carries the warnings: its text has no date of birth either
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(image), str(root / "a.json"), "-o", str(pdf)]) == 0
    from matplotlib.figure import Figure  # noqa: F401 - the page is drawn; its texts are read below
    from spinecheck.alignment.render.pages import report_figure
    from spinecheck.alignment.study import load_study
    from spinecheck.landmarks.imaging.radiograph import load_radiograph

    r = load_radiograph(image)
    page = report_figure(r.display, load_study(str(root / "a.json"), image=r), 0)
    texts = " ".join(t.get_text() for t in page.findobj(lambda o: hasattr(o, "get_text")))
    assert "disagrees with the birth date" in texts and not any(b in texts for b in birth)
    assert datetime.date(1940, 3, 5).isoformat() not in texts


# ----------------------------------------------------------------------------- --scheduler


@pytest.mark.parametrize(
    "address, says",
    [
        pytest.param("", "--scheduler '': is empty", id="empty"),
        pytest.param("tcp://head", "has no port", id="no-port"),
        pytest.param("tcp://head:99999", "not a number from 1 to 65535", id="port-range"),
        pytest.param("http://head:8786", "scheme 'http' is not supported", id="scheme"),
        pytest.param("inproc://x", "inside this very process", id="inproc"),
        pytest.param("tcp://he ad:8786", "no valid host name", id="host"),
        pytest.param("tcp://[zz]:8786", "no valid IPv6 address", id="ipv6"),
    ],
)
def test_a_malformed_scheduler_address_is_one_line_before_any_work(capsys, tmp_path, address, says):
    root = tmp_path / "a"
    write_study(root, "a.dcm")
    code, out, err = run(capsys, "batch", root, "-o", tmp_path / "t.csv", "--scheduler", address)
    assert code == 2 and out == "" and err.count("\n") == 1 and says in err
    assert err.startswith("error: --scheduler '")
    assert not (tmp_path / "t.csv").exists()


def test_tls_needs_certificates_in_dasks_configuration(capsys, tmp_path):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from spinecheck.alignment.batch.scheduler import parse_scheduler, scheduler_security

    root = tmp_path / "a"
    write_study(root, "a.dcm")
    with dask.config.set({"distributed.comm.tls.ca-file": None, "distributed.comm.tls.client.cert": None}):
        code, _, err = run(
            capsys, "batch", root, "-o", tmp_path / "t.csv", "--scheduler", "tls://127.0.0.1:1"
        )
    assert code == 2 and err.count("\n") == 1
    assert "TLS needs certificates in Dask's configuration; distributed.comm.tls.ca-file and " in err
    with dask.config.set({"distributed.comm.require-encryption": True}):
        with pytest.raises(InvalidArgumentError, match="requires encryption"):
            scheduler_security(parse_scheduler("tcp://127.0.0.1:8786"))


def _certificates(folder: Path) -> tuple[str, str, str]:
    """A self-signed CA and one certificate it signed for 127.0.0.1 (scheduler, worker and client)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("spinecheck test CA"))
        .issuer_name(name("spinecheck test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(ca_file), str(cert_file), str(key_file)


def test_a_batch_runs_on_a_tls_scheduler_with_the_certificates_from_dasks_configuration(capsys, tmp_path):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("cryptography")
    root = tmp_path / "a"
    write_study(root, "a.dcm")
    write_study(root, "b.dcm", seed=1)
    reference = tmp_path / "ref.csv"
    assert main(["batch", str(root), "-o", str(reference), "--jobs", "1", "--quiet"]) == 0
    ca, cert, key = _certificates(tmp_path)
    security = distributed.Security(
        tls_ca_file=ca,
        tls_scheduler_cert=cert,
        tls_scheduler_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        tls_client_cert=cert,
        tls_client_key=key,
        require_encryption=True,
    )
    config = {
        "distributed.comm.tls.ca-file": ca,
        "distributed.comm.tls.client.cert": cert,
        "distributed.comm.tls.client.key": key,
    }
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=":0",
        silence_logs=50,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        on_tls = tmp_path / "tls.csv"
        with dask.config.set(config):
            code, _, err = run(capsys, "batch", root, "-o", on_tls, "--scheduler", address)
        assert code == 0, err
        assert f"Dask at {address}" in err
        # without the configured certificates the same address is refused, in one line
        with dask.config.set({"distributed.comm.tls.client.cert": None}):
            code, _, err = run(capsys, "batch", root, "-o", tmp_path / "no.csv", "--scheduler", address)
        assert code == 2 and "distributed.comm.tls.client.cert not set" in err
    assert on_tls.read_bytes() == reference.read_bytes()
