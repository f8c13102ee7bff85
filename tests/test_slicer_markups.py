"""3D Slicer markups (.mrk.json) as landmark sets: Slicer's schema, its coordinates, round trips, bad input.

Known answers are worked by hand from the image-plane formula of DICOM PS3.3 C.7.6.2 (as ITK and so
3D Slicer apply it): a pixel ``(x, y)`` lies at ``origin + x * col_spacing * row_direction +
y * row_spacing * column_direction`` in LPS millimetres, and RAS negates x and y.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from radiograph_factory import dx_file
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError, InvalidLandmarksError
from spinecheck.landmarks.imaging.header import read_radiograph_header
from spinecheck.landmarks.io import (
    LANDMARK_SUFFIXES,
    SLICER_SCHEMA,
    read_landmark_table,
    read_landmarks,
    read_slicer_markups,
    slicer_markups_to_json,
    write_landmark_file,
    write_landmarks,
    write_slicer_markups,
)
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import ImageRef, LandmarkSet
from spinecheck.landmarks.points.names import View
from spinecheck.landmarks.points.plane import ImagePlane
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom

CR = "1.2.840.10008.5.1.4.1.1.1"
DX = "1.2.840.10008.5.1.4.1.1.1.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
CT = "1.2.840.10008.5.1.4.1.1.2"

#: Three points of a lateral film, in pixels, and where 3D Slicer puts them on a film whose Imager
#: Pixel Spacing is 0.5 (rows) \ 0.25 (columns) mm, without position: LPS = (x * 0.25, y * 0.5, 0).
PIXELS = {"S1.sup.ant": (40.0, 20.0), "S1.sup.post": (8.0, 30.0), "FH": (24.5, 60.0)}
LPS = {"S1.sup.ant": [10.0, 10.0, 0.0], "S1.sup.post": [2.0, 15.0, 0.0], "FH": [6.125, 30.0, 0.0]}


# ----------------------------------------------------------------------------- helpers


def control_point(k, label, position, status="defined"):
    """One control point as 3D Slicer 5 writes it (every property, in its order)."""
    return {
        "id": str(k),
        "label": label,
        "description": "",
        "associatedNodeID": "vtkMRMLScalarVolumeNode1",
        "position": position,
        "orientation": [-1.0, -0.0, -0.0, -0.0, -1.0, -0.0, 0.0, 0.0, 1.0],
        "selected": True,
        "locked": False,
        "visibility": True,
        "positionStatus": status,
    }


def slicer_file(points, *, system="LPS", units="mm", extra_markups=(), **markup):
    """A point list as 3D Slicer 5 saves it, written out by hand."""
    fiducial = {
        "type": "Fiducial",
        "coordinateSystem": system,
        "coordinateUnits": units,
        "locked": False,
        "fixedNumberOfControlPoints": False,
        "labelFormat": "%N-%d",
        "lastUsedControlPointNumber": len(points),
        "controlPoints": [control_point(k, *p) for k, p in enumerate(points, start=1)],
        "measurements": [],
        "display": {
            "visibility": True,
            "opacity": 1.0,
            "color": [0.4, 1.0, 1.0],
            "selectedColor": [1.0, 0.5000076295109483, 0.5000076295109483],
            "glyphType": "Sphere3D",
            "glyphScale": 3.0,
            "pointLabelsVisibility": True,
        },
        **markup,
    }
    return {"@schema": SLICER_SCHEMA, "markups": [fiducial, *extra_markups]}


def save(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=4))
    return path


def film(tmp_path, name="film.dcm", **attrs) -> Path:
    r"""A 64 x 48 DX film; by default Imager Pixel Spacing 0.5\0.25, no Pixel Spacing, no position."""
    attrs.setdefault("ImagerPixelSpacing", ["0.5", "0.25"])
    return dx_file(tmp_path / name, **attrs)


@dataclass(frozen=True)
class Film:
    """The little of a film the Slicer reader uses, for planes no DICOM writer makes easily."""

    plane: ImagePlane
    image_ref: ImageRef = field(default_factory=lambda: ImageRef("film", None, 10_000, 10_000))
    view: View | None = None
    calibration: Calibration = field(default_factory=Calibration.none)


def one_line_error(kind, call):
    with pytest.raises(kind) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def check_slicer_schema(doc) -> None:
    """The constraints of Slicer's markups-schema-v1.0.3.json that a point list must meet (and Slicer's reader)."""
    assert set(doc) >= {"@schema", "markups"}
    assert re.search(r"markups-schema-v1\.[0-9]+\.[0-9]+\.json#*$", doc["@schema"].lower())
    assert isinstance(doc["markups"], list) and doc["markups"]
    for m in doc["markups"]:
        assert m["type"] in ("Fiducial", "Line", "Angle", "Curve", "ClosedCurve", "Plane", "ROI")
        assert m.get("coordinateSystem", "LPS") in ("LPS", "RAS")
        assert m.get("coordinateUnits", "mm") in ("mm", "um")
        for key in ("locked", "fixedNumberOfControlPoints"):
            assert isinstance(m.get(key, False), bool)
        assert isinstance(m.get("labelFormat", ""), str)
        for p in m["controlPoints"]:
            for key in ("id", "label", "description", "associatedNodeID"):
                assert isinstance(p.get(key, ""), str), key
            assert len(p["position"]) == 3 and all(isinstance(v, float) for v in p["position"])
            for key in ("selected", "locked", "visibility"):
                assert isinstance(p.get(key, True), bool), key
            assert p.get("positionStatus", "defined") in ("undefined", "preview", "defined")


# ----------------------------------------------------------------------------- a hand-made file, known answers


@pytest.mark.parametrize(
    "system, units, scale, flip",
    [
        pytest.param("LPS", "mm", 1.0, (1, 1, 1), id="LPS-mm"),
        pytest.param("RAS", "mm", 1.0, (-1, -1, 1), id="RAS-mm"),
        pytest.param("LPS", "um", 1000.0, (1, 1, 1), id="LPS-um"),
        pytest.param("RAS", "um", 1000.0, (-1, -1, 1), id="RAS-um"),
        pytest.param("LPS", ["mm", "UCUM", "millimeter"], 1.0, (1, 1, 1), id="LPS-coded-mm"),
    ],
)
def test_a_hand_made_point_list_lands_on_the_pixels_worked_by_hand(tmp_path, system, units, scale, flip):
    points = [(name, [v * f * scale for v, f in zip(LPS[name], flip, strict=True)]) for name in LPS]
    path = save(tmp_path / "case.mrk.json", slicer_file(points, system=system, units=units))
    s = read_slicer_markups(path, image=read_radiograph_header(film(tmp_path)))
    assert s.view is View.LATERAL  # from the corner names: ant/post
    for name, xy in PIXELS.items():
        assert s.points[name] == pytest.approx(xy, abs=1e-9)
    assert s.source == str(path) and s.image.rows == 64 and s.image.columns == 48


def test_only_defined_points_are_placed(tmp_path):
    doc = slicer_file([(n, p) for n, p in LPS.items()])
    cps = doc["markups"][0]["controlPoints"]
    cps.append(control_point(4, "L5.inf.ant", "", status="undefined"))  # Slicer writes "" for no position
    cps.append(control_point(5, "not a name at all", [1.0, 1.0, 0.0], status="preview"))
    del cps[0]["positionStatus"]  # absent means defined (Slicer's reader)
    s = read_slicer_markups(save(tmp_path / "a.mrk.json", doc), mm_per_px=(0.5, 0.25))
    assert set(s.points) == set(PIXELS)


def test_an_anisotropic_film_with_position_and_orientation(tmp_path):
    # a lateral film in the sagittal plane: x grows posterior (+y LPS), y grows downward (-z LPS)
    dcm = film(
        tmp_path, ImagePositionPatient=["100", "-50", "200"], ImageOrientationPatient=[0, 1, 0, 0, 0, -1]
    )
    header = read_radiograph_header(dcm)
    assert header.plane.origin_lps == (100.0, -50.0, 200.0)
    assert header.plane.row_direction == pytest.approx((0, 1, 0)) and header.plane.normal == pytest.approx(
        (-1, 0, 0)
    )
    # pixel (40, 20): (100, -50 + 40 * 0.25, 200 - 20 * 0.5); pixel (8, 30): (100, -48, 185)
    doc = slicer_file([("S1.sup.ant", [100.0, -40.0, 190.0]), ("S1.sup.post", [100.0, -48.0, 185.0])])
    s = read_slicer_markups(save(tmp_path / "a.mrk.json", doc), image=header)
    assert s.points["S1.sup.ant"] == pytest.approx((40.0, 20.0), abs=1e-9)
    assert s.points["S1.sup.post"] == pytest.approx((8.0, 30.0), abs=1e-9)


def test_sacral_slope_on_an_anisotropic_film_is_the_hand_computed_angle(tmp_path):
    # S1 from post (8, 30) to ant (40, 20) px; at 0.25 mm per column and 0.5 mm per row the anterior
    # corner is 8 mm across and 5 mm higher: SS = -atan(5 / 8) (negative: the anterior corner is higher)
    dcm = film(tmp_path)
    mrk = save(tmp_path / "film.mrk.json", slicer_file(list(LPS.items())))
    study = load_study(str(mrk), image=dcm)
    assert study.measurements.values["SS"][0] == pytest.approx(-math.degrees(math.atan2(5, 8)), abs=1e-9)


def test_secondary_capture_position_is_not_used(tmp_path):
    dcm = film(
        tmp_path,
        SOPClassUID=SC,
        ImagerPixelSpacing=None,
        NominalScannedPixelSpacing=["0.5", "0.25"],
        ImagePositionPatient=["100", "-50", "200"],
    )
    s = read_slicer_markups(
        save(tmp_path / "a.mrk.json", slicer_file(list(LPS.items()))), image=read_radiograph_header(dcm)
    )
    assert s.points["S1.sup.ant"] == pytest.approx(PIXELS["S1.sup.ant"], abs=1e-9)


def test_several_point_lists_merge_and_other_markups_are_left_out_with_a_warning(tmp_path):
    line = {"type": "Line", "controlPoints": [control_point(1, "L-1", [0.0, 0.0, 0.0])]}
    second = {"type": "Fiducial", "controlPoints": [control_point(1, "FH", LPS["FH"])]}
    doc = slicer_file([(n, LPS[n]) for n in ("S1.sup.ant", "S1.sup.post")], extra_markups=(line, second))
    s = read_slicer_markups(save(tmp_path / "a.mrk.json", doc), mm_per_px=(0.5, 0.25))
    assert set(s.points) == set(PIXELS)
    assert any("markup 2 (a Line) left out" in w for w in s.warnings)


def test_the_view_comes_from_the_argument_the_names_or_the_film(tmp_path):
    centroid_only = slicer_file([("C7.centroid", [2.0, 3.0, 0.0])])
    path = save(tmp_path / "a.mrk.json", centroid_only)
    assert read_slicer_markups(path, mm_per_px=(1, 1), view="ap").view is View.AP
    assert read_slicer_markups(
        path, image=Film(ImagePlane.from_spacing((1, 1), "x"), view=View.LATERAL)
    ).view is (View.LATERAL)
    ap = save(tmp_path / "b.mrk.json", slicer_file([("S1.sup.left", [2.0, 3.0, 0.0])]))
    assert read_slicer_markups(ap, mm_per_px=(1, 1)).view is View.AP


# ----------------------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def demo_films(tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    out = {}
    for name, make in (("lateral", synthetic_lateral), ("ap", synthetic_ap)):
        f = make(mm_per_px=0.5)
        dcm = write_dicom(f, folder / f"{name}.dcm", patient_age=67, spacing="imager")
        landmarks = folder / f"{name}.json"
        write_landmarks(f.landmarks, landmarks)
        out[name] = (dcm, landmarks)
    return out


@pytest.mark.parametrize("view", ["lateral", "ap"])
def test_json_to_slicer_and_back_keeps_every_point_and_every_measurement(tmp_path, demo_films, view):
    dcm, landmarks = demo_films[view]
    header = read_radiograph_header(dcm)
    original = read_landmarks(landmarks)
    mrk = tmp_path / f"{view}.mrk.json"
    write_landmark_file(original, mrk, image=header)
    check_slicer_schema(json.loads(mrk.read_text()))
    for again in (
        read_landmarks(mrk),
        read_landmarks(mrk, image=header),
    ):  # the recorded plane, or the film's
        assert again.view is original.view and set(again.points) == set(original.points)
        for name, xy in original.points.items():
            assert again.points[name] == pytest.approx(xy, abs=1e-9), name
    back = tmp_path / f"{view}.json"
    write_landmark_file(read_landmarks(mrk), back)
    a = load_study(str(landmarks), image=dcm)
    b = load_study(str(back), image=dcm)
    c = load_study(str(mrk), image=dcm)
    for key, value in a.measurements.values.items():
        assert b.measurements.values[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key
        assert c.measurements.values[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key


def test_what_a_point_list_cannot_keep_is_said(demo_films, tmp_path):
    dcm, landmarks = demo_films["lateral"]
    s = read_landmarks(landmarks)
    assert s.circles  # the synthetic lateral film has femoral-head circles
    notes = write_slicer_markups(s, tmp_path / "a.mrk.json", image=read_radiograph_header(dcm))
    assert notes == ("circle radii left out: a point list has no place for them",)


def test_slicer_writes_lps_millimetres_and_spinecheck_reads_its_own_file_without_the_film(tmp_path):
    s = LandmarkSet("lateral", PIXELS, calibration=Calibration.from_spacing([0.3, 0.3]))
    doc, notes = slicer_markups_to_json(s, image=read_radiograph_header(film(tmp_path)))
    assert notes == ()
    markup = doc["markups"][0]
    assert (markup["type"], markup["coordinateSystem"], markup["coordinateUnits"]) == (
        "Fiducial",
        "LPS",
        "mm",
    )
    assert {p["label"]: p["position"] for p in markup["controlPoints"]} == LPS
    assert all(p["positionStatus"] == "defined" for p in markup["controlPoints"])
    path = save(tmp_path / "a.mrk.json", doc)
    back = read_slicer_markups(path)
    assert back.points == {n: pytest.approx(xy, abs=1e-12) for n, xy in PIXELS.items()}
    assert back.calibration is not None and back.calibration.mm_per_px == (0.3, 0.3)  # the file's calibration


@settings(max_examples=50, deadline=None)
@given(
    rotation=st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda q: 0.1 < np.linalg.norm(q)),
    spacing=st.tuples(st.floats(0.05, 2.0), st.floats(0.05, 2.0)),
    origin=st.tuples(*[st.floats(-1000, 1000)] * 3),
    xy=st.lists(st.tuples(st.floats(0, 9000), st.floats(0, 9000)), min_size=1, max_size=20),
)
def test_any_plane_places_pixels_and_back_exactly(rotation, spacing, origin, xy):
    w, x, y, z = np.asarray(rotation) / np.linalg.norm(rotation)  # a unit quaternion: any rotation
    m = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    plane = ImagePlane(spacing, origin, tuple(m[:, 0]), tuple(m[:, 1]), "random")
    lps = plane.to_patient(xy)
    back, off = plane.to_pixels(lps)
    assert np.allclose(back, xy, atol=1e-9 * max(1.0, np.abs(lps).max()))
    assert np.allclose(off, 0, atol=1e-9 * max(1.0, np.abs(lps).max()))


# ----------------------------------------------------------------------------- the image plane


@pytest.mark.parametrize(
    "sop, attrs, spacing",
    [
        pytest.param(CR, {"imager_pixel_spacing": ["0.2", "0.1"]}, (0.2, 0.1), id="CR-imager"),
        pytest.param(
            DX,
            {"imager_pixel_spacing": [0.2, 0.2], "pixel_spacing": [0.18, 0.18]},
            (0.2, 0.2),
            id="DX-imager-wins",
        ),
        pytest.param(DX, {"pixel_spacing": [0.18, 0.18]}, (1.0, 1.0), id="DX-no-imager-1mm"),
        pytest.param(DX, {"imager_pixel_spacing": ["0.3"]}, (0.3, 0.3), id="one-value-both"),
        pytest.param(DX, {"imager_pixel_spacing": ["0", "0.3"]}, (1.0, 0.3), id="zero-is-1mm"),
        pytest.param(
            SC, {"nominal_scanned_pixel_spacing": [0.4, 0.4], "pixel_spacing": [9, 9]}, (0.4, 0.4), id="SC"
        ),
        pytest.param(
            CT, {"pixel_spacing": [0.7, 0.6], "imager_pixel_spacing": [9, 9]}, (0.7, 0.6), id="CT-pixel"
        ),
    ],
)
def test_the_dicom_spacing_3d_slicer_uses(sop, attrs, spacing):
    assert ImagePlane.from_dicom(sop, **attrs).mm_per_px == spacing


@pytest.mark.parametrize(
    "sop, attrs, reason",
    [
        pytest.param("1.2.840.10008.5.1.4.1.1.6.1", {}, "knows where", id="ultrasound"),
        pytest.param(None, {}, "SOP Class UID absent", id="no-sop-class"),
        pytest.param(DX, {"imager_pixel_spacing": ["-0.2", "0.2"]}, "negative", id="negative"),
        pytest.param(DX, {"imager_pixel_spacing": ["a", "b"]}, "not one or two numbers", id="letters"),
        pytest.param(DX, {"image_position": [1, 2]}, "not three numbers", id="position"),
        pytest.param(DX, {"image_orientation": [1, 0, 0, 0.5, 0.866, 0]}, "perpendicular", id="oblique"),
        pytest.param(DX, {"frames": 3}, "multi-frame", id="frames"),
    ],
)
def test_a_dicom_plane_spinecheck_does_not_model_is_unknown_and_says_why(sop, attrs, reason):
    plane = ImagePlane.from_dicom(sop, **attrs)
    assert not plane.known and reason in plane.rule


def test_direction_cosines_not_of_unit_length_are_normalised_as_gdcm_does():
    plane = ImagePlane.from_dicom(DX, image_orientation=[2, 0, 0, 0, 0, -3])
    assert plane.row_direction == (1.0, 0.0, 0.0) and plane.column_direction == pytest.approx((0, 0, -1))


@pytest.mark.parametrize(
    "fmt, kw, spacing",
    [
        pytest.param("PNG", {}, (1.0, 1.0), id="png"),
        pytest.param("JPEG", {"jfif_unit": 1, "jfif_density": (254, 127)}, (25.4 / 127, 0.1), id="jpeg-dpi"),
        pytest.param("JPEG", {"jfif_unit": 0, "jfif_density": (1, 1)}, (1.0, 1.0), id="jpeg-aspect-only"),
        pytest.param(
            "TIFF", {"tiff_resolution": (100, 50), "tiff_resolution_unit": 3}, (0.2, 0.1), id="tiff-cm"
        ),
        pytest.param("TIFF", {}, (1.0, 1.0), id="tiff-none"),
    ],
)
def test_the_picture_spacing_itk_gives(fmt, kw, spacing):
    assert ImagePlane.from_picture(fmt, **kw).mm_per_px == pytest.approx(spacing)


def test_picture_headers_carry_the_plane(tmp_path):
    from PIL import Image

    pixels = np.zeros((20, 30), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png", dpi=(300, 300))
    Image.fromarray(pixels).save(tmp_path / "a.jpg", dpi=(254, 254))
    Image.fromarray(pixels).save(tmp_path / "a.tif", resolution=50.0, resolution_unit=1)  # "no unit"
    assert read_radiograph_header(tmp_path / "a.png").plane.mm_per_px == (1.0, 1.0)  # pHYs ignored by ITK
    assert read_radiograph_header(tmp_path / "a.jpg").plane.mm_per_px == pytest.approx((0.1, 0.1))
    tif = read_radiograph_header(tmp_path / "a.tif").plane
    assert not tif.known and "ResolutionUnit" in tif.rule


# ----------------------------------------------------------------------------- the film's plane against the file's


@pytest.mark.parametrize(
    "z, ok",
    [
        pytest.param(0.5, True, id="at-the-tolerance"),
        pytest.param(-0.5, True, id="at-the-tolerance-below"),
        pytest.param(0.5 + 1e-9, False, id="just-beyond"),
        pytest.param(-0.5 - 1e-9, False, id="just-beyond-below"),
    ],
)
def test_a_point_off_the_film_s_plane_is_refused_beyond_half_a_millimetre(tmp_path, z, ok):
    doc = slicer_file([("S1.sup.ant", [10.0, 10.0, 0.0]), ("S1.sup.post", [2.0, 15.0, z])])
    path = save(tmp_path / "a.mrk.json", doc)
    if ok:
        assert read_slicer_markups(path, mm_per_px=(0.5, 0.25)).points["S1.sup.post"] == (8.0, 30.0)
        return
    text = one_line_error(InvalidLandmarksError, lambda: read_slicer_markups(path, mm_per_px=(0.5, 0.25)))
    assert text.startswith(f"landmarks file '{path}': markup 1, control point 2 (\"S1.sup.post\") lies ")
    assert "mm off the film's plane" in text


def test_a_file_written_for_another_film_is_refused(tmp_path):
    s = LandmarkSet("lateral", PIXELS)
    path = tmp_path / "a.mrk.json"
    write_slicer_markups(s, path, mm_per_px=(0.5, 0.5))
    text = one_line_error(
        InvalidLandmarksError, lambda: read_slicer_markups(path, image=read_radiograph_header(film(tmp_path)))
    )
    assert "was written for a film whose pixels lie at 0.5 x 0.5 mm/px" in text and "another film" in text


def test_mm_per_px_is_used_only_when_nothing_else_places_the_film(tmp_path):
    path = save(tmp_path / "a.mrk.json", slicer_file(list(LPS.items())))
    header = read_radiograph_header(film(tmp_path))
    s = read_slicer_markups(path, image=header, mm_per_px=(1.9, 1.9))  # the film says 0.5 x 0.25
    assert s.points["S1.sup.ant"] == pytest.approx(PIXELS["S1.sup.ant"])
    s = read_slicer_markups(path, mm_per_px=(0.5, 0.25))
    assert s.points["S1.sup.ant"] == (40.0, 20.0)
    assert any("(mm_per_px)" in w for w in s.warnings) and s.calibration is None  # placing is not calibrating


def test_slicer_s_spacing_differing_from_the_measuring_one_is_a_warning(tmp_path):
    header = read_radiograph_header(film(tmp_path, PixelSpacing=["0.45", "0.2"]))
    s = read_slicer_markups(save(tmp_path / "a.mrk.json", slicer_file(list(LPS.items()))), image=header)
    assert s.points["S1.sup.ant"] == pytest.approx(PIXELS["S1.sup.ant"])  # Slicer's (Imager) spacing places
    assert any("spinecheck measures at 0.45 x 0.2 mm/px (PixelSpacing" in w for w in s.warnings)


# ----------------------------------------------------------------------------- bad input: one line each


def _write(tmp_path, doc):
    return save(tmp_path / "bad.mrk.json", doc)


GOOD = [("S1.sup.ant", [10.0, 10.0, 0.0]), ("S1.sup.post", [2.0, 15.0, 0.0])]


@pytest.mark.parametrize(
    "doc, expected",
    [
        pytest.param("{not json", "is not valid JSON: Expecting property name", id="not-json"),
        pytest.param([], "expected a 3D Slicer markups object", id="a-list"),
        pytest.param({"markups": []}, '"@schema" must name 3D Slicer\'s markups schema', id="no-schema"),
        pytest.param(
            {"@schema": "https://example.org/markups-schema-v2.0.0.json#", "markups": [{"type": "Fiducial"}]},
            '"@schema" must name',
            id="schema-v2",
        ),
        pytest.param(
            {"@schema": SLICER_SCHEMA, "markups": []},
            '"markups" must be a list of one or more',
            id="no-markups",
        ),
        pytest.param(
            {"@schema": SLICER_SCHEMA, "markups": [{"name": "F"}]},
            'markup 1 must be an object with a "type"',
            id="no-type",
        ),
        pytest.param(
            {"@schema": SLICER_SCHEMA, "markups": [{"type": "Line", "controlPoints": []}]},
            'has no point list ("type": "Fiducial"), only Line',
            id="only-a-line",
        ),
        pytest.param(
            slicer_file(GOOD, system="IJK"), 'markup 1 "coordinateSystem" must be "LPS" or "RAS"', id="system"
        ),
        pytest.param(
            slicer_file(GOOD, units="cm"), 'markup 1 "coordinateUnits" must be "mm" or "um"', id="units"
        ),
        pytest.param(
            slicer_file([("S1.sup.anterior", [1.0, 1.0, 0.0])]),
            "markup 1, control point 1: unknown point name 'S1.sup.anterior'; did you mean 'S1.sup.ant'",
            id="unknown-label",
        ),
        pytest.param(
            slicer_file([*GOOD, ("S1.sup.ant", [3.0, 3.0, 0.0])]),
            'markup 1, control point 3 is labelled "S1.sup.ant", as markup 1, control point 1 is',
            id="duplicate-label",
        ),
        pytest.param(
            slicer_file([*GOOD, ("L5.inf.left", [3.0, 3.0, 0.0])]),
            "its names are of both views",
            id="both-views",
        ),
        pytest.param(slicer_file([("", [1.0, 1.0, 0.0])]), 'control point 1 has no "label"', id="no-label"),
        pytest.param(
            slicer_file([("S1.sup.ant", [1.0, 1.0])]),
            'control point 1 ("S1.sup.ant") is "defined" but its "position" is not [x, y, z] finite numbers',
            id="2d-position",
        ),
        pytest.param(
            slicer_file([("S1.sup.ant", [1.0, 1.0, 0.0], "placed")]),
            '"positionStatus" must be one of "defined", "preview", "undefined"; got "placed"',
            id="status",
        ),
        pytest.param(
            slicer_file([("S1.sup.ant", [1.0, 1.0, 300.0])]),
            'control point 1 ("S1.sup.ant") lies +300 mm off the film\'s plane',
            id="non-zero-z",
        ),
        pytest.param(
            slicer_file([("C7.centroid", [1.0, 1.0, 0.0])]),
            "does not say whether the film is lateral or AP",
            id="no-view",
        ),
        pytest.param(
            slicer_file(GOOD, spinecheck={"view": "lateral", "patient": {"age_years": 300}}),
            '"spinecheck": "patient.age_years" must be a number of years from 0 to 130; got 300',
            id="bad-block",
        ),
        pytest.param(
            slicer_file(
                [("S1.sup.ant", [1000.0, 10.0, 0.0])], spinecheck={"image": {"rows": 64, "columns": 48}}
            ),
            'point "S1.sup.ant" [4000, 20] lies outside the image (48 x 64 px',
            id="outside-the-image",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_file_and_the_field(tmp_path, doc, expected):
    path = _write(tmp_path, doc)
    text = one_line_error(InvalidLandmarksError, lambda: read_slicer_markups(path, mm_per_px=(0.5, 0.25)))
    assert text.startswith(f"landmarks file '{path}'"), text
    assert expected in text, text


def test_without_the_film_or_a_spacing_a_markup_is_refused(tmp_path):
    path = _write(tmp_path, slicer_file(GOOD))
    text = one_line_error(InvalidLandmarksError, lambda: read_slicer_markups(path))
    assert text == (
        f"landmarks file '{path}': a 3D Slicer markup gives positions in millimetres, not pixels; give the film it "
        "was placed on (image) or the spacing Slicer showed it at (mm_per_px)"
    )


def test_a_film_whose_plane_is_unknown_asks_for_the_spacing(tmp_path):
    path = _write(tmp_path, slicer_file(GOOD))
    unknown = Film(ImagePlane.unknown("a TIFF: reasons"))
    text = one_line_error(InvalidLandmarksError, lambda: read_slicer_markups(path, image=unknown))
    assert "is not known (a TIFF: reasons); give mm_per_px, the spacing Slicer shows it at" in text
    assert read_slicer_markups(path, image=unknown, mm_per_px=(0.5, 0.25)).points["S1.sup.ant"] == (
        40.0,
        20.0,
    )


@pytest.mark.parametrize(
    "kw, argument",
    [
        pytest.param({"mm_per_px": (0, 1)}, "mm_per_px", id="mm_per_px"),
        pytest.param({"mm_per_px": (1, 1), "view": "pa"}, "view", id="view"),
        pytest.param({"image": "film.dcm"}, "image", id="image-path"),
    ],
)
def test_bad_arguments_name_the_argument(tmp_path, kw, argument):
    path = _write(tmp_path, slicer_file(GOOD))
    with pytest.raises(InvalidArgumentError) as info:
        read_slicer_markups(path, **kw)
    assert info.value.argument == argument and str(info.value).startswith(argument)


def test_writing_needs_the_film_or_a_spacing_and_a_known_format(tmp_path):
    s = LandmarkSet("lateral", PIXELS)
    text = one_line_error(InvalidLandmarksError, lambda: write_slicer_markups(s, tmp_path / "a.mrk.json"))
    assert "give the film it was placed on (image) or the spacing" in text
    assert not (tmp_path / "a.mrk.json").exists()
    with pytest.raises(InvalidLandmarksError, match=r"cannot write a \.txt here"):
        write_landmark_file(s, tmp_path / "a.txt")
    far = LandmarkSet("lateral", {"S1.sup.ant": (100.0, 20.0)})
    text = one_line_error(
        InvalidLandmarksError,
        lambda: write_slicer_markups(
            far, tmp_path / "b.mrk.json", image=read_radiograph_header(film(tmp_path))
        ),
    )
    assert "lies outside the image" in text


def test_the_dispatcher_tells_a_markup_by_its_name_in_any_case(tmp_path):
    assert ".mrk.json" in LANDMARK_SUFFIXES
    path = save(tmp_path / "CASE.MRK.JSON", slicer_file(GOOD))
    assert read_landmarks(path, mm_per_px=(0.5, 0.25)).points["S1.sup.ant"] == (40.0, 20.0)
    plain = save(tmp_path / "case.json", slicer_file(GOOD))  # a markup not named so is not guessed at
    with pytest.raises(InvalidLandmarksError, match='required key "format" is missing'):
        read_landmarks(plain)


def test_a_table_of_one_markup(tmp_path):
    t = read_landmark_table(_write(tmp_path, slicer_file(GOOD)), mm_per_px=(0.5, 0.25))
    assert len(t) == 1 and t.point("S1.sup.ant").tolist() == [[40.0, 20.0]]


def test_a_batch_pairs_and_measures_a_markup_beside_its_film(tmp_path):
    from spinecheck.alignment.batch.runner import run_batch

    root = tmp_path / "archive"
    root.mkdir()
    film(root, name="a.dcm")
    save(root / "a.mrk.json", slicer_file(list(LPS.items())))
    run_batch(root, tmp_path / "t.csv", jobs=1, progress=False)
    with open(tmp_path / "t.csv", newline="") as f:
        (row,) = csv.DictReader(f)
    assert (row["image"], row["landmarks"], row["status"]) == ("a.dcm", "a.mrk.json", "ok"), row["error"]
    assert float(row["SS_deg"]) == pytest.approx(-math.degrees(math.atan2(5, 8)), abs=1e-9)


# ----------------------------------------------------------------------------- the command line


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_measure_a_markup_with_its_film(capsys, tmp_path, demo_films):
    dcm, landmarks = demo_films["lateral"]
    mrk = tmp_path / "case.mrk.json"
    code, _, err = run(capsys, "convert", dcm, landmarks, "-o", mrk)
    assert code == 0 and f"wrote {mrk} (" in err
    code, out, _ = run(capsys, "measure", mrk, "--image", dcm, "--format", "json")
    assert code == 0
    from_mrk = json.loads(out)
    code, out, _ = run(capsys, "measure", landmarks, "--image", dcm, "--format", "json")
    from_json = json.loads(out)
    assert from_mrk["source"] == {"landmarks": str(mrk), "image": str(dcm)}
    for key, p in from_json["parameters"].items():
        got = from_mrk["parameters"][key]["value"]
        assert (got is None) == (p["value"] is None) and (
            got is None or math.isclose(got, p["value"], abs_tol=1e-9)
        )
    code, out, err = run(capsys, "plot", dcm, mrk, "-o", tmp_path / "x.png")
    assert code == 0 and (tmp_path / "x.png").stat().st_size > 0


def test_convert_a_slicer_markup_to_a_landmark_file(capsys, tmp_path):
    dcm = film(tmp_path)
    mrk = _write(tmp_path, slicer_file(list(LPS.items())))
    out = tmp_path / "case.json"
    code, _, err = run(capsys, "convert", dcm, mrk, "-o", out)
    assert code == 0, err
    s = read_landmarks(out)
    assert s.points == PIXELS and s.image.path == "film.dcm" and s.image.rows == 64


def test_convert_asks_for_the_spacing_of_a_film_whose_plane_is_unknown(capsys, tmp_path):
    from PIL import Image

    tif = tmp_path / "film.tif"
    Image.fromarray(np.zeros((64, 48), np.uint8)).save(tif, resolution=50.0, resolution_unit=1)  # no unit
    mrk = _write(tmp_path, slicer_file(GOOD))
    code, _, err = run(capsys, "convert", tif, mrk, "-o", tmp_path / "a.json")
    assert code == 2 and err.count("\n") == 1
    assert "(TIFF: a resolution without the unit inch or centimetre" in err and "give --mm-per-px" in err
    code, _, err = run(capsys, "convert", tif, mrk, "-o", tmp_path / "a.json", "--mm-per-px", "0.5", "0.25")
    assert code == 0, err
    assert read_landmarks(tmp_path / "a.json").points["S1.sup.ant"] == (40.0, 20.0)


def test_refine_writes_a_markup_when_asked(capsys, tmp_path, demo_films):
    dcm, landmarks = demo_films["ap"]
    out = tmp_path / "refined.mrk.json"
    code, _, err = run(capsys, "refine", dcm, landmarks, "-o", out, "--only", "T8.sup.left", "T8.sup.right")
    assert code == 0, err
    s = read_landmarks(out)
    assert s.view is View.AP and len(s.points) == len(read_landmarks(landmarks).points)
    assert "note: the refinement record left out" in err


def test_the_command_line_says_what_a_markup_needs_in_one_line(capsys, tmp_path):
    mrk = _write(tmp_path, slicer_file(GOOD))
    code, out, err = run(capsys, "measure", mrk)
    assert code == 2 and out == ""
    assert err == (
        f"error: landmarks file '{mrk}': a 3D Slicer markup gives positions in millimetres, not pixels; give the "
        "film it was placed on (--image) or the spacing Slicer showed it at (--mm-per-px)\n"
    )
    code, out, _ = run(capsys, "measure", mrk, "--mm-per-px", "0.5", "0.25", "--format", "json")
    assert code == 0 and json.loads(out)["calibration"]["mm_per_px"] == [0.5, 0.25]


def test_annotate_refuses_to_autosave_into_a_markup(capsys, tmp_path):
    code, _, err = run(capsys, "annotate", film(tmp_path), "-o", tmp_path / "x.mrk.json", "--view", "lateral")
    assert code == 2 and "annotate saves a spinecheck-landmarks/1 .json after every click" in err
    assert err.count("\n") == 1
