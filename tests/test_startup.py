"""Start-up: a command imports what it uses and nothing else (issue 17, 5).

Each check runs the command line in a fresh interpreter and reads ``sys.modules`` after it: a
behaviour, not a timing (``bench/bench_floor.py`` measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_a_header_only_batch_imports_no_masked_arrays_and_no_slicer_reader(tmp_path):
    # numpy.ma, some 12 ms of start-up, came with np.unique (which asks whether its input is masked);
    # discovery tells a Slicer file by its name, without the Slicer reader and its film plane
    from batch_factory import write_study

    for k, view in enumerate(("lateral", "ap", "lateral")):
        write_study(tmp_path / "archive", f"s{k}.dcm", view=view, seed=k)
    loaded = _loaded_by(["batch", str(tmp_path / "archive"), "-o", str(tmp_path / "t.csv"), "--jobs", "1"])
    assert "spinecheck.alignment.measure" in loaded  # it did measure
    assert (tmp_path / "t.csv").read_text().count(",ok,") == 3
    assert "numpy.ma" not in loaded
    assert "spinecheck.landmarks.io.slicer" not in loaded


_DOWNLOADS = """
import contextlib, io, sys
from spinecheck.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main({argv!r})
import pydicom.data.download
imported_during = "requests" in sys.modules
import requests  # the mark is gone: a program that calls main can import it after
print(status, imported_during, pydicom.data.download.HAVE_REQUESTS, requests.__file__)
"""


def _with_requests(tmp_path: Path, code: str) -> list[str]:
    """What *code* prints where ``requests`` can be imported: a stand-in first on the path (not a dependency)."""
    fake = tmp_path / "site" / "requests"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return [*done.stdout.split()[:3], str(Path(done.stdout.split()[3]).parent == fake)]


def test_a_command_that_reads_a_film_imports_no_requests_and_leaves_it_importable(tmp_path):
    # pydicom imports requests only to download its test files: a third of its import, for nothing here
    from batch_factory import write_study

    film, _ = write_study(tmp_path / "archive", "s.dcm", view="lateral", seed=0)
    printed = _with_requests(tmp_path, _DOWNLOADS.format(argv=["info", str(film)]))
    assert printed == ["0", "False", "False", "True"]


def test_a_program_that_imported_requests_before_keeps_it(tmp_path):
    from batch_factory import write_study

    film, _ = write_study(tmp_path / "archive", "s.dcm", view="lateral", seed=0)
    printed = _with_requests(tmp_path, "import requests\n" + _DOWNLOADS.format(argv=["info", str(film)]))
    assert printed == ["0", "True", "True", "True"]


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


_COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]

#: Command lines each parsed by the parser of their command alone and by the whole parser.
COMMAND_LINES = [
    ["measure", "x.json", "--format", "csv", "--age", "40", "--criteria", "gap", "--uiv", "T10"],
    ["info", "film.dcm", "--format", "json"],
    ["batch", "archive", "-o", "table.csv", "--jobs", "2", "-q"],
    ["plot", "film.dcm", "x.json", "-o", "f.png", "--cobb-method", "midline", "--liv", "S1", "--traceback"],
    ["refine", "film.dcm", "x.json", "-o", "y.json", "--max-shift-mm", "2"],
    ["pacs", "measure", "1.2", "1.3", "1.4", "--landmarks", "x.json", "-o", "out", "--uiv", "T4"],
    *([command, "--help"] for command in _COMMANDS),
    *(["pacs", action, "--help"] for action in ("find", "fetch", "store", "measure")),
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


def test_the_parser_of_measure_is_two_parsers(monkeypatch):
    """The arguments several commands share are added to each command's parser, not copied from parents."""
    import argparse

    made = []
    init = argparse.ArgumentParser.__init__

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(kwargs.get("prog"))
        init(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "__init__", counted)
    build_parser("measure")
    assert made == ["spinecheck", "spinecheck measure"]  # no parent parsers, nor pacs' archive options


def test_a_command_line_that_names_no_command_gets_every_command_listed():
    parser = build_parser("measur")  # a typo: every parser is built, for the message's list of commands
    with pytest.raises(UsageError, match="invalid choice: 'measur'.*'measure'.*'batch'"):
        parser.parse_args(["measur", "x.json"])


# ----------------------------------------------------------------------------- the package's records


def test_measuring_one_landmark_file_writes_only_the_init_of_its_records(tmp_path):
    """Its records come from spinecheck.dataclass: only ``__init__`` is compiled, the rest are closures.

    The standard decorator compiles six methods for each frozen record: 168 M instructions for the
    39 that measuring one file creates, 40 % of ``import numpy``. Counted: the texts ``exec``
    compiles while the command runs, and where each record's methods come from; and no record
    without a docstring is named from ``object``'s text signature (which compiles tokenize's
    patterns) before it has its ``__init__``.
    """
    points = tmp_path / "one.json"
    film = synthetic_lateral(0, mm_per_px=2.0)
    write_landmarks(film.landmarks.replace(patient=type(film.patient)()), points)
    code = (
        "import builtins, contextlib, dataclasses, io, sys\n"
        "made = []\n"
        "create = dataclasses._create_fn\n"
        "def counted(name, *a, **k):\n"
        "    made.append(name)\n"
        "    return create(name, *a, **k)\n"
        "dataclasses._create_fn = counted\n"
        "import inspect\n"
        "parse = inspect._signature_fromstr\n"
        "def parsed(*a, **k):\n"
        "    made.append('a signature parsed from text')\n"
        "    return parse(*a, **k)\n"
        "inspect._signature_fromstr = parsed\n"
        "from spinecheck.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['measure', {str(points)!r}]) == 0\n"
        "records = [c for m in list(sys.modules.values()) if m and m.__name__.startswith('spinecheck.')\n"
        "           for c in vars(m).values() if isinstance(c, type) and dataclasses.is_dataclass(c)\n"
        "           and c.__module__ == m.__name__]\n"
        "standard = sorted(c.__qualname__ for c in records\n"
        "                  if c.__repr__.__code__.co_filename == dataclasses.__file__)\n"
        "import json; print(json.dumps([len(records), sorted(set(made)), standard]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, compiled, standard = json.loads(out)
    assert count >= 30  # the measuring path's records, all of them made here
    assert compiled == ["__init__"]
    assert standard == []


def _both(ns: dict[str, object], **kw: bool) -> tuple[type, type]:
    """Class *ns* made by the standard decorator and by spinecheck's."""
    import dataclasses

    import spinecheck

    made = []
    for decorate in (dataclasses.dataclass, spinecheck.dataclass):
        cls = type("Rec", (), dict(ns))
        cls.__qualname__ = "Outer.Rec"
        made.append(decorate(cls, **kw))
    return made[0], made[1]


def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except TypeError as e:
        return str(e)


def _post_init(self):  # type: ignore[no-untyped-def]
    object.__setattr__(self, "seen", True) if "seen" not in vars(self) else None


RECORDS = {
    "plain": ({"__annotations__": {"a": "int", "b": "str"}, "__doc__": "A record."}, {}),
    "undocumented": ({"__annotations__": {"a": "int", "b": "list[int]"}}, {"frozen": True}),
    "frozen": (
        {
            "__annotations__": {"a": "int", "b": "float", "c": "list[int]", "d": "str"},
            "__doc__": "Frozen.",
            "b": 2.5,
            "c": __import__("dataclasses").field(default_factory=list),
            "d": __import__("dataclasses").field(default="x", repr=False, compare=False),
        },
        {"frozen": True},
    ),
    "no eq": ({"__annotations__": {"a": "int"}, "__doc__": "Identity."}, {"frozen": True, "eq": False}),
    "one field": ({"__annotations__": {"a": "object"}, "__doc__": "One."}, {"frozen": True}),
    "no fields": ({"__doc__": "None."}, {"frozen": True}),
    "hash field": (
        {
            "__annotations__": {"a": "int", "b": "int"},
            "__doc__": "Hashed on a.",
            "b": __import__("dataclasses").field(default=0, hash=False),
        },
        {"frozen": True},
    ),
    "own methods": (
        {
            "__annotations__": {"a": "int", "self": "int", "k": "typing.ClassVar[int]"},
            "__doc__": "Own repr and hash; a field named self; a class variable.",
            "k": 3,
            "__repr__": lambda self: "mine",
            "__hash__": lambda self: 7,
            "__post_init__": _post_init,
        },
        {"frozen": True},
    ),
}


@pytest.mark.parametrize("name", RECORDS)
def test_spinecheck_dataclass_makes_what_the_standard_decorator_makes(name):
    import copy
    import dataclasses
    import inspect

    ns, kw = RECORDS[name]
    std, ours = _both(ns, **kw)

    def shape(cls: type) -> tuple[object, ...]:
        fields = [
            (f.name, f.default, f.default_factory, f.repr, f.compare, f.hash) for f in dataclasses.fields(cls)
        ]
        methods = sorted(k for k in vars(cls) if k.startswith("__"))
        names = {
            k: getattr(cls, k).__qualname__
            for k in methods
            if callable(getattr(cls, k, None)) and k != "__class__"
        }
        return (str(inspect.signature(cls)), cls.__doc__, cls.__match_args__, fields,
                repr(cls.__dataclass_params__), cls.__hash__ is None, methods, names)  # fmt: skip

    assert shape(ours) == shape(std)
    assert ours.__init__.__code__ == std.__init__.__code__  # type: ignore[misc]  # from the same text
    args = {"plain": (1, "b"), "undocumented": (1, [2]), "frozen": (1,), "no eq": (1,), "one field": ([1],),
            "no fields": (), "hash field": (1, 2), "own methods": (1, 2)}[name]  # fmt: skip
    s1, s2, o1, o2 = std(*args), std(*args), ours(*args), ours(*args)
    assert repr(o1).replace("test_startup.", "") == repr(s1).replace("test_startup.", "")
    assert (o1 == o2, o1 != o2, o1 == s1) == (s1 == s2, s1 != s2, False)
    if name != "no eq":  # the same field tuple hashed, or the same error (a list in it)
        assert _outcome(hash, o1) == _outcome(hash, s1)
    if kw.get("frozen"):
        for obj in (s1, o1):
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
                obj.a = 5  # type: ignore[misc]
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'zz'"):
                del obj.zz
    if args:
        assert repr(dataclasses.replace(o1, a=args[0])) == repr(o1)
        assert dataclasses.asdict(o1) == dataclasses.asdict(s1)
    assert (copy.deepcopy(o1) == o1) == (copy.deepcopy(s1) == s1)


def test_a_record_that_holds_itself_is_shown_with_dots():
    import spinecheck

    @spinecheck.dataclass
    class Node:
        """A node."""

        to: object = None

    node = Node()
    node.to = node
    assert repr(node).endswith("Node(to=...)")


def test_a_pickled_record_comes_back_equal():
    import pickle

    from spinecheck.landmarks.points.calibration import Calibration
    from spinecheck.landmarks.points.model import PatientInfo

    patient = PatientInfo(age_years=40.0)
    assert pickle.loads(pickle.dumps(patient)) == patient and hash(
        pickle.loads(pickle.dumps(patient))
    ) == hash(patient)
    assert Calibration.__init__.__code__.co_filename == "<string>"  # the standard decorator's __init__


def test_a_dataclasses_module_unlike_the_known_one_gets_the_standard_decorator(monkeypatch):
    """Where the private helper spinecheck.dataclass calls is not the known one, the standard decorator is used."""
    import dataclasses

    import spinecheck

    known = dataclasses._init_fn  # type: ignore[attr-defined]

    def _init_fn(*args):  # type: ignore[no-untyped-def]  # another signature, which the standard one still calls
        return known(*args)

    monkeypatch.setattr(dataclasses, "_init_fn", _init_fn)
    cls = spinecheck.dataclass(
        type("Rec", (), {"__annotations__": {"a": "int"}, "__doc__": "A record."}), frozen=True
    )
    assert cls(1) == cls(1) and repr(cls(1)) == "Rec(a=1)"
    assert cls.__repr__.__code__.co_filename == dataclasses.__file__  # the standard decorator's methods


# ----------------------------------------------------------------------------- the records' compiled __init__

#: A measuring run that reports how many ``__init__`` texts it compiled (the audit event of ``compile``
#: and of ``exec`` of a text, which hands the text on as bytes), its output, and whether every code the
#: cache holds is its text's compiled code.
_COUNTED_RUN = (
    "import contextlib, io, json, sys\n"
    "compiled = []\n"
    "def hook(event, args):\n"
    "    text = args[0].encode() if event == 'compile' and isinstance(args[0], str) else args[0]\n"
    "    if event == 'compile' and isinstance(text, bytes) and text.startswith(b'def __create_fn__'):\n"
    "        compiled.append(1)\n"
    "sys.addaudithook(hook)\n"
    "import spinecheck\n"
    "from spinecheck.cli import main\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    code = main(sys.argv[1:])\n"
    "n = len(compiled)\n"
    "codes = spinecheck._inits.codes\n"
    "same = all(c == compile(t, '<string>', 'exec', dont_inherit=True) for t, c in codes.items())\n"
    "print(json.dumps([code, n, out.getvalue(), same]))\n"
)


def _measured(points, prefix, **env: str) -> tuple[int, str]:
    """``measure POINTS`` in a fresh interpreter caching bytecode under *prefix*: (inits compiled, output).

    *prefix* None: no ``PYTHONPYCACHEPREFIX``, bytecode beside the sources.
    """
    import os

    environ = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    if prefix is not None:
        environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", _COUNTED_RUN, "measure", str(points)],
        capture_output=True, text=True, env=environ, check=True,
    )  # fmt: skip
    assert done.stderr == ""  # no warning, whatever the cache file held
    code, compiled, out, same = json.loads(done.stdout)
    assert code == 0 and same
    return compiled, out


def _inits_file(prefix) -> list:  # type: ignore[type-arg]
    return sorted(prefix.rglob("_dataclass_inits.*.marshal"))


@pytest.fixture
def one_lateral(tmp_path):
    points = tmp_path / "one.json"
    film = synthetic_lateral(0, mm_per_px=2.0)
    write_landmarks(film.landmarks.replace(patient=type(film.patient)()), points)
    return points


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A lateral landmark file measured once, caching bytecode under a folder of its own.

    Returns the landmark file, that folder (its records' compiled ``__init__`` written), the number
    of texts the run compiled and its output.
    """
    folder = tmp_path_factory.mktemp("first-run")
    points = folder / "one.json"
    film = synthetic_lateral(0, mm_per_px=2.0)
    write_landmarks(film.landmarks.replace(patient=type(film.patient)()), points)
    compiled, out = _measured(points, folder / "pycache")
    return points, folder / "pycache", compiled, out


@pytest.fixture
def cached(first_run, tmp_path):
    """A copy of :func:`first_run`'s bytecode folder: (landmark file, folder, the cache file, output)."""
    import shutil

    points, prefix, _, out = first_run
    copy = shutil.copytree(prefix, tmp_path / "pycache")
    [path] = _inits_file(copy)
    return points, copy, path, out


def test_a_second_run_compiles_no_init_of_a_record(first_run, cached):
    """The first run compiles each record's ``__init__`` and keeps the code; the next one loads it."""
    _, _, compiled, first = first_run
    assert compiled >= 30
    points, prefix, _, _ = cached
    assert _measured(points, prefix) == (0, first)


def test_without_a_bytecode_prefix_the_cache_is_the_users_not_the_packages(one_lateral, tmp_path):
    """Nothing is left in the installed package's folder: pip uninstall would leave it, and the folder."""
    import spinecheck

    package = Path(spinecheck.__file__).parent

    def in_package() -> dict:  # type: ignore[type-arg]
        return {p: p.stat().st_mtime_ns for p in package.rglob("*.marshal")}

    before = in_package()
    cache = tmp_path / "cache"
    compiled, first = _measured(one_lateral, None, XDG_CACHE_HOME=str(cache))
    assert compiled >= 30
    [path] = _inits_file(cache)
    assert path.parent == cache / "spinecheck"
    assert _measured(one_lateral, None, XDG_CACHE_HOME=str(cache)) == (0, first)
    assert in_package() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_without_bytecode_writing_no_cache_is_written(one_lateral, tmp_path):
    prefix = tmp_path / "pycache"
    for _ in range(2):
        compiled, _out = _measured(one_lateral, prefix, PYTHONDONTWRITEBYTECODE="1")
        assert compiled >= 30
    assert _inits_file(prefix) == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a cache",
        "header only",
        "another interpreter",
        "truncated",
        "a list",
        "texts to strings",
    ],
)
def test_a_damaged_or_foreign_cache_file_is_compiled_over(cached, content):
    """Whatever the file holds, the run compiles what it needs, says nothing, and writes a good file."""
    import importlib.util
    import marshal

    import spinecheck

    points, prefix, path, expected = cached
    header = importlib.util.MAGIC_NUMBER + b"spinecheck dataclass inits\n"
    good = path.read_bytes()
    assert good.startswith(header) and spinecheck._InitCodes._header() == header
    if content == "header only":
        content = header
    elif content == "another interpreter":
        content = b"\0\0\r\n" + good[4:]
    elif content == "truncated":
        content = good[: len(good) // 2]
    elif content == "a list":
        content = header + marshal.dumps([1, 2])
    elif content == "texts to strings":
        content = header + marshal.dumps({"def __create_fn__(): pass": "code"})
    path.write_bytes(content)
    compiled, out = _measured(points, prefix)
    assert compiled >= 30 and out == expected
    assert _measured(points, prefix) == (0, expected)  # written again, whole


def test_a_cache_folder_that_cannot_be_made_is_no_error(first_run, tmp_path):
    """Bytecode cached under a path that is a file: nothing can be written, and the run is as ever."""
    points, _, _, expected = first_run
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    for _ in range(2):
        compiled, out = _measured(points, blocked)
        assert compiled >= 30 and out == expected
    assert blocked.read_text() == ""


def test_a_run_that_compiles_nothing_new_leaves_the_cache_file_alone(cached):
    """Only a run that compiled a text writes the file (so a cache it cannot write costs it nothing)."""
    points, prefix, path, expected = cached
    before = path.stat()
    assert _measured(points, prefix) == (0, expected)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_cache_of_too_many_texts_keeps_the_ones_the_run_used(tmp_path, monkeypatch):
    import dataclasses

    import spinecheck

    path = tmp_path / "inits.marshal"
    monkeypatch.setattr(spinecheck._InitCodes, "_path", staticmethod(lambda: str(path)))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    cache = spinecheck._InitCodes(dataclasses, dataclasses._init_fn, dataclasses._create_fn)  # type: ignore[attr-defined]
    texts = [f"x = {i}" for i in range(spinecheck._InitCodes.MOST)]
    cache.codes = {text: compile(text, "<string>", "exec") for text in texts}
    cache.used = {"x = 3", "x = 7"}
    cache._write()
    assert sorted(cache._read()) == sorted(texts)  # as many as it may hold: all kept
    cache.codes["y = 0"] = compile("y = 0", "<string>", "exec")
    cache._write()
    assert sorted(cache._read()) == ["x = 3", "x = 7"]


def test_without_a_place_for_the_cache_nothing_is_read_or_written(monkeypatch):
    """No cache tag, no ``__file__``: every text is compiled, and nothing fails."""
    import dataclasses

    import spinecheck

    monkeypatch.setattr(spinecheck._InitCodes, "_path", staticmethod(lambda: None))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    cache = spinecheck._InitCodes(dataclasses, dataclasses._init_fn, dataclasses._create_fn)  # type: ignore[attr-defined]
    namespace: dict[str, object] = {}
    cache._exec("def __create_fn__():\n return 1", {}, namespace)
    assert namespace["__create_fn__"]() == 1  # type: ignore[operator]
    import atexit

    atexit.unregister(cache._write)  # registered by the new text: this process's exit is pytest's
    cache._write()


# ----------------------------------------------------------------------------- tables made on first use


def test_a_lateral_film_tables_the_lateral_point_names_alone(one_lateral):
    """The valid names of a view are checked and tabled when one of its names is first checked."""
    code = (
        "import contextlib, io, sys\n"
        "from spinecheck.cli import main\n"
        "from spinecheck.landmarks.points import names\n"
        "assert names._ACCEPTED == {}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['measure', {str(one_lateral)!r}])\n"
        "print(sorted(view.value for view in names._ACCEPTED))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "['lateral']\n"


def test_the_point_name_tables_answer_as_the_full_check_whichever_view_comes_first():
    code = (
        "from spinecheck.landmarks.points import names\n"
        "class Text(str): pass  # a str subclass: parsed in full\n"
        "for view in (names.View.AP, names.View.LATERAL):\n"
        "    for name in names.valid_point_names(view) + ('L1.sup.left', 'L1.sup.ant', 'S1.top', 'IC.left'):\n"
        "        try:\n"
        "            got = names.check_point_name(name, view)\n"
        "        except names.InvalidLandmarksError as e:\n"
        "            got = str(e)\n"
        "        try:\n"
        "            full = names._check_point_name(name, view, '')\n"
        "        except names.InvalidLandmarksError as e:\n"
        "            full = str(e)\n"
        "        assert got == full, (name, view, got, full)\n"
        "        assert names.parse_point_name(name) == names.parse_point_name(Text(name))\n"
        "print(sorted(view.value for view in names._ACCEPTED))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "['ap', 'lateral']\n"


def test_measuring_one_landmark_file_compiles_no_pattern_it_does_not_use(one_lateral):
    """Patterns only a clean-up, a model's landmark file or an operation date needs are compiled on first use."""
    code = (
        "import contextlib, io, re, sys\n"
        "from spinecheck.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['measure', {str(one_lateral)!r}])\n"
        "from spinecheck.landmarks.io import atomic, provenance\n"
        "from spinecheck.landmarks.points import operation\n"
        "unused = (atomic._TEMP, atomic._LEGACY, provenance._SHA256, operation._DATE_RE)\n"
        "compiled = {key[1] for key in re._cache}\n"
        "print([getattr(p, 'pattern', p) for p in unused if getattr(p, 'pattern', p) in compiled])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
