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
import struct
from types import SimpleNamespace
from typing import Any

__all__ = ["AfterThePixelData", "PIXEL_TAGS", "read_partial_fast"]

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


def _plain_pydicom(pd: SimpleNamespace) -> bool:
    """Whether pydicom reads as it does by default, where this module's result depends on it."""
    from pydicom.hooks import hooks

    config = pd.config
    return (
        not config.debugging
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
    size, known, raw_element, base_tag = buf.size, pd.known_vr, pd.RawDataElement, pd.BaseTag
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
        tag = base_tag(group << 16 | element)
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
    dataset_cls, encoding = pd.Dataset, pd.default_encoding
    meta_set = dataset_cls(meta, parent_encoding=encoding)
    meta_set.set_original_encoding(False, True, encoding)
    file_meta = pd.FileMetaDataset(meta_set)
    file_meta.set_original_encoding(is_implicit_vr=False, is_little_endian=True, character_encoding=encoding)
    file_meta[list(file_meta.elements())[0].tag]
    if "FileMetaInformationGroupLength" in file_meta:
        actual_len = pos - (_META_START + 12)
        elem_len = file_meta.FileMetaInformationGroupLength
        if elem_len != actual_len:  # checked above: pydicom's words all the same
            pd.logger.info(
                "_read_file_meta_info: (0002,0000) 'File Meta Information "
                "Group Length' value doesn't match the actual File Meta "
                f"Information length ({elem_len} vs {actual_len} bytes)"
            )
    file_meta.get("TransferSyntaxUID")

    elements, pos = _data_set(buf, pos, implicit, stop, defer_size, pd)
    fp.seek(pos)
    dataset = dataset_cls(elements, parent_encoding=encoding)
    if _CHARSET in elements:
        char_set = pd.convert_raw_data_element(elements[pd.BaseTag(_CHARSET)]).value
        encoding = pd.convert_encodings(char_set)
    dataset.set_original_encoding(implicit, True, encoding)
    ds = pd.FileDataset(fp, dataset, preamble, file_meta, implicit, True)
    ds.set_original_encoding(implicit, True, dataset._character_set)
    return ds


def _data_set(
    buf: _Buffer, pos: int, implicit: bool, stop: AfterThePixelData, defer_size: int, pd: SimpleNamespace
) -> tuple[dict, int]:
    """The data set's elements from *pos* on, and where pydicom's reader leaves the file.

    pydicom's ``data_element_generator`` as ``read_dataset`` runs it: an element read by the
    generator (see the module notes) is read from its start; an ``EOFError`` there is warned
    about and leaves the data set empty, a ``NotImplementedError`` is logged and does the same,
    as in ``read_dataset``.
    """
    size, known, raw_element, base_tag = buf.size, pd.known_vr, pd.RawDataElement, pd.BaseTag
    empty_value = pd.empty_value_for_VR
    elements: dict = {}
    encoding: Any = pd.default_encoding
    last, seen_pixels, pixel_tags = stop.last, stop.seen_pixels, PIXEL_TAGS
    header = 8 if implicit else 12
    while True:
        if pos + 8 > size:
            return elements, max(pos, size)  # pydicom reads what is left and ends
        end = buf.start + len(buf.data)
        if pos + header > end and end < size:
            buf.cover(pos, header)
        data, off = buf.data, pos - buf.start
        if implicit:
            group, element, length = _TAG_LENGTH(data, off)
            vr = None
            tell = pos + 8
        else:
            group, element, vr_bytes, length = _TAG_VR_LENGTH(data, off)
            entry = known.get(vr_bytes)
            if entry is None:
                vr = None  # an unknown VR or a switch to implicit VR: pydicom's generator decides
            else:
                vr, long = entry
                if long:
                    if pos + 12 > size:
                        vr = None  # the 4-byte length is cut off: pydicom's generator fails there
                    else:
                        (length,) = _LONG(data, off + 8)
                tell = pos + (12 if long else 8)
        tag = group << 16 | element
        if (not implicit and vr is None) or length == _UNDEFINED or tag == _ITEM_DELIMITER:
            stop.last, stop.seen_pixels = last, seen_pixels
            pos, encoding, done = _by_pydicom(buf, pos, implicit, stop, defer_size, encoding, elements, pd)
            if done:
                return elements, pos
            last, seen_pixels = stop.last, stop.seen_pixels
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
            if tell + length > buf.start + len(buf.data) and buf.start + len(buf.data) < size:
                buf.cover(tell, length)
            start = tell - buf.start
            value = buf.data[start : start + length]
            pos = tell + len(value)
        else:
            value = empty_value(vr, raw=True)
            pos = tell
        if tag == _CHARSET:
            encoding = pd.convert_encodings(pd.convert_string(value or b"", True))
        key = base_tag(tag)
        elements[key] = raw_element(key, vr, length, value, tell, implicit, True)


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
