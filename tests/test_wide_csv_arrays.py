"""Reading Arrow's columns into the landmark table: nulls, chunk offsets, shared objects."""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow as pa
import pytest
from spinecheck.landmarks.io import wide_csv
from spinecheck.landmarks.io.arrow_arrays import float_values, floats, repeated_texts, strings
from spinecheck.landmarks.io.wide_csv import read_wide_csv
from spinecheck.landmarks.points.model import PatientInfo, Sex


def _items(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    values = rng.normal(0, 1e3, n)
    values[rng.random(n) < 0.1] = -0.0
    return values, rng.random(n) < 0.6


@pytest.mark.parametrize("offset", [0, 1, 7, 8, 13])
@pytest.mark.parametrize("n", [0, 1, 9, 100])
def test_float_values_reads_sliced_chunks(offset: int, n: int) -> None:
    """A chunk that starts inside a byte of its validity bitmap reads its own items, NaN where null."""
    rng = np.random.default_rng(offset * 1000 + n)
    values, valid = _items(rng, offset + n + 5)
    array = floats(values, valid).slice(offset, n)
    expected = np.where(valid, values, np.nan)[offset : offset + n]
    got = float_values(array)
    np.testing.assert_array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))  # -0.0 stays -0.0


def test_float_values_fills_a_column_of_a_larger_array() -> None:
    rng = np.random.default_rng(5)
    parts = [_items(rng, n) for n in (3, 17, 0, 8)]
    column = pa.chunked_array([floats(v, ok) for v, ok in parts], type=pa.float64())
    out = np.full((2, 28), 7.0).T  # column-major, as the reader's array
    float_values(column, out=out[:, 1])
    expected = np.concatenate([np.where(ok, v, np.nan) for v, ok in parts])
    np.testing.assert_array_equal(out[:, 1], expected)
    assert (out[:, 0] == 7.0).all()


def test_float_values_without_nulls_keeps_infinities() -> None:
    values = np.array([np.inf, -np.inf, 1.5])
    np.testing.assert_array_equal(float_values(floats(values, np.ones(3, dtype=bool))), values)


def test_floats_into_writes_every_block_of_every_column_nan_where_null() -> None:
    """Arrow's read gives a table in blocks (a chunk of every column each): all of them land in place."""
    rng = np.random.default_rng(11)
    blocks = (5, 0, 12, 1)  # an empty block too
    columns = [[_items(rng, n) for n in blocks] for _ in range(3)]
    batches = [
        pa.record_batch([floats(*columns[j][b]) for j in range(3)], names=["a", "b", "c"])
        for b in range(len(blocks))
    ]
    table = pa.Table.from_batches(batches)
    out = np.full((4, 20), 7.0).T  # column-major, as the reader's array, a row more than the table's
    nulls = wide_csv._floats_into(table, out[:18, 1:])
    expected = np.stack(
        [np.concatenate([np.where(ok, v, np.nan) for v, ok in col]) for col in columns], axis=1
    )
    np.testing.assert_array_equal(out[:18, 1:], expected)
    assert np.array_equal(np.signbit(out[:18, 1:]), np.signbit(expected))  # -0.0 stays -0.0
    assert nulls == sum(int((~ok).sum()) for col in columns for _, ok in col)
    assert (out[:, 0] == 7.0).all() and (out[18:] == 7.0).all()  # nothing written beside the table's cells


def test_floats_into_keeps_infinities() -> None:
    values = np.array([np.inf, -np.inf, 1.5])
    table = pa.table({"a": floats(values, np.ones(3, dtype=bool))})
    out = np.zeros((1, 3)).T
    assert wide_csv._floats_into(table, out) == 0
    np.testing.assert_array_equal(out[:, 0], values)


def test_finite_but_nulls_counts_only_the_cells_read_from_text() -> None:
    """A null is NaN and is left out; a NaN or infinity read from a cell's text is not."""
    block = np.full((3, 2), 7.0).T  # column-major, as the reader's array
    block[0, 1] = np.nan  # a null cell
    assert wide_csv._finite_but_nulls(block, 1)
    block[1, 0] = np.inf  # read from "inf": one more cell that is not finite than there are nulls
    assert not wide_csv._finite_but_nulls(block, 1)
    block[1, 0] = -0.0
    assert not wide_csv._finite_but_nulls(block, 0)  # a NaN that was no null: read from "nan"


def test_repeated_texts_shares_one_object_per_text() -> None:
    column = pa.chunked_array([strings(["ap", "lateral", "ap"]), strings(["lateral", "é", ""])])
    got = repeated_texts(column)
    assert got == ["ap", "lateral", "ap", "lateral", "é", ""]
    assert got[0] is got[2]


def test_repeated_texts_refuses_nulls() -> None:
    with pytest.raises(ValueError, match="nulls"):
        repeated_texts(pa.array(["a", None]))


def test_equal_patients_share_one_object() -> None:
    """Rows with the same age and sex share their PatientInfo; 0 and -0 are one age, the first one read."""
    text = (
        "image,view,age_years,sex\na,lateral,-0,F\nb,lateral,0,F\nc,lateral,,\nd,lateral,,F\ne,lateral,67,\n"
    )
    text += "f,lateral,67.0,\ng,lateral,,\nh,lateral,0,M\n"
    t = read_wide_csv(io.StringIO(text))
    p = t.patients
    assert p[0] is p[1] and math.copysign(1, p[0].age_years) == -1  # type: ignore[arg-type]
    assert p[4] is p[5] and p[4] == PatientInfo(67.0, "landmark table")
    assert type(p[4].age_years) is float
    assert p[2] is p[6] and p[2] == PatientInfo()
    assert p[3] == PatientInfo(None, None, Sex.F, "landmark table")
    assert p[7] == PatientInfo(0.0, "landmark table", Sex.M, "landmark table") and p[7] is not p[1]
    assert len({id(x) for x in p}) == 5


def test_patient_right_only_on_ap_rows() -> None:
    text = "image,view,patient_right\na,ap,image_left\nb,lateral,image_left\nc,ap,\nd,AP,image_right\n"
    t = read_wide_csv(io.StringIO(text))
    assert t.patient_right.dtype == object and t.patient_right.shape == (4,)
    assert [None if s is None else s.value for s in t.patient_right] == [
        "image_left",
        None,
        None,
        "image_right",
    ]


def test_a_large_read_gives_its_freed_memory_back(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[None] = []
    release = wide_csv._release_free_memory
    monkeypatch.setattr(wide_csv, "_release_free_memory", lambda: calls.append(release()))
    text = "image,view,C7.centroid.x,C7.centroid.y\na,lateral,1,2\n"
    read_wide_csv(io.StringIO(text))
    assert calls == []  # a small table keeps the allocators' pages for the next read
    monkeypatch.setattr(wide_csv, "_RELEASE_BYTES", len(text))
    t = read_wide_csv(io.StringIO(text))
    assert calls == [None] and t.point("C7.centroid").tolist() == [[1.0, 2.0]]


def test_a_piece_keeps_its_freed_memory_for_the_next(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Sub-pieces are read one after another: giving the memory back after each made the kernel zero it again."""
    calls: list[None] = []
    monkeypatch.setattr(wide_csv, "_release_free_memory", lambda: calls.append(None))
    monkeypatch.setattr(wide_csv, "_RELEASE_BYTES", 0)
    path = tmp_path / "w.csv"
    path.write_text("image,view,C7.centroid.x,C7.centroid.y\na,lateral,1,2\nb,lateral,3,4\n")
    header = wide_csv._header_span(str(path))
    assert header is not None
    piece = wide_csv._Piece("w.csv", str(path), header, header[1], path.stat().st_size, last=True)
    t = wide_csv._read_piece(piece)
    assert t.point("C7.centroid").tolist() == [[1.0, 2.0], [3.0, 4.0]] and piece.next_line == 4
    assert calls == []
    read_wide_csv(str(path))  # the whole file's read gives it back, as before
    assert calls == [None]


def test_a_piece_is_parsed_on_one_thread_a_whole_table_on_arrows(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A piece's process shares the cores with the other pieces': Arrow's threads there cost CPU, not time."""
    import pyarrow.csv as pa_csv

    threads: list[bool] = []
    options = pa_csv.ReadOptions

    def spy(*args, **kwargs):
        threads.append(kwargs.get("use_threads", True))
        return options(*args, **kwargs)

    monkeypatch.setattr(pa_csv, "ReadOptions", spy)
    path = tmp_path / "w.csv"
    path.write_text("image,view,C7.centroid.x,C7.centroid.y\na,lateral,1,2\nb,lateral,nan,4\n")
    header = wide_csv._header_span(str(path))
    assert header is not None
    piece = wide_csv._Piece("w.csv", str(path), header, header[1], path.stat().st_size, last=True)
    t = wide_csv._read_piece(piece)  # "nan": read a second time, as text
    assert threads == [False, False] and t.row_errors is not None and t.row_errors[1] is not None
    threads.clear()
    read_wide_csv(str(path))
    assert threads == [True, True]


def test_release_without_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """A C library without malloc_trim (musl, macOS): the release is skipped, not an error."""
    import ctypes

    monkeypatch.setattr(ctypes, "CDLL", lambda name: object())
    wide_csv._release_free_memory()


def test_read_ahead_keeps_order_and_raises_where_the_table_would_come() -> None:
    pieces = [memoryview(bytes([i])) for i in range(5)]

    def read(piece: memoryview) -> int:
        if piece[0] == 3:
            raise pa.ArrowInvalid("bad piece")
        return piece[0] * 10

    got: list[int] = []
    with pytest.raises(pa.ArrowInvalid, match="bad piece"):
        for table in wide_csv._read_ahead(read, pieces):  # type: ignore[arg-type]
            got.append(table)
    assert got == [0, 10, 20]


def test_read_ahead_waits_for_the_read_under_way_when_stopped() -> None:
    import threading

    done: list[int] = []
    release = threading.Event()

    def read(piece: memoryview) -> int:
        if piece[0] == 1:
            release.wait(5)
        done.append(piece[0])
        return piece[0]

    tables = wide_csv._read_ahead(read, [memoryview(bytes([i])) for i in range(3)])  # type: ignore[arg-type]
    assert next(tables) == 0
    release.set()
    tables.close()  # the caller stops: the read of piece 1 has ended when close returns
    assert done == [0, 1]


def _wide_table(n: int = 40):
    """A wide CSV's table of both views, some coordinates empty: its points are views of one array."""
    rng = np.random.default_rng(5)
    names = ["L1.sup.left", "L1.sup.right", "L1.sup.ant", "L1.sup.post", "FH"]
    lines = ["image,view," + ",".join(f"{p}.{c}" for p in names for c in "xy")]
    for i in range(n):
        cells = [f"{v:.2f}" if rng.random() < 0.8 else "" for v in rng.uniform(10, 500, 2 * len(names))]
        lines.append(f"s{i}.png,{'ap' if i % 3 else 'lateral'}," + ",".join(cells))
    return read_wide_csv(io.StringIO("\n".join(lines) + "\n"))


@pytest.mark.parametrize("index", [[3, 0, 7, 7, 39], np.arange(40) % 2 == 1, np.array([], dtype=int)])
def test_subset_takes_the_rows_of_each_point_each_coordinate_contiguous(index) -> None:
    """A subset copies rows (order and repeats kept), each coordinate a contiguous column, as read."""
    table = _wide_table()
    sub = table.subset(index, ["L1.sup.left", "FH", "absent"])
    rows = np.arange(len(table))[np.asarray(index)]
    assert list(sub.points) == ["L1.sup.left", "FH"]
    for name, xy in sub.points.items():
        np.testing.assert_array_equal(xy, table.points[name][rows])
        assert xy.shape == (len(rows), 2) and xy[:, 0].flags.c_contiguous and xy[:, 1].flags.c_contiguous
        assert not np.shares_memory(xy, table.points[name])
    assert sub.ids == tuple(table.ids[i] for i in rows.tolist())


def test_has_needs_both_coordinates() -> None:
    """A point is there where both its coordinates are; a name no study has is nowhere."""
    table = _wide_table()
    for name, xy in table.points.items():
        assert table.has(name).tolist() == np.isfinite(xy).all(axis=1).tolist()
    assert not table.has("T4.sup.left").any() and table.has("T4.sup.left").shape == (len(table),)
