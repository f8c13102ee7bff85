"""Every shipped set selectable (issue 14).

``--criteria``, ``--reference-set`` and ``--age-set`` for measure, plot, report and batch;
``load_study`` and ``BatchOptions`` take the same; ``spinecheck criteria`` lists them all.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from batch_factory import write_study
from spinecheck.alignment.batch.runner import BatchOptions, batch_header
from spinecheck.alignment.criteria.catalogue import SET_KINDS, shipped_sets
from spinecheck.alignment.criteria.engine import DEFAULT_CRITERIA, assess, check_set_source
from spinecheck.alignment.criteria.rules import Status, builtin_kind, builtin_sets
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidCriteriaError
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom


@pytest.fixture(scope="module")
def lateral(tmp_path_factory):
    """A synthetic lateral film (Pixel Spacing 0.5 mm, age 67) and its landmark file."""
    folder = tmp_path_factory.mktemp("lateral")
    film = synthetic_lateral(mm_per_px=0.5)
    dcm = write_dicom(film, folder / "lat.dcm", patient_age=67)
    points = folder / "lat.json"
    write_landmarks(film.landmarks, points)
    return dcm, points


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def criterion_ids(report: dict) -> set[str]:
    return {row["id"] for row in report["criteria"]}


# ----------------------------------------------------------------------------- library


def test_load_study_applies_the_chosen_sets(lateral):
    dcm, points = lateral
    study = load_study(
        points, image=dcm, criteria=["gap"], reference_sets=["hasegawa2016", "schwab2013-odi40"]
    )
    ids = set(study.assessment.ids)
    assert "gap" in ids and not any(
        i.startswith(("balance", "sagittal_balance", "srs_schwab", "tpa")) for i in ids
    )
    assert {"hasegawa2016.ll", "schwab2013_odi40.pt", "age_adjusted.pt"} <= ids
    names = [s.name for s in study.assessment.sets]
    assert names == ["gap", "lafage2016-linear", "hasegawa2016", "schwab2013-odi40"]
    default = load_study(points, image=dcm)
    assert [s.name for s in default.assessment.sets][: len(DEFAULT_CRITERIA)] == list(DEFAULT_CRITERIA)


def test_load_study_without_age_set_or_criteria(lateral):
    dcm, points = lateral
    study = load_study(points, image=dcm, age_set=None, criteria=(), reference_sets="normative-pi-age-2025")
    assert {c.criterion_set.name for c in study.assessment.columns} == {"normative-pi-age-2025"}


@pytest.mark.parametrize(
    "source, argument, words",
    [
        pytest.param(
            "gapp",
            "criteria",
            "criteria 'gapp': no such shipped set or file; the shipped criterion sets are balance, gap",
            id="unknown-criteria",
        ),
        pytest.param(
            "lafage2016-linear",
            "criteria",
            "criteria 'lafage2016-linear': is a target set, not one of the criterion sets; "
            "give it as age_set or in reference_sets",
            id="target-as-criteria",
        ),
        pytest.param(
            "gap",
            "reference_sets",
            "reference_sets 'gap': is a criterion set, not one of the target sets; give it as criteria",
            id="criteria-as-reference",
        ),
        pytest.param(
            "nope",
            "reference_sets",
            "reference_sets 'nope': no such shipped set or file; the shipped target sets are "
            "hasegawa2016, lafage2016-linear, normative-pi-age-2025, schwab2013-odi40",
            id="unknown-reference",
        ),
        pytest.param(
            "nope",
            "age_set",
            "age_set 'nope': no such shipped set or file; the shipped age sets are "
            "hasegawa2016, lafage2016-linear, normative-pi-age-2025",
            id="unknown-age-set",
        ),
    ],
)
def test_a_wrong_set_is_one_line_naming_the_argument_and_the_shipped_sets(source, argument, words):
    with pytest.raises(InvalidCriteriaError) as info:
        check_set_source(source, argument)
    assert info.value.argument == argument and str(info.value).startswith(words), str(info.value)
    kwargs = {"age_set": None, argument: source if argument == "age_set" else [source]}
    with pytest.raises(InvalidCriteriaError, match=f"^{argument} "):
        assess(_empty_measurements(), **kwargs)


def _empty_measurements():
    from spinecheck.alignment.measure import measure
    from spinecheck.landmarks.points.model import LandmarkSet

    return measure(LandmarkSet("lateral", {"S1.sup.ant": (10.0, 10.0), "S1.sup.post": (0.0, 10.0)}))


def test_a_user_file_is_selectable_as_criteria(lateral, tmp_path):
    dcm, points = lateral
    data = json.loads(builtin_sets()["tpa"].read_text(encoding="utf-8"))
    data["name"] = "site-tpa"
    path = tmp_path / "site-tpa.json"
    path.write_text(json.dumps(data))
    study = load_study(points, image=dcm, criteria=[path])
    assert study.assessment.sets[0].user_supplied and study.assessment.sets[0].name == "site-tpa"


# ----------------------------------------------------------------------------- the catalogue


def test_shipped_sets_lists_every_file_with_its_kind_status_and_argument():
    sets = shipped_sets()
    assert {s.name for s in sets} == {n for n in builtin_sets() if builtin_kind(n) in SET_KINDS}
    for s in sets:
        assert s.info.sources and s.info.title
        assert not (s.default and s.status is Status.U), f"{s.name}: a [U] set is never a default"
    by_name = {s.name: s for s in sets}
    assert all(by_name[n].default and by_name[n].arguments == ("criteria",) for n in DEFAULT_CRITERIA)
    assert by_name["lafage2016-linear"].default
    assert by_name["schwab2013-odi40"].arguments == ("reference_sets",)
    assert by_name["hasegawa2016"].arguments == ("age_set", "reference_sets")


def test_criteria_command_lists_the_sets_in_words_and_json(capsys):
    code, out, err = run(capsys, "criteria")
    assert code == 0 and err == ""
    for s in shipped_sets():
        line = next(line for line in out.splitlines() if line.split()[:1] == [s.name])
        assert f"[{s.status.value}]" in line and s.info.title in line
        assert (" * " in line) is s.default
    assert "Criterion sets (--criteria" in out and "--reference-set" in out
    code, out, _ = run(capsys, "criteria", "--format", "json")
    listed = {d["name"]: d for d in json.loads(out)}
    assert listed.keys() == {s.name for s in shipped_sets()}
    assert listed["gap"]["options"] == ["--criteria"] and listed["gap"]["default"] is True
    assert listed["schwab2013-odi40"]["options"] == ["--reference-set"]
    assert listed["hasegawa2016"]["sources"][0]["year"] == 2016


# ----------------------------------------------------------------------------- the command line


def test_measure_takes_criteria_and_reference_sets(capsys, lateral):
    dcm, points = lateral
    argv = ["measure", points, "--image", dcm, "--format", "json"]
    code, out, _ = run(
        capsys, *argv, "--criteria", "gap", "--criteria", "tpa", "--reference-set", "hasegawa2016"
    )
    assert code == 0
    ids = criterion_ids(json.loads(out))
    assert {"gap", "tpa.category", "hasegawa2016.ll", "age_adjusted.pt"} <= ids
    assert not any(i.startswith(("srs_schwab", "sagittal_balance", "roussouly")) for i in ids)
    code, out, _ = run(capsys, *argv)
    assert {"srs_schwab.pi_ll", "sagittal_balance.sva", "roussouly.type"} <= criterion_ids(json.loads(out))


@pytest.mark.parametrize(
    "argv, line",
    [
        pytest.param(
            ["--criteria", "gapp"],
            "error: --criteria 'gapp': no such shipped set or file; the shipped criterion sets are ",
            id="unknown",
        ),
        pytest.param(
            ["--criteria", "hasegawa2016"],
            "error: --criteria 'hasegawa2016': is a target set, not one of the criterion sets; "
            "give it as --age-set or in --reference-set",
            id="target",
        ),
        pytest.param(
            ["--reference-set", "srs-schwab"],
            "error: --reference-set 'srs-schwab': is a criterion set, not one of the target sets; "
            "give it as --criteria",
            id="criteria",
        ),
        pytest.param(
            ["--age-set", "gap"],
            "error: --age-set 'gap': is a criterion set, not one of the age sets; give it as --criteria",
            id="age",
        ),
    ],
)
def test_a_wrong_set_on_the_command_line_is_one_line(capsys, lateral, argv, line):
    _, points = lateral
    for command in (["measure", points], ["report", lateral[0], points, "-o", "x.pdf"]):
        code, out, err = run(capsys, *command, *argv)
        assert code == 2 and out == "" and err.startswith(line) and err.count("\n") == 1, err


@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_honour_the_chosen_sets(capsys, lateral, tmp_path, monkeypatch, command):
    """The page and the figure draw the study judged with the sets of the command line."""
    dcm, points = lateral
    seen = {}

    def capture(image, study, i, **kw):
        seen["sets"] = [s.name for s in study.assessment.sets]
        raise SystemExit(0)

    module, name = {
        "plot": ("spinecheck.alignment.plots.films", "figure_for"),  # the CLI draws through spinecheck.plot
        "report": ("spinecheck.alignment.render.pages", "report_figure"),
    }[command]
    monkeypatch.setattr(f"{module}.{name}", capture)
    out = tmp_path / "x.png"
    with pytest.raises(SystemExit):
        main(
            [
                command,
                str(dcm),
                str(points),
                "-o",
                str(out),
                "--criteria",
                "gap",
                "--reference-set",
                "hasegawa2016",
                "--age-set",
                "normative-pi-age-2025",
            ]
        )
    assert seen["sets"] == ["gap", "normative-pi-age-2025", "hasegawa2016"]


# ----------------------------------------------------------------------------- batch


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    for i in range(3):
        write_study(root, f"film{i}.dcm", view="lateral", seed=i)
    return root


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_batch_applies_the_chosen_sets_like_measure(archive, tmp_path, capsys):
    sets = ["--criteria", "gap", "--reference-set", "hasegawa2016", "--age-set", "normative-pi-age-2025"]
    out = tmp_path / "t.csv"
    assert main(["batch", str(archive), "-o", str(out), "--jobs", "1", "--quiet", *sets]) == 0
    options = BatchOptions(
        criteria=("gap",), reference_sets=("hasegawa2016",), age_set="normative-pi-age-2025"
    )
    rows = _rows(out)
    assert tuple(rows[0].keys()) == batch_header(options)
    assert "gap_total" in rows[0] and "hasegawa2016_ll_flag" in rows[0] and "balance_coronal" not in rows[0]
    assert rows[0]["age_adjusted_set"] == "normative-pi-age-2025"
    capsys.readouterr()
    main(
        [
            "measure",
            str(archive / "film0.json"),
            "--image",
            str(archive / "film0.dcm"),
            "--format",
            "csv",
            *sets,
        ]
    )
    single = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    batch_row = next(r for r in rows if r["image"] == "film0.dcm")
    for column in (
        "gap",
        "gap_total",
        "gap_ldi_pct",
        "hasegawa2016_ll_target_deg",
        "age_adjusted_tpa_target_deg",
    ):
        assert batch_row[column] == single[column], column


def test_batch_resume_refuses_a_table_made_with_other_sets(archive, tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["batch", str(archive), "-o", str(out), "--jobs", "1", "--quiet", "--criteria", "gap"]) == 0
    before = out.read_bytes()
    for other in (["--criteria", "tpa"], [], ["--criteria", "gap", "--reference-set", "hasegawa2016"]):
        code = main(["batch", str(archive), "-o", str(out), "--resume", "--jobs", "1", "--quiet", *other])
        err = capsys.readouterr().err
        assert code == 2 and "--criteria" in err and "--reference-set" in err and err.count("\n") == 1, err
        assert out.read_bytes() == before
    assert (
        main(
            ["batch", str(archive), "-o", str(out), "--resume", "--jobs", "1", "--quiet", "--criteria", "gap"]
        )
        == 0
    )


def test_batch_options_take_a_user_file_by_absolute_path(archive, tmp_path, monkeypatch):
    """A set file named relative to where batch was started still reaches workers that run elsewhere."""
    data = json.loads(builtin_sets()["tpa"].read_text(encoding="utf-8"))
    data["name"] = "site-tpa"
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "site-tpa.json").write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    seen = {}
    real = BatchOptions.__post_init__

    def spy(self):
        real(self)
        seen["criteria"] = self.criteria

    monkeypatch.setattr(BatchOptions, "__post_init__", spy)
    out = tmp_path / "t.csv"
    assert (
        main(
            [
                "batch",
                str(archive),
                "-o",
                str(out),
                "--jobs",
                "1",
                "--quiet",
                "--criteria",
                "sets/site-tpa.json",
            ]
        )
        == 0
    )
    assert seen["criteria"] == (str((tmp_path / "sets" / "site-tpa.json").resolve()),)
    assert _rows(out)[0]["tpa_category"] != ""
    assert np.isfinite(float(_rows(out)[0]["TPA_deg"]))
