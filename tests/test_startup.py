"""Start-up: a command imports what it uses and nothing else (issue 17, 5).

Each check runs the command line in a fresh interpreter and reads ``sys.modules`` after it: a
behaviour, not a timing (``bench/bench_floor.py`` measures the time).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from spinecheck.cli import UsageError, build_parser
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.synthetic.films import synthetic_lateral

#: What no command below needs: the batch engine, the archive walker, the annotation window, the
#: figures, DataFrames, SciPy (and scikit-image, which loads it), the DICOM reader and the decoders.
NEVER = (
    "spinecheck.alignment.batch",
    "spinecheck.landmarks.annotate",
    "spinecheck.alignment.render.figure",
    "matplotlib",
    "pandas",
    "scipy",
    "skimage",
    "pydicom",
    "pyarrow",
    "PIL",
)


def _loaded_by(argv: list[str]) -> set[str]:
    """The modules imported by ``spinecheck ARGV`` in a fresh interpreter (its exit status ignored)."""
    code = (
        "import contextlib, io, sys\n"
        "from spinecheck.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in NEVER))


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["batch", "--help"]], ids=" ".join)
def test_help_and_version_import_no_library(argv):
    loaded = _loaded_by(argv)
    assert _heavy(loaded) == []
    # not even NumPy: the parser and the version are plain Python
    assert "numpy" not in loaded


def test_measuring_one_landmark_file_imports_only_the_measuring(tmp_path):
    points = tmp_path / "one.json"
    film = synthetic_lateral(0, mm_per_px=2.0)
    write_landmarks(film.landmarks.replace(patient=type(film.patient)()), points)
    loaded = _loaded_by(["measure", str(points)])
    assert "spinecheck.alignment.measure" in loaded  # it did measure
    assert "spinecheck.alignment.criteria.engine" in loaded  # and judged
    assert _heavy(loaded) == []
    # the rooms load only the parts the command uses (their package inits are lazy): no other format's
    # reader, no coronal regions for a lateral film, no instability, no CSV writer for a text report
    unused = sorted(loaded & NOT_FOR_ONE_LATERAL_JSON)
    assert unused == []
    # nor the library modules only a message, a type annotation or a string routine of a table needs
    assert sorted(loaded & LIBRARY_NOT_FOR_ONE_LATERAL_JSON) == []


#: What measuring one lateral landmark JSON to text does not use, though its rooms hold it.
NOT_FOR_ONE_LATERAL_JSON = {
    "spinecheck.landmarks.io.wide_csv",
    "spinecheck.landmarks.io.aasce",
    "spinecheck.landmarks.io.csv_cells",
    "spinecheck.landmarks.io.slicer",  # nor the Slicer reader and its film plane: a .json is not .mrk.json
    "spinecheck.landmarks.points.plane",
    "spinecheck.alignment.geometry.instability",
    "spinecheck.alignment.geometry.regions",
    "spinecheck.alignment.criteria.instability",
    "spinecheck.alignment.criteria.catalogue",
    "spinecheck.alignment.render.curves",
    "spinecheck.alignment.render.live",
}


#: Library modules measuring one lateral JSON does not use: difflib (only for a "did you mean" in an
#: error), numpy.typing (annotations only), numpy.char (object addition writes a table's reasons),
#: logging (only the modules that log import it, and put the library's NullHandler on).
LIBRARY_NOT_FOR_ONE_LATERAL_JSON = {"difflib", "numpy.typing", "numpy.char", "numpy.strings", "logging"}


def test_a_module_that_logs_puts_the_null_handler_on_when_spinecheck_came_first():
    """Without logging at ``import spinecheck``, the first module that logs still keeps the library quiet."""
    code = (
        "import sys, spinecheck\n"
        "assert 'logging' not in sys.modules\n"
        "from spinecheck.landmarks.imaging import pixel_decoding\n"
        "import logging\n"
        "pixel_decoding._log.warning('not for stderr')\n"
        "handlers = logging.getLogger('spinecheck').handlers\n"
        "print(sum(isinstance(h, logging.NullHandler) for h in handlers))\n"
        "from spinecheck.alignment.batch import runner\n"
        "runner._log.warning('nor this')\n"
        "print(sum(isinstance(h, logging.NullHandler) for h in handlers))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (done.stdout, done.stderr) == ("1\n1\n", "")


def test_with_logging_loaded_first_import_spinecheck_puts_the_null_handler_on():
    code = "import logging, spinecheck\nprint(logging.getLogger('spinecheck').handlers)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[<NullHandler (NOTSET)>]\n"


#: Command lines each parsed by the parser of their command alone and by the whole parser.
COMMAND_LINES = [
    ["measure", "x.json", "--format", "csv", "--age", "40", "--criteria", "gap", "--uiv", "T10"],
    ["info", "film.dcm", "--format", "json"],
    ["batch", "archive", "-o", "table.csv", "--jobs", "2", "-q"],
    ["pacs", "find", "--help"],
    ["measure", "--help"],
]


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=" ".join)
def test_the_parser_of_one_command_parses_as_the_whole_parser(argv, capsys):
    """Main builds only the parser of the command it runs; what it parses (and its help) is the same."""
    results = []
    for parser in (build_parser(argv[0]), build_parser()):
        try:
            results.append(vars(parser.parse_args(argv)))
        except SystemExit as e:  # --help: the text printed
            results.append({"exit": e.code, "printed": capsys.readouterr().out})
    assert results[0] == results[1]


def test_a_command_line_that_names_no_command_gets_every_command_listed():
    parser = build_parser("measur")  # a typo: every parser is built, for the message's list of commands
    with pytest.raises(UsageError, match="invalid choice: 'measur'.*'measure'.*'batch'"):
        parser.parse_args(["measur", "x.json"])
