"""The JPEG 2000 binding to OpenJPEG: used only where verified, else pydicom's route.

:mod:`spinecheck.landmarks.imaging.pixel_decoding` calls OpenJPEG's C API directly for a lower peak
memory: a thread-enabled OpenJPEG first (the one Pillow's wheel ships), else pylibjpeg-openjpeg's
private extension (built without threads). These tests check that each library, with one thread or
two, and pydicom's public route give the same pixels; that a threaded library which does not match
leaves the film to pylibjpeg-openjpeg's; and that every kind of mismatch of that one (release outside
the pin, no extension, no shared library, another OpenJPEG, a missing function) leaves the image to
pydicom, with the same pixels.
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


@pytest.fixture
def no_threaded_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """No thread-enabled OpenJPEG found: pylibjpeg-openjpeg's is the one to bind, or none."""
    monkeypatch.setattr(pixel_decoding, "_threaded_library_paths", lambda: iter(()))


class _Library:
    """A loaded library with one function hidden or its OpenJPEG version replaced."""

    def __init__(self, lib: Any, *, hide: str = "", version: bytes = b"", threads: int = 1) -> None:
        self._lib, self._hide, self._version, self._threads = lib, hide, version, threads

    def __getattr__(self, name: str) -> Any:
        if name == self._hide:
            raise AttributeError(f"{name}: undefined symbol")
        if name == "opj_has_thread_support" and not self._threads:
            return lambda: 0
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


def test_the_installed_release_is_bound(fresh_binding: None, no_threaded_library: None) -> None:
    """pyproject.toml pins pylibjpeg-openjpeg to the verified releases: the installed one is bound."""
    bound = _openjpeg_library()
    assert bound is not None, (
        f"pylibjpeg-openjpeg {importlib.metadata.version('pylibjpeg-openjpeg')} installed, "
        f"verified: {pixel_decoding._VERIFIED_RELEASES}"
    )
    assert bound.source.startswith("pylibjpeg-openjpeg") and not bound.threaded


def _pillow_openjpeg() -> list[str]:
    files = importlib.metadata.files("pillow") or []
    return [str(f.locate()) for f in files if "openjp2" in f.name]


def test_the_openjpeg_pillow_ships_is_bound_with_threads(fresh_binding: None) -> None:
    """Pillow's wheels carry an OpenJPEG 2.5 built with threads: it is the one that decodes."""
    shipped = _pillow_openjpeg()
    if not shipped:
        pytest.skip("this Pillow links the system's OpenJPEG (built from source), not one of its own")
    bound = _openjpeg_library()
    assert bound is not None and bound.threaded
    assert bound.source == shipped[0]


class _Recorded:
    """A library whose ``opj_codec_set_threads`` calls are recorded: (threads asked, OpenJPEG's answer)."""

    def __init__(self, lib: Any, calls: list[tuple[int, int]]) -> None:
        self._lib, self._calls = lib, calls

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._lib, name)
        if name != "opj_codec_set_threads":
            return fn

        def set_threads(codec: Any, n: int) -> int:
            answer = int(fn(codec, n))
            self._calls.append((n, answer))
            return answer

        return set_threads


BINDINGS = [
    pytest.param("threaded", 2, id="threaded-2-threads"),
    pytest.param("threaded", 1, id="threaded-1-thread"),
    pytest.param("pylibjpeg-openjpeg", 0, id="pylibjpeg-openjpeg"),
]


@pytest.mark.shared
@pytest.mark.parametrize(("binding", "threads"), BINDINGS)
@pytest.mark.parametrize("name", J2K_FILES)
def test_every_library_and_thread_count_gives_pydicoms_pixels(
    dicom_dir: Path,
    fresh_binding: None,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    binding: str,
    threads: int,
) -> None:
    """Lossless and lossy (RG2_J2KI) films: the same array, bit for bit, whichever OpenJPEG and threads."""
    if binding == "threaded":
        bound = _openjpeg_library()
        if bound is None or not bound.threaded:
            pytest.skip("no thread-enabled OpenJPEG 2.5 here")
    else:
        bound = pixel_decoding._bind_openjpeg()
    calls: list[tuple[int, int]] = []
    recorded = pixel_decoding._OpenJpeg(_Recorded(bound.lib, calls), bound.source, bound.threaded)
    monkeypatch.setattr(pixel_decoding, "_openjpeg_library", lambda: recorded)
    monkeypatch.setattr(pixel_decoding, "_decoder_threads", lambda: threads)
    path = dicom_dir / name
    got = _decode_j2k_direct(pydicom.dcmread(path, defer_size="1 KB"), None)
    assert got is not None
    # two threads asked for and granted; one thread or no threaded library: never asked
    assert calls == ([(2, 1)] if threads == 2 else [])
    public = pixel_array(pydicom.dcmread(path), decoding_plugin="pylibjpeg")
    assert got.dtype == public.dtype and got.shape == public.shape
    np.testing.assert_array_equal(got, public)


@pytest.mark.parametrize(
    ("environ", "cores", "threads"),
    [
        pytest.param({}, 2, 2, id="two-cores"),
        pytest.param({}, 16, 16, id="sixteen-cores"),
        pytest.param({}, 1, 0, id="one-core-leaves-it"),
        pytest.param({"OPJ_NUM_THREADS": "3"}, 16, 0, id="OPJ_NUM_THREADS-decides"),
    ],
)
def test_threads_follow_the_cores_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], cores: int, threads: int
) -> None:
    monkeypatch.delenv("OPJ_NUM_THREADS", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(pixel_decoding.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert pixel_decoding._decoder_threads() == threads


THREADED_MISMATCHES = [
    pytest.param(
        _Library(None, hide="opj_has_thread_support"), "opj_has_thread_support", id="no-thread-query"
    ),
    pytest.param(_Library(None, hide="opj_codec_set_threads"), "opj_codec_set_threads", id="no-set-threads"),
    pytest.param(_Library(None, version=b"2.6.0"), "OpenJPEG 2.6.0", id="other-openjpeg"),
    pytest.param(_Library(None, threads=0), "built without threads", id="built-without-threads"),
    pytest.param(None, "cannot open shared object", id="no-shared-library"),
]


@pytest.mark.shared
@pytest.mark.parametrize(("fake", "reason"), THREADED_MISMATCHES)
def test_a_threaded_library_that_does_not_match_leaves_it_to_pylibjpeg_openjpeg(
    dicom_dir: Path,
    fresh_binding: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fake: _Library | None,
    reason: str,
) -> None:
    threaded = "/nowhere/libopenjp2-threaded.so.2.5.4"
    monkeypatch.setattr(pixel_decoding, "_threaded_library_paths", lambda: iter([threaded]))
    if fake is not None and not _pillow_openjpeg():
        pytest.skip("no thread-enabled OpenJPEG 2.5 here to stand behind the fake")
    real = ctypes.CDLL

    def load(path: str, *args: Any, **kw: Any) -> Any:
        if path != threaded:
            return real(path, *args, **kw)
        if fake is None:
            raise OSError(f"{path}: cannot open shared object file")
        fake._lib = real(_pillow_openjpeg()[0])  # a real thread-enabled OpenJPEG 2.5 behind the fake
        return fake

    monkeypatch.setattr(ctypes, "CDLL", load)
    with caplog.at_level(logging.DEBUG, logger=pixel_decoding.__name__):
        bound = _openjpeg_library()
    assert bound is not None and bound.source.startswith("pylibjpeg-openjpeg") and not bound.threaded
    assert reason in caplog.text
    path = dicom_dir / "RG2_J2KR"
    got = _decode_j2k_direct(pydicom.dcmread(path, defer_size="1 KB"), None)
    np.testing.assert_array_equal(got, pydicom.dcmread(dicom_dir / "RG2_UNC").pixel_array)


@pytest.mark.shared
@pytest.mark.parametrize("name", J2K_FILES)
def test_binding_and_public_route_give_the_same_pixels(
    dicom_dir: Path, fresh_binding: None, no_threaded_library: None, name: str
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
    no_threaded_library: None,
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


def test_collected_warnings_are_put_in_order_and_only_from_a_block_that_ends() -> None:
    """A flush puts what was heard so far before what follows; the count goes on; an exception puts nothing."""
    import warnings

    notes: list[str] = []
    collection = pixel_decoding.collect_warnings(notes, "p: ")
    with collection as heard:
        warnings.warn("first\n  of two lines", UserWarning, stacklevel=1)
        logging.getLogger("pydicom").warning("a record")
        collection.flush()
        notes.append("between")
        assert heard() == 2
        warnings.warn("first\n  of two lines", UserWarning, stacklevel=1)  # said again: kept once
        warnings.warn("second", UserWarning, stacklevel=1)
        assert heard() == 4
    assert notes == ["pydicom: a record", "p: first of two lines", "between", "p: second"]
    kept: list[str] = []
    with pytest.raises(ValueError), pixel_decoding.collect_warnings(kept):
        warnings.warn("lost", UserWarning, stacklevel=1)
        raise ValueError("the block fails")
    assert kept == []
    assert not pixel_decoding._listeners().under_way  # nothing left listening
