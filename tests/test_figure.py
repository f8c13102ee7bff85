"""Annotated figures: overlays land on the landmarks, missing points are reported, files are valid."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from scipy import ndimage as ndi
from spinecheck.alignment.render.figure import LANDMARK_COLOUR, Verdict, display_image, figure_for, verdict_of
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom

MM_PER_PX = 1.0


def _display(film) -> np.ndarray:
    """A uint8 display image of a synthetic film (12-bit, bone bright)."""
    return (film.pixels >> 4).astype(np.uint8)


def _study(tmp_path, marks, name="film"):
    path = tmp_path / f"{name}.json"
    write_landmarks(marks, path)
    return load_study(str(path), mm_per_px=(MM_PER_PX, MM_PER_PX))


def _render(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _to_pixel(fig, ax, xy) -> tuple[np.ndarray, np.ndarray]:
    """Data (x, y) -> rendered (row, col) pixel indices."""
    disp = ax.transData.transform(np.atleast_2d(xy))
    height = fig.canvas.get_width_height()[1]
    return np.floor(height - disp[:, 1]).astype(int), np.floor(disp[:, 0]).astype(int)


def _overlay(rgb: np.ndarray) -> np.ndarray:
    """Pixels drawn in colour over the grey film (the film itself has no saturation)."""
    rgb = rgb.astype(int)
    return (rgb.max(axis=2) - rgb.min(axis=2)) > 60


@pytest.fixture(scope="module")
def lateral_film():
    return synthetic_lateral(mm_per_px=MM_PER_PX)


@pytest.fixture(scope="module")
def ap_film():
    return synthetic_ap(mm_per_px=MM_PER_PX)


@pytest.mark.parametrize("max_rows", [None, 300], ids=["full-resolution", "downsampled-k3"])
def test_landmarks_carry_the_overlay_colour_at_their_known_positions(tmp_path, lateral_film, max_rows):
    study = _study(tmp_path, lateral_film.landmarks)
    fig = figure_for(_display(lateral_film), study, max_display_rows=max_rows, panel=False, height_in=9)
    fig.set_dpi(100)
    rgb = _render(fig)
    ax = fig.axes[0]
    names = sorted(lateral_film.landmarks.points)
    r, c = _to_pixel(fig, ax, [lateral_film.landmarks.points[n] for n in names])
    want = np.array(to_rgb(LANDMARK_COLOUR)) * 255
    # the 3 x 3 neighbourhood of each landmark holds the landmark colour
    near = np.stack([rgb[r + dr, c + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=1)
    hit = (np.abs(near - want).max(axis=2) < 40).any(axis=1)
    assert hit.all(), [n for n, h in zip(names, hit, strict=True) if not h]
    # and the colour is not everywhere: a point 40 px away from every landmark is free of it
    assert not (np.abs(rgb[5:15, 5:15] - want).max(axis=2) < 40).any()


def test_display_image_block_mean_keeps_the_original_coordinates():
    image = np.zeros((7, 5), dtype=np.uint8)
    image[6, 4] = 255
    small, k = display_image(image, max_rows=3)
    assert k == 3 and small.shape == (3, 2)
    # the bright pixel (row 6, col 4) lies in block (2, 1), padded by edge repetition
    assert small[2, 1] > 0 and small[:2].max() == 0 and small[2, 0] == 0


@pytest.mark.parametrize("max_rows", [None, 300], ids=["full-resolution", "downsampled-k3"])
def test_the_film_stays_registered_with_the_landmarks_when_downsampled(tmp_path, lateral_film, max_rows):
    image = np.zeros(lateral_film.shape, dtype=np.uint8)
    image[840:870, 290:320] = 255  # a bright square clear of every construction
    study = _study(tmp_path, lateral_film.landmarks)
    fig = figure_for(image, study, max_display_rows=max_rows, panel=False, height_in=9)
    fig.set_dpi(100)
    rgb = _render(fig)
    r, c = _to_pixel(fig, fig.axes[0], [(304.5, 854.5), (304.5, 830.0), (280.0, 854.5)])
    assert rgb[r[0], c[0]].min() > 200  # inside the square
    assert rgb[r[1], c[1]].max() < 60 and rgb[r[2], c[2]].max() < 60  # 10 px outside it


def test_missing_landmark_is_reported_and_not_drawn_at_the_origin(tmp_path, lateral_film):
    marks = lateral_film.landmarks
    points = {n: p for n, p in marks.points.items() if not n.startswith("C7.")}
    study = _study(tmp_path, marks.replace(points=points))
    fig = figure_for(_display(lateral_film), study, height_in=9)
    fig.set_dpi(100)
    drawing = fig.spinecheck_drawing
    assert "SVA" not in drawing.drawn and "C7 plumb line" not in drawing.drawn
    assert "C7" in drawing.not_drawn["SVA"] and "C7" in drawing.not_drawn["C7 plumb line"]
    assert {"PI", "PT", "SS", "LL", "TK", "TPA"} <= set(drawing.drawn)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "Not drawn" in texts and "SVA" in texts
    rgb = _render(fig)
    ax = fig.axes[0]
    (r0,), (c0,) = _to_pixel(fig, ax, (0.0, 0.0))
    assert not _overlay(rgb)[max(r0 - 12, 0) : r0 + 12, max(c0 - 12, 0) : c0 + 12].any()


def test_pelvis_only_draws_what_it_can_and_says_what_is_missing(tmp_path, lateral_film):
    marks = lateral_film.landmarks
    points = {n: p for n, p in marks.points.items() if n.startswith(("S1.", "FH"))}
    study = _study(tmp_path, marks.replace(points=points))
    drawing = figure_for(_display(lateral_film), study).spinecheck_drawing
    assert {"PI", "PT", "SS", "hip axis", "S1 perpendicular"} <= set(drawing.drawn)
    for missing in ("LL Cobb lines", "TK Cobb lines", "C7 plumb line", "SVA", "TPA"):
        assert missing in drawing.not_drawn
    assert "L1" in drawing.not_drawn["LL Cobb lines"]
    assert "T1" in drawing.not_drawn["TPA"]


def test_pdf_has_one_page_and_svg_is_valid_xml(tmp_path, ap_film):
    fig = figure_for(_display(ap_film), _study(tmp_path, ap_film.landmarks))
    fig.savefig(tmp_path / "f.pdf")
    fig.savefig(tmp_path / "f.svg")
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    root = ET.parse(tmp_path / "f.svg").getroot()
    assert root.tag.endswith("svg")


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_figure_of_the_mirrored_film_is_the_mirror_of_the_figure(tmp_path, lateral_film, ap_film, which):
    film = lateral_film if which == "lateral" else ap_film
    image = _display(film)
    masks = []
    for mirrored in (False, True):
        marks = film.landmarks.mirrored(image.shape[1]) if mirrored else film.landmarks
        img = image[:, ::-1] if mirrored else image
        fig = figure_for(img, _study(tmp_path, marks, f"m{mirrored}"), panel=False, height_in=9)
        fig.set_dpi(100)
        masks.append(_overlay(_render(fig)))
    a, b = masks[0], masks[1][:, ::-1]
    assert a.sum() > 2000  # there is an overlay to compare
    grown_a, grown_b = ndi.binary_dilation(a, iterations=2), ndi.binary_dilation(b, iterations=2)
    # text glyphs are not mirrored; everything else must be
    assert (a & ~grown_b).mean() / a.mean() < 0.06
    assert (b & ~grown_a).mean() / b.mean() < 0.06


@pytest.mark.parametrize("which", ["lateral", "ap"])
def test_value_labels_never_hide_a_landmark(tmp_path, lateral_film, ap_film, which):
    film = lateral_film if which == "lateral" else ap_film
    fig = figure_for(_display(film), _study(tmp_path, film.landmarks), panel=False, height_in=9)
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    points = ax.transData.transform(np.array(list(film.landmarks.points.values())))
    labels = [
        t for t in ax.texts if t.get_bbox_patch() is not None and t.get_text() not in ("R", "L", "A", "P")
    ]
    assert any("CSVL" in t.get_text() or "SVA" in t.get_text() for t in labels)
    for text in labels:
        box = text.get_bbox_patch().get_window_extent(renderer)
        inside = (
            (points[:, 0] > box.x0)
            & (points[:, 0] < box.x1)
            & (points[:, 1] > box.y0)
            & (points[:, 1] < box.y1)
        )
        assert not inside.any(), f"label {text.get_text()!r} covers a landmark"


@pytest.mark.parametrize(
    "row, want",
    [
        ({"flag": True}, Verdict.MARKED),
        ({"flag": False}, Verdict.WITHIN),
        ({"grade": "0"}, Verdict.WITHIN),
        ({"grade": "+"}, Verdict.MODERATE),
        ({"grade": "++"}, Verdict.MARKED),
        ({"category": "N"}, Verdict.CATEGORY),
        ({"applied": False, "reason": "x"}, Verdict.NOT_APPLIED),
    ],
)
def test_verdict_colours(row, want):
    assert verdict_of(row) is want


@pytest.fixture
def film_files(tmp_path, ap_film):
    dcm = write_dicom(ap_film, tmp_path / "ap.dcm")
    points = tmp_path / "ap.json"
    write_landmarks(ap_film.landmarks, points)
    return dcm, points


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_cli_plot_writes_the_figure(capsys, tmp_path, film_files, suffix, magic):
    out = tmp_path / f"fig{suffix}"
    assert main(["plot", str(film_files[0]), str(film_files[1]), "-o", str(out), "--dpi", "60"]) == 0
    assert out.read_bytes().startswith(magic)


def test_cli_plot_bad_suffix_is_one_error_line(capsys, tmp_path, film_files):
    out = tmp_path / "fig.jpg"
    code = main(["plot", str(film_files[0]), str(film_files[1]), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "fig.jpg" in lines[0] and ".png" in lines[0] and ".svg" in lines[0]
