"""The JPEG 2000 binding to pylibjpeg-openjpeg's OpenJPEG: used only where verified, else pydicom's route.

:mod:`spinecheck.landmarks.imaging.pixel_decoding` calls OpenJPEG through pylibjpeg-openjpeg's private
extension for a lower peak memory. These tests check that the binding and pydicom's public route give
the same pixels, and that every kind of mismatch (release outside the pin, no extension, no shared
library, another OpenJPEG, a missing function) leaves the image to pydicom, with the same pixels.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openjpeg  # noqa: F401  (imported now: pydicom's plugin keeps its own reference when a test hides it)
import pydicom
import pytest
from pydicom.pixels import pixel_array
from spinecheck.landmarks.imaging import pixel_decoding
from spinecheck.landmarks.imaging.pixel_decoding import _decode_j2k_direct, _openjpeg_library, decode_pixels
from spinecheck.landmarks.imaging.radiograph import load_radiograph

J2K_FILES = [
    "RG2_J2KR",
    "RG2_J2KI",
    "DX_imager_spacing_only_J2KR.dcm",
    "DX_chest_MONOCHROME1_inverse_J2KR.dcm",
]


@pytest.fixture
def dicom_dir(shared_data: Path) -> Path:
    return shared_data / "dicom"


@pytest.fixture
def fresh_binding() -> Iterator[None]:
    """The binding looked up again in the test, and again after it (the lookup is cached)."""
    _openjpeg_library.cache_clear()
    yield
    _openjpeg_library.cache_clear()


class _Library:
    """A loaded library with one function hidden or its OpenJPEG version replaced."""

    def __init__(self, lib: Any, *, hide: str = "", version: bytes = b"") -> None:
        self._lib, self._hide, self._version = lib, hide, version

    def __getattr__(self, name: str) -> Any:
        if name == self._hide:
            raise AttributeError(f"{name}: undefined symbol")
        if name == "opj_version" and self._version:
            version = self._version

            def opj_version() -> bytes:
                return version

            return opj_version
        return getattr(self._lib, name)


def _release(version: str) -> Callable[[str], str]:
    real = importlib.metadata.version

    def fake(name: str) -> str:
        return version if name == "pylibjpeg-openjpeg" else real(name)

    return fake


def _not_installed(name: str) -> str:
    raise importlib.metadata.PackageNotFoundError(name)


def _library(**kwargs: Any) -> Callable[..., _Library]:
    real = ctypes.CDLL

    def load(path: str | None, *args: Any, **kw: Any) -> _Library:
        return _Library(real(path, *args, **kw), **kwargs)

    return load


def _no_shared_library(path: str | None, *args: Any, **kw: Any) -> Any:
    raise OSError(f"{path}: cannot open shared object file")


MISMATCHES = [
    pytest.param(
        importlib.metadata, "version", _release("2.7.0"), "2.7.0 is not one", id="release-above-pin"
    ),
    pytest.param(importlib.metadata, "version", _release("3.0.1"), "3.0.1 is not one", id="next-major"),
    pytest.param(
        importlib.metadata, "version", _release("2.2.1"), "2.2.1 is not one", id="release-below-pin"
    ),
    pytest.param(importlib.metadata, "version", _not_installed, "pylibjpeg-openjpeg", id="not-installed"),
    pytest.param(sys.modules, "_openjpeg", None, "_openjpeg", id="no-extension-module"),
    pytest.param(ctypes, "CDLL", _no_shared_library, "cannot open shared object", id="no-shared-library"),
    pytest.param(ctypes, "CDLL", _library(version=b"2.6.0"), "OpenJPEG 2.6.0", id="other-openjpeg"),
    pytest.param(ctypes, "CDLL", _library(version=b"3.0.0"), "OpenJPEG 3.0.0", id="openjpeg-3"),
    pytest.param(ctypes, "CDLL", _library(hide="opj_decode"), "opj_decode", id="missing-opj_decode"),
    pytest.param(
        ctypes,
        "CDLL",
        _library(hide="opj_stream_set_user_data_length"),
        "opj_stream_set_user_data_length",
        id="missing-stream-function",
    ),
]


def test_the_installed_release_is_bound(fresh_binding: None) -> None:
    """pyproject.toml pins pylibjpeg-openjpeg to the verified releases: the installed one is bound."""
    assert _openjpeg_library() is not None, (
        f"pylibjpeg-openjpeg {importlib.metadata.version('pylibjpeg-openjpeg')} installed, "
        f"verified: {pixel_decoding._VERIFIED_RELEASES}"
    )


@pytest.mark.shared
@pytest.mark.parametrize("name", J2K_FILES)
def test_binding_and_public_route_give_the_same_pixels(
    dicom_dir: Path, fresh_binding: None, name: str
) -> None:
    path = dicom_dir / name
    bound = _decode_j2k_direct(pydicom.dcmread(path, defer_size="1 KB"), None)
    assert bound is not None, "the binding declined a simple greyscale JPEG 2000 film"
    public = pixel_array(pydicom.dcmread(path), decoding_plugin="pylibjpeg")
    assert bound.dtype == public.dtype and bound.shape == public.shape
    np.testing.assert_array_equal(bound, public)


@pytest.mark.shared
@pytest.mark.parametrize(("target", "name", "value", "reason"), MISMATCHES)
def test_a_binding_that_does_not_match_falls_back_to_pydicom(
    dicom_dir: Path,
    fresh_binding: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    target: Any,
    name: str,
    value: Any,
    reason: str,
) -> None:
    path = dicom_dir / "RG2_J2KR"  # lossless: every decoder gives RG2_UNC's pixels
    bound = _decode_j2k_direct(pydicom.dcmread(path, defer_size="1 KB"), None)
    assert bound is not None
    expected = pydicom.dcmread(dicom_dir / "RG2_UNC").pixel_array
    np.testing.assert_array_equal(bound, expected)

    _openjpeg_library.cache_clear()
    if isinstance(target, dict):
        monkeypatch.setitem(target, name, value)
    else:
        monkeypatch.setattr(target, name, value)
    with caplog.at_level(logging.DEBUG, logger=pixel_decoding.__name__):
        assert _openjpeg_library() is None
    assert reason in caplog.text and "decoded through pydicom" in caplog.text

    ds = pydicom.dcmread(path, defer_size="1 KB")
    assert _decode_j2k_direct(ds, None) is None
    fallback = decode_pixels(ds, where=str(path))
    assert fallback.dtype == bound.dtype
    np.testing.assert_array_equal(fallback, bound)
    np.testing.assert_array_equal(load_radiograph(path).pixels, bound)
