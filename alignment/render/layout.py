"""Where the value labels of a figure go: a layout step with collision checks, and its checker.

A label is put where its drawing asks first (beside the angle it names, beyond the
lines it measures); when that place covers a text already placed, a landmark marker
or runs over the edge of its area, :class:`LabelLayout` tries other places around
it and around the point it measures, nearest first, and takes the first free one.
A label that ends up away from what it measures gets a thin leader line to it. Text
extents are measured with the figure's renderer (``Text.get_window_extent``, the
rounded box around the text included), so the check is the one the eye makes on the
saved picture, not an estimate from character counts.

:func:`problems` is the same check on a finished figure, for tests and for anyone
restyling a figure: every text inside the canvas (and inside the film it annotates),
no two texts overlapping, no text over a marker.

All boxes are in display pixels of the figure at its own ``dpi``; positions handed to
Matplotlib stay in the coordinates the label was made with (data, or offset points),
so a figure saved at another ``dpi`` keeps its layout.

Examples
--------
>>> import numpy as np
>>> from matplotlib.figure import Figure
>>> from matplotlib.backends.backend_agg import FigureCanvasAgg
>>> fig = Figure(figsize=(3, 3)); _ = FigureCanvasAgg(fig)
>>> ax = fig.add_axes((0, 0, 1, 1)); _ = ax.set_xlim(0, 100); _ = ax.set_ylim(100, 0); ax.set_axis_off()
>>> _ = ax.plot([50], [50], ls="none", marker="o", ms=6)
>>> layout = LabelLayout(ax)
>>> layout.avoid_markers(ax)
>>> a = layout.place(label(ax, "SVA 45 mm", (50, 50), colour="#E69F00"))
>>> b = layout.place(label(ax, "PT 22°", (50, 50), colour="#E69F00"))
>>> problems(fig)
[]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

__all__ = ["Placement", "LabelLayout", "label", "text_box", "marker_discs", "drawn_texts", "problems"]

#: The box style of a value label: dark, rounded, in the label's colour.
LABEL_BOX = {"boxstyle": "round,pad=0.25", "fc": "#000000", "alpha": 0.75, "lw": 1.0}

# Candidate places, in multiples of the label's own height and width: a label is first moved along
# its preferred side (up and down), then to the other side, then around the point it measures.
_SHIFTS = (0.0, 0.6, -0.6, 1.2, -1.2, 1.8, -1.8, 2.4, -2.4, 3.2, -3.2, 4.0, -4.0, 5.0, -5.0, 6.5, -6.5)
_RING_RADII = (1.0, 1.6, 2.4, 3.4, 4.6, 6.0, 8.0, 10.5, 14.0)
_RING_ANGLES = 24


def renderer_of(fig: Figure | SubFigure) -> RendererBase:
    """The renderer that measures *fig*'s texts (its canvas's, or a temporary Agg one)."""
    root = fig.get_figure(root=True) if isinstance(fig, SubFigure) else fig
    canvas = root.canvas
    get = getattr(canvas, "get_renderer", None)
    if get is not None:
        return get()
    return root._get_renderer()  # type: ignore[attr-defined]  # a canvas without one (a notebook's)


def text_box(text: Text, renderer: RendererBase) -> Bbox:
    """The display extent of *text* as drawn: its glyphs and its rounded box, if it has one.

    Parameters
    ----------
    text : matplotlib.text.Text
    renderer : RendererBase

    Returns
    -------
    matplotlib.transforms.Bbox
        Display pixels (origin bottom-left).
    """
    if isinstance(text, Annotation):
        text.update_positions(renderer)  # an annotation's text is put in display pixels when drawn
    box = Text.get_window_extent(text, renderer)
    patch = text.get_bbox_patch()
    if patch is None:
        return box
    text.update_bbox_position_size(renderer)
    return Bbox.union([box, patch.get_window_extent(renderer)])


def label(
    ax: Axes,
    text: str,
    anchor: Sequence[float],
    *,
    colour: str,
    at: Sequence[float] | None = None,
    fontsize: float = 8.0,
    ha: str = "left",
    va: str = "center",
    zorder: float = 6,
    box: bool = True,
) -> Annotation:
    """A value label for *ax*: bold text in *colour*, on a dark rounded box edged in *colour*.

    Parameters
    ----------
    ax : Axes
    text : str
    anchor : (x, y)
        Data coordinates of what the label measures (the end of a leader line).
    colour : str
    at : (x, y), optional
        Data coordinates of the text, aligned by *ha* and *va*; default *anchor*.
    fontsize : float
        Points.
    ha, va : str
        Alignment of the text on *at*.
    zorder : float
    box : bool
        False: no box (a plain text).

    Returns
    -------
    matplotlib.text.Annotation
        Not yet placed: hand it to :meth:`LabelLayout.place`.
    """
    where = anchor if at is None else at
    return ax.annotate(
        text,
        xy=(float(anchor[0]), float(anchor[1])),
        xytext=(float(where[0]), float(where[1])),
        textcoords="data",
        ha=ha,
        va=va,
        color=colour,
        fontsize=fontsize,
        fontweight="bold",
        zorder=zorder,
        bbox={**LABEL_BOX, "ec": colour} if box else None,
        annotation_clip=False,
    )


@dataclass(frozen=True)
class Placement:
    """Where :meth:`LabelLayout.place` put a label.

    Attributes
    ----------
    box : Bbox
        Its display extent, box included.
    free : bool
        True when it covers nothing and lies inside the area; False when no
        candidate place was free (it is left at the least bad one).
    moved_px : float
        How far it was moved from where its drawing put it, display pixels.
    leader : bool
        Whether a leader line joins it to what it measures.
    """

    box: Bbox
    free: bool
    moved_px: float
    leader: bool


class LabelLayout:
    """Places the labels of one Axes, one after another, clear of each other and of markers.

    Parameters
    ----------
    ax : Axes
        The axes the labels belong to.
    area : Bbox, optional
        Display pixels a label must stay inside; default the axes' extent,
        within the figure.
    gap_pt : float
        Clearance kept around every obstacle, points.
    renderer : RendererBase, optional
        Default the figure's (:func:`renderer_of`).

    Notes
    -----
    Obstacles are boxes (texts) and discs (markers) in display pixels. A label's
    candidate places are its drawn place shifted along its side (by
    multiples of 0.6 of its height, alternately up and down), the mirror place on
    the other side of what it measures, then a ring of places around what it
    measures at growing distances; the nearest free one to the drawn place wins.
    The candidates are tested together with NumPy (a few hundred boxes against
    the obstacles per label).
    """

    def __init__(
        self,
        ax: Axes,
        *,
        area: Bbox | None = None,
        gap_pt: float = 1.5,
        renderer: RendererBase | None = None,
    ) -> None:
        self.ax = ax
        fig = ax.get_figure(root=True)
        assert fig is not None
        self.fig = fig
        self.renderer = renderer if renderer is not None else renderer_of(fig)
        self.px_per_pt = fig.dpi / 72.0
        self.gap = gap_pt * self.px_per_pt
        if area is None:
            inside = Bbox.intersection(ax.get_window_extent(self.renderer), fig.bbox)
            area = Bbox(inside.get_points()) if inside is not None else Bbox(fig.bbox.get_points())
        self.area: Bbox = area
        self._boxes: list[tuple[float, float, float, float]] = []
        self._discs: list[tuple[float, float, float]] = []
        self.placed: list[tuple[Annotation, Placement]] = []

    # -- obstacles
    def avoid_box(self, box: Bbox) -> None:
        """Keep labels off *box* (display pixels)."""
        self._boxes.append((box.x0, box.y0, box.x1, box.y1))

    def avoid_texts(self, texts: Iterable[Text]) -> None:
        """Keep labels off these texts (as drawn now)."""
        for t in texts:
            if t.get_visible() and t.get_text():
                self.avoid_box(text_box(t, self.renderer))

    def avoid_markers(self, ax: Axes | None = None) -> None:
        """Keep labels off every marker drawn on *ax* (default the layout's axes) so far."""
        for x, y, r in marker_discs(ax if ax is not None else self.ax):
            self._discs.append((x, y, r))

    # -- placing
    def place(self, ann: Annotation, *, leader: bool = True) -> Placement:
        """Move *ann* to the nearest free place to where it was drawn, and keep it as an obstacle.

        Parameters
        ----------
        ann : Annotation
            A label made with :func:`label` (or any annotation whose text is in
            ``"data"`` or ``"offset points"`` coordinates).
        leader : bool
            Draw a thin line in the label's colour from the label to the point it
            measures when the label ends up away from it.

        Returns
        -------
        Placement
        """
        box0 = text_box(ann, self.renderer)
        w, h = box0.width, box0.height
        anchor = self.ax.transData.transform(np.asarray(ann.xy, dtype=float))
        lower_left = self._candidates(box0, anchor)
        cost = self._cost(lower_left, w, h)
        moved = np.hypot(lower_left[:, 0] - box0.x0, lower_left[:, 1] - box0.y0)
        free = cost <= 0
        k = int(np.argmin(np.where(free, moved, np.inf))) if free.any() else int(np.argmin(cost))
        dx, dy = float(lower_left[k, 0] - box0.x0), float(lower_left[k, 1] - box0.y0)
        self._shift(ann, dx, dy)
        box = Bbox.from_bounds(lower_left[k, 0], lower_left[k, 1], w, h)
        self.avoid_box(box)
        far = _distance_to_box(anchor, box) > max(0.6 * h, 4 * self.px_per_pt)
        if leader and far:
            self._leader(ann, anchor, box)
        placed = Placement(box, bool(free[k]), math.hypot(dx, dy), bool(leader and far))
        self.placed.append((ann, placed))
        return placed

    def _candidates(self, box: Bbox, anchor: np.ndarray) -> np.ndarray:
        """Lower-left corners of the candidate boxes, display pixels, shape (K, 2), drawn place first."""
        w, h = box.width, box.height
        x0, y0 = box.x0, box.y0
        shifts = np.asarray(_SHIFTS) * h
        along = np.stack([np.full_like(shifts, x0), y0 + shifts], axis=1)
        # the mirror place: the box on the other side of what it measures, at the same distance
        cx = box.x0 + w / 2
        mirror_x = 2 * anchor[0] - cx - w / 2
        mirror = np.stack([np.full_like(shifts, mirror_x), y0 + shifts], axis=1)
        # angles in mirror pairs (θ, π − θ), so a mirrored film breaks ties the mirrored way
        half = np.linspace(-math.pi / 2, math.pi / 2, _RING_ANGLES // 2 + 1)
        t = np.stack([half, math.pi - half], axis=1).ravel()
        rings = []
        for r in _RING_RADII:
            # centres on an ellipse around the anchor, wide enough for the box to clear it
            cxs = anchor[0] + np.cos(t) * (w / 2 + r * h)
            cys = anchor[1] + np.sin(t) * (h / 2 + r * h * 0.6)
            rings.append(np.stack([cxs - w / 2, cys - h / 2], axis=1))
        # and along the drawn place's side, sliding inward (a label beyond the edge of the area)
        inward = np.stack(
            [
                np.clip(np.full_like(shifts, x0), self.area.x0 + self.gap, self.area.x1 - self.gap - w),
                np.clip(y0 + shifts, self.area.y0 + self.gap, self.area.y1 - self.gap - h),
            ],
            axis=1,
        )
        return np.concatenate([along, inward, mirror, *rings])

    def _cost(self, ll: np.ndarray, w: float, h: float) -> np.ndarray:
        """For each candidate box: 0 when free, else how much it covers (pixels squared, plus outside area)."""
        g = self.gap
        x0, y0 = ll[:, 0:1], ll[:, 1:2]
        x1, y1 = x0 + w, y0 + h
        cost = np.zeros(len(ll))
        a = self.area
        outside = (
            np.maximum(0, a.x0 - x0)
            + np.maximum(0, x1 - a.x1)
            + np.maximum(0, a.y0 - y0)
            + np.maximum(0, y1 - a.y1)
        )[:, 0]
        cost += outside * h * 100
        if self._boxes:
            b = np.asarray(self._boxes)
            ox = np.clip(np.minimum(x1, b[:, 2] + g) - np.maximum(x0, b[:, 0] - g), 0, None)
            oy = np.clip(np.minimum(y1, b[:, 3] + g) - np.maximum(y0, b[:, 1] - g), 0, None)
            cost += (ox * oy).sum(axis=1)
        if self._discs:
            d = np.asarray(self._discs)
            nx = np.clip(d[:, 0], x0, x1) - d[:, 0]
            ny = np.clip(d[:, 1], y0, y1) - d[:, 1]
            inside = np.hypot(nx, ny) < d[:, 2] + g
            cost += inside.sum(axis=1) * (h * h)
        return cost

    def _shift(self, ann: Annotation, dx: float, dy: float) -> None:
        """Move the text of *ann* by (dx, dy) display pixels, in the coordinates it was made in."""
        coords = ann.anncoords if isinstance(ann, Annotation) else "data"
        x, y = ann.xyann if isinstance(ann, Annotation) else ann.get_position()
        if coords == "data":
            disp = self.ax.transData.transform((x, y)) + (dx, dy)
            new = tuple(self.ax.transData.inverted().transform(disp))
        elif coords == "offset points":
            new = (x + dx / self.px_per_pt, y + dy / self.px_per_pt)
        elif coords == "offset pixels":
            new = (x + dx, y + dy)
        else:
            raise ValueError(f"label layout: text coordinates {coords!r} are not supported")
        if isinstance(ann, Annotation):
            ann.xyann = new
        else:
            ann.set_position(new)

    def _leader(self, ann: Annotation, anchor: np.ndarray, box: Bbox) -> None:
        """A thin line from the nearest point of *box* to *anchor*, under the label."""
        near = np.array([np.clip(anchor[0], box.x0, box.x1), np.clip(anchor[1], box.y0, box.y1)])
        ends = self.ax.transData.inverted().transform(np.array([near, anchor]))
        self.ax.plot(
            ends[:, 0],
            ends[:, 1],
            color=ann.get_color(),
            lw=0.9,
            zorder=ann.get_zorder() - 0.5,
            solid_capstyle="round",
        )


def _distance_to_box(p: np.ndarray, box: Bbox) -> float:
    dx = max(box.x0 - p[0], 0.0, p[0] - box.x1)
    dy = max(box.y0 - p[1], 0.0, p[1] - box.y1)
    return math.hypot(dx, dy)


# ----------------------------------------------------------------------------- the checker


def marker_discs(ax: Axes) -> list[tuple[float, float, float]]:
    """Every marker drawn on *ax*: ``(x, y, radius)`` in display pixels.

    Markers are the vertices of lines drawn with a marker (landmark dots, the
    body centres, the hip axis); the radius is half the marker size plus its edge.
    """
    fig = ax.get_figure(root=True)
    assert fig is not None
    px_per_pt = fig.dpi / 72.0
    out: list[tuple[float, float, float]] = []
    for line in ax.lines:
        marker = line.get_marker()
        if not line.get_visible() or marker in (None, "", "None", " ", "none"):
            continue
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if not len(xy):
            continue
        r = (line.get_markersize() / 2 + line.get_markeredgewidth() / 2) * px_per_pt
        for x, y in line.get_transform().transform(xy):
            out.append((float(x), float(y), r))
    return out


def drawn_texts(fig: Figure | SubFigure) -> list[Text]:
    """The texts *fig* draws: its own, each axes' texts, titles and legends, visible and not empty."""
    found: list[Text] = list(fig.texts)
    legends: list[Legend] = list(getattr(fig, "legends", []))
    for sub in getattr(fig, "subfigs", []):
        found += drawn_texts(sub)
    for ax in fig.axes:
        found += ax.texts
        found += [ax.title, ax._left_title, ax._right_title]  # type: ignore[attr-defined]
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                if axis.get_visible():
                    found.append(axis.label)
                    lo, hi = sorted(axis.get_view_interval())
                    for tick in axis.get_major_ticks():
                        if lo <= tick.get_loc() <= hi and tick.get_visible():
                            found += [tick.label1, tick.label2]
        legends += [a for a in ax.artists if isinstance(a, Legend)]
        own = ax.get_legend()
        if own is not None:
            legends.append(own)
    for leg in dict.fromkeys(legends):  # one legend may be both the axes' and an artist
        if leg.get_visible():
            found += [leg.get_title(), *leg.get_texts()]
    return [t for t in dict.fromkeys(found) if t.get_visible() and t.get_text().strip()]


def _describe(t: Text) -> str:
    return repr(t.get_text().replace("\n", " / ")[:60])


def problems(fig: Figure, *, tolerance_px: float = 0.5) -> list[str]:
    """What a reader would see wrong with the texts of *fig*, one line each; empty when none.

    Checked on the figure as it is now, at its own ``dpi``, by measured extents
    (:func:`text_box`):

    - a text that runs outside the canvas;
    - a text on a film (an axes showing an image) that runs outside that film's axes;
    - two texts that overlap;
    - a text that covers a marker (a landmark dot, a body centre) of any axes.

    Parameters
    ----------
    fig : Figure
    tolerance_px : float
        Overlaps smaller than this (display pixels) are not counted.

    Returns
    -------
    list of str
    """
    renderer = renderer_of(fig)
    fig.draw_without_rendering()
    texts = drawn_texts(fig)
    boxes = [text_box(t, renderer) for t in texts]
    canvas = fig.bbox
    tol = tolerance_px
    out: list[str] = []
    for t, b in zip(texts, boxes, strict=True):
        if (
            b.x0 < canvas.x0 - tol
            or b.y0 < canvas.y0 - tol
            or b.x1 > canvas.x1 + tol
            or b.y1 > canvas.y1 + tol
        ):
            out.append(f"text {_describe(t)} runs outside the canvas")
            continue
        ax = t.axes
        if ax is not None and ax.images and t in ax.texts:
            a = ax.get_window_extent(renderer)
            if b.x0 < a.x0 - tol or b.y0 < a.y0 - tol or b.x1 > a.x1 + tol or b.y1 > a.y1 + tol:
                out.append(f"text {_describe(t)} runs outside its film")
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = boxes[i], boxes[j]
            if min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol:
                out.append(f"texts {_describe(texts[i])} and {_describe(texts[j])} overlap")
    discs = [d for ax in fig.axes for d in marker_discs(ax)]
    for t, b in zip(texts, boxes, strict=True):
        covered = sum(
            1
            for x, y, r in discs
            if math.hypot(min(max(x, b.x0), b.x1) - x, min(max(y, b.y0), b.y1) - y) < r - tol
        )
        if covered:
            out.append(f"text {_describe(t)} covers {covered} marker{'s' if covered > 1 else ''}")
    return out
