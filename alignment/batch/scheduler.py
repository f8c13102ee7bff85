"""The Dask scheduler a batch runs on: its address checked, and TLS from Dask's own configuration.

``--scheduler ""`` used to run the batch locally without a word, and a malformed address
failed deep inside Dask. Here an address is checked before anything starts:
``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (a bare ``HOST:PORT`` is TCP, as Dask reads it;
an IPv6 host in brackets, ``tcp://[::1]:8786``). Anything else (empty, another scheme, no
port, a port outside 1–65535, a path or a query after the port) is one line naming the
address and what was expected. ``inproc://`` is refused: it names a scheduler inside the
same Python process, which a command never has.

TLS. ``tls://`` encrypts and authenticates both ends with certificates. spinecheck takes
them from Dask's own configuration, as every Dask client does (no certificate options of
its own, so one configuration serves ``dask``, ``distributed`` and spinecheck):
``distributed.comm.tls.ca-file`` (the authority that signed the scheduler's certificate)
and ``distributed.comm.tls.client.cert`` (with ``.key`` when the key is a separate file),
set in ``~/.config/dask/distributed.yaml`` or by environment variables such as
``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``. The client's :class:`distributed.Security` is
built from that configuration; without a CA file or a client certificate a ``tls://``
address is refused in one line naming the missing keys. A ``tcp://`` address while the
configuration says ``distributed.comm.require-encryption`` is refused too (it would
only fail later).

References
----------
Dask distributed documentation, "TLS/SSL":
https://distributed.dask.org/en/stable/tls.html
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ... import dataclass
from ...landmarks.errors import InvalidArgumentError

__all__ = ["SchedulerAddress", "parse_scheduler", "scheduler_security", "TLS_KEYS"]

#: The Dask configuration keys a ``tls://`` client needs (the key file is optional: it may be in the cert).
TLS_KEYS = ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert")

_SCHEMES = ("tcp", "tls")
_ADDRESS = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<host>\[[^\]]*\]|[^:/\[\]]*)(?::(?P<port>[^/]*))?"
)
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?")


@dataclass(frozen=True)
class SchedulerAddress:
    """A checked scheduler address.

    Attributes
    ----------
    scheme : str
        ``"tcp"`` or ``"tls"``.
    host : str
        The host name or IP address (an IPv6 address without brackets).
    port : int
    """

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (``tls://``)."""
        return self.scheme == "tls"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_scheduler(text: str, *, argument: str = "scheduler") -> SchedulerAddress:
    """Check a Dask scheduler address.

    Parameters
    ----------
    text : str
        ``tcp://HOST:PORT``, ``tls://HOST:PORT`` or ``HOST:PORT`` (TCP).
    argument : str
        The argument that gave it, for the message.

    Returns
    -------
    SchedulerAddress

    Raises
    ------
    InvalidArgumentError
        Empty, another scheme, no host or no port, a port outside 1–65535,
        anything after the port.

    Examples
    --------
    >>> str(parse_scheduler("head:8786")), str(parse_scheduler("tls://10.0.0.2:8786")).upper()
    ('tcp://head:8786', 'TLS://10.0.0.2:8786')
    >>> parse_scheduler("tcp://[::1]:8786")
    SchedulerAddress(scheme='tcp', host='::1', port=8786)
    >>> for bad in ("", "tcp://head", "http://head:80"):
    ...     try:
    ...         parse_scheduler(bad)
    ...     except InvalidArgumentError as e:
    ...         print(str(e).split(";")[0])
    scheduler '': is empty
    scheduler 'tcp://head': has no port (the Dask scheduler listens on 8786 by default)
    scheduler 'http://head:80': scheme 'http' is not supported
    """
    shown = text if len(text) <= 80 else text[:79] + "…"
    expected = "expected tcp://HOST:PORT or tls://HOST:PORT"

    def refuse(what: str) -> InvalidArgumentError:
        return InvalidArgumentError.about(
            argument, f"{{{argument}}} '{{shown}}': {what}; {{expected}}", shown=shown, expected=expected
        )

    if not text.strip():
        raise InvalidArgumentError.about(
            argument,
            f"{{{argument}}} '{{shown}}': is empty; {{expected}} (leave it out to run on this machine)",
            shown=shown,
            expected=expected,
        )
    m = _ADDRESS.fullmatch(text.strip())
    if m is None:
        raise refuse("is not an address")
    scheme = (m["scheme"] or "tcp").lower()
    if scheme == "inproc":
        raise refuse("names a scheduler inside this very process, which a command never has")
    if scheme not in _SCHEMES:
        raise refuse(f"scheme {scheme!r} is not supported")
    host = m["host"]
    if host.startswith("["):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise refuse("has no valid IPv6 address in its brackets") from None
    elif not host:
        raise refuse("has no host")
    elif not _HOSTNAME.fullmatch(host):
        raise refuse("has no valid host name")
    port = m["port"]
    if port is None or port == "":
        raise refuse("has no port (the Dask scheduler listens on 8786 by default)")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise refuse("its port is not a number from 1 to 65535")
    return SchedulerAddress(scheme, host, int(port))


def scheduler_security(address: SchedulerAddress, *, argument: str = "scheduler") -> Any:
    """The :class:`distributed.Security` to connect to *address* with, from Dask's configuration.

    Parameters
    ----------
    address : SchedulerAddress
    argument : str
        The argument that gave the address, for the message.

    Returns
    -------
    distributed.Security
        For ``tls://``, the configured certificates (:data:`TLS_KEYS`); for
        ``tcp://``, the configuration's (nothing to encrypt with).

    Raises
    ------
    InvalidArgumentError
        ``tls://`` without a configured CA file or client certificate, or
        ``tcp://`` while the configuration requires encryption.
    ImportError
        Dask distributed is not installed.
    """
    import dask.config
    from distributed import Security

    if address.tls:
        missing = [key for key in TLS_KEYS if not dask.config.get(key, None)]
        if missing:
            raise InvalidArgumentError.about(
                argument,
                f"{{{argument}}} '{{address}}': TLS needs certificates in Dask's configuration; {{missing}} "
                "not set (set them in ~/.config/dask/distributed.yaml or as DASK_DISTRIBUTED__COMM__TLS__... "
                "environment variables; see https://distributed.dask.org/en/stable/tls.html)",
                address=str(address),
                missing=" and ".join(missing),
            )
    elif dask.config.get("distributed.comm.require-encryption", False):
        raise InvalidArgumentError.about(
            argument,
            f"{{{argument}}} '{{address}}': Dask's configuration requires encryption "
            "(distributed.comm.require-encryption); give a tls:// address",
            address=str(address),
        )
    return Security()
