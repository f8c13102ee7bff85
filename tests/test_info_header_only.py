"""``spinecheck info`` reads the header only where the header describes the film (issue 17, 3).

A greyscale film whose header gives its window, in a syntax whose size the header reader checks
(uncompressed, JPEG 2000), is described without decoding: the same description as the decoded
film's, and ``pixels_decoded`` false. A film without a window, or in a syntax the header cannot
vouch for (RLE), is decoded, and the output says why.
"""

from __future__ import annotations

import json

import pytest
from spinecheck.cli import main
from spinecheck.landmarks.imaging import radiograph as radiograph_module
from spinecheck.landmarks.imaging.radiograph import describe_radiograph, load_radiograph, radiograph_info
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom


@pytest.fixture(scope="module")
def film():
    return synthetic_lateral(0, mm_per_px=1.0)


def _info(capsys, path, *extra) -> dict:
    assert main(["info", str(path), "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _without_decoding(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(radiograph_module, "decode_pixels", refuse)


@pytest.mark.parametrize("syntax", ["explicit little endian", "jpeg2000 lossless"])
def test_a_film_with_a_window_is_described_from_its_header(tmp_path, film, capsys, monkeypatch, syntax):
    path = write_dicom(film, tmp_path / "f.dcm", transfer_syntax=syntax, patient_age=61)
    decoded = radiograph_info(load_radiograph(path))
    _without_decoding(monkeypatch)
    info = _info(capsys, path)
    assert info["pixels_decoded"] is False and decoded["pixels_decoded"] is True
    assert info["display"].startswith("Window Center/Width")
    same = {k: v for k, v in info.items() if not k.startswith("pixels_decoded")}
    assert same == {k: v for k, v in decoded.items() if not k.startswith("pixels_decoded")}


def test_the_text_says_whether_the_pixels_were_decoded(tmp_path, film, capsys, monkeypatch):
    path = write_dicom(film, tmp_path / "f.dcm", patient_age=61)
    _without_decoding(monkeypatch)
    assert main(["info", str(path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Decoded"))
    assert "no: the display is the header's window as given" in line


def test_a_film_without_a_window_is_decoded_and_says_so(tmp_path, film, capsys):
    path = write_dicom(film, tmp_path / "f.dcm", extra={"WindowCenter": None, "WindowWidth": None})
    info = _info(capsys, path)
    assert info["pixels_decoded"] is True
    assert info["pixels_decoded_why"] == "yes: the display window comes from the pixels' percentiles"
    assert info["display"].startswith("robust percentiles")


def test_rle_is_decoded_though_it_has_a_window(tmp_path, film):
    path = write_dicom(film, tmp_path / "f.dcm", transfer_syntax="rle lossless")
    info = describe_radiograph(path)
    assert info["pixels_decoded"] is True and "RLE Lossless" in info["pixels_decoded_why"]
    assert info["display"].startswith("Window Center/Width")


def test_a_short_uncompressed_film_is_refused_without_decoding(tmp_path, film, capsys, monkeypatch):
    path = write_dicom(film, tmp_path / "f.dcm")
    path.write_bytes(path.read_bytes()[:-1000])
    _without_decoding(monkeypatch)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the pixel data are truncated" in err
