"""Small synthetic archives for the batch tests: DICOM films with their landmark files."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pydicom
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.points.model import ImageRef, PatientInfo
from spinecheck.landmarks.synthetic.films import (
    SyntheticFilm,
    synthetic_ap,
    synthetic_lateral,
    write_dicom,
    write_png,
)

#: Coarse films (450 x 180 px at 2 mm/px, the coarsest spacing a radiograph is allowed) keep every test fast.
MM_PER_PX = 2.0


@functools.cache
def film(view: str, seed: int = 0) -> SyntheticFilm:
    """A small synthetic film (cached: rendering is the slow part)."""
    make = synthetic_lateral if view == "lateral" else synthetic_ap
    return make(seed, mm_per_px=MM_PER_PX)


def write_study(
    folder: Path,
    name: str,
    *,
    view: str = "lateral",
    seed: int = 0,
    uid: str | None = None,
    landmarks: str | Path | None = "beside",
    declare_path: bool = True,
    png: bool = False,
) -> tuple[Path, Path | None]:
    """Write ``folder/name`` (DICOM, or PNG with *png*) and its landmark file.

    *landmarks*: ``"beside"`` writes ``<stem>.json`` next to the image, a path
    writes it there, None writes none. Returns (image, landmarks).
    """
    folder.mkdir(parents=True, exist_ok=True)
    f = film(view, seed)
    image = folder / name
    uid = uid or f"1.2.826.0.1.3680043.10.511.{abs(hash((name, seed, view))) % 10**12}"
    if png:
        write_png(f, image)
    else:
        write_dicom(f, image, sop_instance_uid=uid, patient_age=60 + seed)
    if landmarks is None:
        return image, None
    out = folder / (Path(name).stem + ".json") if landmarks == "beside" else Path(landmarks)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows, cols = f.shape
    write_landmarks(
        f.landmarks.replace(
            image=ImageRef(
                path=name if declare_path else None,
                sop_instance_uid=None if png else uid,
                rows=rows,
                columns=cols,
            ),
            patient=PatientInfo(),
            source=None,
        ),
        out,
    )
    return image, out


def copy_tree(src: Path, dst: Path) -> Path:
    """A copy of an archive (so a test can change it)."""
    shutil.copytree(src, dst)
    return dst


def corrupt_rle(path: Path) -> None:
    """Spoil an RLE file's first segment (its header is sound), keeping every byte count: complete but undecodable.

    Its first 2000 bytes become PackBits no-ops (0x80), so the segment decodes short. (A spoilt
    header is now found without decoding: :mod:`spinecheck.landmarks.imaging.codestream`.)
    """
    ds = pydicom.dcmread(path, defer_size=0)
    tell = ds.get_item(0x7FE00010, keep_deferred=True).value_tell
    data = bytearray(path.read_bytes())
    offset_table = int.from_bytes(data[tell + 4 : tell + 8], "little")
    rle_header = tell + 8 + offset_table + 8  # after the Basic Offset Table item and the fragment's tag
    data[rle_header + 64 : rle_header + 2064] = b"\x80" * 2000
    path.write_bytes(bytes(data))
