"""LandmarkSet.replace: a copy changing fields kept as given shares the others, as dataclasses.replace makes them."""

from __future__ import annotations

import dataclasses

import pytest
from spinecheck.landmarks.errors import SpinecheckError
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import ImageRef, LandmarkSet, PatientInfo
from spinecheck.landmarks.points.names import PatientRight, View


@pytest.fixture
def landmarks() -> LandmarkSet:
    return LandmarkSet(
        View.AP,
        {"S1.sup.left": [10, 20.5], "S1.sup.right": (30.0, 21)},
        source="a.json",
        warnings=("first",),
    )


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"warnings": ("w1", "w2")}, id="warnings"),
        pytest.param({"patient_right": "image_left", "warnings": ()}, id="side as text"),
        pytest.param({"patient_right": PatientRight.IMAGE_RIGHT}, id="side"),
        pytest.param({"patient_right": None}, id="no side"),
        pytest.param({"calibration": Calibration.none("no spacing"), "source": "b.json"}, id="calibration"),
        pytest.param(
            {"patient": PatientInfo(age_years=40.0), "image": ImageRef("x.dcm", "1.2", 10, 20)}, id="film"
        ),
        pytest.param({"points": {"S1.sup.left": [1, 2]}}, id="points: made again"),
        pytest.param({"view": "lateral", "points": {}}, id="view: made again"),
    ],
)
def test_replace_is_dataclasses_replace(landmarks: LandmarkSet, changes: dict) -> None:
    got = landmarks.replace(**changes)
    want = dataclasses.replace(landmarks, **changes)
    assert got == want
    assert {f.name: type(getattr(got, f.name)) for f in dataclasses.fields(got)} == {
        f.name: type(getattr(want, f.name)) for f in dataclasses.fields(want)
    }
    assert landmarks.warnings == ("first",) and landmarks.patient_right is None  # the original is unchanged


def test_replace_refuses_a_side_as_dataclasses_replace_does(landmarks: LandmarkSet) -> None:
    with pytest.raises(SpinecheckError) as fast:
        landmarks.replace(patient_right="sideways")
    with pytest.raises(SpinecheckError) as full:
        dataclasses.replace(landmarks, patient_right="sideways")
    assert str(fast.value) == str(full.value)
