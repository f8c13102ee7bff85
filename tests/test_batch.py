"""``spinecheck batch``: a whole archive into one table (spinecheck.alignment.batch, formats.md §3)."""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_factory import write_study
from spinecheck.alignment.batch.runner import BatchOptions, batch_header, numeric_columns, run_batch
from spinecheck.cli import main

STUDIES = 12


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A mixed archive: nested folders, broken files, missing landmarks, duplicate stems."""
    root = tmp_path_factory.mktemp("archive")
    for i in range(STUDIES):
        view = "lateral" if i % 3 else "ap"
        write_study(root / f"site{i % 2}" / f"patient{i % 4}", f"film{i:02d}.dcm", view=view, seed=i % 3)
    write_study(root / "site0", "nolandmarks.dcm", landmarks=None)
    write_study(root / "site1", "truncated.dcm")
    data = (root / "site1" / "truncated.dcm").read_bytes()
    (root / "site1" / "truncated.dcm").write_bytes(data[: len(data) // 2])
    write_study(root / "site1", "notdicom.dcm")
    (root / "site1" / "notdicom.dcm").write_text("this is not an image")
    write_study(root / "site1", "badjson.dcm")
    (root / "site1" / "badjson.json").write_text('{"format": "spinecheck-landmarks/1", "view": ')
    write_study(root / "site1", "othercase.dcm", uid="1.2.3.999")
    write_study(root / "site1", "wronguid.dcm", uid="1.2.3.998", landmarks=None)
    shutil.copy(root / "site1" / "othercase.json", root / "site1" / "wronguid.json")  # another film's points
    write_study(root / "dups", "dup.dcm", declare_path=False)
    write_study(root / "dups", "dup.png", png=True, landmarks=None)
    write_study(root / "orphans", "gone.dcm")
    (root / "orphans" / "gone.dcm").unlink()
    (root / "README.txt").write_text("an archive")
    return root


@pytest.fixture(scope="module")
def reference(archive, tmp_path_factory) -> Path:
    """The archive measured by ``--jobs 1``, uninterrupted."""
    out = tmp_path_factory.mktemp("ref") / "table.csv"
    assert main(["batch", str(archive), "-o", str(out), "--jobs", "1", "--quiet"]) == 0
    return out


def test_every_file_has_its_row_with_the_right_status(reference):
    rows = {r["image"] or r["landmarks"]: r for r in _read(reference)}
    assert len(rows) == STUDIES + 9
    for i in range(STUDIES):
        r = rows[f"site{i % 2}/patient{i % 4}/film{i:02d}.dcm"]
        assert (r["status"], r["error"]) == ("ok", ""), r
        assert r["view"] == ("lateral" if i % 3 else "ap")
        assert r["age_years"] == str(float(60 + i % 3)) and r["age_source"] == "DICOM PatientAge"
        assert r["calibration_source"] == "PixelSpacing"
        assert r["PI_deg" if r["view"] == "lateral" else "Cobb_max_deg"] != ""
    assert rows["site0/nolandmarks.dcm"]["status"] == "skipped"
    assert "no landmark file" in rows["site0/nolandmarks.dcm"]["error"]
    assert rows["orphans/gone.json"]["status"] == "skipped"
    assert rows["orphans/gone.json"]["error"] == "no image found for these landmarks"
    expected_errors = {
        "site1/truncated.dcm": "truncated",
        "site1/notdicom.dcm": "not a DICOM",
        "site1/badjson.dcm": "badjson.json",
        "site1/wronguid.dcm": "'site1/wronguid.json' at this image's path was placed on another film "
        "(it records SOP Instance UID 1.2.3.999, that of 'site1/othercase.dcm'; this image's is 1.2.3.998)",
        "dups/dup.dcm": "ambiguous image",
        "dups/dup.png": "ambiguous image",
    }
    for image, words in expected_errors.items():
        assert rows[image]["status"] == "error", image
        assert words in rows[image]["error"], rows[image]["error"]
        assert rows[image]["PI_deg"] == "" and rows[image]["tool_version"]
    assert rows["site1/othercase.dcm"]["status"] == "ok"
    assert rows["site1/wronguid.dcm"]["landmarks"] == "site1/wronguid.json"  # named once, not again as orphan


def test_table_is_sorted_by_image_path_with_the_fixed_header(reference):
    with open(reference, newline="") as f:
        table = list(csv.reader(f))
    assert tuple(table[0]) == batch_header(BatchOptions())
    images = [r[0] for r in table[1:]]
    with_image = [i for i in images if i]
    assert with_image == sorted(with_image) and images[len(with_image) :] == [""] * (
        len(images) - len(with_image)
    )
    assert all(len(r) == len(table[0]) for r in table)


def test_batch_and_measure_share_one_core(reference, archive, capsys):
    """A batch row is the row `spinecheck measure --format csv` gives for the same study."""
    study = archive / "site1" / "patient1" / "film01.dcm"
    assert main(["measure", str(study.with_suffix(".json")), "--image", str(study), "--format", "csv"]) == 0
    measured = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))[0]
    row = next(r for r in _read(reference) if r["image"] == "site1/patient1/film01.dcm")
    assert set(row) == set(measured)
    differ = {k for k in row if row[k] != measured[k]}
    assert differ == {"image", "landmarks"}  # paths relative to the root in a batch


def test_jobs_2_and_dask_give_the_same_table_as_jobs_1(archive, reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    two = tmp_path / "two.csv"
    assert main(["batch", str(archive), "-o", str(two), "--jobs", "2", "--chunk-size", "2", "--quiet"]) == 0
    assert two.read_bytes() == reference.read_bytes()
    on_dask = tmp_path / "dask.csv"
    # the scheduler's HTTP server on any free port: with None it takes 8787, and a second test run on the
    # machine would then fail on the "port in use" warning
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0", silence_logs=40
    ) as cluster:
        code = main(
            ["batch", str(archive), "-o", str(on_dask), "--scheduler", cluster.scheduler_address, "--quiet"]
        )
    assert code == 0
    assert on_dask.read_bytes() == reference.read_bytes()


def test_verify_pixels_gives_the_same_table_as_header_only(archive, reference, tmp_path):
    """Rows come from the header in both modes: values, provenance, error rows, byte for byte."""
    out = tmp_path / "verified.csv"
    assert main(["batch", str(archive), "-o", str(out), "--jobs", "1", "--verify-pixels", "--quiet"]) == 0
    assert out.read_bytes() == reference.read_bytes()
    truncated = next(r for r in _read(out) if r["image"] == "site1/truncated.dcm")
    assert truncated["status"] == "error"
    assert "the pixel data are truncated" in truncated["error"] and "bytes present" in truncated["error"]


@pytest.mark.parametrize("verify", [False, True])
def test_a_chunk_claims_every_landmark_file_then_reads_every_header_then_merges(
    archive, reference, tmp_path, monkeypatch, verify
):
    """Header only, each stage runs for the whole chunk in turn; decoding, each film is read as it is merged."""
    from spinecheck.alignment.batch import runner

    seen: list[str] = []

    def spy(kind, real):
        def call(*args, **kwargs):
            seen.append(kind)
            return real(*args, **kwargs)

        return call

    readers = runner._readers()
    monkeypatch.setattr(runner, "_claim", spy("claim", runner._claim))
    monkeypatch.setattr(readers, "read_radiograph_header", spy("header", readers.read_radiograph_header))
    monkeypatch.setattr(readers, "load_radiograph_isolated", spy("header", readers.load_radiograph_isolated))
    monkeypatch.setattr(runner, "_merged_landmarks", spy("merge", runner._merged_landmarks))
    out = tmp_path / "t.csv"
    argv = ["batch", str(archive), "-o", str(out), "--jobs", "1", "--quiet"]
    assert main(argv + (["--verify-pixels"] if verify else [])) == 0
    assert out.read_bytes() == reference.read_bytes()
    stages = "".join(kind[0] for kind in seen)
    assert stages.count("h") >= 10 and stages.count("m") >= 10
    if verify:  # a film read and merged after another (one that fails to read is not merged)
        assert "hm" * 5 in stages
    else:
        assert stages == "".join(sorted(stages, key="chm".index))


def test_a_corrupt_compressed_film_is_an_error_only_with_verify_pixels(tmp_path):
    from batch_factory import corrupt_rle, film
    from spinecheck.landmarks.synthetic.films import write_dicom

    root = tmp_path / "archive"
    uid = "1.2.826.0.1.3680043.10.511.77"
    image, _ = write_study(root, "rle.dcm", uid=uid)
    write_dicom(film("lateral"), image, transfer_syntax="rle lossless", sop_instance_uid=uid, patient_age=60)
    corrupt_rle(image)
    for extra, status in (([], "ok"), (["--verify-pixels"], "error")):
        out = tmp_path / f"t{len(extra)}.csv"
        assert main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet", *extra]) == 0
        (row,) = _read(out)
        assert row["status"] == status, row
        assert (row["error"] == "") == (status == "ok") and ("cannot decode" in row["error"]) == (
            status == "error"
        )


def test_parquet_holds_the_same_table(reference):
    import pyarrow.parquet as pq

    table = pq.read_table(reference.with_suffix(".parquet"))
    rows = _read(reference)
    assert table.column_names == list(rows[0])
    numeric = numeric_columns(BatchOptions())
    assert {"PI_deg", "SVA_mm", "gap_total", "age_years", "mm_per_px_row"} <= numeric
    for name in table.column_names:
        got = table.column(name).to_pylist()
        if name in numeric:
            assert str(table.schema.field(name).type) == "double"
            assert got == [float(r[name]) if r[name] else None for r in rows], name
        else:
            assert str(table.schema.field(name).type) == "string"
            assert got == [r[name] or None for r in rows], name


@pytest.mark.parametrize("age_set", ["lafage2016-linear", "hasegawa2016", "normative-pi-age-2025"])
@pytest.mark.parametrize("cobb_method", ["endplate", "midline"])
def test_numeric_columns_are_those_that_hold_numbers(age_set, cobb_method):
    """The numeric columns (from the registries) are those a calibrated lateral and AP study fills with numbers."""
    from spinecheck.alignment.batch.table import study_of
    from spinecheck.alignment.render.text import table_columns
    from spinecheck.landmarks.points.calibration import Calibration
    from spinecheck.landmarks.points.model import LandmarkTable
    from spinecheck.landmarks.points.operation import Operation
    from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

    options = BatchOptions(age_set=age_set, cobb_method=cobb_method)
    cal = Calibration.from_spacing([2.0, 2.0])
    # the second AP film has a curve in each region (proximal thoracic, main thoracic, TL/L)
    regions = (("T1", "T5", 12.0), ("T5", "T11", -18.0), ("T11", "L4", 26.0))
    lateral = synthetic_lateral(mm_per_px=2.0).landmarks
    sets = [
        lateral,
        synthetic_ap(mm_per_px=2.0).landmarks,
        synthetic_ap(mm_per_px=2.0, coronal_curves=regions).landmarks,
        lateral.replace(operation=Operation(uiv="T10", liv="L2")),  # post-operative: PJA and DJA
    ]
    cols = table_columns(study_of(LandmarkTable.from_sets(sets, calibrations=[cal] * 4), [None] * 4, options))
    holding_numbers = set()
    for name, values in cols.items():
        present = [v for v in values.tolist() if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            holding_numbers.add(name)
    # the pre-operative angles of PJK and DJK are numbers where given (measure --preop-pja); a batch has none
    preop = {f"{c}_{k}_deg" for c in ("pjk_glattes", "djk_passias") for k in ("preop", "change")}
    assert numeric_columns(options) - preop == holding_numbers


def test_refuses_to_clobber_an_existing_table(archive, reference, tmp_path, capsys):
    out = tmp_path / "t.csv"
    shutil.copy(reference, out)
    before = out.read_bytes()
    assert main(["batch", str(archive), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "--resume" in err and "--overwrite" in err
    assert out.read_bytes() == before
    assert main(["batch", str(archive), "-o", str(out), "--resume", "--overwrite"]) == 2
    assert main(["batch", str(archive), "-o", str(out), "--overwrite", "--jobs", "1", "--quiet"]) == 0
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    "argv, words",
    [
        pytest.param(["MISSING", "-o", "{tmp}/t.csv"], "no such folder", id="no-root"),
        pytest.param(["{root}", "-o", "{tmp}/t.txt"], ".csv", id="not-csv"),
        pytest.param(["{root}", "-o", "{tmp}/t.csv", "--jobs", "0"], "--jobs", id="jobs-0"),
        pytest.param(
            ["{root}", "-o", "{tmp}/t.csv", "--min-curve-deg", "-1"], "--min-curve-deg", id="min-curve"
        ),
        pytest.param(["{root}", "-o", "{tmp}/t.csv", "--age-set", "nope"], "nope", id="age-set"),
    ],
)
def test_bad_usage_is_one_error_line_and_status_2(argv, words, archive, tmp_path, capsys):
    argv = [a.format(root=archive, tmp=tmp_path) for a in argv]
    assert main(["batch", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err
    assert not (tmp_path / "t.csv").exists()


def test_resume_drops_a_torn_line_and_runs_only_what_is_missing(archive, reference, tmp_path, capsys):
    out = tmp_path / "t.csv"
    lines = reference.read_bytes().splitlines(keepends=True)
    torn = b"".join(lines[:5]) + lines[5][:40]  # four rows, then half a line, as a killed run leaves
    out.write_bytes(torn)
    assert main(["batch", str(archive), "-o", str(out), "--resume", "--jobs", "1"]) == 0
    assert out.read_bytes() == reference.read_bytes()
    err = capsys.readouterr().err
    assert "3 rows were already in the table" in err  # the fourth is skipped: discovery makes it again
    unmeasured = {  # decided without measuring
        "site0/nolandmarks.dcm",
        "site1/wronguid.dcm",
        "dups/dup.dcm",
        "dups/dup.png",
        "",
    }
    rest = [r for r in _read(reference)[4:] if r["image"] not in unmeasured]
    assert f"{len(rest)} studies measured" in err


def test_resume_refuses_a_table_of_other_columns(archive, reference, tmp_path, capsys):
    out = tmp_path / "t.csv"
    shutil.copy(reference, out)
    code = main(["batch", str(archive), "-o", str(out), "--resume", "--age-set", "hasegawa2016"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err and "columns" in err
    assert out.read_bytes() == reference.read_bytes()


def test_resume_of_a_complete_table_measures_nothing(archive, reference, tmp_path):
    out = tmp_path / "t.csv"
    shutil.copy(reference, out)
    summary = run_batch(archive, out, jobs=1, resume=True, progress=False)
    assert summary.measured == 0 and summary.total == STUDIES + 9
    assert summary.resumed == summary.total - summary.counts["skipped"]  # skipped rows are made again
    assert out.read_bytes() == reference.read_bytes()


def test_killed_run_resumes_with_every_study_exactly_once(archive, reference, tmp_path):
    """A real ``spinecheck batch`` process killed with SIGKILL mid-run, then ``--resume``."""
    out = tmp_path / "t.csv"
    figures = tmp_path / "figures"
    exe = shutil.which("spinecheck")
    assert exe, "the spinecheck console script must be installed"
    # drawing figures makes each study slow enough to be killed half way
    cmd = [
        exe,
        "batch",
        str(archive),
        "-o",
        str(out),
        "--jobs",
        "1",
        "--chunk-size",
        "1",
        "--figures",
        str(figures),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 1 + 4 + 3:  # header, 4 unmeasured, 3 studies
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the batch ended before it could be killed: {proc.stderr.read()!r}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    partial = _read(out)
    assert 0 < sum(r["status"] == "ok" for r in partial) < STUDIES
    assert main(["batch", str(archive), "-o", str(out), "--resume", "--jobs", "2", "--quiet"]) == 0
    assert out.read_bytes() == reference.read_bytes()
    keys = [(r["image"], r["landmarks"]) for r in _read(out)]
    assert len(keys) == len(set(keys)) == STUDIES + 9
    assert (figures / "site0" / "patient0" / "film00.dcm.png").is_file()
    assert not list(figures.rglob(".*.tmp"))


def _descendants(pid: int) -> set[int]:
    """Every process below *pid* (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_pool_leaves_no_workers_and_resumes(archive, reference, tmp_path):
    """SIGKILL a ``--jobs 2`` batch: its workers end with it; ``--resume`` completes the same table."""
    out = tmp_path / "t.csv"
    exe = shutil.which("spinecheck")
    assert exe, "the spinecheck console script must be installed"
    cmd = [exe, "batch", str(archive), "-o", str(out), "--jobs", "2", "--chunk-size", "1"]
    cmd += ["--figures", str(tmp_path / "figures")]  # slow enough to be killed half way
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 1 + 4 + 2:
                break
            time.sleep(0.02)
        workers = _descendants(proc.pid)
        assert proc.poll() is None, f"the batch ended before it could be killed: {proc.stderr.read()!r}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    assert len(workers) >= 2  # the workers (and the fork server, the resource tracker)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_running(p) for p in workers):
        time.sleep(0.05)
    assert not [p for p in workers if _running(p)], "worker processes outlived the killed batch"
    assert main(["batch", str(archive), "-o", str(out), "--resume", "--jobs", "2", "--quiet"]) == 0
    assert out.read_bytes() == reference.read_bytes()


def test_figures_mirror_the_archive(archive, tmp_path):
    figures = tmp_path / "figs"
    out = tmp_path / "t.csv"
    rows = [
        "batch", str(archive), "-o", str(out), "--jobs", "1", "--quiet", "--figures", str(figures),
    ]  # fmt: skip
    assert main(rows) == 0
    ok = [r["image"] for r in _read(out) if r["status"] == "ok"]
    written = sorted(p.relative_to(figures).as_posix() for p in figures.rglob("*.png"))
    assert written == sorted(f"{image}.png" for image in ok)
    assert (figures / ok[0]).with_name(Path(ok[0]).name + ".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(archive, tmp_path):
    tty, pipe = _Terminal(), io.StringIO()
    run_batch(archive, tmp_path / "a.csv", jobs=1, stderr=tty)
    run_batch(archive, tmp_path / "b.csv", jobs=1, stderr=pipe)
    jobs = STUDIES + 4  # the studies with a landmark file of theirs; unmeasured rows are not in the bar
    assert f"{jobs}/{jobs}" in tty.getvalue() and "study/s" in tty.getvalue()
    assert pipe.getvalue() == ""
    quiet = _Terminal()
    run_batch(archive, tmp_path / "c.csv", jobs=1, stderr=quiet, progress=False)
    assert quiet.getvalue() == ""


def test_summary_counts_and_groups_failures(archive, tmp_path, capsys):
    assert main(["batch", str(archive), "-o", str(tmp_path / "t.csv"), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # results are the table; the summary is a log
    err = captured.err
    assert f"{STUDIES + 1} ok, 6 error, 2 skipped" in err
    assert "2  error: ambiguous image" in err
    assert "1  skipped: no image found for these landmarks" in err
    assert "1 other files ignored" in err
    assert main(["batch", str(archive), "-o", str(tmp_path / "q.csv"), "--jobs", "1", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    # the short flag
    assert main(["batch", str(archive), "-o", str(tmp_path / "q2.csv"), "--jobs", "1", "-q"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.shared
def test_aasce_archive_with_a_landmarks_folder(shared_data, tmp_path):
    data = shared_data / "aasce-dev"
    out = tmp_path / "aasce.csv"
    argv = ["batch", str(data / "images"), "--landmarks", str(data / "labels"), "-o", str(out)]
    assert main([*argv, "--cobb-method", "midline", "--jobs", "2", "--quiet"]) == 0
    rows = {r["image"]: r for r in _read(out)}
    assert len(rows) == 43
    angles = {r["image"]: r for r in _read(data / "angles.csv")}
    assert set(rows) == set(angles)
    for image, truth in angles.items():
        r = rows[image]
        assert r["landmarks"] == f"{(data / 'labels').as_posix()}/{image}.mat"
        if truth["labels_ok"] == "yes":
            assert r["status"] == "ok" and float(r["Cobb_max_deg"]) == pytest.approx(
                float(truth["angle1_deg"]), abs=0.05
            )
        else:  # a bad label file: an error row, or no Cobb angle and a warning that says why
            assert r["status"] == "error" or (
                r["Cobb_max_deg"] == "" and "implausible landmarks" in r["warnings"]
            )
            assert r["error"] or r["warnings"]
    assert sum(t["labels_ok"] == "no" for t in angles.values()) == 3


def test_installed_command_runs_a_batch(archive, reference, tmp_path):
    out = tmp_path / "t.csv"
    done = subprocess.run(
        [sys.executable, "-m", "spinecheck.cli", "batch", str(archive), "-o", str(out), "--jobs", "1"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "batch:" in done.stderr and "\r" not in done.stderr  # no bar when piped
    assert out.read_bytes() == reference.read_bytes()


# ----------------------------------------------------------------------------- a worker that dies, and resume


def test_a_crashing_study_is_the_only_error_row(tmp_path):
    """A worker process that dies fails every study in flight; only the one that kills it alone is an error."""
    from batch_crash import crash_on

    root = tmp_path / "a"
    for i in range(7):
        write_study(root, f"s{i}.dcm", seed=i % 3)
    summary = run_batch(
        root,
        tmp_path / "t.csv",
        jobs=2,
        chunk_size=1,
        progress=False,
        worker=functools.partial(crash_on, "s2.dcm"),
    )
    status = {r["image"]: (r["status"], r["error"]) for r in _read(tmp_path / "t.csv")}
    assert {k: s for k, (s, _) in status.items()} == {
        f"s{i}.dcm": "ok" if i != 2 else "error" for i in range(7)
    }
    assert status["s2.dcm"][1] == (
        "the worker failed on this study: its process died while it measured image 's2.dcm' on its own "
        "(a crash, e.g. in an image decoder, or killed for want of memory)"
    )
    assert summary.counts == {"ok": 6, "error": 1, "skipped": 0}


@pytest.mark.parametrize(
    "allowed_failures",
    [
        pytest.param(None, id="scheduler-default"),  # 3: Dask would run a poisoned task on four workers
        pytest.param(0, id="allowed-failures-0"),  # Dask gives up at once: KilledWorker
    ],
)
def test_a_crashing_study_on_dask_is_the_only_error_row(tmp_path, allowed_failures):
    """On Dask too, a study that kills its worker costs its own row only, and kills no more workers than locally.

    It kills three worker processes (four at most), whatever the scheduler's allowed-failures: in its chunk, on its own
    among the other studies of that chunk, and alone; the studies that shared a dead worker are measured.
    """
    distributed = pytest.importorskip("distributed")
    import dask
    from batch_crash import crash_on

    root = tmp_path / "a"
    for i in range(7):
        write_study(root, f"s{i}.dcm", seed=i % 3)
    crashes = tmp_path / "crashes.txt"
    config = {} if allowed_failures is None else {"distributed.scheduler.allowed-failures": allowed_failures}
    with (
        dask.config.set(config),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        ) as cluster,
    ):
        summary = run_batch(
            root,
            tmp_path / "t.csv",
            scheduler=cluster.scheduler_address,
            chunk_size=2,
            progress=False,
            worker=functools.partial(crash_on, "s2.dcm", log=str(crashes)),
        )
    rows = {r["image"]: r for r in _read(tmp_path / "t.csv")}
    assert {k: r["status"] for k, r in rows.items()} == {
        f"s{i}.dcm": "ok" if i != 2 else "error" for i in range(7)
    }
    assert all(r["PI_deg"] for k, r in rows.items() if k != "s2.dcm")
    reason = rows["s2.dcm"]["error"]
    assert reason.startswith("the worker failed on this study: its process died") and "\n" not in reason
    assert "'s2.dcm' on its own" in reason
    assert summary.counts == {"ok": 6, "error": 1, "skipped": 0} and summary.engine.startswith("Dask at")
    # In its chunk, alone among that chunk's studies, alone: three kills. Dask may hand the chunk to the
    # other worker once more before the scheduler has counted a death (a race seen under load),
    # so four is allowed; without the check of a dead worker's chunks it killed 12.
    kills = crashes.read_text().splitlines()
    assert kills[0] == "s2.dcm s3.dcm" and kills[-1] == "s2.dcm" and 3 <= len(kills) <= 4, kills


def test_resume_makes_skipped_rows_again_from_the_archive(tmp_path):
    """A film skipped for want of landmarks, and landmarks skipped for want of a film, once both are there."""
    root = tmp_path / "a"
    write_study(root, "a.dcm")
    write_study(root, "late.dcm", landmarks=None)  # its landmarks come later
    write_study(root, "back.dcm", seed=1)
    (root / "back.dcm").unlink()  # its film comes back later
    out = tmp_path / "t.csv"
    run_batch(root, out, jobs=1, progress=False)
    rows = {(r["image"], r["landmarks"]): r["status"] for r in _read(out)}
    assert rows == {("a.dcm", "a.json"): "ok", ("late.dcm", ""): "skipped", ("", "back.json"): "skipped"}

    write_study(root, "late.dcm")
    write_study(root, "back.dcm", seed=1)
    summary = run_batch(root, out, jobs=1, resume=True, progress=False)
    assert summary.resumed == 1 and summary.measured == 2
    fresh = tmp_path / "fresh.csv"
    run_batch(root, fresh, jobs=1, progress=False)
    assert out.read_bytes() == fresh.read_bytes()
    assert [(r["image"], r["status"]) for r in _read(out)] == [
        ("a.dcm", "ok"),
        ("back.dcm", "ok"),
        ("late.dcm", "ok"),
    ]


def test_resume_replaces_the_table_atomically(archive, reference, tmp_path, monkeypatch):
    """A resume that fails while it rewrites the table (to drop a torn line) leaves the table as it was."""
    from spinecheck.alignment.batch import table as batch_table

    out = tmp_path / "t.csv"
    lines = reference.read_bytes().splitlines(keepends=True)
    torn = b"".join(lines[:8]) + lines[8][:40]
    out.write_bytes(torn)

    def fail(path, text):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(batch_table, "write_text_atomic", fail)
    with pytest.raises(OSError, match="No space"):
        run_batch(archive, out, jobs=1, resume=True, progress=False)
    assert out.read_bytes() == torn


def test_resume_reads_rows_as_csv_records(archive, reference, tmp_path):
    """A cell holding a form feed or a line separator is one cell, not two broken lines."""
    out = tmp_path / "t.csv"
    text = reference.read_text(encoding="utf-8")
    odd = text.replace("site1/badjson.json': ", "site1/badjson.json':\x0c\u2028 ", 1)
    assert odd != text
    out.write_text(odd, encoding="utf-8", newline="")
    summary = run_batch(archive, out, jobs=1, resume=True, progress=False)
    assert summary.measured == 0
    assert out.read_text(encoding="utf-8") == odd


def test_resume_refuses_a_table_that_is_not_utf8(archive, reference, tmp_path, capsys):
    out = tmp_path / "t.csv"
    out.write_bytes(reference.read_bytes().replace(b"site1/notdicom.dcm", b"site1/not\xffdicom.dcm", 1))
    before = out.read_bytes()
    assert main(["batch", str(archive), "-o", str(out), "--resume", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "UTF-8" in err and "--overwrite" in err
    assert out.read_bytes() == before
