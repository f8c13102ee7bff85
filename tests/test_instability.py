"""Flexion-extension instability (issue 14, item 4).

Hand-computed segmental motion, the cited criteria at their boundaries, the pair's checks, the
report formats and the command line.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from spinecheck.alignment.criteria.catalogue import shipped_sets
from spinecheck.alignment.criteria.inputs import CALIBRATION_REASON
from spinecheck.alignment.criteria.instability import (
    DEFAULT_INSTABILITY_SETS,
    judge_instability,
    load_instability_set,
)
from spinecheck.alignment.criteria.rules import Status
from spinecheck.alignment.geometry.instability import film_motion, measure_instability
from spinecheck.alignment.motion import load_instability
from spinecheck.alignment.render.instability_report import (
    INSTABILITY_FORMAT,
    format_instability_csv,
    format_instability_table,
    instability_report,
)
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError, InvalidCriteriaError, InvalidLandmarksError
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import ImageRef, LandmarkSet, PatientInfo
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom

# ----------------------------------------------------------------------------- building films by hand


def segment_points(
    upper: str,
    lower: str,
    *,
    shift_px: float,
    angle_deg: float,
    depth_px: float = 40.0,
    base: tuple[float, float] = (100.0, 100.0),
    incline_deg: float = 0.0,
    gap_px: float = 10.0,
    facing: int = 1,
) -> dict[str, tuple[float, float]]:
    """The four corners of one segment, facing image right (+1) or left (-1).

    The lower superior endplate runs from ``base`` anteriorly, ``incline_deg``
    anterior-up; the upper inferior endplate starts ``shift_px`` along it and
    ``gap_px`` above it, turned ``angle_deg`` from it (lordosis positive).
    """
    c, s = math.cos(math.radians(incline_deg)), math.sin(math.radians(incline_deg))
    e = np.array([facing * c, -s])  # image (x right, y down): anterior along the endplate
    n = np.array([facing * -s, -c])  # its perpendicular toward superior
    p_l = np.array(base)
    a_l = p_l + depth_px * e
    p_u = p_l + shift_px * e + gap_px * n
    t = math.radians(incline_deg + angle_deg)
    a_u = p_u + depth_px * np.array([facing * math.cos(t), -math.sin(t)])
    return {
        f"{upper}.inf.post": tuple(p_u),
        f"{upper}.inf.ant": tuple(a_u),
        f"{lower}.sup.post": tuple(p_l),
        f"{lower}.sup.ant": tuple(a_l),
    }


def film(points: dict, spacing: tuple[float, float] | None = (0.5, 0.5), **kw) -> LandmarkSet:
    cal = None if spacing is None else Calibration.from_spacing(list(spacing))
    return LandmarkSet("lateral", points, cal, **kw)


def pair(flex: dict, ext: dict, spacing=(0.5, 0.5), ext_spacing="same"):
    return measure_instability(
        film(flex, spacing), film(ext, spacing if ext_spacing == "same" else ext_spacing)
    )


def col(m, name: str) -> int:
    return m.names.index(name)


# ----------------------------------------------------------------------------- geometry: known answers


@pytest.mark.parametrize("facing", [1, -1], ids=["faces-right", "faces-left"])
def test_translation_percentage_and_angle_by_hand(facing):
    """L4 on L5, 0.5 mm/px, L5's endplate 40 px (20 mm) deep.

    Flexion: L4 6 px (3 mm, 15 %) forward, 2 deg kyphotic. Extension: 2 px (1 mm, 5 %) back,
    10 deg lordotic. Changes: 3 - (-1) = 4 mm and 15 - (-5) = 20 %; angle 10 - (-2) = 12 deg.
    """
    flex = segment_points("L4", "L5", shift_px=6, angle_deg=-2, facing=facing, base=(500.0, 100.0))
    ext = segment_points("L4", "L5", shift_px=-2, angle_deg=10, facing=facing, base=(500.0, 100.0))
    m = pair(flex, ext)
    assert m.names == ("L4-L5",)
    k = 0
    assert m.flexion.translation_mm[0, k] == pytest.approx(3.0, abs=1e-12)
    assert m.flexion.translation_px[0, k] == pytest.approx(6.0, abs=1e-12)
    assert m.flexion.translation_pct[0, k] == pytest.approx(15.0, abs=1e-12)
    assert m.flexion.depth_mm[0, k] == pytest.approx(20.0, abs=1e-12)
    assert m.flexion.angle_deg[0, k] == pytest.approx(-2.0, abs=1e-12)
    assert m.extension.translation_mm[0, k] == pytest.approx(-1.0, abs=1e-12)
    assert m.extension.angle_deg[0, k] == pytest.approx(10.0, abs=1e-12)
    assert m.translation_change_mm[0, k] == pytest.approx(4.0, abs=1e-12)
    assert m.translation_change_pct[0, k] == pytest.approx(20.0, abs=1e-12)
    assert m.angle_change_deg[0, k] == pytest.approx(12.0, abs=1e-12)
    assert np.isnan(m.translation_change_px[0, k])  # both calibrated: the change is in mm
    assert m.reason[0, k] is None and m.measured[0, k]


def test_translation_is_measured_along_an_inclined_lower_endplate():
    """S1 at 30 deg: L5 placed 7 px along S1's endplate and 12 px above it; 0.2 mm/px, 100 px deep."""
    flex = segment_points("L5", "S1", shift_px=7, angle_deg=5, depth_px=100, incline_deg=30, gap_px=12)
    ext = segment_points("L5", "S1", shift_px=0, angle_deg=15, depth_px=100, incline_deg=30, gap_px=12)
    m = pair(flex, ext, spacing=(0.2, 0.2))
    assert m.flexion.translation_mm[0, 0] == pytest.approx(1.4, abs=1e-12)  # 7 px, the height ignored
    assert m.flexion.translation_pct[0, 0] == pytest.approx(7.0, abs=1e-12)
    assert m.flexion.angle_deg[0, 0] == pytest.approx(5.0, abs=1e-12)
    assert m.extension.translation_mm[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert m.angle_change_deg[0, 0] == pytest.approx(10.0, abs=1e-12)


def test_anisotropic_pixels_are_converted_before_any_angle_or_length():
    """Rows 0.5 mm, columns 0.25 mm: every length and angle in millimetres.

    L5's endplate 160 px wide is 40 mm; L4 16 px forward is 4 mm (10 %); L4's endplate rises 20 rows
    over 160 columns: atan(10 mm / 40 mm) = 14.036 deg, not atan(20/160).
    """
    pts = {
        "L4.inf.post": (116.0, 90.0),
        "L4.inf.ant": (276.0, 70.0),
        "L5.sup.post": (100.0, 100.0),
        "L5.sup.ant": (260.0, 100.0),
    }
    m = film_motion(film(pts, (0.5, 0.25)))
    k = [s.name for s in m.segments].index("L4-L5")
    assert m.translation_mm[0, k] == pytest.approx(4.0, abs=1e-12)
    assert m.translation_px[0, k] == pytest.approx(16.0, abs=1e-12)
    assert m.translation_pct[0, k] == pytest.approx(10.0, abs=1e-12)
    assert m.depth_mm[0, k] == pytest.approx(40.0, abs=1e-12)
    assert m.angle_deg[0, k] == pytest.approx(math.degrees(math.atan2(10, 40)), abs=1e-12)


def test_the_two_films_may_face_opposite_ways():
    flex = segment_points("L4", "L5", shift_px=6, angle_deg=-2, facing=1, base=(100.0, 100.0))
    ext = segment_points("L4", "L5", shift_px=-2, angle_deg=10, facing=-1, base=(900.0, 100.0))
    m = pair(flex, ext)
    assert m.translation_change_mm[0, 0] == pytest.approx(4.0, abs=1e-12)
    assert m.angle_change_deg[0, 0] == pytest.approx(12.0, abs=1e-12)


def test_n_pairs_are_measured_in_one_call_like_one_by_one():
    shifts = [(6, -2, -2, 10), (0, 0, 5, 5), (-3, 1, 8, -4)]
    sets = [
        (
            film(segment_points("L4", "L5", shift_px=a, angle_deg=b)),
            film(segment_points("L4", "L5", shift_px=c, angle_deg=d)),
        )
        for a, b, c, d in shifts
    ]
    from spinecheck.landmarks.points.model import LandmarkTable

    flex = LandmarkTable.from_sets([f for f, _ in sets])
    ext = LandmarkTable.from_sets([e for _, e in sets])
    together = measure_instability(flex, ext)
    for i, (f, e) in enumerate(sets):
        alone = measure_instability(f, e)
        for key in ("translation_change_mm", "translation_change_pct", "angle_change_deg"):
            assert getattr(together, key)[i, 0] == getattr(alone, key)[0, 0]
    assert together.translation_change_mm[:, 0] == pytest.approx([4.0, -2.5, -5.5])


def test_segments_across_a_sixth_lumbar_vertebra():
    from spinecheck.alignment.geometry.instability import MOTION_SEGMENTS

    pts = {
        **segment_points("L5", "L6", shift_px=2, angle_deg=5),
        **segment_points("L6", "S1", shift_px=0, angle_deg=8, base=(100, 200)),
    }
    m = measure_instability(film(pts), film(pts))
    assert m.names == ("L5-L6", "L6-S1")
    plain = {**segment_points("L5", "S1", shift_px=2, angle_deg=5)}
    assert measure_instability(film(plain), film(plain)).names == ("L5-S1",)
    assert [s.name for s in MOTION_SEGMENTS][:3] == ["T12-T13", "T12-L1", "T13-L1"]


def test_a_sacralised_l5_does_not_move_so_l4_l5_is_the_lumbosacral_segment():
    from spinecheck.landmarks.points.anatomy import Anatomy

    pts = {
        **segment_points("L4", "L5", shift_px=2, angle_deg=5),
        **segment_points("L5", "S1", shift_px=6, angle_deg=8, base=(100, 200)),
    }
    plain = measure_instability(film(pts), film(pts))
    assert plain.names == ("L4-L5", "L5-S1")
    fused = measure_instability(film(pts, anatomy=Anatomy("L5")), film(pts))
    assert fused.names == ("L4-L5",)  # the record on either film of the pair is enough
    fused = measure_instability(film(pts), film(pts, anatomy=Anatomy("L5")))
    assert fused.names == ("L4-L5",)


def test_a_segment_placed_on_one_film_only_is_listed_with_the_reason():
    flex = segment_points("L4", "L5", shift_px=6, angle_deg=-2)
    ext = dict(flex)
    del ext["L4.inf.ant"]
    m = pair(flex, ext)
    assert not m.measured[0, 0] and np.isnan(m.translation_change_mm[0, 0])
    assert m.reason[0, 0] == "extension film: missing landmarks: L4.inf.ant"
    assert m.flexion.measured[0, 0]


def test_swapped_corners_are_withheld_not_measured():
    ext = segment_points("L4", "L5", shift_px=0, angle_deg=10)
    flex = dict(ext)
    flex["L5.sup.ant"], flex["L5.sup.post"] = ext["L5.sup.post"], ext["L5.sup.ant"]
    flex["S1.sup.post"], flex["S1.sup.ant"] = (100.0, 300.0), (140.0, 300.0)  # S1 says: faces right
    m = pair(flex, ext)
    assert not m.measured[0, 0]
    assert "withheld: L5: superior endplate's anterior corner lies on the posterior side" in m.reason[0, 0]


def test_uncalibrated_films_give_pixels_and_percentages_only():
    flex = segment_points("L4", "L5", shift_px=6, angle_deg=-2)
    ext = segment_points("L4", "L5", shift_px=-2, angle_deg=10)
    m = pair(flex, ext, spacing=None)
    assert np.isnan(m.translation_change_mm[0, 0]) and np.isnan(m.flexion.translation_mm[0, 0])
    assert m.translation_change_px[0, 0] == pytest.approx(8.0)
    assert m.translation_change_pct[0, 0] == pytest.approx(20.0)
    assert m.angle_change_deg[0, 0] == pytest.approx(12.0)
    one = pair(flex, ext, ext_spacing=None)  # only the flexion film calibrated: no change in mm nor px
    assert np.isnan(one.translation_change_mm[0, 0]) and np.isnan(one.translation_change_px[0, 0])
    assert one.translation_change_pct[0, 0] == pytest.approx(20.0)


def test_an_ap_film_is_refused():
    ap = LandmarkSet("ap", {"L4.sup.left": (0.0, 0.0)})
    with pytest.raises(InvalidLandmarksError, match=r"^extension: study 0 \(.*\) is an AP film"):
        measure_instability(film(segment_points("L4", "L5", shift_px=0, angle_deg=0)), ap)


# ----------------------------------------------------------------------------- criteria at their boundaries


def shifted(delta_mm: float, *, upper="L4", lower="L5", angle_flex=0.0, angle_ext=0.0, spacing=0.02):
    """A pair whose translation changes by *delta_mm* (flexion forward) at 0.02 mm/px, 40 mm deep."""
    px = delta_mm / spacing
    flex = segment_points(
        upper, lower, shift_px=px, angle_deg=angle_flex, depth_px=40 / spacing, base=(10000.0, 5000.0)
    )
    ext = segment_points(
        upper, lower, shift_px=0.0, angle_deg=angle_ext, depth_px=40 / spacing, base=(10000.0, 5000.0)
    )
    return pair(flex, ext, spacing=(spacing, spacing))


def verdict(m, set_name, criterion_id=None):
    (j,) = judge_instability(m, [set_name])
    if criterion_id is None:
        return j.flagged[0, 0]
    v = next(v for v in j.verdicts if v.criterion.id == criterion_id)
    return v.flag[0, 0]


@pytest.mark.parametrize(
    ("delta_mm", "flag"),
    [
        pytest.param(2.96, False, id="2.96-shown-3.0"),
        pytest.param(3.0, False, id="at-3"),
        pytest.param(3.04, False, id="3.04-shown-3.0"),
        pytest.param(3.05, True, id="3.05-shown-3.1"),
        pytest.param(-3.05, True, id="backward-3.05"),
        pytest.param(-3.0, False, id="backward-3"),
    ],
)
def test_elmose_flags_a_dynamic_translation_over_3_mm(delta_mm, flag):
    m = shifted(delta_mm)
    assert verdict(m, "instability-elmose2023") is flag
    (j,) = judge_instability(m)  # the default set
    assert j.info.name == "instability-elmose2023" and j.flagged[0, 0] is flag
    assert j.verdicts[0].rule[0, 0] == "|Δtranslation| > 3 mm"


@pytest.mark.parametrize(
    ("delta_mm", "angle_ext", "flag"),
    [
        pytest.param(4.0, 0.0, False, id="4mm"),
        pytest.param(4.05, 0.0, True, id="4.05mm"),
        pytest.param(0.0, 10.0, False, id="10deg"),
        pytest.param(0.0, 10.04, False, id="10.04deg-shown-10.0"),
        pytest.param(0.0, 10.05, True, id="10.05deg"),
        pytest.param(0.0, -10.05, True, id="paradoxical-10.05deg"),
    ],
)
def test_dupuis_4_mm_or_10_degrees(delta_mm, angle_ext, flag):
    assert verdict(shifted(delta_mm, angle_ext=angle_ext), "instability-dupuis1985") is flag


@pytest.mark.parametrize(
    ("upper", "lower", "limit"),
    [("L1", "L2", 15.0), ("L3", "L4", 15.0), ("L4", "L5", 20.0), ("L5", "S1", 25.0)],
)
def test_white_panjabi_rotation_limit_by_level(upper, lower, limit):
    at = shifted(0.0, upper=upper, lower=lower, angle_ext=limit)
    over = shifted(0.0, upper=upper, lower=lower, angle_ext=limit + 0.05)
    assert verdict(at, "instability-whitepanjabi1990", "rotation") is False
    assert verdict(over, "instability-whitepanjabi1990", "rotation") is True
    assert verdict(over, "instability-whitepanjabi1990") is True  # any criterion flags the segment


@pytest.mark.parametrize(("pct", "flag"), [(15.0, False), (15.04, False), (15.05, True)])
def test_white_panjabi_translation_percentage(pct, flag):
    m = shifted(pct * 40 / 100)  # of a 40 mm deep endplate
    assert verdict(m, "instability-whitepanjabi1990", "translation_pct") is flag


@pytest.mark.parametrize(("delta_mm", "flag"), [(4.5, False), (4.55, True)])
def test_white_panjabi_translation_4_5_mm(delta_mm, flag):
    assert verdict(shifted(delta_mm), "instability-whitepanjabi1990", "translation") is flag


def test_thoracolumbar_segment_is_measured_but_not_judged_by_the_lumbar_sets():
    m = shifted(5.0, upper="T12", lower="L1")
    assert m.names == ("T12-L1",) and m.translation_change_mm[0, 0] == pytest.approx(5.0)
    for name in ("instability-elmose2023", "instability-dupuis1985", "instability-whitepanjabi1990"):
        (j,) = judge_instability(m, [name])
        assert j.flagged[0, 0] is None and j.reason[0, 0].startswith("not judged: the set judges")


def test_uncalibrated_pair_does_not_apply_millimetre_thresholds():
    flex = segment_points("L4", "L5", shift_px=60, angle_deg=0, depth_px=400)
    ext = segment_points("L4", "L5", shift_px=0, angle_deg=0, depth_px=400)
    m = pair(flex, ext, spacing=None)
    (elmose, wp) = judge_instability(m, ["instability-elmose2023", "instability-whitepanjabi1990"])
    assert elmose.flagged[0, 0] is None and elmose.reason[0, 0] == CALIBRATION_REASON
    assert not elmose.verdicts[0].applied[0, 0]
    assert wp.flagged[0, 0] is None  # the % criterion applies (15 %: not over), the mm one cannot
    pct = next(v for v in wp.verdicts if v.criterion.id == "translation_pct")
    assert pct.applied[0, 0] and pct.value[0, 0] == 15.0 and pct.flag[0, 0] is False
    one = pair(flex, ext, ext_spacing=None)
    (j,) = judge_instability(one)
    assert j.reason[0, 0] == "the extension film is not calibrated: millimetre thresholds not evaluated"
    big = pair(segment_points("L4", "L5", shift_px=64, angle_deg=0, depth_px=400), ext, spacing=None)
    assert judge_instability(big, ["instability-whitepanjabi1990"])[0].flagged[0, 0] is True  # 16 %


def test_the_shipped_sets_carry_their_sources_and_honest_status():
    sets = {s.name: s for s in shipped_sets() if s.info.kind == "instability"}
    assert set(sets) == {"instability-elmose2023", "instability-dupuis1985", "instability-whitepanjabi1990"}
    elmose = sets["instability-elmose2023"]
    assert (
        elmose.status is Status.V
        and elmose.default
        and DEFAULT_INSTABILITY_SETS == ("instability-elmose2023",)
    )
    src = elmose.first_source
    assert (src.journal, src.year, src.details, src.pmid) == (
        "Global Spine J",
        2023,
        "13(2):523-533",
        "35606897",
    )
    for name in ("instability-dupuis1985", "instability-whitepanjabi1990"):
        assert sets[name].status is Status.U and not sets[name].default
        assert "UNVERIFIED" in sets[name].info.note
    assert sets["instability-dupuis1985"].first_source.details == "10(3):262-276"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({"measure": "slip"}, "\"measure\" must be one of 'translation_change_mm'", id="measure"),
        pytest.param(
            {"interval": "(3, inf)", "intervals": {"L4-L5": "(3, inf)"}}, "exactly one of", id="both"
        ),
        pytest.param({"segments": ["L4-L6"]}, "must be a motion segment", id="segment"),
        pytest.param({"segments": "thoracic"}, 'must be "lumbar" or a list', id="segments-word"),
        pytest.param({"interval": "3 mm"}, 'an interval like "[10, 20]"', id="interval"),
    ],
)
def test_a_bad_user_set_is_one_line_naming_the_field(tmp_path, body, words):
    criterion = {"id": "t", "name": "t", "measure": "translation_change_mm", "interval": "(3, inf)", **body}
    data = {
        "format": "spinecheck-criteria/1",
        "kind": "instability",
        "name": "site",
        "title": "site",
        "status": "U",
        "sources": [{"authors": "Site", "year": 2024, "journal": "protocol"}],
        "criteria": [criterion],
    }
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidCriteriaError, match="site.json") as info:
        load_instability_set(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_wrong_or_repeated_sets_are_refused():
    m = shifted(1.0)
    with pytest.raises(
        InvalidCriteriaError, match="'gap': is a criterion set for one film, not an instability set"
    ):
        judge_instability(m, ["gap"])
    with pytest.raises(
        InvalidCriteriaError, match="no such shipped set or file; the shipped instability sets are"
    ):
        judge_instability(m, ["elmose"])
    with pytest.raises(InvalidCriteriaError, match="given twice"):
        judge_instability(m, ["instability-elmose2023", "instability-elmose2023"])


# ----------------------------------------------------------------------------- a pair of DICOM films


@pytest.fixture(scope="module")
def lateral():
    return synthetic_lateral(mm_per_px=0.5)


def write_pair(
    folder, lateral, *, flexion_shift_px=8.0, flex_extra=None, ext_extra=None, flex_age=67, ext_age=67
):
    """Write a flexion and an extension film (Pixel Spacing 0.5 mm) with their landmark files.

    Extension: the synthetic film as rendered; flexion: the same film (another SOP Instance UID)
    with L4 moved *flexion_shift_px* along L5's superior endplate.
    """
    base = lateral.landmarks.replace(patient=PatientInfo())
    pts = dict(base.points)
    e = np.subtract(pts["L5.sup.ant"], pts["L5.sup.post"])
    e = e / np.hypot(*e)
    moved = {k: tuple(np.add(v, flexion_shift_px * e)) if k.startswith("L4.") else v for k, v in pts.items()}
    paths = {}
    for which, points, extra, age in (
        ("flexion", moved, flex_extra, flex_age),
        ("extension", pts, ext_extra, ext_age),
    ):
        uid = f"1.2.826.0.1.3680043.8.498.{77 if which == 'flexion' else 78}"
        dcm = write_dicom(
            lateral, folder / f"{which}.dcm", patient_age=age, sop_instance_uid=uid, extra=extra
        )
        lm = folder / f"{which}.json"
        write_landmarks(base.replace(points=points, image=ImageRef(sop_instance_uid=uid)), lm)
        paths[which] = (lm, dcm)
    return paths


def test_a_dicom_pair_end_to_end(tmp_path, lateral):
    p = write_pair(tmp_path, lateral)
    s = load_instability(
        p["flexion"][0], p["extension"][0], flexion_image=p["flexion"][1], extension_image=p["extension"][1]
    )
    m = s.measurements
    k = col(m, "L4-L5")
    assert m.translation_change_mm[0, k] == pytest.approx(4.0, abs=1e-9)  # 8 px of 0.5 mm, header spacing
    assert m.angle_change_deg[0, k] == pytest.approx(0.0, abs=1e-9)
    depth = m.extension.depth_mm[0, k]
    assert m.translation_change_pct[0, k] == pytest.approx(400.0 / depth, abs=1e-9)
    k34 = col(m, "L3-L4")  # L3 stays: relative to L4 it moves back
    assert m.translation_change_mm[0, k34] == pytest.approx(
        -4.0 * _cos_between(lateral, "L4", "L5"), abs=1e-9
    )
    (j,) = s.judgements
    assert j.flagged[0, k] is True
    assert s.flexion.calibrations[0].source.value == "PixelSpacing"
    assert s.flexion.patients[0].age_years == 67


def _cos_between(lateral, upper, lower):
    pts = lateral.landmarks.points
    e = np.subtract(pts[f"{lower}.sup.ant"], pts[f"{lower}.sup.post"])
    f = np.subtract(pts[f"{upper}.sup.ant"], pts[f"{upper}.sup.post"])
    return float(np.dot(e, f) / np.hypot(*e) / np.hypot(*f))


def test_the_pair_is_refused_when_it_cannot_be_one_patients_flexion_and_extension(tmp_path, lateral):
    p = write_pair(tmp_path, lateral)
    lm_f, dcm_f = p["flexion"]
    lm_e, dcm_e = p["extension"]
    with pytest.raises(InvalidArgumentError, match="is the flexion landmark file too") as info:
        load_instability(lm_f, lm_f)
    assert info.value.argument == "extension_landmarks"
    with pytest.raises(InvalidArgumentError, match="is the flexion image too") as info:
        load_instability(lm_f, lm_e, flexion_image=dcm_f, extension_image=dcm_f)
    assert info.value.argument == "extension_image"
    same = tmp_path / "same.json"
    same.write_text(lm_f.read_text())
    with pytest.raises(InvalidArgumentError, match="placed on the same film as the flexion landmarks"):
        load_instability(lm_f, same)
    (tmp_path / "sex").mkdir()
    sexes = write_pair(
        tmp_path / "sex", lateral, flex_extra={"PatientSex": "F"}, ext_extra={"PatientSex": "M"}
    )
    with pytest.raises(InvalidArgumentError, match=r"different patients \(the sex differs") as info:
        load_instability(
            sexes["flexion"][0],
            sexes["extension"][0],
            flexion_image=sexes["flexion"][1],
            extension_image=sexes["extension"][1],
        )
    assert "'F'" not in str(info.value) and "'M'" not in str(info.value)  # the field, not the values
    (tmp_path / "age").mkdir()
    ages = write_pair(tmp_path / "age", lateral, flex_age=67, ext_age=70)
    with pytest.raises(InvalidArgumentError, match="ages differ by 3 years"):
        load_instability(
            ages["flexion"][0],
            ages["extension"][0],
            flexion_image=ages["flexion"][1],
            extension_image=ages["extension"][1],
        )
    (tmp_path / "birthday").mkdir()
    close = write_pair(
        tmp_path / "birthday", lateral, flex_age=67, ext_age=68
    )  # a birthday between: accepted
    load_instability(
        close["flexion"][0],
        close["extension"][0],
        flexion_image=close["flexion"][1],
        extension_image=close["extension"][1],
    )
    ap = tmp_path / "ap.json"
    obj = json.loads(lm_e.read_text())
    obj["view"] = "ap"
    obj["points"] = {"L4.sup.left": [10, 10]}
    ap.write_text(json.dumps(obj))
    with pytest.raises(InvalidLandmarksError, match=r"is an AP film .*measured on lateral films"):
        load_instability(lm_f, ap)


# ----------------------------------------------------------------------------- reports and the command line


def test_reports_say_every_number_with_its_source(tmp_path, lateral):
    p = write_pair(tmp_path, lateral)
    s = load_instability(
        p["flexion"][0],
        p["extension"][0],
        flexion_image=p["flexion"][1],
        extension_image=p["extension"][1],
        criteria=["instability-elmose2023", "instability-whitepanjabi1990"],
    )
    r = instability_report(s)
    assert r["format"] == INSTABILITY_FORMAT == "spinecheck-instability/1"
    assert r["films"]["flexion"]["calibration"]["mm_per_px"] == [0.5, 0.5]
    row = next(x for x in r["segments"] if x["segment"] == "L4-L5")
    assert row["translation_change_mm"] == pytest.approx(4.0) and row["measured"] is True
    assert set(row["flexion"]) >= {
        "translation_mm",
        "translation_px",
        "translation_pct",
        "depth_mm",
        "angle_deg",
    }
    elmose, wp = row["verdicts"]
    assert elmose["set"] == "instability-elmose2023" and elmose["flag"] is True
    assert elmose["criteria"][0] == {
        "id": "translation",
        "name": "dynamic sagittal translation",
        "rule": "|Δtranslation| > 3 mm",
        "value": 4.0,
        "unit": "mm",
        "flag": True,
        "status": "V",
    }
    assert [c["id"] for c in wp["criteria"]] == ["translation", "translation_pct", "rotation"]
    assert [x["status"] for x in r["sets"]] == ["V", "U"] and "UNVERIFIED" in r["sets"][1]["note"]
    t12 = next(x for x in r["segments"] if x["segment"] == "T12-L1")
    assert t12["verdicts"][0]["flag"] is None and t12["verdicts"][0]["reason"].startswith("not judged")
    text = format_instability_table(s)
    assert "L4-L5: flagged — |Δtranslation| > 3 mm: 4.0 mm, flagged" in text
    assert "+4.0 mm" in text and "instability-whitepanjabi1990 [U]" in text
    rows = list(csv.DictReader(io.StringIO(format_instability_csv(s))))
    l45 = next(x for x in rows if x["segment"] == "L4-L5")
    assert float(l45["translation_change_mm"]) == pytest.approx(4.0)
    assert (
        l45["instability_elmose2023"] == "True" and l45["instability_whitepanjabi1990_translation"] == "False"
    )
    assert next(x for x in rows if x["segment"] == "T12-L1")["instability_elmose2023"] == ""


def test_the_command_line(tmp_path, lateral, capsys):
    p = write_pair(tmp_path, lateral)
    (lm_f, dcm_f), (lm_e, dcm_e) = p["flexion"], p["extension"]
    images = ["--flexion-image", str(dcm_f), "--extension-image", str(dcm_e)]
    assert main(["instability", str(lm_f), str(lm_e), *images]) == 0
    out = capsys.readouterr().out
    assert "L4-L5: flagged" in out
    assert (
        main(
            [
                "instability",
                str(lm_f),
                str(lm_e),
                *images,
                "--format",
                "json",
                "--criteria",
                "instability-dupuis1985",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert [x["name"] for x in r["sets"]] == ["instability-dupuis1985"]
    page = tmp_path / "page.png"
    assert main(["instability", str(lm_f), str(lm_e), *images, "-o", str(page), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert page.stat().st_size > 10_000 and f"wrote {page}" in err and out.startswith("segment,")
    for argv, line in (
        ([str(lm_f), str(lm_f)], "error: EXTENSION_LANDMARKS '"),
        ([str(lm_f), str(lm_e), "-o", str(tmp_path / "x.pdf")], "error: -o '"),
        (
            [str(lm_f), str(lm_e), "--criteria", "gap"],
            "error: --criteria 'gap': is a criterion set for one film",
        ),
        (
            [str(lm_f), str(lm_e), "--flexion-image", str(dcm_f), "--extension-image", str(dcm_f)],
            "error: --extension-image '",
        ),
        ([str(lm_f), str(lm_e), "--mm-per-px", "0", "1"], "error: --mm-per-px"),
    ):
        assert main(["instability", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(line) and err.count("\n") == 1, err
    assert main(["instability", str(lm_f), str(lm_e), "--mm-per-px", "0.25", "0.25"]) == 0
    assert "+2.0 mm" in capsys.readouterr().out  # 8 px at the spacing given for both films


def test_the_page_marks_every_measured_segment_on_both_films(tmp_path, lateral):
    from spinecheck.alignment.render.instability_page import instability_figure
    from spinecheck.landmarks.imaging.radiograph import load_radiograph

    p = write_pair(tmp_path, lateral)
    films = [load_radiograph(p[w][1]) for w in ("flexion", "extension")]
    s = load_instability(p["flexion"][0], p["extension"][0], flexion_image=films[0], extension_image=films[1])
    fig = instability_figure(films[0].display, films[1].display, s)
    film_axes = fig.axes
    assert len(film_axes) == 2
    measured = int(s.measurements.measured.sum())
    for ax in film_axes:
        labels = [t.get_text() for t in ax.texts]
        assert sorted(label.split()[0] for label in labels) == sorted(s.measurements.names)
        bars = [ln for ln in ax.lines if ln.get_linewidth() == 2.2]  # the translation bars
        assert len(bars) == measured
    texts = " ".join(t.get_text() for t in fig.texts)
    # L4 moved 4 mm forward on L5 is also 4 mm backward (times the cosine between the endplates) on L3
    assert "flagged: L3-L4 (instability-elmose2023); L4-L5 (instability-elmose2023)" in texts
    assert "Elmose SF" in texts
