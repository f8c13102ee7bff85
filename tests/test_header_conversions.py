"""Reading many headers: an element converted once, silently, is not converted again.

:func:`spinecheck.landmarks.imaging.header.read_dataset` converts every element to keep what
pydicom says about it as a note. A raw element whose bytes, tag, VR and character set were seen
to convert without a word is not converted again in this process (the elements the header
reads get a copy of that conversion). These tests hold the promise that goes with it: every
note comes again on every read, and the data set and header are those of a fresh read.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom import config
from pydicom.multival import MultiValue
from pydicom.uid import ImplicitVRLittleEndian
from radiograph_factory import dx_dataset, dx_file, write
from spinecheck.landmarks.imaging import header as header_module
from spinecheck.landmarks.imaging.header import read_dataset, read_radiograph_header

ATTRS = {
    "PatientName": "DOE^JANE",
    "PatientID": "P1",
    "PatientAge": "015Y",
    "PatientSex": "F",
    "StudyDate": "20230405",
    "ViewPosition": "LATERAL",
    "PatientOrientation": ["A", "F"],
    "ImagerPixelSpacing": [0.15, 0.15],
    "EstimatedRadiographicMagnificationFactor": 1.1,
    "BodyPartExamined": "SPINE",
}


@pytest.fixture
def fresh() -> None:
    """Nothing remembered from earlier tests: the first read of each test converts everything."""
    header_module._silent_conversions().clear()


def _films(tmp_path: Path, n: int, **attrs: object) -> list[Path]:
    """*n* films that differ only in their SOP Instance UID (a batch's usual case)."""
    return [dx_file(tmp_path / f"f{i}.dcm", **{**ATTRS, **attrs}) for i in range(n)]


def _elements(ds: pydicom.Dataset) -> dict:
    """Every element, converted now: tag -> (VR, value)."""
    return {e.tag: (e.VR, list(e.value) if isinstance(e.value, MultiValue) else e.value) for e in ds}


def _count_conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The tags pydicom converts from now on (raw element to value), in order, one entry a conversion."""
    converted: list[int] = []
    convert = pydicom.dataset.convert_raw_data_element

    def counting(raw, **kwargs):  # type: ignore[no-untyped-def]
        converted.append(int(raw.tag))
        return convert(raw, **kwargs)

    monkeypatch.setattr(pydicom.dataset, "convert_raw_data_element", counting)
    return converted


def test_a_header_read_with_earlier_conversions_is_the_fresh_read(tmp_path: Path, fresh: None) -> None:
    films = _films(tmp_path, 3)
    remembered = [read_radiograph_header(f) for f in films]
    remembered_ds = [_elements(read_dataset(f, "film", preamble=True)[0]) for f in films]
    for f, header, elements in zip(films, remembered, remembered_ds, strict=True):
        header_module._silent_conversions().clear()
        assert read_radiograph_header(f) == header
        header_module._silent_conversions().clear()
        assert _elements(read_dataset(f, "film", preamble=True)[0]) == elements
    assert len({h.sop_instance_uid for h in remembered}) == 3
    assert remembered[2].calibration.mm_per_px is not None and remembered[2].patient.age_years == 15.0


def test_an_implicit_vr_film_reads_the_same_with_earlier_conversions(tmp_path: Path, fresh: None) -> None:
    films = []
    for i in range(2):
        ds = dx_dataset(**ATTRS)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        films.append(write(ds, tmp_path / f"i{i}.dcm"))
    second = [read_radiograph_header(f) for f in films][1]
    header_module._silent_conversions().clear()
    assert read_radiograph_header(films[1]) == second


def test_the_elements_the_header_reads_are_not_converted_again(
    tmp_path: Path, fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the first film, the header converts nothing: multi-values are copies too, each its own list."""
    films = _films(tmp_path, 2)
    read_radiograph_header(films[0])
    converted = _count_conversions(monkeypatch)
    ds, notes = read_dataset(films[1], "film", preamble=True)
    # pydicom's reader converts the meta group's length and transfer syntax itself; past those, only the
    # SOP Instance UID differs from the first film, and its copy in the meta group is the same UID
    assert set(converted) - {0x00020000, 0x00020010} == {0x00080018}
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    converted.clear()
    header = header_module.dicom_header(ds, films[1], "film", None, notes)
    assert converted == []
    first, _ = read_dataset(films[0], "film", preamble=True)
    copied = [tag for tag, element in ds.items() if isinstance(element.value, MultiValue)]
    assert {0x00181164, 0x00200020} <= set(copied)  # Imager Pixel Spacing, Patient Orientation
    for tag in copied:
        assert ds[tag].value == first[tag].value and ds[tag].value is not first[tag].value
        assert ds[tag].value._list is not first[tag].value._list
        assert [type(v) for v in ds[tag].value] == [type(v) for v in first[tag].value]
    ds[0x00181164].value[0] = 9.0  # changing one film's value changes no other's
    assert read_dataset(films[1], "film", preamble=True)[0].ImagerPixelSpacing[0] != 9.0
    assert read_radiograph_header(films[1]) == header


def test_a_value_pydicom_warns_about_is_noted_on_every_read(tmp_path: Path, fresh: None) -> None:
    long = "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"  # longer than SH allows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        films = _films(tmp_path, 3, AccessionNumber=long)
    for f in films:
        ds, notes = read_dataset(f, "film", preamble=True)
        assert ds.AccessionNumber == long
        assert any("exceeds the maximum length" in n for n in notes), notes
        assert any("exceeds the maximum length" in w for w in read_radiograph_header(f).warnings)


def test_a_log_record_is_noted_on_every_read(tmp_path: Path, fresh: None) -> None:
    """Pydicom only logs (no warning) about an AT value of 6 bytes."""
    films = []
    for i in range(3):
        f = dx_file(tmp_path / f"at{i}.dcm", FrameIncrementPointer=0x00181063)
        data = bytearray(f.read_bytes())
        at = data.find(b"\x28\x00\x09\x00AT\x04\x00")
        data[at + 6 : at + 8] = b"\x06\x00"
        data[at + 12 : at + 12] = b"\x00\x00"
        f.write_bytes(bytes(data))
        films.append(f)
    said = "pydicom: Expected length to be multiple of 4 for VR 'AT', got length 6"
    for f in films:
        assert said in read_dataset(f, "film", preamble=True)[1]
        assert said in read_radiograph_header(f).warnings


def test_an_unreadable_element_is_dropped_on_every_read(tmp_path: Path, fresh: None) -> None:
    films = _films(tmp_path, 3)
    for f in films:
        data = bytearray(f.read_bytes())
        at = data.find(b"\x18\x00\x15\x00CS")  # Body Part Examined
        data[at + 4 : at + 6] = b"ZZ"
        f.write_bytes(bytes(data))
    for f in films:
        ds, notes = read_dataset(f, "film", preamble=True)
        assert "BodyPartExamined" not in ds
        assert any(n.startswith("element (0018,0015) unreadable") for n in notes), notes


def test_a_change_of_pydicom_settings_converts_again(
    tmp_path: Path, fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    films = _films(tmp_path, 2)
    ds, _ = read_dataset(films[0], "film", preamble=True)
    assert ds.StudyDate == "20230405" and type(ds.StudyDate) is not pydicom.valuerep.DA
    monkeypatch.setattr(config, "datetime_conversion", True)
    ds, _ = read_dataset(films[1], "film", preamble=True)
    assert isinstance(ds.StudyDate, pydicom.valuerep.DA)


def test_a_uid_under_another_tag_is_converted_again_where_a_hook_may_look_at_the_tag(
    tmp_path: Path, fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The meta group's copy of the SOP Instance UID is known silent by its bytes, unless a callback may differ."""
    film = _films(tmp_path, 1)[0]
    converted = _count_conversions(monkeypatch)
    plain, _ = read_dataset(film, "film", preamble=True)
    assert 0x00080018 in converted and 0x00020003 not in converted
    converted.clear()
    monkeypatch.setattr(config, "data_element_callback", lambda raw, **kwargs: raw)
    called, _ = read_dataset(film, "film", preamble=True)
    assert {0x00080018, 0x00020003} <= set(converted)
    assert _elements(called.file_meta) == _elements(plain.file_meta)
