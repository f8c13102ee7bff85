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
   baseline per study; and ``dcmread(f, stop_before_pixels=True)``, the
   header-only baseline;
3. ``spinecheck batch`` in its default mode (header only) and with
   ``--verify-pixels`` (every film decoded), ``--jobs 1`` and ``--jobs 2``:
   once cold (every file of the archive evicted from the page cache with
   ``posix_fadvise(DONTNEED)``), then ``--repeat`` times warm;
4. kill and resume: ``spinecheck batch --jobs 2`` is started, SIGKILLed once
   its table holds ``--kill-at`` rows, checked to leave no worker process
   behind, and rerun with ``--resume``; the table must be byte for byte the
   uninterrupted one (and the Parquet copy the same table);
5. with ``--scale N``: the default mode on N studies whose pixel data are a
   hole in a sparse file (the headers are real, the pixels read as zeros and
   take no disk), to see the throughput once start-up is a small part of it.

Each run is a subprocess; the figures are its wall time (start-up, discovery,
the final sorted rewrite and the Parquet copy included: what a user sees) and
its steady rate: studies per second from the first measured rows to the last,
read from the table as it grows (so start-up and shut-down excluded). The RSS
of the command and all its worker processes is sampled during the run. Every
run's table must be the same. Before each run the CPU must be idle (other
processes using < 5% of it over a second; the load average is printed too: it
still counts the previous run for a minute).

Targets (issue 6): ``--jobs 2`` >= 1.7x the throughput of ``--jobs 1`` on 2
cores; per-study time of ``--jobs 1`` <= 1.3x the pydicom decode; memory flat.
Page cache: the files total about 20 GB for 1000 studies, close to the memory
of a 24 GiB machine, so a decoding pass may read a part of them from disk
again; the read rate printed first says which.

Usage::

    python bench/bench_batch.py                   # 1000 studies in a temporary folder, removed after
    python bench/bench_batch.py --dir /data/bb    # generate there once, reuse on later runs
    python bench/bench_batch.py --studies 200 --scale 5000
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROWS, COLS = 5000, 2000  # rows x columns
KILL_AT = 300


# ----------------------------------------------------------------------------- the archives


def _templates(root: Path) -> tuple[list, list]:
    """The two rendered films and their DICOM data sets."""
    import pydicom
    from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom

    films = [synthetic_lateral(0, rows=ROWS, cols=COLS), synthetic_ap(0, rows=ROWS, cols=COLS)]
    templates = []
    for k, film in enumerate(films):
        path = write_dicom(film, root / f".template{k}.dcm", patient_age=67)
        templates.append(pydicom.dcmread(path))
    return films, templates


def _write_landmarks(film, image: Path, uid: str, rng: np.random.Generator) -> None:
    from spinecheck.landmarks.io.landmark_file import write_landmarks
    from spinecheck.landmarks.points.model import ImageRef, PatientInfo

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


def generate(root: Path, n: int) -> None:
    """Write *n* studies under *root* (skipped when they are already there)."""
    marker = root / f".complete-{n}"
    if marker.exists():
        print(f"reusing {n} studies in {root}")
        return
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    films, templates = _templates(root)
    rng = np.random.default_rng(0)
    for i in range(n):
        k = i % 2
        ds = templates[k]
        uid = f"1.2.826.0.1.3680043.10.511.9.{i}"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
        folder = root / f"group{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        image = folder / f"study{i:05d}.dcm"
        ds.save_as(image, enforce_file_format=True)
        _write_landmarks(films[k], image, uid, rng)
    for k in range(2):
        (root / f".template{k}.dcm").unlink()
    marker.touch()
    print(f"generated {n} studies ({_size(root) / 1e9:.1f} GB) in {time.perf_counter() - t0:.1f} s")


#: The SOP Instance UID the templates are written with; every UID of the archive has its length.
PLACEHOLDER_UID = "1.2.826.0.1.3680043.10.511.8.999999"


def template_heads(root, templates) -> list[tuple[bytes, int]]:
    """Each template written once with :data:`PLACEHOLDER_UID`: its bytes up to the pixel data, and its size."""
    import pydicom

    heads = []
    for k, ds in enumerate(templates):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = PLACEHOLDER_UID
        path = root / f".template{k}.dcm"
        ds.save_as(path, enforce_file_format=True)
        tell = pydicom.dcmread(path, defer_size=1024).get_item(0x7FE00010, keep_deferred=True).value_tell
        heads.append((path.read_bytes()[:tell], path.stat().st_size))
        path.unlink()
    return heads


def generate_sparse(root: Path, n: int) -> None:
    """*n* studies whose headers are real and whose pixel data are a hole (sparse files: no disk)."""
    marker = root / f".complete-{n}"
    if marker.exists():
        print(f"reusing {n} sparse studies in {root}")
        return
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    films, templates = _templates(root)
    heads = template_heads(root, templates)
    placeholder = PLACEHOLDER_UID
    rng = np.random.default_rng(0)
    for i in range(n):
        k = i % 2
        uid = f"1.2.826.0.1.3680043.10.511.8.{i:06d}"
        head, size = heads[k]
        folder = root / f"group{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        image = folder / f"study{i:05d}.dcm"
        with open(image, "wb") as f:
            f.write(head.replace(placeholder.encode(), uid.encode()))
            f.truncate(size)
        _write_landmarks(films[k], image, uid, rng)
    marker.touch()
    print(f"generated {n} sparse studies in {time.perf_counter() - t0:.1f} s")


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _dicoms(root: Path) -> list[Path]:
    return sorted(root.rglob("study*.dcm"))


# ----------------------------------------------------------------------------- baselines


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


def evict(root: Path) -> None:
    """Drop the archive's pages (images and landmark files) from the page cache: the next read is cold."""
    for f in root.rglob("*"):
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # total, idle + iowait


def wait_idle(max_wait: float = 600.0) -> str:
    """Wait until the CPU is idle (< 5% busy over a second); say what the load was."""
    load = os.getloadavg()[0]
    waited = 0.0
    while True:
        total0, idle0 = _cpu_times()
        time.sleep(1.0)
        total1, idle1 = _cpu_times()
        busy = 1 - (idle1 - idle0) / max(1, total1 - total0)
        if busy < 0.05 or waited >= max_wait:
            break
        time.sleep(4.0)
        waited += 5.0
    note = f"load {load:.2f}, CPU {busy:.0%} busy"
    if waited:
        note += f" (waited {waited:.0f} s for other work to end)"
    elif load > 0.5:
        note += " (the load average still counts the previous run)"
    return note


# ----------------------------------------------------------------------------- one run


@dataclass
class Run:
    """What one ``spinecheck batch`` subprocess did."""

    wall: float = 0.0
    returncode: int = 0
    stderr: str = ""
    rss: list[tuple[float, float, int]] = field(default_factory=list)  # (t, MB, processes)
    rows: list[tuple[float, int]] = field(default_factory=list)  # (t, data rows in the table)
    killed_at: int | None = None
    left_behind: list[int] = field(default_factory=list)  # processes alive 5 s after the kill

    def steady(self) -> float | None:
        """Studies per second from the first measured rows to the last (start-up and shut-down excluded)."""
        measured = [(t, n) for t, n in self.rows if n > 0]
        if len(measured) < 3:
            return None
        (t0, n0), (t1, n1) = measured[0], measured[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None


def _tree(pid: int) -> list:
    import psutil

    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _tree_rss(procs: list) -> float:
    import psutil

    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def run_batch(
    root: Path,
    out: Path,
    jobs: int,
    extra: tuple[str, ...] = (),
    *,
    resume: bool = False,
    kill_at: int | None = None,
) -> Run:
    """Run ``spinecheck batch`` with *jobs*; with *kill_at*, SIGKILL it once the table holds that many rows."""
    import psutil

    exe = shutil.which("spinecheck") or sys.exit("the spinecheck command is not installed")
    cmd = [exe, "batch", str(root), "-o", str(out), "--jobs", str(jobs), *extra]
    cmd.append("--resume" if resume else "--overwrite")
    if not resume:
        out.unlink(missing_ok=True)
    run = Run()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: dict[int, psutil.Process] = {}

    def watch_table() -> None:
        """Rows as they are appended (the final sorted rewrite is another file: stop there)."""
        fh, offset, lines, ino = None, 0, 0, None
        while proc.poll() is None:
            try:
                st = os.stat(out)
            except FileNotFoundError:
                time.sleep(0.005)
                continue
            if ino is None:
                ino, fh = st.st_ino, open(out, "rb")  # noqa: SIM115 - closed below
            elif st.st_ino != ino:
                break
            if st.st_size > offset:
                fh.seek(offset)
                data = fh.read(st.st_size - offset)
                data = data[: data.rfind(b"\n") + 1]
                offset += len(data)
                lines += data.count(b"\n")
                run.rows.append((time.perf_counter() - t0, lines - 1))
                if kill_at is not None and lines - 1 >= kill_at and run.killed_at is None:
                    for p in _tree(proc.pid)[1:]:
                        seen[p.pid] = p
                    proc.send_signal(signal.SIGKILL)
                    run.killed_at = lines - 1
            time.sleep(0.005)
        if fh is not None:
            fh.close()

    def watch_memory() -> None:
        while proc.poll() is None:
            procs = _tree(proc.pid)
            for p in procs[1:]:
                seen.setdefault(p.pid, p)
            rss = _tree_rss(procs)
            if rss > 0:  # not after the command has ended
                run.rss.append((time.perf_counter() - t0, rss, len(procs)))
            time.sleep(0.1)

    threads = [threading.Thread(target=f, daemon=True) for f in (watch_table, watch_memory)]
    for t in threads:
        t.start()
    _, run.stderr = proc.communicate()
    run.wall = time.perf_counter() - t0
    run.returncode = proc.returncode
    for t in threads:
        t.join()
    if kill_at is not None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in seen.values()):
            time.sleep(0.05)
        run.left_behind = [pid for pid, p in seen.items() if _alive(p)]
    elif proc.returncode != 0:
        sys.exit(
            f"spinecheck batch --jobs {jobs} {' '.join(extra)} failed ({proc.returncode}):\n{run.stderr}"
        )
    return run


def _alive(p) -> bool:
    import psutil

    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _memory(samples: list[tuple[float, float, int]]) -> str:
    if not samples:
        return "no samples"
    end_t = samples[-1][0]

    def at(frac: float) -> float:
        return min(samples, key=lambda s: abs(s[0] - frac * end_t))[1]

    peak = max(s[1] for s in samples)
    return f"{at(0.1):.0f}/{at(0.5):.0f}/{at(0.95):.0f} (peak {peak:.0f})"


# ----------------------------------------------------------------------------- the phases


@dataclass
class Row:
    label: str
    jobs: int
    runs: list[Run]
    n: int


def measure_mode(
    root: Path, work: Path, n: int, label: str, extra: tuple[str, ...], cold: bool, repeat: int, tables: dict
) -> list[Row]:
    """Cold once (if *cold*) then *repeat* warm runs, ``--jobs 1`` and ``--jobs 2``."""
    rows = []
    for temperature in (["cold"] if cold else []) + ["warm"]:
        for jobs in (1, 2):
            runs = []
            for k in range(1 if temperature == "cold" else repeat):
                if temperature == "cold":
                    evict(root)
                note = wait_idle()
                out = work / f"{label}-{temperature}-{jobs}-{k}.csv".replace(" ", "_")
                run = run_batch(root, out, jobs, extra)
                tables.setdefault(label.split(",")[0], []).append(out.read_bytes())
                steady = run.steady()
                print(
                    f"  {label}, {temperature}, --jobs {jobs} #{k + 1}: {run.wall:.2f} s wall, "
                    f"{n / run.wall:.0f} studies/s whole run, "
                    f"{f'{steady:.0f}' if steady else '?'} studies/s steady; RSS MB start/middle/end "
                    f"{_memory(run.rss)}  [{note}]"
                )
                runs.append(run)
            rows.append(Row(f"{label}, {temperature}", jobs, runs, n))
    return rows


def kill_resume(root: Path, work: Path, extra: tuple[str, ...], reference: Path, kill_at: int) -> bool:
    """SIGKILL a ``--jobs 2`` run part-way, resume it; True when the table is the uninterrupted one."""
    import pyarrow.parquet as pq

    out = work / f"killed{'-'.join(extra)}.csv"
    wait_idle()
    killed = run_batch(root, out, 2, extra, kill_at=kill_at)
    rows_then = out.read_bytes().count(b"\n") - 1
    resumed = run_batch(root, out, 2, extra, resume=True)
    same = out.read_bytes() == reference.read_bytes()
    same_parquet = pq.read_table(out.with_suffix(".parquet")).equals(
        pq.read_table(reference.with_suffix(".parquet"))
    )
    already = next(
        (line for line in resumed.stderr.splitlines() if "already in the table" in line), ""
    ).strip()
    print(
        f"  {' '.join(extra) or 'default mode'}: killed (SIGKILL, exit {killed.returncode}) at "
        f"{killed.killed_at} rows, {killed.wall:.2f} s in; {rows_then} complete rows on disk; "
        f"processes left behind 5 s later: {len(killed.left_behind)}"
    )
    print(f"    --resume: {resumed.wall:.2f} s; {already}")
    print(f"    table byte for byte the uninterrupted one: {same}; Parquet the same table: {same_parquet}")
    return same and same_parquet and not killed.left_behind


def summary(rows: list[Row], per_decode: float, per_header: float) -> None:
    print("\nfigures (best of the runs; whole run = what the user waits for, steady = start-up excluded)")
    print(
        f"  {'configuration':34} {'jobs':>4} {'wall s':>7} {'whole/s':>8} {'steady/s':>9} {'ms/study':>9}  all walls"
    )
    by = {}
    for r in rows:
        wall = min(x.wall for x in r.runs)  # best of the runs: the least disturbed
        steady = max((s for x in r.runs if (s := x.steady())), default=float("nan"))
        by[r.label, r.jobs] = (wall, steady, r.n)
        print(
            f"  {r.label:34} {r.jobs:>4} {wall:7.2f} {r.n / wall:8.0f} {steady:9.0f} {wall / r.n * 1e3:9.2f}  "
            + " ".join(f"{x.wall:.2f}" for x in r.runs)
        )
    print("\n  --jobs 2 / --jobs 1 (target >= 1.7x); --jobs 1 per study against pydicom (target <= 1.3x)")
    for label in dict.fromkeys(label for label, _ in by):
        if (label, 1) in by and (label, 2) in by:
            (w1, s1, n), (w2, s2, _) = by[label, 1], by[label, 2]
            base, what = (per_decode, "decode") if "verify" in label else (per_header, "header read")
            print(
                f"  {label:34} whole run {w1 / w2:.2f}x, steady {s2 / s1:.2f}x; per study "
                f"{w1 / n * 1e3:.2f} ms whole, {1e3 / s1:.2f} ms steady = {w1 / n / base:.2f}x / "
                f"{1 / s1 / base:.2f}x pydicom {what}; vs pydicom decode {1 / s1 / per_decode:.2f}x steady"
            )


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the archive, measure, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=1000, help="studies in the archive (default 1000)")
    ap.add_argument(
        "--dir", type=Path, help="where to generate the archive (kept and reused); default: a temp folder"
    )
    ap.add_argument("--repeat", type=int, default=2, help="warm runs per configuration (default 2)")
    ap.add_argument("--kill-at", type=int, default=KILL_AT, help=f"rows before the kill (default {KILL_AT})")
    ap.add_argument("--scale", type=int, default=0, help="also the default mode on N sparse studies")
    ap.add_argument("--no-verify", action="store_true", help="skip the --verify-pixels runs")
    args = ap.parse_args(argv)

    temp = None
    if args.dir is None:
        temp = tempfile.mkdtemp(prefix="bench-batch-")
        root = Path(temp) / "archive"
    else:
        root = args.dir
    work = Path(tempfile.mkdtemp(prefix="bench-batch-out-"))
    ok = True
    try:
        generate(root, args.studies)
        files = _dicoms(root)[: args.studies]
        n = len(files)
        gb = sum(f.stat().st_size for f in files) / 1e9
        print(f"\narchive: {n} DX studies, {ROWS} rows x {COLS} columns, 16-bit, {gb:.1f} GB of DICOM")
        print(f"  {wait_idle()}; cores: {os.cpu_count()}")
        rate = read_all(files)
        print(f"read every file once: {rate:.2f} GB/s ({'page cache' if rate > 3 else 'partly from disk'})")
        per_decode = pydicom_baseline(files)
        print(f"pydicom.dcmread(f).pixel_array: {per_decode * 1e3:.2f} ms per study (one process)")
        per_header = pydicom_header_baseline(files)
        print(f"pydicom.dcmread(f, stop_before_pixels=True): {per_header * 1e3:.3f} ms per study")

        tables: dict[str, list[bytes]] = {}
        rows: list[Row] = []
        print("\nspinecheck batch (RSS of the command and its workers)")
        rows += measure_mode(root, work, n, "header only", (), True, args.repeat, tables)
        if not args.no_verify:
            rows += measure_mode(
                root, work, n, "--verify-pixels", ("--verify-pixels",), True, args.repeat, tables
            )
        identical = all(t == tables["header only"][0] for ts in tables.values() for t in ts)
        print(f"  all {sum(map(len, tables.values()))} tables identical: {identical}")
        ok &= identical

        print(f"\nkill and resume (--jobs 2, SIGKILL at >= {args.kill_at} rows)")
        reference = next(work.glob("header_only-warm-1-0.csv"))
        ok &= kill_resume(root, work, (), reference, args.kill_at)
        if not args.no_verify:
            ok &= kill_resume(root, work, ("--verify-pixels",), reference, args.kill_at)

        if args.scale:
            sparse = root.parent / f"{root.name}-sparse-{args.scale}"
            print()
            generate_sparse(sparse, args.scale)
            rows += measure_mode(
                sparse, work, args.scale, f"header only, {args.scale} sparse", (), False, args.repeat, {}
            )

        ceiling = cpu_ceiling()
        print(
            f"\nCPU now: 2 processes do {ceiling:.2f}x the work of 1 (pure-Python loop; 2.00 on 2 idle cores)"
        )
        summary(rows, per_decode, per_header)
        print(f"\nall checks passed: {ok}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
