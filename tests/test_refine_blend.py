"""The AP refine rule 2 (landmarks/refine/learned.py): 0.3 click + 0.4 shape + 0.3 network.

Each refined corner ends at that blend, the learned shape's corner standing in for an unusable
network corner and the click for a declined shape.

The shape and the network are replaced by stand-ins with known corners, so that the expected
corners are known exactly: these tests fail if a weight changes, the click term is lost (rule 1),
or the click of a point refined before is not the one its record keeps.
"""

from __future__ import annotations

import numpy as np
import pytest
from spinecheck.landmarks import LandmarkSet, refine_landmarks, refine_point
from spinecheck.landmarks.detect import inference
from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES
from spinecheck.landmarks.points.model import PointMove, Refinement
from spinecheck.landmarks.refine import learned
from spinecheck.landmarks.refine.common import RefineFailure
from spinecheck.landmarks.refine.learned import (
    CLICK_WEIGHT,
    MODEL_WEIGHT,
    SHAPE_WEIGHT,
    blend_corner,
    refine_ap_corners,
)
from spinecheck.landmarks.refine.shape import ShapeFit

IMAGE = np.zeros((2000, 800))
# a spine of 17 vertebrae, 120 x 70 px, 100 px apart; the clicks 3 px off it
SPINE = np.array(
    [[300 + dx, 150 + 100 * v + dy] for v in range(17) for dy in (0.0, 70.0) for dx in (0.0, 120.0)]
)
CLICKS = SPINE + 3.0
SHAPE_SHIFT = np.array([2.0, -4.0])  # where the stand-in shape puts each corner, from its click
MODEL_SHIFT = np.array([-6.0, 5.0])  # where the stand-in network puts each corner, from the shape's
UNSURE = "L2.inf.right"  # the network's confidence 0.2 there: not used
FAR = "T5.sup.left"  # the network's corner 40 px off (a quarter of the height is 17.5 px): not used


def _shape(points, *, model=None, sigma_px=None, max_shift_px=None, names=None):
    placed = [n for n in AASCE_POINT_NAMES if n in points]
    if len(placed) < 24:
        return RefineFailure(f"{len(placed)} corners of T1-L5 placed; the spine's shape needs at least 24")
    return ShapeFit({n: tuple(np.asarray(points[n]) + SHAPE_SHIFT) for n in (names or placed)}, 3.0, 0.6)


def _network(image, corners, model=None):
    c = np.asarray(corners, dtype=float).reshape(-1, 4, 2)
    xy, conf = c + MODEL_SHIFT, np.full(c.shape[:2], 0.9)
    for v in range(len(c)):  # which vertebra is which: by where its first corner lies
        level = int(round((c[v, 0, 1] - 150 - 3 - SHAPE_SHIFT[1]) / 100))
        for k, corner in enumerate(("sup.left", "sup.right", "inf.left", "inf.right")):
            name = f"{AASCE_POINT_NAMES[4 * level][:-9]}.{corner}" if level in range(17) else ""
            if name == UNSURE:
                conf[v, k] = 0.2
            if name == FAR:
                xy[v, k] += (40.0, 0.0)
    return xy, conf


@pytest.fixture
def stand_ins(monkeypatch):
    monkeypatch.setattr(learned, "refine_with_shape", _shape)
    monkeypatch.setattr(inference, "place_corners", _network)


def _at(name: str) -> np.ndarray:
    return CLICKS[AASCE_POINT_NAMES.index(name)]


def test_the_weights_sum_to_one_and_are_the_measured_ones():
    assert (CLICK_WEIGHT, SHAPE_WEIGHT, MODEL_WEIGHT) == (0.3, 0.4, 0.3)
    assert blend_corner((10.0, 20.0), (20.0, 30.0), (40.0, 0.0)) == pytest.approx((23.0, 18.0))


def test_refine_ends_each_corner_at_the_blend_of_click_shape_and_network(stand_ins):
    out = refine_landmarks(
        IMAGE, LandmarkSet("ap", dict(zip(AASCE_POINT_NAMES, map(tuple, CLICKS), strict=True)))
    )
    moves = out.refinement.moved
    assert set(moves) == set(AASCE_POINT_NAMES)
    for name in AASCE_POINT_NAMES:
        click = _at(name)
        shape = click + SHAPE_SHIFT
        if name in (UNSURE, FAR):  # no network corner: 0.3 click + 0.7 shape, the shape's confidence
            want, method, confidence = 0.3 * click + 0.7 * shape, "shape", 0.6
        else:
            want, method, confidence = (
                0.3 * click + 0.4 * shape + 0.3 * (shape + MODEL_SHIFT),
                "shape+model",
                0.9,
            )
        assert out.points[name] == pytest.approx(tuple(want), abs=1e-9), name
        assert moves[name].original == pytest.approx(tuple(click))
        assert (moves[name].method, moves[name].confidence) == (method, pytest.approx(confidence))
    # the click's share, against rule 1 (the shape's corner 0.3 of the way to the network's)
    rule1 = _at("L1.sup.left") + SHAPE_SHIFT + 0.3 * MODEL_SHIFT
    assert np.subtract(out.points["L1.sup.left"], rule1) == pytest.approx(-0.3 * SHAPE_SHIFT)


def test_a_point_refined_before_keeps_its_click_in_the_blend(stand_ins):
    points = dict(zip(AASCE_POINT_NAMES, map(tuple, CLICKS), strict=True))
    first = (290.0, 140.0)  # T1.sup.left was clicked here and refined to where it is now
    record = Refinement(
        {"T1.sup.left": PointMove("T1.sup.left", first, points["T1.sup.left"], "shape", 0.5)}, {}
    )
    out = refine_landmarks(IMAGE, LandmarkSet("ap", points, refinement=record))
    shape = _at("T1.sup.left") + SHAPE_SHIFT
    want = 0.3 * np.array(first) + 0.4 * shape + 0.3 * (shape + MODEL_SHIFT)
    assert out.points["T1.sup.left"] == pytest.approx(tuple(want))
    assert out.refinement.moved["T1.sup.left"].original == first


def test_without_the_shape_the_network_blends_with_the_click_alone(stand_ins):
    names = [n for n in AASCE_POINT_NAMES if n.split(".")[0] in ("L1", "L3", "L4")]  # 12 corners: no shape
    out = refine_ap_corners(IMAGE, {n: tuple(_at(n)) for n in names}, names)
    assert set(out) == set(names) and {m.method for m in out.values()} == {"model"}
    for n in names:
        assert out[n].refined == pytest.approx(tuple(0.7 * _at(n) + 0.3 * (_at(n) + MODEL_SHIFT)))


def test_the_window_blends_the_corner_just_placed(stand_ins):
    points = dict(zip(AASCE_POINT_NAMES, map(tuple, CLICKS), strict=True))
    one = refine_point(IMAGE, "L3.sup.right", points, view="ap")
    shape = _at("L3.sup.right") + SHAPE_SHIFT
    assert list(one.moves) == ["L3.sup.right"] and one.moves["L3.sup.right"].method == "shape+model"
    assert one.moves["L3.sup.right"].refined == pytest.approx(
        tuple(0.3 * _at("L3.sup.right") + 0.7 * shape + 0.3 * MODEL_SHIFT)
    )
    # three corners of L3 placed: no network corner, the shape with the click term
    del points["L3.inf.left"]
    three = refine_point(IMAGE, "L3.sup.right", points, view="ap")
    assert three.moves["L3.sup.right"].method == "shape"
    assert three.moves["L3.sup.right"].refined == pytest.approx(
        tuple(0.3 * _at("L3.sup.right") + 0.7 * shape)
    )
