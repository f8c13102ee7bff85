"""The operation a post-operative film records: its items checked, and carried by every reader and writer.

The ``"operation"`` block of a landmark file (formats.md §1: date, UIV, LIV, fused levels; absent
means not known to be operated), the wide CSV's optional operation columns, and every writer that
must write the block back as it was read (the annotation window, ``spinecheck refine``, the Slicer
markups and the wide CSV).
"""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
from spinecheck.cli import main
from spinecheck.landmarks.annotate.session import AnnotationSession
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.io.landmark_file import (
    landmarks_to_json,
    parse_landmarks,
    read_landmark_json,
    write_landmarks,
)
from spinecheck.landmarks.io.wide_csv import landmark_table_to_csv, read_wide_csv
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.operation import Operation, OperationProblem
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom

FORMAT = "spinecheck-landmarks/1"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------------------
# the operation record
# --------------------------------------------------------------------------------------------------


def test_operation_items_are_checked_and_written_as_given():
    o = Operation.checked(
        date="2023-05-04",
        uiv="T10",
        liv="S1",
        fused=["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"],
    )
    assert o.date == datetime.date(2023, 5, 4)
    assert o.to_json() == {
        "date": "2023-05-04",
        "uiv": "T10",
        "liv": "S1",
        "fused": ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"],
    }
    assert Operation.checked().to_json() == {}
    assert Operation.checked(fused=["T12", "L1"]).fused == ("T12", "L1")


@pytest.mark.parametrize(
    ("items", "item", "words"),
    [
        pytest.param({"uiv": "T99"}, "uiv", "must be a vertebral level", id="unknown-level"),
        pytest.param({"uiv": "t10"}, "uiv", "levels are upper-case: 'T10'", id="lower-case"),
        pytest.param({"liv": 5}, "liv", "must be a vertebral level", id="not-text"),
        pytest.param({"uiv": "L2", "liv": "T12"}, "uiv", "must be above the LIV (T12)", id="uiv-below-liv"),
        pytest.param({"uiv": "L2", "liv": "L2"}, "uiv", "must be above the LIV (L2)", id="uiv-is-liv"),
        pytest.param({"fused": ["T10", "T12"]}, "fused", "T11 missing between", id="gap"),
        pytest.param({"fused": ["T12", "T10", "T11"]}, "fused", "comes after", id="order"),
        pytest.param({"fused": ["T10"]}, "fused", "two or more", id="one-level"),
        pytest.param({"fused": "T10-S1"}, "fused", "must be a list", id="not-a-list"),
        pytest.param(
            {"fused": ["T11", "T12"], "uiv": "T10"}, "fused", "must include the UIV (T10)", id="no-uiv"
        ),
        pytest.param(
            {"fused": ["T11", "T12"], "liv": "L1"}, "fused", "must include the LIV (L1)", id="no-liv"
        ),
        pytest.param({"date": "04/05/2023"}, "date", "written YYYY-MM-DD", id="not-iso"),
        pytest.param({"date": "2023-02-30"}, "date", "real calendar date", id="no-such-day"),
        pytest.param({"date": "2999-01-01"}, "date", "must not be in the future", id="future"),
        pytest.param({"date": 20230504}, "date", "written YYYY-MM-DD", id="a-number"),
    ],
)
def test_each_bad_operation_item_is_named(items, item, words):
    with pytest.raises(OperationProblem, match=re.escape(words)) as e:
        Operation.checked(**items)
    assert e.value.item == item


def test_an_operation_dated_today_is_accepted():
    today = datetime.date(2024, 3, 1)
    assert Operation.checked(date="2024-03-01", today=today).date == today
    with pytest.raises(OperationProblem, match="future"):
        Operation.checked(date="2024-03-02", today=today)


def test_items_given_anew_replace_the_files_and_are_checked_together():
    base = Operation.checked(uiv="T10", liv="L3", source="landmark file")
    new = base.replaced("command line", uiv="T4")
    assert (new.uiv, new.liv, new.source) == ("T4", "L3", "landmark file; uiv from the command line")
    assert base.replaced("command line") is base
    with pytest.raises(OperationProblem, match="above the LIV"):
        base.replaced("command line", uiv="L4")
    assert Operation().replaced("command line", uiv="T4").source == "command line"


# --------------------------------------------------------------------------------------------------
# the landmark file: reading, writing, bad values, older files
# --------------------------------------------------------------------------------------------------

BLOCK = {
    "date": "2023-05-04",
    "uiv": "T10",
    "liv": "S1",
    "fused": ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"],
}


def doc(**extra) -> dict:
    return {"format": FORMAT, "view": "lateral", "points": {"S1.sup.ant": [10, 20]}, **extra}


def test_the_operation_block_round_trips_unchanged(tmp_path):
    s = parse_landmarks(doc(operation=BLOCK), where="a.json")
    assert s.operation == Operation.checked(**BLOCK, source="landmark file")
    assert landmarks_to_json(s)["operation"] == BLOCK
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc(operation=BLOCK)))
    write_landmarks(read_landmark_json(path), tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["operation"] == BLOCK


def test_older_files_without_an_operation_stay_valid_and_unoperated():
    s = parse_landmarks(doc(), where="a.json")
    assert s.operation is None and "operation" not in landmarks_to_json(s)
    assert not s.to_table().operated.any()


def test_an_empty_operation_block_is_an_operated_film_with_nothing_known():
    s = parse_landmarks(doc(operation={}), where="a.json")
    assert s.operation == Operation(source="landmark file") and s.to_table().operated.all()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"uiv": "T99"}, '"operation.uiv" must be a vertebral level'),
        ({"uiv": "L2", "liv": "L1"}, '"operation.uiv" must be above the LIV (L1)'),
        ({"fused": ["T10", "T12"]}, '"operation.fused" must be a list of two or more'),
        ({"date": "May 4th"}, '"operation.date" must be a date written YYYY-MM-DD'),
        ({"level": "T10"}, '"operation" may hold "date", "uiv", "liv", "fused"; got unknown key "level"'),
        ({"UIV": "T10"}, 'did you mean "uiv"?'),
        ([1], '"operation" must be a JSON object'),
    ],
)
def test_a_bad_operation_is_one_line_naming_the_file_and_the_field(block, message):
    with pytest.raises(InvalidLandmarksError) as e:
        parse_landmarks(doc(operation=block), where="landmarks file 'a.json'")
    assert str(e.value).startswith("landmarks file 'a.json': ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_the_annotation_session_writes_the_operation_back(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({**doc(operation=BLOCK), "points": {}}))
    session = AnnotationSession(path, "lateral-core")
    session.place((100.0, 200.0))
    assert json.loads(path.read_text())["operation"] == BLOCK


# --------------------------------------------------------------------------------------------------
# the wide CSV
# --------------------------------------------------------------------------------------------------


def test_wide_csv_operation_columns_read_and_write_back():
    text = (
        "image,view,C7.centroid.x,C7.centroid.y,uiv,liv,operation_date,fused\n"
        "a.dcm,lateral,1.5,2,T10,S1,2020-01-02,T10 T11 T12 L1 L2 L3 L4 L5 S1\n"
        "b.dcm,lateral,1,2,,,,\n"
    )
    t = read_wide_csv(io.StringIO(text))
    assert t.operation(0) == Operation.checked(
        date="2020-01-02",
        uiv="T10",
        liv="S1",
        fused="T10 T11 T12 L1 L2 L3 L4 L5 S1".split(),
        source="landmark table",
    )
    assert t.operation(1) is None and t.operated.tolist() == [True, False]
    again = read_wide_csv(io.StringIO(landmark_table_to_csv(t)))
    assert again.operations == t.operations


def test_wide_csv_without_operation_columns_stays_valid():
    t = read_wide_csv(io.StringIO("image,view,C7.centroid.x,C7.centroid.y\nx.dcm,lateral,1,2\n"))
    assert t.operations is None and not t.operated.any()
    assert "uiv" not in landmark_table_to_csv(t)


def test_a_bad_operation_cell_is_a_row_error_naming_the_line_and_column():
    t = read_wide_csv(io.StringIO("image,view,uiv,liv\na.dcm,lateral,L2,T12\nb.dcm,lateral,T4,\n"))
    assert t.row_errors[0] == (
        "landmark table '<stream>', line 2: column \"uiv\" must be above the LIV (T12); got 'L2'"
    )
    assert t.row_errors[1] is None and t.operation(1).uiv == "T4" and t.operation(0) is None


def test_the_wide_csv_refuses_an_operation_it_cannot_hold():
    t = LandmarkTable.from_sets([LandmarkSet("lateral", {"C7.centroid": (1, 2)}, operation=Operation())])
    with pytest.raises(InvalidLandmarksError, match="records an operation with no date and no levels"):
        landmark_table_to_csv(t)


def test_a_slicer_markup_keeps_the_operation(tmp_path):
    from spinecheck.landmarks.io.slicer import read_slicer_markups, write_slicer_markups

    s = LandmarkSet(
        "lateral",
        {"S1.sup.ant": (1620.0, 5305.0), "S1.sup.post": (1500.0, 5250.0)},
        calibration=Calibration.from_spacing([0.5, 0.5]),
        operation=Operation.checked(**BLOCK, source="landmark file"),
    )
    path = tmp_path / "case.mrk.json"
    notes = write_slicer_markups(s, path, mm_per_px=(0.5, 0.5))
    assert not any("operation" in n for n in notes)
    assert read_slicer_markups(path).operation == s.operation


def test_refine_writes_the_operation_back(tmp_path, capsys):
    film = synthetic_lateral(mm_per_px=0.5)
    dcm = write_dicom(film, tmp_path / "lat.dcm")
    rough = tmp_path / "rough.json"
    body = landmarks_to_json(film.landmarks)
    body["operation"] = BLOCK
    rough.write_text(json.dumps(body))
    out = tmp_path / "refined.json"
    code, _, err = run(capsys, "refine", dcm, rough, "-o", out, "--only", "T8.sup.ant")
    assert code == 0, err
    assert json.loads(out.read_text())["operation"] == BLOCK


def test_a_post_operative_annotation_asks_for_the_junctional_endplates(tmp_path):
    from spinecheck.landmarks.annotate.protocol import get_protocol

    full = get_protocol("lateral").with_junctions("T10", "L2")
    added = [s.name for s in full.steps[len(get_protocol("lateral")) :]]
    # L4's superior endplate is already asked (LL_L4S1); the inferior one is new
    assert added == [
        "T8.sup.ant", "T8.sup.post", "T10.inf.ant", "T10.inf.post",
        "L2.sup.ant", "L2.sup.post", "L4.inf.ant", "L4.inf.post",
    ]  # fmt: skip
    assert {p for s in full.steps for p in s.used_for} >= {"PJA", "DJA"}
    assert get_protocol("lateral").with_junctions("C3", "L4") is get_protocol("lateral")  # no UIV+2, no LIV-2
    assert get_protocol("ap").with_junctions("T10", "L2") is get_protocol("ap")
    # a new file records the operation given; a resumed one keeps its own and takes the items given
    path = tmp_path / "case.json"
    session = AnnotationSession(path, "lateral-core", operation=Operation.checked(uiv="T10", source="cli"))
    assert session.protocol.name == "lateral-core+junctions" and "T8.sup.ant" in session.protocol
    session.place((100.0, 200.0))
    assert json.loads(path.read_text())["operation"] == {"uiv": "T10"}
    again = AnnotationSession(path, "lateral-core", operation=Operation.checked(liv="L2", source="cli"))
    assert (again.operation.uiv, again.operation.liv) == ("T10", "L2")
    assert "L4.inf.ant" in again.protocol and "T8.sup.ant" in again.protocol
    with pytest.raises(
        InvalidLandmarksError, match=r'does not fit the file\'s: "operation.uiv" must be above'
    ):
        AnnotationSession(path, "lateral-core", operation=Operation.checked(liv="T4", source="cli"))


def test_annotate_names_the_flag_of_a_bad_level(tmp_path, capsys):
    film = synthetic_lateral(mm_per_px=0.5)
    dcm = write_dicom(film, tmp_path / "lat.dcm")
    code, _, err = run(capsys, "annotate", dcm, "-o", tmp_path / "x.json", "--uiv", "T99")
    assert code == 2 and err.startswith("error: --uiv: must be a vertebral level"), err
