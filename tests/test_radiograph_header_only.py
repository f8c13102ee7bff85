"""``read_radiograph_header``: the header of ``load_radiograph``, same rules, pixels not decoded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pydicom
import pytest
from batch_factory import corrupt_rle
from PIL import Image
from pydicom.data import get_testdata_file
from spinecheck.landmarks.errors import UnreadableImageError
from spinecheck.landmarks.imaging.radiograph import RadiographHeader, load_radiograph, read_radiograph_header
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom

SHARED = [f.name for f in dataclasses.fields(RadiographHeader) if f.name != "warnings"]


def _agree(path: Path, frame: int | None = None) -> RadiographHeader:
    """Assert the header reader and the loader agree on *path*; return the header."""
    header = read_radiograph_header(path, frame=frame)
    r = load_radiograph(path, frame=frame)
    for name in SHARED:
        assert getattr(header, name) == getattr(r, name), name
    assert r.header == header
    assert set(header.warnings) <= set(r.warnings)  # decoding and display may add their own
    return header


@pytest.mark.shared
def test_agrees_with_load_radiograph_on_every_shared_dicom(shared_data):
    files = sorted(p for p in (shared_data / "dicom").iterdir() if p.is_file())
    assert len(files) >= 9
    decoded = 0
    for path in files:
        try:
            load_radiograph(path)
        except UnreadableImageError as exc:
            # only a broken compressed stream gets past the header: decoding finds it
            assert "cannot decode" in str(exc), path
            header = read_radiograph_header(path)
            assert header.transfer_syntax_uid and pydicom.uid.UID(header.transfer_syntax_uid).is_encapsulated
            continue
        _agree(path)
        decoded += 1
    assert decoded == len(files) - 1  # DX_chest_broken_J2K.dcm


@pytest.mark.parametrize("name", ["RG3_UNCR.dcm", "RG1_UNCI.dcm", "SC_rgb_rle.dcm"])
def test_agrees_with_load_radiograph_on_pydicom_files(name):
    path = Path(get_testdata_file(name))
    header = _agree(path)
    assert header.rows > 0 and header.columns > 0


@pytest.mark.parametrize(
    "name, modality",
    [("MR_small.dcm", "MR (magnetic resonance)"), ("emri_small.dcm", "MR"), ("CT_small.dcm", "CT (computed")],
)
def test_a_ct_or_mr_file_is_refused_by_both_readers_naming_its_modality(name, modality):
    path = get_testdata_file(name)
    messages = []
    for read in (read_radiograph_header, load_radiograph):
        with pytest.raises(UnreadableImageError) as exc:
            read(path, frame=0)
        messages.append(str(exc.value))
    assert messages[0] == messages[1] and "\n" not in messages[0]
    assert f"Modality: {modality}" in messages[0] and "is not a projection radiograph" in messages[0]
    assert "(expected CR, DX, RG, RF, XA or OT)" in messages[0]


def _multi_frame_fluoroscopy(tmp_path: Path) -> Path:
    """emri_small's ten frames stored as a fluoroscopy run (RF), a multi-frame projection."""
    ds = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    ds.Modality = "RF"
    path = tmp_path / "run.dcm"
    ds.save_as(path)
    return path


def test_a_multi_frame_fluoroscopy_run_agrees_with_load_radiograph(tmp_path):
    header = _agree(_multi_frame_fluoroscopy(tmp_path), frame=0)
    assert header.frames == 10 and header.modality == "RF"


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg"])
def test_agrees_with_load_radiograph_on_pictures(tmp_path, suffix):
    path = tmp_path / f"film{suffix}"
    pixels = (np.arange(60 * 40).reshape(60, 40) % 251).astype(np.uint8)
    Image.fromarray(pixels).save(path, dpi=(72, 72))
    header = _agree(path)
    assert (header.rows, header.columns) == (60, 40) and not header.calibration.calibrated


def test_multi_frame_needs_a_frame_as_load_radiograph_says(tmp_path):
    path = _multi_frame_fluoroscopy(tmp_path)
    with pytest.raises(UnreadableImageError, match="multi-frame image .* choose one with --frame"):
        read_radiograph_header(path)
    with pytest.raises(UnreadableImageError, match="out of range"):
        read_radiograph_header(path, frame=99)


@pytest.mark.parametrize("cut", [0.9, 0.5])
def test_truncated_uncompressed_names_the_shortfall_in_both_readers(tmp_path, cut):
    full = write_dicom(synthetic_lateral(0, mm_per_px=2.0), tmp_path / "full.dcm")
    data = full.read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: int(len(data) * cut)])
    messages = []
    for read in (read_radiograph_header, load_radiograph):
        with pytest.raises(UnreadableImageError) as exc:
            read(path)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    assert "the pixel data are truncated" in messages[0] and "bytes present" in messages[0]


def test_a_corrupt_compressed_stream_is_found_only_by_decoding(tmp_path):
    path = write_dicom(
        synthetic_lateral(0, mm_per_px=2.0), tmp_path / "rle.dcm", transfer_syntax="rle lossless"
    )
    corrupt_rle(path)
    header = read_radiograph_header(path)
    assert (header.rows, header.columns) == synthetic_lateral(0, mm_per_px=2.0).shape
    with pytest.raises(UnreadableImageError, match="cannot decode"):
        load_radiograph(path)


def test_compressed_without_a_complete_fragment_is_refused(tmp_path):
    path = write_dicom(
        synthetic_lateral(0, mm_per_px=2.0), tmp_path / "rle.dcm", transfer_syntax="rle lossless"
    )
    data = path.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 2000])
    with pytest.raises(UnreadableImageError, match="truncated"):
        read_radiograph_header(cut)


def test_a_header_read_opens_the_film_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sniffing and reading share one open file (the pixel check of a native film opens none)."""
    from spinecheck.landmarks.imaging import header as header_module

    film = get_testdata_file("CT_small.dcm", read=True)
    film.Modality = "DX"
    path = tmp_path / "film.dcm"
    film.save_as(path)
    expected = read_radiograph_header(path)
    opened: list[str] = []

    def counting(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(header_module, "open", counting, raising=False)
    assert read_radiograph_header(path) == expected
    assert opened == [str(path)]
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(UnreadableImageError, match="the file is empty"):
        read_radiograph_header(tmp_path / "empty.dcm")
    with pytest.raises(UnreadableImageError, match="is a folder"):
        read_radiograph_header(tmp_path)
