"""Annotating the demo films end to end in the real window: parameters against the truth.

Each demo film (``spinecheck demo``: lateral and AP, 4500 x 1800 px at 0.2 mm/px) is written as
DICOM and opened with ``spinecheck annotate`` in a real Tk window on a virtual display (Xvfb). Every
point the protocol asks for is clicked once, on the whole film (no zoom), at its true position plus
Gaussian noise of ``--sigma-mm`` (default 1 mm) in each axis; the click lands on a screen pixel, as a
person's does (about 1.2 mm of film per screen pixel here). The window refines each click and
autosaves; ``q`` quits. The parameters measured from the saved file, and from the raw clicks (the
``refinement`` record's origins), are compared with those of the exact landmarks.

Needs Xvfb and tkinter. Run: ``python bench/bench_annotate_window.py [--seeds N] [--sigma-mm S]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from spinecheck.alignment.study import load_study  # noqa: E402
from spinecheck.landmarks import ImageRef, LandmarkSet, load_radiograph, read_landmarks, write_landmarks  # noqa: E402
from spinecheck.landmarks.annotate.protocol import default_protocol  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sigma-mm", type=float, default=1.0)
    args = ap.parse_args()
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
