"""Atomic file writes: a crash or a kill never leaves half a file behind.

Every file spinecheck writes (landmark files, the annotation window's save after each
click, reports, figures, PDF pages, CSV and Parquet tables, DICOM results) is written to
a temporary file in the same folder and renamed over its name in one step
(:func:`os.replace`), so a reader sees the old file or the new one, never a mix.

The temporary file is named ``.<name>.spinecheck-tmp-<pid>-<8 hex digits>`` beside
``<name>``: hidden, and recognisably spinecheck's and whose. It is removed when the write
fails. A process killed mid-write (SIGKILL, a power cut) cannot remove it, so every
write first removes the temporary files of the same name whose process is gone
(:func:`remove_stale_temporaries`); one of a process still running is left alone (it
may be writing). On Windows, where a process cannot be asked whether it is alive without
a handle, stale files are listed but not removed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "write_text_atomic",
    "write_bytes_atomic",
    "write_atomic",
    "temporary_name",
    "stale_temporaries",
    "remove_stale_temporaries",
]

#: What marks a temporary file of spinecheck's, between the target's name and the writer's pid.
TEMP_MARK = ".spinecheck-tmp-"

# ".<name>.spinecheck-tmp-<pid>-<hex>", and the names earlier releases used:
# ".<name>.<pid>.<hex>.tmp" (this module) and ".<name>.<pid>.tmp" (the batch's figures and Parquet)
# (patterns, compiled by re on first use: only a clean-up needs them, not every command that writes)
_TEMP = r"\.spinecheck-tmp-(?P<pid>\d+)-[0-9a-f]{8}"
_LEGACY = r"\.(?P<pid>\d+)(?:\.[0-9a-f]+)?\.tmp"


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace the file at *path* by *text* (UTF-8) in one atomic step (see :func:`write_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at *path* by *data* in one atomic step (see :func:`write_atomic`)."""
    write_atomic(path, lambda f: f.write(data))


def temporary_name(path: str | os.PathLike[str]) -> str:
    """A fresh temporary file name for writing *path*: ``.<name>.spinecheck-tmp-<pid>-<hex>`` beside it.

    Examples
    --------
    >>> import os
    >>> name = temporary_name("out/figure.png")
    >>> name.startswith(os.path.join("out", ".figure.png.spinecheck-tmp-" + str(os.getpid()) + "-"))
    True
    """
    import secrets  # here: reading and measuring never write, and it costs start-up some milliseconds

    target = os.fspath(path)
    base = os.path.basename(target)
    return os.path.join(os.path.dirname(target), f".{base}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def write_atomic(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *, clean: bool = True
) -> None:
    """Write the file at *path* through *write* and put it in place in one atomic step.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it exists: refusing to replace it is
        the caller's decision, :func:`~spinecheck.landmarks.io.outputs.check_output`).
    write : callable
        ``write(f)`` writes the whole content to the binary file *f* (a
        Matplotlib ``savefig(f, format=...)``, a Parquet writer, ``f.write(data)``).
    clean : bool
        First remove the temporary files of *path* that a killed writer left
        (:func:`remove_stale_temporaries`). A caller writing many files into
        one folder cleans the folder once instead (it costs a listing of the folder).

    Notes
    -----
    The temporary file is created beside *path* (:func:`os.replace` is
    atomic only within one file system), takes the mode of the file it
    replaces (or the umask's default), is flushed to disk before the rename,
    and is removed if anything fails, a ``KeyboardInterrupt`` included.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    if clean:
        remove_stale_temporaries(target)
    tmp = fd = None
    for _ in range(100):
        candidate = temporary_name(target)
        try:
            # 0o666 so that the kernel applies the umask, as for an ordinary new file
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as e:
            raise type(e)(e.errno, e.strerror, target) from None
        tmp = candidate
        break
    if tmp is None or fd is None:
        raise FileExistsError(f"cannot create a temporary file beside {target!r}")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """The temporary files of *path* whose writing process is gone, sorted.

    A temporary file of a process that still runs is not stale (it may be
    writing); nor is this process's own. The names of earlier releases are
    recognised too.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> dead = folder / ".t.csv.spinecheck-tmp-999999999-0a1b2c3d"  # no such process
    >>> alive = folder / f".t.csv.spinecheck-tmp-{os.getpid()}-0a1b2c3d"
    >>> _ = dead.write_text("half"), alive.write_text("half")
    >>> [p.name for p in stale_temporaries(folder / "t.csv")]
    ['.t.csv.spinecheck-tmp-999999999-0a1b2c3d']
    """
    target = Path(path)
    prefix = f".{target.name}"
    try:
        entries = [e.name for e in os.scandir(target.parent) if e.name.startswith(prefix)]
    except OSError:
        return []
    out = []
    for name in entries:
        rest = name[len(prefix) :]
        m = re.fullmatch(_TEMP, rest) or re.fullmatch(_LEGACY, rest)
        if m is not None and not _alive(int(m["pid"])):
            out.append(target.parent / name)
    return sorted(out)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove :func:`stale_temporaries` of *path*; return those removed (none on Windows).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / ".t.png.spinecheck-tmp-999999999-0a1b2c3d").write_bytes(b"PNG")
    >>> [p.name for p in remove_stale_temporaries(folder / "t.png")], sorted(folder.iterdir())
    (['.t.png.spinecheck-tmp-999999999-0a1b2c3d'], [])
    """
    if os.name == "nt":
        return []
    removed = []
    for p in stale_temporaries(path):
        try:
            p.unlink()
        except FileNotFoundError:  # another writer cleaned it first
            continue
        except OSError:
            continue  # not ours to remove (another user's folder): it stays, and is never read
        removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process *pid* runs (on this machine); this process counts as alive."""
    if pid == os.getpid():
        return True
    if os.name == "nt" or pid <= 0:
        return True  # cannot tell without a handle (os.kill(pid, 0) would end it on Windows): keep
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: beyond any pid
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def _fsync_directory(directory: str) -> None:
    # the rename itself is durable only once the directory entry is on disk (POSIX)
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
