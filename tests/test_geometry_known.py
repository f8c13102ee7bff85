"""Known-answer tables for the geometry core, computed by hand from clinical.md §0–§2.

Every expected value below is derived from the *words* of ``../shared/spec/clinical.md``
(never from the code under test): a film is built from chosen angles and distances, in
the patient frame, and the answer is the construction itself. Conventions (clinical.md §0):

* pixels: ``x`` = column (right), ``y`` = row (down); millimetres after scaling ``x`` by the
  column spacing and ``y`` by the row spacing (DICOM order ``[row, col]``);
* lateral patient frame ``(a, s)``: ``a`` toward the patient's anterior, ``s`` up (−y);
* endplate orientation θ: direction of post→ant from the anterior horizontal, positive when
  the anterior corner is higher; SS = −θ(S1 sup), T1S = −θ(T1 sup), sagittal Cobb(U, L) =
  θ(U) − θ(L) (positive = lordosis; TK is its negative, positive = kyphosis);
* PT, SVA, TPA, GT keep their sign.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from spinecheck.alignment.geometry.plane import NO_REASON, has_reason, per_level
from spinecheck.alignment.measure import measure
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import LandmarkSet
from spinecheck.landmarks.points.names import PatientRight

SAGITTAL_IDS = (
    "PI",
    "PT",
    "SS",
    "LL",
    "LL_L1L5",
    "LL_L4S1",
    "TK",
    "TK_T2T12",
    "TK_T5T12",
    "PI_LL",
    "SVA",
    "TPA",
    "GT",
    "T1S",
    "CL",
    "cSVA",
    "TS_CL",
)
LENGTHS = ("SVA", "cSVA")
ANGLES = tuple(p for p in SAGITTAL_IDS if p not in LENGTHS)
TOL_DEG = 1e-9
TOL_MM = 1e-9


def _cos(deg: float) -> float:
    return math.cos(math.radians(deg))


def _sin(deg: float) -> float:
    return math.sin(math.radians(deg))


def _atan_deg(y: float, x: float) -> float:
    return math.degrees(math.atan2(y, x))


# --------------------------------------------------------------------------------------------------
# builders: everything is placed in a patient frame in millimetres, then mapped to image pixels
# --------------------------------------------------------------------------------------------------


def lateral_endplate(
    pts: dict, level: str, e: str, mid: tuple[float, float], theta: float, length: float = 40.0
) -> None:
    """Put an endplate of orientation ``theta`` (clinical.md §0.6) centred on ``mid`` (frame mm).

    ant = mid + L/2 (cos θ, sin θ), post = mid − L/2 (cos θ, sin θ): the post→ant line makes θ
    with the anterior horizontal, positive when ant is higher.
    """
    h = length / 2
    pts[f"{level}.{e}.ant"] = (mid[0] + h * _cos(theta), mid[1] + h * _sin(theta))
    pts[f"{level}.{e}.post"] = (mid[0] - h * _cos(theta), mid[1] - h * _sin(theta))


def polar_up(origin: tuple[float, float], phi: float, dist: float) -> tuple[float, float]:
    """Return the point ``dist`` from ``origin`` at ``phi`` degrees from the upward vertical (+ anterior)."""
    return (origin[0] + dist * _sin(phi), origin[1] + dist * _cos(phi))


def polar_down(origin: tuple[float, float], phi: float, dist: float) -> tuple[float, float]:
    """Point at ``dist`` below ``origin``, ``phi`` degrees from the downward vertical toward anterior."""
    return (origin[0] + dist * _sin(phi), origin[1] - dist * _cos(phi))


def lateral_to_image(
    frame_pts: dict,
    *,
    facing: int = 1,
    spacing: tuple[float, float] = (0.5, 0.5),
    origin: tuple[float, float] = (2000.0, 4000.0),
) -> dict:
    """Frame mm ``(a, s)`` to image pixels: ``x = x0 + facing·a/col``, ``y = y0 − s/row``.

    ``facing`` = +1: the patient faces image right; −1: image left.
    """
    row, col = spacing
    return {n: (origin[0] + facing * a / col, origin[1] - s / row) for n, (a, s) in frame_pts.items()}


def ap_vertebra(
    pts: dict,
    level: str,
    centre: tuple[float, float],
    sup_tilt: float,
    inf_tilt: float | None = None,
    width: float = 40.0,
    height: float = 30.0,
) -> None:
    """Put an AP vertebra in an up-positive frame (x image right, y up, mm).

    Superior endplate: centred at ``centre + (0, h/2)``, from its left to its right corner at
    ``sup_tilt`` degrees (positive when the right side is higher); inferior likewise at
    ``centre − (0, h/2)``. The four corners average to ``centre``; the line joining the
    midpoints of the left and right sides has tilt exactly ``(sup_tilt + inf_tilt) / 2``
    (its direction is ∝ (cos s + cos i, sin s + sin i)).
    """
    inf_tilt = sup_tilt if inf_tilt is None else inf_tilt
    w = width / 2
    for e, tilt, dy in (("sup", sup_tilt, height / 2), ("inf", inf_tilt, -height / 2)):
        mx, my = centre[0], centre[1] + dy
        pts[f"{level}.{e}.left"] = (mx - w * _cos(tilt), my - w * _sin(tilt))
        pts[f"{level}.{e}.right"] = (mx + w * _cos(tilt), my + w * _sin(tilt))


def ap_to_image(
    frame_pts: dict,
    *,
    spacing: tuple[float, float] = (0.5, 0.5),
    origin: tuple[float, float] = (1500.0, 4000.0),
) -> dict:
    """Up-positive mm to pixels: ``x = x0 + x/col``, ``y = y0 − y/row``."""
    row, col = spacing
    return {n: (origin[0] + x / col, origin[1] - y / row) for n, (x, y) in frame_pts.items()}


def lateral(points: dict, spacing: tuple[float, float] | None = None) -> LandmarkSet:
    cal = None if spacing is None else Calibration.from_spacing(list(spacing))
    return LandmarkSet("lateral", points, calibration=cal)


def one(m, pid: str) -> float:
    return float(m.values[pid][0])


def reason(m, pid: str):
    return m.reasons[pid][0]


# --------------------------------------------------------------------------------------------------
# 1. pelvis on integer pixel coordinates (3-4-5 triangles, 30/45/60 degree lines)
# --------------------------------------------------------------------------------------------------

ATAN_3_4 = math.degrees(math.atan(3 / 4))  # 36.8698976...

PELVIS_CASES = [
    pytest.param(
        # S1 endplate horizontal: SS = 0. S1mid = (120, 500). HA − S1mid = (+30, +40) px: 30 anterior,
        # 40 below. PT = angle from the vertical through HA to HA→S1mid = atan(30/40), positive since
        # S1mid is posterior to HA. PI: the endplate perpendicular is vertical, S1mid→HA makes
        # atan(30/40) with it, HA anterior of it, so PI = +36.87 (and = PT + SS).
        {"S1.sup.post": (100, 500), "S1.sup.ant": (140, 500), "FH": (150, 540)},
        0.0,
        ATAN_3_4,
        ATAN_3_4,
        id="horizontal-endplate-3-4-5-facing-right",
    ),
    pytest.param(
        # the same film mirrored (x -> 1000 - x): the patient faces image left; every value is the same
        {"S1.sup.post": (900, 500), "S1.sup.ant": (860, 500), "FH": (850, 540)},
        0.0,
        ATAN_3_4,
        ATAN_3_4,
        id="horizontal-endplate-3-4-5-facing-left",
    ),
    pytest.param(
        # post→ant = (+30, +30) px: the anterior corner is 30 px lower, θ = −45, SS = 45. S1mid = (115, 515),
        # HA straight below it: PT = 0. The endplate perpendicular into the sacrum points 45° posterior of
        # the downward vertical; S1mid→HA is the downward vertical: PI = 45.
        {"S1.sup.post": (100, 500), "S1.sup.ant": (130, 530), "FH": (115, 615)},
        45.0,
        0.0,
        45.0,
        id="45deg-endplate-PT-zero",
    ),
    pytest.param(
        # anteverted pelvis: HA − S1mid = (−30, +40): HA is 30 px POSTERIOR to S1mid, so S1mid is anterior
        # to HA and PT = −atan(30/40) = −36.87 (never abs). PI: perpendicular into the sacrum is 45°
        # posterior of the downward vertical, S1mid→HA is 36.87° posterior of it: PI = 45 − 36.87 = 8.13.
        {"S1.sup.post": (100, 500), "S1.sup.ant": (130, 530), "FH": (85, 555)},
        45.0,
        -ATAN_3_4,
        45.0 - ATAN_3_4,
        id="anteverted-negative-PT-facing-right",
    ),
    pytest.param(
        # the same anteverted film facing image left (x -> 1000 - x)
        {"S1.sup.post": (900, 500), "S1.sup.ant": (870, 530), "FH": (915, 555)},
        45.0,
        -ATAN_3_4,
        45.0 - ATAN_3_4,
        id="anteverted-negative-PT-facing-left",
    ),
    pytest.param(
        # 30° line: post→ant = (20√3, 20), anterior 20 px lower: SS = 30. S1mid = (10√3, 10).
        # HA = S1mid + (30, 40): PT = +36.87, PI = 30 + 36.87 = 66.87.
        {
            "S1.sup.post": (0, 0),
            "S1.sup.ant": (20 * math.sqrt(3), 20),
            "FH": (10 * math.sqrt(3) + 30, 10 + 40),
        },
        30.0,
        ATAN_3_4,
        30.0 + ATAN_3_4,
        id="30deg-endplate-3-4-5",
    ),
    pytest.param(
        # 60° line: post→ant = (20, 20√3): SS = 60. HA = S1mid + 100·(−sin 30°, cos 30°) in (x, y-down):
        # 30° posterior of the downward vertical: PT = −30; PI = 60 − 30 = 30 (the perpendicular into the
        # sacrum is 60° posterior of the downward vertical, S1mid→HA 30° posterior: 30° apart).
        {
            "S1.sup.post": (0, 0),
            "S1.sup.ant": (20, 20 * math.sqrt(3)),
            "FH": (10 - 50, 10 * math.sqrt(3) + 50 * math.sqrt(3)),
        },
        60.0,
        -30.0,
        30.0,
        id="60deg-endplate-PT-minus-30",
    ),
    pytest.param(
        # anterior corner HIGHER than the posterior one: post→ant = (40, −30) px, θ = +36.87, SS = −36.87
        # (an unusual sacrum keeps its sign). HA straight below S1mid: PT = 0; PI = PT + SS.
        # By definition: the perpendicular into the sacrum is 36.87° ANTERIOR of the downward vertical, and
        # S1mid→HA is vertical, so S1mid→HA lies 36.87° on the posterior side of it: PI = −36.87.
        {"S1.sup.post": (100, 530), "S1.sup.ant": (140, 500), "FH": (120, 700)},
        -ATAN_3_4,
        0.0,
        -ATAN_3_4,
        id="anterior-corner-higher-negative-SS",
    ),
]


@pytest.mark.parametrize("points, ss, pt, pi", PELVIS_CASES)
def test_pelvis_known_answers(points, ss, pt, pi):
    m = measure(lateral(points))
    assert one(m, "SS") == pytest.approx(ss, abs=TOL_DEG)
    assert one(m, "PT") == pytest.approx(pt, abs=TOL_DEG)
    assert one(m, "PI") == pytest.approx(pi, abs=TOL_DEG)
    assert one(m, "PI") == pytest.approx(one(m, "PT") + one(m, "SS"), abs=1e-6)
    for pid in ("SS", "PT", "PI"):
        assert reason(m, pid) is None


# --------------------------------------------------------------------------------------------------
# 2. a whole lateral film: every sagittal parameter
# --------------------------------------------------------------------------------------------------

# the chosen construction (frame mm); every expected value is a sum of these numbers
S1_THETA = -40.0  # anterior corner lower: SS = 40
S1_LENGTH = 50.0
PT_DEG = 15.0  # HA 15° anterior of the downward vertical from S1mid: S1mid posterior, PT = +15
HA_DIST = 150.0
T1_PHI = -5.0  # HA→T1 centre: 5° POSTERIOR of the upward vertical
C7_PHI = 3.0  # S1mid→C7 centre: 3° anterior of the upward vertical
THETAS = {  # endplate orientations θ (deg)
    ("C2", "sup"): 14.0,
    ("C2", "inf"): 10.0,
    ("C7", "sup"): 0.0,
    ("C7", "inf"): -20.0,
    ("T1", "sup"): -25.0,
    ("T1", "inf"): -22.0,
    ("T2", "sup"): -35.0,
    ("T4", "sup"): -25.0,
    ("T5", "sup"): -20.0,
    ("T12", "inf"): 15.0,
    ("L1", "sup"): 10.0,
    ("L4", "sup"): -5.0,
    ("L5", "inf"): -30.0,
}


def full_lateral_frame(c7_phi: float = C7_PHI, pt: float = PT_DEG) -> tuple[dict, dict]:
    """Build the film (frame mm); also return the landmark positions the expectations need."""
    pts: dict = {}
    s1mid = (0.0, 0.0)
    lateral_endplate(pts, "S1", "sup", s1mid, S1_THETA, S1_LENGTH)
    ha = polar_down(s1mid, pt, HA_DIST)
    pts["FH"] = ha
    t1c = polar_up(ha, T1_PHI, 900.0)
    c7c = polar_up(s1mid, c7_phi, 800.0)
    # vertebrae with both endplates: 20 mm tall, endplates centred ±10 mm about the body centre,
    # so the centroid of the four corners is the body centre exactly
    for level, c in (("T1", t1c), ("C7", c7c)):
        for e, ds in (("sup", 10.0), ("inf", -10.0)):
            lateral_endplate(pts, level, e, (c[0], c[1] + ds), THETAS[(level, e)])
    c7_sup_post = pts["C7.sup.post"]
    # C2 centre 50 mm anterior of C7's posterosuperior corner
    c2c = (c7_sup_post[0] + 50.0, c7_sup_post[1] + 120.0)
    for e, ds in (("sup", 10.0), ("inf", -10.0)):
        lateral_endplate(pts, "C2", e, (c2c[0], c2c[1] + ds), THETAS[("C2", e)])
    # single endplates (their vertebra's centre is not needed), top to bottom
    for (level, e), mid in {
        ("T2", "sup"): (5.0, 720.0),
        ("T4", "sup"): (15.0, 640.0),
        ("T5", "sup"): (20.0, 600.0),
        ("T12", "inf"): (0.0, 330.0),
        ("L1", "sup"): (0.0, 310.0),
        ("L4", "sup"): (10.0, 120.0),
        ("L5", "inf"): (5.0, 40.0),
    }.items():
        lateral_endplate(pts, level, e, mid, THETAS[(level, e)])
    where = {"s1_post": pts["S1.sup.post"], "c7c": c7c, "c2c": c2c, "c7_sup_post": c7_sup_post}
    return pts, where


def full_lateral_expected(c7_phi: float = C7_PHI, pt: float = PT_DEG) -> dict:
    """Each value from clinical.md §1's words, in terms of the construction."""
    ss = -S1_THETA  # SS = −θ(S1 sup) = 40
    pi = pt + ss  # PI: perpendicular vs S1mid→HA = PT + SS = 55
    ll = THETAS[("L1", "sup")] - S1_THETA  # θ(L1 sup) − θ(S1 sup) = 10 + 40 = 50
    tk = -(THETAS[("T4", "sup")] - THETAS[("T12", "inf")])  # −(−25 − 15) = 40 (kyphosis positive)
    t1s = -THETAS[("T1", "sup")]  # 25
    cl = THETAS[("C2", "inf")] - THETAS[("C7", "inf")]  # 10 − (−20) = 30
    # SVA: C7 centre a = 800·sin(φ); S1 posterosuperior corner a = −25·cos(40°)
    sva = 800.0 * _sin(c7_phi) + (S1_LENGTH / 2) * _cos(S1_THETA)
    return {
        "SS": ss,
        "PT": pt,
        "PI": pi,
        "LL": ll,
        "LL_L1L5": THETAS[("L1", "sup")] - THETAS[("L5", "inf")],  # 10 + 30 = 40
        "LL_L4S1": THETAS[("L4", "sup")] - S1_THETA,  # −5 + 40 = 35
        "TK": tk,
        "TK_T2T12": -(THETAS[("T2", "sup")] - THETAS[("T12", "inf")]),  # 35 + 15 = 50
        "TK_T5T12": -(THETAS[("T5", "sup")] - THETAS[("T12", "inf")]),  # 20 + 15 = 35
        "PI_LL": pi - ll,  # 55 − 50 = 5
        "SVA": sva,
        # TPA: angle at HA between HA→S1mid (PT posterior of the upward vertical) and HA→T1 (5° posterior):
        # 15 − 5 = 10, positive as T1 lies anterior of the line HA→S1mid
        "TPA": pt + T1_PHI,
        # GT = PT + angle of S1mid→C7 from the vertical (positive anterior) = 15 + 3 = 18
        "GT": pt + c7_phi,
        "T1S": t1s,
        "CL": cl,
        "cSVA": 50.0,  # by construction
        "TS_CL": t1s - cl,  # 25 − 30 = −5
    }


def test_full_film_expectations_are_hand_values():
    """The derived table written out as plain numbers, so the builder itself is checked too."""
    e = full_lateral_expected()
    assert e["SS"] == 40 and e["PT"] == 15 and e["PI"] == 55 and e["LL"] == 50 and e["PI_LL"] == 5
    assert e["TK"] == 40 and e["TK_T2T12"] == 50 and e["TK_T5T12"] == 35 and e["LL_L1L5"] == 40
    assert e["LL_L4S1"] == 35 and e["T1S"] == 25 and e["CL"] == 30 and e["TS_CL"] == -5
    assert e["TPA"] == 10 and e["GT"] == 18 and e["cSVA"] == 50
    assert e["SVA"] == pytest.approx(41.8680 + 19.1511, abs=1e-3)  # 800 sin 3° + 25 cos 40°
    pts, where = full_lateral_frame()
    # the builder put the S1 posterosuperior corner posterior and above S1mid, and the C2 centre where said
    assert pts["S1.sup.post"][0] < 0 < pts["S1.sup.post"][1]
    assert where["c2c"][0] - where["c7_sup_post"][0] == pytest.approx(50.0)


FILM_VARIANTS = [
    pytest.param(1, (0.5, 0.5), id="facing-right-iso-0.5mm"),
    pytest.param(-1, (0.5, 0.5), id="facing-left-iso-0.5mm"),
    # anisotropic: rows 0.2 mm, columns 0.1 mm. Every pixel angle differs from the mm angle here
    # (e.g. the S1 endplate is at 40° in mm but atan(2·tan 40°) = 59.2° in pixels)
    pytest.param(1, (0.2, 0.1), id="facing-right-aniso-0.2x0.1"),
    pytest.param(-1, (0.1, 0.25), id="facing-left-aniso-0.1x0.25"),
]


@pytest.mark.parametrize("facing, spacing", FILM_VARIANTS)
@pytest.mark.parametrize("pid", SAGITTAL_IDS)
def test_full_lateral_film(pid, facing, spacing):
    frame, _ = full_lateral_frame()
    m = measure(lateral(lateral_to_image(frame, facing=facing, spacing=spacing), spacing))
    expected = full_lateral_expected()[pid]
    assert reason(m, pid) is None
    assert one(m, pid) == pytest.approx(expected, abs=TOL_DEG)
    if pid in LENGTHS:
        # values_px: horizontal offsets in column pixels
        assert float(m.values_px[pid][0]) == pytest.approx(expected / spacing[1], abs=1e-6)
    assert not m.warnings[0], m.warnings[0]


def test_anisotropic_film_angles_are_not_pixel_angles():
    """Guard of the guard: on the anisotropic film the pixel angle of S1 is far from 40°."""
    frame, _ = full_lateral_frame()
    px = lateral_to_image(frame, spacing=(0.2, 0.1))
    dx = px["S1.sup.ant"][0] - px["S1.sup.post"][0]
    dy = px["S1.sup.ant"][1] - px["S1.sup.post"][1]
    assert abs(_atan_deg(dy, dx) - 40.0) > 15.0
    m = measure(lateral(px, (0.2, 0.1)))
    assert one(m, "SS") == pytest.approx(40.0, abs=TOL_DEG)


@pytest.mark.parametrize("facing", [pytest.param(1, id="facing-right"), pytest.param(-1, id="facing-left")])
def test_negative_sva_and_gt_when_c7_is_posterior(facing):
    # C7 centre 6° POSTERIOR of the upward vertical through S1mid, 800 mm up: its a = −800 sin 6° = −83.6 mm;
    # the S1 posterosuperior corner is at a = −25 cos 40° = −19.2 mm; SVA = −83.6 + 19.2 = −64.5 mm (negative:
    # C7 posterior). GT = PT + (−6) = 9.
    frame, _ = full_lateral_frame(c7_phi=-6.0)
    m = measure(lateral(lateral_to_image(frame, facing=facing), (0.5, 0.5)))
    sva = -800.0 * _sin(6.0) + 25.0 * _cos(40.0)
    assert sva < -60
    assert one(m, "SVA") == pytest.approx(sva, abs=TOL_MM)
    assert one(m, "GT") == pytest.approx(15.0 - 6.0, abs=TOL_DEG)


@pytest.mark.parametrize("facing", [pytest.param(1, id="facing-right"), pytest.param(-1, id="facing-left")])
def test_whole_film_with_anteverted_pelvis(facing):
    # PT = −12: HA 12° POSTERIOR of the downward vertical from S1mid. PI = −12 + 40 = 28,
    # PI−LL = 28 − 50 = −22;
    # TPA = −12 − 5 = −17; GT = −12 + 3 = −9 (all signed, no abs()).
    frame, _ = full_lateral_frame(pt=-12.0)
    m = measure(lateral(lateral_to_image(frame, facing=facing), (0.5, 0.5)))
    expected = {"PT": -12.0, "PI": 28.0, "SS": 40.0, "PI_LL": -22.0, "TPA": -17.0, "GT": -9.0}
    for pid, v in expected.items():
        assert one(m, pid) == pytest.approx(v, abs=TOL_DEG), pid


def test_tpa_is_the_angle_at_the_hip_axis():
    """TPA from its first definition: the angle at HA between HA→T1 centre and HA→S1mid."""
    frame, _ = full_lateral_frame()
    ha = frame["FH"]
    t1c = np.mean([frame[f"T1.{e}.{c}"] for e in ("sup", "inf") for c in ("ant", "post")], axis=0)
    s1mid = np.mean([frame["S1.sup.ant"], frame["S1.sup.post"]], axis=0)
    u, v = np.subtract(t1c, ha), np.subtract(s1mid, ha)
    angle = math.degrees(math.acos(np.dot(u, v) / math.hypot(*u) / math.hypot(*v)))
    assert angle == pytest.approx(10.0, abs=1e-9)  # T1 anterior of the HA→S1mid line: positive
    m = measure(lateral(lateral_to_image(frame), (0.5, 0.5)))
    assert one(m, "TPA") == pytest.approx(angle, abs=TOL_DEG)


# --------------------------------------------------------------------------------------------------
# 3. femoral heads: two, superimposed, one
# --------------------------------------------------------------------------------------------------


def _pelvis_with_heads(heads: dict) -> LandmarkSet:
    # 45° endplate (SS = 45), S1mid = (115, 515) px; the heads are given around HA = (145, 555):
    # HA − S1mid = (30, 40), PT = +36.87, PI = 81.87
    pts = {"S1.sup.post": (100, 500), "S1.sup.ant": (130, 530), **heads}
    return lateral(pts)


@pytest.mark.parametrize(
    "heads",
    [
        pytest.param({"FH": (145, 555)}, id="FH-superimposed"),
        pytest.param({"FH.left": (151, 552), "FH.right": (139, 558)}, id="two-heads-midpoint"),
        pytest.param({"FH.left": (139, 558), "FH.right": (151, 552)}, id="two-heads-swapped-names"),
    ],
)
def test_hip_axis_two_heads_or_superimposed(heads):
    m = measure(_pelvis_with_heads(heads))
    assert one(m, "PT") == pytest.approx(ATAN_3_4, abs=TOL_DEG)
    assert one(m, "PI") == pytest.approx(45 + ATAN_3_4, abs=TOL_DEG)
    assert not any("head" in w for w in m.warnings[0]), m.warnings[0]


@pytest.mark.parametrize("name", ["FH.left", "FH.right"])
def test_single_femoral_head_is_used_and_warned(name):
    # only one head at (145, 555): the hip axis is that head (clinical.md §1 HA), with a warning
    m = measure(_pelvis_with_heads({name: (145, 555)}))
    assert one(m, "PT") == pytest.approx(ATAN_3_4, abs=TOL_DEG)
    assert one(m, "PI") == pytest.approx(45 + ATAN_3_4, abs=TOL_DEG)
    assert any("femoral head" in w.lower() for w in m.warnings[0]), m.warnings[0]


def test_no_femoral_head_nulls_pelvic_angles_only():
    m = measure(_pelvis_with_heads({}))
    assert one(m, "SS") == pytest.approx(45.0, abs=TOL_DEG)
    for pid in ("PT", "PI"):
        assert math.isnan(one(m, pid))
        assert "FH" in reason(m, pid)


# --------------------------------------------------------------------------------------------------
# 4. explicit centroid vs four corners
# --------------------------------------------------------------------------------------------------


def _film_with_centroids(
    replace: dict[str, tuple[float, float]], drop_corners: tuple[str, ...] = ()
) -> LandmarkSet:
    frame, _ = full_lateral_frame()
    for level in drop_corners:
        for e in ("sup", "inf"):
            for c in ("ant", "post"):
                if not (level == "C7" and e == "sup" and c == "post"):  # keep C7.sup.post for cSVA
                    frame.pop(f"{level}.{e}.{c}", None)
    frame.update(replace)
    return lateral(lateral_to_image(frame), (0.5, 0.5))


@pytest.mark.parametrize("level", ["C7", "T1", "C2"])
def test_explicit_centroid_alone_equals_four_corners(level):
    frame, where = full_lateral_frame()
    corners = [frame[f"{level}.{e}.{c}"] for e in ("sup", "inf") for c in ("ant", "post")]
    centre = tuple(np.mean(corners, axis=0))
    m4 = measure(lateral(lateral_to_image(frame), (0.5, 0.5)))
    mc = measure(_film_with_centroids({f"{level}.centroid": centre}, drop_corners=(level,)))
    pid = {"C7": "SVA", "T1": "TPA", "C2": "cSVA"}[level]
    assert one(mc, pid) == pytest.approx(full_lateral_expected()[pid], abs=1e-9)
    assert one(mc, pid) == pytest.approx(one(m4, pid), abs=1e-9)


def test_explicit_centroid_wins_over_corners():
    # C7 corners say the centre is at a = 800 sin 3°; an explicitly clicked centroid 10 mm more anterior is
    # what the user placed: SVA = expected + 10, GT from the clicked point
    frame, where = full_lateral_frame()
    c7c = where["c7c"]
    clicked = (c7c[0] + 10.0, c7c[1])
    m = measure(_film_with_centroids({"C7.centroid": clicked}))
    assert one(m, "SVA") == pytest.approx(full_lateral_expected()["SVA"] + 10.0, abs=1e-9)
    s1mid = (0.0, 0.0)
    gt = PT_DEG + _atan_deg(clicked[0] - s1mid[0], clicked[1] - s1mid[1])
    assert one(m, "GT") == pytest.approx(gt, abs=TOL_DEG)


# --------------------------------------------------------------------------------------------------
# 5. calibration: uncalibrated films
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("facing", [pytest.param(1, id="facing-right"), pytest.param(-1, id="facing-left")])
def test_uncalibrated_lengths_in_pixels_only_angles_still_computed(facing):
    # build with spacing 1 (so the frame numbers are pixels) but give no calibration
    frame, _ = full_lateral_frame()
    m = measure(lateral(lateral_to_image(frame, facing=facing, spacing=(1.0, 1.0)), None))
    expected = full_lateral_expected()
    for pid in LENGTHS:
        assert math.isnan(one(m, pid)), pid
        assert "calibrat" in reason(m, pid).lower(), reason(m, pid)
        assert float(m.values_px[pid][0]) == pytest.approx(expected[pid], abs=1e-6), pid
    for pid in ANGLES:
        assert reason(m, pid) is None, (pid, reason(m, pid))
        assert one(m, pid) == pytest.approx(expected[pid], abs=TOL_DEG), pid
    assert not bool(m.calibrated[0])


# --------------------------------------------------------------------------------------------------
# 6. missing landmarks: that parameter null with the missing names, the others still computed
# --------------------------------------------------------------------------------------------------

MISSING_CASES = [
    pytest.param(("T4.sup.ant",), {"TK": ["T4.sup.ant"]}, id="T4-ant"),
    pytest.param(
        ("L1.sup.post",),
        {"LL": ["L1.sup.post"], "LL_L1L5": ["L1.sup.post"], "PI_LL": ["L1.sup.post"]},
        id="L1-post",
    ),
    pytest.param(
        ("T12.inf.ant", "T12.inf.post"),
        {"TK": ["T12.inf"], "TK_T2T12": ["T12.inf"], "TK_T5T12": ["T12.inf"]},
        id="T12-inf",
    ),
    pytest.param(
        ("FH",), {"PT": ["FH"], "PI": ["FH"], "PI_LL": ["FH"], "TPA": ["FH"], "GT": ["FH"]}, id="FH"
    ),
    pytest.param(
        ("C7.sup.ant", "C7.inf.ant", "C7.inf.post"),
        {"SVA": ["C7"], "GT": ["C7"], "CL": ["C7.inf"], "TS_CL": ["C7.inf"]},
        id="C7-corners",
    ),
    pytest.param(("C2.sup.ant",), {"cSVA": ["C2"]}, id="C2-corner"),
    pytest.param(
        ("T1.sup.post",), {"T1S": ["T1.sup.post"], "TS_CL": ["T1.sup.post"], "TPA": ["T1"]}, id="T1-post"
    ),
    pytest.param(("L4.sup.ant",), {"LL_L4S1": ["L4.sup.ant"]}, id="L4-ant"),
    pytest.param(("L5.inf.post",), {"LL_L1L5": ["L5.inf.post"]}, id="L5-post"),
    pytest.param(("T2.sup.ant",), {"TK_T2T12": ["T2.sup.ant"]}, id="T2-ant"),
    pytest.param(("T5.sup.post",), {"TK_T5T12": ["T5.sup.post"]}, id="T5-post"),
]


@pytest.mark.parametrize("drop, nulled", MISSING_CASES)
def test_missing_landmarks(drop, nulled):
    frame, _ = full_lateral_frame()
    for name in drop:
        del frame[name]
    m = measure(lateral(lateral_to_image(frame), (0.5, 0.5)))
    expected = full_lateral_expected()
    for pid in SAGITTAL_IDS:
        if pid in nulled:
            assert math.isnan(one(m, pid)), pid
            r = reason(m, pid)
            assert r is not None and "missing" in r.lower(), (pid, r)
            for fragment in nulled[pid]:
                assert fragment in r, (pid, r)
        else:
            assert reason(m, pid) is None, (pid, reason(m, pid))
            assert one(m, pid) == pytest.approx(expected[pid], abs=TOL_DEG), pid


def test_missing_s1_endplate_other_parameters_still_computed():
    # without S1 the anterior direction comes from the other endplates; every S1-based value is null
    frame, _ = full_lateral_frame()
    del frame["S1.sup.ant"], frame["S1.sup.post"]
    m = measure(lateral(lateral_to_image(frame, facing=-1), (0.5, 0.5)))
    expected = full_lateral_expected()
    for pid in ("SS", "PT", "PI", "LL", "LL_L4S1", "PI_LL", "SVA", "TPA", "GT"):
        assert math.isnan(one(m, pid)), pid
        assert "S1.sup" in reason(m, pid), (pid, reason(m, pid))
    for pid in ("TK", "TK_T2T12", "TK_T5T12", "LL_L1L5", "T1S", "CL", "TS_CL", "cSVA"):
        assert one(m, pid) == pytest.approx(expected[pid], abs=TOL_DEG), pid


# --------------------------------------------------------------------------------------------------
# 7. degenerate input: a zero-length S1 endplate
# --------------------------------------------------------------------------------------------------


def test_zero_length_s1_endplate_in_a_full_film():
    frame, _ = full_lateral_frame()
    frame["S1.sup.ant"] = frame["S1.sup.post"]
    m = measure(lateral(lateral_to_image(frame), (0.5, 0.5)))  # no exception; numpy warnings are errors here
    for pid in ("SS", "PT", "PI", "LL", "LL_L4S1", "PI_LL"):
        assert math.isnan(one(m, pid)), pid
        r = reason(m, pid)
        assert r is not None and "S1" in r, (pid, r)
    # parameters not built on the S1 endplate are still computed
    expected = full_lateral_expected()
    for pid in ("TK", "LL_L1L5", "CL", "T1S"):
        assert one(m, pid) == pytest.approx(expected[pid], abs=TOL_DEG), pid


def test_zero_length_s1_endplate_alone():
    # only the pelvis: the S1 corners coincide. The reason must be about S1 / the degenerate endplate
    m = measure(lateral({"S1.sup.post": (100, 500), "S1.sup.ant": (100, 500), "FH": (130, 540)}))
    for pid in ("SS", "PT", "PI"):
        assert math.isnan(one(m, pid)), pid
        r = reason(m, pid)
        assert r is not None and "S1" in r, (pid, r)


# --------------------------------------------------------------------------------------------------
# 8. coronal: C7–CSVL, pelvic obliquity
# --------------------------------------------------------------------------------------------------

TWO_SPACINGS = [pytest.param((0.5, 0.5), id="iso"), pytest.param((0.2, 0.1), id="aniso")]


def _ap(points_mm: dict, spacing=(0.5, 0.5), patient_right=None, calibrated=True) -> LandmarkSet:
    cal = Calibration.from_spacing(list(spacing)) if calibrated else None
    return LandmarkSet(
        "ap", ap_to_image(points_mm, spacing=spacing), calibration=cal, patient_right=patient_right
    )


def _csvl_film(c7_x: float = 20.0) -> dict:
    # S1 superior endplate from x = −50 to +50 mm (image left/right): CSVL at x = 0.
    # C7 body centre at x = c7_x mm (image right of the CSVL when positive), 500 mm up.
    pts = {"S1.sup.left": (-50.0, 0.0), "S1.sup.right": (50.0, 0.0)}
    ap_vertebra(pts, "C7", (c7_x, 500.0), 0.0)
    return pts


@pytest.mark.parametrize(
    "patient_right, sign",
    [
        pytest.param("image_right", 1.0, id="patient-right-on-image-right"),
        pytest.param("image_left", -1.0, id="patient-right-on-image-left"),
        pytest.param(None, 1.0, id="side-unknown-image-right-positive"),
    ],
)
@pytest.mark.parametrize("spacing", TWO_SPACINGS)
def test_c7_csvl(patient_right, sign, spacing):
    # C7 is 20 mm toward image right of the CSVL: +20 toward the patient's right when the patient's right
    # is image right, −20 when it is image left; relative to the image (+20) when unknown, with a warning
    m = measure(_ap(_csvl_film(20.0), spacing=spacing, patient_right=patient_right))
    assert one(m, "C7_CSVL") == pytest.approx(20.0 * sign, abs=TOL_MM)
    assert float(m.values_px["C7_CSVL"][0]) == pytest.approx(20.0 * sign / spacing[1], abs=1e-6)
    side_warned = any("patient" in w.lower() and "right" in w.lower() for w in m.warnings[0])
    assert side_warned == (patient_right is None), m.warnings[0]


@pytest.mark.parametrize(
    "given, flipped",
    [
        pytest.param("image_right", "image_left", id="str-image_right"),
        pytest.param("image_left", "image_right", id="str-image_left"),
        pytest.param(PatientRight.IMAGE_RIGHT, "image_left", id="enum-image_right"),
        pytest.param(PatientRight.IMAGE_LEFT, "image_right", id="enum-image_left"),
    ],
)
def test_mirrored_ap_film_flips_patient_right(given, flipped):
    # mirroring swaps image left and right, so the patient's right moves to the other image side; the
    # patient is the same: C7–CSVL (toward the patient's right) keeps its value
    lm = _ap(_csvl_film(20.0), patient_right=given)
    mirrored = lm.mirrored(3000)
    assert mirrored.patient_right == flipped
    assert one(measure(mirrored), "C7_CSVL") == pytest.approx(one(measure(lm), "C7_CSVL"), abs=1e-9)


def test_c7_csvl_with_explicit_centroid_and_uncalibrated():
    pts = {"S1.sup.left": (-50.0, 0.0), "S1.sup.right": (50.0, 0.0), "C7.centroid": (-30.0, 500.0)}
    m = measure(_ap(pts, spacing=(1.0, 1.0), patient_right="image_right", calibrated=False))
    assert math.isnan(one(m, "C7_CSVL"))
    assert "calibrat" in reason(m, "C7_CSVL").lower()
    assert float(m.values_px["C7_CSVL"][0]) == pytest.approx(-30.0, abs=1e-9)


def test_c7_csvl_missing_s1():
    pts = _csvl_film()
    del pts["S1.sup.left"]
    m = measure(_ap(pts, patient_right="image_right"))
    assert math.isnan(one(m, "C7_CSVL"))
    assert "S1.sup.left" in reason(m, "C7_CSVL")


# pelvic obliquity: clinical.md gives the magnitude (angle of the crest line, else S1 endplate, to the
# horizontal); the sign is the code's documented one (positive when the patient's right side is higher)
PO_CASES = [
    pytest.param(
        {"IC.left": (-150.0, 0.0), "IC.right": (150.0, 30.0)},
        "image_right",
        _atan_deg(30, 300),
        False,
        id="crests-right-higher-patient-right-on-image-right",
    ),
    pytest.param(
        {"IC.left": (-150.0, 0.0), "IC.right": (150.0, 30.0)},
        "image_left",
        -_atan_deg(30, 300),
        False,
        id="crests-right-higher-patient-right-on-image-left",
    ),
    pytest.param(
        {"IC.left": (-150.0, 0.0), "IC.right": (150.0, 30.0)},
        None,
        _atan_deg(30, 300),
        False,
        id="crests-side-unknown",
    ),
    pytest.param(
        {"IC.left": (-150.0, 40.0), "IC.right": (150.0, 0.0)},
        "image_right",
        -_atan_deg(40, 300),
        False,
        id="crests-left-higher",
    ),
    # S1 fallback: S1.sup.left (−50, 0), S1.sup.right (50, −5): image right lower by 5 over 100 mm
    pytest.param({}, "image_right", -_atan_deg(5, 100), True, id="S1-fallback"),
    pytest.param(
        {"IC.left": (-150.0, 0.0)}, "image_right", -_atan_deg(5, 100), True, id="one-crest-S1-fallback"
    ),
]


@pytest.mark.parametrize("crests, patient_right, expected, fallback", PO_CASES)
@pytest.mark.parametrize("spacing", TWO_SPACINGS)
def test_pelvic_obliquity(crests, patient_right, expected, fallback, spacing):
    pts = {"S1.sup.left": (-50.0, 0.0), "S1.sup.right": (50.0, -5.0), **crests}
    ap_vertebra(pts, "C7", (0.0, 500.0), 0.0)
    m = measure(_ap(pts, spacing=spacing, patient_right=patient_right))
    assert reason(m, "PO") is None
    assert one(m, "PO") == pytest.approx(expected, abs=TOL_DEG)
    # never folded into the CSVL: the CSVL uses the S1 midpoint (x = 0) whatever the crests say
    assert one(m, "C7_CSVL") == pytest.approx(0.0, abs=1e-9)
    assert any("S1" in w for w in m.warnings[0] if "obliquity" in w) == fallback, m.warnings[0]


def test_pelvic_obliquity_uncalibrated_is_still_an_angle():
    pts = {
        "IC.left": (-150.0, 0.0),
        "IC.right": (150.0, 30.0),
        "S1.sup.left": (-50.0, 0.0),
        "S1.sup.right": (50.0, 0.0),
    }
    m = measure(_ap(pts, spacing=(1.0, 1.0), patient_right="image_right", calibrated=False))
    assert one(m, "PO") == pytest.approx(_atan_deg(30, 300), abs=TOL_DEG)


# --------------------------------------------------------------------------------------------------
# 9. coronal Cobb: constructed C- and S-shaped spines
# --------------------------------------------------------------------------------------------------

TL_LEVELS = [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]


def _spine(tilts: dict[str, tuple[float, float]], xs: dict[str, float]) -> dict:
    """Vertebrae T1..L5, 40 mm apart vertically (T1 at the top), centred at ``xs`` mm."""
    pts: dict = {}
    for j, level in enumerate(TL_LEVELS):
        s, i = tilts[level]
        ap_vertebra(pts, level, (xs.get(level, 0.0), 1000.0 - 40.0 * j), s, i)
    return pts


def _c_spine() -> dict:
    # one curve convex to image right, between T2 and T10, apex T7 (not the middle level, T6):
    # tilts (both endplates equal) T1 = 24 (a rise of 6° < 10° to T2: no curve of its own), T2 = 30
    # (upper end), −6° per level to T7 = 0, −10° per level to T10 = −30 (lower end), then slowly
    # back to −21 at L5 (a rise of 9° < 10°). Cobb = 30 − (−30) = 60° by either method.
    # Centres bulge right: x = 0, 8, 15, 21, 26, 28, 25, 15, 0 mm for T2..T10, farthest at T7.
    seq = [24, 30, 24, 18, 12, 6, 0, -10, -20, -30, -28, -26, -24, -22, -21, -21, -21]
    tilts = {lv: (float(t), float(t)) for lv, t in zip(TL_LEVELS, seq, strict=True)}
    xs = {"T3": 8.0, "T4": 15.0, "T5": 21.0, "T6": 26.0, "T7": 28.0, "T8": 25.0, "T9": 15.0}
    return _spine(tilts, xs)


def _s_spine() -> dict:
    # thoracic curve convex right, T4..T10 (apex T7), lumbar convex left, T10..L4 (apex L2).
    # vertebra tilt (mean of the endplates = midline tilt): T1..T3 18, 20, 22 (rise 6 < 10), T4 24,
    # then −8/level to T10 −24, back up by 6/level to L2 0, by 10/level to L4 20 (lower end), L5 12
    # (a fall of 8 < 10: not a curve). The end vertebrae are wedged: T4 endplates sup 28 / inf 20
    # (mean 24), T10 sup −20 / inf −28 (mean −24).
    # endplate method: thoracic = sup(T4) − inf(T10) = 28 + 28 = 56;
    #                  lumbar = |sup(T10) − inf(L4)| = |−20 − 20| = 40
    # midline method:  thoracic = 24 + 24 = 48;  lumbar = |−24 − 20| = 44
    seq = [18, 20, 22, 24, 16, 8, 0, -8, -16, -24, -18, -12, -6, 0, 10, 20, 12]
    tilts = {lv: (float(t), float(t)) for lv, t in zip(TL_LEVELS, seq, strict=True)}
    tilts["T4"] = (28.0, 20.0)
    tilts["T10"] = (-20.0, -28.0)
    # centres: thoracic bulge right peaking at T7 (+30), lumbar bulge left peaking at L2 (−20), which is
    # not the middle level of T10..L4 (L1)
    xs = {
        "T5": 15.0,
        "T6": 26.0,
        "T7": 30.0,
        "T8": 26.0,
        "T9": 15.0,
        "T11": -8.0,
        "T12": -14.0,
        "L1": -18.0,
        "L2": -20.0,
        "L3": -12.0,
    }
    return _spine(tilts, xs)


COBB_CASES = [
    pytest.param(_c_spine, "endplate", [("T2", "T10", "T7", 60.0, "image right")], id="C-endplate"),
    pytest.param(_c_spine, "midline", [("T2", "T10", "T7", 60.0, "image right")], id="C-midline"),
    pytest.param(
        _s_spine,
        "endplate",
        [("T4", "T10", "T7", 56.0, "image right"), ("T10", "L4", "L2", 40.0, "image left")],
        id="S-endplate",
    ),
    pytest.param(
        _s_spine,
        "midline",
        [("T4", "T10", "T7", 48.0, "image right"), ("T10", "L4", "L2", 44.0, "image left")],
        id="S-midline",
    ),
]


@pytest.mark.parametrize(
    "spacing",
    [
        pytest.param((0.5, 0.5), id="iso"),
        pytest.param((0.2, 0.1), id="aniso"),
        pytest.param(None, id="uncalibrated"),
    ],
)
@pytest.mark.parametrize("build, method, expected", COBB_CASES)
def test_cobb_curves_ends_apex_angle(build, method, expected, spacing):
    sp = (1.0, 1.0) if spacing is None else spacing
    m = measure(
        _ap(build(), spacing=sp, patient_right="image_left", calibrated=spacing is not None),
        cobb_method=method,
    )
    curves = m.curves.curves(0)
    got = [(c["upper_end"], c["lower_end"], c["apex"], c["angle_deg"]) for c in curves]
    assert [g[:3] for g in got] == [e[:3] for e in expected], got
    for g, e in zip(got, expected, strict=True):
        assert g[3] == pytest.approx(e[3], abs=1e-9), (g, e)
    assert reason(m, "Cobb_max") is None
    assert one(m, "Cobb_max") == pytest.approx(max(e[3] for e in expected), abs=1e-9)
    assert m.curves.method == method


@pytest.mark.parametrize("build, method, expected", COBB_CASES)
def test_cobb_curve_convexity(build, method, expected):
    # the thoracic curves bulge toward image right (centres at +x), the lumbar one toward image left
    m = measure(_ap(build(), patient_right="image_right"), cobb_method=method)
    assert [c["convex"] for c in m.curves.curves(0)] == [e[4] for e in expected]


def test_cobb_endplate_and_midline_differ_on_wedged_end_vertebrae():
    pts = _s_spine()
    e = measure(_ap(pts), cobb_method="endplate")
    mid = measure(_ap(pts), cobb_method="midline")
    assert one(e, "Cobb_max") == pytest.approx(56.0, abs=1e-9)
    assert one(mid, "Cobb_max") == pytest.approx(48.0, abs=1e-9)


def test_cobb_anisotropic_pixels_are_not_mm():
    # the same C spine in mm; with rows 0.2 and columns 0.1 mm the pixel tilts are different (the T2
    # endplate at 30° in mm is atan(tan 30° · 0.1/0.2) = 16.1° in pixels): a pixel Cobb would be ~32°
    pts = ap_to_image(_c_spine(), spacing=(0.2, 0.1))
    dx = pts["T2.sup.right"][0] - pts["T2.sup.left"][0]
    dy = pts["T2.sup.left"][1] - pts["T2.sup.right"][1]
    assert _atan_deg(dy, dx) == pytest.approx(math.degrees(math.atan(math.tan(math.radians(30)) / 2)))
    lm = LandmarkSet("ap", pts, calibration=Calibration.from_spacing([0.2, 0.1]))
    m = measure(lm, cobb_method="midline")
    assert one(m, "Cobb_max") == pytest.approx(60.0, abs=1e-9)


def test_cobb_missing_corner_is_not_silent():
    # a corner missing in the middle of the curve: Cobb still measured on the annotated levels, with a warning
    pts = _c_spine()
    del pts["T7.sup.left"]
    m = measure(_ap(pts, patient_right="image_right"), cobb_method="midline")
    assert one(m, "Cobb_max") == pytest.approx(60.0, abs=1e-9)
    assert any("T7" in w for w in m.warnings[0]), m.warnings[0]


def test_cobb_needs_two_vertebrae():
    pts: dict = {}
    ap_vertebra(pts, "T8", (0.0, 0.0), 10.0)
    m = measure(_ap(pts, patient_right="image_right"))
    assert math.isnan(one(m, "Cobb_max"))
    assert reason(m, "Cobb_max") is not None


def test_ap_values_on_lateral_film_and_back_are_null_with_reasons():
    frame, _ = full_lateral_frame()
    lat = measure(lateral(lateral_to_image(frame), (0.5, 0.5)))
    for pid in ("C7_CSVL", "Cobb_max", "PO"):
        assert math.isnan(one(lat, pid)) and reason(lat, pid) is not None
    ap = measure(_ap(_c_spine()))
    for pid in SAGITTAL_IDS:
        assert math.isnan(one(ap, pid)) and reason(ap, pid) is not None


def test_zero_length_l1_endplate_nulls_only_what_uses_it():
    frame, _ = full_lateral_frame()
    frame["L1.sup.ant"] = frame["L1.sup.post"]
    m = measure(lateral(lateral_to_image(frame), (0.5, 0.5)))
    expected = full_lateral_expected()
    for pid in ("LL", "LL_L1L5", "PI_LL"):
        assert math.isnan(one(m, pid)), pid
        assert "L1" in reason(m, pid), (pid, reason(m, pid))
    for pid in ("SS", "PT", "PI", "TK", "LL_L4S1", "SVA", "CL"):
        assert one(m, pid) == pytest.approx(expected[pid], abs=TOL_DEG), pid


def test_hip_axis_on_the_s1_midpoint_is_degenerate():
    # HA exactly at S1mid: PT and PI are undefined (no line HA→S1mid); SS is still the endplate's slope
    m = measure(lateral({"S1.sup.post": (100, 500), "S1.sup.ant": (130, 530), "FH": (115, 515)}))
    assert one(m, "SS") == pytest.approx(45.0, abs=TOL_DEG)
    for pid in ("PT", "PI"):
        assert math.isnan(one(m, pid)), pid
        assert reason(m, pid) is not None


def test_zero_length_s1_endplate_on_an_ap_film():
    # S1.sup.left and S1.sup.right coincide: no endplate, so no CSVL direction check and no obliquity line
    pts = {"S1.sup.left": (0.0, 0.0), "S1.sup.right": (0.0, 0.0)}
    ap_vertebra(pts, "C7", (20.0, 500.0), 0.0)
    m = measure(_ap(pts, patient_right="image_right"))
    assert math.isnan(one(m, "PO"))
    assert reason(m, "PO") is not None
    assert math.isnan(one(m, "C7_CSVL"))
    assert reason(m, "C7_CSVL") is not None


def test_midline_is_not_the_mean_of_the_endplates():
    # T1: a square, both endplates level (tilt 0). T2 below it, not a parallelogram (up-positive mm):
    # sup.left (0, −30), sup.right (40, −30), inf.left (0, −50), inf.right (40, −70).
    #   superior endplate tilt 0; inferior endplate tilt atan2(−20, 40) = −atan(1/2) = −26.565°;
    #   midline: left-side midpoint (0, −40), right-side midpoint (40, −50): tilt −atan(1/4) = −14.036°
    #   (the mean of the endplates would be −13.28°).
    # One curve T1–T2: endplate Cobb = |sup(T1) − inf(T2)| = 26.565; midline Cobb = |0 − (−14.036)| = 14.036.
    pts = {
        "T1.sup.left": (0.0, 10.0),
        "T1.sup.right": (40.0, 10.0),
        "T1.inf.left": (0.0, -10.0),
        "T1.inf.right": (40.0, -10.0),
        "T2.sup.left": (0.0, -30.0),
        "T2.sup.right": (40.0, -30.0),
        "T2.inf.left": (0.0, -50.0),
        "T2.inf.right": (40.0, -70.0),
    }
    mid = measure(_ap(pts, patient_right="image_right"), cobb_method="midline")
    end = measure(_ap(pts, patient_right="image_right"), cobb_method="endplate")
    assert one(mid, "Cobb_max") == pytest.approx(math.degrees(math.atan(1 / 4)), abs=1e-9)
    assert one(end, "Cobb_max") == pytest.approx(math.degrees(math.atan(1 / 2)), abs=1e-9)
    for m in (mid, end):
        assert [(c["upper_end"], c["lower_end"]) for c in m.curves.curves(0)] == [("T1", "T2")]


@pytest.mark.parametrize("spacing", TWO_SPACINGS)
def test_endplate_end_vertebra_is_the_one_whose_endplate_is_most_tilted(spacing):
    # clinical.md §2: "the end vertebrae being the most tilted ones bounding the curve"; with the endplate
    # method that is the SRS glossary's end vertebra: the most cephalad vertebra whose superior surface tilts
    # maximally toward the concavity (and the caudal one whose inferior surface does).
    # The C spine with its top changed: T2 square at 30°, T3 square at 29.5°, T4 wedged with superior
    # endplate 32° and inferior 26° (mean 29°). By mean (or midline) tilt T2 is the upper end
    # (30 > 29.5 > 29), but the most tilted superior endplate of the curve is T4's (32 > 30 > 29.5),
    # two levels down. Endplate Cobb = sup(T4) − inf(T10) = 32 − (−30) = 62;
    # midline Cobb = mid(T2) − mid(T10) = 30 + 30 = 60.
    pts = _c_spine()
    ap_vertebra(pts, "T3", (8.0, 1000.0 - 40.0 * 2), 29.5)
    ap_vertebra(pts, "T4", (15.0, 1000.0 - 40.0 * 3), 32.0, 26.0)
    end = measure(_ap(pts, spacing=spacing, patient_right="image_right"), cobb_method="endplate")
    mid = measure(_ap(pts, spacing=spacing, patient_right="image_right"), cobb_method="midline")
    assert one(mid, "Cobb_max") == pytest.approx(60.0, abs=1e-9)
    assert [(c["upper_end"], c["lower_end"]) for c in mid.curves.curves(0)] == [("T2", "T10")]
    assert [(c["upper_end"], c["lower_end"]) for c in end.curves.curves(0)] == [("T4", "T10")]
    assert one(end, "Cobb_max") == pytest.approx(62.0, abs=1e-9)


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param(["missing landmarks: FH", None, "no calibration", None], id="text-and-none"),
        pytest.param([None, None, None], id="none-only"),
        pytest.param([np.str_("degenerate geometry"), "", None], id="numpy-text-and-empty"),
        pytest.param([], id="empty"),
    ],
)
def test_has_reason_is_not_equal_to_none_cell_by_cell(cells: list) -> None:
    """``has_reason`` tells reasons by reference; it answers as the comparison with None does."""
    reasons = np.empty(len(cells), dtype=object)
    reasons[:] = cells
    for a in (reasons, reasons[::-1], reasons.reshape(-1, 1)):  # a reversed view, a column
        assert has_reason(a).shape == a.shape
        assert has_reason(a).tolist() == np.not_equal(a, NO_REASON).tolist()


@pytest.mark.parametrize(
    "levels",
    [
        pytest.param(np.full(3, "S1", dtype=object), id="one-object"),
        pytest.param(np.array(["S1", "".join(["S", "1"]), "S1"], dtype=object), id="equal-distinct-objects"),
        pytest.param(np.array(["S1", "S1", "S1"]), id="numpy-text"),
        pytest.param(np.array(["S1", "L5", "S1"], dtype=object), id="two-levels"),
    ],
)
def test_per_level_makes_one_call_per_distinct_level(levels: np.ndarray) -> None:
    """The same level found by reference or by comparison of texts: one call per distinct level, same rows."""
    calls: list[str] = []
    row = {"S1": np.array([1.0, 2.0, 3.0]), "L5": np.array([10.0, 20.0, 30.0])}

    def make(level: str) -> tuple[np.ndarray]:
        calls.append(str(level))
        return (row[str(level)],)

    (got,) = per_level(levels, make)
    assert calls == list(dict.fromkeys(str(v) for v in levels))
    assert got.tolist() == [row[str(v)][i] for i, v in enumerate(levels)]
