"""Which archive to talk to, and as whom: the address by DICOMweb or DIMSE, and the credentials.

The address comes from the call (the command line's ``--url`` or ``--dimse HOST:PORT --called-ae
AE``) or else from the environment (``SPINECHECK_PACS_URL``, ``SPINECHECK_PACS_DIMSE``,
``SPINECHECK_PACS_CALLED_AE``, ``SPINECHECK_PACS_CALLING_AE``). Credentials never come from the
command line, where every user of the machine can read them in the process list and the shell
keeps them in its history: they come from the environment (``SPINECHECK_PACS_USER`` and
``SPINECHECK_PACS_PASSWORD`` for HTTP Basic, or ``SPINECHECK_PACS_TOKEN`` for a Bearer token) or
from a file (:func:`read_credentials`) that only its owner may read, as ssh insists of a key.
A URL that holds a user or password (``https://me:pw@host``) is refused for the same reason.
No message ever shows a password or token.

DIMSE has no passwords: an archive knows a caller by its AE title, host and port.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from ...landmarks.errors import InvalidArgumentError, SpinecheckError

__all__ = [
    "PacsError",
    "Protocol",
    "Credentials",
    "PacsServer",
    "read_credentials",
    "credentials_from_env",
    "server_from",
    "DEFAULT_CALLING_AE",
    "ENV",
]


class PacsError(SpinecheckError, OSError):
    """The archive cannot be reached, refused us, does not hold what was asked, or sent it incomplete."""


class Protocol(str, Enum):
    """How spinecheck talks to the archive."""

    DICOMWEB = "dicomweb"
    DIMSE = "dimse"


#: The calling AE title spinecheck uses when none is given.
DEFAULT_CALLING_AE = "SPINECHECK"
#: The environment variables read, by what they hold.
ENV = {
    "url": "SPINECHECK_PACS_URL",
    "dimse": "SPINECHECK_PACS_DIMSE",
    "called_ae": "SPINECHECK_PACS_CALLED_AE",
    "calling_ae": "SPINECHECK_PACS_CALLING_AE",
    "user": "SPINECHECK_PACS_USER",
    "password": "SPINECHECK_PACS_PASSWORD",
    "token": "SPINECHECK_PACS_TOKEN",
}
#: An AE title: 1 to 16 characters of the Default Character Repertoire, no backslash (PS3.5 6.2).
_AE = re.compile(r"[ -\[\]-~]{1,16}")


@dataclass(frozen=True)
class Credentials:
    """A user and password (HTTP Basic) or a token (HTTP Bearer); never shown in a message.

    >>> Credentials(user="spine", password="secret")
    Credentials(user='spine', password=<hidden>, token=None)
    """

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        password = "<hidden>" if self.password is not None else None
        token = "<hidden>" if self.token is not None else None
        return f"Credentials(user={self.user!r}, password={password}, token={token})"

    def header(self) -> str:
        """The value of the HTTP ``Authorization`` header.

        >>> Credentials(user="spine", password="secret").header()
        'Basic c3BpbmU6c2VjcmV0'
        >>> Credentials(token="abc").header()
        'Bearer abc'
        """
        if self.token is not None:
            return f"Bearer {self.token}"
        import base64

        pair = f"{self.user}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class PacsServer:
    """An archive's address.

    Attributes
    ----------
    protocol : Protocol
    url : str or None
        The DICOMweb service root (``https://host/dicom-web``), for :attr:`Protocol.DICOMWEB`.
    host, port : str, int or None
        The DIMSE listener, for :attr:`Protocol.DIMSE`.
    called_ae, calling_ae : str
        The archive's AE title and ours (DIMSE).
    credentials : Credentials or None
        For DICOMweb.
    timeout_s : float
        How long to wait for the archive to answer, in seconds.
    """

    protocol: Protocol
    url: str | None = None
    host: str | None = None
    port: int | None = None
    called_ae: str = "ANY-SCP"
    calling_ae: str = DEFAULT_CALLING_AE
    credentials: Credentials | None = None
    timeout_s: float = 30.0

    def describe(self) -> str:
        """The address in words, for messages (never the credentials).

        >>> PacsServer(Protocol.DIMSE, host="pacs", port=104, called_ae="ARCHIVE").describe()
        "DIMSE 'ARCHIVE' at pacs:104"
        """
        if self.protocol is Protocol.DICOMWEB:
            return f"DICOMweb '{self.url}'"
        return f"DIMSE '{self.called_ae}' at {self.host}:{self.port}"


def read_credentials(path: str | os.PathLike[str]) -> Credentials:
    """Credentials from a JSON file ``{"user": ..., "password": ...}`` or ``{"token": ...}``.

    The file must belong to the user and be readable by no one else (mode 600 or 400), as ssh
    insists of a private key: a password in a file others can read is no longer a secret.

    Raises
    ------
    PacsError
        The file cannot be read, others may read it, or it does not hold one of the two forms.
    """
    file = Path(path)
    try:
        mode = file.stat().st_mode
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise PacsError(f"credentials file '{file}': cannot be read ({e.strerror or e})") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PacsError(
            f"credentials file '{file}': others may read it (mode {stat.S_IMODE(mode):o}); "
            f"make it private with 'chmod 600 {file}'"
        )
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return _credentials(data, f"credentials file '{file}'")


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from ``SPINECHECK_PACS_USER``/``_PASSWORD`` or ``SPINECHECK_PACS_TOKEN``; None when unset.

    >>> credentials_from_env({"SPINECHECK_PACS_USER": "spine", "SPINECHECK_PACS_PASSWORD": "x"}).user
    'spine'
    >>> credentials_from_env({}) is None
    True
    """
    env = os.environ if env is None else env
    data = {k: env[ENV[k]] for k in ("user", "password", "token") if env.get(ENV[k])}
    if not data:
        return None
    return _credentials(data, "environment (" + ", ".join(ENV[k] for k in data) + ")")


def _credentials(data: object, where: str) -> Credentials:
    if isinstance(data, dict) and set(data) == {"token"} and isinstance(data["token"], str) and data["token"]:
        return Credentials(token=data["token"])
    if (
        isinstance(data, dict)
        and set(data) == {"user", "password"}
        and all(isinstance(data[k], str) and data[k] for k in data)
    ):
        return Credentials(user=data["user"], password=data["password"])
    raise PacsError(f"{where}: must hold a user and a password, or a token alone")


def server_from(
    url: str | None = None,
    dimse: str | None = None,
    *,
    called_ae: str | None = None,
    calling_ae: str | None = None,
    credentials: str | os.PathLike[str] | None = None,
    timeout_s: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> PacsServer:
    """The archive named by the arguments, or else by the environment (:data:`ENV`).

    Parameters
    ----------
    url : str, optional
        A DICOMweb service root, ``http(s)://host[:port]/path``.
    dimse : str, optional
        ``HOST:PORT`` of a DIMSE archive; then *called_ae* is needed.
    called_ae, calling_ae : str, optional
        AE titles (DIMSE); *calling_ae* defaults to :data:`DEFAULT_CALLING_AE`.
    credentials : str or Path, optional
        A credentials file (:func:`read_credentials`); else the environment's, if any.
    timeout_s : float
        Seconds to wait for an answer.
    env : mapping, optional
        The environment (default ``os.environ``).

    Raises
    ------
    InvalidArgumentError
        Neither or both of *url* and *dimse*; a malformed address or AE title; a URL holding credentials.
    PacsError
        The credentials file or the environment's credentials are unusable.

    Examples
    --------
    >>> server_from("http://127.0.0.1:8042/dicom-web/", env={}).url
    'http://127.0.0.1:8042/dicom-web'
    >>> s = server_from(dimse="pacs.local:11112", called_ae="ARCHIVE", env={})
    >>> s.host, s.port, s.called_ae, s.calling_ae
    ('pacs.local', 11112, 'ARCHIVE', 'SPINECHECK')
    """
    env = os.environ if env is None else env
    if url is None and dimse is None:
        url, dimse = env.get(ENV["url"]) or None, env.get(ENV["dimse"]) or None
        if url and dimse:
            raise InvalidArgumentError(
                f"the environment sets both {ENV['url']} and {ENV['dimse']}; give --url or --dimse to choose"
            )
    if url is not None and dimse is not None:
        raise InvalidArgumentError.about(
            "url", "{url} and {dimse}: give one archive address, not both", names={"dimse": "dimse"}
        )
    if url is None and dimse is None:
        raise InvalidArgumentError.about(
            "url",
            "no archive given: {url} (DICOMweb) or {dimse} with {called_ae} (DIMSE), "
            f"or set {ENV['url']} or {ENV['dimse']}",
            names={"dimse": "dimse", "called_ae": "called_ae"},
        )
    calling = calling_ae or env.get(ENV["calling_ae"]) or DEFAULT_CALLING_AE
    if url is not None:
        if credentials is not None:
            creds: Credentials | None = read_credentials(credentials)
        else:
            creds = credentials_from_env(env)
        return PacsServer(Protocol.DICOMWEB, url=_check_url(url), credentials=creds, timeout_s=timeout_s)
    assert dimse is not None
    host, port = _check_host_port(dimse)
    called = called_ae or env.get(ENV["called_ae"])
    if not called:
        raise InvalidArgumentError.about(
            "called_ae",
            "{called_ae}: the archive's AE title is needed with {dimse} (or set " + ENV["called_ae"] + ")",
            names={"dimse": "dimse"},
        )
    for name, ae in (("called_ae", called), ("calling_ae", calling)):
        if not _AE.fullmatch(ae) or not ae.strip():
            raise InvalidArgumentError.about(
                name, "{" + name + "}: an AE title is 1 to 16 characters, no backslash; got {got!r}", got=ae
            )
    return PacsServer(
        Protocol.DIMSE, host=host, port=port, called_ae=called, calling_ae=calling, timeout_s=timeout_s
    )


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgumentError.about(
            "url", "{url}: must be an http:// or https:// address of a DICOMweb service; got {got!r}", got=url
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidArgumentError.about(
            "url",
            "{url}: holds a user or password, which the command line must never carry; put them in "
            f"{ENV['user']} and {ENV['password']} or a --credentials file",
        )
    return url.rstrip("/")


def _check_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgumentError.about("dimse", "{dimse}: must be HOST:PORT; got {got!r}", got=address)
    return host.strip("[]"), int(port)
