"""SpineWeb dataset 16 / AASCE 2019 landmark labels (``.mat``), read as AP films.

Each label file holds ``p2``, a 68 x 2 array of ``(x, y)`` image pixels: the
17 vertebrae T1..L5 from top to bottom, four corners each, ordered upper-left,
upper-right, lower-left, lower-right in *image* terms (formats.md §1). They
become the points ``T1.sup.left``, ``T1.sup.right``, ``T1.inf.left``,
``T1.inf.right``, ..., ``L5.inf.right`` of an AP :class:`LandmarkSet`.

The dataset's layout is ``labels/<image>.mat`` beside ``images/<image>``; the
reader looks there for the image to check every point against its size.

References
----------
Wu H, Bailey C, Rasoulinejad P, Li S. Automatic landmark estimation for
adolescent idiopathic scoliosis assessment using BoostNet. MICCAI 2017.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidLandmarksError, reason, shorten
from ..points.model import ImageRef, LandmarkSet
from ..points.names import TYPICAL_LEVELS, View
from .checks import check_endplates, check_inside_image
from .matfile import MAX_MAT_BYTES, MatFileError, read_mat_variable

__all__ = ["AASCE_LEVELS", "AASCE_POINT_NAMES", "read_aasce_mat", "aasce_image_path"]

#: The 17 levels of an AASCE label, top to bottom (the dataset labels 12 thoracic and 5 lumbar vertebrae).
AASCE_LEVELS: tuple[str, ...] = TYPICAL_LEVELS[TYPICAL_LEVELS.index("T1") : TYPICAL_LEVELS.index("L5") + 1]
#: The 68 point names, in the row order of ``p2``.
AASCE_POINT_NAMES: tuple[str, ...] = tuple(
    f"{level}.{endplate}.{side}"
    for level in AASCE_LEVELS
    for endplate in ("sup", "inf")
    for side in ("left", "right")
)
_VARIABLE = "p2"


def aasce_image_path(mat_path: str | os.PathLike[str]) -> Path:
    """Return the image a label file belongs to in the AASCE layout.

    ``labels/X.jpg.mat`` belongs to ``images/X.jpg``.

    Examples
    --------
    >>> aasce_image_path("data/labels/case 1.jpg.mat").as_posix()
    'data/images/case 1.jpg'
    """
    p = Path(mat_path)
    name = p.name[: -len(".mat")] if p.name.lower().endswith(".mat") else p.name
    return p.parent.parent / "images" / name


def read_aasce_mat(path: str | os.PathLike[str], image_shape: tuple[int, int] | None = None) -> LandmarkSet:
    """Read a SpineWeb/AASCE label file as the landmarks of an AP film.

    Parameters
    ----------
    path : str or path-like
        A MATLAB (v4-v7.2) file holding ``p2``: 68 x 2 ``(x, y)`` pixels.
    image_shape : (int, int), optional
        ``(rows, columns)`` of the image. When None, the size is read from
        the header of the sibling image ``../images/<name without .mat>``
        if it exists (no pixels are decoded); otherwise points are not
        checked against the image.

    Returns
    -------
    LandmarkSet
        View AP, 68 points named ``T1.sup.left`` ... ``L5.inf.right``
        (left/right = image left/right), ``image`` with the size used,
        ``source`` = *path*. Implausible placements (corners swapped,
        levels out of order) are not judged here: the measuring code checks
        them (:func:`spinecheck.landmarks.points.sanity.check_vertebrae`).

    Raises
    ------
    InvalidLandmarksError
        The file is missing or not a MATLAB file; ``p2`` is missing, not
        numeric, not 68 x 2, or holds a non-finite value; a point lies
        outside the image.
    DegenerateGeometryError
        Two corners of one endplate at the same position.

    Examples
    --------
    >>> import os, tempfile, numpy as np, scipy.io
    >>> p = os.path.join(tempfile.mkdtemp(), "x.jpg.mat")
    >>> xy = [[100 + 50 * (i % 2), 10 + 20 * (i // 2)] for i in range(68)]
    >>> scipy.io.savemat(p, {"p2": np.array(xy, dtype=np.uint16)})
    >>> s = read_aasce_mat(p, image_shape=(800, 300))
    >>> s.view, len(s.points), s.points["L5.inf.right"]
    (<View.AP: 'ap'>, 68, (150.0, 670.0))
    """
    name = os.fspath(path)
    where = f"landmarks file {name!r}"
    p2 = _load_p2(name, where)

    rows = columns = None
    image_path: str | None = None
    notes: list[str] = []
    if image_shape is not None:
        rows, columns = _check_shape(image_shape)
    else:
        sibling = aasce_image_path(name)
        if sibling.is_file():
            image_path = str(sibling)
            try:
                columns, rows = _image_size(sibling)
            except OSError as e:
                notes.append(
                    f"could not read the size of {image_path!r} ({reason(e)}); points not checked against it"
                )
                image_path = None

    points = {n: (float(x), float(y)) for n, (x, y) in zip(AASCE_POINT_NAMES, p2.tolist(), strict=True)}
    check_inside_image(points, rows, columns, where, image=image_path)
    check_endplates(points, View.AP, where)
    return LandmarkSet(
        view=View.AP,
        points=points,
        image=ImageRef(path=image_path, rows=rows, columns=columns),
        source=name,
        warnings=tuple(notes),
    )


def _load_p2(name: str, where: str) -> np.ndarray:
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_MAT_BYTES + 1)
    except OSError as e:
        raise InvalidLandmarksError(f"{where}: cannot be read: {e.strerror or e}") from None
    try:
        variable = read_mat_variable(data, _VARIABLE)  # in Python: scipy's reader faults on damaged files
    except MatFileError as e:
        if str(e).startswith("v7.3"):
            raise InvalidLandmarksError(
                f"{where}: is a MATLAB v7.3 (HDF5) file, which this reader cannot open; "
                "save it with save(..., '-v7')"
            ) from None
        raise InvalidLandmarksError(
            f"{where}: is not a readable MATLAB .mat file ({shorten(str(e), 200)}); expected an AASCE label "
            f"file holding {_VARIABLE!r}"
        ) from None
    if not variable.kind:
        raise InvalidLandmarksError(
            f"{where}: variable {_VARIABLE!r} (68 x 2 landmark positions) is missing; "
            f"the file holds {', '.join(map(repr, variable.names)) or 'no variables'}"
        )
    p2 = variable.value
    if p2 is None or p2.dtype.kind not in "uif":
        raise InvalidLandmarksError(
            f"{where}: {_VARIABLE!r} must be a numeric 68 x 2 array; got a {variable.kind}"
        )
    if p2.shape != (len(AASCE_POINT_NAMES), 2):
        got = " x ".join(map(str, p2.shape)) or "a scalar"
        hint = " (transposed? expected one row per point)" if p2.shape == (2, len(AASCE_POINT_NAMES)) else ""
        raise InvalidLandmarksError(
            f"{where}: {_VARIABLE!r} must be 68 x 2 (x, y) positions, 4 corners of T1..L5; got {got}{hint}"
        )
    p2 = p2.astype(float)
    bad = ~np.isfinite(p2).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidLandmarksError(
            f'{where}: point "{AASCE_POINT_NAMES[i]}" (row {i + 1} of {_VARIABLE!r}) must be finite '
            f"numbers; got {p2[i].tolist()}"
        )
    return p2


def _check_shape(image_shape: Sequence[int]) -> tuple[int, int]:
    try:
        rows, columns = image_shape
    except (TypeError, ValueError):
        raise InvalidLandmarksError(f"image_shape must be (rows, columns); got {image_shape!r}") from None
    for v in (rows, columns):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise InvalidLandmarksError(
                f"image_shape must be (rows, columns), two whole numbers > 0; got {image_shape!r}"
            )
    return int(rows), int(columns)


def _image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` from the image header; pixels are not decoded."""
    from PIL import Image

    with warnings.catch_warnings():
        # only the header is read, so a huge image is no decompression bomb here
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                return im.size
        except Image.DecompressionBombError as e:
            raise OSError(str(e)) from None
        except (Image.UnidentifiedImageError, ValueError, SyntaxError) as e:
            raise OSError(f"not a readable image: {e}") from None
