"""Annotated films for a researcher: one film's figure, or a grid of them.

:func:`film_figure` is ``spinecheck.plot(image, landmarks)``: the figure ``spinecheck plot``
saves, as a Matplotlib ``Figure`` to restyle. :func:`film_grid` draws each film as
``spinecheck plot`` does (landmarks, constructions and values coloured by their verdicts,
:func:`~spinecheck.alignment.render.figure.draw_study`), small, in a grid with a title per
film. A film that cannot be read or measured keeps its cell, with the reason in words, so a
grid never silently drops one.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ...landmarks.errors import InvalidArgumentError, SpinecheckError
from ...landmarks.imaging.radiograph import Radiograph, load_radiograph
from ..render.figure import Drawing, draw_study, figure_for
from ..study import Study, load_study

__all__ = ["FilmCell", "film_figure", "film_grid"]

#: Display rows each film is drawn from in a grid: enough for the constructions at a few inches.
GRID_DISPLAY_ROWS = 900


#: The options of :func:`film_figure` that shape the figure; the others are the measurement's.
_FIGURE_OPTIONS = frozenset(inspect.signature(figure_for).parameters) - {"image", "study", "i"}


def film_figure(
    image: str | os.PathLike[str] | Radiograph | np.ndarray | None,
    landmarks: str | os.PathLike[str] | Study,
    *,
    i: int = 0,
    panel: bool = True,
    values: bool = True,
    points: bool = True,
    variants: bool = False,
    full_resolution: bool = False,
    **options: Any,
) -> Figure:
    """The annotated figure of one film, as ``spinecheck plot`` saves it.

    Parameters
    ----------
    image : str, Path, Radiograph, ndarray of uint8 or None
        The radiograph (a path, or one loaded with
        :func:`~spinecheck.landmarks.load_radiograph`), or a display image
        ``(rows, cols)`` (bone bright). None: the film a Study was loaded with.
    landmarks : str, Path or Study
        A landmark file (measured here, with the image's calibration), or a
        measured :class:`~spinecheck.alignment.study.Study`.
    i : int
        Which study of a Study of several.
    panel : bool
        The side panel (verdict colours, lines, criteria, what was not drawn).
    values : bool
        The value labels on the film.
    points : bool
        The landmark dots.
    variants : bool
        Also draw the LL and TK variants (``LL_L1L5``, ``LL_L4S1``,
        ``TK_T2T12``, ``TK_T5T12``).
    full_resolution : bool
        Draw the film from every row (slow on whole-spine films; default at
        most 2000 rows, the landmarks keep full precision).
    **options
        The figure's (``height_in``, ``panel_in``, ``fontsize``, ``margin_in``,
        ``max_width_in``: :func:`~spinecheck.alignment.render.figure.figure_for`),
        else the measurement's, given to :func:`~spinecheck.alignment.study.load_study`
        (``mm_per_px``, ``age``, ``criteria`` ...) when *landmarks* is a file.

    Returns
    -------
    matplotlib.figure.Figure
        An Agg canvas is attached (``fig.savefig("film.png")``); what was drawn
        and not drawn is ``fig.spinecheck_drawing``.

    Raises
    ------
    SpinecheckError
        The film or the landmark file cannot be read, or they do not fit.
    InvalidArgumentError
        Measurement options given with a Study (already measured), or no
        image for a Study loaded without one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from spinecheck.landmarks.io.landmark_file import write_landmarks
    >>> from spinecheck.landmarks.synthetic.films import synthetic_ap
    >>> film = synthetic_ap(mm_per_px=1.0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ap.landmarks.json"
    >>> write_landmarks(film.landmarks, path)
    >>> fig = film_figure((film.pixels >> 4).astype("uint8"), path, mm_per_px=(1.0, 1.0), panel=False)
    >>> "C7–CSVL" in fig.spinecheck_drawing.drawn, len(fig.axes)
    (True, 1)
    """
    figure_options = {k: v for k, v in options.items() if k in _FIGURE_OPTIONS}
    load_options = {k: v for k, v in options.items() if k not in _FIGURE_OPTIONS}
    radiograph = None
    if isinstance(image, (str, os.PathLike)):
        radiograph = load_radiograph(os.fspath(image))
    elif isinstance(image, Radiograph):
        radiograph = image
    if isinstance(landmarks, Study):
        if load_options:
            raise InvalidArgumentError.about(
                "landmarks",
                "{landmarks}: a Study is already measured; {got} apply to a landmark file",
                got=", ".join(sorted(load_options)),
            )
        study = landmarks
        if image is None:
            if not 0 <= i < len(study) or study.image_sources[i] is None:
                raise InvalidArgumentError.about(
                    "image", "{image}: the Study has no film for study {i} (give the image)", i=i
                )
            radiograph = load_radiograph(str(study.image_sources[i]))
    else:
        study = load_study(os.fspath(landmarks), image=radiograph, **load_options)
    if radiograph is not None:
        display = radiograph.display
    elif isinstance(image, np.ndarray):
        display = image
    else:
        raise InvalidArgumentError.about(
            "image", "{image}: a path, a Radiograph or a display image; got {got}", got=type(image).__name__
        )
    if not 0 <= i < len(study):
        raise InvalidArgumentError.about(
            "i", "{i}: the Study holds {n} studies; got {got}", n=len(study), got=i
        )
    figure_options.setdefault("max_display_rows", None if full_resolution else 2000)
    return figure_for(
        display, study, i, panel=panel, values=values, points=points, variants=variants, **figure_options
    )


class FilmCell(NamedTuple):
    """One cell of a film grid.

    Attributes
    ----------
    title : str
    image : str
        The film's path.
    landmarks : str or None
        Its landmark file (None for a Study given as such).
    drawing : Drawing or None
        What was drawn; None when the film could not be drawn.
    error : str or None
        Why it could not be drawn.
    """

    title: str
    image: str
    landmarks: str | None
    drawing: Drawing | None
    error: str | None


def film_grid(
    films: Any,
    *,
    root: str | os.PathLike[str] | None = None,
    titles: Sequence[str] | None = None,
    columns: int = 4,
    film_height_in: float = 5.0,
    max_display_rows: int = GRID_DISPLAY_ROWS,
    **study_options: Any,
) -> Figure:
    """Draw several annotated films in a grid, each with its title.

    Parameters
    ----------
    films : DataFrame, or sequence of Study or of (image, landmarks) pairs
        A batch table's rows (its ``image`` and ``landmarks`` columns, as
        :func:`~spinecheck.alignment.tables.read_batch_table` gives them),
        measured studies (each study of a Study whose image was read), or
        pairs of paths.
    root : str or Path, optional
        The folder a batch table's relative paths are relative to (the
        ``ROOT`` of ``spinecheck batch ROOT``); default the working folder.
    titles : sequence of str, optional
        One per film; default each film's file name.
    columns : int
        Films per row (>= 1).
    film_height_in : float
        Height of each film in inches.
    max_display_rows : int
        Each film is drawn from at most this many display rows (landmarks
        keep full precision).
    **study_options
        Given to :func:`~spinecheck.alignment.study.load_study` for each
        pair or row (``criteria=``, ``age_set=``, ``cobb_method=`` ...):
        use the options the table was made with.

    Returns
    -------
    matplotlib.figure.Figure
        An Agg canvas is attached (``fig.savefig("grid.png")``);
        ``fig.spinecheck_films`` lists a :class:`FilmCell` per film, in order.

    Raises
    ------
    InvalidArgumentError
        *films* is empty or of no kind above, *titles* has another length,
        or *columns* < 1. A film that cannot be read or measured is no error:
        its cell says why.
    """
    if columns < 1:
        raise InvalidArgumentError.about("columns", "{columns}: must be >= 1; got {got}", got=columns)
    jobs = _jobs(films, root)
    if not jobs:
        raise InvalidArgumentError.about("films", "{films}: no film to draw")
    if titles is not None and len(titles) != len(jobs):
        raise InvalidArgumentError.about(
            "titles", "{titles}: {got} titles for {n} films", got=len(titles), n=len(jobs)
        )
    ncols = min(columns, len(jobs))
    nrows = math.ceil(len(jobs) / ncols)
    cell_w = film_height_in * 0.5  # a whole-spine film is about twice as tall as wide
    fig = Figure(figsize=(ncols * cell_w, nrows * (film_height_in + 0.5)), layout=None)
    FigureCanvasAgg(fig)
    cells = []
    for k, (image, landmarks, study, i) in enumerate(jobs):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        title = titles[k] if titles is not None else Path(image).name
        ax.set_title(title, fontsize=8)
        try:
            if not image or not landmarks:
                raise SpinecheckError(f"no {'film' if not image else 'landmark file'} in this row")
            radiograph = load_radiograph(image)
            if study is None:
                assert landmarks is not None
                study, i = load_study(landmarks, image=radiograph, **study_options), 0
            drawing = draw_study(
                ax, radiograph.display, study, i, max_display_rows=max_display_rows, fontsize=5
            )
            cells.append(FilmCell(title, image, landmarks, drawing, None))
        except SpinecheckError as e:
            ax.set_axis_off()
            ax.text(
                0.5,
                0.5,
                _wrap(str(e)),
                ha="center",
                va="center",
                fontsize=6,
                transform=ax.transAxes,
                gid="error",
            )
            cells.append(FilmCell(title, image, landmarks, None, str(e)))
    fig.subplots_adjust(
        left=0.01,
        right=0.99,
        bottom=0.01,
        top=1 - 0.5 / (nrows * (film_height_in + 0.5)),
        wspace=0.05,
        hspace=0.12,
    )
    fig.spinecheck_films = tuple(cells)  # type: ignore[attr-defined]
    return fig


def _wrap(text: str, width: int = 40) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _text(cell: Any) -> str:
    """A table cell as a path: empty for a missing one (None, NaN, pandas' <NA>)."""
    return cell if isinstance(cell, str) else ""


def _jobs(films: Any, root: str | os.PathLike[str] | None) -> list[tuple[str, str | None, Study | None, int]]:
    """Per film: the image, the landmark file, the Study (if given) and the study's index in it."""
    base = Path(root) if root is not None else None

    def place(p: str) -> str:
        return str(base / p) if p and base is not None and not Path(p).is_absolute() else p

    if hasattr(films, "columns") and hasattr(films, "iterrows"):  # a DataFrame, without importing pandas
        missing = [c for c in ("image", "landmarks") if c not in films.columns]
        if missing:
            raise InvalidArgumentError.about(
                "films", "{films}: a table of films needs the column {name!r}", name=missing[0]
            )
        rows = zip(films["image"].tolist(), films["landmarks"].tolist(), strict=True)
        return [(place(_text(image)), place(_text(landmarks)), None, 0) for image, landmarks in rows]
    if isinstance(films, Study):
        films = [films]
    out: list[tuple[str, str | None, Study | None, int]] = []
    for item in films:
        if isinstance(item, Study):
            for i in range(len(item)):
                image = item.image_sources[i]
                if image is None:
                    raise InvalidArgumentError.about(
                        "films", "{films}: study {i} of a Study has no film (load it with image=...)", i=i
                    )
                out.append((str(image), item.landmark_sources[i], item, i))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            out.append((place(os.fspath(item[0])), place(os.fspath(item[1])), None, 0))
        else:
            raise InvalidArgumentError.about(
                "films",
                "{films}: each film must be a Study or an (image, landmarks) pair; got {got}",
                got=type(item).__name__,
            )
    return out
