"""The annotation window: a Matplotlib view and controller over an :class:`~.session.AnnotationSession`.

The film is drawn once, downsampled to at most ``max_display_rows`` rows, with
``imshow(extent=...)`` in *original* pixel coordinates, so a click at data
``(x, y)`` is the point ``(x, y)`` of the film (x = column, y = row, origin at
the centre of the top-left pixel, y down); zoomed in, the visible part is drawn
at full resolution on top. Above the film: the step, the prompt and a hint;
beside it: the list of steps, the live parameters (an injected function, so
``landmarks`` never imports ``alignment``) and the keys of :data:`KEYS`; below
it: where the file was saved and what the last action did.

Only Matplotlib's object-oriented API is used; :mod:`matplotlib.pyplot` is
imported only to close a pyplot window on ``q``.
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, SpinecheckError
from ..imaging.display import DEFAULT_MAX_DISPLAY_ROWS, show_film
from .session import AnnotationSession, LiveParameters

__all__ = ["AnnotationWindow", "KEYS", "DEFAULT_MAX_DISPLAY_ROWS"]

_log = logging.getLogger(__name__)

#: The keys of the window, as shown in it and in ``spinecheck annotate --help``.
KEYS: tuple[tuple[str, str], ...] = (
    ("left click", "place the point asked for"),
    ("right click, z, backspace", "undo"),
    ("n, s", "skip this point (not visible / not needed)"),
    ("enter, a", "accept the refined point"),
    ("k", "keep my click (undo the refinement)"),
    ("r", "re-place a point: press r, then click near it"),
    ("d", "fill the points the landmark model finds (AP films), to check"),
    ("left / right arrow", "previous / next point of the list"),
    ("esc", "cancel re-placing"),
    ("scroll, + / -", "zoom in / out about the cursor"),
    ("h", "whole film"),
    ("p / o", "pan / zoom-box tool (press again to click points)"),
    ("l", "show / hide point labels"),
    ("q", "save and quit"),
)

#: Screen pixels within which ``r`` + click picks a placed point.
_PICK_RADIUS_PX = 30.0

#: Okabe–Ito colours (as in the figures): landmarks, raw click, refined point, errors, circles.
_YELLOW, _SKY, _ORANGE, _VERMILLION, _PURPLE = ("#F0E442", "#56B4E9", "#E69F00", "#D55E00", "#CC79A7")
#: A whole-spine film is drawn from at most this many rows (as in the figures).
_ZOOM_STEP = 1.25
#: Zoomed in until the visible part of the film has at most this many times the overview's pixels, the
#: visible part is drawn at full resolution on top of the overview.
_DETAIL_OVERVIEWS = 4
_LIST_LINES = 13
_HINT_WIDTH = 105
_PANEL_WIDTH = 66
_REVIEW_WIDTH = 48  # characters a line in the callout beside a point


class _DropAspectNotice(logging.Filter):
    """Drop Matplotlib's notice that fixed limits are widened to keep the aspect: the window wants exactly that."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Ignoring fixed")


_ASPECT_NOTICE = _DropAspectNotice()
_MPL_AXES_LOG = "matplotlib.axes._base"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _two_lines(text: str, width: int) -> str:
    """*text* in at most two lines of *width*, the second indented under the value, then clipped."""
    if len(text) <= width:
        return text
    first, _, rest = text[:width].rpartition(" ")
    if not first.strip():
        return _clip(text, width)
    rest = text[len(first) + 1 :]
    return first + "\n" + _clip(" " * 10 + rest, width)


class AnnotationWindow:
    """A Matplotlib window over an :class:`AnnotationSession`.

    Parameters
    ----------
    session : AnnotationSession
    image : ndarray of uint8, shape (rows, columns)
        The display image (bone bright), full resolution.
    live : callable, optional
        ``live(landmarks, calibration) -> lines`` (see
        :func:`spinecheck.alignment.render.live.live_parameters`); called after every change.
    figure : matplotlib.figure.Figure, optional
        The figure to draw in (a pyplot figure for a real window); by default
        a new figure on the Agg canvas (tests, notebooks).
    max_display_rows : int or None
        The overview is downsampled to at most this many rows; zooming in
        shows the full resolution.
    on_quit : callable, optional
        Called by ``q`` after saving; by default the figure is closed.

    Notes
    -----
    The axes are in original pixel coordinates whatever the display
    resolution, so a click at data ``(x, y)`` is the point ``(x, y)`` of the
    film. Clicks while the toolbar's pan or zoom tool is active, double
    clicks and clicks outside the film place nothing.
    """

    def __init__(
        self,
        session: AnnotationSession,
        image: np.ndarray,
        *,
        live: LiveParameters | None = None,
        figure: Any = None,
        max_display_rows: int | None = DEFAULT_MAX_DISPLAY_ROWS,
        on_quit: Callable[[], None] | None = None,
    ) -> None:
        from matplotlib.figure import Figure

        self.session = session
        self.image = np.asarray(image)
        if self.image.ndim != 2:
            raise InvalidArgumentError.about(
                "image",
                "AnnotationWindow: {image} must be 2-D (rows, columns); got {got}",
                got=self.image.shape,
            )
        self.rows, self.columns = self.image.shape
        self.live = live
        self.on_quit = on_quit
        self.max_display_rows = max_display_rows
        self.message = ""
        self.message_is_error = False
        self.picking = False
        self.show_labels = True
        self.closed = False
        if figure is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            figure = Figure(figsize=(14, 9))
            FigureCanvasAgg(figure)
        self.figure = figure
        canvas = figure.canvas
        manager = getattr(canvas, "manager", None)
        handler = getattr(manager, "key_press_handler_id", None)
        if handler is not None:
            # Matplotlib's own keys (s = save figure, k/l = log scale, q = close...) clash with ours
            canvas.mpl_disconnect(handler)
        if manager is not None:
            name = Path(session.image_ref.path).name if session.image_ref.path else "film"
            manager.set_window_title(
                f"spinecheck annotate: {name} ({session.protocol.name}) \u2192 {session.path}"
            )
        logging.getLogger(_MPL_AXES_LOG).addFilter(_ASPECT_NOTICE)
        self._build()
        self._cids = [
            canvas.mpl_connect("button_press_event", self._on_press),
            canvas.mpl_connect("key_press_event", self._on_key),
            canvas.mpl_connect("scroll_event", self._on_scroll),
            canvas.mpl_connect("close_event", self._on_close),
        ]
        if session.resumed:
            placed, skipped, todo = session.counts()
            self._say(f"resumed {session.path.name}: {placed} placed, {skipped} skipped, {todo} to do")
        self.refresh()

    # ------------------------------------------------------------------------------------------ layout

    def _build(self) -> None:
        fig = self.figure
        ax = fig.add_axes((0.01, 0.05, 0.6, 0.81))
        self.ax = ax
        k = show_film(ax, self.image, self.max_display_rows)
        self._k = k
        self._overview_size = math.ceil(self.rows / k) * math.ceil(self.columns / k)
        self._detail = ax.imshow(
            np.zeros((1, 1), dtype=np.uint8),
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=(-0.5, 0.5, 0.5, -0.5),
            interpolation="nearest",
            zorder=0.5,
            visible=False,
        )
        cal = self.session.effective_calibration
        spacing = cal.mm_per_px if cal is not None else None
        # the axes keep their box and the limits grow to keep the aspect: the film fills the space
        ax.set_aspect(spacing[0] / spacing[1] if spacing else 1.0, adjustable="datalim")
        self.home()
        ax.set_xticks([])
        ax.set_yticks([])
        ax.callbacks.connect("xlim_changed", self._on_limits)
        ax.callbacks.connect("ylim_changed", self._on_limits)
        (self._dots,) = ax.plot([], [], "o", ms=5, mfc=_YELLOW, mec="black", mew=0.6, zorder=4)
        (self._click_marker,) = ax.plot([], [], "x", ms=9, mew=2, color=_SKY, zorder=5)
        (self._refined_marker,) = ax.plot([], [], "o", ms=11, mfc="none", mec=_ORANGE, mew=2, zorder=5)
        (self._move_line,) = ax.plot([], [], "--", lw=1.2, color=_ORANGE, zorder=5)
        (self._target,) = ax.plot([], [], "o", ms=18, mfc="none", mec=_VERMILLION, mew=2, zorder=5)
        self._labels: list[Any] = []
        self._circles: list[Any] = []
        self._review_text = ax.annotate(
            "",
            (0, 0),
            xytext=(10, -12),
            textcoords="offset points",
            fontsize=8,
            color="black",
            bbox={"boxstyle": "round", "fc": _ORANGE, "alpha": 0.85},
            zorder=6,
            visible=False,
            annotation_clip=True,
            clip_on=True,
        )
        self._step_text = fig.text(0.01, 0.985, "", fontsize=11, va="top", color="#444444")
        self._prompt = fig.text(0.01, 0.955, "", fontsize=15, weight="bold", va="top")
        self._hint = fig.text(0.01, 0.915, "", fontsize=10, va="top", color="#444444")
        self._status = fig.text(0.01, 0.012, "", fontsize=9, va="bottom", family="monospace")
        panel = fig.add_axes((0.63, 0.05, 0.36, 0.83))
        panel.set_axis_off()
        self._panel = panel
        self._list = panel.text(0, 1, "", va="top", fontsize=8, family="monospace", transform=panel.transAxes)
        keys = "\n".join(f"{k:<26}{what}" for k, what in KEYS)
        panel.text(
            0, 0, "Keys\n" + keys, va="bottom", fontsize=8, family="monospace", transform=panel.transAxes
        )

    def home(self) -> None:
        """Show the whole film."""
        self.ax.set_xlim(-0.5, self.columns - 0.5)
        self.ax.set_ylim(self.rows - 0.5, -0.5)

    # ------------------------------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        """Redraw the prompt, points, review, list, parameters and status from the session."""
        s = self.session
        self._draw_prompt()
        pts = s.points
        xy = np.array(list(pts.values()), dtype=float).reshape(-1, 2)
        self._dots.set_data(xy[:, 0], xy[:, 1])
        for t in self._labels:
            t.remove()
        self._labels = []
        if self.show_labels:
            for name, (x, y) in pts.items():
                self._labels.append(
                    self.ax.annotate(
                        name,
                        (x, y),
                        xytext=(5, 3),
                        textcoords="offset points",
                        fontsize=7,
                        color=_YELLOW,
                        zorder=4,
                        annotation_clip=True,
                    )
                )
        for c in self._circles:
            c.remove()
        from matplotlib.patches import Circle as CirclePatch

        self._circles = [
            self.ax.add_patch(CirclePatch(c.center, c.radius, fill=False, ec=_PURPLE, lw=1.5, zorder=3))
            for c in s.circles.values()
        ]
        self._draw_review()
        current = s.current
        if current is not None and current.name in pts:
            self._target.set_data([pts[current.name][0]], [pts[current.name][1]])
        else:
            self._target.set_data([], [])
        params = self._params_text()
        self._list.set_text(self._list_text() + ("\n\n" + params if params else ""))
        self._draw_status()
        self.figure.canvas.draw_idle()

    def _draw_prompt(self) -> None:
        s = self.session
        step = s.current
        placed, skipped, todo = s.counts()
        progress = f"{placed} placed · {skipped} skipped · {todo} to do"
        if self.picking:
            self._step_text.set_text(f"Re-place a point   ({progress})")
            self._prompt.set_text("Click near the point you want to re-place")
            self._hint.set_text("esc cancels")
            return
        if step is None:
            self._step_text.set_text(f"All done   ({progress})")
            self._prompt.set_text("Every point is placed or skipped: press q to save and quit")
            self._hint.set_text(
                "r re-places a point (press r, then click near it); the file is already saved"
            )
            return
        i = s.index
        where = f"Point {i + 1} of {len(s.protocol)}" if i is not None else "Extra point"
        again = "  (re-placing)" if step.name in s.points else ""
        self._step_text.set_text(f"{where}: {step.name}{again}   ({progress})")
        self._prompt.set_text(step.prompt)
        hint = step.hint
        side = s.anterior_side()
        if side is not None:
            hint = f"{hint}  [front = {side}]" if hint else f"[front = {side}]"
        used = f"Needed for {', '.join(step.used_for)}. " if step.used_for else ""
        optional = "Optional. " if step.optional else ""
        self._hint.set_text(textwrap.fill(f"{optional}{used}{hint}   (n skips)", _HINT_WIDTH))

    def _draw_review(self) -> None:
        r = self.session.review
        if r is None or (r.refined is None and not r.applies and not r.kept):
            for line in (self._click_marker, self._refined_marker, self._move_line):
                line.set_data([], [])
            self._review_text.set_visible(False)
            return
        self._click_marker.set_data([r.click[0]], [r.click[1]])
        refined = r.refined
        if refined is not None:
            move = r.moves[r.name]
            self._refined_marker.set_data([refined[0]], [refined[1]])
            self._move_line.set_data([r.click[0], refined[0]], [r.click[1], refined[1]])
            text = f"refined {move.distance_px:.1f} px, confidence {move.confidence:.2f} (k keeps your click)"
            anchor = refined
        else:
            self._refined_marker.set_data([], [])
            self._move_line.set_data([], [])
            why = r.failure or "the refiner found nothing"
            text = "your click (kept)" if r.kept else textwrap.fill(f"not refined: {why}", _REVIEW_WIDTH)
            anchor = r.click
        self._review_text.xy = anchor
        self._review_text.set_text(text)
        self._review_text.set_visible(True)

    def _list_text(self) -> str:
        s = self.session
        steps = s.protocol.steps
        current = s.current
        i = s.index if s.index is not None else (len(steps) if current is None else 0)
        lo = max(0, min(i - _LIST_LINES // 2, len(steps) - _LIST_LINES))
        lines = [f"{s.protocol.title}"]
        for step in steps[lo : lo + _LIST_LINES]:
            if current is not None and step.name == current.name:
                mark = "\u25b6"
            elif step.name in s.points:
                mark = "\u2713"
            elif step.name in s.skipped:
                mark = "\u2013"
            else:
                mark = "\u00b7"
            tail = " (skipped)" if step.name in s.skipped else (" (optional)" if step.optional else "")
            lines.append(f" {mark} {step.name}{tail}")
        hidden = len(steps) - _LIST_LINES
        if hidden > 0:
            lines.append(f"   … {len(steps)} points in all (\u2190/\u2192 to move)")
        extra = [n for n in s.points if n not in s.protocol]
        if extra:
            lines.append(f"   + {len(extra)} other point(s) in the file")
        return "\n".join(lines)

    def _params_text(self) -> str:
        if self.live is None:
            return ""
        try:
            lines = list(self.live(self.session.landmarks, self.session.effective_calibration))
        except (SpinecheckError, ValueError) as e:
            lines = [f"not computable: {e}"]
        return "Parameters (live)\n" + "\n".join(_two_lines(f" {line}", _PANEL_WIDTH) for line in lines)

    def _draw_status(self) -> None:
        s = self.session
        name = s.path.name  # the whole path is in the window's title and was printed at the start
        if s.dirty:
            saved = f"NOT SAVED \u2192 {name}"
        elif s.saved_at is not None:
            saved = f"saved {s.saved_at:%H:%M:%S} \u2192 {name}"
        else:
            saved = f"not saved yet \u2192 {name}"
        text = f"{saved}    {self.message}" if self.message else saved
        # one line, clipped to the window's width (monospace at 9 pt: about 0.6 x 9 pt a character)
        self._status.set_text(_clip(text, max(40, int(self.figure.get_figwidth() * 72 / (0.6 * 9)) - 2)))
        self._status.set_color(_VERMILLION if self.message_is_error or s.dirty else "black")

    def _say(self, message: str, *, error: bool = False) -> None:
        self.message = message
        self.message_is_error = error

    def _on_limits(self, _ax: Any) -> None:
        if self._k == 1:
            return
        x0, x1 = sorted(self.ax.get_xlim())
        y0, y1 = sorted(self.ax.get_ylim())
        c0, c1 = max(0, math.floor(x0 + 0.5)), min(self.columns, math.ceil(x1 + 0.5))
        r0, r1 = max(0, math.floor(y0 + 0.5)), min(self.rows, math.ceil(y1 + 0.5))
        # drawn once it adds resolution, and never more than a few overviews' worth of pixels
        if c1 <= c0 or r1 <= r0 or (r1 - r0) * (c1 - c0) > _DETAIL_OVERVIEWS * self._overview_size:
            self._detail.set_visible(False)
            return
        self._detail.set_data(self.image[r0:r1, c0:c1])
        self._detail.set_extent((c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5))
        self._detail.set_visible(True)

    # ------------------------------------------------------------------------------------------ events

    def _toolbar_busy(self) -> bool:
        canvas = self.figure.canvas
        toolbar = getattr(canvas, "toolbar", None)
        mode = getattr(toolbar, "mode", None)
        return bool(mode) or canvas.widgetlock.locked()

    def click(self, xy: tuple[float, float]) -> None:
        """A left click at data ``(x, y)`` on the film: place the current point (or pick one to re-place)."""
        x, y = xy
        if not (-0.5 <= x <= self.columns - 0.5 and -0.5 <= y <= self.rows - 0.5):
            self._say("that click is outside the film: nothing placed", error=True)
            return
        s = self.session
        if self.picking:
            self.picking = False
            disp = self.ax.transData.transform(np.array(list(s.points.values()), dtype=float).reshape(-1, 2))
            at = self.ax.transData.transform((x, y))
            d = np.hypot(*(disp - at).T) if len(disp) else np.array([])
            if not len(d) or d.min() > _PICK_RADIUS_PX:
                self._say("no placed point near that click: press r and click closer to a point", error=True)
                return
            self._say(s.goto(list(s.points)[int(d.argmin())]))
            return
        if s.current is None:
            self._say("every point is done: press q to save and quit, or r to re-place a point")
            return
        self._say(s.place((x, y)))

    def _on_press(self, event: Any) -> None:
        if event.inaxes is not self.ax:
            if event.inaxes is not None or event.button == 1:
                self._say("click on the film to place a point", error=True)
                self.refresh()
            return
        if self._toolbar_busy():
            self._say("the toolbar's pan/zoom tool is on: click it again (or press p / o) to place points")
            self.refresh()
            return
        if event.dblclick:
            return  # the first press of the double click already placed the point
        self._guarded(lambda: self._press(event))

    def _press(self, event: Any) -> None:
        if event.button == 1:
            self.click((event.xdata, event.ydata))
        elif event.button == 3:
            self.picking = False
            self._say(self.session.undo())

    def _on_key(self, event: Any) -> None:
        self._guarded(lambda: self._key(event.key, event))

    def key(self, key: str) -> None:
        """Act on a key as :data:`KEYS` says (``"z"``, ``"enter"``, ``"left"`` ...)."""
        self._guarded(lambda: self._key(key, None))

    def _key(self, key: str | None, event: Any) -> None:
        s = self.session
        if key in ("z", "backspace", "ctrl+z", "cmd+z"):
            self.picking = False
            self._say(s.undo())
        elif key in ("n", "s"):
            self.picking = False
            self._say(s.skip())
        elif key in ("enter", "a"):
            self._say(s.accept())
        elif key == "k":
            self._say(s.keep_click())
        elif key == "r":
            if not s.points:
                self._say("no point placed yet")
            else:
                self.picking = True
                self._say("click near the point to re-place (esc cancels)")
        elif key == "escape":
            self.picking = False
            self._say(s.goto(None))
        elif key == "d":
            self.picking = False
            self._say(s.detect())
        elif key in ("left", "right"):
            self.picking = False
            self._say(s.step_by(-1 if key == "left" else 1))
        elif key in ("+", "=", "-"):
            x0, x1 = self.ax.get_xlim()
            y0, y1 = self.ax.get_ylim()
            self._zoom(((x0 + x1) / 2, (y0 + y1) / 2), _ZOOM_STEP if key != "-" else 1 / _ZOOM_STEP)
        elif key == "h":
            self.home()
        elif key == "l":
            self.show_labels = not self.show_labels
        elif key in ("p", "o"):
            toolbar = getattr(self.figure.canvas, "toolbar", None)
            if toolbar is None:
                self._say("no toolbar in this window: use the scroll wheel to zoom", error=True)
            else:
                if key == "p":
                    toolbar.pan()
                else:
                    toolbar.zoom()
                on = bool(getattr(toolbar, "mode", None))
                self._say("pan/zoom tool on: press again to click points" if on else "pan/zoom tool off")
        elif key == "q":
            self.quit()

    def _on_scroll(self, event: Any) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            return
        self._zoom((event.xdata, event.ydata), _ZOOM_STEP ** float(event.step))

    def _zoom(self, centre: tuple[float, float], factor: float) -> None:
        """Zoom by *factor* (> 1 zooms in) keeping *centre* (data coordinates) fixed."""
        cx, cy = centre
        x0, x1 = self.ax.get_xlim()
        y0, y1 = self.ax.get_ylim()
        if factor < 1 and abs(x1 - x0) >= self.columns and abs(y1 - y0) >= self.rows:
            return  # already the whole film
        self.ax.set_xlim(cx - (cx - x0) / factor, cx + (x1 - cx) / factor)
        self.ax.set_ylim(cy - (cy - y0) / factor, cy + (y1 - cy) / factor)
        toolbar = getattr(self.figure.canvas, "toolbar", None)
        if toolbar is not None and hasattr(toolbar, "push_current"):
            toolbar.push_current()
        self.figure.canvas.draw_idle()

    def _guarded(self, action: Callable[[], None]) -> None:
        """Run an event's action; a known failure (bad click, unwritable file) goes to the status line."""
        try:
            action()
        except (SpinecheckError, OSError) as e:
            self._say(" ".join(str(e).split()), error=True)
        if not self.closed:
            self.refresh()

    def quit(self) -> None:
        """Save (if the last save failed) and close the window."""
        if self.session.dirty:
            self.session.save()
        self.closed = True
        logging.getLogger(_MPL_AXES_LOG).removeFilter(_ASPECT_NOTICE)
        for cid in self._cids:
            self.figure.canvas.mpl_disconnect(cid)
        if self.on_quit is not None:
            self.on_quit()
        elif getattr(self.figure.canvas, "manager", None) is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure)

    def _on_close(self, _event: Any) -> None:
        self.closed = True
        logging.getLogger(_MPL_AXES_LOG).removeFilter(_ASPECT_NOTICE)
        if self.session.dirty:
            try:
                self.session.save()
            except OSError as e:
                _log.error("could not save %s on closing: %s", self.session.path, e)
