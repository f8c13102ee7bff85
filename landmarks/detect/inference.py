"""Run the shipped landmark model on a film: pre-processing, ONNX inference, post-processing.

No torch here: the network runs as an ONNX graph in onnxruntime, and everything around it is NumPy.

Pre-processing (:func:`prepare`): the display grey levels (bone bright, as the training films'
8-bit JPEGs), resized with antialiasing to ``(INPUT_ROWS, INPUT_COLUMNS)`` (films are tall; the
aspect ratio is not kept, the two scale factors are), then stretched so that the 1st and 99th
percentiles map to 0 and 1, and centred.

Post-processing (:func:`heatmaps_to_points`): each of the 68 heatmaps is a spatial softmax; the
corner is its expectation within about one vertebra of its peak (sub-pixel), mapped back to the
film's ``(x, y)`` pixels, and the share of the mass found there is the point's confidence.
:func:`plausible_spine` then checks the 17 vertebrae as a column (order, size, tilt steps) and
replaces a vertebra that breaks it by its neighbours, marking its points as low-confidence.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from ..errors import InvalidArgumentError, SpinecheckError, reason
from ..io.aasce import AASCE_LEVELS, AASCE_POINT_NAMES
from .local import (
    LOCAL_SIZE,
    LOCAL_SPACING,
    LOCAL_STRIDE,
    SPACING_PER_HEIGHT,
    Frames,
    closeup_to_film,
    cut_closeups,
    frames_from_corners,
    refine_frames,
    vertebra_frames,
)

__all__ = [
    "INPUT_ROWS",
    "INPUT_COLUMNS",
    "STRIDE",
    "N_POINTS",
    "MIRROR_ORDER",
    "ModelInfo",
    "Detection",
    "ModelIntegrityError",
    "LandmarkModel",
    "prepare",
    "heatmaps_to_points",
    "plausible_spine",
    "load_model",
    "detect",
    "place_corners",
]

#: The network's input size in pixels (rows, columns); the film is resized to it.
INPUT_ROWS = 256
INPUT_COLUMNS = 128
#: Input pixels per heatmap cell.
STRIDE = 4
#: 17 vertebrae (T1..L5) x 4 corners, in ``AASCE_POINT_NAMES`` order.
N_POINTS = len(AASCE_POINT_NAMES)
#: Row order of the points of a horizontally mirrored film: image left and right swap.
MIRROR_ORDER: tuple[int, ...] = tuple(i + 1 if i % 2 == 0 else i - 1 for i in range(N_POINTS))

#: Heatmap cells either side of the peak that the corner's expectation reads (a 5 x 5 window,
#: 20 x 20 input pixels: about one vertebra).
_WINDOW = 2
#: The scatter (input pixels, RMS) of the readings of one corner (each network, film and mirror) at
#: which the confidence is multiplied by 1/e.
_SCATTER_SCALE_PX = 5.0
#: The local stage's window: heatmap cells either side of the peak (7 x 7 cells, 14 close-up
#: pixels: half a vertebra's spacing).
_LOCAL_WINDOW = 3
#: The local stage's scatter scale (close-up pixels, about 8 film pixels on the AASCE films).
_LOCAL_SCATTER_PX = 2.0
#: A vertebra that the local stage would move by more than this share of the spacing (towards a
#: neighbour's place) is left unsettled (read again from a settled neighbour, or replaced).
_LOCAL_JUMP = 0.5
#: Corner order of a mirrored close-up: left and right swap.
_MIRROR4 = [1, 0, 3, 2]


class ModelIntegrityError(SpinecheckError, OSError):
    """The shipped model's weights are missing or do not match their recorded SHA-256."""


class ModelInfo(NamedTuple):
    """Which model made the points: what a landmark file records for provenance."""

    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Detection:
    """Corners found on one AP film by the model.

    Attributes
    ----------
    points : dict of str to (float, float)
        The 68 corners ``T1.sup.left`` ... ``L5.inf.right`` (formats.md names; left/right =
        *image* left/right) as ``(x, y)`` pixels of the film given.
    point_confidence : dict of str to float
        Per point, in [0, 1]: near 1 when every reading (each network, film and mirror) has one
        sharp heatmap peak at the same place; low for a spread or multi-peaked heatmap or
        readings that disagree; at most 0.2 for a point the plausibility step replaced.
    film_confidence : float
        In [0, 1]: how much the whole set can be trusted: whether the film reads as an AP spine
        (the first stage's median point confidence, scaled down by the share of vertebrae the
        plausibility step had to replace).
    replaced : tuple of str
        Levels (``"T7"``) whose corners broke the column (order, size or tilt) and were
        replaced by the interpolation of their neighbours.
    model : ModelInfo
    rows, columns : int
        Size of the film the points belong to.
    """

    points: dict[str, tuple[float, float]]
    point_confidence: dict[str, float]
    film_confidence: float
    replaced: tuple[str, ...]
    model: ModelInfo
    rows: int
    columns: int
    notes: tuple[str, ...] = field(default=())

    def as_array(self) -> np.ndarray:
        """The corners as a ``(68, 2)`` array of ``(x, y)`` pixels, ``AASCE_POINT_NAMES`` order."""
        return np.array([self.points[n] for n in AASCE_POINT_NAMES], dtype=float)


# ----------------------------------------------------------------------------- pre-processing


def _grey(image: Any) -> np.ndarray:
    """The film's display grey levels (bone bright) as a 2-D float32 array."""
    display = getattr(image, "display", None)
    arr = np.asarray(display if display is not None else image)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] < 16 or arr.shape[1] < 16:
        raise InvalidArgumentError(
            f"image must be a 2-D grey film of at least 16 x 16 pixels; got an array of shape {arr.shape}"
        )
    if arr.dtype.kind not in "uif" or arr.dtype.kind == "b":
        raise InvalidArgumentError(f"image must hold numbers; got {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise InvalidArgumentError("image must hold finite values; it has NaN or infinity")
    return arr


def prepare(image: Any) -> tuple[np.ndarray, tuple[float, float]]:
    """Return the network input for a film and the scale from input to film pixels.

    Parameters
    ----------
    image : Radiograph or ndarray
        A loaded radiograph (its ``display`` is used) or a 2-D array ``(rows, columns)`` of grey
        levels, bone bright (an RGB array is converted to luma).

    Returns
    -------
    x : ndarray, shape (INPUT_ROWS, INPUT_COLUMNS), float32
        Percentile-stretched grey, about -0.5 (background) to 0.5 (bone).
    scale : (float, float)
        ``(columns / INPUT_COLUMNS, rows / INPUT_ROWS)``: film pixels per input pixel along x and
        y. A point ``(u, v)`` of the input is ``((u + 0.5) * sx - 0.5, (v + 0.5) * sy - 0.5)``
        on the film (pixel centres at integer coordinates on both).

    Examples
    --------
    >>> x, scale = prepare(np.tile(np.arange(300, dtype=float), (1024, 1)))
    >>> x.shape, scale
    ((256, 128), (2.34375, 4.0))
    >>> bool(-0.51 < x.min() < x.max() < 0.51)
    True
    """
    from PIL import Image

    grey = _grey(image)
    rows, columns = grey.shape
    # Pillow widens its filter when reducing, so the result is antialiased (no moire of the ribs)
    small = np.asarray(
        Image.fromarray(grey, mode="F").resize((INPUT_COLUMNS, INPUT_ROWS), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    lo, hi = np.percentile(small, [1.0, 99.0])
    span = float(hi - lo) if hi > lo else 1.0
    x = np.clip((small - lo) / span, 0.0, 1.0) - 0.5
    return x.astype(np.float32), (columns / INPUT_COLUMNS, rows / INPUT_ROWS)


# ----------------------------------------------------------------------------- post-processing


def _softmax_maps(heatmaps: np.ndarray) -> np.ndarray:
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w).astype(np.float64)
    flat = np.exp(flat - flat.max(-1, keepdims=True))
    return (flat / flat.sum(-1, keepdims=True)).reshape(n, k, h, w)


def heatmaps_to_points(heatmaps: np.ndarray, scale: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Corners and their confidence from one film's heatmaps.

    Parameters
    ----------
    heatmaps : ndarray, shape (68, h, w)
        The network's logits at stride :data:`STRIDE`.
    scale : (float, float)
        Film pixels per input pixel along x and y (from :func:`prepare`).

    Returns
    -------
    xy : ndarray, shape (68, 2)
        ``(x, y)`` film pixels: the expectation of each heatmap's softmax within 2 cells of its
        peak (a 5 x 5 window, about one vertebra), so that a second peak on another vertebra
        does not pull the corner between the two.
    confidence : ndarray, shape (68,)
        The share of the softmax mass inside that window: near 1 for one sharp peak (0.95 for
        the training target, a Gaussian of one cell), about 0.5 for a heatmap torn between two
        vertebrae, near 0 for a flat one.

    Examples
    --------
    One sharp peak at heatmap cell (row 10, column 5) of every map:

    >>> hm = np.full((68, 64, 32), -50.0); hm[:, 10, 5] = 50.0
    >>> xy, conf = heatmaps_to_points(hm, (2.0, 3.0))
    >>> xy[0].round(3).tolist(), round(float(conf[0]), 3)
    ([43.5, 125.5], 1.0)
    """
    hm = np.asarray(heatmaps)
    if hm.ndim != 3 or hm.shape[0] != N_POINTS:
        raise InvalidArgumentError(f"heatmaps must be (68, h, w); got shape {hm.shape}")
    uv, confidence = _peak_expectation(hm, STRIDE, _WINDOW)
    sx, sy = scale
    xy = np.stack([(uv[:, 0] + 0.5) * sx - 0.5, (uv[:, 1] + 0.5) * sy - 0.5], -1)
    return xy, confidence


def _peak_expectation(logits: np.ndarray, stride: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Each heatmap's softmax expectation near its peak, and the share of the mass found there.

    *logits* ``(k, h, w)`` at *stride* input pixels per cell; the expectation is taken within
    *window* cells of the peak. Returns ``(k, 2)`` input pixels and ``(k,)`` shares.
    """
    prob = _softmax_maps(logits[None])[0]
    k, h, w = prob.shape
    # the expectation near the strongest peak only: a heatmap torn between two vertebrae must not
    # put the corner between them (the mass left outside the window is the doubt)
    peak = prob.reshape(k, -1).argmax(1)
    pr, pc = np.divmod(peak, w)
    rows_ = np.arange(h)[None, :, None]
    cols_ = np.arange(w)[None, None, :]
    near = (np.abs(rows_ - pr[:, None, None]) <= window) & (np.abs(cols_ - pc[:, None, None]) <= window)
    local = np.where(near, prob, 0.0)
    mass = local.sum((1, 2))
    local = local / mass[:, None, None]
    xs = (np.arange(w) + 0.5) * stride - 0.5
    ys = (np.arange(h) + 0.5) * stride - 0.5
    u = (local.sum(1) * xs).sum(-1)
    v = (local.sum(2) * ys).sum(-1)
    return np.stack([u, v], -1), mass


class SpineCheck(NamedTuple):
    """What :func:`plausible_spine` found and did."""

    xy: np.ndarray
    replaced: np.ndarray
    reasons: tuple[str, ...]


#: A vertebra's tilt may differ from the median of its neighbours' (two above, two below) by this
#: much (degrees): adjacent vertebrae of a scoliotic spine differ by up to about 15 degrees.
_TILT_STEP_DEG = 20.0
#: A vertebra's width (mean endplate length) may differ from its neighbours' median by this factor.
_WIDTH_FACTOR = 1.6


def plausible_spine(xy: np.ndarray, confidence: np.ndarray | None = None) -> SpineCheck:
    """Check the 17 detected vertebrae as a column and replace those that break it.

    A vertebra is implausible when its corners are out of order (a superior corner below the
    inferior one, a left corner right of the right one), when its centre does not lie between
    its neighbours' centres, when its tilt differs from the median of its neighbours' (two
    above, two below) by more than 20 degrees, or when its width differs from theirs by more
    than a factor 1.6. Such a vertebra's four corners are replaced by the straight-line
    interpolation (extrapolation at the ends) of the nearest plausible vertebrae above and below,
    each corner from the same corner of those vertebrae.

    Parameters
    ----------
    xy : ndarray, shape (68, 2)
        ``(x, y)`` pixels, ``AASCE_POINT_NAMES`` order.
    confidence : ndarray, shape (68,), optional
        Per-point confidence; a vertebra whose four corners all fall below 0.05 counts as
        implausible too.

    Returns
    -------
    SpineCheck
        ``xy`` (a new array, replaced vertebrae filled in), ``replaced`` (bool per vertebra),
        ``reasons`` (one line per replaced vertebra).

    Examples
    --------
    A straight column of 17 vertebrae, then T9 moved onto T3:

    >>> col = np.array([[x, 100 * v + y] for v in range(17) for y in (0, 60) for x in (0, 80)], float)
    >>> plausible_spine(col).replaced.any()
    np.False_
    >>> bad = col.copy(); bad[32:36, 1] -= 600
    >>> found = plausible_spine(bad)
    >>> [AASCE_LEVELS[i] for i in np.flatnonzero(found.replaced)], found.xy[32:36].tolist() == col[32:36].tolist()
    (['T9'], True)
    """
    p = np.asarray(xy, dtype=float).reshape(len(AASCE_LEVELS), 4, 2)
    n = len(p)
    ul, ur, ll, lr = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    bad = np.zeros(n, dtype=bool)
    reasons: list[str] = []

    def mark(i: int, why: str) -> None:
        if not bad[i]:
            reasons.append(f"{AASCE_LEVELS[i]}: {why}")
        bad[i] = True

    for i in range(n):
        if ul[i, 1] >= ll[i, 1] or ur[i, 1] >= lr[i, 1]:
            mark(i, "superior corners below the inferior ones")
        if ul[i, 0] >= ur[i, 0] or ll[i, 0] >= lr[i, 0]:
            mark(i, "left corners right of the right ones")
    centre = p.mean(1)
    mid_l, mid_r = (ul + ll) / 2, (ur + lr) / 2
    tilt = np.degrees(np.arctan2(mid_r[:, 1] - mid_l[:, 1], mid_r[:, 0] - mid_l[:, 0]))
    width = (np.linalg.norm(ur - ul, axis=1) + np.linalg.norm(lr - ll, axis=1)) / 2
    for i in range(n):
        near = [j for j in range(max(0, i - 2), min(n, i + 3)) if j != i]
        if abs(tilt[i] - np.median(tilt[near])) > _TILT_STEP_DEG:
            mark(i, f"tilt {tilt[i]:.0f} deg, its neighbours' {np.median(tilt[near]):.0f} deg")
        w_near = float(np.median(width[near]))
        if not (w_near / _WIDTH_FACTOR <= width[i] <= w_near * _WIDTH_FACTOR):
            mark(i, f"width {width[i]:.0f} px, its neighbours' {w_near:.0f} px")
    # order along the spine: drop the vertebra out of order with the most others until none is
    # (so a vertebra moved away is the one replaced, not the neighbours it now overtakes)
    alive = np.ones(n, dtype=bool)
    while True:
        y = np.where(alive, centre[:, 1], np.nan)
        later_above = np.triu(y[None, :] <= y[:, None], 1)  # j > i but not below i
        inversions = later_above.sum(1) + later_above.sum(0)
        if inversions.max() == 0:
            break
        worst = int(np.argmax(inversions))
        alive[worst] = False
        mark(worst, "centre out of order along the spine")
    if confidence is not None:
        c = np.asarray(confidence, dtype=float).reshape(n, 4)
        for k in np.flatnonzero((c < 0.05).all(1)).tolist():
            mark(k, "no clear corner in the image")
    return SpineCheck(_fill(p, bad).reshape(-1, 2), bad, tuple(reasons))


def _fill(p: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Vertebrae ``(n, 4, 2)`` with the *bad* ones replaced by their good neighbours' interpolation.

    Each corner of a bad vertebra is the straight-line interpolation (extrapolation at the ends)
    of the same corner of the nearest good vertebrae above and below.
    """
    out = p.copy()
    good = np.flatnonzero(~bad)
    if 2 <= len(good) < len(p):
        for i in np.flatnonzero(bad).tolist():
            lo = good[good < i]
            hi = good[good > i]
            a, b = (
                (lo[-1], hi[0])
                if len(lo) and len(hi)
                else ((hi[0], hi[1]) if not len(lo) else (lo[-2], lo[-1]))
            )
            t = (i - a) / (b - a)
            out[i] = p[a] + t * (p[b] - p[a])
    return out


# ----------------------------------------------------------------------------- the model


#: The shipped weights and their manifest (name, version, file, sha256), inside the package.
_WEIGHTS = "weights"
_MANIFEST = "manifest.json"


@dataclass(frozen=True, eq=False)
class LandmarkModel:
    """An ONNX landmark network ready to run, and what it is (:class:`ModelInfo`).

    ``local``, when present, is the local stage's network (:mod:`.local`): it places each
    vertebra's corners again on a close-up of the full-resolution film. ``refine``, when present
    (since model 1.2), is the AP refiner's network: the same task on finer close-ups framed by a
    person's rough corners (:func:`.local.refine_frames`).
    """

    info: ModelInfo
    session: Any = field(repr=False)
    local: Any = field(default=None, repr=False)
    refine: Any = field(default=None, repr=False)

    def closeup_heatmaps(self, batch: np.ndarray, refiner: bool = False) -> np.ndarray:
        """Run the local network (the refiner's with *refiner*) on ``(N, LOCAL_SIZE, LOCAL_SIZE)`` close-ups.

        Returns ``(N, 4, h, w)`` logits for one network, ``(N, M, 4, h, w)`` for an ensemble of M.
        """
        session = self.refine if refiner else self.local
        if session is None:
            what = "refiner network" if refiner else "local stage"
            raise InvalidArgumentError(f"the landmark model {self.info.name!r} has no {what}")
        x = np.ascontiguousarray(batch[:, None], dtype=np.float32)
        (out,) = session.run(["heatmaps"], {"closeup": x})
        return np.asarray(out)

    def heatmaps(self, batch: np.ndarray) -> np.ndarray:
        """Run the network on ``(N, INPUT_ROWS, INPUT_COLUMNS)`` prepared films.

        Returns ``(N, 68, h, w)`` logits for one network, ``(N, M, 68, h, w)`` for an ensemble of M.
        """
        x = np.ascontiguousarray(batch[:, None], dtype=np.float32)
        (out,) = self.session.run(["heatmaps"], {"image": x})
        return np.asarray(out)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _session(data: bytes) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # two threads: a small network, and the machines this runs on are shared
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


@functools.lru_cache(maxsize=1)
def _shipped() -> LandmarkModel:
    folder = resources.files(__package__).joinpath(_WEIGHTS)
    try:
        manifest = json.loads(folder.joinpath(_MANIFEST).read_text(encoding="utf-8"))
        name, version, file, sha = (str(manifest[k]) for k in ("name", "version", "file", "sha256"))
        data = folder.joinpath(file).read_bytes()
        # the local stage since model 1.1, the refiner's network since 1.2: (file, sha256, bytes)
        parts = {
            key: (str(manifest[key]["file"]), str(manifest[key]["sha256"]))
            for key in ("local", "refine")
            if manifest.get(key)
        }
        blobs = {key: folder.joinpath(f).read_bytes() for key, (f, _) in parts.items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelIntegrityError(
            f"the landmark model shipped with spinecheck cannot be read ({reason(e)}); reinstall spinecheck"
        ) from None
    model = _checked(data, ModelInfo(name, version, sha), f"the shipped landmark model {file!r}")
    named = {"local": "local stage", "refine": "refiner network"}
    sessions = {
        key: _checked(
            blobs[key],
            ModelInfo(name, version, sha_k),
            f"the shipped landmark model's {named[key]} {file_k!r}",
        ).session
        for key, (file_k, sha_k) in parts.items()
    }
    return replace(model, **sessions)


def _checked(data: bytes, info: ModelInfo, what: str) -> LandmarkModel:
    got = _sha256(data)
    if got != info.sha256:
        raise ModelIntegrityError(
            f"{what}: SHA-256 {got[:16]}... does not match the recorded {info.sha256[:16]}...; "
            "the file is damaged or was replaced (reinstall spinecheck)"
        )
    return LandmarkModel(info, _session(data))


def load_model(
    path: str | None = None,
    *,
    sha256: str | None = None,
    local: str | None = None,
    refine: str | None = None,
) -> LandmarkModel:
    """Load the shipped model, or an ONNX file of the same network (a cross-validation fold's).

    Parameters
    ----------
    path : str, optional
        An ``.onnx`` file; None loads the model shipped in the package.
    sha256 : str, optional
        The file's expected SHA-256 (hex). The shipped model is always checked against its
        manifest; another file only when this is given.
    local : str, optional
        An ``.onnx`` file of the local stage to use instead of the shipped one (with *path*: to
        go with it; without, the first stage's corners are the result).
    refine : str, optional
        An ``.onnx`` file of the refiner's network to use instead of the shipped one (a
        cross-validation fold's); with *path*, to go with it.

    Raises
    ------
    ModelIntegrityError
        The weights are missing, unreadable, or do not match their SHA-256.
    """
    if path is None:
        model = _shipped()
    else:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ModelIntegrityError(f"landmark model {path!r}: cannot be read: {e.strerror or e}") from None
        info = ModelInfo(name=str(path), version="", sha256=sha256 or _sha256(data))
        model = _checked(data, info, f"landmark model {path!r}")
    if local is not None:
        model = replace(model, local=_part_session(local, "local stage"))
    if refine is not None:
        model = replace(model, refine=_part_session(refine, "refiner network"))
    return model


def _part_session(path: str, what: str) -> Any:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ModelIntegrityError(f"{what} {path!r}: cannot be read: {e.strerror or e}") from None
    return _session(data)


def _collide(upper: np.ndarray, lower: np.ndarray, down: np.ndarray, spacing: float) -> bool:
    """Whether two consecutive vertebrae ``(4, 2)`` sit on one vertebra of the film.

    They do when their centres lie less than 0.6 of a spacing apart, or the upper one's inferior
    endplate lies a tenth of a spacing below the lower one's superior endplate.
    """
    gap = float((((lower[0] + lower[1]) - (upper[2] + upper[3])) / 2) @ down)
    close = float(np.linalg.norm(lower.mean(0) - upper.mean(0))) < 0.6 * spacing
    return close or gap < -0.1 * spacing


def _settle(first: np.ndarray, local: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Which vertebrae take the local stage's corners (bool ``(17,)``); the others are unsettled.

    *moved* is how far the local stage moved each vertebra's centre, in spacings. A vertebra
    moved more than :data:`_LOCAL_JUMP` is unsettled, and so is, of two settled neighbours that
    the close-ups put onto one vertebra (:func:`_collide`), the one moved further, until no two
    collide.
    """
    a = np.asarray(first, dtype=float).reshape(-1, 4, 2)
    b = np.asarray(local, dtype=float).reshape(-1, 4, 2)
    frames = vertebra_frames(a)
    spacing = frames.scale * LOCAL_SPACING
    use = moved <= _LOCAL_JUMP
    for _ in range(len(a)):
        # only two settled neighbours can collide: an unsettled one's place is not known yet
        hit = [
            i
            for i in range(len(a) - 1)
            if use[i] and use[i + 1] and _collide(b[i], b[i + 1], frames.down[i], spacing[i])
        ]
        if not hit:
            break
        worst = max((j for i in hit for j in (i, i + 1)), key=lambda j: moved[j])
        use[worst] = False
    return use


def _local_stage(
    m: LandmarkModel, grey: np.ndarray, first: SpineCheck, conf1: np.ndarray
) -> tuple[SpineCheck, np.ndarray]:
    """The first stage's column placed again by the local stage: corners and point confidence.

    Every vertebra is read on a close-up framed by the first stage's column; those that the
    close-ups moved too far or put onto a neighbour are left unsettled (:func:`_settle`). Then,
    from the settled vertebrae outwards, each unsettled neighbour is read again on a close-up one
    spacing further along the spine (:func:`_track`), where the first stage's spacing was wrong.
    Any still unsettled, or that break the column (:func:`plausible_spine`), are replaced by
    their settled neighbours' interpolation and count as replaced. A point's confidence is the
    geometric mean of the two stages'; a replaced vertebra's is at most 0.2.
    """
    start = first.xy.reshape(-1, 4, 2)
    xy, conf, moved = _local_pass(m, grey, vertebra_frames(first.xy))
    xy, conf = xy.reshape(-1, 4, 2), conf.reshape(-1, 4)
    use = _settle(start, xy, moved)
    if 0 < use.sum() < len(use):
        use = _track(m, grey, start, xy, conf, use, moved)
    placed = np.where(use[:, None, None], xy, start)
    check = plausible_spine(placed.reshape(-1, 2))
    bad = ~use | check.replaced
    out = _fill(placed, bad) if (~bad).sum() >= 2 else start
    point_conf = np.sqrt(conf1.reshape(-1, 4) * conf)
    point_conf = np.where(bad[:, None], np.minimum(conf1.reshape(-1, 4), 0.2), point_conf).reshape(-1)
    reasons = tuple(
        f"{AASCE_LEVELS[i]}: no close-up placed it apart from its neighbours" for i in np.flatnonzero(~use)
    )
    return SpineCheck(out.reshape(-1, 2), bad, reasons + check.reasons), point_conf


def _track(
    m: LandmarkModel,
    grey: np.ndarray,
    start: np.ndarray,
    xy: np.ndarray,
    conf: np.ndarray,
    use: np.ndarray,
    moved: np.ndarray,
) -> np.ndarray:
    """Settle the unsettled vertebrae from their settled neighbours outwards (*xy*, *conf* updated in place).

    Each round reads, for every unsettled vertebra next to a settled one, a close-up centred one
    spacing beyond that neighbour along the spine (the neighbour's own spacing to the vertebra
    on its other side, else 1.3 times its height), turned as the neighbour is. A reading that
    stays within :data:`_LOCAL_JUMP` of that centre settles when it collides with no settled
    neighbour, or when it moved less than the neighbour it collides with, which is then
    unsettled (a close-up of the first stage put it on this vertebra). Rounds end when one
    settles none.
    """
    use = use.copy()
    moved = np.where(use, moved, np.inf)
    n = len(use)
    for _ in range(2 * n):
        todo, centre, down, scale = [], [], [], []
        f = vertebra_frames(np.where(use[:, None, None], xy, start))
        for i in np.flatnonzero(~use).tolist():
            for j, sign in ((i - 1, 1.0), (i + 1, -1.0)):
                if 0 <= j < n and use[j]:
                    k = j - int(sign)  # the neighbour's other side
                    c_j = xy[j].mean(0)
                    if 0 <= k < n and use[k]:
                        step = c_j - xy[k].mean(0)
                    else:
                        height = np.linalg.norm(xy[j, 2:] - xy[j, :2], axis=1).mean()
                        step = sign * f.down[j] * height * SPACING_PER_HEIGHT
                    todo.append(i)
                    centre.append(c_j + step)
                    down.append(f.down[j])
                    scale.append(max(float(np.linalg.norm(step)), 1e-3) / LOCAL_SPACING)
                    break
        if not todo:
            break
        frames = Frames(np.array(centre), np.array(down), np.array(scale))
        got, got_conf, got_moved = _local_pass(m, grey, frames)
        got, got_conf = got.reshape(-1, 4, 2), got_conf.reshape(-1, 4)
        progress = False
        for r, i in enumerate(todo):
            if got_moved[r] > _LOCAL_JUMP or use[i]:
                continue
            spacing = frames.scale[r] * LOCAL_SPACING
            hits = [
                j
                for j in (i - 1, i + 1)
                if 0 <= j < n
                and use[j]
                and _collide(*((got[r], xy[j]) if j > i else (xy[j], got[r])), frames.down[r], spacing)
            ]
            if any(moved[j] <= got_moved[r] for j in hits):
                continue
            for j in hits:
                use[j] = False
                moved[j] = np.inf
            xy[i], conf[i], moved[i] = got[r], got_conf[r], got_moved[r]
            use[i] = True
            progress = True
        if not progress:
            break
    return use


def place_corners(
    image: Any, corners: np.ndarray, model: LandmarkModel | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The model's corners for vertebrae roughly placed by a person (the AP refiner's step).

    Read by the refiner's network on close-ups framed by the rough corners
    (:func:`.local.refine_frames`) when the model has one (the shipped one does, since 1.2), else
    by the local stage on close-ups framed as :func:`.local.frames_from_corners` frames them.

    Parameters
    ----------
    image : Radiograph or ndarray
        The film (its display grey levels, bone bright) or a 2-D grey array.
    corners : ndarray, shape (n, 4, 2)
        Rough ``(x, y)`` of each vertebra's ``sup.left, sup.right, inf.left, inf.right``.
    model : LandmarkModel, optional
        Default: the shipped model; it must have a refiner network or a local stage.

    Returns
    -------
    xy : ndarray, shape (n, 4, 2)
    confidence : ndarray, shape (n, 4)
    """
    m = model or load_model()
    c = np.asarray(corners, dtype=float).reshape(-1, 4, 2)
    # each vertebra's close-up is framed by its own four corners (no neighbours needed): the
    # refiner's network on its finer close-ups when the model has one (1.2), else the local stage
    if m.refine is not None:
        xy, conf, _ = _local_pass(m, _grey(image), refine_frames(c), refiner=True)
    else:
        xy, conf, _ = _local_pass(m, _grey(image), frames_from_corners(c))
    return xy.reshape(-1, 4, 2), conf.reshape(-1, 4)


def _local_pass(
    m: LandmarkModel, grey: np.ndarray, frames: Frames, refiner: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local stage (the refiner's network with *refiner*) on a film's grey levels: one close-up per frame.

    Each close-up and its mirror image are read by every network of the stage; a corner
    is the mean of the readings. Returns the corners ``(4 n, 2)``, their confidence ``(4 n,)``
    (heatmap mass near the peak, lowered when the readings scatter) and how far each vertebra's
    centre lies from its frame's, in spacings (``(n,)``).
    """
    crops = cut_closeups(grey, frames)
    n = len(crops)
    hm = m.closeup_heatmaps(np.concatenate([crops, crops[:, :, ::-1]]), refiner=refiner)
    if hm.ndim == 4:  # one network: (2 n, 4, h, w)
        hm = hm[:, None]
    readings, masses = [], []
    for view in range(2):
        for net in range(hm.shape[1]):
            maps = hm[view * n : (view + 1) * n, net]
            uv, mass = _peak_expectation(maps.reshape(n * 4, *maps.shape[-2:]), LOCAL_STRIDE, _LOCAL_WINDOW)
            uv, mass = uv.reshape(n, 4, 2), mass.reshape(n, 4)
            if view == 1:  # the mirrored close-up: its left corners are the film's right ones
                uv, mass = uv[:, _MIRROR4], mass[:, _MIRROR4]
                uv[..., 0] = LOCAL_SIZE - 1 - uv[..., 0]
            readings.append(uv)
            masses.append(mass)
    est = np.stack(readings)
    uv = est.mean(0)
    gap = np.sqrt(((est - uv) ** 2).sum(-1).mean(0))
    conf = np.exp(np.log(np.stack(masses)).mean(0)) * np.exp(-((gap / _LOCAL_SCATTER_PX) ** 2))
    out = closeup_to_film(uv, frames)
    moved = np.linalg.norm(out.mean(1) - frames.centre, axis=1) / (frames.scale * LOCAL_SPACING)
    return out.reshape(-1, 2), conf.reshape(-1), moved


def detect(image: Any, model: LandmarkModel | None = None) -> Detection:
    """Find the 68 vertebral corners (T1..L5) of an AP whole-spine film.

    The film and its mirror image are both read (the mirror's left/right corners swapped back) by
    every network of the model (the shipped model is an ensemble), and each corner is the mean
    of these readings; their scatter, like the spread of each heatmap, lowers the point's
    confidence. The column of vertebrae is then checked (:func:`plausible_spine`). When the
    model has a local stage (the shipped one does, since version 1.1), each vertebra's corners
    are then placed again on a close-up of the full-resolution film (:mod:`.local`), read with its
    mirror image by each local network; a vertebra that the local stage would move more than
    half a spacing keeps the first stage's corners, and the column is checked again.

    Parameters
    ----------
    image : Radiograph or ndarray
        A loaded radiograph (its display grey levels are read) or a 2-D array ``(rows, columns)``
        of grey levels, bone bright.
    model : LandmarkModel, optional
        Default: the model shipped with spinecheck (:func:`load_model`).

    Returns
    -------
    Detection
        Points in the film's ``(x, y)`` pixels under the formats.md names (image left/right), a
        confidence per point and for the film, the model's name, version and SHA-256. The model
        was trained on adolescent AP films of T1..L5 only; on any other film it still returns
        points, with low confidence: deciding to refuse is the caller's.

    Raises
    ------
    InvalidArgumentError
        *image* is not a 2-D grey image of at least 16 x 16 finite values.
    ModelIntegrityError
        The model's weights are missing or damaged.
    """
    m = model or load_model()
    grey = _grey(image)
    x, scale = prepare(grey)
    rows = int(round(scale[1] * INPUT_ROWS))
    columns = int(round(scale[0] * INPUT_COLUMNS))
    hm = m.heatmaps(np.stack([x, x[:, ::-1]]))
    if hm.ndim == 4:  # one network: (2, 68, h, w)
        hm = hm[:, None]
    estimates, spreads = [], []
    for view in range(2):
        for net in range(hm.shape[1]):
            xy, conf = heatmaps_to_points(hm[view, net], scale)
            if view == 1:  # the mirror image: its left corners are the film's right ones
                xy, conf = xy[list(MIRROR_ORDER)], conf[list(MIRROR_ORDER)]
                xy[:, 0] = columns - 1 - xy[:, 0]
            estimates.append(xy)
            spreads.append(conf)
    est = np.stack(estimates)
    xy = est.mean(0)
    # how far the readings (each network, film and mirror) scatter about their mean, input pixels
    gap_px = np.sqrt((((est - xy) / np.array(scale)) ** 2).sum(-1).mean(0))
    point_conf = np.exp(np.log(np.stack(spreads)).mean(0)) * np.exp(-((gap_px / _SCATTER_SCALE_PX) ** 2))
    found = plausible_spine(xy, point_conf)
    replaced = np.repeat(found.replaced, 4)
    point_conf = np.where(replaced, np.minimum(point_conf, 0.2), point_conf)
    # the film's confidence is the first stage's: whether the film reads as an AP spine at all (the
    # local stage finds corners in any close-up, so it cannot make a film readable)
    film_conf = float(np.median(point_conf)) * (1.0 - float(found.replaced.mean()))
    if m.local is not None:
        found, point_conf = _local_stage(m, grey, found, point_conf)
    pts = found.xy.copy()
    pts[:, 0] = np.clip(pts[:, 0], -0.5, columns - 0.5)
    pts[:, 1] = np.clip(pts[:, 1], -0.5, rows - 0.5)
    return Detection(
        points={n: (float(a), float(b)) for n, (a, b) in zip(AASCE_POINT_NAMES, pts, strict=True)},
        point_confidence={n: float(c) for n, c in zip(AASCE_POINT_NAMES, point_conf, strict=True)},
        film_confidence=film_conf,
        replaced=tuple(AASCE_LEVELS[i] for i in np.flatnonzero(found.replaced)),
        model=m.info,
        rows=rows,
        columns=columns,
        notes=found.reasons,
    )
