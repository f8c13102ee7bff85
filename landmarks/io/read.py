"""Which reader a landmark file needs, decided in one place by its file type.

==========  =========================================  ==========================================
suffix      what it holds                              reader
==========  =========================================  ==========================================
``.json``   one film, ``spinecheck-landmarks/1``       :mod:`~spinecheck.landmarks.io.landmark_file`
``.mat``    one AP film, SpineWeb/AASCE labels         :mod:`~spinecheck.landmarks.io.aasce`
``.csv``    many studies, the wide landmark table      :mod:`~spinecheck.landmarks.io.wide_csv`
==========  =========================================  ==========================================

:func:`read_landmarks` reads one film; :func:`read_landmark_table` reads one film or many as a
:class:`~spinecheck.landmarks.points.model.LandmarkTable`, the form the measuring code takes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidLandmarksError
from ..points.model import LandmarkSet, LandmarkTable
from .landmark_file import landmarks_where, read_landmark_json

__all__ = ["LANDMARK_SUFFIXES", "read_landmarks", "read_landmark_table"]


def _read_mat(path: str) -> LandmarkSet:
    from .aasce import read_aasce_mat  # loaded on first use: scipy.io costs about 0.1 s at start-up

    return read_aasce_mat(path)


def _read_csv(path: str) -> LandmarkTable:
    from .wide_csv import read_wide_csv

    return read_wide_csv(path)


#: One film's readers, by lower-case suffix.
_ONE_FILM: dict[str, Callable[[str], LandmarkSet]] = {".json": read_landmark_json, ".mat": _read_mat}
#: Every suffix a landmark file may have.
LANDMARK_SUFFIXES = (*_ONE_FILM, ".csv")


def read_landmarks(path: str | os.PathLike[str]) -> LandmarkSet:
    """Read the landmarks of one film: a ``.json`` landmark file or an AASCE ``.mat`` label file.

    Parameters
    ----------
    path : str or path-like

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


def read_landmark_table(path: str | os.PathLike[str]) -> LandmarkTable:
    """Read the landmarks of one or many studies as a table.

    Parameters
    ----------
    path : str or path-like
        A wide CSV (``.csv``, one row per study), or a single study's
        ``.json`` landmark file or AASCE ``.mat`` label file (a one-row table).

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
