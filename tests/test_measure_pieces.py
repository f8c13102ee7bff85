"""``spinecheck measure TABLE.csv --format csv`` in pieces on several processes: the table of one process.

The threshold (:data:`~spinecheck.alignment.batch.wide_pieces.MIN_BYTES`) is lowered so that
small hostile tables are cut; each is measured with ``--jobs 1`` and in pieces, cut before
every line in turn, and the two outputs must be the same bytes; each process measures its
piece in sub-pieces (:data:`~spinecheck.alignment.batch.wide_pieces.SUB_BYTES`, lowered so that
every line is one), and those must give the same bytes too. A spy on
:func:`~spinecheck.alignment.batch.wide_pieces.measure_in_pieces` checks that the pieces were
measured (a fall back to one process would pass trivially) or, for the tables only the whole
read can cut, that they were not.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from spinecheck.alignment.batch import wide_pieces
from spinecheck.cli import main
from spinecheck.landmarks.io import wide_csv
from spinecheck.landmarks.io.wide_csv import landmark_table_to_csv
from spinecheck.landmarks.points.model import LandmarkTable
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral


@pytest.fixture(scope="module")
def films() -> tuple[str, str, str]:
    """A header with every column of both views and the extension columns, a lateral row and an AP row."""
    sets = [synthetic_lateral(mm_per_px=0.2).landmarks, synthetic_ap(mm_per_px=0.2).landmarks]
    # the points alone (age, sex and side left out), after the image name
    header, lateral, ap = (
        line.rsplit(",", 3)[0] for line in landmark_table_to_csv(LandmarkTable.from_sets(sets)).splitlines()
    )
    extra = ",mm_per_px_row,mm_per_px_col,age_years,sex"
    return header + extra, lateral.split(",", 1)[1], ap.split(",", 1)[1]


def _rows(films: tuple[str, str, str]) -> list[str]:
    """Data lines of every kind a piece could start or end on."""
    _, lat, ap = films
    wrong_view = "pa" + ap[len("ap") :]
    ap_cells = ap.split(",")
    ap_cells[5] = "nan"  # a cell Arrow reads as NaN: that piece is read again as text
    lat_cells = lat.split(",")
    short = ",".join(lat_cells[:-3])  # a row with too few cells
    lateral_with_ap_point = lat_cells.copy()
    lateral_with_ap_point[5:7] = ["12", "13"]  # C2.sup.left: an AP landmark on a lateral row
    return [
        f"a.dcm,{lat},0.2,0.2,50,F",
        f"b.dcm,{ap},0.2,0.2,0,M",
        f"c.dcm,{wrong_view},0.2,0.2,61,F",
        "",
        ",,,,",
        f"d.dcm,{','.join(ap_cells)},0.2,0.2,40,",
        f"e.dcm,{short}",
        f'"f,1.dcm",{lat},0.15,0.15,,O',
        f"'=g.dcm,{lat},0.2,0.2,-0,F",
        " \t ",
        f"h.dcm,{ap},0.2,0.2,200,F",
        "\x0c",  # not blank to the reader's row check (a row of one cell), blank to str.strip
        f"i.dcm,{','.join(lateral_with_ap_point)},,,,",
        f"j.dcm,{lat},0.2,0.2,0,F",
        f"k.dcm,{ap},,,33,F",
    ]


def _write(
    path: Path, header: str, rows: list[str], *, ends: tuple[str, ...] = ("\n",), bom: bool = False
) -> Path:
    lines = [header, *rows]
    text = "".join(line + ends[k % len(ends)] for k, line in enumerate(lines)) + "\n \n"  # blank lines end it
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def pieces(monkeypatch) -> list[bool]:
    """Tables of any size are cut; the list holds what each :func:`measure_in_pieces` call returned."""
    import pyarrow  # noqa: F401 - loaded first: Arrow's allocator settings of a command stay out of this process

    monkeypatch.setattr(wide_pieces, "MIN_BYTES", 0)
    said: list[bool] = []
    real = wide_pieces.measure_in_pieces

    def spy(*args, **kwargs) -> bool:
        said.append(real(*args, **kwargs))
        return said[-1]

    monkeypatch.setattr(wide_pieces, "measure_in_pieces", spy)
    return said


def _line_starts(path: Path) -> list[int]:
    """The byte where each data line starts (the header's line left out), in the file with its BOM."""
    raw = path.read_bytes()
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    starts, _ = wide_csv._line_spans(raw[bom:])
    return [int(s) + bom for s in starts[1:]]


def _cut_before(monkeypatch, path: Path, start: int) -> None:
    """Make a run with two jobs cut *path* so that the worker's piece starts at byte *start*."""
    size = path.stat().st_size
    header = wide_csv._header_span(str(path))
    assert header is not None
    monkeypatch.setattr(wide_pieces, "OWN_WEIGHT", (start + 0.5 - header[1]) / (size - start - 0.5))


@pytest.mark.parametrize(
    ("ends", "bom"),
    [
        pytest.param(("\n",), False, id="LF"),
        pytest.param(("\r\n",), True, id="CRLF-BOM"),
        pytest.param(("\r",), False, id="lone-CR"),
        pytest.param(("\n", "\r\n", "\r"), True, id="mixed-BOM"),
        pytest.param(("\n",), False, id="LF-blank-first"),  # cut after them: this process's piece is empty
    ],
)
def test_cut_before_every_line_the_table_is_the_one_of_one_process(
    tmp_path, monkeypatch, request, pieces, films, ends, bom
):
    blank = ["", ",,", "  "] if request.node.callspec.id.endswith("blank-first") else []
    path = _write(tmp_path / "hostile.csv", films[0], blank + _rows(films), ends=ends, bom=bom)
    code, whole, err = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    assert code == 0 and err == "" and not pieces
    assert whole.count("\n") == 1 + 12  # the header and every row that holds a study
    # every line where the endings are mixed or the first lines blank; some lines elsewhere (time)
    cuts = _line_starts(path)[1 :: 1 if request.node.callspec.id in ("mixed-BOM", "LF-blank-first") else 4]
    for start in cuts:
        _cut_before(monkeypatch, path, start)
        assert _run(["measure", str(path), "--format", "csv", "--jobs", "2"]) == (0, whole, ""), start
    assert pieces == [True] * len(cuts)


@pytest.mark.parametrize(
    ("ends", "bom"),
    [
        pytest.param(("\n",), False, id="LF"),
        pytest.param(("\n", "\r\n", "\r"), True, id="mixed-BOM"),
    ],
)
@pytest.mark.parametrize("jobs", ["2", "3"])
def test_sub_pieces_of_every_line_make_the_table_of_one_process(
    tmp_path, monkeypatch, pieces, films, ends, bom, jobs
):
    """Every line its own sub-piece, in this process and the workers (who are given the size)."""
    path = _write(
        tmp_path / "s.csv", films[0], _rows(films) + ["", f"z.dcm,{films[1]},0.2,0.2,1,F"], ends=ends, bom=bom
    )
    code, whole, err = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    assert code == 0 and err == "" and whole.count("\n") == 1 + 13
    monkeypatch.setattr(wide_pieces, "SUB_BYTES", 1)
    measured: list[tuple[int, int]] = []
    measure = wide_pieces._measure

    def spy(piece, options):  # this process's sub-pieces (the workers' are theirs)
        measured.append((piece.start, piece.stop))
        return measure(piece, options)

    monkeypatch.setattr(wide_pieces, "_measure", spy)
    assert _run(["measure", str(path), "--format", "csv", "--jobs", jobs]) == (0, whole, "")
    assert pieces == [True]
    starts = _line_starts(path)
    lines = list(zip(starts, [*starts[1:], path.stat().st_size], strict=True))
    assert len(measured) >= 3 and measured == lines[: len(measured)]  # one line each, in order


@pytest.mark.parametrize("alone_at", [None, 2])
def test_each_sub_piece_is_read_measured_and_written_with_the_collector_paused(
    tmp_path, monkeypatch, pieces, films, alone_at
):
    """The collector is off while a sub-piece is made (its text too), on between them and after.

    ``alone_at``: that sub-piece cannot be measured alone, so the table is measured whole.
    """
    path = _write(tmp_path / "g.csv", films[0], _rows(films))
    code, whole, _ = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    assert code == 0
    monkeypatch.setattr(wide_pieces, "SUB_BYTES", 1)
    seen: list[tuple[str, bool]] = []
    measure = wide_pieces._measure

    def texts(chunks):
        for chunk in chunks:
            seen.append(("text", gc.isenabled()))
            yield chunk

    def spy(piece, options):
        seen.append(("measure", gc.isenabled()))
        if len([s for s in seen if s[0] == "measure"]) == alone_at:
            return wide_pieces._ALONE
        chunks = measure(piece, options)
        return texts(chunks) if isinstance(chunks, Iterator) else chunks

    monkeypatch.setattr(wide_pieces, "_measure", spy)
    gc.collect()
    assert _run(["measure", str(path), "--format", "csv", "--jobs", "2"]) == (0, whole, "")
    assert gc.isenabled()
    assert pieces == [alone_at is None]
    assert {kind for kind, _ in seen} == {"measure", "text"}
    assert len(seen) >= 3 and not any(enabled for _, enabled in seen)


def test_rows_the_output_cannot_encode_are_measured_whole(tmp_path, monkeypatch, pieces, films):
    """A character the output's encoding lacks, in a worker's piece: the error of one process, at the same row."""
    rows = _rows(films)
    rows[-2] = "\u00e9" + rows[-2]
    path = _write(tmp_path / "e.csv", films[0], rows)

    def run(jobs: str) -> tuple[int, bytes, str]:
        out, err = io.TextIOWrapper(io.BytesIO(), encoding="ascii", newline=""), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["measure", str(path), "--format", "csv", "--jobs", jobs])
        out.flush()
        return code, out.buffer.getvalue(), err.getvalue()

    code, written, err = run("1")
    assert code != 0 and written.startswith(b"image,") and "UnicodeEncodeError" in err
    assert run("2") == (code, written, err)
    assert pieces == [False]


def test_three_pieces_and_error_messages_keep_their_line_numbers(tmp_path, pieces, films):
    path = _write(tmp_path / "t.csv", films[0], _rows(films) * 3)
    code, whole, _ = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    assert code == 0 and 'line 34: column ""view""' in whole  # the third copy's row with a bad view
    assert _run(["measure", str(path), "--format", "csv", "--jobs", "3"]) == (0, whole, "")
    assert pieces == [True]


@pytest.mark.parametrize(
    "kinds",
    [
        pytest.param(("lat",), id="lateral-only"),
        pytest.param(("ap",), id="ap-only"),
        pytest.param(("bad",), id="errors-only"),
    ],
)
def test_a_piece_of_one_kind_of_row_has_the_columns_of_the_whole(tmp_path, pieces, films, kinds):
    """The worker's piece holds one kind of row, the parent's the others: one header, the whole's."""
    header, lat, ap = films
    row = {
        "lat": f"x.dcm,{lat},0.2,0.2,50,F",
        "ap": f"y.dcm,{ap},,,,",
        "bad": "z.dcm,oblique" + lat[7:] + ",,,,",
    }
    mixed = [f"m{k}.dcm,{lat if k % 2 else ap},0.2,0.2,,M" for k in range(6)]
    path = _write(tmp_path / "k.csv", header, mixed + [row[kinds[0]]] * 6)
    code, whole, _ = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    assert code == 0
    assert _run(["measure", str(path), "--format", "csv", "--jobs", "2"]) == (0, whole, "")
    assert pieces == [True]


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param('q.dcm,"lateral\nview"', id="quoted-cell-spanning-lines"),
        pytest.param('q.dcm,a"b,"c', id="quote-arrow-reads-across-lines"),
    ],
)
def test_a_table_only_the_whole_read_can_cut_is_measured_in_one_process(tmp_path, pieces, films, odd):
    rows = _rows(films)
    path = _write(tmp_path / "q.csv", films[0], rows[:5] + [odd] + rows[5:])
    code, whole, err = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    assert _run(["measure", str(path), "--format", "csv", "--jobs", "2"]) == (code, whole, err)
    assert pieces == [False]


def test_an_error_in_a_workers_piece_is_the_error_of_one_process(tmp_path, pieces, films):
    """--uiv above the LIV of a row of the last piece alone: the one error of --jobs 1, and no rows."""
    header, lat, _ = films
    rows = [f"r{k}.dcm,{lat},0.2,0.2,50,F," for k in range(8)] + [f"s.dcm,{lat},0.2,0.2,50,F,T4"]
    path = _write(tmp_path / "op.csv", header + ",liv", rows)
    argv = ["measure", str(path), "--format", "csv", "--uiv", "T10"]
    code, out, err = _run([*argv, "--jobs", "1"])
    assert code == 2 and out == "" and err.startswith("error: --uiv") and err.count("\n") == 1
    assert _run([*argv, "--jobs", "2"]) == (code, out, err)
    assert pieces == [False]


def test_a_bad_header_is_said_once_before_any_worker_starts(tmp_path, pieces, films, monkeypatch):
    header, lat, _ = films
    path = _write(tmp_path / "h.csv", header.replace("C2.sup.ant.x", "C2.sup.antt.x"), [f"a,{lat},,,,"] * 4)
    monkeypatch.setattr(wide_pieces, "_Worker", None)  # a worker made would fail the run
    code, out, err = _run(["measure", str(path), "--format", "csv", "--jobs", "2"])
    assert (code, out) == (2, "") and 'column "C2.sup.antt.x"' in err and err.count("\n") == 1
    assert _run(["measure", str(path), "--format", "csv", "--jobs", "1"]) == (code, out, err)
    assert pieces == [False]


def _dies_at_once(piece, options, encoding, errors, sub_bytes, conn) -> None:
    """A worker's work (run in the worker, by name): killed before it says anything."""
    os.kill(os.getpid(), signal.SIGKILL)


def _dies_half_measured(piece, options, encoding, errors, sub_bytes, conn) -> None:
    """A worker's work (run in the worker, by name): killed once it has written the rows of half its piece."""
    half = wide_csv._line_start(piece.path, (piece.start + piece.stop) // 2, piece.stop) or piece.stop
    with open(os.devnull, "wb") as f:
        wide_pieces._measure_share(
            dataclasses.replace(piece, stop=half, last=False),
            options,
            f.fileno(),
            encoding,
            errors,
            sub_bytes,
        )
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("work", [_dies_at_once, _dies_half_measured])
def test_a_worker_that_dies_is_one_line_and_nothing_written(tmp_path, monkeypatch, pieces, films, work):
    """Every piece's rows wait in a file till every piece is measured: the parent's rows are not written."""
    path = _write(tmp_path / "d.csv", films[0], _rows(films))
    monkeypatch.setattr(wide_pieces, "_work", work)
    monkeypatch.setattr(wide_pieces, "SUB_BYTES", 1)
    code, out, err = _run(["measure", str(path), "--format", "csv", "--jobs", "2"])
    assert (code, out) == (2, "") and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: landmark table '{path}': the process measuring bytes ")
    assert "ended by signal 9" in err and "nothing was written" in err


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_below_one_is_a_usage_error(tmp_path, films, jobs):
    path = _write(tmp_path / "j.csv", films[0], _rows(films)[:2])
    code, out, err = _run(["measure", str(path), "--format", "csv", "--jobs", jobs])
    assert (code, out) == (2, "")
    assert err == f"error: --jobs: must be a number of worker processes >= 1; got {jobs}\n"


def test_pieces_only_for_a_large_csv_file_with_two_jobs(tmp_path, monkeypatch):
    monkeypatch.setattr(wide_pieces, "MIN_BYTES", 100)
    big, small, other = tmp_path / "big.CSV", tmp_path / "small.csv", tmp_path / "big.json"
    big.write_bytes(b"x" * 100)
    small.write_bytes(b"x" * 99)
    other.write_bytes(b"x" * 100)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert wide_pieces.applies(str(big), jobs=2)
    assert not wide_pieces.applies(str(big), jobs=1)
    for path in (small, other, fifo, tmp_path / "absent.csv", "-"):
        assert not wide_pieces.applies(str(path), jobs=2), path


def test_other_formats_and_one_job_never_start_a_worker(tmp_path, monkeypatch, pieces, films):
    path = _write(tmp_path / "o.csv", films[0], _rows(films)[:2])
    monkeypatch.setattr(wide_pieces, "_Worker", None)
    runs = (
        ["--format", "json", "--jobs", "2"],
        ["--format", "table", "--jobs", "2"],
        ["--format", "csv", "--jobs", "1"],
    )
    for argv in runs:
        assert _run(["measure", str(path), *argv])[0] == 0, argv
    assert pieces == []


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 24])
@pytest.mark.parametrize("text", [b"h\na\r\nb\rc\n\nd\r\r\ne", b"\r\n\r\n", b"x", b"\n\r\r\n\n\r", b""])
def test_line_starts_and_breaks_cut_as_the_reader_does(tmp_path, monkeypatch, text, block):
    r"""Every offset: the next line start, and the breaks before each line start, as _line_spans cuts.

    Counted in blocks of *block* bytes, so that a \r\n falls across two blocks.
    """
    monkeypatch.setattr(wide_csv, "_SCAN_BYTES", block)
    path = tmp_path / "lines.csv"
    path.write_bytes(text)
    starts = [int(s) for s in wide_csv._line_spans(text)[0]] if text else []
    starts = [s for s in starts if s < len(text)]  # a line starts at a byte of the file
    with open(path, "rb") as f:
        for offset in range(1, len(text) + 1):
            expected = next((s for s in starts if s >= offset), None)
            assert wide_csv._line_start(str(path), offset, len(text)) == expected, offset
        for k, start in enumerate(starts):
            assert wide_csv._line_breaks(f.fileno(), 0, start) == k


@pytest.mark.parametrize("which", ["every", "second"])
def test_pieces_whose_columns_differ_are_measured_whole(tmp_path, monkeypatch, pieces, films, which):
    """Never seen (the columns follow the options, not the rows), but then only the whole table says which.

    A column more in every sub-piece of this process's piece (the workers' lack it), or in its second alone.
    """
    path = _write(tmp_path / "c.csv", films[0], _rows(films))
    _, whole, _ = _run(["measure", str(path), "--format", "csv", "--jobs", "1"])
    measure = wide_pieces._measure
    seen: list[int] = []
    parent = os.getpid()  # a worker forked from this process has the spy too: it measures as it is

    def one_more_column(piece, options):
        chunks = measure(piece, options)
        if os.getpid() != parent:
            return chunks
        if chunks is None or (which == "second" and len(seen) != 1):
            seen.append(piece.start)
            return chunks
        seen.append(piece.start)
        return iter([next(chunks).replace("\n", ",extra\n"), *chunks])

    monkeypatch.setattr(wide_pieces, "_measure", one_more_column)
    monkeypatch.setattr(wide_pieces, "SUB_BYTES", 1 if which == "second" else wide_pieces.SUB_BYTES)
    assert _run(["measure", str(path), "--format", "csv", "--jobs", "2"]) == (0, whole, "")
    assert pieces == [False]
    assert len(seen) == (2 if which == "second" else 1)  # the second sub-piece ended this process's measure


def test_a_file_of_rows_shorter_than_said_is_an_error_not_a_shorter_table(tmp_path):
    rows = tmp_path / "rows"
    rows.write_bytes(b"a,b\n" * 10)
    with open(tmp_path / "out.csv", "w") as out, open(rows, "rb") as f:
        wide_pieces._copy(f.fileno(), 40, out)  # the whole file: copied by the kernel
        with pytest.raises(OSError, match="ended at byte 40 of 41"):
            wide_pieces._copy(f.fileno(), 41, out)
    assert (tmp_path / "out.csv").read_bytes().startswith(b"a,b\n" * 10)


def test_workers_are_not_forked_from_a_process_running_threads_of_its_own():
    """A program that runs the command in its process (a notebook, a window) may hold locks in its threads."""
    import sys
    import threading

    from spinecheck.alignment.batch import wide_pieces

    alone = threading.active_count() == 1  # a test run may hold threads of earlier tests
    assert wide_pieces.forks_here() == (sys.platform.startswith("linux") and alone)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert not wide_pieces.forks_here()
    finally:
        stop.set()
        other.join()
    assert wide_pieces.forks_here() == (sys.platform.startswith("linux") and alone)


_ALLOCATOR_PROBE = """
import os, sys, threading
from spinecheck.alignment.batch import wide_pieces
wide_pieces.MIN_BYTES = 0
from spinecheck.cli import main
if sys.argv[2] == "thread":  # a program that runs the command in its own process, with a thread of its own
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
loaded_before = "pyarrow" in sys.modules
code = main(["measure", sys.argv[1], "--format", "csv", "--jobs", "2"])
# Arrow loaded by the command itself, after the settings (which are only set while it is not loaded)
said = [code, loaded_before, "pyarrow" in sys.modules]
print(*said, *(os.environ.get(name) for name in wide_pieces._ARROW_ALLOCATOR), file=sys.stderr)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers forked from the command: Linux")
@pytest.mark.parametrize(("user", "thread"), [(None, False), ("250", False), (None, True)])
def test_arrow_keeps_its_freed_pages_in_the_processes_of_pieces(tmp_path, films, user, thread):
    """Set before Arrow is loaded (else mimalloc never reads them); a user's own setting stands.

    Not in a program's own process that runs the command (its workers come from the fork server).
    """
    import subprocess

    header, lat, ap = films
    path = _write(tmp_path / "t.csv", header, [f"a.dcm,{lat},0.2,0.2,50,F", f"b.dcm,{ap},0.2,0.2,60,M"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}
    if user is not None:
        env["MIMALLOC_PURGE_DELAY"] = user
    done = subprocess.run(
        [sys.executable, "-c", _ALLOCATOR_PROBE, str(path), "thread" if thread else "alone"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = ["0", "False", "True", *(["None", "None"] if thread else [user or "-1", "0"])]
    assert done.stderr.split() == expected, done.stderr
    assert done.stdout.count("\n") == 3  # the header and both rows


def test_arrow_loaded_already_is_left_as_it_is(monkeypatch):
    """Its allocator has read its settings: changing the environment would only mislead a later reader."""
    import pyarrow  # noqa: F401 - loaded, as in this test run

    for name in wide_pieces._ARROW_ALLOCATOR:
        monkeypatch.delenv(name, raising=False)
    wide_pieces._arrow_keeps_its_pages()
    assert not any(name in os.environ for name in wide_pieces._ARROW_ALLOCATOR)
