"""The learned-shape refiner of AP corners (issue 12, 3): rough clicks towards where annotators put corners."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES, read_aasce_mat
from spinecheck.landmarks.points.model import LandmarkSet
from spinecheck.landmarks.refine.points import refine_landmarks, refine_point
from spinecheck.landmarks.refine.shape import (
    MIN_SHAPE_CORNERS,
    SHAPE_NAMES,
    ShapeModel,
    learn_shape_model,
    refine_with_shape,
    shipped_shape_model,
)


def _angles(x: np.ndarray) -> np.ndarray:
    d = x[1::2] - x[0::2]
    return np.degrees(np.arctan2(d[:, 1], d[:, 0]))


@pytest.fixture(scope="module")
def dev_shapes(shared_data):
    """The corners of the aasce-dev films whose labels are right: ``(N, 68, 2)`` pixels."""
    folder = shared_data / "aasce-dev"
    with open(folder / "angles.csv", newline="") as f:
        names = [r["image"] for r in csv.DictReader(f) if r["labels_ok"] == "yes"]
    return np.array(
        [[read_aasce_mat(folder / "labels" / f"{n}.mat").points[p] for p in AASCE_POINT_NAMES] for n in names]
    )


def test_the_shipped_model_is_the_aasce_label_order_and_well_formed():
    m = shipped_shape_model()
    assert SHAPE_NAMES == AASCE_POINT_NAMES and m.mean.shape == (68, 2) and m.covariance.shape == (136, 136)
    assert m.films > 400 and "aasce-train" in m.source
    assert np.allclose(m.covariance, m.covariance.T, atol=1e-6)
    assert np.sqrt((m.mean**2).sum(1).mean()) == pytest.approx(1.0, abs=1e-4)  # normalised


def test_rough_clicks_on_real_films_move_towards_the_annotation(dev_shapes):
    """Endplate angles of clicks sigma = 5 px off get closer to the annotators' on real films.

    The shipped model saw these films (aasce-dev is part of aasce-train): the cross-validated
    figure is bench/bench_refine.py's part (e).
    """
    rng = np.random.default_rng(5)
    before, after = [], []
    for truth in dev_shapes:
        rough = truth + rng.normal(0, 5, truth.shape)
        fit = refine_with_shape(dict(zip(SHAPE_NAMES, map(tuple, rough), strict=True)))
        done = np.array([fit.points[n] for n in SHAPE_NAMES])
        before.append(np.abs((_angles(rough) - _angles(truth) + 90) % 180 - 90))
        after.append(np.abs((_angles(done) - _angles(truth) + 90) % 180 - 90))
        assert 2 < fit.sigma_px < 9  # the clicks' error, estimated from the clicks alone
    assert np.median(after) < 0.9 * np.median(before)


def test_an_annotation_is_hardly_moved_and_every_move_is_bounded(dev_shapes):
    truth = dev_shapes[0]
    fit = refine_with_shape(dict(zip(SHAPE_NAMES, map(tuple, truth), strict=True)), max_shift_px=2.0)
    moved = np.hypot(*(np.array([fit.points[n] for n in SHAPE_NAMES]) - truth).T)
    assert moved.max() <= 2.0 + 1e-9
    assert np.median(moved) < 2.0


def test_too_few_corners_are_declined_and_the_names_asked_for_are_returned():
    m = shipped_shape_model()
    xy = m.mean * 300 + [400, 900]
    few = dict(zip(SHAPE_NAMES[: MIN_SHAPE_CORNERS - 1], map(tuple, xy), strict=False))
    out = refine_with_shape(few)
    assert not out and f"at least {MIN_SHAPE_CORNERS}" in out.reason
    enough = dict(zip(SHAPE_NAMES[:MIN_SHAPE_CORNERS], map(tuple, xy), strict=False))
    fit = refine_with_shape(enough, names=["T2.sup.left"])
    assert list(fit.points) == ["T2.sup.left"]


def test_a_model_round_trips_and_learning_checks_its_input(tmp_path):
    m = shipped_shape_model()
    rng = np.random.default_rng(0)
    shapes = m.mean[None] * 250 + rng.normal(0, 3, (12, 68, 2)) + [500, 1000]
    learned = learn_shape_model(shapes, source="test")
    path = tmp_path / "shape.npz"
    learned.save(path)
    back = ShapeModel.load(path)
    assert back.films == 12 and back.source == "test"
    assert np.allclose(back.mean, learned.mean, atol=1e-6)
    with pytest.raises(ValueError, match=r"shapes must be \(N >= 3, 68, 2\)"):
        learn_shape_model(shapes[:, :10])


def test_refine_uses_the_shape_on_ap_corners_and_the_window_on_the_point_just_placed(dev_shapes):
    truth = dev_shapes[1]
    rng = np.random.default_rng(2)
    rough = {n: tuple(p) for n, p in zip(SHAPE_NAMES, truth + rng.normal(0, 5, truth.shape), strict=True)}
    image = np.zeros((int(truth[:, 1].max()) + 50, int(truth[:, 0].max()) + 50))
    out = refine_landmarks(image, LandmarkSet("ap", rough))
    assert set(out.refinement.moved) == set(SHAPE_NAMES)
    assert {m.method for m in out.refinement.moved.values()} == {"shape"}
    one = refine_point(image, "L2.inf.right", rough, view="ap")
    assert list(one.moves) == ["L2.inf.right"] and one.moves["L2.inf.right"].method == "shape"
