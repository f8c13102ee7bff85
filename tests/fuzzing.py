"""Fuzzing harness (issue 13, point 5): mutated inputs for every reader, each run judged by an oracle.

A *case* is one mutated input (landmark JSON, wide CSV, AASCE ``.mat``, 3D Slicer ``.mrk.json``,
DICOM of each transfer syntax, PNG/JPEG/TIFF) with what a right answer must satisfy, made by the
mutators of :mod:`fuzz_inputs` (re-exported here). Each case runs
in a forked child with a memory limit (``RLIMIT_AS``) and a timeout, so a decoder abort, a Rust
panic or a memory bomb is classified, not fatal; the child reads through the API
(``load_study``, ``read_radiograph_header``, ``load_radiograph``) or the command line
(``spinecheck.cli.main`` with stdout and stderr on their own file descriptors, so native writes to
stderr are seen). :func:`run_subprocess` runs the installed ``spinecheck`` command itself (the
memory limit in ``preexec_fn``).

The oracle is not "no exception". Every run is one of:

``clean error``
    API: a ``SpinecheckError``. CLI: exit 2 and stderr exactly one line starting ``error: ``.
``internal error``
    Any other exception; exit 1; a traceback; exit 2 with more than one stderr line.
``crash``
    Killed by a signal, any other exit status, the timeout, or a child that said nothing.
``silent wrong``
    A result whose numbers break an invariant checked independently of the code under test:
    PI = PT + SS and PI-LL = PI - LL (1e-6 deg); angles within ±180 deg; distances below
    :data:`MAX_DISTANCE_MM`; nothing infinite; no criterion graded on a withheld parameter;
    a label swap, a deleted point or a translation leaves every parameter unchanged unless it is
    withheld or the study gained a warning; a calibration scaled by *k* scales every mm value
    by *k* exactly and leaves the angles; a calibration outside :data:`PLAUSIBLE_MM_PER_PX` is
    refused or its mm values withheld; a wide-CSV point with an x and no y is absent; a film whose
    header no longer fits its pixel data (Rows, Columns, Bits Allocated, a PNG's size) is refused
    or decodes to the reference's pixel values in the reference's shape, as does a header edit
    that leaves the pixel data alone; a spacing outside the plausible range is not reported.
``ok``
    A result that passes every check.

Decisions (the issue was silent): a duplicate JSON key and a byte flip inside a compressed stream
may give a result (the formats carry no checksum), judged by the invariants only; a warning the
reference run did not have counts as "warned" for a changed value; a memory bomb that ends in
``MemoryError`` is an internal error (the size was not checked before allocating).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import faulthandler
import hashlib
import json
import logging
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from fuzz_inputs import (  # noqa: F401 - the campaign's names, in one place for tests and the bench
    PLAUSIBLE_MM_PER_PX,
    READERS,
    SHARED,
    Case,
    Expect,
    Seeds,
    _csv_bytes,
    _dump,
    aasce_permutations,
    all_swaps,
    generate,
    make_seeds,
)

#: No distance on a radiograph exceeds the diagonal of the longest long-length film (17 x 51 in,
#: 432 x 1295 mm: 1365 mm); a larger one means a wrong calibration or a wrong point.
MAX_DISTANCE_MM = 1400.0
ANGLE_TOLERANCE_DEG = 1e-6
#: Child limits: seconds per run, and address space above what the parent already maps.
TIMEOUT_S = 20.0
MEMORY_HEADROOM_BYTES = 2 * 1024**3


class Outcome(str, enum.Enum):
    """How one run ended."""

    CLEAN_ERROR = "clean error"
    INTERNAL_ERROR = "internal error"
    CRASH = "crash"
    SILENT_WRONG = "silent wrong"
    OK = "ok"


@dataclasses.dataclass(frozen=True)
class Result:
    """One run's classification, with the detail that decided it."""

    case: Case
    mode: str
    outcome: Outcome
    detail: str


# ----------------------------------------------------------------------------- running


def _summary_of_study(study: Any) -> list[dict[str, Any]]:
    from spinecheck.alignment.parameters import PARAMETERS

    m = study.measurements
    out = []
    for i in range(len(study)):
        values = {pid: _number(m.values[pid][i]) for pid in m.values}
        graded = []
        for c in study.assessment.columns:
            if (
                c.parameter in m.values
                and c.applied[i]
                and not math.isfinite(float(m.values[c.parameter][i]))
            ):
                graded.append(c.id)
        out.append(
            {
                "view": str(m.views[i].value if hasattr(m.views[i], "value") else m.views[i]),
                "values": values,
                "units": {pid: PARAMETERS[pid].unit for pid in values if pid in PARAMETERS},
                "warnings": list(m.warnings[i]),
                "graded_withheld": graded,
            }
        )
    return out


def _number(v: Any) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _summary_of_report(report: dict[str, Any]) -> dict[str, Any]:
    params = report.get("parameters", {})
    values = {k: p.get("value") for k, p in params.items()}
    judged = _criterion_parameters()
    graded = [
        row["id"]
        for row in report.get("criteria", [])
        if row.get("id") in judged
        and judged[row["id"]] in values
        and values[judged[row["id"]]] is None
        and any(row.get(key) is not None for key in ("grade", "flag", "category"))
    ]
    return {
        "view": report.get("view"),
        "values": values,
        "units": {k: p.get("unit") for k, p in params.items()},
        "warnings": list(report.get("warnings", [])),
        "graded_withheld": graded,
    }


def _criterion_parameters() -> dict[str, str]:
    """Criterion id -> the parameter it judges, read from the shipped criterion sets (data, not the engine)."""
    import spinecheck

    folder = Path(spinecheck.__file__).parent / "alignment" / "criteria" / "sets"
    out = {}
    for path in sorted(folder.glob("*.json")):
        for c in json.loads(path.read_text(encoding="utf-8")).get("criteria", []):
            if isinstance(c, dict) and c.get("id") and c.get("parameter"):
                out[c["id"]] = c["parameter"]
    return out


def _summary_of_film(radiograph: Any, header: Any) -> dict[str, Any]:
    pixels = np.asarray(radiograph.pixels)
    return {
        "rows": int(header.rows),
        "columns": int(header.columns),
        "shape": list(pixels.shape),
        # the values, whatever the container: uint16 and uint32 holding the same numbers are the same image
        "pixels": hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.float64).tobytes()).hexdigest(),
        "mm_per_px": _spacing(radiograph),
        "finite": bool(np.isfinite(pixels).all()),
    }


def _spacing(radiograph: Any) -> list[float] | None:
    cal = getattr(radiograph, "calibration", None)
    spacing = getattr(cal, "mm_per_px", None)
    return None if spacing is None else [float(s) for s in spacing]


def _api(case: Case, folder: Path, files: dict[str, bytes]) -> Any:
    """Read *files* through the API; the summary, or raise."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    path = str(folder / case.main)
    if case.kind == "study":
        from spinecheck.alignment.study import load_study

        return _summary_of_study(load_study(path, image=str(folder / case.image) if case.image else None))
    from spinecheck.landmarks.imaging.radiograph import load_radiograph, read_radiograph_header

    return _summary_of_film(load_radiograph(path), read_radiograph_header(path))


def _cli_argv(case: Case, folder: Path) -> list[str]:
    path = str(folder / case.main)
    if case.kind == "study":
        return ["measure", path, "--format", "json"] + (
            ["--image", str(folder / case.image)] if case.image else []
        )
    return ["info", path, "--format", "json"]


def _child(case: Case, mode: str, folder: Path, payload_path: Path, reference: Any) -> None:
    """In the forked child: run the case, write what happened (and the parent's *reference*) as JSON."""
    from spinecheck.landmarks.errors import SpinecheckError

    payload: dict[str, Any] = {"reference": reference}
    if mode == "api":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                payload["result"] = _api(case, folder, case.files)
            except SpinecheckError as e:
                payload["error"] = ["clean", type(e).__name__, str(e)[:300]]
            except BaseException as e:  # noqa: BLE001 - classifying every way out is the point
                payload["error"] = ["internal", type(e).__name__, str(e)[:300]]
        payload["warnings"] = [str(w.message)[:200] for w in caught]
    else:
        from spinecheck.cli import main

        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        warnings.resetwarnings()  # as in a fresh process: not the test runner's filters and log handlers
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)  # Python's default filters
        logging.root.handlers.clear()
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            payload["exit"] = main(_cli_argv(case, folder))
        except SystemExit as e:
            payload["exit"] = e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # noqa: BLE001
            payload["exit"] = 1
            print(f"uncaught {type(e).__name__}: {e}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    payload_path.write_text(json.dumps(payload, allow_nan=True))


_REFERENCES: dict[str, Any] = {}


def _reference(case: Case) -> Any:
    """The summary of *case*'s reference input, read in this process (it is a sound seed) and kept.

    None without a reference, or when the reference itself is refused (then nothing is compared).
    """
    from spinecheck.landmarks.errors import SpinecheckError

    if case.reference is None:
        return None
    digest = hashlib.sha256(repr((case.kind, case.main, case.image, sorted(case.reference.items()))).encode())
    key = digest.hexdigest()
    if key not in _REFERENCES:
        folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-reference-"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _REFERENCES[key] = _api(case, folder, case.reference)
        except SpinecheckError:
            _REFERENCES[key] = None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _REFERENCES[key]


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def run_case(
    case: Case, mode: str = "api", *, timeout: float = TIMEOUT_S, memory: int = MEMORY_HEADROOM_BYTES
) -> Result:
    """Run *case* in a forked child (``mode`` ``"api"`` or ``"cli"``) and classify it."""
    folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-"))
    try:
        out_path, err_path, payload_path = folder / ".stdout", folder / ".stderr", folder / ".payload"
        reference = _reference(case)
        limit = _address_space() + memory
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                faulthandler.disable()  # a fatal signal is the parent's to see, not a stack dump on its stderr
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                for fd, path in ((1, out_path), (2, err_path)):
                    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                    os.dup2(target, fd)
                    os.close(target)
                _child(case, mode, folder, payload_path, reference)
            finally:
                os._exit(0)
        status = _wait(pid, timeout)
        stdout = out_path.read_bytes() if out_path.exists() else b""
        stderr = err_path.read_bytes() if err_path.exists() else b""
        payload = json.loads(payload_path.read_text()) if payload_path.exists() else None
        outcome, detail = classify(case, mode, status, payload, stdout, stderr)
        return Result(case, mode, outcome, detail)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait(pid: int, timeout: float) -> int | None:
    """The child's wait status, or None when it ran past *timeout* (then it is killed)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def run_subprocess(case: Case, *, timeout: float = TIMEOUT_S, memory: int = 3 * 1024**3) -> Result:
    """Run *case* through the installed ``spinecheck`` command (a real process), and classify it."""
    folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-"))
    try:
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        command = shutil.which("spinecheck") or sys.executable
        argv = [command] if command.endswith("spinecheck") else [command, "-m", "spinecheck.cli"]
        payload: dict[str, Any] = {"reference": _reference(case)}

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        try:
            done = subprocess.run(
                argv + _cli_argv(case, folder),
                capture_output=True,
                timeout=timeout,
                preexec_fn=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Result(case, "process", Outcome.CRASH, f"timeout after {timeout:g} s")
        rc = done.returncode
        payload["exit"] = rc if rc >= 0 else None
        status = (rc << 8) if rc >= 0 else -rc
        outcome, detail = classify(case, "cli", status, payload, done.stdout, done.stderr)
        return Result(case, "process", outcome, detail)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- the oracle


def classify(
    case: Case, mode: str, status: int | None, payload: dict | None, stdout: bytes, stderr: bytes
) -> tuple[Outcome, str]:
    """The outcome of one run from its wait *status*, what the child said and its output."""
    if status is None:
        return Outcome.CRASH, "timeout"
    if os.WIFSIGNALED(status):
        return Outcome.CRASH, f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    if payload is None:
        return Outcome.CRASH, f"the child said nothing; stderr {_tail(stderr)}"
    reference = payload.get("reference")
    if mode == "api":
        if "error" in payload:
            kind, name, message = payload["error"]
            if kind == "clean":
                return Outcome.CLEAN_ERROR, f"{name}: {message[:120]}"
            return Outcome.INTERNAL_ERROR, f"{name}: {message[:160]}"
        result = payload["result"]
    else:
        code = payload.get("exit")
        lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        if code == 2:
            if len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in lines[0]:
                return Outcome.CLEAN_ERROR, lines[0][:160]
            return Outcome.INTERNAL_ERROR, f"exit 2 with {len(lines)} stderr lines: {_tail(stderr)}"
        if code == 1:
            return Outcome.INTERNAL_ERROR, f"exit 1: {_tail(stderr)}"
        if code != 0:
            return Outcome.CRASH, f"exit {code}: {_tail(stderr)}"
        if any("Traceback" in line for line in lines):
            return Outcome.INTERNAL_ERROR, f"exit 0 with a traceback: {_tail(stderr)}"
        try:
            result = _cli_result(case, json.loads(stdout))
        except (ValueError, KeyError, TypeError) as e:
            return Outcome.INTERNAL_ERROR, f"exit 0 but stdout is no report: {e}"
    problem = judge(case, result, reference)
    return (Outcome.SILENT_WRONG, problem) if problem else (Outcome.OK, "")


def _tail(data: bytes) -> str:
    text = " | ".join(data.decode("utf-8", "replace").strip().splitlines()[-3:])
    return text[:200]


def _cli_result(case: Case, output: Any) -> Any:
    if case.kind == "study":
        reports = output if isinstance(output, list) else [output]
        return [_summary_of_report(r) for r in reports]
    spacing = output.get("mm_per_px")
    return {
        "rows": output["rows"],
        "columns": output["columns"],
        "shape": [output["rows"], output["columns"]],
        "pixels": None,
        "mm_per_px": None if spacing is None else [float(s) for s in spacing],
        "finite": True,
    }


def judge(case: Case, result: Any, reference: Any) -> str:
    """Why *result* is wrong for *case* ("" when it is right)."""
    if case.kind == "study":
        return _judge_studies(case, result, reference)
    return _judge_film(case, result, reference)


def _judge_studies(case: Case, studies: list[dict], reference: list[dict] | None) -> str:
    for i, s in enumerate(studies):
        problem = study_invariants(s)
        if problem:
            return f"study {i}: {problem}"
    if case.expect is Expect.ANY or reference is None:
        return ""
    if len(reference) != len(studies):
        return f"{len(studies)} studies where the reference has {len(reference)}"
    for i, (s, r) in enumerate(zip(studies, reference, strict=True)):
        problem = _compare(case, s, r)
        if problem:
            return f"study {i}: {problem}"
    return ""


def study_invariants(s: dict[str, Any]) -> str:
    """The invariants every measured study keeps, whatever its input ("" when it keeps them)."""
    v, units = s["values"], s["units"]
    for pid, value in v.items():
        if value is None:
            continue
        if not math.isfinite(value):
            return f"{pid} = {value}"
        if units.get(pid) == "deg" and abs(value) > 180:
            return f"{pid} = {value:.6g} deg, beyond ±180"
        if units.get(pid) == "mm" and abs(value) > MAX_DISTANCE_MM:
            return f"{pid} = {value:.6g} mm, beyond any film"
    for total, parts, sign in (("PI", ("PT", "SS"), 1), ("PI_LL", ("PI", "LL"), -1)):
        a, b, c = v.get(total), v.get(parts[0]), v.get(parts[1])
        if None not in (a, b, c) and abs(a - (b + sign * c)) > ANGLE_TOLERANCE_DEG:
            return f"{total} {a:.6g} != {parts[0]} {b:.6g} {'+' if sign > 0 else '-'} {parts[1]} {c:.6g}"
    if s["graded_withheld"]:
        return f"graded on a withheld value: {', '.join(s['graded_withheld'])}"
    return ""


def _compare(case: Case, s: dict[str, Any], r: dict[str, Any]) -> str:
    warned = bool(set(s["warnings"]) - set(r["warnings"]))
    mm = [pid for pid, unit in r["units"].items() if unit == "mm"]
    if case.expect is Expect.REFUSED:
        shown = [pid for pid in mm if s["values"].get(pid) is not None]
        return f"implausible calibration (x {case.factor:g}) gave {', '.join(shown)}" if shown else ""
    for pid, expected in r["values"].items():
        got = s["values"].get(pid)
        if expected is None or got is None:
            continue  # withheld, in the reference (nothing to compare) or now (allowed)
        if case.expect is Expect.SCALED and pid in mm:
            expected *= case.factor
        if abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
            if case.expect is Expect.SAME and warned:
                continue
            return f"{pid} {got:.6g} where {expected:.6g} is right, with no warning ({case.mutation})"
    return ""


def _judge_film(case: Case, f: dict[str, Any], reference: dict[str, Any] | None) -> str:
    if f["rows"] <= 0 or f["columns"] <= 0 or list(f["shape"][:2]) != [f["rows"], f["columns"]]:
        return f"pixels {f['shape']} for a film of {f['rows']} x {f['columns']}"
    if not f["finite"]:
        return "pixels that are not finite"
    spacing = f["mm_per_px"]
    low, high = PLAUSIBLE_MM_PER_PX
    if spacing is not None and not all(low <= s <= high for s in spacing):
        return f"an implausible pixel spacing {spacing} accepted"
    if case.expect is Expect.SAME_PIXELS and reference is not None:
        if list(f["shape"]) != list(reference["shape"]):
            return f"a film of {f['rows']} x {f['columns']} accepted from pixel data of {reference['shape']}"
        if f["pixels"] is not None and f["pixels"] != reference["pixels"]:
            return "pixels other than the pixel data holds"
        if spacing is not None and reference["mm_per_px"] is not None:
            expected = [s * case.factor for s in reference["mm_per_px"]]
            if not np.allclose(spacing, expected, rtol=1e-6):
                return f"spacing {spacing} where {expected} is right"
    return ""


# ----------------------------------------------------------------------------- campaigns


def warm_up(seeds: Seeds) -> None:
    """Import the readers and read each seed once in this process, so forked children start warm."""
    import spinecheck.cli  # noqa: F401
    from spinecheck.alignment.study import load_study
    from spinecheck.landmarks.errors import SpinecheckError

    folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-warm-"))
    try:
        for name, data in (
            ("a.json", seeds.lateral_json),
            ("b.json", seeds.ap_json),
            ("t.csv", seeds.csv),
            ("a.mat", seeds.mat),
            ("a.mrk.json", seeds.slicer),
        ):
            (folder / name).write_bytes(data)
            with warnings.catch_warnings(), contextlib.suppress(SpinecheckError):
                warnings.simplefilter("ignore")
                load_study(str(folder / name))
        for name in sorted(seeds.films)[:1]:
            _api(
                Case("dicom", "warm", "film", {"f.dcm": seeds.films[name]}, "f.dcm"),
                folder,
                {"f.dcm": seeds.films[name]},
            )
        for name, data in seeds.pictures.items():
            _api(Case("picture", "warm", "picture", {name: data}, name), folder, {name: data})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def campaign(cases: Iterable[Case], modes: Sequence[str] = ("api", "cli"), **limits: float) -> list[Result]:
    """Run every case in every mode."""
    return [run_case(case, mode, **limits) for case in cases for mode in modes]  # type: ignore[arg-type]


def counts(results: Sequence[Result]) -> dict[str, Counter]:
    """Outcome counts per reader (and ``"total"``)."""
    table: dict[str, Counter] = {}
    for r in results:
        for key in (r.case.reader, "total"):
            table.setdefault(key, Counter())[r.outcome] += 1
    return table


def counts_table(results: Sequence[Result]) -> str:
    """The counts as a fixed-width text table: runs, clean errors, internal errors, crashes, silent wrong, ok."""
    columns = ("runs", *[o.value for o in Outcome])
    lines = [f"{'reader':<10}" + "".join(f"{c:>16}" for c in columns)]
    table = counts(results)
    for reader in [*sorted(k for k in table if k != "total"), "total"]:
        if reader not in table:
            continue
        c = table[reader]
        lines.append(f"{reader:<10}{sum(c.values()):>16}" + "".join(f"{c[o]:>16}" for o in Outcome))
    return "\n".join(lines)


def failures(
    results: Sequence[Result],
    outcomes: Iterable[Outcome] = (Outcome.INTERNAL_ERROR, Outcome.CRASH, Outcome.SILENT_WRONG),
) -> list[str]:
    """One line per run with a bad outcome: reader, mode, mutation, outcome, detail."""
    bad = set(outcomes)
    return [
        f"{r.case.reader} [{r.mode}] {r.case.mutation}: {r.outcome.value}: {r.detail}"
        for r in results
        if r.outcome in bad
    ]
