"""Benchmark ``spinecheck batch`` on an archive of large DX studies; prints its figures.

The archive: ``--studies`` (default 1000) DICOM DX films of 5000 rows x 2000
columns (rows x columns: a whole-spine film, portrait), 16 bits allocated
(12 stored), uncompressed, each with its landmark file beside it, in folders
of 100. Two synthetic films (lateral and AP) are rendered once; every study is
a copy with its own SOP Instance UID, and its landmarks moved by up to 0.5 px
so that no two rows are equal.

Measured, in this order:

1. a read of every file (puts them in the page cache as far as it holds them;
   the figure says how fast the disk or cache delivered);
2. ``pydicom.dcmread(f).pixel_array`` on every file, one process: the decoding
   baseline per study (and ``dcmread(f, stop_before_pixels=True)``, the
   header-only baseline);
3. ``spinecheck batch`` in its default mode (header only), ``--jobs 1`` and
   ``--jobs 2``, first with the archive's pages evicted from the page cache
   (``posix_fadvise(DONTNEED)`` on each file: cold) and then again (warm);
4. ``spinecheck batch --verify-pixels`` (every film decoded), ``--jobs 1``
   and ``--jobs 2``: as cold or warm as the page cache leaves 20 GB.

Each run is a subprocess (wall time including start-up, discovery, the final
sorted rewrite and the Parquet copy), sampling the RSS of the command and all
its worker processes; every run's table must be the same.

Targets (issue 6): ``--jobs 2`` >= 1.7x the throughput of ``--jobs 1`` on 2
cores; per-study time of ``--jobs 1`` <= 1.3x the pydicom decode; memory flat.
Page cache: the files total about 20 GB for 1000 studies, close to the memory
of a 24 GiB machine, so each decoding pass reads a part of them from disk
again; the figures say warm or cold as measured, not as hoped.

Usage::

    python bench/bench_batch.py                   # 1000 studies in a temporary folder, removed after
    python bench/bench_batch.py --dir /data/bb    # generate there once, reuse on later runs
    python bench/bench_batch.py --studies 200
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROWS, COLS = 5000, 2000  # rows x columns


def generate(root: Path, n: int) -> None:
    """Write *n* studies under *root* (skipped when they are already there)."""
    import pydicom

    from landmarks.landmark_file import write_landmarks
    from landmarks.model import ImageRef, PatientInfo
    from landmarks.synthetic import synthetic_ap, synthetic_lateral, write_dicom

    marker = root / f".complete-{n}"
    if marker.exists():
        print(f"reusing {n} studies in {root}")
        return
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    films = [synthetic_lateral(0, rows=ROWS, cols=COLS), synthetic_ap(0, rows=ROWS, cols=COLS)]
    templates = []
    for k, film in enumerate(films):
        path = write_dicom(film, root / f".template{k}.dcm", patient_age=67)
        templates.append(pydicom.dcmread(path))
    rng = np.random.default_rng(0)
    for i in range(n):
        k = i % 2
        film, ds = films[k], templates[k]
        uid = f"1.2.826.0.1.3680043.10.511.9.{i}"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
        folder = root / f"group{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        image = folder / f"study{i:05d}.dcm"
        ds.save_as(image, enforce_file_format=True)
        moved = {
            name: (x + rng.uniform(-0.5, 0.5), y + rng.uniform(-0.5, 0.5))
            for name, (x, y) in film.landmarks.points.items()
        }
        write_landmarks(
            film.landmarks.replace(
                points=moved,
                image=ImageRef(path=image.name, sop_instance_uid=uid, rows=ROWS, columns=COLS),
                patient=PatientInfo(),
                source=None,
            ),
            image.with_suffix(".json"),
        )
    for k in range(2):
        (root / f".template{k}.dcm").unlink()
    marker.touch()
    print(f"generated {n} studies ({_size(root) / 1e9:.1f} GB) in {time.perf_counter() - t0:.1f} s")


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _dicoms(root: Path) -> list[Path]:
    return sorted(root.rglob("study*.dcm"))


def read_all(files: list[Path]) -> float:
    """Read every byte once; return GB/s."""
    t0 = time.perf_counter()
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 24):
                total += len(chunk)
    return total / 1e9 / (time.perf_counter() - t0)


def pydicom_baseline(files: list[Path]) -> float:
    """Seconds per file for ``pydicom.dcmread(f).pixel_array``."""
    import pydicom

    t0 = time.perf_counter()
    for f in files:
        a = pydicom.dcmread(f).pixel_array
        assert a.shape == (ROWS, COLS)
    return (time.perf_counter() - t0) / len(files)


def pydicom_header_baseline(files: list[Path]) -> float:
    """Seconds per file for ``pydicom.dcmread(f, stop_before_pixels=True)``."""
    import pydicom

    t0 = time.perf_counter()
    for f in files:
        assert pydicom.dcmread(f, stop_before_pixels=True).Rows == ROWS
    return (time.perf_counter() - t0) / len(files)


def _spin(_: int) -> float:
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - t0


def cpu_ceiling() -> float:
    """What 2 processes get done compared with 1, on a pure-Python loop: the ceiling of any --jobs 2 ratio.

    Below 2 when the cores are shared (other processes, a throttled VM).
    """
    import multiprocessing

    one = _spin(0)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        two = max(pool.map(_spin, [0, 1]))
    return 2 * one / two


def evict(files: list[Path]) -> None:
    """Drop these files' pages from the page cache (only theirs): the next read is cold."""
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _tree_rss(pid: int) -> tuple[float, int]:
    """RSS in MB of *pid* and all its descendants, and how many processes that is."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6, len(procs)


def run_batch(
    root: Path, out: Path, jobs: int, extra: tuple[str, ...] = ()
) -> tuple[float, list[tuple[float, float, int]]]:
    """Run ``spinecheck batch`` with *jobs*; wall seconds and (t, RSS MB, processes) samples."""
    exe = shutil.which("spinecheck") or sys.exit("the spinecheck command is not installed")
    cmd = [exe, "batch", str(root), "-o", str(out), "--jobs", str(jobs), "--overwrite", *extra]
    samples: list[tuple[float, float, int]] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while proc.poll() is None:
            rss, n = _tree_rss(proc.pid)
            if n:
                samples.append((time.perf_counter() - t0, rss, n))
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    thread.join()
    if proc.returncode != 0:
        sys.exit(f"spinecheck batch --jobs {jobs} {' '.join(extra)} failed ({proc.returncode}):\n{err}")
    print("    " + "\n    ".join(err.strip().splitlines()))
    return wall, samples


def _memory_line(samples: list[tuple[float, float, int]]) -> str:
    if not samples:
        return "no samples"
    end_t = samples[-1][0]

    def at(frac: float) -> tuple[float, int]:
        t = frac * end_t
        best = min(samples, key=lambda s: abs(s[0] - t))
        return best[1], best[2]

    (s, ns), (m, nm), (e, ne) = at(0.1), at(0.5), at(0.95)
    peak = max(x[1] for x in samples)
    return (
        f"start {s:.0f} MB ({ns} proc), middle {m:.0f} MB ({nm}), end {e:.0f} MB ({ne}); peak {peak:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the archive, measure, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=1000, help="studies in the archive (default 1000)")
    ap.add_argument(
        "--dir", type=Path, help="where to generate the archive (kept and reused); default: a temp folder"
    )
    args = ap.parse_args(argv)

    temp = None
    if args.dir is None:
        temp = tempfile.mkdtemp(prefix="bench-batch-")
        root = Path(temp) / "archive"
    else:
        root = args.dir
    try:
        generate(root, args.studies)
        files = _dicoms(root)[: args.studies]
        n = len(files)
        gb = sum(f.stat().st_size for f in files) / 1e9
        print(f"\narchive: {n} DX studies, {ROWS} rows x {COLS} columns, 16-bit, {gb:.1f} GB of DICOM")
        rate = read_all(files)
        print(f"read every file once: {rate:.2f} GB/s ({'page cache' if rate > 3 else 'partly from disk'})")
        per_pydicom = pydicom_baseline(files)
        print(f"pydicom.dcmread(f).pixel_array: {per_pydicom * 1e3:.1f} ms per study (one process)")
        per_header = pydicom_header_baseline(files)
        print(f"pydicom.dcmread(f, stop_before_pixels=True): {per_header * 1e3:.2f} ms per study")

        work = Path(tempfile.mkdtemp(prefix="bench-batch-out-"))
        modes = [
            ("header only, cold", (), True),
            ("header only, warm", (), False),
            ("--verify-pixels", ("--verify-pixels",), False),
        ]
        results: dict[tuple[str, int], float] = {}
        tables = []
        try:
            for label, extra, cold in modes:
                print(f"\nspinecheck batch {' '.join(extra) or '(default: header only)'} [{label}]")
                for jobs in (1, 2):
                    if cold:
                        evict(files)
                    out = work / f"{len(tables)}.csv"
                    wall, samples = run_batch(root, out, jobs, extra)
                    results[label, jobs] = wall
                    tables.append(_rows(out))
                    print(
                        f"  --jobs {jobs}: {wall:.2f} s wall, {n / wall:.1f} studies/s, "
                        f"{wall / n * 1e3:.2f} ms per study"
                    )
                    print(f"    memory (RSS of the command and its workers): {_memory_line(samples)}")
        finally:
            shutil.rmtree(work, ignore_errors=True)

        ceiling = cpu_ceiling()
        print("\nfigures")
        print(
            f"  CPU now: 2 processes do {ceiling:.2f}x the work of 1 (pure-Python loop; 2.00 on 2 idle "
            f"cores); load average {os.getloadavg()[0]:.2f}"
        )
        for label, _, _ in modes:
            one, two = results[label, 1], results[label, 2]
            print(
                f"  {label}: --jobs 2 / --jobs 1 throughput {one / two:.2f}x (target >= 1.7x); "
                f"--jobs 1 per study / pydicom decode {one / n / per_pydicom:.2f}x (target <= 1.3x)"
            )
        print(f"  all {len(tables)} tables identical: {all(t == tables[0] for t in tables)}")
        print(f"  cores: {os.cpu_count()}")
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return 0


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


if __name__ == "__main__":
    sys.exit(main())
