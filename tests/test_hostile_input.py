"""Hostile and broken input (issue 13, point 2): no input crashes the process or a batch.

Each finding of the fuzzing campaign is a regression test here, on generated broken files
(and on the real NEMA films of ``../shared/data`` where they exist): a decoder that would
abort or panic, a film that declares more pixels than it could hold, bytes appended after a
DICOM file, an unknown VR, a transfer syntax that is none, JSON nested 200 000 deep, a point
name of 10 MB, a corrupt ``.mat``, a malformed ``--scheduler``. The oracle is one ``error:``
line and exit 2 (or an ``error`` row with the batch going on), never a traceback.
"""

from __future__ import annotations

import csv
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from batch_factory import film, write_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import (
    DecoderCrashedError,
    InvalidArgumentError,
    UnreadableImageError,
    shorten,
)
from spinecheck.landmarks.imaging.codestream import StreamGeometry, stream_geometry, stream_mismatch
from spinecheck.landmarks.imaging.isolated import load_radiograph_isolated
from spinecheck.landmarks.imaging.limits import DEFAULT_MAX_PIXELS, check_pixel_count, max_pixels
from spinecheck.landmarks.imaging.radiograph import load_radiograph, read_radiograph_header
from spinecheck.landmarks.points.names import closest_point_names
from spinecheck.landmarks.synthetic.films import write_dicom

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
JPEG_LS = "1.2.840.10008.1.2.4.80"
J2K = "1.2.840.10008.1.2.4.90"
RLE = "1.2.840.10008.1.2.5"


def _edit(src: Path, dst: Path, **values: object) -> Path:
    ds = pydicom.dcmread(src)
    for key, value in values.items():
        setattr(ds, key, value)
    ds.save_as(dst, enforce_file_format=False)
    return dst


def _film(tmp_path: Path, syntax: str = "explicit little endian", name: str = "f.dcm") -> Path:
    return write_dicom(film("lateral"), tmp_path / name, transfer_syntax=syntax)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


# ----------------------------------------------------------------------------- the stream's own header


def _sof(marker: int, precision: int, rows: int, cols: int, comps: int) -> bytes:
    body = struct.pack(">BHHB", precision, rows, cols, comps) + bytes(3 * comps)
    return (
        b"\xff\xd8"
        + b"\xff\xdb\x00\x04\x00\x00"
        + bytes([0xFF, marker])
        + struct.pack(">H", 2 + len(body))
        + body
    )


def _siz(rows: int, cols: int, comps: int, precision: int, x0: int = 0, y0: int = 0) -> bytes:
    body = struct.pack(">HIIIIIIIIH", 0, cols + x0, rows + y0, x0, y0, cols, rows, 0, 0, comps)
    body += bytes([precision - 1, 1, 1]) * comps
    return b"\xff\x4f\xff\x51" + struct.pack(">H", 2 + len(body)) + body


@pytest.mark.parametrize(
    ("head", "syntax", "expected"),
    [
        pytest.param(
            _sof(0xC3, 12, 2140, 1760, 1), JPEG_LOSSLESS, ("JPEG", 2140, 1760, 1, 12), id="jpeg-sof3"
        ),
        pytest.param(_sof(0xF7, 16, 300, 200, 1), JPEG_LS, ("JPEG-LS", 300, 200, 1, 16), id="jpeg-ls-sof55"),
        pytest.param(_sof(0xC0, 8, 0, 512, 3), "1.2.840.10008.1.2.4.50", ("JPEG", None, 512, 3, 8), id="dnl"),
        pytest.param(_siz(4500, 1800, 1, 16), J2K, ("JPEG 2000", 4500, 1800, 1, 16), id="j2k-siz"),
        pytest.param(_siz(10, 20, 1, 12, 5, 7), J2K, ("JPEG 2000", 10, 20, 1, 12), id="j2k-offset"),
    ],
)
def test_stream_geometry_reads_the_frame_header(head, syntax, expected):
    g = stream_geometry(head, syntax)
    assert (g.kind, g.rows, g.columns, g.samples, g.precision) == expected


def test_rle_header_is_read_and_checked():
    ok = struct.pack("<16I", 2, 64, 100, *[0] * 13)
    assert stream_geometry(ok, RLE, 200) == StreamGeometry("RLE", segments=2)
    assert "segment 2 at byte 300" in stream_geometry(struct.pack("<16I", 2, 64, 300, *[0] * 13), RLE, 200)
    assert "first segment at byte 60" in stream_geometry(struct.pack("<16I", 1, 60, *[0] * 14), RLE, 200)
    assert "16 segments" in stream_geometry(struct.pack("<16I", 16, *[64] * 15), RLE, 200)
    g = StreamGeometry("RLE", segments=1)
    assert "need 2" in stream_mismatch(g, rows=1, columns=1, samples=1, bits_allocated=16)
    assert (
        stream_mismatch(StreamGeometry("RLE", segments=2), rows=1, columns=1, samples=1, bits_allocated=16)
        is None
    )


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        pytest.param(StreamGeometry("JPEG", 10, 20, 1, 16), None, id="same"),
        pytest.param(StreamGeometry("JPEG", 11, 20, 1, 16), "holds 11 rows × 20 columns", id="rows+1"),
        pytest.param(StreamGeometry("JPEG", 10, 19, 1, 16), "holds 10 rows × 19 columns", id="columns-1"),
        pytest.param(StreamGeometry("JPEG", None, 21, 1, 16), "holds 21 columns", id="dnl-columns"),
        pytest.param(StreamGeometry("JPEG", 10, 20, 3, 16), "3 components", id="samples"),
        pytest.param(StreamGeometry("JPEG", 10, 20, 1, 12), None, id="precision-below"),
        pytest.param(StreamGeometry("JPEG", 10, 20, 1, 17), "17-bit samples", id="precision-above"),
    ],
)
def test_stream_mismatch_at_each_boundary(geometry, expected):
    said = stream_mismatch(geometry, rows=10, columns=20, samples=1, bits_allocated=16)
    assert said is None if expected is None else expected in said


def test_broken_stream_headers_are_named():
    assert "does not start with SOI" in stream_geometry(b"\x00\x00" + bytes(20), JPEG_LS)
    assert "not within" in stream_geometry(b"\xff\xd8\xff\xdb\x00\x04\x00\x00", JPEG_LS)
    assert "SOS" in stream_geometry(b"\xff\xd8\xff\xda\x00\x04\x00\x00", JPEG_LS)
    assert "SOC and SIZ" in stream_geometry(b"\xff\x4f\xff\x52" + bytes(60), J2K)
    assert stream_geometry(b"anything", "1.2.840.10008.1.2.1") is None


@pytest.mark.parametrize("syntax", ["jpeg-ls lossless", "jpeg2000 lossless"])
@pytest.mark.parametrize("change", [1, -1])
def test_rows_that_disagree_with_the_stream_are_refused_before_decoding(tmp_path, syntax, change):
    src = _film(tmp_path, syntax)
    rows = pydicom.dcmread(src).Rows
    bad = _edit(src, tmp_path / "bad.dcm", Rows=rows + change)
    for read in (read_radiograph_header, load_radiograph):
        with pytest.raises(
            UnreadableImageError, match=rf"disagree with the header: .* {rows} rows .* say {rows + change} "
        ):
            read(bad)


def test_rle_rows_minus_one_panics_no_more(tmp_path, capfd):
    """The Rust RLE decoder panics (pyo3's PanicException, a BaseException) on Rows − 1: one clean error."""
    src = _film(tmp_path, "rle lossless")
    bad = _edit(src, tmp_path / "bad.dcm", Rows=pydicom.dcmread(src).Rows - 1)
    capfd.readouterr()
    with pytest.raises(UnreadableImageError, match="its decoder failed .*PanicException"):
        load_radiograph(bad)
    assert capfd.readouterr().err == ""  # the panic's message and backtrace are not printed


def test_rle_with_too_few_segments_is_refused_by_its_header(tmp_path):
    path = _film(tmp_path, "rle lossless")
    ds = pydicom.dcmread(path, defer_size=0)
    tell = ds.get_item(0x7FE00010, keep_deferred=True).value_tell
    data = bytearray(path.read_bytes())
    header = tell + 8 + int.from_bytes(data[tell + 4 : tell + 8], "little") + 8
    data[header : header + 4] = (1).to_bytes(4, "little")  # 16-bit greyscale needs 2 segments
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableImageError, match="declares 1 segments, but .* need 2"):
        read_radiograph_header(path)


@needs_shared
@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("RG2_JLSL", "JPEG-LS stream holds 2140 rows"),
        ("RG2_JPLL", "JPEG stream holds 2140 rows"),
        ("RG2_J2KR", "JPEG 2000 stream holds 2140 rows"),
        # RLE does not say its rows: found decoding (the decoders' own words only with --traceback)
        ("RG2_RLE", "none of the installed decoders could read it: the stream does not match Rows"),
    ],
)
def test_real_films_with_rows_plus_one_exit_2_in_one_line(tmp_path, name, said):
    """The issue's case: RG2_JLSL with Rows + 1 aborted the process (SIGABRT in GDCM)."""
    bad = _edit(SHARED / name, tmp_path / f"{name}.dcm", Rows=2141)
    done = subprocess.run(
        [sys.executable, "-m", "spinecheck.cli", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert said in done.stderr


@needs_shared
def test_real_rle_film_with_rows_minus_one_exits_2_in_one_line(tmp_path):
    bad = _edit(SHARED / "RG2_RLE", tmp_path / "rle.dcm", Rows=2139)
    done = subprocess.run(
        [sys.executable, "-m", "spinecheck.cli", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "RUST_BACKTRACE": "1"},
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "PanicException" in done.stderr


# ----------------------------------------------------------------------------- declared size


def test_pixel_limit_boundary(monkeypatch):
    monkeypatch.setenv("SPINECHECK_MAX_PIXELS", "600")
    check_pixel_count("image 'a'", 20, 30)  # exactly at the limit
    with pytest.raises(
        UnreadableImageError, match="declares 20 rows × 30 columns × 2 frames = 0.0012 megapixels"
    ):
        check_pixel_count("image 'a'", 20, 30, frames=2)
    with pytest.raises(UnreadableImageError, match="over the limit of 0.0006 megapixels"):
        check_pixel_count("image 'a'", 601, 1)
    monkeypatch.delenv("SPINECHECK_MAX_PIXELS")
    assert max_pixels() == DEFAULT_MAX_PIXELS == 200_000_000


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5", "nan", "1e30"])
def test_a_bad_pixel_limit_is_one_line(monkeypatch, raw):
    monkeypatch.setenv("SPINECHECK_MAX_PIXELS", raw)
    with pytest.raises(InvalidArgumentError, match="SPINECHECK_MAX_PIXELS: must be a whole number"):
        max_pixels()


def test_an_rle_bomb_is_refused_before_allocating(tmp_path, monkeypatch, capsys):
    """A small RLE file claiming 60 000 × 60 000 pixels drove `info` to 7.1 GB; now refused by its header."""
    bomb = _edit(_film(tmp_path, "rle lossless"), tmp_path / "bomb.dcm", Rows=60000, Columns=60000)
    assert bomb.stat().st_size < 1 << 20
    code, err = _cli(capsys, "info", str(bomb))
    assert code == 2 and err.count("\n") == 1
    assert "declares 60000 rows × 60000 columns = 3600 megapixels, over the limit of 200 megapixels" in err
    with pytest.raises(UnreadableImageError, match="megapixels"):
        read_radiograph_header(bomb)  # the header-only reader refuses it the same way
    monkeypatch.setenv("SPINECHECK_MAX_PIXELS", str(60000 * 60000))
    with pytest.raises(UnreadableImageError, match="disagree with the header|decoder failed|cannot decode"):
        load_radiograph(bomb)  # allowed by the limit, the data still cannot be that film


def test_a_large_picture_is_refused_by_the_same_limit(tmp_path, monkeypatch):
    from PIL import Image

    path = tmp_path / "big.png"
    Image.new("L", (50, 40)).save(path)
    monkeypatch.setenv("SPINECHECK_MAX_PIXELS", "1999")
    with pytest.raises(UnreadableImageError, match="declares 40 rows × 50 columns"):
        read_radiograph_header(path)
    monkeypatch.setenv("SPINECHECK_MAX_PIXELS", "2000")
    assert load_radiograph(path).pixels.shape == (40, 50)


# ----------------------------------------------------------------------------- malformed headers


def test_zero_bytes_after_a_dicom_file_are_not_read_as_elements(tmp_path):
    src = _film(tmp_path)
    padded = tmp_path / "padded.dcm"
    padded.write_bytes(src.read_bytes() + bytes(1 << 20))
    a, b = load_radiograph(src), load_radiograph(padded)
    assert np.array_equal(a.pixels, b.pixels)
    assert f"{1 << 20} bytes after the data set's last element ignored (not DICOM elements)" in b.warnings
    assert not any("ignored" in w for w in a.warnings)


def test_a_transfer_syntax_that_is_none_is_one_line(tmp_path, capsys):
    path = _film(tmp_path)
    for fake in (b"1.2.3.4.5.6.7.8.9.0", b"1.2.3.4.notone.x"):  # a UID, and not even a UID (pydicom warns)
        data = path.read_bytes().replace(b"1.2.840.10008.1.2.1\x00", fake + b"\x00" * (20 - len(fake)), 1)
        bad = tmp_path / "bad.dcm"
        bad.write_bytes(data)
        code, err = _cli(capsys, "info", str(bad))
        assert code == 2 and err.count("\n") == 1, err
        assert f"Transfer Syntax UID (0002,0010) '{fake.decode()}' is not a DICOM transfer syntax" in err


def test_rows_smaller_than_uncompressed_data_are_refused(tmp_path, capsys):
    src = _film(tmp_path)
    rows = pydicom.dcmread(src).Rows
    bad = _edit(src, tmp_path / "bad.dcm", Rows=rows - 1)
    code, err = _cli(capsys, "info", str(bad))
    assert code == 2 and err.count("\n") == 1
    assert "more than the header's size needs" in err and "Rows, Columns or Bits Allocated disagree" in err


def test_an_unknown_vr_is_a_warning_naming_the_element(tmp_path):
    path = _film(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.find(b"\x08\x00\x60\x00CS")  # Modality
    data[at + 4 : at + 6] = b"ZZ"
    path.write_bytes(bytes(data))
    r = load_radiograph(path)
    assert r.modality is None
    assert any(
        w.startswith("element (0008,0060) unreadable (Unknown Value Representation 'ZZ'") for w in r.warnings
    )


# ----------------------------------------------------------------------------- landmark files


def test_deep_json_in_an_archive_is_a_row_not_the_end_of_the_batch(tmp_path):
    root = tmp_path / "archive"
    write_study(root, "a.dcm")
    (root / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    out = tmp_path / "t.csv"
    assert main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet"]) == 0
    rows = {r["landmarks"] or r["image"]: r for r in _rows(out)}
    assert rows["a.json"]["status"] == "ok"
    assert rows["deep.json"]["status"] in ("error", "skipped")


def test_deep_json_landmark_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    code, err = _cli(capsys, "measure", str(path))
    assert code == 2 and err == f"error: landmarks file '{path}': is not valid JSON: nested too deeply\n"


def test_a_landmark_file_larger_than_any_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate((16 << 20) + 1)
    code, err = _cli(capsys, "measure", str(path))
    assert code == 2 and "is larger than 16 MiB" in err and err.count("\n") == 1


def test_a_huge_point_name_is_quoted_short(tmp_path, capsys):
    lm = tmp_path / "lm.json"
    write_study(tmp_path, "a.dcm")
    d = json.loads((tmp_path / "a.json").read_text())
    d["points"]["X" * 10_000_000] = [1.0, 2.0]
    lm.write_text(json.dumps(d))
    code, err = _cli(capsys, "measure", str(lm))
    assert code == 2 and err.count("\n") == 1 and len(err) < 400
    assert "… (10000000 characters)" in err


def test_closest_names_of_a_huge_name_are_none_at_once():
    assert closest_point_names("S1.sup.anterior", "lateral")[0] == "S1.sup.ant"
    longest = max(map(len, ["T12.sup.right", "L6.inf.post"]))
    assert closest_point_names("x" * 10_000_000, "ap") == []
    assert shorten("a" * 80) == "a" * 80 and shorten("a" * 81).endswith("… (81 characters)")
    assert longest < 30


def test_a_corrupt_compressed_mat_file_is_one_line(tmp_path, capsys):
    from scipy.io import savemat

    path = tmp_path / "lm.mat"
    savemat(path, {"p2": np.arange(136, dtype=np.uint16).reshape(68, 2)}, do_compression=True)
    data = bytearray(path.read_bytes())
    data[200:210] = b"\xff" * 10
    path.write_bytes(bytes(data))
    code, err = _cli(capsys, "measure", str(path))
    assert code == 2 and err.count("\n") == 1
    assert "is not a readable MATLAB .mat file (Error -3 while decompressing data" in err


def test_a_malformed_scheduler_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    root = tmp_path / "archive"
    write_study(root, "a.dcm")
    code, err = _cli(capsys, "batch", str(root), "-o", str(tmp_path / "t.csv"), "--scheduler", "tcp://[::1")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: --scheduler 'tcp://[::1'")


# ----------------------------------------------------------------------------- a decoder that crashes


def test_the_isolated_loader_returns_the_same_radiograph(tmp_path):
    path = _film(tmp_path, "rle lossless")
    a, b = load_radiograph(path), load_radiograph_isolated(path)
    assert np.array_equal(a.pixels, b.pixels) and a.header == b.header and a.warnings == b.warnings


def test_the_isolated_loader_passes_errors_through(tmp_path):
    bad = _edit(_film(tmp_path, "rle lossless"), tmp_path / "bad.dcm", Rows=60000, Columns=60000)
    with pytest.raises(UnreadableImageError, match="megapixels"):
        load_radiograph_isolated(bad)


def test_a_decoder_that_aborts_costs_only_its_film(tmp_path):
    from batch_crash import abort_loader

    path = _film(tmp_path)
    with pytest.raises(DecoderCrashedError, match=r"decoder crashed \(signal 6, SIGABRT\)"):
        load_radiograph_isolated(path, loader=abort_loader)
    assert load_radiograph_isolated(path).rows > 0  # and this process goes on


def test_batch_verify_pixels_survives_a_panicking_film_and_resumes(tmp_path):
    root = tmp_path / "archive"
    for name in ("a.dcm", "b.dcm", "c.dcm"):
        write_study(root, name)
    uid = pydicom.dcmread(root / "b.dcm").SOPInstanceUID
    write_dicom(film("lateral"), root / "b.dcm", transfer_syntax="rle lossless", sop_instance_uid=uid)
    _edit(root / "b.dcm", root / "b.dcm", Rows=pydicom.dcmread(root / "b.dcm").Rows - 1)
    out = tmp_path / "t.csv"
    assert main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet", "--verify-pixels"]) == 0
    rows = {r["image"]: r for r in _rows(out)}
    assert [rows[n]["status"] for n in ("a.dcm", "b.dcm", "c.dcm")] == ["ok", "error", "ok"]
    assert "PanicException" in rows["b.dcm"]["error"]
    write_study(root, "d.dcm")
    assert (
        main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet", "--verify-pixels", "--resume"])
        == 0
    )
    rows = {r["image"]: r for r in _rows(out)}
    assert rows["d.dcm"]["status"] == "ok" and rows["b.dcm"]["status"] == "error"


def test_pillows_own_limit_is_put_back_after_a_picture_is_read(tmp_path, monkeypatch):
    """Pillow's process-wide bomb guard is set only while spinecheck opens a picture."""
    from PIL import Image

    path = tmp_path / "small.png"
    Image.new("L", (40, 30)).save(path)
    before = Image.MAX_IMAGE_PIXELS
    monkeypatch.setenv("SPINECHECK_MAX_PIXELS", "5000")
    read_radiograph_header(path)
    load_radiograph(path)
    assert Image.MAX_IMAGE_PIXELS == before
