"""The workers' fork server, started by ``spinecheck batch`` before the engine is imported; their decoder threads.

Behaviours read from ``sys.modules`` and the workers' environment, not timings
(``bench/bench_floor.py`` measures ``--jobs 2`` against ``--jobs 1``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from spinecheck.alignment.batch import runner
from spinecheck.alignment.batch.workers import decoder_threads, worker_modules


def test_the_workers_module_imports_nothing_of_the_engine():
    code = (
        "import sys\n"
        "import spinecheck.alignment.batch.workers\n"
        "print(' '.join(m for m in ('spinecheck.alignment.batch.runner', 'spinecheck.alignment.batch.table',"
        " 'spinecheck.alignment.batch.archive', 'pydicom') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_package_still_gives_every_name_on_first_use():
    import spinecheck.alignment.batch as batch

    for name in batch.__all__:
        assert getattr(batch, name) is not None, name
    assert batch.run_batch is runner.run_batch
    assert set(batch.__all__) <= set(dir(batch))


_SPY = """
import sys, threading
from spinecheck import cli
from spinecheck.alignment.batch import workers

real = workers.start_fork_server

def spy(**kw):
    print("runner imported:", "spinecheck.alignment.batch.runner" in sys.modules, sorted(kw.items()))
    return real(**kw)

workers.start_fork_server = spy
if sys.argv[4] == "thread":  # a program that runs the command beside a thread of its own
    threading.Thread(target=threading.Event().wait, daemon=True).start()
status = cli.main(["batch", sys.argv[1], "-o", sys.argv[2], "--jobs", sys.argv[3], "--quiet"])
print("status", status)
"""


@pytest.mark.parametrize(
    ("jobs", "thread", "started"), [("2", "thread", True), ("2", "alone", False), ("1", "thread", False)]
)
def test_batch_starts_the_fork_server_before_it_imports_the_engine(jobs, thread, started, tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _SPY, str(root), str(tmp_path / "t.csv"), jobs, thread],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "status 0"
    if started:
        # first by the command; the pool's own call (the runner imported it spied on) then finds it running
        assert lines[0] == "runner imported: False [('dicom', False), ('figures', False)]"
    else:
        # one job, or a command alone in its process: its workers are forked from it, no server
        assert lines[:-1] == []


_FORKED = """
import os, sys, threading
from multiprocessing import forkserver
from spinecheck.alignment.batch import runner

if sys.argv[1] == "thread":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
engine = runner._Processes(2)
try:
    parent, imported = engine.result(engine.submit(
        eval, "__import__('os').getppid(), [m in __import__('sys').modules for m in "
        "('pydicom', 'spinecheck.landmarks.imaging.radiograph')]"))
    marked = engine.result(engine.submit(eval, "__import__('sys').modules.get('requests', 0) is None"))
finally:
    engine.close()
print(parent == os.getpid(), imported, marked, forkserver._forkserver._forkserver_pid is not None)
print("pydicom" in sys.modules)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="workers are forked from the command on Linux"
)
@pytest.mark.parametrize("thread", ["alone", "thread"])
def test_workers_are_forked_from_a_process_alone_and_import_what_they_need(thread):
    # alone (the command's own process): forked from it, no fork server, their imports made in them
    # (pydicom ~0.2 s, while the command walks the archive), not in it; beside a thread of the
    # caller's (a fork would copy the locks it holds): from the fork server, which imported them
    done = subprocess.run(
        [sys.executable, "-c", _FORKED, thread], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    forked = thread == "alone"
    assert done.stdout.splitlines() == [f"{forked} [True, True] True {not forked}", "False"]


def test_the_fork_server_preloads_what_the_options_need():
    plain = worker_modules()
    assert "pydicom" in plain and "spinecheck.alignment.batch.runner" in plain
    assert "spinecheck.alignment.render.figure" not in plain
    figures = worker_modules(runner.BatchOptions(figures="/tmp/figures"))
    assert "spinecheck.alignment.render.figure" in figures and "highdicom" not in figures
    assert "highdicom" in worker_modules(runner.BatchOptions(dicom="/tmp/dicom"))


def test_each_worker_gets_its_share_of_the_cores_for_openjpeg(monkeypatch):
    monkeypatch.setenv("OPJ_NUM_THREADS", "x")
    monkeypatch.delenv("OPJ_NUM_THREADS")
    runner._start_worker(2)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert os.environ["OPJ_NUM_THREADS"] == str(max(1, cores // 2)) == str(decoder_threads(2))
    assert decoder_threads(cores * 4) == 1


def test_a_users_openjpeg_threads_are_kept(monkeypatch):
    monkeypatch.setenv("OPJ_NUM_THREADS", "3")
    runner._start_worker(2)
    assert os.environ["OPJ_NUM_THREADS"] == "3"


@pytest.mark.skipif("OPJ_NUM_THREADS" in os.environ, reason="set for this session: the workers keep it")
def test_pool_workers_run_with_the_setting():
    engine = runner._Processes(2)
    try:
        assert engine.result(engine.submit(os.getenv, "OPJ_NUM_THREADS")) == str(decoder_threads(2))
    finally:
        engine.close()


def test_a_chunk_runs_with_the_collector_paused_and_leaves_it_as_it_found_it(monkeypatch):
    import gc

    seen: list[bool] = []

    def chunk(jobs, options):
        seen.append(gc.isenabled())
        if jobs:
            raise RuntimeError("a chunk that fails")
        return []

    monkeypatch.setattr(runner, "_measure_chunk", chunk)
    assert gc.isenabled()
    assert runner.measure_chunk([], runner.BatchOptions()) == []
    with pytest.raises(RuntimeError):
        runner.measure_chunk(["a job"], runner.BatchOptions())
    assert seen == [False, False] and gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        runner.measure_chunk([], runner.BatchOptions())
        assert not gc.isenabled()
    finally:
        gc.enable()


_DOWNLOADS = """
import importlib.util, sys
from spinecheck.alignment.batch.workers import start_fork_server
start_fork_server()
from spinecheck.alignment.batch import runner
engine = runner._Processes(1)
try:
    print(engine.result(engine.submit(eval, "(__import__('sys').modules.get('requests', 0) is None, "
        "__import__('pydicom.data.download').data.download.HAVE_REQUESTS)")))
finally:
    engine.close()
import pydicom.data.download
print(pydicom.data.download.HAVE_REQUESTS == (importlib.util.find_spec("requests") is not None))
"""


def test_the_workers_import_no_requests_and_this_process_keeps_it():
    # pydicom imports requests only to download its test files; the fork server's imports are
    # the wait before a --jobs N batch's first worker runs, so a worker has none
    assert worker_modules()[0] == "spinecheck.alignment.batch._no_downloads"
    done = subprocess.run([sys.executable, "-c", _DOWNLOADS], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["(True, False)", "True"]


_CALLERS_WORKER = """
import operator
from spinecheck.alignment.batch.workers import start_fork_server
start_fork_server()
from spinecheck.alignment.batch import runner
engine = runner._Processes(1)
try:
    marked = engine.result(engine.submit(eval, "__import__('sys').modules.get('requests', 0) is None"))
    rows = engine.result(engine.submit(runner._callers_worker, operator.add, (), ()))
    after = engine.result(engine.submit(eval, "__import__('sys').modules.get('requests', 0) is None"))
finally:
    engine.close()
print(marked, rows, after)
"""


def test_a_callers_worker_runs_where_requests_can_be_imported():
    # the mark that keeps pydicom from importing requests in the workers is for measure_chunk only
    done = subprocess.run(
        [sys.executable, "-c", _CALLERS_WORKER], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "()", "False"]
