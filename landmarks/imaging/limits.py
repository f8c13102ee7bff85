"""How large a radiograph spinecheck agrees to decode: a guard against decompression bombs.

A compressed file is small and says how large it is; a decoder believes it
and allocates. A 130 KB RLE file claiming 60 000 × 60 000 pixels drove
``spinecheck info`` to 7.1 GB before any error. So the size a file declares
(Rows × Columns × Samples per Pixel × Number of Frames, or a picture's size
and pages) is checked against a limit *before* anything is allocated, as
Pillow's ``Image.MAX_IMAGE_PIXELS`` does for pictures.

The default, :data:`DEFAULT_MAX_PIXELS`, is 200 megapixels: about nine times
a 7200 × 3000 whole-spine film (21.6 MP) and more than three times the
largest stitched long-length film we know of (43 × 129 cm at 0.1 mm per
pixel, 4300 × 12 900 = 55.5 MP). At 16 bits that is 400 MB of stored values
and, with a decoder's working copies (about 2.6 to 5.6 × the array,
``bench/bench_load.py``), one to two gigabytes at the peak: what one film may
cost on an ordinary workstation, and no more. The environment variable
``SPINECHECK_MAX_PIXELS`` raises (or lowers) it, in every process a batch
starts on this machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InvalidArgumentError, UnreadableImageError

__all__ = ["DEFAULT_MAX_PIXELS", "MAX_PIXELS_VARIABLE", "max_pixels", "check_pixel_count", "guard_pillow"]

#: Rows × columns × samples × frames above which a radiograph is refused (see the module notes).
DEFAULT_MAX_PIXELS = 200_000_000
#: The environment variable that sets another limit (a whole number of pixels).
MAX_PIXELS_VARIABLE = "SPINECHECK_MAX_PIXELS"


def max_pixels() -> int:
    """The limit in force: ``SPINECHECK_MAX_PIXELS`` when set, else :data:`DEFAULT_MAX_PIXELS`.

    Raises
    ------
    InvalidArgumentError
        The variable is set but is not a whole number >= 1 (``2e8`` and ``200_000_000`` are read).

    Examples
    --------
    >>> max_pixels() == DEFAULT_MAX_PIXELS or MAX_PIXELS_VARIABLE in os.environ
    True
    """
    raw = os.environ.get(MAX_PIXELS_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        value = float("nan")
    if not (value >= 1 and value == int(value) and value < 1e18):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidArgumentError(
            f"environment variable {MAX_PIXELS_VARIABLE}: must be a whole number of pixels >= 1 "
            f"(default {DEFAULT_MAX_PIXELS}); got {shown!r}"
        )
    return int(value)


def check_pixel_count(where: str, rows: int, columns: int, samples: int = 1, frames: int = 1) -> None:
    """Refuse a radiograph whose declared size is over :func:`max_pixels`, before anything is allocated.

    Parameters
    ----------
    where : str
        How messages name the file (``"image 'a.dcm'"``).
    rows, columns, samples, frames : int
        As the file declares them (DICOM Rows, Columns, Samples per Pixel, Number of Frames).

    Raises
    ------
    UnreadableImageError
        Over the limit; the message gives the size, the limit and how to raise it.

    Examples
    --------
    >>> check_pixel_count("image 'a.dcm'", 7200, 3000)
    >>> check_pixel_count("image 'bomb.dcm'", 60000, 60000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.UnreadableImageError: image 'bomb.dcm': declares 60000 rows × 60000 columns = 3600 ...
    """
    limit = max_pixels()
    total = rows * columns * max(1, samples) * max(1, frames)
    if total <= limit:
        return
    size = f"{rows} rows × {columns} columns"
    if samples > 1:
        size += f" × {samples} samples"
    if frames > 1:
        size += f" × {frames} frames"
    raise UnreadableImageError(
        f"{where}: declares {size} = {_mp(total)}, over the limit of {_mp(limit)} (a decompression bomb, "
        f"or a film larger than any radiograph); set {MAX_PIXELS_VARIABLE} to a larger number of pixels "
        "to read it"
    )


@contextmanager
def guard_pillow() -> Iterator[None]:
    """Within the block, Pillow's own bomb guard is set to the same limit; restored after.

    Pillow refuses at twice ``Image.MAX_IMAGE_PIXELS`` (and warns above it);
    :func:`check_pixel_count` refuses at the limit itself with spinecheck's message.
    The setting is Pillow's process-wide global, so it is put back: a program that
    uses Pillow beside spinecheck keeps its own limit.
    """
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels()
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.4g} megapixels"
