"""Synthetic DICOM files for the radiograph tests, written with pydicom into a test's tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom import config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation


def gradient(rows: int = 64, cols: int = 48, *, high: int = 4000, dtype: Any = np.uint16) -> np.ndarray:
    """Make a smooth ramp of stored values 0..*high* (row-major increasing)."""
    ramp = np.linspace(0, high, rows * cols).reshape(rows, cols)
    return np.rint(ramp).astype(dtype)


def dx_dataset(pixels: np.ndarray | None = None, **attrs: Any) -> Dataset:
    """Make a DX image data set with *pixels* (2-D, or 3-D ``(frames, rows, cols)``).

    Keyword arguments set attributes by keyword. A value that pydicom would
    refuse to write (a malformed age, a window of letters) is stored without
    validation, as a real file can hold it.
    """
    pixels = gradient() if pixels is None else np.asarray(pixels)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = DX_STORAGE
    ds.SOPClassUID = DX_STORAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = pixels.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    for keyword, value in attrs.items():
        set_raw(ds, keyword, value)
    return ds


def set_raw(ds: Dataset, keyword: str, value: Any) -> None:
    """Set or (with None) delete an attribute, without pydicom's value validation."""
    if value is None:
        if keyword in ds:
            del ds[keyword]
        return
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    ds[tag] = DataElement(tag, dictionary_VR(tag), value, validation_mode=config.IGNORE)


def write(ds: Dataset, path: Path, *, patches: dict[bytes, bytes] | None = None) -> Path:
    """Save *ds* as a DICOM file (with preamble) and replace raw byte strings of equal length."""
    ds.save_as(path, enforce_file_format=True)
    if patches:
        data = path.read_bytes()
        for old, new in patches.items():
            assert len(old) == len(new) and old in data, (old, new)
            data = data.replace(old, new)
        path.write_bytes(data)
    return path


def dx_file(path: Path, pixels: np.ndarray | None = None, **attrs: Any) -> Path:
    """Write :func:`dx_dataset` to *path*."""
    return write(dx_dataset(pixels, **attrs), path)
