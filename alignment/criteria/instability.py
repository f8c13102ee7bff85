"""Instability criteria: flexion-extension motion of each segment judged by cited thresholds.

A set of ``"kind": "instability"`` (``spinecheck-criteria/1``, in
``alignment/criteria/sets/``) holds the header every set has (``name``,
``title``, ``status``, ``sources``, ``note``) and a list of criteria, each a
flag on the size of one motion measure of
:class:`~spinecheck.alignment.geometry.instability.Instability`:

- ``id``, ``name``; optional ``status``, ``sources``, ``note`` (as in every set);
- ``measure``: ``"translation_change_mm"``, ``"translation_change_pct"`` or
  ``"angle_change_deg"`` (:class:`MotionMeasure`);
- either ``interval`` (flagged inside) with optional ``segments`` (a list of
  segment names like ``"L4-L5"``, or ``"lumbar"``: every segment whose upper
  vertebra is lumbar; default every segment), or ``intervals``: one interval
  per segment name, for thresholds that differ by level;
- optional ``abs`` (default true): judge the size of the change, whichever its sign.

Every value is judged as the report shows it (0.1 mm, 0.1 deg, 0.1 %,
:func:`~spinecheck.alignment.criteria.rules.as_shown`). A millimetre threshold
is not evaluated unless both films are calibrated. A segment is flagged by a set
when any of its criteria flags it; it is "not flagged" only when every criterion
of the set that covers it was applied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ...landmarks.errors import InvalidCriteriaError
from ...landmarks.points.names import VocabularyEnum
from ..geometry.instability import MOTION_SEGMENTS, Instability, MotionSegment
from ..geometry.plane import NO_REASON
from .inputs import CALIBRATION_REASON
from .rules import (
    Citation,
    Interval,
    SetInfo,
    Status,
    as_shown,
    builtin_kind,
    builtin_sets,
    check_keys,
    header_keys,
    optional_str,
    read_set_file,
    require_mapping,
    require_str,
)

__all__ = [
    "DEFAULT_INSTABILITY_SETS",
    "MotionMeasure",
    "MotionCriterion",
    "InstabilitySet",
    "MotionVerdict",
    "InstabilityJudgement",
    "load_instability_set",
    "judge_instability",
]

#: The set applied when none is chosen: the [V] > 3 mm dynamic translation (Elmose 2023).
DEFAULT_INSTABILITY_SETS: tuple[str, ...] = ("instability-elmose2023",)


class MotionMeasure(VocabularyEnum):
    """What an instability criterion judges: a change between the flexion and the extension film."""

    TRANSLATION_CHANGE_MM = "translation_change_mm"
    TRANSLATION_CHANGE_PCT = "translation_change_pct"
    ANGLE_CHANGE_DEG = "angle_change_deg"

    @property
    def unit(self) -> str:
        return {"translation_change_mm": "mm", "translation_change_pct": "%", "angle_change_deg": "deg"}[
            self.value
        ]

    @property
    def label(self) -> str:
        """How a rule names it: ``"Δtranslation"``, ``"Δtranslation %"``, ``"Δangle"``."""
        return {
            "translation_change_mm": "Δtranslation",
            "translation_change_pct": "Δtranslation",
            "angle_change_deg": "Δangle",
        }[self.value]


_LUMBAR = "lumbar"


@dataclass(frozen=True)
class MotionCriterion:
    """One criterion of an instability set, as read from its file."""

    id: str
    name: str
    measure: MotionMeasure
    status: Status
    sources: tuple[Citation, ...]
    note: str | None = None
    use_abs: bool = True
    interval: Interval | None = None
    segments: tuple[str, ...] | str | None = None  # names, "lumbar", or None: every segment
    intervals: Mapping[str, Interval] | None = None

    def interval_for(self, segment: MotionSegment) -> Interval | None:
        """The threshold at *segment*, or None where the criterion does not judge it."""
        if self.intervals is not None:
            return self.intervals.get(segment.name)
        if self.segments is None:
            return self.interval
        if self.segments == _LUMBAR:
            return self.interval if segment.upper.startswith("L") else None
        return self.interval if segment.name in self.segments else None

    def coverage(self) -> str:
        """Which segments it judges, in words."""
        if self.intervals is not None:
            return ", ".join(self.intervals)
        if self.segments is None:
            return "every segment"
        if self.segments == _LUMBAR:
            return "the lumbar segments"
        return ", ".join(self.segments)

    def rule(self, segment: MotionSegment) -> str | None:
        """The rule at *segment*, e.g. ``"|Δtranslation| > 3 mm"``."""
        iv = self.interval_for(segment)
        if iv is None:
            return None
        label = f"|{self.measure.label}|" if self.use_abs else self.measure.label
        return iv.text(label, self.measure.unit)


@dataclass(frozen=True)
class InstabilitySet:
    """An instability set: its header and its criteria."""

    info: SetInfo
    criteria: tuple[MotionCriterion, ...]


_SEGMENT_NAMES = frozenset(s.name for s in MOTION_SEGMENTS)
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = ("id", "name", "measure", "interval", "intervals", "segments", "abs", "status", "sources", "note")


def _segment_name(name: object, *, where: str) -> str:
    if not isinstance(name, str) or name not in _SEGMENT_NAMES:
        allowed = ", ".join(s.name for s in MOTION_SEGMENTS)
        raise InvalidCriteriaError(f"{where} must be a motion segment ({allowed}); got {name!r}")
    return name


def _read_criterion(obj: object, info: SetInfo, *, where: str) -> MotionCriterion:
    d = require_mapping(obj, where=where)
    check_keys(d, _KEYS, where=where)
    cid = require_str(d, "id", where=where)
    if not _ID_RE.match(cid):
        raise InvalidCriteriaError(f"{where}.id must be lower-case letters, digits and _; got {cid!r}")
    w = f"{where} ({cid})"
    measure = MotionMeasure.parse(d.get("measure"), where=w, field="measure", error=InvalidCriteriaError)
    use_abs = d.get("abs", True)
    if not isinstance(use_abs, bool):
        raise InvalidCriteriaError(f"{w}.abs must be true or false; got {use_abs!r}")
    if ("interval" in d) == ("intervals" in d):
        raise InvalidCriteriaError(f'{w} needs exactly one of "interval" or "intervals" (one per segment)')
    sources = info.sources
    if "sources" in d:
        raw = d["sources"]
        if not isinstance(raw, list) or not raw:
            raise InvalidCriteriaError(f"{w}.sources must be a non-empty list of citations; got {raw!r}")
        sources = tuple(Citation.from_json(c, where=f"{w}.sources[{k}]") for k, c in enumerate(raw))
    common: dict[str, Any] = dict(
        id=cid,
        name=require_str(d, "name", where=w),
        measure=measure,
        status=Status.parse(d["status"], where=f"{w}.status") if "status" in d else info.status,
        sources=sources,
        note=optional_str(d, "note", where=w),
        use_abs=use_abs,
    )
    if "intervals" in d:
        if "segments" in d:
            raise InvalidCriteriaError(
                f'{w}: "intervals" names its segments; "segments" is for one "interval"'
            )
        raw = require_mapping(d["intervals"], where=f"{w}.intervals")
        if not raw:
            raise InvalidCriteriaError(f"{w}.intervals must name at least one segment")
        intervals = {
            _segment_name(k, where=f"{w}.intervals key"): Interval.parse(v, where=f"{w}.intervals.{k}")
            for k, v in raw.items()
        }
        return MotionCriterion(**common, intervals=intervals)
    segments: tuple[str, ...] | str | None = None
    if "segments" in d:
        raw = d["segments"]
        if raw == _LUMBAR:
            segments = _LUMBAR
        elif isinstance(raw, list) and raw:
            segments = tuple(_segment_name(x, where=f"{w}.segments[{k}]") for k, x in enumerate(raw))
        else:
            raise InvalidCriteriaError(
                f'{w}.segments must be "lumbar" or a list of segment names; got {raw!r}'
            )
    return MotionCriterion(
        **common, interval=Interval.parse(d.get("interval"), where=f"{w}.interval"), segments=segments
    )


def instability_set_from_json(info: SetInfo, d: Mapping[str, Any], where: str) -> InstabilitySet:
    """Read the body of a ``"kind": "instability"`` file whose header is *info*."""
    check_keys(d, header_keys() + ("criteria",), where=where)
    raw = d.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise InvalidCriteriaError(f"{where}.criteria must be a non-empty list of criteria; got {raw!r}")
    criteria = tuple(_read_criterion(c, info, where=f"{where}.criteria[{k}]") for k, c in enumerate(raw))
    ids = [c.id for c in criteria]
    for k, cid in enumerate(ids):
        if cid in ids[:k]:
            raise InvalidCriteriaError(f"{where}.criteria[{k}]: duplicate id {cid!r}")
    return InstabilitySet(info, criteria)


def available_instability_sets() -> list[str]:
    """Names of the shipped instability sets.

    >>> available_instability_sets()
    ['instability-dupuis1985', 'instability-elmose2023', 'instability-whitepanjabi1990']
    """
    return [name for name in builtin_sets() if builtin_kind(name) == "instability"]


def load_instability_set(source: str | os.PathLike[str], *, argument: str = "criteria") -> InstabilitySet:
    """Read an instability set: a shipped name or a ``"kind": "instability"`` file.

    Parameters
    ----------
    source : str or Path
    argument : str
        The argument a wrong *source* is reported about.

    Raises
    ------
    InvalidCriteriaError
        Not shipped and no file, a set of another kind, or a field that does
        not follow the format: one line naming the argument or the file.

    Examples
    --------
    >>> s = load_instability_set("instability-elmose2023")
    >>> str(s.info.status), [c.id for c in s.criteria], s.criteria[0].interval.text("x", "mm")
    ('V', ['translation'], 'x > 3 mm')
    """
    if isinstance(source, str) and source in builtin_sets():
        kind = builtin_kind(source)
        if kind != "instability":
            raise InvalidCriteriaError.about(
                argument,
                f"{{{argument}}} {{name!r}}: is a {'target' if kind == 'targets' else 'criterion'} set for "
                "one film, not an instability set; the shipped instability sets are {shipped}",
                name=source,
                shipped=", ".join(available_instability_sets()),
            )
        return _load_builtin(source)
    if not Path(source).is_file():
        raise InvalidCriteriaError.about(
            argument,
            f"{{{argument}}} {{name!r}}: no such shipped set or file; the shipped instability sets are {{shipped}}",
            name=os.fspath(source),
            shipped=", ".join(available_instability_sets()),
        )
    return _load(Path(source))


@cache
def _load_builtin(name: str) -> InstabilitySet:
    return _load(name)


def _load(source: str | Path) -> InstabilitySet:
    info, d, where = read_set_file(source, kinds=("instability",))
    return instability_set_from_json(info, d, where)


# ----------------------------------------------------------------------------- judging


@dataclass(frozen=True, eq=False)
class MotionVerdict:
    """One criterion judged at every segment of N pairs: ``(N, K)`` arrays.

    Attributes
    ----------
    criterion : MotionCriterion
    covers : ndarray of bool
        The criterion judges that segment and the segment is listed.
    applied : ndarray of bool
    value : ndarray
        The value judged, as shown (NaN where not applied): the size of the change when ``abs``.
    flag : ndarray of object
        True / False where applied, None elsewhere.
    rule : ndarray of object
    reason : ndarray of object
        Why a covered segment was not judged.
    """

    criterion: MotionCriterion
    covers: np.ndarray
    applied: np.ndarray
    value: np.ndarray
    flag: np.ndarray
    rule: np.ndarray
    reason: np.ndarray


@dataclass(frozen=True, eq=False)
class InstabilityJudgement:
    """One instability set judged on N pairs.

    Attributes
    ----------
    info : SetInfo
    verdicts : tuple of MotionVerdict
    flagged : ndarray of object, shape (N, K)
        True where any criterion flags the segment; False where every criterion
        covering it was applied and none flags it; None otherwise.
    reason : ndarray of object, shape (N, K)
        Why ``flagged`` is None at a listed segment.
    """

    info: SetInfo
    verdicts: tuple[MotionVerdict, ...]
    flagged: np.ndarray
    reason: np.ndarray

    @property
    def status(self) -> Status:
        return self.info.status


def _calibration_reason(m: Instability) -> np.ndarray:
    """``(N,)``: why Δ in millimetres is missing on a measured pair (None where both films are calibrated)."""
    f, e = m.flexion.calibrated, m.extension.calibrated
    out = np.full(len(m), None, dtype=object)
    out[~f & ~e] = CALIBRATION_REASON
    out[f & ~e] = "the extension film is not calibrated: millimetre thresholds not evaluated"
    out[~f & e] = "the flexion film is not calibrated: millimetre thresholds not evaluated"
    return out


def _judge(c: MotionCriterion, m: Instability) -> MotionVerdict:
    n, k = m.present.shape
    raw = getattr(m, c.measure.value)
    covers = np.zeros((n, k), dtype=bool)
    applied = np.zeros((n, k), dtype=bool)
    value = np.full((n, k), np.nan)
    flag = np.full((n, k), None, dtype=object)
    rule = np.full((n, k), None, dtype=object)
    reason = np.full((n, k), None, dtype=object)
    shown = as_shown(np.abs(raw) if c.use_abs else raw)
    cal_reason = _calibration_reason(m)
    for j, seg in enumerate(m.segments):
        iv = c.interval_for(seg)
        if iv is None:
            continue
        covers[:, j] = m.present[:, j]
        ok = covers[:, j] & np.isfinite(raw[:, j])
        applied[:, j] = ok
        value[:, j] = np.where(ok, shown[:, j], np.nan)
        flag[ok, j] = iv.contains(shown[ok, j])
        rule[covers[:, j], j] = c.rule(seg)
        why = np.where(np.equal(m.reason[:, j], NO_REASON), NO_REASON, m.reason[:, j])
        if c.measure is MotionMeasure.TRANSLATION_CHANGE_MM:
            why = np.where(np.equal(why, NO_REASON), cal_reason, why)
        reason[:, j] = np.where(covers[:, j] & ~ok, why, NO_REASON)
    return MotionVerdict(c, covers, applied, value, flag, rule, reason)


def _judge_set(s: InstabilitySet, m: Instability) -> InstabilityJudgement:
    verdicts = tuple(_judge(c, m) for c in s.criteria)
    n, k = m.present.shape
    flagged = np.full((n, k), None, dtype=object)
    reason = np.full((n, k), None, dtype=object)
    covered = np.zeros((n, k), dtype=bool)
    complete = np.ones((n, k), dtype=bool)
    any_flag = np.zeros((n, k), dtype=bool)
    for v in verdicts:
        covered |= v.covers
        complete &= ~v.covers | v.applied
        any_flag |= v.applied & np.equal(v.flag, True)
    flagged[any_flag] = True
    flagged[covered & complete & ~any_flag] = False
    for i, j in zip(*np.nonzero(covered & ~complete & ~any_flag), strict=True):
        reason[i, j] = "; ".join(
            dict.fromkeys(str(v.reason[i, j]) for v in verdicts if v.covers[i, j] and not v.applied[i, j])
        )
    judged = ", ".join(dict.fromkeys(c.coverage() for c in s.criteria))
    for i, j in zip(*np.nonzero(m.present & ~covered), strict=True):
        reason[i, j] = f"not judged: the set judges {judged}"
    return InstabilityJudgement(s.info, verdicts, flagged, reason)


def judge_instability(
    m: Instability, sets: Sequence[str | os.PathLike[str] | InstabilitySet] = DEFAULT_INSTABILITY_SETS
) -> tuple[InstabilityJudgement, ...]:
    """Judge the segmental motion of N flexion-extension pairs by each instability set.

    Parameters
    ----------
    m : Instability
        From :func:`~spinecheck.alignment.geometry.instability.measure_instability`.
    sets : sequence of str, Path or InstabilitySet
        Shipped names (:func:`available_instability_sets`), files or sets read
        already; default :data:`DEFAULT_INSTABILITY_SETS`.

    Returns
    -------
    tuple of InstabilityJudgement
        One per set, in order.

    Raises
    ------
    InvalidCriteriaError
        A set is not shipped and no file, of another kind, malformed, or given twice.

    Examples
    --------
    >>> from spinecheck.alignment.geometry.instability import measure_instability
    >>> from spinecheck.landmarks.points.calibration import Calibration
    >>> from spinecheck.landmarks.points.model import LandmarkSet
    >>> cal = Calibration.from_spacing([0.25, 0.25])
    >>> def film(shift):  # L4 over L5, L4 shifted forward by *shift* px; endplates 160 px deep
    ...     return LandmarkSet("lateral", {"L4.inf.post": (100.0 + shift, 90.0), "L4.inf.ant": (260.0 + shift, 90.0),
    ...                                    "L5.sup.post": (100.0, 100.0), "L5.sup.ant": (260.0, 100.0)}, cal)
    >>> j, = judge_instability(measure_instability(film(16.0), film(0.0)))  # 4 mm forward in flexion
    >>> j.flagged.tolist(), j.verdicts[0].rule[0, 0], float(j.verdicts[0].value[0, 0])
    ([[True]], '|Δtranslation| > 3 mm', 4.0)
    """
    if isinstance(sets, (str, os.PathLike)):
        sets = [sets]
    loaded = [s if isinstance(s, InstabilitySet) else load_instability_set(s) for s in sets]
    names = [s.info.name for s in loaded]
    for k, name in enumerate(names):
        if name in names[:k]:
            raise InvalidCriteriaError.about("criteria", "{criteria}: set {name!r} is given twice", name=name)
    return tuple(_judge_set(s, m) for s in loaded)
