"""Junctional kyphosis judged from two angles per study: after the operation, and before it.

:func:`judge_pjk` and :func:`judge_djk` judge N studies at once from their post- and
pre-operative junctional angles (plain ``(N,)`` arrays, as a follow-up series has them),
by the criterion set ``junctional`` (``sets/junctional.json``: PJK by Glattes RC et al.
Spine 2005;30(14):1643-1649 [V], DJK by Passias PG et al. [S]), so that a page of two
films or of a series judges exactly as a report does (:func:`~.engine.assess` with
``preop``). The studies are taken as post-operative films: that is what the angles say.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...landmarks.errors import InvalidArgumentError
from ...landmarks.points.names import View
from ..geometry.plane import NO_REASON
from ..parameters import JUNCTIONAL, CurveTable, Measurements
from .assessment import CriterionColumn
from .engine import CriteriaSet, evaluate_criteria, load_criterion_set
from .inputs import Inputs

__all__ = ["judge_pjk", "judge_djk", "judge_junctional"]

#: The criterion of the set ``junctional`` that judges each junctional angle.
CRITERION = {"PJA": "pjk.glattes", "DJA": "djk.passias"}


def judge_junctional(
    parameter: str,
    post_deg: Sequence[float] | np.ndarray,
    pre_deg: Sequence[float] | np.ndarray,
    *,
    reasons: Sequence[str | None] | np.ndarray | None = None,
) -> CriterionColumn:
    """Judge N post-operative angles against their pre-operative ones.

    Parameters
    ----------
    parameter : {"PJA", "DJA"}
    post_deg, pre_deg : array_like, shape (N,)
        Degrees, positive for kyphosis; NaN where not measured (the post-operative
        angle) or unknown (the pre-operative one).
    reasons : array_like of str or None, shape (N,), optional
        Why a post-operative angle is NaN, for the criterion's reason (default
        ``"<parameter> not measured"``).

    Returns
    -------
    CriterionColumn
        PJK (DJK) of each study: flagged, not flagged, or not applied with the reason.

    Raises
    ------
    InvalidArgumentError
        *parameter* is not a junctional angle, or the arrays differ in length.

    Examples
    --------
    >>> c = judge_pjk([12.0, 12.0, 9.9, float("nan")], [2.0, 2.1, -5.0, 0.0])
    >>> c.result.tolist()
    [True, False, False, None]
    >>> c.reason[3]
    'PJA: PJA not measured'
    """
    if parameter not in JUNCTIONAL:
        raise InvalidArgumentError.about(
            "parameter", "{parameter}: must be one of PJA, DJA; got {got!r}", got=parameter
        )
    post = np.asarray(post_deg, dtype=float).reshape(-1)
    pre = np.asarray(pre_deg, dtype=float).reshape(-1)
    n = len(post)
    if pre.shape != (n,):
        raise InvalidArgumentError.about(
            "pre_deg",
            "{pre_deg}: must have one angle per post-operative angle ({n}); got {got}",
            n=n,
            got=len(pre),
        )
    why = np.where(np.isfinite(post), NO_REASON, f"{parameter} not measured").astype(object)
    if reasons is not None:
        given = np.asarray(reasons, dtype=object).reshape(-1)
        why = np.where(np.isfinite(post), NO_REASON, np.where(np.equal(given, NO_REASON), why, given))
        why = why.astype(object)
    m = Measurements(
        tuple(f"study {k + 1}" for k in range(n)),
        np.full(n, View.LATERAL, dtype=object),
        {parameter: post},
        {},
        {parameter: why},
        np.ones(n, dtype=bool),
        CurveTable.empty(n),
        operated=np.ones(n, dtype=bool),
    )
    cs = load_criterion_set("junctional")
    assert isinstance(cs, CriteriaSet)  # a criteria set, shipped
    one = CriteriaSet(cs.info, tuple(c for c in cs.criteria if c.id == CRITERION[parameter]))
    return evaluate_criteria(one, Inputs(m, np.full(n, np.nan), preop={parameter: pre}))[0]


def judge_pjk(
    post_pja: Sequence[float] | np.ndarray, pre_pja: Sequence[float] | np.ndarray
) -> CriterionColumn:
    """PJK (Glattes) of N studies from their post- and pre-operative PJA: :func:`judge_junctional`."""
    return judge_junctional("PJA", post_pja, pre_pja)


def judge_djk(
    post_dja: Sequence[float] | np.ndarray, pre_dja: Sequence[float] | np.ndarray
) -> CriterionColumn:
    """DJK (Passias) of N studies from their post- and pre-operative DJA: :func:`judge_junctional`."""
    return judge_junctional("DJA", post_dja, pre_dja)
