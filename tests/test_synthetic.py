"""Synthetic films: ground truth against clinical.md's definitions, image content, mirroring, DICOM and PNG.

The parameter formulas here are written from clinical.md §0–§2 independently of
``spinecheck.landmarks.synthetic.spine_model``: they work on the films' pixel landmarks, scaled to
millimetres by the films' spacing, and derive the patient's anterior (lateral)
or right (AP) from the landmarks as the product does.
"""

from __future__ import annotations

import math

import numpy as np
import pydicom
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage import io
from skimage.draw import polygon
from spinecheck.landmarks.points.model import LandmarkSet
from spinecheck.landmarks.points.names import TYPICAL_LEVELS, PatientRight, View, valid_point_names
from spinecheck.landmarks.synthetic.films import (
    SyntheticFilm,
    render_ap,
    render_lateral,
    synthetic_ap,
    synthetic_lateral,
    write_dicom,
    write_png,
)
from spinecheck.landmarks.synthetic.spine_model import CoronalCurve, SpineModel, ap_geometry, lateral_geometry

SPACING = (0.5, 0.5)  # small films keep the suite fast


# ----------------------------------------------------------------------------- formulas from clinical.md


def _mm(film: SyntheticFilm) -> dict[str, np.ndarray]:
    """Landmarks in mm with y up (clinical.md §0.1: scale x by the column spacing, y by the row spacing)."""
    dy, dx = film.mm_per_px
    return {k: np.array([x * dx, -y * dy]) for k, (x, y) in film.landmarks.points.items()}


def _centre(p: dict, level: str, corners: tuple[str, str]) -> np.ndarray:
    return np.mean([p[f"{level}.{e}.{c}"] for e in ("sup", "inf") for c in corners], axis=0)


def sagittal_from_landmarks(p: dict[str, np.ndarray]) -> dict[str, float]:
    """clinical.md §1 from lateral landmarks in mm (y up); anterior from the S1 endplate (§0.3)."""
    ant = 1.0 if p["S1.sup.ant"][0] > p["S1.sup.post"][0] else -1.0
    q = {k: np.array([v[0] * ant, v[1]]) for k, v in p.items()}  # +x anterior from here on

    def theta(endplate: str) -> float:  # §0.6
        d = q[f"{endplate}.ant"] - q[f"{endplate}.post"]
        return math.degrees(math.atan2(d[1], d[0]))

    def cobb(upper: str, lower: str) -> float:
        return theta(upper) - theta(lower)

    def angle_from_vertical(a: np.ndarray, b: np.ndarray) -> float:  # positive when b is anterior of a
        return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1]))

    ha = (q["FH.left"] + q["FH.right"]) / 2
    s1 = (q["S1.sup.ant"] + q["S1.sup.post"]) / 2
    c7, t1, c2 = (_centre(q, lev, ("ant", "post")) for lev in ("C7", "T1", "C2"))
    pt = -angle_from_vertical(ha, s1)  # positive when S1 is posterior to the hip axis
    ss = -theta("S1.sup")
    # PI measured directly: angle between the endplate's perpendicular at S1mid and S1mid -> HA
    d = q["S1.sup.ant"] - q["S1.sup.post"]
    perp = np.array([d[1], -d[0]]) / np.hypot(*d)  # points caudally for a sloping sacrum
    to_ha = (ha - s1) / np.hypot(*(ha - s1))
    pi = math.degrees(math.acos(np.clip(perp @ to_ha, -1, 1)))
    out = {
        "PI": pi,
        "PT": pt,
        "SS": ss,
        "LL": cobb("L1.sup", "S1.sup"),
        "LL_L1L5": cobb("L1.sup", "L5.inf"),
        "LL_L4S1": cobb("L4.sup", "S1.sup"),
        "TK": -cobb("T4.sup", "T12.inf"),
        "TK_T2T12": -cobb("T2.sup", "T12.inf"),
        "TK_T5T12": -cobb("T5.sup", "T12.inf"),
        "CL": cobb("C2.inf", "C7.inf"),
        "T1S": -theta("T1.sup"),
        "SVA": float(c7[0] - q["S1.sup.post"][0]),
        "cSVA": float(c2[0] - q["C7.sup.post"][0]),
        "TPA": pt + angle_from_vertical(ha, t1),
        "GT": pt + angle_from_vertical(s1, c7),
    }
    out["PI_LL"] = out["PI"] - out["LL"]
    out["TS_CL"] = out["T1S"] - out["CL"]
    return out


def coronal_from_landmarks(
    p: dict[str, np.ndarray], patient_right: PatientRight, curves: tuple[CoronalCurve, ...]
) -> dict[str, float]:
    """clinical.md §2 from AP landmarks in mm (y up); sides follow ``patient_right``."""
    right = -1.0 if patient_right is PatientRight.IMAGE_LEFT else 1.0  # x direction of the patient's right
    # name the corners by the patient's sides
    pr, pl = ("left", "right") if right < 0 else ("right", "left")

    def tilt(endplate: str) -> float:  # positive when the patient's right corner is higher
        d = p[f"{endplate}.{pr}"] - p[f"{endplate}.{pl}"]
        return math.degrees(math.atan2(d[1], d[0] * right))

    s1 = (p["S1.sup.left"] + p["S1.sup.right"]) / 2
    c7 = _centre(p, "C7", ("left", "right"))
    crest = p[f"IC.{pr}"] - p[f"IC.{pl}"]
    out = {
        "C7_CSVL": float((c7[0] - s1[0]) * right),
        "PO": math.degrees(math.atan2(crest[1], crest[0] * right)),
    }
    for c in curves:
        out[f"Cobb.{c.label}"] = abs(tilt(f"{c.upper}.sup") - tilt(f"{c.lower}.inf"))
    out["Cobb_max"] = max((out[f"Cobb.{c.label}"] for c in curves), default=0.0)
    out["S1_tilt"] = tilt("S1.sup")
    out["tilts"] = [tilt(f"{lev}.{e}") for lev in TYPICAL_LEVELS[:-1] for e in ("sup", "inf")]  # type: ignore[assignment]
    return out


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lateral() -> SyntheticFilm:
    return render_lateral(mm_per_px=SPACING)


@pytest.fixture(scope="module")
def ap() -> SyntheticFilm:
    return render_ap(mm_per_px=SPACING)


MODELS = [
    pytest.param(SpineModel(), id="default"),
    pytest.param(
        SpineModel(
            pelvic_incidence_deg=42,
            pelvic_tilt_deg=8,
            lumbar_lordosis_deg=52,
            thoracic_kyphosis_deg=28,
            sva_mm=-15,
            cervical_lordosis_deg=5,
        ),
        id="balanced",
    ),
    pytest.param(
        SpineModel(
            pelvic_incidence_deg=70,
            pelvic_tilt_deg=35,
            lumbar_lordosis_deg=25,
            thoracic_kyphosis_deg=15,
            sva_mm=110,
            body_scale=1.1,
        ),
        id="flatback",
    ),
    pytest.param(
        SpineModel(
            pelvic_incidence_deg=45,
            pelvic_tilt_deg=-4,
            lumbar_lordosis_deg=60,
            sva_mm=None,
            thoracolumbar_lordosis_deg=-6,
        ),
        id="anteverted",
    ),
]


# ----------------------------------------------------------------------------- ground truth


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("facing", ["right", "left"])
def test_lateral_truth_matches_landmarks_and_model(model: SpineModel, facing: str) -> None:
    film = render_lateral(model, mm_per_px=(0.5, 0.4), facing=facing)
    got = sagittal_from_landmarks(_mm(film))
    assert set(film.truth) == set(got)
    for key, value in got.items():
        assert film.truth[key] == pytest.approx(value, abs=1e-6), key
    wanted = {
        "PI": model.pelvic_incidence_deg,
        "PT": model.pelvic_tilt_deg,
        "SS": model.sacral_slope_deg,
        "LL": model.lumbar_lordosis_deg,
        "TK": model.thoracic_kyphosis_deg,
        "CL": model.cervical_lordosis_deg,
    }
    if model.sva_mm is not None:
        wanted["SVA"] = model.sva_mm
    for key, value in wanted.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key
    assert got["PI"] == pytest.approx(got["PT"] + got["SS"], abs=1e-9)


@pytest.mark.parametrize("patient_right", ["image_left", "image_right"])
@pytest.mark.parametrize(
    "model",
    [
        pytest.param(SpineModel(), id="double"),
        pytest.param(
            SpineModel(coronal_curves=(("T10", "L3", 35.0),), c7_csvl_mm=-25, pelvic_obliquity_deg=-3),
            id="lumbar-right",
        ),
        pytest.param(
            SpineModel(coronal_curves=(("T2", "T6", -12.0), ("T6", "T12", 40.0), ("L1", "L4", -30.0))),
            id="triple-with-gap",
        ),
        pytest.param(SpineModel(coronal_curves=(), c7_csvl_mm=0.0, pelvic_obliquity_deg=0.0), id="straight"),
    ],
)
def test_ap_truth_matches_landmarks_and_model(model: SpineModel, patient_right: str) -> None:
    film = render_ap(model, mm_per_px=(0.4, 0.5), patient_right=patient_right)
    got = coronal_from_landmarks(_mm(film), film.landmarks.patient_right, model.coronal_curves)
    for key in film.truth:
        assert film.truth[key] == pytest.approx(got[key], abs=1e-6), key
    assert got["C7_CSVL"] == pytest.approx(model.c7_csvl_mm, abs=1e-6)
    assert got["PO"] == pytest.approx(model.pelvic_obliquity_deg, abs=1e-6)
    assert got["S1_tilt"] == pytest.approx(model.pelvic_obliquity_deg, abs=1e-6)
    tilts = np.array(got["tilts"])
    names = [f"{lev}.{e}" for lev in TYPICAL_LEVELS[:-1] for e in ("sup", "inf")]
    for c in model.coronal_curves:
        assert got[f"Cobb.{c.label}"] == pytest.approx(abs(c.cobb_deg), abs=1e-6)
        # the end vertebrae are the most tilted ones of their curve
        span = tilts[names.index(f"{c.upper}.sup") : names.index(f"{c.lower}.inf") + 1]
        assert np.ptp(span) == pytest.approx(abs(c.cobb_deg), abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    pi=st.floats(30, 85),
    pt=st.floats(-5, 40),
    ll=st.floats(0, 75),
    tk=st.floats(0, 65),
    cl=st.floats(-15, 40),
    shift=st.floats(-100, 100),
)
def test_lateral_geometry_is_exact_for_any_feasible_model(pi, pt, ll, tk, cl, shift) -> None:
    assume(-30 < pi - pt < 80)
    angles = dict(
        pelvic_incidence_deg=pi,
        pelvic_tilt_deg=pt,
        lumbar_lordosis_deg=ll,
        thoracic_kyphosis_deg=tk,
        cervical_lordosis_deg=cl,
    )
    try:  # ask for an SVA within 10 cm of the one these angles give unreshaped
        sva = lateral_geometry(SpineModel(sva_mm=None, **angles)).truth["SVA"] + shift
        geom = lateral_geometry(SpineModel(sva_mm=sva, **angles))
    except ValueError:  # a collapsed disc: refused, never silently wrong
        assume(False)
    got = sagittal_from_landmarks({k: np.asarray(v) for k, v in geom.points_mm.items()})
    for key, value in {"PI": pi, "PT": pt, "SS": pi - pt, "LL": ll, "TK": tk, "SVA": sva, "CL": cl}.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key


@settings(max_examples=40, deadline=None)
@given(
    ends=st.lists(st.sampled_from(TYPICAL_LEVELS[2:-1]), min_size=2, max_size=2, unique=True),
    cobb=st.floats(5, 50),
    convex_right=st.booleans(),
    c7=st.floats(-40, 40),
    obliquity=st.floats(-6, 6),
)
def test_ap_geometry_is_exact_for_any_single_curve(ends, cobb, convex_right, c7, obliquity) -> None:
    upper, lower = sorted(ends, key=TYPICAL_LEVELS.index)
    curve = CoronalCurve(upper, lower, cobb if convex_right else -cobb)
    model = SpineModel(coronal_curves=(curve,), c7_csvl_mm=c7, pelvic_obliquity_deg=obliquity)
    try:
        geom = ap_geometry(model)
    except ValueError:  # too sharp a curve over too few discs: refused
        assume(False)
    p = {k: np.asarray(v) for k, v in geom.points_mm.items()}
    got = coronal_from_landmarks(p, PatientRight.IMAGE_LEFT, (curve,))
    assert got["C7_CSVL"] == pytest.approx(c7, abs=1e-6)
    assert got["PO"] == pytest.approx(obliquity, abs=1e-6)
    assert got[f"Cobb.{curve.label}"] == pytest.approx(cobb, abs=1e-6)


def test_truth_is_the_geometry_truth(lateral: SyntheticFilm, ap: SyntheticFilm) -> None:
    assert dict(lateral.truth) == dict(lateral_geometry(lateral.model).truth)
    assert dict(ap.truth) == dict(ap_geometry(ap.model).truth)
    assert lateral.truth["PI_LL"] == pytest.approx(15.0)


# ----------------------------------------------------------------------------- landmark set


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_landmark_set(which: str, request: pytest.FixtureRequest) -> None:
    film: SyntheticFilm = request.getfixturevalue(which)
    marks = film.landmarks
    rows, cols = film.pixels.shape
    assert isinstance(marks, LandmarkSet)
    assert marks.view is film.view is (View.LATERAL if which == "lateral" else View.AP)
    assert marks.calibration is None
    assert (marks.image.rows, marks.image.columns) == (rows, cols)
    assert marks.patient.age_years == 67 and str(marks.patient.sex) == "F"
    # every corner of the generated spine, which has the typical levels (no T13, no L6)
    corners = [
        n for n in valid_point_names(film.view) if n.count(".") == 2 and n.split(".")[0] in TYPICAL_LEVELS
    ]
    assert set(corners) <= set(marks.points)
    assert set(marks.points) <= set(valid_point_names(film.view))
    xy = np.array(list(marks.points.values()))
    margin = 5 / film.mm_per_px[0]
    assert (xy[:, 0] > margin).all() and (xy[:, 0] < cols - 1 - margin).all()
    assert (xy[:, 1] > margin).all() and (xy[:, 1] < rows - 1 - margin).all()
    for name in ("FH.left", "FH.right"):
        circle = marks.circles[name]
        assert circle.center == marks.points[name]
        assert circle.radius == pytest.approx(film.model.femoral_head_radius_mm / film.mm_per_px[0])
    if which == "ap":
        assert marks.patient_right is PatientRight.IMAGE_LEFT
        assert marks.points["FH.left"][0] < marks.points["FH.right"][0]
        assert marks.points["IC.left"][0] < marks.points["IC.right"][0]
    else:
        assert marks.patient_right is None
        assert marks.points["S1.sup.ant"][0] > marks.points["S1.sup.post"][0]  # faces image right
        fh = np.subtract(marks.points["FH.left"], marks.points["FH.right"])
        assert np.hypot(*fh) > 5  # the two heads do not superimpose


def test_default_size_and_scaling() -> None:
    film = synthetic_lateral(mm_per_px=(0.6, 0.6))
    assert film.pixels.shape == (1500, 600)
    big = render_ap(mm_per_px=(1.2, 1.25), rows=800, cols=300)  # a 960 x 375 mm film, 7200 x 3000 at 0.125 mm
    assert big.pixels.shape == (800, 300)
    assert big.landmarks.image.rows == 800


# ----------------------------------------------------------------------------- pixels


def test_pixels_are_12_bit_monochrome2(lateral: SyntheticFilm) -> None:
    px = lateral.pixels
    assert px.dtype == np.uint16 and px.ndim == 2 and px.max() <= 4095
    air = np.concatenate([px[:40, :20].ravel(), px[:40, -20:].ravel()])
    rows, cols = px.shape
    body = px[rows // 2 - 20 : rows // 2 + 20, cols // 2 - 20 : cols // 2 + 20]
    assert air.mean() < 400
    assert body.mean() > air.mean() + 600


def test_same_seed_same_pixels_other_seed_other_noise(lateral: SyntheticFilm) -> None:
    again = render_lateral(mm_per_px=SPACING, seed=0)
    other = render_lateral(mm_per_px=SPACING, seed=1)
    assert np.array_equal(again.pixels, lateral.pixels)
    diff = other.pixels.astype(float) - lateral.pixels.astype(float)
    assert np.count_nonzero(diff) > 0.9 * diff.size
    assert abs(diff.mean()) < 2  # only the noise differs: zero-mean, same anatomy
    assert 20 < diff.std() < 80
    assert other.landmarks.points == lateral.landmarks.points


def _quad(film: SyntheticFilm, level: str) -> np.ndarray:
    a, b = ("ant", "post") if film.view is View.LATERAL else ("left", "right")
    p = film.landmarks.points
    return np.array(
        [p[f"{level}.sup.{a}"], p[f"{level}.sup.{b}"], p[f"{level}.inf.{b}"], p[f"{level}.inf.{a}"]]
    )


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_vertebral_bodies_are_brighter_than_the_tissue_beside_them(which: str, request) -> None:
    film: SyntheticFilm = request.getfixturevalue(which)
    img = film.pixels.astype(float)
    for level in TYPICAL_LEVELS:
        q = _quad(film, level)
        c = q.mean(axis=0)
        inner = c + 0.6 * (q - c)
        rr, cc = polygon(inner[:, 1], inner[:, 0], img.shape)
        body = img[rr, cc].mean()
        u = q[0] - q[1] + q[3] - q[2]  # toward the anterior (lateral) or image-left (AP) wall
        u /= np.hypot(*u)
        wall = (q[0] + q[3]) / 2
        beside = np.array([wall + u * mm / film.mm_per_px[1] for mm in (5, 6, 7, 8)])
        tissue = ndi.map_coordinates(img, [beside[:, 1], beside[:, 0]], order=1).mean()
        assert body > tissue + 100, level


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_endplate_edges_are_at_the_landmarks(which: str, request) -> None:
    film: SyntheticFilm = request.getfixturevalue(which)
    img = film.pixels.astype(float)
    mm = film.mm_per_px[0]
    a, b = ("ant", "post") if film.view is View.LATERAL else ("left", "right")
    p = {k: np.array(v) for k, v in film.landmarks.points.items()}
    t_mm = np.linspace(-2, 2, 81)
    offsets, steps = [], []
    for level in TYPICAL_LEVELS:
        centre = _quad(film, level).mean(axis=0)
        for endplate in ("sup", "inf"):
            if (level, endplate) in (
                ("C2", "sup"),
                ("S1", "inf"),
            ):  # the dens and the sacrum continue the bone
                continue
            ea, eb = p[f"{level}.{endplate}.{a}"], p[f"{level}.{endplate}.{b}"]
            e = (eb - ea) / np.hypot(*(eb - ea))
            n = np.array([-e[1], e[0]])
            n = -n if n @ (centre - ea) > 0 else n  # outward, into the disc
            for frac in (0.25, 0.5, 0.75):
                line = ea + frac * (eb - ea) + (t_mm / mm)[:, None] * n
                prof = ndi.map_coordinates(img, [line[:, 1], line[:, 0]], order=1)
                offsets.append(t_mm[np.argmax(-np.gradient(prof))])
                steps.append(prof[t_mm <= -1.5].mean() - prof[t_mm >= 1.5].mean())
    offsets, steps = np.abs(offsets), np.array(steps)
    assert steps.min() > 100  # bone inside, disc outside: a strong edge everywhere
    assert np.median(offsets) <= 0.5 and offsets.max() <= 1.5  # the edge is on the landmark line


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_femoral_heads_are_bright_discs_with_their_rim_on_the_circle(which: str, request) -> None:
    film: SyntheticFilm = request.getfixturevalue(which)
    img = film.pixels.astype(float)
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    for name, circle in film.landmarks.circles.items():
        r = np.hypot(xx - circle.center[0], yy - circle.center[1]) / circle.radius
        assert img[r < 0.7].mean() > img[(r > 1.25) & (r < 1.6)].mean() + 150, name
        rims = []
        for ang in np.linspace(0, 2 * np.pi, 36, endpoint=False):
            d = np.array([math.cos(ang), math.sin(ang)])
            t = circle.radius + np.linspace(-2, 2, 81) / film.mm_per_px[0]
            line = np.asarray(circle.center) + t[:, None] * d
            prof = ndi.map_coordinates(img, [line[:, 1], line[:, 0]], order=1)
            rims.append((t[np.argmax(-np.gradient(prof))] - circle.radius) * film.mm_per_px[0])
        assert abs(np.median(rims)) <= 0.75, name


# ----------------------------------------------------------------------------- mirroring


def test_facing_left_is_the_mirror_image(lateral: SyntheticFilm) -> None:
    left = render_lateral(mm_per_px=SPACING, facing="left")
    assert np.array_equal(left.pixels, lateral.pixels[:, ::-1])
    mirrored = lateral.landmarks.mirrored(lateral.pixels.shape[1])
    assert left.landmarks.points == mirrored.points
    assert left.landmarks.points["S1.sup.ant"][0] < left.landmarks.points["S1.sup.post"][0]
    assert dict(left.truth) == dict(lateral.truth)


def test_patient_right_on_image_right_is_the_mirror_image(ap: SyntheticFilm) -> None:
    flipped = render_ap(mm_per_px=SPACING, patient_right="image_right")
    assert np.array_equal(flipped.pixels, ap.pixels[:, ::-1])
    assert flipped.landmarks.patient_right is PatientRight.IMAGE_RIGHT
    width = ap.pixels.shape[1]
    assert flipped.landmarks.points["S1.sup.right"] == pytest.approx(
        (width - 1 - ap.landmarks.points["S1.sup.left"][0], ap.landmarks.points["S1.sup.left"][1])
    )
    assert dict(flipped.truth) == dict(ap.truth)


# ----------------------------------------------------------------------------- convenience and errors


def test_overrides_go_to_the_model_or_the_renderer() -> None:
    film = synthetic_lateral(seed=3, pelvic_tilt_deg=10, mm_per_px=1.0, facing="left", age_years=45)
    assert film.model.pelvic_tilt_deg == 10 and film.seed == 3
    assert film.truth["SS"] == pytest.approx(45.0)
    assert film.patient.age_years == 45 and film.pixels.shape == (900, 360)
    film = synthetic_ap(coronal_curves=(), mm_per_px=1.0, sex="M")
    assert film.truth["Cobb_max"] == 0.0 and str(film.patient.sex) == "M"


@pytest.mark.parametrize(
    "call, match",
    [
        pytest.param(lambda: render_lateral(mm_per_px=1.0, rows=300), "cannot hold", id="film-too-short"),
        pytest.param(lambda: render_ap(mm_per_px=1.0, cols=150), "cannot hold", id="film-too-narrow"),
        pytest.param(lambda: render_lateral(facing="up"), "facing", id="facing"),
        pytest.param(lambda: render_ap(patient_right="up"), "image_left", id="patient-right"),
        pytest.param(lambda: render_lateral(mm_per_px=(0, 1)), "mm_per_px", id="spacing"),
        pytest.param(
            lambda: SpineModel(pelvic_incidence_deg=20, pelvic_tilt_deg=60), "sacral slope", id="ss"
        ),
        pytest.param(
            lambda: SpineModel(coronal_curves=(("T5", "T11", 20), ("T10", "L3", -20))),
            "overlap",
            id="overlapping-curves",
        ),
        pytest.param(
            lambda: SpineModel(coronal_curves=(("T5", "T10", 20), ("T11", "L3", 20))),
            "opposite",
            id="same-convexity",
        ),
        pytest.param(lambda: CoronalCurve("L3", "T10", 20), "above", id="upside-down"),
        pytest.param(lambda: CoronalCurve("T10", "S1", 20), "C2..L5", id="sacral-end"),
        pytest.param(lambda: lateral_geometry(SpineModel(sva_mm=900)), "SVA", id="sva-unreachable"),
        pytest.param(
            lambda: lateral_geometry(SpineModel(sva_mm=None, thoracic_kyphosis_deg=300)),
            "collapse",
            id="collapsed",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def small_ap() -> SyntheticFilm:
    return render_ap(mm_per_px=1.0, seed=5)


@pytest.mark.parametrize(
    "syntax, uid",
    [
        ("explicit little endian", pydicom.uid.ExplicitVRLittleEndian),
        ("implicit little endian", pydicom.uid.ImplicitVRLittleEndian),
        ("jpeg2000 lossless", pydicom.uid.JPEG2000Lossless),
        ("jpeg-ls lossless", pydicom.uid.JPEGLSLossless),
        ("rle lossless", pydicom.uid.RLELossless),
        (pydicom.uid.JPEG2000Lossless, pydicom.uid.JPEG2000Lossless),
    ],
)
def test_dicom_round_trip_is_lossless(small_ap: SyntheticFilm, tmp_path, syntax: str, uid: str) -> None:
    ds = pydicom.dcmread(write_dicom(small_ap, tmp_path / "ap.dcm", transfer_syntax=syntax))
    assert ds.file_meta.TransferSyntaxUID == uid
    assert np.array_equal(ds.pixel_array, small_ap.pixels)
    assert ds.SOPClassUID == pydicom.uid.DigitalXRayImageStorageForPresentation
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert (ds.Rows, ds.Columns) == small_ap.pixels.shape
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12, 11, 0)
    assert [float(v) for v in ds.PixelSpacing] == [1.0, 1.0]
    assert "ImagerPixelSpacing" not in ds
    assert (ds.PatientAge, ds.PatientSex, ds.Modality) == ("067Y", "F", "DX")
    assert ds.ViewPosition == "AP" and list(ds.PatientOrientation) == ["L", "F"]
    assert 0 < float(ds.WindowWidth) <= 4096 and 0 < float(ds.WindowCenter) < 4096


def test_dicom_header_choices(tmp_path) -> None:
    film = synthetic_lateral(mm_per_px=(1.0, 0.8), facing="left")
    ds = pydicom.dcmread(
        write_dicom(
            film,
            tmp_path / "a.dcm",
            modality="CR",
            spacing="imager",
            patient_age=54,
            extra={"EstimatedRadiographicMagnificationFactor": 1.1},
        )
    )
    assert ds.SOPClassUID == pydicom.uid.ComputedRadiographyImageStorage and ds.Modality == "CR"
    assert "PixelSpacing" not in ds and [float(v) for v in ds.ImagerPixelSpacing] == [1.0, 0.8]
    assert ds.PatientAge == "054Y" and float(ds.EstimatedRadiographicMagnificationFactor) == 1.1
    assert ds.ViewPosition == "LATERAL" and list(ds.PatientOrientation) == ["P", "F"]
    ds = pydicom.dcmread(
        write_dicom(film, tmp_path / "b.dcm", spacing="none", patient_age="", sop_instance_uid="1.2.3.4")
    )
    assert "PixelSpacing" not in ds and "ImagerPixelSpacing" not in ds
    assert ds.PatientAge == "" and ds.SOPInstanceUID == "1.2.3.4"
    ds = pydicom.dcmread(write_dicom(film, tmp_path / "c.dcm", spacing="both"))
    assert [float(v) for v in ds.PixelSpacing] == [float(v) for v in ds.ImagerPixelSpacing] == [1.0, 0.8]


def test_dicom_uids_are_deterministic(small_ap: SyntheticFilm, tmp_path) -> None:
    one = pydicom.dcmread(write_dicom(small_ap, tmp_path / "1.dcm"))
    two = pydicom.dcmread(write_dicom(small_ap, tmp_path / "2.dcm"))
    other = pydicom.dcmread(write_dicom(render_ap(mm_per_px=1.0, seed=6), tmp_path / "3.dcm"))
    lateral = pydicom.dcmread(write_dicom(render_lateral(mm_per_px=1.0, seed=5), tmp_path / "4.dcm"))
    assert one.SOPInstanceUID == two.SOPInstanceUID != other.SOPInstanceUID
    assert lateral.StudyInstanceUID == one.StudyInstanceUID  # same patient and seed: same study
    assert lateral.SeriesInstanceUID != one.SeriesInstanceUID and lateral.SOPInstanceUID != one.SOPInstanceUID


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"transfer_syntax": "jpeg lossy"}, "transfer_syntax"),
        ({"modality": "CT"}, "modality"),
        ({"spacing": "detector"}, "spacing"),
    ],
)
def test_dicom_bad_choices(small_ap: SyntheticFilm, tmp_path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        write_dicom(small_ap, tmp_path / "x.dcm", **kwargs)


def test_png(small_ap: SyntheticFilm, tmp_path) -> None:
    raw = io.imread(write_png(small_ap, tmp_path / "raw.png", bits=16))
    assert raw.dtype == np.uint16 and np.array_equal(raw, small_ap.pixels)
    preview = io.imread(write_png(small_ap, tmp_path / "preview.png", max_size=300))
    assert preview.dtype == np.uint8 and max(preview.shape) <= 300 and preview.max() == 255
    with pytest.raises(ValueError, match="bits"):
        write_png(small_ap, tmp_path / "x.png", bits=12)
