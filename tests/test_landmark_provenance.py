"""The landmark file's optional provenance: refinement moves and skipped points."""

import json

import pytest
from spinecheck.landmarks import (
    InvalidLandmarksError,
    LandmarkSet,
    PointMove,
    Refinement,
    read_landmarks,
    write_landmarks,
)
from spinecheck.landmarks.io.landmark_file import landmarks_to_json, parse_landmarks

BASE = {
    "format": "spinecheck-landmarks/1",
    "view": "ap",
    "points": {"S1.sup.left": [10.0, 20.0], "S1.sup.right": [40.0, 22.0]},
}


def _with(**extra):
    return {**BASE, **extra}


def test_round_trip_keeps_moves_declines_and_skips(tmp_path):
    s = LandmarkSet(
        "ap",
        {"S1.sup.left": (10.0, 20.0), "S1.sup.right": (40.0, 22.0)},
        refinement=Refinement(
            {"S1.sup.left": PointMove("S1.sup.left", (7.0, 16.0), (10.0, 20.0), "endplate", 0.75)},
            {"S1.sup.right": "no edge along the endplate normal"},
        ),
        skipped=("C7.centroid",),
    )
    p = tmp_path / "a.json"
    write_landmarks(s, p)
    doc = json.loads(p.read_text())
    assert doc["refinement"]["moved"]["S1.sup.left"] == {
        "from": [7.0, 16.0],
        "distance_px": 5.0,
        "method": "endplate",
        "confidence": 0.75,
    }
    back = read_landmarks(p)
    assert back.refinement == s.refinement
    assert back.skipped == ("C7.centroid",)
    assert back.warnings == ()


def test_no_provenance_writes_no_keys():
    doc = landmarks_to_json(LandmarkSet("ap", {"S1.sup.left": (1.0, 2.0)}))
    assert "refinement" not in doc and "skipped" not in doc


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param({"skipped": "C7.centroid"}, '"skipped" must be a list of point names', id="not-list"),
        pytest.param({"skipped": ["S1.sup.left"]}, "also placed", id="skipped-and-placed"),
        pytest.param({"skipped": ["C7.centriod"]}, "C7.centroid", id="misspelt-suggests"),
        pytest.param({"refinement": []}, '"refinement" must be a JSON object', id="not-object"),
        pytest.param({"refinement": {"moves": {}}}, 'unknown key "moves"', id="unknown-key"),
        pytest.param(
            {"refinement": {"moved": {"C7.centroid": {"from": [1, 2], "method": "corner"}}}},
            "not in",
            id="moved-point-missing",
        ),
        pytest.param(
            {"refinement": {"moved": {"S1.sup.left": {"from": [1, 2], "method": "corner", "confidence": 2}}}},
            "confidence must be a number in [0, 1]",
            id="confidence-range",
        ),
        pytest.param(
            {"refinement": {"moved": {"S1.sup.left": {"from": "1,2", "method": "corner"}}}},
            "from",
            id="bad-from",
        ),
        pytest.param({"refinement": {"declined": {"S1.sup.left": 3}}}, "reason as text", id="bad-reason"),
    ],
)
def test_bad_provenance_is_one_line(extra, message):
    with pytest.raises(InvalidLandmarksError, match=None) as e:
        parse_landmarks(_with(**extra), where="landmarks file 'a.json'")
    text = str(e.value)
    assert message in text and "\n" not in text and text.startswith("landmarks file 'a.json'")


def test_mirroring_swaps_provenance_names_and_positions():
    s = LandmarkSet(
        "ap",
        {"S1.sup.left": (10.0, 20.0)},
        refinement=Refinement(
            {"S1.sup.left": PointMove("S1.sup.left", (7.0, 16.0), (10.0, 20.0), "endplate", 1)}
        ),
        skipped=("S1.sup.right",),
    )
    m = s.mirrored(100)
    move = m.refinement.moved["S1.sup.right"]
    assert move.original == (92.0, 16.0) and move.refined == (89.0, 20.0) == m.points["S1.sup.right"]
    assert m.skipped == ("S1.sup.left",)
