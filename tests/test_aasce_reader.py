"""The SpineWeb/AASCE ``.mat`` reader, on synthetic files and on the 43 real labels of ../shared/data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image
from spinecheck.landmarks.errors import DegenerateGeometryError, InvalidLandmarksError
from spinecheck.landmarks.io import read_landmark_table, read_landmarks
from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES, aasce_image_path, read_aasce_mat
from spinecheck.landmarks.points.names import View


def _spine(n_levels: int = 17) -> np.ndarray:
    """Return a plausible straight spine: 4 corners per level, (x, y) pixels."""
    rows = []
    for level in range(n_levels):
        top = 20 + 40 * level
        rows += [[100, top], [160, top + 2], [101, top + 30], [161, top + 32]]
    return np.array(rows, dtype=np.uint16)


def _save(path: Path, **variables: object) -> Path:
    scipy.io.savemat(path, variables)
    return path


def test_point_names_follow_the_dataset_order() -> None:
    assert len(AASCE_POINT_NAMES) == 68
    assert AASCE_POINT_NAMES[:4] == ("T1.sup.left", "T1.sup.right", "T1.inf.left", "T1.inf.right")
    assert AASCE_POINT_NAMES[48:52] == ("L1.sup.left", "L1.sup.right", "L1.inf.left", "L1.inf.right")
    assert AASCE_POINT_NAMES[-1] == "L5.inf.right"


def test_rows_map_to_names(tmp_path: Path) -> None:
    p2 = _spine()
    s = read_aasce_mat(_save(tmp_path / "x.jpg.mat", p2=p2), image_shape=(800, 300))
    assert s.view is View.AP
    assert list(s.points) == list(AASCE_POINT_NAMES)
    assert s.points["T1.sup.right"] == (160.0, 22.0)
    assert s.points["L5.inf.left"] == (101.0, 20 + 40 * 16 + 30.0)
    assert s.image.rows == 800 and s.image.columns == 300 and s.image.path is None
    assert s.source == str(tmp_path / "x.jpg.mat")
    assert s.warnings == ()


def test_float_coordinates_are_kept(tmp_path: Path) -> None:
    p2 = _spine().astype(float) + 0.25
    s = read_aasce_mat(_save(tmp_path / "f.mat", p2=p2))
    assert s.points["T1.sup.left"] == (100.25, 20.25)


def test_sibling_image_gives_the_size(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "images").mkdir()
    Image.new("L", (300, 800)).save(tmp_path / "images" / "case 1.jpg")
    mat = _save(tmp_path / "labels" / "case 1.jpg.mat", p2=_spine())
    assert aasce_image_path(mat) == tmp_path / "images" / "case 1.jpg"
    s = read_aasce_mat(mat)
    assert (s.image.rows, s.image.columns) == (800, 300)
    assert s.image.path == str(tmp_path / "images" / "case 1.jpg")


def test_without_image_points_are_not_checked(tmp_path: Path) -> None:
    p2 = _spine()
    p2[-1] = [60000, 60000]
    s = read_aasce_mat(_save(tmp_path / "lonely.jpg.mat", p2=p2))
    assert s.image.rows is None and s.points["L5.inf.right"] == (60000.0, 60000.0)


def test_unreadable_sibling_image_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "x.jpg").write_bytes(b"not a jpeg")
    s = read_aasce_mat(_save(tmp_path / "labels" / "x.jpg.mat", p2=_spine()))
    assert s.image.rows is None
    assert any("could not read the size" in w and "x.jpg" in w for w in s.warnings)


def test_point_outside_the_given_image(tmp_path: Path) -> None:
    p2 = _spine()
    p2[63] = [690, 700]  # L4.inf.right
    path = _save(tmp_path / "out.jpg.mat", p2=p2)
    with pytest.raises(InvalidLandmarksError) as info:
        read_aasce_mat(path, image_shape=(800, 300))
    message = str(info.value)
    assert message.startswith(f"landmarks file '{path}': ")
    assert 'point "L4.inf.right" [690, 700] lies outside the image (300 x 800 px' in message


def test_swapped_corners_are_read_as_given(tmp_path: Path) -> None:
    # judging placements is the measuring code's job (landmarks.points.sanity); the reader keeps the file's word
    p2 = _spine()
    p2[[0, 1]] = p2[[1, 0]]  # T1 superior left and right swapped
    s = read_aasce_mat(_save(tmp_path / "sw.mat", p2=p2))
    assert s.points["T1.sup.left"] == (160.0, 22.0) and s.points["T1.sup.right"] == (100.0, 20.0)
    assert s.warnings == ()


def test_coincident_corners_are_degenerate(tmp_path: Path) -> None:
    p2 = _spine()
    p2[5] = p2[4]  # T2.sup.right on T2.sup.left
    with pytest.raises(DegenerateGeometryError, match=r'T2\.sup has zero length: points "T2\.sup\.left"'):
        read_aasce_mat(_save(tmp_path / "z.mat", p2=p2))


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        pytest.param({"p1": _spine()}, ["'p2'", "is missing", "holds 'p1'"], id="no-p2"),
        pytest.param(
            {"p2": _spine().T}, ["'p2' must be 68 x 2", "got 2 x 68", "transposed"], id="transposed"
        ),
        pytest.param({"p2": _spine()[:-1]}, ["'p2' must be 68 x 2", "got 67 x 2"], id="67-points"),
        pytest.param({"p2": _spine()[:, :1]}, ["'p2' must be 68 x 2", "got 68 x 1"], id="one-column"),
        pytest.param({"p2": "T1 T2"}, ["'p2' must be a numeric 68 x 2 array"], id="text"),
        pytest.param(
            {"p2": np.where(np.arange(136).reshape(68, 2) == 9, np.nan, 1.0) * _spine()},
            ['point "T2.sup.left"', "row 5 of 'p2'", "finite", "nan"],
            id="nan",
        ),
        pytest.param(
            {"p2": np.where(np.arange(136).reshape(68, 2) == 0, np.inf, 1.0) * _spine()},
            ['point "T1.sup.left"', "row 1", "inf"],
            id="inf",
        ),
    ],
)
def test_bad_mat_content(tmp_path: Path, variables: dict, words: list[str]) -> None:
    path = _save(tmp_path / "bad.jpg.mat", **variables)
    with pytest.raises(InvalidLandmarksError) as info:
        read_aasce_mat(path)
    message = str(info.value)
    assert message.startswith(f"landmarks file '{path}': ") and "\n" not in message
    for word in words:
        assert word in message


def test_not_a_mat_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.mat"
    path.write_text("this is text")
    with pytest.raises(InvalidLandmarksError, match=r"fake\.mat': is not a readable MATLAB \.mat file"):
        read_aasce_mat(path)


def test_missing_mat_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidLandmarksError, match=r"gone\.mat': cannot be read: No such file or directory"):
        read_aasce_mat(tmp_path / "gone.mat")


@pytest.mark.parametrize("shape", [(0, 300), (800,), "800x300", (800.0, 300), (True, 300)])
def test_bad_image_shape(tmp_path: Path, shape: object) -> None:
    path = _save(tmp_path / "x.mat", p2=_spine())
    with pytest.raises(InvalidLandmarksError, match=r"image_shape must be \(rows, columns\)"):
        read_aasce_mat(path, image_shape=shape)  # type: ignore[arg-type]


def test_read_landmark_table_gives_one_row(tmp_path: Path) -> None:
    path = _save(tmp_path / "x.jpg.mat", p2=_spine())
    table = read_landmark_table(path)
    assert len(table) == 1 and table.ids == (str(path),)
    assert table.point("L5.inf.right")[0].tolist() == [161.0, 20 + 40 * 16 + 32.0]


# ------------------------------------------------------------------------------------------ real data

BROKEN_OUTSIDE = "sunhl-1th-25-Jul-2016-49 A AP.jpg.mat"


def _labels_ok(aasce: Path) -> dict[str, bool]:
    with open(aasce / "angles.csv", newline="") as f:
        return {row["image"] + ".mat": row["labels_ok"] == "yes" for row in csv.DictReader(f)}


@pytest.mark.shared
def test_all_real_labels(shared_data: Path) -> None:
    aasce = shared_data / "aasce-dev"
    files = sorted((aasce / "labels").glob("*.mat"))
    assert len(files) == 43
    ok = _labels_ok(aasce)
    assert set(ok) == {f.name for f in files}
    loaded = 0
    for path in files:
        if path.name == BROKEN_OUTSIDE:
            continue
        s = read_landmarks(path)
        loaded += 1
        assert s.view is View.AP and len(s.points) == 68, path.name
        assert all(np.isfinite(v).all() for v in s.points.values())
        with Image.open(aasce / "images" / path.name[: -len(".mat")]) as im:
            assert (s.image.columns, s.image.rows) == im.size
        assert s.warnings == (), path.name
    assert loaded == 42
    # the one file that fails is one the dataset itself marks as wrong
    assert not ok[BROKEN_OUTSIDE]


@pytest.mark.shared
def test_real_label_with_a_point_outside_its_image(shared_data: Path) -> None:
    path = shared_data / "aasce-dev" / "labels" / BROKEN_OUTSIDE
    with pytest.raises(InvalidLandmarksError) as info:
        read_landmarks(path)
    message = str(info.value)
    assert message.startswith(f"landmarks file '{path}': ")
    assert 'point "L4.inf.right" [604, 2382] lies outside the image' in message
    assert "(964 x 2325 px" in message
    assert "49 A AP.jpg'" in message  # names the image it was checked against


@pytest.mark.shared
def test_real_label_read_with_an_explicit_shape(shared_data: Path) -> None:
    path = shared_data / "aasce-dev" / "labels" / "sunhl-1th-02-Jan-2017-162 A AP.jpg.mat"
    s = read_aasce_mat(path, image_shape=(2125, 755))
    assert s.image.path is None and (s.image.rows, s.image.columns) == (2125, 755)
    with pytest.raises(InvalidLandmarksError, match="lies outside the image"):
        read_aasce_mat(path, image_shape=(100, 100))
