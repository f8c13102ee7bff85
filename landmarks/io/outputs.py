"""Outputs that would destroy a file: an input given as the output, an existing file.

``spinecheck plot film.png lm.mat -o film.png`` used to replace the radiograph with its
figure and exit 0. Every command that writes a file checks its outputs here first,
before anything is read or measured: an output that is one of the command's inputs is
refused (whatever the spelling: the same file through another path, a symbolic link or a
hard link), and an output that exists is refused unless the caller says to replace it
(``--overwrite``). Together with :mod:`.atomic` (temporary file, then rename), no file
is ever lost to a wrong argument or a killed run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InvalidArgumentError

__all__ = ["check_output", "same_file"]


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether paths *a* and *b* name one file (through links, ``..`` or another spelling).

    Two existing paths are compared by device and inode (:func:`os.path.samefile`:
    hard links too); otherwise by their resolved paths, symbolic links followed
    (a path that does not exist yet can still be where a link leads).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "film.png").write_bytes(b"x")
    >>> (folder / "link.png").symlink_to(folder / "film.png")
    >>> same_file(folder / "sub" / ".." / "film.png", folder / "film.png")
    True
    >>> same_file(folder / "link.png", folder / "film.png"), same_file(folder / "new.png", folder / "film.png")
    (True, False)
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop
        return False


def check_output(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
    argument: str = "output",
) -> Path:
    """Refuse to write *path* if it is one of *inputs*, or exists without *overwrite*.

    Parameters
    ----------
    path : str or path-like
        The output file.
    inputs : iterable of str or path-like or None
        Every file the command reads (None entries are skipped: options not given).
    overwrite : bool
        Replace *path* if it exists. An input is never replaced, with or without it.
    argument : str
        The argument that names *path*, for the message (``-o`` on the command line).

    Returns
    -------
    Path
        *path*.

    Raises
    ------
    InvalidArgumentError
        *path* is an input (the message names the input), or exists and
        *overwrite* is false, or is a folder.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> film = folder / "film.png"
    >>> _ = film.write_bytes(b"x")
    >>> check_output(folder / "fig.png", inputs=[film]).name
    'fig.png'
    >>> def refused(**kw):
    ...     try:
    ...         check_output(film, **kw)
    ...     except InvalidArgumentError as e:
    ...         print(str(e).replace(str(folder), "DIR"))
    >>> refused(inputs=[film, None], overwrite=True)
    output 'DIR/film.png': is the input 'DIR/film.png'; writing it would destroy the input: choose another output
    >>> refused()
    output 'DIR/film.png': exists; overwrite=True replaces it
    """
    out = Path(path)
    named = f"{{{argument}}} '{{out}}'"  # "{output} '{out}'": the argument as the front end names it
    for given in inputs:
        if given is not None and same_file(out, given):
            raise InvalidArgumentError.about(
                argument,
                named
                + f": is the input '{{given}}'; writing it would destroy the input: choose another {{{argument}}}",
                out=out,
                given=os.fspath(given),
            )
    if out.is_dir():
        raise InvalidArgumentError.about(argument, named + ": is a folder; expected a file", out=out)
    if not overwrite and (out.exists() or out.is_symlink()):
        raise InvalidArgumentError.about(
            argument,
            named + ": exists; {overwrite} replaces it",
            names={"overwrite": "overwrite=True"},
            out=out,
        )
    return out
