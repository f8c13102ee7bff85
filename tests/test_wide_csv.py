"""The wide landmark CSV: many studies in one file, bad rows kept as row errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.io import atomic, read_landmark_table, wide_csv
from spinecheck.landmarks.io.wide_csv import (
    landmark_table_to_csv,
    read_wide_csv,
    write_landmark_table,
)
from spinecheck.landmarks.points.calibration import Calibration, CalibrationSource
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable, PatientInfo, Sex
from spinecheck.landmarks.points.names import PatientRight, View

HEADER = (
    "image,view,S1.sup.ant.x,S1.sup.ant.y,S1.sup.post.x,S1.sup.post.y,S1.sup.left.x,S1.sup.left.y,"
    "mm_per_px_row,mm_per_px_col,age_years,sex,patient_right"
)
GOOD = "good.dcm,lateral,1620.5,5305,1455,5248,,,0.15,0.15,67,F,"


@pytest.fixture(params=["one-block", "small-blocks"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the whole file in one Arrow read, and in many reads of a few lines each."""
    if request.param == "small-blocks":
        monkeypatch.setattr(wide_csv, "_PIECE_BYTES", 256)
        monkeypatch.setattr(wide_csv, "_BLOCK_BYTES", 64)  # raised to twice the longest line
    return request.param


def _read(text: str, name: str = "t.csv") -> LandmarkTable:
    return read_wide_csv(io.StringIO(text), name=name)


def _file(tmp_path: Path, text: str, name: str = "t.csv", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# ------------------------------------------------------------------------------------------ good tables


def test_reads_every_column(tmp_path: Path, blocks: str) -> None:
    text = "\n".join(
        [
            HEADER,
            GOOD,
            "second.dcm,AP,,,,,10.25,20.5,,,,,image_left",
            "third.dcm,lateral,1,2,3,4,,,0.15,0.15,67,F,",
        ]
    )
    t = read_landmark_table(_file(tmp_path, text + "\n"))
    assert t.ids == ("good.dcm", "second.dcm", "third.dcm")
    assert list(t.views) == [View.LATERAL, View.AP, View.LATERAL]
    assert t.point("S1.sup.ant")[0].tolist() == [1620.5, 5305.0]
    assert t.point("S1.sup.post")[0].tolist() == [1455.0, 5248.0]
    assert np.isnan(t.point("S1.sup.left")[0]).all()
    assert t.point("S1.sup.left")[1].tolist() == [10.25, 20.5]
    assert t.has("S1.sup.ant").tolist() == [True, False, True]
    assert t.mm_per_px[0].tolist() == [0.15, 0.15] and np.isnan(t.mm_per_px[1]).all()
    assert t.calibrations[0] == Calibration.from_spacing((0.15, 0.15))
    assert t.calibrations[0].source is CalibrationSource.USER_SPACING
    assert not t.calibrations[1].calibrated
    assert t.patients[0] == PatientInfo(67.0, "landmark table", Sex.F, "landmark table")
    assert t.patients[1] == PatientInfo()
    assert list(t.patient_right) == [None, PatientRight.IMAGE_LEFT, None]
    assert list(t.row_errors) == [None, None, None]
    # identical rows share their value objects instead of building one per row
    assert t.calibrations[0] is t.calibrations[2] and t.patients[0] is t.patients[2]


def test_minimal_header_and_empty_table(blocks: str) -> None:
    t = _read("image,view,C7.centroid.x,C7.centroid.y\n")
    assert len(t) == 0 and t.point("C7.centroid").shape == (0, 2)
    t = _read("image,view\nx.dcm,ap\n")
    assert t.ids == ("x.dcm",) and t.views[0] is View.AP and dict(t.points) == {}


def test_quoted_image_paths_crlf_bom_and_blank_rows(tmp_path: Path, blocks: str) -> None:
    text = (
        "\ufeffimage,view,C7.centroid.x,C7.centroid.y\n"
        '"scans/a, b.dcm",lateral,1.5,2.5\n'
        "\n"
        ",,,\n"
        '"say ""hi"".dcm",lateral,3,4\n'
        "plain.dcm,lateral,5,6\n"
        "\n"
    )
    t = read_wide_csv(_file(tmp_path, text, newline="\r\n"))
    assert t.ids == ("scans/a, b.dcm", 'say "hi".dcm', "plain.dcm")
    assert t.point("C7.centroid").tolist() == [[1.5, 2.5], [3.0, 4.0], [5.0, 6.0]]
    assert list(t.row_errors) == [None, None, None]


def test_quoted_rows_between_plain_rows_keep_their_values(blocks: str) -> None:
    text = (
        "image,view,C7.centroid.x,C7.centroid.y\n"
        '"q,0",lateral,0,0\nf1,lateral,1,1\n"q,2",lateral,2,2\nf3,lateral,3,3\n'
    )
    t = _read(text)
    assert t.ids == ("q,0", "f1", "q,2", "f3")
    assert t.point("C7.centroid").tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]


def test_quoted_cell_spanning_lines(blocks: str) -> None:
    t = _read('image,view,C7.centroid.x,C7.centroid.y\n"two\nlines.dcm",lateral,1,2\nb.dcm,lateral,3,x\n')
    assert t.ids == ("two\nlines.dcm", "b.dcm")
    assert t.point("C7.centroid")[0].tolist() == [1.0, 2.0]
    assert t.row_errors[1] == (
        "landmark table 't.csv', line 4: column \"C7.centroid.y\" must be a number (pixels) or empty; got 'x'"
    )


def test_columns_in_any_order(blocks: str) -> None:
    text = (
        "age_years,S1.sup.ant.y,image,mm_per_px_col,S1.sup.ant.x,view,mm_per_px_row,C7.centroid.x,C7.centroid.y\n"
        "50,2,a.dcm,0.2,1,lateral,0.1,7,8\n"
    )
    t = _read(text)
    assert t.point("S1.sup.ant")[0].tolist() == [1.0, 2.0]
    assert t.point("C7.centroid")[0].tolist() == [7.0, 8.0]
    assert t.mm_per_px[0].tolist() == [0.1, 0.2]
    assert t.patients[0].age_years == 50.0


def test_unknown_columns_are_ignored(blocks: str) -> None:
    t = _read('image,notes,view,C7.centroid.x,C7.centroid.y,reader\na.dcm,"ok, fine",lateral,1,2,JD\n')
    assert t.point("C7.centroid")[0].tolist() == [1.0, 2.0] and t.row_errors[0] is None


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12", 12.0),
        ("-3.5", -3.5),
        (".5", 0.5),
        ("5.", 5.0),
        (" 12 ", 12.0),
        ("+3", 3.0),
        ("1e3", 1000.0),
        ("1.5E-2", 0.015),
        ("0.30000000000000004", 0.30000000000000004),
        ("-0", -0.0),
        ('"7.25"', 7.25),
        ('" 7 "', 7.0),
        ("\x0c3", 3.0),  # str.strip() whitespace
        ("", np.nan),
        ("  ", np.nan),
        ('""', np.nan),
    ],
)
def test_number_spellings(cell: str, value: float, blocks: str) -> None:
    y = cell if np.isnan(value) else "1"  # an empty x with a y would be half a point: a row error
    t = _read(f"image,view,C7.centroid.x,C7.centroid.y\na.dcm,lateral,{cell},{y}\n")
    assert t.row_errors[0] is None
    np.testing.assert_array_equal(t.point("C7.centroid")[0], [value, np.nan if np.isnan(value) else 1.0])
    assert np.signbit(t.point("C7.centroid")[0, 0]) == np.signbit(value)


@pytest.mark.parametrize("bad_cell", [False, True], ids=["arrow-floats", "text-pass"])
def test_floats_read_exactly_with_many_rows_and_blocks(
    monkeypatch: pytest.MonkeyPatch, bad_cell: bool
) -> None:
    # numbers converted by Arrow straight to float64, and (one bad cell) cast from their text
    monkeypatch.setattr(wide_csv, "_BLOCK_BYTES", 4096)
    rng = np.random.default_rng(7)
    values = rng.uniform(-5, 4000, size=(1000, 6))
    values[np.repeat(rng.random((1000, 3)) < 0.1, 2, axis=1)] = np.nan  # whole points: x and y empty
    values[3] = [0.1, 1 / 3, 2.0**-30, 1e-7, 123456789.12345678, -0.0]
    lines = ["image,view,C7.centroid.x,C7.centroid.y,T1.sup.ant.x,T1.sup.ant.y,FH.x,FH.y"]
    for i, row in enumerate(values):
        cells = ["" if np.isnan(v) else repr(float(v)) for v in row]
        lines.append(",".join([f"s{i}.dcm", "lateral", *cells]))
    if bad_cell:
        lines[900] = lines[900].replace("lateral,", "lateral,nan", 1)
        values[899] = np.nan
    t = _read("\n".join(lines) + "\n")
    got = np.hstack([t.point("C7.centroid"), t.point("T1.sup.ant"), t.point("FH")])
    np.testing.assert_array_equal(got, values)
    assert np.signbit(got[3, 5])  # -0.0 keeps its sign
    assert [i for i, e in enumerate(t.row_errors) if e is not None] == ([899] if bad_cell else [])


# ------------------------------------------------------------------------------------------ header errors

HEADER_ERRORS = [
    pytest.param(
        "view,C7.centroid.x,C7.centroid.y", ['no "image" column', "image,view,<name>.x"], id="no-image"
    ),
    pytest.param("image,C7.centroid.x,C7.centroid.y", ['no "view" column'], id="no-view"),
    pytest.param("Image,view", ['no "image" column', 'found "Image"', "case-sensitive"], id="image-case"),
    pytest.param(
        "image,view,S1.sup.ant.x", ['column "S1.sup.ant.x"', 'no matching "S1.sup.ant.y"'], id="x-no-y"
    ),
    pytest.param(
        "image,view,S1.sup.ant.y", ['column "S1.sup.ant.y"', 'no matching "S1.sup.ant.x"'], id="y-no-x"
    ),
    pytest.param(
        "image,view,S1.sup.anterior.x,S1.sup.anterior.y",
        [
            'column "S1.sup.anterior.x"',
            "unknown point name 'S1.sup.anterior'",
            "did you mean",
            "'S1.sup.ant'",
        ],
        id="unknown-point",
    ),
    pytest.param(
        "image,view,FH.lft.x,FH.lft.y",
        ['column "FH.lft.x"', "'FH.left'"],
        id="unknown-point-suggests-any-view",
    ),
    pytest.param(
        "image,view,C7.centroid.x,C7.centroid.y,C7.centroid.x",
        ['column "C7.centroid.x" appears twice', "columns 3 and 5"],
        id="duplicate-column",
    ),
    pytest.param("image,view,image", ['column "image" appears twice'], id="duplicate-image"),
    pytest.param(
        "image,view,mm_per_px_row",
        ['column "mm_per_px_row"', 'no matching "mm_per_px_col"'],
        id="one-spacing",
    ),
    pytest.param(
        "image,view,mm_per_px_rows,mm_per_px_col", ['unknown column "mm_per_px_rows"'], id="spacing-typo"
    ),
    pytest.param(
        "image,view,S1.sup.ant.X,S1.sup.ant.Y", ['column "S1.sup.ant.X"', '"S1.sup.ant.x"'], id="upper-x"
    ),
    pytest.param(
        "image,view,S1.sup.ant", ['column "S1.sup.ant" is a point name', '"S1.sup.ant.x"'], id="bare-name"
    ),
    pytest.param("image;view;C7.centroid.x", ["one column", "separated by commas"], id="semicolons"),
    pytest.param("", ["no header line"], id="empty-file"),
]


@pytest.mark.parametrize(("header", "words"), HEADER_ERRORS)
def test_header_errors_stop_the_read(tmp_path: Path, header: str, words: list[str]) -> None:
    path = _file(tmp_path, header + "\na.dcm,lateral\n" if header else "", name="study list.csv")
    with pytest.raises(InvalidLandmarksError) as info:
        read_wide_csv(path)
    message = str(info.value)
    assert message.startswith(f"landmark table '{path}': ") and "\n" not in message
    for word in words:
        assert word in message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidLandmarksError, match=r"gone\.csv': cannot be read: No such file or directory"):
        read_wide_csv(tmp_path / "gone.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("image,view\nsé.dcm,ap\n".encode("latin-1"))
    with pytest.raises(
        InvalidLandmarksError, match=r"latin\.csv': is not UTF-8 text \(byte 0xe9 at offset 12\)"
    ):
        read_wide_csv(latin)


# ------------------------------------------------------------------------------------------ row errors

ROW_ERRORS = [
    pytest.param(
        "a.dcm,sagittal,1,2,3,4,,,,,,,", ['column "view"', '"lateral" or "ap"', "'sagittal'"], id="view"
    ),
    pytest.param("a.dcm,pa,1,2,3,4,,,,,,,", ['column "view"', "'pa'", "PA films are both"], id="view-pa"),
    pytest.param("a.dcm,,1,2,3,4,,,,,,,", ['column "view"', "got ''"], id="view-empty"),
    pytest.param(
        "a.dcm,lateral,12a,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "a number", "'12a'"], id="letters"
    ),
    pytest.param("a.dcm,lateral,1,2,nan,4,,,,,,,", ['column "S1.sup.post.x"', "finite", "'nan'"], id="nan"),
    pytest.param("a.dcm,lateral,1,-inf,3,4,,,,,,,", ['column "S1.sup.ant.y"', "finite", "'-inf'"], id="inf"),
    pytest.param(
        "a.dcm,lateral,1e999,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "finite", "'1e999'"], id="1e999"
    ),
    pytest.param(
        "a.dcm,lateral,1" + "0" * 400 + ",2,3,4,,,,,,,", ['"S1.sup.ant.x"', "finite", "…'"], id="400-digits"
    ),
    pytest.param("a.dcm,lateral,1.5.2,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "'1.5.2'"], id="two-dots"),
    pytest.param("a.dcm,lateral,1-2,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "'1-2'"], id="inner-minus"),
    pytest.param("a.dcm,lateral,--1,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "'--1'"], id="double-minus"),
    pytest.param("a.dcm,lateral,-,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "'-'"], id="lone-minus"),
    pytest.param("a.dcm,lateral,1,.,3,4,,,,,,,", ['column "S1.sup.ant.y"', "'.'"], id="lone-dot"),
    pytest.param(
        "a.dcm,lateral,1_0,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "a number", "'1_0'"], id="underscore"
    ),
    pytest.param("a.dcm,lateral,١٢,2,3,4,,,,,,,", ['column "S1.sup.ant.x"', "'١٢'"], id="arabic-digits"),
    pytest.param("a.dcm,lateral,1,2,3,4,,,,,", ["has 11 fields", "header has 13 columns"], id="short-row"),
    pytest.param("a.dcm,lateral,1,2,3,4,,,,,,,,", ["has 14 fields", "header has 13 columns"], id="long-row"),
    pytest.param('"a.dcm,lateral,1,2,3,4,,,,,,,', ["has 1 fields"], id="unclosed-quote"),
    pytest.param(",lateral,1,2,3,4,,,,,,,", ['column "image" is empty'], id="no-image"),
    pytest.param(
        "a.dcm,lateral,1,2,3,4,,,0,0.15,,,", ['column "mm_per_px_row"', "> 0", "'0'"], id="spacing-0"
    ),
    pytest.param(
        "a.dcm,lateral,1,2,3,4,,,0.1,-1,,,", ['column "mm_per_px_col"', "> 0", "'-1'"], id="spacing-neg"
    ),
    pytest.param(
        "a.dcm,lateral,1,2,3,4,,,0.1,abc,,,", ['column "mm_per_px_col"', "'abc'"], id="spacing-text"
    ),
    pytest.param(
        "a.dcm,lateral,1,2,3,4,,,0.1,,,,", ['column "mm_per_px_col" is empty', "both"], id="spacing-half"
    ),
    pytest.param("a.dcm,lateral,1,2,3,4,,,,,131,,", ['column "age_years"', "0 to 130", "'131'"], id="age"),
    pytest.param("a.dcm,lateral,1,2,3,4,,,,,,X,", ['column "sex"', "F, M, O", "'X'"], id="sex"),
    pytest.param("a.dcm,ap,,,,,1,2,,,,,left", ['column "patient_right"', "image_left", "'left'"], id="side"),
    pytest.param(
        "a.dcm,lateral,1,2,3,4,5,6,,,,,",
        ['point "S1.sup.left" is an AP landmark', 'view is "lateral"', '"S1.sup.left.x" = 5'],
        id="ap-point-on-lateral-row",
    ),
    pytest.param(
        "a.dcm,ap,,,3,4,5,6,,,,,",
        ['point "S1.sup.post" is a lateral landmark', 'view is "ap"', '"S1.sup.post.x" = 3'],
        id="lateral-point-on-ap-row",
    ),
    pytest.param(
        "a.dcm,lateral,1,2,1,2,,,,,,,",
        ["endplate S1.sup has zero length", '"S1.sup.ant"', '"S1.sup.post"', "[1, 2]"],
        id="zero-length",
    ),
]


@pytest.mark.parametrize(("row", "words"), ROW_ERRORS)
def test_a_bad_row_is_kept_as_a_row_error(tmp_path: Path, row: str, words: list[str], blocks: str) -> None:
    text = "\n".join([HEADER, GOOD, row, GOOD.replace("good", "after"), ""])
    path = _file(tmp_path, text, name="my table.csv")
    t = read_wide_csv(path)
    assert len(t) == 3
    assert t.ids[1] == "" or t.ids[1].startswith("a.dcm")
    message = t.row_errors[1]
    assert message is not None and "\n" not in message
    assert message.startswith(f"landmark table '{path}', line 3: ")
    for word in words:
        assert word in message
    for name in t.points:
        assert np.isnan(t.point(name)[1]).all()
    assert not t.calibrations[1].calibrated and t.patients[1] == PatientInfo()
    # the other rows are read normally
    assert t.row_errors[0] is None and t.row_errors[2] is None
    assert t.point("S1.sup.ant")[[0, 2]].tolist() == [[1620.5, 5305.0], [1620.5, 5305.0]]
    assert t.mm_per_px[2].tolist() == [0.15, 0.15] and t.patients[2].age_years == 67.0


def test_one_bad_cell_among_many_rows(blocks: str) -> None:
    # a cell Arrow refuses ("-") sends the read through the text pass: only its row fails
    rows = [f"s{i}.dcm,lateral,{i},{i + 0.5}" for i in range(3000)]
    rows[1234] = "s1234.dcm,lateral,-,7"
    rows[2999] = "s2999.dcm,lateral,.,7"
    t = _read("image,view,C7.centroid.x,C7.centroid.y\n" + "\n".join(rows) + "\n")
    bad = [i for i, e in enumerate(t.row_errors) if e is not None]
    assert bad == [1234, 2999]
    assert "line 1236:" in t.row_errors[1234]
    expected = np.array([[i, i + 0.5] for i in range(3000)], dtype=float)
    expected[bad] = np.nan
    np.testing.assert_array_equal(t.point("C7.centroid"), expected)


def test_blank_and_short_rows_among_many_keep_every_row_in_place(blocks: str) -> None:
    rows = [f"s{i}.dcm,lateral,{i},{i + 0.5}" for i in range(500)]
    rows[10] = ",,,"  # a spreadsheet's blank row: no study
    rows[20] = " ,\t, ,"
    rows[30] = "s30.dcm,lateral,30"  # one cell short
    rows[40] = "s40.dcm,lateral,40,40.5,"  # one too many
    rows[50] = ""
    rows[60] = "s60.dcm,lateral,inf,60.5"
    t = _read("image,view,C7.centroid.x,C7.centroid.y\n" + "\n".join(rows) + "\n,,,\n\n")
    kept = [i for i in range(500) if i not in (10, 20, 50)]
    assert t.ids == tuple(f"s{i}.dcm" for i in kept)
    errors = {t.ids[r]: e for r, e in enumerate(t.row_errors) if e is not None}
    assert errors == {
        "s30.dcm": "landmark table 't.csv', line 32: has 3 fields but the header has 4 columns; check for a "
        "missing or extra comma (or an unquoted comma in the image path)",
        "s40.dcm": "landmark table 't.csv', line 42: has 5 fields but the header has 4 columns; check for a "
        "missing or extra comma (or an unquoted comma in the image path)",
        "s60.dcm": "landmark table 't.csv', line 62: column \"C7.centroid.x\" must be a finite number (pixels) "
        "or empty; got 'inf'",
    }
    expected = np.array([[i, i + 0.5] if i not in (30, 40, 60) else [np.nan, np.nan] for i in kept])
    np.testing.assert_array_equal(t.point("C7.centroid"), expected)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "mixed"])
def test_line_breaks(newline: str, tmp_path: Path, blocks: str) -> None:
    lines = ["image,view,FH.x,FH.y", "a.dcm,lateral,1,2", "", "b.dcm,ap,3,4", "c.dcm,lateral,x,6"]
    if newline == "mixed":
        text = "".join(
            line + sep for line, sep in zip(lines, ["\r\n", "\n", "\r", "\r\n", "\r"], strict=True)
        )
    else:
        text = newline.join(lines)
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    t = read_wide_csv(path)
    assert t.ids == ("a.dcm", "b.dcm", "c.dcm")
    assert t.point("FH")[:2].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t.row_errors[2] is not None and ", line 5: " in t.row_errors[2]


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029"])
def test_other_line_breaks_stay_in_their_cell(char: str, blocks: str) -> None:
    # str.splitlines() would cut there; a CSV file is cut at \n, \r\n and \r only
    t = _read(f"image,view,FH.x,FH.y\na{char}b.dcm,lateral,1,2\nc.dcm,lateral,3,4\n")
    assert t.ids == (f"a{char}b.dcm", "c.dcm")
    assert t.point("FH").tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_every_text_cell_quoted(blocks: str) -> None:
    # as R's write.csv writes a table
    text = '"image","view","FH.x","FH.y","sex"\n' + "".join(
        f'"s{i}.dcm","ap",{i},{i}.5,"F"\n' for i in range(300)
    )
    t = _read(text)
    assert t.ids[299] == "s299.dcm" and t.point("FH")[299].tolist() == [299.0, 299.5]
    assert all(e is None for e in t.row_errors) and t.patients[0].sex is Sex.F


def test_a_quote_inside_a_cell_is_read_as_the_csv_module_reads_the_line(blocks: str) -> None:
    # Arrow would read the quote that opens "x across the line break; the csv module ends it at the line
    t = _read('image,view,FH.x,FH.y\na"b,lateral,1,2\nc.dcm,"lateral,3,4\nd.dcm,lateral,5,6\n')
    assert t.ids == ('a"b', "c.dcm", "d.dcm")
    assert t.point("FH")[[0, 2]].tolist() == [[1.0, 2.0], [5.0, 6.0]]
    assert t.row_errors[1] is not None and "has 2 fields" in t.row_errors[1]


def test_an_unreadable_view_is_still_a_view() -> None:
    # measuring code calls View.parse on every study: an unreadable view must not crash a batch
    t = _read("image,view\na,ap\nb,side\nc,LATERAL\n")
    assert list(t.views) == [View.AP, View.LATERAL, View.LATERAL]
    assert [e is None for e in t.row_errors] == [True, False, True]
    assert all(View.parse(v) for v in t.views)


# ------------------------------------------------------------------------------------------ other inputs


def test_read_landmark_table_on_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(
        json.dumps({"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"FH": [1, 2]}})
    )
    t = read_landmark_table(path)
    assert len(t) == 1 and t.ids == (str(path),) and t.point("FH")[0].tolist() == [1.0, 2.0]
    assert t.sets is not None and t.sets[0].source == str(path)


def test_read_landmark_table_refuses_other_suffixes(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("image\tview\n")
    with pytest.raises(InvalidLandmarksError, match=r"t\.tsv': unsupported file type '\.tsv'.*\.csv"):
        read_landmark_table(path)


# ------------------------------------------------------------------------------------------ writing


def _table() -> LandmarkTable:
    sets = [
        LandmarkSet("lateral", {"S1.sup.ant": (1620.25, 5305.0), "C7.centroid": (0.1 + 0.2, 1 / 3)}),
        LandmarkSet(
            "ap", {"S1.sup.left": (10.0, 20.0), "FH": (-0.5, 1e-7)}, patient_right=PatientRight.IMAGE_RIGHT
        ),
        LandmarkSet("lateral", {"T4.sup.post": (7.0, 8.0)}),
    ]
    return LandmarkTable.from_sets(
        sets,
        calibrations=[Calibration.from_spacing((0.15, 0.2)), None, Calibration.from_spacing((0.1, 0.1))],
        patients=[PatientInfo(67.5, "x", Sex.M, "x"), None, PatientInfo(12.0, "x")],
        ids=["a, b.dcm", 'q"uote.dcm', "c.dcm"],
    )


def test_round_trip(tmp_path: Path, blocks: str) -> None:
    table = _table()
    path = tmp_path / "out.csv"
    write_landmark_table(table, path)
    back = read_wide_csv(path)
    assert back.ids == table.ids
    assert list(back.views) == list(table.views)
    assert set(back.points) == set(table.points)
    for name in table.points:
        np.testing.assert_array_equal(back.point(name), table.point(name))
    np.testing.assert_array_equal(back.mm_per_px, table.mm_per_px)
    assert [p.age_years for p in back.patients] == [67.5, None, 12.0]
    assert [p.sex for p in back.patients] == [Sex.M, None, None]
    assert list(back.patient_right) == list(table.patient_right)
    assert all(e is None for e in back.row_errors)
    # and again: the second write gives the same text
    assert landmark_table_to_csv(back) == path.read_text()


def test_written_columns_are_in_anatomical_order() -> None:
    header = landmark_table_to_csv(_table()).splitlines()[0].split(",")
    assert header[:4] == ["image", "view", "C7.centroid.x", "C7.centroid.y"]
    assert header.index("T4.sup.post.x") < header.index("S1.sup.ant.x") < header.index("FH.x")
    assert header[-5:] == ["mm_per_px_row", "mm_per_px_col", "age_years", "sex", "patient_right"]


def test_writer_refuses_rows_that_failed_to_read(tmp_path: Path) -> None:
    t = _read("image,view,C7.centroid.x,C7.centroid.y\na.dcm,lateral,1,2\nb.dcm,lateral,x,2\n")
    path = tmp_path / "out.csv"
    with pytest.raises(InvalidLandmarksError, match=r"1 row\(s\) have errors, the first 'b\.dcm'"):
        write_landmark_table(t, path)
    assert not path.exists()
    good = t.subset(t.row_errors == None)  # noqa: E711 - elementwise on an object array
    write_landmark_table(good, path)
    assert read_wide_csv(path).ids == ("a.dcm",)


def test_a_failed_write_leaves_the_old_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.csv"
    write_landmark_table(_table(), path)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="Input/output error"):
        write_landmark_table(_table().subset([0]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize("text", ['"', '"\n', '"\n\n"'])
def test_a_file_of_unclosed_quotes_has_no_header(text: str) -> None:
    # found by tests/test_fuzzing.py's arbitrary bytes: the csv module cuts no cell at all from '"'
    with pytest.raises(InvalidLandmarksError, match="has no header line"):
        _read(text)
