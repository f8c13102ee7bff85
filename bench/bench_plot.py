"""Benchmark: annotate a 7200 x 3000 whole-spine film (issue 4: target <= 2 s).

Times :func:`spinecheck.alignment.render.figure.figure_for` plus ``savefig`` to PNG, best of 3,
on a synthetic lateral film at 0.125 mm/px. Loading and measuring are outside
the timing: this is the plotting cost alone.

Run: ``python bench/bench_plot.py``
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from spinecheck.alignment.render.figure import figure_for
from spinecheck.alignment.study import load_study
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_lateral

TARGET_S = 2.0


def main() -> int:
    film = synthetic_lateral(rows=7200, cols=3000, mm_per_px=0.125)
    image = (film.pixels >> 4).astype(np.uint8)  # 12-bit to the uint8 display image
    with tempfile.TemporaryDirectory() as tmp:
        points = Path(tmp) / "lateral.json"
        write_landmarks(film.landmarks, points)
        study = load_study(str(points), mm_per_px=film.mm_per_px)
    times = []
    size = 0
    for _ in range(3):
        t0 = time.perf_counter()
        fig = figure_for(image, study)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150)
        times.append(time.perf_counter() - t0)
        size = buf.tell()
    best = min(times)
    verdict = "OK" if best <= TARGET_S else "SLOWER THAN TARGET"
    print(
        f"plot {image.shape[0]} x {image.shape[1]} film -> PNG ({size / 1e6:.1f} MB, 150 dpi): "
        f"best of 3 {best:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)}; target <= {TARGET_S:.0f} s) "
        f"{verdict}"
    )
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
