"""The constructions the measurement makes: what the parameters are measured from, and what the figure draws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from spinecheck.alignment.criteria.engine import assess
from spinecheck.alignment.measure import measure
from spinecheck.alignment.render.figure import draw_study
from spinecheck.alignment.study import Study
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.facing import anterior_direction
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.names import LEVELS
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral


def _study(marks: LandmarkSet, mm_per_px=(1.0, 1.0), **kw) -> Study:
    table = LandmarkTable.from_sets([marks], calibrations=[Calibration.from_spacing(list(mm_per_px))])
    m = measure(table, **kw)
    return Study(table, m, assess(m, table.age_years), ["x.json"], [None])


def _mm(xy: np.ndarray, mm_per_px) -> np.ndarray:
    """``(x, y)`` pixels to ``(x, y)`` millimetres (x right, y down)."""
    return np.asarray(xy, dtype=float) * [mm_per_px[1], mm_per_px[0]]


def _deg(u: np.ndarray, v: np.ndarray) -> float:
    """Signed angle turning u onto v, x right / y up (so y is negated from the image)."""
    return float(np.degrees(np.arctan2(u[0] * -v[1] - -u[1] * v[0], u[0] * v[0] + u[1] * v[1])))


LATERAL_CASES = [
    pytest.param(dict(mm_per_px=(0.2, 0.2)), id="isotropic-facing-right"),
    pytest.param(dict(mm_per_px=(0.2, 0.2), facing="left"), id="isotropic-facing-left"),
    pytest.param(dict(mm_per_px=(0.3, 0.15)), id="anisotropic"),
]


@pytest.fixture(scope="module", params=LATERAL_CASES)
def lateral(request):
    film = synthetic_lateral(**request.param)
    return film, _study(film.landmarks, film.mm_per_px)


# ----------------------------------------------------------------------------- the parameters' own geometry


def test_the_constructions_reproduce_the_parameters(lateral):
    film, study = lateral
    m, c, pts = study.measurements, study.measurements.constructions, film.landmarks.points
    spacing = film.mm_per_px
    sign = m.anterior_sign[0]
    assert sign == anterior_direction(pts)
    ha, mid, c7, c2, t1 = (c.hip_axis[0], c.s1_mid[0], c.c7_centre[0], c.c2_centre[0], c.t1_centre[0])
    # SVA: the C7 plumb line from the S1 posterosuperior corner, horizontally, toward anterior
    sva = (c7[0] - pts["S1.sup.post"][0]) * spacing[1] * sign
    assert sva == pytest.approx(m.value("SVA")[0], abs=1e-9)
    assert c7[0] - pts["S1.sup.post"][0] == pytest.approx(m.values_px["SVA"][0] * sign, abs=1e-9)
    csva = (c2[0] - pts["C7.sup.post"][0]) * spacing[1] * sign
    assert csva == pytest.approx(m.value("cSVA")[0], abs=1e-9)
    # PT: from the vertical through the hip axis to the line to S1mid, positive when S1mid is posterior
    d = _mm(mid, spacing) - _mm(ha, spacing)
    pt = np.degrees(np.arctan2(-d[0] * sign, -d[1]))
    assert pt == pytest.approx(m.value("PT")[0], abs=1e-9)
    # PI: from the perpendicular (into the sacrum) to the line S1mid -> HA, measured in millimetres
    normal_mm = _mm(c.s1_normal[0], spacing)
    pi = _deg(normal_mm, _mm(ha, spacing) - _mm(mid, spacing)) * sign
    assert pi == pytest.approx(m.value("PI")[0], abs=1e-9)
    # TPA: PT plus the direction of HA -> T1 centre from the vertical
    e = _mm(t1, spacing) - _mm(ha, spacing)
    assert pt + np.degrees(np.arctan2(e[0] * sign, -e[1])) == pytest.approx(m.value("TPA")[0], abs=1e-9)


def test_the_s1_perpendicular_is_perpendicular_in_millimetres(lateral):
    film, study = lateral
    pts, spacing = film.landmarks.points, film.mm_per_px
    n = study.measurements.constructions.s1_normal[0]
    endplate_mm = _mm(pts["S1.sup.ant"], spacing) - _mm(pts["S1.sup.post"], spacing)
    normal_mm = _mm(n, spacing)
    cosine = normal_mm @ endplate_mm / np.linalg.norm(normal_mm) / np.linalg.norm(endplate_mm)
    assert cosine == pytest.approx(0.0, abs=1e-12)
    assert np.hypot(*n) == pytest.approx(1.0)  # a direction of unit length in pixels
    assert n[1] > 0  # into the sacrum: down the film


def test_on_an_anisotropic_film_the_pixel_perpendicular_would_be_wrong():
    film = synthetic_lateral(mm_per_px=(0.3, 0.15))
    study = _study(film.landmarks, film.mm_per_px)
    pts = film.landmarks.points
    d = np.subtract(pts["S1.sup.ant"], pts["S1.sup.post"])
    in_pixels = np.array([-d[1], d[0]]) / np.hypot(*d)
    in_pixels *= np.sign(in_pixels[1])
    n = study.measurements.constructions.s1_normal[0]
    assert abs(np.degrees(np.arccos(np.clip(n @ in_pixels, -1, 1)))) > 5


@pytest.mark.parametrize(
    "heads, want",
    [
        pytest.param(("FH.left", "FH.right"), "mid", id="both-heads"),
        pytest.param(("FH",), "FH", id="superimposed"),
        pytest.param(("FH.right",), "FH.right", id="one-head"),
        pytest.param(("FH", "FH.left"), "FH", id="superimposed-wins-over-one-side"),
        pytest.param(("FH", "FH.left", "FH.right"), "mid", id="both-sides-win"),
        pytest.param((), None, id="none"),
    ],
)
def test_one_hip_axis_rule(heads, want):
    s1 = {"S1.sup.post": (100.0, 500.0), "S1.sup.ant": (140.0, 490.0)}
    placed = {"FH.left": (150.0, 600.0), "FH.right": (160.0, 610.0), "FH": (170.0, 590.0)}
    m = measure(LandmarkSet("lateral", {**s1, **{h: placed[h] for h in heads}}))
    ha = m.constructions.hip_axis[0]
    if want is None:
        assert np.isnan(ha).all() and np.isnan(m.value("PT")[0])
    else:
        expected = np.mean([placed["FH.left"], placed["FH.right"]], axis=0) if want == "mid" else placed[want]
        assert ha == pytest.approx(expected)
        assert np.isfinite(m.value("PT")[0])


def test_an_explicit_centroid_is_the_body_centre():
    film = synthetic_lateral(mm_per_px=(0.2, 0.2))
    corners = np.mean(
        [film.landmarks.points[f"C7.{e}.{k}"] for e in ("sup", "inf") for k in ("ant", "post")], 0
    )
    plain = measure(film.landmarks)
    assert plain.constructions.c7_centre[0] == pytest.approx(corners)
    moved = film.landmarks.replace(
        points={**film.landmarks.points, "C7.centroid": (corners[0] + 7.0, corners[1])}
    )
    m = measure(moved)
    assert m.constructions.c7_centre[0] == pytest.approx(corners + [7.0, 0.0])
    assert m.values_px["SVA"][0] - plain.values_px["SVA"][0] == pytest.approx(7.0)


def test_ap_constructions_reproduce_c7_csvl():
    film = synthetic_ap(mm_per_px=(0.2, 0.2))
    study = _study(film.landmarks, film.mm_per_px)
    m, c, pts = study.measurements, study.measurements.constructions, film.landmarks.points
    s1_mid = np.mean([pts["S1.sup.left"], pts["S1.sup.right"]], axis=0)
    assert c.s1_mid[0] == pytest.approx(s1_mid)
    side = -1.0 if str(study.table.patient_right[0]) == "image_left" else 1.0
    assert (c.c7_centre[0][0] - c.s1_mid[0][0]) * 0.2 * side == pytest.approx(m.value("C7_CSVL")[0], abs=1e-9)
    for lateral_only in ("hip_axis", "s1_normal", "t1_centre", "c2_centre"):
        assert np.isnan(getattr(c, lateral_only)).all(), lateral_only


@pytest.mark.parametrize("method", ["endplate", "midline"])
def test_the_cobb_lines_are_the_ones_measured(method):
    film = synthetic_ap(mm_per_px=(0.2, 0.2))
    m = measure(film.landmarks, cobb_method=method)
    pts, lines = film.landmarks.points, m.curves.end_lines_px
    found = np.flatnonzero(np.isfinite(m.curves.angle_deg[0]))
    assert len(found) >= 2 and lines.shape == (1, m.curves.angle_deg.shape[1], 2, 2, 2)

    def line(level: str, endplate: str) -> np.ndarray:
        if method == "midline":  # the midpoints of the left and the right side
            return np.array(
                [
                    np.mean([pts[f"{level}.{e}.{s}"] for e in ("sup", "inf")], axis=0)
                    for s in ("left", "right")
                ]
            )
        return np.array([pts[f"{level}.{endplate}.left"], pts[f"{level}.{endplate}.right"]])

    for k in found:
        upper = line(LEVELS[m.curves.upper[0, k]], "sup")
        lower = line(LEVELS[m.curves.lower[0, k]], "inf")
        assert lines[0, k, 0] == pytest.approx(upper) and lines[0, k, 1] == pytest.approx(lower)
        # the angle between the two lines, in millimetres (x right, y up), is the Cobb angle
        tilt = [np.degrees(np.arctan2(-(b[1] - a[1]), b[0] - a[0])) for a, b in (upper, lower)]
        assert abs(tilt[0] - tilt[1]) == pytest.approx(m.curves.angle_deg[0, k], abs=1e-9)


def test_a_mixed_table_places_each_films_constructions_and_drops_failed_rows():
    lat, ap = synthetic_lateral(mm_per_px=0.2), synthetic_ap(mm_per_px=0.2)
    table = LandmarkTable.from_sets([lat.landmarks, ap.landmarks, lat.landmarks])
    m = measure(table)
    alone_lat, alone_ap = measure(lat.landmarks).constructions, measure(ap.landmarks).constructions
    for name in alone_lat.names():
        got = getattr(m.constructions, name)
        np.testing.assert_array_equal(got[[0, 2]], np.repeat(getattr(alone_lat, name), 2, axis=0))
        np.testing.assert_array_equal(got[[1]], getattr(alone_ap, name))
    np.testing.assert_array_equal(m.curves.end_lines_px[1], measure(ap.landmarks).curves.end_lines_px[0])
    assert np.isnan(m.curves.end_lines_px[[0, 2]]).all()
    errors = np.array([None, "unreadable row", None], dtype=object)
    failed = measure(dataclasses.replace(table, row_errors=errors))
    assert np.isnan(failed.constructions.c7_centre[1]).all() and np.isnan(failed.anterior_sign[1])
    np.testing.assert_array_equal(failed.constructions.c7_centre[0], m.constructions.c7_centre[0])


# ----------------------------------------------------------------------------- the figure draws them


def _draw(study: Study) -> tuple[Figure, object]:
    fig = Figure(figsize=(4, 8))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    image = np.zeros((1400, 700), dtype=np.uint8)
    return ax, draw_study(ax, image, study, 0, max_display_rows=200)


def _segments(ax) -> list[np.ndarray]:
    return [np.c_[line.get_xdata(), line.get_ydata()].astype(float) for line in ax.lines]


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _has_point(ax, xy, tol=1e-9) -> bool:
    return any(np.any(np.all(np.abs(seg - xy) <= tol, axis=1)) for seg in _segments(ax))


def _moved(study: Study, **shift: tuple[float, float]) -> Study:
    c = study.measurements.constructions
    changes = {name: getattr(c, name) + np.asarray(d, dtype=float) for name, d in shift.items()}
    m = dataclasses.replace(study.measurements, constructions=dataclasses.replace(c, **changes))
    return dataclasses.replace(study, measurements=m)


def test_the_figure_draws_the_lateral_constructions_the_measurement_made():
    film = synthetic_lateral(mm_per_px=0.2)
    study = _moved(
        _study(film.landmarks, film.mm_per_px),
        hip_axis=(13.0, 5.0),
        s1_mid=(-4.0, 3.0),
        c7_centre=(9.0, -2.0),
        t1_centre=(-6.0, 1.0),
    )
    c = study.measurements.constructions
    ax, drawing = _draw(study)
    assert {"hip axis", "S1 perpendicular", "PI", "PT", "TPA", "C7 plumb line", "SVA"} <= set(drawing.drawn)
    ha, mid, c7, t1 = c.hip_axis[0], c.s1_mid[0], c.c7_centre[0], c.t1_centre[0]
    segments = _segments(ax)
    # the S1mid -> HA line, the HA -> T1 line
    assert any(len(s) == 2 and np.allclose(s, [mid, ha]) for s in segments)
    assert any(len(s) == 2 and np.allclose(s, [ha, t1]) for s in segments)
    # the perpendicular runs through S1mid along the recorded direction
    n = c.s1_normal[0]
    perpendicular = [s for s in segments if len(s) == 2 and abs(_cross(s[1] - s[0], n)) < 1e-6]
    assert any(abs(_cross(s[0] - mid, n)) < 1e-6 for s in perpendicular)
    # the C7 plumb line is the vertical through the recorded centre, and the hip axis marker is at HA
    assert any(len(s) == 2 and np.allclose(s[:, 0], c7[0]) and np.isclose(s[0, 1], c7[1]) for s in segments)
    assert _has_point(ax, ha) and _has_point(ax, c7)
    # and nothing is drawn at the unmoved positions
    plain = _study(film.landmarks, film.mm_per_px).measurements.constructions
    assert not _has_point(ax, plain.hip_axis[0], tol=1e-6) and not _has_point(
        ax, plain.c7_centre[0], tol=1e-6
    )


def test_the_figure_draws_the_ap_constructions_the_measurement_made():
    film = synthetic_ap(mm_per_px=0.2)
    study = _study(film.landmarks, film.mm_per_px)
    m = study.measurements
    lines = m.curves.end_lines_px.copy()
    lines[0, 0, 0] += [0.0, 11.0]  # lower the upper line of the first curve
    moved = _moved(study, s1_mid=(6.0, 0.0), c7_centre=(-5.0, 2.0))
    moved = dataclasses.replace(
        moved,
        measurements=dataclasses.replace(
            moved.measurements, curves=dataclasses.replace(m.curves, end_lines_px=lines)
        ),
    )
    ax, drawing = _draw(moved)
    c = moved.measurements.constructions
    segments = _segments(ax)
    csvl_x, c7 = c.s1_mid[0][0], c.c7_centre[0]
    assert "CSVL" in drawing.drawn and "C7–CSVL" in drawing.drawn
    assert any(len(s) == 2 and np.allclose(s[:, 0], csvl_x) and s[1, 1] - s[0, 1] > 500 for s in segments)
    assert any(len(s) == 2 and np.allclose(s[:, 0], c7[0]) and np.isclose(s[0, 1], c7[1]) for s in segments)
    a, b = lines[0, 0, 0]
    drawn_upper = np.array([a - 0.9 * (b - a), b + 0.9 * (b - a)])  # the line, extended at both ends
    assert any(len(s) == 2 and np.allclose(s, drawn_upper) for s in segments)


def test_a_construction_not_made_is_not_drawn_and_the_figure_says_why():
    film = synthetic_lateral(mm_per_px=0.2)
    study = _study(film.landmarks, film.mm_per_px)
    c = study.measurements.constructions
    nan = np.full_like(c.c7_centre, np.nan)
    gone = dataclasses.replace(study.measurements, constructions=dataclasses.replace(c, c7_centre=nan))
    _, drawing = _draw(dataclasses.replace(study, measurements=gone))
    assert "C7 plumb line" in drawing.not_drawn and "C7 plumb line" not in drawing.drawn
