"""The result of judging N studies: one column of verdicts per criterion.

:class:`Assessment` is what :func:`spinecheck.alignment.criteria.engine.assess` returns. It holds a
:class:`CriterionColumn` per criterion, each with ``(N,)`` arrays (the value
judged, the result, the rule applied, the reason when not applied), and turns
them into report rows (formats.md §2), batch-table columns (formats.md §3) and
short human lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from functools import cached_property
from typing import Any

import numpy as np

from ... import dataclass
from ...landmarks.points.names import View, VocabularyEnum
from ..parameters import shown_number
from .rules import Citation, SetInfo, Status, as_shown

__all__ = ["ResultKind", "ComponentColumn", "CriterionColumn", "Assessment"]


class ResultKind(VocabularyEnum):
    """The key a criterion row carries its result under (formats.md §2)."""

    GRADE = "grade"
    FLAG = "flag"
    CATEGORY = "category"


def _py(x: Any) -> Any:
    """NumPy scalars to plain Python for JSON (NaN to None)."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x


@dataclass(frozen=True, eq=False)
class ComponentColumn:
    """One component of a score for N studies (value as binned, its points and rule)."""

    key: str
    name: str
    unit: str | None
    formula: str
    value: np.ndarray  # (N,) float, rounded as binned; NaN where not computable
    points: np.ndarray  # (N,) object: int or None
    rule: np.ndarray  # (N,) object: str or None


@dataclass(frozen=True, eq=False)
class CriterionColumn:
    """One criterion judged for N studies.

    Attributes
    ----------
    id, column, name : str
        Report id (``"srs_schwab.pi_ll"``), batch-table column
        (``"srs_schwab_pi_ll"``) and display name.
    result_kind : ResultKind
        Whether :attr:`result` holds grades, flags or categories.
    sources : tuple of Citation
    status : Status
    note : str or None
    view : View
    unit : str or None
        Unit of :attr:`value`, target and offset.
    present : ndarray of bool, shape (N,)
        The criterion is relevant to the study's view.
    applied : ndarray of bool, shape (N,)
    value : ndarray, shape (N,)
        The value judged (NaN where not applied).
    result : ndarray of object, shape (N,)
        ``"0"``/``"+"``/``"++"``, a bool, a category or ``"boundary"``; None where not applied.
    rule : ndarray of object, shape (N,)
        The rule applied to each study.
    reason : ndarray of object, shape (N,)
        Why the criterion was not applied (None where applied or absent).
    target, offset : ndarray, shape (N,), or None
        Target-set criteria only: the target and ``value - target``.
    study_note : ndarray of object, shape (N,), or None
        A note for particular studies (a 30 deg boundary curve, an extrapolated age).
    components : tuple of ComponentColumn
    criterion_set : SetInfo
    verdicts : (str, str) or None
        Target-set criteria: the wording of a flagged and of an unflagged result
        ("above the age-adjusted target", "not above the age-adjusted target").
    value_column : str or None
        Batch-table column for :attr:`value` when it is not a parameter already.
    parameter : str or None
        The id of the parameter this criterion judges (``"PI_LL"``; ``"Cobb_max"``
        for the curve type); None for a sum or score over several parameters
        (the SRS-Schwab sagittal modifier, GAP).
    baseline, change : ndarray, shape (N,), or None
        Criteria of a change since the operation (PJK): the pre-operative value
        and the change to :attr:`value` (as shown, 0.1), NaN where not applied.
    caution : ndarray of object, shape (N,), or None
        Per study, a word of caution on the verdict (Glassman's coronal criterion
        on a film that records an operation: it was found for unoperated patients).
    categories : tuple of str
        Grades and categories: every result the criterion can give, from its
        data (a band table's results in the order of its bands, which run up the
        judged value; the curve types); empty for a flag.
    ordered : bool
        Whether :attr:`categories` are ordered: bands of one value, each with
        its own result (``"0" < "+" < "++"``); not the curve types.
    result_codes : ndarray of int16, shape (N,), or None
        Grades and categories: the index of each study's result in
        :attr:`categories`, -1 where there is none, so that
        ``result[i] == categories[result_codes[i]]`` wherever ``result_codes[i] >= 0``
        (None for flags and targets).
    """

    id: str
    column: str
    name: str
    result_kind: ResultKind
    sources: tuple[Citation, ...]
    status: Status
    note: str | None
    view: View
    unit: str | None
    present: np.ndarray
    applied: np.ndarray
    value: np.ndarray
    result: np.ndarray
    rule: np.ndarray
    reason: np.ndarray
    criterion_set: SetInfo
    target: np.ndarray | None = None
    offset: np.ndarray | None = None
    study_note: np.ndarray | None = None
    components: tuple[ComponentColumn, ...] = ()
    verdicts: tuple[str, str] | None = None
    value_column: str | None = None
    count_value: bool = False
    parameter: str | None = None
    baseline: np.ndarray | None = None
    change: np.ndarray | None = None
    caution: np.ndarray | None = None
    categories: tuple[str, ...] = ()
    ordered: bool = False
    result_codes: np.ndarray | None = None

    @property
    def source(self) -> str:
        return "; ".join(str(s) for s in self.sources)

    def verdict(self, i: int) -> str | None:
        """Target-set criteria: the wording of study *i*'s result; else None."""
        if self.verdicts is None:
            return None
        return self.verdicts[0] if self.result[i] else self.verdicts[1]

    def _note(self, i: int) -> str | None:
        notes = [n for n in (self.note, None if self.study_note is None else self.study_note[i]) if n]
        return "; ".join(notes) or None

    def row(self, i: int) -> dict | None:
        """Return the report row of study *i* (formats.md §2), or None when not relevant."""
        if not self.present[i]:
            return None
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if not self.applied[i]:
            out.update(applied=False, reason=self.reason[i])
        else:
            out["value"] = _py(self.value[i])
            if self.unit:
                out["unit"] = self.unit
            out[self.result_kind.value] = _py(self.result[i])
            if self.target is not None and self.offset is not None:
                out["target"] = _py(self.target[i])
                out["offset"] = _py(self.offset[i])
                out["verdict"] = self.verdict(i)
            if self.baseline is not None and self.change is not None:
                out["preop_value"] = _py(self.baseline[i])
                out["change"] = _py(self.change[i])
            if self.components:
                out["components"] = {
                    c.key: {
                        "name": c.name,
                        "value": _py(c.value[i]),
                        "unit": c.unit,
                        "formula": c.formula,
                        "points": _py(c.points[i]),
                        "rule": c.rule[i],
                    }
                    for c in self.components
                }
            out["rule"] = self.rule[i]
        out["source"] = self.source
        out["status"] = self.status.value
        note = self._note(i)
        if note:
            out["note"] = note
        caution = self.caution_of(i)
        if caution:
            out["caution"] = caution
        if self.criterion_set.kind == "targets":
            out["set"] = self.criterion_set.name
            if self.criterion_set.note:
                out["set_note"] = self.criterion_set.note
        if self.criterion_set.user_supplied:
            out["user_supplied"] = self.criterion_set.display
        return out

    def caution_of(self, i: int) -> str | None:
        """The word of caution on study *i*'s verdict, if any (:attr:`caution`)."""
        return None if self.caution is None else self.caution[i]

    def summary(self, i: int) -> str | None:
        """One short human line for study *i*, or None when not relevant."""
        if not self.present[i]:
            return None
        caution = self.caution_of(i)
        tag = f" [{self.status.value}]" + (f" ({caution})" if caution else "")
        if not self.applied[i]:
            return f"{self.name}: not applied ({self.reason[i]}){tag}"
        unit = f" {self.unit}" if self.unit else ""
        v = float(as_shown(self.value[i]))  # the value the verdict was decided on (issue 14)
        if self.target is not None and self.offset is not None:
            verdict = self.verdict(i)
            return (
                f"{self.name}: {shown_number(v)}{unit}, target {shown_number(float(as_shown(self.target[i])))}"
                f"{unit}, offset {shown_number(float(self.offset[i]), signed=True)}{unit}: {verdict}{tag}"
            )
        res = self.result[i]
        if self.result_kind is ResultKind.FLAG:
            res = "flagged" if res else "not flagged"
        if self.components:
            parts = ", ".join(
                f"{c.key.upper() if c.key != 'age' else 'age'} {c.points[i]}" for c in self.components
            )
            return f"{self.name}: {shown_number(v, 0)}, {res} ({parts}){tag}"
        shown = shown_number(v, 0) if self.count_value else f"{shown_number(v)}{unit}"
        if self.baseline is not None and self.change is not None:
            before, change = float(as_shown(self.baseline[i])), float(self.change[i])
            shown += (
                f", pre-op {shown_number(before)}{unit}, change {shown_number(change, signed=True)}{unit}"
            )
        return f"{self.name}: {res} ({shown}; {self.rule[i]}){tag}"

    @property
    def result_column(self) -> str:
        """The batch-table column of :attr:`result` (``<column>_flag`` for a target)."""
        return f"{self.column}_flag" if self.target is not None else self.column

    def number_columns(self) -> tuple[str, ...]:
        """The batch-table columns of this criterion (:meth:`table`) that hold numbers.

        Decided by the definition, never by the data: the target, the offset,
        the value judged (when it has its own column), the pre-operative value
        and the change, and each score component's value and points. The
        others hold the result (text, or a flag) and the reason.
        """
        numbers = [self.target, self.offset, self.value, self.baseline, self.change]
        for comp in self.components:
            numbers += [comp.value, comp.points]
        numeric = {id(a) for a in numbers if a is not None}
        return tuple(name for name, values in self.table().items() if id(values) in numeric)

    def table(self, *, reasons: bool = True) -> dict[str, np.ndarray]:
        """Return the batch-table columns of this criterion (formats.md §3)."""
        out: dict[str, np.ndarray] = {}
        if self.target is not None and self.offset is not None:
            out[f"{self.column}_target_{self.unit}"] = self.target
            out[f"{self.column}_offset_{self.unit}"] = self.offset
            out[f"{self.column}_flag"] = self.result
        else:
            out[self.column] = self.result
        if self.value_column:
            out[self.value_column] = self.value
        if self.baseline is not None and self.change is not None:
            out[f"{self.column}_preop_{self.unit}"] = self.baseline
            out[f"{self.column}_change_{self.unit}"] = self.change
        for c in self.components:
            unit = {"%": "pct", None: ""}.get(c.unit, c.unit)
            out[f"{self.column}_{c.key}" + (f"_{unit}" if unit else "")] = c.value
            out[f"{self.column}_{c.key}_points"] = c.points
        if reasons:
            out[f"{self.column}_reason"] = self.reason
        return out


@dataclass(frozen=True, eq=False)
class Assessment:
    """Every criterion judged for N studies: one :class:`CriterionColumn` per criterion.

    Attributes
    ----------
    columns : tuple of CriterionColumn
    age_years : ndarray, shape (N,)
        The ages used (NaN where unknown).
    apex_split : str
        The thoracic / thoracolumbar split used for curve types ([U] convention).
    sets : tuple of SetInfo
        Every criterion set applied, in order.
    target_prefixes : mapping of str to SetInfo
        Column prefix of each target set (``"age_adjusted"`` for the age set);
        the batch table names the set in ``<prefix>_set``.
    region_codes : ndarray of int8, shape (N, K), or None
        Region of each coronal curve under :attr:`apex_split`, as an index into
        :attr:`region_names` (-1 for padding); see
        :func:`spinecheck.alignment.criteria.engine.curve_regions`.
    region_names : tuple of str
        The regions the codes index: ``("thoracic", "thoracolumbar/lumbar")``.
    regions : ndarray of object, shape (N, K), or None
        The regions by name (None for padding), made from the codes when first
        asked for: a table written as CSV never needs them.
    """

    columns: tuple[CriterionColumn, ...]
    age_years: np.ndarray
    apex_split: str
    sets: tuple[SetInfo, ...]
    target_prefixes: Mapping[str, SetInfo] = field(default_factory=dict)
    region_codes: np.ndarray | None = None
    region_names: tuple[str, ...] = ()

    @cached_property
    def regions(self) -> np.ndarray | None:
        if self.region_codes is None:
            return None
        names = np.empty(len(self.region_names) + 1, dtype=object)  # the last, None, for code -1
        names[:-1] = self.region_names
        return names[self.region_codes]

    def __len__(self) -> int:
        return len(self.age_years)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.columns)

    def __getitem__(self, criterion_id: str) -> CriterionColumn:
        for c in self.columns:
            if c.id == criterion_id:
                return c
        raise KeyError(f"no criterion {criterion_id!r}; criteria are {', '.join(self.ids)}")

    def _index(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"study index {i} out of range for {n} studies")
        return i % n

    def curve_regions(self) -> np.ndarray | None:
        """Return the ``(N, K)`` curve regions used for the curve types (None if not computed)."""
        return self.regions

    def rows(self, i: int) -> list[dict]:
        """Return the report ``"criteria"`` rows of study *i* (formats.md §2)."""
        i = self._index(i)
        return [r for c in self.columns if (r := c.row(i)) is not None]

    def summary(self, i: int) -> list[str]:
        """Short human verdict lines for study *i* (text table, figures)."""
        i = self._index(i)
        return [s for c in self.columns if (s := c.summary(i)) is not None]

    def table(self, *, reasons: bool = True) -> dict[str, np.ndarray]:
        """Batch-table columns, ``(N,)`` each (formats.md §3).

        One column per criterion (``srs_schwab_pi_ll``), target criteria as
        ``<col>_target_<unit>``, ``<col>_offset_<unit>``, ``<col>_flag``, score
        components as ``<col>_<key>_<unit>`` and ``<col>_<key>_points``; with
        *reasons*, ``<col>_reason`` says why a criterion was not applied. Cells
        are None (object columns) or NaN (float columns) where a criterion is not
        relevant or not applied.
        """
        out: dict[str, np.ndarray] = {}
        for c in self.columns:
            out.update(c.table(reasons=reasons))
        for prefix, info in self.target_prefixes.items():
            name = np.empty(len(self), dtype=object)
            name.fill(info.display)  # one string in every cell (np.full would make one per cell)
            out[f"{prefix}_set"] = name
        return out
