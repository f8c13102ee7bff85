"""Report and comparison pages hold up: no text off the page, over another text, over a marker or a film.

Every page is checked on its rendered extents (:func:`spinecheck.alignment.render.layout.problems`: a
text outside the page or outside the film it annotates, two texts overlapping, a text over a landmark
dot), and for what a page adds to a figure: the page's own text (tables, titles, a film's name) stays
inside the page margins and off every film, and the films lie on the page, apart. Pages of the demo's
lateral and AP films, of a very wide and a very narrow film, of every real AASCE film with its ``.mat``
labels and of the real DICOMs in ``../shared/data`` (with a synthetic spine's landmarks placed on them),
comparison pages of the demo's pre/post films, of a wide film beside a narrow one (both orders) and
of each AASCE patient's first two films, the three pages of a follow-up series and the instability page.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from spinecheck.alignment.followup import Film, compare_studies, series_table
from spinecheck.alignment.motion import load_instability
from spinecheck.alignment.render.comparison import comparison_figure
from spinecheck.alignment.render.instability_page import instability_figure
from spinecheck.alignment.render.layout import problems, text_box
from spinecheck.alignment.render.pages import _Page, report_figure
from spinecheck.alignment.render.series import series_figures
from spinecheck.alignment.study import load_study
from spinecheck.landmarks.errors import SpinecheckError
from spinecheck.landmarks.imaging.radiograph import load_radiograph
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.points.circle import Circle
from spinecheck.landmarks.points.model import ImageRef
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom
from test_instability import write_pair

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AASCE = SHARED / "aasce-dev"
DICOMS = ("RG2_UNC", "DX_chest_MONOCHROME1_inverse_J2KR.dcm")
MARGIN_IN = 0.2  # the page's own text stays this far inside the paper's edge


def _aasce_films() -> list[str]:
    folder = AASCE / "images"
    return sorted(p.name for p in folder.glob("*.jpg")) if folder.is_dir() else []


def _aasce_pairs() -> list[tuple[str, str]]:
    """Each patient's first two films (``...-162 A AP.jpg``, ``...-162 B AP.jpg``)."""
    by_patient: dict[str, list[str]] = {}
    for name in _aasce_films():
        patient = re.sub(r" [A-Z] AP\.jpg$", "", name)
        by_patient.setdefault(patient, []).append(name)
    return [(films[0], films[1]) for films in by_patient.values() if len(films) > 1]


FILMS = _aasce_films() or ["absent"]
PAIRS = _aasce_pairs() or [("absent", "absent")]


# ----------------------------------------------------------------------------- the check


def _page_problems(fig) -> list[str]:
    """:func:`problems` of *fig*, and what a page must hold to besides: its text and its films."""
    found = problems(fig)
    renderer = fig.canvas.get_renderer()
    page, margin = fig.bbox, MARGIN_IN * fig.dpi
    films = [ax.get_window_extent(renderer) for ax in fig.axes if ax.images]
    for t in fig.texts:  # the page's own text: titles, tables, names and dates, provenance
        if not t.get_visible() or not t.get_text().strip():
            continue
        box, what = text_box(t, renderer), repr(t.get_text()[:50])
        if box.x0 < page.x0 + margin - 0.5 or box.x1 > page.x1 - margin + 0.5:
            found.append(f"page text {what} runs into the page margin")
        if box.y0 < page.y0 + margin - 0.5 or box.y1 > page.y1 - margin + 0.5:
            found.append(f"page text {what} runs into the page margin")
        for k, film in enumerate(films):
            if (
                min(box.x1, film.x1) - max(box.x0, film.x0) > 0.5
                and min(box.y1, film.y1) - max(box.y0, film.y0) > 0.5
            ):
                found.append(f"page text {what} lies on film {k + 1}")
    for k, film in enumerate(films):
        if film.x0 < page.x0 + margin - 0.5 or film.x1 > page.x1 - margin + 0.5 or film.y0 < page.y0:
            found.append(f"film {k + 1} runs off the page")
        for j, other in enumerate(films[k + 1 :], k + 2):
            if (
                min(film.x1, other.x1) - max(film.x0, other.x0) > 0
                and min(film.y1, other.y1) - max(film.y0, other.y0) > 0
            ):
                found.append(f"films {k + 1} and {j} overlap")
    return found


def test_the_check_finds_a_label_off_the_page_a_title_on_a_film_and_two_texts_overlapping(demo):
    """The check is not blind: each fault put on a clean page is found."""
    image, study = demo["ap"]
    fig = report_figure(image, study)
    assert _page_problems(fig) == []
    ax = next(ax for ax in fig.axes if ax.images)
    ax.annotate("off the page", (0, 0), xytext=(-5000, 10), textcoords="data", annotation_clip=False)
    x, y = ax.get_window_extent(fig.canvas.get_renderer()).p0 / fig.dpi
    fig.text(x + 0.2, y + 0.2, "a title under the film", transform=fig.dpi_scale_trans)
    fig.text(0.5, 0.5, "one", fontsize=20, transform=fig.transFigure)
    fig.text(0.5, 0.5, "two", fontsize=20, transform=fig.transFigure)
    found = "\n".join(_page_problems(fig))
    assert "'off the page' runs outside the canvas" in found
    assert "page text 'a title under the film' lies on film 1" in found
    assert "texts 'one' and 'two' overlap" in found


# ----------------------------------------------------------------------------- the films


def _write(film, folder: Path, name: str) -> tuple[Path, Path]:
    dcm = write_dicom(film, folder / f"{name}.dcm")
    points = folder / f"{name}.json"
    write_landmarks(film.landmarks, points)
    return dcm, points


def _load(image: Path, points: Path):
    return load_radiograph(str(image)).display, load_study(str(points), image=str(image))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's two films, a pre/post pair, and an AP film very wide and one very narrow (2 mm/px)."""
    d = tmp_path_factory.mktemp("pages")
    films = {
        "lateral": synthetic_lateral(mm_per_px=1.0, age_years=65),
        "ap": synthetic_ap(mm_per_px=1.0),
        "pre": synthetic_lateral(mm_per_px=1.0, pelvic_tilt_deg=30, sva_mm=None),
        "post": synthetic_lateral(mm_per_px=1.0, pelvic_tilt_deg=20, sva_mm=None),
        "wide": synthetic_ap(mm_per_px=2.0, rows=500, cols=1500),  # 3 : 1
        "narrow": synthetic_ap(mm_per_px=2.0, rows=800, cols=170),  # 1 : 4.7
    }
    return {name: _load(*_write(film, d, name)) for name, film in films.items()}


@functools.lru_cache(maxsize=64)
def _aasce(name: str):
    """A real film and its study, or the error that refused its labels."""
    try:
        return _load(AASCE / "images" / name, AASCE / "labels" / f"{name}.mat")
    except SpinecheckError as e:
        return e


def _known_bad(name: str) -> bool:
    """The data set's own word that the film's labels are wrong (``angles.csv``, ``labels_ok``)."""
    with (AASCE / "angles.csv").open(newline="") as f:
        return any(r["image"] == name and r["labels_ok"] == "no" for r in csv.DictReader(f))


# ----------------------------------------------------------------------------- report pages


@pytest.mark.parametrize("which", ["lateral", "ap", "wide", "narrow"])
def test_report_page_of_a_synthetic_film(demo, which):
    assert _page_problems(report_figure(*demo[which])) == []


@pytest.mark.shared
@pytest.mark.parametrize("name", FILMS)
def test_report_page_of_each_real_aasce_film(shared_data, name):
    loaded = _aasce(name)
    if isinstance(loaded, SpinecheckError):  # refused at the door: only a film the data set says is wrong
        assert _known_bad(name) and "\n" not in str(loaded), str(loaded)
        return
    assert _page_problems(report_figure(*loaded)) == []


@pytest.mark.shared
@pytest.mark.parametrize("name", DICOMS)
def test_report_page_of_a_real_dicom(shared_data, tmp_path, name):
    """A real film (a CR hip, a DX chest) with a synthetic AP spine's landmarks scaled onto it."""
    source = shared_data / "dicom" / name
    radiograph = load_radiograph(str(source))
    rows, cols = radiograph.display.shape[:2]
    small = synthetic_ap(mm_per_px=round(900 / (rows // 4), 3), rows=rows // 4, cols=cols // 4)  # 90 cm tall
    lm = small.landmarks
    k = rows / (rows // 4)
    points = lm.replace(
        points={n: (x * k, y * k) for n, (x, y) in lm.points.items()},
        circles={n: Circle((c.center[0] * k, c.center[1] * k), c.radius * k) for n, c in lm.circles.items()},
        image=ImageRef(rows=rows, columns=cols),
        calibration=None,
        patient_right=None,
    )
    path = tmp_path / "points.json"
    write_landmarks(points, path)
    study = load_study(str(path), image=radiograph)
    assert study.status(0)[0] == "ok"
    assert _page_problems(report_figure(radiograph.display, study)) == []


# ----------------------------------------------------------------------------- comparison pages


@pytest.mark.parametrize(
    ("pre", "post"),
    [("pre", "post"), ("wide", "narrow"), ("narrow", "wide"), ("wide", "wide"), ("narrow", "narrow")],
)
def test_comparison_page_of_synthetic_films(demo, pre, post):
    (a, sa), (b, sb) = demo[pre], demo[post]
    fig = comparison_figure(a, sa, b, sb)
    assert _page_problems(fig) == []
    films = [ax.get_window_extent(fig.canvas.get_renderer()) for ax in fig.axes if ax.images]
    areas = [f.width * f.height / fig.dpi**2 for f in films]
    assert min(areas) > 5.0, areas  # square inches: neither film is squeezed to a stamp beside the other
    if pre == post:  # two films of one shape are drawn the same size
        assert films[0].width == pytest.approx(films[1].width) and films[0].height == pytest.approx(
            films[1].height
        )


@pytest.mark.shared
@pytest.mark.parametrize(
    ("first", "second"), PAIRS, ids=[re.sub(r" [A-Z] AP\.jpg$", "", p[0]) for p in PAIRS]
)
def test_comparison_page_of_each_real_aasce_pair(shared_data, first, second):
    pair = _aasce(first), _aasce(second)
    if any(isinstance(f, SpinecheckError) or f[1].status(0)[0] != "ok" for f in pair):
        pytest.skip(
            "a film whose labels are refused has no comparison page (its report test checks the refusal)"
        )
    (a, sa), (b, sb) = pair
    fig = comparison_figure(a, sa, b, sb)
    assert _page_problems(fig) == []
    shown = [t.get_text() for t in fig.texts]
    # each film under its image's name (not its landmark file's), wrapped to its width
    assert any(s.replace("\n", " ").startswith(f"Pre: {first[:20]}") for s in shown)
    assert any(s.replace("\n", " ").startswith(f"Post: {second[:20]}") for s in shown)
    assert f"Pre: {first}" in shown and f"Post: {second}" in shown  # the table's provenance, in full


# ----------------------------------------------------------------------------- series and instability pages


def test_series_pages_of_a_wide_a_narrow_and_a_whole_spine_film_of_one_day(demo):
    """Three films (the films page, the table, the plots); films of one day share one time on the plots."""
    names = ("wide", "narrow", "ap")
    films = [Film(demo[n][1], 0) for n in names]
    followup = compare_studies(films, allow_different_patients=True, by_date=False)
    pages = series_figures([demo[n][0] for n in names], series_table(followup))
    assert len(pages) == 3
    for k, page in enumerate(pages, 1):
        assert _page_problems(page) == [], k


def test_instability_page(tmp_path):
    """Both films cropped to the segments, each segment's label placed clear of the others and the corners."""
    paths = write_pair(tmp_path, synthetic_lateral(mm_per_px=0.5))
    films = [load_radiograph(str(paths[w][1])) for w in ("flexion", "extension")]
    study = load_instability(
        paths["flexion"][0], paths["extension"][0], flexion_image=films[0], extension_image=films[1]
    )
    assert _page_problems(instability_figure(films[0].display, films[1].display, study)) == []


@pytest.mark.parametrize("dpi", [100, 150, 300])
@pytest.mark.parametrize("weight", ["normal", "bold"])
def test_a_measured_line_is_never_narrower_than_it_renders(weight, dpi):
    """The pages wrap by summed glyph advances: a line that fits by that measure fits as drawn."""
    fig = Figure(dpi=dpi)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    lines = [
        "Criteria: verdict (rule) [reference]",
        "TL/L Cobb 46.0° T12–L4, apex L2 — convex patient left (image right)",
        "Calibration: 0.2 × 0.2 mm/px (row × col); source PixelSpacing",
        "ilililil WWWWMMMM 1234567890 ≥≤−…✓ (IlGPk Dk(w",
        "Post: sunhl-1th-02-Jan-2017-162 B AP.jpg.mat",
    ]
    for fs in (4.5, 5.0, 6.0, 7.5, 9.0, 15.0):
        for line in lines:
            t = fig.text(0, 0, line, fontsize=fs, fontweight=weight)
            drawn = t.get_window_extent(renderer).width / fig.dpi
            t.remove()
            assert _Page(fig, fs).width(line, fs, weight) >= drawn, (line, fs)
