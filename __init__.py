"""spinecheck: measure spinal alignment on whole-spine radiographs and flag imbalance.

The public API a researcher drives from a notebook::

    import spinecheck

    film = spinecheck.load_radiograph("film.dcm")              # pixels, calibration, patient, view
    points = spinecheck.read_landmarks("film.landmarks.json")  # one film's named points
    study = spinecheck.load_study("film.landmarks.json", image="film.dcm")
    study.measurements.values["SVA"]                          # (N,) array, NaN where not measurable
    report = spinecheck.study_report(study, 0)                # the spinecheck-report/1 dict
    df = spinecheck.read_batch_table("table.csv")             # a batch table as a typed DataFrame
    spinecheck.plot(df, "SVA_mm", by="view")                  # a distribution with its thresholds

Everything here loads on first use, so ``import spinecheck`` is cheap.
"""

# No import statement at module level but the lazy loader (and the standard library): pytest imports
# this file by path while collecting the tests folder beside it, under whatever name the checkout's
# folder has.
import sys
from typing import TYPE_CHECKING

import lazy_loader

__version__ = "0.1.0"


def _library_logger(name: str) -> "logging.Logger":
    """The logger of module *name*, with a NullHandler on the library's logger "spinecheck".

    The library logs under "spinecheck" (each module under its own name); what it says is shown
    only where the application configures logging. The handler is put on here, once, rather than
    at import: ``logging`` (some 4 ms at start-up) is imported by the modules that log, and by
    no command that does not. The literal name, for ``__name__`` may be another (above).
    """
    import logging

    library = logging.getLogger("spinecheck")
    if not any(isinstance(h, logging.NullHandler) for h in library.handlers):
        library.addHandler(logging.NullHandler())
    return logging.getLogger(name)


if "logging" in sys.modules:  # already paid for: the handler is there from the start, as it was
    _library_logger("spinecheck")


if TYPE_CHECKING:  # to a type checker the standard one: the same classes, fields and signatures
    from dataclasses import dataclass as dataclass
else:

    def dataclass(cls=None, /, *, frozen=False, eq=True):
        """``dataclasses.dataclass`` for the package's records, made without most of its code generation.

        The standard decorator writes the source of each method (``__init__``, ``__repr__``,
        ``__eq__``, ``__hash__``, and ``__setattr__`` and ``__delattr__`` when frozen) and compiles
        it, one ``exec`` each: for the 39 records that measuring one landmark file creates at
        import, 168 M instructions, 40 % of ``import numpy``. Here the standard decorator collects
        the fields (``fields``, ``replace``, ``asdict`` and ``__match_args__`` as ever) and its own
        code writes ``__init__`` (its compiled code kept from one run to the next: ``_InitCodes``);
        the other methods are closures doing what its generated ones do:
        the same ``repr`` (guarded against recursion), equality and hash on the same field tuples,
        the same ``FrozenInstanceError``. A class with a dataclass base or its own ``__setattr__``
        or ``__delattr__`` gets the standard decorator, as does every class on Python 3.13 and
        later (whose decorator compiles one text per class, and is built differently inside).
        """

        def wrap(cls):
            return _record(cls, frozen=frozen, eq=eq)

        return wrap if cls is None else wrap(cls)


def _record(cls, *, frozen, eq):
    """Make *cls* a dataclass as ``dataclasses.dataclass(cls, frozen=frozen, eq=eq)`` does (above)."""
    import dataclasses

    inherits = any(dataclasses.is_dataclass(b) for b in cls.__mro__[1:])
    own_attr = frozen and ("__setattr__" in cls.__dict__ or "__delattr__" in cls.__dict__)
    # the private helpers below as Python 3.10 to 3.12 have them (a patch release that changed them
    # would get the standard decorator, not a wrong __init__)
    known = getattr(getattr(dataclasses, "_init_fn", None), "__code__", None)
    expected = known is not None and known.co_argcount == 8 and hasattr(dataclasses, "_FIELD_INITVAR")
    if sys.version_info >= (3, 13) or not expected or inherits or own_attr:
        return dataclasses.dataclass(cls, frozen=frozen, eq=eq)
    documented = bool(cls.__doc__)
    class_hash = cls.__dict__.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (
        class_hash is dataclasses.MISSING or (class_hash is None and "__eq__" in cls.__dict__)
    )
    if not documented:  # named below, once it has its __init__ (without one, inspect would parse object's)
        cls.__doc__ = cls.__name__
    # the fields, __match_args__ and __dataclass_params__; no method written
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    params = cls.__dataclass_params__
    params.init, params.repr, params.eq, params.frozen = True, True, eq, frozen
    every = cls.__dataclass_fields__
    fields = dataclasses.fields(cls)
    kinds = (dataclasses._FIELD, dataclasses._FIELD_INITVAR)
    init_fields = [f for f in every.values() if f._field_type in kinds]
    module = sys.modules.get(cls.__module__)
    init = _init_writer(dataclasses)(
        init_fields,
        [f for f in init_fields if f.init and not f.kw_only],
        [f for f in init_fields if f.init and f.kw_only],
        frozen,
        hasattr(cls, "__post_init__"),
        "__dataclass_self__" if "self" in every else "self",
        module.__dict__ if module is not None else {},
        False,
    )
    _method(cls, "__init__", init)
    _method(cls, "__repr__", _repr_of(tuple(f.name for f in fields if f.repr)))
    compared = _getter(tuple(f.name for f in fields if f.compare))
    if eq:
        _method(cls, "__eq__", _eq_of(compared))
    if frozen:
        for fn in _frozen_of(cls, tuple(f.name for f in fields)):
            _method(cls, fn.__name__, fn)
    if eq and not explicit_hash:  # the standard table without unsafe_hash: added when frozen, else None
        if frozen:
            hashed = _getter(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
            cls.__hash__ = _qualified(cls, _hash_of(hashed))
        else:
            cls.__hash__ = None
    if not documented:  # as the standard decorator names an undocumented class, now with its __init__
        import inspect

        try:
            text_sig = str(inspect.signature(cls)).replace(" -> None", "")
        except (TypeError, ValueError):
            text_sig = ""
        cls.__doc__ = cls.__name__ + text_sig
    return cls


def _init_writer(dataclasses):
    """``dataclasses._init_fn``, or its copy that takes each ``__init__``'s code from the cache below.

    The copy is the standard function run with other globals: the same text written, the same
    ``exec`` of it, only the text's compiled code kept (``_InitCodes``). Where ``_create_fn`` is
    not the one it was written against (the arguments and the ``exec`` of Python 3.10 to 3.12),
    the standard ``_init_fn``, which compiles the text each time.
    """
    global _inits
    init_fn, create_fn = dataclasses._init_fn, dataclasses._create_fn
    if _inits is None or _inits.copied != (init_fn, create_fn):
        code = getattr(create_fn, "__code__", None)
        known = (
            code is not None
            and code.co_filename == dataclasses.__file__
            and code.co_varnames[:6] == ("name", "args", "body", "globals", "locals", "return_type")
            and code.co_kwonlyargcount == 3
            and "exec" in code.co_names
        )
        if not known:
            return init_fn
        _inits = _InitCodes(dataclasses, init_fn, create_fn)
    return _inits.init_fn


_inits = None


class _InitCodes:
    """The compiled ``__init__`` of each record, kept from one run to the next beside the bytecode.

    Compiling the ``__init__`` text of the 39 records measuring one landmark file creates costs
    some 8 ms, every run; loading their code objects from one file costs a fraction of that. The
    file holds ``{text: code}`` with marshal, behind the interpreter's magic number, with the
    interpreter's cache tag in its name: under ``sys.pycache_prefix`` where there is one, else in the
    user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``%LOCALAPPDATA%`` on Windows), one
    file per installed copy of the package. Not in the package's ``__pycache__``: ``pip uninstall``
    removes only the bytecode of the files it installed, and a file left there would keep the
    folder, which Python would then import as an empty namespace package. A text not in it is
    compiled as ``exec`` compiles it, and the file is rewritten at exit (a temporary file of its
    own moved into place), unless ``sys.dont_write_bytecode``. A file that cannot be read or
    written, or does not hold what is written here, is a cache miss and nothing more.
    """

    #: Beyond so many texts the file keeps only the ones this run used (a bound on its growth).
    MOST = 500

    def __init__(self, dataclasses, init_fn, create_fn):
        self.copied = (init_fn, create_fn)
        names = dict(vars(dataclasses))
        names["exec"] = self._exec
        names["_create_fn"] = _copy_function(create_fn, names)
        self.init_fn = _copy_function(init_fn, names)
        self.codes = None  # read on the first text
        self.used = set()
        self.new = False

    def _exec(self, text, globals, namespace):
        if self.codes is None:
            self.codes = self._read()
        code = self.codes.get(text)
        if code is None:
            # what exec(text) compiles: dataclasses has no __future__ import to pass on
            code = compile(text, "<string>", "exec", dont_inherit=True)
            self.codes[text] = code
            if not self.new:
                import atexit

                atexit.register(self._write)
                self.new = True
        self.used.add(text)
        exec(code, globals, namespace)

    @staticmethod
    def _path():
        import importlib.util
        import os

        try:
            package = os.path.dirname(os.path.abspath(__file__))
            if sys.pycache_prefix:  # the package's folder mirrored there, as its bytecode is
                source = os.path.join(package, "_dataclass_inits.py")
                return importlib.util.cache_from_source(source).removesuffix(".pyc") + ".marshal"
            tag = sys.implementation.cache_tag
            if tag is None:
                return None
            if os.name == "nt":
                folder = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
            else:
                folder = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
            if not os.path.isabs(folder):  # no home folder to expand, or a relative setting: nowhere
                return None
            import zlib  # numpy's import has paid for it (hashlib's would cost some 4 ms)

            copy = (
                f"{zlib.crc32(os.fsencode(package)):08x}"  # which installed copy (two sharing one is no harm)
            )
            return os.path.join(folder, "spinecheck", f"_dataclass_inits.{tag}.{copy}.marshal")
        except (NotImplementedError, ValueError, TypeError):  # no cache tag, no file, a path refused
            return None

    @classmethod
    def _header(cls):
        import importlib.util

        return importlib.util.MAGIC_NUMBER + b"spinecheck dataclass inits\n"

    def _read(self):
        import io
        import marshal
        from types import CodeType

        path = self._path()
        if path is None:
            return {}
        try:
            with io.open_code(path) as f:
                data = f.read()
            header = self._header()
            if not data.startswith(header):
                return {}
            codes = marshal.loads(memoryview(data)[len(header) :])
        except Exception:  # absent, unreadable, truncated or not marshal data: compile as ever
            return {}
        if not isinstance(codes, dict) or not all(
            type(k) is str and type(v) is CodeType for k, v in codes.items()
        ):
            return {}
        return codes

    def _write(self):
        import marshal
        import os

        path = self._path()
        if sys.dont_write_bytecode or path is None:
            return
        codes = self.codes or {}
        if len(codes) > self.MOST:
            codes = {text: code for text, code in codes.items() if text in self.used}
        temporary = None
        try:
            import tempfile

            folder, name = os.path.split(path)
            os.makedirs(folder, exist_ok=True)
            # a file of this run's own (not one named by its process id, which another machine
            # sharing the folder may also have), moved into place whole: of two runs, the last one's
            handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            with open(handle, "wb") as f:
                f.write(self._header() + marshal.dumps(codes))
            os.replace(temporary, path)
        except (OSError, ValueError):  # a read-only folder, a full disk: the next run compiles again
            if temporary is not None:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass


def _copy_function(fn, names):
    """*fn* with the globals *names* (its code, defaults and keyword defaults as they are)."""
    from types import FunctionType

    copy = FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


def _qualified(cls, fn):
    fn.__qualname__ = f"{cls.__qualname__}.{fn.__name__}"
    return fn


def _method(cls, name, fn):
    """Set *fn* as *cls*'s method *name* unless the class defines its own (as the standard one does)."""
    if name not in cls.__dict__:
        setattr(cls, name, _qualified(cls, fn))


def _getter(names):
    """A function of an instance giving the tuple of its fields *names* (the generated methods' tuple)."""
    from operator import attrgetter

    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _repr_of(names):
    from reprlib import recursive_repr

    def __repr__(self):
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return recursive_repr()(__repr__)


def _eq_of(compared):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    return __eq__


def _hash_of(hashed):
    def __hash__(self):
        return hash(hashed(self))

    return __hash__


def _frozen_of(cls, names):
    from dataclasses import FrozenInstanceError

    def __setattr__(self, name, value):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submodules=["alignment", "cli", "landmarks"],
    submod_attrs={
        "landmarks": [
            "SpinecheckError",
            "InvalidLandmarksError",
            "UnreadableImageError",
            "MissingDecoderError",
            "MissingCalibrationError",
            "DegenerateGeometryError",
            "InvalidCriteriaError",
            "InvalidArgumentError",
            "LandmarkSet",
            "LandmarkTable",
            "Radiograph",
            "View",
            "load_radiograph",
            "read_radiograph_header",
            "read_landmarks",
            "read_landmark_table",
            "write_landmarks",
            "refine_landmarks",
        ],
        "alignment": [
            "Measurements",
            "Assessment",
            "Study",
            "load_study",
            "load_instability",
            "measure",
            "measure_instability",
            "assess",
            "study_report",
            "format_table",
            "draw_study",
            "figure_for",
            "report_figure",
            "comparison_figure",
            "Film",
            "compare_studies",
            "series_table",
            "series_figures",
            "BatchOptions",
            "BatchSummary",
            "run_batch",
            "DicomExport",
            "export_dicom",
            "to_dataframe",
            "read_batch_table",
            "age_groups",
            "plot",
        ],
    },
)

if TYPE_CHECKING:
    import logging

    from .alignment import (
        Assessment,
        BatchOptions,
        BatchSummary,
        DicomExport,
        Film,
        Measurements,
        Study,
        age_groups,
        assess,
        compare_studies,
        comparison_figure,
        draw_study,
        export_dicom,
        figure_for,
        format_table,
        load_instability,
        load_study,
        measure,
        measure_instability,
        plot,
        read_batch_table,
        report_figure,
        run_batch,
        series_figures,
        series_table,
        study_report,
        to_dataframe,
    )
    from .landmarks import (
        DegenerateGeometryError,
        InvalidArgumentError,
        InvalidCriteriaError,
        InvalidLandmarksError,
        LandmarkSet,
        LandmarkTable,
        MissingCalibrationError,
        MissingDecoderError,
        Radiograph,
        SpinecheckError,
        UnreadableImageError,
        View,
        load_radiograph,
        read_landmark_table,
        read_landmarks,
        read_radiograph_header,
        refine_landmarks,
        write_landmarks,
    )

__all__ = [
    "__version__",
    # errors
    "SpinecheckError",
    "InvalidLandmarksError",
    "UnreadableImageError",
    "MissingDecoderError",
    "MissingCalibrationError",
    "DegenerateGeometryError",
    "InvalidCriteriaError",
    "InvalidArgumentError",
    # a film and its points
    "Radiograph",
    "View",
    "LandmarkSet",
    "LandmarkTable",
    "load_radiograph",
    "read_radiograph_header",
    "read_landmarks",
    "read_landmark_table",
    "write_landmarks",
    "refine_landmarks",
    # numbers and verdicts
    "Measurements",
    "Assessment",
    "Study",
    "load_study",
    "load_instability",
    "measure",
    "measure_instability",
    "assess",
    "study_report",
    "format_table",
    # pictures
    "draw_study",
    "figure_for",
    "report_figure",
    "comparison_figure",
    # follow-up: films of one patient over time
    "Film",
    "compare_studies",
    "series_table",
    "series_figures",
    # archives
    "BatchOptions",
    "BatchSummary",
    "run_batch",
    # DICOM results in the film's study (the [dicom] extra)
    "DicomExport",
    "export_dicom",
    # pandas and plots for researchers (the [pandas] extra)
    "to_dataframe",
    "read_batch_table",
    "age_groups",
    "plot",
]
