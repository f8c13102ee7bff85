"""Coronal curves by region: proximal thoracic, main thoracic, thoracolumbar/lumbar, by their apex.

Researchers compare curves region by region (the Lenke classification's three
regions), so every coronal curve is given the region its apex lies in, and each
region's curve is put in fixed columns (``pt_``, ``mt_``, ``tll_``; formats.md
§3) beside ``Cobb_max``.

=======================  ===============  ==================================================
region                   apex (vertebra)  as published
=======================  ===============  ==================================================
``PT`` proximal thoracic T3 to T5         apex T3, T4 or T5
``MT`` main thoracic     T6 to T11        apex between T6 and the T11–T12 disc
``TL/L`` thoracolumbar/  T12 to L4        thoracolumbar apex T12–L1; lumbar apex from the
lumbar                                    L1–L2 disc to L4
=======================  ===============  ==================================================

Source: Lenke LG, Betz RR, Harms J, et al. Adolescent idiopathic scoliosis: a new
classification to determine extent of spinal arthrodesis. J Bone Joint Surg Am
2001;83(8):1169-1181. **[S]**: the regions as quoted above by the AO Surgery
Reference (Lenke classification; Lenke an executive editor) and Orthobullets; the
primary paper was not read here. They agree with the SRS glossary (thoracic curve:
apex T2 to T11; thoracolumbar curve: apex T12 or L1), which has no proximal
thoracic region.

Decisions (where the sources are silent, or the code needs a rule):

- **The apex is a vertebra.** :func:`~spinecheck.alignment.geometry.coronal.find_curves`
  takes as apex the vertebra whose centre lies farthest from the line joining the
  end vertebrae's centres; it never names a disc. A region boundary at a disc is
  therefore the boundary between the two vertebrae: "MT to the T11–T12 disc" is an
  apex vertebra T6 to T11, and an apex vertebra T12 is TL/L. A curve whose true apex
  is the T11–T12 disc is placed by whichever of T11 and T12 lies farther from the
  chord (T11 when they are equally far).
- **Outside the regions.** An apex above T3 (cervicothoracic, T1–T2) or below L4
  (L5, and L6 in a spine with six lumbar vertebrae) is in no region: such a curve
  is still listed with every curve in the report (``lenke_region`` null) and named
  in the ``curves_other`` column, never folded into a neighbouring region.
- **Transitional levels** are placed by name, in spine order: a T13 lies between
  T12 and L4, so a T13 apex is TL/L.
- **Two curves in one region** (possible with small reversals): the region's
  columns hold the larger Cobb angle (the more cranial one on a tie); the others
  are named in the region's note, and the report lists every curve.
- **A curve without an apex** (an end vertebra without a centre:
  :mod:`~spinecheck.alignment.geometry.coronal`) has apex -1 and is in no region, like
  padding; the report names it among the other curves and says its region cannot be told.
- **A withheld curve** (a vertebra in its span failed the landmark check) is placed
  by its apex like any other. When the region has no measured curve, its columns
  keep the withheld curve's levels with an empty angle and the note says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ...landmarks.points.names import VocabularyEnum, level_index
from ..parameters import CurveTable
from .plane import has_reason

__all__ = [
    "CurveRegion",
    "RegionDef",
    "REGIONS",
    "REGION_SOURCE",
    "REGION_STATUS",
    "RegionalCurves",
    "region_codes",
    "lenke_regions",
    "regional_curves",
]


class CurveRegion(VocabularyEnum):
    """A region of the coronal spine by curve apex (Lenke 2001), as the report names it.

    >>> CurveRegion("tl/l") is CurveRegion.TLL, CurveRegion.MT.prefix, CurveRegion.TLL.words
    (True, 'mt', 'thoracolumbar/lumbar')
    """

    PT = "PT"
    MT = "MT"
    TLL = "TL/L"

    @property
    def prefix(self) -> str:
        """The prefix of the region's batch-table columns (formats.md §3): ``pt``, ``mt``, ``tll``."""
        return {"PT": "pt", "MT": "mt", "TL/L": "tll"}[self.value]

    @property
    def words(self) -> str:
        """The region in words: ``proximal thoracic``, ``main thoracic``, ``thoracolumbar/lumbar``."""
        return {"PT": "proximal thoracic", "MT": "main thoracic", "TL/L": "thoracolumbar/lumbar"}[self.value]


@dataclass(frozen=True)
class RegionDef:
    """Which apex vertebrae make a curve belong to *region* (both ends included, by level name)."""

    region: CurveRegion
    apex_from: str
    apex_to: str
    published: str

    @property
    def levels(self) -> str:
        """The apex range as text, e.g. ``"T6-T11"``."""
        return f"{self.apex_from}-{self.apex_to}"

    def contains(self, apex: np.ndarray) -> np.ndarray:
        """Whether each apex (a level index, -1 for none) lies in this region."""
        apex = np.asarray(apex)
        return (apex >= level_index(self.apex_from)) & (apex <= level_index(self.apex_to))


#: The three regions, top to bottom (see the module notes for the apex at a disc).
REGIONS: tuple[RegionDef, ...] = (
    RegionDef(CurveRegion.PT, "T3", "T5", "apex T3, T4 or T5"),
    RegionDef(CurveRegion.MT, "T6", "T11", "apex between T6 and the T11-T12 disc"),
    RegionDef(CurveRegion.TLL, "T12", "L4", "thoracolumbar apex T12-L1, lumbar apex L1-L2 disc to L4"),
)
#: Where the regions come from, and the evidence status of the citation.
REGION_SOURCE = (
    "Lenke LG et al. J Bone Joint Surg Am 2001;83(8):1169-1181 (regions as quoted by the AO Surgery "
    "Reference and Orthobullets)"
)
REGION_STATUS = "S"


def region_codes(apex: ArrayLike) -> np.ndarray:
    """The region of each apex as an index into :data:`REGIONS`; -1 outside every region or padding.

    Parameters
    ----------
    apex : array_like of int
        Level indices (:data:`~spinecheck.landmarks.points.names.LEVELS`), -1 for none.

    Examples
    --------
    >>> from spinecheck.landmarks.points.names import level_index
    >>> region_codes([level_index(lv) for lv in ("T2", "T3", "T5", "T6", "T11", "T12", "L4", "L5")]).tolist()
    [-1, 0, 0, 1, 1, 2, 2, -1]
    """
    apex = np.asarray(apex)
    out = np.full(apex.shape, -1, dtype=np.int8)
    for k, r in enumerate(REGIONS):
        out[r.contains(apex) & (apex >= 0)] = k
    return out


def lenke_regions(curves: CurveTable) -> np.ndarray:
    """The region of every curve, measured or withheld, as an ``(N, K)`` object array.

    Returns
    -------
    ndarray of object, shape (N, K)
        A :class:`CurveRegion`, or None for padding and for an apex outside the regions.
    """
    codes = region_codes(curves.apex)
    names = np.array([*(r.region for r in REGIONS), None], dtype=object)
    out = names[np.where(codes >= 0, codes, len(REGIONS))]
    out[~_listed(curves)] = None
    return out


def _listed(curves: CurveTable, rows: slice | int = slice(None)) -> np.ndarray:
    """``(N, K)`` (or the *rows* asked for): a curve is there (measured, or withheld with its levels)."""
    return _measured(curves, rows) | _withheld(curves, rows)


def _measured(curves: CurveTable, rows: slice | int = slice(None)) -> np.ndarray:
    return np.isfinite(np.asarray(curves.angle_deg[rows], dtype=float)) & (np.asarray(curves.apex[rows]) >= 0)


def _withheld(curves: CurveTable, rows: slice | int = slice(None)) -> np.ndarray:
    if curves.withheld is None:
        return np.zeros(np.shape(curves.angle_deg[rows]), dtype=bool)
    withheld = np.asarray(curves.withheld[rows], dtype=object)
    return has_reason(withheld) & (np.asarray(curves.upper[rows]) >= 0)


@dataclass(frozen=True, eq=False)
class RegionalCurves:
    """The curve of one region for N studies, as indices into a :class:`CurveTable`.

    Attributes
    ----------
    region : RegionDef
    curve : ndarray of int, shape (N,)
        The curve the region's columns hold (a column of the table's K axis): the
        largest measured curve with its apex in the region (the first on a tie), else
        the first withheld one, else -1.
    measured, withheld : ndarray of int, shape (N,)
        How many measured and withheld curves have their apex in the region.
    """

    region: RegionDef
    curve: np.ndarray
    measured: np.ndarray
    withheld: np.ndarray

    def others(self, curves: CurveTable, i: int) -> list[int]:
        """The curves of study *i* in this region besides :attr:`curve`, top to bottom."""
        inside = self.region.contains(curves.apex[i]) & _listed(curves, i)  # row i only: called per study
        return [int(k) for k in np.flatnonzero(inside) if k != self.curve[i]]


def regional_curves(curves: CurveTable) -> tuple[RegionalCurves, ...]:
    """Each region's curve for N studies at once, in the order of :data:`REGIONS`.

    Examples
    --------
    Two studies: the first has curves with apexes T8 (40 deg) and L2 (25 deg), the
    second two curves with apexes in MT (T7, 12 deg; T10, 30 deg):

    >>> from spinecheck.landmarks.points.names import level_index as ix
    >>> t = CurveTable(np.array([[40.0, 25.0], [12.0, 30.0]]),
    ...                np.array([[ix("T4"), ix("T12")], [ix("T5"), ix("T8")]]),
    ...                np.array([[ix("T12"), ix("L4")], [ix("T8"), ix("L1")]]),
    ...                np.array([[ix("T8"), ix("L2")], [ix("T7"), ix("T10")]]), np.zeros((2, 2), bool))
    >>> pt, mt, tll = regional_curves(t)
    >>> pt.curve.tolist(), mt.curve.tolist(), mt.measured.tolist(), tll.curve.tolist()
    ([-1, -1], [0, 1], [1, 2], [1, -1])
    """
    angle = np.asarray(curves.angle_deg, dtype=float)
    n, k = angle.shape
    measured, withheld = _measured(curves), _withheld(curves)
    apex = np.asarray(curves.apex)
    out = []
    for r in REGIONS:
        inside = r.contains(apex)
        m, w = inside & measured, inside & withheld
        # a curve column at a time: a reduction along the short axis of K curves pays its set-up
        # per study (40 -> 25 ms CPU for the 100 000 studies of the bench table)
        best = np.full(n, -np.inf)  # the largest measured angle so far (a measured angle is finite)
        largest = np.zeros(n, dtype=np.intp)  # its column: the first of equals
        first_withheld = np.full(n, -1, dtype=np.intp)
        n_measured, n_withheld = np.zeros(n, dtype=np.intp), np.zeros(n, dtype=np.intp)
        for j in range(k):
            m_j, w_j = m[:, j], w[:, j]
            better = m_j & (angle[:, j] > best)
            np.copyto(best, angle[:, j], where=better)
            np.copyto(largest, j, where=better)
            np.copyto(first_withheld, j, where=w_j & (first_withheld < 0))
            n_measured += m_j
            n_withheld += w_j
        curve = np.where(n_measured > 0, largest, first_withheld)
        out.append(RegionalCurves(r, curve, n_measured, n_withheld))
    return tuple(out)
