"""Segmental motion between a flexion and an extension film: translation and angle of each motion segment.

For every motion segment from T12-L1 to L5-S1 whose four corners (the upper
vertebra's inferior endplate and the lower vertebra's superior endplate) are
placed, each lateral film gives, in its own patient frame (clinical.md §0.3:
millimetres, ``a`` anterior, ``s`` superior; the films may face opposite ways):

- the **sagittal translation** ``T = (P_u - P_l) . e``: the offset of the upper
  vertebra's posteroinferior corner ``P_u`` from the lower vertebra's
  posterosuperior corner ``P_l``, measured along the lower vertebra's superior
  endplate ``e`` (unit vector from its posterior to its anterior corner);
  positive when the upper vertebra lies anterior (anterolisthesis), negative
  for retrolisthesis; in millimetres with the film's own calibration, and in
  pixels;
- the **depth** ``D = |A_l - P_l|`` of that caudal superior endplate, and the
  translation as a percentage of it, ``100 T / D`` (a ratio, so it needs no
  calibration);
- the **segmental angle** ``θ(upper inf) - θ(lower sup)`` (clinical.md §0.6:
  positive = lordosis).

Between the films (a flexion-extension pair of the same patient):

- ``translation_change = T_flexion - T_extension`` (mm, px and %): signed,
  positive when the upper vertebra lies further forward in flexion, the usual
  direction; criteria judge its size, ``|translation_change|`` (the dynamic
  translation of Elmose 2023 and the classic sets);
- ``angle_change = angle_extension - angle_flexion``: the segment's sagittal
  range of motion, signed (positive when it extends from flexion to extension,
  the normal direction; negative is paradoxical motion); criteria judge its size.

Decisions where the issue was silent (also in the README):

- **Segments**: T12-L1 to L5-S1, plus T12-T13, T13-L1, L5-L6 and L6-S1 on a spine
  with a thirteenth thoracic or a sixth lumbar vertebra (it has one when any point
  of that level is placed on either film; the segments across it then replace
  T12-L1 and L5-S1). T12-L1 is measured because the thoracolumbar junction is a
  common site of instability; each criterion set says which segments it judges.
  A segment is listed when any of its four corners is placed on either film; it
  is measured when all four are placed on both.
- **Depth**: the caudal vertebra's superior endplate, corner to corner, on each
  film; the percentage of each film uses that film's depth, and the change is
  the difference of the two percentages, so it needs no calibration.
- **Δ in millimetres** needs both films calibrated; **Δ in pixels** is given only
  when neither is (it assumes one pixel size on both films and says so).
- **Plausibility**: a segment whose vertebra fails the landmark check of
  :func:`spinecheck.landmarks.points.sanity.check_vertebrae` (corners swapped,
  levels out of order) on either film is withheld with the reason, as are a
  zero-length endplate and a film whose facing is unknown.

References
----------
Morgan FP, King T. Primary instability of lumbar vertebrae as a common cause of
low back pain. J Bone Joint Surg Br 1957;39-B(1):6-22 (translation of a vertebral
body on the one below on flexion-extension films) [S]. Dupuis PR, Yong-Hing K,
Cassidy JD, Kirkaldy-Willis WH. Radiologic diagnosis of degenerative lumbar
spinal instability. Spine 1985;10(3):262-276 (translation of a vertebral body
relative to the one below it and angulation between the adjacent endplates,
as described by later papers) [S-].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ...landmarks.errors import InvalidLandmarksError
from ...landmarks.points.facing import facing
from ...landmarks.points.model import LandmarkSet, LandmarkTable
from ...landmarks.points.names import LEVELS, TRANSITIONAL_LEVELS, View, level_index
from ...landmarks.points.sanity import check_vertebrae
from .plane import NO_REASON, angle_from_horizontal_deg, to_frame, wrap_deg

__all__ = [
    "MotionSegment",
    "MOTION_SEGMENTS",
    "FilmMotion",
    "Instability",
    "film_motion",
    "measure_instability",
]


class MotionSegment(NamedTuple):
    """Two adjacent vertebrae: ``upper`` (its inferior endplate) over ``lower`` (its superior endplate)."""

    upper: str
    lower: str

    @property
    def name(self) -> str:
        """``"L4-L5"``."""
        return f"{self.upper}-{self.lower}"

    def corners(self) -> tuple[str, str, str, str]:
        """The four points the segment needs: upper inf post/ant, lower sup post/ant."""
        return (
            f"{self.upper}.inf.post",
            f"{self.upper}.inf.ant",
            f"{self.lower}.sup.post",
            f"{self.lower}.sup.ant",
        )


def _segments() -> tuple[MotionSegment, ...]:
    """T12 down to S1: each level with the next, and across a transitional level that may be absent."""
    levels = LEVELS[level_index("T12") : level_index("S1") + 1]
    out = []
    for i, upper in enumerate(levels[:-1]):
        out.append(MotionSegment(upper, levels[i + 1]))
        if levels[i + 1] in TRANSITIONAL_LEVELS and i + 2 < len(levels):
            out.append(MotionSegment(upper, levels[i + 2]))
    return tuple(sorted(out, key=lambda s: (level_index(s.upper), level_index(s.lower))))


#: Every motion segment measured, top to bottom (with the variants across a transitional level).
MOTION_SEGMENTS: tuple[MotionSegment, ...] = _segments()


@dataclass(frozen=True, eq=False)
class FilmMotion:
    """What each of N lateral films shows of K motion segments: ``(N, K)`` arrays.

    Attributes
    ----------
    segments : tuple of MotionSegment
        The K segments (columns).
    present : ndarray of bool
        The segment belongs to that film's spine (a transitional level placed or not) and at
        least one of its corners is placed.
    translation_mm, translation_px : ndarray
        Sagittal translation ``T`` (positive anterior); NaN in mm when uncalibrated.
    depth_mm, depth_px : ndarray
        Depth of the caudal superior endplate.
    translation_pct : ndarray
        ``100 T / D``.
    angle_deg : ndarray
        Segmental angle, lordosis positive.
    reason : ndarray of object
        Why a present segment was not measured (None where measured or absent).
    calibrated : ndarray of bool, shape (N,)
    """

    segments: tuple[MotionSegment, ...]
    present: np.ndarray
    translation_mm: np.ndarray
    translation_px: np.ndarray
    depth_mm: np.ndarray
    depth_px: np.ndarray
    translation_pct: np.ndarray
    angle_deg: np.ndarray
    reason: np.ndarray
    calibrated: np.ndarray

    @property
    def measured(self) -> np.ndarray:
        """``(N, K)`` bool: present and measured."""
        return self.present & np.equal(self.reason, NO_REASON) & np.isfinite(self.angle_deg)


@dataclass(frozen=True, eq=False)
class Instability:
    """Segmental motion between N flexion films and N extension films (row i with row i).

    Attributes
    ----------
    segments : tuple of MotionSegment
        The K segments listed for at least one pair, top to bottom.
    flexion, extension : FilmMotion
        Each film's measures, ``(N, K)``.
    present : ndarray of bool, shape (N, K)
        The segment is listed for the pair (present on either film).
    translation_change_mm, translation_change_px, translation_change_pct : ndarray, shape (N, K)
        ``T_flexion - T_extension``; mm needs both films calibrated, px is given only when
        neither is (one pixel size assumed on both).
    angle_change_deg : ndarray, shape (N, K)
        ``angle_extension - angle_flexion``: the sagittal range of motion.
    reason : ndarray of object, shape (N, K)
        Why a listed segment has no change (None where it has one).
    """

    segments: tuple[MotionSegment, ...]
    flexion: FilmMotion
    extension: FilmMotion
    present: np.ndarray
    translation_change_mm: np.ndarray
    translation_change_px: np.ndarray
    translation_change_pct: np.ndarray
    angle_change_deg: np.ndarray
    reason: np.ndarray

    def __len__(self) -> int:
        return self.present.shape[0]

    @property
    def names(self) -> tuple[str, ...]:
        """The segments' names, ``("L1-L2", ...)``."""
        return tuple(s.name for s in self.segments)

    @property
    def measured(self) -> np.ndarray:
        """``(N, K)`` bool: the change was measured."""
        return self.present & np.equal(self.reason, NO_REASON)


def _as_table(films: LandmarkSet | LandmarkTable, argument: str) -> LandmarkTable:
    """*films* as a table of lateral films; an AP film is an error about *argument*."""
    table = films.to_table() if isinstance(films, LandmarkSet) else films
    ap = [i for i, v in enumerate(table.views) if View.parse(v) is not View.LATERAL]
    if ap:
        raise InvalidLandmarksError.about(
            argument,
            f"{{{argument}}}: study {{i}} ({{name}}) is an AP film; segmental motion is measured on lateral films",
            i=ap[0],
            name=table.ids[ap[0]],
        )
    return table


def _belongs(
    table: LandmarkTable, segments: Sequence[MotionSegment], other: LandmarkTable | None
) -> np.ndarray:
    """``(N, K)``: whether each segment fits each film's spine.

    A segment fits when it skips no transitional level the spine has, uses
    none it lacks, and its upper vertebra moves (is above the sacrum: with a
    sacralised L5 the lumbosacral segment is L4-L5, and L5-S1 is not one); a
    spine has T13 (L6) when any point of that level is placed on either film of
    the pair, and a sacralised vertebra when either film records it.
    """
    n = len(table)
    has = {}
    for level in TRANSITIONAL_LEVELS:
        names = [p for p in table.points if p.startswith(f"{level}.")]
        got = np.zeros(n, dtype=bool)
        for p in names:
            got |= table.has(p)
        if other is not None:
            for p in (p for p in other.points if p.startswith(f"{level}.")):
                got |= other.has(p)
        has[level] = got
    out = np.ones((n, len(segments)), dtype=bool)
    # the sacrum (S1, or a sacralised L5/L6 on either film's record) does not move: a segment whose upper
    # vertebra is at or below it is fused, not a motion segment
    sacrum = table.spine().of("sacrum")
    if other is not None:
        sacrum = np.where(np.equal(sacrum, "S1"), other.spine().of("sacrum"), sacrum)
    sacrum_index = np.array([level_index(s) for s in sacrum], dtype=int)
    for k, seg in enumerate(segments):
        lo, hi = level_index(seg.upper), level_index(seg.lower)
        out[:, k] &= lo < sacrum_index
        for level in TRANSITIONAL_LEVELS:
            j = level_index(level)
            if level in (seg.upper, seg.lower):
                out[:, k] &= has[level]
            elif lo < j < hi:
                out[:, k] &= ~has[level]
    return out


def film_motion(
    films: LandmarkSet | LandmarkTable,
    segments: Sequence[MotionSegment] = MOTION_SEGMENTS,
    *,
    partner: LandmarkSet | LandmarkTable | None = None,
) -> FilmMotion:
    """Measure every motion segment on N lateral films, vectorised over films and segments.

    Parameters
    ----------
    films : LandmarkSet or LandmarkTable
        N lateral films, ``(x, y)`` pixels; calibration per film (NaN spacing:
        lengths in pixels only).
    segments : sequence of MotionSegment
        The segments to measure (default :data:`MOTION_SEGMENTS`).
    partner : LandmarkSet or LandmarkTable, optional
        The other film of each pair: a transitional level placed on either film
        belongs to the spine, and a segment placed on either is listed.

    Returns
    -------
    FilmMotion

    Examples
    --------
    L5 25 px anterior of S1 on a film of 0.2 mm/px, the S1 endplate 200 px deep,
    both endplates parallel:

    >>> pts = {"L5.inf.post": (125.0, 0.0), "L5.inf.ant": (325.0, 0.0),
    ...        "S1.sup.post": (100.0, 50.0), "S1.sup.ant": (300.0, 50.0)}
    >>> from spinecheck.landmarks.points.calibration import Calibration
    >>> m = film_motion(LandmarkSet("lateral", pts, Calibration.from_spacing([0.2, 0.2])))
    >>> k = [s.name for s in m.segments].index("L5-S1")
    >>> float(m.translation_mm[0, k]), float(m.translation_pct[0, k]), float(m.angle_deg[0, k])
    (5.0, 12.5, 0.0)
    """
    table = _as_table(films, "films")
    other = None if partner is None else _as_table(partner, "partner")
    segments = tuple(segments)
    n, k = len(table), len(segments)
    sign = facing(table).sign
    spacing = np.where(np.isfinite(table.mm_per_px), table.mm_per_px, 1.0)
    calibrated = np.asarray(table.calibrated, dtype=bool)
    ones = np.ones((n, 2))
    belongs = _belongs(table, segments, other)
    bad, problems = check_vertebrae(table, sign)

    shape = (n, k)
    t_mm, t_px, d_mm, d_px, pct, ang = (np.full(shape, np.nan) for _ in range(6))
    present = np.zeros(shape, dtype=bool)
    reason = np.full(shape, None, dtype=object)
    for j, seg in enumerate(segments):
        corners = seg.corners()
        placed = np.stack([table.has(c) for c in corners], axis=1)
        listed = placed.any(axis=1)
        if other is not None:
            listed |= np.stack([other.has(c) for c in corners], axis=1).any(axis=1)
        present[:, j] = belongs[:, j] & listed
        why = np.full(n, None, dtype=object)
        missing = ~placed.all(axis=1)
        for code in np.unique(placed[missing], axis=0):
            rows = missing & (placed == code).all(axis=1)
            why[rows] = "missing landmarks: " + ", ".join(
                c for c, ok in zip(corners, code, strict=True) if not ok
            )
        why[np.isnan(sign) & ~missing] = "which way the patient faces is unknown (no endplate tells)"
        suspect = (bad[:, level_index(seg.upper)] | bad[:, level_index(seg.lower)]) & ~missing
        for i in np.flatnonzero(suspect):
            found = [q for q in str(problems[i]).split("; ") if q.split(":")[0].split(" ")[0] in seg]
            why[i] = "withheld: " + ("; ".join(found) or f"{seg.name} failed the landmark check")
        p_u, a_u, p_l, a_l = (table.point(c) for c in corners)
        # millimetres (spacing 1 where uncalibrated: angles and ratios stay valid), then pixels
        mm = [to_frame(q, spacing, sign) for q in (p_u, a_u, p_l, a_l)]
        px = [to_frame(q, ones, sign) for q in (p_u, a_u, p_l, a_l)]
        t_sp, d_sp = _offset_along(mm)
        t_px[:, j], d_px[:, j] = _offset_along(px)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct[:, j] = 100.0 * t_sp / d_sp
        t_mm[:, j], d_mm[:, j] = t_sp, d_sp
        theta_u = angle_from_horizontal_deg(mm[0], mm[1])
        theta_l = angle_from_horizontal_deg(mm[2], mm[3])
        ang[:, j] = wrap_deg(theta_u - theta_l)
        flat = ~missing & np.equal(why, NO_REASON) & ~(d_px[:, j] > 0)
        why[flat] = f"{seg.lower}.sup has zero length (its two corners coincide)"
        reason[:, j] = np.where(present[:, j], why, NO_REASON)
    ok = present & np.equal(reason, NO_REASON)
    cal = ok & calibrated[:, None]
    return FilmMotion(
        segments,
        present,
        np.where(cal, t_mm, np.nan),
        np.where(ok, t_px, np.nan),
        np.where(cal, d_mm, np.nan),
        np.where(ok, d_px, np.nan),
        np.where(ok, pct, np.nan),
        np.where(ok, ang, np.nan),
        reason,
        calibrated,
    )


def _offset_along(points: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(T, D)`` of one segment on N films: ``(P_u - P_l) . e`` and ``|A_l - P_l|``, in the frame's units."""
    p_u, _, p_l, a_l = points
    d = a_l - p_l
    depth = np.hypot(d[:, 0], d[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = ((p_u - p_l) * d).sum(axis=1) / depth
    return offset, depth


def measure_instability(
    flexion: LandmarkSet | LandmarkTable, extension: LandmarkSet | LandmarkTable
) -> Instability:
    """Translation and angle of every motion segment on flexion and extension films, and their change.

    Parameters
    ----------
    flexion, extension : LandmarkSet or LandmarkTable
        N lateral films each, ``(x, y)`` pixels, row i of one with row i of the
        other (the same patient); each film with its own calibration.

    Returns
    -------
    Instability
        ``(N, K)`` arrays over the K segments listed for at least one pair.

    Raises
    ------
    InvalidLandmarksError
        A film is not lateral, or the two do not hold as many studies.

    Notes
    -----
    ``translation_change = T_flexion - T_extension``; ``angle_change =
    angle_extension - angle_flexion``; see the module notes for the construction.

    Examples
    --------
    L4 over L5, both endplates 40 px deep on films of 0.5 mm/px: in flexion L4
    sits 6 px (3 mm) forward and the segment is 2 deg kyphotic; in extension it
    sits 2 px (1 mm) back and is 10 deg lordotic.

    >>> import math
    >>> from spinecheck.landmarks.points.calibration import Calibration
    >>> cal = Calibration.from_spacing([0.5, 0.5])
    >>> def film(shift, angle_deg):
    ...     a = math.radians(angle_deg)  # the upper endplate turned about its posterior corner
    ...     post = (100.0 + shift, 90.0)
    ...     ant = (post[0] + 40 * math.cos(a), post[1] - 40 * math.sin(a))
    ...     return LandmarkSet("lateral", {"L4.inf.post": post, "L4.inf.ant": ant,
    ...                                    "L5.sup.post": (100.0, 100.0), "L5.sup.ant": (140.0, 100.0)}, cal)
    >>> m = measure_instability(film(6.0, -2.0), film(-2.0, 10.0))
    >>> m.names
    ('L4-L5',)
    >>> [round(float(x[0, 0]), 6) for x in (m.translation_change_mm, m.translation_change_pct,
    ...                                     m.angle_change_deg)]
    [4.0, 20.0, 12.0]
    """
    flex = _as_table(flexion, "flexion")
    ext = _as_table(extension, "extension")
    if len(flex) != len(ext):
        raise InvalidLandmarksError.about(
            "extension",
            "{extension}: holds {m} studies, {flexion} {n}: each flexion film pairs with one extension film",
            names={"flexion": "flexion"},
            m=len(ext),
            n=len(flex),
        )
    fm = film_motion(flex, MOTION_SEGMENTS, partner=ext)
    em = film_motion(ext, MOTION_SEGMENTS, partner=flex)
    present = fm.present | em.present
    keep = present.any(axis=0)
    idx = np.flatnonzero(keep)
    segments = tuple(MOTION_SEGMENTS[j] for j in idx)
    fm, em = _columns(fm, idx, segments), _columns(em, idx, segments)
    present = present[:, idx]
    both = fm.measured & em.measured
    reason = _joined(fm, em, present & ~both)
    both_cal = fm.calibrated & em.calibrated
    neither_cal = ~fm.calibrated & ~em.calibrated
    return Instability(
        segments,
        fm,
        em,
        present,
        np.where(both & both_cal[:, None], fm.translation_mm - em.translation_mm, np.nan),
        np.where(both & neither_cal[:, None], fm.translation_px - em.translation_px, np.nan),
        np.where(both, fm.translation_pct - em.translation_pct, np.nan),
        np.where(both, em.angle_deg - fm.angle_deg, np.nan),
        reason,
    )


def _columns(m: FilmMotion, idx: np.ndarray, segments: tuple[MotionSegment, ...]) -> FilmMotion:
    return FilmMotion(
        segments,
        m.present[:, idx],
        m.translation_mm[:, idx],
        m.translation_px[:, idx],
        m.depth_mm[:, idx],
        m.depth_px[:, idx],
        m.translation_pct[:, idx],
        m.angle_deg[:, idx],
        m.reason[:, idx],
        m.calibrated,
    )


def _joined(fm: FilmMotion, em: FilmMotion, unmeasured: np.ndarray) -> np.ndarray:
    """``(N, K)`` reasons of the segments not measured on both films, each naming its film."""
    out = np.full(unmeasured.shape, None, dtype=object)
    for i, j in zip(*np.nonzero(unmeasured), strict=True):
        parts = [
            f"{film} film: {m.reason[i, j] if m.present[i, j] else 'segment not placed'}"
            for film, m in (("flexion", fm), ("extension", em))
            if not m.measured[i, j]
        ]
        out[i, j] = "; ".join(parts)
    return out
