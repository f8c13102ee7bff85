"""The AP refiner that uses the landmark model's local stage (landmarks/refine/learned.py).

On real films (aasce-dev, skipped when ``../shared`` is absent) clicks sigma = 5 px off end at a blend
of the click, the learned shape's corner and the model's (tests/test_refine_blend.py checks the
weights), and their endplate angles get closer to the annotators'; the
shipped model saw these films (aasce-dev is part of aasce-train): the cross-validated figure is
``bench/bench_refine.py --part f``. On a blank film the model is unsure and the clicks stay (the
shape refiner takes over). Fewer than four corners of a vertebra: no model step.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from spinecheck.landmarks import LandmarkSet, load_radiograph, read_aasce_mat, refine_landmarks, refine_point
from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES
from spinecheck.landmarks.refine.common import RefineFailure
from spinecheck.landmarks.refine.learned import refine_with_model


def _angles(x: np.ndarray) -> np.ndarray:
    d = x[1::2] - x[0::2]
    return np.degrees(np.arctan2(d[:, 1], d[:, 0]))


def _angle_errors(x: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs((_angles(x) - _angles(truth) + 90) % 180 - 90)


@pytest.fixture(scope="module")
def dev_films(shared_data):
    """(grey, corners (68, 2)) of four aasce-dev films whose labels are right."""
    folder = shared_data / "aasce-dev"
    with open(folder / "angles.csv", newline="") as f:
        names = [r["image"] for r in csv.DictReader(f) if r["labels_ok"] == "yes"][:4]
    out = []
    for n in names:
        film = load_radiograph(folder / "images" / n)
        truth = np.array(
            [read_aasce_mat(folder / "labels" / f"{n}.mat").points[p] for p in AASCE_POINT_NAMES]
        )
        out.append((film.display, truth))
    return out


def test_clicks_on_real_films_move_by_the_shape_then_part_of_the_way_to_the_models_corners(dev_films):
    rng = np.random.default_rng(7)
    before, after, used = [], [], 0
    for grey, truth in dev_films:
        rough = truth + rng.normal(0, 5, truth.shape)
        clicks = dict(zip(AASCE_POINT_NAMES, map(tuple, rough), strict=True))
        out = refine_landmarks(grey, LandmarkSet("ap", clicks))
        methods = {m.method for m in out.refinement.moved.values()}
        assert "shape+model" in methods and methods <= {"shape+model", "shape"}
        done = np.array([out.points[n] for n in AASCE_POINT_NAMES])
        for m in out.refinement.moved.values():
            if m.method == "shape+model":
                used += 1
                assert 0 <= m.confidence <= 1
        before.append(_angle_errors(rough, truth))
        after.append(_angle_errors(done, truth))
    assert used > 0.25 * 68 * len(dev_films)  # the others too unsure or too far: the clicks stay
    assert np.median(after) < 0.9 * np.median(before)


def test_the_window_refines_the_corner_just_placed_once_its_vertebra_has_four(dev_films):
    grey, truth = dev_films[0]
    clicks = dict(zip(AASCE_POINT_NAMES, map(tuple, truth + 3.0), strict=True))
    one = refine_point(grey, "L2.inf.right", clicks, view="ap")
    assert list(one.moves) == ["L2.inf.right"] and one.moves["L2.inf.right"].method == "shape+model"
    # three corners of L2 only: no model step (the shape refiner, with the other 66 corners, moves it)
    del clicks["L2.sup.left"]
    three = refine_point(grey, "L2.inf.right", clicks, view="ap")
    assert three.moves["L2.inf.right"].method == "shape"


def test_with_too_few_corners_for_the_shape_the_model_step_moves_them_alone(dev_films):
    grey, truth = dev_films[1]
    rng = np.random.default_rng(3)
    names = [n for n in AASCE_POINT_NAMES if n.split(".")[0] in ("L1", "L2", "L3", "L4")]
    rough = {n: tuple(truth[AASCE_POINT_NAMES.index(n)] + rng.normal(0, 5, 2)) for n in names}
    out = refine_landmarks(grey, LandmarkSet("ap", rough))
    methods = {m.method for m in out.refinement.moved.values()}
    assert methods == {"model"}
    assert set(out.refinement.declined) <= set(names)


def test_a_blank_film_leaves_the_clicks_to_the_shape_refiner():
    corners = np.array(
        [[300 + dx, 150 + 100 * v + dy] for v in range(17) for dy in (0.0, 70.0) for dx in (0.0, 120.0)]
    )
    clicks = dict(zip(AASCE_POINT_NAMES, map(tuple, corners), strict=True))
    image = np.zeros((2000, 800))
    found = refine_with_model(image, clicks)
    assert isinstance(found, RefineFailure) and "confidence" in found.reason
    out = refine_landmarks(image, LandmarkSet("ap", clicks))
    assert {m.method for m in out.refinement.moved.values()} <= {"shape"}


def test_no_vertebra_with_four_corners_is_a_one_line_decline():
    clicks = {"L1.sup.left": (10.0, 10.0), "L1.sup.right": (90.0, 12.0), "L1.inf.left": (11.0, 70.0)}
    found = refine_with_model(np.zeros((200, 200)), clicks)
    assert isinstance(found, RefineFailure) and "four corners" in found.reason and "\n" not in found.reason
