"""The flexion-extension report: JSON (``spinecheck-instability/1``), a text table and a CSV.

One report describes one pair (:class:`~spinecheck.alignment.motion.InstabilityStudy`):
each film's source, patient data and calibration, then one row per motion
segment with each film's translation (mm, px, % of the caudal endplate's depth)
and segmental angle, the change between the films and every criterion's verdict
with its rule, source and evidence status.

``spinecheck-instability/1``::

    {"format": "spinecheck-instability/1", "tool_version": "...",
     "films": {"flexion": {"landmarks", "image", "patient", "calibration"}, "extension": {...}},
     "conventions": {...},
     "segments": [{"segment": "L4-L5", "measured": true,
                   "flexion": {"translation_mm", "translation_px", "translation_pct", "depth_mm",
                               "depth_px", "angle_deg"},
                   "extension": {...},
                   "translation_change_mm", "translation_change_px", "translation_change_pct",
                   "angle_change_deg", "reason",
                   "verdicts": [{"set", "flag", "reason", "criteria": [{"id", "name", "value", "unit",
                                 "flag", "rule", "applied", "reason"}]}]}],
     "sets": [{"name", "title", "status", "sources", "note", "user_supplied"}],
     "warnings": [...]}

A number that is not measured is ``null`` with the reason beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...landmarks.io.csv_cells import csv_text
from ..criteria.instability import InstabilityJudgement
from ..motion import FILMS, InstabilityStudy
from ..parameters import shown_number
from .text import tool_version

__all__ = [
    "INSTABILITY_FORMAT",
    "instability_report",
    "format_instability_table",
    "format_instability_csv",
    "segment_cells",
    "verdict_words",
]

INSTABILITY_FORMAT = "spinecheck-instability/1"

_FILM_MEASURES = ("translation_mm", "translation_px", "translation_pct", "depth_mm", "depth_px", "angle_deg")
_CHANGES = ("translation_change_mm", "translation_change_px", "translation_change_pct", "angle_change_deg")
CONVENTIONS = {
    "translation": "offset of the upper vertebra's posteroinferior corner from the lower vertebra's "
    "posterosuperior corner along the lower vertebra's superior endplate; positive anterior "
    "(anterolisthesis); % of that endplate's depth",
    "angle": "Cobb angle between the upper vertebra's inferior and the lower vertebra's superior endplate; "
    "positive = lordosis",
    "translation_change": "flexion - extension (signed); criteria judge its size",
    "angle_change": "extension - flexion (signed: the sagittal range of motion); criteria judge its size",
    "anterior": "per film, from the S1 superior endplate (post -> ant) or the other endplates",
}


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def verdict_words(flag: object) -> str:
    """``True`` -> "flagged", ``False`` -> "not flagged", None -> "not judged"."""
    return {True: "flagged", False: "not flagged"}.get(flag, "not judged")  # type: ignore[call-overload]


def _set_verdicts(judgements: Sequence[InstabilityJudgement], j: int) -> list[dict]:
    out = []
    for jd in judgements:
        criteria = []
        for v in jd.verdicts:
            if not v.covers[0, j]:
                continue
            row: dict = {"id": v.criterion.id, "name": v.criterion.name, "rule": v.rule[0, j]}
            if v.applied[0, j]:
                row.update(value=_num(v.value[0, j]), unit=v.criterion.measure.unit, flag=bool(v.flag[0, j]))
            else:
                row.update(applied=False, reason=v.reason[0, j])
            row["status"] = v.criterion.status.value
            if v.criterion.sources != jd.info.sources:
                row["source"] = "; ".join(str(s) for s in v.criterion.sources)
            criteria.append(row)
        entry: dict = {"set": jd.info.name, "flag": jd.flagged[0, j]}
        if jd.flagged[0, j] is None:
            entry["reason"] = jd.reason[0, j]
        entry["criteria"] = criteria
        out.append(entry)
    return out


def instability_report(study: InstabilityStudy) -> dict:
    """The ``spinecheck-instability/1`` JSON of a flexion-extension pair."""
    m = study.measurements
    films = {}
    for k, which in enumerate(FILMS):
        t = study.film(which)
        films[which] = {
            "landmarks": study.landmark_sources[k],
            "image": study.image_sources[k],
            "patient": t.patients[0].to_json(),
            "calibration": t.calibrations[0].to_json(),
        }
    segments = []
    for j, name in enumerate(m.names):
        row: dict = {"segment": name, "measured": bool(m.measured[0, j])}
        for which in FILMS:
            fm = getattr(m, which)
            row[which] = {key: _num(getattr(fm, key)[0, j]) for key in _FILM_MEASURES}
            if fm.reason[0, j] is not None:
                row[which]["reason"] = fm.reason[0, j]
        row.update({key: _num(getattr(m, key)[0, j]) for key in _CHANGES})
        row["reason"] = m.reason[0, j]
        row["verdicts"] = _set_verdicts(study.judgements, j)
        segments.append(row)
    return {
        "format": INSTABILITY_FORMAT,
        "tool_version": tool_version(),
        "films": films,
        "conventions": CONVENTIONS,
        "segments": segments,
        "sets": [
            {
                "name": jd.info.name,
                "title": jd.info.title,
                "status": jd.info.status.value,
                "sources": [s.as_dict() for s in jd.info.sources],
                **({"note": jd.info.note} if jd.info.note else {}),
                **({"user_supplied": jd.info.display} if jd.info.user_supplied else {}),
            }
            for jd in study.judgements
        ],
        "warnings": _warnings(study),
    }


def _warnings(study: InstabilityStudy) -> list[str]:
    out = list(study.warnings)
    for which in FILMS:
        t = study.film(which)
        out += [f"{which} film: {w}" for w in t.calibrations[0].warnings]
        if not t.calibrated[0]:
            out.append(
                f"{which} film: no pixel spacing: translations in pixels and % only, no millimetre criterion"
            )
    m = study.measurements
    if np.isfinite(m.translation_change_px).any():
        out.append(
            "neither film is calibrated: the change of translation in pixels assumes one pixel size on both films"
        )
    return list(dict.fromkeys(out))


# ----------------------------------------------------------------------------- text


def _mm(mm: float, px: float, pct: float) -> str:
    if math.isfinite(mm):
        text = f"{shown_number(mm, signed=True)} mm"
    elif math.isfinite(px):
        text = f"{shown_number(px, signed=True)} px"
    else:
        return "—"
    return f"{text} ({shown_number(pct, signed=True)} %)" if math.isfinite(pct) else text


def _deg(x: float, *, signed: bool = False) -> str:
    return f"{shown_number(x, signed=signed)}°" if math.isfinite(x) else "—"


def segment_cells(study: InstabilityStudy, j: int) -> dict[str, str]:
    """The shown values of segment *j*: each film's translation and angle, and the changes."""
    m = study.measurements
    f, e = m.flexion, m.extension
    return {
        "flexion_translation": _mm(f.translation_mm[0, j], f.translation_px[0, j], f.translation_pct[0, j]),
        "extension_translation": _mm(e.translation_mm[0, j], e.translation_px[0, j], e.translation_pct[0, j]),
        "translation_change": _mm(
            m.translation_change_mm[0, j], m.translation_change_px[0, j], m.translation_change_pct[0, j]
        ),
        "flexion_angle": _deg(f.angle_deg[0, j]),
        "extension_angle": _deg(e.angle_deg[0, j]),
        "angle_change": _deg(m.angle_change_deg[0, j], signed=True),
    }


def format_instability_table(study: InstabilityStudy) -> str:
    """The human-readable report of a pair (``spinecheck instability --format table``)."""
    m = study.measurements
    lines = [f"spinecheck {tool_version()} — flexion-extension instability"]
    for k, which in enumerate(FILMS):
        t = study.film(which)
        cal = t.calibrations[0]
        scale = (
            f"{cal.mm_per_px[0]:g} x {cal.mm_per_px[1]:g} mm/px ({cal.source.value}, {cal.plane.value})"
            if cal.mm_per_px
            else "none (pixels only)"
        )
        image = f", image {study.image_sources[k]}" if study.image_sources[k] else ""
        lines.append(f"{which.capitalize():<10} {study.landmark_sources[k]}{image}; calibration {scale}")
    pat = study.flexion.patients[0]
    if pat.age_years is not None:
        lines.append(f"Patient:   age {pat.age_years:g} years ({pat.age_source})")
    heads = (
        "Segment",
        "T flexion",
        "T extension",
        "ΔT (flex-ext)",
        "Angle flex",
        "Angle ext",
        "ΔAngle (ext-flex)",
    )
    rows = []
    notes = []
    for j, name in enumerate(m.names):
        c = segment_cells(study, j)
        rows.append(
            (
                name,
                c["flexion_translation"],
                c["extension_translation"],
                c["translation_change"],
                c["flexion_angle"],
                c["extension_angle"],
                c["angle_change"],
            )
        )
        if m.reason[0, j] is not None:
            notes.append(f"  {name}: not measured: {m.reason[0, j]}")
    widths = [max(len(r[k]) for r in [heads, *rows]) for k in range(len(heads))]
    lines += [
        "",
        "  ".join(
            h.ljust(w) if k == 0 else h.rjust(w) for k, (h, w) in enumerate(zip(heads, widths, strict=True))
        ),
    ]
    for r in rows:
        lines.append(
            "  ".join(
                x.ljust(w) if k == 0 else x.rjust(w) for k, (x, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    lines += notes
    lines += [
        "",
        "T: translation of the upper vertebra on the lower, + anterior (% of the lower endplate's depth);",
    ]
    lines += ["angle: segmental Cobb angle, + lordosis."]
    for jd in study.judgements:
        src = "; ".join(str(s) for s in jd.info.sources)
        lines += [
            "",
            f"Criteria {jd.info.name} [{jd.info.status.value}]: {jd.info.title}",
            f"  source: {src}",
        ]
        for j, name in enumerate(m.names):
            flag = jd.flagged[0, j]
            parts = []
            for v in jd.verdicts:
                if not v.covers[0, j]:
                    continue
                if v.applied[0, j]:
                    unit = v.criterion.measure.unit
                    shown = f"{shown_number(v.value[0, j])}{'°' if unit == 'deg' else ' ' + unit}"
                    parts.append(f"{v.rule[0, j]}: {shown}, {verdict_words(v.flag[0, j])}")
                else:
                    parts.append(f"{v.rule[0, j]}: not applied ({v.reason[0, j]})")
            if parts:
                lines.append(f"  {name}: {verdict_words(flag)} — {'; '.join(parts)}")
            else:
                lines.append(f"  {name}: {jd.reason[0, j]}")
        if jd.info.user_supplied:
            lines.append(f"  ({jd.info.display})")
    warnings = _warnings(study)
    if warnings:
        lines += ["", "Warnings"] + [f"  {w}" for w in warnings]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- CSV


def format_instability_csv(study: InstabilityStudy) -> str:
    """One CSV row per segment: each film's measures, the changes and every set's and criterion's flag.

    Columns: ``segment``, ``flexion_<measure>``, ``extension_<measure>`` (translation_mm,
    translation_px, translation_pct, depth_mm, depth_px, angle_deg), the four changes, ``reason``,
    then per set ``<set>`` (True/False, empty when not judged) and ``<set>_reason``, and per
    criterion ``<set>_<id>`` and ``<set>_<id>_value``; then the files. Numbers are full precision.
    """
    m = study.measurements
    header = ["segment"]
    header += [f"{which}_{key}" for which in FILMS for key in _FILM_MEASURES]
    header += [*_CHANGES, "reason"]
    for jd in study.judgements:
        col = jd.info.name.replace("-", "_").replace(".", "_")
        header += [col, f"{col}_reason"]
        for v in jd.verdicts:
            header += [f"{col}_{v.criterion.id}", f"{col}_{v.criterion.id}_value"]
    header += ["flexion_landmarks", "extension_landmarks", "flexion_image", "extension_image"]
    rows = [header]
    for j, name in enumerate(m.names):
        row: list = [name]
        for which in FILMS:
            fm = getattr(m, which)
            row += [_cell(getattr(fm, key)[0, j]) for key in _FILM_MEASURES]
        row += [_cell(getattr(m, key)[0, j]) for key in _CHANGES]
        row.append(_cell(m.reason[0, j]))
        for jd in study.judgements:
            row += [_cell(jd.flagged[0, j]), _cell(jd.reason[0, j])]
            for v in jd.verdicts:
                row += [_cell(v.flag[0, j]), _cell(v.value[0, j])]
        row += [*study.landmark_sources, *(_cell(s) for s in study.image_sources)]
        rows.append(row)
    return csv_text(rows)  # text cells that a spreadsheet would run are neutralised


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else str(float(value) + 0.0)
    return str(value)
