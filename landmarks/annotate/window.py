"""The annotation window: a Matplotlib view and controller over an :class:`~.session.AnnotationSession`.

The film is drawn once, downsampled to at most ``max_display_rows`` rows, with
``imshow(extent=...)`` in *original* pixel coordinates, so a click at data
``(x, y)`` is the point ``(x, y)`` of the film (x = column, y = row, origin at
the centre of the top-left pixel, y down); zoomed in, the visible part is drawn
at full resolution on top. Above the film: the step, the prompt and a hint;
beside it: the list of steps, the live parameters of the protocol (an injected
function, so ``landmarks`` never imports ``alignment``) and the keys of
:data:`KEYS`; below it: where the file was saved and what the last action did.

The layout is made in screen pixels from the figure's size, again whenever the
window is resized: the texts get the lines and characters they need (clipped or
wrapped to them, in one or two panel columns, with a smaller font when the
screen is small) and the film takes all the rest. The view follows the point
asked for (:func:`~spinecheck.landmarks.annotate.focus.expected_region`); ``h``
shows the whole film and stops following until pressed again. A click is
answered at once by drawing it over the last frame (blitting); in a Tk window
the refinement and the redraw wait until Tk has painted it. A frame renders
only the texts that changed and pastes the others as last drawn (a zoom renders
none, a click not the keys).

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

from ... import _library_logger
from ..errors import InvalidArgumentError, SpinecheckError
from ..imaging.display import DEFAULT_MAX_DISPLAY_ROWS, display_image, show_film
from ..points.calibration import Calibration
from ..points.names import PatientRight, View
from .focus import expected_region
from .session import AnnotationSession, LiveParameters

__all__ = ["AnnotationWindow", "KEYS", "DEFAULT_MAX_DISPLAY_ROWS"]

_log = _library_logger(__name__)

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
    ("h", "whole film; again: follow the point asked for"),
    ("p / o", "pan / zoom-box tool (press again to click points)"),
    ("c", "calibrate: click both ends of a line of known length, type its mm, enter"),
    ("b", "calibrate: click 3 or more points on a ball's rim, enter, type its mm, enter"),
    ("f", "the patient's side: AP, where the patient's right is; lateral, which way the patient faces"),
    ("l", "show / hide point labels"),
    ("q", "save and quit"),
)

#: Screen pixels within which ``r`` + click picks a placed point.
_PICK_RADIUS_PX = 30.0

#: Okabe–Ito colours (as in the figures): landmarks, raw click, refined point, errors, circles.
_YELLOW, _SKY, _ORANGE, _VERMILLION, _PURPLE = ("#F0E442", "#56B4E9", "#E69F00", "#D55E00", "#CC79A7")
_ZOOM_STEP = 1.25
#: Zoomed in until the visible part of the film has at most this many times the overview's pixels, the
#: visible part is drawn at full resolution on top of the overview.
_DETAIL_OVERVIEWS = 4
_REVIEW_WIDTH = 48  # characters a line in the callout beside a point

# Layout, in screen pixels and points. Widths of text are reckoned from the font size: DejaVu Sans Mono
# advances 0.602 em a character (0.64 as Agg draws it; 0.65 is reckoned); the proportional texts are reckoned wider
# than their measured average (bold capitals in the prompt) so that a line never runs past its box.
_PAD_PX = 8.0
_MONO_EM = 0.65
_PROMPT_EM = 0.66
_TEXT_EM = 0.6
_LINE = 1.2  # line height in em (Matplotlib's default line spacing)
_STEP_PT, _PROMPT_PT, _HINT_PT, _STATUS_PT = 11.0, 15.0, 10.0, 9.0
_PANEL_PT = (8.5, 8.0, 7.5, 7.0)
#: The side panel is this many characters wide (a column), and the steps list shows at least this many.
_PANEL_CHARS = 50
_KEY_CHARS = 14
_MIN_LIST = 5
_MAX_LIST = 13
#: Warning lines the parameters block keeps room for.
_WARNING_LINES = 3


class _DropAspectNotice(logging.Filter):
    """Drop Matplotlib's notice that fixed limits are widened to keep the aspect: the window wants exactly that."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Ignoring fixed")


_ASPECT_NOTICE = _DropAspectNotice()
_MPL_AXES_LOG = "matplotlib.axes._base"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "\u2026"


def _wrapped(text: str, width: int, indent: int = 0) -> list[str]:
    """*text* wrapped to lines of *width* characters, continuation lines indented by *indent*."""
    return textwrap.wrap(text, width, subsequent_indent=" " * indent) or [""]


def _keys_lines(width: int) -> list[str]:
    """The Keys block, wrapped to *width* characters: a key longer than its column gets a line of its own."""
    lines = ["Keys"]
    for key, what in KEYS:
        desc = _wrapped(what, width - _KEY_CHARS)
        if len(key) < _KEY_CHARS:
            lines.append(f"{key:<{_KEY_CHARS}}{desc[0]}")
        else:
            lines += [key, " " * _KEY_CHARS + desc[0]]
        lines += [" " * _KEY_CHARS + d for d in desc[1:]]
    return lines


class _Layout:
    """Where each text goes and how much it may hold, for one figure size (pixels, points)."""

    def __init__(
        self, width_px: float, height_px: float, dpi: float, *, list_wanted: int, params_wanted: int
    ):
        pt = dpi / 72.0
        self.width_px, self.height_px = width_px, height_px

        def line(size: float) -> float:
            return _LINE * size * pt

        usable = max(width_px - 2 * _PAD_PX, 1.0)
        self.step_chars = int(usable / (_TEXT_EM * _STEP_PT * pt))
        self.prompt_chars = int(usable / (_PROMPT_EM * _PROMPT_PT * pt))
        self.hint_chars = int(usable / (_TEXT_EM * _HINT_PT * pt))
        self.status_chars = int(usable / (_MONO_EM * _STATUS_PT * pt))
        top = height_px - _PAD_PX
        self.step_y = top
        self.prompt_y = top - line(_STEP_PT)
        self.hint_y = self.prompt_y - line(_PROMPT_PT) * 1.05
        self.band_bottom = self.hint_y - 2 * line(_HINT_PT) - _PAD_PX / 2
        self.status_y = _PAD_PX / 2
        self.film_bottom = self.status_y + line(_STATUS_PT) + _PAD_PX / 2
        panel_height = self.band_bottom - self.film_bottom
        # one column (steps, parameters, keys) at the largest font that holds them all; else two
        # (steps and parameters | keys); on a small screen the steps list and the parameters shrink
        keys = len(_keys_lines(_PANEL_CHARS))
        for size in _PANEL_PT:
            rows = int(panel_height / line(size)) - 1
            if list_wanted + 1 + params_wanted + 1 + keys <= rows:
                self.columns = 1
                break
            if max(list_wanted + 1 + params_wanted, keys) <= rows:
                self.columns = 2
                break
        else:
            self.columns = 2
        self.panel_pt = size
        # rows of the steps and parameters column: the steps block is its title, its steps and two
        # lines under them; a blank line; the parameters block (its title and lines) takes the rest
        left_rows = rows if self.columns == 2 else rows - keys - 1
        self.list_lines = max(_MIN_LIST, min(list_wanted - 3, left_rows - 1 - params_wanted - 3))
        self.params_lines = max(2, left_rows - (self.list_lines + 3) - 1)
        column_px = _PANEL_CHARS * _MONO_EM * size * pt
        self.panel_left = width_px - _PAD_PX - self.columns * column_px - (self.columns - 1) * 2 * _PAD_PX
        self.keys_left = width_px - _PAD_PX - column_px
        self.line_px = line(size)
        self.film_left = _PAD_PX
        self.film_right = max(self.panel_left - 2 * _PAD_PX, self.film_left + 10)


class _TextPixels:
    """The figure's texts kept as drawn pixels, pasted by a full draw where they have not changed.

    A pasted text is not laid out and rendered glyph by glyph again. Text is what a frame of the
    window costs (the keys alone are some 1 100 characters, the steps and parameters 800): a click
    changes the prompt, the list and the status, a zoom or a pan none of them. Each text is an
    animated artist, which the figure's draw leaves out; :meth:`draw` (on the canvas's draw event,
    before a GUI canvas shows the frame) pastes each one whose text, font size, colour and place are
    as last drawn, and draws and keeps the others. A resize or a new layout changes the place or the
    figure's size and so draws them again. Canvases that cannot copy pixels (a PDF) draw them all.
    """

    def __init__(self, texts: list[Any]) -> None:
        self.texts = texts
        for t in texts:
            t.set_animated(True)
        self._kept: dict[int, tuple[tuple[Any, ...], Any]] = {}
        #: Texts laid out and rendered by the last :meth:`draw` (the others were pasted).
        self.rendered: list[Any] = []

    @staticmethod
    def _state(t: Any) -> tuple[Any, ...]:
        fig = t.get_figure(root=True)
        return (
            t.get_text(),
            t.get_fontsize(),
            t.get_color(),
            tuple(t.get_position()),
            fig.dpi,
            tuple(fig.bbox.size),
        )

    def draw(self, canvas: Any, renderer: Any) -> None:
        """Paste or draw every text on *renderer* (the canvas's, in its draw event)."""
        from matplotlib.transforms import Bbox

        self.rendered = []
        can_copy = getattr(canvas, "supports_blit", False) and renderer is getattr(canvas, "renderer", None)
        for t in self.texts:
            if not t.get_visible() or not t.get_text():
                self._kept.pop(id(t), None)
                continue
            state = self._state(t)
            kept = self._kept.get(id(t))
            if can_copy and kept is not None and kept[0] == state:
                canvas.restore_region(kept[1])
                continue
            t.draw(renderer)
            self.rendered.append(t)
            if can_copy:
                box = Bbox.intersection(t.get_window_extent(renderer).padded(2), t.get_figure(root=True).bbox)
                if box is not None:
                    self._kept[id(t)] = (state, canvas.copy_from_bbox(box))


class _Calibrating:
    """A calibration being made in the window: the clicks so far and the length being typed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "line" or "ball"
        self.points: list[tuple[float, float]] = []
        self.typing = False
        self.typed = ""

    @property
    def enough(self) -> bool:
        return len(self.points) >= (2 if self.kind == "line" else 3)


class AnnotationWindow:
    """A Matplotlib window over an :class:`AnnotationSession`.

    Parameters
    ----------
    session : AnnotationSession
    image : ndarray of uint8, shape (rows, columns)
        The display image (bone bright), full resolution.
    live : callable, optional
        ``live(landmarks, calibration, parameters=...) -> lines`` (see
        :func:`spinecheck.alignment.render.live.live_parameters`); called after
        every change with the protocol's parameters.
    figure : matplotlib.figure.Figure, optional
        The figure to draw in (a pyplot figure for a real window); by default
        a new figure on the Agg canvas (tests, notebooks).
    max_display_rows : int or None
        The overview is downsampled to at most this many rows; zooming in
        shows the full resolution.
    on_quit : callable, optional
        Called by ``q`` after saving; by default the figure is closed.
    follow : bool
        Zoom to the region of each point asked for (``h`` toggles it).

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
        follow: bool = True,
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
        self.follow = follow
        #: Lateral films: which way the patient faces as the user said (+1 image right, -1 left).
        self.facing: int | None = None
        self.calibrating: _Calibrating | None = None
        self._focused_on: str | None = None
        self._background: Any = None
        #: Work a click started, to run once the screen shows the click (a Tk window), in order.
        self._pending: list[Callable[[], None]] = []
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
            canvas.mpl_connect("resize_event", self._on_resize),
            canvas.mpl_connect("draw_event", self._on_draw),
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
        self._overview = ax.images[-1]
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
        self._set_aspect()
        self.home()  # before the limits' callbacks: fixed limits stop the autoscaling they would start
        ax.set_xticks([])
        ax.set_yticks([])
        ax.callbacks.connect("xlim_changed", self._on_limits)
        ax.callbacks.connect("ylim_changed", self._on_limits)
        (self._dots,) = ax.plot([], [], "o", ms=5, mfc=_YELLOW, mec="black", mew=0.6, zorder=4)
        (self._click_marker,) = ax.plot([], [], "x", ms=9, mew=2, color=_SKY, zorder=5)
        (self._refined_marker,) = ax.plot([], [], "o", ms=11, mfc="none", mec=_ORANGE, mew=2, zorder=5)
        (self._move_line,) = ax.plot([], [], "--", lw=1.2, color=_ORANGE, zorder=5)
        (self._target,) = ax.plot([], [], "o", ms=18, mfc="none", mec=_VERMILLION, mew=2, zorder=5)
        (self._calib_marks,) = ax.plot([], [], "+-", ms=12, mew=2, lw=1.5, color=_PURPLE, zorder=5)
        (self._calib_saved,) = ax.plot([], [], "-", lw=2, color=_PURPLE, zorder=3)
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
        self._step_text = fig.text(0, 0, "", fontsize=_STEP_PT, va="top", color="#444444")
        self._prompt = fig.text(0, 0, "", fontsize=_PROMPT_PT, weight="bold", va="top")
        self._hint = fig.text(0, 0, "", fontsize=_HINT_PT, va="top", color="#444444", linespacing=_LINE)
        self._status = fig.text(0, 0, "", fontsize=_STATUS_PT, va="bottom", family="monospace")
        self._list = fig.text(0, 0, "", va="top", family="monospace", linespacing=_LINE)
        self._keys = fig.text(0, 0, "", va="top", family="monospace", linespacing=_LINE)
        self._texts = _TextPixels(list(fig.texts))
        self._layout()

    def _lines_wanted(self) -> tuple[int, int]:
        """Lines the steps list and the parameters block would like: ``(list, parameters)``."""
        steps = len(self.session.protocol)
        list_wanted = 1 + min(steps, _MAX_LIST) + 2
        params = self.session.protocol.parameters
        # the curves of an AP film take a line each (a few at most)
        params_wanted = (
            1 + len(params) + (3 if "Cobb_max" in params else 0) + _WARNING_LINES if self.live else 0
        )
        return list_wanted, params_wanted

    def _layout(self) -> None:
        """Place every text and the film for the figure's present size (screen pixels)."""
        fig = self.figure
        width, height = fig.get_size_inches() * fig.dpi
        list_wanted, params_wanted = self._lines_wanted()
        lay = _Layout(width, height, fig.dpi, list_wanted=list_wanted, params_wanted=params_wanted)
        self._lay = lay

        def at(x: float, y: float) -> tuple[float, float]:
            return (x / width, y / height)

        self._step_text.set_position(at(_PAD_PX, lay.step_y))
        self._prompt.set_position(at(_PAD_PX, lay.prompt_y))
        self._hint.set_position(at(_PAD_PX, lay.hint_y))
        self._status.set_position(at(_PAD_PX, lay.status_y))
        self._list.set_position(at(lay.panel_left, lay.band_bottom))
        self._list.set_fontsize(lay.panel_pt)
        self._keys.set_fontsize(lay.panel_pt)
        keys = _keys_lines(_PANEL_CHARS)
        if lay.columns == 1:
            used = (lay.list_lines + 3 + 1 + lay.params_lines + 1) * lay.line_px
            self._keys.set_position(at(lay.panel_left, lay.band_bottom - used))
        else:
            self._keys.set_position(at(lay.keys_left, lay.band_bottom))
        self._keys.set_text("\n".join(keys))
        self.ax.set_position(
            (
                lay.film_left / width,
                lay.film_bottom / height,
                (lay.film_right - lay.film_left) / width,
                (lay.band_bottom - lay.film_bottom) / height,
            )
        )

    def _on_resize(self, _event: Any) -> None:
        self._run_pending()
        self._layout()
        self._focused_on = None  # the film's box changed: fit the view to it again
        self.refresh()

    def _set_aspect(self) -> None:
        cal = self.session.effective_calibration
        spacing = cal.mm_per_px if cal is not None else None
        # the axes keep their box and the limits grow to keep the aspect: the film fills the space
        self.ax.set_aspect(spacing[0] / spacing[1] if spacing else 1.0, adjustable="datalim")

    def home(self) -> None:
        """Show the whole film."""
        self.ax.set_xlim(-0.5, self.columns - 0.5)
        self.ax.set_ylim(self.rows - 0.5, -0.5)

    def focus(self) -> bool:
        """Zoom to the region where the point asked for is expected; False (whole film) when none is known."""
        s = self.session
        step = s.current
        region = None
        if step is not None:
            region = expected_region(
                step.name, s.points, s.view, (self.rows, self.columns), s.mm_per_px, facing=self.facing
            )
        self._focused_on = step.name if step is not None else None
        if region is None:
            self.home()
            return False
        x0, x1, y0, y1 = region.limits
        box = self.ax.get_position().transformed(self.figure.transFigure)
        aspect = (box.width / box.height) if box.height > 0 else 1.0
        w, h = x1 - x0, y1 - y0
        if w / h < aspect:  # widen (or heighten) the box to the axes' shape, about its centre
            x0, x1 = (x0 + x1) / 2 - h * aspect / 2, (x0 + x1) / 2 + h * aspect / 2
        else:
            y0, y1 = (y0 + y1) / 2 - w / aspect / 2, (y0 + y1) / 2 + w / aspect / 2
        x0, x1 = _inside(x0, x1, self.columns)
        y0, y1 = _inside(y0, y1, self.rows)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y1, y0)
        return True

    # ------------------------------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        """Redraw the prompt, points, review, list, parameters and status from the session."""
        s = self.session
        current = s.current
        if self.follow and (current.name if current is not None else None) != self._focused_on:
            self.focus()
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
        self._draw_calibration()
        self._draw_review()
        if current is not None and current.name in pts:
            self._target.set_data([pts[current.name][0]], [pts[current.name][1]])
        else:
            self._target.set_data([], [])
        params = self._params_text()
        self._list.set_text(self._list_text() + ("\n\n" + params if params else ""))
        self._draw_status()
        self.figure.canvas.draw_idle()

    def _draw_calibration(self) -> None:
        c = self.calibrating
        if c is not None:
            xs, ys = zip(*c.points, strict=True) if c.points else ((), ())
            self._calib_marks.set_data(xs, ys)
            self._calib_marks.set_linestyle("-" if c.kind == "line" else "none")
        else:
            self._calib_marks.set_data([], [])
        cal = self.session.calibration
        if cal is not None and cal.line is not None:
            (ax_, ay), (bx, by) = cal.line
            self._calib_saved.set_data([ax_, bx], [ay, by])
        else:
            self._calib_saved.set_data([], [])
        if cal is not None and cal.rim is not None:
            from ..points.circle import fit_circle

            circle = fit_circle(np.asarray(cal.rim, dtype=float), where="calibration ball")
            from matplotlib.patches import Circle as CirclePatch

            self._circles.append(
                self.ax.add_patch(
                    CirclePatch(circle.center, circle.radius, fill=False, ec=_PURPLE, lw=2, ls="--", zorder=3)
                )
            )

    def _draw_prompt(self) -> None:
        s = self.session
        lay = self._lay
        step = s.current
        placed, skipped, todo = s.counts()
        progress = f"{placed} placed · {skipped} skipped · {todo} to do"

        def show(step_text: str, prompt: str, hint: str) -> None:
            self._step_text.set_text(_clip(step_text, lay.step_chars))
            self._prompt.set_text(_clip(prompt, lay.prompt_chars))
            lines = _wrapped(hint, lay.hint_chars)
            if len(lines) > 2:
                lines = [lines[0], _clip(" ".join(lines[1:]), lay.hint_chars)]
            self._hint.set_text("\n".join(lines))

        c = self.calibrating
        if c is not None:
            what = "line of known length" if c.kind == "line" else "calibration ball"
            if c.typing:
                size = "length" if c.kind == "line" else "diameter"
                show(
                    f"Calibration: {what}   ({progress})",
                    f"Type the {size} in mm, then enter:  {c.typed}_",
                    "digits and a point; backspace corrects; esc cancels",
                )
            elif c.kind == "line":
                end = "one end" if not c.points else "the other end"
                show(
                    f"Calibration: {what}   ({progress})",
                    f"Click {end} of the ruler or marker",
                    "then type its length in mm; backspace removes the last click; esc cancels",
                )
            else:
                more = "press enter when done" if c.enough else f"{3 - len(c.points)} more at least"
                show(
                    f"Calibration: {what}   ({progress})",
                    f"Click a point on the ball's rim ({len(c.points)} so far; {more})",
                    "spread the points around the rim; backspace removes the last; esc cancels",
                )
            return
        if self.picking:
            show(
                f"Re-place a point   ({progress})", "Click near the point you want to re-place", "esc cancels"
            )
            return
        if step is None:
            show(
                f"All done   ({progress})",
                "Every point is placed or skipped: press q to save and quit",
                "r re-places a point (press r, then click near it); the file is already saved",
            )
            return
        i = s.index
        where = f"Point {i + 1} of {len(s.protocol)}" if i is not None else "Extra point"
        again = "  (re-placing)" if step.name in s.points else ""
        hint = step.hint
        side = self._side_text()
        if side:
            hint = f"{hint}  [{side}]" if hint else f"[{side}]"
        used = f"Needed for {', '.join(step.used_for)}. " if step.used_for else ""
        optional = "Optional. " if step.optional else ""
        show(
            f"{where}: {step.name}{again}   ({progress})", step.prompt, f"{optional}{used}{hint}   (n skips)"
        )

    def _side_text(self) -> str:
        s = self.session
        if s.view is View.AP:
            right = s.patient_right
            return f"patient's right = {right.value.replace('_', ' ')}" if right is not None else ""
        side = s.anterior_side()
        if side is not None:
            return f"front = {side}"
        if self.facing is not None:
            return f"front = {'image right' if self.facing > 0 else 'image left'} (as you said)"
        return ""

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
        lines_shown = self._lay.list_lines
        steps = s.protocol.steps
        current = s.current
        i = s.index if s.index is not None else (len(steps) if current is None else 0)
        lo = max(0, min(i - lines_shown // 2, len(steps) - lines_shown))
        lines = [_clip(s.protocol.title, _PANEL_CHARS)]
        for step in steps[lo : lo + lines_shown]:
            if current is not None and step.name == current.name:
                mark = "\u25b6"
            elif step.name in s.points:
                mark = "\u2713"
            elif step.name in s.skipped:
                mark = "\u2013"
            else:
                mark = "\u00b7"
            tail = " (skipped)" if step.name in s.skipped else (" (optional)" if step.optional else "")
            lines.append(_clip(f" {mark} {step.name}{tail}", _PANEL_CHARS))
        tail_lines = []
        if len(steps) > lines_shown:
            tail_lines.append(f"   … {len(steps)} points in all (\u2190/\u2192 to move)")
        extra = [n for n in s.points if n not in s.protocol]
        if extra:
            tail_lines.append(f"   + {len(extra)} other point(s) in the file")
        # the block always takes its rows, so the parameters below it do not move
        lines += [""] * (lines_shown + 1 - len(lines)) + tail_lines + [""] * (2 - len(tail_lines))
        return "\n".join(lines)

    def _params_text(self) -> str:
        if self.live is None:
            return ""
        s = self.session
        try:
            lines = list(self.live(s.landmarks, s.effective_calibration, parameters=s.protocol.parameters))
        except (SpinecheckError, ValueError) as e:
            lines = [f"not computable: {e}"]
        budget = self._lay.params_lines - 1
        out: list[str] = []
        for line in lines:
            out += _wrapped(f" {line}", _PANEL_CHARS, indent=10)
        if len(out) > budget:
            out = out[: budget - 1] + [f" \u2026 {len(out) - budget + 1} more lines (spinecheck measure)"]
        return "Parameters (live)\n" + "\n".join(_clip(line, _PANEL_CHARS) for line in out)

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
        self._status.set_text(_clip(text, self._lay.status_chars))
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
            self._overview.set_visible(True)
            return
        # at the screen's resolution (a block mean to the axes' pixels): resampling the visible part of
        # a 4500 x 1800 film at full resolution was a fifth of a frame
        box = self.ax.bbox
        f = math.floor(min((c1 - c0) / max(box.width, 1.0), (r1 - r0) / max(box.height, 1.0)))
        crop = self.image[r0:r1, c0:c1]
        shown, f = display_image(crop, math.ceil((r1 - r0) / f)) if f > 1 else (crop, 1)
        self._detail.set_data(shown)
        self._detail.set_extent(
            (c0 - 0.5, c0 + shown.shape[1] * f - 0.5, r0 + shown.shape[0] * f - 0.5, r0 - 0.5)
        )
        self._detail.set_visible(True)
        self._overview.set_visible(False)  # the detail covers all of the film the view shows

    def _on_draw(self, event: Any) -> None:
        """Paste or draw the texts, and keep the film as last drawn, to answer the next click over it at once."""
        canvas = self.figure.canvas
        self._texts.draw(canvas, event.renderer)
        if getattr(canvas, "supports_blit", False):
            self._background = canvas.copy_from_bbox(self.ax.bbox)

    def _answer_now(self, xy: tuple[float, float]) -> bool:
        """Show the click on screen before the work it starts (refinement, saving, redrawing).

        True on a Tk canvas, where the work should wait for Tk to paint (:meth:`_after_paint`).
        """
        canvas = self.figure.canvas
        if self._background is None:
            return False
        from matplotlib.transforms import Bbox

        self._click_marker.set_data([xy[0]], [xy[1]])
        canvas.restore_region(self._background)
        self.ax.draw_artist(self._click_marker)
        # only the marker's few pixels go to the screen: sending the whole film took tens of milliseconds
        x, y = self.ax.transData.transform(xy)
        half = self._click_marker.get_markersize() * self.figure.dpi / 72.0
        box = Bbox.intersection(Bbox([[x - half, y - half], [x + half, y + half]]), self.ax.bbox)
        canvas.blit(box if box is not None else self.ax.bbox)
        widget = getattr(canvas, "get_tk_widget", None)
        if not callable(widget):
            return False
        # Tk paints the blitted image when idle: now, before the work
        widget().update_idletasks()
        widget().winfo_pointerxy()  # a round trip to the X server sends it the painting now
        return True

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
        c = self.calibrating
        if c is not None:
            if c.typing or (c.kind == "line" and c.enough):
                self._say("type the length in mm and press enter (esc cancels)", error=True)
                return
            c.points.append((x, y))
            if c.kind == "line" and c.enough:
                c.typing = True
            return
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
        self._run_pending()
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
        if event.button == 1 and event.xdata is not None and self._answer_now((event.xdata, event.ydata)):
            self._after_paint(lambda: self._guarded(lambda: self._press(event)))
            return
        self._guarded(lambda: self._press(event))

    def _after_paint(self, action: Callable[[], None]) -> None:
        """Run *action* once Tk has painted the answer to a click, before any later event is handled.

        The refinement and the redraw a click starts take from a tenth of a second to seconds on a
        busy machine; Tk shows a blitted image only when its event loop is idle, so the work waits
        for that (``after_idle``). Every event handler first runs the work still waiting
        (:meth:`_run_pending`), so keys and clicks act in the order they were made.
        """
        widget = self.figure.canvas.get_tk_widget()
        self._pending.append(action)
        widget.after_idle(self._run_pending)

    def _run_pending(self) -> None:
        while self._pending:
            self._pending.pop(0)()

    def _press(self, event: Any) -> None:
        if event.button == 1:
            self.click((event.xdata, event.ydata))
        elif event.button == 3:
            self.picking = False
            if self.calibrating is not None:
                self._calibration_key("backspace")
                return
            self._say(self.session.undo())

    def _on_key(self, event: Any) -> None:
        self._run_pending()
        self._guarded(lambda: self._key(event.key, event))

    def key(self, key: str) -> None:
        """Act on a key as :data:`KEYS` says (``"z"``, ``"enter"``, ``"left"`` ...)."""
        self._run_pending()
        self._guarded(lambda: self._key(key, None))

    def _calibration_key(self, key: str | None) -> None:
        """A key while a calibration is being made: digits, point, backspace, enter, esc."""
        c = self.calibrating
        assert c is not None
        if key == "escape":
            self.calibrating = None
            self._say("calibration cancelled")
        elif key == "backspace":
            if c.typing and c.typed:
                c.typed = c.typed[:-1]
            elif c.typing:
                c.typing = False
                c.points.pop()
            elif c.points:
                c.points.pop()
        elif c.typing and key is not None and (key.isdigit() or key in (".", ",")) and len(key) == 1:
            c.typed += "." if key == "," else key
        elif key == "enter" and c.typing:
            try:
                mm = float(c.typed)
            except ValueError:
                self._say(f"type the {'length' if c.kind == 'line' else 'diameter'} in mm first", error=True)
                return
            if c.kind == "line":
                cal = Calibration.from_line(c.points[0], c.points[1], mm, where="calibration line")
            else:
                cal = Calibration.from_ball(c.points, mm, where="calibration ball")
            self.calibrating = None
            self._say(self.session.set_calibration(cal))
            self._set_aspect()
        elif key == "enter" and c.kind == "ball" and c.enough:
            c.typing = True
        elif key == "enter":
            self._say("click the calibration object first (esc cancels)", error=True)
        else:
            self._say("making a calibration: finish it with enter, or esc cancels", error=True)

    def _key(self, key: str | None, event: Any) -> None:
        s = self.session
        if self.calibrating is not None:
            self._calibration_key(key)
            return
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
            self.follow = not self.follow
            if self.follow:
                followed = self.focus()
                self._say("following the point asked for" if followed else "whole film: no point placed yet")
            else:
                self.home()
                self._say("whole film (h again follows the point asked for)")
        elif key in ("c", "b"):
            self.picking = False
            self.calibrating = _Calibrating("line" if key == "c" else "ball")
            self._say("calibrating: esc cancels")
        elif key == "f":
            self._say(self._next_side())
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

    def _next_side(self) -> str:
        """``f``: the next patient's side (AP: patient's right image left, right, unknown; lateral: facing)."""
        s = self.session
        if s.view is View.AP:
            order = (None, PatientRight.IMAGE_LEFT, PatientRight.IMAGE_RIGHT)
            return s.set_patient_right(order[(order.index(s.patient_right) + 1) % len(order)])
        corners = s.anterior_side()
        self.facing = {None: 1, 1: -1, -1: None}[self.facing]
        self._focused_on = None  # predict the point again, on the side now said
        if self.facing is None:
            said = "the patient's facing: not said"
        else:
            said = f"the patient faces image {'right' if self.facing > 0 else 'left'}"
        if corners is not None:
            said += f" (the corners you placed say front = {corners}, and they decide)"
        return said + "; a lateral film records it by the corners' names (ant/post)"

    def _on_scroll(self, event: Any) -> None:
        self._run_pending()
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
        self._run_pending()
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
        self._run_pending()
        self.closed = True
        logging.getLogger(_MPL_AXES_LOG).removeFilter(_ASPECT_NOTICE)
        if self.session.dirty:
            try:
                self.session.save()
            except OSError as e:
                _log.error("could not save %s on closing: %s", self.session.path, e)


def _inside(lo: float, hi: float, size: int) -> tuple[float, float]:
    """The interval ``lo..hi`` shifted to lie on the film's ``-0.5 .. size - 0.5``, when it is shorter."""
    if hi - lo >= size:
        return lo, hi
    if lo < -0.5:
        return -0.5, hi - lo - 0.5
    if hi > size - 0.5:
        return size - 0.5 - (hi - lo), size - 0.5
    return lo, hi
