"""Criterion rules as data: evidence status, citations, intervals, bands and formulas.

The building blocks that :mod:`spinecheck.alignment.criteria.engine` and :mod:`spinecheck.alignment.criteria.targets`
read from the JSON criterion sets in ``alignment/criteria/sets/``. Nothing in
this module knows a clinical number: every threshold, band and coefficient comes
from a data file that also carries its source and evidence status.

Every reader takes a *where* string (the file and the JSON path of the field)
and raises :class:`~spinecheck.landmarks.errors.InvalidCriteriaError` with a one-line
message naming the file, the field, what was expected and what came in.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ... import dataclass
from ...landmarks.errors import InvalidCriteriaError
from ..parameters import PARAMETERS

__all__ = [
    "Status",
    "Citation",
    "Interval",
    "Band",
    "Bands",
    "Term",
    "Formula",
    "round_half_away",
    "SHOWN_DECIMALS",
    "as_shown",
    "display_name",
    "VARIABLES",
    "FORMAT",
    "SetInfo",
    "read_set_file",
    "builtin_sets",
    "builtin_kind",
]

#: Format name and version of a criterion-set file.
FORMAT = "spinecheck-criteria/1"

#: Variables a formula may use besides the parameter ids: the patient's age in years.
VARIABLES: tuple[str, ...] = ("age",)


class Status(str, enum.Enum):
    """Evidence status of a number (clinical.md, status tags).

    ``V`` confirmed in the primary abstract or text; ``S`` secondary sources
    agree; ``S-`` a single secondary source, not confirmed against the paper;
    ``U`` not confirmed (a user-selectable option at most, never shipped as fact).
    Accepts ``"[S]"``, ``"s-"`` and the typographic minus at the door.

    >>> Status.parse("[S−]")
    <Status.S_MINUS: 'S-'>
    """

    V = "V"
    VS = "V/S"
    S = "S"
    S_MINUS = "S-"
    U = "U"

    def __str__(self) -> str:
        return str(self.value)

    @property
    def description(self) -> str:
        return _STATUS_TEXT[self]

    @classmethod
    def parse(cls, value: object, *, where: str = "") -> Status:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            text = value.strip().strip("[]").upper().replace("\u2212", "-").replace(" ", "")
            for member in cls:
                if member.value == text:
                    return member
        allowed = ", ".join(repr(m.value) for m in cls)
        raise InvalidCriteriaError(f"{where} must be one of {allowed}; got {value!r}")


_STATUS_TEXT = {
    Status.V: "confirmed in the primary source",
    Status.VS: "confirmed in part in the primary source, in part by secondary sources",
    Status.S: "secondary sources agree; not confirmed in the primary text",
    Status.S_MINUS: "one secondary source; not confirmed against the primary source",
    Status.U: "not confirmed; offered only as a labelled, user-selected option",
}


@dataclass(frozen=True)
class Citation:
    """A published source: ``str()`` gives the short form used in reports.

    Examples
    --------
    >>> str(Citation("Glassman SD et al.", 2005, "Spine", details="30(6):682-688"))
    'Glassman SD et al. Spine 2005;30(6):682-688'
    >>> str(Citation(None, 2025, "Eur Spine J", pmid="40261392"))
    'Eur Spine J 2025 (PMID 40261392)'
    """

    authors: str | None
    year: int
    journal: str
    title: str | None = None
    details: str | None = None
    doi: str | None = None
    pmid: str | None = None

    def __str__(self) -> str:
        text = f"{self.journal} {self.year}"
        if self.details:
            text += f";{self.details}"
        if self.authors:
            text = f"{self.authors} {text}"
        if self.pmid and not self.authors:
            text += f" (PMID {self.pmid})"
        return text

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_json(cls, obj: object, *, where: str) -> Citation:
        d = require_mapping(obj, where=where)
        allowed = ("authors", "year", "journal", "title", "details", "doi", "pmid")
        check_keys(d, allowed, where=where)
        authors = optional_str(d, "authors", where=where)
        year = d.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 1800 < year < 2200:
            raise InvalidCriteriaError(f"{where}.year must be a four-digit year; got {year!r}")
        pmid = optional_str(d, "pmid", where=where)
        doi = optional_str(d, "doi", where=where)
        if authors is None and pmid is None and doi is None:
            raise InvalidCriteriaError(
                f'{where} needs "authors" (or a "pmid" or "doi" to identify the paper)'
            )
        return cls(
            authors,
            year,
            require_str(d, "journal", where=where),
            optional_str(d, "title", where=where),
            optional_str(d, "details", where=where),
            doi,
            pmid,
        )


def display_name(variable: str) -> str:
    """How a parameter id reads in a rule text (``"PI_LL"`` -> ``"PI-LL"``).

    >>> display_name("C7_CSVL")
    'C7-CSVL'
    """
    return variable.replace("_", "-")


def _fmt(x: float) -> str:
    return f"{x:g}"


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_INTERVAL_RE = re.compile(
    rf"^\s*(?P<lo_b>[\[(])\s*(?P<lo>-inf|{_NUM})\s*,\s*(?P<hi>\+?inf|{_NUM})\s*(?P<hi_b>[\])])\s*$"
)


@dataclass(frozen=True)
class Interval:
    """A real interval with open or closed ends, written like ``"[10, 20]"``.

    Examples
    --------
    >>> iv = Interval.parse("(20, 30]")
    >>> iv.contains(np.array([20.0, 25.0, 30.0, np.nan]))
    array([False,  True,  True, False])
    >>> iv.text("TPA", "deg")
    '20 < TPA <= 30 deg'
    """

    lower: float
    upper: float
    lower_closed: bool
    upper_closed: bool

    @classmethod
    def parse(cls, text: object, *, where: str = "interval") -> Interval:
        m = _INTERVAL_RE.match(text) if isinstance(text, str) else None
        expected = 'an interval like "[10, 20]", "(20, inf)" or "(-inf, 10)"'
        if m is None:
            raise InvalidCriteriaError(f"{where} must be {expected}; got {text!r}")
        lo, hi = float(m["lo"]), float(m["hi"])
        lo_c, hi_c = m["lo_b"] == "[", m["hi_b"] == "]"
        if (math.isinf(lo) and lo_c) or (math.isinf(hi) and hi_c):
            raise InvalidCriteriaError(f"{where}: an infinite end must be open; got {text!r}")
        if lo > hi or (lo == hi and not (lo_c and hi_c)):
            raise InvalidCriteriaError(f"{where} is empty; expected lower < upper; got {text!r}")
        return cls(lo, hi, lo_c, hi_c)

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Elementwise membership; NaN is in no interval."""
        above = x >= self.lower if self.lower_closed else x > self.lower
        below = x <= self.upper if self.upper_closed else x < self.upper
        return above & below

    def text(self, name: str, unit: str | None = None) -> str:
        """Write the interval as a rule, e.g. ``"10 <= PI-LL <= 20 deg"``."""
        u = f" {unit}" if unit else ""
        lo_op = "<=" if self.lower_closed else "<"
        hi_op = "<=" if self.upper_closed else "<"
        if self.lower == self.upper:
            return f"{name} = {_fmt(self.lower)}{u}"
        if math.isinf(self.lower):
            return f"{name} {hi_op} {_fmt(self.upper)}{u}"
        if math.isinf(self.upper):
            return f"{name} {'>=' if self.lower_closed else '>'} {_fmt(self.lower)}{u}"
        return f"{_fmt(self.lower)} {lo_op} {name} {hi_op} {_fmt(self.upper)}{u}"


@dataclass(frozen=True)
class Band:
    """One row of a band table: the result for values in an interval."""

    result: Any
    interval: Interval
    rule: str | None = None  # published wording, when the generated one would mislead


@dataclass(frozen=True)
class Bands:
    """An ordered, non-overlapping band table, optionally on a rounding grid.

    With ``decimals`` set, values are rounded half away from zero to that many
    decimals before binning (:func:`round_half_away`), and the table only has to
    cover the grid (published tables such as GAP's ``-15...-7.1`` / ``-7...+5``
    leave gaps between grid points).
    """

    bands: tuple[Band, ...]
    decimals: int | None = None

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """*x* rounded as the table requires (unchanged without ``decimals``)."""
        return x if self.decimals is None else round_half_away(x, self.decimals)

    def classify(self, x: np.ndarray) -> np.ndarray:
        """Index of the band holding each (already prepared) value; -1 for none or NaN."""
        codes = np.full(x.shape, -1, dtype=np.int64)
        for k, band in enumerate(self.bands):
            codes[band.interval.contains(x)] = k
        return codes

    def rule_texts(self, name: str, unit: str | None) -> list[str]:
        return [b.rule or b.interval.text(name, unit) for b in self.bands]

    @classmethod
    def from_json(
        cls,
        obj: object,
        *,
        where: str,
        result_kind: str,
        decimals: object = None,
        cover: bool = True,
        result_key: str = "result",
    ) -> Bands:
        """Read a list of ``{"result": ..., "interval": "[a, b]", "rule": ...}``.

        Parameters
        ----------
        result_kind : {"grade", "category", "points", "number"}
            What a band's result must be: a grade ``"0"``/``"+"``/``"++"``, a
            category string, an integer of points, or a number (target tables).
        cover : bool
            Whether the bands must cover every real value (on the grid).
        """
        if not isinstance(obj, list) or not obj:
            raise InvalidCriteriaError(f"{where} must be a non-empty list of bands; got {obj!r}")
        if decimals is not None and (
            isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6
        ):
            raise InvalidCriteriaError(f'{where}: "decimals" must be an integer 0-6; got {decimals!r}')
        bands = []
        for k, item in enumerate(obj):
            w = f"{where}[{k}]"
            d = require_mapping(item, where=w)
            check_keys(d, (result_key, "interval", "rule"), where=w)
            if result_key not in d:
                raise InvalidCriteriaError(f'{w} needs "{result_key}"')
            result = _band_result(d[result_key], result_kind, where=f"{w}.{result_key}")
            interval = Interval.parse(d.get("interval"), where=f"{w}.interval")
            bands.append(Band(result, interval, optional_str(d, "rule", where=w)))
        table = cls(
            tuple(sorted(bands, key=lambda b: (b.interval.lower, not b.interval.lower_closed))), decimals
        )
        table._check(where, cover)
        return table

    def _check(self, where: str, cover: bool) -> None:
        for a, b in zip(self.bands[:-1], self.bands[1:], strict=True):
            ia, ib = a.interval, b.interval
            if ia.upper > ib.lower or (ia.upper == ib.lower and ia.upper_closed and ib.lower_closed):
                raise InvalidCriteriaError(f"{where}: bands {a.result!r} and {b.result!r} overlap")
        if not cover:
            return
        first, last = self.bands[0].interval, self.bands[-1].interval
        if not (math.isinf(first.lower) and math.isinf(last.upper)):
            raise InvalidCriteriaError(
                f"{where}: bands must cover every value (first from -inf, last to inf)"
            )
        for a, b in zip(self.bands[:-1], self.bands[1:], strict=True):
            lo, hi = a.interval.upper, b.interval.lower
            if self.decimals is None:
                if lo < hi or not (a.interval.upper_closed or b.interval.lower_closed):
                    raise InvalidCriteriaError(
                        f"{where}: gap between bands {a.result!r} and {b.result!r}; "
                        'close it or give "decimals" when values are rounded before binning'
                    )
                continue
            scale = 10.0**self.decimals
            grid = np.arange(math.floor(lo * scale), math.ceil(hi * scale) + 1) / scale
            if np.any(self.classify(grid) < 0):
                missing = grid[self.classify(grid) < 0][0]
                raise InvalidCriteriaError(
                    f"{where}: value {_fmt(missing)} (after rounding to {self.decimals} decimals) "
                    f"falls between bands {a.result!r} and {b.result!r}"
                )


_GRADES = ("0", "+", "++")


def _band_result(value: object, kind: str, *, where: str) -> Any:
    if kind == "grade":
        if value not in _GRADES:
            raise InvalidCriteriaError(
                f"{where} must be one of {', '.join(map(repr, _GRADES))}; got {value!r}"
            )
        return value
    if kind == "category":
        if not isinstance(value, str) or not value.strip():
            raise InvalidCriteriaError(f"{where} must be a category name (text); got {value!r}")
        return value
    if kind == "points":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidCriteriaError(f"{where} must be a whole number of points >= 0; got {value!r}")
        return value
    raise AssertionError(kind)


def round_half_away(x: np.ndarray, decimals: int) -> np.ndarray:
    """Round to *decimals* places, halves away from zero, as done by hand.

    Decimal halves such as -7.05 are not exact in binary floating point
    (``-7.05`` is stored as -7.04999...); a tolerance of 1e-9 grid steps treats
    them as the halves they were meant to be. NumPy's own :func:`numpy.round`
    rounds halves to even, which would score -7.05 as -7.0.

    Examples
    --------
    >>> round_half_away(np.array([-7.05, -7.04, 7.05, 39.5, 0.25]), 1)
    array([-7.1, -7. ,  7.1, 39.5,  0.3])
    >>> round_half_away(np.array([39.5, 49.49, 80.5]), 0)
    array([40., 49., 81.])
    """
    scale = 10.0**decimals
    # in place on one temporary; the operations and their order are those of
    # sign(x) * floor(abs(x) * scale + 0.5 + 1e-9) / scale, so the result is the same to the bit
    x = np.asarray(x)
    out = np.abs(x, out=np.empty(x.shape, dtype=x.dtype if x.dtype.kind == "f" else float))
    out *= scale
    out += 0.5
    out += 1e-9
    np.floor(out, out=out)
    out *= np.sign(x)
    out /= scale
    return out if out.ndim else out[()]


#: Decimals every angle (deg) and length (mm) is reported with: the report prints 0.1.
SHOWN_DECIMALS = 1


def as_shown(x: np.ndarray | float) -> np.ndarray:
    """*x* as the report shows it: rounded half away from zero to :data:`SHOWN_DECIMALS`.

    Every criterion is decided on this value, so that a verdict agrees with the
    number printed beside it: a PI-LL built to be 20 deg that comes out of the
    geometry as 20.00000000000012 is "20.0 deg" and is judged as 20.

    >>> as_shown(np.array([20.00000000000012, 19.99999999999988, 20.05, -40.04, np.nan]))
    array([ 20. ,  20. ,  20.1, -40. ,   nan])
    """
    return round_half_away(np.asarray(x, dtype=float), SHOWN_DECIMALS) + 0.0  # + 0.0: no -0.0


@dataclass(frozen=True)
class Term:
    """``coefficient * (variable - center)``, the coefficient kept as ``num/den``.

    A fraction such as 1/3 is kept exact so that ``(age - 55)/3`` equals 2 at
    age 61, and a target and an actual value can meet exactly at a threshold.
    ``variable`` None is the intercept (``num`` is its value).
    """

    variable: str | None
    num: float
    den: float = 1.0
    center: float = 0.0

    def evaluate(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray | float:
        if self.variable is None:
            return self.num
        x = inputs[self.variable]
        if self.center:
            x = x - self.center
        if self.num != 1.0:
            x = x * self.num
        return x / self.den if self.den != 1.0 else x

    def text(self) -> str:
        if self.variable is None:
            return _fmt(self.num)
        base = self.variable
        if self.center:
            base = f"({base} {'-' if self.center > 0 else '+'} {_fmt(abs(self.center))})"
        if self.num == 1.0:
            body = base
        elif self.num == -1.0:
            body = f"-{base}"
        else:
            body = f"{_fmt(self.num)}*{base}"
        return body if self.den == 1.0 else f"{body}/{_fmt(self.den)}"


@dataclass(frozen=True)
class Formula:
    """A linear formula in age and parameters: ``sum of terms``, in file order.

    Written in a data file as ``{"intercept": -12.7, "PI": 0.38, "age": 0.14}``;
    a term may also be ``{"coefficient": "1/3", "center": 55}`` for
    ``(age - 55)/3``. A bare number is a constant formula.

    Examples
    --------
    >>> f = Formula.from_json({"age": {"coefficient": "1/3", "center": 55}, "intercept": 20}, where="t")
    >>> f.text()
    '(age - 55)/3 + 20'
    >>> f.evaluate({"age": np.array([61.0, 55.0])})
    array([22., 20.])
    >>> Formula.from_json({"intercept": 32.9, "PI": 0.6, "age": -0.23}, where="t").text()
    '32.9 + 0.6*PI - 0.23*age'
    """

    terms: tuple[Term, ...]

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(t.variable for t in self.terms if t.variable is not None)

    def evaluate(self, inputs: Mapping[str, np.ndarray], n: int | None = None) -> np.ndarray:
        """``(N,)`` values; *n* is needed only when *inputs* is empty (a constant)."""
        if n is None:
            n = len(next(iter(inputs.values()))) if inputs else 1
        total: np.ndarray = np.zeros(n)
        for t in self.terms:
            total = total + t.evaluate(inputs)
        return total

    def text(self) -> str:
        out = ""
        for t in self.terms:
            part = t.text()
            if not out:
                out = part
            elif part.startswith("-"):
                out += f" - {part[1:]}"
            else:
                out += f" + {part}"
        return out or "0"

    @classmethod
    def from_json(cls, obj: object, *, where: str) -> Formula:
        if _is_number(obj):
            return cls((Term(None, float(obj)),))  # type: ignore[arg-type]
        d = require_mapping(obj, where=where, expected="a formula object or a number")
        if not d:
            raise InvalidCriteriaError(f"{where} must have at least one term; got {{}}")
        terms = []
        for key, value in d.items():
            w = f"{where}.{key}"
            if key == "intercept":
                if not _is_number(value):
                    raise InvalidCriteriaError(f"{w} must be a number; got {value!r}")
                terms.append(Term(None, float(value)))
                continue
            check_variable(key, where=w)
            if isinstance(value, Mapping):
                check_keys(value, ("coefficient", "center"), where=w)
                num, den = _coefficient(value.get("coefficient", 1), where=f"{w}.coefficient")
                center = value.get("center", 0)
                if not _is_number(center):
                    raise InvalidCriteriaError(f"{w}.center must be a number; got {center!r}")
                terms.append(Term(key, num, den, float(center)))
            else:
                num, den = _coefficient(value, where=w)
                terms.append(Term(key, num, den))
        return cls(tuple(terms))


def _coefficient(value: object, *, where: str) -> tuple[float, float]:
    if _is_number(value):
        return float(value), 1.0  # type: ignore[arg-type]
    if isinstance(value, str):
        parts = value.split("/")
        try:
            num, den = (float(parts[0]), float(parts[1])) if len(parts) == 2 else (float(value), 1.0)
        except ValueError:
            num, den = math.nan, 0.0
        if math.isfinite(num) and math.isfinite(den) and den != 0:
            return num, den
    raise InvalidCriteriaError(f'{where} must be a number or a fraction like "1/3"; got {value!r}')


def check_variable(name: str, *, where: str) -> str:
    """*name* must be ``"age"`` or a parameter id of clinical.md."""
    if name in VARIABLES or name in PARAMETERS:
        return name
    known = list(VARIABLES) + list(PARAMETERS)
    import difflib  # only for the message

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    ids = ", ".join(PARAMETERS)
    raise InvalidCriteriaError(
        f'{where}: unknown variable {name!r}; expected "age" or a parameter id ({ids}){hint}'
    )


# -- small readers shared by the set loaders ---------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require_mapping(obj: object, *, where: str, expected: str = "an object") -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise InvalidCriteriaError(f"{where} must be {expected}; got {type(obj).__name__} {obj!r:.60}")
    return obj


def check_keys(d: Mapping[str, Any], allowed: Sequence[str], *, where: str) -> None:
    for key in d:
        if key not in allowed:
            import difflib  # only for the message

            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
            raise InvalidCriteriaError(f"{where}: unknown field {key!r}{hint}")


def require_str(d: Mapping[str, Any], key: str, *, where: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        got = "nothing" if key not in d else repr(value)
        raise InvalidCriteriaError(f"{where}.{key} must be non-empty text; got {got}")
    return value


def optional_str(d: Mapping[str, Any], key: str, *, where: str) -> str | None:
    if d.get(key) is None:
        return None
    return require_str(d, key, where=where)


def require_number(d: Mapping[str, Any], key: str, *, where: str) -> float:
    value = d.get(key)
    if not _is_number(value):
        got = "nothing" if key not in d else repr(value)
        raise InvalidCriteriaError(f"{where}.{key} must be a finite number; got {got}")
    return float(value)  # type: ignore[arg-type]


# -- criterion-set files -----------------------------------------------------------------------

_BUILTIN_DIR = "sets"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEADER_KEYS = ("format", "kind", "name", "title", "status", "sources", "note", "label")


@dataclass(frozen=True)
class SetInfo:
    """What a criterion set is and where it came from (the header of its file).

    ``user_supplied`` is True for a set read from a path outside the package;
    reports name such a set as user-supplied.
    """

    name: str
    kind: str
    title: str
    status: Status
    sources: tuple[Citation, ...]
    note: str | None = None
    label: str | None = None
    path: str | None = None
    user_supplied: bool = False

    @property
    def display(self) -> str:
        """The set's name as a report shows it."""
        if self.user_supplied:
            return f"user-supplied criterion set {self.name!r} ({self.path})"
        return self.name


@cache
def _builtin_dir() -> Path:
    # next to this file rather than importlib.resources: works for regular,
    # editable and namespace-mapped installs alike (the data are plain files);
    # found once a run, as the files are listed once (_builtin_files)
    return Path(__file__).resolve().parent / _BUILTIN_DIR


@cache
def _builtin_dir_resolved() -> Path:
    """The built-in sets' folder with every link resolved: a set file elsewhere is the user's."""
    return _builtin_dir().resolve()


def builtin_sets() -> dict[str, Path]:
    """Built-in criterion-set files by name (the file stem)."""
    return dict(_builtin_files())


@cache
def _builtin_files() -> tuple[tuple[str, Path], ...]:
    # listed once a run: the shipped files do not change under it, and one measurement asks some 30 times
    return tuple((p.stem, p) for p in sorted(_builtin_dir().glob("*.json")))


def builtin_kind(name: str) -> str | None:
    """The ``"kind"`` of the built-in set *name* (``"criteria"``, ``"targets"``, ...), None if no such set.

    >>> builtin_kind("gap"), builtin_kind("lafage2016-linear"), builtin_kind("nonesuch")
    ('criteria', 'targets', None)
    """
    path = builtin_sets().get(name)
    return None if path is None else _file_kind(path)


@cache
def _file_kind(path: Path) -> str | None:
    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def read_set_file(source: str | Path, *, kinds: Sequence[str]) -> tuple[SetInfo, Mapping[str, Any], str]:
    """Read and check the header of a criterion-set file.

    Parameters
    ----------
    source : str or Path
        A built-in set name (``"lafage2016-linear"``) or a path to a JSON file.
    kinds : sequence of str
        The accepted ``"kind"`` values.

    Returns
    -------
    info : SetInfo
    data : mapping
        The whole JSON object (the body is read by the caller).
    where : str
        ``"criterion set 'path'"``, the prefix of every error message.
    """
    builtin = builtin_sets()
    path = builtin.get(str(source)) if isinstance(source, str) else None
    if path is None:
        path = Path(source)
        if not path.is_file():
            names = ", ".join(builtin)
            raise InvalidCriteriaError(
                f"criterion set {str(source)!r}: no such built-in set or file; built-in sets are {names}"
            )
    where = f"criterion set '{path}'"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidCriteriaError(f"{where}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise InvalidCriteriaError(
            f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except OSError as exc:
        raise InvalidCriteriaError(f"{where}: cannot be read ({exc.strerror})") from None
    d = require_mapping(data, where=where, expected="a JSON object")
    fmt = d.get("format")
    if fmt != FORMAT:
        raise InvalidCriteriaError(f'{where}: "format" must be "{FORMAT}"; got {fmt!r}')
    kind = d.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise InvalidCriteriaError(
            f'{where}: "kind" must be one of {", ".join(map(repr, kinds))}; got {kind!r}'
        )
    name = require_str(d, "name", where=where)
    if not _NAME_RE.match(name):
        raise InvalidCriteriaError(f'{where}.name must be letters, digits, "-", "_" or "."; got {name!r}')
    sources = d.get("sources")
    if not isinstance(sources, list) or not sources:
        raise InvalidCriteriaError(f"{where}.sources must be a non-empty list of citations; got {sources!r}")
    resolved = path.resolve()
    user = resolved.parent != _builtin_dir_resolved()
    info = SetInfo(
        name=name,
        kind=kind,
        title=require_str(d, "title", where=where),
        status=Status.parse(d.get("status"), where=f"{where}.status"),
        sources=tuple(Citation.from_json(c, where=f"{where}.sources[{k}]") for k, c in enumerate(sources)),
        note=optional_str(d, "note", where=where),
        label=optional_str(d, "label", where=where),
        path=str(path),
        user_supplied=user,
    )
    return info, d, where


def header_keys() -> tuple[str, ...]:
    """Top-level keys every set file may carry."""
    return _HEADER_KEYS
