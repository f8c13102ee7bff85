"""The criteria engine: from parameter values of N studies to verdicts with their sources.

:func:`assess` judges every study of a :class:`~spinecheck.alignment.parameters.Measurements`
at once (NumPy over the ``(N,)`` columns, no loop per study) against criterion
sets that are data files in ``alignment/criteria/sets/`` (clinical.md §3, §6):

========================  ==========================================================
``balance``               coronal imbalance ``abs(C7-CSVL) > 40 mm``; sagittal ``SVA >= 50 mm``
``srs-schwab``            PI-LL, PT, SVA modifiers; simplified modifier; coronal curve type
``tpa``                   TPA categories; ``TPA >= 20 deg`` (severe disability)
``gap``                   GAP score (Yilgor 2017)
``roussouly``             Roussouly type from sacral slope
target sets               age-adjusted targets (:mod:`spinecheck.alignment.criteria.targets`)
========================  ==========================================================

A criterion applies to the studies of its view (sagittal criteria to lateral
films, coronal ones to AP films) and is absent for the others. Where it applies
but cannot be evaluated it is present as *not applied*, with the reason: the
missing parameter's own reason, :data:`CALIBRATION_REASON` for a millimetre
threshold on an uncalibrated study, or "age unknown: ..." — an age is never
assumed.

Criterion-set format (``spinecheck-criteria/1``, ``"kind": "criteria"``): a
header (``format``, ``kind``, ``name``, ``title``, ``status``, ``sources``,
``note``) and a list of criteria, each with ``id``, ``name``, ``kind`` and the
fields of its kind:

- ``"flag"``: ``parameter``, ``interval`` (flagged inside), optional ``abs``;
- ``"grade"`` / ``"category"``: ``parameter``, ``bands`` (``[{"result", "interval"}]``),
  optional ``decimals`` (round half away from zero before binning);
- ``"grade_sum"``: ``inputs`` (grade criteria ids), ``weights`` per grade, ``bands``;
- ``"curve_type"``: ``major_curve_deg``, optional ``parameter`` (the one it is said to judge,
  ``"Cobb_max"`` when not given);
- ``"score"``: ``components`` (each a ``parameter`` minus an ``ideal`` formula, or a
  ``ratio``, with ``decimals`` and ``points`` bands) and ``bands`` on the total. A ratio's
  ``nonpositive_denominator`` says what happens where its denominator (as shown) is <= 0:
  ``"undefined"`` (the default: the score is not applied) or ``"limit"`` (scored as the
  ratio's limit as the denominator falls to 0 from above: the top band when the numerator
  is > 0, the bottom band otherwise; the component's value is then null).

Any criterion may override the set's ``status``, ``sources`` and add a ``note``.
Intervals are written ``"[10, 20]"``, ``"(20, inf)"``: the brackets say which
ends are included, so every boundary is data, not an ``if``.

Notes
-----
Decisions where clinical.md is silent (each also stated in the data file's
``note`` or ``rule`` so that reports show it):

- **TPA categories** are published in whole degrees (< 10, 10-20, 21-30, > 30).
  Each upper bound is inclusive: ``10 <= TPA <= 20`` is "10-20" and
  ``20 < TPA <= 30`` is "21-30", so 20.5 deg is "21-30" — consistent with
  ``TPA >= 20 deg`` marking severe disability (a separate flag row).
- **GAP rounding**: relative values to 0.1 deg and LDI to a whole percent,
  halves away from zero (-7.05 -> -7.1, 2 points; 39.5 -> 40, 1 point), as by
  hand; NumPy's half-to-even rounding would score -7.05 as -7.0.
- **GAP without age** is not applied ("age unknown: ..."): the age point is part
  of the total and is never assumed. The component values and points that can
  be computed still appear in the batch table.
- **GAP with a flat or kyphotic lumbar spine** (``LL <= 0`` as shown, issue 14): the
  LDI ``100*LL_L4S1/LL`` is undefined and neither Yilgor 2017 nor any source found
  says how to score it. Scoring stops neither at LL = 0 (the score stays applied) nor
  jumps there: the LDI component gets the points of its limit as LL falls to 0
  from above, the paper's own bands carried to their end (``gap.json``,
  ``"nonpositive_denominator": "limit"``): 3 points (the > 80 % band) when L4-S1 is
  lordotic (LL_L4S1 > 0: all the lordosis there is lies at L4-S1), 2 points (the
  < 40 % band) when it is not. The LDI value is null, and the study's note and the
  component's rule say that this is a spinecheck decision, not the paper's. For
  LL > 0 the paper's formula and bands apply unchanged, even where LL is small
  and the LDI large: a threshold for "flat" would be a number no source gives.
- **Decided as shown** (issue 14): every flag, band, target flag and curve type
  is decided on the value rounded half away from zero to 0.1 deg / 0.1 mm, the
  precision the report prints (:func:`~.rules.as_shown`, taken in
  :meth:`Inputs.shown`), so a PI-LL of 20.00000000000012 is "20.0 deg" and "+".
  The report's ``value`` stays unrounded; GAP rounds its own relative values.
- **Curve type**: any listed curve of 30 deg (30.0 as shown) makes the result
  "boundary" (never silently typed); the study note says which types it would
  be if counted above or below 30 deg. Apexes above T1 count as thoracic. A
  study with no listed curve types as N only if its largest Cobb angle is
  measured and < 30 deg.
- **Roussouly**: only the sacral-slope split is applied. Type 1 vs 2 (lordosis
  apex / inflection) and the type 3 anteverted pelvis (Laouissat 2018: SS >= 35
  with low PI and low or negative PT) have unconfirmed ([U]) cut-offs and are
  left out: SS < 35 deg reports "1 or 2".
- **Uncalibrated and unmeasured**: when a length could not be measured at all,
  its own reason (e.g. missing landmarks) is reported rather than the
  calibration reason, since calibrating would not help.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ... import dataclass
from ...landmarks.errors import InvalidArgumentError, InvalidCriteriaError
from ...landmarks.points.names import LEVELS, View, VocabularyEnum, level_index
from ..geometry.plane import NO_REASON, has_reason
from ..parameters import PARAMETERS, CurveTable, Measurements, shown_number
from .assessment import Assessment, ComponentColumn, CriterionColumn, ResultKind
from .inputs import CALIBRATION_REASON, Inputs, join_reasons
from .rules import (
    Bands,
    Citation,
    Formula,
    Interval,
    SetInfo,
    Status,
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
    require_number,
    require_str,
)
from .targets import (
    TargetSet,
    available_age_sets,
    available_target_sets,
    evaluate_targets,
    load_target_set,
    target_set_from_json,
)

__all__ = [
    "CALIBRATION_REASON",
    "CURVE_TYPES",
    "DEFAULT_CRITERIA",
    "THORACIC",
    "THORACOLUMBAR",
    "CriterionKind",
    "ResultKind",
    "Component",
    "NonPositive",
    "Criterion",
    "CriteriaSet",
    "ComponentColumn",
    "CriterionColumn",
    "Assessment",
    "assess",
    "check_set_source",
    "load_criterion_set",
    "curve_regions",
    "available_age_sets",
    "available_target_sets",
    "evaluate_criteria",
]

#: The built-in criterion sets :func:`assess` applies by default, in report order.
DEFAULT_CRITERIA: tuple[str, ...] = ("balance", "srs-schwab", "tpa", "gap", "roussouly", "junctional")
THORACIC = "thoracic"
THORACOLUMBAR = "thoracolumbar/lumbar"
#: The regions of :func:`curve_regions`, in the order of their codes.
REGION_NAMES: tuple[str, str] = (THORACIC, THORACOLUMBAR)


class NonPositive(VocabularyEnum):
    """What a score's ratio component does where its denominator (as shown) is <= 0."""

    UNDEFINED = "undefined"  # the score is not applied, with the reason
    LIMIT = "limit"  # scored as the ratio's limit as the denominator falls to 0 from above


class CriterionKind(str, enum.Enum):
    """How a criterion judges: its data-file ``"kind"``."""

    FLAG = "flag"
    GRADE = "grade"
    CATEGORY = "category"
    GRADE_SUM = "grade_sum"
    CURVE_TYPE = "curve_type"
    SCORE = "score"


# -- criteria as data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One scored part of a ``"score"`` criterion (e.g. GAP's relative pelvic version).

    Its value is ``parameter - ideal`` (or ``scale * numerator / denominator``
    for a ratio), rounded as ``points`` says, then scored by the ``points`` bands.
    Where a ratio's denominator is <= 0, ``nonpositive`` says what happens
    (:class:`NonPositive`).
    """

    key: str
    name: str
    unit: str | None
    points: Bands
    parameter: str | None = None
    ideal: Formula | None = None
    ratio: tuple[str, str, float] | None = None
    nonpositive: NonPositive = NonPositive.UNDEFINED

    def __post_init__(self) -> None:
        if (self.parameter is None) == (self.ratio is None):
            raise ValueError(f"component {self.key!r} needs exactly one of a parameter or a ratio")

    @property
    def variables(self) -> tuple[str, ...]:
        if self.ratio is not None:
            return self.ratio[:2]
        assert self.parameter is not None  # __post_init__: a parameter wherever there is no ratio
        return (self.parameter,) + (self.ideal.variables if self.ideal else ())

    def formula_text(self) -> str:
        if self.ratio is not None:
            num, den, scale = self.ratio
            return f"{scale:g}*{num}/{den}"
        return f"{self.parameter} - ({self.ideal.text()})" if self.ideal else str(self.parameter)


@dataclass(frozen=True)
class Criterion:
    """One criterion of a set, as read from its data file."""

    id: str
    name: str
    kind: CriterionKind
    view: View
    status: Status
    sources: tuple[Citation, ...]
    note: str | None = None
    parameter: str | None = None
    use_abs: bool = False
    interval: Interval | None = None
    bands: Bands | None = None
    inputs: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()
    weights: Mapping[str, int] = field(default_factory=dict)
    major_curve_deg: float | None = None
    components: tuple[Component, ...] = ()
    change: Interval | None = None
    operated_only: bool = False
    operated_caution: str | None = None

    @property
    def column(self) -> str:
        """Batch-table column name: the id with ``.`` and ``-`` as ``_``."""
        return re.sub(r"[.\-]", "_", self.id)

    @property
    def result_kind(self) -> ResultKind:
        return {CriterionKind.FLAG: ResultKind.FLAG, CriterionKind.GRADE: ResultKind.GRADE}.get(
            self.kind, ResultKind.CATEGORY
        )

    @property
    def results(self) -> tuple[str, ...]:
        """Every result this grade, category or curve type can give, in order; empty for a flag.

        A band table's results, in the order of its bands (which run up the
        judged value), each once; a curve type's, :data:`CURVE_TYPES`.
        """
        if self.kind is CriterionKind.CURVE_TYPE:
            return CURVE_TYPES
        if self.kind is CriterionKind.FLAG or self.bands is None:
            return ()
        return tuple(dict.fromkeys(str(b.result) for b in self.bands.bands))

    @property
    def results_ordered(self) -> bool:
        """Whether :attr:`results` are ordered: each band of the judged value has its own result.

        Grades (``"0" < "+" < "++"``), TPA categories, GAP categories and Roussouly
        types are; the curve types (T, L, D, N) are not.
        """
        if self.kind is CriterionKind.CURVE_TYPE or self.bands is None:
            return False
        return len(self.results) == len(self.bands.bands)

    @property
    def judges(self) -> str | None:
        """The parameter this criterion judges (None for a sum or score over several).

        A flag, grade or category judges its ``parameter``; a curve type, its
        ``parameter`` if the set names one, else the largest Cobb angle.
        """
        if self.kind in (CriterionKind.GRADE_SUM, CriterionKind.SCORE):
            return None
        if self.kind is CriterionKind.CURVE_TYPE:
            return self.parameter or "Cobb_max"
        return self.parameter

    @property
    def unit(self) -> str | None:
        if self.parameter is not None:
            return str(PARAMETERS[self.parameter].unit)
        return "deg" if self.kind is CriterionKind.CURVE_TYPE else None


@dataclass(frozen=True)
class CriteriaSet:
    info: SetInfo
    criteria: tuple[Criterion, ...]


_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_CRITERION_KEYS = (
    "id",
    "name",
    "kind",
    "view",
    "status",
    "sources",
    "note",
    "parameter",
    "abs",
    "interval",
    "bands",
    "decimals",
    "inputs",
    "weights",
    "major_curve_deg",
    "components",
    "change",
    "applies_to",
    "operated_caution",
)
_BAND_KIND = {
    CriterionKind.GRADE: "grade",
    CriterionKind.CATEGORY: "category",
    CriterionKind.GRADE_SUM: "category",
    CriterionKind.SCORE: "category",
}


def _read_criterion(obj: object, info: SetInfo, *, where: str, earlier: Mapping[str, Criterion]) -> Criterion:
    d = require_mapping(obj, where=where)
    check_keys(d, _CRITERION_KEYS, where=where)
    cid = require_str(d, "id", where=where)
    if not _ID_RE.match(cid):
        raise InvalidCriteriaError(f'{where}.id must be lower-case words joined by "." or "_"; got {cid!r}')
    w = f"{where} ({cid})"
    try:
        kind = CriterionKind(d.get("kind"))
    except ValueError:
        allowed = ", ".join(repr(k.value) for k in CriterionKind)
        raise InvalidCriteriaError(f"{w}.kind must be one of {allowed}; got {d.get('kind')!r}") from None
    parameter = d.get("parameter")
    if parameter is not None:
        if parameter not in PARAMETERS:
            check_variable(str(parameter), where=f"{w}.parameter")
            raise InvalidCriteriaError(f"{w}.parameter must be a parameter id; got {parameter!r}")
    elif kind in (CriterionKind.FLAG, CriterionKind.GRADE, CriterionKind.CATEGORY):
        raise InvalidCriteriaError(f'{w} needs "parameter"')
    view_text = d.get("view", PARAMETERS[parameter].view.value if parameter else None)
    if kind is CriterionKind.GRADE_SUM and view_text is None and d.get("inputs"):
        view_text = earlier[d["inputs"][0]].view.value if d["inputs"][0] in earlier else None
    try:
        view = View(view_text)
    except ValueError:
        raise InvalidCriteriaError(f'{w}.view must be "lateral" or "ap"; got {view_text!r}') from None
    if parameter is not None and PARAMETERS[parameter].view is not view:
        raise InvalidCriteriaError(
            f"{w}.view: {parameter} is measured on {PARAMETERS[parameter].view.value} films"
        )
    sources = info.sources
    if "sources" in d:
        raw = d["sources"]
        if not isinstance(raw, list) or not raw:
            raise InvalidCriteriaError(f"{w}.sources must be a non-empty list of citations; got {raw!r}")
        sources = tuple(Citation.from_json(c, where=f"{w}.sources[{k}]") for k, c in enumerate(raw))
    status = Status.parse(d["status"], where=f"{w}.status") if "status" in d else info.status
    common: dict[str, Any] = dict(
        id=cid,
        name=require_str(d, "name", where=w),
        kind=kind,
        view=view,
        status=status,
        sources=sources,
        note=optional_str(d, "note", where=w),
        parameter=parameter,
        operated_only=_applies_to(d, where=w),
        operated_caution=optional_str(d, "operated_caution", where=w),
    )
    if "change" in d and kind is not CriterionKind.FLAG:
        raise InvalidCriteriaError(
            f'{w}.change: only a "flag" criterion can judge a change; this is {kind.value!r}'
        )
    if kind in _BAND_KIND:
        common["bands"] = Bands.from_json(
            d.get("bands"), where=f"{w}.bands", result_kind=_BAND_KIND[kind], decimals=d.get("decimals")
        )
    if kind is CriterionKind.FLAG:
        use_abs = d.get("abs", False)
        if not isinstance(use_abs, bool):
            raise InvalidCriteriaError(f"{w}.abs must be true or false; got {use_abs!r}")
        return Criterion(
            **common,
            use_abs=use_abs,
            interval=Interval.parse(d.get("interval"), where=f"{w}.interval"),
            change=_change(d.get("change"), where=f"{w}.change") if "change" in d else None,
        )
    if kind is CriterionKind.GRADE_SUM:
        inputs = d.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise InvalidCriteriaError(
                f"{w}.inputs must be a non-empty list of criterion ids; got {inputs!r}"
            )
        for k, i in enumerate(inputs):
            if i not in earlier or earlier[i].kind is not CriterionKind.GRADE or earlier[i].view is not view:
                raise InvalidCriteriaError(
                    f"{w}.inputs[{k}]: {i!r} is not a {view.value} grade criterion listed before this one"
                )
        weights = require_mapping(d.get("weights"), where=f"{w}.weights")
        for g in ("0", "+", "++"):
            if isinstance(weights.get(g), bool) or not isinstance(weights.get(g), int):
                raise InvalidCriteriaError(
                    f'{w}.weights must give a whole number for "0", "+" and "++"; got {dict(weights)!r}'
                )
        names = tuple(display_name(earlier[i].parameter or i) for i in inputs)
        return Criterion(**common, inputs=tuple(inputs), input_names=names, weights=dict(weights))
    if kind is CriterionKind.CURVE_TYPE:
        return Criterion(**common, major_curve_deg=require_number(d, "major_curve_deg", where=w))
    if kind is CriterionKind.SCORE:
        raw = d.get("components")
        if not isinstance(raw, list) or not raw:
            raise InvalidCriteriaError(f"{w}.components must be a non-empty list; got {raw!r}")
        components = tuple(_read_component(c, where=f"{w}.components[{k}]") for k, c in enumerate(raw))
        for k, comp in enumerate(components):
            _check_views(comp.variables, view, where=f"{w}.components[{k}]")
        return Criterion(**common, components=components)
    return Criterion(**common)


def _applies_to(d: Mapping[str, Any], *, where: str) -> bool:
    """Whether the criterion applies only to films that record an operation (``"applies_to": "operated"``)."""
    value = d.get("applies_to", "all")
    if value not in ("all", "operated"):
        raise InvalidCriteriaError(f'{where}.applies_to must be "all" or "operated"; got {value!r}')
    return value == "operated"


def _change(obj: object, *, where: str) -> Interval:
    """The interval the change from the pre-operative value must lie in (``{"from": "preoperative", ...}``)."""
    d = require_mapping(obj, where=where)
    check_keys(d, ("from", "interval"), where=where)
    if d.get("from") != "preoperative":
        raise InvalidCriteriaError(
            f'{where}.from must be "preoperative" (the change from the value before the operation); '
            f"got {d.get('from')!r}"
        )
    return Interval.parse(d.get("interval"), where=f"{where}.interval")


def _check_views(variables: Sequence[str], view: View, *, where: str) -> None:
    """Every parameter a criterion reads must be measured on the criterion's view."""
    for v in variables:
        if v in PARAMETERS and PARAMETERS[v].view is not view:
            raise InvalidCriteriaError(
                f"{where}: {v} is measured on {PARAMETERS[v].view.value} films, not on {view.value} films"
            )


def _read_component(obj: object, *, where: str) -> Component:
    d = require_mapping(obj, where=where)
    check_keys(d, ("key", "name", "parameter", "ideal", "ratio", "unit", "decimals", "points"), where=where)
    key = require_str(d, "key", where=where)
    points = Bands.from_json(
        d.get("points"), where=f"{where}.points", result_kind="points", decimals=d.get("decimals")
    )
    name = require_str(d, "name", where=where)
    unit = optional_str(d, "unit", where=where)
    if ("parameter" in d) == ("ratio" in d):
        raise InvalidCriteriaError(f'{where} needs exactly one of "parameter" or "ratio"')
    if "ratio" in d:
        r = require_mapping(d["ratio"], where=f"{where}.ratio")
        check_keys(
            r, ("numerator", "denominator", "scale", "nonpositive_denominator"), where=f"{where}.ratio"
        )
        num = check_variable(
            require_str(r, "numerator", where=f"{where}.ratio"), where=f"{where}.ratio.numerator"
        )
        den = check_variable(
            require_str(r, "denominator", where=f"{where}.ratio"), where=f"{where}.ratio.denominator"
        )
        scale = require_number(r, "scale", where=f"{where}.ratio") if "scale" in r else 1.0
        nonpositive = NonPositive.parse(
            r.get("nonpositive_denominator", "undefined"),
            where=where,
            field="ratio.nonpositive_denominator",
            error=InvalidCriteriaError,
        )
        return Component(key, name, unit, points, ratio=(num, den, scale), nonpositive=nonpositive)
    parameter = check_variable(require_str(d, "parameter", where=where), where=f"{where}.parameter")
    ideal = Formula.from_json(d["ideal"], where=f"{where}.ideal") if "ideal" in d else None
    return Component(key, name, unit, points, parameter=parameter, ideal=ideal)


def criteria_set_from_json(info: SetInfo, d: Mapping[str, Any], where: str) -> CriteriaSet:
    """Read the body of a ``"kind": "criteria"`` file whose header is *info*."""
    check_keys(d, header_keys() + ("criteria",), where=where)
    raw = d.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise InvalidCriteriaError(f"{where}.criteria must be a non-empty list of criteria; got {raw!r}")
    done: dict[str, Criterion] = {}
    for k, item in enumerate(raw):
        crit = _read_criterion(item, info, where=f"{where}.criteria[{k}]", earlier=done)
        if crit.id in done:
            raise InvalidCriteriaError(f"{where}.criteria[{k}]: duplicate id {crit.id!r}")
        done[crit.id] = crit
    return CriteriaSet(info, tuple(done.values()))


def load_criterion_set(source: str | Path) -> CriteriaSet | TargetSet:
    """Read a criterion set: a built-in name or the path of a ``spinecheck-criteria/1`` file.

    Parameters
    ----------
    source : str or Path
        A built-in name (``"srs-schwab"``, ``"lafage2016-linear"``, ...) or a path.
        A set read from outside the package is marked ``user_supplied`` and is
        named as such in reports.

    Returns
    -------
    CriteriaSet or TargetSet
        By the file's ``"kind"`` (``"criteria"`` or ``"targets"``).

    Raises
    ------
    InvalidCriteriaError
        One line naming the file, the field and what was expected.

    Examples
    --------
    >>> s = load_criterion_set("srs-schwab")
    >>> [c.id for c in s.criteria][:2], str(s.info.status)
    (['srs_schwab.pi_ll', 'srs_schwab.pt'], 'S')
    """
    if isinstance(source, str) and source in builtin_sets():
        return _load_builtin(source)
    return _load(source)


@cache
def _load_builtin(name: str) -> CriteriaSet | TargetSet:
    return _load(name)


def _load(source: str | Path) -> CriteriaSet | TargetSet:
    info, d, where = read_set_file(source, kinds=("criteria", "targets"))
    if info.kind == "targets":
        return target_set_from_json(info, d, where)
    return criteria_set_from_json(info, d, where)


def curve_regions(curves: CurveTable, apex_split: str = "T9") -> np.ndarray:
    """Region of each coronal curve by its apex level: thoracic or thoracolumbar/lumbar.

    Parameters
    ----------
    curves : CurveTable
        ``(N, K)`` curves.
    apex_split : str
        The lowest apex level still called thoracic (default ``"T9"``: apex T9
        or above is thoracic, T10 or below thoracolumbar/lumbar; cervical apexes
        count as thoracic). This split is a **[U] convention** (clinical.md §3.2:
        not confirmed in the SRS-Schwab papers), so it is a named option.

    Returns
    -------
    ndarray of object, shape (N, K)
        :data:`THORACIC`, :data:`THORACOLUMBAR`, or None for padding.

    Examples
    --------
    >>> from spinecheck.alignment.parameters import CurveTable
    >>> t = CurveTable(np.array([[40.0, 35.0]]), np.array([[8, 15]]), np.array([[15, 22]]),
    ...                np.array([[14, 15]]), np.zeros((1, 2), bool))
    >>> curve_regions(t).tolist()  # apexes T9 and T10
    [['thoracic', 'thoracolumbar/lumbar']]
    """
    return _labels(REGION_NAMES)[_region_codes(curves, apex_split)]


def _region_codes(curves: CurveTable, apex_split: str) -> np.ndarray:
    """``(N, K)`` int8: each curve's region as an index into :data:`REGION_NAMES`, -1 for padding."""
    apex = np.asarray(curves.apex)
    valid = (apex >= 0) & np.isfinite(np.asarray(curves.angle_deg, dtype=float))
    codes = np.where(apex <= level_index(apex_split), 0, 1).astype(np.int8)
    codes[~valid] = -1
    return codes


# -- evaluation ----------------------------------------------------------------------------------


def evaluate_criteria(
    cs: CriteriaSet, m: Measurements | Inputs, age_years: np.ndarray | None = None, apex_split: str = "T9"
) -> list[CriterionColumn]:
    """Judge N studies against every criterion of *cs*: one column per criterion, in order.

    *m* is the :class:`~spinecheck.alignment.parameters.Measurements` (with *age_years*) or
    an :class:`~spinecheck.alignment.criteria.inputs.Inputs` already built from them.
    """
    inputs = m if isinstance(m, Inputs) else Inputs(m, _ages(age_years, len(m)))
    done: dict[str, CriterionColumn] = {}
    for crit in cs.criteria:
        column = _EVALUATORS[crit.kind](crit, cs.info, inputs, done, apex_split)
        done[crit.id] = _for_operated(crit, column, inputs.operated)
    return list(done.values())


def _for_operated(crit: Criterion, column: CriterionColumn, operated: np.ndarray) -> CriterionColumn:
    """*column* of a criterion that applies only to operated films, or cautions on them."""
    if crit.operated_only:
        keep = column.present & operated
        column = dataclasses.replace(
            column,
            present=keep,
            applied=column.applied & keep,
            value=np.where(keep, column.value, np.nan),
            result=np.where(keep, column.result, NO_REASON),
            rule=np.where(keep, column.rule, NO_REASON),
            reason=np.where(keep, column.reason, NO_REASON),
            result_codes=None if column.result_codes is None else np.where(keep, column.result_codes, -1),
        )
    if crit.operated_caution:
        caution = np.full(len(operated), None, dtype=object)
        caution[column.present & operated] = crit.operated_caution
        column = dataclasses.replace(column, caution=caution)
    return column


def _labels(items: Any) -> np.ndarray:
    """Object array of *items* plus a trailing None, so that code -1 reads None."""
    out = np.empty(len(items) + 1, dtype=object)
    out[:-1] = items
    return out


def _result_codes(crit: Criterion, codes: np.ndarray) -> np.ndarray:
    """The index of each study's result in ``crit.results`` (-1 for none), from its band *codes*."""
    assert crit.bands is not None
    results = crit.results
    of_band = [results.index(str(b.result)) for b in crit.bands.bands]
    return np.array(of_band + [-1], dtype=np.int16)[codes]


def _column(
    crit: Criterion,
    info: SetInfo,
    present: np.ndarray,
    applied: np.ndarray,
    value: np.ndarray,
    result: np.ndarray,
    rule: np.ndarray,
    reason: np.ndarray,
    **extra: Any,
) -> CriterionColumn:
    return CriterionColumn(
        id=crit.id,
        column=crit.column,
        name=crit.name,
        parameter=crit.judges,
        result_kind=crit.result_kind,
        sources=crit.sources,
        status=crit.status,
        note=crit.note,
        view=crit.view,
        unit=crit.unit,
        present=present,
        applied=applied,
        value=np.where(applied, value, np.nan),
        result=result,
        rule=rule,
        reason=np.where(present & ~applied, reason, NO_REASON),
        criterion_set=info,
        categories=crit.results,
        ordered=crit.results_ordered,
        **extra,
    )


def _flag(crit: Criterion, info: SetInfo, inputs: Inputs, done: Mapping, split: str) -> CriterionColumn:
    assert crit.parameter is not None and crit.interval is not None
    present = inputs.present(crit.view)
    x, valid, reason = inputs.get(crit.parameter)
    applied = present & valid
    shown = inputs.shown(crit.parameter)  # decided on the value as reported (issue 14)
    judged = np.abs(shown) if crit.use_abs else shown
    inside = crit.interval.contains(judged)
    name = display_name(crit.parameter)
    rule_text = crit.interval.text(f"abs({name})" if crit.use_abs else name, crit.unit)
    extra: dict[str, Any] = {}
    if crit.change is not None:
        # judged on the change of the two values as shown, so that it agrees with the numbers printed
        before, known, unknown = inputs.preop(crit.parameter)
        change = as_shown(shown - as_shown(before))
        reason = np.where(valid, unknown, reason)
        applied &= known
        inside &= crit.change.contains(change)
        rule_text += " and " + crit.change.text(f"{name} - preop {name}", crit.unit)
        extra = {"baseline": np.where(applied, before, np.nan), "change": np.where(applied, change, np.nan)}
    result = np.full(inputs.n, None, dtype=object)
    result[applied] = inside[applied]
    rule = _labels([rule_text])
    return _column(crit, info, present, applied, x, result, rule[np.where(applied, 0, -1)], reason, **extra)


def _bands(crit: Criterion, info: SetInfo, inputs: Inputs, done: Mapping, split: str) -> CriterionColumn:
    assert crit.parameter is not None and crit.bands is not None
    present = inputs.present(crit.view)
    x, valid, reason = inputs.get(crit.parameter)
    applied = present & valid
    # decided on the value as reported (issue 14), unless the table rounds the raw value its own way
    judged = inputs.shown(crit.parameter) if crit.bands.decimals is None else crit.bands.prepare(x)
    codes = crit.bands.classify(judged)
    codes[~applied] = -1
    results = _labels([b.result for b in crit.bands.bands])
    rules = _labels(crit.bands.rule_texts(display_name(crit.parameter), crit.unit))
    return _column(
        crit,
        info,
        present,
        applied,
        x,
        results[codes],
        rules[codes],
        reason,
        result_codes=_result_codes(crit, codes),
    )


def _grade_sum(crit: Criterion, info: SetInfo, inputs: Inputs, done: Mapping, split: str) -> CriterionColumn:
    assert crit.bands is not None
    n = inputs.n
    present = inputs.present(crit.view)
    applied = present.copy()
    total = np.zeros(n)
    parts = []
    for cid in crit.inputs:
        c = done[cid]
        assert c.result_codes is not None  # a grade criterion: _read_criterion checks the inputs
        applied &= c.applied
        # the weight of each study's grade, looked up by its code (no grade: 0)
        total += np.array([crit.weights.get(g, 0) for g in c.categories] + [0], dtype=float)[c.result_codes]
        parts.append((present & ~c.applied, c.reason))
    names = crit.input_names
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    reason = join_reasons(n, parts, prefix=f"needs {listed} graded: ")
    codes = crit.bands.classify(total)
    codes[~applied] = -1
    results = _labels([b.result for b in crit.bands.bands])
    rules = _labels(crit.bands.rule_texts("number of '+'", None))
    return _column(
        crit,
        info,
        present,
        applied,
        total,
        results[codes],
        rules[codes],
        reason,
        value_column=f"{crit.column}_plus_count",
        count_value=True,
        result_codes=_result_codes(crit, codes),
    )


def _any_curve(x: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: whether any of each study's curves is True in the ``(N, K)`` bool *x*.

    One pass per curve column: with K a few curves, ``x.any(axis=1)`` along the short last
    axis takes several times as long.
    """
    out = np.zeros(len(x), dtype=bool)
    for column in x.T:
        out |= column
    return out


#: The SRS-Schwab coronal curve types, and "boundary" for a curve of exactly the threshold (no order).
CURVE_TYPES: tuple[str, ...] = ("T", "L", "D", "N", "boundary")


def _curve_type(crit: Criterion, info: SetInfo, inputs: Inputs, done: Mapping, split: str) -> CriterionColumn:
    assert crit.major_curve_deg is not None
    n, major = inputs.n, crit.major_curve_deg
    present = inputs.present(crit.view)
    curves = inputs.m.curves
    k = np.shape(curves.angle_deg)[-1] if np.ndim(curves.angle_deg) == 2 else 0
    angle = np.asarray(curves.angle_deg, dtype=float).reshape(n, k)
    apex = np.asarray(curves.apex).reshape(n, k)
    finite = np.isfinite(angle)
    listed = finite & (apex >= 0)
    thoracic = listed & (apex <= level_index(split))
    lumbar = listed & (apex > level_index(split))

    def type_code(is_major: np.ndarray) -> np.ndarray:
        t = _any_curve(is_major & thoracic)
        lu = _any_curve(is_major & lumbar)
        return np.select([t & lu, t, lu], [2, 0, 1], default=3)  # D, T, L, else N

    # decided on the angles as reported, to 0.1 deg (issue 14): the float noise of a geometrically
    # exact 30 deg (a few ulps off, out of arctan2) and 29.96 deg both read "30.0" and are "at"
    shown = as_shown(angle)
    at = listed & (shown == major)
    above = listed & (shown > major)
    typed_low, typed_high = type_code(above), type_code(above | at)
    boundary = _any_curve(at)
    largest = np.full(n, -np.inf)
    for column in np.where(finite, angle, -np.inf).T:  # by curve column, as in _any_curve
        np.maximum(largest, column, out=largest)
    cobb, cobb_valid, cobb_reason = inputs.get("Cobb_max")
    any_listed = _any_curve(listed)
    # without listed curves, a measured largest Cobb below the threshold still types as N
    unlisted_ok = ~any_listed & cobb_valid & (inputs.shown("Cobb_max") < major)
    # nothing is graded from a withheld value (issue 13): a vertebra that fails the landmark
    # check withholds Cobb_max (its tilt could make, hide or split the largest curve) and with it
    # the type, even where the measured curves already look like one; so does a withheld curve
    applied = present & cobb_valid & (any_listed | unlisted_ok)
    value = np.where(any_listed & cobb_valid, largest, cobb)  # cobb: NaN where withheld
    reason = cobb_reason.copy()
    reason[cobb_valid] = "coronal curves not listed with their apex levels"  # one text shared
    held = present & any_listed & ~cobb_valid
    if held.any():
        for i in np.flatnonzero(held):
            reason[i] = f"Cobb_max withheld ({str(cobb_reason[i]).removeprefix('Cobb_max: ')})"
    # a curve whose apex is not known (an end vertebra without a centre) is on neither side of the
    # split: from the threshold up it could make any type
    untold = finite & (apex < 0) & (shown >= major)
    blind = present & cobb_valid & _any_curve(untold)
    if blind.any():
        applied &= ~blind
        for i in np.flatnonzero(blind):
            reason[i] = "; ".join(
                f"curve {LEVELS[curves.upper[i, c]]}-{LEVELS[curves.lower[i, c]]} "
                f"({shown_number(angle[i, c])} deg) has no known apex: thoracic or thoracolumbar/lumbar "
                "cannot be told"
                for c in np.flatnonzero(untold[i])
            )
    if curves.withheld is not None:  # None: no curve withheld
        withheld = np.asarray(curves.withheld, dtype=object).reshape(n, k)
        unsure = present & has_reason(withheld).any(axis=1)
        applied &= ~unsure
        for i in np.flatnonzero(unsure):
            reason[i] = "; ".join(
                f"curve {LEVELS[curves.upper[i, c]]}-{LEVELS[curves.lower[i, c]]} withheld ({withheld[i, c]})"
                for c in range(k)
                if withheld[i, c] is not None
            )
    codes = np.where(boundary, 4, typed_low)
    codes[~applied] = -1
    m = f"{major:g} deg"
    where = f" (thoracic: apex {split} or above)"
    rules = _labels(
        [
            f"thoracic curve > {m}, thoracolumbar/lumbar curves < {m}{where}",
            f"thoracolumbar/lumbar curve > {m}, thoracic curves < {m}{where}",
            f"thoracic and thoracolumbar/lumbar curves > {m}{where}",
            f"no curve > {m}",
            f"a curve of exactly {m} fits no type as published",
        ]
    )
    study_note = None
    if (boundary & applied).any():
        study_note = np.full(n, None, dtype=object)
        for i in np.flatnonzero(boundary & applied):
            names = ", ".join(
                f"{LEVELS[curves.upper[i, k]]}-{LEVELS[curves.lower[i, k]]} (apex "
                f"{LEVELS[curves.apex[i, k]]})"
                for k in np.flatnonzero(at[i])
            )
            hi, lo = CURVE_TYPES[typed_high[i]], CURVE_TYPES[typed_low[i]]
            either = f"type {hi} either way" if hi == lo else f"type {hi} if counted as > {m}, {lo} if < {m}"
            study_note[i] = f"curve {names} is exactly {m}: {either}"
    note = f"{crit.note} Apex split used: {split}." if crit.note else f"Apex split used: {split}."
    column = _column(
        crit,
        info,
        present,
        applied,
        value,
        _labels(list(CURVE_TYPES))[codes],
        rules[codes],
        reason,
        study_note=study_note,
        result_codes=codes.astype(np.int16),  # CURVE_TYPES are crit.results
    )
    return dataclasses.replace(column, note=note)


def _score(crit: Criterion, info: SetInfo, inputs: Inputs, done: Mapping, split: str) -> CriterionColumn:
    assert crit.bands is not None
    n = inputs.n
    present = inputs.present(crit.view)
    purpose = f"{crit.name} not applied (it has an age component)"
    needed: list[str] = []
    for comp in crit.components:
        needed.extend(v for v in comp.variables if v not in needed)
    got = {v: inputs.get(v, purpose=purpose) for v in needed}
    parts = [(present & ~got[v][1], got[v][2]) for v in needed]
    applied = present.copy()
    for v in needed:
        applied &= got[v][1]
    total = np.zeros(n)
    columns = []
    study_note = np.full(n, None, dtype=object)
    for comp in crit.components:
        ok = np.logical_and.reduce([got[v][1] for v in comp.variables])
        limit = np.zeros(n, dtype=bool)
        if comp.ratio is not None:
            num, den, scale = comp.ratio
            # decided on the denominator as shown: "0.0" is not positive, whatever the float noise
            positive = as_shown(got[den][0]) > 0
            undefined = present & ok & ~positive
            if comp.nonpositive is NonPositive.LIMIT:
                limit = undefined
            else:
                parts.append(
                    (
                        undefined,
                        np.full(
                            n,
                            f"{comp.key.upper()} undefined: {den} <= 0 ({den} must be positive)",
                            dtype=object,
                        ),
                    )
                )
                applied &= ~undefined
            ok = ok & positive
            value = np.divide(scale * got[num][0], got[den][0], out=np.full(n, np.nan), where=ok)
        else:
            assert comp.parameter is not None  # Component.__post_init__: a parameter where no ratio
            value = got[comp.parameter][0]
            if comp.ideal is not None:
                value = value - comp.ideal.evaluate({v: got[v][0] for v in comp.ideal.variables}, n)
        value = np.where(present & ok, comp.points.prepare(value), np.nan)
        codes = comp.points.classify(value)
        name = comp.key.upper() if comp.key != "age" else "age"
        rule_texts = comp.points.rule_texts(name, comp.unit)
        rules = _labels(rule_texts)[codes]
        if comp.ratio is not None:
            rules = _ratio_outside(comp, value, rules)
        if limit.any():
            codes, rules, note = _ratio_limit(comp, got, limit, codes, rules, rule_texts)
            study_note[limit] = note[limit]
        points = _labels([b.result for b in comp.points.bands])[codes]
        total += np.array([float(b.result) for b in comp.points.bands] + [0.0])[codes]  # no points: 0
        columns.append(
            ComponentColumn(comp.key, comp.name, comp.unit, comp.formula_text(), value, points, rules)
        )
    codes = crit.bands.classify(total)
    codes[~applied] = -1
    results = _labels([b.result for b in crit.bands.bands])
    rules = _labels(crit.bands.rule_texts(crit.name, None))
    return _column(
        crit,
        info,
        present,
        applied,
        total,
        results[codes],
        rules[codes],
        join_reasons(n, parts),
        components=tuple(columns),
        value_column=f"{crit.column}_total",
        count_value=True,
        result_codes=_result_codes(crit, codes),
        study_note=study_note if np.not_equal(study_note, NO_REASON).any() else None,
    )


def _ratio_outside(comp: Component, value: np.ndarray, rules: np.ndarray) -> np.ndarray:
    """Say so in the rule where a ratio is not a share of its denominator (over 100 % or below 0).

    With both arcs lordotic the LDI is the lower arc's share of the lordosis; over
    the scale the numerator exceeds the denominator (the upper arc is kyphotic),
    below 0 the numerator is negative. The band is the source's; the words say
    what the number means.
    """
    assert comp.ratio is not None
    num, den, scale = comp.ratio
    over, under = value > scale, value < 0
    if not (over.any() or under.any()):
        return rules
    n_name, d_name = display_name(num), display_name(den)
    unit = f" {comp.unit}" if comp.unit else ""
    rules = rules.copy()
    rules[over] = rules[over] + f" (over {scale:g}{unit}: {n_name} > {d_name})"
    rules[under] = rules[under] + f" (below 0: {n_name} < 0)"
    return rules


def _ratio_limit(
    comp: Component,
    got: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    limit: np.ndarray,
    codes: np.ndarray,
    rules: np.ndarray,
    rule_texts: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score a ratio whose denominator is <= 0 as its limit as the denominator falls to 0.

    The limit is +inf where the numerator (as shown) is > 0, -inf otherwise: the
    top band of the component's points or the bottom one. Returns the codes, the
    rules and a per-study note for the studies in *limit*, which say that the
    rule is a spinecheck decision, not the source's.
    """
    assert comp.ratio is not None
    num, den, _ = comp.ratio
    up = as_shown(got[num][0]) > 0
    top, bottom = len(comp.points.bands) - 1, 0  # Bands are sorted and cover every value
    codes = np.where(limit, np.where(up, top, bottom), codes)
    key, n_name, d_name = comp.key.upper(), display_name(num), display_name(den)
    unit = f" {PARAMETERS[den].unit}" if den in PARAMETERS else ""
    lim_rules = [
        f"{d_name} <= 0{unit}, {n_name} {'> 0' if sign else '<= 0'}: {key} undefined, scored as its "
        f"limit as {d_name} falls to 0 ({rule_texts[top if sign else bottom]}; a spinecheck "
        "decision, not the source's)"
        for sign in (False, True)
    ]
    rules = rules.copy()
    rules[limit] = np.where(up, lim_rules[1], lim_rules[0])[limit]
    note = np.full(len(limit), None, dtype=object)
    note[limit] = (
        f"{d_name} <= 0: {key} is undefined; its points are those of its limit as {d_name} falls "
        "to 0, a spinecheck decision (the source gives no rule)"
    )
    return codes, rules, note


_EVALUATORS = {
    CriterionKind.FLAG: _flag,
    CriterionKind.GRADE: _bands,
    CriterionKind.CATEGORY: _bands,
    CriterionKind.GRADE_SUM: _grade_sum,
    CriterionKind.CURVE_TYPE: _curve_type,
    CriterionKind.SCORE: _score,
}


def assess(
    m: Measurements,
    age_years: np.ndarray | float | None = None,
    *,
    age_set: str | Path | None = "lafage2016-linear",
    reference_sets: Sequence[str | Path] = (),
    apex_split: str = "T9",
    criteria: Sequence[str | Path] = DEFAULT_CRITERIA,
    preop: Mapping[str, Any] | None = None,
) -> Assessment:
    """Judge N studies against every criterion set.

    Parameters
    ----------
    m : Measurements
        Parameter values of N studies.
    age_years : array_like, shape (N,), or float or None
        Age of each study in years; NaN (or None) where unknown. Age-adjusted
        targets and the GAP score are not applied without an age, with the reason.
    age_set : str or Path or None
        The age-adjusted target set (clinical.md §6): a built-in name
        (:func:`available_age_sets`) or a user file; its rows have ids
        ``age_adjusted.<parameter>``. None applies no age-adjusted targets.
    reference_sets : sequence of str or Path
        Further target sets reported under their own names (e.g.
        ``"hasegawa2016"``, ``"schwab2013-odi40"``).
    apex_split : str
        Lowest apex level counted as thoracic for the SRS-Schwab curve type
        (:func:`curve_regions`; a [U] convention).
    criteria : sequence of str or Path
        Criterion sets (``"kind": "criteria"``) to apply, in report order.
    preop : mapping of str to array_like, optional
        Pre-operative values by parameter id (``{"PJA": [...]}``), shape (N,)
        or one number for all, NaN where unknown: what a criterion of a change
        since the operation (PJK, DJK) compares with. Without one such a
        criterion is not applied, with the reason.

    Returns
    -------
    Assessment

    Raises
    ------
    InvalidCriteriaError
        A criterion set file does not follow its format, *age_set* has no
        age-dependent target, or two sets share a criterion id.
    InvalidArgumentError
        *age_years* does not have one value per study.

    Examples
    --------
    >>> from spinecheck.alignment.parameters import CurveTable, Measurements
    >>> vals = {"PI_LL": np.array([12.0]), "PT": np.array([25.0]), "SVA": np.array([62.0])}
    >>> m = Measurements(("case1",), np.array(["lateral"], dtype=object), vals, {},
    ...                  {k: np.array([None], dtype=object) for k in vals}, np.array([True]),
    ...                  CurveTable.empty(1))
    >>> a = assess(m, np.array([67.0]))
    >>> a.rows(0)[0]["id"], a.rows(0)[0]["flag"]
    ('sagittal_balance.sva', True)
    >>> a["srs_schwab.pi_ll"].summary(0)
    'SRS-Schwab PI-LL: + (12.0 deg; 10 <= PI-LL <= 20 deg) [S]'
    >>> a["age_adjusted.pt"].summary(0)
    'Age-adjusted PT: 25.0 deg, target 24.0 deg, offset +1.0 deg: above the age-adjusted target [S-]'
    """
    age = _ages(age_years, len(m))
    criteria, reference_sets = _sources(criteria), _sources(reference_sets)
    for argument, sources in (("criteria", criteria), ("reference_sets", reference_sets)):
        for source in sources:
            check_set_source(source, argument)
    if age_set is not None:
        check_set_source(age_set, "age_set")
    split = LEVELS[level_index(apex_split)]
    inputs = Inputs(m, age, preop=preop)
    columns: list[CriterionColumn] = []
    sets: list[SetInfo] = []
    for source in criteria:
        cs = load_criterion_set(source)
        if not isinstance(cs, CriteriaSet):
            raise InvalidCriteriaError.about(
                "criteria",
                "{criteria} {name!r}: is a target set; give it as {age_set} or in {reference_sets}",
                names={"age_set": "age_set", "reference_sets": "reference_sets"},
                name=str(source),
            )
        sets.append(cs.info)
        columns.extend(evaluate_criteria(cs, inputs, apex_split=split))
    target_sets: list[tuple[TargetSet, str, str | None]] = []
    if age_set is not None:
        ts = load_target_set(age_set)
        if not ts.age_dependent:
            raise InvalidCriteriaError.about(
                "age_set",
                "{age_set} {name!r}: does not depend on age; age sets are {sets}",
                name=ts.name,
                sets=", ".join(available_age_sets()),
            )
        target_sets.append((ts, "age_adjusted", "Age-adjusted"))
    for ref in reference_sets:
        ts = load_target_set(ref)
        target_sets.append((ts, re.sub(r"[.\-]", "_", ts.name).lower(), None))
    prefixes = {}
    for ts, prefix, title in target_sets:
        sets.append(ts.info)
        prefixes[prefix] = ts.info
        columns.extend(evaluate_targets(ts, inputs, prefix, title))
    seen: set[str] = set()
    for c in columns:
        if c.id in seen:
            raise InvalidCriteriaError(f"criterion id {c.id!r} appears twice; was a set given twice?")
        seen.add(c.id)
    regions = _region_codes(m.curves, split)  # the names are made only where a report asks for them
    return Assessment(tuple(columns), age, split, tuple(sets), prefixes, regions, REGION_NAMES)


#: What each argument of :func:`assess` takes: the kind of set, and how a message names it.
_SET_ARGUMENTS = {
    "criteria": ("criteria", "criterion sets"),
    "reference_sets": ("targets", "target sets"),
    "age_set": ("targets", "age sets"),
}
#: How a message names the argument a set of another kind belongs to.
_KIND_ARGUMENT = {
    "criteria": "{criteria}",
    "targets": "{age_set} or in {reference_sets}",
    "instability": "the instability criteria of a flexion-extension pair",
}
_KIND_NAME = {"criteria": "a criterion set", "targets": "a target set", "instability": "an instability set"}


def _sources(sources: Sequence[str | Path] | str | Path) -> tuple[str | Path, ...]:
    """One set or several: a lone name or path is a list of one."""
    return (sources,) if isinstance(sources, (str, Path)) else tuple(sources)


def check_set_source(source: str | Path, argument: str) -> None:
    """Check that *source* names a shipped set of the kind *argument* takes, or a file.

    A shipped name of another kind, or a name that is neither shipped nor a
    file, is an :class:`InvalidCriteriaError` about *argument* (``"criteria"``,
    ``"reference_sets"`` or ``"age_set"`` of :func:`assess`) that lists the
    shipped sets it takes. A file is checked when it is read.

    Examples
    --------
    >>> check_set_source("gap", "criteria")
    >>> check_set_source("gapp", "criteria")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidCriteriaError: criteria 'gapp': no such shipped set or file; \
the shipped criterion sets are balance, gap, ...
    """
    kind, what = _SET_ARGUMENTS[argument]
    names = {"criteria": "criteria", "age_set": "age_set", "reference_sets": "reference_sets"}
    if isinstance(source, str) and source in builtin_sets():
        got = builtin_kind(source)
        if got == kind:
            return
        is_a = _KIND_NAME.get(got or "", f"a set of kind {got!r}")
        give = _KIND_ARGUMENT.get(got or "", "")
        raise InvalidCriteriaError.about(
            argument,
            f"{{{argument}}} {{name!r}}: is {is_a}, not one of the {what}; give it as {give}",
            names=names,
            name=source,
        )
    if not Path(source).is_file():
        if argument == "age_set":
            shipped = available_age_sets()
        else:
            shipped = [n for n in builtin_sets() if builtin_kind(n) == kind]
        raise InvalidCriteriaError.about(
            argument,
            f"{{{argument}}} {{name!r}}: no such shipped set or file; the shipped {what} are {{shipped}}",
            names=names,
            name=str(source),
            shipped=", ".join(shipped),
        )


def _ages(age_years: np.ndarray | float | None, n: int) -> np.ndarray:
    if age_years is None:
        return np.full(n, np.nan)
    age = np.asarray(age_years, dtype=float)
    if age.ndim == 0:
        return np.full(n, float(age))
    if age.shape != (n,):
        raise InvalidArgumentError.about(
            "age_years",
            "{age_years}: must have one value per study, shape ({n},); got shape {got}",
            n=n,
            got=age.shape,
        )
    return age
