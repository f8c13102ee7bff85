"""The mark spinecheck writes into its PNG figures, so that a batch never takes one for a film.

Every PNG figure spinecheck saves (``plot``, ``demo``, ``batch --figures``, a report's page) carries a
``tEXt`` chunk ``Software: spinecheck <version>`` (ISO/IEC 15948 11.3.4.3, a predefined keyword).
A figure shows a film with lines and labels drawn over it: measuring it as a film would give a row
for an image that is no radiograph. A folder's own figures (the demo writes ``lateral.png`` beside
``lateral.dcm``) are then told from films by content, wherever they were put and whatever their name,
and only the first chunks are read: the text chunk comes before the image data (Pillow, which
Matplotlib writes PNGs with, puts it there).
"""

from __future__ import annotations

import struct

__all__ = ["FIGURE_SOFTWARE", "HEAD_BYTES", "figure_software", "is_own_figure"]

#: The first word of the ``Software`` text of every PNG figure spinecheck writes.
FIGURE_SOFTWARE = "spinecheck"
#: Bytes of a PNG read to find the mark (the signature, IHDR and the text chunks before IDAT).
HEAD_BYTES = 4096

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def figure_software(version: str) -> dict[str, str]:
    """The PNG text metadata a spinecheck figure is saved with (``savefig(..., metadata=...)``).

    >>> figure_software("0.1.0")
    {'Software': 'spinecheck 0.1.0'}
    """
    return {"Software": f"{FIGURE_SOFTWARE} {version}"}


def is_own_figure(head: bytes) -> bool:
    r"""Whether a PNG file's first bytes (*head*, up to :data:`HEAD_BYTES`) carry spinecheck's mark.

    Reads the chunks before the image data (``IDAT``); a ``tEXt`` chunk ``Software`` whose text is
    ``spinecheck`` or starts with ``spinecheck `` is the mark. Anything else, a broken or cut chunk
    included, is not (the file is then read as a film, and a broken one gets its own error row).

    Examples
    --------
    >>> import zlib
    >>> def chunk(kind, data):
    ...     return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    >>> head = _SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 0, 0, 0, 0))
    >>> is_own_figure(head + chunk(b"tEXt", b"Software\x00spinecheck 0.1.0"))
    True
    >>> is_own_figure(head + chunk(b"tEXt", b"Software\x00Matplotlib version3.9"))
    False
    >>> is_own_figure(head + chunk(b"IDAT", b"") + chunk(b"tEXt", b"Software\x00spinecheck"))
    False
    """
    if not head.startswith(_SIGNATURE):
        return False
    at = len(_SIGNATURE)
    while at + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[at : at + 8])
        data = head[at + 8 : at + 8 + length]
        if kind == b"IDAT" or len(data) < length:
            return False
        if kind == b"tEXt":
            keyword, _, text = data.partition(b"\x00")
            if keyword == b"Software":
                word = FIGURE_SOFTWARE.encode()
                return text == word or text.startswith(word + b" ")
        at += 12 + length  # length, type, data, CRC
    return False
