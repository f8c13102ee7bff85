"""Post-operative films against the pre-operative film: junctional angles before and after, and PJK.

Junctional kyphosis is a change after the operation (Glattes RC et al. Spine
2005;30(14):1643-1649: a proximal junctional angle of at least 10 deg **and** at
least 10 deg more than before), so it is judged from two films of one patient:
the pre-operative film, which records no operation, and the post-operative one,
which records the UIV and the LIV (its landmark file's ``operation`` block, or the
command line). :func:`junctional_comparison` measures the PJA and the DJA of
*both* films at the post-operative film's levels (the UIV of the post film applies
to the pre film) and judges PJK and DJK with the criterion set ``junctional``
(:func:`spinecheck.alignment.criteria.junctional.judge_junctional`).
:func:`junctional_series` does the same for a follow-up series of films in time order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..landmarks.points.names import LEVELS
from .criteria.assessment import CriterionColumn
from .criteria.junctional import judge_junctional
from .criteria.rules import as_shown
from .measure import measure
from .parameters import JUNCTIONAL, PARAMETERS, shown_number
from .study import Study

__all__ = ["JunctionalChange", "junctional_comparison", "JunctionalSeries", "junctional_series"]


class JunctionalChange(NamedTuple):
    """One junctional angle of a patient before and after the operation.

    Attributes
    ----------
    parameter : str
        ``"PJA"`` or ``"DJA"``.
    levels : str or None
        The vertebrae it joins on the post-operative film (``"T8-T10"``), or None.
    pre, post : float or None
        Degrees, positive for kyphosis; None where not measured (see the reasons).
    pre_reason, post_reason : str or None
    criterion : CriterionColumn
        PJK (DJK) judged on the post-operative angle with the pre-operative one.
    study : int
        The row of *criterion* (0: it judges this pair alone).
    """

    parameter: str
    levels: str | None
    pre: float | None
    post: float | None
    pre_reason: str | None
    post_reason: str | None
    criterion: CriterionColumn
    study: int

    @property
    def change(self) -> float | None:
        """The change, post - pre of the two angles as shown (0.1 deg): the change the criterion judges."""
        if self.pre is None or self.post is None:
            return None
        return float(as_shown(float(as_shown(self.post)) - float(as_shown(self.pre))))

    def lines(self) -> list[str]:
        """The angle before, after and its change, then the verdict, in words (the comparison page).

        One line only when neither film has the angle for the same reason (a fusion to the
        sacrum has no distal junction): there is nothing to judge.
        """
        name = f"{self.parameter} {PARAMETERS[self.parameter].name}"
        if self.pre is None and self.post is None and self.pre_reason == self.post_reason:
            return [f"{name}: not measured ({self.post_reason})"]

        def angle(value: float | None, reason: str | None) -> str:
            return f"{shown_number(value)}°" if value is not None else f"not measured ({reason})"

        at = f" ({self.levels})" if self.levels else ""
        change = "" if self.change is None else f", change {shown_number(self.change, signed=True)}°"
        head = (
            f"{name}{at}: pre {angle(self.pre, self.pre_reason)}, "
            f"post {angle(self.post, self.post_reason)}{change}"
        )
        return [head, self.criterion.summary(self.study) or f"{self.criterion.name}: not judged"]


def junctional_comparison(pre: Study, i: int, post: Study, j: int) -> list[JunctionalChange]:
    """The PJA and DJA of a patient's pre- and post-operative lateral films, and PJK and DJK.

    Parameters
    ----------
    pre : Study
        The earlier film (its own operation, if it records one, is not used: the
        levels are the post-operative film's).
    i : int
        Its study.
    post : Study
        The later film, which records the operation (UIV, LIV).
    j : int
        Its study.

    Returns
    -------
    list of JunctionalChange
        One per junctional angle whose level the post-operative film records
        (the PJA with a UIV, the DJA with an LIV); empty for AP films and for a
        post film that records neither.

    Notes
    -----
    The pre-operative film is measured again with the post-operative film's
    operation, so that its angle spans the same vertebrae, by the same rules
    (landmark checks included). Only its junctional angles are taken from that
    measurement: the pre film is not treated as operated anywhere else.
    """
    op = post.table.operation(j)
    lateral = str(post.measurements.views[j]) == "lateral" and str(pre.measurements.views[i]) == "lateral"
    if op is None or not lateral:
        return []
    wanted = [pid for pid, level in zip(JUNCTIONAL, (op.uiv, op.liv), strict=True) if level is not None]
    if not wanted:
        return []
    at_post_levels = dataclasses.replace(pre.table.subset([i]), operations=(op,))
    before = measure(at_post_levels, cobb_method=pre.measurements.curves.method)
    out = []
    for pid in wanted:
        after = post.measurements.reported(pid, j)
        was = before.reported(pid, 0)
        levels = post.measurements.junctions.levels[pid][j]
        judged = judge_junctional(
            pid, [post.measurements.values[pid][j]], [before.values[pid][0]], reasons=[after.reason]
        )
        out.append(
            JunctionalChange(
                pid,
                f"{LEVELS[levels[0]]}–{LEVELS[levels[1]]}" if (levels >= 0).all() else None,
                _value(was.value),
                _value(after.value),
                was.reason,
                after.reason,
                judged,
                0,
            )
        )
    return out


def _value(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


class JunctionalSeries(NamedTuple):
    """One junctional angle over a follow-up series, at the levels of the operation, and its verdicts.

    Attributes
    ----------
    parameter : str
        ``"PJA"`` or ``"DJA"``.
    levels : str or None
        The vertebrae the angle joins (``"T8-T10"``) on the operated film, or None.
    operated_film : int
        The film (position in the series) whose operation gives the levels: the last that records one.
    preop_film : int or None
        The pre-operative film the changes are measured from: the last film before the first
        operated one that records no operation; None when the series has none.
    values : ndarray, shape (F,)
        The angle on every film, at those levels (degrees, kyphosis positive; NaN where not measured).
    reasons : tuple of (str or None)
        Per film, why the angle is not measured.
    criterion : CriterionColumn
        PJK (DJK) of every film against the pre-operative film's angle: judged on the films
        after it that record an operation, not applied (with the reason) on the others.
    """

    parameter: str
    levels: str | None
    operated_film: int
    preop_film: int | None
    values: np.ndarray
    reasons: tuple[str | None, ...]
    criterion: CriterionColumn


def junctional_series(films: Sequence[tuple[Study, int]]) -> list[JunctionalSeries]:
    """The PJA and DJA of every film of a series at the operation's levels, and PJK and DJK.

    Parameters
    ----------
    films : sequence of (Study, int)
        The films in time order (``FollowUp.films`` of :mod:`spinecheck.alignment.followup`),
        each a study and its index.

    Returns
    -------
    list of JunctionalSeries
        One per junctional angle whose level the last operated film records; empty when no
        film records an operation or the films are not lateral.

    Notes
    -----
    Every film is measured at the levels of the last film that records an operation, so that
    each value spans the same vertebrae, and judged against the last film before the first
    operated one that records none (the pre-operative film; Glattes 2005 compares with the
    angle before surgery). A film before or at the pre-operative film, or one that records no
    operation, is not judged, and its row says why.
    """
    lateral = all(str(st.measurements.views[k]) == "lateral" for st, k in films)
    operated = [n for n, (st, k) in enumerate(films) if st.table.operation(k) is not None]
    if not lateral or not operated:
        return []
    last = operated[-1]
    st_op, k_op = films[last]
    op = st_op.table.operation(k_op)
    assert op is not None  # the last operated film
    wanted = [pid for pid, level in zip(JUNCTIONAL, (op.uiv, op.liv), strict=True) if level is not None]
    before_op = [n for n in range(operated[0]) if films[n][0].table.operation(films[n][1]) is None]
    preop = before_op[-1] if before_op else None
    measured = [
        measure(
            dataclasses.replace(st.table.subset([k]), operations=(op,)),
            cobb_method=st.measurements.curves.method,
        )
        for st, k in films
    ]
    out = []
    for pid in wanted:
        values = np.array([float(m.values[pid][0]) for m in measured])
        reasons = tuple(m.reported(pid, 0).reason for m in measured)
        judged_films = np.array(
            [preop is not None and n > preop and n in operated for n in range(len(films))], dtype=bool
        )
        pre = np.full(len(films), np.nan if preop is None else values[preop])
        why = [_why_not_judged(n, preop) if not judged_films[n] else reasons[n] for n in range(len(films))]
        if preop is not None and not np.isfinite(values[preop]):  # nothing to measure a change from
            judged_films[:] = False
            why = [
                f"not judged: not measured on the pre-operative film {preop + 1} ({reasons[preop]})"
                for _ in range(len(films))
            ]
        post = np.where(judged_films, values, np.nan)
        column = judge_junctional(pid, post, pre, reasons=why)
        lv = measured[last].junctions.levels[pid][0]
        out.append(
            JunctionalSeries(
                pid,
                f"{LEVELS[lv[0]]}–{LEVELS[lv[1]]}" if (lv >= 0).all() else None,
                last,
                preop,
                values,
                reasons,
                column,
            )
        )
    return out


def _why_not_judged(n: int, preop: int | None) -> str:
    """Why film *n* of a series is not judged for junctional kyphosis (it is not a post-operative film)."""
    if preop is None:
        return (
            "not judged: no pre-operative film in the series (one that records no operation, "
            "before the first that does)"
        )
    if n == preop:
        return "not judged on the pre-operative film"
    if n < preop:
        return f"not judged: a film before the pre-operative film (film {preop + 1})"
    return "not judged: the film records no operation"
