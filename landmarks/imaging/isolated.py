"""Decoding an untrusted radiograph in a process of its own, so that a crashing decoder costs only that film.

The native decoders (GDCM, CharLS, OpenJPEG, the Rust RLE decoder) are C, C++
and Rust: on a stream they do not expect they can abort the process
(SIGABRT), fault (SIGSEGV) or be killed for their memory. The stream's own
header is checked before any of them runs (:mod:`.codestream`) and the size
a film declares is bounded (:mod:`.limits`), but a check cannot foresee every
broken stream. :func:`load_radiograph_isolated` therefore runs
:func:`~spinecheck.landmarks.imaging.radiograph.load_radiograph` in a child
process and receives the radiograph back; if the child dies, the caller gets
a :class:`~spinecheck.landmarks.errors.DecoderCrashedError` that names the
signal, and goes on. ``spinecheck batch`` decodes this way (``--verify-pixels``,
``--figures``).

The child is forked from a fork server that has imported the loader once (spawned
where there is none), so each film costs a fork and the transfer of its pixels
through a pipe (tens of milliseconds for a 7200 × 3000 16-bit film), not a new
interpreter. In a daemonic process (a Dask worker), which may not have children,
the film is decoded in place: that process is itself the one that may die.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DecoderCrashedError
from .radiograph import Radiograph, load_radiograph

__all__ = ["load_radiograph_isolated"]

_PRELOAD = ["spinecheck.landmarks.imaging.radiograph"]


def load_radiograph_isolated(
    path: str | Path,
    *,
    frame: int | None = None,
    loader: Callable[..., Radiograph] = load_radiograph,
) -> Radiograph:
    """:func:`~spinecheck.landmarks.imaging.radiograph.load_radiograph` in a child process.

    Parameters
    ----------
    path : str or Path
    frame : int, optional
        As for ``load_radiograph``.
    loader : callable, optional
        What the child calls as ``loader(path, frame=frame)``: a module-level
        function (it is sent to the child by name). ``load_radiograph`` by default.

    Returns
    -------
    Radiograph
        The same radiograph as ``load_radiograph(path, frame=frame)``.

    Raises
    ------
    DecoderCrashedError
        The child process died while it read the film (a signal, or an exit
        without a result); the message names the signal or the exit status.
    UnreadableImageError, MissingDecoderError
        As ``load_radiograph`` raises them: the child's error, unchanged.
    """
    if multiprocessing.current_process().daemon:  # may not have children: this process is the sandbox
        return loader(path, frame=frame)
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_read_in_child, args=(loader, str(path), frame, send), name="spinecheck-decoder", daemon=True
    )
    child.start()
    send.close()
    try:
        try:
            kind, payload = receive.recv()
        except EOFError:  # the child died before it sent anything
            child.join()
            raise DecoderCrashedError(_crashed(str(path), child.exitcode)) from None
        child.join()
    finally:
        receive.close()
        if child.is_alive():  # interrupted here: the child goes too
            child.kill()
            child.join()
    if kind == "error":
        raise payload
    return payload


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(_PRELOAD)  # only when this process has no fork server yet
    return context


def _read_in_child(loader: Callable[..., Radiograph], path: str, frame: int | None, send: Any) -> None:
    try:
        result: tuple[str, Any] = ("radiograph", loader(path, frame=frame))
    except Exception as exc:  # noqa: BLE001 - sent back as it is (a SpinecheckError mostly), unless it cannot travel
        result = ("error", exc)
    try:
        send.send(result)
    except Exception as exc:  # noqa: BLE001 - an error that does not pickle: its words
        send.send(("error", RuntimeError(f"{type(result[1]).__name__}: {result[1]} ({exc})")))
    finally:
        send.close()


def _crashed(path: str, exitcode: int | None) -> str:
    """The message for a child that died without a result (exit code as multiprocessing gives it)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        how = f"signal {-exitcode}, {name}"
    else:
        how = f"exit status {exitcode}"
    return (
        f"image '{path}': decoder crashed ({how}) while reading the film's pixels; the film cannot be "
        "decoded here (a damaged stream, or too little memory)"
    )
