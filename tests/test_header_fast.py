"""The fast header reader reads what pydicom's ``read_partial`` reads, or leaves the file to it.

:func:`spinecheck.landmarks.imaging.fast_header.read_partial_fast` walks a file's elements over
one buffer instead of pydicom's reader (issue 17, 4). These tests read every DICOM file at hand
both ways, pydicom's and the fast one, and compare everything a caller can observe: the data
set's class, attributes and elements (every field of each raw element, in order), its File Meta
Information, the warnings and log records, where the file was left, and what
:func:`~spinecheck.landmarks.imaging.header.read_dataset` makes of it (notes, refusals). They
also count the files the fast reader took, so that one declining everything fails here.
"""

from __future__ import annotations

import io
import logging
import os
import random
import struct
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom import config
from pydicom.data import get_testdata_files
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless
from radiograph_factory import dx_dataset, gradient, write
from spinecheck.landmarks.errors import UnreadableImageError
from spinecheck.landmarks.imaging import fast_header
from spinecheck.landmarks.imaging import header as header_module
from spinecheck.landmarks.imaging.header import read_dataset
from spinecheck.landmarks.imaging.pixel_decoding import collect_warnings

DEFER = 1 << 20


def canon(x: Any, depth: int = 0) -> Any:
    """Everything a caller can see of a data set, an element or a value, as plain comparable data.

    Every instance attribute of every object, recursively (a data set's elements in their
    order, a raw element's fields with their types); weak references and open files by kind.
    """
    if depth > 60:
        return "deep"
    if isinstance(x, Dataset):
        attrs = sorted((k, canon(v, depth + 1)) for k, v in vars(x).items() if k != "_dict")
        elements = [(type(k).__name__, int(k), canon(v, depth + 1)) for k, v in x._dict.items()]
        return (type(x).__name__, attrs, elements)
    if isinstance(x, RawDataElement):
        return ("RawDataElement", tuple(canon(f, depth + 1) for f in x))
    if isinstance(x, weakref.ref | weakref.ProxyType):
        return "weakref"
    if isinstance(x, io.IOBase):
        return type(x).__name__
    if isinstance(x, list | tuple):
        extra = (
            sorted((k, canon(v, depth + 1)) for k, v in vars(x).items() if k != "_list")
            if hasattr(x, "__dict__")
            else []
        )
        return (type(x).__name__, [canon(i, depth + 1) for i in x], extra)
    if callable(x):  # a value's constructor: a function made per element has an address of its own
        return ("callable", getattr(x, "__qualname__", type(x).__name__))
    if hasattr(x, "__dict__"):
        return (type(x).__name__, sorted((k, canon(v, depth + 1)) for k, v in vars(x).items()))
    return (type(x).__name__, repr(x))


def _raw_read(path: Path, fast: bool) -> Any:
    """A file read as ``read_dataset`` reads it, before any conversion of its own: what is seen.

    None where the fast reader declines.
    """
    notes: list[str] = []
    with collect_warnings(notes, "pydicom: "):
        try:
            with open(path, "rb") as fp:
                size = os.fstat(fp.fileno()).st_size
                stop = fast_header.AfterThePixelData(fp, size)
                if fast:
                    ds = fast_header.read_partial_fast(fp, size, stop, DEFER)
                    if ds is None:
                        return None
                else:
                    ds = pydicom.filereader.read_partial(fp, stop, defer_size=DEFER)
                return canon(ds), fp.tell(), notes
        except Exception as exc:  # noqa: BLE001 - compared, whatever it is
            return ("raised", type(exc).__name__, str(exc), notes)


def _read(path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What :func:`read_dataset` returns or raises, the fast reader allowed or not."""
    header_module._silent_conversions().clear()
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(header_module, "read_partial_fast", lambda *args: None)
        try:
            ds, notes = read_dataset(path, "film", preamble=True)
        except UnreadableImageError as exc:
            return ("refused", str(exc))
    return canon(ds), notes


def _differences(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[Path]]:
    """The files read differently (with what differs), and those the fast reader took."""
    differ, taken = [], []
    for path in paths:
        fast = _raw_read(path, True)
        if fast is not None:
            taken.append(path)
            slow = _raw_read(path, False)
            if fast != slow:
                differ.append(f"{path.name}: read_partial {_first_difference(fast, slow)}")
        fast, slow = _read(path, True, monkeypatch), _read(path, False, monkeypatch)
        if fast != slow:
            differ.append(f"{path.name}: read_dataset {_first_difference(fast, slow)}")
    return differ, taken


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    if type(a) is not type(b) or not isinstance(a, list | tuple) or len(a) != len(b):
        return f"at {where or 'top'}: {str(a)[:300]} != {str(b)[:300]}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            return _first_difference(x, y, f"{where}[{i}]")
    return "none"


def _is_dicom_file(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(132)[128:132] == b"DICM"


def _transfer_syntax(path: Path) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.get("TransferSyntaxUID")
        except Exception:  # noqa: BLE001 - a damaged file has none to tell
            return None
    return str(ts) if ts else None


# ----------------------------------------------------------------------------- films made here


def _sequence_item(**attrs: Any) -> Dataset:
    item = Dataset()
    for keyword, value in attrs.items():
        setattr(item, keyword, value)
    return item


def _film(
    tmp: Path, name: str, *, syntax: Any = ExplicitVRLittleEndian, undefined: bool = False, **attrs: Any
) -> Path:
    """A small DX film with sequences, a character set and a private block, as real films have."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dx_dataset(gradient(40, 30), PatientName="MÜLLER^JÖRG", ViewPosition="LATERAL", **attrs)
        if "SpecificCharacterSet" not in ds:
            ds.SpecificCharacterSet = "ISO_IR 100"
        code = _sequence_item(CodeValue="T-D0146", CodingSchemeDesignator="SRT", CodeMeaning="Spine")
        ds.AnatomicRegionSequence = Sequence([code])
        ds.SourceImageSequence = Sequence(
            [_sequence_item(ReferencedSOPClassUID=ds.SOPClassUID, ReferencedSOPInstanceUID="1.2.3.4")]
        )
        ds.AcquisitionContextSequence = Sequence([])
        if undefined:
            ds["AnatomicRegionSequence"].is_undefined_length = True
            ds["SourceImageSequence"].is_undefined_length = True
        block = ds.private_block(0x0029, "SPINECHECK TEST", create=True)
        block.add_new(0x10, "LO", "private value")
        block.add_new(0x11, "UN", b"\x01\x02\x03\x04")
        ds.file_meta.TransferSyntaxUID = syntax
        if syntax == JPEG2000Lossless:
            ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(60), b"\xff\x4f" + bytes(30)])
            ds["PixelData"].VR = "OB"
        return write(ds, tmp / name)


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Films of the shapes real archives hold: both VR encodings, sequences of both lengths, encapsulated pixels."""
    tmp = tmp_path_factory.mktemp("films")
    made = [
        _film(tmp, "explicit.dcm"),
        _film(tmp, "implicit.dcm", syntax=ImplicitVRLittleEndian),
        _film(tmp, "undefined_sequences.dcm", undefined=True),
        _film(tmp, "implicit_undefined.dcm", syntax=ImplicitVRLittleEndian, undefined=True),
        _film(tmp, "j2k.dcm", syntax=JPEG2000Lossless),
        _film(tmp, "two_charsets.dcm", SpecificCharacterSet=["", "ISO 2022 IR 100"]),
        _film(tmp, "misspelled_charset.dcm", SpecificCharacterSet="ISO IR 100"),  # pydicom warns
        _film(tmp, "long_accession.dcm", AccessionNumber="A" * 40),  # pydicom warns on conversion
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = dx_dataset(gradient(800, 700), ViewPosition="AP")  # Pixel Data over the deferral size
        big.DataSetTrailingPadding = b"\0" * 16
        made.append(write(big, tmp / "deferred_pixels_and_padding.dcm"))
    return made


# ----------------------------------------------------------------------------- every file at hand


def test_films_made_here_read_as_pydicom_reads_them_and_take_the_fast_path(
    films: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    differ, taken = _differences(films, monkeypatch)
    assert differ == []
    assert taken == films


def test_pydicoms_test_files_read_as_pydicom_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = sorted({Path(p) for p in get_testdata_files() if _is_dicom_file(Path(p))})
    assert len(paths) > 200  # pydicom's own and pydicom-data's
    differ, taken = _differences(paths, monkeypatch)
    assert differ == []
    common = [p for p in paths if _transfer_syntax(p) in (ExplicitVRLittleEndian, ImplicitVRLittleEndian)]
    share = sum(p in taken for p in common) / len(common)
    assert share > 0.95, f"the fast path read {share:.0%} of {len(common)} little endian files"
    assert len(taken) / len(paths) > 0.85


def test_shared_real_films_read_as_pydicom_reads_them_all_on_the_fast_path(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = sorted(p for p in (shared_data / "dicom").iterdir() if _is_dicom_file(p))
    assert paths
    differ, taken = _differences(paths, monkeypatch)
    assert differ == []
    assert taken == paths


# ----------------------------------------------------------------------------- damaged files


def _element_starts(data: bytes) -> list[tuple[int, int, int]]:
    """``(start, length field offset, length field size)`` of each top-level explicit VR LE element."""
    found = []
    pos = 132
    while pos + 8 <= len(data):
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV"):
            (length,) = struct.unpack_from("<L", data, pos + 8)
            found.append((pos, pos + 8, 4))
            pos += 12 + (0 if length == 0xFFFFFFFF else length)
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            found.append((pos, pos + 6, 2))
            pos += 8 + length
    return found


def _variants(original: Path, tmp: Path) -> list[Path]:
    data = original.read_bytes()
    starts = _element_starts(data)
    out: dict[str, bytes] = {}
    for start, at, width in starts:
        for cut in (start, start + 1, start + 5, start + 7, start + 9, at + width + 1):
            if cut < len(data):
                out[f"cut{cut}"] = data[:cut]
        for i in range(width):
            for flip in (0xFF, 0x80, 0x01):
                damaged = bytearray(data)
                damaged[at + i] ^= flip
                out[f"len{at}_{i}_{flip}"] = bytes(damaged)
    rng = random.Random(17)
    out["zeros"] = data + bytes(1024)
    out["random"] = data + rng.randbytes(997)
    out["in_order"] = data + b"\xfc\xff\xfc\xffOB\0\0" + struct.pack("<L", 4) + b"\0" * 4
    out["out_of_order"] = data + b"\x08\x00\x20\x00DA\x08\x0020240101"
    out["undefined_then_nothing"] = data + b"\xfc\xff\xfc\xffOB\0\0\xff\xff\xff\xff"
    out["item_delimiter"] = data[:200] + b"\xfe\xff\x0d\xe0\0\0\0\0" + data[200:]
    paths = []
    for name, content in out.items():
        path = tmp / f"{name}.dcm"
        path.write_bytes(content)
        paths.append(path)
    return paths


@pytest.mark.parametrize("name", ["explicit.dcm", "undefined_sequences.dcm", "j2k.dcm"])
def test_damaged_films_read_or_are_refused_as_pydicom_reads_them(
    name: str, films: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut at and inside every element, a length byte flipped, bytes appended: the same outcome."""
    original = next(p for p in films if p.name == name)
    variants = _variants(original, tmp_path)
    differ, taken = _differences(variants, monkeypatch)
    assert differ == []
    assert len(taken) > len(variants) / 2  # most damage is past the File Meta Information


# ----------------------------------------------------------------------------- when it declines


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[:128] + b"DICX" + d[132:], id="no DICM"),
        pytest.param(
            lambda d: d.replace(b"1.2.840.10008.1.2.1\0", b"1.2.840.10008.1.2.2\0"), id="big endian"
        ),
        pytest.param(
            lambda d: d.replace(b"1.2.840.10008.1.2.1\0", b"1.2.840.10008.9.9.9\0"), id="unknown syntax"
        ),
        pytest.param(lambda d: d[:136] + b"ZZ" + d[138:], id="unknown VR in the meta group"),
        pytest.param(lambda d: d[:140] + struct.pack("<L", 999) + d[144:], id="group length"),
    ],
)
def test_the_fast_reader_leaves_files_it_is_unsure_of_to_pydicom(
    damage: Callable[[bytes], bytes], films: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = next(p for p in films if p.name == "explicit.dcm").read_bytes()
    path = tmp_path / "damaged.dcm"
    path.write_bytes(damage(original))
    assert _raw_read(path, True) is None
    differ, _ = _differences([path], monkeypatch)
    assert differ == []


def test_the_fast_reader_leaves_reads_to_pydicom_while_pydicom_logs_every_element(films: list[Path]) -> None:
    """Pydicom's debugging logs a record for every element read: only its own reader writes those."""
    logger = logging.getLogger("pydicom")
    level = logger.level
    try:
        logger.setLevel(logging.DEBUG)
        assert _raw_read(films[0], True) is None
    finally:
        logger.setLevel(level)
    assert _raw_read(films[0], True) is not None


def test_the_fast_reader_leaves_reads_to_a_pydicom_release_it_was_not_checked_against(
    films: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another pydicom may read differently: every file is then read by pydicom alone."""
    import pydicom

    monkeypatch.setattr(pydicom, "__version__", "3.1.0")
    assert _raw_read(films[0], True) is None
    monkeypatch.undo()
    assert _raw_read(films[0], True) is not None


def test_the_comparison_sees_a_single_field_of_one_element(
    films: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test's own eyes: a fast reader that misplaced one value by a byte would be caught."""
    real = fast_header._pydicom()
    shifted = type(real)(**vars(real))

    def raw_element(tag: Any, vr: Any, length: int, value: Any, tell: int, *rest: Any) -> Any:
        return real.RawDataElement(tag, vr, length, value, tell + (tag == 0x00100010), *rest)

    shifted.RawDataElement = raw_element
    monkeypatch.setattr(fast_header, "_pydicom", lambda: shifted)
    differ, taken = _differences(films[:1], monkeypatch)
    assert taken == films[:1]
    assert differ and "read_partial" in differ[0]


def test_numbers_and_warnings_stay_within_pydicoms_settings(
    films: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Empty values follow ``use_none_as_empty_text_VR_value`` in both readers."""
    monkeypatch.setattr(config, "use_none_as_empty_text_VR_value", True)
    differ, taken = _differences(films[:2], monkeypatch)
    assert differ == []
    assert taken == films[:2]


def test_data_sets_are_made_as_pydicoms_constructors_make_them_under_its_future_settings(
    films: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``config._use_future`` drops two attributes from a FileDataset: the fast reader follows it."""
    monkeypatch.setattr(config, "_use_future", True)
    differ, taken = _differences(films[:2], monkeypatch)
    assert differ == []
    assert taken == films[:2]


def test_meta_elements_converted_before_are_copies_of_a_fresh_conversion(
    films: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Group Length and Transfer Syntax UID are converted once per process; each read gets its own."""
    fast_header._CONVERTED.clear()
    first = _raw_read(films[0], True)
    again = _raw_read(films[0], True)
    assert fast_header._CONVERTED and again == first
    with open(films[0], "rb") as fp:
        size = os.fstat(fp.fileno()).st_size
        one = fast_header.read_partial_fast(fp, size, fast_header.AfterThePixelData(fp, size), DEFER)
    with open(films[0], "rb") as fp:
        two = fast_header.read_partial_fast(fp, size, fast_header.AfterThePixelData(fp, size), DEFER)
    assert one.file_meta._dict[0x00020010] is not two.file_meta._dict[0x00020010]
    monkeypatch.setattr(config.settings, "reading_validation_mode", config.RAISE)
    differ, _ = _differences(films[:1], monkeypatch)
    assert differ == []


def test_a_transfer_syntax_uid_is_made_once_where_pydicom_makes_it_silently(
    films: list[Path], tmp_path: Path
) -> None:
    """A known syntax is remembered; one pydicom warns about is made, and refused, on every read."""
    from spinecheck.landmarks.imaging.header import read_radiograph_header

    header_module._SYNTAX_UIDS.clear()
    first = read_radiograph_header(films[0])
    assert "1.2.840.10008.1.2.1" in header_module._SYNTAX_UIDS
    assert read_radiograph_header(films[0]) == first
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(films[0].read_bytes().replace(b"1.2.840.10008.1.2.1\0", b"1.2.840.10008.1.2.x\0"))
    refusals = []
    for _ in range(2):
        with pytest.raises(UnreadableImageError, match="is not a DICOM transfer syntax") as caught:
            read_radiograph_header(bad)
        refusals.append(str(caught.value))
    assert refusals[0] == refusals[1]
    assert "1.2.840.10008.1.2.x" not in header_module._SYNTAX_UIDS
