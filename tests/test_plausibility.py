"""Plausibility before verdicts (issue 13, 1): mislabelled points are withheld or warned, never graded.

Known answers on hand-built spines (each limit tested just inside and just outside), the issue's own
cases on the demo films and a real AASCE label, implausible calibrations refused with their source,
and a point that is half given refused (a point is present only when both coordinates are).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math

import numpy as np
import pytest
from spinecheck.alignment import assess, measure
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.imaging.dicom_header import header_calibration
from spinecheck.landmarks.io import read_landmarks
from spinecheck.landmarks.io.wide_csv import read_wide_csv
from spinecheck.landmarks.points import sanity
from spinecheck.landmarks.points.calibration import Calibration, check_spacing
from spinecheck.landmarks.points.facing import facing
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.names import LEVELS
from spinecheck.landmarks.points.sanity import check_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

W, H, GAP = 40.0, 30.0, 30.0  # endplate length, body height, disc height (px) of the hand-built spines
AP_LEVELS = ("T12", "L1", "L2", "L3", "L4")


def _ap_spine(levels=AP_LEVELS, x0: float = 100.0, y0: float = 100.0) -> dict[str, tuple[float, float]]:
    """Level vertebrae stacked straight down: each W wide, H high, GAP apart."""
    pts = {}
    for k, level in enumerate(levels):
        top = y0 + k * (H + GAP)
        pts |= {
            f"{level}.sup.left": (x0, top),
            f"{level}.sup.right": (x0 + W, top),
            f"{level}.inf.left": (x0, top + H),
            f"{level}.inf.right": (x0 + W, top + H),
        }
    return pts


def _turned(pts: dict, level: str, endplate: str, deg: float, scale: float = 1.0) -> dict:
    """*pts* with one endplate turned by *deg* (right corner up) and scaled, about its midpoint."""
    a, b = np.array(pts[f"{level}.{endplate}.left"]), np.array(pts[f"{level}.{endplate}.right"])
    mid, half = (a + b) / 2, scale * np.linalg.norm(b - a) / 2
    d = half * np.array([math.cos(math.radians(deg)), -math.sin(math.radians(deg))])
    return {**pts, f"{level}.{endplate}.left": tuple(mid - d), f"{level}.{endplate}.right": tuple(mid + d)}


def _check(pts: dict, view: str = "ap", **kw) -> sanity.Plausibility:
    table = LandmarkSet(view, pts, **kw).to_table()
    return check_landmarks(table, facing(table).sign)


def _bad_levels(found: sanity.Plausibility, i: int = 0) -> list[str]:
    return [LEVELS[j] for j in np.flatnonzero(found.bad[i])]


def test_a_straight_hand_built_spine_passes_every_check():
    found = _check(_ap_spine())
    assert not found.bad.any() and found.problems[0] is None and found.doubts[0] is None


# ---------------------------------------------------------------------------------------- tilt and length


@pytest.mark.parametrize(
    ("deg", "withheld", "warned"),
    [
        pytest.param(sanity.TILT_WITHHOLD_DEG + 0.01, True, False, id="just over 60: withheld"),
        pytest.param(sanity.TILT_WITHHOLD_DEG - 0.01, False, True, id="just under 60: warned"),
        pytest.param(-(sanity.TILT_WITHHOLD_DEG + 0.01), True, False, id="other way, over 60: withheld"),
        pytest.param(sanity.TILT_WARN_DEG + 0.01, False, True, id="just over 35: warned"),
        pytest.param(sanity.TILT_WARN_DEG - 0.01, False, False, id="just under 35: passes"),
    ],
)
def test_an_endplate_tilted_away_from_its_neighbours(deg, withheld, warned):
    found = _check(_turned(_ap_spine(), "L2", "sup", deg))
    assert _bad_levels(found) == (["L2"] if withheld else [])
    text = found.problems[0] if withheld else found.doubts[0]
    if withheld or warned:
        assert text.startswith(f"L2: superior endplate tilts {abs(deg):.0f} deg away from its neighbours'")
    assert (found.doubts[0] is not None) == warned


@pytest.mark.parametrize(
    ("scale", "withheld", "warned"),
    [
        pytest.param(2.01, True, False, id="2.01 times: withheld"),
        pytest.param(2.0, False, True, id="2 times: warned"),
        pytest.param(1 / 2.01, True, False, id="1/2.01: withheld"),
        pytest.param(1.51, False, True, id="1.51 times: warned"),
        pytest.param(1.5, False, False, id="1.5 times: passes"),
        pytest.param(1 / 1.5, False, False, id="1/1.5: passes"),
    ],
)
def test_an_endplate_longer_or_shorter_than_its_neighbours(scale, withheld, warned):
    found = _check(_turned(_ap_spine(), "L2", "inf", 0.0, scale))
    assert _bad_levels(found) == (["L2"] if withheld else [])
    assert (found.doubts[0] is not None) == warned
    if withheld or warned:
        text = found.problems[0] if withheld else found.doubts[0]
        assert f"L2: inferior endplate is {scale:.2g} times as long as its neighbours'" in text


@pytest.mark.parametrize(
    ("rise", "withheld", "warned"),
    [
        pytest.param(sanity.DISC_WITHHOLD * W + 0.01, True, False, id="over 0.35 W: withheld"),
        pytest.param(sanity.DISC_WITHHOLD * W - 0.01, False, True, id="under 0.35 W: warned"),
        pytest.param(sanity.DISC_WARN * W + 0.01, False, True, id="over 0.1 W: warned"),
        pytest.param(sanity.DISC_WARN * W - 0.01, False, False, id="under 0.1 W: passes"),
    ],
)
def test_a_corner_above_the_one_it_should_lie_below(rise, withheld, warned):
    """L3's superior endplate lifted until its corners lie *rise* px above L2's inferior corners."""
    pts = _ap_spine()
    for side in ("left", "right"):
        x, y = pts[f"L3.sup.{side}"]
        pts[f"L3.sup.{side}"] = (x, y - GAP - rise)
    found = _check(pts)
    assert _bad_levels(found) == (["L2", "L3"] if withheld else [])
    assert (found.doubts[0] is not None) == warned
    if withheld:
        assert (
            f"L2 inferior endplate's left corner lies {rise:.3g} px below L3 superior endplate's"
            in (found.problems[0])
        )


@pytest.mark.parametrize("turn", [1, -1], ids=["rotated one way", "rotated the other way"])
def test_a_vertebra_whose_corners_are_rotated_either_way_is_withheld(turn):
    pts = _ap_spine()
    names = [f"L2.{c}" for c in ("sup.left", "sup.right", "inf.right", "inf.left")]
    values = [pts[n] for n in names]
    pts |= dict(zip(names, values[-turn:] + values[:-turn], strict=True))
    found = _check(pts)
    assert _bad_levels(found) == ["L2"] and found.problems[0].startswith("L2: ")


def test_levels_out_of_order_and_swapped_corners_keep_their_messages():
    pts = _ap_spine()
    swapped = {**pts, "L2.sup.left": pts["L2.inf.left"], "L2.inf.left": pts["L2.sup.left"]}
    found = _check(swapped)
    assert found.problems[0].startswith("L2: superior corners lie below the inferior corners (swapped?)")
    upside = _ap_spine(("T12", "L2", "L1", "L3", "L4"))  # L1 annotated 90 px below L2
    found = _check(upside)
    assert _bad_levels(found) == ["L1", "L2"]
    assert found.problems[0] == (
        "L1 inferior endplate's left corner lies 90 px below L2 superior endplate's (levels or points swapped?); "
        "L1 inferior endplate's right corner lies 90 px below L2 superior endplate's (levels or points swapped?); "
        "L2 lies above L1 (levels out of order?)"
    )


def test_the_checks_are_vectorised_row_by_row():
    """A table of good and bad studies flags exactly the bad rows, as each study alone does."""
    good = LandmarkSet("ap", _ap_spine())
    tilted = LandmarkSet("ap", _turned(_ap_spine(), "L1", "sup", 70.0))
    long_ = LandmarkSet("ap", _turned(_ap_spine(), "L3", "inf", 0.0, 1.6))
    sets = [good, tilted, good, long_, tilted]
    together = check_landmarks(LandmarkTable.from_sets(sets))
    for i, s in enumerate(sets):
        alone = check_landmarks(s.to_table())
        assert (together.bad[i] == alone.bad[0]).all()
        assert together.problems[i] == alone.problems[0] and together.doubts[i] == alone.doubts[0]
    assert [bool(b) for b in together.bad.any(axis=1)] == [False, True, False, False, True]


# ---------------------------------------------------------------------------------------- the pelvis


def _lateral_pelvis(fh_y: float) -> dict[str, tuple[float, float]]:
    """A lateral film facing image right: L4, L5 level, a sacral endplate at y 400 (midpoint x 120)."""
    pts = {}
    for k, level in enumerate(("L3", "L4", "L5")):
        top = 100 + k * (H + GAP)
        pts |= {
            f"{level}.sup.post": (100.0, top),
            f"{level}.sup.ant": (140.0, top),
            f"{level}.inf.post": (100.0, top + H),
            f"{level}.inf.ant": (140.0, top + H),
        }
    return pts | {"S1.sup.post": (100.0, 400.0), "S1.sup.ant": (140.0, 400.0), "FH": (150.0, fh_y)}


@pytest.mark.parametrize(("fh_y", "withheld"), [(400.0, True), (400.01, False)], ids=["level", "below"])
def test_femoral_heads_below_the_sacral_endplate(fh_y, withheld):
    lm = LandmarkSet("lateral", _lateral_pelvis(fh_y))
    m = measure(lm)
    for pid in ("PI", "PT"):
        assert math.isnan(m.values[pid][0]) == withheld, pid
    assert math.isfinite(m.values["SS"][0])  # the sacral endplate is not in doubt
    if withheld:
        assert m.reasons["PI"][0] == (
            "landmark check failed: FH lies above the S1 superior endplate's midpoint "
            "(the femoral heads are below the sacrum)"
        )


def _ap_pelvis(**moved: tuple[float, float]) -> dict[str, tuple[float, float]]:
    """An AP pelvis: S1 endplate 40 px wide at y 400 (midpoint x 120), crests 100 px out, heads at y 520."""
    pts = _ap_spine(("L1", "L2", "L3", "L4", "L5"))
    pts = {n: (x, y - 50) for n, (x, y) in pts.items()}
    return (
        pts
        | {"S1.sup.left": (100.0, 400.0), "S1.sup.right": (140.0, 400.0)}
        | {"IC.left": (20.0, 320.0), "IC.right": (220.0, 320.0)}
        | {"FH.left": (60.0, 520.0), "FH.right": (180.0, 520.0)}
        | moved
    )


@pytest.mark.parametrize(
    ("moved", "message"),
    [
        pytest.param({}, None, id="plausible"),
        pytest.param(
            {"IC.left": (220.0, 320.0), "IC.right": (20.0, 320.0)},
            "IC.left is not left of IC.right (image sides; swapped?)",
            id="crests swapped",
        ),
        pytest.param(
            {"IC.left": (80.01, 320.0)},
            "IC.left lies closer to the S1 superior endplate's midpoint than that endplate is wide",
            id="crest within one endplate width",
        ),
        pytest.param({"IC.left": (80.0, 320.0)}, None, id="crest exactly one endplate width out"),
        pytest.param(
            {"IC.right": (220.0, 80.0)},
            "IC.right lies above the L1 inferior endplate (the iliac crests are at L3 to S1)",
            id="crest above L1",
        ),
        pytest.param(
            {"IC.right": (220.0, 520.0)},
            "IC.right lies below a femoral head (the iliac crests are above the hips)",
            id="crest at the hips",
        ),
    ],
)
def test_iliac_crests_on_their_sides(moved, message):
    m = measure(LandmarkSet("ap", _ap_pelvis(**moved)))
    if message is None:
        assert math.isfinite(m.values["PO"][0])
    else:
        assert math.isnan(m.values["PO"][0]) and message in m.reasons["PO"][0]
        assert not str(m.reasons["Cobb_max"][0]).startswith("landmark check failed")  # vertebrae not in doubt


@pytest.mark.parametrize(("others", "doubted"), [(3, True), (2, False)], ids=["3 others", "2 others"])
def test_a_sacral_endplate_facing_against_the_others(others, doubted):
    pts = {k: v for k, v in _lateral_pelvis(500.0).items() if not k.startswith("S1.")}
    levels = ("L3", "L4", "L5")[3 - -(-others // 2) :]
    pts = {k: v for k, v in pts.items() if k.split(".")[0] in levels or k == "FH"}
    if others % 2:  # one endplate fewer
        pts = {k: v for k, v in pts.items() if not k.startswith(f"{levels[0]}.sup")}
    pts |= {"S1.sup.post": (140.0, 400.0), "S1.sup.ant": (100.0, 400.0)}  # swapped
    found = _check(pts, "lateral")
    assert bool(found.facing[0]) == doubted
    if doubted:
        assert found.bad[0].all()
        assert (
            f"S1.sup.ant lies posterior of S1.sup.post, unlike {others} of the {others} other"
            in (found.problems[0])
        )
        m = measure(LandmarkSet("lateral", pts))
        assert all(math.isnan(m.values[p][0]) for p in ("SS", "PI", "LL_L1L5") if p in m.values)


# ---------------------------------------------------------------------------------------- the issue's cases


def _swapped(lm: LandmarkSet, a: str, b: str) -> LandmarkSet:
    return dataclasses.replace(lm, points={**lm.points, a: lm.points[b], b: lm.points[a]})


def _row(m, criterion: str) -> dict:
    return next(r for r in assess(m).rows(0) if r["id"] == criterion)


def test_s1_ant_and_l5_inf_post_swapped_on_the_demo_lateral_film_are_withheld_and_not_graded():
    """The issue: PI -50.9, SS -77.7, LL -70.7 with SRS-Schwab PI-LL graded "+"."""
    lm = _swapped(synthetic_lateral(mm_per_px=0.2).landmarks, "S1.sup.ant", "L5.inf.post")
    m = measure(lm.to_table(Calibration.from_spacing([0.2, 0.2])))
    for pid in ("PI", "SS", "LL", "PI_LL", "PT", "SVA"):
        assert math.isnan(m.values[pid][0]) and m.reasons[pid][0].startswith("landmark check failed: "), pid
    row = _row(m, "srs_schwab.pi_ll")
    assert row["applied"] is False and "PI_LL" in row["reason"] and "landmark check failed" in row["reason"]
    assert any(w.startswith("implausible landmarks, parameters using them withheld") for w in m.warnings[0])


def test_iliac_crests_swapped_on_the_demo_ap_film():
    """The issue: pelvic obliquity -178 deg."""
    lm = _swapped(synthetic_ap(mm_per_px=0.2).landmarks, "IC.left", "IC.right")
    m = measure(lm)
    assert math.isnan(m.values["PO"][0])
    assert (
        m.reasons["PO"][0] == "landmark check failed: IC.left is not left of IC.right (image sides; swapped?)"
    )


@pytest.mark.parametrize("turn", [1, -1], ids=["rotated one way", "rotated the other way"])
def test_a_rotated_vertebra_on_a_real_aasce_label(shared_data, turn):
    """The issue: Cobb_max 90.2 (33.6 before) from one vertebra's corners rotated by one place."""
    path = sorted((shared_data / "aasce-dev" / "labels").glob("*.mat"))[0]
    lm = read_landmarks(path)
    unturned = measure(lm)
    before = unturned.values["Cobb_max"][0]
    category = _row(unturned, "srs_schwab.curve_type")["category"]
    for level in ("T5", "T8", "L1", "L3"):
        names = [f"{level}.{c}" for c in ("sup.left", "sup.right", "inf.right", "inf.left")]
        values = [lm.points[n] for n in names]
        turned = dataclasses.replace(
            lm, points={**lm.points, **dict(zip(names, values[-turn:] + values[:-turn], strict=True))}
        )
        m = measure(turned)
        assert math.isnan(m.values["Cobb_max"][0]) and level in m.reasons["Cobb_max"][0], level
        assert all(c["angle_deg"] <= before + 1e-9 for c in m.curves.curves(0)), level
        # graded only where the withheld curve cannot change the type (here D: T5's curve is proximal)
        row = _row(m, "srs_schwab.curve_type")
        assert row.get("category") == category or (row["applied"] is False and "withheld" in row["reason"])


def test_every_single_swap_on_the_demo_films_is_caught_or_changes_nothing():
    """bench/bench_swaps.py's first campaign, as a test: no swap of two labels changes a number silently."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench_swaps", Path(__file__).resolve().parents[1] / "bench" / "bench_swaps.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for film in (synthetic_lateral(mm_per_px=0.2), synthetic_ap(mm_per_px=0.2)):
        base = film.landmarks.to_table(Calibration.from_spacing([0.2, 0.2]))
        names = sorted(film.landmarks.points)
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
        table = bench._repeat(base, len(pairs))
        for r, (a, b) in enumerate(pairs):
            table.points[a][r], table.points[b][r] = base.points[b][0], base.points[a][0]
        kinds, silent = bench.classify(base, table, "endplate")
        assert kinds.count("silent") == 0, [s for s in silent if s][:3]
        assert kinds.count("withheld") > 0.8 * len(pairs)


# ---------------------------------------------------------------------------------------- calibration


@pytest.mark.parametrize(
    ("spacing", "ok"),
    [
        pytest.param(0.02, True, id="0.02 accepted"),
        pytest.param(2.0, True, id="2 accepted"),
        pytest.param(0.0199999, False, id="just under 0.02"),
        pytest.param(2.0000001, False, id="just over 2"),
        pytest.param(1e-300, False, id="1e-300 (the issue)"),
        pytest.param(1e200, False, id="1e200 (the issue)"),
    ],
)
def test_a_spacing_outside_the_radiographs_range_is_refused_with_its_source(spacing, ok):
    if ok:
        assert check_spacing([spacing, 0.2], where="x.json") == (spacing, 0.2)
        assert header_calibration(pixel_spacing=[str(spacing), "0.2"]).calibrated
        return
    with pytest.raises(InvalidLandmarksError) as e:
        check_spacing([0.2, spacing], where="x.json", field_name="calibration.mm_per_px")
    assert str(e.value) == (
        f'x.json: "calibration.mm_per_px" 0.2 x {spacing:g} mm per pixel is outside 0.02-2 mm per pixel, '
        "the range of radiographs"
    )
    cal = header_calibration(pixel_spacing=[str(spacing), str(spacing)])
    assert not cal.calibrated
    assert cal.rule.startswith(f"Pixel Spacing '{spacing}\\{spacing}' is outside 0.02-2 mm per pixel")


def test_the_issues_spacings_give_no_millimetres(tmp_path, capsys):
    """1e-300 mm gave SVA 0.0 mm 'not flagged'; 1e200 gave 5.6e202 mm: the file, the flag and the CSV refuse."""
    lm = synthetic_lateral(mm_per_px=0.2).landmarks
    doc = {
        "format": "spinecheck-landmarks/1",
        "view": "lateral",
        "points": {k: list(v) for k, v in lm.points.items()},
    }
    for spacing in (1e-300, 1e200):
        path = tmp_path / "lm.json"
        path.write_text(json.dumps(doc | {"calibration": {"mm_per_px": [spacing, spacing]}}))
        assert main(["measure", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path) in err[0] and '"calibration.mm_per_px"' in err[0], err
        path.write_text(json.dumps(doc))
        assert main(["measure", str(path), "--mm-per-px", str(spacing), str(spacing)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--mm-per-px" in err[0] and "outside 0.02-2 mm per pixel" in err[0], err
    table = read_wide_csv(
        io.StringIO(
            "image,view,S1.sup.ant.x,S1.sup.ant.y,mm_per_px_row,mm_per_px_col\na,lateral,1,2,0.2,1e200\n"
        )
    )
    assert table.row_errors[0].endswith(
        "column \"mm_per_px_col\" is outside 0.02-2 mm per pixel, the range of radiographs; got '1e200'"
    )
    with pytest.raises(InvalidLandmarksError, match="gives 100 mm per pixel, outside 0.02-2"):
        Calibration.from_line((0, 0), (0, 1), 100.0)


# ---------------------------------------------------------------------------------------- half-given points


def test_a_point_with_an_x_and_no_y_is_a_row_error_not_a_facing():
    """The issue: in a wide CSV an x alone decided which way the patient faces (SVA +12 or -12 mm)."""
    head = "image,view,S1.sup.ant.x,S1.sup.ant.y,S1.sup.post.x,S1.sup.post.y,C7.centroid.x,C7.centroid.y"
    table = read_wide_csv(
        io.StringIO(f"{head}\nhalf,lateral,160,,100,500,172,100\nfull,lateral,160,490,100,500,172,100\n")
    )
    assert table.row_errors[0].endswith(
        'point "S1.sup.ant": column "S1.sup.ant.y" is empty but "S1.sup.ant.x" is 160; give both coordinates '
        "or neither"
    )
    assert table.row_errors[1] is None
    m = measure(table)
    assert math.isnan(m.values["SVA"][0]) and m.values_px["SVA"][1] == pytest.approx(72.0)


def test_a_half_point_in_a_table_casts_no_vote_on_the_facing():
    points = {
        "S1.sup.ant": np.array([[160.0, np.nan]]),
        "S1.sup.post": np.array([[100.0, 500.0]]),
        "L5.inf.ant": np.array([[95.0, 450.0]]),
        "L5.inf.post": np.array([[140.0, 455.0]]),
    }
    table = dataclasses.replace(LandmarkSet("lateral", {}).to_table(), points=points)
    got = facing(table)
    assert got.sign.tolist() == [-1.0] and not got.from_s1[0]  # L5's endplate decides, not S1's lone x
