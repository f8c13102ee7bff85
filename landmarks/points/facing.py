"""Which way the patient faces on a lateral film: one rule, for N studies or for one.

Anterior is derived per film from the landmark names (clinical.md §0.3), never
assumed: a corner named ``ant`` is anterior of its endplate's ``post`` corner.

The rule
--------
1. The S1 superior endplate (the sacral endplate: a sacralised vertebra's
   superior endplate when the study records one) decides when both its corners
   are placed and not vertically aligned: anterior is the side of ``S1.sup.ant``.
2. Otherwise every other endplate with both corners placed votes for the side
   of its ``ant`` corner (a vertical pair casts no vote); the majority decides.
3. A tie, or no pair at all, leaves the direction unknown.

:func:`facing` applies it to a :class:`~spinecheck.landmarks.points.model.LandmarkTable`
of N studies with NumPy; :func:`anterior_direction` applies the same code to the
points of one study (the annotation window and the refiner, which hold a
plain mapping of names to ``(x, y)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from .anatomy import LevelRole
from .model import LandmarkTable
from .names import LEVELS

__all__ = ["Facing", "facing", "anterior_direction"]

#: Every endplate's ``(ant, post)`` corner names, top to bottom.
_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (f"{level}.{e}.ant", f"{level}.{e}.post") for level in LEVELS for e in ("sup", "inf")
)
_NAMES = frozenset(name for pair in _PAIRS for name in pair)


class Facing(NamedTuple):
    """Where the patient faces on N lateral films.

    Attributes
    ----------
    sign : ndarray, shape (N,)
        +1 where anterior is image right (x growing), -1 image left, NaN
        where no endplate tells.
    from_s1 : ndarray of bool, shape (N,)
        True where the S1 superior endplate (the sacral endplate) decided
        (rule 1); False where the other endplates voted, or nothing told.
    """

    sign: np.ndarray
    from_s1: np.ndarray


def _facing(point: Callable[[str], np.ndarray], n: int, sacrum: np.ndarray) -> Facing:
    """The rule of the module notes; *point* gives the ``(n, 2)`` pixels of a name, NaN if missing.

    *sacrum* is each study's sacral level (``S1``, or the sacralised vertebra).
    """
    s1 = np.full(n, np.nan)
    for level in set(sacrum.tolist()):
        rows = np.equal(sacrum, level)
        s1[rows] = (_x(point(f"{level}.sup.ant")) - _x(point(f"{level}.sup.post")))[rows]
    votes = np.zeros(n)
    for ant, post in _PAIRS:
        d = _x(point(ant)) - _x(point(post))
        # each pair's sign (none where either corner is missing: NaN compares False), without
        # nan_to_num's copies, some 30 % of this rule's time over a large table (issue 17, 2)
        votes += d > 0
        votes -= d < 0
    from_s1 = np.isfinite(s1) & (s1 != 0)
    sign = np.where(from_s1, np.sign(s1), np.sign(votes))
    return Facing(np.where(sign == 0, np.nan, sign), from_s1)


def _x(xy: np.ndarray) -> np.ndarray:
    """The x of ``(n, 2)`` points, NaN where a point is not present: a point is both coordinates or none."""
    return np.where(np.isnan(xy[:, 1]), np.nan, xy[:, 0])  # a NaN x stays NaN: not np.isnan(xy).any(axis=1)


def facing(table: LandmarkTable) -> Facing:
    """Where the patient faces, per study of *table* (lateral films).

    Parameters
    ----------
    table : LandmarkTable
        ``(x, y)`` pixels. AP studies get an answer too, from whatever
        ``ant``/``post`` corners they hold (normally none: NaN).

    Returns
    -------
    Facing
        ``sign`` (+1 image right, -1 image left, NaN unknown) and ``from_s1``.

    Examples
    --------
    >>> from spinecheck.landmarks.points.model import LandmarkSet
    >>> t = LandmarkSet("lateral", {"L1.sup.ant": (80, 10), "L1.sup.post": (40, 12)}).to_table()
    >>> facing(t)
    Facing(sign=array([1.]), from_s1=array([False]))
    """
    return _facing(table.point, len(table), table.spine().of(LevelRole.SACRUM))


def anterior_direction(points: Mapping[str, Sequence[float]], sacralised: str | None = None) -> int | None:
    """Where one lateral film's patient faces, as its placed corners say: +1 image right, -1 left.

    The rule of :func:`facing` (the same code, on a table of one study): the S1
    superior endplate decides, else the majority of the other endplates whose
    two corners are placed; None when nothing tells (or the vote is tied).

    Parameters
    ----------
    points : Mapping[str, (x, y)]
        Point name to ``(x, y)`` pixels.
    sacralised : str, optional
        The sacralised vertebra (``"L5"``, ``"L6"``), whose superior endplate
        is then the sacral endplate.

    Returns
    -------
    int or None

    Examples
    --------
    >>> anterior_direction({"L1.sup.ant": (80, 10), "L1.sup.post": (40, 12)})
    1
    >>> anterior_direction({"L1.sup.ant": (80, 10)}) is None
    True
    """
    given = {k: np.asarray(v, dtype=float).reshape(1, 2) for k, v in points.items() if k in _NAMES}
    missing = np.full((1, 2), np.nan)
    sacrum = np.array([sacralised or "S1"], dtype=object)
    sign = _facing(lambda name: given.get(name, missing), 1, sacrum).sign[0]
    return int(sign) if np.isfinite(sign) else None
