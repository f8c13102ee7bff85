"""Drawing a patient's anatomy on attenuation canvases, for the synthetic films.

:func:`paint_lateral` and :func:`paint_ap` draw a :class:`~spinecheck.landmarks.synthetic.spine_model.SpineGeometry`
and the structures around it: sharp, landmark-bearing bone (vertebral bodies
with cortical rims and endplates, posterior elements, sacrum, femora) on the
*fine* canvas; broad, soft structures (body outline, lungs, heart, bowel gas,
ribs, iliac wings, pubis, skull) on the *coarse* one. Values are attenuation
in arbitrary units (about 1.5 for the soft tissue of the pelvis, 1 for a
lumbar body's cortex seen edge-on), added up along the beam.

Sizes are millimetres in the geometry frame (origin at the hip axis, y up, x
toward image right as rendered by default) and scale with
``SpineModel.body_scale``. The shapes are plausible, not anatomical truth:
only the landmarks are exact.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import CubicSpline, PchipInterpolator

from ..points.names import TYPICAL_LEVELS
from .raster import Canvas
from .spine_model import SpineGeometry, SpineModel

__all__ = ["paint_lateral", "paint_ap", "SOFT_TISSUE_PER_MM"]

#: Attenuation of soft tissue per millimetre of path.
SOFT_TISSUE_PER_MM = 0.0042


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.hypot(*v)


def _rot(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def _ellipse_pts(c: np.ndarray, a: float, b: float, n: int = 24) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.asarray(c, dtype=float) + np.column_stack([a * np.cos(t), b * np.sin(t)])


def _curve(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 9) -> np.ndarray:
    """Sample a quadratic Bézier curve from *p0* to *p2*, pulled toward *p1*."""
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * t * (1 - t) * p1 + t**2 * p2


def _smooth(pts: ArrayLike, per: int = 8) -> np.ndarray:
    """Smooth a closed outline through *pts* with a periodic cubic spline."""
    pts = np.asarray(pts, dtype=float)
    closed = np.vstack([pts, pts[:1]])
    t = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))])
    return CubicSpline(t, closed, bc_type="periodic")(np.linspace(0, t[-1], per * len(pts), endpoint=False))


def _arc(start_deg: float, stop_deg: float, n: int = 9) -> np.ndarray:
    """Points of the unit circle from *start_deg* to *stop_deg* (counter-clockwise, y up)."""
    t = np.radians(np.linspace(start_deg, stop_deg, n))
    return np.column_stack([np.cos(t), np.sin(t)])


def _smooth_open(pts: np.ndarray, per: int = 4) -> np.ndarray:
    """Smooth a polyline through *pts* with a natural cubic spline (drawn closed back to its start)."""
    pts = np.asarray(pts, dtype=float)
    t = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    return CubicSpline(t, pts, bc_type="natural")(np.linspace(0, t[-1], per * len(pts)))


def _profile(y: float | np.ndarray, knots: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Interpolate a body-outline profile smoothly (monotone cubic), constant beyond its knots."""
    return PchipInterpolator(knots, values)(np.clip(y, knots[0], knots[-1]))


class _Spine:
    """A geometry's points per level."""

    def __init__(self, geom: SpineGeometry, sides: tuple[str, str]) -> None:
        self.p = {k: np.asarray(v, dtype=float) for k, v in geom.points_mm.items()}
        self.a, self.b = sides  # (+u side, -u side): ("ant", "post") or ("right", "left")
        self.sizes = geom.sizes_mm
        c = np.array([self.quad(lev).mean(axis=0) for lev in TYPICAL_LEVELS])
        order = np.argsort(c[:, 1])
        self.cy, self.cx = c[order, 1], c[order, 0]
        self.y = {lev: float(c[i, 1]) for i, lev in enumerate(TYPICAL_LEVELS)}

    def quad(self, lev: str) -> np.ndarray:
        """Corners sup.a, sup.b, inf.b, inf.a: edge 0 is the superior endplate, edge 2 the inferior."""
        p, a, b = self.p, self.a, self.b
        return np.array([p[f"{lev}.sup.{a}"], p[f"{lev}.sup.{b}"], p[f"{lev}.inf.{b}"], p[f"{lev}.inf.{a}"]])

    def frame(self, lev: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre, unit vector toward the *a* side, unit vector up the body."""
        q = self.quad(lev)
        u = _unit(q[0] - q[1] + q[3] - q[2])
        return q.mean(axis=0), u, np.array([-u[1], u[0]])

    @overload
    def x_at(self, y: float) -> float: ...

    @overload
    def x_at(self, y: np.ndarray) -> np.ndarray: ...

    def x_at(self, y: float | np.ndarray) -> float | np.ndarray:
        """X of the spine's centre line at height *y* (clamped beyond C2 and S1)."""
        return np.interp(y, self.cy, self.cx)


def _bodies(fine: Canvas, sp: _Spine, texture, along_beam: int) -> None:
    """Vertebral bodies: bright cortex, thicker endplates, textured cancellous bone."""
    for lev in TYPICAL_LEVELS:
        through = sp.sizes[lev][along_beam] * (0.6 if lev == "S1" else 1.0)  # size along the beam
        fine.convex(
            sp.quad(lev),
            inner=0.1 + 0.0085 * through,
            cortex=0.35 + 0.012 * through,
            cortex_mm=0.8,
            texture=texture,
            edges=(0, 2),
            edge_cortex_mm=1.1,
            round_mm=0.025 * sp.sizes[lev][0],
        )


def _soft_tissue(coarse: Canvas, back: np.ndarray, front: np.ndarray, path: np.ndarray) -> None:
    """Add a body outline: per row, an elliptical section from *back* to *front* (x, mm), *path* mm thick."""
    x = coarse.cols_x()[None, :]
    c = ((back + front) / 2).astype(np.float32)[:, None]
    inv_half = (1 / np.maximum((front - back) / 2, 1e-3)).astype(np.float32)[:, None]
    u = (x - c) * inv_half
    np.subtract(1, u * u, out=u)
    np.sqrt(np.maximum(u, 0, out=u), out=u)
    u *= (SOFT_TISSUE_PER_MM * path).astype(np.float32)[:, None]
    coarse.a += u


def _gas(coarse: Canvas, centre: np.ndarray, spread: tuple[float, float], s: float) -> None:
    """Add a few bowel-gas lucencies, always the same ones."""
    rng = np.random.default_rng(7)
    for _ in range(9):
        c = centre + rng.uniform(-1, 1, 2) * spread
        a, b = rng.uniform(8, 22) * s, rng.uniform(6, 14) * s
        coarse.polygon(
            _smooth(_ellipse_pts(c, a, b, 8) + rng.normal(0, 2 * s, (8, 2)), 4), -0.09, soft_mm=5 * s
        )


def paint_lateral(fine: Canvas, coarse: Canvas, geom: SpineGeometry, model: SpineModel, texture) -> None:
    """Draw a lateral film (the patient facing +x) of *geom* on the two canvases.

    Parameters
    ----------
    fine, coarse : Canvas
        Canvases of the same film, in the frame of *geom*.
    geom : SpineGeometry
        From :func:`~spinecheck.landmarks.synthetic.spine_model.lateral_geometry`.
    model : SpineModel
    texture : callable
        ``texture(slices)`` gives the cancellous-bone texture of a window of *fine*.
    """
    sp = _Spine(geom, ("ant", "post"))
    s, p, y = model.body_scale, sp.p, sp.y
    ys = coarse.rows_y()

    # body outline: offsets from the spine's centre line, by height (y, mm)
    top = y["C2"] + 85 * s
    knots = np.array([-700, -150, 0, y["S1"], y["L3"], y["T12"], y["T8"], y["T4"], y["C7"], y["C2"], top])
    back_off = np.array([70, 85, 105, 90, 80, 70, 75, 75, 75, 60, 95]) * s
    front_off = np.array([70, 90, 125, 160, 180, 165, 165, 125, 70, 60, 100]) * s
    path = np.array([270, 330, 360, 340, 300, 290, 300, 340, 200, 120, 150]) * s
    ref = np.interp(ys, np.concatenate([[0.0], sp.cy]), np.concatenate([[-10.0], sp.cx]))
    _soft_tissue(
        coarse,
        ref - _profile(ys, knots, back_off),
        ref + _profile(ys, knots, front_off),
        _profile(ys, knots, path),
    )

    def front(at_y: float) -> float:
        return float(sp.x_at(at_y) + _profile(np.float64(at_y), knots, front_off))

    def post(at_y: float) -> float:
        return float(sp.x_at(at_y)) - 0.5 * sp.sizes["T8"][0]

    # lungs (dark), the heart in front, a domed diaphragm; bowel gas below
    lung = [
        (post(y["T1"]) + 10 * s, y["T1"] + 20 * s),
        (post(y["T1"]) + 45 * s, y["T1"] + 25 * s),
        (front(y["T1"]) - 20 * s, y["T1"]),
        (front(y["T4"]) - 15 * s, y["T4"]),
        (front(y["T8"]) - 25 * s, y["T8"]),
        (front(y["T10"]) - 30 * s, y["T10"] - 15 * s),
        (sp.x_at(y["T10"]) + 95 * s, y["T9"]),
        (sp.x_at(y["T10"]) + 55 * s, y["T10"]),
        (sp.x_at(y["T12"]) + 30 * s, y["T12"] - 16 * s),
        (post(y["T12"]) - 15 * s, y["T12"] - 18 * s),
        (post(y["T8"]) - 30 * s, y["T8"]),
        (post(y["T4"]) - 25 * s, y["T4"]),
    ]
    coarse.polygon(_smooth(lung), -SOFT_TISSUE_PER_MM * 170 * s, soft_mm=35 * s)
    heart = _ellipse_pts(np.array([sp.x_at(y["T8"]) + 95 * s, y["T9"] + 5 * s]), 60 * s, 65 * s)
    coarse.polygon(heart, SOFT_TISSUE_PER_MM * 50 * s, soft_mm=60 * s)
    _gas(coarse, np.array([sp.x_at(y["L3"]) + 90 * s, y["L4"]]), (50 * s, 60 * s), s)

    # ribs: both sides, slightly offset by the beam's divergence
    for k in range(1, 13):
        yk = y[f"T{k}"]
        reach = 1.0 if k <= 10 else 0.5
        p0 = np.array([post(yk) - 38 * s, yk + 4 * s])
        p2 = np.array([post(yk) + reach * (front(yk - 60 * s) - 35 * s - post(yk)), yk - (45 + 4 * k) * s])
        p1 = np.array([sp.x_at(yk) - 10 * s, yk + 2 * s])
        for off in (np.zeros(2), np.array([-6.0, 4.0]) * s):
            coarse.band(_curve(p0, p1, p2) + off, 4.5 * s, 0.09, hollow=0.5)

    # skull base and mandible
    crown = (p["C2.sup.ant"] + p["C2.sup.post"]) / 2
    coarse.ellipse(
        crown + np.array([25.0, 118.0]) * s, (105 * s, 92 * s), inner=0.6, cortex=0.7, cortex_mm=10 * s
    )
    jaw = np.array(
        [[24, 50], [38, 48], [38, 8], [50, -8], [100, -2], [110, -20], [60, -28], [30, -22], [24, 5]]
    )
    coarse.polygon(_smooth(jaw * s + crown), inner=0.12, rim=0.25, rim_mm=3 * s)

    # pelvis, in the pelvic frame: e1 from the hip axis toward S1 (units of the pelvic radius), e2 anterior
    e1 = _unit((p["S1.sup.ant"] + p["S1.sup.post"]) / 2)
    e2 = np.array([e1[1], -e1[0]])
    r = model.pelvic_radius_mm
    ilium = np.array(
        [
            [0.95, -0.55],
            [1.2, -0.45],
            [1.4, -0.3],
            [1.47, -0.1],
            [1.43, 0.15],
            [1.3, 0.45],
            [1.08, 0.65],
            [0.9, 0.55],
            [0.62, 0.55],
            [0.4, 0.45],
            [0.25, 0.32],
            [0.1, -0.25],
            [0.0, -0.42],
            [0.3, -0.38],
            [0.45, -0.42],
            [0.62, -0.55],
            [0.75, -0.62],
        ]
    )
    ring = np.array(
        [
            [0.2, 0.3],
            [0.0, 0.5],
            [-0.3, 0.6],
            [-0.55, 0.62],
            [-0.7, 0.5],
            [-0.75, 0.25],
            [-0.8, -0.1],
            [-0.75, -0.35],
            [-0.5, -0.45],
            [-0.2, -0.4],
            [0.0, -0.35],
        ]
    )
    brim = np.array([[0.85, 0.05], [0.55, 0.28], [0.2, 0.44], [-0.1, 0.56], [-0.45, 0.66]])
    for side in ("FH.left", "FH.right"):

        def to_xy(uv: np.ndarray, shift=p[side]) -> np.ndarray:
            return shift + r * (uv[:, :1] * e1 + uv[:, 1:] * e2)

        coarse.polygon(_smooth(to_xy(ilium)), inner=0.16, rim=0.32, rim_mm=3 * s)
        coarse.polygon(_smooth(to_xy(ring)), inner=0.16, rim=0.32, rim_mm=3 * s)
        coarse.polygon(
            to_xy(_ellipse_pts(np.array([-0.45, 0.15]), 0.18, 0.15, 16)), -0.2, rim=0.15, rim_mm=2 * s
        )
        coarse.band(to_xy(brim), 1.8 * s, 0.22)

    _bodies(fine, sp, texture, 1)
    _posterior_lateral(fine, sp)
    # the dens, and the atlas's anterior and posterior arches
    centre, u, n = sp.frame("C2")
    top = crown - 0.1 * sp.sizes["C2"][0] * u
    fine.convex(
        np.array(
            [
                top - 5.5 * s * u,
                top + 5.5 * s * u,
                top + 5 * s * u + 11 * s * n,
                top + 16 * s * n,
                top - 5 * s * u + 11 * s * n,
            ]
        ),
        inner=0.3,
        cortex=0.6,
        cortex_mm=1.0,
        round_mm=2 * s,
    )
    fine.ellipse(top + 12 * s * u + 9 * s * n, (4.5 * s, 6.5 * s), inner=0.3, cortex=0.6, cortex_mm=1.0)
    fine.ellipse(
        top - 40 * s * u + 8 * s * n,
        (11 * s, 5 * s),
        inner=0.22,
        cortex=0.45,
        cortex_mm=1.0,
        angle_rad=math.atan2(u[1], u[0]),
    )
    _sacrum_lateral(fine, sp, math.radians(geom.orientation_deg["S1.sup"]), s)
    _femora_lateral(fine, coarse, p, geom.femoral_head_radius_mm, s)


def _posterior_lateral(fine: Canvas, sp: _Spine) -> None:
    """Pedicles, articular pillars and spinous processes, faint, behind each body."""
    for lev in TYPICAL_LEVELS[:-1]:
        _, u, n = sp.frame(lev)
        d, _, h = sp.sizes[lev]
        pm = (sp.p[f"{lev}.sup.post"] + sp.p[f"{lev}.inf.post"]) / 2

        def loc(pts: list, pm=pm, u=u, n=n) -> np.ndarray:
            a = np.asarray(pts, dtype=float)
            return pm + a[:, :1] * u + a[:, 1:] * n

        length, drop, thick = {
            "C": (1.5 * d, 0.35 * h, 0.45 * h),
            "T": (1.4 * d, 1.1 * h, 0.35 * h),
            "L": (0.95 * d, 0.15 * h, 0.6 * h),
        }[lev[0]]
        if lev == "C7":
            length = 2.3 * d
        rounding = 0.05 * h
        fine.convex(
            loc([(0.3, 0.42 * h), (0.3, 0.02 * h), (-0.42 * d, 0.0), (-0.42 * d, 0.42 * h)]),
            inner=0.1,
            cortex=0.18,
            cortex_mm=0.8,
            round_mm=rounding,
        )
        fine.convex(
            loc([(-0.3 * d, 0.75 * h), (-0.55 * d, 0.7 * h), (-0.6 * d, -0.75 * h), (-0.35 * d, -0.7 * h)]),
            inner=0.08,
            cortex=0.15,
            cortex_mm=1.0,
            round_mm=rounding,
        )
        fine.convex(
            loc(
                [
                    (-0.45 * d, 0.35 * h),
                    (-0.45 * d, -0.3 * h),
                    (-length, -drop - thick / 2),
                    (-length, -drop + thick / 2),
                ]
            ),
            inner=0.08,
            cortex=0.17,
            cortex_mm=1.0,
            round_mm=rounding,
        )


def _sacrum_lateral(fine: Canvas, sp: _Spine, theta: float, s: float) -> None:
    """Draw the sacrum below S1, one fused piece curving forward (sacral kyphosis), and the coccyx."""
    p = sp.p
    mid = (p["S1.inf.ant"] + p["S1.inf.post"]) / 2
    half = np.hypot(*(p["S1.inf.ant"] - p["S1.inf.post"])) / 2
    front, back, lines = [], [], []
    for height, shrink in ((20, 0.82), (17, 0.8), (14, 0.78), (11, 0.72), (9, 0.66), (8, 0.6), (7, 0.5)):
        u0 = np.array([math.cos(theta), math.sin(theta)])
        front.append(mid + half * u0)
        back.append(mid - (half + 20 * s * shrink) * u0)
        lines.append((mid + half * u0, mid - half * u0))
        nxt = theta + math.radians(13)
        t_mid = (theta + nxt) / 2
        mid = mid - height * s * np.array([-math.sin(t_mid), math.cos(t_mid)])
        theta, half = nxt, shrink * half
    u_s = _unit(p["S1.sup.ant"] - p["S1.sup.post"])
    outline = np.array(
        front + [mid] + back[::-1] + [p["S1.sup.post"] - 16 * s * u_s, p["S1.sup.post"], p["S1.inf.post"]]
    )
    fine.polygon(outline, inner=0.2, rim=0.42, rim_mm=1.2 * s)
    for a, b in lines[1:5]:
        fine.band(np.array([a, b]), 0.7 * s, 0.12)


def _femora_lateral(fine: Canvas, coarse: Canvas, p: dict, radius: float, s: float) -> None:
    """Draw both femora (heads slightly apart): shafts coarse, heads and acetabular roofs fine."""
    d = np.array([math.sin(math.radians(5)), -math.cos(math.radians(5))])  # shaft axis, down
    w = np.array([-d[1], d[0]])  # anterior
    shaft = np.array(
        [
            [0.7, 1.6],
            [0.64, 2.6],
            [0.6, 26],
            [-0.6, 26],
            [-0.68, 2.8],
            [-1.05, 2.2],
            [-1.2, 1.2],
            [-1.0, 0.45],
        ]
    )
    # (across, down) in radii; joins the head along its lower rim (angles in the (w, -d) plane)
    femur = np.vstack([shaft, _arc(-150, -40) * [1, -1]])
    for name in ("FH.left", "FH.right"):
        c, r = p[name], radius
        f = _smooth_open(femur)
        coarse.polygon(c + r * (f[:, :1] * w + f[:, 1:] * d), inner=0.1, rim=0.25, rim_mm=4 * s)
        fine.ellipse(c, (r, r), inner=0.17, cortex=0.4, cortex_mm=1.5 * s)
        fine.ellipse(
            c, (r + 3.0 * s, r + 3.0 * s), inner=0.0, cortex=0.25, cortex_mm=2.5 * s, arc=(0.25, 2.6)
        )


def paint_ap(fine: Canvas, coarse: Canvas, geom: SpineGeometry, model: SpineModel, texture) -> None:
    """Draw an AP film (the patient's right on image left, −x) of *geom* on the two canvases.

    Parameters are as for :func:`paint_lateral`, with *geom* from
    :func:`~spinecheck.landmarks.synthetic.spine_model.ap_geometry`.
    """
    sp = _Spine(geom, ("right", "left"))
    s, p, y = model.body_scale, sp.p, sp.y
    ys = coarse.rows_y()
    rot = _rot(-model.pelvic_obliquity_deg)  # x is mirrored, so the obliquity turns the other way
    s1y = model.pelvic_radius_mm * math.cos(math.radians(model.pelvic_tilt_deg))
    hw = model.hip_width_mm / 2

    def pelvic(pts: np.ndarray, side: int) -> np.ndarray:
        """Pelvic-frame ``(lateral, up)`` mm on *side* (-1 image left, +1 image right) to geometry."""
        return (np.asarray(pts, dtype=float) * [side, 1]) @ rot.T

    # body outline: trunk, then two thighs
    top = y["C2"] + 85 * s
    knots = np.array(
        [-700, -60, 0, y["S1"], y["L3"], y["T12"], y["T8"], y["T4"], y["T2"], y["C7"], y["C2"], top]
    )
    halfw = np.array([0, 175, 180, 165, 135, 140, 155, 170, 200, 70, 60, 75]) * s
    depth = np.array([0, 190, 210, 220, 230, 220, 220, 200, 180, 110, 110, 180]) * s
    ref = np.where(ys < 0, 0.0, sp.x_at(ys))
    trunk = np.clip((ys + 90 * s) / (60 * s), 0, 1)
    trunk = trunk * trunk * (3 - 2 * trunk)  # smoothstep: no Mach band where the thighs part
    _soft_tissue(
        coarse,
        ref - _profile(ys, knots, halfw),
        ref + _profile(ys, knots, halfw),
        _profile(ys, knots, depth) * trunk,
    )
    for side in (-1, 1):
        thigh_x = side * (hw + 10 * s)
        _soft_tissue(
            coarse,
            np.full_like(ys, thigh_x - 85 * s),
            np.full_like(ys, thigh_x + 85 * s),
            160 * s * (1 - trunk),
        )

    # lungs, heart (the patient's left: image right), clavicles, scapulae, ribs, bowel gas
    rib_x = np.array([55, 85, 105, 118, 127, 133, 136, 137, 136, 132, 118, 100]) * s
    rib_z = np.array([25, 35, 45, 52, 56, 58, 58, 56, 52, 46, 40, 32]) * s
    neck_x = float(sp.x_at(y["T1"]))
    for side in (-1, 1):

        def lat(at_y: float, dist: float, side=side) -> float:
            return float(sp.x_at(at_y)) + side * dist

        dome = y["T10"] + (12 if side < 0 else 2) * s
        lung = [
            (lat(y["T1"], 30 * s), y["T1"] + 5 * s),
            (lat(y["T1"], 50 * s), y["T1"] + 15 * s),
            (lat(y["T2"], rib_x[2] - 10 * s), y["T2"]),
            (lat(y["T5"], rib_x[5] - 8 * s), y["T5"]),
            (lat(y["T9"], rib_x[8] - 8 * s), y["T9"]),
            (lat(y["T11"], rib_x[10]), y["T11"] - 10 * s),
            (lat(y["T10"], 80 * s), dome + 12 * s),
            (lat(y["T10"], 45 * s), dome),
            (lat(y["T10"], 25 * s), dome - 6 * s),
            (lat(y["T6"], 22 * s), y["T6"]),
        ]
        coarse.polygon(_smooth(lung), -SOFT_TISSUE_PER_MM * 140 * s, soft_mm=30 * s)
        clav = np.array([[25, -8], [60, 0], [110, 12], [150, 22], [178, 16]]) * s
        coarse.band(
            np.column_stack([neck_x + side * clav[:, 0], y["T1"] + clav[:, 1]]), 6.5 * s, 0.3, hollow=0.3
        )
        scap = np.array([[95, 10], [165, 5], [158, -150], [118, -160]]) * s
        coarse.polygon(
            _smooth(np.column_stack([side * scap[:, 0] + neck_x, y["T2"] + scap[:, 1]]), 4),
            inner=0.06,
            rim=0.2,
            rim_mm=3 * s,
        )
    heart = _ellipse_pts(np.array([sp.x_at(y["T9"]) + 40 * s, y["T9"]]), 75 * s, 55 * s)
    coarse.polygon(heart, SOFT_TISSUE_PER_MM * 70 * s, soft_mm=35 * s)
    _gas(coarse, np.array([sp.x_at(y["L3"]), y["L4"]]), (110 * s, 50 * s), s)
    for k in range(1, 13):
        centre, u, n = sp.frame(f"T{k}")
        half_body = sp.sizes[f"T{k}"][1] / 2
        attach = centre + 0.25 * sp.sizes[f"T{k}"][2] * n
        rx, rz = rib_x[k - 1], rib_z[k - 1]

        def keep(dx: np.ndarray, dy: np.ndarray, half_body=half_body, rx=rx, k=k) -> np.ndarray:
            posterior = (dy > 0) & (np.abs(dx) > half_body + 4)
            anterior = (dy <= 0) & (np.abs(dx) > 0.35 * rx) & (k < 11)
            return posterior * 1.0 + anterior * 0.35

        coarse.ring_band(attach - [0, rz], (rx, rz), 5 * s, 0.22, keep)

    # skull and mandible
    crown = (p["C2.sup.left"] + p["C2.sup.right"]) / 2
    coarse.ellipse(
        crown + np.array([0, 100.0]) * s, (78 * s, 90 * s), inner=0.6, cortex=0.7, cortex_mm=10 * s
    )
    jaw = np.array([[-55, 40], [-50, -10], [-25, -38], [0, -45], [25, -38], [50, -10], [55, 40]]) * s + crown
    coarse.band(jaw, 9 * s, 0.22, hollow=0.3)

    # pelvis: iliac wings, pubis and ischium rings with obturator foramina, sacrum with its foramina
    innominate = np.array(
        [
            (45, s1y + 2),
            (58, s1y + 20),
            (80, s1y + 29),
            (105, s1y + 28),
            (hw + 40 * s, s1y + 30 * s),
            (hw + 55 * s, s1y + 24 * s),
            (hw + 65 * s, s1y + 10 * s),
            (hw + 67 * s, s1y - 15 * s),
            (hw + 62 * s, s1y - 35 * s),
            (hw + 55 * s, s1y - 50 * s),
            (hw + 33, 25),
            (hw + 27, 8),
            (hw + 24, -20),
            (hw + 15, -45),
            (hw + 10, -80),
            (hw - 5, -95),
            (hw - 30, -98),
            (30, -85),
            (8, -75),
            (8, -40),
            (30, -28),
            (55, -20),
            (62, -5),
            (58, 20),
            (52, 50),
            (46, s1y - 30),
        ]
    )
    brim = np.array([(47, s1y - 25), (53, 45), (58, 12), (52, -12), (28, -26)])
    for side in (-1, 1):
        coarse.polygon(pelvic(_smooth(innominate, 6), side), inner=0.16, rim=0.45, rim_mm=3 * s)
        coarse.polygon(
            pelvic(_ellipse_pts(np.array([hw + 5, 15.0]), 38 * s, 45 * s), side), 0.12, soft_mm=20 * s
        )
        coarse.polygon(
            pelvic(_ellipse_pts(np.array([hw - 32, -62.0]), 19 * s, 22 * s, 16), side),
            inner=-0.16,
            rim=0.2,
            rim_mm=2.5 * s,
        )
        coarse.band(pelvic(brim, side), 2.0 * s, 0.2)
    shield = np.array([[54, -4], [57, -22], [46, -55], [24, -88], [9, -108], [0, -113]]) * s
    shield = np.vstack([shield, shield[-2:0:-1] * [-1, 1]]) + [0, s1y]
    coarse.polygon(pelvic(_smooth(shield, 6), 1), inner=0.22, rim=0.45, rim_mm=3 * s)
    for k in range(4):
        for side in (-1, 1):
            c = np.array([side * (21.0 - 2 * k) * s, s1y - (28 + 19 * k) * s])
            coarse.polygon(pelvic(_ellipse_pts(c, (6 - k) * s, 5 * s, 12), 1), -0.2, soft_mm=3 * s)

    _bodies(fine, sp, texture, 0)
    _posterior_ap(fine, sp, s)
    centre, u, n = sp.frame("C2")
    fine.convex(
        np.array(
            [
                crown - 5.5 * s * u,
                crown + 5.5 * s * u,
                crown + 5 * s * u + 11 * s * n,
                crown + 16 * s * n,
                crown - 5 * s * u + 11 * s * n,
            ]
        ),
        inner=0.3,
        cortex=0.6,
        cortex_mm=1.0,
        round_mm=2 * s,
    )
    _femora_ap(fine, coarse, p, geom.femoral_head_radius_mm, s)


def _posterior_ap(fine: Canvas, sp: _Spine, s: float) -> None:
    """Pedicle rings, spinous processes and lumbar transverse processes over each body."""
    for lev in TYPICAL_LEVELS[:-1]:
        centre, u, n = sp.frame(lev)
        _, w, h = sp.sizes[lev]
        ang = math.atan2(u[1], u[0])
        big = 1.0 if lev[0] == "L" else 0.8
        for side in (-1, 1):
            fine.ellipse(
                centre + side * 0.33 * w * u + 0.18 * h * n,
                (0.1 * w * big, 0.2 * h),
                inner=0.08,
                cortex=0.4,
                cortex_mm=1.2,
                angle_rad=ang,
            )
        low = {"C": 0.25, "T": 0.6, "L": 0.3}[lev[0]]
        fine.ellipse(
            centre - low * h * n, (0.07 * w, 0.22 * h), inner=0.08, cortex=0.25, cortex_mm=1.0, angle_rad=ang
        )
        if lev[0] == "L":
            reach = {"L1": 18, "L2": 22, "L3": 27, "L4": 22, "L5": 20}[lev] * s
            for side in (-1, 1):
                a = centre + side * 0.42 * w * u + 0.08 * h * n
                b = centre + side * (0.5 * w + reach) * u + 0.12 * h * n
                t = 0.11 * h * n
                fine.convex(
                    np.array([a + t, b + 0.6 * t, b - 0.6 * t, a - t]),
                    inner=0.15,
                    cortex=0.3,
                    cortex_mm=1.0,
                    round_mm=2 * s,
                )


def _femora_ap(fine: Canvas, coarse: Canvas, p: dict, radius: float, s: float) -> None:
    """Femora (neck–shaft angle ~130°, trochanters, shaft) coarse; heads and acetabular roofs fine."""
    neck = np.array(
        [
            [1.4, 0.3],
            [2.05, 0.5],
            [2.6, 0.1],
            [2.7, -1.0],
            [2.35, -2.6],
            [2.0, -8.0],
            [1.85, -24.0],
            [0.65, -24.0],
            [0.9, -8.0],
            [1.05, -3.3],
            [0.7, -2.9],
            [0.85, -2.3],
            [0.95, -1.4],
        ]
    )
    femur = np.vstack([neck, _arc(-60, 40)])  # joins the head along its lateral rim, never inside it
    for name, lateral in (("FH.left", -1.0), ("FH.right", 1.0)):
        c, r = p[name], radius
        coarse.polygon(c + r * _smooth_open(femur) * [lateral, 1], inner=0.14, rim=0.38, rim_mm=4.5 * s)
        fine.ellipse(c, (r, r), inner=0.26, cortex=0.5, cortex_mm=1.5 * s)
        fine.ellipse(
            c, (r + 3.0 * s, r + 3.0 * s), inner=0.0, cortex=0.35, cortex_mm=2.5 * s, arc=(0.35, 2.8)
        )
