"""One A4 page for a flexion-extension pair: both films with the segments marked, and the verdict table.

:func:`instability_figure` draws the flexion and the extension film side by
side, each cropped to the measured motion segments and drawn at its own pixel
aspect. On each film every measured segment shows the lower vertebra's
superior endplate (the line the translation is measured along), the upper
vertebra's inferior endplate, and the translation itself: a bracket from the
lower posterosuperior corner to the foot of the upper posteroinferior corner.
Each segment's marks take the colour of its verdict under the first set (the
Okabe–Ito palette of :mod:`~spinecheck.alignment.render.figure`: vermillion
flagged, bluish green not flagged, grey not judged), and the verdict is also
written, so colour is never the only cue.

Beside the films: one row per segment (each film's translation and angle, the
changes), one verdict column per set, then each set's rules, source and
evidence status, both films' provenance and the warnings.

The figure has an Agg canvas (``fig.savefig("x.pdf")`` works without pyplot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ...landmarks.imaging.display import show_film
from ..criteria.instability import InstabilityJudgement
from ..motion import FILMS, InstabilityStudy
from .figure import OKABE_ITO, Verdict
from .instability_report import segment_cells, verdict_words
from .layout import LabelLayout
from .pages import _Page
from .text import tool_version

__all__ = ["instability_figure"]

_A4 = (297 / 25.4, 210 / 25.4)
_MARGIN = 0.35
_INK, _MUTED, _RULE = "#000000", "#555555", "#999999"
_CHAR_EM = 0.56
_LOWER, _UPPER = OKABE_ITO["sky_blue"], OKABE_ITO["reddish_purple"]


def _verdict(flag: object) -> Verdict:
    return {True: Verdict.MARKED, False: Verdict.WITHIN}.get(flag, Verdict.NOT_APPLIED)  # type: ignore[call-overload]


def _crop(study: InstabilityStudy, which: str, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) pixels around the listed segments' corners on one film, with a margin."""
    t = study.film(which)
    placed = [t.point(c)[0] for seg in study.measurements.segments for c in seg.corners()]
    pts = np.array([p for p in placed if np.all(np.isfinite(p))])
    rows, cols = shape[:2]
    if not len(pts):
        return -0.5, cols - 0.5, rows - 0.5, -0.5
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    pad = 0.35 * max(x1 - x0, y1 - y0, 50.0)
    return max(x0 - pad, -0.5), min(x1 + pad, cols - 0.5), min(y1 + pad, rows - 0.5), max(y0 - pad, -0.5)


def _film(
    fig: Figure, text: _Page, image: np.ndarray, study: InstabilityStudy, which: str, box: tuple
) -> None:
    """Draw one film, cropped, with every listed segment marked in its first set's verdict colour."""
    x, top, max_w, max_h = box
    t = study.film(which)
    x0, x1, y0, y1 = _crop(study, which, np.shape(image))
    spacing = t.mm_per_px[0]
    aspect = float(spacing[0] / spacing[1]) if np.all(np.isfinite(spacing)) else 1.0
    ratio = (x1 - x0) / ((y0 - y1) * aspect)
    k = FILMS.index(which)
    name = Path(str(study.image_sources[k] or study.landmark_sources[k])).name
    head, fs = f"{which.capitalize()}: {name}", text.fs + 0.5
    w = min(max_w, max_h * ratio)
    for _ in range(3):  # the film's name, wrapped to the film's width, goes above it: the film gives way
        head_h = len(text.wrap(head, w, fs, "bold")) * text.line_in(fs) + 0.06
        h = min(max_h - head_h, max_w / ratio)
        w = h * ratio
    text.text(x, top, head, w, fs=fs, fontweight="bold")
    top += head_h
    W, H = fig.get_size_inches()
    ax = fig.add_axes((x / W, (H - top - h) / H, w / W, h / H))
    show_film(ax, np.asarray(image))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    m = study.measurements
    fm = getattr(m, which)
    first = study.judgements[0] if study.judgements else None
    labels = []
    for j, seg in enumerate(m.segments):
        p_u, a_u, p_l, a_l = (t.point(c)[0] for c in seg.corners())
        placed = [p for p in (p_u, a_u, p_l, a_l) if np.all(np.isfinite(p))]
        if placed:
            ax.plot(*np.array(placed).T, "o", ms=2.5, mfc=OKABE_ITO["yellow"], mec=_INK, mew=0.3, zorder=4)
        if not fm.measured[0, j]:
            continue
        colour = _verdict(first.flagged[0, j] if first else None).colour
        d = a_l - p_l
        e = d / np.hypot(*d)
        foot = p_l + e * float(np.dot(p_u - p_l, e))
        ax.plot(*np.array([p_l - 0.15 * d, a_l + 0.15 * d]).T, "-", color=_LOWER, lw=1.0, zorder=3)
        ax.plot(*np.array([p_u, a_u]).T, "-", color=_UPPER, lw=1.0, zorder=3)
        ax.plot(*np.array([p_l, foot]).T, "-", color=colour, lw=2.2, solid_capstyle="butt", zorder=5)
        ax.plot(*np.array([p_u, foot]).T, ":", color=colour, lw=0.9, zorder=5)
        mid = (p_l + a_l + p_u + a_u) / 4
        side = -1.0 if (a_l[0] - p_l[0]) > 0 else 1.0  # labels on the posterior side
        labels.append(
            ax.annotate(
                f"{seg.name}  T {segment_cells(study, j)[f'{which}_translation'].split(' (')[0]}",
                xy=(min(p_l[0], p_u[0]) if side < 0 else max(p_l[0], p_u[0]), mid[1]),
                xytext=(6 * side, 0),
                textcoords="offset points",
                ha="right" if side < 0 else "left",
                va="center",
                fontsize=text.fs - 1.5,
                color=_INK,
                bbox=dict(boxstyle="round,pad=0.15", fc="#ffffff", ec=colour, lw=0.8, alpha=0.9),
                zorder=6,
                annotation_clip=False,
            )
        )
    # beside its segment on the posterior side where that is free, else the nearest free place, on the film
    layout = LabelLayout(ax)
    layout.avoid_markers(ax)
    for label in labels:
        layout.place(label)


def _set_head(name: str, status: str) -> str:
    """A set's column head, on two lines: the set's short name, then its year and status."""
    short = name.removeprefix("instability-")
    split = len(short.rstrip("0123456789"))
    if 0 < split < len(short):
        return f"{short[:split]}\n{short[split:]} [{status}]"
    return f"{short}\n[{status}]"


def _rules(jd: InstabilityJudgement, names: tuple[str, ...]) -> str:
    """Each criterion's rules, with the segments of each when they differ by level."""
    parts = []
    for v in jd.verdicts:
        by_rule: dict[str, list[str]] = {}
        for name, rule in zip(names, v.rule[0], strict=True):
            if rule:
                by_rule.setdefault(rule.replace(" deg", "°"), []).append(name)
        if len(by_rule) == 1:
            parts.append(f"{v.criterion.name}: {next(iter(by_rule))}")
        elif by_rule:
            parts.append(
                f"{v.criterion.name}: " + ", ".join(f"{r} ({', '.join(n)})" for r, n in by_rule.items())
            )
    return "; ".join(parts)


def _table(text: _Page, study: InstabilityStudy, x0: float, width: float, y: float, draw: bool) -> float:
    """The per-segment table; returns the y below it."""
    m = study.measurements
    sets = study.judgements
    cols = [
        "Segment",
        "T flexion",
        "T extension",
        "ΔT\n(flex−ext)",
        "Angle\nflex",
        "Angle\next",
        "ΔAngle\n(ext−flex)",
    ]
    cols += [_set_head(jd.info.name, jd.info.status.value) for jd in sets]
    weights = [0.75, 1.2, 1.2, 1.2, 0.72, 0.72, 1.0] + [1.0] * len(sets)
    cw = [width * w_ / sum(weights) for w_ in weights]
    xs = np.cumsum([x0, *cw[:-1]])
    for k, head in enumerate(cols):
        text.text(
            xs[k] + (cw[k] - 0.04 if 0 < k < 7 else (0.08 if k >= 7 else 0)),
            y,
            head,
            fontweight="bold",
            draw=draw,
            ha="right" if 0 < k < 7 else "left",
        )
    y += 2 * text.line_in() + 0.03
    if draw:
        text.rule(x0, x0 + width, y - 0.02, lw=0.8, colour=_INK)
    keys = (
        "flexion_translation",
        "extension_translation",
        "translation_change",
        "flexion_angle",
        "extension_angle",
        "angle_change",
    )
    for j, name in enumerate(m.names):
        top = y + 0.03
        cells = segment_cells(study, j)
        text.text(xs[0], top, name, draw=draw, fontweight="bold")
        heights = [text.line_in()]
        for k, key in enumerate(keys, 1):
            value = cells[key].replace("-", "−")
            heights.append(
                text.text(
                    xs[k] + cw[k] - 0.04,
                    top,
                    value.replace(" (", "\n("),
                    draw=draw,
                    ha="right",
                    fontweight="bold" if key in ("translation_change", "angle_change") else "normal",
                )
            )
        for n, jd in enumerate(sets, 7):
            flag = jd.flagged[0, j]
            left = xs[n] + 0.08  # clear of the right-aligned angle column
            if draw:
                text.swatch(left, top, _verdict(flag))
            words = verdict_words(flag)
            box = text.fs * 1.2 / 72
            heights.append(text.text(left + box, top, words, cw[n] - 0.08 - box, draw=draw))
        y = top + max(heights) + 0.03
        if m.reason[0, j] is not None:
            y += text.text(
                xs[0] + 0.1,
                y,
                f"not measured: {m.reason[0, j]}",
                width - 0.1,
                draw=draw,
                color=_MUTED,
                fs=text.fs - 0.5,
            )
        if draw:
            text.rule(x0, x0 + width, y)
    return y + 0.05


def _body(text: _Page, study: InstabilityStudy, x0: float, width: float, top: float, draw: bool) -> float:
    y = _table(text, study, x0, width, top, draw)
    small = text.fs - 0.5
    y += (
        text.text(
            x0,
            y,
            "T: translation of the upper vertebra's posteroinferior corner on the lower vertebra's superior endplate, "
            "+ anterior (in brackets: % of that endplate's depth); angle: segmental Cobb angle, + lordosis. "
            "Marks on the films: blue the lower superior endplate, purple the upper inferior endplate, the bar the "
            "translation, in the colour of the first set's verdict.",
            width,
            fs=small,
            color=_MUTED,
            draw=draw,
        )
        + 0.05
    )
    for jd in study.judgements:
        rules = _rules(jd, study.measurements.names)
        y += text.text(
            x0,
            y,
            f"{jd.info.name} [{jd.info.status.value}] — {jd.info.title}",
            width,
            fs=small,
            fontweight="bold",
            draw=draw,
        )
        y += text.text(
            x0 + 0.1,
            y,
            f"Rules: {rules or 'none applies to these segments'}",
            width - 0.1,
            fs=small,
            draw=draw,
        )
        y += text.text(
            x0 + 0.1,
            y,
            "Source: " + "; ".join(str(s) for s in jd.info.sources),
            width - 0.1,
            fs=small,
            draw=draw,
        )
        if jd.info.status.value == "U":
            y += text.text(
                x0 + 0.1,
                y,
                "Unverified thresholds: offered as a labelled option, not as fact.",
                width - 0.1,
                fs=small,
                draw=draw,
                color=OKABE_ITO["vermillion"],
            )
        y += 0.04
    for k, which in enumerate(FILMS):
        t = study.film(which)
        cal = t.calibrations[0]
        scale = (
            f"{cal.mm_per_px[0]:g} × {cal.mm_per_px[1]:g} mm/px, {cal.source.value}, {cal.plane.value}"
            if cal.mm_per_px
            else "none — pixels and % only, no millimetre criterion"
        )
        pat = t.patients[0]
        age = f"; age {pat.age_years:g} y ({pat.age_source})" if pat.age_years is not None else ""
        y += text.text(
            x0,
            y,
            f"{which.capitalize()}: {study.landmark_sources[k]}; calibration {scale}{age}",
            width,
            fs=small,
            draw=draw,
        )
    from .instability_report import instability_report

    warnings = instability_report(study)["warnings"]
    if warnings:
        y += 0.04
        y += text.text(x0, y, "Warnings", fs=small, fontweight="bold", draw=draw)
        for w_ in warnings:
            y += text.text(x0, y, f"• {w_}", width, fs=small, draw=draw)
    return y


def instability_figure(
    flexion_image: np.ndarray, extension_image: np.ndarray, study: InstabilityStudy, *, fontsize: float = 7.5
) -> Figure:
    """One A4 landscape page: the flexion and extension films with the segments marked, and the verdicts.

    Parameters
    ----------
    flexion_image, extension_image : ndarray of uint8, shape (rows, cols)
        Display images (bone bright), full resolution: the films the landmarks were placed on.
    study : InstabilityStudy
        From :func:`~spinecheck.alignment.motion.load_instability`.
    fontsize : float
        The table's font size; reduced until the page holds everything.

    Returns
    -------
    matplotlib.figure.Figure
        With an Agg canvas.
    """
    W, H = _A4
    fig = Figure(figsize=_A4, layout=None)
    FigureCanvasAgg(fig)
    text = _Page(fig, fontsize)
    header = 0.62
    top = _MARGIN + header
    films_w = W * 0.40
    film_h = H - top - _MARGIN - 0.3
    x = _MARGIN
    for which, image in zip(FILMS, (flexion_image, extension_image), strict=True):
        _film(fig, text, image, study, which, (x, top, films_w / 2 - 0.1, film_h))
        x += films_w / 2 + 0.1
    x0 = _MARGIN + films_w + 0.35
    width = W - _MARGIN - x0
    bottom = H - _MARGIN - 0.25
    while text.fs > 5.0 and _body(text, study, x0, width, _MARGIN + header, False) > bottom:
        text.fs -= 0.25
    flagged = [
        f"{name} ({', '.join(jd.info.name for jd in study.judgements if jd.flagged[0, j] is True)})"
        for j, name in enumerate(study.measurements.names)
        if any(jd.flagged[0, j] is True for jd in study.judgements)
    ]
    text.text(_MARGIN, _MARGIN - 0.05, "Flexion–extension instability", fs=fontsize + 6, fontweight="bold")
    summary = "flagged: " + "; ".join(flagged) if flagged else "no segment flagged by the chosen sets"
    text.text(_MARGIN, _MARGIN + 0.27, summary, W - 2 * _MARGIN, fs=fontsize + 0.5, color=_MUTED)
    _body(text, study, x0, width, _MARGIN + header, True)
    text.text(
        _MARGIN,
        H - _MARGIN - 0.05,
        f"spinecheck {tool_version()} — measurements from annotated landmarks; check them on the films before "
        "clinical use. Verdict colours: Okabe–Ito colour-blind-safe palette.",
        W - 2 * _MARGIN,
        fs=max(fontsize - 1.5, 5.0),
        color=_MUTED,
    )
    return fig
