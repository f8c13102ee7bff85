"""Which reader (and writer) a landmark file needs, decided in one place by its file type.

=============  =========================================  ==========================================
suffix         what it holds                              reader
=============  =========================================  ==========================================
``.mrk.json``  one film, a 3D Slicer point list (mm)      :mod:`~spinecheck.landmarks.io.slicer`
``.json``      one film, ``spinecheck-landmarks/1``       :mod:`~spinecheck.landmarks.io.landmark_file`
``.mat``       one AP film, SpineWeb/AASCE labels         :mod:`~spinecheck.landmarks.io.aasce`
``.csv``       many studies, the wide landmark table      :mod:`~spinecheck.landmarks.io.wide_csv`
=============  =========================================  ==========================================

:func:`read_landmarks` reads one film; :func:`read_landmark_table` reads one film or many as a
:class:`~spinecheck.landmarks.points.model.LandmarkTable`, the form the measuring code takes.
:func:`write_landmark_file` writes one film's landmarks as ``.mrk.json`` or ``.json``, by suffix.
A Slicer markup is in millimetres of patient space: reading or writing one takes the film (*image*)
or the spacing Slicer shows it at (*mm_per_px*); the other formats are in pixels and need neither.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidLandmarksError
from ..points.model import LandmarkSet, LandmarkTable
from .checks import SLICER_SUFFIX, is_slicer_markups
from .landmark_file import landmarks_where, read_landmark_json, write_landmarks

if TYPE_CHECKING:
    from .slicer import SlicerFilm

__all__ = ["LANDMARK_SUFFIXES", "read_landmarks", "read_landmark_table", "write_landmark_file"]


def _read_mat(path: str) -> LandmarkSet:
    from .aasce import read_aasce_mat  # loaded on first use: scipy.io costs about 0.1 s at start-up

    return read_aasce_mat(path)


def _read_csv(path: str) -> LandmarkTable:
    from .wide_csv import read_wide_csv

    return read_wide_csv(path)


#: One film's readers, by lower-case suffix.
_ONE_FILM: dict[str, Callable[[str], LandmarkSet]] = {".json": read_landmark_json, ".mat": _read_mat}
#: Every suffix a landmark file may have (``.mrk.json`` is a ``.json`` told by its name).
LANDMARK_SUFFIXES = (SLICER_SUFFIX, *_ONE_FILM, ".csv")


def read_landmarks(
    path: str | os.PathLike[str],
    *,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
) -> LandmarkSet:
    """Read the landmarks of one film: a ``.json`` landmark file, a 3D Slicer ``.mrk.json`` or an AASCE ``.mat``.

    Parameters
    ----------
    path : str or path-like
    image : Radiograph or RadiographHeader, optional
        The film, which only a Slicer markup needs (its points are in millimetres):
        see :func:`~spinecheck.landmarks.io.slicer.read_slicer_markups`. The other formats are
        in pixels and do not read it (:func:`spinecheck.load_study` merges their film).
    mm_per_px : (row, col), optional
        For a Slicer markup only: the spacing Slicer showed the film at, when neither *image*
        nor the file tells.

    Returns
    -------
    LandmarkSet
        Points as ``(x, y)`` pixels; ``source`` is *path* as a string.

    Raises
    ------
    InvalidLandmarksError
        The file is missing or unreadable, has another suffix (a ``.csv`` is
        a table of many studies: use :func:`read_landmark_table`), or does not
        follow its format. The message names the file and the field.
    DegenerateGeometryError
        Two corners of one endplate coincide, or a circle's rim points are
        collinear.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "case.json")
    >>> with open(p, "w") as f:
    ...     _ = f.write('{"format": "spinecheck-landmarks/1", "view": "lateral",'
    ...                 ' "points": {"S1.sup.ant": [1620, 5305], "S1.sup.post": [1455, 5248]}}')
    >>> read_landmarks(p).points["S1.sup.ant"]
    (1620.0, 5305.0)
    >>> read_landmarks("table.csv")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'table.csv': a .csv file is a landmark \
table (one row per study); use read_landmark_table, or give a .json or .mat file
    """
    name = os.fspath(path)
    if is_slicer_markups(name):
        from .slicer import read_slicer_markups  # loaded for a Slicer file only

        return read_slicer_markups(name, image=image, mm_per_px=mm_per_px)
    suffix = Path(name).suffix.lower()
    reader = _ONE_FILM.get(suffix)
    if reader is not None:
        return reader(name)
    if suffix == ".csv":
        raise InvalidLandmarksError(
            f"{landmarks_where(name)}: a .csv file is a landmark table (one row per study); "
            "use read_landmark_table, or give a .json or .mat file"
        )
    raise InvalidLandmarksError(
        f"{landmarks_where(name)}: unsupported file type {suffix or '(no suffix)'!r}; "
        "expected a .json landmark file or a .mat AASCE label file"
    )


def read_landmark_table(
    path: str | os.PathLike[str],
    *,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
) -> LandmarkTable:
    """Read the landmarks of one or many studies as a table.

    Parameters
    ----------
    path : str or path-like
        A wide CSV (``.csv``, one row per study), or a single study's
        ``.json`` landmark file, 3D Slicer ``.mrk.json`` or AASCE ``.mat`` label file (a one-row table).
    image, mm_per_px : optional
        For a Slicer markup only, as :func:`read_landmarks`.

    Returns
    -------
    LandmarkTable

    Raises
    ------
    InvalidLandmarksError
        Unreadable file, other suffix, or a header error (CSV) / any error
        (JSON, MAT). Row errors of a CSV are returned in ``row_errors``.
    DegenerateGeometryError
        A JSON or MAT file with two corners of one endplate at one position
        (in a CSV that is a row error).
    """
    name = os.fspath(path)
    if is_slicer_markups(name):
        from .slicer import read_slicer_markups

        return LandmarkTable.from_sets([read_slicer_markups(name, image=image, mm_per_px=mm_per_px)])
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(name)
    reader = _ONE_FILM.get(suffix)
    if reader is not None:
        return LandmarkTable.from_sets([reader(name)])
    raise InvalidLandmarksError(
        f"landmark table {name!r}: unsupported file type {suffix or '(no suffix)'!r}; "
        "expected a .csv table, a .json landmark file or a .mat AASCE label file"
    )


def write_landmark_file(
    landmarks: LandmarkSet,
    path: str | os.PathLike[str],
    *,
    image: SlicerFilm | None = None,
    mm_per_px: Sequence[float] | None = None,
) -> tuple[str, ...]:
    """Write one film's landmarks in the format *path*'s name says: ``.mrk.json`` or ``.json``.

    Parameters
    ----------
    landmarks : LandmarkSet
    path : str or path-like
        ``*.mrk.json``: a 3D Slicer point list
        (:func:`~spinecheck.landmarks.io.slicer.write_slicer_markups`, which needs *image* or
        *mm_per_px*); any other ``*.json``: ``spinecheck-landmarks/1``
        (:func:`~spinecheck.landmarks.io.landmark_file.write_landmarks`). Both atomically.
    image, mm_per_px : optional
        The film, or the spacing Slicer will show it at; a Slicer markup needs one of them.

    Returns
    -------
    tuple of str
        What the format left out or assumed (empty for ``spinecheck-landmarks/1``, which keeps
        everything).

    Raises
    ------
    InvalidLandmarksError
        Another suffix, or what the writer raises (nothing is written).

    Examples
    --------
    >>> write_landmark_file(LandmarkSet("ap", {"C7.centroid": (1, 2)}), "case.csv")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'case.csv': cannot write a .csv \
here; give a .json (spinecheck-landmarks/1) or .mrk.json (3D Slicer) file
    """
    name = os.fspath(path)
    if is_slicer_markups(name):
        from .slicer import write_slicer_markups

        return write_slicer_markups(landmarks, name, image=image, mm_per_px=mm_per_px)
    suffix = Path(name).suffix.lower()
    if suffix != ".json":
        raise InvalidLandmarksError(
            f"{landmarks_where(name)}: cannot write a {suffix or '(no suffix)'} here; give a .json "
            "(spinecheck-landmarks/1) or .mrk.json (3D Slicer) file"
        )
    write_landmarks(landmarks, name)
    return ()
