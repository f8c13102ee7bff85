"""Reports: the ``spinecheck-report/1`` JSON, the human-readable table, and the batch CSV.

A report is assembled from three things that each say where they come from:
the landmark table (provenance of points, calibration and patient data), the
:class:`~spinecheck.alignment.parameters.Measurements` and the criteria
:class:`~spinecheck.alignment.criteria.engine.Assessment`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ...landmarks.io.arrow_arrays import object_references
from ...landmarks.io.atomic import write_text_atomic
from ...landmarks.points.model import LandmarkTable
from ...landmarks.points.names import View
from ..geometry.plane import has_reason
from ..parameters import CORONAL, JUNCTIONAL, PARAMETERS, SAGITTAL, Measurements, shown_number
from ..study import Study

__all__ = [
    "REPORT_FORMAT",
    "tool_version",
    "study_report",
    "parameter_ids",
    "listed_parameter_ids",
    "study_warnings",
    "format_table",
    "table_columns",
    "IDENTIFIER_COLUMNS",
    "identifier_columns",
    "write_table_csv",
    "format_csv",
    "format_csv_chunks",
]

REPORT_FORMAT = "spinecheck-report/1"
VERTICAL = "image column axis (standing film)"


def tool_version() -> str:
    """The spinecheck version that made a report (``spinecheck.__version__``)."""
    from ... import __version__

    return __version__


def _num(v: float) -> float | None:
    return None if not math.isfinite(v) else float(v)


def study_report(study: Study, i: int) -> dict:
    """The ``spinecheck-report/1`` JSON of study *i* (formats.md §2)."""
    m, t = study.measurements, study.table
    view = View.parse(m.views[i])
    params: dict[str, dict] = {}
    transitional = bool(m.spine.study(i).transitional[0])  # T13, L6 or a sacralised vertebra
    for pid in parameter_ids(view):
        r = m.reported(pid, i)
        params[pid] = {"value": r.value, "unit": r.unit}
        if r.note is not None:
            params[pid]["note"] = r.note
        if r.value is None:
            params[pid]["reason"] = r.reason
        if transitional and m.levels(pid, i) is not None:  # which levels, in clinical words
            params[pid]["levels"] = m.levels(pid, i)
    cal = t.calibrations[i]
    status, error = study.status(i)
    report: dict = {
        "format": REPORT_FORMAT,
        "tool_version": tool_version(),
        "id": t.ids[i],
        "status": status,
        "view": view.value,
        "source": {"landmarks": study.landmark_sources[i], "image": study.image_sources[i]},
        "patient": t.patients[i].to_json(),
        **_operation_json(t, i),
        **({"anatomy": m.spine.to_json(i)} if transitional else {}),
        "calibration": cal.to_json(),
        "conventions": {
            "vertical": VERTICAL,
            "angles": "degrees; LL and CL positive for lordosis, TK positive for kyphosis",
            **(
                {"anterior": f"from the {_sacrum(m, i)} superior endplate (post -> ant)"}
                if view is View.LATERAL
                else {"cobb_method": m.curves.method, "horizontal_sign": _side_text(t, i)}
            ),
        },
        "parameters": params,
    }
    if error is not None:
        report["error"] = error
    if view is View.AP:
        # here, not at the top: a lateral film's report never needs the coronal regions
        from .curves import curves_by_region, lenke_region_names

        report["curves"] = m.curves.curves(i, study.assessment.curve_regions(), t.patient_right[i])
        withheld = m.curves.withheld_curves(i)
        if withheld:
            report["curves_withheld"] = withheld
        # each curve's Lenke region, and the curve of each region (the batch table's pt_/mt_/tll_ cells)
        measured_regions, withheld_regions = lenke_region_names(m.curves, i)
        for row, region in zip(
            [*report["curves"], *withheld], [*measured_regions, *withheld_regions], strict=True
        ):
            row["lenke_region"] = region
        report["curves_by_region"] = curves_by_region(study, i)
    report["criteria"] = study.assessment.rows(i)
    report["warnings"] = list(study_warnings(study, i))
    return report


def _sacrum(m: Measurements, i: int) -> str:
    """Study *i*'s sacral level: S1, or the sacralised vertebra (whose superior endplate is the sacral endplate)."""
    return str(m.spine.study(i).of("sacrum")[0])


def parameter_ids(view: View | str) -> tuple[str, ...]:
    """The parameters a film of *view* reports, in report order."""
    return SAGITTAL if View.parse(view) is View.LATERAL else CORONAL


def listed_parameter_ids(study: Study, i: int) -> tuple[str, ...]:
    """The parameters a page or text report of study *i* lists: its view's (:func:`parameter_ids`).

    The junctional angles (PJA, DJA) are listed only on a film that records an
    operation; the JSON report and the batch table always carry them (null, with
    "UIV not recorded", on other films), so their keys never depend on the film.
    """
    ids = parameter_ids(study.measurements.views[i])
    if study.measurements.operated[i]:
        return ids
    return tuple(pid for pid in ids if pid not in JUNCTIONAL)


def _operation_json(t: LandmarkTable, i: int) -> dict:
    """The report's optional ``operation`` block: the landmark file's items, and who gave them."""
    op = t.operation(i)
    if op is None:
        return {}
    return {"operation": {**op.to_json(), "source": op.source}}


def study_warnings(study: Study, i: int) -> tuple[str, ...]:
    """Every warning a report of study *i* carries, once each: the measurement's, then the calibration's."""
    m = study.measurements
    warnings = list(m.warnings[i]) + list(study.table.calibrations[i].warnings)
    if not m.calibrated[i]:
        warnings.append(
            "no pixel spacing: distances in pixels, no millimetre criterion evaluated; "
            "angles assume isotropic pixels"
        )
    return tuple(dict.fromkeys(warnings))


def _side_text(t: LandmarkTable, i: int) -> str:
    pr = t.patient_right[i]
    if pr is None:
        return "toward image right (patient side unknown)"
    return f"toward the patient's right ({pr.value if hasattr(pr, 'value') else pr})"


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    return f"{shown_number(v)}°" if unit == "deg" else f"{shown_number(v)} {unit}"


def format_table(study: Study, i: int) -> str:
    """A human-readable report of study *i* (``--format table``)."""
    m, t = study.measurements, study.table
    status, error = study.status(i)
    if status != "ok":
        return f"spinecheck {tool_version()} — {t.ids[i]}\nERROR: {error}\n"
    view = View.parse(m.views[i])
    lines = [f"spinecheck {tool_version()} — {t.ids[i]} ({view.value} film)"]
    pat = t.patients[i]
    age = f"{pat.age_years:g} years ({pat.age_source})" if pat.age_years is not None else "unknown"
    sex = f"; sex {pat.sex.value}" if pat.sex else ""
    lines.append(f"Patient:     age {age}{sex}")
    op = t.operation(i)
    if op is not None:
        lines.append(f"Operation:   {op.describe()}")
    cal = t.calibrations[i]
    if cal.mm_per_px:
        row, col = cal.mm_per_px
        lines.append(
            f"Calibration: {row:g} x {col:g} mm/px (row x col) — {cal.source.value}, {cal.plane.value}"
        )
    else:
        lines.append("Calibration: none — distances in pixels, no millimetre thresholds")
    anatomy = m.spine.statement(i)
    if anatomy is not None:
        lines.append(f"Anatomy:     {anatomy}")
    lines.append("")
    lines.append(f"{'Parameter':<10} {'':<34} {'Value':>10}")
    for pid in listed_parameter_ids(study, i):
        r = m.reported(pid, i)
        extra = f"  ({r.reason})" if r.value is None else ""
        lines.append(f"{pid:<10} {PARAMETERS[pid].name:<34} {_fmt(r.value, r.unit):>10}{extra}")
    if anatomy is not None:
        lines.append("")
        lines.append("Levels measured (transitional anatomy)")
        said: dict[str, list[str]] = {}  # the parameters measured on the same levels, on one line
        for pid in parameter_ids(view):
            levels = m.levels(pid, i)
            if levels is not None:
                said.setdefault(levels, []).append(pid)
        lines.extend(f"  {', '.join(pids)}: {levels}" for levels, pids in said.items())
    curves = m.curves.curve_list(i, study.assessment.curve_regions()) if view is View.AP else []
    withheld = m.curves.withheld_curves(i) if view is View.AP else []
    if curves or withheld:
        lines.append("")
        lines.append(f"Coronal curves ({m.curves.method} method)")
        from .curves import UNTOLD_NOTE, curves_by_region, lenke_region_names  # coronal only, as above

        lenke, lenke_withheld = lenke_region_names(m.curves, i)  # each curve's region, PT / MT / TL/L
        for w, lr in zip(withheld, lenke_withheld, strict=True):
            lines.append(f"  {lr or '-':<5}{w['upper_end']}-{w['lower_end']}: withheld ({w['reason']})")
        for c, lr in zip(curves, lenke, strict=True):
            region = f", {c.region}" if c.region else ""
            lines.append(
                f"  {lr or '-':<5}{c.upper_end}-{c.lower_end} apex {c.apex or 'unknown'}: "
                f"{shown_number(c.angle_deg)}° (convex {c.convex_side(t.patient_right[i])}{region})"
            )
        for name, cells in curves_by_region(study, i).items():
            if cells["note"] and (" curves with apex " in cells["note"] or UNTOLD_NOTE in cells["note"]):
                lines.append(f"  {name}: {cells['note']}")
    summary = study.assessment.summary(i)
    if summary:
        lines.append("")
        lines.append("Criteria")
        lines.extend(f"  {s}" for s in summary)
    warnings = study_warnings(study, i)
    if warnings:
        lines.append("")
        lines.append("Warnings")
        lines.extend(f"  - {w}" for w in warnings)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- batch CSV


def _floats(values: np.ndarray) -> np.ndarray:
    """A number column: float64, NaN where a value is not finite (an empty cell).

    *values* itself when it holds no infinity (the usual case): a copy of every parameter's column
    would be a table's worth of memory at the peak (some 0.5 GB at a million rows).
    """
    v = np.asarray(values, dtype=float)
    infinite = np.isinf(v)
    return np.where(infinite, np.nan, v) if infinite.any() else v


def _float_strings(values: np.ndarray) -> np.ndarray:
    """Floats as CSV cells: the float itself (written in its shortest round-trip form), None for NaN."""
    v = np.asarray(values, dtype=float)
    out = (v + 0.0).astype(object)  # + 0.0 turns -0.0 into 0.0: never a "-0.0" cell
    out[~np.isfinite(v)] = None
    return out


def table_columns(study: Study) -> dict[str, np.ndarray]:
    """The batch table (formats.md §3) as named ``(N,)`` string/object columns, in order."""
    return {
        name: _float_strings(values) if values.dtype.kind == "f" else values
        for name, values in _columns(study).items()
    }


def _columns(study: Study) -> dict[str, np.ndarray]:
    """:func:`table_columns`, with the number columns as float arrays (NaN where empty)."""
    m, t = study.measurements, study.table
    n = len(t)
    cols: dict[str, np.ndarray] = {}
    declared = [s.image.path if s is not None else None for s in (t.sets or [None] * n)]
    # the image read, else the one the landmark file declares, else nothing (never the landmark file itself)
    cols["image"] = np.array(
        [read or decl or "" for read, decl in zip(study.image_sources, declared, strict=True)], dtype=object
    )
    cols["landmarks"] = np.array([s or "" for s in study.landmark_sources], dtype=object)
    errors = t.row_errors if t.row_errors is not None else np.full(n, None, dtype=object)
    failed = has_reason(errors)
    cols["status"] = _OK_ERROR[failed.astype(np.intp)]
    cols["error"] = np.where(failed, errors, _EMPTY)
    for pid, p in PARAMETERS.items():
        if p.is_length:
            cols[f"{pid}_mm"] = _floats(m.values[pid])
            cols[f"{pid}_px"] = _floats(m.values_px[pid])
        else:
            cols[f"{pid}_{p.unit.value}"] = _floats(m.values[pid])
    from .curves import table_curve_columns  # not at the top: the text report of one film does not load it

    for name, cells in table_curve_columns(study).items():  # every coronal curve by region (formats.md §3)
        cols[name] = _floats(cells) if cells.dtype.kind == "f" else cells
    for name, values in study.assessment.table().items():
        cols[name] = _cell_strings(values)
    cols["mm_per_px_row"] = _floats(t.mm_per_px[:, 0])
    cols["mm_per_px_col"] = _floats(t.mm_per_px[:, 1])
    cols["calibration_source"], cols["calibration_plane"] = _per_object(
        t.calibrations, lambda c: c.source.value, lambda c: c.plane.value
    )
    cols["age_years"] = _floats(t.age_years)
    cols["age_source"], cols["sex"] = _per_object(
        t.patients, lambda p: p.age_source or "", lambda p: p.sex.value if p.sex is not None else ""
    )
    cols.update(identifier_columns(t))
    for column, item in (("uiv", "uiv"), ("liv", "liv"), ("operation_date", "date")):
        if t.operations is None:  # no study records an operation (a wide CSV)
            cols[column] = _filled(n, None)
            continue
        items = [getattr(op, item) if op is not None else None for op in t.operations]
        cols[column] = np.array([v.isoformat() if item == "date" and v else v for v in items], dtype=object)
    # transitional anatomy in words (T13, L6, a sacralised vertebra); empty for the typical spine
    anatomy = m.spine.statements()
    cols["anatomy"] = np.where(has_reason(anatomy), anatomy, _EMPTY)
    cols["view"] = np.where(failed, _EMPTY, _view_names(m.views))
    cols["cobb_method"] = _filled(n, m.curves.method)
    cols["warnings"] = np.array(["; ".join(w) if w else None for w in m.warnings], dtype=object)
    cols["tool_version"] = _filled(n, tool_version())
    return cols


#: The columns that identify each study's film, for joins (formats.md §3), in order.
IDENTIFIER_COLUMNS = ("sop_instance_uid", "study_instance_uid", "study_date", "study_date_source")


def identifier_columns(table: LandmarkTable) -> dict[str, np.ndarray]:
    """What identifies each study's film (:data:`IDENTIFIER_COLUMNS`), as ``(N,)`` text columns.

    The film's header when it was read, else its landmark file
    (:meth:`~spinecheck.landmarks.points.model.LandmarkTable.film`): the SOP
    Instance UID (the header's, else ``image.sop_instance_uid``), the Study
    Instance UID (the header's only), and the film's date in ISO form with its
    source, by the one rule ``spinecheck compare`` dates films with
    (:func:`~spinecheck.landmarks.points.film.film_date`). Empty where unknown:
    a PNG film without ``image.study_date``, a wide CSV's rows. The
    patient's identifiers are not among them (they are personal data).

    Examples
    --------
    >>> import datetime
    >>> from spinecheck.landmarks.points.model import ImageRef, LandmarkSet
    >>> t = LandmarkSet("lateral", {}, image=ImageRef("a.png", study_date=datetime.date(2024, 5, 6))).to_table()
    >>> {k: v.tolist() for k, v in identifier_columns(t).items()}["study_date"]
    ['2024-05-06']
    """
    n = len(table)
    cells = {name: _filled(n, "") for name in IDENTIFIER_COLUMNS}
    if table.sets is None and table.films is None:  # a wide CSV's rows: nothing identifies their films
        return cells
    for i, film in enumerate(table.film(i) for i in range(n)):
        if film is None:
            continue
        cells["sop_instance_uid"][i] = film.sop_instance_uid or ""
        cells["study_instance_uid"][i] = film.study_instance_uid or ""
        cells["study_date"][i] = film.date.date.isoformat() if film.date.date else ""
        cells["study_date_source"][i] = film.date.source or ""
    return cells


def _per_object(items, *fns) -> tuple[np.ndarray, ...]:
    """Each of ``fns`` of every item, as a column, computed once per distinct object (tables share them)."""
    items = list(items)
    # the items are alive in the list, so their ids are distinct exactly where the objects are
    ids = np.fromiter(map(id, items), dtype=np.uint64, count=len(items))
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    columns = []
    for fn in fns:
        values = np.empty(len(first), dtype=object)
        values[:] = [fn(items[i]) for i in first.tolist()]
        columns.append(values[inverse.reshape(-1)])
    return tuple(columns)


def _view_names(views: np.ndarray) -> np.ndarray:
    """The view of each study as its name (``lateral``, ``ap``), each distinct cell parsed once."""
    cells = np.asarray(views, dtype=object).tolist()
    names = {v: View.parse(v).value for v in dict.fromkeys(cells)}
    return np.array(list(map(names.__getitem__, cells)), dtype=object)


# None and "" as 0-d object arrays, for ``np.equal`` and ``np.where`` (numpy's stubs take no bare None;
# a bare "" would become a new string in every cell)
_NONE = np.array(None, dtype=object)
_EMPTY = np.array("", dtype=object)
# a flag's cells and a study's status, by index (False, True)
_FALSE_TRUE = np.array(["false", "true"], dtype=object)
_OK_ERROR = np.array(["ok", "error"], dtype=object)


def _filled(n: int, value: object) -> np.ndarray:
    """*n* cells that are all the one object *value*.

    Not ``np.full(n, value, dtype=object)``, which makes a new string for every cell: the CSV
    writer makes the text of each distinct object once
    (:func:`~spinecheck.landmarks.io.csv_cells.csv_column_chunks`).
    """
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _cell_strings(values: np.ndarray) -> np.ndarray:
    """Criterion cells: floats as a float column, flags as ``true``/``false``, None as empty."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return _floats(values)
    if values.dtype.kind == "b":
        return _FALSE_TRUE[values.astype(np.intp)]
    first = _first_filled(values)  # a column holds one kind
    if isinstance(first, (bool, np.bool_)):
        none = ~has_reason(values)
        return np.where(none, _NONE, _FALSE_TRUE[values.astype(bool).astype(np.intp)])
    if isinstance(first, float):
        return _floats(np.where(has_reason(values), values, np.nan).astype(float))
    return values


def _first_filled(values: np.ndarray) -> object:
    """The first cell of an object column that is not None (None when there is none).

    Found by NumPy among the column's references read as integers, as the CSV writer tells its
    objects apart (:func:`~spinecheck.landmarks.io.csv_cells.csv_column_chunks`): no Python call per
    cell, where most of a criterion's cells may be empty.

    Examples
    --------
    >>> _first_filled(np.array([None, None, 2.5, True], dtype=object)), _first_filled(np.full(3, None))
    (2.5, None)
    """
    refs = object_references(values)
    filled = refs != id(None)
    k = int(filled.argmax()) if len(refs) else 0
    return values[k] if len(refs) and filled[k] else None


def format_csv_chunks(studies: Study | Sequence[Study]) -> Iterator[str]:
    """The text of :func:`format_csv`, a few thousand rows at a time, for writing as it is made.

    Built a column at a time by :func:`~spinecheck.landmarks.io.csv_cells.csv_column_chunks`.

    Several studies share one header (the union of their columns); a study
    without a column has it empty.
    """
    from ...landmarks.io.csv_cells import csv_column_chunks  # CSV only: the text report does not load it

    tables = [_columns(s) for s in _as_list(studies)]
    header = list(dict.fromkeys(name for t in tables for name in t))
    yield from csv_column_chunks(header, [])  # the header alone
    for study, t in zip(_as_list(studies), tables, strict=True):
        blank = np.full(len(study), None, dtype=object)
        # lateral and AP rows joined apart: each leaves the other view's columns empty
        lateral = np.asarray(study.table.views == View.LATERAL, dtype=bool)
        chunks = csv_column_chunks(header, [t.get(name, blank) for name in header], groups=lateral)
        next(chunks)  # the header, written once
        yield from chunks


def format_csv(studies: Study | Sequence[Study]) -> str:
    """The batch table of one or several studies as CSV text.

    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`~spinecheck.landmarks.io.csv_cells.neutralise_cell`); numbers are not.
    """
    return "".join(format_csv_chunks(studies))


def _as_list(studies: Study | Sequence[Study]) -> Sequence[Study]:
    return [studies] if isinstance(studies, Study) else studies


def write_table_csv(studies: Study | Sequence[Study], path: str | os.PathLike) -> None:
    """Write :func:`format_csv` to *path* atomically (temporary file, then rename)."""
    write_text_atomic(Path(path), format_csv(studies))
