"""Python's cyclic garbage collector paused over work that makes many objects and keeps them a while.

Used by the batch workers (a chunk of studies) and by ``measure`` of a wide CSV in pieces (a
sub-piece: read, measured, formatted). Each makes thousands of container objects and holds them
till it ends, so every collection on the way went over them again, and a full one over all that
the imports made. Reference counting frees what the work drops, as before; the few reference
cycles it leaves (a caught exception's traceback) are collected once it ends (issue 17).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the block runs, and as it was after.

    A collector the caller turned off stays off.

    Examples
    --------
    >>> import gc
    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
