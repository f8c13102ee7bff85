"""Opening radiographs: the real files of ../shared/data and pydicom-data, and broken input.

Real files say what the loader must do in the clinic (clinical.md §4–5); synthetic
files written into tmp_path cover what no real file here has (multi-frame, no pixel
data, no preamble, a decoder that is missing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.pixels.decoders.base import Decoder
from pydicom.uid import JPEG2000Lossless, RLELossless
from radiograph_factory import dx_dataset, dx_file, gradient, set_raw, write
from spinecheck.landmarks.errors import MissingDecoderError, UnreadableImageError
from spinecheck.landmarks.imaging.dicom_header import DETECTOR_WARNING
from spinecheck.landmarks.imaging.display import VoiSource
from spinecheck.landmarks.imaging.header import read_radiograph_header
from spinecheck.landmarks.imaging.radiograph import (
    ImageFormat,
    Radiograph,
    choose_calibration,
    format_info_text,
    load_radiograph,
    radiograph_info,
)
from spinecheck.landmarks.points.calibration import Calibration, CalibrationPlane, CalibrationSource
from spinecheck.landmarks.points.model import ImageRef, Sex
from spinecheck.landmarks.points.names import PatientRight, View

FORMATS_KEYS = {
    "rows",
    "columns",
    "photometric",
    "transfer_syntax",
    "mm_per_px",
    "spacing_source",
    "spacing_plane",
    "age_years",
    "age_source",
    "sex",
    "view",
}
RG2_LOSSLESS = ["RG2_JPLL", "RG2_J2KR", "RG2_RLE", "RG2_JLSL"]


@pytest.fixture(scope="module")
def dicom_dir(shared_data: Path) -> Path:
    return shared_data / "dicom"


@pytest.fixture(scope="module")
def rg2_unc(dicom_dir: Path) -> Radiograph:
    return load_radiograph(dicom_dir / "RG2_UNC")


def pydicom_data(name: str) -> str:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} not available (install pydicom-data)")
    return str(path)


def one_line_error(exc: pytest.ExceptionInfo, path: Path | str) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert str(path) in message
    return message


# ----------------------------------------------------------------------------- the RG2 series


@pytest.mark.shared
@pytest.mark.parametrize("name", RG2_LOSSLESS)
def test_rg2_lossless_decodes_pixel_identical(dicom_dir: Path, rg2_unc: Radiograph, name: str) -> None:
    r = load_radiograph(dicom_dir / name)
    assert r.pixels.dtype == rg2_unc.pixels.dtype == np.uint16
    np.testing.assert_array_equal(r.pixels, rg2_unc.pixels)
    np.testing.assert_array_equal(r.display, rg2_unc.display)
    assert r.transfer_syntax_uid != rg2_unc.transfer_syntax_uid


@pytest.mark.shared
def test_rg2_lossy_j2k_is_close_but_not_equal(dicom_dir: Path, rg2_unc: Radiograph) -> None:
    r = load_radiograph(dicom_dir / "RG2_J2KI")
    assert r.transfer_syntax == "JPEG 2000 Image Compression"
    diff = r.pixels.astype(np.int32) - rg2_unc.pixels.astype(np.int32)
    assert np.count_nonzero(diff) > 0
    assert np.abs(diff).mean() < 2.0  # of 1024 grey levels
    assert np.corrcoef(r.pixels.ravel(), rg2_unc.pixels.ravel())[0, 1] > 0.999


@pytest.mark.shared
def test_rg2_header(rg2_unc: Radiograph, dicom_dir: Path) -> None:
    r = rg2_unc
    assert (r.rows, r.columns, r.bits_stored) == (2140, 1760, 10)
    assert (r.format, r.modality, r.photometric) == (ImageFormat.DICOM, "CR", "MONOCHROME2")
    assert r.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert r.transfer_syntax == "Explicit VR Little Endian"
    assert r.patient.sex is Sex.M and r.patient.sex_source == "DICOM PatientSex"
    assert r.patient.age_years is None and r.patient.age_source is None
    assert r.view is None and r.view_position is None and r.patient_orientation is None
    assert str(r.study_date) == "2004-08-26"
    assert r.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.10.1.1.20040826185059.5457"
    assert r.image_ref == ImageRef(str(dicom_dir / "RG2_UNC"), r.sop_instance_uid, 2140, 1760)
    # a CR Pixel Spacing with nothing else is the plate pitch: honestly at the detector
    cal = r.calibration
    assert cal.mm_per_px == (0.2, 0.2)
    assert cal.source is CalibrationSource.PIXEL_SPACING and cal.plane is CalibrationPlane.DETECTOR
    assert cal.warnings == (DETECTOR_WARNING,)
    assert r.display_transform.voi is VoiSource.WINDOW and not r.display_transform.invert


@pytest.mark.shared
def test_pixels_are_stored_values_and_read_only(rg2_unc: Radiograph, dicom_dir: Path) -> None:
    expected = pydicom.dcmread(dicom_dir / "RG2_UNC").pixel_array
    np.testing.assert_array_equal(rg2_unc.pixels, expected)
    assert not rg2_unc.pixels.flags.writeable
    display = rg2_unc.display
    assert display.dtype == np.uint8 and display.shape == rg2_unc.pixels.shape
    assert not display.flags.writeable
    assert rg2_unc.display is display  # made once


# ----------------------------------------------------------------------------- the DX files


@pytest.mark.shared
def test_imager_spacing_only_is_labelled_at_the_detector(dicom_dir: Path) -> None:
    path = dicom_dir / "DX_imager_spacing_only_J2KR.dcm"
    r = load_radiograph(path)
    cal = r.calibration
    assert cal.mm_per_px == (0.4, 0.4)
    assert cal.source is CalibrationSource.IMAGER_PIXEL_SPACING
    assert cal.plane is CalibrationPlane.DETECTOR
    assert DETECTOR_WARNING in cal.warnings
    assert "at detector — distances overstated by the radiographic magnification" in cal.rule
    info = radiograph_info(r)
    assert (info["mm_per_px"], info["spacing_source"], info["spacing_plane"]) == (
        [0.4, 0.4],
        "ImagerPixelSpacing",
        "detector",
    )
    assert DETECTOR_WARNING in info["warnings"]
    text = format_info_text(info)
    assert "0.4 mm/px at the detector (Imager Pixel Spacing) — distances overstated" in text
    assert (r.patient.age_years, r.patient.age_source, r.patient.sex) == (
        47.0,
        "DICOM PatientBirthDate/StudyDate",
        Sex.F,
    )


@pytest.mark.shared
def test_window_that_fits_no_pixel_falls_back_to_percentiles(dicom_dir: Path) -> None:
    # real file: stored values 32744..65535, header window 2725/5310
    r = load_radiograph(dicom_dir / "DX_imager_spacing_only_J2KR.dcm")
    assert r.display_transform.voi is VoiSource.PERCENTILES
    assert any("Window Center/Width 2725/5310 holds 0.0% of the pixels" in w for w in r.warnings)
    assert 50 < r.display.mean() < 200 and r.display.std() > 20


@pytest.mark.shared
def test_monochrome1_with_inverse_displays_bone_bright(dicom_dir: Path) -> None:
    """MONOCHROME1 + Presentation LUT Shape INVERSE is one inversion, not two.

    In this chest PA the spine and mediastinum attenuate most, so MONOCHROME1
    stores them *low*. Displayed correctly they are brighter than the lungs;
    inverting twice would make the lungs brighter and fail this test.
    """
    r = load_radiograph(dicom_dir / "DX_chest_MONOCHROME1_inverse_J2KR.dcm")
    assert r.photometric == "MONOCHROME1" and r.display_transform.invert
    mediastinum = (slice(600, 1400), slice(900, 1100))
    right_lung = (slice(600, 1400), slice(300, 500))  # image left: the patient's right
    left_lung = (slice(400, 800), slice(1300, 1700))  # denser (diseased), still darker than bone
    for lung in (right_lung, left_lung):
        assert r.pixels[mediastinum].mean() < r.pixels[lung].mean()  # bone is stored low
        assert r.display[mediastinum].mean() > r.display[lung].mean()  # and shown bright
    assert r.display[mediastinum].mean() > r.display[right_lung].mean() + 60
    assert r.calibration.plane is CalibrationPlane.DETECTOR  # Pixel Spacing = Imager Pixel Spacing
    assert r.view is View.AP and r.view_position == "PA"
    assert r.patient_orientation == ("L", "F") and r.patient_right is PatientRight.IMAGE_LEFT
    assert r.patient.age_years is None
    assert any("Patient's Birth Date" in w and "not a DICOM date" in w for w in r.warnings)


@pytest.mark.shared
def test_broken_j2k_names_file_and_decoding_problem(dicom_dir: Path) -> None:
    path = dicom_dir / "DX_chest_broken_J2K.dcm"
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    message = one_line_error(exc, path)
    assert "cannot decode the JPEG 2000 Image Compression (Lossless Only)" in message
    assert "unexpected COM marker (0xFF64) at byte 4099003 of the codestream" in message
    assert message.endswith(
        "none of the installed decoders could read it: the stream does not match Rows × "
        "Columns × Bits Allocated, or is damaged"
    )
    assert "said" not in message and "'" not in message.split("pixel data:")[1]  # no decoder internals
    assert "Unable to decode" in str(exc.value.__cause__)  # what each said, for --traceback
    assert not isinstance(exc.value, MissingDecoderError)


@pytest.mark.shared
def test_every_shared_dicom_file_gives_info(dicom_dir: Path) -> None:
    for path in sorted(dicom_dir.iterdir()):
        if path.name == "DX_chest_broken_J2K.dcm":
            continue
        r = load_radiograph(path)
        info = radiograph_info(r)
        assert FORMATS_KEYS <= info.keys()
        assert json.loads(json.dumps(info)) == info
        text = format_info_text(info)
        assert path.name in text and "Calibration" in text


# ----------------------------------------------------------------------------- pydicom-data


def test_rg1_zero_pixel_spacing_is_uncalibrated() -> None:
    r = load_radiograph(pydicom_data("RG1_UNCI.dcm"))
    assert (r.rows, r.columns) == (1955, 1841)  # odd size
    assert not r.calibration.calibrated and r.calibration.source is CalibrationSource.NONE
    assert "Pixel Spacing '0.000\\0.000' is zero" in r.calibration.rule
    assert "distances in pixels, no millimetre thresholds" in r.calibration.rule
    info = radiograph_info(r)
    assert info["mm_per_px"] is None and info["spacing_plane"] == "none"
    assert r.photometric == "MONOCHROME1" and r.display_transform.invert
    assert (r.patient.age_years, r.patient.sex, r.view) == (64.0, Sex.F, View.AP)
    assert any("the Content Date would give 55 y (dates not shown)" in w for w in r.warnings)
    assert not any("1995" in w for w in r.warnings)  # no date in a warning (issue 13)


def test_rg3_without_spacing_is_uncalibrated() -> None:
    r = load_radiograph(pydicom_data("RG3_UNCR.dcm"))
    assert r.calibration.mm_per_px is None
    assert r.calibration.rule.startswith("no Pixel Spacing or Imager Pixel Spacing in the header")
    assert r.view is View.AP and r.patient_right is PatientRight.IMAGE_RIGHT
    assert "Calibration  none — no Pixel Spacing" in format_info_text(radiograph_info(r))


# ----------------------------------------------------------------------------- AASCE JPEGs, DPI


@pytest.mark.shared
def test_aasce_jpegs_have_no_spacing(shared_data: Path) -> None:
    images = sorted((shared_data / "aasce-dev" / "images").glob("*.jpg"))
    assert len(images) == 43
    for path in images:
        r = load_radiograph(path)
        assert r.format is ImageFormat.JPEG and r.pixels.dtype == np.uint8
        assert not r.calibration.calibrated
        assert r.patient.age_years is None and r.view is None
        assert r.display is r.pixels  # 8-bit greyscale is already a display image


@pytest.mark.shared
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_dpi_tag_is_never_a_spacing(shared_data: Path, tmp_path: Path, suffix: str) -> None:
    source = sorted((shared_data / "aasce-dev" / "images").glob("*.jpg"))[0]
    path = tmp_path / f"with_dpi{suffix}"
    with Image.open(source) as img:
        img.save(path, dpi=(300, 300))
    with Image.open(path) as written:
        assert round(written.info["dpi"][0]) == 300
    r = load_radiograph(path)
    assert r.calibration.mm_per_px is None
    assert "dpi tag is not a patient spacing" in r.calibration.rule
    assert radiograph_info(r)["mm_per_px"] is None


# ----------------------------------------------------------------------------- pictures


def test_rgb_png_becomes_grey_with_a_note(tmp_path: Path) -> None:
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    r = load_radiograph(tmp_path / "colour.png")
    assert r.pixels.shape == (20, 30) and r.pixels.dtype == np.uint8
    assert int(r.pixels[0, 0]) == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    assert any("converted to greyscale" in w for w in r.warnings)

    grey = np.repeat(gradient(20, 30, high=255, dtype=np.uint8)[..., None], 3, axis=2)
    Image.fromarray(grey).save(tmp_path / "grey_rgb.png")
    r = load_radiograph(tmp_path / "grey_rgb.png")
    np.testing.assert_array_equal(r.pixels, grey[..., 0])
    assert any("equal channels" in w for w in r.warnings)


def test_16_bit_png_keeps_values_and_stretches_display(tmp_path: Path) -> None:
    pixels = gradient(40, 30, high=3000)
    Image.fromarray(pixels).save(tmp_path / "deep.png")
    r = load_radiograph(tmp_path / "deep.png")
    np.testing.assert_array_equal(r.pixels, pixels)
    assert r.bits_stored == 16 and r.display_transform.voi is VoiSource.PERCENTILES
    assert r.display.min() == 0 and r.display.max() == 255


def test_multipage_tiff_needs_a_frame(tmp_path: Path) -> None:
    pages = [Image.fromarray(gradient(10, 12, high=255, dtype=np.uint8) // (i + 1)) for i in range(3)]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    with pytest.raises(UnreadableImageError, match="TIFF with 3 pages; choose one with --frame"):
        load_radiograph(path)
    np.testing.assert_array_equal(load_radiograph(path, frame=2).pixels, np.asarray(pages[2]))


# ----------------------------------------------------------------------------- broken input


@pytest.mark.shared
@pytest.mark.parametrize("name", ["RG2_UNC", "RG2_J2KR", "RG2_JPLL"])
@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_dicom(dicom_dir: Path, tmp_path: Path, name: str, keep: float) -> None:
    data = (dicom_dir / name).read_bytes()
    path = tmp_path / f"{name}_cut"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    assert "truncated" in one_line_error(exc, path)


def test_truncated_synthetic_dicom(tmp_path: Path) -> None:
    full = dx_file(tmp_path / "full.dcm", gradient(200, 100))
    for cut in (0.9, 0.5):
        path = tmp_path / f"cut{cut}.dcm"
        data = full.read_bytes()
        path.write_bytes(data[: int(len(data) * cut)])
        with pytest.raises(UnreadableImageError) as exc:
            load_radiograph(path)
        assert "the pixel data are truncated" in one_line_error(exc, path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    full = tmp_path / "full.jpg"
    Image.fromarray(gradient(300, 200, high=255, dtype=np.uint8)).save(full, quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.read_bytes()[:1500])
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    assert "cannot read the JPEG file" in one_line_error(exc, path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.dcm"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    assert "not a DICOM, PNG, JPEG or TIFF file" in one_line_error(exc, path)


@pytest.mark.parametrize(
    "make, expected",
    [
        pytest.param(lambda p: p.write_bytes(b""), "the file is empty", id="empty"),
        pytest.param(lambda p: None, "no such file", id="missing"),
        pytest.param(lambda p: p.mkdir(), "is a folder", id="folder"),
    ],
)
def test_not_a_file(tmp_path: Path, make, expected: str) -> None:
    path = tmp_path / "x.dcm"
    make(path)
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    assert expected in one_line_error(exc, path)


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    ds = dx_dataset()
    del ds.PixelData
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR
    for keyword in (
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "SamplesPerPixel",
        "PhotometricInterpretation",
    ):
        delattr(ds, keyword)
    path = write(ds, tmp_path / "report.dcm")
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    assert "without pixel data" in one_line_error(exc, path)
    assert "Basic Text SR Storage object, not an image" in str(exc.value)


def test_image_header_without_pixel_data_is_damaged(tmp_path: Path) -> None:
    ds = dx_dataset()
    del ds.PixelData
    path = write(ds, tmp_path / "headless.dcm")
    with pytest.raises(UnreadableImageError, match="without pixel data .* truncated or damaged"):
        load_radiograph(path)


def test_multiframe_is_refused_unless_a_frame_is_chosen(tmp_path: Path) -> None:
    frames = np.stack([gradient(30, 20, high=1000 * (i + 1)) for i in range(3)])
    path = dx_file(tmp_path / "cine.dcm", frames)
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    assert "multi-frame image (3 frames)" in one_line_error(exc, path)
    assert "choose one with --frame (0..2)" in str(exc.value)
    r = load_radiograph(path, frame=1)
    np.testing.assert_array_equal(r.pixels, frames[1])
    assert (r.frames, r.frame) == (3, 1)
    assert "frame 1 of 3" in format_info_text(radiograph_info(r))
    with pytest.raises(UnreadableImageError, match="frame 3 is out of range; the file has 3 frames"):
        load_radiograph(path, frame=3)


def test_dicom_without_preamble_is_recognised_by_content(tmp_path: Path) -> None:
    pixels = gradient(16, 12)
    ds = dx_dataset(pixels, PixelSpacing=[0.15, 0.15], ImagerPixelSpacing=[0.18, 0.18])
    meta_only = tmp_path / "no_preamble"  # file meta but no preamble
    ds.save_as(meta_only, enforce_file_format=False)
    assert meta_only.read_bytes()[128:132] != b"DICM"
    r = load_radiograph(meta_only)
    np.testing.assert_array_equal(r.pixels, pixels)
    assert r.calibration.plane is CalibrationPlane.PATIENT_CALIBRATED

    bare = tmp_path / "acr_nema_style"  # no preamble and no file meta at all
    del ds.file_meta
    ds.preamble = None
    pydicom.dcmwrite(bare, ds, implicit_vr=True, little_endian=True)
    assert bare.read_bytes()[:2] == b"\x08\x00"
    r = load_radiograph(bare)
    np.testing.assert_array_equal(r.pixels, pixels)
    assert any("no File Meta Information" in w for w in r.warnings)


def test_missing_decoder_names_syntax_and_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = dx_dataset(gradient(32, 32))
    ds.compress(RLELossless)
    path = write(ds, tmp_path / "rle.dcm")
    monkeypatch.setattr(Decoder, "is_available", property(lambda self: False))
    with pytest.raises(MissingDecoderError) as exc:
        load_radiograph(path)
    message = one_line_error(exc, path)
    assert "no decoder installed for its pixel data, RLE Lossless (1.2.840.10008.1.2.5)" in message
    assert "pylibjpeg-rle" in message


@pytest.mark.shared
def test_missing_jpeg_lossless_decoder_points_to_gdcm(
    dicom_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Decoder, "is_available", property(lambda self: False))
    with pytest.raises(MissingDecoderError) as exc:
        load_radiograph(dicom_dir / "RG2_JPLL")
    message = str(exc.value)
    assert "JPEG Lossless, Non-Hierarchical, First-Order Prediction" in message
    assert "1.2.840.10008.1.2.4.70" in message
    assert "python-gdcm" in message and "pylibjpeg-libjpeg (GPL-3.0)" in message


def test_video_transfer_syntax_is_refused(tmp_path: Path) -> None:
    ds = dx_dataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    path = write(ds, tmp_path / "video.dcm")
    with pytest.raises(UnreadableImageError, match="not a still-image syntax"):
        load_radiograph(path)


def _rle_file(path: Path, pixels: np.ndarray, pixel_data_length: int | None) -> Path:
    """An RLE Lossless film whose Pixel Data element declares *pixel_data_length* (None: the undefined length)."""
    ds = dx_dataset(pixels)
    ds.compress(RLELossless)
    data = bytearray(write(ds, path).read_bytes())
    at = data.rindex(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")  # (7FE0,0010) OB, undefined length
    length = len(data) - (at + 12) if pixel_data_length is None else pixel_data_length
    if pixel_data_length is not None:
        data[at + 8 : at + 12] = length.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def test_encapsulated_pixel_data_declaring_more_than_the_file_holds_are_truncated(tmp_path: Path) -> None:
    # fuzzing (seed 34): a flipped bit turned the undefined length into 4 294 836 223 bytes, and the
    # decoder's reader allocated all of it (MemoryError) before finding the file shorter
    pixels = gradient(32, 24)
    path = _rle_file(tmp_path / "long.dcm", pixels, 0xFFFDFFFF)
    for read in (load_radiograph, read_radiograph_header):
        with pytest.raises(UnreadableImageError) as exc:
            read(path)
        message = one_line_error(exc, path)
        assert (
            "the pixel data are truncated: the element declares 4294836223 bytes, the file holds" in message
        )
        assert "RLE Lossless" in message
    # a defined length that the file holds (not what PS3.5 A.4 asks, but readable) still decodes
    exact = tmp_path / "exact.dcm"
    exact.write_bytes(_rle_file(tmp_path / "tmp.dcm", pixels, None).read_bytes())
    data = bytearray(exact.read_bytes())
    at = data.rindex(b"\xe0\x7f\x10\x00OB\x00\x00")
    data[at + 8 : at + 12] = (len(data) - (at + 12)).to_bytes(4, "little")
    exact.write_bytes(bytes(data))
    np.testing.assert_array_equal(load_radiograph(exact).pixels, pixels)


_UNDER_A_MEMORY_LIMIT = """
import resource, sys
from spinecheck.landmarks.errors import UnreadableImageError
from spinecheck.landmarks.imaging.radiograph import load_radiograph
with open("/proc/self/status") as f:
    mapped = next(int(line.split()[1]) for line in f if line.startswith("VmSize")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (mapped + (1 << 30), resource.RLIM_INFINITY))
try:
    load_radiograph(sys.argv[1])
except UnreadableImageError as exc:
    print(exc)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc: Linux")
def test_an_element_in_a_sequence_declaring_gigabytes_is_refused_not_allocated(tmp_path: Path) -> None:
    # fuzzing (seed 35): a flipped bit in a length inside a sequence item made pydicom allocate it all,
    # a MemoryError where the address space is limited (no stop_when is asked inside sequences)
    item = pydicom.Dataset()
    item.CodeValue, item.LongCodeValue = "R-10206", "x" * 70
    item.is_undefined_length_sequence_item = True
    ds = dx_dataset(gradient(32, 24), ViewCodeSequence=[item])
    ds["ViewCodeSequence"].is_undefined_length = True  # as films write them: read from the file, not a value
    data = bytearray(write(ds, tmp_path / "tmp.dcm").read_bytes())
    at = data.index(b"\x08\x00\x19\x01UC\x00\x00")  # (0008,0119) Long Code Value, a 4-byte length
    data[at + 8 : at + 12] = (0xF0000000).to_bytes(4, "little")
    path = tmp_path / "bomb.dcm"
    path.write_bytes(bytes(data))
    out = subprocess.run(
        [sys.executable, "-c", _UNDER_A_MEMORY_LIMIT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert "not a readable DICOM file (an element declares 4026531840 bytes, the file holds" in out.stdout


def _palette_film(path: Path, pixels: np.ndarray, *, with_table: bool) -> Path:
    """An 8-bit PALETTE COLOR film; with its Palette Color Lookup Table (red rises, green falls, blue 0)."""
    ds = dx_dataset(pixels, PhotometricInterpretation="PALETTE COLOR")
    if with_table:
        rising = (np.arange(256, dtype="<u2") * 256).tobytes()
        for colour, table in (("Red", rising), ("Green", rising[::-1]), ("Blue", bytes(512))):
            set_raw(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
            set_raw(ds, f"{colour}PaletteColorLookupTableData", table)
    return write(ds, path)


def test_palette_colour_film_is_shown_as_grey_of_its_palette(tmp_path: Path) -> None:
    pixels = gradient(16, 12, high=255, dtype=np.uint8)
    r = load_radiograph(_palette_film(tmp_path / "palette.dcm", pixels, with_table=True))
    red = pixels.astype(np.float64) * 256
    green = np.frombuffer((np.arange(256, dtype="<u2") * 256).tobytes()[::-1], dtype="<u2")[pixels]
    np.testing.assert_allclose(r.pixels, np.rint(0.299 * red + 0.587 * green), atol=1)
    assert any("PALETTE COLOR image: palette applied" in w for w in r.warnings)


def test_palette_colour_film_without_its_palette_is_refused_in_one_line(tmp_path: Path) -> None:
    # fuzzing (seed 34): pydicom's ValueError came out as an internal error
    path = _palette_film(
        tmp_path / "no_palette.dcm", gradient(16, 12, high=255, dtype=np.uint8), with_table=False
    )
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    message = one_line_error(exc, path)
    assert "Photometric Interpretation is PALETTE COLOR, but its palette cannot be applied" in message
    assert "Palette Color Lookup Table Module" in message


def test_j2k_synthetic_roundtrip(tmp_path: Path) -> None:
    pixels = gradient(64, 48, high=60000)
    ds = dx_dataset(pixels)
    ds.compress(JPEG2000Lossless, pixels)
    r = load_radiograph(write(ds, tmp_path / "j2k.dcm"))
    np.testing.assert_array_equal(r.pixels, pixels)


def _pydicom_j2k(path: Path) -> np.ndarray:
    """Decode as pydicom does, through the same plugin (pylibjpeg-openjpeg)."""
    from pydicom.pixels import pixel_array

    return pixel_array(pydicom.dcmread(path), decoding_plugin="pylibjpeg")


def _assert_direct_j2k_is_pydicoms(path: Path) -> None:
    """The memory-lean JPEG 2000 route is taken, and gives pydicom's array, bit for bit."""
    from spinecheck.landmarks.imaging.pixel_decoding import _decode_j2k_direct

    direct = _decode_j2k_direct(pydicom.dcmread(path, defer_size="1 KB"), None)  # streamed from the file
    in_memory = _decode_j2k_direct(pydicom.dcmread(path), None)  # Pixel Data already read
    expected = _pydicom_j2k(path)
    for got in (direct, in_memory):
        assert got is not None
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    r = load_radiograph(path)
    assert r.pixels.dtype == expected.dtype
    np.testing.assert_array_equal(r.pixels, expected)


@pytest.mark.shared
def test_direct_j2k_decoding_is_pydicoms_on_rg2(dicom_dir: Path) -> None:
    for name in ("RG2_J2KR", "RG2_J2KI"):
        _assert_direct_j2k_is_pydicoms(dicom_dir / name)


@pytest.mark.parametrize(
    ("dtype", "bits_stored", "fragments"),
    [("uint16", 16, 1), ("uint16", 12, 1), ("int16", 12, 1), ("uint8", 8, 1), ("uint16", 16, 3)],
)
def test_direct_j2k_decoding_is_pydicoms_on_a_tall_film(
    tmp_path: Path, dtype: str, bits_stored: int, fragments: int
) -> None:
    rng = np.random.default_rng(3)
    rows, cols = 700, 260
    info = np.iinfo(dtype)
    lo, hi = (
        (-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if info.min < 0 else (0, 2**bits_stored - 1)
    )
    ramp = np.linspace(lo, hi, rows)[:, None] * np.ones((1, cols))
    pixels = np.clip(ramp + rng.normal(0, 30, (rows, cols)), lo, hi).astype(dtype)
    ds = dx_dataset(pixels, BitsStored=bits_stored, HighBit=bits_stored - 1)
    ds.compress(JPEG2000Lossless, pixels)
    if fragments > 1:
        frame = pydicom.encaps.get_frame(ds.PixelData, 0, number_of_frames=1)
        ds.PixelData = pydicom.encaps.encapsulate([frame], fragments_per_frame=fragments)
    path = write(ds, tmp_path / "tall_j2k.dcm")
    _assert_direct_j2k_is_pydicoms(path)
    np.testing.assert_array_equal(load_radiograph(path).pixels, pixels)


def test_j2k_the_direct_route_declines_goes_through_pydicom(tmp_path: Path) -> None:
    """A codestream whose precision is not Bits Stored is left to pydicom (and its warning)."""
    from spinecheck.landmarks.imaging.pixel_decoding import _decode_j2k_direct

    pixels = gradient(64, 48, high=4000)
    ds = dx_dataset(pixels, BitsStored=12, HighBit=11)
    ds.compress(JPEG2000Lossless, pixels)
    ds.BitsStored, ds.HighBit = 14, 13
    path = write(ds, tmp_path / "precision.dcm")
    assert _decode_j2k_direct(pydicom.dcmread(path, defer_size="1 KB"), None) is None
    r = load_radiograph(path)
    np.testing.assert_array_equal(r.pixels, _pydicom_j2k(path))


def test_malformed_header_values_never_stop_loading(tmp_path: Path) -> None:
    ds = dx_dataset(
        PixelSpacing=[0.2, 0.2],
        PatientAge="067Y",
        PatientBirthDate="19500101",
        StudyDate="20200101",
        PatientSex="M",
        WindowCenter="100",
        WindowWidth="200",
    )
    path = write(
        ds,
        tmp_path / "bad.dcm",
        patches={
            b"0.2\\0.2 ": b"abc\\0.2 ",
            b"067Y": b"6x7Y",
            b"19500101": b"1950-1-1",
            b"\x10\x00\x40\x00CS\x02\x00M ": b"\x10\x00\x40\x00CS\x02\x00X ",
        },
    )
    r = load_radiograph(path)
    assert not r.calibration.calibrated
    assert "Pixel Spacing 'abc\\0.2' is not two numbers" in r.calibration.rule
    assert r.patient.age_years is None and r.patient.sex is None
    text = " | ".join(r.warnings)
    assert "1950" not in text  # a birth date is never shown (issue 13)
    for expected in (
        "Patient's Age '6x7Y' is not a DICOM age",
        "Patient's Birth Date (value not shown) is not a DICOM date",
        "Patient's Sex 'X' is not M, F or O",
    ):
        assert expected in text


# ----------------------------------------------------------------------------- rule 1 and info


def test_choose_calibration_user_always_wins(tmp_path: Path) -> None:
    r = load_radiograph(dx_file(tmp_path / "ips.dcm", ImagerPixelSpacing=[0.3, 0.3]))
    header = r.calibration
    assert choose_calibration(None, header) is header
    user = Calibration.from_ball([[125, 100], [100, 125], [75, 100], [100, 75]], 25.0)
    chosen = choose_calibration(user, header)
    assert chosen.mm_per_px == (0.5, 0.5) and chosen.source is CalibrationSource.USER_BALL
    assert chosen.plane is CalibrationPlane.USER and chosen.warnings == ()
    assert chosen.rule.startswith(user.rule)
    assert "overrides the image header: 0.3 mm/px from ImagerPixelSpacing (detector)" in chosen.rule
    assert chosen.extra["overridden"]["mm_per_px"] == [0.3, 0.3]
    over_none = choose_calibration(user, Calibration.none("JPEG image: no pixel spacing"))
    assert "the image header has no usable spacing (JPEG image: no pixel spacing" in over_none.rule


@pytest.mark.parametrize(
    "attrs, line",
    [
        pytest.param(
            {
                "PixelSpacing": [0.14, 0.14],
                "ImagerPixelSpacing": [0.16, 0.16],
                "PixelSpacingCalibrationType": "GEOMETRY",
            },
            "Calibration  0.14 mm/px in the patient, calibrated (Pixel Spacing)",
            id="calibrated",
        ),
        pytest.param(
            {"ImagerPixelSpacing": [0.4, 0.4], "EstimatedRadiographicMagnificationFactor": 1.25},
            "Calibration  0.32 mm/px in the patient, ERMF-corrected estimate (Imager Pixel Spacing / ERMF)",
            id="ermf",
        ),
        pytest.param(
            {"PixelSpacing": [0.2, 0.25]},
            "Calibration  0.2 × 0.25 mm/px (row × column) at the detector (Pixel Spacing) — distances "
            "overstated by the radiographic magnification",
            id="anisotropic",
        ),
        pytest.param(
            {}, "Calibration  none — no Pixel Spacing or Imager Pixel Spacing in the header", id="none"
        ),
    ],
)
def test_info_text_calibration_line(tmp_path: Path, attrs: dict, line: str) -> None:
    r = load_radiograph(dx_file(tmp_path / "c.dcm", **attrs))
    assert line in format_info_text(radiograph_info(r))


def test_info_text_of_a_full_header(tmp_path: Path) -> None:
    path = dx_file(
        tmp_path / "lat.dcm",
        PixelSpacing=[0.15, 0.15],
        PatientAge="067Y",
        PatientSex="F",
        ViewPosition="LL",
        PatientOrientation=["A", "F"],
        StudyDate="20240102",
        WindowCenter="2000",
        WindowWidth="4000",
    )
    text = format_info_text(radiograph_info(load_radiograph(path)))
    assert "Age          67 years (DICOM PatientAge)" in text
    assert "Sex          F (DICOM PatientSex)" in text
    assert "View         lateral (View Position LL)" in text
    assert "Orientation  A\\F" in text
    assert "Study date   2024-01-02" in text
    assert "Display      Window Center/Width 2000/4000 (LINEAR), minimum displayed black" in text
    assert text.count(DETECTOR_WARNING) == 0  # said on the calibration line, not repeated


@pytest.mark.parametrize(
    "modality, words",
    [
        pytest.param("CT", "Modality: CT (computed tomography) is not a projection radiograph", id="CT"),
        pytest.param("MR", "Modality: MR (magnetic resonance) is not a projection radiograph", id="MR"),
        pytest.param("US", "Modality: US (ultrasound) is not a projection radiograph", id="US"),
        pytest.param("MG", "Modality: MG (mammography) is not a film of the spine", id="MG"),
        pytest.param("X\x01Y", "Modality: 'X\\x01Y' is not a projection radiograph", id="hostile"),
    ],
)
def test_a_non_projection_modality_is_refused_naming_it(tmp_path: Path, modality: str, words: str) -> None:
    path = write(dx_dataset(Modality=modality), tmp_path / "slice.dcm")
    with pytest.raises(UnreadableImageError) as exc:
        load_radiograph(path)
    message = one_line_error(exc, path)
    assert words in message and message.endswith("(expected CR, DX, RG, RF, XA or OT)")


@pytest.mark.parametrize("modality", ["CR", "DX", "RG", "RF", "XA", "OT", "dx ", None])
def test_a_projection_modality_or_none_is_loaded(tmp_path: Path, modality: str | None) -> None:
    r = load_radiograph(write(dx_dataset(Modality=modality), tmp_path / "film.dcm"))
    assert r.rows == 64 and r.modality == (modality.strip() if modality else None)
