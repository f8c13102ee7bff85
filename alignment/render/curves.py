"""Every coronal curve by region, as batch-table columns and report keys (formats.md §2–3).

Each of the three regions of :mod:`spinecheck.alignment.geometry.regions` (``PT``, ``MT``,
``TL/L``) gets six columns, prefixed ``pt_``, ``mt_``, ``tll_``:

``upper_end``, ``lower_end``, ``apex``
    levels of the region's curve (the largest measured one; see the regions module);
``angle_deg``
    its Cobb angle, empty when the curve was withheld or there is none;
``convex``
    ``right`` / ``left``: the patient's side, when the film says where the patient's
    right is (``patient_right``); otherwise ``image right`` / ``image left``, as the
    report words a side it cannot tie to the patient. Never a bare ``right`` for an
    image side;
``note``
    why a column is empty, or what else the region holds: ``no curve with apex
    T6-T11``, ``not measured: ...`` (no vertebra of the apex range annotated),
    ``withheld: <reason>`` (also for a region without a curve when a vertebra that fails the
    landmark check withholds ``Cobb_max``: its tilt could hide the region's curve),
    ``2 curves with apex T6-T11: the largest shown; also T10-L2 apex T12 (14.2 deg)``, or
    ``cannot be told: T1-T9 apex unknown (40.0 deg)`` for a curve whose apex is not known
    (an end vertebra without a centre) and whose span reaches into the region: it may
    belong there (in place of "no curve", or after the region's other notes).

One more column, ``curves_other``, names the curves whose apex lies outside the three
regions (cervicothoracic, lumbosacral), which ``Cobb_max`` may come from, and those
whose apex is not known. Lateral films and studies that could not be read have every
cell empty.

The report JSON carries the same cells per region under ``curves_by_region`` (keys
``PT``, ``MT``, ``TL/L``) and each listed curve's region as ``lenke_region``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...landmarks.points.names import LEVELS, TRANSITIONAL_LEVELS, PatientRight, View, level_index
from ..geometry.plane import has_reason
from ..geometry.regions import REGIONS, lenke_regions, region_codes, regional_curves
from ..parameters import CurveTable, shown_number
from ..study import Study

__all__ = [
    "CURVE_KEYS",
    "UNTOLD_NOTE",
    "curve_columns",
    "table_curve_columns",
    "curves_by_region",
    "lenke_region_names",
]

#: How a region's note begins where a curve without a known apex may belong to it.
UNTOLD_NOTE = "cannot be told: "
#: The cells of one region, in column order (``<prefix>_<key>``).
CURVE_KEYS: tuple[str, ...] = ("upper_end", "lower_end", "apex", "angle_deg", "convex", "note")
_CORNERS = tuple(f"{e}.{c}" for e in ("sup", "inf") for c in ("left", "right"))
_NONE = np.array(None, dtype=object)
#: The convex side's cells: the patient's side, else the image's (by index, each one object for every cell).
_SIDES = np.array(["left", "right", "image left", "image right"], dtype=object)


def curve_columns(study: Study, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The curve columns of the batch table, ``(N,)`` object arrays in column order.

    Parameters
    ----------
    study : Study
    rows : ndarray of int, optional
        Only these studies (all when None).

    Returns
    -------
    dict of str to ndarray of object
        ``pt_upper_end`` ... ``tll_note``, then ``curves_other``; level names, the
        angle as a float (NaN when empty), the side and notes as text, None for an
        empty cell.
    """
    return {
        name: cells.astype(object) if cells.dtype.kind == "f" else cells
        for name, cells in table_curve_columns(study, rows).items()
    }


def table_curve_columns(study: Study, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """:func:`curve_columns`, with the angles as float arrays (NaN when empty), as the batch table takes them."""
    t, m = study.table, study.measurements
    sel: np.ndarray | slice = slice(None) if rows is None else np.asarray(rows, dtype=int)  # a view of all
    curves = _padded(_take(m.curves, sel))
    n = curves.angle_deg.shape[0]
    errors = t.row_errors[sel] if t.row_errors is not None else np.full(n, None, dtype=object)
    views = np.asarray(m.views, dtype=object)[sel]
    is_ap = {v: View.parse(v) is View.AP for v in dict.fromkeys(views.tolist())}  # each distinct view once
    ap = ~has_reason(errors) & np.array(list(map(is_ap.__getitem__, views.tolist())), dtype=bool)
    names = np.array([*LEVELS, None], dtype=object)  # index -1 reads None
    at = np.arange(n)
    side = np.asarray(t.patient_right, dtype=object)[sel]
    known = np.equal(side, PatientRight.IMAGE_RIGHT) | np.equal(side, PatientRight.IMAGE_LEFT)
    flip = np.equal(side, PatientRight.IMAGE_LEFT)
    annotated = _annotated(t, sel, n)
    # Cobb_max is withheld when any vertebra fails the landmark check: "no curve" is not known then
    cobb = np.asarray(m.values["Cobb_max"], dtype=float)[sel]
    why = np.asarray(m.reasons["Cobb_max"], dtype=object)[sel]
    empty = np.flatnonzero(np.isnan(cobb))
    reasons = why[empty].tolist()
    suspect = {w: str(w).startswith("landmark check failed") for w in dict.fromkeys(reasons)}  # each once
    empty = empty[np.array([suspect[w] for w in reasons], dtype=bool)]
    held = np.full(n, None, dtype=object)
    held[empty] = why[empty]
    out: dict[str, np.ndarray] = {}
    regions_of = lenke_regions(curves)  # (n, K): each listed curve's region, None elsewhere
    untold = _untold(curves, ap)
    regional = regional_curves(curves)
    # the curves a note names besides a region's own (the others in its region, those that may
    # belong to it, those outside every region), each described once
    crowded_rows, others, reaching = [], [], []
    for rc in regional:
        k = np.where(ap, rc.curve, -1)
        measured = np.isfinite(curves.angle_deg[np.arange(n), np.maximum(k, 0)]) & (k >= 0)
        crowded = np.flatnonzero((k >= 0) & ((rc.measured + rc.withheld > 1) | ~measured))
        crowded_rows.append(crowded)
        other = np.zeros(regions_of.shape, dtype=bool)
        other[crowded] = np.equal(regions_of[crowded], rc.region.region)
        other[crowded, k[crowded]] = False
        others.append(other)
        reach = untold & (curves.upper <= level_index(rc.region.apex_to))
        reaching.append(reach & (curves.lower >= level_index(rc.region.apex_from)))
    outside = _outside(curves, ap)
    described = _descriptions(curves, np.logical_or.reduce([*others, *reaching, outside]))
    for rc, crowded, other, reach in zip(regional, crowded_rows, others, reaching, strict=True):
        k = np.where(ap, rc.curve, -1)
        has = k >= 0
        kk = np.where(has, k, 0)
        angle = np.where(has, curves.angle_deg[at, kk], np.nan)
        measured = np.isfinite(angle)
        image_right = curves.convex_right[at, kk]
        side_index = np.where(known, image_right ^ flip, 2 + image_right)  # into _SIDES
        p = rc.region.region.prefix
        for key, ends in (("upper_end", curves.upper), ("lower_end", curves.lower), ("apex", curves.apex)):
            out[f"{p}_{key}"] = names[np.where(has, ends[at, kk], -1)]
        out[f"{p}_angle_deg"] = angle
        out[f"{p}_convex"] = np.where(measured, _SIDES[side_index], _NONE)
        levels = list(LEVELS[_span(rc.region.apex_from, rc.region.apex_to)])
        seen = annotated[:, [LEVELS.index(lv) for lv in levels]]
        note, no_curve = _no_curve_notes(rc.region.levels, levels, seen, ap & ~has)
        # a suspect vertebra's tilt may hide the region's curve
        hidden = no_curve & has_reason(held)
        note[hidden] = [f"withheld: {reason}" for reason in held[hidden].tolist()]
        reasons = (
            np.full(len(crowded), None, dtype=object)
            if curves.withheld is None
            else np.asarray(curves.withheld, dtype=object)[crowded, k[crowded]]
        )
        note[crowded] = _region_notes(
            measured[crowded], reasons, np.where(other[crowded], described[crowded], _NONE), rc.region.levels
        )
        # a curve without a known apex whose span reaches into the region may be the region's
        for i in np.flatnonzero(reach.any(axis=1)).tolist():
            told = "; ".join(UNTOLD_NOTE + d for d in described[i, reach[i]].tolist())
            note[i] = told if note[i] is None or (no_curve[i] and not hidden[i]) else f"{note[i]}; {told}"
        out[f"{p}_note"] = note
    curves_other = np.full(n, None, dtype=object)
    some = np.flatnonzero(outside.any(axis=1))
    curves_other[some] = _listed(np.where(outside[some], described[some], _NONE))
    out["curves_other"] = curves_other
    return out


def curves_by_region(study: Study, i: int) -> dict[str, dict]:
    """Study *i*'s curve of each region, as the report's ``curves_by_region`` (the columns' cells)."""
    cols = curve_columns(study, np.array([i]))
    out: dict[str, dict] = {}
    for r in REGIONS:
        cells = {key: cols[f"{r.region.prefix}_{key}"][0] for key in CURVE_KEYS}
        angle = cells["angle_deg"]
        cells["angle_deg"] = float(angle) if angle is not None and np.isfinite(angle) else None
        out[r.region.value] = cells
    return out


def lenke_region_names(curves: CurveTable, i: int) -> tuple[list[str | None], list[str | None]]:
    """The region of study *i*'s measured curves and of its withheld ones, each top to bottom.

    In the order of :meth:`CurveTable.curves` and :meth:`CurveTable.withheld_curves`.
    """
    one = _take(curves, np.array([i]))
    regions = lenke_regions(one)[0]
    angle = np.asarray(one.angle_deg, dtype=float)[0]
    withheld = (
        np.full(angle.shape, None, dtype=object) if one.withheld is None else np.asarray(one.withheld)[0]
    )
    measured = [None if r is None else r.value for r in regions[np.isfinite(angle)]]
    held = [None if r is None else r.value for r in regions[has_reason(withheld)]]
    return measured, held


# ----------------------------------------------------------------------------- helpers


def _take(curves: CurveTable, rows: np.ndarray | slice) -> CurveTable:
    """The curves of these studies only (views of them for a slice)."""
    return dataclasses.replace(
        curves,
        angle_deg=np.asarray(curves.angle_deg, dtype=float)[rows],
        upper=np.asarray(curves.upper)[rows],
        lower=np.asarray(curves.lower)[rows],
        apex=np.asarray(curves.apex)[rows],
        convex_right=np.asarray(curves.convex_right)[rows],
        end_lines_px=None,
        withheld=None if curves.withheld is None else np.asarray(curves.withheld, dtype=object)[rows],
    )


def _padded(curves: CurveTable) -> CurveTable:
    """At least one (empty) curve per study, so that every gather has a column to read."""
    if curves.angle_deg.shape[1]:
        return curves
    n = curves.angle_deg.shape[0]
    return CurveTable(
        np.full((n, 1), np.nan),
        np.full((n, 1), -1),
        np.full((n, 1), -1),
        np.full((n, 1), -1),
        np.zeros((n, 1), dtype=bool),
        curves.method,
    )


def _untold(curves: CurveTable, ap: np.ndarray) -> np.ndarray:
    """``(n, K)``: the curves of AP films (measured or withheld) whose apex is not known."""
    listed = np.isfinite(curves.angle_deg)
    if curves.withheld is not None:
        listed |= has_reason(np.asarray(curves.withheld, dtype=object))
    return listed & (np.asarray(curves.apex) < 0) & (np.asarray(curves.upper) >= 0) & ap[:, None]


def _span(first: str, last: str) -> slice:
    return slice(LEVELS.index(first), LEVELS.index(last) + 1)


def _annotated(t, sel: np.ndarray | slice, n: int) -> np.ndarray:
    """``(n, len(LEVELS))``: which vertebrae of the *n* studies *sel* have all four AP corners."""
    out = np.ones((n, len(LEVELS)), dtype=bool)
    for j, level in enumerate(LEVELS):
        for corner in _CORNERS:
            out[:, j] &= t.has(f"{level}.{corner}")[sel]
    return out


def _no_curve_note(span: str, levels: list[str], seen: np.ndarray) -> str:
    """Why a region has no curve: none found, or its apex vertebrae were not annotated."""
    if not seen.any():
        return f"not measured: no vertebra {span} annotated with all four corners"
    # a T13 or L6 absent from a film is not "not annotated": most spines have neither
    missing = [lv for lv, s in zip(levels, seen, strict=True) if not s and lv not in TRANSITIONAL_LEVELS]
    return f"no curve with apex {span}" + (f" (not annotated: {', '.join(missing)})" if missing else "")


def _no_curve_notes(
    span: str, levels: list[str], seen: np.ndarray, where: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_no_curve_note` of the rows *where*, made once per pattern of annotated vertebrae (None elsewhere).

    Also which rows' note says "no curve" (rather than "not measured").
    """
    out = np.full(len(seen), None, dtype=object)
    no_curve = np.zeros(len(seen), dtype=bool)
    rows = np.flatnonzero(where)
    if not len(rows):
        return out, no_curve
    codes = seen[rows].astype(np.int64) @ (np.int64(1) << np.arange(seen.shape[1], dtype=np.int64))
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    texts = np.empty(len(first), dtype=object)
    texts[:] = [_no_curve_note(span, levels, seen[rows[f]]) for f in first.tolist()]
    out[rows] = texts[inverse.reshape(-1)]
    no_curve[rows] = np.array([t.startswith("no curve") for t in texts.tolist()], dtype=bool)[
        inverse.reshape(-1)
    ]
    return out, no_curve


def _descriptions(curves: CurveTable, where: np.ndarray) -> np.ndarray:
    """``(n, K)``: the curves *where* as a note names them, None elsewhere.

    Its levels, and its angle (``T10-L2 apex T12 (14.2 deg)``) or why it was withheld
    (``T10-L2 apex T12 withheld (<reason>)``); ``apex unknown`` where the apex is not known.
    Each distinct span of levels is written once.
    """
    out = np.full(where.shape, None, dtype=object)
    rows, ks = np.nonzero(where)
    if not len(rows):
        return out
    upper, lower = np.asarray(curves.upper)[rows, ks], np.asarray(curves.lower)[rows, ks]
    apex = np.asarray(curves.apex)[rows, ks]
    spans = (upper * len(LEVELS) + lower) * (len(LEVELS) + 1) + apex + 1
    distinct, first, inverse = np.unique(spans, return_index=True, return_inverse=True)
    names = np.array(
        [
            f"{LEVELS[u]}-{LEVELS[lo]}" + (f" apex {LEVELS[a]}" if a >= 0 else " apex unknown")
            for u, lo, a in zip(
                upper[first].tolist(), lower[first].tolist(), apex[first].tolist(), strict=True
            )
        ],
        dtype=object,
    )[inverse.reshape(-1)].tolist()
    angles = np.asarray(curves.angle_deg, dtype=float)[rows, ks].tolist()
    reasons = (
        [None] * len(rows)
        if curves.withheld is None
        else np.asarray(curves.withheld, dtype=object)[rows, ks].tolist()
    )
    out[rows, ks] = [
        f"{name} ({shown_number(angle)} deg)" if math.isfinite(angle) else f"{name} withheld ({reason})"
        for name, angle, reason in zip(names, angles, reasons, strict=True)
    ]
    return out


def _listed(described: np.ndarray) -> list[str]:
    """Each row's descriptions (``(m, K)``, None where a curve is not named), joined by ``"; "``."""
    return ["; ".join([d for d in row if d is not None]) for row in described.tolist()]


def _region_notes(measured: np.ndarray, reasons: np.ndarray, others: np.ndarray, span: str) -> list[str]:
    """The notes of regions whose columns hold a curve: withheld (with *reasons*), or the others they hold.

    *measured* and *reasons* are the region's curve's, *others* ``(m, K)`` the descriptions of the
    other curves of the region (None elsewhere).
    """
    notes = []
    counts = has_reason(others).sum(axis=1) + 1  # the region's curves
    for finite, reason, count, also in zip(
        measured.tolist(), reasons.tolist(), counts.tolist(), _listed(others), strict=True
    ):
        parts = [] if finite else [f"withheld: {reason}"]
        if count > 1:
            shown = "the largest shown" if finite else "the first shown"
            parts.append(f"{count} curves with apex {span}: {shown}; also {also}")
        notes.append("; ".join(parts))
    return notes


def _outside(curves: CurveTable, ap: np.ndarray) -> np.ndarray:
    """``(n, K)``: the listed curves of AP films with an apex outside the three regions (``curves_other``)."""
    codes = region_codes(curves.apex)
    listed = np.isfinite(curves.angle_deg) | (
        has_reason(np.asarray(curves.withheld, dtype=object))
        if curves.withheld is not None
        else np.zeros(curves.angle_deg.shape, dtype=bool)
    )
    return listed & (codes < 0) & (np.asarray(curves.upper) >= 0) & ap[:, None]
