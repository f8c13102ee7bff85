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
from ..geometry.regions import REGIONS, lenke_regions, region_codes, regional_curves
from ..parameters import CurveTable, shown_number
from ..study import Study

__all__ = ["CURVE_KEYS", "UNTOLD_NOTE", "curve_columns", "curves_by_region", "lenke_region_names"]

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
    t, m = study.table, study.measurements
    sel = np.arange(len(t)) if rows is None else np.asarray(rows, dtype=int)
    curves = _padded(_take(m.curves, sel))
    n = len(sel)
    errors = t.row_errors[sel] if t.row_errors is not None else np.full(n, None, dtype=object)
    views = np.asarray(m.views, dtype=object)[sel]
    is_ap = {v: View.parse(v) is View.AP for v in dict.fromkeys(views.tolist())}  # each distinct view once
    ap = np.equal(errors, _NONE) & np.array(list(map(is_ap.__getitem__, views.tolist())), dtype=bool)
    names = np.array([*LEVELS, None], dtype=object)  # index -1 reads None
    at = np.arange(n)
    side = np.asarray(t.patient_right, dtype=object)[sel]
    known = np.equal(side, PatientRight.IMAGE_RIGHT) | np.equal(side, PatientRight.IMAGE_LEFT)
    flip = np.equal(side, PatientRight.IMAGE_LEFT)
    annotated = _annotated(t, sel)
    # Cobb_max is withheld when any vertebra fails the landmark check: "no curve" is not known then
    cobb = np.asarray(m.values["Cobb_max"], dtype=float)[sel]
    why = np.asarray(m.reasons["Cobb_max"], dtype=object)[sel]
    held = np.where(np.isnan(cobb) & np.char.startswith(why.astype(str), "landmark check failed"), why, _NONE)
    out: dict[str, np.ndarray] = {}
    lists = _Rows(curves)
    regions_of = lenke_regions(curves)  # (n, K): each listed curve's region, None elsewhere
    untold = _untold(curves, ap)
    for rc in regional_curves(curves):
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
        out[f"{p}_angle_deg"] = angle.astype(object)
        out[f"{p}_convex"] = np.where(measured, _SIDES[side_index], _NONE)
        levels = list(LEVELS[_span(rc.region.apex_from, rc.region.apex_to)])
        seen = annotated[:, [LEVELS.index(lv) for lv in levels]]
        note, no_curve = _no_curve_notes(rc.region.levels, levels, seen, ap & ~has)
        # a suspect vertebra's tilt may hide the region's curve
        hidden = no_curve & ~np.equal(held, _NONE)
        note[hidden] = [f"withheld: {reason}" for reason in held[hidden].tolist()]
        crowded = np.flatnonzero(has & ((rc.measured + rc.withheld > 1) | ~measured))
        inside = np.equal(regions_of[crowded], rc.region.region).tolist()
        for i, ki, row in zip(crowded.tolist(), k[crowded].tolist(), inside, strict=True):
            others = [o for o, here in enumerate(row) if here and o != ki]
            note[i] = _region_note(lists, i, ki, others, rc.region.levels)
        # a curve without a known apex whose span reaches into the region may be the region's
        reach = untold & (curves.upper <= level_index(rc.region.apex_to))
        reach &= curves.lower >= level_index(rc.region.apex_from)
        for i in np.flatnonzero(reach.any(axis=1)).tolist():
            told = "; ".join(UNTOLD_NOTE + _described(lists, i, o) for o in np.flatnonzero(reach[i]).tolist())
            note[i] = told if note[i] is None or (no_curve[i] and not hidden[i]) else f"{note[i]}; {told}"
        out[f"{p}_note"] = note
    out["curves_other"] = _other_curves(curves, lists, ap)
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
    held = [None if r is None else r.value for r in regions[~np.equal(withheld, _NONE)]]
    return measured, held


# ----------------------------------------------------------------------------- helpers


def _take(curves: CurveTable, rows: np.ndarray) -> CurveTable:
    """The curves of these studies only."""
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
        listed |= ~np.equal(np.asarray(curves.withheld, dtype=object), _NONE)
    return listed & (np.asarray(curves.apex) < 0) & (np.asarray(curves.upper) >= 0) & ap[:, None]


def _span(first: str, last: str) -> slice:
    return slice(LEVELS.index(first), LEVELS.index(last) + 1)


def _annotated(t, sel: np.ndarray) -> np.ndarray:
    """``(n, len(LEVELS))``: which vertebrae have all four AP corners (what a curve is found on)."""
    out = np.ones((len(sel), len(LEVELS)), dtype=bool)
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


class _Rows:
    """The curves of one study at a time as Python lists, for the notes written study by study.

    Only the studies a note is written for are converted (the whole table's lists would cost more
    than every note).
    """

    def __init__(self, curves: CurveTable) -> None:
        self.curves = curves
        self.done: dict[int, tuple[list, list, list, list, list | None]] = {}

    def __call__(self, i: int) -> tuple[list, list, list, list, list | None]:
        """Study *i*'s ``(angle, upper, lower, apex, withheld)``, one item per curve."""
        row = self.done.get(i)
        if row is None:
            c = self.curves
            withheld = None if c.withheld is None else np.asarray(c.withheld[i], dtype=object).tolist()
            row = self.done[i] = (
                np.asarray(c.angle_deg[i], dtype=float).tolist(),
                np.asarray(c.upper[i]).tolist(),
                np.asarray(c.lower[i]).tolist(),
                np.asarray(c.apex[i]).tolist(),
                withheld,
            )
        return row


def _name(rows: _Rows, i: int, k: int) -> str:
    _, upper, lower, apex, _ = rows(i)
    where = f" apex {LEVELS[apex[k]]}" if apex[k] >= 0 else " apex unknown"
    return f"{LEVELS[upper[k]]}-{LEVELS[lower[k]]}{where}"


def _reason(rows: _Rows, i: int, k: int) -> object:
    withheld = rows(i)[4]
    return None if withheld is None else withheld[k]


def _described(rows: _Rows, i: int, k: int) -> str:
    """A curve in a note: its levels, and its angle or why it was withheld."""
    angle = rows(i)[0][k]
    if math.isfinite(angle):
        return f"{_name(rows, i, k)} ({shown_number(angle)} deg)"
    return f"{_name(rows, i, k)} withheld ({_reason(rows, i, k)})"


def _region_note(rows: _Rows, i: int, k: int, others: list[int], span: str) -> str:
    """The note of a region whose columns hold curve *k*: withheld, or the others it holds."""
    parts = []
    finite = math.isfinite(rows(i)[0][k])
    if not finite:
        parts.append(f"withheld: {_reason(rows, i, k)}")
    if others:
        shown = "the largest shown" if finite else "the first shown"
        also = "; ".join(_described(rows, i, o) for o in others)
        parts.append(f"{len(others) + 1} curves with apex {span}: {shown}; also {also}")
    return "; ".join(parts)


def _other_curves(curves: CurveTable, rows: _Rows, ap: np.ndarray) -> np.ndarray:
    """``curves_other``: the curves with an apex outside the three regions, or None."""
    codes = region_codes(curves.apex)
    listed = np.isfinite(curves.angle_deg) | (
        ~np.equal(np.asarray(curves.withheld, dtype=object), _NONE)
        if curves.withheld is not None
        else np.zeros(curves.angle_deg.shape, dtype=bool)
    )
    outside = listed & (codes < 0) & (np.asarray(curves.upper) >= 0) & ap[:, None]
    out = np.full(len(ap), None, dtype=object)
    some = np.flatnonzero(outside.any(axis=1))
    for i, row in zip(some.tolist(), outside[some].tolist(), strict=True):
        out[i] = "; ".join(_described(rows, i, k) for k, here in enumerate(row) if here)
    return out
