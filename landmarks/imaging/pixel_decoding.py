"""Decoding DICOM pixel data through pydicom's plugins, with errors that say why.

:func:`decode_pixels` returns one frame's stored values exactly as pydicom
decodes them (unused high bits cleared, no rescale), without copying
uncompressed data it does not have to. It raises
:class:`~spinecheck.landmarks.errors.MissingDecoderError` naming the transfer syntax and
the package to install when no plugin can decode it, and
:class:`~spinecheck.landmarks.errors.UnreadableImageError` with the decoding problem in
one line when the data are broken; for JPEG 2000 the codestream is walked to
say which marker is wrong and where.

Decoders (see :data:`DECODER_PACKAGES`): ``pylibjpeg-openjpeg`` (MIT) for
JPEG 2000 and HTJ2K, ``pyjpegls`` (MIT) for JPEG-LS, ``python-gdcm``
(Apache-2.0 wrapper of the BSD GDCM) for JPEG Lossless and 12-bit JPEG, RLE and
deflate built into pydicom, Pillow for 8-bit JPEG. ``pylibjpeg-libjpeg``
(GPL-3.0) is an optional alternative for the JPEG family.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import importlib.metadata
import io
import logging
import os
import re
import struct
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ... import _library_logger
from ..errors import MissingDecoderError, UnreadableImageError, shorten

__all__ = [
    "DECODER_PACKAGES",
    "decode_pixels",
    "decoder_available",
    "collect_warnings",
    "j2k_codestream_problem",
]

_log = _library_logger(__name__)

_JPEG_LOSSLESS = "python-gdcm (BSD) or pylibjpeg-libjpeg (GPL-3.0), e.g. pip install python-gdcm"
_J2K = "pylibjpeg and pylibjpeg-openjpeg (MIT), e.g. pip install pylibjpeg pylibjpeg-openjpeg"
#: Transfer syntax UID -> what to install when pydicom has no decoder for it.
DECODER_PACKAGES: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "pillow or python-gdcm, e.g. pip install pillow",
    "1.2.840.10008.1.2.4.51": _JPEG_LOSSLESS,
    "1.2.840.10008.1.2.4.57": _JPEG_LOSSLESS,
    "1.2.840.10008.1.2.4.70": _JPEG_LOSSLESS,
    "1.2.840.10008.1.2.4.80": "pyjpegls (MIT), e.g. pip install pyjpegls",
    "1.2.840.10008.1.2.4.81": "pyjpegls (MIT), e.g. pip install pyjpegls",
    "1.2.840.10008.1.2.4.90": _J2K,
    "1.2.840.10008.1.2.4.91": _J2K,
    "1.2.840.10008.1.2.4.92": _J2K,
    "1.2.840.10008.1.2.4.93": _J2K,
    "1.2.840.10008.1.2.4.201": "pylibjpeg and pylibjpeg-openjpeg>=2.4 (MIT)",
    "1.2.840.10008.1.2.4.202": "pylibjpeg and pylibjpeg-openjpeg>=2.4 (MIT)",
    "1.2.840.10008.1.2.4.203": "pylibjpeg and pylibjpeg-openjpeg>=2.4 (MIT)",
    "1.2.840.10008.1.2.5": "pylibjpeg-rle (MIT), e.g. pip install pylibjpeg pylibjpeg-rle",
}


#: Plugin tried first, where pydicom's own order is not the best: for JPEG 2000 pylibjpeg-openjpeg peaks
#: at about 4.1 x the decoded array, Pillow at 4.7 x and GDCM at 5.6 x (bench/bench_load.py, 7200 x 3000).
#: Simple single-frame greyscale JPEG 2000 goes before it to OpenJPEG directly, at about 2.7 x and on
#: every core (:func:`_decode_j2k_direct`).
_PREFERRED_PLUGIN = {
    uid: "pylibjpeg"
    for uid in (
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.92",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    )
}


class _Heard:
    """One :func:`collect_warnings` under way: its sink, and how many log records it heard."""

    __slots__ = ("sink", "count")

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink
        self.count = 0


class _Listeners(logging.Handler):
    """The handler on pydicom's logger that hands each warning record to every collection under way.

    One for the process, put on the logger once (and again if it was taken off): a handler made,
    added and removed for each collection cost some 6 µs, five times a film (issue 17, 4). Every
    collection under way hears every record, in the order they began, as their own handlers did.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.under_way: list[_Heard] = []
        self.logger = logging.getLogger("pydicom")

    def emit(self, record: logging.LogRecord) -> None:
        under_way = tuple(self.under_way)
        if not under_way:
            return
        text = f"pydicom: {record.getMessage()}"
        for heard in under_way:
            heard.count += 1
            heard.sink.append(text)


_LISTENERS: list[_Listeners] = []


def _listeners() -> _Listeners:
    """The process's :class:`_Listeners`, on pydicom's logger."""
    if not _LISTENERS:
        _LISTENERS.append(_Listeners())
    listeners = _LISTENERS[0]
    logger = listeners.logger
    if listeners not in logger.handlers:
        logger.addHandler(listeners)
    return listeners


def collect_warnings(sink: list[str], prefix: str = "") -> _Collection:
    """Record warnings (and pydicom log warnings) into *sink* instead of showing them.

    Radiograph readers report what the libraries complain about in the
    radiograph's ``warnings``; a library warning never reaches the user as
    a traceback. (``warnings.catch_warnings`` is process-wide: load images
    in processes, not threads, if warnings must not mix.) Used as a context
    manager, it gives a function that counts the warnings and log records
    heard so far, so a caller can tell whether one step was silent. The
    warnings are put in *sink* when the block ends without an exception.
    """
    return _Collection(sink, prefix)


class _Collection(_Heard):
    """One :func:`collect_warnings`: a context manager of its own, not a generator's.

    A header read opens four a film, and the generator's context manager cost some 2 µs of each
    (issue 17, 4); what it does, in its order, is the same.
    """

    __slots__ = ("prefix", "_catcher", "_caught")

    def __init__(self, sink: list[str], prefix: str) -> None:
        super().__init__(sink)
        self.prefix = prefix

    def __enter__(self) -> Callable[[], int]:
        listeners = _listeners()
        listeners.under_way.append(self)
        try:
            self._catcher = warnings.catch_warnings(record=True)
            self._caught: list[warnings.WarningMessage] = self._catcher.__enter__()
            warnings.simplefilter("always")
        except BaseException:
            listeners.under_way.remove(self)
            raise
        return self.heard

    def heard(self) -> int:
        """The warnings and log records heard so far."""
        return len(self._caught) + self.count

    def flush(self) -> None:
        """Put the warnings caught so far in the sink now, as the block's end would; it goes on listening.

        What one block followed by another would do, without a second block (a header read's
        conversions follow its reading so, issue 17, 4); :meth:`heard` counts on.
        """
        caught = self._caught
        self.count += len(caught)
        self._put(caught)
        del caught[:]

    def _put(self, caught: list[warnings.WarningMessage]) -> None:
        sink, prefix = self.sink, self.prefix
        for w in caught:
            text = f"{prefix}{_one_line(str(w.message))}"
            if text not in sink:
                sink.append(text)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            self._catcher.__exit__(kind, exc, tb)
        finally:
            _listeners().under_way.remove(self)
        if kind is None:  # a block left by an exception puts nothing in the sink
            self._put(self._caught)


#: What a decoder's failure is not: the user's interrupt, an exit, the want of memory.
_NOT_A_DECODER_FAILURE = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def decoder_available(transfer_syntax_uid: str) -> bool:
    """Tell whether pydicom can decode pixel data in this transfer syntax here."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    try:
        return bool(get_decoder(UID(transfer_syntax_uid)).is_available)
    except NotImplementedError:
        return False


def decode_pixels(ds: Any, *, where: str, frame: int | None = None) -> np.ndarray:
    """Decode the stored values of one frame of *ds*, as pydicom does.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        With file meta (Transfer Syntax UID) and Pixel Data.
    where : str
        How to name the file in messages.
    frame : int, optional
        0-based frame index of a multi-frame image (None for the only frame).

    Returns
    -------
    ndarray
        ``(rows, columns)`` (or ``(rows, columns, samples)``) of the stored
        integer type. Read-only when it is a view of the file's bytes.

    Raises
    ------
    MissingDecoderError
        No installed plugin decodes the transfer syntax; names the package.
    UnreadableImageError
        The transfer syntax is not an image syntax pydicom decodes, or the
        data are broken or short.
    """
    from pydicom.pixels import get_decoder, pixel_array

    ts = ds.file_meta.TransferSyntaxUID
    label = f"{ts.name} ({ts})" if ts.name != ts else str(ts)
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise UnreadableImageError(
            f"{where}: pixel data in transfer syntax {label}, which is not a still-image syntax spinecheck "
            "can decode (expected uncompressed, RLE, JPEG, JPEG-LS or JPEG 2000)"
        ) from None
    if not decoder.is_available:
        package = DECODER_PACKAGES.get(str(ts), "a pydicom pixel-data plugin for it")
        raise MissingDecoderError(
            f"{where}: no decoder installed for its pixel data, {label}; install {package}"
        )

    options: dict[str, Any] = {}
    if not ts.is_encapsulated and ds.get("BitsStored") == ds.get("BitsAllocated"):
        options["view_only"] = True  # nothing to correct: no copy of the film's bytes
    preferred = _PREFERRED_PLUGIN.get(str(ts))
    if preferred in decoder.available_plugins:
        direct = _decode_j2k_direct(ds, frame)
        if direct is not None:
            return direct
        try:
            with _native_stderr([]):  # the route below says it again, if it also fails
                return pixel_array(ds, index=frame, decoding_plugin=preferred, **options)
        except _NOT_A_DECODER_FAILURE:
            raise
        except BaseException as exc:  # noqa: BLE001 - every installed plugin gets its turn below
            _log.debug(
                "%s: %s did not decode the pixel data (%s); trying every decoder", where, preferred, exc
            )
    said: list[str] = []
    try:
        with _native_stderr(said):
            pixels = pixel_array(ds, index=frame, **options)
    except _NOT_A_DECODER_FAILURE:
        raise
    except BaseException as exc:  # noqa: BLE001 - every decoder failure is an unreadable image
        # a binding's panic (pyo3's PanicException) is a BaseException that pydicom lets through
        if not isinstance(exc, Exception):
            problem = f"its decoder failed ({type(exc).__name__}: {shorten(_one_line(str(exc)), 200)})"
            raise UnreadableImageError(
                f"{where}: cannot decode the {label} pixel data: {problem}; the stream does not match "
                "Rows × Columns × Bits Allocated, or is damaged"
            ) from exc
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        if lines and lines[0].startswith("Unable to decode as exceptions were raised by all"):
            # what each decoder said is its own internals ("'NoneType' object has no attribute ..."):
            # it stays in the exception chain, which --traceback shows
            problem = (
                "none of the installed decoders could read it: the stream does not match Rows × Columns × "
                "Bits Allocated, or is damaged"
            )
        else:
            problem = _one_line(" ".join(lines)) or type(exc).__name__
            short = re.search(r"less than expected \((\d+) vs (\d+) bytes\)", problem)
            if short:
                problem = f"the pixel data are truncated: {short[1]} of {short[2]} bytes present"
        if ts.is_encapsulated and "2000" in ts.name:
            found = _j2k_problem_of(ds, frame)
            if found:
                problem = f"{found}; {problem}"
        raise UnreadableImageError(f"{where}: cannot decode the {label} pixel data: {problem}") from exc
    if said:
        warnings.warn(f"the pixel decoder printed: {shorten(said[0], 200)}", RuntimeWarning, stacklevel=2)
    return pixels


# --- JPEG 2000 straight from the file, through OpenJPEG's C API ---------------------------------
#
# pydicom's pylibjpeg route holds the whole compressed Pixel Data (read by dcmread), a copy of the
# frame, OpenJPEG's own copy of the codestream and its int32 image (2 x the uint16 array) while it
# writes the output: about 4.9 x the decoded array at the peak (bench/bench_load.py). Here the
# codestream streams from the file (nothing compressed held by Python), OpenJPEG's codec and its
# copy of the codestream are freed before the output is written, and the int32 image's pages are
# handed back to the system as they are converted: the peak is OpenJPEG's decoding itself,
# codestream + int32 image, about 2.6 x for a lossless film. Same library, same calls
# (opj_read_header, opj_decode, opj_end_decompress) as pylibjpeg-openjpeg's own Decode(); the
# values are cast exactly as it casts them. Anything unusual returns None: pydicom decodes it.
#
# Which OpenJPEG: pylibjpeg-openjpeg's is built without threads (opj_has_thread_support() is 0 in
# 2.3 to 2.6), and decodes a 7200 x 3000 film on one core, 1.3 x the time of pydicom's default route
# (GDCM's OpenJPEG 2.3, threaded, at twice our peak memory). So a thread-enabled OpenJPEG 2.5 is
# looked for first: the shared library Pillow (a dependency) ships in its wheels, else the system's
# libopenjp2; it decodes with one thread per core this process may run on (OpenJPEG's own
# OPJ_NUM_THREADS, where set, decides instead). Threads share out code-blocks and wavelet rows,
# whose results do not depend on the order: the pixels are the same, bit for bit.
# pylibjpeg-openjpeg's extension is private, so it is used only with the releases it was verified
# against (_VERIFIED_RELEASES, pinned in pyproject.toml); every library must link the verified
# OpenJPEG (_VERIFIED_OPENJPEG) and export every function called. A library that does not leaves the
# next one its turn, and where none binds every image goes through pydicom's public route.

_J2K_DIRECT_SYNTAXES = frozenset(
    (
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    )
)
_ITEM, _SEQUENCE_END = 0xE000FFFE, 0xE0DDFFFE
_SIZE_MAX = ctypes.c_size_t(-1).value
_MADV_DONTNEED = 4  # Linux


# one list literal each (not a sum of two lists), so mypy types the fields against ctypes' _fields_
class _OpjImageComp(ctypes.Structure):
    _fields_ = [
        *[
            (name, ctypes.c_uint32)
            for name in ("dx", "dy", "w", "h", "x0", "y0", "prec", "bpp", "sgnd", "resno_decoded", "factor")
        ],
        ("data", ctypes.c_void_p),
        ("alpha", ctypes.c_uint16),
    ]


class _OpjImage(ctypes.Structure):
    _fields_ = [
        *[(name, ctypes.c_uint32) for name in ("x0", "y0", "x1", "y1", "numcomps")],
        ("color_space", ctypes.c_int),
        ("comps", ctypes.POINTER(_OpjImageComp)),
        ("icc_profile_buf", ctypes.c_void_p),
        ("icc_profile_len", ctypes.c_uint32),
    ]


_READ_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_SKIP_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
_SEEK_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_void_p)


#: pylibjpeg-openjpeg releases (major, minor), inclusive, whose extension this binding was checked
#: against, bit for bit with pydicom's route (tests/test_pixel_decoding.py on 2.3.0, 2.4.0, 2.5.0 and
#: 2.6.0); pyproject.toml bounds the dependency to them. Any other release is decoded by pydicom.
_VERIFIED_RELEASES = ((2, 3), (2, 6))
#: The OpenJPEG (major, minor) linked into each of those releases (2.5.0 to 2.5.2): the one whose
#: structures :class:`_OpjImage` and :class:`_OpjImageComp` copy.
_VERIFIED_OPENJPEG = (2, 5)


def _major_minor(version: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None:
        raise ValueError(f"version {version!r} does not start with major.minor")
    return int(found[1]), int(found[2])


@dataclasses.dataclass(frozen=True)
class _OpenJpeg:
    """One OpenJPEG library, typed, and whether it can decode with threads."""

    lib: ctypes.CDLL
    source: str  # where it comes from, for the log
    threaded: bool


@functools.cache
def _openjpeg_library() -> _OpenJpeg | None:
    """The OpenJPEG to decode with: a thread-enabled one first, else pylibjpeg-openjpeg's; or None.

    Each library that does not bind (:func:`_bind_library` and :func:`_bind_openjpeg` say why) is
    logged at DEBUG level; where none does, pydicom's public route decodes, to the same values.
    """
    for path in _threaded_library_paths():
        try:
            bound = _bind_library(path, path, threaded=True)
        except Exception as exc:  # noqa: BLE001 - any mismatch: the next library
            _log.debug("JPEG 2000 not decoded through %s: %s", path, exc)
            continue
        _log.debug("JPEG 2000 decoded through OpenJPEG in %s, with threads", path)
        return bound
    try:
        return _bind_openjpeg()
    except Exception as exc:  # noqa: BLE001 - any mismatch: pydicom's route, which needs none of this
        _log.debug("JPEG 2000 decoded through pydicom, not OpenJPEG directly: %s", exc)
        return None


def _threaded_library_paths() -> Iterator[str]:
    """Where a thread-enabled OpenJPEG may be: the one in Pillow's wheel, then the system's.

    Pillow's wheels carry ``libopenjp2`` built with threads (``pillow.libs/libopenjp2-<hash>.so.2.5.x``
    on Linux, ``PIL/.dylibs`` on macOS); a Pillow built from source links the system's, which
    ``ctypes.util.find_library`` finds (looked for only when Pillow's is not there or does not bind).
    """
    try:
        files = importlib.metadata.files("pillow") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if "openjp2" in file.name and (".so" in file.name or file.name.endswith((".dylib", ".dll"))):
            yield str(file.locate())
    import ctypes.util

    found = ctypes.util.find_library("openjp2")
    if found:
        yield found


def _decoder_threads() -> int:
    """How many threads OpenJPEG is asked for: one per core this process may run on; 0 to leave it.

    0 where ``OPJ_NUM_THREADS`` is set (OpenJPEG reads it when the codec is made) or one core is all.
    """
    if "OPJ_NUM_THREADS" in os.environ:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores if cores > 1 else 0


def _bind_openjpeg() -> _OpenJpeg:
    """pylibjpeg-openjpeg's OpenJPEG (no threads), bound; raise on any mismatch.

    Checked first: the installed pylibjpeg-openjpeg release is within :data:`_VERIFIED_RELEASES` and
    its extension ``_openjpeg`` imports; then the library itself (:func:`_bind_library`).
    """
    release = importlib.metadata.version("pylibjpeg-openjpeg")
    (lo_major, lo_minor), (hi_major, hi_minor) = _VERIFIED_RELEASES
    if not _VERIFIED_RELEASES[0] <= _major_minor(release) <= _VERIFIED_RELEASES[1]:
        raise RuntimeError(
            f"pylibjpeg-openjpeg {release} is not one this binding was verified with "
            f"({lo_major}.{lo_minor} to {hi_major}.{hi_minor})"
        )
    import _openjpeg  # the extension module of pylibjpeg-openjpeg >= 2.2

    return _bind_library(_openjpeg.__file__, f"pylibjpeg-openjpeg {release}", threaded=False)


def _bind_library(path: str, source: str, *, threaded: bool) -> _OpenJpeg:
    """Load and type the OpenJPEG functions :func:`_opj_decode` calls; raise on any mismatch.

    Checked in order: *path* loads as a shared library, the OpenJPEG in it is
    :data:`_VERIFIED_OPENJPEG`, it exports every function called, and (*threaded*) it was built
    with thread support. The structures' layout is checked again on each image, against the data
    set (:func:`_is_as_expected`).
    """
    lib = ctypes.CDLL(path)
    lib.opj_version.restype = ctypes.c_char_p
    linked = lib.opj_version().decode()
    if _major_minor(linked) != _VERIFIED_OPENJPEG:
        raise RuntimeError(
            f"{source} links OpenJPEG {linked}, not the verified "
            f"{_VERIFIED_OPENJPEG[0]}.{_VERIFIED_OPENJPEG[1]}"
        )
    p, b = ctypes.c_void_p, ctypes.c_int
    signatures = {
        "opj_create_decompress": ([b], p),
        "opj_set_default_decoder_parameters": ([p], None),
        "opj_setup_decoder": ([p, p], b),
        "opj_stream_create": ([ctypes.c_size_t, b], p),
        "opj_stream_set_read_function": ([p, _READ_FN], None),
        "opj_stream_set_skip_function": ([p, _SKIP_FN], None),
        "opj_stream_set_seek_function": ([p, _SEEK_FN], None),
        "opj_stream_set_user_data_length": ([p, ctypes.c_uint64], None),
        "opj_read_header": ([p, p, ctypes.POINTER(ctypes.POINTER(_OpjImage))], b),
        "opj_decode": ([p, p, ctypes.POINTER(_OpjImage)], b),
        "opj_end_decompress": ([p, p], b),
        "opj_destroy_codec": ([p], None),
        "opj_stream_destroy": ([p], None),
        "opj_image_destroy": ([ctypes.POINTER(_OpjImage)], None),
    }
    if threaded:
        signatures["opj_has_thread_support"] = ([], b)
        signatures["opj_codec_set_threads"] = ([p, b], b)
    for name, (args, res) in signatures.items():
        fn = getattr(lib, name)  # AttributeError: the library does not export it
        fn.argtypes, fn.restype = args, res
    if threaded and not lib.opj_has_thread_support():
        raise RuntimeError(f"{source} links OpenJPEG {linked} built without threads")
    return _OpenJpeg(lib, source, threaded)


class _Spans:
    """The fragments of one encapsulated frame, read as one stream (no copy held)."""

    def __init__(self, f: Any, spans: list[tuple[int, int]]) -> None:
        self.f, self.spans, self.pos = f, spans, 0
        self.size = sum(n for _, n in spans)

    def readinto(self, buf: memoryview) -> int:
        done = 0
        start = 0
        for offset, n in self.spans:
            if done == len(buf) or self.pos >= self.size:
                break
            if self.pos < start + n:
                within = self.pos - start
                take = min(len(buf) - done, n - within)
                self.f.seek(offset + within)
                got = self.f.readinto(buf[done : done + take])
                if got != take:
                    raise EOFError("short read")
                done += take
                self.pos += take
            start += n
        return done


def _frame_spans(f: Any, at: int, *, in_memory: bool = False) -> list[tuple[int, int]]:
    """(offset, length) of each fragment of encapsulated Pixel Data whose value starts at *at*.

    A value in memory (pydicom's) ends with the last fragment; one in the file, with the
    sequence delimiter.
    """
    f.seek(at)
    tag, length = struct.unpack("<II", f.read(8))
    if tag != _ITEM:
        raise ValueError("no Basic Offset Table item")
    f.seek(length, io.SEEK_CUR)
    spans: list[tuple[int, int]] = []
    while True:
        head = f.read(8)
        if not head and in_memory and spans:
            return spans
        if len(head) < 8:
            raise ValueError("the fragments end without a sequence delimiter")
        tag, length = struct.unpack("<II", head)
        if tag == _SEQUENCE_END:
            return spans
        if tag != _ITEM or length == 0xFFFFFFFF:
            raise ValueError("not a fragment item")
        spans.append((f.tell(), length))
        f.seek(length, io.SEEK_CUR)


@contextlib.contextmanager
def _pixel_data_stream(ds: Any) -> Iterator[Any]:
    """A seekable binary file holding the encapsulated Pixel Data value, and where it starts.

    Straight from the file when dcmread deferred the element (nothing read into memory), else
    from the value in memory.
    """
    raw = ds.get_item(0x7FE00010, keep_deferred=True)
    filename = getattr(ds, "filename", None)
    if getattr(raw, "value", None) is None and getattr(raw, "value_tell", None) is not None and filename:
        with open(filename, "rb", buffering=0) as f:
            yield f, raw.value_tell
    else:
        yield io.BytesIO(ds.PixelData), 0


def _decode_j2k_direct(ds: Any, frame: int | None) -> np.ndarray | None:
    """Decode a single-frame greyscale JPEG 2000 image with the least memory, or return None.

    Only where the result is certain to be pydicom's: one frame, one component at full
    resolution, the codestream's precision and sign those of Bits Stored and Pixel
    Representation, 8 or 16 bits allocated to match. Any other case, and any failure, is
    left to pydicom (which then also says what is wrong).
    """
    ts = str(ds.file_meta.TransferSyntaxUID)
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        stored, allocated = int(ds.BitsStored), int(ds.BitsAllocated)
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        simple = (
            ts in _J2K_DIRECT_SYNTAXES
            and frame in (None, 0)
            and int(ds.get("NumberOfFrames", 1) or 1) == 1
            and int(ds.get("SamplesPerPixel", 1)) == 1
            and allocated == (8 if stored <= 8 else 16)
            and 1 <= stored <= 16
            and rows > 0
            and cols > 0
        )
    except (AttributeError, TypeError, ValueError):
        return None
    openjpeg = _openjpeg_library() if simple else None
    if openjpeg is None:
        return None
    lib = openjpeg.lib
    threads = _decoder_threads() if openjpeg.threaded else 0
    try:
        with _pixel_data_stream(ds) as (f, at):
            stream = _Spans(f, _frame_spans(f, at, in_memory=isinstance(f, io.BytesIO)))
            image = _opj_decode(
                lib, stream, lambda img: _is_as_expected(img, rows, cols, stored, signed), threads
            )
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - pydicom's route decodes it, or says why it cannot
        return None
    if image is None:
        return None
    try:
        comp = image.contents.comps[0]
        if not _is_as_expected(image.contents, rows, cols, stored, signed) or not comp.data:
            return None
        dtype = np.dtype(f"{'i' if signed else 'u'}{allocated // 8}")
        return _convert_releasing(comp.data, rows, cols, dtype)
    finally:
        lib.opj_image_destroy(image)


def _is_as_expected(img: Any, rows: int, cols: int, stored: int, signed: bool) -> bool:
    """Tell whether OpenJPEG's image is the one greyscale component the data set describes."""
    if img.numcomps != 1 or (img.x0, img.y0, img.x1, img.y1) != (0, 0, cols, rows):
        return False
    comp = img.comps[0]
    geometry = (comp.w, comp.h, comp.dx, comp.dy, comp.x0, comp.y0, comp.factor)
    return geometry == (cols, rows, 1, 1, 0, 0, 0) and (comp.prec, bool(comp.sgnd)) == (stored, signed)


def _opj_decode(lib: Any, src: _Spans, accept: Any, threads: int = 0) -> Any:
    """Run OpenJPEG on the codestream in *src*; its image (int32 samples), or None.

    Decodes only when *accept* takes the image its header describes, with *threads* threads
    (0: as OpenJPEG decides, one unless ``OPJ_NUM_THREADS`` says otherwise). The codec (and its
    copy of the codestream, and its threads) is destroyed before returning.
    """

    def read(buffer: int, n: int, _user: int) -> int:
        if src.pos >= src.size:
            return _SIZE_MAX
        try:
            return src.readinto(memoryview((ctypes.c_char * n).from_address(buffer)).cast("B")) or _SIZE_MAX
        except Exception:  # noqa: BLE001 - OpenJPEG sees the end of the stream
            return _SIZE_MAX

    def skip(n: int, _user: int) -> int:
        if n < 0 or src.pos + n > src.size:
            return -1
        src.pos += n
        return n

    def seek(n: int, _user: int) -> int:
        if not 0 <= n <= src.size:
            return 0
        src.pos = n
        return 1

    callbacks = (_READ_FN(read), _SKIP_FN(skip), _SEEK_FN(seek))  # alive until the stream is destroyed
    params = ctypes.create_string_buffer(1 << 16)  # opj_dparameters_t (a few kB), filled by OpenJPEG
    lib.opj_set_default_decoder_parameters(params)
    codec = lib.opj_create_decompress(0)  # OPJ_CODEC_J2K
    stream = lib.opj_stream_create(1 << 20, 1)
    image = ctypes.POINTER(_OpjImage)()
    ok = False
    try:
        if not codec or not stream:
            return None
        lib.opj_stream_set_read_function(stream, callbacks[0])
        lib.opj_stream_set_skip_function(stream, callbacks[1])
        lib.opj_stream_set_seek_function(stream, callbacks[2])
        lib.opj_stream_set_user_data_length(stream, src.size)
        ok = bool(
            lib.opj_setup_decoder(codec, params)
            and (threads < 2 or lib.opj_codec_set_threads(codec, threads))  # after setup, before the header
            and lib.opj_read_header(stream, codec, ctypes.byref(image))
            and image
            and accept(image.contents)
            and lib.opj_decode(codec, stream, image)
            and lib.opj_end_decompress(codec, stream)
        )
    finally:
        if codec:
            lib.opj_destroy_codec(codec)
        if stream:
            lib.opj_stream_destroy(stream)
        if not ok and image:
            lib.opj_image_destroy(image)
    return image if ok else None


@functools.cache
def _madvise() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return fn


def _convert_releasing(address: int, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
    """Cast OpenJPEG's int32 samples at *address* to *dtype*, as pylibjpeg-openjpeg does.

    Row blocks at a time; the int32 pages already converted are returned to the system
    (the buffer is freed just after, unread), so the output and the int32 image are never
    both whole in memory.
    """
    src = np.ctypeslib.as_array((ctypes.c_int32 * (rows * cols)).from_address(address)).reshape(rows, cols)
    out = np.empty((rows, cols), dtype)
    madvise = _madvise()
    page = 4096 if madvise is None else os.sysconf("SC_PAGE_SIZE")
    step = max(1, (8 << 20) // (4 * cols))
    released = -(-address // page) * page  # first whole page of the buffer
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        np.copyto(out[r0:r1], src[r0:r1], casting="unsafe")  # C cast, as (unsigned short)(int)
        if madvise is not None:
            end = (address + 4 * r1 * cols) // page * page
            if end > released and madvise(released, end - released, _MADV_DONTNEED) == 0:
                released = end
    return out


@contextlib.contextmanager
def _native_stderr(said: list[str]) -> Iterator[None]:
    """Hold what native decoders print to file descriptor 2 while they run; its lines go to *said*.

    GDCM's OpenJPEG prints its complaints straight to the process's stderr, and a
    Rust panic prints its message and a backtrace there: either would break the
    one-line ``error:`` contract. What they printed is reported instead, as a
    warning or in the error (:func:`decode_pixels`).
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. under some test runners)
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read(1 << 16).decode("utf-8", "replace")
            said.extend(line.strip() for line in text.splitlines() if line.strip())


def _j2k_problem_of(ds: Any, frame: int | None) -> str | None:
    from pydicom.encaps import get_frame

    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        data = get_frame(ds.PixelData, frame or 0, number_of_frames=frames)
    except Exception:  # noqa: BLE001 - the diagnosis is a bonus; the decoders' own words remain
        return None
    return j2k_codestream_problem(data)


_J2K_MARKERS = {
    0xFF4F: "SOC",
    0xFF51: "SIZ",
    0xFF52: "COD",
    0xFF53: "COC",
    0xFF5C: "QCD",
    0xFF5D: "QCC",
    0xFF5E: "RGN",
    0xFF5F: "POC",
    0xFF55: "TLM",
    0xFF57: "PLM",
    0xFF58: "PLT",
    0xFF60: "PPM",
    0xFF61: "PPT",
    0xFF63: "CRG",
    0xFF64: "COM",
    0xFF90: "SOT",
    0xFF93: "SOD",
    0xFFD9: "EOC",
    0xFF50: "CAP",
    0xFF59: "CPF",
}


def _marker_name(marker: int) -> str:
    name = _J2K_MARKERS.get(marker)
    return f"{name} marker (0x{marker:04X})" if name else f"bytes 0x{marker:04X}"


def j2k_codestream_problem(data: bytes) -> str | None:
    r"""Say what is structurally wrong with a JPEG 2000 codestream, or return None.

    Walks the main header's marker segments and the tile-parts by their
    lengths (Psot), as a decoder does, and names the first marker that is
    not where the standard (ISO/IEC 15444-1 Annex A) allows it.

    Examples
    --------
    >>> j2k_codestream_problem(b"\x00\x01")
    'the codestream does not start with SOC (0xFF4F) but 0x0001'
    """
    if data[4:12] == b"jP  \r\n\x87\n":  # a JP2 file: look inside its codestream box
        at = data.find(b"jp2c")
        if at < 0:
            return "a JP2 file without a codestream (jp2c) box"
        data = data[at + 4 :]
    if data[:2] != b"\xff\x4f":
        return f"the codestream does not start with SOC (0xFF4F) but 0x{data[:2].hex().upper()}"
    pos = 2
    while True:  # main header, up to the first tile-part
        if pos + 4 > len(data):
            return f"the codestream ends inside its main header at byte {len(data)} (truncated)"
        marker = int.from_bytes(data[pos : pos + 2], "big")
        if marker == 0xFF90:
            break
        if marker not in _J2K_MARKERS or marker in (0xFF4F, 0xFF93, 0xFFD9):
            return f"unexpected {_marker_name(marker)} at byte {pos} of the codestream's main header"
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    tile_parts = 0
    while pos + 2 <= len(data):
        marker = int.from_bytes(data[pos : pos + 2], "big")
        if marker == 0xFFD9:
            return None
        if marker != 0xFF90:
            return (
                f"unexpected {_marker_name(marker)} at byte {pos} of the codestream, after tile-part "
                f"{tile_parts}, where a tile-part (SOT, 0xFF90) or the end of the codestream "
                "(EOC, 0xFFD9) was expected"
            )
        if pos + 12 > len(data):
            return f"the codestream ends inside tile-part {tile_parts + 1}'s header (truncated)"
        psot = int.from_bytes(data[pos + 6 : pos + 10], "big")
        if psot == 0:  # the last tile-part runs to EOC
            return None
        if pos + psot > len(data):
            return (
                f"tile-part {tile_parts + 1} at byte {pos} claims {psot} bytes but only "
                f"{len(data) - pos} remain (truncated)"
            )
        pos += psot
        tile_parts += 1
    return f"the codestream ends after {tile_parts} tile-parts without EOC (0xFFD9) (truncated)"
