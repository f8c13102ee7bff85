"""A geometric model of a standing patient's spine and pelvis, with exact landmarks.

:class:`SpineModel` holds the alignment a synthetic patient is built to have
(pelvic incidence, tilt, lordosis, kyphosis, SVA, coronal curves...) and the
sizes of its parts. :func:`lateral_geometry` and :func:`ap_geometry` chain the
vertebrae from the sacrum upward and return every landmark of
``formats.md`` §1 in millimetres, together with the parameter values that
geometry has (the ground truth of :mod:`spinecheck.landmarks.synthetic.films`).

The chain is exact: each endplate is given its orientation, so the Cobb angles
between named endplates equal the model's to rounding error; the hip axis is
placed from PT and the S1 endplate from SS, so PI = PT + SS holds exactly; one
free angle (a reshaping of the thoracolumbar spine that keeps LL and TK on the
lateral film, the lumbosacral take-off on the AP film) is solved so that SVA
and C7–CSVL are exact as well.

Frames
------
Geometry is returned in millimetres, ``(x_mm, y_mm)`` with the origin at the
hip axis (the midpoint of the femoral-head centres), ``y`` **up**, and ``x``
toward image right on the film as rendered by default: toward the patient's
anterior on a lateral film (the patient faces image right), toward the
patient's *left* on an AP film (the patient's right on image left). Corner
names are image names for that orientation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy.optimize import brentq

from ..errors import InvalidArgumentError
from ..points.names import TYPICAL_LEVELS, View, level_index

__all__ = ["CoronalCurve", "SpineModel", "SpineGeometry", "lateral_geometry", "ap_geometry", "ENDPLATES"]

#: Every endplate, bottom to top: ``("S1", "sup"), ("L5", "inf"), ("L5", "sup"), ..., ("C2", "sup")``.
ENDPLATES: tuple[tuple[str, str], ...] = (("S1", "sup"),) + tuple(
    (lev, ep) for lev in reversed(TYPICAL_LEVELS[:-1]) for ep in ("inf", "sup")
)
_E = {f"{lev}.{ep}": i for i, (lev, ep) in enumerate(ENDPLATES)}

# Adult (female) sizes in mm per level C2..S1 of the typical spine (TYPICAL_LEVELS): body depth on
# a lateral film, width on an AP film, mid-body height, and the height of the disc below the level
# (0 for S1).
_DEPTH = (
    15,
    15.5,
    16,
    16.5,
    17,
    17.5,
    18,
    20,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    30,
    31,
    33,
    38,
    41,
    45,
    46,
    46,
    44,
)
_WIDTH = (18, 19, 20, 21, 23, 25, 27, 27, 27, 27, 28, 29, 30, 31, 33, 35, 38, 41, 43, 45, 47, 49, 51, 50)
_HEIGHT = (
    20,
    13,
    13,
    13,
    13.5,
    14.5,
    16,
    17,
    17.5,
    18,
    18.5,
    19,
    19.5,
    20,
    21,
    22,
    23,
    24,
    26,
    27,
    28,
    28,
    27,
    28,
)
_BALANCE = 50.0  # the largest balance reshaping tried to reach the SVA (deg, see _increments)
_DISC = (4.5, 5, 5, 5, 5, 4.5, 3.5, 3.5, 4, 4, 4.5, 4.5, 5, 5, 5.5, 6, 6.5, 7, 8, 9, 9.5, 10, 10, 0)
#: Position of a level in the size tables: the generated spine is the typical one (no T13, no L6).
_INDEX = {lev: i for i, lev in enumerate(TYPICAL_LEVELS)}


@dataclass(frozen=True)
class CoronalCurve:
    """One coronal curve of an AP film.

    Attributes
    ----------
    upper, lower : str
        Upper and lower end vertebrae (C2..L5, upper above lower).
    cobb_deg : float
        Cobb angle between the superior endplate of *upper* and the inferior
        endplate of *lower*; **positive when the curve is convex toward the
        patient's right**, negative when convex to the left.
    """

    upper: str
    lower: str
    cobb_deg: float

    def __post_init__(self) -> None:
        for name in (self.upper, self.lower):
            if level_index(name) > level_index("L5") or name not in TYPICAL_LEVELS:
                raise InvalidArgumentError(
                    f"coronal curve {self.label}: end vertebrae must be C2..L5; got {name!r}"
                )
        if level_index(self.upper) >= level_index(self.lower):
            raise InvalidArgumentError(f"coronal curve {self.label}: upper end must be above the lower end")
        if not (0 < abs(self.cobb_deg) < 80):
            raise InvalidArgumentError(
                f"coronal curve {self.label}: cobb_deg must be non-zero and below 80; got {self.cobb_deg!r}"
            )

    @property
    def label(self) -> str:
        """``"T5-T11"``."""
        return f"{self.upper}-{self.lower}"


@dataclass(frozen=True)
class SpineModel:
    """A standing patient: alignment targets and sizes (angles in degrees, lengths in mm).

    The defaults are a mildly imbalanced adult: PI 55°, PT 22° (SS 33°),
    LL 40° (PI–LL 15°), TK 35°, SVA +45 mm, a double coronal curve (T5–T11
    18° convex right, T11–L4 26° convex left), C7–CSVL +18 mm and 2° of
    pelvic obliquity.

    Attributes
    ----------
    pelvic_incidence_deg, pelvic_tilt_deg : float
        PI and PT; the sacral slope is ``PI - PT``.
    lumbar_lordosis_deg : float
        Cobb L1 superior to S1 superior endplate, positive for lordosis;
        70 % of it sits in the L4–S1 discs and bodies.
    thoracic_kyphosis_deg : float
        Cobb T4 superior to T12 inferior endplate, positive for kyphosis.
    upper_thoracic_kyphosis_deg : float
        Cobb T1 superior to T4 superior endplate, positive for kyphosis.
    cervical_lordosis_deg : float
        Cobb C2 inferior to C7 inferior endplate, positive for lordosis.
    sva_mm : float or None
        SVA (C7 centroid to S1 posterosuperior corner, positive anterior),
        reached exactly by reshaping the thoracolumbar spine without changing
        LL or TK: more or less lordosis at T12–L1, lordosis moved between the
        upper and lower lumbar spine, kyphosis between the lower and upper
        thoracic spine. None leaves the spine unreshaped (SVA follows).
    thoracolumbar_lordosis_deg : float
        T12–L1 disc angle (positive lordotic) before any reshaping.
    pelvic_radius_mm : float
        Distance from the hip axis to the S1 endplate midpoint.
    body_scale : float
        Factor on every vertebral and pelvic size.
    femoral_head_radius_mm : float
    femoral_head_offset_mm : tuple of float
        ``(anterior, superior)`` offset of one femoral head from the other on
        the lateral film (they do not superimpose exactly).
    hip_width_mm : float
        Distance between the femoral-head centres on the AP film.
    coronal_curves : tuple of CoronalCurve
        Top to bottom, alternating convexity, end vertebrae may be shared.
    c7_csvl_mm : float
        C7 centroid to the central sacral vertical line, positive toward the
        patient's right; the lumbosacral take-off is solved to give it exactly.
    pelvic_obliquity_deg : float
        Tilt of the pelvis (S1 endplate, hip line, iliac crests) on the AP
        film, positive when the patient's right side is higher.
    """

    pelvic_incidence_deg: float = 55.0
    pelvic_tilt_deg: float = 22.0
    lumbar_lordosis_deg: float = 40.0
    thoracic_kyphosis_deg: float = 35.0
    upper_thoracic_kyphosis_deg: float = 8.0
    cervical_lordosis_deg: float = 20.0
    sva_mm: float | None = 45.0
    thoracolumbar_lordosis_deg: float = 0.0
    pelvic_radius_mm: float = 115.0
    body_scale: float = 1.0
    femoral_head_radius_mm: float = 24.0
    femoral_head_offset_mm: tuple[float, float] = (7.0, 4.0)
    hip_width_mm: float = 170.0
    coronal_curves: tuple[CoronalCurve, ...] = (
        CoronalCurve("T5", "T11", 18.0),
        CoronalCurve("T11", "L4", -26.0),
    )
    c7_csvl_mm: float = 18.0
    pelvic_obliquity_deg: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "coronal_curves",
            tuple(c if isinstance(c, CoronalCurve) else CoronalCurve(*c) for c in self.coronal_curves),
        )
        object.__setattr__(
            self, "femoral_head_offset_mm", tuple(float(v) for v in self.femoral_head_offset_mm)
        )
        ss = self.sacral_slope_deg
        if not -30 < ss < 80:
            raise InvalidArgumentError(
                f"SpineModel: sacral slope PI - PT must lie in (-30, 80) degrees; "
                f"got {self.pelvic_incidence_deg} - {self.pelvic_tilt_deg} = {ss}"
            )
        for name in ("pelvic_radius_mm", "body_scale", "femoral_head_radius_mm", "hip_width_mm"):
            if not getattr(self, name) > 0:
                raise InvalidArgumentError(f"SpineModel: {name} must be > 0; got {getattr(self, name)!r}")
        curves = self.coronal_curves
        for above, below in zip(curves, curves[1:], strict=False):
            if level_index(below.upper) < level_index(above.lower):
                raise InvalidArgumentError(
                    f"SpineModel: coronal curves {above.label} and {below.label} overlap "
                    "(list them top to bottom; they may share an end vertebra)"
                )
            if (above.cobb_deg > 0) == (below.cobb_deg > 0):
                raise InvalidArgumentError(
                    f"SpineModel: consecutive coronal curves {above.label} and {below.label} "
                    "must be convex to opposite sides"
                )

    @property
    def sacral_slope_deg(self) -> float:
        """SS = PI − PT."""
        return self.pelvic_incidence_deg - self.pelvic_tilt_deg


@dataclass(frozen=True)
class SpineGeometry:
    """The landmarks of one view of a :class:`SpineModel`, in millimetres.

    Attributes
    ----------
    view : View
    points_mm : Mapping[str, tuple[float, float]]
        Point name to ``(x_mm, y_mm)``: origin at the hip axis, y up, x toward
        image right (the patient's anterior on a lateral film, the patient's
        left on an AP film). Names are ``formats.md`` §1 names (image sides);
        the AP film also has the iliac-crest summits ``IC.left``/``IC.right``.
    femoral_head_radius_mm : float
    orientation_deg : Mapping[str, float]
        Endplate (``"L1.sup"``) to its orientation: θ of clinical.md §0.6 on a
        lateral film; on an AP film the tilt, positive when the patient's right
        corner is higher.
    truth : Mapping[str, float]
        Parameter id (``spinecheck.alignment.parameters``) to the value this geometry
        has: degrees for angles, millimetres for lengths. The AP film adds
        ``"Cobb.<upper>-<lower>"`` per curve (unsigned).
    solved_deg : float
        The free angle solved for SVA (the thoracolumbar reshaping, positive
        moving C7 posterior) or for C7–CSVL (rotation of the lumbar spine on S1).
    sizes_mm : Mapping[str, tuple[float, float, float]]
        Level to its body's ``(depth, width, height)`` in mm (lateral depth, AP
        width, mid-body height), for drawing.
    """

    view: View
    points_mm: Mapping[str, tuple[float, float]]
    femoral_head_radius_mm: float
    orientation_deg: Mapping[str, float]
    truth: Mapping[str, float]
    solved_deg: float = 0.0
    sizes_mm: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("points_mm", "orientation_deg", "truth", "sizes_mm"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def xy(self, name: str) -> np.ndarray:
        """``(x_mm, y_mm)`` of point *name* as an array."""
        return np.asarray(self.points_mm[name], dtype=float)


def _increments(model: SpineModel, balance_deg: float) -> np.ndarray:
    """Orientation change (deg, lordotic positive) across each disc and body, bottom to top.

    *balance_deg* shifts the sagittal balance without changing LL or TK: it
    adds ``0.4 * balance_deg`` of lordosis to the T12–L1 disc, moves
    ``0.3 * balance_deg`` of lordosis from L1–L3 to L4–S1 and
    ``0.3 * balance_deg`` of kyphosis from T9–T12 to T4–T7 (positive: C7
    moves posterior).
    """
    inc = np.zeros(len(ENDPLATES) - 1)

    def put(lo: str, hi: str, weights: np.ndarray, total: float) -> None:
        a, b = _E[lo], _E[hi]
        inc[a:b] = total * weights / weights.sum()

    # lumbar: discs then bodies, L5-S1 first; ~70 % of LL below L4
    lumbar = np.array([0.30, 0.10, 0.22, 0.06, 0.14, 0.03, 0.08, 0.02, 0.04, 0.01])
    put("S1.sup", "L1.sup", lumbar, model.lumbar_lordosis_deg)
    inc[_E["L1.sup"]] = model.thoracolumbar_lordosis_deg + 0.4 * balance_deg
    n = _E["T4.sup"] - _E["T12.inf"]
    put(
        "T12.inf",
        "T4.sup",
        0.6 + 0.4 * np.sin(np.pi * (np.arange(n) + 0.5) / n),
        -model.thoracic_kyphosis_deg,
    )
    put("T4.sup", "T1.sup", np.ones(_E["T1.sup"] - _E["T4.sup"]), -model.upper_thoracic_kyphosis_deg)
    put("C7.inf", "C2.inf", np.tile([0.06, 0.14], 5), model.cervical_lordosis_deg)
    # a disc's increment sits at the index of the superior endplate below it
    for below, share in (
        ("S1", 0.15),
        ("L5", 0.15),
        ("L3", -0.15),
        ("L2", -0.15),
        ("T5", -0.1),
        ("T6", -0.1),
        ("T7", -0.1),
        ("T10", 0.1),
        ("T11", 0.1),
        ("T12", 0.1),
    ):
        inc[_E[f"{below}.sup"]] += share * balance_deg
    return inc


def _chain(start: np.ndarray, angle_rad: np.ndarray, step_mm: np.ndarray) -> np.ndarray:
    """Endplate midpoints: each step goes up along the mean normal of its two endplates."""
    mid = 0.5 * (angle_rad[1:] + angle_rad[:-1])
    steps = step_mm[:, None] * np.column_stack([-np.sin(mid), np.cos(mid)])
    return start + np.vstack([np.zeros(2), np.cumsum(steps, axis=0)])


def _sizes(model: SpineModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Per endplate half depth and half width, per increment height, per level sizes."""
    s = model.body_scale
    levels = [lev for lev, _ in ENDPLATES]
    depth = np.array([_DEPTH[_INDEX[v]] for v in levels]) * s / 2
    width = np.array([_WIDTH[_INDEX[v]] for v in levels]) * s / 2
    steps = []
    for (lev_lo, ep_lo), (lev_hi, _) in zip(ENDPLATES, ENDPLATES[1:], strict=False):
        steps.append(_HEIGHT[_INDEX[lev_lo]] if ep_lo == "inf" else _DISC[_INDEX[lev_hi]])
    sizes = {lev: (_DEPTH[i] * s, _WIDTH[i] * s, _HEIGHT[i] * s) for i, lev in enumerate(TYPICAL_LEVELS)}
    return depth, width, np.array(steps, dtype=float) * s, sizes


def _check_heights(half: np.ndarray, angle_rad: np.ndarray, step_mm: np.ndarray, what: str) -> None:
    """Every disc and body must keep a positive height at both ends."""
    wedge = np.diff(angle_rad)
    lever = np.minimum(half[1:], half[:-1]) * np.abs(np.tan(wedge / 2)) * 2
    bad = np.flatnonzero(step_mm - lever < 0.5)
    if bad.size:
        lo, hi = ENDPLATES[bad[0]], ENDPLATES[bad[0] + 1]
        raise InvalidArgumentError(
            f"SpineModel: the {what} angles collapse the segment {lo[0]}.{lo[1]}-{hi[0]}.{hi[1]} "
            f"({np.degrees(wedge[bad[0]]):.1f} deg over {step_mm[bad[0]]:.1f} mm); "
            "reduce the curvature or SVA"
        )


def _corners(mids: np.ndarray, angle_rad: np.ndarray, half: np.ndarray, plus: str, minus: str) -> dict:
    u = np.column_stack([np.cos(angle_rad), np.sin(angle_rad)]) * half[:, None]
    out = {}
    for i, (lev, ep) in enumerate(ENDPLATES):
        out[f"{lev}.{ep}.{plus}"] = mids[i] + u[i]
        out[f"{lev}.{ep}.{minus}"] = mids[i] - u[i]
    return out


def _centre(p: dict, level: str, a: str, b: str) -> np.ndarray:
    return np.mean([p[f"{level}.{ep}.{c}"] for ep in ("sup", "inf") for c in (a, b)], axis=0)


def _theta(p: dict, endplate: str) -> float:
    """clinical.md §0.6 orientation (deg) of an endplate in the lateral frame (x anterior, y up)."""
    d = np.asarray(p[f"{endplate}.ant"]) - np.asarray(p[f"{endplate}.post"])
    return math.degrees(math.atan2(d[1], d[0]))


def _sagittal_truth(p: dict) -> dict[str, float]:
    """Compute the clinical.md §1 parameters of lateral landmarks (x anterior, y up, mm)."""
    ha = (np.asarray(p["FH.left"]) + np.asarray(p["FH.right"])) / 2
    s1 = (np.asarray(p["S1.sup.ant"]) + np.asarray(p["S1.sup.post"])) / 2
    c7, t1, c2 = (_centre(p, lev, "ant", "post") for lev in ("C7", "T1", "C2"))

    def from_vertical(a: np.ndarray, b: np.ndarray) -> float:  # angle of a->b from vertical, + anterior
        return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1]))

    pt = -from_vertical(ha, s1)
    ss = -_theta(p, "S1.sup")
    cobb = {
        name: _theta(p, u) - _theta(p, lo)
        for name, u, lo in (
            ("LL", "L1.sup", "S1.sup"),
            ("LL_L1L5", "L1.sup", "L5.inf"),
            ("LL_L4S1", "L4.sup", "S1.sup"),
            ("TK", "T4.sup", "T12.inf"),
            ("TK_T2T12", "T2.sup", "T12.inf"),
            ("TK_T5T12", "T5.sup", "T12.inf"),
            ("CL", "C2.inf", "C7.inf"),
        )
    }
    out = {
        "PI": pt + ss,
        "PT": pt,
        "SS": ss,
        "LL": cobb["LL"],
        "LL_L1L5": cobb["LL_L1L5"],
        "LL_L4S1": cobb["LL_L4S1"],
        "TK": -cobb["TK"],
        "TK_T2T12": -cobb["TK_T2T12"],
        "TK_T5T12": -cobb["TK_T5T12"],
        "SVA": float(c7[0] - p["S1.sup.post"][0]),
        "TPA": pt + from_vertical(ha, t1),
        "GT": pt + from_vertical(s1, c7),
        "T1S": -_theta(p, "T1.sup"),
        "CL": cobb["CL"],
        "cSVA": float(c2[0] - p["C7.sup.post"][0]),
    }
    out["PI_LL"] = out["PI"] - out["LL"]
    out["TS_CL"] = out["T1S"] - out["CL"]
    return out


def lateral_geometry(model: SpineModel) -> SpineGeometry:
    """Build the lateral film's landmarks of *model* (the patient facing +x).

    Parameters
    ----------
    model : SpineModel

    Returns
    -------
    SpineGeometry
        Corners ``<LEVEL>.<sup|inf>.<ant|post>`` of C2..S1 and ``FH.left``,
        ``FH.right``, in mm (origin at the hip axis, y up, x anterior).

    Raises
    ------
    InvalidArgumentError
        The angles leave a disc or body with no height, or the requested SVA
        is out of reach of the thoracolumbar reshaping.

    Examples
    --------
    >>> g = lateral_geometry(SpineModel())
    >>> {k: round(g.truth[k], 6) for k in ("PI", "PT", "SS", "LL", "TK", "SVA")}
    {'PI': 55.0, 'PT': 22.0, 'SS': 33.0, 'LL': 40.0, 'TK': 35.0, 'SVA': 45.0}
    """
    half, _, step, sizes = _sizes(model)
    pt = math.radians(model.pelvic_tilt_deg)
    s1mid = model.pelvic_radius_mm * np.array([-math.sin(pt), math.cos(pt)])
    theta0 = -model.sacral_slope_deg

    def build(balance_deg: float) -> tuple[np.ndarray, np.ndarray]:
        angle = np.radians(theta0 + np.concatenate([[0.0], np.cumsum(_increments(model, balance_deg))]))
        return _chain(s1mid, angle, step), angle

    def sva(balance_deg: float) -> float:
        mids, angle = build(balance_deg)
        c7 = (mids[_E["C7.sup"]] + mids[_E["C7.inf"]]) / 2
        post = mids[0] - half[0] * np.array([math.cos(angle[0]), math.sin(angle[0])])
        return float(c7[0] - post[0]) - model.sva_mm  # type: ignore[operator]

    balance = 0.0
    if model.sva_mm is not None:
        if sva(-_BALANCE) * sva(_BALANCE) > 0:
            raise InvalidArgumentError(
                f"SpineModel: SVA {model.sva_mm:g} mm cannot be reached by reshaping the thoracolumbar "
                f"spine (natural SVA {sva(0.0) + model.sva_mm:.0f} mm); change sva_mm, the "
                "lordosis/kyphosis, or pass sva_mm=None"
            )
        balance = brentq(sva, -_BALANCE, _BALANCE, xtol=1e-13, rtol=1e-15)
    mids, angle = build(balance)
    _check_heights(half, angle, step, "sagittal")
    p = _corners(mids, angle, half, "ant", "post")
    s1_h = _HEIGHT[-1] * model.body_scale
    s1_inf = mids[0] - s1_h * np.array([-math.sin(angle[0]), math.cos(angle[0])])
    u = 0.8 * half[0] * np.array([math.cos(angle[0]), math.sin(angle[0])])
    p["S1.inf.ant"], p["S1.inf.post"] = s1_inf + u, s1_inf - u
    off = np.asarray(model.femoral_head_offset_mm) / 2
    p["FH.left"], p["FH.right"] = off, -off
    orient = {f"{lev}.{ep}": math.degrees(a) for (lev, ep), a in zip(ENDPLATES, angle, strict=True)}
    orient["S1.inf"] = orient["S1.sup"]
    return SpineGeometry(
        View.LATERAL,
        {k: (float(v[0]), float(v[1])) for k, v in p.items()},
        model.femoral_head_radius_mm,
        orient,
        _sagittal_truth(p),
        float(balance),
        sizes,
    )


def _coronal_profile(model: SpineModel) -> np.ndarray:
    """Relative coronal tilt (deg) of every endplate: the curves' ends as knots, linear between."""
    knots: dict[int, float] = {}
    prev: CoronalCurve | None = None
    bottom = 0.0
    for curve in model.coronal_curves:
        top = bottom if prev is not None else curve.cobb_deg / 2
        bottom = top - curve.cobb_deg
        knots[_E[f"{curve.upper}.sup"]] = top
        knots[_E[f"{curve.lower}.inf"]] = bottom
        prev = curve
    curves = model.coronal_curves
    last = len(ENDPLATES) - 1
    if curves:
        # beyond the end vertebrae, return toward the curve's own middle: the ends stay the most tilted
        first, final = curves[0], curves[-1]
        knots.setdefault(last, knots[_E[f"{first.upper}.sup"]] - first.cobb_deg / 2)
        knots.setdefault(1, knots[_E[f"{final.lower}.inf"]] + final.cobb_deg / 2)
    else:
        knots = {1: 0.0, last: 0.0}
    e = np.array(sorted(knots))
    profile = np.interp(np.arange(len(ENDPLATES)), e, [knots[i] for i in e])
    return profile


def _coronal_truth(p: dict, model: SpineModel) -> dict[str, float]:
    """clinical.md §2 values of AP landmarks (x toward the patient's left, y up, mm)."""

    def tilt(endplate: str) -> float:  # positive when the patient's right (image left) corner is higher
        d = np.asarray(p[f"{endplate}.left"]) - np.asarray(p[f"{endplate}.right"])
        return math.degrees(math.atan2(d[1], -d[0]))

    s1 = (np.asarray(p["S1.sup.left"]) + np.asarray(p["S1.sup.right"])) / 2
    c7 = _centre(p, "C7", "left", "right")
    ic = np.asarray(p["IC.left"]) - np.asarray(p["IC.right"])
    out = {"C7_CSVL": float(s1[0] - c7[0]), "PO": math.degrees(math.atan2(ic[1], -ic[0]))}
    cobbs = [abs(tilt(f"{c.upper}.sup") - tilt(f"{c.lower}.inf")) for c in model.coronal_curves]
    for c, v in zip(model.coronal_curves, cobbs, strict=True):
        out[f"Cobb.{c.label}"] = v
    out["Cobb_max"] = max(cobbs, default=0.0)
    return out


def ap_geometry(model: SpineModel) -> SpineGeometry:
    """Build the AP film's landmarks of *model* (the patient's right toward −x, image left).

    Parameters
    ----------
    model : SpineModel

    Returns
    -------
    SpineGeometry
        Corners ``<LEVEL>.<sup|inf>.<left|right>`` (image sides) of C2..S1,
        ``FH.left``, ``FH.right``, ``IC.left``, ``IC.right``, in mm (origin
        at the hip axis, y up, x toward the patient's left).

    Raises
    ------
    InvalidArgumentError
        The curves leave a disc or body with no height, or C7–CSVL cannot be
        reached with a lumbosacral take-off within ±30°.

    Examples
    --------
    >>> g = ap_geometry(SpineModel())
    >>> {k: round(v, 6) for k, v in g.truth.items()}
    {'C7_CSVL': 18.0, 'PO': 2.0, 'Cobb.T5-T11': 18.0, 'Cobb.T11-L4': 26.0, 'Cobb_max': 26.0}
    """
    _, half, step, sizes = _sizes(model)
    beta = math.radians(model.pelvic_obliquity_deg)
    rot = np.array([[math.cos(beta), -math.sin(beta)], [math.sin(beta), math.cos(beta)]])
    # work in the patient frame (r toward the patient's right, y up), mirror at the end
    s1mid = rot @ np.array([0.0, model.pelvic_radius_mm * math.cos(math.radians(model.pelvic_tilt_deg))])
    profile = np.radians(_coronal_profile(model))

    def build(alpha_deg: float) -> tuple[np.ndarray, np.ndarray]:
        angle = profile + math.radians(alpha_deg)
        angle[0] = beta
        return _chain(s1mid, angle, step), angle

    def offset(alpha_deg: float) -> float:
        mids, _ = build(alpha_deg)
        c7 = (mids[_E["C7.sup"]] + mids[_E["C7.inf"]]) / 2
        return float(c7[0] - s1mid[0]) - model.c7_csvl_mm

    if offset(-30.0) * offset(30.0) > 0:
        raise InvalidArgumentError(
            f"SpineModel: C7-CSVL {model.c7_csvl_mm} mm cannot be reached with a lumbosacral "
            "take-off within ±30°; change c7_csvl_mm or the curves"
        )
    alpha = brentq(offset, -30.0, 30.0, xtol=1e-13, rtol=1e-15)
    mids, angle = build(alpha)
    _check_heights(half, angle, step, "coronal")
    p = _corners(mids, angle, half, "left", "right")  # +u is the patient's right = image left
    s1_inf = mids[0] - _HEIGHT[-1] * model.body_scale * np.array([-math.sin(beta), math.cos(beta)])
    u = 0.8 * half[0] * np.array([math.cos(beta), math.sin(beta)])
    p["S1.inf.left"], p["S1.inf.right"] = s1_inf + u, s1_inf - u
    hw = model.hip_width_mm / 2
    p["FH.left"], p["FH.right"] = rot @ np.array([hw, 0.0]), rot @ np.array([-hw, 0.0])
    crest = np.array([hw + 40 * model.body_scale, s1mid[1] + 30 * model.body_scale])
    p["IC.left"], p["IC.right"] = rot @ crest, rot @ (crest * [-1, 1])
    p = {k: np.array([-v[0], v[1]]) for k, v in p.items()}
    orient = {f"{lev}.{ep}": math.degrees(a) for (lev, ep), a in zip(ENDPLATES, angle, strict=True)}
    orient["S1.inf"] = orient["S1.sup"]
    return SpineGeometry(
        View.AP,
        {k: (float(v[0]), float(v[1])) for k, v in p.items()},
        model.femoral_head_radius_mm,
        orient,
        _coronal_truth(p, model),
        float(alpha),
        sizes,
    )
