"""spinecheck.plot: the artists drawn (boxes, points, threshold lines at their values, titles), not pixels."""

from __future__ import annotations

import numpy as np
import pytest
import spinecheck
from spinecheck.alignment.plots import distribution, film_grid, thresholds_for
from spinecheck.landmarks.errors import InvalidArgumentError

pd = pytest.importorskip("pandas")


def _gids(ax, prefix: str) -> list[str]:
    return [str(a.get_gid()) for a in ax.get_children() if str(a.get_gid()).startswith(prefix)]


def _threshold_ys(ax) -> list[float]:
    return [float(line.get_ydata()[0]) for line in ax.lines if str(line.get_gid()).startswith("threshold:")]


@pytest.fixture
def table():
    ages = [30, 40, 44.9, 45, 50, 64.9, 65, 70, 80, np.nan]
    sva = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, np.nan, 5.0]
    return pd.DataFrame({"age_years": ages, "SVA_mm": sva, "SVA_px": [v * 5 for v in sva]})


def test_one_box_per_group_with_the_studies_and_the_sva_thresholds(table):
    groups = spinecheck.age_groups(table["age_years"], (45, 65))
    fig = spinecheck.plot(table, "SVA_mm", by=groups)
    ax = fig.axes[0]
    assert _gids(ax, "box:") == ["box:< 45", "box:45 to < 65", "box:≥ 65"]
    drawn = {g.label: (g.values.tolist(), g.missing) for g in fig.spinecheck_groups}
    # 44.9 is under 45, 45 and 64.9 in the middle group, 65 in the last; the unknown age is in none
    assert drawn == {
        "< 45": ([10.0, 20.0, 30.0], 0),
        "45 to < 65": ([40.0, 50.0, 60.0], 0),
        "≥ 65": ([70.0, 80.0], 1),
    }
    assert len(_gids(ax, "points:")) == 3
    # SRS-Schwab SVA 40 and 95 mm [S], Glassman/ISSG 50 mm [V], from the default sets
    assert _threshold_ys(ax) == [40.0, 50.0, 95.0]
    labels = [t.get_text() for t in ax.texts]
    assert "SRS-Schwab SVA [S]: 40" in labels and "Sagittal imbalance (SVA >= 5 cm) [V]: 50" in labels
    assert ax.get_title() == "SVA: sagittal vertical axis by age group"
    assert ax.get_ylabel() == "SVA (mm)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["< 45\nn = 3", "45 to < 65\nn = 3", "≥ 65\nn = 2"]


def test_an_empty_category_keeps_its_place_without_a_box(table):
    groups = spinecheck.age_groups(table["age_years"], (45, 65, 90))
    fig = distribution(table, "SVA_mm", by=groups)
    ax = fig.axes[0]
    assert len(_gids(ax, "box:")) == 3
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "≥ 90\nn = 0"


def test_no_threshold_on_pixels_or_when_asked_not_to(table):
    assert _threshold_ys(distribution(table, "SVA_px").axes[0]) == []
    assert _threshold_ys(distribution(table, "SVA_mm", thresholds=False).axes[0]) == []
    fig = distribution(table, "SVA_mm", criteria=["balance"])
    assert _threshold_ys(fig.axes[0]) == [50.0]
    assert fig.axes[0].get_title() == "SVA: sagittal vertical axis"


@pytest.mark.parametrize(
    ("column", "values"),
    [
        pytest.param("PI_LL_deg", [10.0, 20.0], id="srs-schwab-pi-ll"),
        pytest.param("PT_deg", [20.0, 30.0], id="srs-schwab-pt"),
        pytest.param("TPA_deg", [10.0, 20.0, 20.0, 30.0], id="tpa-category-and-odi40-at-20"),
        pytest.param("C7_CSVL_mm", [-40.0, 40.0], id="coronal-both-sides"),
        pytest.param("SS_deg", [35.0, 45.0], id="roussouly"),
        pytest.param("gap_total", [], id="not-a-parameter"),
    ],
)
def test_thresholds_are_read_from_the_default_sets(column, values):
    assert [t.value for t in thresholds_for(column)] == values


def test_a_study_and_a_table_file_plot_the_same(tmp_path):
    from spinecheck.alignment.demo import run_demo

    demo = run_demo(tmp_path / "demo")
    study = demo.studies["lateral"]
    a = spinecheck.plot(study, "PT_deg").spinecheck_groups
    b = spinecheck.plot(demo.out / "table.csv", "PT_deg", by="view").spinecheck_groups
    assert [g.values.tolist() for g in a] == [[pytest.approx(22.0)]]
    assert [(g.label, g.values.tolist()) for g in b] == [("lateral", [pytest.approx(22.0)]), ("ap", [])]


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        pytest.param({"column": "XX"}, "column", "column: no column 'XX' in the table", id="no-column"),
        pytest.param({"column": "view"}, "column", "column: column 'view' holds", id="not-numbers"),
        pytest.param({"column": "SVA_mm", "by": "sex"}, "by", "by: no column 'sex'", id="no-by"),
        pytest.param(
            {"column": "SVA_mm", "by": [1, 2]}, "by", "by: has 2 values for a table of 3 rows", id="by-length"
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, argument, message):
    df = pd.DataFrame({"SVA_mm": [1.0, 2.0, 3.0], "view": pd.Categorical(["lateral"] * 3)})
    with pytest.raises(InvalidArgumentError) as e:
        distribution(df, **kwargs)
    assert e.value.argument == argument and str(e.value).startswith(message)


def test_plot_is_one_call_with_its_two_kinds():
    assert spinecheck.plot.distribution is distribution and spinecheck.plot.films is film_grid


# ------------------------------------------------------------------------------ film grids


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from batch_factory import write_study

    root = tmp_path_factory.mktemp("archive")
    write_study(root, "a.dcm", seed=1)
    write_study(root, "b.dcm", view="ap", seed=2)
    return root


def test_a_grid_of_pairs_draws_each_film_and_says_why_one_is_missing(archive, tmp_path):
    pairs = [
        (archive / "a.dcm", archive / "a.json"),
        (archive / "b.dcm", archive / "b.json"),
        (tmp_path / "gone.dcm", archive / "a.json"),
    ]
    fig = spinecheck.plot.films(pairs, columns=2, titles=["first", "second", "third"])
    cells = fig.spinecheck_films
    assert [c.title for c in cells] == ["first", "second", "third"]
    assert [ax.get_title() for ax in fig.axes] == ["first", "second", "third"]
    assert cells[0].error is None and cells[0].drawing.drawn
    assert cells[1].error is None and cells[1].drawing.drawn
    assert cells[2].drawing is None and "gone.dcm" in cells[2].error
    assert _gids(fig.axes[2], "error") == ["error"]
    assert len(fig.axes) == 3 and fig.get_size_inches()[1] == pytest.approx(2 * 5.5)


def test_a_grid_from_a_batch_table_resolves_paths_under_the_root(archive, tmp_path):
    spinecheck.run_batch(archive, tmp_path / "t.csv", jobs=1, progress=False)
    df = spinecheck.read_batch_table(tmp_path / "t.csv")
    fig = spinecheck.plot.films(df, root=archive)
    assert [c.image for c in fig.spinecheck_films] == [str(archive / "a.dcm"), str(archive / "b.dcm")]
    assert all(c.error is None for c in fig.spinecheck_films)
    assert [ax.get_title() for ax in fig.axes] == ["a.dcm", "b.dcm"]


def test_a_grid_of_studies_uses_their_own_verdicts(archive):
    study = spinecheck.load_study(str(archive / "a.json"), image=str(archive / "a.dcm"), criteria=["balance"])
    cell = spinecheck.plot.films([study]).spinecheck_films[0]
    assert cell.error is None and cell.landmarks == str(archive / "a.json")


@pytest.mark.parametrize(
    ("films", "kwargs", "argument"),
    [
        pytest.param([], {}, "films", id="empty"),
        pytest.param(["x.dcm"], {}, "films", id="not-a-pair"),
        pytest.param([("a.dcm", "a.json")], {"titles": ["a", "b"]}, "titles", id="titles"),
        pytest.param([("a.dcm", "a.json")], {"columns": 0}, "columns", id="columns"),
    ],
)
def test_bad_grid_arguments_are_named(films, kwargs, argument):
    with pytest.raises(InvalidArgumentError) as e:
        film_grid(films, **kwargs)
    assert e.value.argument == argument


# ----------------------------------------------------------------------------- spinecheck.plot(image, landmarks)


@pytest.fixture(scope="module")
def ap_files(tmp_path_factory):
    from spinecheck.landmarks.io.landmark_file import write_landmarks
    from spinecheck.landmarks.synthetic.films import synthetic_ap, write_dicom

    folder = tmp_path_factory.mktemp("film")
    film = synthetic_ap(mm_per_px=1.0)
    dcm = write_dicom(film, folder / "ap.dcm")
    points = folder / "ap.landmarks.json"
    write_landmarks(film.landmarks, points)
    return dcm, points


def _pixels(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_plot_of_a_film_is_the_figure_spinecheck_plot_saves(tmp_path, ap_files):
    from spinecheck.cli import main

    dcm, points = ap_files
    out = tmp_path / "cli.png"
    assert main(["plot", str(dcm), str(points), "-o", str(out), "--dpi", "40"]) == 0
    fig = spinecheck.plot(str(dcm), str(points))
    fig.savefig(tmp_path / "api.png", dpi=40)
    assert np.array_equal(_pixels(out), _pixels(tmp_path / "api.png"))
    # the same with the clean options of a paper's figure
    out = tmp_path / "clean.png"
    flags = ["--no-panel", "--no-values", "--no-points", "--variants"]
    assert main(["plot", str(dcm), str(points), "-o", str(out), "--dpi", "40", *flags]) == 0
    fig = spinecheck.plot(dcm, points, panel=False, values=False, points=False, variants=True)
    fig.savefig(tmp_path / "clean-api.png", dpi=40)
    assert np.array_equal(_pixels(out), _pixels(tmp_path / "clean-api.png"))


def test_plot_takes_the_film_and_landmarks_loaded_or_as_paths(ap_files):
    from spinecheck.alignment.study import load_study
    from spinecheck.landmarks.imaging.radiograph import load_radiograph

    dcm, points = ap_files
    radiograph = load_radiograph(str(dcm))
    study = load_study(str(points), image=radiograph)
    drawn = {
        "paths": spinecheck.plot(str(dcm), str(points)),
        "loaded": spinecheck.plot(radiograph, study),
        "study alone": spinecheck.plot(study),  # the film it was loaded with
        "study and film": spinecheck.plot(study, str(dcm)),
        "display image": spinecheck.plot(radiograph.display, study),
    }
    want = drawn["paths"].spinecheck_drawing
    for how, fig in drawn.items():
        assert fig.spinecheck_drawing.drawn == want.drawn, how
        assert fig.spinecheck_drawing.not_drawn == want.not_drawn, how


def test_plot_options_hide_the_panel_the_values_and_the_points(ap_files):
    from matplotlib.colors import to_hex
    from matplotlib.text import Annotation
    from spinecheck.alignment.render.figure import LANDMARK_COLOUR

    dcm, points = ap_files
    full = spinecheck.plot(dcm, points)
    clean = spinecheck.plot(dcm, points, panel=False, values=False, points=False)
    assert len(full.axes) == 2 and len(clean.axes) == 1

    def labels(fig):
        return [
            t.get_text() for t in fig.axes[0].texts if isinstance(t, Annotation) and "Cobb" in t.get_text()
        ]

    def dots(fig):
        return [ln for ln in fig.axes[0].lines if to_hex(ln.get_markerfacecolor()) == LANDMARK_COLOUR.lower()]

    assert labels(full) and not labels(clean)
    assert dots(full) and not dots(clean)
    # the constructions stay: the same lines but the landmarks'
    assert clean.spinecheck_drawing.drawn == full.spinecheck_drawing.drawn


def test_plot_dispatches_a_table_to_its_distribution_and_says_what_it_needs(table, ap_files):
    fig = spinecheck.plot(table, "SVA_mm")
    assert fig.axes[0].get_title().startswith("SVA")
    assert not hasattr(fig, "spinecheck_drawing")
    with pytest.raises(
        InvalidArgumentError, match=r"a table and a column name .* or a film and its landmarks"
    ):
        spinecheck.plot(table)
    with pytest.raises(InvalidArgumentError, match="already measured"):
        from spinecheck.alignment.study import load_study

        spinecheck.plot(ap_files[0], load_study(str(ap_files[1])), age=70)
