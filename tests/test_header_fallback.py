"""Reading a header without pydicom's private element dict: the public calls, the same results.

:func:`spinecheck.landmarks.imaging.header.read_dataset` reads and writes a data set's elements
through ``Dataset._dict`` (pydicom's own) for speed. A pydicom without that dict is read through
``get_item(tag, keep_deferred=True)`` and ``ds[tag] = element``: these tests force that path on a
hostile film and hold it to the notes, elements and header of the fast path.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from radiograph_factory import dx_file
from spinecheck.landmarks.imaging import header as header_module
from spinecheck.landmarks.imaging.header import read_dataset, read_radiograph_header

LONG_ACCESSION = "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"  # longer than SH allows


def _hostile(path: Path) -> Path:
    """A film pydicom warns about (a long SH), logs about (a 6-byte AT) and cannot read (a VR 'ZZ')."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = dx_file(
            path,
            PatientName="DOE^JANE",
            PatientAge="015Y",
            ViewPosition="LATERAL",
            ImagerPixelSpacing=[0.15, 0.15],
            BodyPartExamined="SPINE",
            AccessionNumber=LONG_ACCESSION,
            FrameIncrementPointer=0x00181063,
        )
    data = bytearray(f.read_bytes())
    at = data.find(b"\x28\x00\x09\x00AT\x04\x00")
    data[at + 6 : at + 8] = b"\x06\x00"
    data[at + 12 : at + 12] = b"\x00\x00"
    body = data.find(b"\x18\x00\x15\x00CS")
    data[body + 4 : body + 6] = b"ZZ"
    f.write_bytes(bytes(data))
    return f


def _elements(ds: pydicom.Dataset) -> dict:
    """Every element, converted now: tag -> (VR, value)."""
    return {e.tag: (e.VR, list(e.value) if isinstance(e.value, MultiValue) else e.value) for e in ds}


def _reads(films: list[Path]) -> list[tuple]:
    """Each film's notes, elements held converted, elements and header, read in turn.

    The later films are read with what the first taught: the elements the header reads are put
    back converted (copies of the first film's), the others left raw.
    """
    header_module._silent_conversions().clear()
    out = []
    for f in films:
        ds, notes = read_dataset(f, "film", preamble=True)
        held = {tag for tag in ds.keys() if isinstance(ds.get_item(tag, keep_deferred=True), DataElement)}
        out.append((notes, held, _elements(ds), read_radiograph_header(f)))
    return out


def test_a_data_set_without_the_private_dict_is_read_through_the_public_calls():
    assert header_module._own_dict(pydicom.Dataset()) == {}
    assert header_module._own_dict(object()) is None

    class Elsewhere:  # a pydicom that keeps its elements in something else
        _dict = pydicom.Dataset()

    assert header_module._own_dict(Elsewhere()) is None


def test_the_public_path_reads_a_hostile_film_as_the_private_dict_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    films = [_hostile(tmp_path / f"h{i}.dcm") for i in range(3)]
    fast = _reads(films)
    notes = fast[0][0]
    assert any("exceeds the maximum length" in n for n in notes), notes
    assert "pydicom: Expected length to be multiple of 4 for VR 'AT', got length 6" in notes
    assert any(n.startswith("element (0018,0015) unreadable") for n in notes), notes

    public: list[int] = []
    get_item = pydicom.Dataset.get_item

    def counted(self, key, **kwargs):  # type: ignore[no-untyped-def]
        public.append(int(key))
        return get_item(self, key, **kwargs)

    monkeypatch.setattr(header_module, "_own_dict", lambda ds: None)
    monkeypatch.setattr(pydicom.Dataset, "get_item", counted)
    slow = _reads(films)
    assert 0x00100010 in public, "the public calls were used"  # Patient Name, read by tag
    assert slow == fast
    # the later films took the remembered conversions (written back through ds[tag] = element)
    assert 0x00100010 in slow[2][1] and slow[2][1] < slow[0][1]  # the others left raw
    assert slow[2][2][0x00100010] == ("PN", "DOE^JANE")
    assert slow[2][3].patient.age_years == 15.0
