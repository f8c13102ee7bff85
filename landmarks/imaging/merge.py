"""A film's header merged into the landmarks placed on it: the landmark file's word wins.

This is the one place where what a radiograph's header says (calibration, patient, side, size,
SOP Instance UID) meets what its landmark file says. Measuring a study, refining its points and
resuming an annotation all take their scale, patient and image reference from :func:`merge_header`,
so the three can never disagree about which calibration or which age applies.
"""

from __future__ import annotations

import os
from pathlib import Path

from ... import dataclass
from ..io.checks import check_same_image
from ..points.calibration import Calibration
from ..points.film import FilmIdentity
from ..points.model import ImageRef, LandmarkSet, PatientInfo
from ..points.names import PatientRight
from .header import RadiographHeader
from .radiograph import Radiograph, choose_calibration

__all__ = ["MergedHeader", "merge_header", "recorded_image_ref"]


@dataclass(frozen=True)
class MergedHeader:
    """What applies to a study once its landmarks and its film's header are merged.

    Attributes
    ----------
    calibration : Calibration
        The landmark file's calibration when it has one, else the header's (clinical.md §4 rule 1);
        a file calibration records the header spacing it overrides.
    patient : PatientInfo
        Age and sex from the landmark file, each unknown item from the header.
    patient_right : PatientRight or None
        The file's side, else the header's Patient Orientation; None when neither says.
    image : ImageRef
        The file's image reference, each unknown field from the film.
    warnings : tuple of str
        The landmarks' own warnings, a view that disagrees with the header's, then the film's.
    film : FilmIdentity
        What identifies the film (SOP and Study Instance UIDs, its date by
        :func:`~spinecheck.landmarks.points.film.film_date`, the patient's identifiers).
    """

    calibration: Calibration
    patient: PatientInfo
    patient_right: PatientRight | None
    image: ImageRef
    warnings: tuple[str, ...]
    film: FilmIdentity = FilmIdentity()


def merge_header(
    landmarks: LandmarkSet,
    film: Radiograph | RadiographHeader,
    *,
    where: str,
    advice: str = "",
) -> MergedHeader:
    """Merge *film*'s header into *landmarks*, after checking they belong together.

    Parameters
    ----------
    landmarks : LandmarkSet
        One film's points, as read from its landmark file.
    film : Radiograph or RadiographHeader
        The film (:func:`~spinecheck.landmarks.imaging.radiograph.load_radiograph`) or only its
        header (:func:`~spinecheck.landmarks.imaging.header.read_radiograph_header`): the same values.
    where : str
        How messages name the landmarks, e.g. ``"landmarks file 'a.json'"``.
    advice : str
        Appended to a refusal: the way out (``"; choose another output with -o"``).

    Returns
    -------
    MergedHeader

    Raises
    ------
    InvalidLandmarksError
        The landmarks were placed on another film (SOP Instance UID or size differ) or a point
        lies outside this one.
    """
    check_same_image(landmarks, film.image_ref, where, advice=advice)
    warnings = list(landmarks.warnings)
    if film.view is not None and film.view != landmarks.view:
        warnings.append(
            f"the image says the view is {film.view.value} but the landmarks are {landmarks.view.value}: "
            "the landmarks' view is used"
        )
    return MergedHeader(
        calibration=choose_calibration(landmarks.calibration, film.calibration),
        patient=landmarks.patient.completed_by(film.patient),
        patient_right=landmarks.patient_right if landmarks.patient_right is not None else film.patient_right,
        image=landmarks.image.completed_by(film.image_ref),
        warnings=(*warnings, *film.warnings),
        film=FilmIdentity.of(
            landmarks.image.sop_instance_uid, landmarks.image.study_date, film, name=Path(film.path).name
        ),
    )


def recorded_image_ref(
    film: Radiograph | RadiographHeader, landmark_file: str | os.PathLike[str]
) -> ImageRef:
    """The image reference a landmark file written at *landmark_file* records for *film*.

    The path is relative to the landmark file's folder (``../images/x.dcm`` when it lies
    elsewhere), or absolute when no relative path exists (another drive).
    """
    ref = film.image_ref
    if ref.path is None:
        return ref
    image, folder = os.path.abspath(ref.path), os.path.abspath(Path(landmark_file).parent)
    try:
        path = Path(os.path.relpath(image, folder)).as_posix()
    except ValueError:  # another drive (Windows)
        path = image
    return ImageRef(path, ref.sop_instance_uid, ref.rows, ref.columns)
