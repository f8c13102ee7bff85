"""Vectorised plane geometry over N studies, and the bookkeeping of what is missing.

Every function takes ``(N, 2)`` arrays and returns ``(N,)`` arrays; a study
whose inputs are NaN gets NaN. Coordinates given to the angle functions are
millimetres in a *patient frame* ``(a, s)``: ``a`` toward the patient's
anterior (lateral films) or image right (AP films), ``s`` superior (up). The
conversion from pixels (x right, y down) happens once, in :func:`to_frame`,
after scaling x by the column spacing and y by the row spacing — angles in
pixels would be wrong on anisotropic films (clinical.md §0.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ... import dataclass
from ...landmarks.io.arrow_arrays import object_references
from ...landmarks.points.model import LandmarkTable

__all__ = [
    "to_frame",
    "from_frame",
    "angle_from_horizontal_deg",
    "angle_from_vertical_deg",
    "signed_angle_deg",
    "wrap_deg",
    "Need",
    "Inputs",
    "placed",
    "coincide",
]


def placed(xy: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: which of the ``(N, 2)`` points *xy* have both coordinates finite.

    Column by column: a NumPy reduction over an axis of two (``.all(axis=1)``)
    costs some twenty times as much on a large table.

    >>> placed(np.array([[1.0, 2.0], [np.nan, 2.0], [1.0, np.inf]])).tolist()
    [True, False, False]
    """
    return np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])


def coincide(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: where the ``(N, 2)`` points *p* and *q* are the same point (``np.all(p == q, axis=1)``).

    >>> coincide(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([[1.0, 2.0], [1.0, 3.0]])).tolist()
    [True, False]
    """
    return (p[:, 0] == q[:, 0]) & (p[:, 1] == q[:, 1])


def to_frame(xy_px: np.ndarray, mm_per_px: np.ndarray, anterior_sign: np.ndarray) -> np.ndarray:
    """Pixels ``(x, y)`` to the patient frame ``(a, s)``, in millimetres.

    Parameters
    ----------
    xy_px : ndarray, shape (N, 2)
        ``(x, y)`` pixels.
    mm_per_px : ndarray, shape (N, 2)
        ``(row, col)`` spacing; use 1 for uncalibrated studies (isotropic
        assumption: angles stay valid, lengths come out in pixels).
    anterior_sign : ndarray, shape (N,)
        +1 where the patient's anterior (or the chosen horizontal direction)
        is image right, -1 where it is image left.

    Returns
    -------
    ndarray, shape (N, 2)
        ``(a, s)``: ``a = sign * x * col_spacing``, ``s = -y * row_spacing``.

    Examples
    --------
    >>> to_frame(np.array([[10.0, 20.0]]), np.array([[0.5, 0.25]]), np.array([-1.0]))
    array([[ -2.5, -10. ]])
    """
    out = np.empty((len(xy_px), 2))
    np.multiply(xy_px[:, 0] * mm_per_px[:, 1], anterior_sign, out=out[:, 0])
    np.multiply(-xy_px[:, 1], mm_per_px[:, 0], out=out[:, 1])
    return out


def from_frame(as_mm: np.ndarray, mm_per_px: np.ndarray, anterior_sign: np.ndarray) -> np.ndarray:
    """The patient frame ``(a, s)`` back to pixels ``(x, y)``: the inverse of :func:`to_frame`.

    The map is linear, so it takes directions as well as points.

    Parameters
    ----------
    as_mm : ndarray, shape (N, 2)
        ``(a, s)`` millimetres (or pixels, with a spacing of 1).
    mm_per_px : ndarray, shape (N, 2)
        ``(row, col)`` spacing, as given to :func:`to_frame`.
    anterior_sign : ndarray, shape (N,)
        +1 or -1, as given to :func:`to_frame`.

    Returns
    -------
    ndarray, shape (N, 2)
        ``(x, y)``: ``x = sign * a / col_spacing``, ``y = -s / row_spacing``.

    Examples
    --------
    >>> from_frame(np.array([[-2.5, -10.0]]), np.array([[0.5, 0.25]]), np.array([-1.0]))
    array([[10., 20.]])
    """
    x = as_mm[:, 0] * anterior_sign / mm_per_px[:, 1]
    y = -as_mm[:, 1] / mm_per_px[:, 0]
    return np.stack([x, y], axis=1)


def wrap_deg(angle: np.ndarray) -> np.ndarray:
    """Wrap degrees to ``(-180, 180]``.

    >>> wrap_deg(np.array([190.0, -180.0, 45.0]))
    array([-170.,  180.,   45.])
    """
    out = np.mod(angle + 180.0, 360.0) - 180.0
    return np.where(out == -180.0, 180.0, out)


def angle_from_horizontal_deg(p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """Direction of ``p0 -> p1`` from the ``+a`` horizontal, counter-clockwise positive.

    In the lateral patient frame this is clinical.md's endplate orientation
    θ when ``p0`` is the posterior and ``p1`` the anterior corner: positive
    when the anterior corner is higher.

    >>> angle_from_horizontal_deg(np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]))
    array([45.])
    """
    d = p1 - p0
    return np.degrees(np.arctan2(d[:, 1], d[:, 0]))


def angle_from_vertical_deg(p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """Direction of ``p0 -> p1`` from the upward vertical, positive toward ``+a``.

    >>> angle_from_vertical_deg(np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]))
    array([45.])
    """
    d = p1 - p0
    return np.degrees(np.arctan2(d[:, 0], d[:, 1]))


def signed_angle_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle that turns vector ``u`` onto ``v``, counter-clockwise positive, in ``(-180, 180]``.

    >>> signed_angle_deg(np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]]))
    array([90.])
    """
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1]
    return np.degrees(np.arctan2(cross, dot))


@dataclass(frozen=True)
class Need:
    """One requirement of a parameter: a point, or any one of alternatives.

    ``alternatives`` is a tuple of groups; the need is met when every point of
    at least one group is present. ``label`` is what a reason says is missing.
    """

    label: str
    alternatives: tuple[tuple[str, ...], ...]

    @classmethod
    def point(cls, name: str) -> Need:
        return cls(name, ((name,),))

    @classmethod
    def centre(cls, level: str, corners: Sequence[str]) -> Need:
        """A vertebral body centre: ``<LEVEL>.centroid`` or its four corners."""
        four = tuple(f"{level}.{e}.{c}" for e in ("sup", "inf") for c in corners)
        return cls(f"{level}.centroid (or the four {level} corners)", ((f"{level}.centroid",), four))

    def met(self, table: LandmarkTable, has: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
        """``(N,)`` bool: the studies of *table* that meet the need (*has*: which have a point, by name)."""
        has = table.has if has is None else has
        ok = np.zeros(len(table), dtype=bool)
        for group in self.alternatives:
            g = np.ones(len(table), dtype=bool)
            for name in group:
                g &= has(name)
            ok |= g
        return ok


class Inputs:
    """Landmarks of N studies in the patient frame, with missing-input reasons.

    Parameters
    ----------
    table : LandmarkTable
    anterior_sign : ndarray, shape (N,)
        See :func:`to_frame`.
    pixels : bool
        Work in pixels (spacing 1) whatever the calibration: for lengths that
        are reported in pixels.
    """

    def __init__(self, table: LandmarkTable, anterior_sign: np.ndarray, *, pixels: bool = False) -> None:
        self.table = table
        self.n = len(table)
        self.sign = anterior_sign
        if pixels:
            self.spacing = np.ones((self.n, 2))
        else:
            self.spacing = np.where(np.isfinite(table.mm_per_px), table.mm_per_px, 1.0)
        self._cache: dict[str, np.ndarray] = {}
        self._has: dict[str, np.ndarray] = {}

    def has(self, name: str) -> np.ndarray:
        """``(N,)`` bool: which studies have point *name* (``LandmarkTable.has``, made once per name)."""
        got = self._has.get(name)
        if got is None:
            xy = self.table.points.get(name)
            got = self._has[name] = np.zeros(self.n, dtype=bool) if xy is None else placed(xy)
        return got

    def p(self, name: str) -> np.ndarray:
        """``(N, 2)`` patient-frame millimetres of point *name* (NaN if missing)."""
        got = self._cache.get(name)
        if got is None:
            got = to_frame(self.table.point(name), self.spacing, self.sign)
            self._cache[name] = got
        return got

    def pixels(self, as_mm: np.ndarray) -> np.ndarray:
        """``(N, 2)`` points or directions of this frame back in ``(x, y)`` image pixels."""
        return from_frame(as_mm, self.spacing, self.sign)

    def centre(self, level: str, corners: Sequence[str]) -> np.ndarray:
        """Body centre: the explicit ``<LEVEL>.centroid``, else the mean of its four corners."""
        explicit = self.p(f"{level}.centroid")
        c = [self.p(f"{level}.{e}.{side}") for e in ("sup", "inf") for side in corners]
        four = (c[0] + c[1] + c[2] + c[3]) / 4  # np.mean's sum, in its order
        return np.where(placed(explicit)[:, None], explicit, four)

    def reasons(self, needs: Sequence[Need], extra: np.ndarray | None = None) -> np.ndarray:
        """``(N,)`` object array: None where every need is met, else the reason.

        The missing labels are grouped by pattern so the cost does not grow
        with the number of studies that share one.
        """
        out = np.full(self.n, None, dtype=object)
        if not needs:
            return out
        # one (N,) array per need, not an (N, needs) block reduced over its short axis: that is slower
        missing = [~nd.met(self.table, self.has) for nd in needs]
        any_missing = missing[0].copy()
        for m in missing[1:]:
            any_missing |= m
        if any_missing.any():
            codes = np.zeros(self.n, dtype=np.int64)  # bit k: need k is missing
            for k, m in enumerate(missing):
                codes |= m.astype(np.int64) << k
            # sorted as np.unique sorts them, which would import numpy.ma (some 12 ms of a command's start)
            for code in sorted(set(codes[any_missing].tolist())):
                labels = [nd.label for k, nd in enumerate(needs) if code >> k & 1]
                out[codes == code] = "missing landmarks: " + ", ".join(labels)
        return out


# None as a 0-d object array: the "no reason" operand of ``np.where`` and ``np.equal`` on the
# ``(N,)`` reason arrays (numpy's stubs take no bare None as an array operand; the results are the same)
NO_REASON: np.ndarray = np.array(None, dtype=object)


def has_reason(reasons: np.ndarray) -> np.ndarray:
    """Where a reason array holds a reason (any object but None), as booleans of its shape.

    Told by each cell's reference (:func:`~spinecheck.landmarks.io.arrow_arrays.object_references`),
    not ``np.not_equal(reasons, NO_REASON)``, which calls Python's comparison of a text with None
    for every cell (forty to fifty times the time). The same answer for cells of text or None.

    Examples
    --------
    >>> has_reason(np.array(["missing landmarks: FH", None], dtype=object)).tolist()
    [True, False]
    """
    return (object_references(reasons) != id(None)).reshape(np.shape(reasons))


def column(value: np.ndarray, reason: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(value, reason)`` made consistent: NaN exactly where there is a reason.

    A value that came out non-finite without a reason gets one, so no number
    silently disappears.
    """
    ok = ~has_reason(reason)
    lost = ok & ~np.isfinite(value)
    if lost.any():
        reason = reason.copy()
        reason[lost] = "not computable from these landmarks (non-finite result)"
    return np.where(ok & ~lost, value, np.nan), reason


_MISSING = "missing landmarks: "


def merge_reasons(*reasons: np.ndarray) -> np.ndarray:
    """First non-None reason per study across several ``(N,)`` reason arrays.

    Missing landmarks are the exception: they are all named, so that a person
    who places what the first reason asks for is not then told of the next.

    Examples
    --------
    >>> a = np.array(["missing landmarks: S1.sup.ant", None, "no calibration"], dtype=object)
    >>> b = np.array(["missing landmarks: FH", "missing landmarks: FH", "missing landmarks: FH"], dtype=object)
    >>> merge_reasons(a, b).tolist()
    ['missing landmarks: S1.sup.ant, FH', 'missing landmarks: FH', 'no calibration']
    """
    out = reasons[0].copy()
    for r in reasons[1:]:
        given = has_reason(r)
        if not given.any():  # most often: nothing to add (one pass over r, not three)
            continue
        empty = ~has_reason(out)
        out[empty] = r[empty]
        both = np.flatnonzero(~empty & given)
        if both.size:
            # studies share a few reason patterns: merge each distinct pair once
            pairs = list(zip(out[both].tolist(), r[both].tolist(), strict=True))
            merged = {pair: _merge_missing(*pair) for pair in set(pairs)}
            out[both] = [merged[pair] for pair in pairs]
    return out


def _merge_missing(first: object, second: object) -> object:
    """*first*, with the landmarks *second* adds when both are missing-landmark reasons."""
    if not (isinstance(first, str) and isinstance(second, str)):
        return first
    if not (first.startswith(_MISSING) and second.startswith(_MISSING)) or first == second:
        return first
    have = first[len(_MISSING) :].split(", ")
    more = [x for x in second[len(_MISSING) :].split(", ") if x not in have]
    return ", ".join([first, *more]) if more else first


def _one_object(levels: np.ndarray) -> bool:
    """Whether every cell of an object array is one and the same object (then all are equal), by reference.

    A spine's role filled in for every study is one text object throughout; comparing the texts
    would call Python's comparison per cell. False says nothing: equal texts may be distinct objects.
    """
    if levels.dtype != object:
        return False
    refs = object_references(levels)
    return bool((refs == refs[0]).all())


def per_level(levels: np.ndarray, make: Callable[[str], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Per study, what *make* gives for that study's own level.

    *levels* is an ``(N,)`` array of level names (the level that plays a role in
    each study's spine: its sacrum, its last thoracic vertebra); *make* is
    called once per distinct level, on every study, and returns ``(N, ...)``
    arrays (values, reasons, points); each study keeps its rows of the arrays
    made for its level. A table of typical spines makes one call.

    Examples
    --------
    >>> vals = {"S1": np.array([1.0, 2.0]), "L5": np.array([10.0, 20.0])}
    >>> per_level(np.array(["S1", "L5"], dtype=object), lambda lv: (vals[lv],))
    (array([ 1., 20.]),)
    """
    if not len(levels):
        distinct = ["S1"]  # no study: any level makes the empty arrays
    elif _one_object(levels) or (levels == levels[0]).all():  # the common table, of one level
        distinct = [levels[0]]
    else:
        distinct = list(dict.fromkeys(levels.tolist()))
    out = tuple(a.copy() for a in make(distinct[0]))
    for level in distinct[1:]:
        rows = np.equal(levels, level)
        for o, a in zip(out, make(level), strict=True):
            o[rows] = a[rows]
    return out


__all__ += ["has_reason", "merge_reasons", "column", "per_level"]
