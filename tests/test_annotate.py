"""The annotation session and window, driven by synthetic Matplotlib events on the Agg canvas.

Every test that changes the session checks the file on disk against the session after each
event: the window autosaves, and a crash must cost nothing but the click in progress.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import pytest
from matplotlib.backend_bases import KeyEvent, MouseEvent, NavigationToolbar2, ResizeEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from spinecheck.alignment.render.live import live_parameters
from spinecheck.cli import main
from spinecheck.landmarks.annotate.protocol import get_protocol
from spinecheck.landmarks.annotate.session import KEPT_CLICK, AnnotationSession, stale_temporary_files
from spinecheck.landmarks.annotate.window import AnnotationWindow
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.io import landmarks_to_text, read_landmarks, write_landmarks
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.circle import Circle
from spinecheck.landmarks.points.model import ImageRef, LandmarkSet, PointMove
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom, write_png

UID = "1.2.826.0.1.3680043.8.498.1"


@pytest.fixture(scope="module")
def film():
    return synthetic_lateral(mm_per_px=1.0)  # 900 x 360 px


@pytest.fixture(scope="module")
def image(film):
    return (film.pixels >> 4).astype(np.uint8)


@pytest.fixture(scope="module")
def truth(film):
    return dict(film.landmarks.points)


def image_ref(film) -> ImageRef:
    rows, cols = film.shape
    return ImageRef("lat.dcm", UID, rows, cols)


# ----------------------------------------------------------------------------- fake refiners


@dataclass(frozen=True)
class FakeRefined:
    moves: dict
    circles: dict = field(default_factory=dict)
    confidence: float = 0.8


@dataclass(frozen=True)
class FakeFailure:
    reason: str

    def __bool__(self) -> bool:
        return False


class OffsetRefiner:
    """Moves the clicked point by a known offset; femoral heads also get a circle."""

    offset = (3.0, -4.0)

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, image, name, points, *, view, mm_per_px):
        self.calls.append((image.shape, name, dict(points), view, mm_per_px))
        x, y = points[name]
        to = (x + self.offset[0], y + self.offset[1])
        circles = {name: Circle(to, 20.0)} if name.startswith("FH") else {}
        return FakeRefined({name: PointMove(name, (x, y), to, "fake", 0.8)}, circles)


def failing_refiner(image, name, points, *, view, mm_per_px):
    return FakeFailure("no edge near the click")


def broken_refiner(image, name, points, *, view, mm_per_px):
    raise RuntimeError("boom")


def endplate_refiner(image, name, points, *, view, mm_per_px):
    """Refines both corners of an endplate once the second is clicked (as an endplate fit does)."""
    partner = name[: -len("post")] + "ant" if name.endswith(".post") else name[: -len("ant")] + "post"
    moves = {}
    for n in (name, partner):
        if n in points:
            x, y = points[n]
            moves[n] = PointMove(n, (x, y), (x + 1.0, y + 2.0), "endplate", 0.9)
    return FakeRefined(moves, confidence=0.9)


# ----------------------------------------------------------------------------- helpers


def new_session(tmp_path, film, image, *, refiner=None, protocol="lateral", **kw) -> AnnotationSession:
    return AnnotationSession(
        tmp_path / "lat.landmarks.json",
        protocol,
        image=image if refiner is not None else None,
        image_ref=image_ref(film),
        header_calibration=Calibration.from_spacing(film.mm_per_px),
        refiner=refiner,
        **kw,
    )


def new_window(session, image, *, max_rows=None, live=live_parameters, **kw) -> AnnotationWindow:
    figure = Figure(figsize=(12.8, 8), dpi=100)  # the smallest screen the window is made for
    return AnnotationWindow(session, image, live=live, figure=figure, max_display_rows=max_rows, **kw)


def press(win, xy, button=1, *, dblclick=False):
    """A mouse press at data ``(x, y)`` on the film."""
    win.ax.apply_aspect()
    x, y = win.ax.transData.transform(xy)
    press_at(win, (x, y), button, dblclick=dblclick)


def press_at(win, display_xy, button=1, *, dblclick=False):
    canvas = win.figure.canvas
    event = MouseEvent("button_press_event", canvas, *display_xy, button=button, dblclick=dblclick)
    canvas.callbacks.process("button_press_event", event)


def key(win, k):
    canvas = win.figure.canvas
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, k))


def scroll(win, xy, step):
    win.ax.apply_aspect()
    canvas = win.figure.canvas
    x, y = win.ax.transData.transform(xy)
    canvas.callbacks.process("scroll_event", MouseEvent("scroll_event", canvas, x, y, step=step))


def assert_saved(session):
    """The file on disk is the session's state, and reads back as it."""
    assert session.path.read_text() == landmarks_to_text(session.landmarks)
    back = read_landmarks(session.path)
    assert dict(back.points) == dict(session.points)
    assert back.skipped == session.skipped
    assert dict(back.circles) == dict(session.circles)


def shows_the_whole_film(win) -> bool:
    """The view is the whole film, fitted to the axes (the aspect may widen one of the ranges)."""
    win.ax.apply_aspect()
    (x0, x1), (y0, y1) = sorted(win.ax.get_xlim()), sorted(win.ax.get_ylim())
    inside = x0 <= -0.5 and x1 >= win.columns - 0.5 and y0 <= -0.5 and y1 >= win.rows - 0.5
    return inside and (x1 - x0 == pytest.approx(win.columns) or y1 - y0 == pytest.approx(win.rows))


def status(win) -> str:
    return win._status.get_text()


def panel(win) -> str:
    return win._list.get_text()


# ----------------------------------------------------------------------------- clicking


@pytest.mark.parametrize("max_rows", [None, 300], ids=["full-resolution", "downsampled-3x"])
def test_clicks_place_the_prompted_points_at_full_resolution_coordinates(
    tmp_path, film, image, truth, max_rows
):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, max_rows=max_rows)
    shown = win.ax.images[0].get_array().shape
    assert shown == ((300, 120) if max_rows else image.shape)
    assert not s.path.exists()  # nothing is written before the first change
    for step in s.protocol.steps[:6]:
        assert win._prompt.get_text() == step.prompt
        press(win, truth[step.name])
        assert s.points[step.name] == pytest.approx(truth[step.name], abs=1e-6)
        assert_saved(s)
    assert list(s.points) == list(s.protocol.names[:6])
    assert "saved " in status(win) and f"\u2192 {s.path.name}" in status(win)
    image_block = json.loads(s.path.read_text())["image"]
    assert image_block == {"path": "lat.dcm", "sop_instance_uid": UID, "rows": 900, "columns": 360}


def test_undo_by_right_click_z_and_backspace_and_skip_by_n_and_s(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None)
    names = s.protocol.names
    for name in names[:4]:
        press(win, truth[name])
    press(win, truth[names[3]], button=3)  # right click anywhere on the film (the view follows) undoes
    assert list(s.points) == list(names[:3]) and s.current.name == names[3]
    assert status(win).endswith(f"undid placing {names[3]}")
    assert_saved(s)
    key(win, "z")
    key(win, "backspace")
    assert list(s.points) == [names[0]] and s.current.name == names[1]
    assert_saved(s)
    key(win, "n")
    key(win, "s")
    assert s.skipped == names[1:3] and s.current.name == names[3]
    assert "\u2013 FH.right (skipped)" in panel(win)
    assert_saved(s)
    key(win, "z")
    assert s.skipped == names[1:2] and s.current.name == names[2]
    assert_saved(s)


def test_skipped_points_are_not_asked_again_after_resume(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, protocol="lateral-core")
    s.place(truth["FH.left"])
    s.skip()  # FH.right: superimposed
    s.place(truth["S1.sup.ant"])
    resumed = new_session(tmp_path, film, image, protocol="lateral-core")
    assert resumed.resumed and resumed.skipped == ("FH.right",)
    assert resumed.current.name == "S1.sup.post"
    assert resumed.counts() == (2, 1, 9)
    assert resumed.undo() == "nothing to undo since the file was opened; press r to re-place a point"


def test_double_clicks_clicks_outside_the_film_and_in_the_toolbar_modes_place_nothing(
    tmp_path, film, image, truth
):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None)
    press(win, truth["FH.left"], dblclick=True)
    assert not s.points
    win.ax.set_xlim(-300, 660)  # room beside the film inside the axes
    press(win, (-100.0, 400.0))
    assert not s.points and "outside the film" in status(win)
    panel_box = win._list.get_window_extent()
    press_at(win, (panel_box.x0 + 10, panel_box.y0 + 10))
    assert not s.points and "click on the film" in status(win)
    key(win, "h")  # nothing placed yet: the whole film, whatever h says
    assert shows_the_whole_film(win)

    toolbar = NavigationToolbar2(win.figure.canvas)
    toolbar.zoom()
    press(win, truth["FH.left"])
    assert not s.points and "pan/zoom tool is on" in status(win)
    toolbar.zoom()
    key(win, "p")  # the key toggles the toolbar's pan tool
    assert toolbar.mode
    press(win, truth["FH.left"])
    assert not s.points
    key(win, "p")
    press(win, truth["FH.left"])
    assert list(s.points) == ["FH.left"]
    assert_saved(s)


# ----------------------------------------------------------------------------- refinement


def test_a_refined_click_can_be_accepted_or_overridden(tmp_path, film, image, truth):
    refiner = OffsetRefiner()
    s = new_session(tmp_path, film, image, refiner=refiner)
    win = new_window(s, image, live=None)
    click = truth["FH.left"]
    press(win, click)
    refined = (click[0] + 3, click[1] - 4)
    assert s.points["FH.left"] == pytest.approx(refined)
    assert refiner.calls[0][1:] == ("FH.left", {"FH.left": pytest.approx(click)}, "lateral", (1.0, 1.0))
    assert refiner.calls[0][0] == image.shape
    # the raw click and the refined point are both shown until the review ends
    assert win._click_marker.get_xydata().tolist() == [pytest.approx(list(click))]
    assert win._refined_marker.get_xydata().tolist() == [pytest.approx(list(refined))]
    assert "confidence 0.80" in win._review_text.get_text()
    doc = json.loads(s.path.read_text())
    assert doc["refinement"]["moved"]["FH.left"]["from"] == pytest.approx(list(click))
    assert doc["refinement"]["moved"]["FH.left"]["distance_px"] == 5.0
    assert doc["circles"]["FH.left"] == {"center": pytest.approx(list(refined)), "radius": 20.0}
    assert_saved(s)

    key(win, "enter")
    assert status(win).endswith("accepted the refined FH.left")
    assert s.points["FH.left"] == pytest.approx(refined) and s.review is None
    assert win._click_marker.get_xydata().size == 0
    assert_saved(s)

    press(win, truth["FH.right"])
    key(win, "k")
    assert s.points["FH.right"] == pytest.approx(truth["FH.right"])
    assert s.refinement.declined["FH.right"] == KEPT_CLICK == "user kept the click"
    assert "FH.right" not in s.refinement.moved and "FH.right" not in s.circles
    assert s.current.name == "S1.sup.ant"
    assert_saved(s)
    key(win, "z")  # undoing the override brings the refined point back
    assert s.points["FH.right"] == pytest.approx((truth["FH.right"][0] + 3, truth["FH.right"][1] - 4))
    assert "FH.right" in s.refinement.moved and "FH.right" not in s.refinement.declined
    assert_saved(s)
    key(win, "a")
    assert s.keep_click() == "nothing to override: press k right after placing a point"


def test_a_long_reason_is_wrapped_beside_the_point_and_the_status_stays_one_line(
    tmp_path, film, image, truth
):
    """A person reads why beside the point; the status line is clipped to the window, never off its edge."""
    reason = "the edge along the clicked endplate is too broken to fit a line " * 6

    def wordy_refiner(image, name, points, *, view, mm_per_px):
        return FakeFailure(reason.strip())

    s = new_session(tmp_path, film, image, refiner=wordy_refiner)
    win = new_window(s, image, live=None)
    press(win, truth["FH.left"])
    callout = win._review_text.get_text().splitlines()
    assert callout[0].startswith("not refined: the edge") and len(callout) > 3
    assert all(len(line) <= 48 for line in callout)
    line = status(win)
    assert "\n" not in line and line.endswith("\u2026")
    assert len(line) <= win.figure.get_figwidth() * 72 / (0.6 * 9)


def test_a_point_no_refiner_handles_is_placed_quietly(tmp_path, film, image, truth):
    """A centroid is placed as clicked by design: no alarm beside it, a plain word in the status line."""
    from spinecheck.landmarks.refine.points import refine_point

    s = new_session(tmp_path, film, image, protocol="lateral", refiner=refine_point)
    win = new_window(s, image, live=None)
    while s.current.name != "T1.centroid":
        key(win, "n")
    x, y = 200.0, 300.0
    press(win, (x, y))
    assert s.points["T1.centroid"] == pytest.approx((x, y))
    assert "centroids are not refined" in s.refinement.declined["T1.centroid"]  # the record says why
    assert not win._review_text.get_visible()
    assert "placed T1.centroid at (200.0, 300.0), as clicked (only heads and corners are refined)" in status(
        win
    )


def test_a_failed_or_broken_refinement_keeps_the_click_and_says_why(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, refiner=failing_refiner)
    win = new_window(s, image, live=None)
    press(win, truth["FH.left"])
    assert s.points["FH.left"] == pytest.approx(truth["FH.left"])
    assert s.refinement.declined == {"FH.left": "no edge near the click"}
    assert "not refined: no edge near the click" in status(win)
    assert win._review_text.get_text() == "not refined: no edge near the click"  # beside the point
    assert_saved(s)
    s.refiner = broken_refiner
    press(win, truth["FH.right"])
    assert s.points["FH.right"] == pytest.approx(truth["FH.right"])
    assert s.refinement.declined["FH.right"] == "refinement error: RuntimeError: boom"
    assert_saved(s)


def test_an_endplate_refinement_moves_the_partner_and_keep_click_puts_both_back(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, refiner=endplate_refiner, protocol="lateral-core")
    s.skip()
    s.skip()
    ant, post = truth["S1.sup.ant"], truth["S1.sup.post"]
    s.place(ant)
    assert s.points["S1.sup.ant"] == pytest.approx((ant[0] + 1, ant[1] + 2))
    message = s.place(post)
    assert "also moved S1.sup.ant" in message
    assert s.points["S1.sup.ant"] == pytest.approx((ant[0] + 2, ant[1] + 4))
    assert s.refinement.moved["S1.sup.ant"].original == pytest.approx(ant)  # still the user's click
    assert_saved(s)
    s.keep_click()
    assert s.points["S1.sup.post"] == pytest.approx(post)
    assert s.points["S1.sup.ant"] == pytest.approx((ant[0] + 1, ant[1] + 2))  # as before that click
    assert_saved(s)
    # a point the user kept is not moved by its partner's refinement
    s.goto("S1.sup.ant")
    s.place(ant)
    s.keep_click()
    s.goto("S1.sup.post")
    s.place(post)
    assert s.points["S1.sup.ant"] == pytest.approx(ant)
    assert s.refinement.declined["S1.sup.ant"] == KEPT_CLICK


# ----------------------------------------------------------------------------- saving, crash, resume


def test_a_crash_loses_nothing_and_a_new_session_resumes_at_the_right_step(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, refiner=OffsetRefiner())
    win = new_window(s, image, live=None)
    for name in s.protocol.names[:4]:
        press(win, truth[name])
    key(win, "n")  # L5.inf.ant not visible
    press(win, truth["L5.inf.post"])
    expected = s.path.read_text()
    del win  # the process dies: no close event, no quit
    # ... half-way through a later save, leaving its temporary file behind
    torn = tmp_path / f".{s.path.name}.spinecheck-tmp-999999999-deadbeef"  # no process has this pid
    torn.write_text(expected[: len(expected) // 2])
    legacy = tmp_path / f".{s.path.name}.999999998.deadbeef.tmp"  # the name earlier releases gave
    legacy.write_text(expected[:10])
    assert s.path.read_text() == expected
    assert stale_temporary_files(s.path) == sorted([torn, legacy])

    again = new_session(tmp_path, film, image, refiner=OffsetRefiner())
    assert again.resumed and again.current.name == "L4.sup.ant"
    assert dict(again.points) == dict(s.points) and again.skipped == ("L5.inf.ant",)
    assert dict(again.refinement.moved) == dict(s.refinement.moved)
    win = new_window(again, image, live=None)
    assert "resumed lat.landmarks.json: 5 placed, 1 skipped, 22 to do" in status(win)
    press(win, truth["L4.sup.ant"])
    assert list(again.points)[-1] == "L4.sup.ant"
    assert_saved(again)
    # the save removed what the killed process left (issue 13: 138 such files after 300 kills)
    assert not torn.exists() and not legacy.exists() and stale_temporary_files(s.path) == []


def test_a_failed_save_is_shown_keeps_the_old_file_and_is_retried(tmp_path, film, image, truth, monkeypatch):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None)
    press(win, truth["FH.left"])
    before = s.path.read_text()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    press(win, truth["FH.right"])
    assert "FH.right" in s.points and s.dirty
    assert status(win).startswith("NOT SAVED") and "Permission denied" in status(win)
    assert s.path.read_text() == before and not stale_temporary_files(s.path)
    monkeypatch.undo()
    key(win, "q")  # quitting saves what the failed save could not
    assert not s.dirty and "FH.right" in read_landmarks(s.path).points


def test_q_saves_and_quits(tmp_path, film, image, truth):
    quits = []
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None, on_quit=lambda: quits.append(True))
    press(win, truth["FH.left"])
    key(win, "q")
    assert quits == [True] and win.closed
    press(win, truth["FH.right"])  # the window no longer listens
    assert list(s.points) == ["FH.left"]
    assert_saved(s)


def test_resuming_refuses_another_view_another_image_or_another_size(tmp_path, film, image):
    path = tmp_path / "lat.landmarks.json"
    write_landmarks(LandmarkSet("ap", {"C7.centroid": (10, 10)}), path)
    with pytest.raises(
        InvalidLandmarksError, match="is a ap film's landmarks, but this annotation is lateral"
    ):
        new_session(tmp_path, film, image)
    write_landmarks(LandmarkSet("lateral", {}, image=ImageRef(sop_instance_uid="9.9")), path)
    with pytest.raises(InvalidLandmarksError, match="SOP Instance UID 9.9, not on"):
        new_session(tmp_path, film, image)
    write_landmarks(LandmarkSet("lateral", {}, image=ImageRef(rows=1000, columns=360)), path)
    with pytest.raises(InvalidLandmarksError, match="declares an image of 1000 rows, but .* has 900"):
        new_session(tmp_path, film, image)
    write_landmarks(LandmarkSet("lateral", {"C7.centroid": (500.0, 10.0)}), path)
    with pytest.raises(InvalidLandmarksError, match='point "C7.centroid" .* lies outside the image'):
        new_session(tmp_path, film, image)
    with pytest.raises(FileExistsError):
        new_session(tmp_path, film, image, resume=False)


def test_the_session_refuses_clicks_off_the_film(tmp_path, film, image):
    s = new_session(tmp_path, film, image)
    with pytest.raises(InvalidLandmarksError, match="lies outside the image"):
        s.place((360.0, 10.0))
    with pytest.raises(InvalidLandmarksError, match="finite"):
        s.place((math.nan, 10.0))
    assert s.place((359.5, 899.5)).startswith("placed FH.left")


# ----------------------------------------------------------------------------- navigation and view


def test_r_re_places_a_point_and_the_arrows_move_through_the_list(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None)
    names = s.protocol.names
    for name in names[:3]:
        press(win, truth[name])
    key(win, "r")
    assert win._prompt.get_text() == "Click near the point you want to re-place"
    x, y = truth[names[0]]
    press(win, (x + 2, y + 1))  # near FH.left
    assert s.current.name == names[0] and "(re-placing)" in win._step_text.get_text()
    press(win, (x + 5, y + 5))
    assert s.points[names[0]] == pytest.approx((x + 5, y + 5))
    assert s.current.name == names[3]  # back to the first open step
    assert_saved(s)
    key(win, "left")
    assert s.current.name == names[2]
    key(win, "left")
    key(win, "right")
    assert s.current.name == names[2]
    key(win, "escape")
    assert s.current.name == names[3]
    key(win, "r")
    key(win, "h")  # the whole film, to click far from every point
    press(win, (300.0, 50.0))
    assert "no placed point near that click" in status(win) and not win.picking


def test_scroll_zooms_about_the_cursor_and_shows_full_resolution(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None, max_rows=300)
    assert shows_the_whole_film(win)
    at = truth["L1.sup.ant"]
    before = win.ax.transData.transform(at)
    width = np.diff(win.ax.get_xlim())[0]
    scroll(win, at, 2)
    assert win.ax.transData.transform(at) == pytest.approx(before)
    assert np.diff(win.ax.get_xlim())[0] == pytest.approx(width / 1.25**2)
    detail = win.ax.images[1]
    assert not detail.get_visible()  # the overview still has the pixels the screen can show
    scroll(win, at, 4)
    assert win.ax.transData.transform(at) == pytest.approx(before)
    assert np.diff(win.ax.get_xlim())[0] == pytest.approx(width / 1.25**6)
    assert detail.get_visible()
    x0, x1, y1, y0 = detail.get_extent()
    assert x0 <= at[0] <= x1 and y0 <= at[1] <= y1
    assert detail.get_array().shape == (round(y1 - y0), round(x1 - x0))
    key(win, "-")
    assert np.diff(win.ax.get_xlim())[0] == pytest.approx(width / 1.25**5)
    key(win, "h")
    assert shows_the_whole_film(win) and not detail.get_visible()
    scroll(win, at, -2)  # cannot zoom out beyond the whole film
    assert shows_the_whole_film(win)


def test_a_zoomed_view_of_a_large_film_is_drawn_at_the_screens_resolution(tmp_path, film, image, truth):
    win = big_window(tmp_path, film, image, "lateral", (1280, 800))
    win.key("h")
    overview, detail = win.ax.images
    assert overview.get_visible() and not detail.get_visible()
    scroll(win, 5 * np.asarray(truth["L1.sup.ant"]), 4)  # 1.25 ** 4: still 2 to 3 film pixels a screen pixel
    win.figure.canvas.draw()
    assert detail.get_visible() and not overview.get_visible()  # the detail covers all the film shown
    box = win.ax.bbox
    rows, columns = detail.get_array().shape
    # a whole number of film pixels a shown pixel, as many as keep the screen's resolution: under twice its pixels
    assert rows < 2 * box.height and columns < 2 * box.width
    x0, x1, y1, y0 = detail.get_extent()
    (v0, v1), (w1, w0) = win.ax.get_xlim(), win.ax.get_ylim()
    assert x0 <= max(v0, -0.5) and x1 >= min(v1, 1799.5) and y0 <= max(w0, -0.5) and y1 >= min(w1, 4499.5)
    r0, c0 = round(y0 + 0.5), round(x0 + 0.5)
    k = round((x1 - x0) / columns)
    assert k >= 2  # not the full resolution of the film
    block = win.image[r0 : r0 + k, c0 : c0 + k].astype(float)
    assert detail.get_array()[0, 0] == pytest.approx(block.mean(), abs=0.51)  # a block mean, not a sample


def test_a_frame_renders_only_the_texts_that_changed_and_pastes_the_rest_as_drawn(
    tmp_path, film, image, truth
):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image)
    canvas = FigureCanvasAgg(win.figure)
    rendered: list = []

    def counted(text):
        draw = text.draw
        text.draw = lambda renderer: (rendered.append(text), draw(renderer))

    for t in win.figure.texts:
        counted(t)

    def frames(action=None) -> tuple[set, np.ndarray]:
        """The texts rendered by *action* and the frame drawn after it (an Agg canvas draws at once)."""
        rendered.clear()
        if action is not None:
            action()
        canvas.draw()
        return set(rendered), np.asarray(canvas.buffer_rgba()).copy()

    first, pixels = frames()
    assert first == {t for t in win.figure.texts if t.get_text()}  # the first frame renders every text
    again, same = frames()
    assert not again and np.array_equal(same, pixels)  # nothing changed: every text pasted as it was
    after_click, pasted = frames(lambda: press(win, truth[s.protocol.names[0]]))
    assert win._keys not in after_click  # the keys do not change with a click
    assert {win._prompt, win._list, win._status} <= after_click
    win._texts._kept.clear()
    _, all_rendered = frames()
    assert np.array_equal(pasted, all_rendered)  # what is pasted is what rendering gives
    assert not frames(lambda: scroll(win, truth[s.protocol.names[1]], 2))[0]  # a zoom draws no text

    def resize():
        win.figure.set_size_inches(16, 10)
        ResizeEvent("resize_event", canvas)._process()

    assert win._keys in frames(resize)[0]  # a new layout: the texts are drawn in their new places


# ----------------------------------------------------------------------------- live parameters, prompts


def test_live_parameters_appear_once_their_points_are_placed(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image)
    # every missing point is named, not only the first group: the heads as well as the S1 endplate
    words = " ".join(panel(win).split())  # a long line continues on a second one
    assert "PI — needs S1.sup.ant, S1.sup.post, FH.left and FH.right (or FH) PT" in words
    press(win, truth["FH.left"])
    assert "PI       — needs S1.sup.ant, S1.sup.post\n" in panel(win)
    for name in ("FH.right", "S1.sup.ant", "S1.sup.post"):
        press(win, truth[name])
    text = panel(win)
    for pid in ("PI", "PT", "SS"):
        assert f"{pid:<8} {film.truth[pid]:.1f}°" in text
    assert "SVA      — needs C7.centroid" in text
    assert "[front = image right]" in win._hint.get_text()


def test_the_window_says_when_every_point_is_done(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, protocol="lateral-core")
    win = new_window(s, image)
    for step in s.protocol.steps:
        if step.name in truth:
            press(win, truth[step.name])
        else:
            key(win, "n")  # centroids are not in the synthetic truth
    assert s.done and win._prompt.get_text().startswith("Every point is placed or skipped")
    press(win, (100.0, 100.0))
    assert "every point is done" in status(win) and len(s.points) == 10
    assert "LL       " in panel(win) and "TK       " in panel(win)


# ----------------------------------------------------------------------------- the real refiner


def test_the_real_refiner_records_its_moves_in_a_readable_file(tmp_path):
    from spinecheck.landmarks.refine import points as refine

    film = synthetic_lateral(mm_per_px=0.5)
    image = (film.pixels >> 4).astype(np.uint8)
    truth = film.landmarks.points
    s = AnnotationSession(
        tmp_path / "lat.landmarks.json",
        "lateral-core",
        image=image,
        image_ref=ImageRef(rows=film.shape[0], columns=film.shape[1]),
        header_calibration=Calibration.from_spacing(film.mm_per_px),
        refiner=refine.refine_point,
    )
    for name in ("FH.left", "FH.right", "S1.sup.ant", "S1.sup.post"):
        x, y = truth[name]
        s.place((x + 4.0, y - 3.0))
        assert name in s.refinement.moved or s.refinement.declined.get(name)
    assert_saved(s)


# ----------------------------------------------------------------------------- the command line


@pytest.fixture
def dicom(tmp_path, film):
    return write_dicom(film, tmp_path / "lat.dcm")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refuses_without_an_interactive_display(tmp_path, dicom, capsys, monkeypatch):
    monkeypatch.setenv("CI", "true")
    code, out, err = run(capsys, "annotate", dicom)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "annotate needs an interactive display, and CI is set" in err and "spinecheck refine" in err
    monkeypatch.delenv("CI")
    code, out, err = run(capsys, "annotate", dicom)
    assert code == 2 and "matplotlib's backend is 'agg'" in err.lower() and "spinecheck refine" in err
    assert not (tmp_path / "lat.landmarks.json").exists()


def test_cli_needs_the_view_when_the_image_does_not_say(tmp_path, film, capsys, monkeypatch):
    monkeypatch.setenv("CI", "1")
    png = write_png(film, tmp_path / "lat.png")
    code, _, err = run(capsys, "annotate", png)
    assert code == 2 and "does not say whether it is a lateral or an AP film; give --view" in err
    code, _, err = run(capsys, "annotate", png, "--view", "lateral", "--protocol", "ap")
    assert code == 2 and "--protocol ap: is for ap films" in err
    code, _, err = run(capsys, "annotate", png, "--protocol", "lateral-core")  # the protocol says the view
    assert code == 2 and "CI is set" in err


def test_cli_refuses_the_landmarks_of_another_image_and_says_when_it_resumes(
    tmp_path, dicom, film, capsys, monkeypatch
):
    monkeypatch.setenv("CI", "1")
    out = tmp_path / "lat.landmarks.json"
    write_landmarks(LandmarkSet("lateral", {}, image=ImageRef(sop_instance_uid="9.9")), out)
    code, _, err = run(capsys, "annotate", dicom)
    assert code == 2 and "SOP Instance UID 9.9, not on" in err and err.count("\n") == 1
    write_landmarks(LandmarkSet("lateral", {"FH.left": film.landmarks.points["FH.left"]}), out)
    (tmp_path / f".{out.name}.999999996.cafe.tmp").write_text("{")  # a pid no process has
    code, _, err = run(capsys, "annotate", dicom)
    assert code == 2
    assert f"resuming {out}: 1 placed, 0 skipped, 27 to do; next: FH.right" in err
    assert "temporary file an interrupted save left" in err
    code, _, err = run(capsys, "annotate", dicom, "-o", tmp_path / "x.csv")
    assert code == 2 and "unsupported landmark file type '.csv'" in err
    code, _, err = run(capsys, "annotate", dicom, "-o", tmp_path / "no such folder" / "x.json")
    assert code == 2 and "cannot write a file in that folder" in err


def simulated_user(monkeypatch, clicks, keys):
    """Replace the window's ``plt.show`` by a person who clicks *clicks* (film pixels), then presses *keys*."""
    import matplotlib.pyplot as plt
    from spinecheck import cli

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(cli, "_require_display", lambda: None)

    def user(*args, **kwargs):
        fig = plt.gcf()
        ax = fig.axes[0]
        ax.apply_aspect()
        for xy in clicks:
            x, y = ax.transData.transform(xy)
            fig.canvas.callbacks.process(
                "button_press_event", MouseEvent("button_press_event", fig.canvas, x, y, button=1)
            )
        for k in keys:
            fig.canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", fig.canvas, k))

    monkeypatch.setattr(plt, "show", user)


def test_cli_annotates_end_to_end_in_a_window(tmp_path, dicom, film, capsys, monkeypatch):
    import matplotlib.pyplot as plt

    truth = film.landmarks.points
    simulated_user(monkeypatch, [truth["FH.left"], truth["FH.right"]], ["n", "q"])  # two clicks, a skip, q
    code, out, err = run(capsys, "annotate", dicom, "--no-refine", "--protocol", "lateral-core")
    assert code == 0, err
    path = tmp_path / "lat.landmarks.json"
    s = read_landmarks(path)
    assert list(s.points) == ["FH.left", "FH.right"] and s.skipped == ("S1.sup.ant",)
    assert s.image.path == "lat.dcm" and s.image.rows == 900 and s.image.sop_instance_uid
    assert f"landmarks: {path} (2 placed, 1 skipped, 9 to do)" in out
    assert f"spinecheck measure {path} --image {dicom}" in out
    assert not plt.get_fignums()  # q closed the window


def test_cli_window_refines_on_every_grey_level_of_the_film(tmp_path, capsys, monkeypatch):
    """The window's refiner reads ``Radiograph.analysis``, every grey level of the film.

    On the 8-bit display of this 12-bit demo-size film the second of two superimposed heads was
    fitted 4 mm off with a 140 px radius (found driving the real window under Xvfb).
    """
    big = synthetic_lateral(0)  # the demo film: 4500 x 1800 px, 0.2 mm/px, 12 bits
    dcm = write_dicom(big, tmp_path / "demo.dcm")
    circles = big.landmarks.circles
    clicks = [
        (circles["FH.left"].center[0] + 14.3, circles["FH.left"].center[1] - 19.8),
        (circles["FH.right"].center[0] - 4.0, circles["FH.right"].center[1] + 1.6),
    ]
    simulated_user(monkeypatch, clicks, ["q"])
    code, _, err = run(capsys, "annotate", dcm, "--protocol", "lateral-core")
    assert code == 0, err
    s = read_landmarks(tmp_path / "demo.landmarks.json")
    for name in ("FH.left", "FH.right"):
        assert name in s.refinement.moved, name
        assert math.dist(s.points[name], circles[name].center) * 0.2 < 0.5, name  # the click was 1-5 mm off
        assert s.circles[name].radius == pytest.approx(circles[name].radius, rel=0.03), name


def test_cli_help_lists_the_keys(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["annotate", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "keys in the window:" in out and "keep my click" in out and "--no-refine" in out


# ----------------------------------------------------------------------------- layout, view, settings

SCREENS = [(1280, 800), (1600, 1000), (1920, 1080)]


def big_window(tmp_path, film, image, protocol, size, *, placed=()):
    """A window at *size* screen pixels over the film scaled to 4500 x 1800 px (the demo films' size)."""
    big = np.repeat(np.repeat(image, 5, axis=0), 5, axis=1)
    s = AnnotationSession(
        tmp_path / f"{protocol}-{size[0]}.landmarks.json",
        protocol,
        image_ref=ImageRef("big.dcm", UID, *big.shape),
        header_calibration=Calibration.from_spacing((0.2, 0.2)),
    )
    figure = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    FigureCanvasAgg(figure)  # measured as drawn
    win = AnnotationWindow(s, big, live=live_parameters, figure=figure)
    for name in placed:
        s.place(tuple(5 * np.asarray(film.landmarks.points[name]) + 2))
    win.refresh()
    return win


def text_boxes(win):
    """The window extents of every text outside the film, drawn as on screen."""
    win.figure.canvas.draw()
    renderer = win.figure.canvas.get_renderer()
    return {t.get_text()[:30]: t.get_window_extent(renderer) for t in win.figure.texts if t.get_text()}


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
@pytest.mark.parametrize("protocol", ["lateral", "ap"])
def test_no_text_overlaps_another_or_the_film_and_all_lie_inside_the_window(
    tmp_path, film, image, size, protocol
):
    placed = (
        [n for n in get_protocol("lateral").names if n in film.landmarks.points]
        if protocol == "lateral"
        else []
    )
    win = big_window(tmp_path, film, image, protocol, size, placed=placed)
    win.message = "x" * 400  # the longest status there can be: clipped to the window
    win.refresh()
    boxes = text_boxes(win)
    assert len(boxes) == 6  # step, prompt, hint, status, steps and parameters, keys
    film_box = win.ax.get_window_extent()
    width, height = size
    for name, box in boxes.items():
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (name, box)
        assert not box.overlaps(film_box), (name, box, film_box)
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b, boxes[a], boxes[b])
    assert "Parameters (live)" in panel(win) and "Keys" in win._keys.get_text()


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_whole_film_takes_the_height_the_texts_leave(tmp_path, film, image, size):
    win = big_window(tmp_path, film, image, "lateral", size)
    win.key("h")  # nothing placed: the whole film either way
    win.figure.canvas.draw()
    win.ax.apply_aspect()
    (x0, y0), (x1, y1) = win.ax.transData.transform([(-0.5, 4499.5), (1799.5, -0.5)])
    shown_w, shown_h = abs(x1 - x0), abs(y1 - y0)
    assert shown_h >= 0.82 * size[1]  # was about 575 of 1000 px
    assert shown_w == pytest.approx(shown_h * 1800 / 4500, rel=0.01)


def test_the_live_panel_lists_only_the_protocols_parameters(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, protocol="lateral-core")
    win = new_window(s, image)
    block = panel(win).split("Parameters (live)\n")[1].splitlines()
    # one line a parameter (" PI  ..."); warnings (" ! ...") and wrapped lines (indented) follow
    shown = [line.split()[0] for line in block if line[:2].strip() and not line.startswith(" !")]
    assert shown == ["PI", "PT", "SS", "LL", "TK", "PI_LL", "SVA", "TPA", "GT"]  # parameter-table order
    assert set(shown) == set(s.protocol.parameters)


def test_the_view_follows_the_point_asked_for_and_h_shows_the_whole_film(tmp_path, film, image, truth):
    s = new_session(tmp_path, film, image, protocol="lateral")
    win = new_window(s, image, live=None)
    assert shows_the_whole_film(win)  # nothing placed: nothing to predict from
    for step in s.protocol.steps:
        if step.name not in truth:
            key(win, "n")
            continue
        if s.points:
            x0, x1 = sorted(win.ax.get_xlim())
            y0, y1 = sorted(win.ax.get_ylim())
            assert x0 <= truth[step.name][0] <= x1 and y0 <= truth[step.name][1] <= y1, step.name
            assert y1 - y0 < 0.5 * film.shape[0], step.name  # zoomed in
        press(win, truth[step.name])
    s.goto("L1.sup.ant")
    win.refresh()
    key(win, "h")
    assert shows_the_whole_film(win) and not win.follow and "whole film" in status(win)
    key(win, "h")
    assert win.follow and not shows_the_whole_film(win)


@pytest.mark.parametrize("facing", ["right", "left"])
def test_the_expected_region_holds_every_point_of_spines_of_many_shapes(facing):
    from spinecheck.landmarks.annotate.focus import expected_region
    from spinecheck.landmarks.synthetic.spine_model import SpineModel, lateral_geometry

    protocol = get_protocol("lateral")
    mirror = 1 if facing == "right" else -1
    for pi, pt, ll, tk in [
        (35, 5, 20, 15),
        (55, 22, 50, 40),
        (80, 40, 75, 70),
        (45, 30, 30, 60),
        (70, 10, 70, 20),
    ]:
        g = lateral_geometry(SpineModel(pi, pt, ll, tk, body_scale=0.9))
        points = {n: (900 + mirror * x / 0.2, 4000 - y / 0.2) for n, (x, y) in g.points_mm.items()}
        placed = {}
        for name in protocol.names:
            if name not in points:
                continue
            region = expected_region(name, placed, "lateral", (4500, 1800), (0.2, 0.2))
            if placed:
                assert region.contains(points[name]), (pi, pt, ll, tk, name)
            placed[name] = points[name]


def test_the_expected_region_holds_every_corner_of_the_real_aasce_films():
    import csv
    import pathlib

    from PIL import Image
    from scipy.io import loadmat
    from spinecheck.landmarks.annotate.focus import expected_region

    root = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "aasce-dev"
    if not root.is_dir():
        pytest.skip("needs ../shared/data/aasce-dev")
    levels = [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]
    corners = ("sup.left", "sup.right", "inf.left", "inf.right")
    with open(root / "angles.csv") as f:
        films = [r["image"] for r in csv.DictReader(f) if r["labels_ok"] == "yes"]
    assert len(films) == 40
    for film_name in films:
        p2 = loadmat(root / "labels" / f"{film_name}.mat")["p2"].astype(float)
        points = {
            f"{lv}.{c}": tuple(p2[4 * i + j]) for i, lv in enumerate(levels) for j, c in enumerate(corners)
        }
        with Image.open(root / "images" / film_name) as picture:
            columns, rows = picture.size
        placed = {}
        for name in get_protocol("ap").names:  # the protocol's order; C7, S1 and the crests are not labelled
            if name in points:
                region = expected_region(name, placed, "ap", (rows, columns))
                assert not placed or region.contains(points[name]), (film_name, name)
                placed[name] = points[name]


def test_calibration_by_a_line_and_by_a_ball_is_set_in_the_window_and_saved(tmp_path, film, image):
    s = new_session(tmp_path, film, image)
    win = new_window(s, image, live=None)
    key(win, "c")
    assert win._prompt.get_text() == "Click one end of the ruler or marker"
    press(win, (100.0, 100.0))
    press(win, (100.0, 500.0))
    assert win._prompt.get_text().startswith("Type the length in mm")
    key(win, "enter")
    assert "type the length in mm first" in status(win) and win.calibrating is not None
    for k in "1O":  # a letter is not a digit: refused, nothing typed
        key(win, k)
    assert win.calibrating.typed == "1"
    for k in ("0", "0", "enter"):
        key(win, k)
    assert win.calibrating is None and "calibrated: line of 100 mm over 400.0 px" in status(win)
    saved = json.loads(s.path.read_text())["calibration"]
    assert saved["length_mm"] == 100.0
    assert np.asarray(saved["line"]) == pytest.approx(np.array([[100.0, 100.0], [100.0, 500.0]]))
    assert read_landmarks(s.path).calibration.mm_per_px == pytest.approx((0.25, 0.25))

    key(win, "b")
    for xy in ((225.0, 200.0), (200.0, 225.0), (175.0, 200.0)):
        press(win, xy)
    key(win, "backspace")  # the last rim point again
    press(win, (175.0, 200.0))
    press(win, (200.0, 175.0))
    for k in ("enter", "2", "5", "enter"):
        key(win, k)
    assert read_landmarks(s.path).calibration.mm_per_px == pytest.approx((0.5, 0.5))
    assert json.loads(s.path.read_text())["calibration"]["ball"]["diameter_mm"] == 25.0
    key(win, "c")
    press(win, (100.0, 100.0))
    key(win, "escape")
    assert win.calibrating is None and read_landmarks(s.path).calibration.mm_per_px == pytest.approx(
        (0.5, 0.5)
    )
    key(win, "c")
    press(win, (100.0, 100.0))
    press(win, (100.0, 100.5))
    for k in ("9", "enter"):
        key(win, k)  # 18 mm a pixel: no radiograph has it
    assert "mm per pixel" in status(win) and win.message_is_error


def test_the_patients_side_is_set_with_f_and_saved_on_an_ap_film(tmp_path, image):
    s = AnnotationSession(tmp_path / "ap.landmarks.json", "ap", image_ref=ImageRef(rows=900, columns=360))
    win = new_window(s, image, live=None)
    sides = []
    for _ in range(3):
        key(win, "f")
        sides.append(json.loads(s.path.read_text()).get("patient_right"))
    assert sides == ["image_left", "image_right", None]
    assert "patient's right: not recorded" in status(win)
    key(win, "f")
    assert "patient's right = image left" in " ".join(win._hint.get_text().split())

    lateral = AnnotationSession(
        tmp_path / "lat.landmarks.json", "lateral", image_ref=ImageRef(rows=900, columns=360)
    )
    win = new_window(lateral, image, live=None)
    key(win, "f")
    assert win.facing == 1 and "the patient faces image right" in status(win)
    assert "front = image right (as you said)" in " ".join(win._hint.get_text().split())


def test_the_printed_continue_command_works_as_printed(tmp_path, film, capsys, monkeypatch):
    import shlex

    png = write_png(film, tmp_path / "lat.png")  # a PNG says no view
    truth = film.landmarks.points
    simulated_user(monkeypatch, [truth["FH.left"]], ["q"])
    code, out, err = run(capsys, "annotate", png, "--view", "lateral", "--no-refine")
    assert code == 0, err
    line = next(line for line in out.splitlines() if "(to continue or correct)" in line)
    argv = shlex.split(line.split("(to continue")[0])
    assert argv[:2] == ["spinecheck", "annotate"] and "--view" not in argv
    simulated_user(monkeypatch, [truth["FH.right"]], ["q"])
    code, out, err = run(capsys, *argv[1:], "--no-refine")
    assert code == 0, err
    assert "resuming" in err and list(read_landmarks(tmp_path / "lat.landmarks.json").points) == [
        "FH.left",
        "FH.right",
    ]
