"""The library speaks as a library: its errors name arguments, it prints nothing, it logs quietly.

The command line names its flags instead (its own tests hold its wording; a few lines here check
that the mapping from argument to flag gives exactly that wording).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import spinecheck
from batch_factory import write_study
from radiograph_factory import dx_file, gradient
from spinecheck.alignment.batch.runner import (
    BatchError,
    BatchInterrupted,
    BatchOptions,
    measure_chunk,
    run_batch,
)
from spinecheck.alignment.criteria.engine import assess
from spinecheck.alignment.geometry.coronal import COBB_METHODS, CobbMethod
from spinecheck.alignment.measure import measure
from spinecheck.alignment.render.text import study_report
from spinecheck.alignment.study import load_study
from spinecheck.cli import _COMMAND_FLAGS, _FLAGS, build_parser, main
from spinecheck.landmarks.annotate.protocol import get_protocol
from spinecheck.landmarks.errors import (
    InvalidArgumentError,
    InvalidCriteriaError,
    InvalidLandmarksError,
    SpinecheckError,
)
from spinecheck.landmarks.io.wide_csv import write_landmark_table
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.refine.endplate import BodySide, refine_endplate

POINTS = {"S1.sup.post": [100, 500], "S1.sup.ant": [140, 520], "FH": [160, 600]}

#: A command-line flag as it could appear in a message: ``--word`` or ``-o``.
FLAG = re.compile(r"(?<![\w-])(--[a-z]|-o\b)")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.json"
    path.write_text(
        json.dumps(
            {
                "format": "spinecheck-landmarks/1",
                "view": "lateral",
                "calibration": {"mm_per_px": [0.5, 0.5]},
                "points": POINTS,
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    write_study(root, "a.dcm")
    return root


def _raises(call, kind, argument):
    with pytest.raises(kind) as info:
        call()
    e = info.value
    assert isinstance(e, SpinecheckError) and isinstance(e, ValueError)
    assert e.argument == argument
    assert str(e).startswith(argument), str(e)
    assert not FLAG.search(str(e)), str(e)
    return e


def test_measure_names_its_arguments():
    s = LandmarkSet("lateral", POINTS)
    e = _raises(lambda: measure(s, cobb_method="x"), InvalidArgumentError, "cobb_method")
    assert str(e) == "cobb_method: must be one of 'endplate', 'midline'; got 'x'"
    _raises(lambda: measure(s, min_curve_deg=-1.0), InvalidArgumentError, "min_curve_deg")


def test_load_study_names_its_arguments(good, tmp_path):
    e = _raises(lambda: load_study(good, age=-3), InvalidArgumentError, "age")
    assert str(e) == "age: must be years between 0 and 130; got -3"
    _raises(lambda: load_study(good, min_curve_deg=float("nan")), InvalidArgumentError, "min_curve_deg")
    _raises(lambda: load_study(good, cobb_method="x"), InvalidArgumentError, "cobb_method")
    _raises(lambda: load_study(good, age_set="schwab2013-odi40"), InvalidCriteriaError, "age_set")
    with pytest.raises(InvalidLandmarksError, match="mm_per_px") as info:
        load_study(good, mm_per_px=[0, 1])
    assert not FLAG.search(str(info.value))


def test_load_study_names_the_image_argument(tmp_path):
    image, _ = write_study(tmp_path, "a.dcm", landmarks=None)
    table = tmp_path / "two.csv"
    write_landmark_table(LandmarkTable.from_sets([LandmarkSet("lateral", POINTS)] * 2), table)
    e = _raises(lambda: load_study(table, image=image), InvalidArgumentError, "image")
    assert str(e) == f"image '{image}': applies to one study, but '{table}' holds 2"


def test_a_film_that_does_not_fit_is_named_as_the_image_argument(capsys, tmp_path):
    image, _ = write_study(tmp_path, "a.dcm", landmarks=None)
    table = tmp_path / "one.csv"  # a table row names no landmark file: the message names the image
    far = {"S1.sup.ant": (5000, 5000), "S1.sup.post": (10, 10)}
    write_landmark_table(LandmarkTable.from_sets([LandmarkSet("lateral", far)]), table)
    e = _raises(lambda: load_study(table, image=image), InvalidLandmarksError, "image")
    assert str(e).startswith(f"image '{image}': point \"S1.sup.ant\" [5000, 5000] lies outside the image")
    assert main(["measure", str(table), "--image", str(image)]) == 2
    assert capsys.readouterr().err == "error: --" + str(e) + "\n"  # the words of today's command line


def test_run_batch_names_its_arguments(root, tmp_path):
    out = tmp_path / "t.csv"
    _raises(lambda: run_batch(root, out, jobs=0), BatchError, "jobs")
    _raises(lambda: run_batch(root, out, chunk_size=0), BatchError, "chunk_size")
    _raises(lambda: run_batch(root, tmp_path / "t.txt"), BatchError, "output")
    _raises(lambda: run_batch(root, out, landmarks_dir=tmp_path / "nowhere"), BatchError, "landmarks_dir")
    bad = BatchOptions(min_curve_deg=-1.0)
    _raises(lambda: run_batch(root, out, options=bad), BatchError, "min_curve_deg")
    _raises(lambda: run_batch(root, out, options=BatchOptions(cobb_method="x")), BatchError, "cobb_method")
    e = _raises(lambda: run_batch(root, out, resume=True, overwrite=True), BatchError, "resume")
    assert str(e) == "resume and overwrite: choose one (continue the table, or start it again)"
    out.write_text("image,landmarks\n")
    e = _raises(lambda: run_batch(root, out), BatchError, "output")
    assert str(e).endswith("the table exists; resume=True continues it, overwrite=True starts it again")
    e = _raises(lambda: run_batch(root, out, resume=True, progress=False), BatchError, "resume")
    assert "start again with overwrite=True or another output" in str(e)
    out.write_bytes(b"\xff\xfe\n")
    e = _raises(lambda: run_batch(root, out, resume=True, progress=False), BatchError, "resume")
    assert "UTF-8" in str(e)


def test_assess_and_protocols_name_their_arguments():
    m = measure(LandmarkSet("lateral", POINTS))
    _raises(lambda: assess(m, np.array([60.0]), age_set="schwab2013-odi40"), InvalidCriteriaError, "age_set")
    e = _raises(lambda: get_protocol("sagittal"), InvalidLandmarksError, "name")
    assert str(e) == "name: unknown protocol 'sagittal'; expected one of lateral, lateral-core, ap"


def test_an_error_about_an_argument_is_worded_again_with_other_names():
    e = BatchError.about(
        "output",
        "{output} '{path}': exists; {overwrite} starts it again ({braces})",
        names={"overwrite": "overwrite=True"},
        path="a{b}.csv",
        braces="{}",
    )
    assert str(e) == "output 'a{b}.csv': exists; overwrite=True starts it again ({})"
    assert e.message({"output": "-o"}) == "-o 'a{b}.csv': exists; overwrite=True starts it again ({})"
    assert e.message({"output": "-o", "overwrite": "--overwrite"}).endswith(
        "--overwrite starts it again ({})"
    )
    again = pickle.loads(pickle.dumps(e))  # as it comes back from a worker process
    assert again.argument == "output" and again.message({"output": "-o"}) == e.message({"output": "-o"})
    plain = InvalidLandmarksError("a.json: bad")
    assert plain.argument is None and plain.message(_FLAGS) == "a.json: bad"


def test_every_flag_the_command_line_names_is_one_of_its_flags():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    options = {s for p in subparsers.values() for a in p._actions for s in a.option_strings}
    assert set(_FLAGS.values()) <= options
    for command, flags in _COMMAND_FLAGS.items():
        # a command with actions of its own (pacs find, fetch, ...) names the flags of all of them
        actions = [*subparsers[command]._actions]
        for a in subparsers[command]._actions:
            for nested in a.choices.values() if isinstance(a, argparse._SubParsersAction) else ():
                actions += nested._actions
        named = {s for a in actions for s in a.option_strings}
        named |= {a.metavar for a in actions if not a.option_strings}  # positionals
        assert set(flags.values()) <= named


@pytest.mark.parametrize(
    "argv, line",
    [
        pytest.param(
            ["measure", "{good}", "--min-curve-deg", "-1"],
            "--min-curve-deg: must be a finite number of degrees >= 0; got -1",
            id="min-curve-deg",
        ),
        pytest.param(
            ["measure", "{good}", "--age", "200"], "--age: must be years between 0 and 130; got 200", id="age"
        ),
        pytest.param(
            ["measure", "{good}", "--mm-per-px", "0", "1"],
            '--mm-per-px: "ROW COL" must be [row, col] millimetres per pixel, two numbers > 0; got [0.0, 1.0]',
            id="mm-per-px",
        ),
        pytest.param(
            ["measure", "{good}", "--age-set", "schwab2013-odi40"],
            "--age-set 'schwab2013-odi40': does not depend on age; age sets are",
            id="age-set",
        ),
        pytest.param(
            ["batch", "{root}", "-o", "{tmp}/t.csv", "--resume", "--overwrite"],
            "--resume and --overwrite: choose one (continue the table, or start it again)",
            id="resume-and-overwrite",
        ),
        pytest.param(
            ["batch", "{root}", "-o", "{tmp}/t.txt"],
            "-o '{tmp}/t.txt': the batch table is a .csv file; got '.txt'",
            id="output-suffix",
        ),
        pytest.param(
            ["batch", "{root}", "-o", "{tmp}/t.csv", "--jobs", "0"],
            "--jobs: must be a number of worker processes >= 1; got 0",
            id="jobs",
        ),
        pytest.param(
            ["batch", "{root}", "-o", "{tmp}/t.csv", "--chunk-size", "0"],
            "--chunk-size: must be a number of studies >= 1; got 0",
            id="chunk-size",
        ),
        pytest.param(
            ["batch", "{root}", "-o", "{tmp}/t.csv", "--landmarks", "{tmp}/nowhere"],
            "--landmarks '{tmp}/nowhere': not a folder",
            id="landmarks",
        ),
    ],
)
def test_the_command_line_names_its_flags(capsys, good, root, tmp_path, argv, line):
    fill = {"good": good, "root": root, "tmp": tmp_path}
    code = main([a.format(**fill) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: " + line.format(**fill)) and err.count("\n") == 1, err


def test_the_command_line_names_its_flags_when_a_table_exists(capsys, root, tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("image,landmarks\n")
    assert main(["batch", str(root), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: -o '{out}': the table exists; --resume continues it, --overwrite starts it again\n"
    )
    assert main(["batch", str(root), "-o", str(out), "--resume", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --resume: table '{out}' was not written by this batch")
    assert err.endswith(
        "another spinecheck version, or another --age-set, --criteria or --reference-set, or "
        "--patient-identifiers, --pseudonymise, --dicom or --detect given or not); resume it with the options it was "
        "started with, or start again with --overwrite or another -o\n"
    )


def test_the_annotate_command_names_its_protocol_flag(capsys, tmp_path):
    png, _ = write_study(tmp_path, "a.png", png=True, landmarks=None)
    assert main(["annotate", str(png), "--protocol", "sagittal"]) == 2
    assert capsys.readouterr().err == (
        "error: --protocol: unknown protocol 'sagittal'; expected one of lateral, lateral-core, ap\n"
    )


# ----------------------------------------------------------------------------- printing and logging


def test_the_library_logger_has_a_null_handler():
    handlers = logging.getLogger("spinecheck").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_run_batch_prints_nothing(root, tmp_path, capsys):
    summary = run_batch(root, tmp_path / "t.csv", jobs=1, progress=False)
    assert summary.total == 1 and summary.counts["ok"] == 1
    assert capsys.readouterr() == ("", "")


def _interrupt(jobs, options):
    raise KeyboardInterrupt


def test_an_interrupted_run_batch_says_where_it_stopped_and_prints_nothing(root, tmp_path, capsys):
    out = tmp_path / "t.csv"
    with pytest.raises(BatchInterrupted) as info:
        run_batch(root, out, jobs=1, progress=False, worker=_interrupt)
    assert isinstance(info.value, KeyboardInterrupt)
    assert (info.value.table, info.value.rows) == (str(out), 0)
    assert capsys.readouterr() == ("", "")


def test_the_command_line_says_how_to_continue_an_interrupted_batch(root, tmp_path, capsys, monkeypatch):
    import spinecheck.alignment.batch.runner as runner

    monkeypatch.setattr(runner, "measure_chunk", _interrupt)
    out = tmp_path / "t.csv"
    assert main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet"]) == 130
    assert capsys.readouterr().err == (
        f"interrupted: 0 rows are in '{out}'; rerun with --resume to continue\nerror: interrupted\n"
    )


def _whole_chunks_fail(jobs, options):
    if len(jobs) > 1:
        raise RuntimeError("a chunk that fails as a whole")
    return measure_chunk(jobs, options)


def test_run_batch_logs_what_a_user_of_the_library_may_want_to_know(tmp_path, caplog):
    root = tmp_path / "archive"
    write_study(root, "a.dcm")
    write_study(root, "b.dcm", seed=1)
    out = tmp_path / "t.csv"
    with caplog.at_level(logging.INFO, logger="spinecheck"):
        summary = run_batch(root, out, jobs=1, chunk_size=2, progress=False, worker=_whole_chunks_fail)
        assert summary.counts["ok"] == 2
        run_batch(root, out, jobs=1, resume=True, progress=False)
    said = [(r.name, r.getMessage()) for r in caplog.records]
    assert (
        "spinecheck.alignment.batch.runner",
        "a chunk of 2 studies failed (a chunk that fails as a whole); retrying them one by one",
    ) in said
    assert (
        "spinecheck.alignment.batch.runner",
        f"resuming '{out}': 2 rows kept, 0 studies to measure",
    ) in said


# ----------------------------------------------------------------------------- closed vocabularies


def _ap_set():
    from spinecheck.landmarks.synthetic.films import synthetic_ap

    return synthetic_ap(mm_per_px=1.0).landmarks


@pytest.mark.parametrize("given", [CobbMethod.MIDLINE, "midline", " Midline ", "MIDLINE"])
def test_the_cobb_method_is_an_enum_that_takes_its_string_value(given):
    m = measure(_ap_set(), cobb_method=given)
    assert type(m.curves.method) is str and m.curves.method == "midline"  # the outputs' value, as before
    assert CobbMethod(given) is CobbMethod.MIDLINE and CobbMethod.MIDLINE == "midline"
    assert str(CobbMethod.MIDLINE) == "midline" and COBB_METHODS == ("endplate", "midline")


def test_a_study_report_and_a_batch_row_keep_the_cobb_method_string(tmp_path):
    image, points = write_study(tmp_path, "ap.dcm", view="ap")
    study = load_study(points, cobb_method=CobbMethod.MIDLINE)
    text = json.dumps(study_report(study, 0))
    assert json.loads(text)["conventions"]["cobb_method"] == "midline"
    summary = run_batch(tmp_path, tmp_path / "t.csv", jobs=1, progress=False, options=BatchOptions("Midline"))
    assert summary.counts["ok"] == 1
    with open(tmp_path / "t.csv", newline="") as f:
        assert next(csv.DictReader(f))["cobb_method"] == "midline"


def test_the_body_side_is_an_enum_that_takes_its_string_value():
    img = np.zeros((60, 80))
    img[30:, :] = 100.0
    fit = refine_endplate(img, (15, 26), (65, 33), body_side=" Below")
    assert fit.body_side is BodySide.BELOW and fit.body_side == "below"
    assert refine_endplate(img, (15, 26), (65, 33)).body_side is BodySide.BELOW  # inferred
    e = _raises(
        lambda: refine_endplate(img, (15, 26), (65, 33), body_side="left"), InvalidArgumentError, "body_side"
    )
    assert str(e) == "body_side: must be 'below', 'above' or None; got 'left'"


# ----------------------------------------------------------------------------- bad input is a SpinecheckError


def _film():
    from spinecheck.landmarks.synthetic.films import synthetic_lateral

    return synthetic_lateral(mm_per_px=2.0)


def _bad_calls(tmp_path):
    from spinecheck.landmarks.annotate.session import AnnotationSession
    from spinecheck.landmarks.imaging.display import display_image
    from spinecheck.landmarks.refine.corner import refine_corner
    from spinecheck.landmarks.refine.femoral_head import refine_femoral_head, refine_femoral_head_pair
    from spinecheck.landmarks.refine.points import refine_landmarks, refine_point
    from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_png
    from spinecheck.landmarks.synthetic.spine_model import SpineModel

    img = np.zeros((40, 40))
    m = measure(LandmarkSet("lateral", POINTS))
    flat = np.zeros((4, 4, 3))
    return [
        (lambda: refine_corner(flat, (5, 5), body_y=1), "image"),
        (lambda: refine_corner(img, (5, np.nan), body_y=1), "click"),
        (lambda: refine_corner(img, (5, 5), body_y=0), "body_y"),
        (lambda: refine_corner(img, (5, 5), body_x=2, body_y=1), "body_x"),
        (lambda: refine_corner(img, (5, 5), body_y=1, tilt_deg=np.inf), "tilt_deg"),
        (lambda: refine_corner(img, (5, 5), body_y=1, mm_per_px=-1.0), "mm_per_px"),
        (lambda: refine_endplate(img, (5, 5), (np.nan, 5)), "corner_b"),
        (lambda: refine_femoral_head(img), "click"),
        (lambda: refine_femoral_head(img, (5, 5), radius_range_px=(9, 3)), "radius_range_px"),
        (lambda: refine_femoral_head_pair(img, [(5, 5)]), "clicks"),
        (lambda: refine_point(img, "L1.sup.ant", {}, view="lateral"), "name"),
        (lambda: refine_landmarks(img, LandmarkSet("lateral", POINTS), names=["C2.sup.ant"]), "names"),
        (lambda: AnnotationSession(tmp_path / "a.json", "lateral", image=flat), "image"),
        (lambda: AnnotationSession(tmp_path / "a.json", "lateral", refiner=lambda *a: None), "refiner"),
        (lambda: display_image(flat), "image"),
        (lambda: assess(m, np.array([60.0, 70.0])), "age_years"),
        (lambda: assess(m, reference_sets=["hasegawa2016", "hasegawa2016"]), None),
        (lambda: get_protocol("lateral").index("FH.left.x"), None),
        (lambda: write_png(_film(), tmp_path / "a.png", bits=12), None),
        (lambda: synthetic_lateral(facing="up"), None),
        (lambda: SpineModel(pelvic_radius_mm=0.0), None),
    ]


def test_bad_input_is_a_spinecheck_error_that_names_its_argument(tmp_path):
    for call, argument in _bad_calls(tmp_path):
        with pytest.raises(SpinecheckError) as info:
            call()
        e = info.value
        assert isinstance(e, ValueError), repr(e)  # `except ValueError` keeps working
        assert e.argument == argument, repr(e)
        if argument is not None:
            assert re.search(rf"(?<![\w-]){argument}\b", str(e)), repr(e)
        assert not FLAG.search(str(e)), repr(e)


#: What a user must never read: a spec's section number, a decoder's own words, a Python parameter
#: where the command line has a flag, an errno. The detail stays in the exception chain (--traceback).
_INTERNALS = re.compile(r"§|decoders said|\b(frame|page)=|\[Errno")


def _message_literals():
    """Every string literal of the package's modules that is not a docstring, with its place."""
    root = Path(spinecheck.__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        if {"tests", "bench", "notebooks", "build"} & set(path.relative_to(root).parts[:1]):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                yield f"{path.relative_to(root)}:{node.lineno}", node.value


def test_no_message_quotes_the_spec_a_decoder_a_parameter_name_or_an_errno():
    leaks = [
        f"{where}: {text[:80]!r}"
        for where, text in _message_literals()
        # a parameter definition's citation of the spec is data for developers, not a message
        if _INTERNALS.search(text)
        and not (where.startswith("alignment/parameters.py") and text.startswith("clinical.md"))
    ]
    assert leaks == []


def test_the_command_line_says_flags_and_no_errno(capsys, tmp_path):
    assert main(["info", str(tmp_path / "gone.dcm")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err and not _INTERNALS.search(err)
    run = dx_file(tmp_path / "run.dcm", np.stack([gradient()] * 3), Modality="RF")
    assert main(["info", str(run)]) == 2
    err = capsys.readouterr().err
    assert "choose one with --frame (0..2)" in err and not _INTERNALS.search(err)
    assert main(["info", str(run), "--frame", "5"]) == 2
    err = capsys.readouterr().err
    assert "frame 5 is out of range" in err and not _INTERNALS.search(err)
