"""Every text of an annotated figure is on the canvas, clear of the other texts and of the landmark dots.

Measured on the rendered figure (:func:`spinecheck.alignment.render.layout.problems`: text
extents from the renderer, boxes included), on the demo's synthetic films, on every real AASCE
film of ``../shared/data/aasce-dev`` (skipped when absent), on the real DICOM radiographs of
``../shared/data/dicom`` carrying synthetic landmarks, and on a very wide and a very narrow film
(issue 15, 1: labels cut off at the film's edge on AASCE 162 A and 167 A).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from spinecheck.alignment.render.figure import figure_for
from spinecheck.alignment.render.layout import LabelLayout, label, problems
from spinecheck.alignment.study import load_study
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.imaging.radiograph import load_radiograph
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
AASCE = DATA / "aasce-dev"
AASCE_FILMS = sorted((AASCE / "images").glob("*.jpg")) if (AASCE / "images").is_dir() else []
#: Display rows the films are drawn from here: the layout does not depend on them, the time does.
ROWS = 300


def _check(fig) -> None:
    found = problems(fig)
    assert not found, "\n".join(found)


def _written(tmp_path: Path, marks, name: str, keep=None) -> Path:
    path = tmp_path / f"{name}.json"
    write_landmarks(marks, path)
    if keep is not None:  # a cropped film: only the points inside it, moved with it
        doc = json.loads(path.read_text())
        x0, x1 = keep
        doc["points"] = {k: [x - x0, y] for k, (x, y) in doc["points"].items() if x0 <= x < x1}
        doc.pop("circles", None)
        doc.pop("image", None)
        path.write_text(json.dumps(doc))
    return path


# ----------------------------------------------------------------------------- the checker itself


def _canvas(width_in=3.0, height_in=3.0):
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(100, 0)
    ax.set_axis_off()
    return fig, ax


def test_the_checker_finds_a_clipped_text_an_overlap_and_a_covered_marker():
    fig, ax = _canvas()
    ax.plot([50], [50], ls="none", marker="o", ms=6)
    label(ax, "SVA 45 mm", (99, 10), colour="#E69F00")  # runs off the right edge
    label(ax, "PT 22°", (20, 80), colour="#E69F00")
    label(ax, "PI 55°", (22, 81), colour="#E69F00")  # on top of PT
    label(ax, "SS 33°", (48, 50), colour="#E69F00")  # over the marker
    found = problems(fig)
    assert any("'SVA 45 mm' runs outside" in f for f in found)
    assert any("'PT 22°'" in f and "'PI 55°'" in f and "overlap" in f for f in found)
    assert any("'SS 33°' covers 1 marker" in f for f in found)


def test_the_layout_clears_the_same_three_and_draws_a_leader_when_it_moves_a_label_away():
    fig, ax = _canvas()
    ax.plot([50], [50], ls="none", marker="o", ms=6)
    layout = LabelLayout(ax)
    layout.avoid_markers()
    lines_before = len(ax.lines)
    placed = [
        layout.place(label(ax, text, at, colour="#E69F00"))
        for text, at in (
            ("SVA 45 mm", (99, 10)),  # off the edge
            ("PT 22°", (20, 80)),
            ("PI 55°", (22, 81)),  # on PT
            *((f"SS {k}°", (48, 50)) for k in range(4)),  # on the marker, and on each other
        )
    ]
    assert all(p.free for p in placed)
    assert problems(fig) == []
    # a label moved away from its point has a leader line to it, one that stayed has none
    assert len(ax.lines) - lines_before == sum(p.leader for p in placed) >= 1


def test_a_label_with_no_free_place_is_reported_not_hidden():
    fig, ax = _canvas(0.6, 0.3)
    layout = LabelLayout(ax)
    placed = layout.place(label(ax, "a label far wider than its canvas", (50, 50), colour="#E69F00"))
    assert not placed.free
    assert problems(fig)


# ----------------------------------------------------------------------------- figures of films


@pytest.mark.parametrize("view", ["lateral", "ap"])
def test_demo_films(tmp_path, view):
    film = (synthetic_lateral if view == "lateral" else synthetic_ap)()  # the demo's films, 0.2 mm/px
    study = load_study(str(_written(tmp_path, film.landmarks, view)), mm_per_px=film.mm_per_px)
    image = (film.pixels >> 4).astype(np.uint8)
    _check(figure_for(image, study, max_display_rows=ROWS))
    # and the variants, which add labels beside LL and TK
    _check(figure_for(image, study, max_display_rows=ROWS, variants=True))


@pytest.mark.parametrize(
    ("view", "shape"),
    [
        pytest.param("ap", (900, 2700), id="ap-wide-1x3"),
        pytest.param("lateral", (900, 2700), id="lateral-wide-1x3"),
        pytest.param("ap", "narrow", id="ap-narrow-cropped-to-the-spine"),
        pytest.param("lateral", "narrow", id="lateral-narrow-cropped-to-the-spine"),
    ],
)
def test_very_wide_and_very_narrow_films(tmp_path, view, shape):
    make = synthetic_lateral if view == "lateral" else synthetic_ap
    if shape == "narrow":
        film = make(mm_per_px=1.0)
        spine = np.array([xy for k, xy in film.landmarks.points.items() if k[:1] in "CTL"])
        x0, x1 = int(spine[:, 0].min()) - 15, int(spine[:, 0].max()) + 15
        image = (film.pixels[:, x0:x1] >> 4).astype(np.uint8)
        path = _written(tmp_path, film.landmarks, view, keep=(x0, x1))
        assert image.shape[0] > 5 * image.shape[1]  # really narrow
    else:
        film = make(mm_per_px=1.0, rows=shape[0], cols=shape[1])
        image = (film.pixels >> 4).astype(np.uint8)
        path = _written(tmp_path, film.landmarks, view)
    study = load_study(str(path), mm_per_px=(1.0, 1.0))
    fig = figure_for(image, study, max_display_rows=ROWS)
    assert fig.get_size_inches()[0] <= 24.0 + 1e-9
    _check(fig)


@pytest.mark.skipif(not (DATA / "dicom").is_dir(), reason="../shared/data/dicom is absent")
@pytest.mark.parametrize(
    "name", ["RG2_UNC", "DX_imager_spacing_only_J2KR.dcm", "DX_chest_MONOCHROME1_inverse_J2KR.dcm"]
)
def test_real_dicom_films_with_synthetic_landmarks(tmp_path, name):
    radiograph = load_radiograph(str(DATA / "dicom" / name))
    rows, cols = radiograph.display.shape
    film = synthetic_ap(rows=rows, cols=cols, mm_per_px=(900 / rows, 900 / rows))
    path = _written(tmp_path, film.landmarks, "ap")
    doc = json.loads(path.read_text())
    doc.pop("image", None)  # the points are placed on this film, not on the synthetic one
    path.write_text(json.dumps(doc))
    study = load_study(str(path), image=radiograph)
    _check(figure_for(radiograph.display, study, max_display_rows=ROWS))


def _aasce_sample() -> list:
    """Every real AASCE film (skipped without ../shared/data)."""
    return [pytest.param(p, id=p.stem.replace("sunhl-1th-", "")) for p in AASCE_FILMS] or [
        pytest.param(None, marks=pytest.mark.skip(reason="../shared/data/aasce-dev is absent"))
    ]


def _labels_ok() -> dict[str, bool]:
    """The data set's own word on each film's labels (``angles.csv``, column ``labels_ok``)."""
    with open(AASCE / "angles.csv", newline="") as f:
        return {row["image"]: row["labels_ok"] == "yes" for row in csv.DictReader(f)}


@pytest.mark.parametrize("image", _aasce_sample())
def test_every_real_aasce_film(image):
    radiograph = load_radiograph(str(image))
    labels = str(AASCE / "labels" / f"{image.name}.mat")
    try:
        study = load_study(labels, image=radiograph)
    except InvalidLandmarksError:
        # only the films the data set says are mislabelled may be refused (a point off the film)
        assert not _labels_ok()[image.name]
        return
    _check(figure_for(radiograph.display, study, max_display_rows=ROWS))
