"""One call from a landmark file (and its radiograph) to measured, judged studies.

This is the public entry point a notebook or the command line drives:
:func:`load_study` reads, applies the calibration and patient-data precedence
rules, measures and judges; :class:`Study` holds the result with its provenance.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import dataclass
from ..landmarks.errors import InvalidArgumentError, InvalidLandmarksError, SpinecheckError
from ..landmarks.io.checks import is_slicer_markups
from ..landmarks.io.read import read_landmark_table
from ..landmarks.points.calibration import Calibration
from ..landmarks.points.model import LandmarkSet, LandmarkTable, PatientInfo
from ..landmarks.points.operation import Operation, OperationProblem
from .criteria.engine import DEFAULT_CRITERIA, Assessment, assess
from .geometry.coronal import DEFAULT_MIN_CURVE_DEG, CobbMethod
from .measure import measure
from .parameters import Measurements

if TYPE_CHECKING:
    import pandas as pd

    from ..landmarks.imaging.merge import MergedHeader
    from ..landmarks.imaging.radiograph import Radiograph

__all__ = ["Study", "load_study", "merge_image", "merge_landmarks", "with_operation"]


@dataclass(frozen=True)
class Study:
    """Everything measured and judged about N studies, with their provenance.

    Attributes
    ----------
    table : LandmarkTable
    measurements : Measurements
    assessment : Assessment
    landmark_sources : sequence of str or None
        Per study, the landmark file (the wide CSV for a table).
    image_sources : sequence of str or None
        Per study, the image file, when one was read.
    """

    table: LandmarkTable
    measurements: Measurements
    assessment: Assessment
    landmark_sources: Sequence[str | None]
    image_sources: Sequence[str | None]

    def __len__(self) -> int:
        return len(self.table)

    def status(self, i: int) -> tuple[str, str | None]:
        """``("ok", None)`` or ``("error", reason)`` for study *i*."""
        errors = self.table.row_errors
        if errors is not None and errors[i] is not None:
            return "error", str(errors[i])
        return "ok", None

    def to_dataframe(self) -> pd.DataFrame:
        """One row per study: the batch table's columns (formats.md §3) with proper dtypes.

        Numbers float64, flags pandas' nullable ``boolean``, grades and
        categories ordered categoricals in the order of their criterion set,
        levels in the order of the spine, dates ``datetime64``, text
        ``string``; see :func:`spinecheck.alignment.tables.to_dataframe`.

        Raises
        ------
        MissingPandasError
            pandas is not installed (``pip install 'spinecheck[pandas]'``).
        """
        # The columns are the batch table's (the render room) and their types the tables room's, both
        # downstream of this one: the method reaches them through the package's front door on call.
        from .. import alignment

        return alignment.to_dataframe(self)


def load_study(
    landmarks_path: str,
    *,
    image: str | os.PathLike[str] | Radiograph | None = None,
    age: float | None = None,
    mm_per_px: Sequence[float] | None = None,
    cobb_method: CobbMethod | str = "endplate",
    min_curve_deg: float | None = None,
    age_set: str | None = "lafage2016-linear",
    criteria: Sequence[str | os.PathLike[str]] = DEFAULT_CRITERIA,
    reference_sets: Sequence[str | os.PathLike[str]] = (),
    uiv: str | None = None,
    liv: str | None = None,
    operation_date: str | None = None,
    preop_pja: float | None = None,
    preop_dja: float | None = None,
    given_by: str = "load_study argument",
    table: LandmarkTable | None = None,
):
    """Read, measure and judge one landmark file or a wide CSV of many studies.

    Parameters
    ----------
    landmarks_path : str or Path
        A ``spinecheck-landmarks/1`` JSON, a 3D Slicer ``.mrk.json``, an AASCE ``.mat`` or a
        wide CSV.
    image : str, Path or Radiograph, optional
        The radiograph of a single study (a path, or one already loaded with
        :func:`landmarks.load_radiograph`): its header supplies calibration,
        age, sex and patient side unless the landmark file gives them
        (clinical.md §4 rule 1: a user calibration always wins).
    age : float, optional
        Years; overrides the file and the image.
    mm_per_px : (row, col), optional
        Overrides the file and the image. A Slicer markup read without *image*, and without
        the plane spinecheck records in the files it writes, is also placed on pixels with it
        (see :func:`~spinecheck.landmarks.io.slicer.read_slicer_markups`).
    cobb_method, min_curve_deg
        See :func:`spinecheck.alignment.measure.measure`.
    age_set : str or None
        A bundled age-adjusted target set, or a criteria JSON file; None applies
        no age-adjusted targets.
    criteria : sequence of str or Path
        The criterion sets to apply, in report order: shipped names
        (:func:`spinecheck.alignment.criteria.catalogue.shipped_sets`) or files.
        Default: every default set (balance, SRS-Schwab, TPA, GAP, Roussouly, junctional).
    reference_sets : sequence of str or Path
        Further target sets reported under their own names (``"hasegawa2016"``,
        ``"schwab2013-odi40"``, ``"normative-pi-age-2025"``, or files).
    uiv, liv : str, optional
        The upper and lower instrumented vertebrae (levels, ``"T10"``) of the
        operation the film follows; each overrides the landmark file's
        ``operation`` item (in every study of a table, as *age* does), and
        giving one makes the film post-operative.
    operation_date : str, optional
        ``YYYY-MM-DD``, likewise.
    preop_pja, preop_dja : float, optional
        The pre-operative proximal (distal) junctional angle in degrees, for
        the PJK (DJK) criterion of a post-operative film (every study of a
        table); without it PJK is not judged (``spinecheck compare`` measures
        it on the pre-operative film).
    given_by : str
        Who gave *age*, *mm_per_px* and the operation, as the report names their
        source (``"command line"`` from ``spinecheck measure``).
    table : LandmarkTable, optional
        The landmarks of *landmarks_path*, read already (some lines of a wide
        CSV, by :mod:`~spinecheck.alignment.batch.wide_pieces`): they are
        measured instead of the file's, which still names them.

    Returns
    -------
    Study

    Raises
    ------
    InvalidLandmarksError
        The landmark file does not follow its format, does not fit *image*, or
        *mm_per_px* is not two spacings > 0.
    InvalidArgumentError
        *age*, *min_curve_deg* or *cobb_method* is out of range, or *image*
        is given for a table of several studies.
    InvalidCriteriaError
        A set of *age_set*, *criteria* or *reference_sets* is not shipped and no
        file, is of the wrong kind, or does not follow its format.
    """
    path = Path(landmarks_path)
    film = None
    if is_slicer_markups(path) and image is not None:
        # a Slicer markup is in millimetres: its points are placed on the film's pixels as it is read
        image = film = _radiograph(image)
    if table is None:
        table = read_landmark_table(path, image=film, mm_per_px=mm_per_px)
    if len(table) == 0:
        raise InvalidLandmarksError(f"landmark table '{path}': has a header but no study rows")
    if min_curve_deg is not None and not (math.isfinite(min_curve_deg) and min_curve_deg >= 0):
        raise InvalidArgumentError.about(
            "min_curve_deg",
            "{min_curve_deg}: must be a finite number of degrees >= 0; got {got:g}",
            got=min_curve_deg,
        )
    image_sources: list[str | None] = [None] * len(table)
    if image is not None:
        # a Radiograph already loaded by the caller (so a figure need not decode the film again)
        image_name = str(image) if isinstance(image, (str, os.PathLike)) else str(image.path)
        if len(table) != 1:
            raise InvalidArgumentError.about(
                "image",
                "{image} '{name}': applies to one study, but '{path}' holds {n}",
                name=image_name,
                path=path,
                n=len(table),
            )
        table = _with_image(table, image)
        image_sources = [image_name]
    if mm_per_px is not None:
        cal = Calibration.from_spacing(list(mm_per_px), where="load_study", field_name="mm_per_px")
        cal = Calibration(
            cal.mm_per_px,
            cal.source,
            f"user calibration (mm_per_px from the {given_by}) "
            "overrides the landmark file and the image header",
            cal.plane,
        )
        table = _replace(table, calibrations=[cal] * len(table))
    if age is not None:
        if not math.isfinite(age) or not 0 <= age <= 130:
            raise InvalidArgumentError.about(
                "age", "{age}: must be years between 0 and 130; got {got:g}", got=age
            )
        patients = [PatientInfo(age, given_by, p.sex, p.sex_source) for p in table.patients]
        table = _replace(table, patients=patients)
    given = {"uiv": uiv, "liv": liv, "date": operation_date}
    if any(v is not None for v in given.values()):
        table = with_operation(table, given_by, **given)
    preop = _preop(PJA=("preop_pja", preop_pja), DJA=("preop_dja", preop_dja))
    m = measure(
        table,
        cobb_method=cobb_method,
        min_curve_deg=DEFAULT_MIN_CURVE_DEG if min_curve_deg is None else min_curve_deg,
    )
    a = assess(
        m,
        table.age_years,
        age_set=age_set,
        criteria=_paths(criteria),
        reference_sets=_paths(reference_sets),
        preop=preop,
    )
    sources = [str(path)] * len(table)
    if isinstance(table, LandmarkTable) and path.suffix.lower() == ".csv":
        image_sources = list(table.ids)
    return Study(table, m, a, sources, image_sources)


def with_operation(table: LandmarkTable, given_by: str, **items: object) -> LandmarkTable:
    """*table* with the operation *items* (``uiv``, ``liv``, ``date``, ``fused``) given by *given_by*.

    Each item given replaces the landmark file's, in every study; the
    operation is checked again as a whole (an UIV given here must lie above
    the file's LIV).

    Raises
    ------
    InvalidArgumentError
        An item is not valid; the error names its argument (``uiv``, ``liv``,
        ``operation_date``).
    """
    out = []
    for i in range(len(table)):
        base = table.operation(i) or Operation()
        try:
            out.append(base.replaced(given_by, **items))
        except OperationProblem as e:
            argument = "operation_date" if e.item == "date" else e.item
            raise InvalidArgumentError.about(argument, f"{{{argument}}}: {{text}}", text=str(e)) from None
    return dataclasses.replace(table, operations=tuple(out))


def _preop(**values: tuple[str, float | None]) -> dict[str, float]:
    """The pre-operative angles given, by parameter id, each checked (a finite number of degrees)."""
    out = {}
    for pid, (argument, value) in values.items():
        if value is None:
            continue
        if not (math.isfinite(value) and -180 < value <= 180):
            raise InvalidArgumentError.about(
                argument,
                f"{{{argument}}}: must be an angle in degrees, -180 to 180; got {{got:g}}",
                got=value,
            )
        out[pid] = float(value)
    return out


def _paths(sources: Sequence[str | os.PathLike[str]] | str) -> tuple[str | Path, ...]:
    """Set names stay names; path-likes become paths (a lone name is a list of one)."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    return tuple(s if isinstance(s, str) else Path(s) for s in sources)


def _replace(table: LandmarkTable, **changes) -> LandmarkTable:
    if "calibrations" in changes:
        cals = changes["calibrations"]
        changes["mm_per_px"] = np.array(
            [c.mm_per_px if c.mm_per_px else (np.nan, np.nan) for c in cals], dtype=float
        ).reshape(len(table), 2)
        changes["calibrations"] = tuple(cals)
    if "patients" in changes:
        changes["patients"] = tuple(changes["patients"])
    return dataclasses.replace(table, **changes)


def _radiograph(image: str | os.PathLike[str] | Radiograph) -> Radiograph:
    from ..landmarks.imaging.radiograph import load_radiograph

    return load_radiograph(os.fspath(image)) if isinstance(image, (str, os.PathLike)) else image


def _with_image(table: LandmarkTable, image: str | os.PathLike[str] | Radiograph) -> LandmarkTable:
    r = _radiograph(image)
    where = f"image '{r.path}'"
    try:
        return merge_image(table, r, where=where)
    except SpinecheckError as e:
        text = str(e)
        if e.argument is not None or not text.startswith(where):
            raise
        # The film came as the argument *image*: say so, so that a front end can name it its way.
        raise type(e).about("image", "{image}{rest}", rest=text[len("image") :]) from e


def merge_image(table: LandmarkTable, radiograph, *, where: str) -> LandmarkTable:
    """Take calibration, patient data and side from the image unless the landmarks say otherwise.

    This is the one merge of a study's landmarks with its radiograph, used by
    :func:`load_study` and by batch runs (:mod:`spinecheck.alignment.batch.runner`).

    Parameters
    ----------
    table : LandmarkTable
        One study (a landmark file read as a one-row table).
    radiograph : Radiograph or RadiographHeader
        Its film, from :func:`landmarks.load_radiograph`, or only its header,
        from :func:`spinecheck.landmarks.imaging.radiograph.read_radiograph_header` (the same
        values; only the warnings of decoding are not there).
    where : str
        How to name the image in messages (``"image 'x.dcm'"``).

    Returns
    -------
    LandmarkTable
        One row: the landmark file's calibration if it has one, else the
        header's (clinical.md §4 rule 1); age and sex likewise; patient side
        from the file, else from Patient Orientation; the image's warnings
        added to the study's; what identifies the film (``films``: UIDs,
        date, patient identifiers).

    Raises
    ------
    InvalidLandmarksError
        The film is not the one the landmarks were placed on (SOP Instance
        UID, size) or a point lies outside it.
    """
    from ..landmarks.imaging.merge import merge_header

    s = table.study(0)
    if table.sets:
        merged_set, merged = merge_landmarks(s, radiograph, where=where)
        sets: tuple[LandmarkSet, ...] | None = (merged_set,)
    else:
        merged, sets = merge_header(s, radiograph, where=where), None
    out = _replace(table, calibrations=[merged.calibration], patients=[merged.patient])
    return dataclasses.replace(
        out, patient_right=np.array([merged.patient_right], dtype=object), sets=sets, films=(merged.film,)
    )


def merge_landmarks(landmarks: LandmarkSet, radiograph, *, where: str) -> tuple[LandmarkSet, MergedHeader]:
    """:func:`merge_image` of one landmark set, without a table: the set merged, and the whole merge.

    The set gets the film's warnings and the side that applies; the merge holds the calibration,
    patient and film identity that :func:`merge_image` puts in the table's columns. For a batch,
    which stacks a chunk's studies into one table (:mod:`spinecheck.alignment.batch.runner`).
    """
    from ..landmarks.imaging.merge import merge_header

    merged = merge_header(
        landmarks, radiograph, where=f"landmarks '{landmarks.source}'" if landmarks.source else where
    )
    return landmarks.replace(warnings=merged.warnings, patient_right=merged.patient_right), merged
