"""Benchmark: each task of issue 17 beside its floor, the simplest script doing the same work.

Every figure is a pair of fresh processes run in the same minute, the two in alternating order,
``--repeat`` pairs per task; printed are the medians of wall time and of peak RSS (the largest
process of the run, from ``wait4``), the median of the pair-wise ratios, and whether the target
is met. Tasks, and their floors:

1. ``spinecheck measure`` of a wide CSV of 100 000 (and 1 000 000) studies, written as CSV, beside
   pandas + NumPy computing PI, PT, SS, LL and SVA (``bench_measure.measure_task``). Targets:
   time <= 1.5x, peak memory <= 1.3x (of the largest process). ``measure`` runs with its default
   ``--jobs`` (a large table in pieces, a process each): under its line, how many processes ran and
   the sum of their peak RSS, sampled every 20 ms (pages they share are counted in each); the floor is
   one process. One more run of each, not timed, samples every 50 ms the processes' summed PSS (a page
   shared by several counted once): its peak against the floor's is judged too (<= 1.3x), the memory the
   task holds at once. Also printed: the CPU seconds of each (a run's with its workers'; pandas reads
   on two threads), and what two processes could do against one on the machine before and after the
   pairs (``bench_batch.cpu_ceiling``): the pieces need both cores, which a shared machine does not give.
   ``--measure-jobs-1`` also runs ``--jobs 1`` beside it, which must write the same bytes.
2. ``spinecheck info --format json`` of a 7200 x 3000 16-bit JPEG 2000 film whose header has a
   window, beside ``pydicom.dcmread(f, stop_before_pixels=True)``. Target <= 1.5x.
3. ``spinecheck batch --jobs 1`` of an archive of DX studies (headers real, pixel data a hole in
   a sparse file: header only, as the batch reads them), each with its landmark file, beside a
   loop of ``dcmread(f, stop_before_pixels=True)`` + ``json.load``. Target <= 1.5x. And
   ``--jobs 2`` against ``--jobs 1``: >= 1.8x faster when two processes can do >= 1.9x the work
   of one (that ceiling is measured in the same run, before and after, as ``bench_batch.py``
   does; below 1.9 the target is not judged). Beside it, the wall times at ``n / 5`` and ``n``
   studies split as a serial part plus a time per study, and the speedup Amdahl's law allows with
   that serial part (:class:`Split`), and the floor's own loop forked into two processes after its
   imports against it in one (``FLOOR_BATCH_2``): what two processes gain on these studies at best,
   information, not a target; ``--batch-large N`` also runs ``--jobs 2`` against ``--jobs 1``
   on N studies. Every table of the run must be byte for byte the same; ``--same-as COMMIT`` also
   compares it with that commit's.
4. ``spinecheck --help`` and ``spinecheck measure one.json`` beside ``python -c "import numpy"``.
   Target <= 1.5x. The children write bytecode to a cache folder of their own (as an installed
   package has it), whatever ``PYTHONDONTWRITEBYTECODE`` says.
5. Decoding that JPEG 2000 film: ``load_radiograph(f).pixels`` beside
   ``pydicom.dcmread(f).pixel_array``. Targets: wall time <= pydicom's, peak memory below it.

Usage::

    python bench/bench_floor.py                  # about 20 minutes on two idle cores
    python bench/bench_floor.py --quick          # a few minutes: 300 studies, 100 000 rows, 3 pairs
    python bench/bench_floor.py --dir /tmp/floor --same-as HEAD~5
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Each run is started by this small process, started before anything large is imported here: Linux
#: hands a child the peak RSS of the process it was forked from (it survives exec), so children
#: forked from this benchmark, once it holds NumPy and rendered films, would all report its size.
#: With "tree", it also samples every 20 ms the peak RSS (VmHWM) of each process under the run (its
#: workers, their fork server): how many ran, and the sum of their peaks (pages they share, such as
#: what a fork server imported, are counted in each). With "pss" (a run of its own, never timed: reading
#: smaps_rollup walks a process's page tables), it samples every 50 ms the sum over the processes of
#: their proportional set size (PSS: a page shared by k processes counts 1/k in each) and keeps its
#: peak: the memory the run held at once, each shared page once.
SPAWNER = """
import json, os, subprocess, sys, tempfile, time

def children(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += map(int, f.read().split())
    except OSError:
        pass
    return found

def kb(pid, file, key):
    # the kB figure on the line of /proc/<pid>/<file> that starts with key (0: gone, or none)
    try:
        with open(f"/proc/{pid}/{file}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def tree(root, pss=False):
    peaks, pss_peak = {}, 0
    while True:
        pid, status, usage = os.wait4(root, os.WNOHANG)
        if pid:
            return status, usage, peaks, pss_peak
        todo, total = [root], 0
        while todo:
            p = todo.pop()
            peaks[p] = max(peaks.get(p, 0), kb(p, "status", "VmHWM:"))
            total += kb(p, "smaps_rollup", "Pss:") if pss else 0
            todo += children(p)
        pss_peak = max(pss_peak, total)
        time.sleep(0.05 if pss else 0.02)

for request in sys.stdin:
    r = json.loads(request)
    with tempfile.TemporaryFile() as err, open(r["stdout"], "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(r["argv"], stdout=out, stderr=err, env=r["env"])
        pss_peak = 0
        if r.get("tree") or r.get("pss"):
            status, usage, peaks, pss_peak = tree(proc.pid, bool(r.get("pss")))
        else:
            _, status, usage = os.wait4(proc.pid, 0)
            peaks = {proc.pid: usage.ru_maxrss}
        wall = time.perf_counter() - t0
        err.seek(0)
        said = err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime  # with the children it waited for (its workers)
    done = {"wall": wall, "rss_kb": usage.ru_maxrss, "cpu": cpu, "code": code, "stderr": said}
    sums = {"processes": len(peaks), "rss_sum_kb": sum(peaks.values()), "pss_peak_kb": pss_peak}
    print(json.dumps({**done, **sums}), flush=True)
"""
_spawner = subprocess.Popen(
    [sys.executable, "-S", "-c", SPAWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
)

import argparse  # noqa: E402
import filecmp  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # bench_batch, bench_load and bench_measure: their generators

import bench_batch  # noqa: E402
import bench_load  # noqa: E402

FILM_ROWS, FILM_COLS = 7200, 3000
SPINECHECK = "import sys; from spinecheck.cli import main; sys.exit(main())"
FLOOR_BATCH = """
import json, sys
from pathlib import Path
import pydicom
for f in sorted(Path(sys.argv[1]).rglob("*.dcm")):
    pydicom.dcmread(f, stop_before_pixels=True)
    with open(f.with_suffix(".json"), encoding="utf-8") as fh:
        json.load(fh)
"""
#: The same loop in two processes: the parent imports pydicom and lists the files, then forks, and each
#: process reads half (the floor's own ``--jobs 2``, as cheap as two processes can be: no pool, no
#: table). How much faster than FLOOR_BATCH it is bounds what any batch can reach on these studies.
FLOOR_BATCH_2 = """
import json, os, sys
from pathlib import Path
import pydicom
files = sorted(Path(sys.argv[1]).rglob("*.dcm"))
def work(part):
    for f in part:
        pydicom.dcmread(f, stop_before_pixels=True)
        with open(f.with_suffix(".json"), encoding="utf-8") as fh:
            json.load(fh)
half = len(files) // 2
child = os.fork()
if child == 0:
    work(files[:half])
    os._exit(0)
work(files[half:])
os.waitpid(child, 0)
"""


@dataclass
class Run:
    """One run: its wall time and the peak RSS of its largest process; of every process, with *tree*."""

    wall: float
    rss_mb: float
    processes: int = 1  # processes that ran (sampled with tree=True; else the one started)
    rss_sum_mb: float = 0.0  # the sum of their peak RSS (with tree=True; else rss_mb)
    pss_mb: float = 0.0  # the peak of their summed PSS (with pss=True, a run not timed; else 0)
    cpu: float = 0.0  # CPU seconds (user + system) of the run and of the children it waited for


@dataclass
class Pairs:
    """*repeat* runs of a command and of its floor, paired."""

    ours: list[Run]
    floor: list[Run]

    def median(self, which: str, what: str) -> float:
        return statistics.median(getattr(r, what) for r in getattr(self, which))

    def ratio(self, what: str) -> float:
        """Median of the pair-wise ratios ours / floor."""
        return statistics.median(
            getattr(a, what) / getattr(b, what) for a, b in zip(self.ours, self.floor, strict=True)
        )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "spinecheck-bench-floor-pycache")
    return env


def run(argv: Sequence[str], stdout: Path | None = None, *, tree: bool = False, pss: bool = False) -> Run:
    """Run *argv* to its end (through the spawner); exit on failure with its stderr.

    With *tree*, every process under it is sampled too: how many ran and the sum of their peaks.
    With *pss*, also the peak of their summed PSS (its wall time is not a timing: not paired).
    """
    assert _spawner.stdin is not None and _spawner.stdout is not None
    request = {
        "argv": list(map(str, argv)),
        "stdout": str(stdout or os.devnull),
        "env": _env(),
        "tree": tree,
        "pss": pss,
    }
    _spawner.stdin.write(json.dumps(request) + "\n")
    _spawner.stdin.flush()
    done = json.loads(_spawner.stdout.readline())
    if done["code"] != 0:
        sys.exit(f"failed ({done['code']}): {' '.join(map(str, argv))}\n{done['stderr']}")
    return Run(
        done["wall"],
        done["rss_kb"] / 1024,
        done["processes"],
        done["rss_sum_kb"] / 1024,
        done["pss_peak_kb"] / 1024,
        done["cpu"],
    )


def paired(ours: Callable[[int], Run], floor: Callable[[int], Run], repeat: int) -> Pairs:
    """*repeat* pairs, the order alternating, so that a machine slowing down weighs on both."""
    mine, base = [], []
    for k in range(repeat):
        if k % 2 == 0:
            mine.append(ours(k))
            base.append(floor(k))
        else:
            base.append(floor(k))
            mine.append(ours(k))
    return Pairs(mine, base)


def python(code: str, *args: object) -> list[str]:
    return [sys.executable, "-c", code, *map(str, args)]


def spinecheck(*args: object) -> list[str]:
    return python(SPINECHECK, *args)


# ----------------------------------------------------------------------------- what is printed

RESULTS: list[tuple[str, str, bool | None]] = []


def line(task: str, p: Pairs, target: float | None, *, memory: float | None = None, what: str = "") -> None:
    ratio, rss = p.ratio("wall"), p.ratio("rss_mb")
    met = None if target is None else ratio <= target and (memory is None or rss <= memory)
    print(
        f"  {task:44} {p.median('ours', 'wall'):8.3f} s {p.median('floor', 'wall'):8.3f} s  "
        f"{ratio:5.2f}x   {p.median('ours', 'rss_mb'):7.0f} MB {p.median('floor', 'rss_mb'):7.0f} MB  "
        f"{rss:5.2f}x"
    )
    want = f"time <= {target}x" + (f", memory <= {memory}x" if memory is not None else "") if target else what
    RESULTS.append((task, f"{ratio:.2f}x time, {rss:.2f}x memory (target {want})", met))


def header(title: str) -> None:
    print(f"\n{title}")
    print(
        f"  {'task':44} {'ours':>10} {'floor':>10}  {'ratio':>6}   {'ours':>10} {'floor':>10}  {'ratio':>5}"
    )


# ----------------------------------------------------------------------------- the tasks


def startup(work: Path, repeat: int) -> None:
    one = work / "one.json"
    if not one.exists():
        from spinecheck.landmarks.io.landmark_file import write_landmarks
        from spinecheck.landmarks.synthetic.films import synthetic_lateral

        film = synthetic_lateral(0, mm_per_px=0.5)
        write_landmarks(film.landmarks.replace(patient=type(film.patient)()), one)
    numpy = python("import numpy")
    for argv in (spinecheck("--help"), spinecheck("measure", one)):  # warm: bytecode written once
        run(argv)
    header('start-up (floor: python -c "import numpy")')
    line("spinecheck --help", paired(lambda k: run(spinecheck("--help")), lambda k: run(numpy), repeat), 1.5)
    p = paired(lambda k: run(spinecheck("measure", one)), lambda k: run(numpy), repeat)
    line("spinecheck measure one.json", p, 1.5)


def films(work: Path) -> dict[str, Path]:
    folder = work / f"films-{FILM_ROWS}x{FILM_COLS}"
    paths = {
        "window": folder / "j2k_window.dcm",
        "percentiles": folder / "j2k_percentiles.dcm",
    }
    if not all(p.exists() for p in paths.values()):
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        bench_load.write_films(folder, FILM_ROWS, FILM_COLS, 16)
        print(f"films written in {time.perf_counter() - t0:.0f} s")
    return paths


def info(work: Path, repeat: int) -> None:
    film = films(work)["window"]
    header(f"info of a {FILM_ROWS} x {FILM_COLS} JPEG 2000 film with a window (floor: dcmread, header only)")
    floor = python("import pydicom, sys; pydicom.dcmread(sys.argv[1], stop_before_pixels=True)", film)
    out = work / "info.json"
    p = paired(lambda k: run(spinecheck("info", film, "--format", "json"), out), lambda k: run(floor), repeat)
    decoded = json.loads(out.read_text())["pixels_decoded"]
    line(f"spinecheck info --format json (decoded: {decoded})", p, 1.5)


def decode(work: Path, repeat: int) -> None:
    film = films(work)["percentiles"]
    header(f"decoding the {FILM_ROWS} x {FILM_COLS} JPEG 2000 film (floor: pydicom's pixel_array)")
    ours = python(
        "import sys; from spinecheck.landmarks.imaging.radiograph import load_radiograph; "
        "load_radiograph(sys.argv[1]).pixels",
        film,
    )
    floor = python("import pydicom, sys; pydicom.dcmread(sys.argv[1]).pixel_array", film)
    same = python(
        "import sys, numpy, pydicom; from spinecheck.landmarks.imaging.radiograph import load_radiograph; "
        "a, b = load_radiograph(sys.argv[1]).pixels, pydicom.dcmread(sys.argv[1]).pixel_array; "
        "sys.exit(not numpy.array_equal(a, b) or a.dtype != b.dtype)",
        film,
    )
    run(same)  # exits here unless the two arrays are the same, bit for bit
    print("  load_radiograph(f).pixels is pydicom's pixel_array, bit for bit")
    p = paired(lambda k: run(ours), lambda k: run(floor), repeat)
    line("load_radiograph(f).pixels", p, 1.0, memory=1.0)


def archive(work: Path, n: int) -> Path:
    """*n* header-only DX studies (sparse files) with their landmark files, generated once."""
    root = work / f"archive-{n}"
    marker = root / ".complete"
    if marker.exists():
        return root
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    rendered, templates = bench_batch._templates(root)
    placeholder = bench_batch.PLACEHOLDER_UID
    heads = bench_batch.template_heads(root, templates)
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(n):
        uid = f"1.2.826.0.1.3680043.10.511.8.{100000 + i}"  # valid: no component starts with 0
        head, size = heads[i % 2]
        folder = root / f"group{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        image = folder / f"study{i:05d}.dcm"
        with open(image, "wb") as f:
            f.write(head.replace(placeholder.encode(), uid.encode()))
            f.truncate(size)
        bench_batch._write_landmarks(rendered[i % 2], image, uid, rng)
    marker.touch()
    print(f"archive of {n} studies written in {time.perf_counter() - t0:.0f} s")
    return root


def batch(work: Path, n: int, repeat: int, same_as: str | None, large: int | None = None) -> None:
    root = archive(work, n)
    out = work / "tables"
    out.mkdir(exist_ok=True)
    tables: dict[int, list[Path]] = {}

    def ours(jobs: int, studies: int = n) -> Callable[[int], Run]:
        folder = archive(work, studies)

        def go(k: int) -> Run:
            table = out / f"{studies}-jobs{jobs}-{k}.csv"
            tables.setdefault(studies, []).append(table)
            return run(spinecheck("batch", folder, "-o", table, "--jobs", jobs, "--overwrite", "--quiet"))

        return go

    header(f"batch of {n} DX studies, header only (floor: dcmread header only + json.load)")
    line("spinecheck batch --jobs 1", paired(ours(1), lambda k: run(python(FLOOR_BATCH, root)), repeat), 1.5)
    before = bench_batch.cpu_ceiling()
    two = paired(ours(2), ours(1), repeat)
    small = max(1, n // 5)
    two_small = paired(ours(2, small), ours(1, small), repeat)  # the second size of the fit
    # the floor's own two processes, inside the same ceiling measurements
    plain = paired(
        lambda k: run(python(FLOOR_BATCH_2, root)), lambda k: run(python(FLOOR_BATCH, root)), repeat
    )
    after = bench_batch.cpu_ceiling()
    speedup = 1 / two.ratio("wall")
    ceiling = min(before, after)
    print(
        f"  --jobs 2 against --jobs 1: {speedup:.2f}x faster (medians {two.median('ours', 'wall'):.3f} s and "
        f"{two.median('floor', 'wall'):.3f} s); two processes do {before:.2f}x / {after:.2f}x the work of one "
        "(before / after)"
    )
    split = Split.fit(small, two_small, n, two)
    print(split.text(n, large or 10 * n))
    plain_speedup = 1 / plain.ratio("wall")
    print(
        f"  the floor's loop itself, forked into two processes after its imports: {plain_speedup:.2f}x "
        f"faster than in one (medians {plain.median('ours', 'wall'):.3f} s and {plain.median('floor', 'wall'):.3f} s)"
    )
    judged = ceiling >= 1.9
    RESULTS.append(
        (
            "spinecheck batch --jobs 2 / --jobs 1",
            f"{speedup:.2f}x faster, ceiling {ceiling:.2f}x (target >= 1.8x when the ceiling is >= 1.9x"
            + ("" if judged else ": not judged, the cores are shared")
            + f"); Amdahl bound {split.bound(n):.2f}x with a serial part of {split.serial[0]:.2f} s; the floor's "
            f"loop in two processes {plain_speedup:.2f}x",
            speedup >= 1.8 if judged else None,
        )
    )
    if large:
        _batch_large(work, large, repeat, ours, split)
    for studies, written in tables.items():
        same = all(filecmp.cmp(written[0], t, shallow=False) for t in written[1:])
        print(f"  all {len(written)} tables of {studies} studies byte for byte the same: {same}")
        RESULTS.append((f"batch tables of this run identical ({studies} studies)", str(same), same))
    if same_as:
        RESULTS.append((f"batch table the same as {same_as}'s", str(s := _same_as(same_as, root, work)), s))


def _batch_large(
    work: Path, large: int, repeat: int, ours: Callable[..., Callable[[int], Run]], split: Split
) -> None:
    """``--jobs 2`` against ``--jobs 1`` on *large* studies, beside what the split fitted at fewer predicts."""
    print(f"\n  the same on {large} studies (archive-{large} under --dir, generated once)")
    archive(work, large)
    before = bench_batch.cpu_ceiling()
    p = paired(ours(2, large), ours(1, large), repeat)
    after = bench_batch.cpu_ceiling()
    speedup = 1 / p.ratio("wall")
    print(
        f"  --jobs 2 against --jobs 1 on {large} studies: {speedup:.2f}x faster (medians "
        f"{p.median('ours', 'wall'):.3f} s and {p.median('floor', 'wall'):.3f} s; the fit predicted "
        f"{split.predicted(large):.2f}x, Amdahl bound {split.bound(large):.2f}x); two processes do "
        f"{before:.2f}x / {after:.2f}x the work of one (before / after)"
    )
    RESULTS.append(
        (
            f"spinecheck batch --jobs 2 / --jobs 1 at {large} studies",
            f"{speedup:.2f}x faster, ceiling {min(before, after):.2f}x (not a target of the issue: it shows "
            "the split)",
            None,
        )
    )


@dataclass
class Split:
    """``batch``'s wall time split into a part that grows with the studies and one that does not.

    Fitted on the medians at two archive sizes, for ``--jobs 1`` and ``--jobs 2``:
    ``wall = serial + studies * per_study`` (start-up, imports, discovery and the table's end,
    against the studies' work). Amdahl's bound is what ``--jobs 2`` would reach if it kept
    ``--jobs 1``'s serial part and ran the per-study part exactly twice as fast.
    """

    serial: tuple[float, float]  # seconds, --jobs 1 and --jobs 2
    per_study: tuple[float, float]  # seconds per study, --jobs 1 and --jobs 2
    sizes: tuple[int, int]  # the two archive sizes fitted on

    @classmethod
    def fit(cls, small: int, at_small: Pairs, n: int, at_n: Pairs) -> Split:
        """From the pairs (ours: ``--jobs 2``, floor: ``--jobs 1``) at *small* and *n* studies."""
        serial, per = [], []
        for which in ("floor", "ours"):  # --jobs 1, then --jobs 2
            a, b = at_small.median(which, "wall"), at_n.median(which, "wall")
            slope = (b - a) / (n - small)
            per.append(slope)
            serial.append(b - n * slope)
        return cls((serial[0], serial[1]), (per[0], per[1]), (small, n))

    def bound(self, n: int) -> float:
        one = self.serial[0] + n * self.per_study[0]
        return one / (self.serial[0] + n * self.per_study[0] / 2)

    def predicted(self, n: int) -> float:
        return (self.serial[0] + n * self.per_study[0]) / (self.serial[1] + n * self.per_study[1])

    def text(self, n: int, large: int) -> str:
        (s1, s2), (w1, w2), (small, big) = self.serial, self.per_study, self.sizes
        return (
            f"  fitted on {small} and {big} studies: --jobs 1 = {s1:.2f} s + {w1 * 1e3:.2f} ms a study, "
            f"--jobs 2 = {s2:.2f} s + {w2 * 1e3:.2f} ms a study (the studies' part {w1 / w2:.2f}x faster)\n"
            f"  Amdahl: with {s1:.2f} s that does not shrink, --jobs 2 is at most {self.bound(n):.2f}x faster "
            f"on {n} studies, {self.bound(large):.2f}x on {large}; the fit predicts {self.predicted(large):.2f}x "
            f"on {large}"
        )


def _same_as(commit: str, root: Path, work: Path) -> bool:
    """Whether *commit*'s ``spinecheck batch`` writes the same table (checked out in a git worktree)."""
    old = work / "old"
    shutil.rmtree(old, ignore_errors=True)
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old / "spinecheck"), commit],
                   check=True, capture_output=True)  # fmt: skip
    try:
        argv = python(
            f"import sys; sys.path.insert(0, {str(old)!r}); {SPINECHECK}",
            "batch", root, "-o", work / "old.csv", "--jobs", "2", "--overwrite", "--quiet",
        )  # fmt: skip
        run(argv)
        run(spinecheck("batch", root, "-o", work / "new.csv", "--jobs", "2", "--overwrite", "--quiet"))
        same = filecmp.cmp(work / "old.csv", work / "new.csv", shallow=False)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old / "spinecheck")],
                       check=False, capture_output=True)  # fmt: skip
    print(f"  the table is {'byte for byte' if same else 'NOT'} the one {commit} writes")
    return same


def measure(work: Path, rows: Sequence[int], repeat: int, one_job: bool = False) -> None:
    """``spinecheck measure`` of a wide CSV beside bench_measure's pandas floor, both through the spawner.

    bench_measure's own ``measure_task`` starts its runs from this process, so they would report its
    peak RSS (the films and archives generated above) instead of theirs: the same figure in both
    columns. Here the CSV and the two commands come from bench_measure, the runs from :func:`run`.

    ``measure`` runs with its default ``--jobs`` (the table in pieces on every CPU): beside the
    largest process's peak RSS, which the target judges, the line under it gives how many
    processes ran and the sum of their peaks (the floor is one process). With *one_job*,
    ``--jobs 1`` is also run, paired with the default, and must write the same bytes.
    """
    try:
        import bench_measure
    except ImportError as exc:
        print(f"\nmeasure: bench_measure is not available here ({exc}); skipped")
        return
    print("\nmeasure of a wide CSV to CSV (floor: pandas + NumPy, PI, PT, SS, LL, SVA)")
    ours_out, floor_out = work / "measure-spinecheck.csv", work / "measure-floor.csv"
    for n in rows:
        src = work / f"wide_{n}.csv"
        if not src.exists():
            bench_measure.make_csv(src, n, "mixed")
        floor = [sys.executable, bench_measure.__file__, "--run-floor", str(src), str(floor_out)]
        ours = bench_measure._spinecheck(src)
        before = bench_batch.cpu_ceiling()
        p = paired(lambda k, a=ours: run(a, ours_out, tree=True), lambda k, a=floor: run(a), repeat)
        after = bench_batch.cpu_ceiling()
        bench_measure._check_floor(ours_out, floor_out)  # the floor computed what spinecheck did
        line(f"spinecheck measure, {n} rows", p, 1.5, memory=1.3)
        # the pieces run on every core, pandas' read on two threads: what each kept busy, and what two
        # processes could do on this machine then (below 2 when its cores are shared)
        mine_cpu, base_cpu = p.median("ours", "cpu"), p.median("floor", "cpu")
        print(
            f"  {'':44} CPU (user + system): {mine_cpu:.1f} s against the floor's {base_cpu:.1f} s, "
            f"{mine_cpu / p.median('ours', 'wall'):.2f} and {base_cpu / p.median('floor', 'wall'):.2f} cores "
            f"busy; two processes did {before:.2f}x / {after:.2f}x the work of one (before / after)"
        )
        print(
            f"  {'':44} {p.median('ours', 'processes'):.0f} processes (the floor: 1); their peak RSS summed: "
            f"{p.median('ours', 'rss_sum_mb'):.0f} MB, {p.ratio('rss_sum_mb'):.2f}x the floor's"
        )
        # the memory held at once, each shared page once: one run of each sampled for PSS, not timed
        mine, base = run(ours, ours_out, pss=True).pss_mb, run(floor, floor_out, pss=True).pss_mb
        print(
            f"  {'':44} peak of their summed PSS (a shared page counted once; one run each, not timed): "
            f"{mine:.0f} MB against the floor's {base:.0f} MB, {mine / base:.2f}x"
        )
        held = f"{mine / base:.2f}x (target <= 1.3x; the largest process alone is judged above)"
        RESULTS.append(
            (f"spinecheck measure, {n} rows, memory held at once (summed PSS)", held, mine / base <= 1.3)
        )
        if one_job:  # the same table in one process: "floor" is --jobs 1 on this line
            alone, alone_out = [*ours, "--jobs", "1"], work / "measure-spinecheck-jobs1.csv"
            q = paired(lambda k, a=ours: run(a, ours_out), lambda k, a=alone, o=alone_out: run(a, o), repeat)
            line(f"default against --jobs 1, {n} rows", q, None, what="default / --jobs 1")
            same = filecmp.cmp(ours_out, alone_out, shallow=False)
            print(f"  the default's table is {'byte for byte' if same else 'NOT'} the one --jobs 1 writes")
            RESULTS.append((f"measure, {n} rows: the default's table is --jobs 1's", str(same), same))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 studies, 100 000 rows, 3 pairs: a few minutes")
    ap.add_argument("--repeat", type=int, help="pairs per task (default 5; 3 with --quick)")
    ap.add_argument(
        "--studies", type=int, help="studies of the batch archive (default 1000; 300 with --quick)"
    )
    ap.add_argument(
        "--rows", type=int, nargs="+", help="wide-CSV sizes (default 100000 1000000; --quick 100000)"
    )
    ap.add_argument(
        "--dir", type=Path, help="where generated data are kept and reused (default: a temp folder)"
    )
    ap.add_argument("--only", nargs="+", choices=("startup", "info", "decode", "batch", "measure"))
    ap.add_argument("--same-as", metavar="COMMIT", help="also compare the batch table with that commit's")
    ap.add_argument(
        "--measure-jobs-1",
        action="store_true",
        help="measure: also run --jobs 1, paired with the default (pieces on every CPU); same bytes",
    )
    ap.add_argument(
        "--batch-large",
        type=int,
        metavar="N",
        help="also --jobs 2 against --jobs 1 on N studies (e.g. 10000), beside what the fit predicts",
    )
    args = ap.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 5)
    studies = args.studies or (300 if args.quick else 1000)
    rows = args.rows or ([100_000] if args.quick else [100_000, 1_000_000])
    only = set(args.only or ("startup", "info", "decode", "batch", "measure"))

    temp = None if args.dir else tempfile.mkdtemp(prefix="bench-floor-")
    work = args.dir or Path(str(temp))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; {bench_batch.wait_idle(max_wait=60)}; {repeat} pairs per task")
    try:
        if "startup" in only:
            startup(work, repeat)
        if "info" in only:
            info(work, repeat)
        if "decode" in only:
            decode(work, repeat)
        if "batch" in only:
            batch(work, studies, repeat, args.same_as, args.batch_large)
        if "measure" in only:
            measure(work, rows, repeat, args.measure_jobs_1)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    print(f"\nload average now {os.getloadavg()[0]:.2f}\ntargets")
    for task, said, met in RESULTS:
        verdict = "met" if met else ("not judged" if met is None else "NOT met")
        print(f"  {verdict:10} {task}: {said}")
    return 0 if all(met is not False for _, _, met in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
