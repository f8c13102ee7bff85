"""Alignment targets as data: age-adjusted sets (clinical.md §6) and fixed-threshold sets.

A *target set* gives, for some sagittal parameters, a target value as a linear
formula in age and pelvic incidence, or as a table of age (or PI) bands, and
says on which side of the target the deformity lies. For every study the
engine reports the target, the actual value, the offset ``actual - target``
and a flag when the offset is on the deformity side ("above the age-adjusted
target" for PI-LL, PT, SVA, TPA; "below" for a lordosis target). The other side
(over-correction) is reported as an offset and never flagged: no threshold for
it is confirmed.

Built-in sets live in ``alignment/criteria/sets/`` as ``"kind": "targets"``
files; a site adds its own (Lafage's per-band table, its own targets) with
:func:`load_target_set` and no code change.

File format (``spinecheck-criteria/1``, ``"kind": "targets"``)::

    {
      "format": "spinecheck-criteria/1",
      "kind": "targets",
      "name": "lafage2016-linear",
      "title": "Age-adjusted alignment targets (Lafage 2016), linear form",
      "label": "age-adjusted target, Lafage 2016 linear form, not verified against the paper's table",
      "status": "S-",
      "sources": [{"authors": "Lafage R et al.", "year": 2016, "journal": "Spine",
                   "details": "41(1):62-68", "doi": "10.1097/BRS.0000000000001171"}],
      "targets": [
        {"parameter": "PT", "unit": "deg", "deformity_side": "above",
         "formula": {"age": {"coefficient": "1/3", "center": 55}, "intercept": 20}},
        {"parameter": "SVA", "unit": "mm", "deformity_side": "above",
         "bands": {"variable": "age", "table": [
            {"interval": "(-inf, 35)", "target": 10}, {"interval": "[35, 45)", "target": 20}]}}
      ]
    }

``deformity_side`` is ``"above"`` or ``"below"``; ``"inclusive": true`` flags an
offset of exactly 0 as well (a ``>=`` threshold). ``target_name`` (optional)
words the verdict ("age-adjusted target" by default when a target depends on
age); ``cohort_age`` (optional interval) is the age range the set was derived
from: outside it the target is still reported, with a note that it is
extrapolated.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np

from ... import dataclass
from ...landmarks.errors import InvalidCriteriaError
from ...landmarks.points.names import VocabularyEnum
from ..parameters import PARAMETERS
from .assessment import CriterionColumn, ResultKind
from .inputs import Inputs, join_reasons
from .rules import (
    Formula,
    Interval,
    SetInfo,
    as_shown,
    builtin_kind,
    builtin_sets,
    check_keys,
    check_variable,
    display_name,
    header_keys,
    optional_str,
    read_set_file,
    require_mapping,
    require_str,
)

__all__ = [
    "Side",
    "TargetBand",
    "Target",
    "TargetSet",
    "load_target_set",
    "available_target_sets",
    "available_age_sets",
    "target_set_from_json",
    "evaluate_targets",
]


class Side(VocabularyEnum):
    """On which side of its target a parameter shows the deformity."""

    ABOVE = "above"
    BELOW = "below"


@dataclass(frozen=True)
class TargetBand:
    """A target (a formula, often a constant) for values of a variable in an interval."""

    interval: Interval
    formula: Formula


@dataclass(frozen=True)
class Target:
    """The target of one parameter: a formula, or a band table over a variable.

    Attributes
    ----------
    parameter : str
        Parameter id (``"PT"``, ``"PI_LL"``, ``"SVA"``, ``"TPA"``, ``"LL"``, ...).
    unit : str
        ``"deg"`` or ``"mm"`` (the parameter's unit).
    side : Side
        The deformity side; offsets on the other side are never flagged.
    inclusive : bool
        Flag an offset of exactly zero too (``>=`` / ``<=`` thresholds).
    formula : Formula or None
    band_variable : str or None
    bands : tuple of TargetBand
    note : str or None
    """

    parameter: str
    unit: str
    side: Side
    inclusive: bool = False
    formula: Formula | None = None
    band_variable: str | None = None
    bands: tuple[TargetBand, ...] = ()
    note: str | None = None

    def __post_init__(self) -> None:
        if (self.formula is None) == (self.band_variable is None):
            raise ValueError(f"target of {self.parameter}: needs exactly one of a formula or a band variable")

    @property
    def variables(self) -> tuple[str, ...]:
        """Every input the target needs besides the parameter itself, in order."""
        names: list[str] = []
        if self.band_variable:
            names.append(self.band_variable)
        formulas = [self.formula] if self.formula else [b.formula for b in self.bands]
        for f in formulas:
            names.extend(v for v in f.variables if v not in names)
        return tuple(names)

    @property
    def operator(self) -> str:
        return {Side.ABOVE: ">", Side.BELOW: "<"}[self.side] + ("=" if self.inclusive else "")

    def evaluate(self, inputs: Mapping[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Target values and the band index of each study.

        Parameters
        ----------
        inputs : mapping of str to ndarray, shape (N,)
            Every variable of :attr:`variables` (NaN where unknown).
        n : int
            Number of studies.

        Returns
        -------
        target : ndarray, shape (N,)
            In the parameter's unit; NaN where an input is NaN or a band
            variable falls in no band.
        band : ndarray of int, shape (N,)
            Index into :attr:`bands`; 0 for a formula target, -1 for none.
        """
        if self.formula is not None:
            return self.formula.evaluate(inputs, n), np.zeros(n, dtype=np.int64)
        assert self.band_variable is not None  # __post_init__: a band variable wherever there is no formula
        x = inputs[self.band_variable]
        target = np.full(n, np.nan)
        band = np.full(n, -1, dtype=np.int64)
        for k, b in enumerate(self.bands):
            inside = b.interval.contains(x)
            target = np.where(inside, b.formula.evaluate(inputs, n), target)
            band[inside] = k
        return target, band

    def flags(self, offset: np.ndarray) -> np.ndarray:
        """Whether each offset (``actual - target``) is on the deformity side."""
        if self.side is Side.ABOVE:
            return offset >= 0 if self.inclusive else offset > 0
        return offset <= 0 if self.inclusive else offset < 0

    def rule_texts(self) -> list[str]:
        """Return the rule of each band (one rule for a formula target).

        >>> t = Target("PT", "deg", Side.ABOVE, formula=Formula.from_json({"intercept": 22}, where="x"))
        >>> t.rule_texts()
        ['flag when PT > 22 deg']
        """
        p = display_name(self.parameter)
        formulas = [self.formula] if self.formula is not None else [b.formula for b in self.bands]
        texts = []
        for k, f in enumerate(formulas):
            constant = not f.variables
            rule = (
                f"flag when {p} {self.operator} {f.text()} {self.unit}"
                if constant
                else f"flag when {p} {self.operator} target; target = {f.text()} {self.unit}"
            )
            if self.formula is None:
                rule += f" for {self.bands[k].interval.text(self.band_variable or '')}"
            texts.append(rule)
        return texts


@dataclass(frozen=True)
class TargetSet:
    """A named set of targets with its source and evidence status."""

    info: SetInfo
    targets: tuple[Target, ...]
    target_name: str
    cohort_age: Interval | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def age_dependent(self) -> bool:
        """Whether any target uses the patient's age."""
        return any("age" in t.variables for t in self.targets)

    def verdicts(self, target: Target) -> tuple[str, str]:
        """Word a flagged and an unflagged result, e.g. ``"above the age-adjusted target"``.

        >>> s = load_target_set("schwab2013-odi40")
        >>> s.verdicts(s.targets[0])
        ('at or above the ODI > 40 threshold', 'below the ODI > 40 threshold')
        """
        side, other = target.side.value, {Side.ABOVE: "below", Side.BELOW: "above"}[target.side]
        if target.inclusive:
            return f"at or {side} the {self.target_name}", f"{other} the {self.target_name}"
        return f"{side} the {self.target_name}", f"not {side} the {self.target_name}"


_TARGET_KEYS = ("parameter", "unit", "deformity_side", "inclusive", "formula", "bands", "note")


def _read_target(obj: object, *, where: str) -> Target:
    d = require_mapping(obj, where=where)
    check_keys(d, _TARGET_KEYS, where=where)
    parameter = require_str(d, "parameter", where=where)
    if parameter not in PARAMETERS:
        check_variable(parameter, where=f"{where}.parameter")  # raises with suggestions
        raise InvalidCriteriaError(f"{where}.parameter must be a parameter id, not {parameter!r}")
    unit = str(PARAMETERS[parameter].unit)
    given = d.get("unit", unit)
    if given != unit:
        raise InvalidCriteriaError(f"{where}.unit: {parameter} is in {unit!r}; got {given!r}")
    side_text = d.get("deformity_side")
    try:
        side = Side(side_text)
    except ValueError:
        raise InvalidCriteriaError(
            f'{where}.deformity_side must be "above" or "below" (the side of the target that is flagged); '
            f"got {side_text!r}"
        ) from None
    inclusive = d.get("inclusive", False)
    if not isinstance(inclusive, bool):
        raise InvalidCriteriaError(f"{where}.inclusive must be true or false; got {inclusive!r}")
    has_formula, has_bands = "formula" in d, "bands" in d
    if has_formula == has_bands:
        raise InvalidCriteriaError(f'{where} needs exactly one of "formula" or "bands"')
    note = optional_str(d, "note", where=where)
    if has_formula:
        formula = Formula.from_json(d["formula"], where=f"{where}.formula")
        return Target(parameter, unit, side, inclusive, formula=formula, note=note)
    b = require_mapping(d["bands"], where=f"{where}.bands")
    check_keys(b, ("variable", "table"), where=f"{where}.bands")
    variable = check_variable(str(b.get("variable", "age")), where=f"{where}.bands.variable")
    table = b.get("table")
    if not isinstance(table, list) or not table:
        raise InvalidCriteriaError(f"{where}.bands.table must be a non-empty list; got {table!r}")
    bands = []
    for k, row in enumerate(table):
        w = f"{where}.bands.table[{k}]"
        r = require_mapping(row, where=w)
        check_keys(r, ("interval", "target"), where=w)
        if "target" not in r:
            raise InvalidCriteriaError(f'{w} needs "target" (a number or a formula)')
        bands.append(
            TargetBand(
                Interval.parse(r.get("interval"), where=f"{w}.interval"),
                Formula.from_json(r["target"], where=f"{w}.target"),
            )
        )
    bands.sort(key=lambda tb: (tb.interval.lower, not tb.interval.lower_closed))
    for a, c in zip(bands[:-1], bands[1:], strict=True):
        if a.interval.upper > c.interval.lower or (
            a.interval.upper == c.interval.lower and a.interval.upper_closed and c.interval.lower_closed
        ):
            raise InvalidCriteriaError(
                f"{where}.bands.table: intervals overlap at {variable} = {c.interval.lower:g}"
            )
    return Target(parameter, unit, side, inclusive, band_variable=variable, bands=tuple(bands), note=note)


def load_target_set(source: str | Path) -> TargetSet:
    """Read a target set: a built-in name or a path to a ``"kind": "targets"`` file.

    Parameters
    ----------
    source : str or Path
        ``"lafage2016-linear"``, ``"normative-pi-age-2025"``, ``"hasegawa2016"``,
        ``"schwab2013-odi40"``, or a file path.

    Returns
    -------
    TargetSet

    Raises
    ------
    InvalidCriteriaError
        The file is missing, not JSON, or a field does not follow the format; the
        one-line message names the file, the field and what was expected.

    Examples
    --------
    >>> s = load_target_set("lafage2016-linear")
    >>> s.info.status, [t.parameter for t in s.targets]
    (<Status.S_MINUS: 'S-'>, ['PI_LL', 'PT', 'SVA'])
    """
    if isinstance(source, str) and source in builtin_sets():
        return _load_builtin(source)
    return _load(source)


@cache
def _load_builtin(name: str) -> TargetSet:
    return _load(name)


def _load(source: str | Path) -> TargetSet:
    info, d, where = read_set_file(source, kinds=("targets",))
    return target_set_from_json(info, d, where)


def target_set_from_json(info: SetInfo, d: Mapping, where: str) -> TargetSet:
    """Read the body of a ``"kind": "targets"`` file whose header is *info*."""
    check_keys(d, header_keys() + ("targets", "target_name", "cohort_age"), where=where)
    raw = d.get("targets")
    if not isinstance(raw, list) or not raw:
        raise InvalidCriteriaError(f"{where}.targets must be a non-empty list of targets; got {raw!r}")
    targets = tuple(_read_target(t, where=f"{where}.targets[{k}]") for k, t in enumerate(raw))
    seen: set[str] = set()
    for k, t in enumerate(targets):
        view = PARAMETERS[t.parameter].view
        for v in t.variables:
            if v in PARAMETERS and PARAMETERS[v].view is not view:
                raise InvalidCriteriaError(
                    f"{where}.targets[{k}]: {v} is measured on {PARAMETERS[v].view.value} films, "
                    f"{t.parameter} on {view.value} films"
                )
        if t.parameter in seen:
            raise InvalidCriteriaError(f"{where}.targets[{k}]: a second target for {t.parameter}")
        seen.add(t.parameter)
    cohort = d.get("cohort_age")
    cohort_age = None if cohort is None else Interval.parse(cohort, where=f"{where}.cohort_age")
    uses_age = any("age" in t.variables for t in targets)
    default_name = "age-adjusted target" if uses_age else "target"
    target_name = optional_str(d, "target_name", where=where) or default_name
    return TargetSet(info, targets, target_name, cohort_age)


def available_target_sets() -> list[str]:
    """Names of the built-in target sets.

    >>> available_target_sets()
    ['hasegawa2016', 'lafage2016-linear', 'normative-pi-age-2025', 'schwab2013-odi40']
    """
    return [name for name in builtin_sets() if builtin_kind(name) == "targets"]


def available_age_sets() -> list[str]:
    """Names of the built-in target sets whose targets depend on age.

    >>> available_age_sets()
    ['hasegawa2016', 'lafage2016-linear', 'normative-pi-age-2025']
    """
    return [name for name in available_target_sets() if load_target_set(name).age_dependent]


def evaluate_targets(
    ts: TargetSet, inputs: Inputs, prefix: str, title: str | None = None
) -> list[CriterionColumn]:
    """Judge N studies against every target of *ts*: one column per target.

    Parameters
    ----------
    ts : TargetSet
    inputs : Inputs
    prefix : str
        Id prefix: ``"age_adjusted"`` gives ``age_adjusted.pt`` / ``age_adjusted_pt``.
    title : str or None
        Name prefix (``"Age-adjusted"`` gives "Age-adjusted PT"); None names a
        column after the set: "PT vs ODI > 40 threshold (schwab2013-odi40)".

    Returns
    -------
    list of CriterionColumn
        Each with ``target``, ``offset = value - target`` (both as shown, to
        0.1: :func:`~.rules.as_shown`) and ``result`` True where the offset is
        on the deformity side. A study without a needed
        input (age, PI, the parameter, calibration for mm) is not applied, with
        the reason.
    """
    n = inputs.n
    purpose = "age-adjusted targets not applied"
    label = ts.info.label or ts.info.title
    if ts.info.user_supplied:
        label = f"{ts.info.display}: {label}"
    columns = []
    for t in ts.targets:
        view = PARAMETERS[t.parameter].view
        present = inputs.present(view)
        x, valid, reason = inputs.get(t.parameter)
        parts = [(present & ~valid, reason)]
        valid = valid.copy()
        values = {}
        for name in t.variables:
            xv, vv, rv = inputs.get(name, purpose=purpose)
            values[name] = xv
            parts.append((present & ~vv, rv))
            valid &= vv
        target, band = t.evaluate(values, n)
        outside = present & valid & (band < 0)
        if outside.any():
            assert t.band_variable is not None  # only a band table leaves a study outside every band
            why = np.full(n, None, dtype=object)
            for i in np.flatnonzero(outside):
                why[i] = (
                    f"{t.band_variable} {values[t.band_variable][i]:g} is outside every band of the "
                    f"{ts.name!r} {display_name(t.parameter)} table: target not applied"
                )
            parts.append((outside, why))
        applied = present & valid & (band >= 0)
        # decided as shown (issue 14): the value and the target as printed (0.1), and their
        # difference rounded again so that float noise cannot flag a "+0.0" offset
        offset = np.where(applied, as_shown(inputs.shown(t.parameter) - as_shown(target)), np.nan)
        result = np.full(n, None, dtype=object)
        result[applied] = t.flags(offset)[applied]
        rules = np.array(t.rule_texts() + [None], dtype=object)
        study_note = None
        if ts.cohort_age is not None and "age" in values:
            age = values["age"]
            extrapolated = applied & ~ts.cohort_age.contains(age)
            if extrapolated.any():
                study_note = np.full(n, None, dtype=object)
                cohort = ts.cohort_age.text("age", "years")
                for i in np.flatnonzero(extrapolated):
                    study_note[i] = (
                        f"extrapolated: age {age[i]:g} years is outside the derivation cohort ({cohort})"
                    )
        key = t.parameter.lower()
        columns.append(
            CriterionColumn(
                id=f"{prefix}.{key}",
                column=f"{prefix}_{key}",
                parameter=t.parameter,
                name=(
                    f"{title} {display_name(t.parameter)}"
                    if title
                    else f"{display_name(t.parameter)} vs {ts.target_name} ({ts.name})"
                ),
                result_kind=ResultKind.FLAG,
                sources=ts.info.sources,
                status=ts.info.status,
                note="; ".join(x for x in (label, t.note) if x),
                view=view,
                unit=t.unit,
                present=present,
                applied=applied,
                value=np.where(applied, x, np.nan),
                result=result,
                rule=rules[np.where(applied, band, -1)],
                reason=join_reasons(n, parts),
                criterion_set=ts.info,
                target=np.where(applied, target, np.nan),
                offset=offset,
                study_note=study_note,
                verdicts=ts.verdicts(t),
            )
        )
    return columns
