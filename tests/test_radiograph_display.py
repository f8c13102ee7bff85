"""The display image: Modality LUT, VOI (LUT, window, percentiles) and polarity (clinical.md §5).

Every fast path (float32 blocks, uint8 lookup tables) is checked against a plain
float64 evaluation of the standard's formulas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from radiograph_factory import dx_dataset, dx_file, gradient, write
from spinecheck.landmarks.imaging.display import DisplayTransform, LookupTable, VoiFunction, VoiSource, Window
from spinecheck.landmarks.imaging.radiograph import load_radiograph


def reference_linear(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1, written out with the standard's three cases, to 0..255."""
    x = x.astype(np.float64)
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
    y = np.where(x <= c - 0.5 - (w - 1) / 2, 0, y)
    y = np.where(x > c - 0.5 + (w - 1) / 2, 255, y)
    return y


def assert_close_to(display: np.ndarray, expected: np.ndarray) -> None:
    """Within one grey level (float32 blocks round ties differently from float64)."""
    assert display.dtype == np.uint8
    assert np.abs(display.astype(int) - np.rint(expected).astype(int)).max() <= 1


def test_linear_window_matches_the_standard(tmp_path: Path) -> None:
    pixels = gradient(80, 60, high=4095)
    r = load_radiograph(dx_file(tmp_path / "w.dcm", pixels, WindowCenter="1000", WindowWidth="1500"))
    assert r.display_transform.voi is VoiSource.WINDOW
    assert_close_to(r.display, reference_linear(pixels, 1000, 1500))


def test_rescale_is_applied_before_the_window(tmp_path: Path) -> None:
    pixels = gradient(50, 40, high=4095)
    r = load_radiograph(
        dx_file(
            tmp_path / "r.dcm",
            pixels,
            RescaleSlope="-0.5",
            RescaleIntercept="3000",
            WindowCenter="2000",
            WindowWidth="1200",
        )
    )
    assert_close_to(r.display, reference_linear(pixels * -0.5 + 3000, 2000, 1200))
    np.testing.assert_array_equal(r.pixels, pixels)  # stored values untouched


def test_linear_exact_and_sigmoid(tmp_path: Path) -> None:
    pixels = gradient(40, 40, high=4095)
    exact = load_radiograph(
        dx_file(
            tmp_path / "e.dcm", pixels, WindowCenter="2048", WindowWidth="1000", VOILUTFunction="LINEAR_EXACT"
        )
    )
    assert_close_to(exact.display, np.clip((pixels - 2048.0) / 1000 + 0.5, 0, 1) * 255)
    sigmoid = load_radiograph(
        dx_file(tmp_path / "s.dcm", pixels, WindowCenter="2048", WindowWidth="1000", VOILUTFunction="SIGMOID")
    )
    assert_close_to(sigmoid.display, 255 / (1 + np.exp(-4 * (pixels - 2048.0) / 1000)))


def test_signed_pixels(tmp_path: Path) -> None:
    pixels = (gradient(40, 30, high=4000).astype(np.int32) - 2000).astype(np.int16)
    r = load_radiograph(
        dx_file(tmp_path / "s.dcm", pixels, WindowCenter="-500", WindowWidth="2000", VOILUTFunction="SIGMOID")
    )  # sigmoid: the lookup-table path
    assert r.pixels.dtype == np.int16
    np.testing.assert_array_equal(r.pixels, pixels)
    assert_close_to(r.display, 255 / (1 + np.exp(-4 * (pixels + 500.0) / 2000)))


def test_voi_lut_sequence(tmp_path: Path) -> None:
    pixels = gradient(30, 30, high=1023)
    item = Dataset()
    item.add_new(0x00283002, "US", [1024, 0, 12])  # LUT Descriptor
    item.add_new(0x00283006, "US", [int(v) for v in np.rint(4095 * (np.arange(1024) / 1023) ** 2)])
    ds = dx_dataset(pixels, WindowCenter="100", WindowWidth="10")  # the LUT wins over the window
    ds.VOILUTSequence = [item]
    r = load_radiograph(write(ds, tmp_path / "voi.dcm"))
    assert r.display_transform.voi is VoiSource.VOI_LUT
    assert_close_to(r.display, 255 * (pixels / 1023.0) ** 2)


def test_modality_lut_sequence(tmp_path: Path) -> None:
    pixels = gradient(30, 30, high=255, dtype=np.uint8)
    item = Dataset()
    item.add_new(0x00283002, "US", [256, 0, 16])  # LUT Descriptor
    item.ModalityLUTType = "US"
    item.add_new(0x00283006, "US", [int(v) for v in 4 * (255 - np.arange(256))])  # a reversing table
    ds = dx_dataset(pixels, WindowCenter="512", WindowWidth="1024")
    ds.ModalityLUTSequence = [item]
    r = load_radiograph(write(ds, tmp_path / "mod.dcm"))
    assert_close_to(r.display, reference_linear(4 * (255 - pixels.astype(float)), 512, 1024))


@pytest.mark.parametrize(
    "photometric, shape, inverted, note",
    [
        pytest.param("MONOCHROME2", None, False, None, id="M2"),
        pytest.param("MONOCHROME2", "IDENTITY", False, None, id="M2-identity"),
        pytest.param(
            "MONOCHROME2",
            "INVERSE",
            True,
            "Presentation LUT Shape INVERSE on a MONOCHROME2 image",
            id="M2-inverse-flips",
        ),
        pytest.param("MONOCHROME1", None, True, None, id="M1"),
        pytest.param("MONOCHROME1", "INVERSE", True, None, id="M1-inverse-is-one-inversion"),
        pytest.param("MONOCHROME1", "IDENTITY", True, "contradicts MONOCHROME1", id="M1-identity-conflict"),
    ],
)
def test_polarity(
    tmp_path: Path, photometric: str, shape: str | None, inverted: bool, note: str | None
) -> None:
    pixels = gradient(20, 20, high=1000)
    r = load_radiograph(
        dx_file(
            tmp_path / "p.dcm",
            pixels,
            PhotometricInterpretation=photometric,
            PresentationLUTShape=shape,
            WindowCenter="500",
            WindowWidth="1001",
        )
    )
    assert r.display_transform.invert is inverted
    low = np.unravel_index(pixels.argmin(), pixels.shape)
    high = np.unravel_index(pixels.argmax(), pixels.shape)
    assert (r.display[low], r.display[high]) == ((255, 0) if inverted else (0, 255))
    assert any(note in w for w in r.warnings) if note else r.warnings == ()


def test_percentiles_when_no_window_and_padding_is_ignored(tmp_path: Path) -> None:
    pixels = gradient(100, 100, high=1000)
    pixels[:, :30] = 4095  # a padded border, 30 % of the film
    plain = load_radiograph(dx_file(tmp_path / "a.dcm", pixels))
    padded = load_radiograph(dx_file(tmp_path / "b.dcm", pixels, PixelPaddingValue=4095))
    assert plain.display_transform.voi is padded.display_transform.voi is VoiSource.PERCENTILES
    lo, hi = (
        padded.display_transform.window.center + s * padded.display_transform.window.width / 2
        for s in (-1, 1)
    )
    assert lo < 20 and 980 < hi < 1000  # 0.5 and 99.5 % of the real pixels
    assert plain.display_transform.window.width > 3000  # the padding stretched it
    assert "robust percentiles 0.5–99.5 % of the pixels" in padded.display_transform.describe()


@pytest.mark.parametrize(
    "center, width, why",
    [
        pytest.param("100", "0", "unusable", id="zero-width"),
        pytest.param("abc", "100", "unusable", id="letters"),
        pytest.param("90000", "100", "holds 0.0% of the pixels", id="outside-the-data"),
    ],
)
def test_unusable_window_falls_back_to_percentiles(tmp_path: Path, center: str, width: str, why: str) -> None:
    if center == "abc":  # pydicom will not even hold letters in a DS: patch the file's bytes
        ds = dx_dataset(gradient(50, 50, high=4000), WindowCenter="123", WindowWidth=width)
        path = write(ds, tmp_path / "w.dcm", patches={b"DS\x04\x00123 ": b"DS\x04\x00abc "})
    else:
        path = dx_file(
            tmp_path / "w.dcm", gradient(50, 50, high=4000), WindowCenter=center, WindowWidth=width
        )
    r = load_radiograph(path)
    assert r.display_transform.voi is VoiSource.PERCENTILES
    assert any(why in w for w in r.warnings), r.warnings
    assert r.display.min() == 0 and r.display.max() == 255


def test_several_windows_use_the_first(tmp_path: Path) -> None:
    pixels = gradient(30, 30, high=4000)
    r = load_radiograph(
        dx_file(tmp_path / "w.dcm", pixels, WindowCenter=["1000", "3000"], WindowWidth=["1000", "500"])
    )
    assert r.display_transform.window == Window(1000, 1000)
    assert "2 windows in the header: the first used" in r.warnings


def test_fast_paths_agree_with_the_reference() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 65536, size=(300, 257), dtype=np.uint16)
    window = DisplayTransform(VoiSource.WINDOW, Window(30000, 20000), rescale=(0.5, 100.0), invert=True)
    affine = window.apply(pixels)
    lut = window._grey(pixels)  # the float64 formula
    assert np.abs(affine.astype(int) - lut.astype(int)).max() <= 1
    table = LookupTable(0, np.linspace(0, 1000, 65536))
    curved = DisplayTransform(VoiSource.WINDOW, Window(500, 400, VoiFunction.SIGMOID), modality_lut=table)
    np.testing.assert_array_equal(curved.apply(pixels), curved._grey(pixels))


def test_large_films_render_the_same_in_two_threads() -> None:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 4096, size=(2101, 2000), dtype=np.uint16)  # 4.2 million pixels
    for t in (
        DisplayTransform(VoiSource.WINDOW, Window(2000, 3000), invert=True),
        DisplayTransform(VoiSource.WINDOW, Window(2000, 3000, VoiFunction.SIGMOID)),
    ):
        shown = t.apply(pixels)
        assert np.abs(shown.astype(int) - t._grey(pixels).astype(int)).max() <= 1


def test_float_and_wide_pixels_use_blocks() -> None:
    pixels = np.linspace(-1, 1, 5000, dtype=np.float32).reshape(50, 100)
    t = DisplayTransform(VoiSource.PERCENTILES)
    shown = t.apply(pixels)
    assert shown.dtype == np.uint8 and shown[0, 0] == 0 and shown[-1, -1] == 255
    wide = (np.arange(5000, dtype=np.uint32) * 1000).reshape(50, 100)
    shown = DisplayTransform(VoiSource.WINDOW, Window(2.5e6, 5e6, VoiFunction.SIGMOID)).apply(wide)
    assert shown[0, 0] < 40 and shown[-1, -1] > 215


def test_eight_bit_dicom_without_window_is_stretched(tmp_path: Path) -> None:
    pixels = (gradient(40, 40, high=100, dtype=np.uint8) + 50).astype(np.uint8)
    r = load_radiograph(dx_file(tmp_path / "sc.dcm", pixels))
    assert r.display_transform.voi is VoiSource.PERCENTILES
    assert r.display.min() == 0 and r.display.max() == 255


def test_rgb_dicom_becomes_its_luma(tmp_path: Path) -> None:
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 200, 30
    ds = dx_dataset(gradient(10, 12, dtype=np.uint8))
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.PixelData = rgb.tobytes()
    r = load_radiograph(write(ds, tmp_path / "rgb.dcm"))
    assert r.pixels.shape == (10, 12) and r.pixels[0, 0] == round(0.299 * 10 + 0.587 * 200 + 0.114 * 30)
    assert any("RGB colour image converted to greyscale" in w for w in r.warnings)
    assert r.display is not None and r.display_transform.voi is VoiSource.AS_STORED


@pytest.mark.parametrize(
    ("attrs", "same_array"),
    [
        pytest.param({}, True, id="M2-stored-values-as-they-are"),
        pytest.param({"RescaleSlope": "2", "RescaleIntercept": "-100"}, True, id="M2-increasing-rescale"),
        pytest.param({"PhotometricInterpretation": "MONOCHROME1"}, False, id="M1-negated"),
        pytest.param({"RescaleSlope": "-0.5", "RescaleIntercept": "3000"}, False, id="M2-decreasing-rescale"),
        pytest.param({"PresentationLUTShape": "INVERSE"}, False, id="M2-inverse-negated"),
    ],
)
def test_analysis_image_is_bone_bright_with_every_grey_level(
    tmp_path: Path, attrs: dict, same_array: bool
) -> None:
    """Refinement reads ``analysis``: bright where the display is bright, never windowed or quantised."""
    pixels = gradient(60, 50, high=4095)
    r = load_radiograph(dx_file(tmp_path / "a.dcm", pixels, WindowCenter="2000", WindowWidth="400", **attrs))
    a = r.analysis
    assert (a is r.pixels) is same_array
    assert not a.flags.writeable and a.shape == pixels.shape
    assert np.unique(a).size == np.unique(pixels).size  # the window clips and quantises; analysis does not
    brighter = r.display.astype(int)[:, 1:] - r.display.astype(int)[:, :-1]
    steps = np.sign(a[:, 1:].astype(np.float64) - a[:, :-1])
    assert np.all(steps[brighter > 0] > 0) and np.all(steps[brighter < 0] < 0)  # same polarity as the display
    if not same_array:
        assert a.dtype == np.float32
        np.testing.assert_allclose(np.abs(a), np.abs(r.display_transform.modality_values(pixels)), rtol=1e-6)
