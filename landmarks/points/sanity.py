"""Plausibility checks of annotated vertebrae, vectorised over studies.

A mislabelled file (corners swapped, levels out of order) yields numbers that
look confident and are wrong. These checks find the common slips so that the
parameters built on a suspect vertebra are withheld with the reason instead.
"""

from __future__ import annotations

import numpy as np

from .model import LandmarkTable
from .names import LEVELS, View

__all__ = ["check_vertebrae"]


def check_vertebrae(
    table: LandmarkTable, anterior_sign: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Find implausible vertebrae.

    Checks, for every vertebra whose corners are annotated: superior corners
    above inferior ones; on AP films the left corners left of the right ones;
    on lateral films the anterior corners on the anterior side (given
    *anterior_sign*, +1 = image right); and body centres descending from level
    to level.

    Parameters
    ----------
    table : LandmarkTable
    anterior_sign : ndarray, shape (N,), optional
        Lateral films' anterior direction; the side check is skipped where NaN.

    Returns
    -------
    bad : ndarray of bool, shape (N, 24)
        Suspect levels (index into :data:`LEVELS`).
    problems : ndarray of object, shape (N,)
        None, or a one-line description of every problem found.

    Examples
    --------
    >>> from spinecheck.landmarks.points.model import LandmarkSet
    >>> s = LandmarkSet("ap", {"L4.sup.left": (0, 10), "L4.sup.right": (10, 10),
    ...                        "L4.inf.left": (0, 5), "L4.inf.right": (10, 5)})
    >>> check_vertebrae(s.to_table())[1][0]
    'L4: superior corners lie below the inferior corners (swapped?)'
    """
    n, k = len(table), len(LEVELS)
    bad = np.zeros((n, k), dtype=bool)
    notes: list[list[str]] = [[] for _ in range(n)]
    is_ap = np.array([View.parse(v) is View.AP for v in table.views], dtype=bool)
    sign = np.full(n, np.nan) if anterior_sign is None else anterior_sign
    centre_y = np.full((n, k), np.nan)

    def flag(mask: np.ndarray, j: int, text: str) -> None:
        for i in np.flatnonzero(mask):
            bad[i, j] = True
            notes[i].append(f"{LEVELS[j]}: {text}")

    for j, level in enumerate(LEVELS):
        ys = []
        for side_ap, side_lat in (("left", "ant"), ("right", "post")):
            sup = np.where(
                is_ap[:, None], table.point(f"{level}.sup.{side_ap}"), table.point(f"{level}.sup.{side_lat}")
            )
            inf = np.where(
                is_ap[:, None], table.point(f"{level}.inf.{side_ap}"), table.point(f"{level}.inf.{side_lat}")
            )
            flip = sup[:, 1] >= inf[:, 1]
            ys.append((sup[:, 1] + inf[:, 1]) / 2)
            if side_ap == "left":
                first_flip = flip
            else:
                flag(first_flip | flip, j, "superior corners lie below the inferior corners (swapped?)")
        for e in ("sup", "inf"):
            word = "superior" if e == "sup" else "inferior"
            lr = table.point(f"{level}.{e}.right")[:, 0] - table.point(f"{level}.{e}.left")[:, 0]
            flag(
                is_ap & (lr <= 0),
                j,
                f"{word} endplate's left corner is not left of its right corner (swapped?)",
            )
            ap = (table.point(f"{level}.{e}.ant")[:, 0] - table.point(f"{level}.{e}.post")[:, 0]) * sign
            flag(
                ~is_ap & (ap < 0),
                j,
                f"{word} endplate's anterior corner lies on the posterior side (swapped?)",
            )
        explicit = table.point(f"{level}.centroid")[:, 1]
        centre_y[:, j] = np.where(np.isfinite(explicit), explicit, (ys[0] + ys[1]) / 2)

    # levels must descend: compare each annotated level with the next annotated one below it
    last_y = np.full(n, np.nan)
    last_j = np.full(n, -1)
    for j in range(k):
        y = centre_y[:, j]
        ok = np.isfinite(y)
        wrong = ok & np.isfinite(last_y) & (y <= last_y)
        for i in np.flatnonzero(wrong):
            bad[i, j] = bad[i, last_j[i]] = True
            notes[i].append(f"{LEVELS[j]} lies above {LEVELS[last_j[i]]} (levels out of order?)")
        last_y = np.where(ok, y, last_y)
        last_j = np.where(ok, j, last_j)

    problems = np.array(["; ".join(dict.fromkeys(x)) if x else None for x in notes], dtype=object)
    return bad, problems
