"""The thresholds of the criteria a study was judged by, per parameter: lines for a plot over time.

A plot of a parameter over a series of films draws, as horizontal lines, the values at
which a criterion applied to it changes its verdict: the ends of a flag's interval
(both signs for a criterion on the absolute value, such as C7-CSVL), the boundaries of
a grade's or a category's bands, and the major-curve angle of the SRS-Schwab curve
type (for ``Cobb_max``). They are read from the criterion sets themselves
(:attr:`Assessment.sets <spinecheck.alignment.criteria.assessment.Assessment.sets>`), so a
plot never draws a number that is not in the data with its source. Target sets
(age-adjusted targets) differ per film and are not lines here: their targets are in
each :class:`~spinecheck.alignment.criteria.assessment.CriterionColumn`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .assessment import Assessment
from .engine import CriteriaSet, CriterionKind, load_criterion_set

__all__ = ["Threshold", "parameter_thresholds"]


class Threshold(NamedTuple):
    """A value at which a criterion on *parameter* changes its verdict.

    Attributes
    ----------
    parameter : str
        The parameter id the criterion judges (``"SVA"``; ``"Cobb_max"`` for the curve type).
    value : float
        In the parameter's unit (deg or mm).
    criterion : str
        The criterion's name, for the line's label.
    status : str
        Its evidence status (``"V"``, ``"S"``, ...).
    """

    parameter: str
    value: float
    criterion: str
    status: str


def parameter_thresholds(assessment: Assessment) -> dict[str, tuple[Threshold, ...]]:
    """Every threshold of the criterion sets *assessment* applied, by parameter.

    Returns
    -------
    dict of str to tuple of Threshold
        Per parameter id, its thresholds in ascending value (one per value and criterion).

    Examples
    --------
    >>> import numpy as np
    >>> from spinecheck.alignment import assess, measure
    >>> from spinecheck.landmarks.points.model import LandmarkSet
    >>> lines = parameter_thresholds(assess(measure(LandmarkSet("lateral", {}))))
    >>> [(t.value, t.criterion) for t in lines["SVA"]]
    [(40.0, 'SRS-Schwab SVA'), (50.0, 'Sagittal imbalance (SVA >= 5 cm)'), (95.0, 'SRS-Schwab SVA')]
    >>> [t.value for t in lines["C7_CSVL"]]
    [-40.0, 40.0]
    """
    found: dict[str, set[Threshold]] = {}
    for info in assessment.sets:
        if info.kind != "criteria":
            continue
        cs = load_criterion_set(info.path if info.user_supplied and info.path else info.name)
        assert isinstance(cs, CriteriaSet)  # the set's kind says so
        for crit in cs.criteria:
            pid = crit.judges
            if pid is None:
                continue
            for value in _values(crit):
                found.setdefault(pid, set()).add(Threshold(pid, value, crit.name, crit.status.value))
    return {pid: tuple(sorted(ts, key=lambda t: (t.value, t.criterion))) for pid, ts in found.items()}


def _values(crit) -> list[float]:
    """The finite values where *crit* changes its verdict."""
    if crit.kind is CriterionKind.FLAG and crit.interval is not None:
        ends = [e for e in (crit.interval.lower, crit.interval.upper) if math.isfinite(e)]
        return ends + [-e for e in ends if e] if crit.use_abs else ends
    if crit.kind in (CriterionKind.GRADE, CriterionKind.CATEGORY) and crit.bands is not None:
        # a boundary shared by two bands once; the open end of a table's first and last band is no boundary
        return sorted(
            {e for b in crit.bands.bands for e in (b.interval.lower, b.interval.upper) if math.isfinite(e)}
        )
    if crit.kind is CriterionKind.CURVE_TYPE and crit.major_curve_deg is not None:
        return [float(crit.major_curve_deg)]
    return []
