"""A batch worker for the tests that kills its process on one named study, as a crashing decoder would.

Passed to :func:`alignment.batch.run_batch` as ``worker=functools.partial(crash_on, name)``; it is a
module-level function of an importable module, so the pool's workers can unpickle it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import PurePosixPath

from alignment.archive import StudyJob
from alignment.batch import BatchOptions, measure_chunk
from alignment.batch_table import Row


def crash_on(name: str, jobs: Sequence[StudyJob], options: BatchOptions) -> list[Row]:
    """:func:`measure_chunk`, but the process exits at once if the chunk holds the image called *name*."""
    if any(PurePosixPath(job.image).name == name for job in jobs):
        os._exit(1)
    time.sleep(0.05)  # the other studies are still in flight when the crash comes
    return measure_chunk(jobs, options)
