"""The patient's identifiers in a batch table: written only on request, in clear or as a keyed pseudonym.

A batch table always carries what identifies each *film* (its UIDs, date, the
patient's sex and age: formats.md §3). What identifies the *patient* is
personal data, and is written only when asked:

- ``patient_identifiers=True`` (``--patient-identifiers``) adds ``patient_id`` and
  ``patient_name``, the header's Patient ID and Patient's Name as stored;
- a pseudonym key (``--pseudonymise``) adds ``patient_pseudonym`` instead:
  :func:`pseudonym`, the HMAC-SHA256 of the Patient ID under a secret key,
  the first :data:`PSEUDONYM_HEX_DIGITS` hexadecimal digits. The same ID and key
  always give the same pseudonym (tables of separate runs join on it), another
  key another one, and without the key it cannot be reversed or recomputed from
  a guessed ID (a plain hash of an ID could: IDs are short).

Decisions where the issue was silent:

- The two are refused together: a table holding both the ID and its pseudonym
  is a key to every other table pseudonymised with the same key.
- The key is never a command-line value (it would stay in the shell history and
  the process list): it is the file ``--pseudonym-key FILE`` (its bytes, a
  trailing line end dropped), else the environment variable
  :data:`PSEUDONYM_KEY_ENV`; the file wins when both are there (what was said
  for this run beats what the shell carries). A key shorter than
  :data:`MIN_KEY_BYTES` is refused: the key is the only secret, as Patient IDs
  are easy to guess.
- 16 hexadecimal digits (64 bits): a chance of about 3 in 100 million that two
  of a million patients share one.
- The Patient ID is compared as DICOM pads it, stripped of surrounding spaces
  (as ``spinecheck compare`` compares it); an empty or absent ID has no pseudonym.
- Birth dates are never written, whatever the options (issue 13).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from ...landmarks.errors import SpinecheckError

__all__ = [
    "PSEUDONYM_KEY_ENV",
    "MIN_KEY_BYTES",
    "PSEUDONYM_HEX_DIGITS",
    "PERSONAL_COLUMNS",
    "PseudonymKeyError",
    "read_pseudonym_key",
    "pseudonym",
]

#: The environment variable that holds the pseudonym key when no key file is given.
PSEUDONYM_KEY_ENV = "SPINECHECK_PSEUDONYM_KEY"
#: The shortest key accepted, in bytes (128 bits).
MIN_KEY_BYTES = 16
#: Hexadecimal digits of the HMAC kept in a pseudonym.
PSEUDONYM_HEX_DIGITS = 16
#: Every column that holds the patient's identifiers, in either form.
PERSONAL_COLUMNS = ("patient_id", "patient_name", "patient_pseudonym")

_MAKE_ONE = "make one with: python -c 'import secrets; print(secrets.token_hex(32))' > key.txt"


class PseudonymKeyError(SpinecheckError, ValueError):
    """No usable pseudonym key: none given, an unreadable or empty file, or a key too short."""


def read_pseudonym_key(
    key_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> bytes:
    """The secret key of :func:`pseudonym`: the file *key_file*, else the environment.

    Parameters
    ----------
    key_file : str or path-like, optional
        A file holding the key (its bytes; one trailing line end is dropped).
    environ : mapping, optional
        Where to look for :data:`PSEUDONYM_KEY_ENV` (default ``os.environ``); its value as UTF-8.

    Returns
    -------
    bytes
        At least :data:`MIN_KEY_BYTES` bytes.

    Raises
    ------
    PseudonymKeyError
        Neither gives a key, the file cannot be read, or the key is too short.

    Examples
    --------
    >>> read_pseudonym_key(environ={"SPINECHECK_PSEUDONYM_KEY": "0123456789abcdef0123"})
    b'0123456789abcdef0123'
    """
    environ = os.environ if environ is None else environ
    if key_file is not None:
        where = f"key file '{os.fspath(key_file)}'"
        try:
            key = Path(key_file).read_bytes()
        except OSError as exc:
            raise PseudonymKeyError.about(
                "key_file", "{key_file}: {where} cannot be read ({exc})", where=where, exc=exc.strerror
            ) from None
        key = key.removesuffix(b"\n").removesuffix(b"\r")
    elif environ.get(PSEUDONYM_KEY_ENV):
        where = f"the environment variable {PSEUDONYM_KEY_ENV}"
        key = environ[PSEUDONYM_KEY_ENV].encode("utf-8")
    else:
        raise PseudonymKeyError.about(
            "key_file",
            "pseudonymising needs a secret key: give {key_file} FILE or set {env} (never the key "
            "itself on the command line); {make}",
            env=PSEUDONYM_KEY_ENV,
            make=_MAKE_ONE,
        )
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"{where}: the pseudonym key has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
            f"(Patient IDs are easy to guess, so the key is the only secret); {_MAKE_ONE}"
        )
    return key


def pseudonym(patient_id: str | None, key: bytes) -> str:
    """The keyed pseudonym of a Patient ID: HMAC-SHA256, the first 16 hexadecimal digits.

    Parameters
    ----------
    patient_id : str or None
        The Patient ID as read (surrounding spaces are ignored).
    key : bytes
        From :func:`read_pseudonym_key`.

    Returns
    -------
    str
        ``""`` for an empty or absent ID.

    Examples
    --------
    >>> k = b"0123456789abcdef"
    >>> pseudonym("SYN-0000", k) == pseudonym(" SYN-0000 ", k), len(pseudonym("SYN-0000", k))
    (True, 16)
    >>> pseudonym("SYN-0000", k) != pseudonym("SYN-0000", k + b"!"), pseudonym(None, k)
    (True, '')
    """
    text = (patient_id or "").strip()
    if not text:
        return ""
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_DIGITS]
