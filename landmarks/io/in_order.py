"""Independent pieces of a large table's work, made a few at a time in threads and handed on in order.

The CSV writer's chunks (:func:`~spinecheck.landmarks.io.csv_cells.csv_column_chunks`) spend some
70 % of their time in Arrow's kernels, which let go of the interpreter lock: on a machine with two
cores, two chunks made at once take less time than one after the other. Each piece is made by a
function of its own item that shares nothing it writes, and the pieces come back in the order of
their items, so the result is the result of one thread.

The measuring core's blocks of studies are not made this way: their NumPy calls over a few thousand
studies are short, so two threads spend much of their time waiting for the lock. On two idle cores
they measured 100 000 studies in 0.93 instead of 1.08 s for a quarter more CPU time, ``measure
--format csv`` took 3.34 instead of 3.45 s, and the threads' own heaps of the C library held some
60 MB more at its peak (675 against 612 MB): too much memory for the time.
"""

from __future__ import annotations

import collections
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["THREADS", "in_order", "threads_to_use"]

#: Pieces made at a time, at most. Their Python parts hold the interpreter lock (some 30 % of the
#: CSV writer's time), so a third thread on a third core would add little, and each piece in the
#: making holds its own temporaries.
THREADS = 2

_T = TypeVar("_T")
_R = TypeVar("_R")


def threads_to_use() -> int:
    """The cores this process may run on, at most :data:`THREADS` (1 on a machine of one core).

    Examples
    --------
    >>> 1 <= threads_to_use() <= THREADS
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(THREADS, cores))


def in_order(make: Callable[[_T], _R], items: Iterable[_T], threads: int) -> Iterator[_R]:
    """``make(item)`` of each of *items*, in their order, *threads* made at a time in as many threads.

    At most *threads* results are made or held ahead of the one last yielded. An error of
    *make* is raised where its result would have come, and no further item is begun;
    closing the generator early (or an error) cancels those not begun and waits for those
    under way, so that no thread outlives it. With one thread every result is made in the
    calling thread, when it is asked for.

    Examples
    --------
    >>> list(in_order(str.upper, ["a", "b", "c"], threads=2))
    ['A', 'B', 'C']
    """
    items = iter(items)
    if threads <= 1:
        yield from map(make, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(threads, thread_name_prefix="spinecheck-in-order")
    pending: collections.deque[Future[_R]] = collections.deque()
    try:
        for item in itertools.islice(items, threads):
            pending.append(pool.submit(make, item))
        while pending:
            result = [pending.popleft().result()]  # an error of make: raised here, in order
            for item in itertools.islice(items, 1):
                pending.append(pool.submit(make, item))
            yield result.pop()  # held by the caller alone: gone when the caller is done with it
    finally:  # done, an error, or a caller that stopped early: no thread outlives the generator
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
