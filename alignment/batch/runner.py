"""A whole archive in one run: ``spinecheck batch ROOT -o TABLE.csv``.

:func:`run_batch` finds the studies (:func:`spinecheck.alignment.batch.archive.discover`), hands
them to workers in chunks, and appends each chunk's rows to the table as it
arrives. A worker reads every study of its chunk: the landmark file, and the
radiograph's *header* (:func:`spinecheck.landmarks.imaging.radiograph.read_radiograph_header`:
size, SOP Instance UID, pixel spacing, age, sex, view, orientation, and a
check without decoding that the pixel data are all there); the landmarks are
checked against it and merged with it exactly as :func:`alignment.load_study`
does, through :func:`spinecheck.alignment.study.merge_image`. Then the chunk is measured
and judged in one vectorised :func:`~spinecheck.alignment.measure.measure` +
:func:`~spinecheck.alignment.criteria.engine.assess` call and turned into rows with
:func:`~spinecheck.alignment.render.text.table_columns`: the same core as ``spinecheck measure``.

So an ``ok`` row means the landmarks and the header were read and checked.
The pixels are decoded only when they are needed, for figures
(``BatchOptions.figures``), or when asked (``verify_pixels``: a film whose
pixels cannot be decoded is then an ``error`` row, as a corrupt compressed
stream in a complete fragment is found only by decoding). The rows are the
same either way for every film that decodes: they are made from the header.

The table and its file (incremental writes, resume, the sorted atomic rewrite,
the Parquet copy) are :mod:`spinecheck.alignment.batch.table`.

Engines: the calling process (``jobs=1``), a pool of ``jobs`` worker processes
(forked from a fork server that has imported what they need, so safe from any
parent and quick to start; spawned where there is no fork server), or a Dask
distributed cluster (``scheduler="tcp://host:8786"``; the archive must be at
the same path on every worker). Work in flight is bounded (two chunks per worker), so memory
stays flat however large the archive.

A study that kills its worker process (a crash in a decoder, the out-of-memory
killer) costs only its own row, on every engine: the studies that were in
flight with it are measured again, and only a study whose worker dies while it
runs alone gets an ``error`` row (:func:`_run`).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import importlib
import itertools
import math
import multiprocessing
import os
import re
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ... import _library_logger, dataclass
from ...landmarks.errors import InvalidLandmarksError, SpinecheckError
from ...landmarks.io.atomic import TEMP_MARK, remove_stale_temporaries
from ...landmarks.points.calibration import Calibration
from ...landmarks.points.film import FilmIdentity
from ...landmarks.points.model import LandmarkSet, LandmarkTable, PatientInfo
from ..geometry.coronal import CobbMethod
from ..study import merge_image, merge_landmarks
from .archive import Archive, RowStatus, StudyJob, Unmeasured, discover, landmark_claim, uid_doubt
from .collector import collector_paused
from .personal import pseudonym
from .scheduler import SchedulerAddress, parse_scheduler, scheduler_security
from .table import (
    BatchError,
    BatchOptions,
    BatchTable,
    Row,
    batch_header,
    numeric_columns,
    plain_row,
    prepare_parquet,
    rows_of,
    study_of,
    write_parquet,
)
from .workers import decoder_threads, forks_here, start_fork_server, worker_modules

__all__ = [
    "BatchError",
    "BatchInterrupted",
    "BatchOptions",
    "BatchSummary",
    "batch_header",
    "measure_chunk",
    "numeric_columns",
    "reason_kind",
    "run_batch",
    "worker_modules",
]

_log = _library_logger(__name__)

#: Most studies per chunk when films are decoded (figures, DICOM results, ``verify_pixels``, ``detect``):
#: decoding dwarfs the measure call, and a decoder that kills its worker sends every study of its
#: chunk to run again alone.
MAX_CHUNK = 32
#: Most studies per chunk when only headers are read: one vectorised measure, assess and rows call
#: costs some 17 ms whatever the chunk's size, about what reading 30 headers costs (study_of over
#: 1 000 studies: 0.031 s in one chunk, 0.080 s in four of 250). Chunks of 1 000 took as much CPU
#: as two of 500 in a whole run on one worker, with 13 MB more at the peak (149 against 136 MB; 129
#: at 256), issue 17, 4; on several workers the last round is made small (:func:`_chunk_plan`).
MAX_HEADER_CHUNK = 512
#: Chunks in flight per worker: one running, one waiting.
IN_FLIGHT_PER_WORKER = 2
FIGURE_DPI = 150
_DEFAULT_OPTIONS = BatchOptions()
#: The status of the row a worker returns for a study whose film contradicts the SOP Instance UID its
#: landmark file records (discovery paired them by names, :func:`~.archive.uid_doubt`), or whose
#: ``.json`` file, paired unread, is no landmark file: never written; the archive is paired again
#: with every file read (:func:`_pair_again`).
_UID_DOUBT = "uid-doubt"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    table : str
        The CSV written.
    parquet : str
        The Parquet copy.
    counts : Mapping of str to int
        Rows of the final table per status (``ok``, ``error``, ``skipped``).
    measured : int
        Studies run by this invocation.
    resumed : int
        Rows already in the table when this invocation started.
    reasons : tuple of (str, int, str)
        Errors and skips grouped by reason (file names and numbers blanked):
        the reason, how many rows, one example image or landmark file; most
        frequent first.
    seconds : float
        Wall time of this invocation.
    engine : str
        ``"this process"``, ``"N worker processes"`` or ``"Dask at ADDRESS"``.
    ignored : int
        Files under the root that are neither images nor landmark files.
    links_out : int
        Symbolic links that lead out of the archive, not followed.
    """

    table: str
    parquet: str
    counts: dict[str, int]
    measured: int
    resumed: int
    reasons: tuple[tuple[str, int, str], ...]
    seconds: float
    engine: str
    ignored: int
    links_out: int = 0

    @property
    def total(self) -> int:
        """Rows in the table."""
        return sum(self.counts.values())

    def text(self) -> str:
        """The summary printed at the end of ``spinecheck batch``."""
        counts = ", ".join(f"{self.counts.get(s.value, 0)} {s.value}" for s in RowStatus)
        rate = f", {self.measured / self.seconds:.1f} studies/s" if self.measured and self.seconds > 0 else ""
        lines = [
            f"batch: {self.total} rows in {self.table} and {self.parquet}",
            f"  {counts}",
            f"  this run: {self.measured} studies measured in {self.seconds:.1f} s ({self.engine}{rate})"
            + (f"; {self.resumed} rows were already in the table" if self.resumed else ""),
        ]
        if self.ignored:
            lines.append(f"  {self.ignored} other files ignored (neither images nor landmark files)")
        if self.links_out:
            lines.append(f"  {self.links_out} symbolic links leading out of the archive not followed")
        if self.reasons:
            lines.append("  not measured, by reason:")
            lines.extend(f"  {n:6d}  {reason}  (e.g. {example})" for reason, n, example in self.reasons)
        return "\n".join(lines)


class BatchInterrupted(KeyboardInterrupt):
    """A batch run stopped by Ctrl-C: the table holds every row done so far, and can be resumed.

    It is a :class:`KeyboardInterrupt`, so whatever stops on Ctrl-C still
    stops; it says where the run stopped, for whoever tells the user how to
    continue (``run_batch(..., resume=True)``).

    Attributes
    ----------
    table : str
        The CSV table, left with complete lines only.
    rows : int
        Rows in it (``ok`` and ``error`` rows, and the ``skipped`` rows of this run).
    """

    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"interrupted: {rows} rows are in '{table}'")
        self.table = table
        self.rows = rows

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.table, self.rows)


# ----------------------------------------------------------------------------- the header and one chunk


def _reason(exc: BaseException) -> str:
    text = " ".join((str(exc) or type(exc).__name__).split())
    if isinstance(exc, OSError) and exc.filename is not None and str(exc.filename) not in text:
        text = f"'{exc.filename}': {text}"
    if isinstance(exc, (SpinecheckError, OSError)):
        return text
    return f"internal error: {type(exc).__name__}: {text}"


@dataclass(frozen=True)
class _Merged:
    """One study's landmarks merged with its film's header: what the one-row table of :func:`merge_image` holds.

    A chunk's studies are stacked into one table (:func:`_stack`); a landmark file read
    here is merged without a table of its own (:func:`merge_landmarks`), which cost more
    than parsing the file (issue 17, 4).
    """

    landmarks: LandmarkSet
    calibration: Calibration
    patient: PatientInfo
    patient_right: Any
    film: FilmIdentity
    id: str

    @classmethod
    def of_table(cls, table: LandmarkTable) -> _Merged:
        """The study of a one-row table that :func:`merge_image` returned."""
        assert table.sets is not None
        return cls(
            table.sets[0],
            table.calibrations[0],
            table.patients[0],
            table.patient_right[0],
            table.film(0),
            table.ids[0],
        )


def _stack(studies: Sequence[_Merged]) -> LandmarkTable:
    """One table of merged studies, as :func:`merge_image` makes a table of one."""
    out = LandmarkTable.from_sets(
        [m.landmarks for m in studies],
        calibrations=[m.calibration for m in studies],
        patients=[m.patient for m in studies],
        ids=[m.id for m in studies],
    )
    return dataclasses.replace(
        out,
        patient_right=np.array([m.patient_right for m in studies], dtype=object),
        films=tuple(m.film for m in studies),
    )


class _LoadFailed(Exception):
    """A study that could not be loaded after its film's header was read: the reason, and the film."""

    def __init__(self, exc: BaseException, film: FilmIdentity) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.film = film


class _NotLandmarks(Exception):
    """A ``.json`` file that discovery paired unread is no landmark file: the pairing by names does not hold."""


@functools.cache
def _readers() -> Any:
    """The readers a study needs, imported on first use and once: an import in a function costs 1-2 µs a call."""
    from types import SimpleNamespace

    from ...landmarks.imaging.isolated import load_radiograph_isolated
    from ...landmarks.imaging.radiograph import read_radiograph_header
    from ...landmarks.io.landmark_file import landmarks_where, load_landmark_json, parse_landmarks
    from ...landmarks.io.read import read_landmark_table

    return SimpleNamespace(
        load_radiograph_isolated=load_radiograph_isolated,
        read_radiograph_header=read_radiograph_header,
        landmarks_where=landmarks_where,
        load_landmark_json=load_landmark_json,
        parse_landmarks=parse_landmarks,
        read_landmark_table=read_landmark_table,
    )


def _claim(job: StudyJob) -> tuple[StudyJob, Any]:
    """Read the landmark file discovery left unread (:attr:`StudyJob.landmarks_unread`), once.

    Returns the job with the SOP Instance UID the file records as its ``expected_uid`` (compared
    with the film's as for any job paired by names), and the file's decoded content for
    :func:`_load`, or the :class:`InvalidLandmarksError` decoding it raised (the reader's,
    raised where the reader would raise it). Raises :class:`_NotLandmarks` for a ``.json``
    file that is not a landmark file: discovery would not have paired it.
    """
    content: Any
    try:
        content = _readers().load_landmark_json(job.landmarks_path)
        landmarks, uid = landmark_claim(job.landmarks_path, content)
    except InvalidLandmarksError as exc:  # not decoded: a broken landmark file, recording no UID
        content, landmarks, uid = exc, True, None
    if not landmarks:
        raise _NotLandmarks(job.landmarks_path)
    return dataclasses.replace(job, expected_uid=uid, landmarks_unread=False), content


def _merged_landmarks(job: StudyJob, header: Any, content: Any, where: str) -> _Merged:
    """The study's landmark file merged with the film's *header* (read now, or from *content*, :func:`_claim`'s)."""
    readers = _readers()
    if content is None:
        # the header also places a 3D Slicer markup's millimetres on the film's pixels (other formats are in pixels)
        table = readers.read_landmark_table(job.landmarks_path, image=header)
        return _Merged.of_table(merge_image(table, header, where=where))
    if isinstance(content, InvalidLandmarksError):
        raise content
    path = job.landmarks_path  # a .json landmark file: what read_landmark_table does with it, undecoded again
    landmarks = readers.parse_landmarks(content, where=readers.landmarks_where(path), source=path)
    merged_set, merged = merge_landmarks(landmarks, header, where=where)
    # the table merge_image makes of it has these in its columns; its id is LandmarkTable.from_sets's
    study_id = landmarks.source or landmarks.image.path or "study 1"
    return _Merged(
        merged_set, merged.calibration, merged.patient, merged.patient_right, merged.film, study_id
    )


def _load(job: StudyJob, options: BatchOptions, content: Any = None, read: Any = None) -> tuple[_Merged, Any]:
    """The study's landmarks merged with its film's header; and the decoded film, or None.

    The merge takes the header (the same values, whether the pixels were
    decoded or not), so a row does not depend on ``--verify-pixels``. A failure
    after the header was read is a :class:`_LoadFailed` that carries the film's
    identity, for the error row. *content*: the landmark file's, when already
    decoded (:func:`_claim`). *read*: the film's header when already read, or what
    reading it raised (:func:`_headers_ahead`), raised here.
    """
    readers = _readers()
    detecting = not job.landmarks_path  # an image without landmark file, with --detect
    if isinstance(read, BaseException):
        raise read
    radiograph, header = None, read
    if header is None:
        # decoded in a child process: a decoder that crashes on this film costs its row, not the batch
        radiograph = readers.load_radiograph_isolated(job.image_path) if options.decode or detecting else None
        header = readers.read_radiograph_header(job.image_path) if radiograph is None else radiograph.header
    where = f"image '{job.image_path}'"
    try:
        if detecting:
            return _Merged.of_table(merge_image(_detected(job, radiograph), header, where=where)), radiograph
        return _merged_landmarks(job, header, content, where), radiograph
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the error row keeps what identifies the film
        raise _LoadFailed(exc, FilmIdentity.of(None, None, header, name=Path(job.image).name)) from exc


def _detected(job: StudyJob, radiograph: Any) -> LandmarkTable:
    """The landmarks the shipped model finds on the film, or :class:`FilmRefused` (the row's reason)."""
    from ...landmarks.detect.inference import detect
    from ...landmarks.detect.refusal import read_detection

    reading = read_detection(detect(radiograph), image=radiograph.image_ref, header_view=radiograph.view)
    return reading.check(f"image '{job.image}'").to_table()


def _figure(job: StudyJob, table: LandmarkTable, radiograph: Any, options: BatchOptions) -> str | None:
    """Draw the study's figure; None, or why it could not be drawn (the row keeps its numbers)."""
    from ..render.figure import figure_for

    assert options.figures is not None
    from ..render.files import save_figure

    out = Path(options.figures, *Path(job.image).parts[:-1], Path(job.image).name + ".png")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig = figure_for(radiograph.display, study_of(table, [job], options), 0)
        # the run cleaned the folder's stale temporary files once, at its start (_clean_figures)
        save_figure(fig, out, dpi=FIGURE_DPI, clean=False)
    except Exception as exc:  # noqa: BLE001 - a figure that fails never loses the study's numbers
        return f"figure not written: {_reason(exc)}"
    return None


def measure_chunk(jobs: Sequence[StudyJob], options: BatchOptions) -> list[Row]:
    """Load, measure and judge some studies; one table row per study, in order.

    This is the function workers run (a pure function of its arguments: the
    same on a process pool and on Dask). A study that cannot be read or does
    not fit its image gives an ``error`` row with the reason; it never stops
    the others. Films are read header only unless *options* need the pixels
    (:attr:`BatchOptions.decode`).

    Parameters
    ----------
    jobs : sequence of StudyJob
    options : BatchOptions

    Returns
    -------
    list of tuple of str
        Rows in the columns of :func:`batch_header`.
    """
    # A chunk makes some thousand container objects a study (decoded landmark files, headers,
    # merged sets) and keeps each study's until the chunk is measured: collections during it cost
    # some 0.1 s of CPU in a header-only batch of 1 000 studies on one worker, 5.5 % of its
    # instructions, the peak memory the same (issue 17, 4).
    with collector_paused():
        return _measure_chunk(jobs, options)


def _measure_chunk(jobs: Sequence[StudyJob], options: BatchOptions) -> list[Row]:
    """:func:`measure_chunk`'s work."""
    header = batch_header(options)
    rows: dict[int, Row] = {}
    loaded: list[tuple[int, _Merged]] = []
    notes: dict[int, str] = {}
    dicom: dict[int, dict[str, str]] = {}
    claims, headers = _headers_ahead(jobs, options)
    for k, job in enumerate(jobs):
        content = None
        if job.landmarks_unread:
            claimed = claims[k]
            if claimed is None:
                rows[k] = _doubt_row(header, job)
                continue
            job, content = claimed
        try:
            study, radiograph = _load(job, options, content, headers.get(k))
        except MemoryError:
            raise
        except _LoadFailed as failed:
            if uid_doubt(job, failed.film.sop_instance_uid):
                rows[k] = _doubt_row(header, job)
                continue
            reason = _reason(failed.exc)
            rows[k] = plain_row(
                header, job.image, job.landmarks, RowStatus.ERROR, reason, film=failed.film, options=options
            )
            continue
        except Exception as exc:  # noqa: BLE001 - the study's row says why
            rows[k] = (
                _doubt_row(header, job)
                if uid_doubt(job, None)
                else plain_row(header, job.image, job.landmarks, RowStatus.ERROR, _reason(exc))
            )
            continue
        if uid_doubt(job, study.film.sop_instance_uid):
            rows[k] = _doubt_row(header, job)
            continue
        if options.figures is not None:
            note = _figure(job, _stack([study]), radiograph, options)
            if note:
                notes[k] = note
        if options.dicom is not None:
            from .dicom_results import write_dicom_results

            dicom[k] = write_dicom_results(job, _stack([study]), radiograph, options)
        # A decoded `radiograph` keeps this film until the next one is read: at most two in memory.
        # Freeing it before the next read would let malloc hand the pages back to the kernel and
        # fault them in again for the next film, which triples the time of a read from the page cache.
        loaded.append((k, study))
    if loaded:
        try:
            measured = rows_of(
                study_of(_stack([m for _, m in loaded]), [jobs[k] for k, _ in loaded], options),
                header,
                options,
            )
        except Exception:  # noqa: BLE001 - one odd study must not cost the chunk: measure one at a time
            measured = [_one(jobs[k], _stack([m]), options, header) for k, m in loaded]
        for (k, _), row in zip(loaded, measured, strict=True):
            rows[k] = row
    if notes:
        w = header.index("warnings")
        for k, note in notes.items():
            cells = list(rows[k])
            cells[w] = f"{cells[w]}; {note}" if cells[w] else note
            rows[k] = tuple(cells)
    if options.detect:  # a film the model refused is still the model's row
        source = header.index("landmarks_source")
        for k, job in enumerate(jobs):
            if not job.landmarks_path and rows[k][source] != "model":
                rows[k] = (*rows[k][:source], "model", *rows[k][source + 1 :])
    for k, written in dicom.items():
        if rows[k][2] == RowStatus.OK.value:  # an error row says why in its error column
            cells = list(rows[k])
            for name, value in written.items():
                cells[header.index(name)] = value
            rows[k] = tuple(cells)
    return [rows[k] for k in range(len(jobs))]


def _headers_ahead(
    jobs: Sequence[StudyJob], options: BatchOptions
) -> tuple[list[tuple[StudyJob, Any] | None], dict[int, Any]]:
    """Each job's claim of its unread landmark file (:func:`_claim`), and its film's header, read stage by stage.

    Claims: ``(job, content)``, None for a ``.json`` file that is no landmark file, and None
    for a job whose file was read in discovery (not claimed). Headers: by the job's index, the
    header or what reading it raised (:class:`MemoryError` is raised at once); only in a
    header-only run (films decoded are read one at a time, when measured: at most two in
    memory), and not for a job whose claim failed.

    Every landmark file of the chunk is decoded, then every film's header read, then each study
    merged (:func:`_load`): the same work as one study after the other, in 7-9 % less time (a
    header-only batch of 1 000 studies on one worker: 870-930 against 790-870 us a study for the
    reads and merges), as each stage runs its code for many films in a row (issue 17, 4). The
    chunk holds its headers till it is merged, as it holds its merged studies till measured.
    """
    claims: list[tuple[StudyJob, Any] | None] = []
    for job in jobs:
        try:
            claims.append(_claim(job) if job.landmarks_unread else None)
        except _NotLandmarks:
            claims.append(None)
    headers: dict[int, Any] = {}
    if options.decode:
        return claims, headers
    read = _readers().read_radiograph_header
    for k, job in enumerate(jobs):
        if not job.landmarks_path or (job.landmarks_unread and claims[k] is None):
            continue  # a film the model reads (decoded), or a study that has its row already
        try:
            headers[k] = read(job.image_path)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - raised where the study is loaded: its row says why
            headers[k] = exc
    return claims, headers


def _doubt_row(header: Sequence[str], job: StudyJob) -> Row:
    """The row that says the film contradicts the UID its landmark file records (:data:`_UID_DOUBT`)."""
    cells = list(plain_row(header, job.image, job.landmarks, RowStatus.ERROR, "SOP Instance UIDs differ"))
    cells[header.index("status")] = _UID_DOUBT
    return tuple(cells)


def _one(job: StudyJob, table: LandmarkTable, options: BatchOptions, header: Sequence[str]) -> Row:
    try:
        return rows_of(study_of(table, [job], options), header, options)[0]
    except Exception as exc:  # noqa: BLE001
        return plain_row(header, job.image, job.landmarks, RowStatus.ERROR, _reason(exc))


def _callers_worker(
    worker: Callable[[Sequence[StudyJob], BatchOptions], list[Row]],
    jobs: Sequence[StudyJob],
    options: BatchOptions,
) -> list[Row]:
    """Run a caller's *worker* (``run_batch(worker=...)``) where ``requests`` can be imported.

    The fork server marks ``requests`` absent for :func:`measure_chunk`'s sake
    (:mod:`~spinecheck.alignment.batch._no_downloads`); a caller's worker may post its
    rows with it, so the mark is taken away before it runs (elsewhere there is none).
    """
    if "requests" in sys.modules and sys.modules["requests"] is None:
        del sys.modules["requests"]
    return worker(jobs, options)


# ----------------------------------------------------------------------------- engines


class _InProcess:
    """``jobs=1``: each chunk runs here, when submitted."""

    workers = 1
    name = "this process"

    def submit(self, fn: Callable, *args: Any) -> cf.Future:
        f: cf.Future = cf.Future()
        try:
            f.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future, as a pool would
            if isinstance(exc, KeyboardInterrupt):
                raise
            f.set_exception(exc)
        return f

    def wait(self, futures: set) -> tuple[set, set]:
        return set(futures), set()

    def result(self, future: cf.Future) -> list[Row]:
        return future.result()

    def fresh(self) -> None:
        pass

    def close(self, *, cancel: bool = False) -> None:
        pass


class _Processes:
    """``jobs=N``: a pool of worker processes, rebuilt if one dies.

    On Linux, where this process runs no thread besides its main one
    (:func:`~spinecheck.alignment.batch.workers.forks_here`: the command's own
    process), the workers are forked from it when the pool is made, before the
    archive is walked: each starts with what this process has imported and
    imports what it lacks (:func:`worker_modules`: pydicom, some 0.2 s) on its
    own core, while this process walks the archive. Elsewhere on POSIX (a
    notebook, a window or a test runner with threads of its own, or a pool made
    again after a worker died) they are forked from a fork server, which
    imports those modules once and is started by the command before it imports
    this engine, else here
    (:func:`~spinecheck.alignment.batch.workers.start_fork_server`); the parent
    then never forks. A worker exits without tearing its interpreter down. On
    Windows the workers are spawned, and each imports the modules itself.
    """

    def __init__(self, jobs: int, options: BatchOptions = _DEFAULT_OPTIONS) -> None:
        self.workers = jobs
        self.name = f"{jobs} worker processes"
        self._options = options
        self._pool = self._new()

    def _new(self) -> cf.ProcessPoolExecutor:
        options = self._options
        if forks_here():
            pool = cf.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_forked_worker,
                initargs=(self.workers, tuple(worker_modules(options))),
            )
            with warnings.catch_warnings():
                # Python 3.12+ warns of a fork in any process with threads besides its own: here the
                # libraries' idle ones (OpenBLAS's); no Python thread runs (forks_here)
                warnings.filterwarnings(
                    "ignore", r"This process \(pid=\d+\) is multi-threaded", DeprecationWarning
                )
                # with "fork", the first task starts every worker (before the pool's own threads): now,
                # so that their imports run while this process walks the archive (issue 17, 4)
                pool.submit(int)
            return pool
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if context.get_start_method() == "forkserver":
            # the command started it first thing; else it starts here, with the modules of *options*
            start_fork_server(figures=options.figures is not None, dicom=options.dicom is not None)
        return cf.ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(self.workers,)
        )

    def submit(self, fn: Callable, *args: Any) -> cf.Future:
        try:
            return self._pool.submit(fn, *args)
        except cf.process.BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new()
            return self._pool.submit(fn, *args)

    def wait(self, futures: set) -> tuple[set, set]:
        done, pending = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return set(done), set(pending)

    def result(self, future: cf.Future) -> list[Row]:
        """The chunk's rows; raises :class:`~concurrent.futures.process.BrokenProcessPool` if its worker died."""
        return future.result()

    def fresh(self) -> None:
        """Replace the pool by a new one (nothing may be in flight): a suspect study runs alone on it."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new()

    def close(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)


def _start_worker(jobs: int) -> None:
    """In a worker: share out the cores among the *jobs* workers' JPEG 2000 decoders, and watch the parent.

    OpenJPEG otherwise asks for a thread per core in every worker (and in each
    isolated decoder child it starts, which inherits the setting): *jobs* workers
    would run *jobs* times as many threads as cores. ``OPJ_NUM_THREADS`` set by
    the user still decides.
    """
    os.environ.setdefault("OPJ_NUM_THREADS", str(decoder_threads(jobs)))
    _watch_parent()


def _start_forked_worker(jobs: int, modules: Sequence[str]) -> None:
    """In a worker forked from the batch's process: :func:`_start_worker`, then import *modules*.

    What a fork server would have imported before forking it. As the fork server
    does, a module that cannot be imported is passed over: the study that needs
    it says so in its row.
    """
    _start_worker(jobs)
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _watch_parent() -> None:
    """In a worker: end it when the parent process ends, so that a killed batch leaves no workers behind.

    A worker otherwise waits for its next chunk for ever once the parent is
    gone (SIGKILL, out of memory), holding its memory and, with it, the fork
    server's.
    """
    import threading
    from multiprocessing import connection, parent_process

    parent = parent_process()
    if parent is None or parent.sentinel is None:  # pragma: no cover - not started by a pool
        return

    def watch() -> None:
        connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="spinecheck-watch-parent", daemon=True).start()


class _WorkerDied(cf.BrokenExecutor):
    """A Dask worker process died while it held the chunk (what a broken pool is to the local engine).

    Attributes
    ----------
    worker : str or None
        The address of the worker that died, when Dask says.
    """

    def __init__(self, message: str, worker: str | None = None) -> None:
        super().__init__(message)
        self.worker = worker


@dataclass(frozen=True)
class _Died:
    """What :func:`_on_dask_worker` returns instead of rows: a worker already died holding this chunk."""


def _on_dask_worker(fn: Callable, jobs: Sequence[StudyJob], options: BatchOptions) -> list[Row] | _Died:
    """Run a chunk on a Dask worker, unless a worker has already died while it held the chunk.

    When a worker dies, the scheduler hands its tasks to another worker, up to
    ``distributed.scheduler.allowed-failures`` times (3 by default) before it
    gives up with :class:`distributed.KilledWorker`: a study that crashes its
    worker would crash four of them, and the chunks that merely shared the
    dead worker would be run again beside it. So a chunk that a dead worker
    held is not run again here; :meth:`_Dask.result` reports it as a broken
    worker and :func:`_run` measures its studies again itself, the suspect
    ones alone. This asks the scheduler how many workers died holding this
    task (``TaskState.suspicious``): one round trip per chunk. If the
    scheduler cannot tell (it refuses to run code, say), the chunk runs, and
    the scheduler's own limit applies.
    """
    if _held_by_a_dead_worker():
        return _Died()
    return fn(jobs, options)


def _held_by_a_dead_worker() -> bool:
    try:
        from distributed import get_client, get_worker

        key = get_worker().get_current_task()

        # Nested, so that it is pickled by value: the scheduler need not have spinecheck installed.
        def suspicious(key: Any, dask_scheduler: Any = None) -> int:
            task = dask_scheduler.tasks.get(key)
            return 0 if task is None else int(task.suspicious)

        return get_client().run_on_scheduler(suspicious, key) > 0
    except Exception:  # noqa: BLE001 - no answer: run the chunk (the scheduler's allowed-failures applies)
        return False


class _Dask:
    """``scheduler=ADDRESS``: the same chunks on a Dask distributed cluster.

    A worker that dies breaks the chunks it held, as a dead process breaks the
    local pool (:func:`_on_dask_worker`), whatever the scheduler's
    ``allowed-failures``; nothing on the cluster is reconfigured.
    """

    def __init__(self, address: SchedulerAddress) -> None:
        try:
            import distributed
        except ImportError:
            raise BatchError.about(
                "scheduler",
                "{scheduler}: needs Dask distributed, which is not installed; "
                "pip install 'spinecheck[dask]' (and the same on every worker)",
            ) from None
        self._distributed = distributed
        try:
            # tls:// with the certificates of Dask's own configuration (scheduler_security)
            self._client = distributed.Client(
                str(address), timeout="30s", security=scheduler_security(address)
            )
        except (OSError, ValueError, TypeError) as exc:  # ValueError, TypeError: not an address at all
            raise BatchError.about(
                "scheduler",
                "{scheduler} '{address}': cannot reach the Dask scheduler ({exc})",
                address=address,
                exc=str(exc),
            ) from None
        threads = sum(self._client.nthreads().values())
        self.workers = max(1, threads)
        self.name = f"Dask at {address}, {threads} worker threads"

    def submit(self, fn: Callable, *args: Any) -> Any:
        return self._client.submit(_on_dask_worker, fn, *args, pure=False)

    def wait(self, futures: set) -> tuple[set, set]:
        done, pending = self._distributed.wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done), set(pending)

    def result(self, future: Any) -> list[Row]:
        """The chunk's rows; raises :class:`_WorkerDied` if a worker died holding it."""
        try:
            rows = future.result()
        except self._distributed.KilledWorker as exc:  # the scheduler's allowed-failures ran out first
            raise _WorkerDied(str(exc), worker=getattr(exc.last_worker, "address", None)) from None
        if isinstance(rows, _Died):
            raise _WorkerDied("a Dask worker died while it held this chunk")
        return rows

    def fresh(self) -> None:
        """Nothing to do: the suspect is the only task of this run on the cluster, and the dead worker is gone."""

    def close(self, *, cancel: bool = False) -> None:
        self._client.close()


# ----------------------------------------------------------------------------- the run


def run_batch(
    root: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    landmarks_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    options: BatchOptions = _DEFAULT_OPTIONS,
    chunk_size: int | None = None,
    progress: bool | None = None,
    stderr: TextIO | None = None,
    worker: Callable[[Sequence[StudyJob], BatchOptions], list[Row]] | None = None,
) -> BatchSummary:
    """Measure every study of an archive into one table.

    Parameters
    ----------
    root : str or path-like
        The archive folder (see :mod:`spinecheck.alignment.batch.archive` for what is found).
    output : str or path-like
        The table, ``.csv``. Refused if it exists, unless *resume* or *overwrite*.
    landmarks_dir : str or path-like, optional
        A separate folder of landmark files.
    jobs : int, optional
        Worker processes (default ``os.cpu_count()``); 1 runs in this process.
    scheduler : str, optional
        A Dask scheduler address; *jobs* is then not used.
    resume : bool
        Continue the table *output*: studies already in it are not run again.
    overwrite : bool
        Start *output* afresh.
    options : BatchOptions
    chunk_size : int, optional
        Studies per task (default: :func:`_chunk_plan`, at most :data:`MAX_HEADER_CHUNK`
        studies, :data:`MAX_CHUNK` where films are decoded).
    progress : bool, optional
        Show a progress bar on *stderr* (the only thing a run writes); default:
        when *stderr* is a terminal. The command line sets it (``--quiet``).
    stderr : text stream, optional
        Where the progress bar goes (default ``sys.stderr``).
    worker : callable, optional
        What runs a chunk, ``worker(jobs, options) -> rows`` (None:
        :func:`measure_chunk`); for tests and extensions. It must be picklable
        (a module-level function, or a :func:`functools.partial` of one) and
        importable by the workers.

    Returns
    -------
    BatchSummary
        What the run did; nothing is printed (:meth:`BatchSummary.text` words it).

    Raises
    ------
    BatchError
        *root* is not a folder, *output* exists without *resume*/*overwrite*,
        a resumed table has other columns, or an option is out of range.
    BatchInterrupted
        Ctrl-C: the table keeps the rows done, and ``resume=True`` continues it.
    """
    stderr = sys.stderr if stderr is None else stderr
    started = time.perf_counter()
    out = _check_arguments(root, output, jobs, resume, overwrite, options, chunk_size, landmarks_dir)
    # "" is refused, never taken for "no scheduler" (it used to run locally without a word)
    address = parse_scheduler(scheduler) if scheduler is not None else None
    header = batch_header(options)  # also checks the age set before any work
    exclude = [d for d in (options.figures, options.dicom) if d]
    n_jobs = jobs or os.cpu_count() or 1
    # The engine first: its workers start (and import) while the archive is walked.
    engine: Any = (
        _Dask(address)
        if address is not None
        else (_InProcess() if n_jobs == 1 else _Processes(n_jobs, options))
    )
    try:
        # neither the films nor the landmark files the names pair are opened here: the workers read
        # each once, and check that the pairing holds (the UIDs, a .json that is a landmark file);
        # a resumed table's rows were measured before, so their files are read here (see below)
        archive = discover(
            root,
            landmarks_dir=landmarks_dir,
            exclude=exclude,
            defer_uid_checks=worker is None,
            read_landmarks=worker is not None or resume,
        )
        if options.detect:
            archive = archive.detecting()
    except BaseException as exc:
        engine.close(cancel=True)
        if isinstance(exc, NotADirectoryError):
            raise BatchError(str(exc)) from None
        raise
    table = BatchTable(out, header)
    try:
        resumed = table.start(resume=resume)
        # a resumed row does not vouch for a pairing by names: its film's UID is compared here
        if any(uid_doubt(j, None) for j in archive.jobs if j.expected_uid and j.key in table.done):
            archive = discover(root, landmarks_dir=landmarks_dir, exclude=exclude)
        if resume and options.pseudonym_key is not None:
            _check_pseudonym_key(table, root, options)
        table.append(
            [
                plain_row(header, u.image, u.landmarks, u.status, u.reason)
                for u in archive.unmeasured
                if u.key not in table.done
            ]
        )
        todo = [j for j in archive.jobs if j.key not in table.done]
        if resume:
            _log.info("resuming '%s': %d rows kept, %d studies to measure", out, resumed, len(todo))
        _log.debug("measuring %d studies on %s", len(todo), engine.name)
        show = (stderr.isatty() if hasattr(stderr, "isatty") else False) if progress is None else progress
        doubts: list[StudyJob] = []
        _run(engine, todo, options, table, chunk_size, show, stderr, worker, doubts)
        measured = len(todo) - len(doubts)
        if doubts:  # a pairing by names that a film's UID contradicts: pair with the UIDs read, as before
            _log.info("%d films contradict the UID their landmark file records: pairing again", len(doubts))
            strict = discover(root, landmarks_dir=landmarks_dir, exclude=exclude)
            if options.detect:  # the films detected in the first pass keep their rows
                strict = strict.detecting()
            todo = _pair_again(archive, strict, table)
            archive = strict
            _run(engine, todo, options, table, chunk_size, show, stderr, worker)
            measured += len(todo)
    except KeyboardInterrupt as exc:
        engine.close(cancel=True)
        table.close()
        if isinstance(exc, BatchInterrupted):
            raise
        raise BatchInterrupted(str(out), len(table.done)) from exc
    except BaseException:
        engine.close(cancel=True)
        table.close()
        raise
    engine.close()
    rows = table.finish()
    parquet = out.with_suffix(".parquet")
    write_parquet(parquet, header, rows, options)
    return _summary(rows, archive, out, parquet, measured, resumed, started, engine.name)


def _check_arguments(
    root: Any,
    output: Any,
    jobs: int | None,
    resume: bool,
    overwrite: bool,
    options: BatchOptions,
    chunk: int | None,
    landmarks_dir: Any = None,
) -> Path:
    if not os.path.isdir(root):
        raise BatchError(
            f"archive '{os.fspath(root)}': {'not a folder' if os.path.exists(root) else 'no such folder'}"
        )
    out = Path(output)
    if out.suffix.lower() != ".csv":
        raise BatchError.about(
            "output",
            "{output} '{out}': the batch table is a .csv file; got {got!r}",
            out=out,
            got=out.suffix or "(no suffix)",
        )
    if resume and overwrite:
        raise BatchError.about(
            "resume",
            "{resume} and {overwrite}: choose one (continue the table, or start it again)",
            names={"overwrite": "overwrite"},
        )
    if out.exists() and not (resume or overwrite):
        raise BatchError.about(
            "output",
            "{output} '{out}': the table exists; {resume} continues it, {overwrite} starts it again",
            names={"resume": "resume=True", "overwrite": "overwrite=True"},
            out=out,
        )
    if not out.parent.is_dir():
        raise BatchError.about(
            "output", "{output} '{out}': folder '{parent}' does not exist", out=out, parent=out.parent
        )
    parquet = out.with_suffix(".parquet")
    if (parquet.exists() or parquet.is_symlink()) and not (resume or overwrite):  # its copy is an output too
        raise BatchError.about(
            "output",
            "{output} '{out}': its Parquet copy '{parquet}' exists; {resume} continues that batch, "
            "{overwrite} starts it again, or choose another {output}",
            names={"resume": "resume=True", "overwrite": "overwrite=True"},
            out=out,
            parquet=parquet,
        )
    if jobs is not None and jobs < 1:
        raise BatchError.about(
            "jobs", "{jobs}: must be a number of worker processes >= 1; got {got}", got=jobs
        )
    if chunk is not None and chunk < 1:
        raise BatchError.about(
            "chunk_size", "{chunk_size}: must be a number of studies >= 1; got {got}", got=chunk
        )
    if not (math.isfinite(options.min_curve_deg) and options.min_curve_deg >= 0):
        raise BatchError.about(
            "min_curve_deg",
            "{min_curve_deg}: must be a finite number of degrees >= 0; got {got:g}",
            got=options.min_curve_deg,
        )
    CobbMethod.parse(options.cobb_method, argument="cobb_method", error=BatchError)
    _check_dicom_folder(options, resume, overwrite)
    _check_figures_folder(options, resume, overwrite)
    if landmarks_dir is not None and not os.path.isdir(landmarks_dir):
        raise BatchError.about(
            "landmarks_dir", "{landmarks_dir} '{path}': not a folder", path=os.fspath(landmarks_dir)
        )
    return out


def _check_figures_folder(options: BatchOptions, resume: bool, overwrite: bool) -> None:
    """Refuse a fresh run whose ``figures`` folder holds files (a figure is never replaced unasked).

    With *resume* or *overwrite* the figures of the studies run are replaced, each
    atomically; the temporary files a killed run left there are removed first
    (those of a process still running are left).
    """
    if options.figures is None:
        return
    folder = Path(options.figures)
    _refuse_output_folder("figures", folder, "its figures", "the figures", fresh=not (resume or overwrite))
    if folder.is_dir():
        _clean_figures(folder)


def _clean_figures(folder: Path) -> None:
    """Remove the temporary figure files that killed runs left under *folder* (one walk)."""
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            if TEMP_MARK in name or name.endswith(".tmp"):
                # the name of the figure it was for: ".<name>.spinecheck-tmp-..." or ".<name>.<pid>.tmp"
                stem = name[1:].split(TEMP_MARK)[0] if TEMP_MARK in name else name[1:].rsplit(".", 2)[0]
                remove_stale_temporaries(Path(dirpath, stem))


def _check_dicom_folder(options: BatchOptions, resume: bool, overwrite: bool) -> None:
    """Refuse ``dicom``: highdicom missing, not a folder, no parent, or a fresh run into a full folder."""
    if options.dicom is None:
        return
    from ..export.dicom import require_highdicom

    require_highdicom()
    folder = Path(options.dicom)
    if not folder.exists() and not folder.parent.is_dir():
        raise BatchError.about(
            "dicom",
            "{dicom} '{path}': its folder '{parent}' does not exist",
            path=folder,
            parent=folder.parent,
        )
    _refuse_output_folder(
        "dicom", folder, "its DICOM results", "the results", fresh=not (resume or overwrite)
    )


def _refuse_output_folder(argument: str, folder: Path, written: str, replaced: str, *, fresh: bool) -> None:
    """Refuse an output folder that is a file, or (*fresh*: neither resume nor overwrite) holds files."""
    if folder.exists() and not folder.is_dir():
        raise BatchError.about(argument, f"{{{argument}}} '{{path}}': is not a folder", path=folder)
    if fresh and folder.is_dir() and any(folder.iterdir()):
        raise BatchError.about(
            argument,
            f"{{{argument}}} '{{path}}': is not empty; a new batch writes {written} into an empty folder; "
            f"{{resume}} continues a batch, {{overwrite}} replaces {replaced} of the same films",
            names={"resume": "resume=True", "overwrite": "overwrite=True"},
            path=folder,
        )


def _check_pseudonym_key(table: BatchTable, root: Any, options: BatchOptions, tries: int = 3) -> None:
    """Refuse to resume a table whose pseudonyms were made with another key.

    The Patient ID is not in the table, so the first rows that hold a pseudonym
    are checked against their films' headers, read again (up to *tries* films;
    a film that cannot be read now is passed over).
    """
    from ...landmarks.imaging.header import read_radiograph_header

    column = table.header.index("patient_pseudonym")
    rows = [r for r in table.done.values() if r[column] and r[0]]
    for row in rows[:tries]:
        try:
            film = read_radiograph_header(Path(root, row[0]))
        except Exception:  # noqa: BLE001 - moved or unreadable now: check another
            continue
        if pseudonym(film.patient_id, options.pseudonym_key or b"") != row[column]:
            raise BatchError.about(
                "pseudonym_key",
                "{resume}: table '{path}' was written with another pseudonym key (the pseudonym of "
                "'{image}' differs); resume it with the key it was started with, or start again with "
                "{overwrite} or another {output}",
                names={"resume": "resume", "overwrite": "overwrite=True", "output": "output"},
                path=table.path,
                image=row[0],
            )
        return


def _run(
    engine: Any,
    todo: Sequence[StudyJob],
    options: BatchOptions,
    table: BatchTable,
    chunk_size: int | None,
    show: bool,
    stderr: TextIO,
    worker: Callable[[Sequence[StudyJob], BatchOptions], list[Row]] | None = None,
    doubts: list[StudyJob] | None = None,
) -> None:
    """Run the chunks, appending their rows as they come.

    A study whose film contradicts the UID its landmark file records (a worker's
    :data:`_UID_DOUBT` row) gets no row: it goes to *doubts*.

    A chunk that fails is retried one study at a time. A study whose worker
    process died (:class:`concurrent.futures.BrokenExecutor`: a broken local
    pool, or a Dask worker that died holding it) may only have shared the
    worker with the study that killed it: it becomes a *suspect*, and
    suspects run last, each alone (on a fresh pool, or as the only task on
    the cluster); only a study whose worker dies while it runs alone gets an
    ``error`` row for it. Any other failure of a single study is its
    ``error`` row at once.
    """
    # a worker of the caller's may use requests, which the fork server marks absent (_no_downloads)
    worker = measure_chunk if worker is None else functools.partial(_callers_worker, worker)
    sizes = [chunk_size] * math.ceil(len(todo) / chunk_size) if chunk_size else None
    queue: deque[tuple[StudyJob, ...]] = deque(
        _chunks(todo, sizes or _chunk_plan(len(todo), engine.workers, options))
    )
    suspects: deque[StudyJob] = deque()
    running: dict[Any, tuple[StudyJob, ...]] = {}
    alone: Any = None  # the future of the suspect running by itself
    header = table.header
    if queue and not isinstance(engine, _InProcess):
        # This process only waits for the workers' chunks. Its first submit waits for the fork server,
        # which may still be importing (about 0.6 s from the command's start; discovery of 1 000
        # studies ends about 0.2 s before): what the table's end needs is made meanwhile (issue 17, 4).
        prepare_parquet(options)
    with _progress(len(todo), show, stderr) as bar:
        while queue or suspects or running:
            if queue:
                while queue and len(running) < IN_FLIGHT_PER_WORKER * engine.workers:
                    chunk = queue.popleft()
                    running[engine.submit(worker, chunk, options)] = chunk
            elif suspects and not running:
                chunk = (suspects.popleft(),)
                engine.fresh()
                alone = engine.submit(worker, chunk, options)
                running[alone] = chunk
            done, _ = engine.wait(set(running))
            for future in done:
                chunk = running.pop(future)
                try:
                    rows = engine.result(future)
                except MemoryError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retry the studies one by one
                    if len(chunk) > 1:
                        _log.info(
                            "a chunk of %d studies failed (%s); retrying them one by one", len(chunk), exc
                        )
                        queue.extendleft((job,) for job in reversed(chunk))
                        continue
                    job = chunk[0]
                    if isinstance(exc, cf.BrokenExecutor):
                        if future is not alone:
                            _log.debug("image '%s': its worker died; it will run again alone", job.image)
                            suspects.append(job)  # perhaps only in the pool of the study that killed it
                            continue
                        reason = _died_alone(job, exc)
                        _log.warning(
                            "image '%s': its worker died while it ran alone; an error row", job.image
                        )
                    else:
                        reason = f"the worker failed on this study ({_reason(exc)})"
                    rows = [plain_row(header, job.image, job.landmarks, RowStatus.ERROR, reason)]
                if any(r[2] == _UID_DOUBT for r in rows):
                    if doubts is not None:
                        doubts.extend(j for j, r in zip(chunk, rows, strict=True) if r[2] == _UID_DOUBT)
                    rows = [r for r in rows if r[2] != _UID_DOUBT]
                table.append(rows)
                bar.update(len(rows))


class _NoBar:
    """What :func:`_progress` gives when no bar is shown."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _progress(total: int, show: bool, stderr: TextIO) -> Any:
    """The progress bar, or a stand-in when none is shown (tqdm is then not imported: ~20 ms of start-up)."""
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="study", file=stderr, dynamic_ncols=True)


def _chunk_plan(studies: int, workers: int, options: BatchOptions) -> list[int]:
    """The sizes of the tasks, in the order they are handed out; they sum to *studies*.

    Films decoded (figures, DICOM results, ``verify_pixels``, ``detect``): tasks of
    :data:`MAX_CHUNK` studies at most, four per worker at least. Headers only: each measure
    call costs some 17 ms whatever its size (about 12 studies' work: 1.43 ms a study in tasks
    of 500, 1.55 in tasks of 125, 2.49 in tasks of 16), so tasks are few and large, up to
    :data:`MAX_HEADER_CHUNK`: on one worker, which has nothing to balance, of equal size; on
    several, in rounds of one task per worker, the last round small (a tenth of the studies,
    32 to 128 a task), so that the workers run out of work together whichever was the
    faster before (issue 17, 4).

    >>> _chunk_plan(1000, 2, BatchOptions()), _chunk_plan(300, 2, BatchOptions())
    ([450, 450, 50, 50], [118, 118, 32, 32])
    >>> _chunk_plan(1000, 1, BatchOptions()), _chunk_plan(100, 2, BatchOptions())
    ([500, 500], [50, 50])
    >>> _chunk_plan(100, 2, BatchOptions(verify_pixels=True))
    [13, 13, 13, 13, 13, 13, 13, 9]
    """
    if studies <= 0:
        return []
    if options.decode or options.detect or workers == 1:
        most = MAX_CHUNK if options.decode or options.detect else MAX_HEADER_CHUNK
        tasks = 4 * workers if workers > 1 else math.ceil(studies / most)
        size = max(1, min(most, math.ceil(studies / max(1, tasks))))
        return [size] * (studies // size) + ([studies % size] if studies % size else [])
    last = min(128, max(32, studies // (10 * workers)))
    if studies <= 2 * last * workers:  # too few for two rounds: one task per worker
        return _even(studies, min(studies, workers))
    rest = studies - last * workers
    return _even(rest, workers * math.ceil(rest / (MAX_HEADER_CHUNK * workers))) + _even(
        last * workers, workers
    )


def _even(studies: int, tasks: int) -> list[int]:
    """*studies* in *tasks* sizes that differ by one at most, the larger first.

    >>> _even(10, 4)
    [3, 3, 2, 2]
    """
    size, extra = divmod(studies, tasks)
    return [size + 1] * extra + [size] * (tasks - extra)


def _chunks(todo: Sequence[StudyJob], sizes: Sequence[int]) -> list[tuple[StudyJob, ...]]:
    """*todo* cut in consecutive tasks of *sizes* (the last one cut short where they sum to more)."""
    starts = itertools.accumulate(sizes, initial=0)  # one more than the sizes: the end
    return [tuple(todo[at : at + size]) for at, size in zip(starts, sizes, strict=False)]


def _pair_again(lazy: Archive, strict: Archive, table: BatchTable) -> list[StudyJob]:
    """Bring *table* from the archive paired by names (*lazy*) to the one paired with the UIDs read.

    Rows whose study *strict* pairs otherwise (or not at all) go; the rows *strict*
    decides without measuring are written; the jobs still to run are returned.
    """

    def what(entry: StudyJob | Unmeasured) -> tuple:
        if isinstance(entry, StudyJob):
            return ("job", entry.image, entry.landmarks, entry.image_path, entry.landmarks_path)
        return ("row", entry.image, entry.landmarks, entry.status, entry.reason)

    lazy_entries: list[StudyJob | Unmeasured] = [*lazy.jobs, *lazy.unmeasured]
    strict_entries: list[StudyJob | Unmeasured] = [*strict.jobs, *strict.unmeasured]
    before = {e.key: what(e) for e in lazy_entries}
    after = {e.key: what(e) for e in strict_entries}
    table.discard([key for key in table.done if key in before and before[key] != after.get(key)])
    table.append(
        [
            plain_row(table.header, u.image, u.landmarks, u.status, u.reason)
            for u in strict.unmeasured
            if u.key not in table.done
        ]
    )
    return [j for j in strict.jobs if j.key not in table.done]


def _died_alone(job: StudyJob, exc: BaseException) -> str:
    """The reason of a study whose worker process died while it ran alone."""
    worker = getattr(exc, "worker", None)
    where = f" (Dask worker {worker})" if worker else ""
    return (
        f"the worker failed on this study: its process died{where} while it measured image "
        f"'{job.image}' on its own (a crash, e.g. in an image decoder, or killed for want of memory)"
    )


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_BRACKETED = re.compile(r"\([^()]*\)")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(\.\d+)?(?![\w.])")


def reason_kind(reason: str) -> str:
    """A reason with its file names, bracketed details and numbers blanked, for grouping.

    >>> reason_kind("image '/a/x.dcm': has 120 rows but the landmarks 'x.json' declare an image of 100")
    "image '…': has N rows but the landmarks '…' declare an image of N"
    """
    text = _QUOTED.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[0], reason)
    text = _BRACKETED.sub("(…)", text)
    return _NUMBER.sub("N", text)


def _summary(
    rows: Sequence[Row],
    archive: Archive,
    out: Path,
    parquet: Path,
    measured: int,
    resumed: int,
    started: float,
    engine: str,
) -> BatchSummary:
    counts = Counter(r[2] for r in rows)
    kinds: Counter[str] = Counter()
    example: dict[str, str] = {}
    for r in rows:
        if r[2] != RowStatus.OK.value:
            kind = f"{r[2]}: {reason_kind(r[3])}"
            kinds[kind] += 1
            example.setdefault(kind, r[0] or r[1])
    return BatchSummary(
        table=str(out),
        parquet=str(parquet),
        counts={s.value: counts.get(s.value, 0) for s in RowStatus},
        measured=measured,
        resumed=resumed,
        reasons=tuple((k, n, example[k]) for k, n in kinds.most_common()),
        seconds=time.perf_counter() - started,
        engine=engine,
        ignored=archive.ignored,
        links_out=archive.links_out,
    )
