"""Never destroy a file (issue 13, 3): atomic writes, an input never an output, no replacing unasked.

The findings: ``plot film.png lm.mat -o film.png`` replaced the radiograph with the figure (exit 0), and
so did ``report -o film.png``; a kill during ``plot -o``/``report -o`` left a truncated PNG or an empty
PDF; a ``TABLE.parquet`` beside the CSV was replaced without ``--overwrite``; the landmark autosave left
its ``.tmp`` files behind (138 after 300 kills).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from batch_factory import film, write_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError
from spinecheck.landmarks.io.atomic import (
    remove_stale_temporaries,
    stale_temporaries,
    write_atomic,
    write_text_atomic,
)
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.io.outputs import check_output, same_file
from spinecheck.landmarks.points.model import ImageRef, PatientInfo
from spinecheck.landmarks.synthetic.films import write_dicom, write_png


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "spinecheck-tmp" in p.name or p.name.endswith(".tmp"))


@pytest.fixture
def png_study(tmp_path):
    """A lateral PNG film and its landmark file (pixels, no calibration)."""
    f = film("lateral")
    image = write_png(f, tmp_path / "film.png")
    points = tmp_path / "film.json"
    rows, cols = f.shape
    write_landmarks(
        f.landmarks.replace(
            image=ImageRef(path="film.png", rows=rows, columns=cols), patient=PatientInfo(), source=None
        ),
        points,
    )
    return image, points


@pytest.fixture
def dicom_study(tmp_path):
    f = film("lateral")
    image = write_dicom(f, tmp_path / "lat.dcm", patient_age=60)
    points = tmp_path / "lat.json"
    write_landmarks(f.landmarks.replace(patient=PatientInfo(), source=None), points)
    return image, points


# ----------------------------------------------------------------------------- the helpers


def test_same_file_sees_through_links_and_spellings(tmp_path):
    a = tmp_path / "film.png"
    a.write_bytes(b"x")
    (tmp_path / "sym.png").symlink_to(a)
    os.link(a, tmp_path / "hard.png")
    (tmp_path / "sub").mkdir()
    assert same_file(tmp_path / "sym.png", a)
    assert same_file(tmp_path / "hard.png", a)  # a hard link: another name, one inode
    assert same_file(tmp_path / "sub" / ".." / "film.png", a)
    assert not same_file(tmp_path / "other.png", a)
    # an output that does not exist yet but is reached through a linked folder
    (tmp_path / "linked").symlink_to(tmp_path / "sub")
    assert same_file(tmp_path / "linked" / "x.png", tmp_path / "sub" / "x.png")


def test_check_output_refuses_an_input_even_with_overwrite_and_an_existing_file_without(tmp_path):
    film_ = tmp_path / "film.png"
    film_.write_bytes(b"film")
    with pytest.raises(InvalidArgumentError, match=r"is the input .*film.png'; writing it would destroy"):
        check_output(film_, inputs=[None, film_], overwrite=True)
    with pytest.raises(InvalidArgumentError, match="exists; overwrite=True replaces it") as e:
        check_output(film_)
    assert e.value.message({"output": "-o", "overwrite": "--overwrite"}).endswith(
        "exists; --overwrite replaces it"
    )
    with pytest.raises(InvalidArgumentError, match="is a folder"):
        check_output(tmp_path, overwrite=True)
    assert check_output(film_, overwrite=True) == film_
    assert check_output(tmp_path / "new.png", inputs=[film_]) == tmp_path / "new.png"
    assert film_.read_bytes() == b"film"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("old\n")
    os.chmod(out, 0o640)

    def half_then_fail(f):
        f.write(b"new,half")
        raise KeyboardInterrupt  # even Ctrl-C in the middle

    with pytest.raises(KeyboardInterrupt):
        write_atomic(out, half_then_fail)
    assert out.read_text() == "old\n" and temps(tmp_path) == []
    write_text_atomic(out, "new\n")
    assert out.read_text() == "new\n" and temps(tmp_path) == []
    assert (out.stat().st_mode & 0o777) == 0o640  # the replaced file's mode is kept


def test_stale_temporary_files_are_those_of_dead_writers_only(tmp_path):
    out = tmp_path / "t.pdf"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".t.pdf.spinecheck-tmp-{sleeper.pid}-00000000"
        dead = tmp_path / ".t.pdf.spinecheck-tmp-999999999-00000000"
        legacy = tmp_path / ".t.pdf.999999998.tmp"  # the batch's old name
        other = tmp_path / ".u.pdf.spinecheck-tmp-999999999-00000000"  # another file's
        for p in (live, dead, legacy, other):
            p.write_bytes(b"%PDF-")
        assert stale_temporaries(out) == sorted([dead, legacy])
        write_text_atomic(out, "x")  # every write cleans first
        assert temps(tmp_path) == sorted([live.name, other.name])
        assert remove_stale_temporaries(tmp_path / "u.pdf") == [other]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert stale_temporaries(out) == [live]  # its writer is gone now


# ----------------------------------------------------------------------------- killed writers

_KILLED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from spinecheck.alignment.render.files import save_figure, save_pdf
    from spinecheck.landmarks.io import atomic
    from spinecheck.landmarks.io.csv_cells import csv_text

    kind, out, ready = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    def stall(fd):  # the whole file is in the temporary file, not yet renamed: be killed here
        ready.write_text(str(os.getpid()))
        time.sleep(60)

    atomic.os.fsync = stall
    fig = Figure(figsize=(8, 8))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot(range(1000))
    if kind == "png":
        save_figure(fig, out, dpi=200)
    elif kind == "pdf":
        save_pdf([fig, fig], out)
    else:
        atomic.write_text_atomic(out, csv_text([["image", "SVA_mm"]] + [[f"f{i}.dcm", -12.5] for i in range(100000)]))
    """
)


@pytest.mark.parametrize("kind", ["png", "pdf", "csv"])
def test_a_writer_killed_mid_write_leaves_the_old_file_whole_and_the_next_write_cleans_up(tmp_path, kind):
    out = tmp_path / f"out.{kind}"
    old = b"the previous output, intact"
    out.write_bytes(old)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, kind, str(out), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), f"the writer ended first ({proc.poll()})"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert out.read_bytes() == old
    left = temps(tmp_path)
    assert len(left) == 1 and left[0].startswith(f".out.{kind}.spinecheck-tmp-{proc.pid}-")
    assert (tmp_path / left[0]).stat().st_size > 1000  # it was killed with a whole file unrenamed
    write_text_atomic(out, "next run")
    assert out.read_text() == "next run" and temps(tmp_path) == []


def test_plot_killed_while_saving_keeps_the_old_figure_and_the_next_plot_removes_its_temporary(
    tmp_path, dicom_study
):
    image, points = dicom_study
    out = tmp_path / "figure.png"
    out.write_bytes(b"old figure")
    cmd = [
        sys.executable,
        "-m",
        "spinecheck.cli",
        "plot",
        image,
        points,
        "-o",
        out,
        "--overwrite",
        "--dpi",
        "900",
    ]
    proc = subprocess.Popen([str(c) for c in cmd], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not temps(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert temps(tmp_path), f"no temporary file seen before plot ended ({proc.poll()})"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert out.read_bytes() == b"old figure"  # never a torn PNG
    assert len(temps(tmp_path)) == 1
    assert main(["plot", str(image), str(points), "-o", str(out), "--overwrite", "--dpi", "30"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and temps(tmp_path) == []


# ----------------------------------------------------------------------------- an input is never an output


def test_plot_and_report_refuse_the_radiograph_as_their_output(capsys, png_study):
    image, points = png_study
    before = image.read_bytes()
    for command in ("plot", "report"):
        for extra in ([], ["--overwrite"]):
            code, out, err = run(capsys, command, image, points, "-o", image, *extra)
            assert code == 2 and out == ""
            assert (
                err == f"error: -o '{image}': is the input '{image}'; writing it would destroy the input: "
                "choose another -o\n"
            )
    assert image.read_bytes() == before


def test_an_input_reached_through_a_link_is_refused(capsys, png_study, tmp_path):
    image, points = png_study
    (tmp_path / "link.png").symlink_to(image)
    code, _, err = run(capsys, "plot", image, points, "-o", tmp_path / "link.png", "--overwrite")
    assert code == 2 and "is the input" in err and err.count("\n") == 1
    # a criterion set given as a file is an input too
    own = tmp_path / "my-targets.png"  # a site's target set, oddly named
    own.write_text("{}")
    code, _, err = run(capsys, "plot", image, points, "-o", own, "--age-set", own, "--overwrite")
    assert code == 2 and "is the input" in err and own.read_text() == "{}"  # refused before the set is read


def test_compare_refuses_a_film_as_its_page_or_table(capsys, tmp_path):
    paths = []
    for k in (1, 2):
        f = film("lateral", seed=k)
        image = write_png(f, tmp_path / f"f{k}.png")
        points = tmp_path / f"f{k}.json"
        write_landmarks(
            f.landmarks.replace(image=ImageRef(path=image.name), patient=PatientInfo(), source=None), points
        )
        paths += [image, points]
    before = paths[0].read_bytes()
    code, _, err = run(capsys, "compare", *paths, "-o", paths[0], "--overwrite")
    assert code == 2 and "is the input" in err and paths[0].read_bytes() == before
    (tmp_path / "t.csv").symlink_to(paths[1])
    code, _, err = run(capsys, "compare", *paths, "-o", tmp_path / "c.pdf", "--table", tmp_path / "t.csv")
    assert code == 2 and err.startswith("error: --table ") and "is the input" in err
    assert not (tmp_path / "c.pdf").exists()


def test_convert_refine_and_annotate_refuse_their_inputs(capsys, dicom_study, tmp_path, monkeypatch):
    image, points = dicom_study
    text = points.read_text()
    code, _, err = run(capsys, "convert", image, points, "-o", points, "--overwrite")
    assert code == 2 and "is the input" in err
    code, _, err = run(capsys, "refine", image, points, "-o", points)
    assert code == 2 and "--in-place to replace it" in err
    (tmp_path / "film.json").symlink_to(image)  # a .json name that is the film
    code, _, err = run(capsys, "refine", image, points, "-o", tmp_path / "film.json", "--overwrite")
    assert code == 2 and f"is the input '{image}'" in err
    monkeypatch.setenv("CI", "1")
    code, _, err = run(capsys, "annotate", image, "-o", tmp_path / "film.json")
    assert code == 2 and f"is the input '{image}'" in err
    assert points.read_text() == text and image.read_bytes()[128:132] == b"DICM"
    monkeypatch.delenv("CI")
    code, _, err = run(capsys, "refine", image, points, "-o", points, "--in-place", "--max-shift-px", "1")
    assert code == 0, err  # --in-place: the landmark file may be replaced, without --overwrite
    assert "refinement" in points.read_text()


def test_instability_refuses_a_film_as_its_page(capsys, tmp_path):
    from test_instability import write_pair  # the dynamic pair the instability tests use

    p = write_pair(tmp_path, film("lateral"))
    (flex, flex_img), (ext, ext_img) = p["flexion"], p["extension"]
    before = flex_img.read_bytes()
    page = tmp_path / "page.png"
    page.symlink_to(flex_img)  # a page name that is the flexion film
    code, _, err = run(
        capsys,
        "instability",
        flex,
        ext,
        "--flexion-image",
        flex_img,
        "--extension-image",
        ext_img,
        "-o",
        page,
        "--overwrite",
    )
    assert code == 2 and "is the input" in err and flex_img.read_bytes() == before


# ----------------------------------------------------------------------------- no replacing unasked


def test_plot_report_convert_and_refine_replace_an_existing_output_only_with_overwrite(
    capsys, dicom_study, tmp_path
):
    image, points = dicom_study
    cases = [
        ("plot", tmp_path / "f.png", []),
        ("report", tmp_path / "r.pdf", []),
        ("convert", tmp_path / "c.mrk.json", []),
        ("refine", tmp_path / "r.json", ["--max-shift-px", "1"]),
    ]
    for command, out, extra in cases:
        out.write_text("keep me")
        code, _, err = run(capsys, command, image, points, "-o", out, *extra)
        assert code == 2 and err == f"error: -o '{out}': exists; --overwrite replaces it\n", command
        assert out.read_text() == "keep me"
        code, _, err = run(capsys, command, image, points, "-o", out, *extra, "--overwrite")
        assert code == 0, err
        assert out.read_bytes() != b"keep me" and temps(tmp_path) == []


def test_compare_checks_every_page_and_the_table_before_writing_any(capsys, tmp_path):
    paths = []
    for k in (1, 2, 3):
        f = film("lateral", seed=k)
        image = write_png(f, tmp_path / f"f{k}.png")
        points = tmp_path / f"f{k}.json"
        write_landmarks(
            f.landmarks.replace(image=ImageRef(path=image.name), patient=PatientInfo(), source=None), points
        )
        paths += [image, points]
    out, second = tmp_path / "s.png", tmp_path / "s-2.png"
    second.write_text("an earlier page 2")
    code, _, err = run(capsys, "compare", *paths, "-o", out, "--table", tmp_path / "s.csv")
    assert code == 2 and f"-o '{second}': exists" in err
    assert not out.exists() and not (tmp_path / "s.csv").exists()  # nothing written: the refusal came first
    code, _, err = run(capsys, "compare", *paths, "-o", out, "--table", tmp_path / "s.csv", "--overwrite")
    assert code == 0, err
    assert second.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "s.csv").exists()
    code, _, err = run(capsys, "compare", *paths, "-o", tmp_path / "n.pdf", "--table", tmp_path / "s.csv")
    assert code == 2 and f"--table '{tmp_path / 's.csv'}': exists; --overwrite replaces it" in err


def test_demo_refuses_a_folder_holding_an_earlier_demo(capsys, tmp_path):
    from spinecheck.alignment.demo import DEMO_FILES

    out = tmp_path / "demo"
    out.mkdir()
    (out / "table.csv").write_text("mine")
    code, _, err = run(capsys, "demo", "--out", out)
    assert code == 2 and "holds an earlier demo (table.csv)" in err and "--overwrite replaces it" in err
    assert (out / "table.csv").read_text() == "mine"
    assert len(DEMO_FILES) == 13


def test_batch_refuses_an_existing_parquet_copy_and_a_full_figures_folder(capsys, tmp_path):
    root = tmp_path / "archive"
    write_study(root, "a.dcm")
    table = tmp_path / "t.csv"
    parquet = tmp_path / "t.parquet"
    parquet.write_bytes(b"someone's parquet")
    code, _, err = run(capsys, "batch", root, "-o", table, "--jobs", "1", "--quiet")
    assert code == 2 and f"its Parquet copy '{parquet}' exists; --resume continues that batch" in err
    assert parquet.read_bytes() == b"someone's parquet" and not table.exists()
    figures = tmp_path / "figs"
    figures.mkdir()
    (figures / "mine.png").write_bytes(b"x")
    code, _, err = run(
        capsys, "batch", root, "-o", table, "--jobs", "1", "--quiet", "--overwrite", "--figures", figures
    )
    assert code == 0, err  # --overwrite: the Parquet copy and the figures of the same films are replaced
    assert parquet.read_bytes()[:4] == b"PAR1" and (figures / "a.dcm.png").exists()
    code, _, err = run(
        capsys, "batch", root, "-o", tmp_path / "u.csv", "--jobs", "1", "--quiet", "--figures", figures
    )
    assert code == 2 and f"--figures '{figures}': is not empty" in err


def test_a_resumed_batch_removes_the_temporary_figures_a_killed_run_left(capsys, tmp_path):
    root = tmp_path / "archive"
    write_study(root, "a.dcm")
    figures = tmp_path / "figs"
    table = tmp_path / "t.csv"
    assert (
        main(["batch", str(root), "-o", str(table), "--jobs", "1", "--quiet", "--figures", str(figures)]) == 0
    )
    torn = figures / ".a.dcm.png.spinecheck-tmp-999999999-0badf00d"
    old = figures / ".b.dcm.png.999999998.tmp"
    torn.write_bytes(b"\x89PNG half")
    old.write_bytes(b"\x89PNG half")
    assert (
        main(
            [
                "batch",
                str(root),
                "-o",
                str(table),
                "--jobs",
                "1",
                "--quiet",
                "--resume",
                "--figures",
                str(figures),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in figures.iterdir()) == ["a.dcm.png"]
