"""The measuring core: a landmark table in, every parameter of every study out.

One call measures N studies with NumPy over the whole table, a block of
studies at a time (the arrays of a block's geometry and checks are made and
dropped before the next block's, so a large table's memory is its results');
a single study is a table of one row. The command line (one file or a wide
CSV) and batch runs all come through :func:`measure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..landmarks.errors import InvalidArgumentError
from ..landmarks.points.anatomy import LevelRole, SpineLevels
from ..landmarks.points.model import LandmarkSet, LandmarkTable
from ..landmarks.points.names import LEVELS, View
from ..landmarks.points.sanity import Plausibility, check_landmarks
from .geometry.coronal import DEFAULT_MIN_CURVE_DEG, CobbMethod, coronal_parameters, end_lines_px
from .geometry.plane import has_reason
from .geometry.sagittal import sagittal_parameters
from .parameters import (
    CORONAL,
    JUNCTIONAL,
    PARAMETERS,
    SAGITTAL,
    Constructions,
    CurveTable,
    JunctionLines,
    Measurements,
)

__all__ = ["measure", "LEVELS_USED", "HIP_AXIS_USED", "CRESTS_USED"]

_SACRUM, _LAST_THORACIC = LevelRole.SACRUM.value, LevelRole.LAST_THORACIC.value

#: Vertebral levels each parameter is built on; a suspect level withholds it. A level is
#: taken literally, or is a :class:`~spinecheck.landmarks.points.anatomy.LevelRole` value
#: resolved per study (``"sacrum"``: S1, or the sacralised vertebra; ``"last thoracic"``:
#: T12, or T13), as the parameter's own range is (:data:`~spinecheck.alignment.parameters.RANGES`).
LEVELS_USED: dict[str, tuple[str, ...]] = {
    "PI": (_SACRUM,),
    "PT": (_SACRUM,),
    "SS": (_SACRUM,),
    "LL": ("L1", _SACRUM),
    "LL_L1L5": ("L1", "L5"),
    "LL_L4S1": ("L4", "S1"),
    "TK": ("T4", _LAST_THORACIC),
    "TK_T2T12": ("T2", "T12"),
    "TK_T5T12": ("T5", "T12"),
    "PI_LL": ("L1", _SACRUM),
    "SVA": ("C7", _SACRUM),
    "TPA": ("T1", _SACRUM),
    "GT": ("C7", _SACRUM),
    "T1S": ("T1",),
    "CL": ("C2", "C7"),
    "cSVA": ("C2", "C7"),
    "TS_CL": ("T1", "C2", "C7"),
    "C7_CSVL": ("C7", _SACRUM),
    "PO": (_SACRUM,),
    "Cobb_max": LEVELS,
}
#: A coronal curve is withheld when a suspect vertebra lies within it or this many levels beyond an end.
CURVE_MARGIN_LEVELS = 2
#: Studies measured at a time, at most: the temporaries of the geometry and of the checks are a block's,
#: so a large table's peak memory is its results' and one block's, not some twenty arrays per study of
#: it. A table is cut into equal blocks. Each block costs some 70 M instructions of fixed work (the
#: geometry and the checks go over the levels and points a column at a time, for each view): a
#: 16 700-row sub-piece of a wide CSV measured in pieces (wide_pieces.SUB_BYTES) was three blocks of
#: at most 8 192 (its read and measure: 3 455 M instructions, callgrind), and is two of 8 350 (3 377 M).
#: One block of 16 700 (3 310 M) took 15-25 % more page faults over the 100 000-row table (125 000
#: against 100 000-111 000: larger temporaries, touched afresh for each block), which cost about the
#: system time the instructions saved.
_BLOCK_ROWS = 1 << 14
#: Parameters built on the hip axis (the femoral heads): withheld where a femoral head fails its check.
HIP_AXIS_USED: tuple[str, ...] = ("PI", "PT", "TPA", "GT", "PI_LL")
#: Parameters built on the iliac crests: withheld where the crests fail their check.
CRESTS_USED: tuple[str, ...] = ("PO",)


def measure(
    landmarks: LandmarkTable | LandmarkSet,
    *,
    cobb_method: CobbMethod | str = "endplate",
    min_curve_deg: float = DEFAULT_MIN_CURVE_DEG,
) -> Measurements:
    """Measure every parameter of every study.

    Parameters
    ----------
    landmarks : LandmarkTable or LandmarkSet
        Lateral and AP studies may be mixed; each gets the parameters of its
        view (clinical.md §1 for lateral, §2 for AP).
    cobb_method : CobbMethod or {"endplate", "midline"}
        How a coronal vertebra's tilt is measured (see :mod:`spinecheck.alignment.geometry.coronal`).
    min_curve_deg : float
        Smallest tilt reversal that makes a separate coronal curve.

    Returns
    -------
    Measurements
        Angles in degrees, lengths in millimetres (NaN when uncalibrated, with
        the pixel value in ``values_px``); every NaN has its reason.

    Raises
    ------
    InvalidArgumentError
        *cobb_method* is not a method, or *min_curve_deg* is negative or not finite.

    Examples
    --------
    >>> s = LandmarkSet("lateral", {"S1.sup.post": (0, 0), "S1.sup.ant": (10, 10), "FH": (20, 40)})
    >>> m = measure(s)
    >>> round(float(m.value("SS")[0]), 6), round(float(m.value("PI")[0] - m.value("PT")[0] - m.value("SS")[0]), 9)
    (45.0, 0.0)
    """
    if not (np.isfinite(min_curve_deg) and min_curve_deg >= 0):
        raise InvalidArgumentError.about(
            "min_curve_deg",
            "{min_curve_deg}: must be a finite number of degrees >= 0; got {got!r}",
            got=min_curve_deg,
        )
    cobb_method = CobbMethod.parse(cobb_method, argument="cobb_method")
    table = landmarks.to_table() if isinstance(landmarks, LandmarkSet) else landmarks
    n = len(table)
    lateral = np.asarray(table.views == View.LATERAL, dtype=bool)
    views = np.array([View.AP.value, View.LATERAL.value], dtype=object)[lateral.astype(np.int8)]
    values = {pid: np.full(n, np.nan) for pid in PARAMETERS}
    values_px = {pid: np.full(n, np.nan) for pid, p in PARAMETERS.items() if p.is_length}
    reasons = {pid: np.full(n, None, dtype=object) for pid in PARAMETERS}
    for pid in SAGITTAL:
        reasons[pid][~lateral] = "not measured on an AP film"
    for pid in CORONAL:
        reasons[pid][lateral] = "not measured on a lateral film"
    # the reader's warnings (a table read from sets; a wide CSV's rows have none)
    warnings: dict[int, list[str]] = (
        {} if table.sets is None else {i: list(w) for i, w in enumerate(table.warnings) if w}
    )
    spine = table.spine()
    _warn_unused_s1(table, spine, warnings)
    sign = np.full(n, np.nan)
    curves = CurveTable.empty(n, cobb_method.value)
    # filled a block at a time, so that no block's results are held beside the whole's
    built = Constructions.merged(n, [])
    junction_lines = JunctionLines.none(n)
    found = Plausibility.merged(n, [])
    curve_parts: list[tuple[np.ndarray, CurveTable]] = []
    mixed = bool(lateral.any() and not lateral.all())  # one view only: its table keeps every point
    # a block of studies at a time: the geometry's temporaries are a block's, not the whole table's
    blocks = max(1, -(-n // _BLOCK_ROWS))  # ceil(n / _BLOCK_ROWS), one at least
    size = max(1, -(-n // blocks))  # so many equal blocks, each of at most _BLOCK_ROWS studies
    for start in range(0, n, size):
        block = table if n <= _BLOCK_ROWS else _rows(table, start, min(start + size, n))
        in_block = lateral[start : start + len(block)]
        for rows, is_lateral in ((np.flatnonzero(in_block), True), (np.flatnonzero(~in_block), False)):
            if not len(rows):
                continue
            idx = rows + start
            sub = block.subset(rows, _names_for(table, is_lateral)) if mixed else block
            if is_lateral:
                sagittal = sagittal_parameters(sub)
                cols, warn = sagittal.columns, sagittal.warnings
                sign[idx] = sagittal.anterior_sign
                made, checks = sagittal.constructions, check_landmarks(sub, sagittal.anterior_sign)
                for pid, levels in sagittal.junctions.levels.items():
                    junction_lines.levels[pid][idx] = levels
                    junction_lines.lines_px[pid][idx] = sagittal.junctions.lines_px[pid]
                del sagittal
            else:
                checks = check_landmarks(sub)
                coronal = coronal_parameters(
                    sub,
                    cobb_method=cobb_method,
                    min_curve_deg=min_curve_deg,
                    suspect=checks.bad,
                    end_lines=False,
                )
                cols, warn, made = coronal.columns, coronal.warnings, coronal.constructions
                curve_parts.append((idx, coronal.curves))
                del coronal
            for whole, part in zip(found, checks, strict=True):
                whole[idx] = part
            for name in Constructions.names():
                getattr(built, name)[idx] = getattr(made, name)
            for pid, col in cols.items():
                values[pid][idx] = col.value
                reasons[pid][idx] = col.reason
                if col.value_px is not None:
                    values_px[pid][idx] = col.value_px
            at = idx.tolist()
            for j, w in warn.items():
                warnings.setdefault(at[j], []).extend(w)
            # the view's copy of its rows and its results (copied into the columns above) go before the
            # next are measured, not when measure returns: less at the peak of a large table
            del sub, cols, warn, made, checks
    if curve_parts:
        curves = _merged_curves(curve_parts, n, cobb_method.value)
        del curve_parts
        # the lines of the whole, once: made in each block, they would be held twice while merged
        curves = dataclasses.replace(curves, end_lines_px=end_lines_px(table, curves))

    bad, problems = _withhold_suspect(found, spine, values, values_px, reasons, warnings)
    curves = _withhold_curves(curves, bad, problems)
    junction_lines = _withhold_junctional(junction_lines, bad, problems, values, reasons)
    del found, bad, problems  # not part of the results: gone before the per-study warnings are made
    if table.row_errors is not None:
        failed = has_reason(table.row_errors)
        for pid in PARAMETERS:
            values[pid][failed] = np.nan
            reasons[pid][failed] = table.row_errors[failed]
            if pid in values_px:
                values_px[pid][failed] = np.nan
        if failed.any():
            curves = _drop_curves(curves, failed)
            built = built.dropped(failed)
            junction_lines = junction_lines.dropped(failed)
            sign[failed] = np.nan
    return Measurements(
        ids=table.ids,
        views=views,
        values=values,
        values_px=values_px,
        reasons=reasons,
        calibrated=table.calibrated,
        curves=curves,
        warnings=_per_study(warnings, n),
        anterior_sign=sign,
        constructions=built,
        spine=spine,
        operated=table.operated,
        junctions=junction_lines,
    )


def _per_study(warnings: dict[int, list[str]], n: int) -> tuple[tuple[str, ...], ...]:
    """Each study's warnings, each said once, in order (studies with the same warnings share one tuple).

    Empties *warnings* as it goes: each study's list is gone once its tuple is made.
    """
    out: list[tuple[str, ...]] = [()] * n
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # a large table's studies share a few hundred
    while warnings:
        i, texts = warnings.popitem()
        said = tuple(texts) if len(texts) == 1 else tuple(dict.fromkeys(texts))
        out[i] = shared.setdefault(said, said)
    return tuple(out)


def _warn_unused_s1(table: LandmarkTable, spine: SpineLevels, warnings: dict[int, list[str]]) -> None:
    """Say so where S1 points are placed beside a sacralised vertebra: they are not the sacral endplate."""
    sacralised = has_reason(spine.sacralised)  # a level, or None
    if not sacralised.any():
        return
    has_s1 = np.zeros(len(table), dtype=bool)
    for name in table.points:
        if name.startswith("S1."):
            has_s1 |= table.has(name)
    for i in np.flatnonzero(sacralised & has_s1):
        level = spine.sacralised[i]
        warnings.setdefault(int(i), []).append(
            f"S1 points not used: with a sacralised {level} the sacral endplate is the {level} superior "
            "endplate (the first segment that does not move)"
        )


def _withhold_suspect(
    found: Plausibility, spine, values, values_px, reasons, warnings
) -> tuple[np.ndarray, np.ndarray]:
    """Null every parameter built on a point that fails the plausibility checks; warn of the doubtful.

    A vertebra that fails withholds the parameters of :data:`LEVELS_USED` built
    on it, a femoral head those of :data:`HIP_AXIS_USED`, the iliac crests
    :data:`CRESTS_USED`; a withheld value is NaN with the reason, so no
    criterion grades it. A doubtful finding (:func:`check_landmarks`' ``doubts``)
    keeps the values and warns. Returns the check's ``(bad, problems)``.

    *found* is :func:`check_landmarks` of the lateral films (with the direction
    they face) and of the AP films (before their curves are found, without the
    suspect vertebrae), each on its view's points.
    """
    bad, problems = found.bad, found.problems
    for i in np.flatnonzero(has_reason(found.doubts)):
        warnings.setdefault(int(i), []).append(
            f"implausible-looking landmarks, values kept (check them): {found.doubts[i]}"
        )
    suspect = bad.any(axis=1) | found.hips | found.crests
    if not suspect.any():
        return bad, problems
    index = {level: j for j, level in enumerate(LEVELS)}
    rows = np.flatnonzero(suspect)  # only these can lose a value: the rest keep theirs untouched
    columns_of: dict[str, np.ndarray] = {}

    def withhold(pid: str, hit: np.ndarray) -> None:
        at = rows[hit & np.isfinite((values_px[pid] if pid in values_px else values[pid])[rows])]
        if len(at):
            values[pid][at] = np.nan
            if pid in values_px:
                values_px[pid][at] = np.nan
            reasons[pid][at] = "landmark check failed: " + problems[at].astype(str)

    for pid, levels in LEVELS_USED.items():
        # each study's own levels: a role (the sacrum, the last thoracic vertebra) differs by study
        for level in levels:
            if level not in columns_of:
                columns_of[level] = _level_columns(spine, level, index, rows)
        columns = np.stack([columns_of[level] for level in levels], axis=1)
        withhold(pid, bad[rows[:, None], columns].any(axis=1))
    for pid in HIP_AXIS_USED:
        withhold(pid, found.hips[rows])
    for pid in CRESTS_USED:
        withhold(pid, found.crests[rows])
    for i in np.flatnonzero(suspect):
        warnings.setdefault(int(i), []).append(
            f"implausible landmarks, parameters using them withheld: {problems[i]}"
        )
    return bad, problems


def _level_columns(spine: SpineLevels, level: str, index: dict[str, int], rows: np.ndarray) -> np.ndarray:
    """Each of the studies *rows*' column of :data:`LEVELS` for *level* (a level, or a role resolved per study)."""
    if level in index:
        return np.full(len(rows), index[level])
    names, inverse = np.unique(spine.of(level)[rows].astype(str), return_inverse=True)
    return np.array([index[name] for name in names], dtype=int)[inverse.ravel()]


def _withhold_junctional(
    lines: JunctionLines, bad: np.ndarray, problems: np.ndarray, values: dict, reasons: dict
) -> JunctionLines:
    """Null a junctional angle whose vertebrae (each study's own, e.g. UIV+2 and UIV) fail the landmark check.

    Returns the lines, with those of every angle not measured (withheld or not) set to NaN.
    """
    rows = np.arange(len(bad))
    for pid in JUNCTIONAL:
        levels = lines.levels[pid]
        suspect = np.zeros(len(bad), dtype=bool)
        for end in (0, 1):
            k = levels[:, end]
            suspect |= (k >= 0) & bad[rows, np.clip(k, 0, None)]
        hit = suspect & np.isfinite(values[pid])
        if hit.any():
            values[pid][hit] = np.nan
            reasons[pid][hit] = "landmark check failed: " + problems[hit].astype(str)
        lines.lines_px[pid][~np.isfinite(values[pid])] = np.nan
    return lines


def _withhold_curves(curves: CurveTable, bad: np.ndarray, problems: np.ndarray) -> CurveTable:
    """Withhold every coronal curve with a suspect vertebra from its upper to its lower end vertebra.

    Not only the two end vertebrae: the ends and the apex are chosen from the
    tilts of every vertebra in between, so one implausible vertebra inside the
    span can make (or split) the curve; and an end vertebra is the most tilted
    one *before* the tilts turn, so a suspect vertebra up to
    :data:`CURVE_MARGIN_LEVELS` beyond an end (left out of the curve finding)
    can have moved it. The withheld curve keeps its levels, loses its angle
    (NaN, so nothing grades or draws it) and gets the reason.
    """
    k = curves.angle_deg.shape[1]
    if not k or not bad.any():
        return curves
    rows = np.flatnonzero(bad.any(axis=1))  # only their curves can be withheld
    suspect = bad[rows]
    up, lo = curves.upper[rows], curves.lower[rows]
    first = np.clip(np.minimum(up, lo) - CURVE_MARGIN_LEVELS, 0, None)
    last = np.clip(np.maximum(up, lo) + CURVE_MARGIN_LEVELS, 0, suspect.shape[1] - 1)
    # suspect vertebrae from the first level up to each level: a span holds one when the counts differ
    counts = np.concatenate([np.zeros((len(rows), 1), dtype=int), np.cumsum(suspect, axis=1)], axis=1)
    at = np.arange(len(rows))[:, None]
    spans_bad = counts[at, last + 1] > counts[at, first]
    hit = np.zeros(curves.angle_deg.shape, dtype=bool)
    hit[rows] = np.isfinite(curves.angle_deg[rows]) & (up >= 0) & (lo >= 0) & spans_bad
    if not hit.any():
        return curves
    angle = curves.angle_deg.copy()
    angle[hit] = np.nan
    withheld = np.full(angle.shape, None, dtype=object) if curves.withheld is None else curves.withheld.copy()
    withheld[hit] = [f"landmark check failed: {problems[i]}" for i in np.nonzero(hit)[0]]
    return dataclasses.replace(curves, angle_deg=angle, withheld=withheld)


def _names_for(table: LandmarkTable, lateral: bool) -> list[str]:
    """The point names a film of that view can use (the other view's corners are not copied)."""
    drop = (".left", ".right") if lateral else (".ant", ".post")
    return [k for k in table.points if k.startswith(("FH", "IC")) or not k.endswith(drop)]


def _merged_curves(parts: list[tuple[np.ndarray, CurveTable]], n: int, method: str) -> CurveTable:
    """The curves of *n* studies from those of blocks of them (``(rows, curves)`` pairs), padded alike.

    Each block pads its studies to its own most curves; the whole pads to the most of any block.
    """
    if len(parts) == 1 and len(parts[0][0]) == n:
        return parts[0][1]
    k = max(part.angle_deg.shape[1] for _, part in parts)
    lines = any(part.end_lines_px is not None for _, part in parts)
    withheld = any(part.withheld is not None for _, part in parts)
    out = CurveTable(
        np.full((n, k), np.nan),
        np.full((n, k), -1),
        np.full((n, k), -1),
        np.full((n, k), -1),
        np.zeros((n, k), dtype=bool),
        method,
        np.full((n, k, 2, 2, 2), np.nan) if lines else None,
        np.full((n, k), None, dtype=object) if withheld else None,
    )
    for idx, part in parts:
        kp = part.angle_deg.shape[1]
        for name in ("angle_deg", "upper", "lower", "apex", "convex_right", "end_lines_px", "withheld"):
            if getattr(part, name) is not None:
                getattr(out, name)[idx, :kp] = getattr(part, name)
    return out


def _rows(table: LandmarkTable, start: int, stop: int) -> LandmarkTable:
    """The studies *start* to *stop* of *table*: views of its arrays, slices of its tuples, nothing copied."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(table):
        value = getattr(table, f.name)
        if isinstance(value, Mapping):
            fields[f.name] = {k: v[start:stop] for k, v in value.items()}
        else:
            fields[f.name] = None if value is None else value[start:stop]
    return LandmarkTable(**fields)


def _drop_curves(curves: CurveTable, rows: np.ndarray) -> CurveTable:
    angle = curves.angle_deg.copy()
    angle[rows] = np.nan
    withheld = None if curves.withheld is None else curves.withheld.copy()
    if withheld is not None:
        withheld[rows] = None
    return dataclasses.replace(curves, angle_deg=angle, withheld=withheld)
