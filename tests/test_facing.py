"""Which way the patient faces: one rule for a table of studies, one study, the measurement and the window."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spinecheck.alignment.measure import measure
from spinecheck.landmarks.annotate.session import AnnotationSession
from spinecheck.landmarks.points.facing import anterior_direction, facing
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.names import LEVELS


def _pair(level: str, e: str, toward: int, y: float) -> dict[str, tuple[float, float]]:
    """An endplate whose ant corner lies toward image right (+1), left (-1), or straight above (0)."""
    return {f"{level}.{e}.post": (100.0, y), f"{level}.{e}.ant": (100.0 + 30.0 * toward, y + 2.0)}


# S1 absent; the first endplate in the mapping's order says "left", the majority says "right":
# the old single-study rule (first pair) and the old table rule (majority) disagreed here
DISAGREED = {
    **_pair("L1", "sup", -1, 300.0),
    **_pair("L2", "sup", +1, 340.0),
    **_pair("L3", "sup", +1, 380.0),
    **_pair("L4", "sup", +1, 420.0),
}


@pytest.mark.parametrize(
    "points, want",
    [
        pytest.param(DISAGREED, 1, id="majority-not-first-pair"),
        pytest.param({**DISAGREED, **_pair("S1", "sup", -1, 500.0)}, -1, id="s1-decides-over-majority"),
        pytest.param({**DISAGREED, **_pair("S1", "sup", 0, 500.0)}, 1, id="vertical-s1-lets-the-others-vote"),
        pytest.param({**_pair("L1", "sup", -1, 300.0), **_pair("L2", "sup", +1, 340.0)}, None, id="tie"),
        pytest.param({**_pair("L1", "sup", 0, 300.0)}, None, id="only-a-vertical-pair"),
        pytest.param({"L1.sup.ant": (80.0, 10.0)}, None, id="no-pair"),
        pytest.param({}, None, id="nothing"),
    ],
)
def test_one_rule_for_one_study_and_for_a_table(points, want):
    assert anterior_direction(points) == want
    table = LandmarkSet("lateral", points).to_table()
    sign = facing(table).sign[0]
    assert (np.isnan(sign) and want is None) or sign == want
    measured = measure(table).anterior_sign[0]
    assert (np.isnan(measured) and want is None) or measured == want


def test_from_s1_says_who_decided():
    table = LandmarkTable.from_sets(
        [
            LandmarkSet("lateral", DISAGREED),
            LandmarkSet("lateral", {**DISAGREED, **_pair("S1", "sup", -1, 500.0)}),
            LandmarkSet("lateral", {}),
        ]
    )
    got = facing(table)
    assert got.sign[:2].tolist() == [1.0, -1.0] and np.isnan(got.sign[2])
    assert got.from_s1.tolist() == [False, True, False]


_LEVEL_PAIRS = [(level, e) for level in LEVELS for e in ("sup", "inf")]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_LEVEL_PAIRS), st.sampled_from([-1, 0, 1])),
        max_size=12,
        unique_by=lambda t: t[0],
    )
)
def test_a_table_of_many_studies_says_what_each_study_says_alone(pairs):
    points: dict[str, tuple[float, float]] = {}
    for k, ((level, e), toward) in enumerate(pairs):
        points.update(_pair(level, e, toward, 10.0 * k))
    alone = anterior_direction(points)
    table = LandmarkTable.from_sets([LandmarkSet("lateral", points), LandmarkSet("lateral", DISAGREED)])
    sign = facing(table).sign
    assert (np.isnan(sign[0]) and alone is None) or sign[0] == alone
    assert sign[1] == 1.0


def test_the_annotation_window_says_the_same(tmp_path):
    session = AnnotationSession(tmp_path / "lat.landmarks.json", "lateral")
    for name, xy in DISAGREED.items():
        session.goto(name)
        session.place(xy)
    assert session.anterior_side() == "image right"


def test_measurements_carry_the_sign_nan_on_ap_films():
    table = LandmarkTable.from_sets(
        [
            LandmarkSet("lateral", {**DISAGREED, **_pair("S1", "sup", -1, 500.0)}),
            LandmarkSet("ap", {"S1.sup.left": (90.0, 500.0), "S1.sup.right": (130.0, 502.0)}),
            LandmarkSet("lateral", DISAGREED),
        ]
    )
    sign = measure(table).anterior_sign
    assert sign[0] == -1.0 and np.isnan(sign[1]) and sign[2] == 1.0
