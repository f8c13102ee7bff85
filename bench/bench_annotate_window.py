"""Annotating the demo films end to end in the real window: parameters against the truth.

Each demo film (``spinecheck demo``: lateral and AP, 4500 x 1800 px at 0.2 mm/px) is written as
DICOM and opened with ``spinecheck annotate`` in a real Tk window on a virtual display (Xvfb). Every
point the protocol asks for is clicked once, on the whole film (no zoom), at its true position plus
Gaussian noise of ``--sigma-mm`` (default 1 mm) in each axis; the click lands on a screen pixel, as a
person's does (about 1.2 mm of film per screen pixel here). The window refines each click and
autosaves; ``q`` quits. The parameters measured from the saved file, and from the raw clicks (the
``refinement`` record's origins), are compared with those of the exact landmarks.

``--latency`` measures instead how fast the window answers a click on the lateral demo film (4500 x
1800 px): the real window is driven with ``xdotool`` (an X pointer click, as a mouse gives), and the
screen is read back (libX11's XGetImage over one connection) until the click's marker shows around
the click: that is the click *answered on screen*; the time the window's press handler had blitted
it is reported too. The time until the window has finished its work (refinement,
saving, the live parameters, the zoom to the next point, the redraw) is read from the window's draw
events. ``--busy N`` runs N processes that keep a CPU busy meanwhile.

Needs Xvfb and tkinter (and xdotool for ``--latency``). Run:
``python bench/bench_annotate_window.py [--seeds N] [--sigma-mm S]`` or ``... --latency [--busy N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from spinecheck.alignment.study import load_study  # noqa: E402
from spinecheck.landmarks import ImageRef, LandmarkSet, load_radiograph, read_landmarks, write_landmarks  # noqa: E402
from spinecheck.landmarks.annotate.protocol import default_protocol, get_protocol  # noqa: E402
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom  # noqa: E402
from tk_window_driver import run_driver, start_xvfb  # noqa: E402


def _target(points: dict, name: str) -> tuple[float, float]:
    if name in points:
        return points[name]
    level = name.split(".")[0]  # a centroid: the mean of the body's four corners
    corners = [v for k, v in points.items() if k.startswith(f"{level}.") and k.count(".") == 2]
    return tuple(np.mean(corners, axis=0))


def _values(landmarks: LandmarkSet, radiograph, where: Path) -> dict[str, float]:
    """Every finite parameter measured from *landmarks* on *radiograph*, as ``spinecheck measure`` does."""
    write_landmarks(landmarks, where)
    study = load_study(str(where), image=radiograph)
    out = {}
    for pid, col in study.measurements.values.items():
        v = float(col[0])
        if math.isfinite(v):
            out[pid] = v
    return out


def _child(argv: list[str]) -> int:
    """In the child: run ``spinecheck annotate ARGV`` in a TkAgg window that reports each draw on stdout."""
    import matplotlib

    matplotlib.use("TkAgg")
    import matplotlib.pyplot as plt
    from spinecheck import cli

    show = plt.show

    def reporting_show(*a, **k):
        fig = plt.gcf()
        ax = fig.axes[0]

        def drawn(_event) -> None:
            box = ax.get_window_extent()
            x0, x1 = ax.get_xlim()
            y0, y1 = ax.get_ylim()
            height = fig.bbox.height  # the canvas as drawn (the widget may not have its new size yet)
            print(
                "drawn",
                time.monotonic(),
                box.x0,
                height - box.y1,
                box.width,
                box.height,
                x0,
                x1,
                y0,
                y1,
                flush=True,
            )

        fig.canvas.mpl_connect("draw_event", drawn)
        # after the window's own handler, which blits the click's marker before it returns
        fig.canvas.mpl_connect(
            "button_press_event", lambda _e: print("pressed", time.monotonic(), flush=True)
        )
        return show(*a, **k)

    plt.show = reporting_show
    return cli.main(["annotate", *argv])


class _Draws:
    """The child's draw reports, read in a thread: the latest view and when it was drawn."""

    def __init__(self, stream) -> None:
        self.records: list[list[float]] = []
        self.presses: list[float] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            if line.startswith("drawn "):
                with self.lock:
                    self.records.append([float(v) for v in line.split()[1:]])
            elif line.startswith("pressed "):
                with self.lock:
                    self.presses.append(float(line.split()[1]))

    def count(self) -> int:
        with self.lock:
            return len(self.records)

    def last(self) -> list[float]:
        with self.lock:
            return self.records[-1]

    def after(self, t: float, timeout: float = 60.0) -> float | None:
        """The time of the first draw after *t* (monotonic seconds), waiting for it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                later = [r[0] for r in self.records if r[0] > t]
            if later:
                return later[0]
            time.sleep(0.005)
        return None


def _screen_xy(record: list[float], xy: tuple[float, float]) -> tuple[int, int]:
    """Screen pixel of film point *xy* in the view a draw record describes."""
    _, left, top, width, height, x0, x1, y0, y1 = record
    sx = left + (xy[0] - x0) / (x1 - x0) * width
    sy = top + (xy[1] - y1) / (y0 - y1) * height  # y0 is the bottom of the view (y down)
    return int(round(sx)), int(round(sy))


class _ScreenPixels:
    """Pixels of the X screen read over one open connection (libX11 by ctypes).

    Pillow's ``ImageGrab.grab(xdisplay=...)`` opens a connection for every grab, some 90 ms on the
    shared machine: the change it sees at a click was measured to the next grab, not to the screen.
    """

    def __init__(self, display: str) -> None:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("X11")
        if name is None:
            raise OSError("libX11 not found")
        x11 = ctypes.CDLL(name)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x11.XGetImage.restype = ctypes.POINTER(_XImageHead)
        x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int]
        x11.XGetImage.argtypes += [ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x11.XFree.argtypes = [ctypes.c_void_p]
        self._x11, self._ctypes = x11, ctypes
        self._dpy = x11.XOpenDisplay(display.encode())
        if not self._dpy:
            raise OSError(f"cannot open X display {display}")
        self._root = x11.XDefaultRootWindow(self._dpy)

    def grab(self, box: tuple[int, int, int, int]) -> bytes:
        """The bytes of the screen's pixels in *box* ``(left, top, right, bottom)``."""
        x0, y0, x1, y1 = box
        all_planes, z_pixmap = 0xFFFFFFFF, 2
        image = self._x11.XGetImage(self._dpy, self._root, x0, y0, x1 - x0, y1 - y0, all_planes, z_pixmap)
        head = image.contents
        data = self._ctypes.string_at(head.data, head.bytes_per_line * head.height)
        self._x11.XFree(head.data)
        self._x11.XFree(image)
        return data


def _ximage_fields():
    import ctypes

    i = ctypes.c_int
    return [("width", i), ("height", i), ("xoffset", i), ("format", i), ("data", ctypes.c_void_p)] + [
        (n, i)
        for n in ("byte_order", "bitmap_unit", "bitmap_bit_order", "bitmap_pad", "depth", "bytes_per_line")
    ]


def _ximage_head():
    import ctypes

    class XImageHead(ctypes.Structure):
        """The first fields of Xlib's XImage."""

        _fields_ = _ximage_fields()

    return XImageHead


_XImageHead = _ximage_head()


#: The click's marker (``_SKY`` of the window), as the 24-bit screen shows it.
_MARKER_RGB = (0x56, 0xB4, 0xE9)


def _marker_pixels(data: bytes) -> int:
    """How many pixels of a grab (BGRX bytes) have the colour of the click's marker."""
    bgr = np.frombuffer(data, np.uint8).reshape(-1, 4)[:, 2::-1].astype(int)
    return int((np.abs(bgr - np.array(_MARKER_RGB)).max(axis=1) <= 24).sum())


def _burn() -> None:
    while True:
        pass


def latency(args: argparse.Namespace) -> None:
    """Click every point of the lateral-core protocol on the demo film and time the window's answers."""
    from multiprocessing import Process

    if shutil.which("xdotool") is None:
        print("skipped: needs xdotool")
        return
    started = start_xvfb(args.screen + "x24")
    if started is None:
        print("skipped: needs Xvfb (apt-get install xvfb)")
        return
    server, display = started
    screen = _ScreenPixels(display)
    burners = [Process(target=_burn, daemon=True) for _ in range(args.busy)]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MPLBACKEND")}
    env["DISPLAY"] = display
    answers: dict[str, list[float]] = {"femoral heads": [], "other points": []}
    handled: dict[str, list[float]] = {"femoral heads": [], "other points": []}
    load_before = " / ".join(f"{a:.1f}" for a in os.getloadavg())
    starts: list[float] = []
    done: dict[str, list[float]] = {"femoral heads": [], "other points": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            film = synthetic_lateral(0)
            dcm = write_dicom(film, Path(tmp) / "lateral.dcm")
            out = Path(tmp) / "lateral.landmarks.json"
            child = subprocess.Popen(
                [sys.executable, __file__, "--child", str(dcm), "-o", str(out), "--protocol", "lateral-core"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            draws = _Draws(child.stdout)
            for p in burners:
                p.start()
            deadline = time.monotonic() + 120
            while draws.count() == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)
            core = [n for n in get_protocol("lateral-core").names if n in film.landmarks.points]
            # the clicks are timed from before xdotool starts: what starting it takes is part of each time
            starts.clear()
            for _ in range(5):
                t0 = time.monotonic()
                subprocess.run(["xdotool", "getmouselocation"], env=env, capture_output=True, check=True)
                starts.append(time.monotonic() - t0)
            xdo = {"env": env, "check": True}
            for name in core:
                seen = -1
                while draws.count() != seen:  # the window at rest: no draw for half a second
                    seen = draws.count()
                    time.sleep(0.5)
                # the canvas's place on the screen now (the window may have moved since it drew)
                where = subprocess.run(
                    ["xdotool", "search", "--name", "spinecheck annotate", "getwindowgeometry", "--shell"],
                    env=env,
                    capture_output=True,
                    text=True,
                ).stdout
                shell = dict(line.split("=", 1) for line in where.split() if "=" in line)
                record = draws.last()
                record = [record[0], record[1] + int(shell["X"]), record[2] + int(shell["Y"]), *record[3:]]
                xy = _screen_xy(record, film.landmarks.points[name])
                _, left, top, width, height = record[:5]
                if not (left < xy[0] < left + width and top < xy[1] < top + height):
                    print(f"{name}: not in the view the window zoomed to", flush=True)
                    continue
                if args.verbose:
                    print(name, xy, draws.last(), flush=True)
                subprocess.run(["xdotool", "mousemove", "--sync", *map(str, xy)], **xdo)
                box = (xy[0] - 12, xy[1] - 12, xy[0] + 13, xy[1] + 13)
                # the pointer's move changes the toolbar's message and with it the window: let it settle
                time.sleep(0.5)
                before = _marker_pixels(screen.grab(box))
                t0 = time.monotonic()
                # not waited for: xdotool's click returns some 100 ms after the press (its delay between clicks)
                clicking = subprocess.Popen(["xdotool", "click", "1"], env=env)
                answered = None
                while time.monotonic() - t0 < 30:
                    if _marker_pixels(screen.grab(box)) > before:
                        answered = time.monotonic()
                        break
                clicking.wait(timeout=30)
                # the draw that follows the click (refined, saved, zoomed): the next click waits for it
                finished = draws.after(t0)
                kind = "femoral heads" if name.startswith("FH") else "other points"
                if answered is not None:
                    answers[kind].append(answered - t0)
                if finished is not None:
                    done[kind].append(finished - t0)
                with draws.lock:
                    pressed = [t for t in draws.presses if t > t0]
                if pressed:
                    handled[kind].append(pressed[0] - t0)
            subprocess.run(["xdotool", "key", "q"], **xdo)
            child.wait(timeout=60)
    finally:
        for p in burners:
            p.terminate()
        server.terminate()
        server.wait(timeout=10)
    busy = f", {args.busy} busy CPU processes" if args.busy else ""
    load = " / ".join(f"{a:.1f}" for a in os.getloadavg())
    print(
        f"click -> screen on the 4500 x 1800 demo film (lateral-core, screen {args.screen}{busy}; "
        f"load average {load_before} before, {load} after; {os.cpu_count()} CPUs), ms:"
    )
    print(f"  (each includes starting xdotool: median {np.median(starts) * 1000:.0f} ms)")
    for kind in answers:
        for what, times in (
            ("marker blitted (the window's press handler)", handled[kind]),
            ("answered (the marker's colour at the click)", answers[kind]),
            ("finished (refined, saved, zoomed, drawn)", done[kind]),
        ):
            t = np.array(times) * 1000
            if len(t):
                print(
                    f"  {kind:<14} {what:<44} median {np.median(t):5.0f}, 90th percentile "
                    f"{np.percentile(t, 90):5.0f}, max {t.max():5.0f} over {len(t)} clicks"
                )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        sys.exit(_child(sys.argv[2:]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sigma-mm", type=float, default=1.0)
    ap.add_argument("--latency", action="store_true", help="time the answer to a click instead")
    ap.add_argument("--busy", type=int, default=0, help="with --latency: processes keeping a CPU busy")
    ap.add_argument("--screen", default="1600x1000", help="with --latency: the virtual screen's size")
    ap.add_argument("--verbose", action="store_true", help="with --latency: each click's place and view")
    args = ap.parse_args()
    if args.latency:
        latency(args)
        return
    started = start_xvfb()
    if started is None:
        print("skipped: needs Xvfb (apt-get install xvfb)")
        return
    server, display = started
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for view, make in (("lateral", synthetic_lateral), ("ap", synthetic_ap)):
                film = make(0)
                spacing = film.mm_per_px[0]
                dcm = write_dicom(film, Path(tmp) / f"{view}.dcm")
                radiograph = load_radiograph(dcm)
                ref = ImageRef(dcm.name, radiograph.sop_instance_uid, *film.shape)
                truth = _values(film.landmarks.replace(image=ref), radiograph, Path(tmp) / "truth.json")
                steps = [s.name for s in default_protocol(view).steps]
                refined_err, click_err, seconds, moved = {}, {}, 0.0, []
                for seed in range(args.seeds):
                    rng = np.random.default_rng(seed)
                    out = Path(tmp) / f"{view}-{seed}.landmarks.json"
                    plan = []
                    for name in steps:
                        x, y = _target(film.landmarks.points, name)
                        plan.append(
                            ["click", *(np.array([x, y]) + rng.normal(0, args.sigma_mm / spacing, 2))]
                        )
                    plan.append(["key", "q"])
                    t0 = time.perf_counter()
                    run = run_driver(display, plan, Path(tmp) / "plan.json", dcm, "-o", out)
                    seconds += time.perf_counter() - t0
                    if run.returncode != 0:
                        raise SystemExit(f"{view} seed {seed}: the window failed: {run.stderr.strip()}")
                    placed = read_landmarks(out)
                    record = placed.refinement
                    clicks = {
                        n: (record.moved[n].original if n in record.moved else p)
                        for n, p in placed.points.items()
                    }
                    moved += [record.moved[n].distance_px * spacing for n in record.moved]
                    got = _values(
                        placed.replace(refinement=None, circles={}), radiograph, Path(tmp) / "got.json"
                    )
                    raw = _values(
                        placed.replace(points=clicks, refinement=None, circles={}),
                        radiograph,
                        Path(tmp) / "raw.json",
                    )
                    for pid, v in truth.items():
                        if pid in got and pid in raw:
                            refined_err.setdefault(pid, []).append(abs(got[pid] - v))
                            click_err.setdefault(pid, []).append(abs(raw[pid] - v))
                r = np.concatenate(list(refined_err.values()))
                c = np.concatenate(list(click_err.values()))
                print(
                    f"{view}: {args.seeds} annotations of {len(steps)} points, clicks sigma {args.sigma_mm} mm "
                    f"({len(refined_err)} parameters, {len(moved)} points refined, median move "
                    f"{np.median(moved):.2f} mm; {seconds / args.seeds:.0f} s a film with "
                    f"{len(steps) + 1} steps 0.12 s apart)"
                )
                print(
                    f"  |error| over all parameters: median {np.median(c):.2f} -> {np.median(r):.2f} "
                    f"(clicks -> refined), 90th percentile {np.percentile(c, 90):.2f} -> {np.percentile(r, 90):.2f}"
                )
                for pid in refined_err:
                    unit = "mm" if pid in ("SVA", "cSVA", "C7_CSVL") else "deg"
                    print(
                        f"  {pid:<12} median |error| {np.median(click_err[pid]):6.2f} -> "
                        f"{np.median(refined_err[pid]):5.2f} {unit}"
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
