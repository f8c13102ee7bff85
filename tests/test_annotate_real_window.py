"""``spinecheck annotate`` in a real Tk window on a virtual X display, driven by X events.

The other window tests feed Matplotlib events to an Agg canvas; these run the real TkAgg backend
and its event loop in a child process, so key names, mouse buttons, the scroll wheel and a real
crash (SIGKILL) go through the code a person's window uses. They need Xvfb and tkinter and are
skipped without them (``apt-get install xvfb``; see the README).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
from spinecheck.landmarks import read_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom
from tk_window_driver import run_driver, start_xvfb

SPACING = 0.4  # mm per pixel: a 2250 x 900 film


@pytest.fixture(scope="module")
def display():
    """A virtual X display (``:N``) for the module, or a skip."""
    pytest.importorskip("tkinter")
    started = start_xvfb()
    if started is None:
        pytest.skip("needs Xvfb (apt-get install xvfb) for a real window")
    server, name = started
    yield name
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def film():
    return synthetic_lateral(3, mm_per_px=SPACING)


def drive(display: str, tmp_path: Path, plan: list, *annotate_args) -> subprocess.CompletedProcess:
    plan_file = tmp_path / f"plan{len(list(tmp_path.glob('plan*')))}.json"
    return run_driver(display, plan, plan_file, *annotate_args, cwd=Path(__file__).parent)


def test_a_person_annotates_crashes_and_resumes_in_a_real_window(display, film, tmp_path):
    dcm = write_dicom(film, tmp_path / "lat.dcm")
    out = tmp_path / "lat.landmarks.json"
    truth = film.landmarks.points
    heads = film.landmarks.circles

    def off(name, dx, dy):
        x, y = truth[name]
        return [x + dx, y + dy]

    plan = [
        ["click", *off("FH.left", 6, -5)],  # refined onto the head
        ["key", "k"],  # keep my click instead
        ["key", "z"],  # undo that: the refined point is back
        ["click", *off("FH.right", -4, 5)],
        ["key", "n"],  # skip S1.sup.ant ...
        ["right", *off("S1.sup.ant", 0, 0)],  # ... and undo the skip with the right button
        ["scroll", *off("S1.sup.ant", 0, 0), "up"],
        ["scroll", *off("S1.sup.ant", 0, 0), "up"],
        ["click", *off("S1.sup.ant", 2, -3)],
        ["click", *off("S1.sup.post", -2, 3)],
        ["kill"],  # the window dies: nothing placed may be lost
    ]
    run = drive(display, tmp_path, plan, dcm, "--protocol", "lateral-core")
    assert run.returncode == -9, run.stderr
    s = read_landmarks(out)
    assert list(s.points) == ["FH.left", "FH.right", "S1.sup.ant", "S1.sup.post"] and not s.skipped
    for name in ("FH.left", "FH.right"):
        assert math.dist(s.points[name], heads[name].center) * SPACING < 1.0, name
        assert name in s.refinement.moved
    # the click, to the screen pixel it fell on (about 3 film pixels on the whole film)
    assert math.dist(s.refinement.moved["FH.left"].original, off("FH.left", 6, -5)) < 4
    for name in ("S1.sup.ant", "S1.sup.post"):  # on the endplate line, whatever the click's error along it
        assert name in s.refinement.moved and s.refinement.moved[name].method == "endplate"
    a, b = (truth[n] for n in ("S1.sup.ant", "S1.sup.post"))
    p, q = (s.points[n] for n in ("S1.sup.ant", "S1.sup.post"))
    true_deg = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    assert math.degrees(math.atan2(q[1] - p[1], q[0] - p[0])) == pytest.approx(true_deg, abs=0.5)

    plan = [
        ["key", "h"],  # the whole film (the view followed the point asked for), and no more following
        ["click", *off("L5.inf.ant", 1, 1)],
        ["scroll", *off("L5.inf.ant", 0, 0), "up"],
        ["key", "q"],
    ]
    run = drive(display, tmp_path, plan, dcm)
    assert run.returncode == 0, run.stderr
    assert "resuming" in run.stderr and "4 placed, 0 skipped" in run.stderr
    assert f"landmarks: {out.name}" in run.stdout or f"landmarks: {out}" in run.stdout
    assert "(5 placed, 0 skipped" in run.stdout
    y0, y1 = (float(v) for v in run.stdout.split("driver: view y ")[1].split()[:2])
    assert abs(y0 - y1) == pytest.approx(film.shape[0] / 1.25, rel=0.02)  # one wheel step zooms 1.25 x
    assert read_landmarks(out).points["L5.inf.ant"] is not None
