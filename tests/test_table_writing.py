"""The measure table written a column at a time is the table written a row at a time (issue 17, 2).

``format_csv`` builds its text column by column (:func:`csv_column_chunks`): floats formatted by
Arrow where Arrow writes what :func:`repr` writes, each distinct text neutralised and quoted once,
the cells of a row joined by Arrow. Its bytes must be those of the row-by-row writer it replaced,
:func:`csv_text` over the rows of :func:`table_columns`; these tests compare the two.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spinecheck.alignment.render.text import format_csv, format_csv_chunks, table_columns
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.io import csv_cells
from spinecheck.landmarks.io.arrow_arrays import texts
from spinecheck.landmarks.io.csv_cells import csv_column_chunks, csv_text
from spinecheck.landmarks.io.wide_csv import write_landmark_table
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral


def row_wise(header: list[str], columns: list[np.ndarray]) -> str:
    """The reference: every cell as csv_text is given it (a float as a Python float, None when empty)."""

    def cell(col: np.ndarray, i: int) -> object:
        if col.dtype.kind == "f":
            v = float(col[i])
            return v + 0.0 if np.isfinite(v) else None
        return col[i]

    n = len(columns[0]) if columns else 0
    return csv_text([header, *([cell(c, i) for c in columns] for i in range(n))])


# text that needs every rule: formula starts, quotes, commas, line ends, a carriage return, NUL
hostile = st.text(alphabet=st.sampled_from(list("ab1.-+=@'\",\n\r\t\0 é")), max_size=6)
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1e-4, 9.99e-5, 1e10, 9999999999.5, 12.0, -3.5, 1e16, 123456789.125]
)
cells = st.none() | hostile | st.integers(-3, 3) | st.booleans() | numbers


@st.composite
def tables(draw):
    n = draw(st.integers(0, 25))
    n_cols = draw(st.integers(1, 6))
    columns = []
    for _ in range(n_cols):
        if draw(st.booleans()):
            columns.append(np.array(draw(st.lists(numbers, min_size=n, max_size=n)), dtype=float))
        else:
            col = np.empty(n, dtype=object)
            col[:] = draw(st.lists(cells, min_size=n, max_size=n))
            columns.append(col)
    groups = draw(st.none() | st.lists(st.integers(0, 2), min_size=n, max_size=n).map(np.array))
    return [f"c{j}" for j in range(n_cols)], columns, draw(st.integers(1, 8)), groups


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_column_writer_writes_what_the_row_writer_writes(table):
    header, columns, chunk_rows, groups = table
    got = "".join(csv_column_chunks(header, columns, chunk_rows=chunk_rows, groups=groups))
    assert got == row_wise(header, columns)


def test_each_chunk_is_made_in_the_calling_thread_when_it_is_asked_for(monkeypatch):
    # no chunk is made ahead, in this thread or another: two threads cost some 60 % more CPU for no
    # time saved (csv_column_chunks' notes), and a chunk made ahead holds its text
    made = []
    real = csv_cells._chunk_text

    def chunk_text(columns, groups=None):
        made.append((threading.get_ident(), len(columns[0])))
        return real(columns, groups)

    monkeypatch.setattr(csv_cells, "_chunk_text", chunk_text)
    n = 21
    rng = np.random.default_rng(1)
    columns = [rng.normal(0, 50, n), np.array(["a.png", "=b"] * (n // 2) + ["c"], dtype=object)]
    chunks = csv_column_chunks(["SVA_mm", "image"], columns, chunk_rows=10)
    assert next(chunks) == "SVA_mm,image\n" and made == []
    assert next(chunks).count("\n") == 10
    assert made == [(threading.get_ident(), 10)]
    assert next(chunks).count("\n") == 10 and len(made) == 2
    assert next(chunks).count("\n") == 1 and made[2] == (threading.get_ident(), 1)


@pytest.mark.parametrize(
    ("n", "sizes"),
    [
        (0, []),
        (1, [1]),
        (10, [10]),
        (14, [14]),  # 1.4 chunks' rows: one chunk, not one of 10 and one of 4
        (15, [8, 7]),  # 1.5: two equal chunks
        (21, [11, 10]),
        (26, [9, 9, 8]),
    ],
)
def test_a_table_is_cut_into_equal_chunks_of_about_chunk_rows(monkeypatch, n, sizes):
    # a chunk pays a fixed cost for each column: a last chunk of a few rows is not made on its own
    monkeypatch.setattr(csv_cells, "CHUNK_ROWS", 10)
    columns = [np.arange(n, dtype=float), np.array(["a"] * n, dtype=object)]
    chunks = list(csv_column_chunks(["x", "y"], columns))
    assert [c.count("\n") for c in chunks[1:]] == sizes
    assert "".join(chunks) == row_wise(["x", "y"], columns)


@pytest.mark.parametrize("seed", range(4))
def test_columns_of_few_values_are_written_as_the_row_writer_writes_them(seed):
    # long columns of a few objects each, and of a few floats: written from their distinct texts, adjacent
    # ones joined per distinct combination (csv_cells._merged), the rest formatted cell by cell
    rng = np.random.default_rng(seed)
    n = 3000
    pool = np.array(
        ["0", "+", "++", None, "=cmd", "a, b", 'say "x"', "x\ry", "-1.5", 3, True, "é"], dtype=object
    )
    floats = np.array([0.0, -0.0, 12.0, -3.5, 1e-05, 1e16, 0.1, 9999999999.5, np.nan, np.inf, 1 / 3])
    columns = []
    for _ in range(14):
        kind = rng.integers(0, 4)
        if kind == 0:  # a few objects
            columns.append(pool[rng.integers(0, rng.integers(1, len(pool) + 1), n)])
        elif kind == 1:  # a few floats
            columns.append(floats[rng.integers(0, rng.integers(1, len(floats) + 1), n)])
        elif kind == 2:  # floats, each its own
            values = rng.normal(0, 100, n)
            columns.append(np.where(rng.random(n) < 0.3, np.nan, values))
        else:  # texts, each its own object (equal values, new strings)
            columns.append(np.array([f"s{k}" for k in rng.integers(0, 5, n).tolist()], dtype=object))
    header = [f"c{j}" for j in range(len(columns))]
    for chunk_rows in (n, 700):
        assert "".join(csv_column_chunks(header, columns, chunk_rows=chunk_rows)) == row_wise(header, columns)


@pytest.mark.parametrize("seed", range(4))
def test_rows_joined_by_group_are_the_rows_of_the_table(seed):
    # each group leaves other columns empty, as a table's lateral and AP studies do: a float column empty
    # throughout a group, an object column of one text in a group (a constant there), carriage returns
    rng = np.random.default_rng(seed)
    n = 2000
    groups = rng.integers(0, 3, n)
    columns = []
    for j in range(12):
        owner = j % 3  # the group whose rows fill this column; the other groups' rows leave it empty
        if j % 2:
            values = np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 100, n))
            columns.append(np.where(groups == owner, values, np.nan))
        else:
            pool = np.array(["ok", "=cmd", "a, b", "x\ry", None, "ap", "lateral"], dtype=object)
            cells = pool[rng.integers(0, len(pool), n)]
            columns.append(np.where(groups == owner, cells, np.array("ap" if owner else None, dtype=object)))
    columns.append(np.array([f"study{k}.dcm" for k in range(n)], dtype=object))  # many texts
    header = [f"c{j}" for j in range(len(columns))]
    for chunk_rows in (n, 700):
        got = "".join(csv_column_chunks(header, columns, chunk_rows=chunk_rows, groups=groups))
        assert got == row_wise(header, columns)


def test_the_measure_table_joins_its_lateral_and_ap_rows_apart(monkeypatch, wide_study):
    # each view leaves the other's columns empty: a column empty throughout a view costs its rows nothing
    seen = []
    real = csv_cells._chunk_text

    def chunk_text(columns, groups=None):
        seen.append(groups)
        return real(columns, groups)

    monkeypatch.setattr(csv_cells, "_chunk_text", chunk_text)
    text = format_csv(wide_study)
    lateral = np.array([v == "lateral" for v in table_columns(wide_study)["view"].tolist()])
    assert len(seen) == 1 and seen[0] is not None
    np.testing.assert_array_equal(seen[0], lateral)
    assert 0 < lateral.sum() < len(lateral) and text.count("\n") == len(lateral) + 1


def float_texts(v: np.ndarray) -> list[str | None]:
    """The cells the column writer makes of finite floats *v*."""
    cells = csv_cells._float_cells(v)
    if isinstance(cells, csv_cells._Coded):  # a column of few values: its distinct texts, by index
        ((distinct, index),) = cells.columns
        return [distinct[index[k]] for k in cells.codes.tolist()]
    return texts(cells)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_floats_are_written_as_repr_writes_them(values):
    v = np.array(values) + 0.0
    assert float_texts(v) == [repr(x) for x in v.tolist()]


def test_arrow_is_used_only_where_it_writes_what_repr_writes():
    # magnitudes where repr writes an exponent and Arrow does not (and the reverse): repr decides them
    v = np.array([1.5e-5, -2e-7, 1e10, 12345678901.5, 1e16, 0.0001, 0.1, 42.0, -9999999999.75])
    assert float_texts(v) == [repr(x) for x in v.tolist()]
    assert csv_cells._arrow_floats_like_repr()  # this Arrow's cast agrees: the fast path is the one tested


def test_without_arrows_agreement_repr_writes_every_float(monkeypatch):
    monkeypatch.setattr(csv_cells, "_arrow_floats_like_repr", lambda: False)
    v = np.array([0.1, 12.0, 1e-7])
    assert float_texts(v) == ["0.1", "12.0", "1e-07"]


def mixed_table(n: int, seed: int = 0) -> LandmarkTable:
    """*n* lateral and AP studies of the synthetic films, each jittered (a curve count that varies)."""
    rng = np.random.default_rng(seed)
    lat, ap = synthetic_lateral(mm_per_px=0.5).landmarks, synthetic_ap(mm_per_px=0.5).landmarks
    sets = []
    for i in range(n):
        base = lat if i % 2 else ap
        points = {k: tuple(np.asarray(p) + rng.normal(0, 4.0, 2)) for k, p in base.points.items()}
        if i % 7 == 0:  # some studies miss points: reasons, withheld values
            points.pop(sorted(points)[i % len(points)])
        sets.append(LandmarkSet(base.view, points))
    ids = [f"study{i:03d}.dcm" for i in range(n - 2)] + ["=cmd.dcm", "a, b.dcm"]  # hostile names too
    return LandmarkTable.from_sets(sets, calibrations=[lat.calibration] * n, ids=ids)


@pytest.fixture(scope="module")
def wide_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide") / "studies.csv"
    write_landmark_table(mixed_table(120), path)
    return path


@pytest.fixture(scope="module")
def wide_study(wide_csv):
    return load_study(str(wide_csv))


def test_the_measure_table_is_the_row_by_row_table(wide_study):
    columns = table_columns(wide_study)
    header = list(columns)
    reference = csv_text([header, *zip(*(columns[h].tolist() for h in header), strict=True)])
    assert format_csv(wide_study) == reference
    assert "".join(format_csv_chunks([wide_study, wide_study])) == reference + reference.split("\n", 1)[1]


def test_measure_writes_the_table_as_it_is_made(capsys, wide_csv, wide_study):
    assert main(["measure", str(wide_csv), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    columns = table_columns(wide_study)
    header = list(columns)
    assert out == csv_text([header, *zip(*(columns[h].tolist() for h in header), strict=True)])
    assert out.count("\n") == 121 and {"lateral", "ap"} <= set(columns["view"].tolist())


def test_measuring_a_wide_csv_does_not_import_pandas(wide_csv):
    # pyarrow.array, pyarrow.scalar and to_numpy import pandas (some 0.5 s); the reader and
    # the writer build their Arrow arrays from buffers instead
    code = (
        "import sys, io, contextlib; from spinecheck.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['measure', {str(wide_csv)!r}, '--format', 'csv']) == 0\n"
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
