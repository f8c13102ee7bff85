"""One call from a flexion and an extension landmark file (and their films) to judged segmental motion.

:func:`load_instability` reads both files, takes each film's calibration and
patient data from its image header unless the landmark file says otherwise
(the rules of :func:`~spinecheck.alignment.study.load_study`), refuses a pair
that cannot be one patient's flexion and extension films, measures every
motion segment (:func:`~spinecheck.alignment.geometry.instability.measure_instability`)
and judges it by the chosen instability sets
(:func:`~spinecheck.alignment.criteria.instability.judge_instability`).

Refused, each with one line naming the argument and what was expected:

- a film that is not lateral (the landmark file's ``view``, or its image's header);
- the same landmark file, image or SOP Instance UID for both films;
- two films whose headers name different patients: the sex differs, or the
  ages (from Patient's Age or the dates) differ by more than one year, which
  one visit's flexion and extension films cannot do.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..landmarks.errors import InvalidArgumentError, InvalidLandmarksError
from ..landmarks.io.read import read_landmark_table
from ..landmarks.points.calibration import Calibration
from ..landmarks.points.model import LandmarkTable
from ..landmarks.points.names import View
from .criteria.instability import (
    DEFAULT_INSTABILITY_SETS,
    InstabilityJudgement,
    InstabilitySet,
    judge_instability,
)
from .geometry.instability import Instability, measure_instability
from .study import merge_image

if TYPE_CHECKING:
    from ..landmarks.imaging.header import RadiographHeader
    from ..landmarks.imaging.radiograph import Radiograph

__all__ = ["FILMS", "InstabilityStudy", "load_instability"]

#: The two films of a pair, in the order every result lists them.
FILMS: tuple[str, str] = ("flexion", "extension")


@dataclass(frozen=True)
class InstabilityStudy:
    """A flexion-extension pair measured and judged, with its provenance.

    Attributes
    ----------
    flexion, extension : LandmarkTable
        One film each (one row), calibration and patient data merged from the image.
    measurements : Instability
        Segmental motion, ``(1, K)`` arrays.
    judgements : tuple of InstabilityJudgement
        One per instability set, in the order chosen.
    landmark_sources : (str, str)
        The flexion and extension landmark files.
    image_sources : (str or None, str or None)
        Their images, when given.
    """

    flexion: LandmarkTable
    extension: LandmarkTable
    measurements: Instability
    judgements: tuple[InstabilityJudgement, ...]
    landmark_sources: tuple[str, str]
    image_sources: tuple[str | None, str | None]

    def film(self, which: str) -> LandmarkTable:
        """The ``"flexion"`` or ``"extension"`` film."""
        return self.flexion if which == FILMS[0] else self.extension

    @property
    def warnings(self) -> list[str]:
        """Each film's warnings, prefixed with its name."""
        return [f"{which} film: {w}" for which in FILMS for w in self.film(which).warnings[0]]


def load_instability(
    flexion_landmarks: str | os.PathLike[str],
    extension_landmarks: str | os.PathLike[str],
    *,
    flexion_image: str | os.PathLike[str] | Radiograph | RadiographHeader | None = None,
    extension_image: str | os.PathLike[str] | Radiograph | RadiographHeader | None = None,
    mm_per_px: Sequence[float] | None = None,
    criteria: Sequence[str | os.PathLike[str] | InstabilitySet] = DEFAULT_INSTABILITY_SETS,
    given_by: str = "load_instability argument",
) -> InstabilityStudy:
    """Read, check, measure and judge a flexion-extension pair of lateral films.

    Parameters
    ----------
    flexion_landmarks, extension_landmarks : str or Path
        ``spinecheck-landmarks/1`` JSON (or another single-study format
        :func:`spinecheck.landmarks.io.read.read_landmark_table` reads) of each film.
    flexion_image, extension_image : str, Path, Radiograph or RadiographHeader, optional
        Each film's image: its header gives calibration, age and sex unless the
        landmark file does (a path is read header only).
    mm_per_px : (row, col), optional
        One pixel spacing for both films; overrides the files and the images.
    criteria : sequence of str, Path or InstabilitySet
        Instability sets (default :data:`~spinecheck.alignment.criteria.instability.DEFAULT_INSTABILITY_SETS`).
    given_by : str
        Who gave *mm_per_px*, as the report names its source.

    Returns
    -------
    InstabilityStudy

    Raises
    ------
    InvalidArgumentError
        The same file, image or film given twice; films of different patients.
    InvalidLandmarksError
        A landmark file does not follow its format, holds more than one study,
        is not of a lateral film, or does not fit its image.
    InvalidCriteriaError
        A set of *criteria* is not a shipped instability set nor such a file.
    """
    paths = (Path(flexion_landmarks), Path(extension_landmarks))
    if _same_file(*paths):
        raise InvalidArgumentError.about(
            "extension_landmarks",
            "{extension_landmarks} '{path}': is the flexion landmark file too; give the extension film's",
            path=paths[1],
        )
    images = (flexion_image, extension_image)
    if all(isinstance(im, (str, os.PathLike)) for im in images) and _same_file(*map(Path, images)):  # type: ignore[arg-type]
        raise InvalidArgumentError.about(
            "extension_image",
            "{extension_image} '{path}': is the flexion image too; give the extension film",
            path=os.fspath(images[1]),  # type: ignore[arg-type]
        )
    tables, headers = [], []
    for which, path, image in zip(FILMS, paths, images, strict=True):
        header = None if image is None else _header(image)
        tables.append(_film(which, path, image, header, mm_per_px, given_by))
        headers.append(header)
    flexion, extension = tables
    _check_pair(flexion, extension, *headers)
    m = measure_instability(flexion, extension)
    judgements = judge_instability(m, criteria)
    image_names = tuple(None if im is None else _image_name(im) for im in images)
    return InstabilityStudy(
        flexion,
        extension,
        m,
        judgements,
        (str(paths[0]), str(paths[1])),
        image_names,  # type: ignore[arg-type]
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _image_name(image: Any) -> str:
    return os.fspath(image) if isinstance(image, (str, os.PathLike)) else str(image.path)


def _film(
    which: str, path: Path, image: Any, header: Any, mm_per_px: Sequence[float] | None, given_by: str
) -> LandmarkTable:
    """One film's landmarks, merged with its image header and the user's spacing; checked lateral."""
    table = read_landmark_table(path)
    argument = f"{which}_landmarks"
    if len(table) != 1:
        raise InvalidArgumentError.about(
            argument,
            f"{{{argument}}} '{{path}}': holds {{n}} studies; give one film's landmark file",
            path=path,
            n=len(table),
        )
    if View.parse(table.views[0]) is not View.LATERAL:
        raise InvalidLandmarksError(
            f'landmarks \'{path}\': is an AP film ("view": "{table.views[0]}"); flexion-extension '
            "instability is measured on lateral films"
        )
    if image is not None:
        if header.view is View.AP:
            raise InvalidArgumentError.about(
                f"{which}_image",
                f"{{{which}_image}} '{{path}}': its header says an AP film; flexion-extension instability is "
                "measured on lateral films",
                path=_image_name(image),
            )
        table = merge_image(table, header, where=f"image '{_image_name(image)}'")
    if mm_per_px is not None:
        cal = Calibration.from_spacing(list(mm_per_px), where="load_instability", field_name="mm_per_px")
        cal = Calibration(
            cal.mm_per_px,
            cal.source,
            f"user calibration (mm_per_px from the {given_by}) overrides the landmark file and the image header",
            cal.plane,
        )
        table = _with_calibration(table, cal)
    return table


def _header(image: Any) -> Any:
    """A path read header only; a Radiograph or RadiographHeader as it is."""
    if isinstance(image, (str, os.PathLike)):
        from ..landmarks.imaging.radiograph import read_radiograph_header

        return read_radiograph_header(os.fspath(image))
    return image


def _with_calibration(table: LandmarkTable, cal: Calibration) -> LandmarkTable:
    import dataclasses

    spacing = np.array([cal.mm_per_px if cal.mm_per_px else (np.nan, np.nan)], dtype=float)
    return dataclasses.replace(table, calibrations=(cal,), mm_per_px=spacing)


def _check_pair(
    flexion: LandmarkTable, extension: LandmarkTable, flexion_header: Any, extension_header: Any
) -> None:
    """Refuse two films that cannot be one patient's flexion and extension films of one visit.

    The messages name the field that differs, never its values (a Patient ID or a birth
    date is not repeated on a terminal).
    """
    a_uid, b_uid = (getattr(h, "sop_instance_uid", None) for h in (flexion_header, extension_header))
    if a_uid and a_uid == b_uid:
        raise InvalidArgumentError.about(
            "extension_image",
            "{extension_image}: is the same film as the flexion image (same SOP Instance UID); give the "
            "extension film",
        )
    for attr, words in (("patient_id", "Patient ID"), ("birth_date", "birth date")):
        a, b = (getattr(h, attr, None) for h in (flexion_header, extension_header))
        if a is not None and b is not None and a != b:
            raise InvalidArgumentError.about(
                "extension_image",
                f"{{extension_image}}: the films' headers name different patients (the {words} differs); "
                "flexion and extension films must be of one patient",
            )
    uids = [t.sets[0].image.sop_instance_uid if t.sets else None for t in (flexion, extension)]
    if uids[0] and uids[0] == uids[1]:
        raise InvalidArgumentError.about(
            "extension_landmarks",
            "{extension_landmarks}: was placed on the same film as the flexion landmarks (SOP Instance UID "
            "{uid}); give the extension film's",
            uid=uids[0],
        )
    a, b = flexion.patients[0], extension.patients[0]
    if a.sex is not None and b.sex is not None and a.sex is not b.sex:
        raise InvalidArgumentError.about(
            "extension_landmarks",
            "{extension_landmarks}: the films name different patients (the sex differs; flexion: {fs}, "
            "extension: {es}); flexion and extension films must be of one patient",
            fs=a.sex_source,
            es=b.sex_source,
        )
    if a.age_years is not None and b.age_years is not None and abs(a.age_years - b.age_years) > 1:
        raise InvalidArgumentError.about(
            "extension_landmarks",
            "{extension_landmarks}: the films' ages differ by {d:g} years ({fs} and {es}); flexion and extension "
            "films must be of one patient and one visit",
            d=math.floor(abs(a.age_years - b.age_years)),
            fs=a.age_source,
            es=b.age_source,
        )
