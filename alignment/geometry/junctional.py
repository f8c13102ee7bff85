"""The junctional angles of post-operative lateral films, at the levels each operation records.

The proximal junctional angle (PJA, Glattes RC et al. Spine 2005;30(14):1643-1649)
is the sagittal Cobb angle from the inferior endplate of the upper instrumented
vertebra (UIV) to the superior endplate of the vertebra two above it (UIV+2); the
distal junctional angle (DJA, Passias PG et al. Spine J 2018) the Cobb angle from
the superior endplate of the lower instrumented vertebra (LIV) to the inferior
endplate of the vertebra two below it (LIV-2). Both are positive for kyphosis, as
TK: with the endplate orientation θ of :mod:`spinecheck.alignment.geometry.sagittal`
(positive when the anterior corner is higher), an angle from an upper endplate U
to a lower endplate L is ``θ(L) - θ(U)``.

The levels differ from study to study, so they are found per study and the
endplates gathered by level (:func:`~spinecheck.alignment.geometry.plane.per_level`:
NumPy over the studies, one pass per distinct level). "Two above" and "two below"
count the vertebrae of each patient's own spine: a T13 or an L6 counts where it
is placed (:class:`~spinecheck.landmarks.points.anatomy.SpineLevels`), and the
vertebrae below the LIV must be mobile, above the sacrum (S1, or a sacralised
vertebra).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...landmarks.points.anatomy import LevelRole, SpineLevels
from ...landmarks.points.names import LEVELS
from ..parameters import JunctionLines
from .plane import (
    NO_REASON,
    Inputs,
    Need,
    angle_from_horizontal_deg,
    coincide,
    merge_reasons,
    per_level,
    wrap_deg,
)

__all__ = ["JunctionalResult", "junctional_angles", "junction_levels"]

#: How far from the instrumented vertebra each angle reaches: two vertebrae.
REACH = 2


class JunctionalResult(NamedTuple):
    """What :func:`junctional_angles` measured on N lateral films.

    Attributes
    ----------
    values : dict of str to ndarray
        ``"PJA"`` and ``"DJA"`` to ``(N,)`` degrees, positive for kyphosis, NaN
        where not measured.
    reasons : dict of str to ndarray
        The same keys to ``(N,)`` object arrays: None where measured, else why not.
    lines : JunctionLines
        The levels and endplate lines each angle was measured between, in image pixels.
    """

    values: dict[str, np.ndarray]
    reasons: dict[str, np.ndarray]
    lines: JunctionLines


def junction_levels(uiv: np.ndarray, liv: np.ndarray, spine: SpineLevels) -> dict[str, np.ndarray]:
    """The two vertebrae each junctional angle of N studies joins, as level indices.

    Parameters
    ----------
    uiv, liv : ndarray of int, shape (N,)
        The UIV and LIV of each study as indices of
        :data:`~spinecheck.landmarks.points.names.LEVELS`, -1 where not recorded.
    spine : SpineLevels
        Each study's spine: whether it has a T13 or an L6, and where its sacrum begins.

    Returns
    -------
    dict of str to ndarray
        ``"PJA"`` to ``(N, 2)`` indices ``[UIV+2, UIV]`` and ``"DJA"`` to ``[LIV, LIV-2]``
        (upper vertebra first); -1 for a vertebra that is not recorded or does not
        exist: above C2, or not a mobile vertebra above the sacrum.

    Examples
    --------
    >>> import numpy as np
    >>> from spinecheck.landmarks.points.anatomy import SpineLevels
    >>> from spinecheck.landmarks.points.names import LEVELS, level_index
    >>> spine = SpineLevels(np.array([False, True]), np.array([False, False]), np.array([None, None]))
    >>> uiv = np.array([level_index("L1"), level_index("L1")])
    >>> liv = np.array([level_index("L3"), level_index("L4")])
    >>> lv = junction_levels(uiv, liv, spine)
    >>> [[LEVELS[k] for k in row] for row in lv["PJA"]]  # the second spine has a T13
    [['T11', 'L1'], ['T12', 'L1']]
    >>> LEVELS[lv["DJA"][0, 1]], int(lv["DJA"][1, 1])  # L4's second vertebra below is S1, which does not move
    ('L5', -1)
    """
    n = len(uiv)
    if not ((uiv >= 0).any() or (liv >= 0).any()):  # no operation recorded (a wide CSV): every level -1
        return {"PJA": np.full((n, 2), -1), "DJA": np.full((n, 2), -1)}
    present = spine.in_spine()
    # for every level, the number of the spine's own vertebrae above it (a vertebra's rank from C2)
    above = np.cumsum(present, axis=1) - present
    mobile = present & (np.arange(len(LEVELS))[None, :] < _sacrum_index(spine)[:, None])
    rows = np.arange(n)
    out = {}
    known = uiv >= 0
    rank_up = np.where(known, above[rows, np.clip(uiv, 0, None)] - REACH, -1)
    out["PJA"] = np.stack(
        [_find(present, above, rank_up, known & (rank_up >= 0)), np.where(known, uiv, -1)], 1
    )
    known = liv >= 0
    at = np.clip(liv, 0, None)
    rank_down = np.where(known, above[rows, at] + present[rows, at] + REACH - 1, -1)
    out["DJA"] = np.stack([np.where(known, liv, -1), _find(mobile, above, rank_down, known)], 1)
    return out


def _sacrum_index(spine: SpineLevels) -> np.ndarray:
    """``(N,)`` index of the level where each sacrum begins (S1, or a sacralised vertebra)."""
    index = {lv: k for k, lv in enumerate(LEVELS)}
    return np.array([index[str(lv)] for lv in spine.of(LevelRole.SACRUM).tolist()], dtype=int).reshape(
        len(spine)
    )


def _find(allowed: np.ndarray, above: np.ndarray, rank: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per study, the index of the *allowed* level of the given *rank* (-1 where none is, or not *wanted*)."""
    hit = allowed & (above == rank[:, None])
    found = hit.any(axis=1) & wanted
    return np.where(found, hit.argmax(axis=1), -1)


def junctional_angles(inp: Inputs, uiv: np.ndarray, liv: np.ndarray, spine: SpineLevels) -> JunctionalResult:
    """The PJA and DJA of N lateral films, at each study's recorded UIV and LIV.

    Parameters
    ----------
    inp : Inputs
        The studies' landmarks in the patient frame (millimetres; anterior from
        the sacral endplate), as for every sagittal parameter.
    uiv, liv : ndarray of int, shape (N,)
        Level indices, -1 where not recorded (``LandmarkTable.uiv_index``, ``liv_index``).
    spine : SpineLevels

    Returns
    -------
    JunctionalResult

    Notes
    -----
    Reasons where an angle is not measured: the level is not recorded ("UIV not
    recorded"), UIV+2 would lie above C2, the fusion ends at the sacrum or fewer
    than two mobile vertebrae lie below the LIV, an endplate's corners are
    missing ("missing landmarks: ...") or coincide.
    """
    n = inp.n
    levels = junction_levels(uiv, liv, spine)
    values: dict[str, np.ndarray] = {}
    reasons: dict[str, np.ndarray] = {}
    lines: dict[str, np.ndarray] = {}
    for pid in ("PJA", "DJA"):
        # both join the upper vertebra's superior endplate to the lower vertebra's inferior endplate
        up, lo = levels[pid][:, 0], levels[pid][:, 1]
        both = (up >= 0) & (lo >= 0)
        t_up, r_up, l_up = _endplates(inp, up, "sup", both)
        t_lo, r_lo, l_lo = _endplates(inp, lo, "inf", both)
        value = -wrap_deg(t_up - t_lo)  # Cobb U -> L is θ(U) - θ(L), positive lordosis; these are kyphosis
        reason = merge_reasons(_level_reasons(pid, uiv, liv, up, lo, spine), r_up, r_lo)
        ok = np.equal(reason, NO_REASON)
        lost = ok & ~np.isfinite(value)
        reason[lost] = "not computable from these landmarks (non-finite result)"
        ok &= ~lost
        values[pid] = np.where(ok, value, np.nan)
        reasons[pid] = reason
        line = np.stack([l_up, l_lo], axis=1)
        line[~ok] = np.nan
        lines[pid] = line
        levels[pid] = np.where(both[:, None], levels[pid], -1)
    if n == 0:
        return JunctionalResult(values, reasons, JunctionLines.none(0))
    return JunctionalResult(values, reasons, JunctionLines(levels, lines))


def _level_reasons(
    pid: str, uiv: np.ndarray, liv: np.ndarray, up: np.ndarray, lo: np.ndarray, spine: SpineLevels
) -> np.ndarray:
    """Why the levels of *pid* are not there, per study (None where both are)."""
    reason = np.full(len(uiv), None, dtype=object)
    if pid == "PJA":
        reason[uiv < 0] = "UIV not recorded"
        for i in np.flatnonzero((uiv >= 0) & (up < 0)).tolist():
            reason[i] = f"UIV+2 above C2: the UIV ({LEVELS[uiv[i]]}) has fewer than two vertebrae above it"
        return reason
    reason[liv < 0] = "LIV not recorded"
    short = np.flatnonzero((liv >= 0) & (lo < 0)).tolist()
    if not short:  # each study's sacrum is looked up only when one is needed
        return reason
    sacrum = _sacrum_index(spine)
    for i in short:
        if liv[i] >= sacrum[i]:
            reason[i] = f"the fusion ends at the sacrum (LIV {LEVELS[liv[i]]}): there is no distal junction"
        else:
            reason[i] = (
                f"LIV-2 is not a mobile vertebra: fewer than two vertebrae lie between the LIV "
                f"({LEVELS[liv[i]]}) and the sacrum ({LEVELS[sacrum[i]]})"
            )
    return reason


def _endplates(
    inp: Inputs, levels: np.ndarray, endplate: str, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ (deg), the reason and the ``(post, ant)`` pixel line of one endplate of each study's own level.

    Studies not *wanted* get NaN and no reason (their levels' reason is said elsewhere).
    """
    n = inp.n
    if not wanted.any():  # no study has both levels (none records an operation): nothing to look up
        return np.full(n, np.nan), np.full(n, None, dtype=object), np.full((n, 2, 2), np.nan)
    names = np.array([LEVELS[k] if k >= 0 else "" for k in levels.tolist()], dtype=object).reshape(n)
    word = "superior" if endplate == "sup" else "inferior"

    def make(level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not level:
            return np.full(n, np.nan), np.full(n, None, dtype=object), np.full((n, 2, 2), np.nan)
        post, ant = f"{level}.{endplate}.post", f"{level}.{endplate}.ant"
        p, a = inp.p(post), inp.p(ant)
        zero = coincide(p, a)
        reason = merge_reasons(
            inp.reasons([Need.point(ant), Need.point(post)]),
            np.where(
                zero,
                f"degenerate geometry: {level} {word} endplate has zero length ({ant} and {post} coincide)",
                NO_REASON,
            ),
        )
        theta = np.where(zero, np.nan, angle_from_horizontal_deg(p, a))
        line = np.stack([inp.table.point(post), inp.table.point(ant)], axis=1)
        return theta, reason, line

    theta, reason, line = per_level(names, make)
    theta[~wanted] = np.nan
    reason[~wanted] = None
    line[~wanted] = np.nan
    return theta, reason, line
