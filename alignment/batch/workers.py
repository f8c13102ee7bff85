"""Where batch workers come from: forked from the command, or from a fork server started as early as it can be.

A ``--jobs N`` run of the command (its own process, no thread besides its main one:
:func:`forks_here`) forks its workers from itself when it makes the pool, before it walks
the archive; each imports what it lacks (:func:`worker_modules`) on its own core. From a
fork server they waited for its imports, a fresh interpreter's: the first worker of a
header-only ``--jobs 2`` batch of 1 000 studies started some 0.8 s after the command, 0.2 s
when forked from it (issue 17, 4).

A process with threads of its own (a notebook, a window, a test runner) must not fork: a
thread may hold a lock the child would inherit held. Its workers are forked from a fork
server (:mod:`multiprocessing.forkserver`) that imports once what every worker needs, so
that each worker starts with nothing left to import. That server is a fresh interpreter:
started only when the pool is made, after the parent has imported the batch engine itself,
it kept the first worker waiting about a second (1.2 s of a 4.7 s ``--jobs 2`` run of 300
header-only studies, while ``--jobs 1`` took 3.3 s). :func:`start_fork_server` lets the
command start it first thing, so that its imports run on the other core beside the parent's
own imports and its walk of the archive. This module imports nothing of spinecheck, so that
starting the server costs the parent nothing.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .table import BatchOptions

__all__ = ["decoder_threads", "forks_here", "start_fork_server", "worker_modules"]


def worker_modules(options: BatchOptions | None = None) -> list[str]:
    """The modules a worker imports to run :func:`~spinecheck.alignment.batch.runner.measure_chunk`.

    ``pydicom`` (about 0.2 s to import) is named because the header reader
    (:mod:`spinecheck.landmarks.imaging.radiograph`) imports it on first use; figures add
    matplotlib (:mod:`spinecheck.alignment.render.figure`), DICOM results the export and highdicom.
    The first marks ``requests``, which a worker never uses, absent, so that pydicom does not
    import it (:mod:`spinecheck.alignment.batch._no_downloads`).

    >>> worker_modules()[-1]
    'pydicom'
    """
    figures = options is not None and options.figures is not None
    dicom = options is not None and options.dicom is not None
    return _modules(figures=figures, dicom=dicom)


def _modules(*, figures: bool, dicom: bool) -> list[str]:
    names = [
        "spinecheck.alignment.batch._no_downloads",  # first: before pydicom, which imports requests
        "spinecheck.alignment.batch.runner",
        "spinecheck.landmarks.imaging.radiograph",
        # what a chunk imports where it is used (issue 17, 4): imported here once, not in every worker
        "spinecheck.landmarks.imaging.isolated",
        "spinecheck.alignment.render.curves",
        "numpy.char",
        "encodings.utf_8_sig",  # a landmark file's text is decoded with it
        "spinecheck.landmarks.io.wide_csv",
        "pydicom",
    ]
    if figures or dicom:
        names.append("spinecheck.alignment.render.figure")
    if dicom:
        names += [
            "spinecheck.alignment.batch.dicom_results",
            "spinecheck.alignment.export.dicom",
            "highdicom",
        ]
    return names


def start_fork_server(
    *, figures: bool = False, dicom: bool = False, modules: Sequence[str] | None = None
) -> bool:
    """Start this process's fork server now, importing the modules a worker needs; False where there is none.

    It returns at once: the server imports while the caller goes on. Only the
    first call of a process has an effect (a fork server, once started, keeps its
    modules); the pool of :func:`~spinecheck.alignment.batch.runner.run_batch`
    then forks its workers from it. *modules*, where given, are imported instead
    of a batch worker's (``measure`` of a wide CSV in pieces names its own).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    # takes effect only when this process starts its fork server (the first call)
    context.set_forkserver_preload(
        list(modules) if modules is not None else _modules(figures=figures, dicom=dicom)
    )
    forkserver.ensure_running()  # starts it, without waiting for its imports
    return True


def forks_here() -> bool:
    """Tell whether the workers are forked from this process (Linux), not from the fork server.

    Only while this process runs no Python thread besides its main one: a program that runs the
    command in its own process (a notebook, a window, a test runner) may have threads holding locks
    that a fork would copy held; its workers come from the fork server.
    """
    import sys
    import threading

    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def decoder_threads(jobs: int) -> int:
    """OpenJPEG threads for each of *jobs* workers: this process's cores shared out, one at least.

    >>> decoder_threads(10_000)
    1
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // max(1, jobs))
