"""Exceptions shared by every spinecheck package.

Each error also inherits the builtin it refines, so callers that catch
``ValueError`` or ``OSError`` keep working. Messages follow the house rule:
*what, where, what was expected, what came in*.

An error about an argument of a call names the argument as the Python
signature does (``cobb_method: must be one of 'endplate', 'midline'; got 'x'``)
and says which in :attr:`SpinecheckError.argument`; a front end that calls the
arguments something else, such as the command line with its flags, words the
message again with :meth:`SpinecheckError.message`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = [
    "SpinecheckError",
    "InvalidArgumentError",
    "InvalidLandmarksError",
    "MissingCalibrationError",
    "DegenerateGeometryError",
    "UnreadableImageError",
    "MissingDecoderError",
    "DecoderCrashedError",
    "InvalidCriteriaError",
    "shorten",
    "reason",
]


_E = TypeVar("_E", bound="SpinecheckError")

#: The most characters of an input's text that a message quotes.
QUOTE_LIMIT = 80


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """*text* as a message quotes it: at most *limit* characters, "…" where it was cut.

    Whatever came in (a point name, a file's first bytes, a header value) may be
    megabytes long; a message stays one readable line.

    Examples
    --------
    >>> shorten("T1.sup.left")
    'T1.sup.left'
    >>> shorten("x" * 10_000_000)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (10000000 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def reason(exc: BaseException) -> str:
    """What went wrong, as a message says it: an OS error's own words without "[Errno 2]" and the path.

    The message names the file already; the errno number and the repeated path are internals
    (the exception itself, with ``--traceback``, keeps them).

    Examples
    --------
    >>> reason(FileNotFoundError(2, "No such file or directory", "/tmp/x.json"))
    'No such file or directory'
    >>> reason(ValueError("line 1 column 2"))
    'line 1 column 2'
    """
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return shorten(" ".join(str(exc).split()) or type(exc).__name__, 200)


class SpinecheckError(Exception):
    """Base class of every error spinecheck raises on purpose.

    Attributes
    ----------
    argument : str or None
        The argument of the call at fault, by its Python name
        (``"cobb_method"``), for an error made with :meth:`about`; None when
        no argument is at fault (a file, an image).
    """

    argument: str | None = None
    _wording: tuple[str, dict[str, str], dict[str, Any]] | None = None

    @classmethod
    def about(
        cls: type[_E],
        argument: str,
        template: str,
        /,
        *,
        names: Mapping[str, str] | None = None,
        **values: Any,
    ) -> _E:
        """An error about *argument*, with a message that names the arguments by their Python names.

        Parameters
        ----------
        argument : str
            The argument at fault, as the signature names it.
        template : str
            The message, a :meth:`str.format` template: a field named after
            an argument (*argument*, or a key of *names*) is where the
            message names that argument; every other field is one of
            *values*. The template is the program's own text; anything that
            came in goes in *values*.
        names : mapping of str to str, optional
            How the message names other arguments it mentions, e.g.
            ``{"overwrite": "overwrite=True"}``; *argument* is named as is.
        **values
            The other fields: what came in, a path, the allowed values.

        Returns
        -------
        SpinecheckError
            An error of this class, ``str()`` of which is the message.

        Examples
        --------
        >>> e = InvalidArgumentError.about("jobs", "{jobs}: must be >= 1; got {got}", got=0)
        >>> str(e), e.argument
        ('jobs: must be >= 1; got 0', 'jobs')
        >>> e.message({"jobs": "--jobs"})
        '--jobs: must be >= 1; got 0'
        """
        spelled = {argument: argument, **(names or {})}
        error = cls(template.format(**spelled, **values))
        error.argument = argument
        error._wording = (template, spelled, dict(values))
        return error

    def message(self, names: Mapping[str, str] | None = None) -> str:
        """The message, naming each argument it mentions as *names* says.

        Parameters
        ----------
        names : mapping of str to str, optional
            What a front end calls the arguments (the command line: its
            flags, ``{"cobb_method": "--cobb-method"}``). An argument not in
            it keeps its Python name.

        Returns
        -------
        str
            ``str(self)`` for an error not made with :meth:`about`.
        """
        if self._wording is None or not names:
            return str(self)
        template, spelled, values = self._wording
        return template.format(**{a: names.get(a, s) for a, s in spelled.items()}, **values)


class InvalidArgumentError(SpinecheckError, ValueError):
    """An argument of a call is out of range, unknown, or conflicts with another.

    :attr:`argument` names it. On the command line, this is a bad option.
    """


class InvalidLandmarksError(SpinecheckError, ValueError):
    """A landmark file or table does not follow its format."""


class MissingCalibrationError(SpinecheckError, ValueError):
    """A millimetre value was requested but no pixel spacing is known."""


class DegenerateGeometryError(SpinecheckError, ValueError):
    """Points are coincident or a line has zero length."""


class UnreadableImageError(SpinecheckError, OSError):
    """An image file cannot be opened or decoded."""


class MissingDecoderError(UnreadableImageError):
    """Pixel data use a transfer syntax whose decoder is not installed."""


class DecoderCrashedError(UnreadableImageError):
    """The process decoding a film died (a native decoder's crash, or killed for its memory).

    Raised by :func:`~spinecheck.landmarks.imaging.isolated.load_radiograph_isolated`, which
    decodes in a child process so that the caller survives; the message names the signal.
    """


class InvalidCriteriaError(SpinecheckError, ValueError):
    """A criterion set (data file) does not follow its format."""
