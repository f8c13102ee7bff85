"""From stored pixel values to display grey levels (clinical.md §5).

A :class:`DisplayTransform` is the chain of PS3.3 C.11 on plain values:
Modality LUT (Rescale Slope/Intercept or a Modality LUT Sequence), then a VOI
stage (a VOI LUT Sequence, else Window Center/Width with its VOI LUT Function,
else robust percentiles of the image), then the polarity (bone bright), to
``uint8``. :meth:`DisplayTransform.from_dataset` reads it from a DICOM header;
:meth:`DisplayTransform.apply` renders an image.

Memory and speed: the stored integers are never converted as a whole. A chain
that is affine (rescale plus a linear window or percentiles, the usual DX/CR
case) runs as float32 arithmetic on blocks of about a million pixels; any
other chain on integers of at most 16 bits becomes a ``uint8`` lookup table
over the stored value range, applied block by block. Films of four million
pixels or more are rendered in two row bands by two threads. Percentiles come
from a histogram of a regular subsample of at least 250 000 pixels (0.5 % of
it is still 1250 pixels). No full-size temporary is made besides the output.
"""

from __future__ import annotations

import dataclasses
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..points.names import VocabularyEnum

__all__ = [
    "VoiSource",
    "VoiFunction",
    "Window",
    "LookupTable",
    "DisplayTransform",
    "DEFAULT_MAX_DISPLAY_ROWS",
    "display_image",
    "show_film",
]

_BLOCK_PIXELS = 1 << 20  # pixels per block of the chunked paths
_SAMPLE_PIXELS = 250_000  # at least this many pixels feed the percentile histogram
_PARALLEL_PIXELS = 4_000_000  # films this large are rendered by two threads
_THREADS = 2
#: Films are drawn at most this many rows tall (block mean); landmarks keep full precision.
DEFAULT_MAX_DISPLAY_ROWS = 2000


class VoiSource(VocabularyEnum):
    """Where the display window came from."""

    VOI_LUT = "VOI LUT Sequence"
    WINDOW = "Window Center/Width"
    PERCENTILES = "robust percentiles"
    AS_STORED = "as stored"


class VoiFunction(VocabularyEnum):
    """VOI LUT Function (0028,1056), PS3.3 C.11.2.1.2."""

    LINEAR = "LINEAR"
    LINEAR_EXACT = "LINEAR_EXACT"
    SIGMOID = "SIGMOID"


@dataclass(frozen=True)
class Window:
    """A VOI window in modality units.

    Examples
    --------
    >>> Window(511, 1024).to_unit(np.array([-1.0, 511.0, 1023.0])).round(3).tolist()
    [0.0, 0.5, 1.0]
    """

    center: float
    width: float
    function: VoiFunction = VoiFunction.LINEAR

    def affine(self) -> tuple[float, float] | None:
        """Return ``(a, b)`` with ``unit = clip(a * x + b, 0, 1)``, or None (sigmoid, width 1)."""
        c, w = float(self.center), float(self.width)
        if self.function is VoiFunction.LINEAR and w > 1:
            return 1 / (w - 1), 0.5 - (c - 0.5) / (w - 1)
        if self.function is VoiFunction.LINEAR_EXACT and w > 0:
            return 1 / w, 0.5 - c / w
        return None

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Window modality values *x* to ``[0, 1]`` (float64), PS3.3 C.11.2.1.2."""
        x = np.asarray(x, dtype=np.float64)
        if self.function is VoiFunction.SIGMOID:
            return 1 / (1 + np.exp(-4 * (x - self.center) / self.width))
        ab = self.affine()
        if ab is None:  # LINEAR with width 1: a step at center - 0.5
            return (x > self.center - 0.5).astype(np.float64)
        return np.clip(ab[0] * x + ab[1], 0.0, 1.0)


@dataclass(frozen=True)
class LookupTable:
    """A LUT from integer inputs ``first, first + 1, ...`` to output values.

    Inputs below ``first`` take the first entry and inputs past the end the
    last (PS3.3 C.11.1.1 and C.11.2.1.1).
    """

    first: int
    values: np.ndarray = field(compare=False)

    def lookup(self, x: np.ndarray) -> np.ndarray:
        idx = np.clip(np.rint(np.asarray(x, dtype=np.float64)) - self.first, 0, len(self.values) - 1)
        return self.values[idx.astype(np.intp)]


@dataclass(frozen=True)
class DisplayTransform:
    """How stored values become display grey levels.

    Attributes
    ----------
    voi : VoiSource
    window : Window or None
        The header's window (``voi`` is ``WINDOW``).
    rescale : (slope, intercept)
        Modality rescale, used when ``modality_lut`` is None.
    modality_lut : LookupTable or None
        Stored value to modality value, from a Modality LUT Sequence.
    voi_lut : LookupTable or None
        Modality value to display value, from a VOI LUT Sequence; its output
        range (min..max of the table) spans black to white.
    invert : bool
        True when the minimum displays white (MONOCHROME1).
    percentiles : (low, high)
        Percent of pixels below black and above white when ``voi`` is
        ``PERCENTILES``.
    ignore : (low, high) or None
        Stored values left out of the percentiles (Pixel Padding Value).
    notes : tuple of str
        What was read, and what in the header was unusable.
    """

    voi: VoiSource = VoiSource.PERCENTILES
    window: Window | None = None
    rescale: tuple[float, float] = (1.0, 0.0)
    modality_lut: LookupTable | None = None
    voi_lut: LookupTable | None = None
    invert: bool = False
    percentiles: tuple[float, float] = (0.5, 99.5)
    ignore: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_dataset(cls, ds: Any) -> DisplayTransform:
        """Read the grayscale pipeline of a DICOM image header.

        Notes
        -----
        Polarity: MONOCHROME1 displays its minimum white. A Presentation
        LUT Shape of INVERSE on a MONOCHROME1 image is the same inversion
        stated twice (PS3.3 C.8.11.1.1.2 makes INVERSE the required
        companion of MONOCHROME1 in DX images: "output after inversion is in
        P-Values"), so it is not applied again; INVERSE on a MONOCHROME2
        image does invert. IDENTITY on MONOCHROME1 contradicts the
        photometric interpretation, which describes the pixel data and wins.
        """
        notes: list[str] = []
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
        shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
        invert = photometric == "MONOCHROME1"
        if shape == "INVERSE" and not invert:
            invert = True
            notes.append(f"Presentation LUT Shape INVERSE on a {photometric} image: displayed inverted")
        elif shape == "IDENTITY" and invert:
            notes.append(
                "Presentation LUT Shape IDENTITY contradicts MONOCHROME1: MONOCHROME1 followed "
                "(minimum displayed white)"
            )
        elif shape not in ("", "IDENTITY", "INVERSE"):
            notes.append(f"Presentation LUT Shape {shape!r} is not IDENTITY or INVERSE: ignored")

        rescale = (1.0, 0.0)
        modality_lut = None
        if ds.get("ModalityLUTSequence"):
            modality_lut = _modality_lut(ds, notes)
        if modality_lut is None:
            rescale = _rescale(ds, notes)

        voi_lut = _voi_lut(ds, notes) if ds.get("VOILUTSequence") else None
        window = None if voi_lut is not None else _window(ds, notes)
        voi = (
            VoiSource.VOI_LUT
            if voi_lut is not None
            else VoiSource.WINDOW
            if window
            else VoiSource.PERCENTILES
        )
        return cls(
            voi, window, rescale, modality_lut, voi_lut, invert, ignore=_padding(ds), notes=tuple(notes)
        )

    # ------------------------------------------------------------------ describing

    def describe(self) -> str:
        """One line for a human: window and polarity.

        Examples
        --------
        >>> DisplayTransform(VoiSource.WINDOW, Window(511, 1024)).describe()
        'Window Center/Width 511/1024 (LINEAR), minimum displayed black'
        """
        if self.voi is VoiSource.WINDOW and self.window is not None:
            w = self.window
            what = f"Window Center/Width {w.center:g}/{w.width:g} ({w.function.value})"
        elif self.voi is VoiSource.VOI_LUT and self.voi_lut is not None:
            what = f"VOI LUT Sequence ({len(self.voi_lut.values)} entries)"
        elif self.voi is VoiSource.PERCENTILES:
            lo, hi = self.percentiles
            what = f"robust percentiles {lo:g}–{hi:g} % of the pixels"
            if self.window is not None:
                w = self.window
                what += f" ({w.center - w.width / 2:g}–{w.center + w.width / 2:g})"
        else:
            what = "grey levels as stored"
        if self.modality_lut is not None:
            what = "Modality LUT Sequence, " + what
        elif self.rescale != (1.0, 0.0):
            what = f"rescale {self.rescale[0]:g}·x{self.rescale[1]:+g}, " + what
        return what + (", minimum displayed white (inverted)" if self.invert else ", minimum displayed black")

    # ------------------------------------------------------------------ rendering

    def modality_values(self, stored: np.ndarray) -> np.ndarray:
        """Modality values (float64) of stored values."""
        if self.modality_lut is not None:
            return self.modality_lut.lookup(stored).astype(np.float64)
        slope, intercept = self.rescale
        return np.asarray(stored, dtype=np.float64) * slope + intercept

    def resolved(self, pixels: np.ndarray) -> DisplayTransform:
        """Return this transform made concrete for *pixels*.

        Percentiles become the window they give on *pixels*. A header window
        that holds less than 1 % of the pixels (a window for other data, or
        for another rescale) is replaced by percentiles, with a note. VOI
        LUTs and images shown as stored are returned unchanged.
        """
        if self.voi in (VoiSource.VOI_LUT, VoiSource.AS_STORED):
            return self
        if self.voi is VoiSource.PERCENTILES and self.window is not None:
            return self  # already resolved
        values, cum = self._histogram(pixels)
        base = self
        if self.voi is VoiSource.WINDOW and self.window is not None:
            inside = _fraction_inside(values, cum, self.window)
            if inside >= 0.01:
                return self
            w = self.window
            span = f"{values[0]:g}–{values[-1]:g}" if values.size else "none"
            note = (
                f"Window Center/Width {w.center:g}/{w.width:g} holds {inside:.1%} of the pixels "
                f"(modality values {span}): robust percentiles used instead"
            )
            base = dataclasses.replace(
                self, voi=VoiSource.PERCENTILES, window=None, notes=(*self.notes, note)
            )
        lo, hi = _percentile_pair(values, cum, base.percentiles)
        if not hi > lo:
            hi = lo + 1.0
        window = Window((lo + hi) / 2, hi - lo, VoiFunction.LINEAR_EXACT)
        return dataclasses.replace(base, voi=VoiSource.PERCENTILES, window=window)

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """Render *pixels* (2-D, stored values) to ``uint8``, bone bright.

        Returns
        -------
        ndarray of uint8, the shape of *pixels*
            A new array, except for an 8-bit image shown as stored, which is
            returned as is.
        """
        if self.voi is VoiSource.AS_STORED and pixels.dtype == np.uint8 and not self.invert:
            return pixels
        t = self.resolved(pixels)
        out = np.empty(pixels.shape, dtype=np.uint8)
        affine = t._affine()
        if affine is not None and pixels.dtype.kind in "uib":
            _in_parallel(_apply_affine, pixels, out, *affine)
        elif pixels.dtype.kind in "ui" and pixels.dtype.itemsize <= 2:
            _in_parallel(_apply_lut, pixels, out, t._lut(pixels.dtype))
        else:
            for sl in _blocks(pixels):
                out[sl] = t._grey(pixels[sl])
        return out

    def _unit(self, modality: np.ndarray) -> np.ndarray:
        if self.voi is VoiSource.AS_STORED:
            return np.clip(modality / 255.0, 0.0, 1.0)
        if self.voi_lut is not None:
            v = self.voi_lut.values
            lo, hi = float(v.min()), float(v.max())
            return (self.voi_lut.lookup(modality).astype(np.float64) - lo) / ((hi - lo) or 1.0)
        assert self.window is not None, "resolve percentiles first"
        return self.window.to_unit(modality)

    def _grey(self, stored: np.ndarray) -> np.ndarray:
        unit = self._unit(self.modality_values(stored))
        if self.invert:
            unit = 1.0 - unit
        return np.rint(unit * 255.0).astype(np.uint8)

    def _affine(self) -> tuple[float, float] | None:
        """Return ``(a, b)``, ``grey = clip(a * stored + b, 0, 255)``, when the chain is affine."""
        if self.modality_lut is not None or self.voi_lut is not None:
            return None
        if self.voi is VoiSource.AS_STORED:
            a, b = 1 / 255, 0.0
        elif self.window is None or (ab := self.window.affine()) is None:
            return None
        else:
            a, b = ab
        slope, intercept = self.rescale
        a, b = a * slope * 255.0, (a * intercept + b) * 255.0
        return (-a, 255.0 - b) if self.invert else (a, b)

    def _lut(self, dtype: np.dtype) -> np.ndarray:
        """``uint8`` LUT indexed by the unsigned view of *dtype* values."""
        unsigned = np.dtype(f"u{dtype.itemsize}")
        index = np.arange(1 << (8 * dtype.itemsize), dtype=np.int64).astype(unsigned)
        return self._grey(index.view(dtype))

    def _histogram(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted modality values of a regular subsample and their cumulative counts."""
        step = max(1, int(math.sqrt(pixels.size / _SAMPLE_PIXELS)))
        sample = pixels[::step, ::step] if pixels.ndim == 2 else pixels.ravel()[:: step * step]
        if pixels.dtype.kind in "ui" and pixels.dtype.itemsize <= 2:
            unsigned = np.dtype(f"u{pixels.dtype.itemsize}")
            counts = np.bincount(
                np.ascontiguousarray(sample).view(unsigned).ravel(),
                minlength=1 << (8 * pixels.dtype.itemsize),
            )
            stored = np.arange(counts.size, dtype=np.int64).astype(unsigned).view(pixels.dtype)
            if self.ignore is not None:
                counts[(stored >= self.ignore[0]) & (stored <= self.ignore[1])] = 0
            keep = counts > 0
            values, counts = self.modality_values(stored[keep]), counts[keep]
        else:
            values = self.modality_values(sample.ravel())
            if self.ignore is not None:
                stored = sample.ravel()
                values = values[(stored < self.ignore[0]) | (stored > self.ignore[1])]
            values = values[np.isfinite(values)]
            counts = np.ones(values.size, dtype=np.int64)
        order = np.argsort(values, kind="stable")
        return values[order], np.cumsum(counts[order])


def _percentile_pair(
    values: np.ndarray, cum: np.ndarray, percentiles: tuple[float, float]
) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 1.0
    total = cum[-1]
    lo = values[min(np.searchsorted(cum, percentiles[0] / 100 * total, side="left"), values.size - 1)]
    hi = values[min(np.searchsorted(cum, percentiles[1] / 100 * total, side="left"), values.size - 1)]
    return float(lo), float(hi)


def _fraction_inside(values: np.ndarray, cum: np.ndarray, window: Window) -> float:
    """Share of pixels strictly between the window's black and white points."""
    if values.size == 0:
        return 0.0
    unit = window.to_unit(values)
    inside = (unit > 0.0) & (unit < 1.0)
    counts = np.diff(cum, prepend=0)
    return float(counts[inside].sum() / cum[-1])


def _blocks(pixels: np.ndarray):
    rows = max(1, _BLOCK_PIXELS // max(1, pixels.shape[-1] if pixels.ndim > 1 else _BLOCK_PIXELS))
    for r in range(0, pixels.shape[0], rows):
        yield slice(r, r + rows)


def _in_parallel(apply: Any, pixels: np.ndarray, out: np.ndarray, *args: Any) -> None:
    """Run *apply* on row bands of a large image in two threads (NumPy releases the GIL)."""
    workers = min(_THREADS, os.cpu_count() or 1) if pixels.size >= _PARALLEL_PIXELS else 1
    if workers == 1:
        apply(pixels, out, *args)
        return
    edges = np.linspace(0, pixels.shape[0], workers + 1).astype(int)
    bands = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(apply, pixels[band], out[band], *args) for band in bands]:
            done.result()


def _apply_affine(pixels: np.ndarray, out: np.ndarray, a: float, b: float) -> None:
    a32, b32 = np.float32(a), np.float32(b)
    for sl in _blocks(pixels):
        block = pixels[sl].astype(np.float32)
        block *= a32
        block += b32
        np.clip(block, 0, 255, out=block)
        np.rint(block, out=block)
        out[sl] = block


def _apply_lut(pixels: np.ndarray, out: np.ndarray, lut: np.ndarray) -> None:
    unsigned = np.dtype(f"u{pixels.dtype.itemsize}")
    for sl in _blocks(pixels):
        np.take(lut, pixels[sl].view(unsigned), out=out[sl])


# ----------------------------------------------------------------------------- header pieces


def _number(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)) or type(raw).__name__ == "MultiValue":
        raw = raw[0] if len(raw) else None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _rescale(ds: Any, notes: list[str]) -> tuple[float, float]:
    slope_raw, intercept_raw = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    slope = 1.0 if slope_raw in (None, "") else _number(slope_raw)
    intercept = 0.0 if intercept_raw in (None, "") else _number(intercept_raw)
    if slope is None or slope == 0:
        notes.append(f"Rescale Slope {str(slope_raw)!r} is not a non-zero number: 1 used")
        slope = 1.0
    if intercept is None:
        notes.append(f"Rescale Intercept {str(intercept_raw)!r} is not a number: 0 used")
        intercept = 0.0
    return slope, intercept


def _domain(ds: Any) -> np.ndarray:
    bits = int(ds.get("BitsStored", 16) or 16)
    if int(ds.get("PixelRepresentation", 0) or 0) == 1:
        return np.arange(-(1 << (bits - 1)), 1 << (bits - 1), dtype=np.int64)
    return np.arange(0, 1 << bits, dtype=np.int64)


def _modality_lut(ds: Any, notes: list[str]) -> LookupTable | None:
    from pydicom.pixels import apply_modality_lut

    try:
        if int(ds.get("BitsStored", 16) or 16) > 16:
            raise ValueError("more than 16 bits stored")
        domain = _domain(ds)
        values = np.asarray(apply_modality_lut(domain, ds), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any unreadable LUT falls back to rescale
        notes.append(f"Modality LUT Sequence unreadable ({exc}): Rescale Slope/Intercept used")
        return None
    notes.append("Modality LUT Sequence applied")
    return LookupTable(int(domain[0]), values)


def _voi_lut(ds: Any, notes: list[str]) -> LookupTable | None:
    from pydicom.pixels import apply_voi

    try:
        item = ds.VOILUTSequence[0]
        n, first = int(item.LUTDescriptor[0]) or 65536, int(item.LUTDescriptor[1])
        if first >= 32768 and int(ds.get("PixelRepresentation", 0) or 0) == 1:
            first -= 65536  # the descriptor's US/SS ambiguity
        values = np.asarray(apply_voi(np.arange(first, first + n, dtype=np.int64), ds, 0), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any unreadable LUT falls back to the window
        notes.append(f"VOI LUT Sequence unreadable ({exc}): window or percentiles used")
        return None
    if len(ds.VOILUTSequence) > 1:
        notes.append(f"VOI LUT Sequence has {len(ds.VOILUTSequence)} items: the first used")
    return LookupTable(first, values)


def _window(ds: Any, notes: list[str]) -> Window | None:
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers in (None, "") and widths in (None, ""):
        return None
    c, w = _number(centers), _number(widths)
    fn_raw = str(ds.get("VOILUTFunction", "") or "LINEAR").strip().upper()
    try:
        fn = VoiFunction(fn_raw)
    except ValueError:
        notes.append(f"VOI LUT Function {fn_raw!r} is not LINEAR, LINEAR_EXACT or SIGMOID: LINEAR used")
        fn = VoiFunction.LINEAR
    if c is None or w is None or w <= 0 or (fn is VoiFunction.LINEAR and w < 1):
        notes.append(
            f"Window Center/Width {str(centers)!r}/{str(widths)!r} unusable: robust percentiles used"
        )
        return None
    several = isinstance(centers, (list, tuple)) or type(centers).__name__ == "MultiValue"
    count = len(centers) if several else 1
    if count > 1:
        notes.append(f"{count} windows in the header: the first used")
    return Window(c, w, fn)


def _padding(ds: Any) -> tuple[float, float] | None:
    value, limit = _number(ds.get("PixelPaddingValue")), _number(ds.get("PixelPaddingRangeLimit"))
    if value is None:
        return None
    if limit is None:
        return value, value
    return min(value, limit), max(value, limit)


# ----------------------------------------------------------------------------- drawing films


def display_image(
    image: np.ndarray, max_rows: int | None = DEFAULT_MAX_DISPLAY_ROWS
) -> tuple[np.ndarray, int]:
    """Downsample *image* by an integer block mean to at most *max_rows* rows.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        The display image (``uint8``, bone bright).
    max_rows : int or None
        None keeps the full resolution.

    Returns
    -------
    small : ndarray of uint8, shape (ceil(rows / k), ceil(cols / k))
        Edge blocks are padded by repeating the last row/column.
    k : int
        The block size: display pixel ``(j, i)`` covers original rows
        ``j*k .. j*k+k-1`` and columns ``i*k .. i*k+k-1``.

    Examples
    --------
    >>> small, k = display_image(np.arange(36, dtype=np.uint8).reshape(6, 6), max_rows=3)
    >>> k, small.shape, int(small[0, 0])  # mean of 0, 1, 6, 7 rounded half up
    (2, (3, 3), 4)
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise InvalidArgumentError.about(
            "image", "{image}: a display image must be 2-D (rows, cols); got shape {got}", got=image.shape
        )
    rows, cols = image.shape
    k = 1 if max_rows is None or rows <= max_rows else math.ceil(rows / max_rows)
    if k == 1:
        return image, 1
    pr, pc = (-rows) % k, (-cols) % k
    if pr or pc:
        image = np.pad(image, ((0, pr), (0, pc)), mode="edge")
    r, c = image.shape[0] // k, image.shape[1] // k
    # sum in uint32 (exact, and faster than float) then round to uint8
    blocks = image.reshape(r, k, c, k).sum(axis=(1, 3), dtype=np.uint32)
    return ((blocks + (k * k) // 2) // (k * k)).astype(np.uint8), k


def show_film(ax: Any, image: np.ndarray, max_rows: int | None = DEFAULT_MAX_DISPLAY_ROWS) -> int:
    """Draw a display image on a Matplotlib Axes in original pixel coordinates.

    The film is downsampled by :func:`display_image` and drawn with its
    extent in the original image's pixel coordinates (pixel centres at
    integers, y down), so landmarks drawn or clicked on *ax* are full-resolution
    ``(x, y)`` pixels whatever the display size.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    image : ndarray of uint8, shape (rows, cols)
        Bone bright.
    max_rows : int or None
        See :func:`display_image`.

    Returns
    -------
    int
        The block size *k* used.
    """
    small, k = display_image(image, max_rows)
    ax.imshow(
        small,
        cmap="gray",
        vmin=0,
        vmax=255,
        extent=(-0.5, small.shape[1] * k - 0.5, small.shape[0] * k - 0.5, -0.5),
        interpolation="antialiased" if k == 1 else "bilinear",
        zorder=0,
    )
    return k
