"""One merge of a film's header into its landmarks (landmarks.imaging.merge).

Measuring, refining and annotating use the same rule: the landmark file's word wins, field by field.
"""

from __future__ import annotations

import numpy as np
import pytest
from spinecheck.alignment.study import merge_image
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.imaging.header import ImageFormat, RadiographHeader
from spinecheck.landmarks.imaging.merge import merge_header, recorded_image_ref
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import ImageRef, LandmarkSet, LandmarkTable, PatientInfo, Sex
from spinecheck.landmarks.points.names import PatientRight, View


def header(**changes) -> RadiographHeader:
    base = {
        "path": "/archive/films/a.dcm",
        "format": ImageFormat.DICOM,
        "rows": 400,
        "columns": 200,
        "calibration": Calibration.from_spacing([0.2, 0.2]),
        "patient": PatientInfo(67.0, "DICOM PatientAge", Sex.F, "DICOM PatientSex"),
        "view": View.AP,
        "patient_right": PatientRight.IMAGE_LEFT,
        "sop_instance_uid": "1.2.3",
        "warnings": ("from the header",),
    }
    base.update(changes)
    return RadiographHeader(**base)


def test_the_header_fills_what_the_landmark_file_does_not_say():
    s = LandmarkSet("ap", {"C7.centroid": (10, 10)}, warnings=("from the file",))
    m = merge_header(s, header(), where="landmarks file 'a.json'")
    assert m.calibration.mm_per_px == (0.2, 0.2)
    assert m.patient == PatientInfo(67.0, "DICOM PatientAge", Sex.F, "DICOM PatientSex")
    assert m.patient_right is PatientRight.IMAGE_LEFT
    assert m.image == ImageRef("/archive/films/a.dcm", "1.2.3", 400, 200)
    assert m.warnings == ("from the file", "from the header")


def test_the_landmark_file_wins_item_by_item():
    s = LandmarkSet(
        "lateral",
        {"C7.centroid": (10, 10)},
        calibration=Calibration.from_spacing([0.1, 0.1]),
        patient=PatientInfo(None, None, Sex.M, "landmark file"),
        image=ImageRef("a.dcm"),
        patient_right="image_right",
    )
    m = merge_header(s, header(), where="landmarks file 'a.json'")
    assert m.calibration.mm_per_px == (0.1, 0.1)
    assert "overrides the image header" in m.calibration.rule
    assert m.patient == PatientInfo(67.0, "DICOM PatientAge", Sex.M, "landmark file")
    assert m.patient_right is PatientRight.IMAGE_RIGHT
    assert m.image == ImageRef("a.dcm", "1.2.3", 400, 200)
    assert any("the image says the view is ap but the landmarks are lateral" in w for w in m.warnings)


@pytest.mark.parametrize(
    "s",
    [
        pytest.param(
            LandmarkSet("ap", {"C7.centroid": (10, 10)}, image=ImageRef(sop_instance_uid="9.9")), id="uid"
        ),
        pytest.param(LandmarkSet("ap", {"C7.centroid": (10, 10)}, image=ImageRef(rows=401)), id="size"),
        pytest.param(LandmarkSet("ap", {"C7.centroid": (250, 10)}), id="outside"),
    ],
)
def test_another_films_landmarks_are_refused(s):
    with pytest.raises(InvalidLandmarksError, match="^landmarks file 'a.json': "):
        merge_header(s, header(), where="landmarks file 'a.json'")


def test_a_recorded_image_path_is_relative_to_the_landmark_file(tmp_path):
    h = header(path=str(tmp_path / "images" / "a.dcm"))
    assert recorded_image_ref(h, tmp_path / "a.json").path == "images/a.dcm"
    assert recorded_image_ref(h, tmp_path / "labels" / "a.json").path == "../images/a.dcm"
    ref = recorded_image_ref(h, tmp_path / "a.json")
    assert (ref.sop_instance_uid, ref.rows, ref.columns) == ("1.2.3", 400, 200)


def test_a_table_row_without_a_source_set_is_merged_by_the_same_rule():
    """A wide-CSV row given with an image: its own spacing is a user calibration, and it is checked."""
    s = LandmarkSet("ap", {"C7.centroid": (10, 10)}, calibration=Calibration.from_spacing([0.1, 0.1]))
    table = s.to_table()
    row = LandmarkTable(**{**table.__dict__, "sets": None})
    merged = merge_image(row, header(), where="--image 'a.dcm'")
    assert tuple(merged.mm_per_px[0]) == (0.1, 0.1)
    assert merged.patient_right[0] is PatientRight.IMAGE_LEFT
    far = LandmarkTable(**{**row.__dict__, "points": {"C7.centroid": np.array([[300.0, 10.0]])}})
    with pytest.raises(InvalidLandmarksError, match="^--image 'a.dcm': point \"C7.centroid\""):
        merge_image(far, header(), where="--image 'a.dcm'")


def test_a_table_row_becomes_a_set_with_its_points_and_data():
    t = LandmarkSet(
        "ap",
        {"C7.centroid": (10, 10)},
        patient=PatientInfo(50.0, "landmark table"),
        patient_right="image_left",
    ).to_table()
    row = LandmarkTable(
        **{**t.__dict__, "sets": None, "points": {**t.points, "T1.centroid": np.full((1, 2), np.nan)}}
    )
    s = row.study(0)
    assert dict(s.points) == {"C7.centroid": (10.0, 10.0)}
    assert (
        s.patient.age_years == 50.0 and s.patient_right is PatientRight.IMAGE_LEFT and s.calibration is None
    )
