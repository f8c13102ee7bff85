"""``spinecheck export``: a study's results as DICOM objects beside its film in the film's study.

Two files per film, written to a folder: ``<film>-sr.dcm``, a Comprehensive SR holding the TID
1500 measurement report (:mod:`.structured_report`), and ``<film>-sc.dcm``, the annotated figure
as a Secondary Capture image (:mod:`.capture`). Both carry the film's Study Instance UID and
copy its Patient and Study modules, each in a new series with new UIDs, and both reference the
film's SOP Instance, so a PACS viewer shows them beside the film.

Decisions where the issue was silent:

- A PNG, JPEG or TIFF film is refused: it has no study to put the results in, and making one
  up (new study, no patient) would file the results where no one looks for them.
- Nothing is overwritten without ``overwrite=True``; each file is written atomically.
- The SR is complete but preliminary and unverified: no person has signed it off.
"""

from __future__ import annotations

import importlib.util
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...landmarks.errors import InvalidArgumentError
from ...landmarks.io.atomic import write_bytes_atomic
from ...landmarks.io.provenance import read_provenance
from ..study import Study
from .source import DicomExportError, SourceFilm, read_source_film

if TYPE_CHECKING:
    from ...landmarks.imaging.radiograph import Radiograph

__all__ = [
    "DicomExport",
    "export_dicom",
    "output_paths",
    "check_outputs",
    "require_highdicom",
    "INSTALL_HINT",
]

INSTALL_HINT = "pip install 'spinecheck[dicom]'"
#: Suffixes a film's file name may end with; the outputs are named after the rest.
_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")


@dataclass(frozen=True)
class DicomExport:
    """What :func:`export_dicom` wrote.

    Attributes
    ----------
    structured_report, secondary_capture : Path
        The two files.
    study_instance_uid : str
        The film's study, which both belong to.
    sr_series_instance_uid, sr_sop_instance_uid : str
    sc_series_instance_uid, sc_sop_instance_uid : str
    referenced_sop_instance_uid : str
        The film's SOP Instance UID, which both reference.
    notes : tuple of str
        What the export noticed: the film's own invalid values (copied as they are), and
        what the DICOM libraries said while building.
    """

    structured_report: Path
    secondary_capture: Path
    study_instance_uid: str
    sr_series_instance_uid: str
    sr_sop_instance_uid: str
    sc_series_instance_uid: str
    sc_sop_instance_uid: str
    referenced_sop_instance_uid: str
    notes: tuple[str, ...] = ()


def output_paths(
    image: str | os.PathLike[str], output_dir: str | os.PathLike[str], *, name: str | None = None
) -> tuple[Path, Path]:
    """The SR and SC files :func:`export_dicom` writes for the film *image* into *output_dir*.

    *name*, when given, is what the files are named after instead of the film's file name
    without its DICOM suffix (``spinecheck batch --dicom`` keeps the whole file name, so that
    ``x.dcm`` and ``x.dicom`` in one folder do not share their results' names).

    >>> [p.name for p in output_paths("films/lateral.dcm", "out")]
    ['lateral-sr.dcm', 'lateral-sc.dcm']
    >>> [p.name for p in output_paths("1.2.840.5", "out")]  # a UID as the name: no suffix to drop
    ['1.2.840.5-sr.dcm', '1.2.840.5-sc.dcm']
    >>> [p.name for p in output_paths("films/lateral.dcm", "out", name="lateral.dcm")]
    ['lateral.dcm-sr.dcm', 'lateral.dcm-sc.dcm']
    """
    if name is None:
        name = Path(image).name
        if name.lower().endswith(_DICOM_SUFFIXES):
            name = name[: name.rindex(".")]
    folder = Path(output_dir)
    return folder / f"{name}-sr.dcm", folder / f"{name}-sc.dcm"


def export_dicom(
    image: str | os.PathLike[str] | Radiograph,
    study: Study | str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    i: int = 0,
    overwrite: bool = False,
    name: str | None = None,
) -> DicomExport:
    """Write study *i*'s results as a DICOM SR and a Secondary Capture in its film's study.

    Parameters
    ----------
    image : str, Path or Radiograph
        The DICOM film (a path, or one loaded with :func:`~spinecheck.load_radiograph`).
    study : Study, str or Path
        The study measured on that film (``load_study(landmarks, image=film, ...)``, with
        whatever criteria and options), or its landmark file, then measured with the defaults.
    output_dir : str or Path
        The folder to write to; made if missing (its parent must exist).
    i : int
        The study of *study* (0 for a landmark file of one film).
    overwrite : bool
        Replace files of the same names; without it, existing files are refused.
    name : str, optional
        What the files are named after (:func:`output_paths`); default the film's name.

    Returns
    -------
    DicomExport

    Raises
    ------
    DicomExportError
        highdicom is not installed; the film is not DICOM, lacks its UIDs, has several
        frames or a SOP class the results cannot copy from; the study failed; an output
        exists (without *overwrite*).
    InvalidArgumentError
        *i* is out of range, or *study* was not measured on *image*.
    InvalidLandmarksError
        The landmark file, or its provenance block, does not follow its format.

    Examples
    --------
    >>> import spinecheck  # doctest: +SKIP
    >>> out = spinecheck.export_dicom("film.dcm", "film.landmarks.json", "dicom-out")  # doctest: +SKIP
    >>> out.structured_report.name, out.secondary_capture.name  # doctest: +SKIP
    ('film-sr.dcm', 'film-sc.dcm')
    """
    require_highdicom()
    from ...landmarks.imaging.pixel_decoding import collect_warnings
    from ...landmarks.imaging.radiograph import load_radiograph
    from ..study import load_study

    film_path = os.fspath(image) if isinstance(image, (str, os.PathLike)) else str(image.path)
    source = read_source_film(film_path)  # a picture is refused before its pixels are decoded
    sr_path, sc_path = check_outputs(film_path, output_dir, overwrite=overwrite, name=name)
    radiograph = load_radiograph(film_path) if isinstance(image, (str, os.PathLike)) else image
    measured = study if isinstance(study, Study) else load_study(os.fspath(study), image=radiograph)
    _check_study(measured, i, radiograph)
    landmarks = measured.landmark_sources[i]
    provenance = read_provenance(landmarks) if landmarks else None

    from highdicom import UID

    from .capture import figure_pixels, secondary_capture
    from .structured_report import structured_report

    uids = [str(UID()) for _ in range(4)]
    said: list[str] = []
    with collect_warnings(said):
        try:
            sr = structured_report(
                measured, i, source, provenance, series_instance_uid=uids[0], sop_instance_uid=uids[1]
            )
            sc = secondary_capture(
                figure_pixels(radiograph.display, measured, i),
                source,
                series_instance_uid=uids[2],
                sop_instance_uid=uids[3],
            )
        except KeyError as e:
            if source.sop_class_uid not in str(e):
                raise
            raise _unknown_class(source) from None
    # highdicom's doubt that a one-part person name is a name is not the user's concern: such names
    # (an anonymiser's hash) are valid DICOM, copied as they are
    notes = [*source.notes, *(n for n in said if "unlikely to represent the intended person name" not in n)]
    data = (_encode(sr), _encode(sc))
    Path(output_dir).mkdir(exist_ok=True)
    for path, payload in zip((sr_path, sc_path), data, strict=True):
        write_bytes_atomic(path, payload)
    return DicomExport(
        sr_path,
        sc_path,
        source.study_instance_uid,
        uids[0],
        uids[1],
        uids[2],
        uids[3],
        source.sop_instance_uid,
        tuple(dict.fromkeys(notes)),
    )


def _check_study(study: Study, i: int, radiograph: Radiograph) -> None:
    if not -len(study) <= i < len(study):
        raise InvalidArgumentError.about("i", "{i}: no study {got} in a table of {n}", got=i, n=len(study))
    status, error = study.status(i)
    if status != "ok":
        raise DicomExportError(f"landmarks '{study.landmark_sources[i]}': were not measured ({error})")
    measured_on = study.image_sources[i]
    if measured_on is None or not _same_file(measured_on, radiograph.path):
        raise InvalidArgumentError.about(
            "study",
            "{study}: was measured {on}, not on the film '{film}'; load it with load_study(..., image=film)",
            on=f"on '{measured_on}'" if measured_on else "without a film",
            film=radiograph.path,
        )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def require_highdicom() -> None:
    """Refuse in one line, naming the extra to install, when highdicom is not installed.

    Raises
    ------
    DicomExportError
    """
    if importlib.util.find_spec("highdicom") is None:
        raise DicomExportError(
            f"DICOM export needs the highdicom package, which is not installed: {INSTALL_HINT}"
        )


def check_outputs(
    image: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    name: str | None = None,
) -> tuple[Path, Path]:
    """The SR and SC paths for *image* in *output_dir*, checked before anything is measured.

    They are named as :func:`output_paths` names them (after *name* when given).

    Raises
    ------
    InvalidArgumentError
        *output_dir* is a file, or neither it nor its parent folder exists.
    DicomExportError
        An output is a folder, or exists and *overwrite* is False.
    """
    folder = Path(output_dir)
    paths = output_paths(image, folder, name=name)
    if folder.exists() and not folder.is_dir():
        raise InvalidArgumentError.about("output_dir", "{output_dir} '{path}': is not a folder", path=folder)
    if not folder.exists() and not folder.absolute().parent.is_dir():
        raise InvalidArgumentError.about(
            "output_dir",
            "{output_dir} '{path}': its folder '{parent}' does not exist",
            path=folder,
            parent=folder.absolute().parent,
        )
    for path in paths:
        if path.is_dir():
            raise DicomExportError(f"output '{path}': is a folder; remove it or write elsewhere")
        if path.exists() and not overwrite:
            raise DicomExportError.about(
                "overwrite",
                "output '{path}': exists; {overwrite} replaces it",
                names={"overwrite": "overwrite=True"},
                path=path,
            )
    return paths


def _unknown_class(source: SourceFilm) -> DicomExportError:
    from pydicom.uid import UID as DicomUID

    uid = source.sop_class_uid
    name = DicomUID(uid).name
    label = f"{uid} ({name})" if name != uid else uid
    return DicomExportError(
        f"image '{source.path}': SOP Class {label} is not an image class whose patient and study the DICOM "
        "results can copy (CR, DX, secondary capture and the other image storage classes can)"
    )


def _encode(dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
