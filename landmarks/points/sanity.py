"""Plausibility checks of annotated landmarks, vectorised over studies.

A mislabelled file (two points swapped, a vertebra's corners rotated, levels
out of order) yields numbers that look confident and are wrong: swapping
``S1.sup.ant`` and ``L5.inf.post`` gives PI -50.9 deg, swapping ``IC.left``
and ``IC.right`` a pelvic obliquity of -178 deg. These checks find the slips
that anatomy rules out on a standing film, so that the parameters built on a
suspect point are withheld with the reason (or the study warned) instead.

The checks
----------
Every check works in millimetres (pixels where uncalibrated) in a frame whose
horizontal axis points to image right on an AP film and to the patient's front
on a lateral film, so that each endplate runs from its first corner (left,
posterior) to its second (right, anterior) and its tilt is near 0 deg.

Withheld (the anatomy of a standing film rules the placement out):

1. *corner order*: a vertebra's superior corners above its inferior ones on
   each side; on AP films each endplate's left corner left of its right one;
   on lateral films each anterior corner on the anterior side. A vertebra's
   corners swapped top for bottom or side for side fail here.
2. *tilt among the neighbours*: an endplate whose tilt differs by more than
   :data:`TILT_WITHHOLD_DEG` from the median tilt of the vertebrae up to two
   levels above and below it (each vertebra's tilt the mean of its
   endplates'; its own vertebra excluded). A vertebra's corners rotated by one place (in either
   direction) turn its endplates by about 90 deg and fail here.
3. *length among the neighbours*: an endplate longer than
   :data:`LENGTH_WITHHOLD_FACTOR` times, or shorter than its inverse, the
   median endplate length of the same neighbours: a corner borrowed from
   another vertebra.
4. *order along the spine*: a corner of a vertebra's endplate lying more than
   :data:`DISC_WITHHOLD` of the study's mean endplate length below the
   corner on the same side of the next endplate down (both vertebrae are
   suspect: either may hold the other's point), and body centres descending
   from level to level. The sacrum below L5 is this check at the lumbosacral
   disc.
5. *the sacral endplate and the facing*: on a lateral film the sacral endplate
   decides which way the patient faces (:mod:`~spinecheck.landmarks.points.facing`);
   when at least :data:`FACING_MIN_VOTES` other endplates, and three quarters
   of those with both corners placed, say the opposite, the sacral corners
   are swapped and every sagittal parameter (all measured in that frame) is
   withheld.
6. *femoral heads*: every femoral-head centre below the sacral endplate's
   midpoint, and on AP films ``FH.left`` left of ``FH.right``.
7. *iliac crests* (AP): ``IC.left`` left of ``IC.right`` (image sides, as
   every left/right name, formats.md §1), each crest farther from the
   sacral endplate's midpoint than that endplate is wide (the top of a crest
   lies about 10-12 cm from the midline in adults, the S1 endplate is 4-5 cm
   wide; in adolescents about 9 and 3.5 cm), each crest below the L1 inferior endplate (the line joining the crests
   crosses L4 or the L4-L5 disc in most adults, L3 to S1 in all) and above
   the femoral heads.

Warned (the evidence is weaker: a real spine can come close):

- an endplate tilt differing from its neighbours' by more than
  :data:`TILT_WARN_DEG`, or a length outside :data:`LENGTH_WARN_FACTOR` of
  theirs, short of the withholding limits.

The limits, and why: adjacent vertebrae's endplates differ in tilt by the
disc's and the vertebra's wedge angles, each at most about 15-20 deg even at
the apex of a severe scoliosis or at a hyperlordotic L5-S1 (segmental
lordosis at L5-S1 averages about 20-25 deg in asymptomatic adults), so the
median of the neighbours within two levels stays within about 35 deg of a real
endplate; a rotated vertebra is 90 deg off. Vertebral bodies widen by about
5-10 % per level (C3 to L5 widths grow from about 15 to 50 mm over 22 levels;
S1's endplate is at most about 1.4 times L5's depth), so a factor of 2 within
two levels does not occur in a real spine, and 1.5 is already unusual. Discs
are 4-12 mm high, so the same-side corners across a disc are ordered by
several percent of an endplate's length; but real annotations overlap
there (on the readable AASCE labels of ``../shared/data``, up to 0.3 of an
endplate's length), so a smaller rise is warned and only one over 0.35 withheld.
On the 522 readable AASCE labels the checks withhold values on 29 (28 of them
levels out of order or corners swapped in the label itself, as before these
checks; one a corner 131 px below the next vertebra's) and warn on 23.
"Within two levels" counts the T13 and L6 slots only where they are placed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .model import LandmarkTable
from .names import LEVELS, View

__all__ = [
    "Plausibility",
    "check_landmarks",
    "check_vertebrae",
    "TILT_WITHHOLD_DEG",
    "TILT_WARN_DEG",
    "LENGTH_WITHHOLD_FACTOR",
    "LENGTH_WARN_FACTOR",
    "DISC_WITHHOLD",
    "DISC_WARN",
    "FACING_MIN_VOTES",
]

#: An endplate tilting this much (deg) away from its neighbours' median is withheld (check 2).
TILT_WITHHOLD_DEG = 60.0
#: An endplate tilting this much (deg) away from its neighbours' median is warned about.
TILT_WARN_DEG = 35.0
#: An endplate this many times longer (or shorter) than its neighbours' median is withheld (check 3).
LENGTH_WITHHOLD_FACTOR = 2.0
#: An endplate this many times longer (or shorter) than its neighbours' median is warned about.
LENGTH_WARN_FACTOR = 1.5
#: A corner lying this far (fraction of the study's mean endplate length) below the same side's
#: corner of the next endplate down is withheld (check 4).
DISC_WITHHOLD = 0.35
#: A corner lying this far below the next one down is warned about.
DISC_WARN = 0.1
#: Other endplates that must all face against the sacral endplate before its corners are doubted.
FACING_MIN_VOTES = 3

_NONE: np.ndarray = np.array(None, dtype=object)  # None as numpy's stubs take it in np.equal
_NEIGHBOURS = 2  # levels above and below whose endplates a vertebra's are compared with
_WORD = {0: "superior", 1: "inferior"}


class Plausibility(NamedTuple):
    """What :func:`check_landmarks` found on N studies.

    Attributes
    ----------
    bad : ndarray of bool, shape (N, len(LEVELS))
        Suspect vertebrae (index into :data:`LEVELS`): a parameter built on one is withheld.
    problems : ndarray of object, shape (N,)
        None, or a one-line description of every withholding finding.
    hips : ndarray of bool, shape (N,)
        A femoral head fails (check 6): the hip axis is withheld.
    crests : ndarray of bool, shape (N,)
        The iliac crests fail (check 7): pelvic obliquity is withheld.
    facing : ndarray of bool, shape (N,)
        The sacral endplate faces against the other endplates (check 5):
        every sagittal parameter is withheld.
    doubts : ndarray of object, shape (N,)
        None, or a one-line description of every warned finding (values kept).
    """

    bad: np.ndarray
    problems: np.ndarray
    hips: np.ndarray
    crests: np.ndarray
    facing: np.ndarray
    doubts: np.ndarray

    @classmethod
    def merged(cls, n: int, parts: list[tuple[np.ndarray, Plausibility]]) -> Plausibility:
        """The findings of *n* studies from those of some of them (``(rows, found)`` pairs); none elsewhere.

        >>> from spinecheck.landmarks.points.model import LandmarkSet
        >>> crossed = LandmarkSet("ap", {"IC.left": (90, 60), "IC.right": (10, 60)}).to_table()
        >>> whole = Plausibility.merged(3, [(np.array([1]), check_landmarks(crossed))])
        >>> whole.crests.tolist(), whole.problems[0] is None, whole.bad.shape
        ([False, True, False], True, (3, 26))
        """
        out = cls(
            np.zeros((n, len(LEVELS)), dtype=bool),
            np.full(n, None, dtype=object),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
            np.full(n, None, dtype=object),
        )
        for rows, found in parts:
            for whole, part in zip(out, found, strict=True):
                whole[rows] = part
        return out


class _Notes:
    """Findings per study, collected from vectorised masks (only the flagged rows are visited)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bad = np.zeros((n, len(LEVELS)), dtype=bool)
        self.withheld: dict[int, list[str]] = {}  # only the flagged studies: most have none
        self.warned: dict[int, list[str]] = {}

    def add(
        self,
        mask: np.ndarray,
        text: str | Callable[[int], str],
        levels: tuple[int | np.ndarray, ...] = (),
        *,
        withhold: bool = True,
        mark: np.ndarray | None = None,
    ) -> None:
        into = self.withheld if withhold else self.warned
        for i in np.flatnonzero(mask):
            into.setdefault(int(i), []).append(text(int(i)) if callable(text) else text)
            if withhold:
                for j in levels:
                    self.bad[i, j if isinstance(j, int) else int(j[i])] = True
                if mark is not None:
                    mark[i] = True

    def one(self, i: int, text: str, levels: tuple[int, ...], *, withhold: bool = True) -> None:
        if withhold:
            self.withheld.setdefault(i, []).append(text)
            self.bad[i, list(levels)] = True
        else:
            self.warned.setdefault(i, []).append(text)

    def joined(self, notes: dict[int, list[str]]) -> np.ndarray:
        out = np.full(self.n, None, dtype=object)
        for i, texts in notes.items():
            out[i] = "; ".join(dict.fromkeys(texts))
        return out


def check_landmarks(table: LandmarkTable, anterior_sign: np.ndarray | None = None) -> Plausibility:
    """Check every study's landmarks against the anatomy of a standing film (the module notes).

    Parameters
    ----------
    table : LandmarkTable
        ``(x, y)`` pixels; the spacing, where given, scales them to millimetres.
    anterior_sign : ndarray, shape (N,), optional
        Lateral films' anterior direction (+1 image right, -1 image left,
        :func:`~spinecheck.landmarks.points.facing.facing`); the side checks of
        lateral films are skipped where it is NaN or not given.

    Returns
    -------
    Plausibility

    Examples
    --------
    Iliac crests swapped (image sides), and then the femoral head placed above the sacrum:

    >>> from spinecheck.landmarks.points.model import LandmarkSet
    >>> pelvis = {"S1.sup.left": (40, 100), "S1.sup.right": (60, 100), "FH": (50, 150)}
    >>> found = check_landmarks(LandmarkSet("ap", {**pelvis, "IC.left": (90, 60), "IC.right": (10, 60)}).to_table())
    >>> bool(found.crests[0]), bool(found.hips[0]), bool(found.bad.any()), found.problems[0]
    (True, False, False, 'IC.left is not left of IC.right (image sides; swapped?)')
    >>> found = check_landmarks(LandmarkSet("ap", {**pelvis, "FH": (50, 80)}).to_table())
    >>> bool(found.hips[0]), found.problems[0]
    (True, "FH lies above the S1 superior endplate's midpoint (the femoral heads are below the sacrum)")
    """
    n = len(table)
    notes = _Notes(n)
    is_ap = np.asarray(table.views == View.AP, dtype=bool)  # str enum: "ap" matches too
    sign = np.full(n, np.nan) if anterior_sign is None else np.asarray(anterior_sign, dtype=float)
    spacing = np.where(np.isfinite(table.mm_per_px), table.mm_per_px, 1.0)
    frame = _Frame(table, is_ap, spacing)
    active = [
        j for j, level in enumerate(LEVELS) if any(name.startswith(level + ".") for name in table.points)
    ]
    facing = np.zeros(n, dtype=bool)
    if active:
        ends = _Endplates.of(table, active)
        facing = (
            np.zeros(n, dtype=bool) if is_ap.all() else _check_facing(ends, frame, active, sign, is_ap, notes)
        )
        sign = np.where(facing, -sign, sign)  # the other endplates' word: only the sacrum is blamed
        h_sign = np.where(is_ap, 1.0, np.where(np.isfinite(sign), sign, 1.0))
        tilt, length = ends.shape_of(h_sign, spacing)
        _check_corner_order(ends, active, is_ap, sign, notes)
        _check_among_neighbours(tilt, length, active, notes)
        _check_spine_order(ends, length, frame, active, notes)
    hips = np.zeros(n, dtype=bool)
    crests = np.zeros(n, dtype=bool)
    _check_pelvis(table, frame, is_ap, hips, crests, notes)
    return Plausibility(
        notes.bad, notes.joined(notes.withheld), hips, crests, facing, notes.joined(notes.warned)
    )


def check_vertebrae(
    table: LandmarkTable, anterior_sign: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Find implausible vertebrae: :func:`check_landmarks`' ``(bad, problems)``.

    Parameters
    ----------
    table : LandmarkTable
    anterior_sign : ndarray, shape (N,), optional
        Lateral films' anterior direction; the side check is skipped where NaN.

    Returns
    -------
    bad : ndarray of bool, shape (N, len(LEVELS))
        Suspect levels (index into :data:`LEVELS`).
    problems : ndarray of object, shape (N,)
        None, or a one-line description of every problem found (femoral heads
        and iliac crests included).

    Examples
    --------
    >>> from spinecheck.landmarks.points.model import LandmarkSet
    >>> s = LandmarkSet("ap", {"L4.sup.left": (0, 10), "L4.sup.right": (10, 10),
    ...                        "L4.inf.left": (0, 5), "L4.inf.right": (10, 5)})
    >>> check_vertebrae(s.to_table())[1][0]
    'L4: superior corners lie below the inferior corners (swapped?)'
    """
    found = check_landmarks(table, anterior_sign)
    return found.bad, found.problems


class _Frame:
    """Points of a table in millimetres (pixels where uncalibrated), y down; AP names or lateral names."""

    def __init__(self, table: LandmarkTable, is_ap: np.ndarray, spacing: np.ndarray) -> None:
        self.table, self.is_ap, self.spacing = table, is_ap, spacing
        # each study's sacral level (SpineLevels.of(LevelRole.SACRUM), without building the whole spine)
        sacralised = table.sacralised
        self.sacrum = (
            np.full(len(table), "S1", dtype=object)
            if sacralised is None
            else np.where(np.equal(sacralised, _NONE), "S1", sacralised).astype(object)
        )
        self._points: dict[str, np.ndarray] = {}
        self._missing: np.ndarray | None = None
        self._sacral: tuple[np.ndarray, np.ndarray] | None = None

    def point(self, name: str) -> np.ndarray:
        """``(N, 2)`` millimetres of *name*; NaN where absent or where only one coordinate is given.

        Made once per name (several checks ask for the sacral corners); one all-NaN array stands
        for every name no study has.
        """
        got = self._points.get(name)
        if got is None:
            p = self.table.points.get(name)
            if p is None:
                if self._missing is None:
                    self._missing = np.full((len(self.table), 2), np.nan)
                got = self._missing
            else:
                # column by column, not .all(axis=1): some twenty times the time
                placed = np.isfinite(p[:, 0]) & np.isfinite(p[:, 1])
                got = np.where(placed[:, None], p * self.spacing[:, ::-1], np.nan)
            self._points[name] = got
        return got

    def unit(self, i: int) -> str:
        """The unit of study *i*'s coordinates here: mm where calibrated, else px."""
        return "mm" if np.isfinite(self.table.mm_per_px[i]).all() else "px"

    def corner(self, level: str, endplate: str, first: bool) -> np.ndarray:
        """An endplate's first corner (left on AP, posterior on lateral) or its second (right, anterior)."""
        ap, lat = ("left", "post") if first else ("right", "ant")
        both = self.point(f"{level}.{endplate}.{ap}"), self.point(f"{level}.{endplate}.{lat}")
        return np.where(self.is_ap[:, None], both[0], both[1])

    def sacral_corners(self) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 2)`` twice: each study's sacral endplate's (S1's, or a sacralised vertebra's) two corners."""
        if self._sacral is None:
            first, second = np.full((len(self.sacrum), 2), np.nan), np.full((len(self.sacrum), 2), np.nan)
            for level in set(self.sacrum.tolist()):
                rows = np.equal(self.sacrum, level)
                first[rows] = self.corner(level, "sup", True)[rows]
                second[rows] = self.corner(level, "sup", False)[rows]
            self._sacral = first, second
        return self._sacral

    def sacral_midpoint(self) -> np.ndarray:
        """``(N, 2)`` the midpoint of each study's sacral endplate."""
        first, second = self.sacral_corners()
        return (first + second) / 2


class _Endplates(NamedTuple):
    """The endplates of the active levels, level-major: ``(A, 2, N)`` arrays (level, sup/inf, study).

    ``first`` and ``second`` corners: left and right on AP films, posterior and
    anterior on lateral films; ``dh`` is the second corner's x minus the first's
    (pixels; on lateral films times the anterior sign once :meth:`oriented`),
    ``y_first``/``y_second`` the corners' y (pixels, down).
    """

    dh: np.ndarray
    y_first: np.ndarray
    y_second: np.ndarray
    centroid_y: np.ndarray  # (A, N): an explicit <LEVEL>.centroid's y, NaN where none

    @classmethod
    def of(cls, table: LandmarkTable, active: list[int]) -> _Endplates:
        n, a = len(table), len(active)
        # float32 halves the memory the checks stream through; their limits are coarse and their
        # order tests compare coordinates a float32 holds exactly to a thousandth of a pixel
        dh, y_first, y_second = (np.full((a, 2, n), np.nan, dtype=np.float32) for _ in range(3))
        centroid_y = np.full((a, n), np.nan)
        points = table.points
        for q, j in enumerate(active):
            level = LEVELS[j]
            for e, endplate in enumerate(("sup", "inf")):
                for first_name, second_name in (("left", "right"), ("post", "ant")):
                    # each view's names are NaN on the other view's rows: fmax keeps the one given
                    f, s = (
                        points.get(f"{level}.{endplate}.{first_name}"),
                        points.get(f"{level}.{endplate}.{second_name}"),
                    )
                    if f is not None:
                        y = np.where(np.isnan(f[:, 0]), np.nan, f[:, 1])  # a point is both coordinates
                        np.fmax(y_first[q, e], y, out=y_first[q, e])
                    if s is not None:
                        y = np.where(np.isnan(s[:, 0]), np.nan, s[:, 1])
                        np.fmax(y_second[q, e], y, out=y_second[q, e])
                    if f is not None and s is not None:
                        np.fmax(dh[q, e], s[:, 0] - f[:, 0], out=dh[q, e])
            c = points.get(f"{level}.centroid")
            if c is not None:
                centroid_y[q] = np.where(np.isnan(c[:, 0]), np.nan, c[:, 1])
        dh[np.isnan(y_first) | np.isnan(y_second)] = np.nan
        return cls(dh, y_first, y_second, centroid_y)

    def shape_of(self, h_sign: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each endplate's tilt (deg, 0 = level, positive = second corner higher) and length, in mm.

        *h_sign* (N,) turns x to the anterior on lateral films; *spacing* is ``(N, 2)`` (row, col).
        """
        dh = self.dh * (h_sign * spacing[:, 1]).astype(np.float32)
        dv = (self.y_first - self.y_second) * spacing[:, 0].astype(np.float32)  # up is positive
        return np.degrees(np.arctan2(dv, dh)), np.hypot(dh, dv)


def _check_facing(
    ends: _Endplates, frame: _Frame, active: list[int], sign: np.ndarray, is_ap: np.ndarray, notes: _Notes
) -> np.ndarray:
    """Check 5: where the sacral endplate faces against a clear majority of at least FACING_MIN_VOTES others."""
    n = len(sign)
    names, inverse = np.unique(frame.sacrum.astype(str), return_inverse=True)  # a few levels, many studies
    sacral = np.array([LEVELS.index(s) for s in names.tolist()], dtype=int)[inverse.ravel()]
    not_sacral = np.ones(ends.dh.shape, dtype=bool)
    not_sacral[:, 0, :] = np.array(active)[:, None] != sacral[None, :]
    said = np.isfinite(ends.dh) & (ends.dh != 0) & not_sacral
    votes = said.sum(axis=(0, 1))
    against = (said & (np.sign(ends.dh) == -sign)).sum(axis=(0, 1))
    # a clear majority: a swapped sacral endplate also turns the sacrum's other endplate, whose vote may go either way
    doubt = ~is_ap & np.isfinite(sign) & (against >= FACING_MIN_VOTES) & (against >= 3 * (votes - against))
    # the sacral endplate decided the sign (facing.py) where both its corners are placed
    doubt &= np.isfinite(frame.sacral_midpoint()[:, 0])
    facing = np.zeros(n, dtype=bool)
    # every sagittal parameter is measured in the patient frame this endplate sets: all are suspect
    notes.add(
        doubt,
        lambda i: (
            f"{frame.sacrum[i]}.sup.ant lies posterior of {frame.sacrum[i]}.sup.post, unlike "
            f"{int(against[i])} of the {int(votes[i])} other endplates (swapped?): which way the patient "
            "faces is in doubt"
        ),
        tuple(range(len(LEVELS))),
        mark=facing,
    )
    return facing


def _check_corner_order(
    ends: _Endplates, active: list[int], is_ap: np.ndarray, sign: np.ndarray, notes: _Notes
) -> None:
    """Check 1: superior above inferior on each side; each endplate's corners on their own sides."""
    flipped = (ends.y_first[:, 0] >= ends.y_first[:, 1]) | (ends.y_second[:, 0] >= ends.y_second[:, 1])
    side_known = is_ap | np.isfinite(sign)
    if is_ap.all():  # the usual table of one view: no per-study choice to make
        reversed_ = ends.dh <= 0
    elif not is_ap.any():
        reversed_ = ends.dh * sign < 0  # NaN where the side is unknown: compares False
    else:
        dh = ends.dh * np.where(is_ap, 1.0, sign)
        reversed_ = np.where(is_ap, dh <= 0, dh < 0) & side_known
    for q, i in zip(*np.nonzero(flipped), strict=True):
        notes.one(
            int(i),
            f"{LEVELS[active[q]]}: superior corners lie below the inferior corners (swapped?)",
            (active[q],),
        )
    for q, e, i in zip(*np.nonzero(reversed_), strict=True):
        level, word = LEVELS[active[q]], _WORD[int(e)]
        text = (
            f"{level}: {word} endplate's left corner is not left of its right corner (swapped?)"
            if is_ap[i]
            else f"{level}: {word} endplate's anterior corner lies on the posterior side (swapped?)"
        )
        notes.one(int(i), text, (active[q],))


def _neighbour_median(per_level: np.ndarray, active: list[int]) -> np.ndarray:
    """``(A, N)``: the median of the values of the levels within two of each level (itself excluded).

    NaN where fewer than two of them have a value. The four candidates are
    ordered by a sorting network (five compare-exchanges), not a sort.
    """
    a, n = per_level.shape
    at = np.array(active)
    # missing values sort last: made once, not for each offset's copy
    ranked = np.where(np.isnan(per_level), np.inf, per_level)
    refs = []
    for o in (-2, -1, 1, 2):
        ref = np.full((a, n), np.inf, dtype=per_level.dtype)
        q = np.arange(max(0, -o), min(a, a - o))
        q = q[np.abs(at[q + o] - at[q]) <= _NEIGHBOURS + 1]  # one more: the T13 and L6 slots most spines lack
        ref[q] = ranked[q + o]
        refs.append(ref)
    count = sum(np.isfinite(r).astype(np.int8) for r in refs)
    w, x, y, z = refs
    w, x = np.minimum(w, x), np.maximum(w, x)
    y, z = np.minimum(y, z), np.maximum(y, z)
    w, y = np.minimum(w, y), np.maximum(w, y)
    x, z = np.minimum(x, z), np.maximum(x, z)
    x, y = np.minimum(x, y), np.maximum(x, y)
    return np.where(
        count == 4, (x + y) / 2, np.where(count == 3, x, np.where(count == 2, (w + x) / 2, np.nan))
    )


def _per_vertebra(values: np.ndarray) -> np.ndarray:
    """``(A, N)`` the mean of a vertebra's two endplates' values, or the one it has."""
    sup, inf = values[:, 0], values[:, 1]
    return np.where(np.isnan(sup), inf, np.where(np.isnan(inf), sup, (sup + inf) / 2))


def _check_among_neighbours(tilt: np.ndarray, length: np.ndarray, active: list[int], notes: _Notes) -> None:
    """Checks 2 and 3: each endplate's tilt and length against its neighbours' within two levels.

    The neighbours' value is the median of their vertebrae's (each the mean of its
    endplates'), so that one rotated neighbour, whose two endplates turn alike, is outvoted.
    """
    sane = np.abs(tilt) < 90  # a reversed endplate is check 1's; it is no reference either
    tilt = np.where(sane, tilt, np.nan)
    length = np.where(sane & (length > 0), length, np.nan)
    ref_tilt = _neighbour_median(_per_vertebra(tilt), active)[:, None]
    ref_length = _neighbour_median(_per_vertebra(length), active)[:, None]
    off = np.abs(tilt - ref_tilt)  # both within (-90, 90): no wrap needed
    warn_tilt = off > TILT_WARN_DEG
    warn_length = (length > LENGTH_WARN_FACTOR * ref_length) | (LENGTH_WARN_FACTOR * length < ref_length)
    for q, e, i in zip(*np.nonzero(warn_tilt | warn_length), strict=True):
        what = f"{LEVELS[active[q]]}: {_WORD[int(e)]} endplate"
        if warn_tilt[q, e, i]:
            notes.one(
                int(i),
                f"{what} tilts {off[q, e, i]:.0f} deg away from its neighbours' (corners rotated or swapped?)",
                (active[q],),
                withhold=bool(off[q, e, i] > TILT_WITHHOLD_DEG),
            )
        if warn_length[q, e, i]:
            ratio = float(length[q, e, i] / ref_length[q, 0, i])
            factor = max(ratio, 1 / ratio)
            notes.one(
                int(i),
                f"{what} is {ratio:.2g} times as long as its neighbours' (a corner of another vertebra?)",
                (active[q],),
                withhold=factor > LENGTH_WITHHOLD_FACTOR,
            )


def _check_spine_order(
    ends: _Endplates, length: np.ndarray, frame: _Frame, active: list[int], notes: _Notes
) -> None:
    """Check 4: corners descend across each disc; body centres descend from level to level."""
    a, _, n = ends.dh.shape
    row_mm = frame.spacing[:, 0]
    # the study's mean endplate length (mm)
    finite = np.isfinite(length) & (length > 0)
    count = finite.sum(axis=(0, 1))
    scale = np.where(finite, length, 0.0).sum(axis=(0, 1)) / np.maximum(count, 1)
    warn_at, withhold_at = (DISC_WARN * scale).astype(np.float32), (DISC_WITHHOLD * scale).astype(np.float32)
    row_mm = row_mm.astype(np.float32)
    for side, corners in (("first", ends.y_first), ("second", ends.y_second)):
        # the previous placed corner of this side down the spine
        last_y = np.full(n, np.nan, dtype=np.float32)
        last_k = np.full(n, -1)
        for k in range(2 * a):
            y = corners[k // 2, k % 2]
            placed = ~np.isnan(y)
            # across a disc (the previous placed corner is another vertebra's): > 0, this corner lies above it
            rise = (last_y - y) * row_mm
            if k % 2:  # an inferior endplate: only where its own vertebra's superior corner is not placed
                rise[last_k // 2 == k // 2] = np.nan
            for i in np.flatnonzero(rise > warn_at):  # NaN compares False
                k_up = int(last_k[i])
                upper, lower = active[k_up // 2], active[k // 2]
                text = (
                    f"{LEVELS[upper]} {_WORD[k_up % 2]} endplate's "
                    f"{_corner_word(bool(frame.is_ap[i]), side)} corner lies "
                    f"{rise[i]:.3g} {frame.unit(int(i))} below {LEVELS[lower]} {_WORD[k % 2]} endplate's "
                    "(levels or points swapped?)"
                )
                notes.one(int(i), text, (upper, lower), withhold=bool(rise[i] > withhold_at[i]))
            np.copyto(last_y, y, where=placed)
            np.copyto(last_k, k, where=placed)

    # body centres (an explicit centroid, else the middle of the four corners) descend
    four = (ends.y_first.sum(axis=1) + ends.y_second.sum(axis=1)) / 4  # NaN unless all four are placed
    centre = np.where(np.isfinite(ends.centroid_y), ends.centroid_y, four)
    last_y = np.full(n, np.nan)
    last_j = np.full(n, -1)
    for q, j in enumerate(active):
        y = centre[q]
        ok = np.isfinite(y)
        for i in np.flatnonzero(ok & (y <= last_y)):
            notes.one(
                int(i),
                f"{LEVELS[j]} lies above {LEVELS[last_j[i]]} (levels out of order?)",
                (j, int(last_j[i])),
            )
        last_y = np.where(ok, y, last_y)
        last_j = np.where(ok, j, last_j)


def _corner_word(is_ap: bool, side: str) -> str:
    if is_ap:
        return "left" if side == "first" else "right"
    return "posterior" if side == "first" else "anterior"


def _check_pelvis(
    table: LandmarkTable,
    frame: _Frame,
    is_ap: np.ndarray,
    hips: np.ndarray,
    crests: np.ndarray,
    notes: _Notes,
) -> None:
    """Checks 6 and 7: femoral heads below the sacral endplate; iliac crests on their sides."""
    names = [name for name in ("FH.left", "FH.right", "FH", "IC.left", "IC.right") if name in table.points]
    if not names:
        return
    mid = frame.sacral_midpoint()
    sacrum = frame.sacrum
    for name in ("FH.left", "FH.right", "FH"):
        if name in names:
            fh = frame.point(name)

            def above(i: int, name: str = name) -> str:
                return (
                    f"{name} lies above the {sacrum[i]} superior endplate's midpoint "
                    "(the femoral heads are below the sacrum)"
                )

            notes.add(fh[:, 1] <= mid[:, 1], above, mark=hips)
    left, right = frame.point("FH.left"), frame.point("FH.right")
    notes.add(
        is_ap & (left[:, 0] >= right[:, 0]),
        "FH.left is not left of FH.right (image sides; swapped?)",
        mark=hips,
    )
    left, right = frame.point("IC.left"), frame.point("IC.right")
    if not (np.isfinite(left).any() or np.isfinite(right).any()):
        return
    swapped = is_ap & (left[:, 0] >= right[:, 0])
    notes.add(swapped, "IC.left is not left of IC.right (image sides; swapped?)", mark=crests)
    s_left, s_right = frame.sacral_corners()
    width = np.hypot(*(s_right - s_left).T)
    for name, crest in (("IC.left", left), ("IC.right", right)):

        def near(i: int, name: str = name) -> str:
            return (
                f"{name} lies closer to the {sacrum[i]} superior endplate's midpoint than that endplate "
                "is wide (an iliac crest is over twice as far)"
            )

        notes.add(is_ap & ~swapped & (np.abs(crest[:, 0] - mid[:, 0]) < width), near, mark=crests)
    # the intercristal line crosses L3 to S1 (L4 or L4-L5 in most): a crest above L1 is another point
    l1 = (frame.corner("L1", "inf", True) + frame.corner("L1", "inf", False))[:, 1] / 2
    heads = np.stack([frame.point(name)[:, 1] for name in ("FH.left", "FH.right", "FH")], axis=1)
    highest_head = np.where(np.isfinite(heads), heads, np.inf).min(axis=1)
    for name, crest in (("IC.left", left), ("IC.right", right)):
        notes.add(
            is_ap & (crest[:, 1] <= l1),
            f"{name} lies above the L1 inferior endplate (the iliac crests are at L3 to S1)",
            mark=crests,
        )
        notes.add(
            is_ap & (crest[:, 1] >= highest_head),
            f"{name} lies below a femoral head (the iliac crests are above the hips)",
            mark=crests,
        )
