"""Measuring a large wide CSV in pieces, one process each: ``spinecheck measure TABLE.csv --format csv --jobs N``.

The data lines of the table are cut into contiguous pieces by bytes, at line
breaks. This process reads, measures, judges and formats the first piece while
worker processes do the others (each reads its own bytes of the file: no
process holds the whole file or the whole table). Each process goes through
its piece in sub-pieces of about :data:`SUB_BYTES`, each formatted into an
unnamed temporary file before the next is read, so that it holds one
sub-piece at a time: at 100 000 rows (89 MB) the processes held 0.46 GB at
once, where whole pieces held 0.73 GB (sub-pieces of 16 MB, from a fork server;
see :data:`SUB_BYTES` for the figures since). Once every piece is measured this
process writes the header, its own rows and each worker's in turn. The table
is byte for byte the one a single process writes (``--jobs 1``), its rows'
error messages with their line numbers.

Where a piece cannot say alone what its rows are (a quoted cell that spans
lines, a line Arrow does not cut as one row, a byte that is not UTF-8), where
measuring a piece raises (a bad ``--age``, a header a worker reads otherwise),
where its rows cannot be written (a character the output's encoding lacks),
or where every piece is empty, nothing has been written yet and
:func:`measure_in_pieces` returns False: the caller then measures the table
whole, in one process, which says what the single-process command says. A
worker that dies (killed, out of memory) is an error naming it, with nothing
written.

On Linux the workers are forked from this process itself, once it has
imported :data:`PIECE_MODULES` and before it reads anything (before Arrow's
threads run a read: a fork copies the forking thread alone). The fork server
of :mod:`~spinecheck.alignment.batch.workers` that they came from before
imported the same modules a second time, on the other core while this
process imported its own: some 0.6 s of CPU for no rows (the worker then
started when this process had its modules, as it does now). Elsewhere
(macOS) the workers come from that fork server, started first thing by the
command, and this process, which reads with Arrow's threads, never forks.
Where there is neither (Windows), the table is measured whole.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .collector import collector_paused
from .workers import forks_here

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from ...landmarks.io.wide_csv import _Piece

__all__ = ["PIECE_MODULES", "MIN_BYTES", "SUB_BYTES", "default_jobs", "applies", "measure_in_pieces"]

#: A table of fewer bytes is measured in one process. A worker costs a copy of its rows and, where it
#: comes from the fork server (not Linux), the server's imports (some 0.45 s of CPU, on the other core);
#: on this 2-core machine, loaded by other work, two processes from the fork server took 1.29x the
#: wall time of one at 8 MB and 0.95x at 16 MB (medians of 4 alternating pairs), when the pieces pay
#: for themselves.
MIN_BYTES = 16 << 20
#: The bytes this process measures for each a worker does. It copies every piece's rows to the output
#: at the end; from the fork server a worker started some 0.2 s after this process's piece (the
#: server's imports), and with equal pieces of the 100 000-row table the two ended within 0.1 s of
#: each other. A worker forked from this process starts with its piece.
OWN_WEIGHT = 1.0
#: Bytes of the table a process reads, measures and formats at a time: each process holds one such
#: sub-piece of its piece at once, never its whole piece. A sub-piece costs some 50 ms of fixed work
#: (reading, measuring and formatting each of some 200 columns; callgrind: 139 M instructions, one
#: 16 700-row share read in one sub-piece or two); see the module's notes. Yet sub-pieces of 24 MB
#: (two a process at 100 000 rows, not three) took 186 000-202 000 page faults over that table
#: against 100 000-111 000 (larger arrays, tables and texts, touched afresh for each; glibc's mmap
#: threshold raised by MALLOC_MMAP_THRESHOLD_ took away a third of the extra), 0.3-0.5 s more system
#: time (perf stat), more than the fixed work saved, and 488 MB of summed PSS against 431.
SUB_BYTES = 16 << 20
#: What a worker measuring a piece imports: imported by this process before it forks the workers
#: (Linux), else once by the fork server they are forked from.
PIECE_MODULES = (
    "spinecheck.alignment.batch.wide_pieces",
    "spinecheck.alignment.study",
    "spinecheck.alignment.render.text",
    "spinecheck.alignment.render.curves",
    "spinecheck.landmarks.io.wide_csv",
    "spinecheck.landmarks.io.csv_cells",
    "pyarrow.csv",
    "pyarrow.compute",
    "numpy.ma",  # np.unique of floats imports it
    "numpy.random",
)


#: Settings of Arrow's allocator (the mimalloc it carries) for the processes of a table measured in
#: pieces, where the user has not set them: its freed pages kept for the next sub-piece, not given
#: back to the system 10 ms after each is freed to be faulted in and zeroed again at the next one;
#: and pages of 4 kB, not 2 MB huge pages zeroed whole for a few bytes used. What Arrow holds is
#: bounded by a sub-piece's tables and a chunk of text (:func:`_arrow_keeps_its_pages`).
_ARROW_ALLOCATOR = {"MIMALLOC_PURGE_DELAY": "-1", "MIMALLOC_ALLOW_LARGE_OS_PAGES": "0"}


def _arrow_keeps_its_pages() -> None:
    """Set :data:`_ARROW_ALLOCATOR` in this process's environment, where Arrow is not loaded yet.

    mimalloc reads its settings when Arrow's library is loaded, so this comes before
    the first ``import pyarrow`` of the command, and its forked workers inherit them.
    Only where the workers are forked from this process (:func:`forks_here`): a
    program that runs the command in its own process (a notebook, a window) keeps
    its allocator as it is, and so does the fork server's path (not Linux).

    1 000 000 rows (issue 17, 2), 4 alternating pairs: minor faults 207 000-311 000
    -> 79 000-118 000, system time 1.9-2.7 s -> 1.5-2.1 s.
    The memory kept is at most Arrow's largest use at once, a sub-piece's tables
    (read 8 MB of text at a time) or a chunk of text; a table that falls back to
    being measured whole (:func:`measure_in_pieces` returns False) is read the
    same way, a piece at a time, and only :func:`~spinecheck.landmarks.io.wide_csv._release_free_memory`
    no longer gives Arrow's share back after its read.
    """
    import sys

    if "pyarrow" in sys.modules:  # its allocator has read its settings: too late to change them
        return
    for name, value in _ARROW_ALLOCATOR.items():
        os.environ.setdefault(name, value)  # a user's own setting stands


def default_jobs() -> int:
    """The cores this process may use (``--jobs`` left out), one at least."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1  # pragma: no cover - not Linux


def applies(path: str, *, jobs: int) -> bool:
    """Tell whether the table *path* is measured in pieces with *jobs* processes.

    Only a regular file named ``.csv`` (not a pipe, not standard input) of
    :data:`MIN_BYTES` or more, with 2 jobs or more, on a system with a fork server (Linux has one).
    """
    import multiprocessing

    if jobs < 2 or Path(path).suffix.lower() != ".csv":
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False  # the read in one process words it
    if not stat.S_ISREG(st.st_mode) or st.st_size < MIN_BYTES:
        return False
    return "forkserver" in multiprocessing.get_all_start_methods()


def start_workers_server() -> None:
    """Start the fork server the workers come from, importing :data:`PIECE_MODULES`; it returns at once.

    Nothing to start where the workers are forked from this process (:func:`forks_here`).
    """
    if forks_here():
        # the command's own process (no thread of a program running it): its workers are forked from it
        _arrow_keeps_its_pages()
        return
    from .workers import start_fork_server

    start_fork_server(modules=PIECE_MODULES)


# ----------------------------------------------------------------------------------------------- the parent


def measure_in_pieces(path: str, out: TextIO, *, jobs: int, options: Mapping[str, Any]) -> bool:
    """Measure the wide CSV *path* in *jobs* pieces and write its CSV table to *out*; False where not cut.

    Parameters
    ----------
    path : str
        The table, as given (messages and the ``landmarks`` column name it so).
    out : text stream
        Where the table goes (standard output).
    jobs : int
        Processes, this one included: the table is cut into as many pieces.
    options : mapping
        Keyword arguments of :func:`~spinecheck.alignment.study.load_study` (the
        measuring and operation options of the command), *image* not among them.

    Returns
    -------
    bool
        True when the table is written. False when nothing is written and the
        table must be measured whole (see the module's notes): a header that
        is not one plain line, pieces that cannot be read alone, an error
        measuring a piece, pieces whose columns differ, rows the encoding of
        *out* cannot take, every piece empty.

    Raises
    ------
    SpinecheckError
        A worker died (nothing is written).
    """
    from ...landmarks.errors import InvalidLandmarksError
    from ...landmarks.io import wide_csv

    name = os.fspath(Path(path))  # as load_study names the file it reads
    try:
        header = wide_csv._header_span(path)
        if header is None:
            return False
        wide_csv._check_header(name, path, header)
    except (OSError, InvalidLandmarksError):
        return False  # the read of the whole file says it, as without pieces
    pieces = _cut(name, os.path.abspath(path), header, jobs)
    if len(pieces) < 2:
        return False
    here = forks_here()
    workers = [_Worker(piece, options, out, here=here) for piece in pieces[1:]]
    # forked from here: before this process reads (and runs Arrow's threads), its modules imported so
    # that no worker imports them again; from the fork server: started from a thread, as a start waits
    # for the server to have imported its modules, while this process measures its piece
    starter: _Starter | None = None
    try:
        starter = _Starter(workers, thread=not here)
        return _run(pieces[0], starter, options, out)
    finally:
        if starter is not None:
            starter.finish()  # what it raised, if anything, _run raised
        for w in workers:
            w.stop()


def _cut(name: str, path: str, header: tuple[int, int], jobs: int) -> list[_Piece]:
    """The pieces of the table's body: this process's share first, the others' equal; at line starts."""
    from ...landmarks.io import wide_csv

    size = os.path.getsize(path)
    body = size - header[1]
    weights = [OWN_WEIGHT] + [1.0] * (jobs - 1)
    starts = [header[1]]
    at = float(header[1])
    for weight in weights[:-1]:
        at += weight / sum(weights) * body
        start = wide_csv._line_start(path, max(int(at), starts[-1] + 1), size)
        if start is None:
            break
        if start > starts[-1]:
            starts.append(start)
    bounds = [*starts, size]
    return [
        wide_csv._Piece(name, path, header, a, b, last=b == size)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _run(own: _Piece, starter: _Starter, options: Mapping[str, Any], out: TextIO) -> bool:
    """Measure *own* here beside the workers; write the table if every piece says what its rows are."""
    import tempfile

    encoding, errors = _encoding(out)
    with tempfile.TemporaryFile() as mine:  # this process's rows, till every piece is known to stand alone
        head = _measure_share(own, options, mine.fileno(), encoding, errors, SUB_BYTES)
        if head is _ALONE:
            return False
        workers = starter.join()
        heads = [w.measured() for w in workers]  # waits for each worker's rows
        if _ALONE in heads:
            return False
        found = [h for h in (head, *heads) if isinstance(h, str)]
        if not found:
            return False  # no rows anywhere: the whole read says so
        if any(h != found[0] for h in found):
            return False  # columns a piece alone would differ in: only the whole table says which
        out.write(found[0])
        for fd, size in [(mine.fileno(), os.fstat(mine.fileno()).st_size), *(w.rows for w in workers)]:
            if size:
                _copy(fd, size, out)
    return True


class _Alone:
    """What :func:`_measure` says of a piece that cannot be measured alone (or raised measuring)."""


_ALONE = _Alone()


def _measure(piece: _Piece, options: Mapping[str, Any]) -> Iterator[str] | _Alone | None:
    """The CSV text of *piece* measured and judged, header first; None for no rows; :data:`_ALONE` else.

    :data:`_ALONE` where the piece cannot say alone what its rows are, and also where
    measuring raises: the whole table, measured in one process, then raises the error
    it gives without pieces (or, in a case the pieces miss, writes the table).
    """
    from ...landmarks.io import wide_csv
    from ..render.text import format_csv_chunks
    from ..study import load_study

    try:
        study = load_study(piece.name, image=None, table=wide_csv._read_piece(piece), **options)
    except wide_csv._NotAPiece:
        return _ALONE
    except Exception:  # noqa: BLE001 - the whole table's measure raises it, as without pieces
        return None if piece.rows == 0 else _ALONE
    return format_csv_chunks(study)


def _measure_share(
    share: _Piece, options: Mapping[str, Any], fd: int, encoding: str, errors: str, sub_bytes: int
) -> str | _Alone | None:
    """Measure *share* a sub-piece at a time, its rows written to the file *fd*; its header line.

    Each sub-piece of about *sub_bytes* is read, measured, judged and formatted before
    the next is read, so that a process holds one at a time (some 0.45 KB of memory a
    byte of the table, at once). None where the share holds no rows; :data:`_ALONE`
    where a sub-piece cannot be measured alone, sub-pieces' columns differ, or the
    rows cannot be written (a character the output's encoding lacks, a full disk):
    then only the whole table, in one process, says what is written.
    """
    head: str | None = None
    try:
        with open(fd, "w", encoding=encoding, errors=errors, newline="", closefd=False) as text:
            for piece in _sub_pieces(share, sub_bytes):
                # a sub-piece's read, measure and text make and hold many objects (the cells of its
                # object columns): collections on the way went over them again and again, 2-5 % of
                # its CPU (issue 17, 2); the collector runs between sub-pieces
                with collector_paused():
                    chunks = _measure(piece, options)
                    if chunks is None:
                        continue
                    if chunks is _ALONE or not isinstance(chunks, Iterator):
                        return _ALONE
                    first = next(chunks)
                    if head is not None and first != head:
                        return _ALONE
                    head = first
                    for chunk in chunks:
                        text.write(chunk)
    except (OSError, ValueError):  # ValueError: UnicodeEncodeError
        return _ALONE
    return head


def _sub_pieces(share: _Piece, sub_bytes: int) -> Iterator[_Piece]:
    """*share* cut at line starts into pieces of about *sub_bytes* each, in order.

    Each is cut once the one before it has been read, whose read gives its first line's number.
    """
    from ...landmarks.io import wide_csv

    count = max(1, -(-(share.stop - share.start) // max(1, sub_bytes)))
    start, line = share.start, share.line
    for k in range(1, count + 1):
        stop = share.stop
        if k < count:
            at = share.start + (share.stop - share.start) * k // count
            stop = wide_csv._line_start(share.path, max(at, start + 1), share.stop) or share.stop
        last = share.last and stop == share.stop
        piece = wide_csv._Piece(share.name, share.path, share.header, start, stop, last=last, line=line)
        yield piece
        if stop == share.stop:
            return
        start, line = stop, piece.next_line


# ----------------------------------------------------------------------------------------------- a worker


class _Starter:
    """Starts *workers*, in a thread of its own with *thread*; :meth:`join` waits for it and raises what it raised.

    Without *thread* they are started at once, in order, after :data:`PIECE_MODULES` are imported here.
    """

    def __init__(self, workers: list[_Worker], *, thread: bool) -> None:
        import threading

        self.workers = workers
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        if thread:
            self.thread = threading.Thread(target=self._start, name="spinecheck measure workers", daemon=True)
            self.thread.start()
        else:
            import importlib

            for module in PIECE_MODULES:
                importlib.import_module(module)
            self._start()
            if isinstance(self.error, (KeyboardInterrupt, SystemExit)):
                raise self.error  # at once, not once this process has measured its share

    def _start(self) -> None:
        try:
            for w in self.workers:
                w.start()
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            self.error = e

    def finish(self) -> None:
        """Wait for the workers to be started (their thread, if any)."""
        if self.thread is not None:
            self.thread.join()

    def join(self) -> list[_Worker]:
        self.finish()
        if self.error is not None:
            raise self.error
        return self.workers


class _Worker:
    """A process measuring one piece, and the parent's end of its pipe."""

    def __init__(self, piece: _Piece, options: Mapping[str, Any], out: TextIO, *, here: bool) -> None:
        import multiprocessing

        self.piece = piece
        # a ForkContext or a ForkServerContext (their Process is not on BaseContext's type)
        self.context: Any = multiprocessing.get_context("fork" if here else "forkserver")
        # the sub-piece size is the parent's (its module's value, which a test may change)
        self.args = (piece, dict(options), *_encoding(out), SUB_BYTES)
        self.conn: Connection | None = None
        self._theirs: Connection | None = None
        self.rows = (-1, 0)  # the file of its rows and their bytes, once measured (-1: none)
        self.process: BaseProcess | None = None

    def start(self) -> None:
        # the pipe made now: a worker forked before it would hold its other end, and a death of this
        # worker would end the pipe only when that one ends too
        self.conn, self._theirs = self.context.Pipe()
        self.process = self.context.Process(
            target=_work,
            args=(*self.args, self._theirs),
            name=f"spinecheck measure bytes {self.piece.start}-{self.piece.stop}",
            daemon=True,
        )
        import warnings

        with warnings.catch_warnings():
            # Python 3.12+ warns of a fork in any process with threads besides its own: here those of
            # the libraries, idle (OpenBLAS's, the allocator's; Arrow's pool is made again in the child),
            # those the fork server forked its workers with; no thread of this process runs a read yet
            warnings.filterwarnings(
                "ignore", r"This process \(pid=\d+\) is multi-threaded", DeprecationWarning
            )
            self.process.start()
        self._theirs.close()  # the worker's end: its death then ends the pipe

    def measured(self) -> str | _Alone | None:
        """The piece's header line once its rows are written (:attr:`rows`); None for no rows; :data:`_ALONE` else."""
        from multiprocessing.reduction import recv_handle

        assert self.conn is not None and self.process is not None  # started
        try:
            said = self.conn.recv()
            if said[0] == "measured":
                self.rows = (recv_handle(self.conn), int(said[2]))
                return str(said[1])
        except (EOFError, OSError):
            from ...landmarks.errors import SpinecheckError

            self.process.join(5)
            code = self.process.exitcode
            how = f"ended by signal {-code}" if code is not None and code < 0 else f"ended ({code})"
            raise SpinecheckError(
                f"landmark table {self.piece.name!r}: the process measuring bytes {self.piece.start}-"
                f"{self.piece.stop} {how} before its rows were written; nothing was written; run again "
                "(--jobs 1 measures in this process alone)"
            ) from None
        return None if said[0] == "empty" else _ALONE

    def stop(self) -> None:
        """End the worker (at once if it is still at work), close the pipe and the file of its rows."""
        if self.process is not None and self.process.pid is not None:  # started
            if self.process.is_alive():
                self.process.terminate()
            self.process.join()
        for end in (self._theirs, self.conn):
            if end is not None:
                end.close()
        if self.rows[0] >= 0:
            os.close(self.rows[0])


def _encoding(out: TextIO) -> tuple[str, str]:
    """The encoding and error handler text written to *out* takes."""
    return getattr(out, "encoding", None) or "utf-8", getattr(out, "errors", None) or "strict"


def _copy(fd: int, size: int, out: TextIO) -> None:
    """Copy *size* bytes of the file *fd* to *out*: by the kernel where *out* is a file, else as text."""
    buffer = getattr(out, "buffer", None)
    try:
        target = out.fileno() if buffer is not None else None
    except (AttributeError, OSError, ValueError):
        target = None
    if target is not None:
        out.flush()
        done = 0
        try:
            while done < size:
                n = os.sendfile(target, fd, done, size - done)
                if n == 0:  # the file ends early: never a table cut short without a word
                    raise OSError(errno.EIO, f"a temporary file of rows ended at byte {done} of {size}")
                done += n
        except OSError as e:
            if done or e.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise  # else sendfile cannot write there: the text is copied below
        else:
            return
    with open(fd, encoding=_encoding(out)[0], closefd=False, newline="") as f:
        f.seek(0)
        while text := f.read(1 << 20):
            out.write(text)


def _work(piece: _Piece, options: dict, encoding: str, errors: str, sub_bytes: int, conn: Connection) -> None:
    """In a worker: measure *piece* into an unnamed temporary file, and hand the file over with its header line.

    Quiet whatever happens: the parent words every failure (a Ctrl-C reaches it too).
    """
    try:
        _measure_and_hand_over(piece, options, encoding, errors, sub_bytes, conn)
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        pass  # stopped, or the parent went away: nothing to say, and no one to say it to


def _measure_and_hand_over(
    piece: _Piece, options: dict, encoding: str, errors: str, sub_bytes: int, conn: Connection
) -> None:
    import multiprocessing
    import tempfile
    from multiprocessing.reduction import send_handle

    with tempfile.TemporaryFile() as f:  # unnamed: gone with the two processes, however they end
        head = _measure_share(piece, options, f.fileno(), encoding, errors, sub_bytes)
        if not isinstance(head, str):
            conn.send(("empty",) if head is None else ("alone",))
            return
        conn.send(("measured", head, os.fstat(f.fileno()).st_size))
        parent = multiprocessing.parent_process()
        send_handle(conn, f.fileno(), parent.pid if parent is not None else 0)  # the pid: Windows only
