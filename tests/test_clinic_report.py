"""One-page clinic reports and pre/post comparisons: one page, the values shown, text on the page."""

from __future__ import annotations

import re

import numpy as np
import pytest
from spinecheck.alignment.parameters import JUNCTIONAL
from spinecheck.alignment.render.comparison import comparison_figure
from spinecheck.alignment.render.pages import A4_LANDSCAPE_IN, report_figure
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.imaging.radiograph import load_radiograph
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom


def _files(tmp_path, film, name):
    dcm = write_dicom(film, tmp_path / f"{name}.dcm")
    points = tmp_path / f"{name}.json"
    write_landmarks(film.landmarks, points)
    return dcm, points


def _load(files):
    dcm, points = files
    return load_radiograph(str(dcm)).display, load_study(str(points), image=str(dcm))


@pytest.fixture(scope="module")
def lateral(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("lat"), synthetic_lateral(mm_per_px=1.0, age_years=65), "lat")


@pytest.fixture(scope="module")
def ap(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("ap"), synthetic_ap(mm_per_px=1.0), "ap")


@pytest.fixture(scope="module")
def pre_post(tmp_path_factory):
    d = tmp_path_factory.mktemp("prepost")
    pre = _files(d, synthetic_lateral(mm_per_px=1.0, pelvic_tilt_deg=30, sva_mm=None), "pre")
    post = _files(d, synthetic_lateral(mm_per_px=1.0, pelvic_tilt_deg=20, sva_mm=None), "post")
    return pre, post


def _texts(fig) -> list:
    return list(fig.texts) + [t for ax in fig.axes for t in ax.texts]


def _all_text(fig) -> str:
    return "\n".join(t.get_text() for t in _texts(fig))


def _assert_text_on_page(fig):
    """Every non-empty text artist lies inside the page (a hair of antialiasing allowed)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    assert tuple(np.round(fig.get_size_inches(), 3)) == tuple(np.round(A4_LANDSCAPE_IN, 3))
    for t in fig.texts:  # the page's own text: tables, provenance, warnings
        if not t.get_text().strip():
            continue
        bb = t.get_window_extent(renderer)
        margin = 0.2 * fig.dpi  # inside the page margins, not merely on the paper
        assert bb.x0 >= page.x0 + margin and bb.x1 <= page.x1 - margin, t.get_text()[:60]
        assert bb.y0 >= page.y0 - 1 and bb.y1 <= page.y1 + 1, t.get_text()[:60]


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_report_shows_every_parameter_value_and_fits_the_page(request, which):
    image, study = _load(request.getfixturevalue(which))
    fig = report_figure(image, study)
    text = _all_text(fig).replace("−", "-")
    for pid, p in fig.spinecheck_report["parameters"].items():
        if pid in JUNCTIONAL:  # an unoperated film: no UIV or LIV, and not listed on the page
            assert p["value"] is None and p["reason"] in ("UIV not recorded", "LIV not recorded"), pid
            assert f"{pid}  " not in text, pid
            continue
        assert p["value"] is not None, pid
        assert f"{p['value']:.1f}" in text, pid
    assert "Calibration: 1 × 1 mm/px" in text and "PixelSpacing" in text
    for w in fig.spinecheck_report["warnings"]:
        assert w.split(":")[0] in text
    _assert_text_on_page(fig)


def test_report_age_adjusted_target_is_shown(lateral):
    image, study = _load(lateral)
    fig = report_figure(image, study)
    rows = {c["id"]: c for c in fig.spinecheck_report["criteria"]}
    target = rows["age_adjusted.pt"]["target"]
    assert f"{target:.1f}°" in [t.get_text() for t in fig.texts]


def test_report_pdf_has_exactly_one_page(tmp_path, lateral):
    image, study = _load(lateral)
    out = tmp_path / "report.pdf"
    report_figure(image, study).savefig(out)
    assert _pdf_pages(out.read_bytes()) == 1


def test_comparison_change_is_post_minus_pre(tmp_path, pre_post):
    (pre_img, pre), (post_img, post) = (_load(f) for f in pre_post)
    fig = comparison_figure(pre_img, pre, post_img, post)
    changes = {c["pid"]: c for c in fig.spinecheck_changes}
    pv, qv = pre.measurements.values, post.measurements.values
    assert set(changes) >= {"PI", "PT", "SS", "LL", "SVA"}
    for pid, c in changes.items():
        want = float(qv[pid][0] - pv[pid][0])
        assert c["change"] == pytest.approx(want, abs=1e-9), pid
    assert changes["PT"]["change"] == pytest.approx(-10.0, abs=1e-6)
    assert changes["SS"]["change"] == pytest.approx(10.0, abs=1e-6)
    assert changes["PI"]["change"] == pytest.approx(0.0, abs=1e-6)
    shown = [t.get_text().replace("−", "-") for t in fig.texts]
    assert "-10.0°" in shown and "+10.0°" in shown
    _assert_text_on_page(fig)
    out = tmp_path / "compare.pdf"
    fig.savefig(out)
    assert _pdf_pages(out.read_bytes()) == 1


def test_comparison_refuses_different_views(lateral, ap):
    (lat_img, lat), (ap_img, ap_study) = _load(lateral), _load(ap)
    with pytest.raises(InvalidLandmarksError, match="same view") as e:
        comparison_figure(lat_img, lat, ap_img, ap_study)
    assert "\n" not in str(e.value)


def test_cli_report_writes_one_page_pdf(capsys, tmp_path, lateral):
    out = tmp_path / "r.pdf"
    assert main(["report", str(lateral[0]), str(lateral[1]), "-o", str(out)]) == 0
    assert _pdf_pages(out.read_bytes()) == 1


def test_cli_compare_writes_png_and_refuses_mixed_views(capsys, tmp_path, pre_post, ap):
    (a, b), (c, d) = pre_post
    out = tmp_path / "c.png"
    assert main(["compare", str(a), str(b), str(c), str(d), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    bad = tmp_path / "mixed.pdf"
    assert main(["compare", str(a), str(b), str(ap[0]), str(ap[1]), "-o", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and not bad.exists()


@pytest.mark.parametrize("command", ["report", "compare"])
def test_cli_bad_suffix_is_one_error_line(capsys, tmp_path, lateral, command):
    out = tmp_path / "page.svg"
    files = [str(lateral[0]), str(lateral[1])] * (1 if command == "report" else 2)
    code = main([command, *files, "-o", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(lines) == 1 and lines[0].startswith("error:") and "page.svg" in lines[0] and ".pdf" in lines[0]


def test_comparison_verdicts_are_marked_not_only_coloured(pre_post):
    """Greyscale print or colour-blind reader: each verdict swatch carries its mark."""
    from spinecheck.alignment.render.figure import Verdict

    (pre_img, pre), (post_img, post) = (_load(f) for f in pre_post)
    fig = comparison_figure(pre_img, pre, post_img, post)
    changes = {c["pid"]: c for c in fig.spinecheck_changes}
    judged = [v for c in changes.values() for v in (c["pre_verdict"], c["post_verdict"]) if v is not None]
    assert judged
    marks = [t.get_text() for t in fig.texts]
    for verdict in set(judged):
        # one mark per judged cell, plus one in the legend
        assert marks.count(verdict.mark) == judged.count(verdict) + 1, verdict
    assert len({v.mark for v in Verdict}) == len(Verdict)


def test_ap_report_lists_each_curve_with_its_ends_apex_angle_and_side(ap):
    image, study = _load(ap)
    fig = report_figure(image, study)
    texts = [t.get_text() for t in fig.texts]
    curves = fig.spinecheck_report["curves"]
    assert len(curves) >= 2  # the synthetic AP spine: a thoracic and a thoracolumbar curve
    for c in curves:
        ends = f"{c['upper_end']}–{c['lower_end']}"
        row = texts.index(ends)  # the curve's row: its cells follow its end vertebrae, left to right
        assert texts[row + 1 : row + 4] == [c["apex"], f"{c['angle_deg']:.1f}°", c["convex"]], ends
        assert texts[row - 1] == c["lenke_region"]
    assert {"Region", "End vertebrae", "Apex", "Cobb angle", "Convex side"} <= set(texts)
    # the region without a curve is named, with why
    empty = [
        r for r, cells in fig.spinecheck_report["curves_by_region"].items() if cells["angle_deg"] is None
    ]
    for region in empty:
        assert any(t.startswith(f"• {region}: no curve with apex") for t in texts), region


def test_gap_score_shows_its_total_and_each_component(lateral):
    image, study = _load(lateral)
    fig = report_figure(image, study)
    gap = next(c for c in fig.spinecheck_report["criteria"] if c["id"] == "gap")
    texts = [t.get_text().replace("−", "-") for t in fig.texts]
    row = texts.index("GAP score")
    assert texts[row + 1] == f"{gap['value']:g}"  # the total, in the value column
    assert any(t.startswith(f"{gap['category']} (GAP score") for t in texts)
    for key, comp in gap["components"].items():
        points = f"{comp['points']} point{'' if comp['points'] == 1 else 's'}"
        line = next(t for t in texts if t.startswith(f"{key.upper() if key != 'age' else 'age'} "))
        assert points in line and comp["rule"].split()[0] in line, line
    assert sum(c["points"] for c in gap["components"].values()) == gap["value"]
