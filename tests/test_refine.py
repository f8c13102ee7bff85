"""Landmark refinement: femoral heads, endplates, corners, the orchestration and ``spinecheck refine``."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from spinecheck.cli import main
from spinecheck.landmarks import (
    ImageRef,
    LandmarkSet,
    RefinedPoints,
    RefineFailure,
    load_radiograph,
    read_aasce_mat,
    read_landmarks,
    refine_corner,
    refine_endplate,
    refine_femoral_head,
    refine_landmarks,
    refine_point,
    write_landmarks,
)
from spinecheck.landmarks.refine.femoral_head import refine_femoral_head_pair
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_png

SPACING = 0.4  # mm per pixel: small films keep the file fast


@pytest.fixture(scope="module")
def ap_film():
    return synthetic_ap(1, mm_per_px=SPACING)


@pytest.fixture(scope="module")
def fh_film():
    """At the default 0.2 mm/px (at 0.4 mm/px the acetabular arc is only 7 px outside the rim)."""
    return synthetic_ap(1)


@pytest.fixture(scope="module")
def demo_lateral():
    """The demo's lateral film: 4500 x 1800 px, 0.2 mm/px, 12 bits."""
    return synthetic_lateral(0)


@pytest.fixture(scope="module")
def lateral_film():
    return synthetic_lateral(2, mm_per_px=SPACING)


def _off(p, mm, angle_deg, spacing=SPACING):
    a = math.radians(angle_deg)
    return (p[0] + mm / spacing * math.cos(a), p[1] + mm / spacing * math.sin(a))


# ----------------------------------------------------------------------------- femoral head


@pytest.mark.parametrize("angle", [0, 100, 230])
@pytest.mark.parametrize("name", ["FH.left", "FH.right"])
def test_femoral_head_from_a_click_10_mm_off(fh_film, name, angle):
    true = fh_film.landmarks.points[name]
    fit = refine_femoral_head(fh_film.pixels, _off(true, 10, angle, 0.2), mm_per_px=0.2)
    assert fit, fit
    assert math.dist(fit.circle.center, true) * 0.2 < 1.0
    assert abs(fit.circle.radius - fh_film.landmarks.circles[name].radius) * 0.2 < 1.0
    assert 0 < fit.confidence <= 1


def test_femoral_head_from_rim_points(fh_film):
    c = fh_film.landmarks.circles["FH.left"]
    rng = np.random.default_rng(3)
    phi = np.radians([170, 215, 260, 300, 345])  # upper half (y down): not the neck
    rim = np.column_stack([c.center[0] + c.radius * np.cos(phi), c.center[1] + c.radius * np.sin(phi)])
    rim += rng.normal(0, 2, rim.shape)
    fit = refine_femoral_head(fh_film.pixels, rim=rim, mm_per_px=0.2)
    assert fit, fit
    assert math.dist(fit.circle.center, c.center) * 0.2 < 1.0


def test_femoral_head_far_click_declines_with_the_bound(fh_film):
    true = fh_film.landmarks.points["FH.left"]
    fit = refine_femoral_head(fh_film.pixels, _off(true, 10, 45, 0.2), mm_per_px=0.2, max_shift_px=20)
    assert not fit
    assert isinstance(fit, RefineFailure)
    assert "px bound; kept the click" in fit.reason and fit.reason.startswith("would move")


def test_radius_prior_rejects_a_wrong_size_disc():
    yy, xx = np.mgrid[0:400, 0:400]
    img = np.where((xx - 200.0) ** 2 + (yy - 200.0) ** 2 < 30.0**2, 3000.0, 500.0)
    img += np.random.default_rng(0).normal(0, 20, img.shape)
    # a 30 px disc at 0.2 mm/px is 6 mm across the radius: no femoral head
    assert not refine_femoral_head(img, (205, 198), mm_per_px=0.2)
    # the same disc is found with a prior that admits it
    fit = refine_femoral_head(img, (205, 198), radius_range_px=(20, 45))
    assert fit and math.dist(fit.circle.center, (200, 200)) < 1.0


@pytest.mark.parametrize("kind", ["flat", "noise"])
def test_femoral_head_declines_without_a_head(kind):
    img = np.full((500, 500), 1000.0)
    if kind == "noise":
        img = img + np.random.default_rng(1).normal(0, 30, img.shape)
    out = refine_femoral_head(img, (250, 250), mm_per_px=0.2)
    assert isinstance(out, RefineFailure) and out.reason


def test_femoral_head_needs_a_2d_image():
    with pytest.raises(ValueError, match="2-D"):
        refine_femoral_head(np.zeros((3, 4, 5)), (1, 1))


@pytest.fixture(scope="module")
def lateral_02():
    """A lateral film at 0.2 mm/px: the heads superimpose 8 mm apart (40 px)."""
    return synthetic_lateral(0)


@pytest.mark.parametrize("seed", [0, 3])
def test_lateral_pair_from_two_clicks_10_mm_off(seed):
    film = synthetic_lateral(seed)
    true = [np.array(film.landmarks.points[n]) for n in ("FH.left", "FH.right")]
    rng = np.random.default_rng(50 + seed)
    clicks = [_off(t, 10, rng.uniform(0, 360), 0.2) for t in true]
    pair = refine_femoral_head_pair(film.pixels, clicks, mm_per_px=0.2)
    assert pair, pair
    got = [np.array(f.circle.center) for f in pair.fits]
    # the names are interchangeable for the hip axis (formats.md §1): the better assignment
    err = min(
        max(math.dist(got[0], true[0]), math.dist(got[1], true[1])),
        max(math.dist(got[0], true[1]), math.dist(got[1], true[0])),
    )
    assert err * 0.2 < 1.0
    for f, c in zip(pair.fits, clicks, strict=True):
        assert f.move_px == pytest.approx(math.dist(f.circle.center, c))


def test_lateral_pair_from_two_clicks_on_one_head(lateral_02):
    film = lateral_02
    left, right = (np.array(film.landmarks.points[n]) for n in ("FH.left", "FH.right"))
    clicks = [_off(left, 2, 30, 0.2), _off(left, 3, 200, 0.2)]
    pair = refine_femoral_head_pair(film.pixels, clicks, mm_per_px=0.2)
    if pair:
        a, b = (np.array(f.circle.center) for f in pair.fits)
        assert math.dist(a, b) * 0.2 > 4.0  # two distinct heads, not one twice
        assert sorted(min(math.dist(p, left), math.dist(p, right)) * 0.2 for p in (a, b))[-1] < 1.0
    else:
        assert pair.reason and "kept the clicks" in pair.reason


@pytest.mark.parametrize("off_mm", [pytest.param(0.0, id="on-the-centres"), pytest.param(2.0, id="2-mm-off")])
@pytest.mark.parametrize("spacing", [0.2, 0.4])
def test_lateral_pair_from_accurate_clicks(off_mm, spacing):
    """Accurate clicks are never declined: both heads fitted within 0.5 mm.

    Regression: both clicks seeded the same coarse candidates, and the rim's strength was
    measured against a spread that contained the rim, so the second head was lost.
    """
    film = synthetic_lateral(0, mm_per_px=spacing)
    circles = [film.landmarks.circles[n] for n in ("FH.left", "FH.right")]
    true = [np.array(c.center) for c in circles]
    for angle in (0, 135, 250):
        clicks = [_off(true[0], off_mm, angle, spacing), _off(true[1], off_mm, angle + 180, spacing)]
        pair = refine_femoral_head_pair(film.pixels, clicks, mm_per_px=spacing)
        assert pair, pair
        for f, c in zip(pair.fits, circles, strict=True):
            assert math.dist(f.circle.center, c.center) * spacing < 0.5
            assert abs(f.circle.radius - c.radius) * spacing < 0.5


def test_femoral_head_inside_the_acetabular_arc_at_0_4_mm(ap_film):
    """At 0.4 mm/px the acetabular roof's outer edge is 7 px outside the rim: the head, not the roof."""
    for name in ("FH.left", "FH.right"):
        c = ap_film.landmarks.circles[name]
        for angle in (0, 100, 230):
            fit = refine_femoral_head(ap_film.pixels, _off(c.center, 10, angle), mm_per_px=SPACING)
            assert fit, fit
            assert math.dist(fit.circle.center, c.center) * SPACING < 0.5
            assert abs(fit.circle.radius - c.radius) * SPACING < 0.5


def test_lateral_pair_respects_the_radius_prior(lateral_02):
    film = lateral_02
    clicks = [film.landmarks.points["FH.left"], film.landmarks.points["FH.right"]]
    # the heads are 24 mm (120 px) in radius: a 30-60 px prior admits no head
    out = refine_femoral_head_pair(film.pixels, clicks, radius_range_px=(30, 60))
    assert not out or all(30 * 0.95 <= f.circle.radius <= 60 * 1.05 for f in out.fits)
    off = [_off(c, 10, a, 0.2) for c, a in zip(clicks, (200, 20), strict=True)]
    pair = refine_femoral_head_pair(film.pixels, off, mm_per_px=0.2)
    assert pair and all(abs(f.circle.radius - 120) < 5 for f in pair.fits)


def test_refine_point_moves_both_lateral_heads(lateral_02):
    film = lateral_02
    pts = {n: _off(film.landmarks.points[n], 10, a, 0.2) for n, a in (("FH.left", 200), ("FH.right", 20))}
    lone = refine_point(film.pixels, "FH.left", {"FH.left": pts["FH.left"]}, view="lateral", mm_per_px=0.2)
    assert set(lone.moves) == {"FH.left"} if lone else lone.reason  # may land on either head
    out = refine_point(film.pixels, "FH.right", pts, view="lateral", mm_per_px=0.2)
    assert out and set(out.moves) == {"FH.left", "FH.right"} == set(out.circles)
    mid = (np.add(*(m.refined for m in out.moves.values()))) / 2
    true_mid = np.add(film.landmarks.points["FH.left"], film.landmarks.points["FH.right"]) / 2
    assert math.dist(mid, true_mid) * 0.2 < 1.0


# ----------------------------------------------------------------------------- endplates


@pytest.mark.parametrize("film_name", ["ap_film", "lateral_film"])
def test_endplate_corners_back_on_the_true_endplate(film_name, request):
    film = request.getfixturevalue(film_name)
    pts = film.landmarks.points
    a, b = ("left", "right") if film.view.value == "ap" else ("ant", "post")
    rng = np.random.default_rng(5)
    errors_before, errors_after = [], []
    for level in ("L1", "L2", "L3", "L4"):
        for endplate in ("sup", "inf"):
            pa, pb = np.array(pts[f"{level}.{endplate}.{a}"]), np.array(pts[f"{level}.{endplate}.{b}"])
            ca, cb = pa + rng.normal(0, 1.5 / SPACING, 2), pb + rng.normal(0, 1.5 / SPACING, 2)
            fit = refine_endplate(
                film.pixels, ca, cb, body_side="below" if endplate == "sup" else "above", mm_per_px=SPACING
            )
            assert fit, (level, endplate, fit)
            u = (pb - pa) / np.linalg.norm(pb - pa)
            n = np.array([-u[1], u[0]])
            for p_true, p_click, p_new in ((pa, ca, fit.corners[0]), (pb, cb, fit.corners[1])):
                errors_before.append(abs(np.dot(p_click - p_true, n)))
                errors_after.append(abs(np.dot(np.array(p_new) - p_true, n)))
    # distance from the true endplate line, in mm
    assert np.median(errors_after) * SPACING < 0.5
    assert np.median(errors_after) < 0.5 * np.median(errors_before)


def test_endplate_far_click_declines_with_the_reason(ap_film):
    pts = ap_film.landmarks.points
    a = np.array(pts["L3.sup.left"]) + (0, -4 / SPACING)
    b = np.array(pts["L3.sup.right"]) + (0, -4 / SPACING)
    out = refine_endplate(ap_film.pixels, a, b, body_side="below", max_shift_px=2.0)
    assert isinstance(out, RefineFailure)
    assert out.reason.startswith("would move") and "2 px bound; kept the clicks" in out.reason


@pytest.mark.parametrize("kind", ["flat", "noise"])
def test_endplate_declines_on_a_flat_or_noise_image(kind):
    img = np.full((200, 300), 100.0)
    if kind == "noise":
        img = img + np.random.default_rng(2).normal(0, 10, img.shape)
    assert not refine_endplate(img, (100, 100), (200, 104))


def test_endplate_at_the_image_border_declines():
    img = np.zeros((100, 200))
    img[3:, :] = 100.0
    out = refine_endplate(img, (50, 1), (150, 2), body_side="below")
    assert isinstance(out, RefineFailure) and "border" in out.reason


def test_endplate_infers_the_body_side():
    img = np.zeros((80, 120))
    img[:40, :] = 100.0  # body above: an inferior endplate
    img += np.random.default_rng(4).normal(0, 3, img.shape)
    fit = refine_endplate(img, (20, 43), (100, 37))
    assert fit and fit.body_side == "above"
    assert all(abs(y - 39.5) < 0.6 for _, y in fit.corners)


# ----------------------------------------------------------------------------- corners


def test_corner_moves_to_the_body_corner():
    img = np.zeros((120, 120))
    img[50:, 40:] = 100.0
    img += np.random.default_rng(6).normal(0, 5, img.shape)
    fit = refine_corner(img, (45, 55), body_x=1, body_y=1)
    assert fit and math.dist(fit.point, (39.5, 49.5)) <= 1.0


def test_corner_declines_on_noise_and_beyond_the_bound():
    noise = np.random.default_rng(7).normal(0, 5, (120, 120))
    assert not refine_corner(noise, (60, 60), body_x=1, body_y=1)
    img = np.zeros((120, 120))
    img[50:, 40:] = 100.0
    far = refine_corner(img, (55, 65), body_x=1, body_y=1, max_shift_px=30)
    assert far
    out = refine_corner(img, (55, 65), body_x=1, body_y=1, max_shift_px=8)
    assert not out


@pytest.mark.parametrize("gap", [5, 8])
def test_endplate_stays_on_the_clicked_edge_of_a_double_contour(gap):
    """A stronger edge of the same polarity a few pixels away does not pull the line off the clicked one."""
    img = np.full((300, 300), 300.0)
    img[150:, :] = 700.0
    img[150 + gap :, :] = 1500.0
    img += np.random.default_rng(0).normal(0, 5, img.shape)
    fit = refine_endplate(img, (100, 151), (200, 149), body_side="below")
    assert fit and all(abs(y - 149.5) < 0.5 for _, y in fit.corners), fit


def _tilted_body(tilt_deg: float, corner=(150.0, 110.0), size=(120.0, 80.0)):
    """A bright rectangle whose top-left corner is *corner*, its top edge turned by *tilt_deg*."""
    from scipy.ndimage import gaussian_filter

    t = math.radians(tilt_deg)
    u, v = np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
    rows, cols = np.mgrid[0:320, 0:340].astype(float)
    d = np.stack([cols - corner[0], rows - corner[1]], axis=-1)
    along, across = d @ u, d @ v
    body = (along >= 0) & (along <= size[0]) & (across >= 0) & (across <= size[1])
    img = gaussian_filter(np.where(body, 1000.0, 300.0), 1.5)
    return img + np.random.default_rng(5).normal(0, 10.0, img.shape)


@pytest.mark.parametrize("tilt", [0.0, 20.0, -35.0])
def test_corner_of_a_tilted_body(tilt):
    """The boxes turn with the endplate: told the tilt, or searching for it."""
    img = _tilted_body(tilt)
    for click in ((154.0, 106.0), (146.0, 116.0), (155.0, 115.0)):
        told = refine_corner(img, click, body_x=1, body_y=1, tilt_deg=tilt + 2.0)
        assert told and math.dist(told.point, (150.0, 110.0)) < 1.5, (click, told)
        searched = refine_corner(img, click, body_x=1, body_y=1)
        assert searched and math.dist(searched.point, (150.0, 110.0)) < 2.0, (click, searched)


def test_a_lone_corners_frame_ignores_a_pair_too_short_or_too_steep_to_tell_a_direction():
    from spinecheck.landmarks.points.names import View
    from spinecheck.landmarks.refine.points import _lone_corner_frame

    s1 = {"S1.sup.ant": (300.0, 500.0), "S1.sup.post": (200.0, 480.0)}  # the patient faces image right
    short = {**s1, "C7.inf.ant": (100.0, 101.0), "C7.inf.post": (100.0, 100.0)}  # 1 px: tilt 90 degrees
    assert _lone_corner_frame(short, "C7", "sup", "post", View.LATERAL) == (1, 0.0)
    steep = {**short, "C6.inf.post": (100.0, 60.0), "C6.inf.ant": (110.0, 100.0)}  # 76 degrees
    good = {**steep, "T1.sup.post": (100.0, 150.0), "T1.sup.ant": (140.0, 170.0)}
    assert _lone_corner_frame(steep, "C7", "sup", "post", View.LATERAL) == (1, 0.0)
    body_x, tilt = _lone_corner_frame(good, "C7", "sup", "ant", View.LATERAL)
    assert body_x == -1 and tilt == pytest.approx(math.degrees(math.atan2(20, 40)))
    assert _lone_corner_frame(good, "C7", "sup", "post", View.LATERAL)[0] == 1
    mirrored = {n: (1000.0 - x, y) for n, (x, y) in good.items()}  # facing image left
    body_x, tilt = _lone_corner_frame(mirrored, "C7", "sup", "post", View.LATERAL)
    assert body_x == -1 and tilt == pytest.approx(-math.degrees(math.atan2(20, 40)))


def test_a_lone_corner_on_a_near_vertical_endplate_is_declined():
    img = _tilted_body(0.0)
    out = refine_corner(img, (150.0, 110.0), body_x=1, body_y=1, tilt_deg=80.0)
    assert not out and "too steep" in out.reason
    assert refine_corner(img, (152.0, 112.0), body_x=1, body_y=1, tilt_deg=180.0)  # a level line, reversed


def test_a_lone_corner_takes_its_frame_from_the_other_endplate(demo_lateral):
    """C7.sup.post (alone in the lateral protocol, for cSVA) on the demo film's tilted C7 body.

    Axis-aligned boxes put it about 11 px (2 mm) off whatever the click; with the tilt of the
    placed C7 inferior endplate and the facing of the placed S1 endplate it lands within 3 px.
    """
    truth = demo_lateral.landmarks.points
    context = {n: truth[n] for n in ("S1.sup.ant", "S1.sup.post", "C7.inf.ant", "C7.inf.post")}
    rng = np.random.default_rng(11)
    before, after = [], []
    for _ in range(10):
        click = tuple(np.array(truth["C7.sup.post"]) + rng.normal(0, 5, 2))
        out = refine_point(
            demo_lateral.pixels,
            "C7.sup.post",
            {**context, "C7.sup.post": click},
            view="lateral",
            mm_per_px=0.2,
        )
        assert out and out.moves["C7.sup.post"].method == "corner"
        before.append(math.dist(click, truth["C7.sup.post"]))
        after.append(math.dist(out.moves["C7.sup.post"].refined, truth["C7.sup.post"]))
    assert np.median(after) < 3.0 and np.median(after) < 0.6 * np.median(before)


# ----------------------------------------------------------------------------- orchestration


def test_refine_point_dispatch(ap_film):
    pts = dict(ap_film.landmarks.points)
    pts["FH.left"] = _off(pts["FH.left"], 8, 30)
    out = refine_point(ap_film.pixels, "FH.left", pts, view="ap", mm_per_px=SPACING)
    assert isinstance(out, RefinedPoints) and set(out.circles) == {"FH.left"}
    assert out.moves["FH.left"].method == "femoral_head"
    # with every corner T1-L5 placed, the spine's learned shape places an AP corner, then the landmark
    # model's local stage (test_shape_refine.py, test_learned_refine.py); with its vertebra's four
    # corners only, the model step alone; with fewer, its endplate's edge
    shaped = refine_point(ap_film.pixels, "L2.inf.right", pts, view="ap", mm_per_px=SPACING)
    assert shaped and shaped.moves["L2.inf.right"].method == "shape+model"
    four = {n: p for n, p in pts.items() if not n.startswith(("T", "L1.", "L3.", "L4.", "L5."))}
    alone = refine_point(ap_film.pixels, "L2.inf.right", four, view="ap", mm_per_px=SPACING)
    assert alone and set(alone.moves) == {"L2.inf.right"} and alone.moves["L2.inf.right"].method == "model"
    few = {n: p for n, p in four.items() if n != "L2.sup.left"}
    both = refine_point(ap_film.pixels, "L2.inf.right", few, view="ap", mm_per_px=SPACING)
    assert both and set(both.moves) == {"L2.inf.left", "L2.inf.right"}
    lone = {"L2.inf.right": pts["L2.inf.right"]}
    one = refine_point(ap_film.pixels, "L2.inf.right", lone, view="ap", mm_per_px=SPACING)
    assert (set(one.moves) == {"L2.inf.right"}) if one else one.reason
    no = refine_point(ap_film.pixels, "L2.centroid", {"L2.centroid": (10.0, 10.0)}, view="ap")
    assert not no and "not refined" in no.reason
    with pytest.raises(ValueError, match="not among"):
        refine_point(ap_film.pixels, "L3.centroid", {}, view="ap")


def test_refine_landmarks_records_and_round_trips(ap_film, tmp_path):
    truth = ap_film.landmarks
    rng = np.random.default_rng(8)
    names = [n for n in truth.points if n.startswith(("L3.", "L4.")) or n.startswith("FH")]
    rough = {n: tuple(np.array(truth.points[n]) + rng.normal(0, 1.0 / SPACING, 2)) for n in names}
    rough["L4.sup.left"] = (5.0, 5.0)  # far from anything: its endplate must be declined
    s = LandmarkSet("ap", rough, image=truth.image)
    out = refine_landmarks(ap_film.pixels, s, mm_per_px=SPACING)
    r = out.refinement
    assert set(r.moved) | set(r.declined) == set(rough)
    assert not set(r.moved) & set(r.declined)
    assert {"L4.sup.left", "L4.sup.right"} <= set(r.declined)
    assert {"FH.left", "FH.right"} <= set(r.moved) and set(out.circles) >= {"FH.left", "FH.right"}
    for n, m in r.moved.items():
        assert m.original == s.points[n] and out.points[n] == m.refined
    for n in r.declined:
        assert out.points[n] == s.points[n]
    path = tmp_path / "refined.json"
    write_landmarks(out, path)
    back = read_landmarks(path)
    assert set(back.refinement.moved) == set(r.moved) and dict(back.refinement.declined) == dict(r.declined)
    assert back.points == out.points


# ----------------------------------------------------------------------------- real AASCE films


@pytest.mark.shared
@pytest.mark.xfail(
    strict=True,
    reason="known shortfall (issue 5): on the low-contrast AASCE JPEGs the fitted edge direction agrees "
    "with the annotated corner-to-corner line less well than sigma = 5 px clicks do; see bench_refine.py",
)
def test_refined_endplate_angles_on_real_films(shared_data):
    """Median endplate-angle error against the annotation from sigma = 5 px clicks: lower after refining."""
    root = shared_data / "aasce-dev"
    with open(root / "angles.csv", newline="") as f:
        ok = [row["image"] for row in csv.DictReader(f) if row["labels_ok"] == "yes"][:4]
    before, after = [], []
    for k, image in enumerate(ok):
        img = load_radiograph(root / "images" / image).display
        s = read_aasce_mat(root / "labels" / f"{image}.mat")
        rng = np.random.default_rng(k)
        for level in ("T6", "T8", "T10", "T12", "L1", "L2", "L3", "L4"):
            for endplate in ("sup", "inf"):
                p = np.array(s.points[f"{level}.{endplate}.left"])
                q = np.array(s.points[f"{level}.{endplate}.right"])
                pn, qn = p + rng.normal(0, 5, 2), q + rng.normal(0, 5, 2)
                true = math.atan2(*(q - p)[::-1])
                fit = refine_endplate(img, pn, qn, body_side="below" if endplate == "sup" else "above")
                a, b = (pn, qn) if not fit else map(np.array, fit.corners)
                before.append(abs(math.degrees(_wrap(math.atan2(*(qn - pn)[::-1]) - true))))
                after.append(abs(math.degrees(_wrap(math.atan2(*(b - a)[::-1]) - true))))
    assert np.median(after) < np.median(before)


def _wrap(a):
    return (a + math.pi / 2) % math.pi - math.pi / 2


# ----------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def film_files(tmp_path_factory, ap_film):
    d = tmp_path_factory.mktemp("refine")
    png = write_png(ap_film, d / "ap.png", bits=8)
    rng = np.random.default_rng(9)
    names = [n for n in ap_film.landmarks.points if n.startswith("L2.") or n.startswith("FH")]
    rough = {n: tuple(np.array(ap_film.landmarks.points[n]) + rng.normal(0, 0.8 / SPACING, 2)) for n in names}
    s = LandmarkSet("ap", rough, image=ap_film.landmarks.image)
    write_landmarks(s, d / "rough.json")
    return d, png


def test_cli_refine_writes_and_summarises(film_files, capsys):
    d, png = film_files
    out = d / "refined.json"
    assert main(["refine", str(png), str(d / "rough.json"), "-o", str(out), "--max-shift-px", "40"]) == 0
    text = capsys.readouterr().out
    assert "moved" in text and "femoral_head" in text and text.rstrip().splitlines()[-1].endswith("declined")
    refined = read_landmarks(out)
    assert refined.refinement and "FH.left" in refined.refinement.moved


def test_cli_refine_refuses_the_input_as_output(film_files, capsys):
    d, png = film_files
    rough = d / "rough.json"
    assert main(["refine", str(png), str(rough), "-o", str(rough)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--in-place" in err and len(err.strip().splitlines()) == 1


def test_cli_refine_landmarks_of_another_image(film_files, tmp_path, capsys):
    d, png = film_files
    other = LandmarkSet("ap", {"L1.centroid": (10.0, 10.0)}, image=ImageRef(rows=99, columns=77))
    write_landmarks(other, tmp_path / "other.json")
    assert main(["refine", str(png), str(tmp_path / "other.json"), "-o", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "99" in err[0]
    assert not (tmp_path / "o.json").exists()


def test_cli_refine_max_shift_mm_needs_calibration(film_files, capsys):
    d, png = film_files
    code = main(["refine", str(png), str(d / "rough.json"), "-o", str(d / "x.json"), "--max-shift-mm", "3"])
    assert code == 2 and "--max-shift-px" in capsys.readouterr().err


def test_refining_twice_keeps_the_first_click_as_the_origin():
    film = synthetic_ap(0, mm_per_px=0.4, rows=2250, cols=900)
    truth = film.landmarks
    rough = dict(truth.points)
    rough["L1.sup.left"] = (rough["L1.sup.left"][0], rough["L1.sup.left"][1] + 4.0)
    image = (film.pixels >> 4).astype(np.uint8)
    names = ["L1.sup.left", "L1.sup.right"]
    once = refine_landmarks(
        image, truth.replace(points=rough, circles={}), mm_per_px=film.mm_per_px, names=names
    )
    assert "L1.sup.left" in once.refinement.moved
    twice = refine_landmarks(image, once, mm_per_px=film.mm_per_px, names=names)
    assert twice.refinement.moved["L1.sup.left"].original == rough["L1.sup.left"]


def test_a_point_the_user_kept_is_left_alone_with_its_record():
    from spinecheck.landmarks.points.model import KEPT_CLICK, Refinement

    film = synthetic_ap(0, mm_per_px=0.4, rows=2250, cols=900)
    truth = film.landmarks
    rough = dict(truth.points)
    rough["L1.sup.left"] = (rough["L1.sup.left"][0], rough["L1.sup.left"][1] + 4.0)
    rough["L1.sup.right"] = (rough["L1.sup.right"][0], rough["L1.sup.right"][1] - 4.0)
    s = truth.replace(points=rough, circles={}, refinement=Refinement({}, {"L1.sup.left": KEPT_CLICK}))
    image = (film.pixels >> 4).astype(np.uint8)
    out = refine_landmarks(image, s, mm_per_px=film.mm_per_px)
    assert out.points["L1.sup.left"] == rough["L1.sup.left"]
    assert out.refinement.declined["L1.sup.left"] == KEPT_CLICK
    assert "L1.sup.right" in out.refinement.moved  # its partner is still refined
    # asked for by name, it is refined after all
    named = refine_landmarks(image, s, mm_per_px=film.mm_per_px, names=["L1.sup.left"])
    assert "L1.sup.left" in named.refinement.moved


def test_cli_refine_uses_every_grey_level_of_a_dicom(tmp_path, capsys):
    """``spinecheck refine`` reads ``Radiograph.analysis``, every grey level of the film.

    A 12-bit lateral film windowed to 8 bits loses the faint superimposed heads. These two points
    (FH.left already refined, FH.right clicked 1 mm off) are the ones that, refined on the 8-bit
    display in a real annotation window, put FH.right 4 mm off with a 140 px radius instead of 120.
    """
    from spinecheck.landmarks.synthetic.films import write_dicom

    film = synthetic_lateral(0)
    dcm = write_dicom(film, tmp_path / "lateral.dcm")
    truth = film.landmarks.circles
    rough = {
        "FH.left": (truth["FH.left"].center[0] - 0.56, truth["FH.left"].center[1] + 1.94),
        "FH.right": (truth["FH.right"].center[0] - 4.01, truth["FH.right"].center[1] + 1.64),
    }
    write_landmarks(LandmarkSet("lateral", rough, image=film.landmarks.image), tmp_path / "rough.json")
    out = tmp_path / "refined.json"
    assert main(["refine", str(dcm), str(tmp_path / "rough.json"), "-o", str(out)]) == 0
    capsys.readouterr()
    refined = read_landmarks(out)
    for name in ("FH.left", "FH.right"):
        assert math.dist(refined.points[name], truth[name].center) * film.mm_per_px[0] < 0.5, name
        assert refined.circles[name].radius == pytest.approx(truth[name].radius, rel=0.03), name


def test_endplate_on_a_strong_clean_edge_from_clicks_a_millimetre_off():
    """A strong clean edge is found from clicks 7 and 5 px off it.

    Its response saturates the clipped search over several pixels; the line must still land on the
    edge, not stay near the clicks. These clicks were declined as "too broken" on the demo film's S1
    endplate in the real window.
    """
    from scipy.ndimage import gaussian_filter

    rows, cols = np.mgrid[0:320, 0:400].astype(float)
    edge_y = 150.0 + 0.55 * (cols - 100)  # the endplate, tilted 29 degrees; the body is below it
    img = gaussian_filter(np.where(rows > edge_y, 3000.0, 800.0), 3.0)
    img += np.random.default_rng(4).normal(0, 4.0, img.shape)
    a, b = np.array([110.0, 150 + 0.55 * 10 - 7.0]), np.array([300.0, 150 + 0.55 * 200 - 5.0])
    fit = refine_endplate(img, a, b, body_side="below")
    assert fit, fit.reason
    for x, y in fit.corners:
        assert abs(y - (150.0 + 0.55 * (x - 100))) * math.cos(math.atan(0.55)) < 0.5
    assert fit.angle_deg == pytest.approx(math.degrees(math.atan(0.55)), abs=0.3)
