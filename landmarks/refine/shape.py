r"""Rough AP corner clicks moved towards where annotators put corners, by the spine's learned shape.

The edge refiners (:mod:`~spinecheck.landmarks.refine.endplate`, :mod:`~spinecheck.landmarks.refine.corner`)
look for edges; on real AP films annotators do not put corners on the edges those find. This
refiner uses what was learned from the annotations instead: the joint distribution of the 68
corners T1..L5 over the labelled films of aasce-train (:class:`ShapeModel`), shapes aligned by
a similarity (position, size, in-plane rotation: generalised Procrustes analysis). Given rough
corners, it returns the most probable annotation under that distribution, treating each click
as the true corner plus independent Gaussian error: the clicks are aligned to the mean shape,
filtered, and mapped back.

Notes
-----
With the aligned shapes' mean :math:`\mu` and covariance :math:`C` (restricted to the placed
corners), and the clicks :math:`y` aligned to :math:`\mu`, the estimate is the conditional mean
(the Wiener filter)

.. math:: \hat x = \mu + C (C + \sigma^2 I)^{-1} (y - \mu),

where :math:`\sigma^2` is the clicks' error variance, estimated from the clicks themselves by
maximum likelihood (:math:`y \sim N(\mu, C + \sigma^2 I)`), or given. A precise click set gives a
small :math:`\sigma` and is hardly moved; the more the clicks scatter around a plausible spine,
the more they are pulled onto it. No corner moves further than the bound.

References
----------
Cootes TF, Taylor CJ, Cooper DH, Graham J. Active shape models: their training and application.
Comput Vis Image Underst 1995;61(1):38-59.
Gower JC. Generalized Procrustes analysis. Psychometrika 1975;40(1):33-51.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..io.aasce import AASCE_POINT_NAMES
from .common import RefineFailure

__all__ = [
    "SHAPE_NAMES",
    "MIN_SHAPE_CORNERS",
    "ShapeModel",
    "ShapeFit",
    "learn_shape_model",
    "shipped_shape_model",
    "refine_with_shape",
]

#: The corners the model knows: T1..L5, four each, in the AASCE label order (sup.left, sup.right,
#: inf.left, inf.right).
SHAPE_NAMES: tuple[str, ...] = AASCE_POINT_NAMES
#: Fewer placed corners than this (six vertebrae) say too little of the spine's shape: declined.
MIN_SHAPE_CORNERS = 24
#: A corner never moves further than this many times the clicks' estimated error (and never
#: further than ``max_shift_px`` when given).
_BOUND_SIGMAS = 3.0
_SHIPPED = "data/spine_shape_ap.npz"
#: Search range of the clicks' error, as a fraction of the aligned shape's RMS size (1).
_SIGMA_RANGE = (1e-4, 0.3)


@dataclass(frozen=True, eq=False)
class ShapeModel:
    """The distribution of the 68 corners T1..L5 of annotated AP films, after alignment.

    Attributes
    ----------
    mean : ndarray, shape (68, 2)
        The mean aligned shape (centred, RMS distance of the corners from their centroid 1).
    covariance : ndarray, shape (136, 136)
        Covariance of the aligned shapes, coordinates ordered ``x0, y0, x1, y1, ...``.
    films : int
        How many annotated films it was learned from.
    source : str
        The data it was learned from.
    """

    mean: np.ndarray
    covariance: np.ndarray
    films: int
    source: str

    def save(self, path: Any) -> None:
        """Write the model as a compressed ``.npz`` (float32)."""
        np.savez_compressed(
            path,
            mean=self.mean.astype(np.float32),
            covariance=self.covariance.astype(np.float32),
            films=np.int64(self.films),
            source=np.array(self.source),
        )

    @classmethod
    def load(cls, path: Any) -> ShapeModel:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                z["mean"].astype(float), z["covariance"].astype(float), int(z["films"]), str(z["source"])
            )


@dataclass(frozen=True)
class ShapeFit:
    """Where the shape model puts the placed corners (truthy).

    Attributes
    ----------
    points : Mapping[str, tuple[float, float]]
        Corner name to its estimate, ``(x, y)`` film pixels.
    sigma_px : float
        The clicks' error the estimate assumed (estimated or given), film pixels.
    confidence : float
        In ``[0, 1]``: how well the clicks fit a plausible spine (1 when the clicks' scatter
        around the model's spine is small against their spacing).
    """

    points: Mapping[str, tuple[float, float]]
    sigma_px: float
    confidence: float

    def __bool__(self) -> bool:
        return True


def _normalised(x: np.ndarray) -> np.ndarray:
    c = x - x.mean(0)
    return c / math.sqrt(float((c**2).sum()) / len(c))


def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation and translation mapping *src* onto *dst* by least squares (Umeyama 1991)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, float(np.sign(np.linalg.det(u @ vt))) or 1.0])
    r = u @ d @ vt
    scale = float((s * np.diag(d)).sum() / (a**2).sum())
    return scale, r, md - scale * r @ ms


def learn_shape_model(shapes: np.ndarray, *, source: str = "", iterations: int = 5) -> ShapeModel:
    """Learn the model from annotated films.

    Parameters
    ----------
    shapes : ndarray, shape (N, 68, 2)
        Corners ``(x, y)`` film pixels in :data:`SHAPE_NAMES` order (the AASCE label order).
    source : str
        What the shapes are, recorded in the model.
    iterations : int
        Generalised Procrustes iterations.

    Returns
    -------
    ShapeModel
    """
    x = np.asarray(shapes, dtype=float)
    if x.ndim != 3 or x.shape[1:] != (len(SHAPE_NAMES), 2) or len(x) < 3:
        raise InvalidArgumentError(
            f"learn_shape_model: shapes must be (N >= 3, {len(SHAPE_NAMES)}, 2) corners; got {x.shape}"
        )
    aligned = np.array([_normalised(s) for s in x])
    mean = aligned[0]
    for _ in range(iterations):
        fits = [_similarity(s, mean) for s in aligned]
        aligned = np.array([k * (s @ r.T) + t for s, (k, r, t) in zip(aligned, fits, strict=True)])
        mean = _normalised(aligned.mean(0))
    flat = aligned.reshape(len(aligned), -1)
    return ShapeModel(mean, np.cov(flat.T), len(x), source)


_CACHE: dict[str, ShapeModel] = {}


def shipped_shape_model() -> ShapeModel:
    """The model shipped with spinecheck, learned from the labelled films of aasce-train."""
    if "shipped" not in _CACHE:
        with resources.files(__package__).joinpath(_SHIPPED).open("rb") as f:
            _CACHE["shipped"] = ShapeModel.load(f)
    return _CACHE["shipped"]


def refine_with_shape(
    points: Mapping[str, Sequence[float]],
    *,
    model: ShapeModel | None = None,
    sigma_px: float | None = None,
    max_shift_px: float | None = None,
    names: Sequence[str] | None = None,
) -> ShapeFit | RefineFailure:
    """Move rough T1..L5 corners to the most probable annotation under the learned shape.

    Parameters
    ----------
    points : Mapping[str, Sequence[float]]
        Placed points, ``(x, y)`` film pixels of an upright AP film (image left/right names);
        the corners among :data:`SHAPE_NAMES` are used, the rest ignored.
    model : ShapeModel, optional
        Default: :func:`shipped_shape_model`.
    sigma_px : float, optional
        The clicks' error (standard deviation per coordinate, pixels); default: estimated from the
        clicks by maximum likelihood.
    max_shift_px : float, optional
        No corner moves further than this (and never further than 3 sigma).
    names : sequence of str, optional
        Return only these corners (all placed corners are used as evidence).

    Returns
    -------
    ShapeFit or RefineFailure
        A falsy failure when fewer than :data:`MIN_SHAPE_CORNERS` corners are placed.
    """
    m = model or shipped_shape_model()
    index = [i for i, n in enumerate(SHAPE_NAMES) if n in points]
    if len(index) < MIN_SHAPE_CORNERS:
        return RefineFailure(
            f"{len(index)} corners of T1-L5 placed; the spine's shape needs at least {MIN_SHAPE_CORNERS}"
        )
    clicks = np.array([points[SHAPE_NAMES[i]] for i in index], dtype=float)
    mu = m.mean[index]
    k, r, t = _similarity(clicks, mu)
    y = (k * (clicks @ r.T) + t).reshape(-1)
    coords = np.ravel(np.column_stack([2 * np.array(index), 2 * np.array(index) + 1]))
    c = m.covariance[np.ix_(coords, coords)]
    lam, v = np.linalg.eigh(c)
    lam = np.clip(lam, 0.0, None)
    z = v.T @ (y - mu.reshape(-1))
    if sigma_px is None:
        grid = np.exp(np.linspace(math.log(_SIGMA_RANGE[0]), math.log(_SIGMA_RANGE[1]), 120)) ** 2
        total = lam[None, :] + grid[:, None]
        loglik = -(np.log(total).sum(axis=1) + (z**2 / total).sum(axis=1))
        var = float(grid[int(np.argmax(loglik))])
    else:
        var = (float(sigma_px) * k) ** 2
    estimate = mu.reshape(-1) + v @ (lam / (lam + var) * z)
    back = ((estimate.reshape(-1, 2) - t) @ r) / k
    sigma = math.sqrt(var) / k
    bound = _BOUND_SIGMAS * sigma if max_shift_px is None else min(max_shift_px, _BOUND_SIGMAS * sigma)
    shift = back - clicks
    length = np.hypot(shift[:, 0], shift[:, 1])
    scale = np.where(length > bound, bound / np.maximum(length, 1e-12), 1.0)
    back = clicks + shift * scale[:, None]
    # the clicks' scatter against their spacing: 1 when small, falling as it nears the corners' gaps
    spacing = float(np.median(np.hypot(*np.diff(clicks, axis=0).T)))
    confidence = float(math.exp(-sigma / max(spacing / 4, 1e-9)))
    wanted = set(names) if names is not None else None
    out = {
        SHAPE_NAMES[i]: (float(x), float(yy))
        for i, (x, yy) in zip(index, back, strict=True)
        if wanted is None or SHAPE_NAMES[i] in wanted
    }
    return ShapeFit(out, sigma, confidence)


def main(argv: Sequence[str] | None = None) -> int:
    """Learn the shipped model: ``python -m spinecheck.landmarks.refine.shape --data DIR --out FILE.npz``.

    Every AASCE label under ``DIR/labels`` is read; a label the plausibility checks of a person's
    landmarks withhold (corners swapped, levels out of order) is left out, and the count said.
    """
    import argparse
    from pathlib import Path

    from ..errors import SpinecheckError
    from ..io.aasce import read_aasce_mat
    from ..points.sanity import check_landmarks

    ap = argparse.ArgumentParser(description="Learn the AP spine-shape model from AASCE labels.")
    ap.add_argument(
        "--data", required=True, help="a folder with labels/*.mat (e.g. ../shared/data/aasce-train)"
    )
    ap.add_argument("--out", required=True, help="the model file to write (.npz)")
    args = ap.parse_args(argv)
    shapes, left_out = [], 0
    for label in sorted(Path(args.data, "labels").glob("*.mat")):
        try:
            s = read_aasce_mat(label)
        except (SpinecheckError, OSError):
            left_out += 1
            continue
        if bool(check_landmarks(s.to_table()).bad.any()):
            left_out += 1
            continue
        shapes.append([s.points[n] for n in SHAPE_NAMES])
    model = learn_shape_model(
        np.array(shapes), source=f"{Path(args.data).name}: {len(shapes)} labelled AP films"
    )
    model.save(args.out)
    print(f"learned from {len(shapes)} films, {left_out} left out for their labels; wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
