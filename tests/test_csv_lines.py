"""csv_lines' fast path (a row of plain cells joined once, issue 17) against the writer it skips.

:func:`~spinecheck.landmarks.io.csv_cells.csv_lines` decides from a row's cells joined by
commas whether any cell needs quoting or neutralising, and writes the others through
:mod:`csv` as before. :func:`reference_lines` is the implementation it replaced, kept
here word for word: the two must give the same lines for every row, above all for the
cells on the edge of each rule (commas, quotes, line ends, the first characters of a
formula, numbers and signs only, empty and one-cell rows, None, objects whose ``str``
is not their text).
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Callable, Iterable
from typing import NamedTuple

from hypothesis import example, given, settings
from hypothesis import strategies as st
from spinecheck.landmarks.io.csv_cells import _CAREFUL, csv_lines, csv_text, neutralise_cell


class _Sink(NamedTuple):
    write: Callable[[str], object]


def reference_lines(rows: Iterable[Iterable[object]]) -> list[str]:
    """csv_lines as it was before its fast path (commit cf88446)."""
    lines: list[str] = []
    sink = _Sink(lines.append)
    minimal = csv.writer(sink, lineterminator="\n")
    whole = csv.writer(sink, lineterminator="\n", quoting=csv.QUOTE_ALL)
    careful = _CAREFUL
    for row in rows:
        cells = ["" if c is None else str(c) for c in row]
        cells = [c if c[:1] not in careful else neutralise_cell(c) for c in cells]
        (whole if "\r" in "".join(cells) else minimal).writerow(cells)
    return lines


def outcome(write: Callable[[list], object], rows: list) -> tuple[str, object]:
    """What *write* makes of *rows*: ``("lines", ...)``, or ``("error", type)`` where :mod:`csv` refuses a cell.

    Python 3.10's csv refuses a NUL inside a cell (``_csv.Error``); 3.11 and later write it.
    """
    try:
        return "lines", write(rows)
    except csv.Error as exc:
        return "error", type(exc)


class Grade(str, enum.Enum):
    """A str whose str() is not its text ("Grade.PLUS", not "+"): a join would write "+"."""

    PLUS = "+"
    FORMULA = "=1"


class Text(str):
    """A str subclass with its own str()."""

    def __str__(self) -> str:
        return "-x" + super().__str__()


# the pieces a cell is made of: every character some rule looks at, and whole cells on a rule's edge
PIECES = st.sampled_from(list(",\"\r\n=+-@'\t\0\x01 .eE1a\u0663") + ["07"])
EDGES = st.sampled_from(
    [
        "", "-", "+", "++", "+-", "--x", "-1.5e-07", "+3", "-.5", "1.", "-1.", "-1.e5", "-1e", "-1e+",
        "-.", "+.e5", "-.5e", "-12.5.png", "-1+1", "-inf", "-nan", "'", "''=a", "'x", "'-1", "=1+2", "@a", "\t", "\0",
        "a,b", '"', "a\rb", "\n", "None", "-\u0663", "-1,5", " -1",
    ]
)  # fmt: skip
CELLS = st.one_of(
    st.lists(PIECES, max_size=6).map("".join),
    EDGES,
    st.text(max_size=8),
    st.none(),
    st.integers(),
    st.floats(),
    st.sampled_from([Grade.PLUS, Grade.FORMULA, Text("a"), Text(""), True, b"x"]),
)
PLAIN = st.one_of(st.lists(PIECES, max_size=4).map("".join), EDGES)  # str cells only: the fast path's rows
ROWS = st.lists(st.one_of(st.lists(CELLS, max_size=8), st.lists(PLAIN, max_size=8)), max_size=6)


@settings(max_examples=1000, deadline=None)
@given(ROWS, st.sampled_from([list, tuple, iter]))
@example([[""], [], ["", ""], ["-"], ["a", "-1"], ["a", "-1x"], ["-1.5e-07", "++", "+"], ["a", "-."]], tuple)
@example([[None], [Grade.PLUS, "a"], [Text("a"), "b"], ["\u0663", "-\u0663"]], list)
def test_csv_lines_are_the_lines_of_the_writer_it_skips(rows, kind):
    expected = outcome(reference_lines, [kind(row) for row in rows])
    assert outcome(csv_lines, [kind(row) for row in rows]) == expected
    joined = (expected[0], "".join(expected[1])) if expected[0] == "lines" else expected
    assert outcome(csv_text, [kind(row) for row in rows]) == joined


@settings(max_examples=200, deadline=None)
@given(st.lists(PLAIN, min_size=100, max_size=130))
def test_long_rows_of_plain_cells(row):
    """Rows as long as a batch row, where a needed cell sits among many that need nothing."""
    assert outcome(csv_lines, [tuple(row), row]) == outcome(reference_lines, [tuple(row), row])


def test_a_nul_inside_a_cell_is_the_writers_to_judge():
    """Python 3.10's csv refuses a NUL inside a cell (3.11+ writes it): the fast path leaves such a row to it."""
    rows = [["a\0b", "x"], ["a\0b", 1]]
    assert outcome(csv_lines, rows) == outcome(reference_lines, rows)
