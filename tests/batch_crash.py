"""A batch worker for the tests that kills its process on one named study, as a crashing decoder would.

Passed to :func:`spinecheck.alignment.batch.runner.run_batch` as ``worker=functools.partial(crash_on, name)``; it is a
module-level function of an importable module, so the pool's workers can unpickle it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import PurePosixPath

from spinecheck.alignment.batch.archive import StudyJob
from spinecheck.alignment.batch.runner import BatchOptions, measure_chunk
from spinecheck.alignment.batch.table import Row


def crash_on(
    name: str, jobs: Sequence[StudyJob], options: BatchOptions, *, log: str | None = None
) -> list[Row]:
    """:func:`measure_chunk`, but the process exits at once if the chunk holds the image called *name*.

    With *log*, each crash first appends a line to that file (the images of the chunk), so that a
    test can count how many worker processes the study killed.
    """
    if any(PurePosixPath(job.image).name == name for job in jobs):
        if log is not None:
            with open(log, "a", encoding="utf-8") as f:
                f.write(" ".join(job.image for job in jobs) + "\n")
        os._exit(1)
    time.sleep(0.05)  # the other studies are still in flight when the crash comes
    return measure_chunk(jobs, options)


def abort_loader(path: str, *, frame: int | None = None) -> object:
    """A radiograph loader that aborts its process (SIGABRT), as GDCM did on a JPEG-LS film with Rows + 1."""
    os.abort()
