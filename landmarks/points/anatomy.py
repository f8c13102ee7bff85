"""Transitional anatomy: how many thoracic and lumbar vertebrae a spine has, and where its sacrum begins.

Most spines have 12 thoracic and 5 lumbar vertebrae above the sacrum. Many do
not: a lumbosacral transitional vertebra (classified by Castellvi AE et al.,
Spine 1984;9(5):493-495 [S]) is found on 3.9 % to 35.6 % of films in the
reported series (Matson DM et al., Int J Spine Surg 2020;14(S1):S14 [V]). Three
variants can be named in a landmark file (formats.md §1):

``L6``
    a sixth lumbar vertebra. A lumbarised S1 is the same case and is named
    ``L6`` too: ``S1`` always names the first segment that does not move, the
    top of the sacrum.
``T13``
    a thirteenth thoracic vertebra.
``"anatomy": {"sacralised": "L5"}`` (or ``"L6"``)
    the lowest lumbar vertebra is fused into the sacrum, which then begins at
    it: its superior endplate is the sacral endplate.

A spine has T13 (L6) when any point of that level is placed: naming the
vertebra is the statement. Every rule of this module is vectorised over the N
studies of a :class:`~spinecheck.landmarks.points.model.LandmarkTable`
(:func:`spine_levels`); ranged parameters then ask a :class:`SpineLevels` for
the level that plays a :class:`LevelRole` in each study's spine.

Which endplate is "the sacral endplate" with a transitional vertebra is not
settled in the literature: measuring at the first segment that does not move
is the traditional way (Müller JA et al., J Anat 2024, doi
10.1111/joa.13985 [V]), and the choice moves PI, PT, SS, LL, SVA and TPA by
many degrees (Spine Deform 2018;6(5):587-592, doi 10.1016/j.jspd.2018.01.004
[V]; Tatara Y et al., Int J Spine Surg 2022;16(5):868 [V]). spinecheck follows
the traditional way and says in every report which endplate it used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ... import dataclass
from ..errors import InvalidLandmarksError
from .names import LEVELS, TYPICAL_LEVELS, VocabularyEnum

__all__ = [
    "SACRALISABLE",
    "Anatomy",
    "LevelRole",
    "SpineLevels",
    "spine_levels",
    "levels_of_spine",
    "check_sacralised",
    "check_anatomy",
]

#: The vertebrae that may be recorded as sacralised: the lowest lumbar one, of five or of six.
SACRALISABLE: tuple[str, ...] = ("L5", "L6")
# None as a 0-d object array: the operand of ``np.equal`` on the ``(N,)`` object arrays (numpy's
# stubs take no bare None as an array operand; the results are the same)
_NONE: np.ndarray = np.array(None, dtype=object)


class LevelRole(VocabularyEnum):
    """A level named by the part it plays in a spine, resolved per study by :class:`SpineLevels`.

    >>> LevelRole("Sacrum") is LevelRole.SACRUM
    True
    """

    #: The most cranial sacral segment: S1, or the sacralised vertebra.
    SACRUM = "sacrum"
    #: The lowest mobile lumbar vertebra (L5; L6 when placed; L4 above a sacralised L5).
    LAST_LUMBAR = "last lumbar"
    #: The lowest thoracic vertebra (T12; T13 when placed).
    LAST_THORACIC = "last thoracic"


@dataclass(frozen=True)
class Anatomy:
    """What a landmark file says of its spine beyond the names of its points.

    Attributes
    ----------
    sacralised : str or None
        ``"L5"`` or ``"L6"``: that vertebra is fused into the sacrum (its
        superior endplate is the sacral endplate); None when not recorded.

    Examples
    --------
    >>> Anatomy("L5").to_json(), Anatomy().to_json()
    ({'sacralised': 'L5'}, {})
    >>> Anatomy("S1")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: "anatomy.sacralised" must be "L5" or "L6" (the lowest \
lumbar vertebra, fused into the sacrum); got "S1" (a lumbarised S1 is named L6, and S1 the segment below it)
    """

    sacralised: str | None = None

    def __post_init__(self) -> None:
        check_sacralised(self.sacralised)

    def __bool__(self) -> bool:
        return self.sacralised is not None

    def to_json(self) -> dict[str, str]:
        """The ``anatomy`` block of a landmark file (empty when nothing is recorded)."""
        return {} if self.sacralised is None else {"sacralised": self.sacralised}


def check_sacralised(value: object, *, where: str = "", field: str = "anatomy.sacralised") -> str | None:
    """Return *value* if it names a vertebra that may be sacralised (or is None); raise otherwise.

    The error is one line naming *where* (the file, and the row of a table)
    and *field*.

    >>> check_sacralised("L6")
    'L6'
    >>> check_sacralised("l5", where="landmarks file 'a.json'")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'a.json': "anatomy.sacralised" must be \
"L5" or "L6" (the lowest lumbar vertebra, fused into the sacrum); got "l5" (level names are upper case)
    """
    if value is None or (isinstance(value, str) and value in SACRALISABLE):
        return value
    hint = ""
    if isinstance(value, str):
        if value.strip() in SACRALISABLE:
            hint = " (without blanks)"
        elif value.strip().upper() in SACRALISABLE:
            hint = " (level names are upper case)"
        elif value.strip().upper() == "S1":
            hint = " (a lumbarised S1 is named L6, and S1 the segment below it)"
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    prefix = f"{where}: " if where else ""
    raise InvalidLandmarksError(
        f'{prefix}"{field}" must be "L5" or "L6" (the lowest lumbar vertebra, fused into the sacrum); '
        f"got {shown}{hint}"
    )


def check_anatomy(anatomy: Anatomy, names: Iterable[str], *, where: str = "") -> None:
    """Refuse points that contradict *anatomy*: a vertebra below a sacralised one is sacrum.

    A sacralised L5 with ``L6`` points is refused (an L6 would lie inside the
    sacrum); ``S1`` points beside a sacralised vertebra are accepted (the
    first sacral segment below it is real anatomy) and are not used as the
    sacral endplate, which the measurement says in a warning.

    >>> check_anatomy(Anatomy("L5"), ["L6.sup.ant"], where="a.json")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: a.json: point "L6.sup.ant" lies below the sacralised L5, \
inside the sacrum; with "anatomy": {"sacralised": "L5"} the sacrum begins at L5 (a sacralised sixth lumbar \
vertebra is "sacralised": "L6")
    """
    if anatomy.sacralised != "L5":
        return
    below = next((n for n in names if n.startswith("L6.")), None)
    if below is not None:
        prefix = f"{where}: " if where else ""
        raise InvalidLandmarksError(
            f'{prefix}point "{below}" lies below the sacralised L5, inside the sacrum; with '
            '"anatomy": {"sacralised": "L5"} the sacrum begins at L5 (a sacralised sixth lumbar vertebra '
            'is "sacralised": "L6")'
        )


def levels_of_spine(names: Iterable[str], sacralised: str | None = None) -> tuple[str, ...]:
    """The levels of one spine, top to bottom: the typical ones and the transitional ones placed.

    *names* are the point names placed (or any names of the study); ``T13``
    and ``L6`` belong to the spine when one of them is named. A sacralised
    vertebra is still a level of the spine (it is the top of the sacrum).

    >>> levels_of_spine(["L6.sup.ant", "S1.sup.ant"])[-3:]
    ('L5', 'L6', 'S1')
    >>> "T13" in levels_of_spine(["T12.inf.ant"])
    False
    """
    prefixes = {n.split(".", 1)[0] for n in names}
    if sacralised == "L6":
        prefixes.add("L6")
    return tuple(lv for lv in LEVELS if lv in TYPICAL_LEVELS or lv in prefixes)


@dataclass(frozen=True)
class SpineLevels:
    """The levels that play each :class:`LevelRole` in N spines.

    Attributes
    ----------
    has_t13, has_l6 : ndarray of bool, shape (N,)
        The study names T13 (L6): any of its points is placed, or (L6) it is
        recorded as sacralised.
    sacralised : ndarray of object, shape (N,)
        ``"L5"``, ``"L6"`` or None per study.
    """

    has_t13: np.ndarray
    has_l6: np.ndarray
    sacralised: np.ndarray

    @classmethod
    def typical(cls, n: int) -> SpineLevels:
        """N spines of 12 thoracic and 5 lumbar vertebrae."""
        no = np.zeros(n, dtype=bool)
        return cls(no, no.copy(), np.full(n, None, dtype=object))

    def __len__(self) -> int:  # the studies
        return len(self.sacralised)

    def study(self, i: int) -> SpineLevels:
        """Study *i* alone (a table of one), so that what is said of one study costs nothing per other study."""
        return SpineLevels(self.has_t13[i : i + 1], self.has_l6[i : i + 1], self.sacralised[i : i + 1])

    def of(self, level: str) -> np.ndarray:
        """``(N,)`` level names: *level* itself for every study, or the level that plays the role *level*.

        >>> s = SpineLevels(np.array([False, True]), np.array([True, False]), np.array([None, "L5"]))
        >>> s.of("sacrum").tolist(), s.of("last lumbar").tolist(), s.of("last thoracic").tolist()
        (['S1', 'L5'], ['L6', 'L4'], ['T12', 'T13'])
        >>> s.of("L1").tolist()
        ['L1', 'L1']
        """
        # every study's name is one of a few str objects, not a str made per study (np.where(..., "T12"))
        try:
            role = LevelRole(level)
        except ValueError:
            out = np.empty(len(self), dtype=object)
            out.fill(level)
            return out
        if role is LevelRole.SACRUM:
            out = np.array(self.sacralised, dtype=object)
            out[np.equal(out, _NONE)] = "S1"
            return out
        if role is LevelRole.LAST_THORACIC:
            return np.array(["T12", "T13"], dtype=object)[self.has_t13.astype(np.intp)]
        # the vertebra above a sacralised one, else the lowest
        above = np.array(["L5", "L6"], dtype=object)[self.has_l6.astype(np.intp)]
        above[np.equal(self.sacralised, "L5")] = "L4"
        above[np.equal(self.sacralised, "L6")] = "L5"
        return above

    @property
    def thoracic_count(self) -> np.ndarray:
        """``(N,)`` thoracic vertebrae: 12 or 13."""
        return np.where(self.has_t13, 13, 12)

    @property
    def lumbar_count(self) -> np.ndarray:
        """``(N,)`` mobile lumbar vertebrae, above the sacrum: 4, 5 or 6."""
        return np.where(self.has_l6, 6, 5) - np.not_equal(self.sacralised, _NONE)

    @property
    def lumbosacral(self) -> np.ndarray:
        """``(N,)`` bool: a transitional lumbosacral junction (an L6, or a sacralised vertebra)."""
        return self.has_l6 | np.not_equal(self.sacralised, _NONE)

    @property
    def transitional(self) -> np.ndarray:
        """``(N,)`` bool: not the typical 12 thoracic and 5 lumbar vertebrae above S1."""
        return self.has_t13 | self.lumbosacral

    def in_spine(self) -> np.ndarray:
        """``(N, len(LEVELS))`` bool: which levels each spine has (T13 and L6 only where named)."""
        out = np.ones((len(self), len(LEVELS)), dtype=bool)
        out[:, LEVELS.index("T13")] = self.has_t13
        out[:, LEVELS.index("L6")] = self.has_l6
        return out

    def to_json(self, i: int) -> dict[str, object]:
        """Study *i*'s anatomy as a report's ``anatomy`` block (formats.md §2).

        ``lumbar_vertebrae`` counts the mobile lumbar vertebrae, above the
        sacrum; ``sacral_endplate`` names the endplate PI, PT, SS, SVA, TPA, GT
        and the CSVL are measured from.

        >>> s = SpineLevels(np.array([False]), np.array([True]), np.array([None], dtype=object))
        >>> s.to_json(0)["lumbar_vertebrae"], s.to_json(0)["sacral_endplate"]
        (6, 'S1 superior')
        """
        one = self.study(i)
        return {
            "thoracic_vertebrae": int(one.thoracic_count[0]),
            "lumbar_vertebrae": int(one.lumbar_count[0]),
            "sacralised": one.sacralised[0],
            "sacral_endplate": f"{one.of(LevelRole.SACRUM)[0]} superior",
            "summary": one.statement(0) or "12 thoracic and 5 lumbar vertebrae",
        }

    def statements(self) -> np.ndarray:
        """``(N,)`` object: each study's :meth:`statement`, None for the typical spines (not visited)."""
        out = np.full(len(self), None, dtype=object)
        for i in np.flatnonzero(self.transitional):
            out[i] = self.statement(int(i))
        return out

    def statement(self, i: int) -> str | None:
        """Study *i*'s anatomy in clinical words; None for the typical spine.

        >>> s = SpineLevels(np.array([True]), np.array([False]), np.array(["L5"], dtype=object))
        >>> print(s.statement(0))
        13 thoracic vertebrae (T1-T13); sacralised L5: 4 mobile lumbar vertebrae (L1-L4), the sacrum begins at L5
        """
        if len(self) > 1:
            return self.study(i).statement(0)
        parts = []
        if self.has_t13[i]:
            parts.append("13 thoracic vertebrae (T1-T13)")
        sac = self.sacralised[i]
        last = str(self.of(LevelRole.LAST_LUMBAR)[i])
        count = int(self.lumbar_count[i])
        if sac is not None:
            parts.append(
                f"sacralised {sac}: {count} mobile lumbar vertebrae (L1-{last}), the sacrum begins at {sac}"
            )
        elif self.has_l6[i]:
            parts.append(f"{count} lumbar vertebrae (L1-{last})")
        return "; ".join(parts) or None


def spine_levels(
    points: Mapping[str, np.ndarray], n: int, sacralised: np.ndarray | None = None
) -> SpineLevels:
    """The :class:`SpineLevels` of N studies from their points.

    Parameters
    ----------
    points : mapping of str to ndarray
        Point name to its ``(N, 2)`` pixels, NaN where a study lacks it (the
        ``points`` of a :class:`~spinecheck.landmarks.points.model.LandmarkTable`).
    n : int
        The number of studies.
    sacralised : ndarray of object, shape (N,), optional
        ``"L5"``, ``"L6"`` or None per study (``LandmarkTable.sacralised``).

    Returns
    -------
    SpineLevels

    Examples
    --------
    >>> pts = {"L6.sup.ant": np.array([[1.0, 2.0], [np.nan, np.nan]])}
    >>> spine_levels(pts, 2).of("last lumbar").tolist()
    ['L6', 'L5']
    """

    def named(level: str) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        for name, xy in points.items():
            if name.startswith(f"{level}."):
                out |= np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])  # not .all(axis=1): 20 times the time
        return out

    sac = np.full(n, None, dtype=object) if sacralised is None else np.asarray(sacralised, dtype=object)
    return SpineLevels(named("T13"), named("L6") | np.equal(sac, "L6"), sac)
