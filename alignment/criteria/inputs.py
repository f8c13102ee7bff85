"""What a criterion reads for N studies: each variable's values, validity and reason.

Criteria never look at a raw NaN: they ask :class:`Inputs` for a variable
(``"age"`` or a parameter id) and get the values, where they may be judged, and
for every other study the reason, worded for the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...landmarks.errors import InvalidArgumentError
from ...landmarks.points.names import View
from ..geometry.plane import NO_REASON
from ..parameters import PARAMETERS, Measurements
from .rules import as_shown, display_name

__all__ = ["CALIBRATION_REASON", "Inputs", "join_reasons"]

#: Reason given when a millimetre threshold meets an uncalibrated study (clinical.md §0.1).
CALIBRATION_REASON = "no calibration: millimetre thresholds not evaluated"


class Inputs:
    """The variables criteria read for N studies, with validity and the reason when invalid.

    A parameter is valid where its value is finite and, for a length, the study
    is calibrated: a millimetre threshold is never evaluated on an uncalibrated
    study (:data:`CALIBRATION_REASON`), unless the length could not be measured
    at all, in which case the parameter's own reason is the one worth reading.
    The age is valid where finite and >= 0; where unknown, the reason says what
    was not applied — an age is never assumed.

    Parameters
    ----------
    m : Measurements
    age_years : ndarray, shape (N,)
        NaN where unknown.
    preop : mapping of str to array_like, optional
        Pre-operative values by parameter id, ``(N,)`` or one number, NaN
        where unknown (:meth:`preop`).
    """

    def __init__(
        self, m: Measurements, age_years: np.ndarray, preop: Mapping[str, Any] | None = None
    ) -> None:
        self.m = m
        self.n = len(m)
        self.age_years = age_years
        #: ``(N,)`` bool: the films that record an operation.
        self.operated = np.asarray(m.operated, dtype=bool)
        self._preop = {k: self._per_study(k, v) for k, v in (preop or {}).items()}
        self._views = np.asarray(m.views, dtype=object)
        self._cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._present: dict[View, np.ndarray] = {}
        self._shown: dict[str, np.ndarray] = {}

    def present(self, view: View) -> np.ndarray:
        """``(N,)`` bool: the studies filmed in *view* (do not modify in place)."""
        if view not in self._present:
            self._present[view] = np.asarray(self._views == view.value, dtype=bool)
        return self._present[view]

    def get(
        self, name: str, *, purpose: str = "age-adjusted criteria not applied"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values, validity and reasons of variable *name* (``"age"`` or a parameter id).

        Parameters
        ----------
        purpose : str
            What an unknown age stops: the reason reads "age unknown: <purpose>".

        Returns
        -------
        values : ndarray, shape (N,)
        valid : ndarray of bool, shape (N,)
        reason : ndarray of object, shape (N,)
            None where valid.
        """
        key = (name, purpose if name == "age" else "")
        if key not in self._cache:
            self._cache[key] = self._age(purpose) if name == "age" else self._parameter(name)
        return self._cache[key]

    def preop(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pre-operative values of parameter *name*: values, validity and the reason where unknown.

        The reason says how to get one: from the pre-operative film (``spinecheck compare``)
        or given.
        """
        values = self._preop.get(name, np.full(self.n, np.nan))
        valid = np.isfinite(values)
        unknown = (
            f"pre-operative {display_name(name)} unknown: compare with the pre-operative film, "
            "or give its value"
        )
        reason = np.full(self.n, None, dtype=object)
        reason[~valid] = unknown  # one text shared: np.where would make a str per study
        return values, valid, reason

    def _per_study(self, name: str, value: Any) -> np.ndarray:
        if name not in PARAMETERS:
            raise InvalidArgumentError.about(
                "preop", "{preop}: {name!r} is not a parameter id (PJA, DJA, ...)", name=name
            )
        values = np.asarray(value, dtype=float)
        if values.ndim == 0:
            return np.full(self.n, float(values))
        if values.shape != (self.n,):
            raise InvalidArgumentError.about(
                "preop",
                "{preop}: {name} must have one value per study, shape ({n},); got shape {got}",
                name=name,
                n=self.n,
                got=values.shape,
            )
        return values

    def shown(self, name: str) -> np.ndarray:
        """``(N,)`` values of parameter *name* as the report shows them (:func:`as_shown`; do not modify in place).

        The one place a criterion takes the value it compares with its thresholds:
        rounded half away from zero to 0.1 deg / 0.1 mm, so that a verdict agrees
        with the number printed beside it (issue 14). Scores that round their own
        relative values (GAP) and target formulas read the unrounded :meth:`get`.
        """
        if name not in self._shown:
            self._shown[name] = as_shown(self.get(name)[0])
        return self._shown[name]

    def _age(self, purpose: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        age = self.age_years
        valid = np.isfinite(age) & (age >= 0)
        reason = np.full(self.n, None, dtype=object)
        reason[np.isnan(age)] = f"age unknown: {purpose}"
        for i in np.flatnonzero(~valid & ~np.isnan(age)):
            reason[i] = f"age {age[i]:g} is not a valid age in years: {purpose}"
        return age, valid, reason

    def _parameter(self, p: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.n
        x = np.asarray(self.m.value(p), dtype=float)
        measured = np.isfinite(x)
        # reasons only matter on films of the parameter's own view
        unmeasured = ~measured & self.present(PARAMETERS[p].view)
        reason = np.full(n, None, dtype=object)
        given = self.m.reasons.get(p)
        if given is not None:
            where = np.flatnonzero(unmeasured)
            texts = np.asarray(given, dtype=object)[where]
            has = np.not_equal(texts, NO_REASON)
            reason[where[has]] = _prefixed(f"{p}: ", texts[has])
            reason[where[~has]] = f"{p} not measured"
        else:
            reason[unmeasured] = f"{p} not measured"
        valid = measured
        if PARAMETERS[p].is_length:
            calibrated = np.asarray(self.m.calibrated, dtype=bool)
            px = self.m.values_px.get(p)
            in_px = np.isfinite(np.asarray(px, dtype=float)) if px is not None else np.ones(n, dtype=bool)
            reason[~calibrated & (in_px | measured)] = CALIBRATION_REASON
            valid = measured & calibrated
        # None where valid: every reason above is on a study not measured or not calibrated
        return x, valid, reason


#: How many distinct texts :func:`_prefixed` joins one at a time before it joins the rest row by row.
_FEW_TEXTS = 16


def _prefixed(prefix: str, texts: np.ndarray) -> np.ndarray:
    """*prefix* before each text of the ``(M,)`` object array *texts*, each distinct text joined once.

    A parameter's reasons are a few texts repeated over many studies (``"UIV not
    recorded"`` on every lateral film without an operation): joined once per distinct
    text, the result shares one string per text instead of making one per study. After
    :data:`_FEW_TEXTS` distinct texts, or a text shared by fewer than one in
    :data:`_FEW_TEXTS` of the studies left (texts of many kinds: comparing for each
    would cost more than it saves), the rest are joined element by element.

    Examples
    --------
    >>> _prefixed("PJA: ", np.array(["UIV not recorded", "x", "UIV not recorded"], dtype=object)).tolist()
    ['PJA: UIV not recorded', 'PJA: x', 'PJA: UIV not recorded']
    """
    out = np.empty(len(texts), dtype=object)
    left = np.arange(len(texts))
    for _ in range(_FEW_TEXTS):
        if not len(left):
            return out
        same = np.equal(texts[left], texts[left[0]])
        out[left[same]] = prefix + str(texts[left[0]])
        many = np.count_nonzero(same) * _FEW_TEXTS >= len(left)
        left = left[~same]
        if not many:
            break
    if len(left):
        # object addition, not np.char.add: numpy.char is a start-up cost for one study
        out[left] = prefix + texts[left].astype(str).astype(object)
    return out


def join_reasons(n: int, parts: Sequence[tuple[np.ndarray, np.ndarray]], prefix: str = "") -> np.ndarray:
    """Join per-study reasons: ``"; "``-separated, in order, where each mask is True.

    Parameters
    ----------
    parts : sequence of (mask, reason)
        ``(N,)`` bool and ``(N,)`` object arrays (reasons must be text where masked).

    Examples
    --------
    >>> pi = (np.array([True, False]), np.array(["PI: a", None], dtype=object))
    >>> age = (np.array([True, True]), np.array(["age unknown", "age unknown"], dtype=object))
    >>> r = join_reasons(2, [pi, age])
    >>> r.tolist()
    ['PI: a; age unknown', 'age unknown']
    """
    out = np.full(n, None, dtype=object)
    has = np.zeros(n, dtype=bool)
    for mask, reason in parts:
        first = mask & ~has
        more = mask & has
        out[first] = reason[first]
        if more.any():
            out[more] = out[more] + "; " + reason[more]
        has |= mask
    if prefix and has.any():
        out[has] = _prefixed(prefix, out[has])
    return out
