"""Reading a DICOM file's data set up to its Pixel Data as pydicom's ``read_partial`` does, faster.

:func:`read_partial_fast` walks the elements of a file with the ``DICM`` preamble over one read of
its first bytes (``struct.unpack_from`` on the buffer, no read and seek per element) and builds
the same :class:`pydicom.dataset.FileDataset` that ``pydicom.filereader.read_partial`` builds,
through pydicom's own constructors: the same elements in the same order (pydicom's
``RawDataElement`` with the same fields), the same File Meta Information, preamble, original
encoding, file name and time stamp, the same conversions done while reading (the first meta
element, the group length, the Transfer Syntax UID, the Specific Character Set), and the file
left at the same position. It reads a header in about half the time (issue 17, 4).

It is used only where it is sure to give that result; anywhere else it says so by returning
None before it has done anything pydicom could be heard doing (a warning, a log record, a
conversion), and the caller reads the file with pydicom:

- no ``DICM`` at byte 128, no File Meta Information, a meta group that is not explicit VR little
  endian, holds an unknown VR or an undefined length, runs past the end of the file, or whose
  Group Length disagrees with its elements (pydicom logs that);
- a Transfer Syntax UID that is missing, unknown, big endian, deflated or private;
- a Command Set group (0000,eeee), or fewer than 8 bytes of data set;
- a first element whose VR field says the other encoding (pydicom's heuristic warns and switches);
- pydicom's debugging switched on (it logs every element then).

Inside the data set, an element the walker does not read itself (undefined length, such as a
sequence of undefined length or encapsulated Pixel Data; an unknown VR; an element header cut
by the end of the file; an item delimiter) is read by pydicom's own element generator from that
element on, one element, and walking resumes after it. Reading stops where
:class:`AfterThePixelData` says, as pydicom's reader stops where it says.
"""

from __future__ import annotations

import functools
import io
import os
import struct
from types import SimpleNamespace
from typing import Any

__all__ = ["AfterThePixelData", "PIXEL_TAGS", "read_partial_fast", "tag_key"]

#: Pixel Data, Float Pixel Data and Double Float Pixel Data.
PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})


class AfterThePixelData:
    """A ``stop_when`` for pydicom's reader: True at a top-level element that cannot be one.

    Elements follow in ascending tag order (DICOM PS3.5 7.1); after the Pixel Data only
    higher tags may come (Data Set Trailing Padding, Digital Signatures). And a value is
    never longer than the bytes left in the file (*fp*, *size* bytes; pydicom calls this with
    *fp* at the value), except the Pixel Data of a truncated file, which the header check
    names. Anything else is not part of the data set: random bytes appended to a film read
    as an element of a random length, and a flipped bit in a length before the Pixel Data
    made one of 2 GiB; converting them allocated that much (MemoryError). Reading stops
    there, so a damaged header is refused as one without its pixel data.

    :func:`read_partial_fast` applies the same rules to the elements it reads itself, through
    :attr:`last` (the tag of the last element read) and :attr:`seen_pixels`.
    """

    __slots__ = ("last", "seen_pixels", "size", "tell")

    def __init__(self, fp: Any, size: int) -> None:
        self.last = -1
        self.seen_pixels = False
        self.size = size
        self.tell = fp.tell

    def __call__(self, tag: Any, vr: Any, length: int) -> bool:
        t = int(tag)
        if self.seen_pixels and t <= self.last:
            return True
        if length and length != 0xFFFFFFFF and length > self.size - self.tell() and t not in PIXEL_TAGS:
            return True
        self.last = t
        if t in PIXEL_TAGS:
            self.seen_pixels = True
        return False


#: Bytes read at once: the headers of films seen run to 1-6 KiB before the Pixel Data.
_CHUNK = 16384
_UNDEFINED = 0xFFFFFFFF
_META_START = 132  # after the preamble and 'DICM'
_ITEM_DELIMITER = 0xFFFEE00D
_CHARSET = 0x00080005
_TAG_VR_LENGTH = struct.Struct("<HH2sH").unpack_from
_TAG_LENGTH = struct.Struct("<HHL").unpack_from
_LONG = struct.Struct("<L").unpack_from


@functools.cache
def _pydicom() -> SimpleNamespace:
    """The pydicom names this module uses, imported on first use (start-up, issue 17, 5)."""
    import logging

    from pydicom import config, uid
    from pydicom.charset import convert_encodings, default_encoding
    from pydicom.dataelem import RawDataElement, convert_raw_data_element, empty_value_for_VR
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.filereader import ENCODED_VR, data_element_generator
    from pydicom.hooks import raw_element_value, raw_element_vr
    from pydicom.misc import warn_and_log
    from pydicom.tag import BaseTag
    from pydicom.valuerep import EXPLICIT_VR_LENGTH_32
    from pydicom.values import convert_string

    # VR bytes pydicom reads as a VR of that name (filereader's ENCODED_VR), and whether a
    # 4-byte length follows (EXPLICIT_VR_LENGTH_32)
    known = {vr: (vr.decode(), vr.decode() in EXPLICIT_VR_LENGTH_32) for vr in ENCODED_VR if len(vr) == 2}
    syntaxes = {str(ts): ts for ts in uid.AllTransferSyntaxes}
    implicit = {str(uid.ImplicitVRLittleEndian)}
    refused = {str(uid.ExplicitVRBigEndian), str(uid.DeflatedExplicitVRLittleEndian)}
    return SimpleNamespace(
        config=config,
        hooks=(raw_element_vr, raw_element_value),
        convert_encodings=convert_encodings,
        default_encoding=default_encoding,
        RawDataElement=RawDataElement,
        convert_raw_data_element=convert_raw_data_element,
        empty_value_for_VR=empty_value_for_VR,
        Dataset=Dataset,
        FileDataset=FileDataset,
        FileMetaDataset=FileMetaDataset,
        data_element_generator=data_element_generator,
        warn_and_log=warn_and_log,
        BaseTag=BaseTag,
        convert_string=convert_string,
        known_vr=known,
        little_endian_syntaxes={k: k in implicit for k in syntaxes if k not in refused},
        uid=uid,
        logger=logging.getLogger("pydicom"),
    )


#: One pydicom tag (a ``BaseTag``) a tag number, shared by every data set this module reads, and by
#: the lookups of :func:`~.dicom_header.dataset_value`: a dict finds a key of the same object by
#: identity, where a lookup by another object of the same number calls ``BaseTag.__eq__``, a Python
#: function (some 0.25 µs; a header's 40 lookups a film, issue 17, 4).
_TAG_KEYS: dict[int, Any] = {}
#: Most tags kept (a film has some 60; private ones vary): past it, tags are made anew.
_TAG_KEYS_MOST = 4096


def tag_key(tag: int) -> Any:
    """The pydicom ``BaseTag`` of *tag*, the same object each time (see :data:`_TAG_KEYS`)."""
    key = _TAG_KEYS.get(tag)
    if key is None:
        key = _pydicom().BaseTag(tag)
        if len(_TAG_KEYS) < _TAG_KEYS_MOST:
            _TAG_KEYS[tag] = key
    return key


#: The pydicom releases whose reader this module was checked against, element by element
#: (tests/test_header_fast.py): another release may read differently, and is left to read alone.
VERIFIED_PYDICOM = ("3.0.",)


def _plain_pydicom(pd: SimpleNamespace) -> bool:
    """Whether pydicom reads as it does by default, where this module's result depends on it.

    Only a verified release (:data:`VERIFIED_PYDICOM`): a newer reader may warn, convert or
    order where this module would not, so with it every file is read by pydicom (slower, the same).
    """
    import pydicom
    from pydicom.hooks import hooks

    config = pd.config
    return (
        pydicom.__version__.startswith(VERIFIED_PYDICOM)
        and not config.debugging
        and not pd.logger.isEnabledFor(10)  # logging.DEBUG: read_preamble logs at DEBUG on every read
        and config.data_element_callback is None
        and (hooks.raw_element_vr, hooks.raw_element_value) == pd.hooks
        and not pd.uid.PrivateTransferSyntaxes
    )


class _Buffer:
    """The file's bytes from :attr:`start`, read in chunks as the walk needs them."""

    __slots__ = ("fp", "size", "start", "data")

    def __init__(self, fp: Any, size: int, data: bytes) -> None:
        self.fp, self.size, self.start, self.data = fp, size, 0, data

    def cover(self, at: int, n: int) -> None:
        """Make :attr:`data` hold bytes ``at .. at + n`` (those the file has)."""
        self.fp.seek(at)
        self.data = self.fp.read(max(n, _CHUNK))
        self.start = at


def _meta_elements(buf: _Buffer, pd: SimpleNamespace) -> tuple[dict, int] | None:
    """The File Meta Information group's raw elements and where it ends; None: not plainly readable.

    As pydicom's ``_read_file_meta_info`` reads it (explicit VR little endian, nothing
    deferred, stopping at the first element of another group), without converting anything.
    """
    size, known, raw_element = buf.size, pd.known_vr, pd.RawDataElement
    elements: dict = {}
    pos = _META_START
    while True:
        if pos + 12 > buf.start + len(buf.data):
            if pos + 8 > size:
                return None  # the file ends in or right after the meta group
            buf.cover(pos, 12)
        data, off = buf.data, pos - buf.start
        group, element, vr_bytes, length = _TAG_VR_LENGTH(data, off)
        if group != 2:
            break
        entry = known.get(vr_bytes)
        if entry is None:
            return None  # an unknown VR, or implicit VR: pydicom guesses or retries
        vr, long = entry
        if long:
            if off + 12 > len(data):
                return None
            (length,) = _LONG(data, off + 8)
            tell = pos + 12
        else:
            tell = pos + 8
        if length == _UNDEFINED or tell + length > size:
            return None
        if tell + length > buf.start + len(buf.data):
            buf.cover(tell, length)
        start = tell - buf.start
        value = buf.data[start : start + length] if length else pd.empty_value_for_VR(vr, raw=True)
        tag = tag_key(group << 16 | element)
        elements[tag] = raw_element(tag, vr, length, value, tell, False, True)
        pos = tell + length
    if not elements:
        return None
    first = next(iter(elements))
    if first == 0x00020000:
        # pydicom logs a Group Length other than the meta group's bytes after it
        group_length = elements[first]
        if group_length.VR != "UL" or group_length.length != 4:
            return None
        if _LONG(group_length.value)[0] != pos - (_META_START + 12):
            return None
    return elements, pos


def _transfer_syntax(elements: dict, pd: SimpleNamespace) -> bool | None:
    """Whether the data set is implicit VR, from the Transfer Syntax UID; None: not plainly known.

    The UID as pydicom's ``convert_UI`` reads it: trailing nulls and spaces removed.
    """
    raw = elements.get(0x00020010)
    if raw is None or raw.VR != "UI" or not raw.value:
        return None
    text = raw.value.decode(pd.default_encoding).rstrip("\0 ")
    return pd.little_endian_syntaxes.get(text)


def read_partial_fast(fp: Any, size: int, stop: AfterThePixelData, defer_size: int) -> Any | None:
    """What pydicom's ``read_partial(fp, stop, defer_size)`` reads from a file with a preamble; None where unsure.

    Parameters
    ----------
    fp : binary file
        Open at byte 0. After a read it is where pydicom's reader leaves it; after None,
        anywhere (the caller seeks back).
    size : int
        The file's size in bytes.
    stop : AfterThePixelData
        The stop rule, fresh (pydicom's reader would be given the same one).
    defer_size : int
        Values longer than this (bytes) are left in the file (value None), as pydicom's.

    Returns
    -------
    pydicom.dataset.FileDataset or None
        The data set pydicom reads; None before anything is converted where this module is
        not sure to give it (see the module notes).
    """
    pd = _pydicom()
    if not _plain_pydicom(pd):
        return None
    buf = _Buffer(fp, size, fp.read(_CHUNK))
    preamble = buf.data[:128]
    if buf.data[128:132] != b"DICM":
        return None
    found = _meta_elements(buf, pd)
    if found is None:
        return None
    meta, pos = found
    implicit = _transfer_syntax(meta, pd)
    if implicit is None:
        return None
    if pos + 8 > size:
        return None  # no data set (pydicom takes the encoding otherwise then)
    if pos + 8 > buf.start + len(buf.data):
        buf.cover(pos, 8)
    head = buf.data[pos - buf.start : pos - buf.start + 6]
    if head[0:2] == b"\0\0":
        return None  # a Command Set group
    found_implicit = not (0x40 < head[4] < 0x5B and 0x40 < head[5] < 0x5B)
    if found_implicit != implicit:
        return None  # pydicom warns, and reads with the VR the bytes suggest

    # From here on the calls are pydicom's reader's, in its order: the same conversions, the
    # same warnings and log records.
    encoding = pd.default_encoding
    # pydicom's read_dataset and FileMetaDataset make a data set and then the meta data set on its
    # elements; the first is dropped: only the second is made, as its constructor makes it
    file_meta = _new_dataset(
        pd.FileMetaDataset,
        pd,
        _dict=meta,
        _parent_encoding=encoding,
        _read_implicit=False,
        _read_little=True,
        _read_charset=encoding,
    )
    _convert_meta(file_meta, pos, pd)

    elements, pos = _data_set(buf, pos, implicit, stop, defer_size, pd)
    fp.seek(pos)
    if _CHARSET in elements:  # read_dataset's conversions of the character set (its warnings)
        char_set = pd.convert_raw_data_element(elements[tag_key(_CHARSET)]).value
        pd.convert_encodings(char_set)
    ds = _file_dataset(fp, elements, preamble, file_meta, implicit, pd)
    ds.set_original_encoding(implicit, True, ds._character_set)
    return ds


#: What pydicom's constructors set, by class and ``config._use_future``: name, value, a fresh copy each time.
_TEMPLATES: dict[tuple, list[tuple[str, Any, bool]]] = {}


def _new_dataset(cls: type, pd: SimpleNamespace, **attrs: Any) -> Any:
    """A data set of *cls* holding what its constructor sets, then *attrs*, without its ``__setattr__``.

    pydicom's ``Dataset.__setattr__`` looks up every name it is given as a DICOM keyword: some 20
    of them for each data set made, about 40 µs a film. The attributes come from a data set the
    constructor made (once per process): their names follow pydicom's version; a dict among them
    (the private blocks, the pixel options) is a new copy for each data set.
    """
    key = (cls, pd.config._use_future)
    template = _TEMPLATES.get(key)
    if template is None:
        made = (
            pd.FileDataset(_NoFile(), pd.Dataset(), None, pd.FileMetaDataset())
            if cls is pd.FileDataset
            else cls()
        )
        template = _TEMPLATES[key] = [(k, v, v.__class__ is dict) for k, v in vars(made).items()]
    ds: Any = object.__new__(cls)
    state = ds.__dict__
    for name, value, fresh in template:
        state[name] = value.copy() if fresh else value
    state.update(attrs)
    return ds


class _NoFile:
    """A buffer for a template :class:`~pydicom.dataset.FileDataset`: none of its file attributes is kept."""

    def read(self, n: int = -1) -> bytes:
        return b""

    def seek(self, at: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0


def _file_dataset(
    fp: Any, elements: dict, preamble: bytes, file_meta: Any, implicit: bool, pd: SimpleNamespace
) -> Any:
    """``FileDataset(fp, Dataset(elements), preamble, file_meta, implicit, True)`` for an open file."""
    if not isinstance(fp, io.BufferedReader):
        return pd.FileDataset(fp, pd.Dataset(elements), preamble, file_meta, implicit, True)
    # FileDataset's own attributes for a file opened "rb": its name, and its time stamp where it exists
    filename = fp.name
    try:
        timestamp = os.stat(filename).st_mtime if filename else None
    except (OSError, ValueError):  # os.path.exists says False for both
        timestamp = None
    attrs = {
        "_dict": elements,
        "_parent_encoding": pd.default_encoding,
        "preamble": preamble,
        "file_meta": file_meta,
        "_read_implicit": implicit,
        "_read_little": True,
        "fileobj_type": open,
        "filename": filename,
        "buffer": None,
        "timestamp": timestamp,
    }
    if not pd.config._use_future:
        attrs["_is_implicit_VR"], attrs["_is_little_endian"] = implicit, True
    return _new_dataset(pd.FileDataset, pd, **attrs)


#: Meta elements converted before (Group Length, a known Transfer Syntax UID), by raw form and
#: validation mode: their conversion is silent and the same every time.
_CONVERTED: dict[tuple, Any] = {}
#: Most raw forms kept (a batch sees one Group Length and a few syntaxes).
_CONVERTED_MOST = 64


def _convert_meta(file_meta: Any, end: int, pd: SimpleNamespace) -> None:
    """The conversions pydicom's reader does on the meta group, in its order, or their copies.

    The first element (to tell the meta group's VR encoding), the Group Length (compared with
    the group's bytes, *end* where it ends; :func:`_meta_elements` saw they agree) and the
    Transfer Syntax UID. Where the first element is the Group Length and both raw forms were
    converted before, the elements are copies of those conversions.
    """
    elements = file_meta._dict
    first, syntax = next(iter(elements)), tag_key(0x00020010)
    mode = pd.config.settings.reading_validation_mode
    keys = (
        [(int(t), elements[t].VR, elements[t].value, mode) for t in (first, syntax)]
        if first == 0x00020000
        else []
    )
    done = [_CONVERTED.get(k) for k in keys]
    if keys and None not in done:
        for tag, converted in zip((first, syntax), done, strict=True):
            elements[tag] = _copy_element(converted, elements[tag].value_tell)
        return
    file_meta[list(file_meta.elements())[0].tag]
    if "FileMetaInformationGroupLength" in file_meta:
        actual_len = end - (_META_START + 12)
        elem_len = file_meta.FileMetaInformationGroupLength
        if elem_len != actual_len:  # not on this path (_meta_elements): pydicom's words all the same
            pd.logger.info(
                "_read_file_meta_info: (0002,0000) 'File Meta Information "
                "Group Length' value doesn't match the actual File Meta "
                f"Information length ({elem_len} vs {actual_len} bytes)"
            )
    file_meta.get("TransferSyntaxUID")
    if keys:
        if len(_CONVERTED) >= _CONVERTED_MOST:
            _CONVERTED.clear()
        for tag, key in zip((first, syntax), keys, strict=True):
            _CONVERTED[key] = _copy_element(elements[tag], None)


def _copy_element(element: Any, tell: int | None) -> Any:
    """A new element with *element*'s attributes (an immutable value: a number, a UID) at *tell*."""
    copy = object.__new__(element.__class__)
    copy.__dict__.update(element.__dict__)
    copy.file_tell = tell
    return copy


def _data_set(
    buf: _Buffer, pos: int, implicit: bool, stop: AfterThePixelData, defer_size: int, pd: SimpleNamespace
) -> tuple[dict, int]:
    """The data set's elements from *pos* on, and where pydicom's reader leaves the file.

    pydicom's ``data_element_generator`` as ``read_dataset`` runs it: an element read by the
    generator (see the module notes) is read from its start; an ``EOFError`` there is warned
    about and leaves the data set empty, a ``NotImplementedError`` is logged and does the same,
    as in ``read_dataset``.
    """
    size, known, keys = buf.size, pd.known_vr, _TAG_KEYS
    raw_class, rest = _raw_fields(pd)
    new = tuple.__new__
    empty_value = pd.empty_value_for_VR
    empties: dict[str | None, Any] = {}  # one read, one configuration: one empty value a VR
    elements: dict = {}
    encoding: Any = pd.default_encoding
    last, seen_pixels, pixel_tags = stop.last, stop.seen_pixels, PIXEL_TAGS
    header = 8 if implicit else 12
    data, start = buf.data, buf.start
    end = start + len(data)
    while True:
        if pos + 8 > size:
            return elements, max(pos, size)  # pydicom reads what is left and ends
        if pos + header > end and end < size:
            buf.cover(pos, header)
            data, start = buf.data, buf.start
            end = start + len(data)
        off = pos - start
        if implicit:
            group, element, length = _TAG_LENGTH(data, off)
            vr = None
            tell = pos + 8
        else:
            group, element, vr_bytes, length = _TAG_VR_LENGTH(data, off)
            entry = known.get(vr_bytes)
            if entry is None or (entry[1] and pos + 12 > size):
                # an unknown VR, a switch to implicit VR, a 4-byte length cut off: pydicom's generator
                length = _UNDEFINED
            elif entry[1]:
                vr = entry[0]
                (length,) = _LONG(data, off + 8)
                tell = pos + 12
            else:
                vr = entry[0]
                tell = pos + 8
        tag = group << 16 | element
        if length == _UNDEFINED or tag == _ITEM_DELIMITER:
            stop.last, stop.seen_pixels = last, seen_pixels
            pos, encoding, done = _by_pydicom(buf, pos, implicit, stop, defer_size, encoding, elements, pd)
            if done:
                return elements, pos
            last, seen_pixels = stop.last, stop.seen_pixels
            data, start = buf.data, buf.start
            end = start + len(data)
            continue
        # the stop rule (AfterThePixelData), with the file at the value
        if seen_pixels and tag <= last:
            return elements, pos
        if length and length > size - tell and tag not in pixel_tags:
            return elements, pos
        last = tag
        if tag in pixel_tags:
            seen_pixels = True
        if length > defer_size and tag != _CHARSET:
            value = None
            pos = tell + length
        elif length:
            if tell + length > end and end < size:
                buf.cover(tell, length)
                data, start = buf.data, buf.start
                end = start + len(data)
            value = data[tell - start : tell - start + length]
            pos = tell + len(value)
        else:
            value = empties[vr] if vr in empties else empties.setdefault(vr, empty_value(vr, raw=True))
            pos = tell
        if tag == _CHARSET:
            encoding = pd.convert_encodings(pd.convert_string(value or b"", True))
        key = keys.get(tag)
        if key is None:
            key = tag_key(tag)
        if rest is not None:  # the named tuple as its constructor makes it, without the call
            elements[key] = new(raw_class, (key, vr, length, value, tell, implicit) + rest)
        else:
            elements[key] = raw_class(key, vr, length, value, tell, implicit, True)


def _raw_fields(pd: SimpleNamespace) -> tuple[Any, tuple | None]:
    """The class ``RawDataElement`` of pydicom, and the fields that follow the first seven, or None.

    ``RawDataElement(tag, VR, length, value, value_tell, is_implicit_VR, True)`` is the named
    tuple of those seven fields and its defaults (``is_raw``, ``is_buffered``), made by
    ``tuple.__new__`` as its own constructor makes it, without that constructor's call (nor a
    function's: some 50 a film). None where its fields are not those: its constructor is called.
    """
    raw = pd.RawDataElement
    fields = ("tag", "VR", "length", "value", "value_tell", "is_implicit_VR", "is_little_endian")
    if raw._fields[:7] != fields or set(raw._fields[7:]) - set(raw._field_defaults):
        return raw, None
    return raw, (True, *(raw._field_defaults[name] for name in raw._fields[7:]))


def _by_pydicom(
    buf: _Buffer,
    pos: int,
    implicit: bool,
    stop: AfterThePixelData,
    defer_size: int,
    encoding: Any,
    elements: dict,
    pd: SimpleNamespace,
) -> tuple[int, Any, bool]:
    """Read the element at *pos* with pydicom's generator: ``(where next, encoding, the end)``.

    The generator reads one element and is left there (nothing of its runs after a
    ``yield``); a Specific Character Set it reads changes its encoding, so it then reads
    the rest. At its end *elements* holds what pydicom's ``read_dataset`` would hold.
    """
    fp = buf.fp
    fp.seek(pos)
    generator = pd.data_element_generator(fp, implicit, True, stop, defer_size, encoding)
    try:
        for raw in generator:
            elements[raw.tag] = raw
            if raw.tag != _CHARSET:
                at = fp.tell()
                buf.cover(at, 12)
                return at, encoding, False
    except EOFError as details:
        if pd.config.settings.reading_validation_mode == pd.config.RAISE:
            raise
        elements.clear()  # read_dataset's dict is never made
        msg = str(details) + " in file " + getattr(fp, "name", "<no filename>")
        pd.warn_and_log(msg, UserWarning)
    except NotImplementedError as details:
        elements.clear()
        pd.logger.error(details)
    return fp.tell(), encoding, True
