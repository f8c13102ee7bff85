"""Imported first by the batch workers' fork server: a worker downloads nothing, so ``requests`` is absent there.

``import pydicom`` imports :mod:`pydicom.data.download`, which imports ``requests`` where it is
installed (and with it urllib3, charset_normalizer, idna, certifi), only to fetch pydicom's
test files, which no worker asks for; where ``requests`` is absent it falls back to
:mod:`urllib.request`, its own path for a missing ``requests``. The fork server's imports are
the time a ``--jobs N`` batch waits before its first worker runs (issue 17, 4), and ``requests``
was about a third of pydicom's import there. Marking it absent (``None`` in :data:`sys.modules`,
the import system's own way to say a module cannot be imported) holds only in the fork server and
the workers forked from it: the process that runs the batch, and a package that imported
``requests`` before, keep theirs.
"""

import sys

__all__: list[str] = []

sys.modules.setdefault("requests", None)  # type: ignore[arg-type]
