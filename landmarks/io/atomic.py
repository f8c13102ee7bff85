"""Atomic file writes: a crash or a kill never leaves half a file behind.

The annotation window saves after every click, a batch rewrites its table at the end and
``spinecheck export`` writes DICOM files; each replaces the old file in one step, so a reader sees
the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import secrets
import stat

__all__ = ["write_text_atomic", "write_bytes_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace the file at *path* by *text* (UTF-8) in one atomic step (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at *path* by *data* in one atomic step.

    The temporary file is created beside *path* (``os.replace`` is atomic
    only within one file system), takes the mode of the file it replaces
    (or the umask's default) and is removed if anything fails.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    tmp = fd = None
    for _ in range(100):
        candidate = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
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
            f.write(data)
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
