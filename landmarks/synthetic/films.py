"""Synthetic whole-spine radiographs with exact ground truth.

:func:`render_lateral` and :func:`render_ap` turn a :class:`~spinecheck.landmarks.synthetic.spine_model.SpineModel`
into a :class:`SyntheticFilm`: 12-bit MONOCHROME2 pixels (bone bright) that
look like a standing whole-spine film, the landmarks that produced them (in
pixels) and the parameter values those landmarks have. The anatomy is
deterministic; *seed* only chooses the noise. :func:`write_dicom` and
:func:`write_png` save a film for the loaders, the command line and people.

Used by ``spinecheck demo``, by tests (overlays, landmark refinement) and by
the benchmarks (``rows=7200, cols=3000``).

Examples
--------
>>> film = synthetic_lateral(mm_per_px=(0.5, 0.5))
>>> film.pixels.shape, film.pixels.dtype.name, int(film.pixels.max()) <= 4095
((1800, 720), 'uint16', True)
>>> round(film.truth["PI"], 6), round(film.truth["SVA"], 6)
(55.0, 45.0)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset
from scipy import ndimage as ndi
from skimage import io

from ..errors import InvalidArgumentError
from ..io.atomic import write_atomic
from ..points.circle import Circle
from ..points.model import ImageRef, LandmarkSet, PatientInfo, Sex
from ..points.names import PatientRight, View
from .anatomy import paint_ap, paint_lateral
from .raster import Canvas, texture_tile
from .spine_model import SpineGeometry, SpineModel, ap_geometry, lateral_geometry

__all__ = [
    "SyntheticFilm",
    "render_lateral",
    "render_ap",
    "synthetic_lateral",
    "synthetic_ap",
    "write_dicom",
    "write_png",
    "FILM_SIZE_MM",
]

#: Default film: a 36-inch whole-spine cassette, ``(height, width)`` in mm.
FILM_SIZE_MM = (900.0, 360.0)
_BLUR_MM = 0.6  # detector and focal-spot blur (gaussian sigma)
_AIR, _WHITE = 110.0, 4020.0  # pixel values of no attenuation and of infinite attenuation
_NOISE = 30.0  # pixel-value standard deviation of the quantum noise
_COARSE_MM = 0.6  # target spacing of the canvas for broad, soft structures


@dataclass(frozen=True, eq=False)
class SyntheticFilm:
    """A synthetic radiograph and its ground truth.

    Attributes
    ----------
    pixels : ndarray of uint16, shape (rows, cols)
        12-bit values (0..4095), MONOCHROME2: bone is bright.
    mm_per_px : tuple of float
        ``(row, col)`` spacing the film was rendered at (what a DICOM header
        says); the landmarks carry no calibration of their own.
    landmarks : LandmarkSet
        The true landmarks in ``(x, y)`` pixels, with ``circles`` for the
        femoral heads (radius in pixels of the mean spacing), ``image`` rows
        and columns, ``patient_right`` on AP films.
    truth : Mapping[str, float]
        Parameter id (``spinecheck.alignment.parameters``) to its true value, degrees or
        millimetres (see :class:`~spinecheck.landmarks.synthetic.spine_model.SpineGeometry`).
    model : SpineModel
    view : View
    patient : PatientInfo
    seed : int
        The noise seed.
    geometry : SpineGeometry
        The landmarks in millimetres (default orientation).
    """

    pixels: np.ndarray
    mm_per_px: tuple[float, float]
    landmarks: LandmarkSet
    truth: Mapping[str, float]
    model: SpineModel
    view: View
    patient: PatientInfo
    seed: int
    geometry: SpineGeometry

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.pixels.shape


def _size(rows: int | None, cols: int | None, spacing: tuple[float, float]) -> tuple[int, int]:
    r = rows if rows is not None else round(FILM_SIZE_MM[0] / spacing[0])
    c = cols if cols is not None else round(FILM_SIZE_MM[1] / spacing[1])
    if r < 8 or c < 8:
        raise InvalidArgumentError(f"film size must be at least 8 x 8 pixels; got {r} x {c}")
    return int(r), int(c)


def _spacing(mm_per_px: Any) -> tuple[float, float]:
    if np.isscalar(mm_per_px):
        mm_per_px = (mm_per_px, mm_per_px)
    dy, dx = (float(v) for v in mm_per_px)
    if not (dy > 0 and dx > 0 and math.isfinite(dy) and math.isfinite(dx)):
        raise InvalidArgumentError(
            f"mm_per_px must be (row, col) millimetres per pixel > 0; got {mm_per_px!r}"
        )
    return dy, dx


def _place(
    geom: SpineGeometry, shape: tuple[int, int], spacing: tuple[float, float], anterior_mm: float
) -> tuple[float, float]:
    """Image position ``(x_mm, y_mm)`` of the geometry origin: the anatomy centred on the film.

    Raises ValueError when the film cannot hold every landmark and both
    femoral heads with a margin.
    """
    pts = np.array(list(geom.points_mm.values()))
    r = geom.femoral_head_radius_mm
    height = (shape[0] - 1) * spacing[0]
    width = (shape[1] - 1) * spacing[1]
    need_lo, need_hi = pts[:, 1].min() - r - 10, pts[:, 1].max() + 25
    want_lo, want_hi = need_lo - 60, need_hi + 55
    x_lo, x_hi = pts[:, 0].min() - r - 10, pts[:, 0].max() + r + 10
    if need_hi - need_lo > height or x_hi - x_lo > width:
        raise InvalidArgumentError(
            f"a film of {shape[0]} x {shape[1]} px at {spacing} mm/px ({height:.0f} x {width:.0f} mm) "
            f"cannot hold the spine and hips ({need_hi - need_lo:.0f} x {x_hi - x_lo:.0f} mm); "
            "enlarge rows/cols or mm_per_px"
        )
    lo, hi = (want_lo, want_hi) if want_hi - want_lo <= height else (need_lo, need_hi)
    oy = height / 2 + (lo + hi) / 2
    centre = (x_lo + x_hi) / 2 + anterior_mm
    centre = min(max(centre, x_hi - width / 2), x_lo + width / 2)  # keep the landmarks in
    return width / 2 - centre, oy


def _texture(spacing: tuple[float, float]):
    tile = texture_tile(512, 0.45 / min(spacing), np.random.default_rng(20240611))
    n = tile.shape[0]

    def texture(sl: tuple[slice, slice]) -> np.ndarray:
        return tile[np.ix_(np.arange(sl[0].start, sl[0].stop) % n, np.arange(sl[1].start, sl[1].stop) % n)]

    return texture


def _expose(att: np.ndarray, spacing: tuple[float, float], seed: int) -> np.ndarray:
    """Blur, compress and add noise to an attenuation image, in place; return uint16 pixels."""
    ndi.gaussian_filter(att, (_BLUR_MM / spacing[0], _BLUR_MM / spacing[1]), truncate=3.0, output=att)
    rng = np.random.default_rng(seed)
    out = np.empty(att.shape, dtype=np.uint16)
    for start in range(0, att.shape[0], 256):
        block = att[start : start + 256]
        np.multiply(block, -0.5, out=block)
        np.exp(block, out=block)
        # pixel = AIR + (WHITE - AIR) * (1 - exp(-A/2)): bone bright, noise even in this log-like scale
        value = (_WHITE - (_WHITE - _AIR) * block) + _NOISE * rng.standard_normal(
            block.shape, dtype=np.float32
        )
        out[start : start + 256] = np.clip(np.rint(value), 0, 4095)
    return out


def _render(
    geom: SpineGeometry,
    model: SpineModel,
    spacing: tuple[float, float],
    rows: int | None,
    cols: int | None,
    seed: int,
    painter,
    anterior_mm: float,
) -> tuple[np.ndarray, float, float]:
    rows, cols = _size(rows, cols, spacing)
    ox, oy = _place(geom, (rows, cols), spacing, anterior_mm)
    f = max(1, round(_COARSE_MM / min(spacing)))
    fine = Canvas(rows, cols, spacing, (0.0, 0.0), (ox, oy))
    coarse = Canvas(
        -(-rows // f),
        -(-cols // f),
        (spacing[0] * f, spacing[1] * f),
        ((f - 1) / 2 * spacing[1], (f - 1) / 2 * spacing[0]),
        (ox, oy),
    )
    painter(fine, coarse, geom, model, _texture(spacing))
    np.maximum(coarse.a, 0, out=coarse.a)  # lungs and gas cannot remove more than the body holds
    ndi.gaussian_filter(coarse.a, 1.0, output=coarse.a)
    if f > 1:
        fine.a += ndi.zoom(coarse.a, f, order=1, grid_mode=True, mode="nearest")[:rows, :cols]
    else:
        fine.a += coarse.a
    return _expose(fine.a, spacing, seed), ox, oy


def _landmarks(
    geom: SpineGeometry,
    view: View,
    spacing: tuple[float, float],
    shape: tuple[int, int],
    ox: float,
    oy: float,
    patient: PatientInfo,
) -> LandmarkSet:
    dy, dx = spacing

    def px(xy: tuple[float, float]) -> tuple[float, float]:
        return ((ox + xy[0]) / dx, (oy - xy[1]) / dy)

    points = {k: px(v) for k, v in geom.points_mm.items()}
    radius = geom.femoral_head_radius_mm / math.sqrt(dx * dy)
    circles = {k: Circle(points[k], radius) for k in ("FH.left", "FH.right")}
    return LandmarkSet(
        view=view,
        points=points,
        calibration=None,
        patient=patient,
        image=ImageRef(rows=shape[0], columns=shape[1]),
        patient_right=PatientRight.IMAGE_LEFT if view is View.AP else None,
        circles=circles,
        source="synthetic",
    )


def _patient(age_years: float | None, sex: str | Sex | None) -> PatientInfo:
    return PatientInfo(
        age_years=age_years,
        age_source="synthetic" if age_years is not None else None,
        sex=Sex(sex) if sex is not None else None,
        sex_source="synthetic" if sex is not None else None,
    )


def render_lateral(
    model: SpineModel | None = None,
    *,
    mm_per_px: float | tuple[float, float] = (0.2, 0.2),
    rows: int | None = None,
    cols: int | None = None,
    seed: int = 0,
    facing: str = "right",
    age_years: float | None = 67,
    sex: str | None = "F",
) -> SyntheticFilm:
    """Render a standing lateral whole-spine film of *model*.

    Parameters
    ----------
    model : SpineModel, optional
        Defaults to ``SpineModel()``.
    mm_per_px : float or (float, float)
        ``(row, col)`` pixel spacing in mm.
    rows, cols : int, optional
        Film size in pixels; by default :data:`FILM_SIZE_MM` at *mm_per_px*
        (4500 x 1800 at 0.2 mm). The anatomy is centred on the film.
    seed : int
        Seed of the noise (the anatomy does not depend on it).
    facing : {"right", "left"}
        Which side of the image the patient faces. A left-facing film is the
        exact mirror image of the right-facing one (pixels and landmarks).
    age_years, sex
        The patient's age and sex (for the DICOM header and age-adjusted
        targets); None when unknown.

    Returns
    -------
    SyntheticFilm

    Raises
    ------
    InvalidArgumentError
        The film is too small for the spine and hips, or *facing* is not
        "right" or "left".
    """
    if facing not in ("right", "left"):
        raise InvalidArgumentError(f'facing must be "right" or "left"; got {facing!r}')
    model = model if model is not None else SpineModel()
    spacing = _spacing(mm_per_px)
    geom = lateral_geometry(model)
    pixels, ox, oy = _render(geom, model, spacing, rows, cols, seed, paint_lateral, 40.0)
    patient = _patient(age_years, sex)
    marks = _landmarks(geom, View.LATERAL, spacing, pixels.shape, ox, oy, patient)
    if facing == "left":
        pixels = np.ascontiguousarray(pixels[:, ::-1])
        marks = marks.mirrored(pixels.shape[1])
    return SyntheticFilm(pixels, spacing, marks, geom.truth, model, View.LATERAL, patient, seed, geom)


def render_ap(
    model: SpineModel | None = None,
    *,
    mm_per_px: float | tuple[float, float] = (0.2, 0.2),
    rows: int | None = None,
    cols: int | None = None,
    seed: int = 0,
    patient_right: str | PatientRight = "image_left",
    age_years: float | None = 67,
    sex: str | None = "F",
) -> SyntheticFilm:
    """Render a standing AP whole-spine film of *model*.

    Parameters
    ----------
    model, mm_per_px, rows, cols, seed, age_years, sex
        As for :func:`render_lateral`.
    patient_right : {"image_left", "image_right"}
        Where the patient's right is: ``"image_left"`` for a film viewed as
        if facing the patient (the standard display). ``"image_right"`` is
        the exact mirror image, ``.left``/``.right`` names swapped.

    Returns
    -------
    SyntheticFilm
        ``truth`` holds ``C7_CSVL`` (positive toward the patient's right),
        ``PO`` (positive when the patient's right side is higher),
        ``Cobb_max`` and ``Cobb.<upper>-<lower>`` per curve.
    """
    side = PatientRight.parse(patient_right)
    model = model if model is not None else SpineModel()
    spacing = _spacing(mm_per_px)
    geom = ap_geometry(model)
    pixels, ox, oy = _render(geom, model, spacing, rows, cols, seed, paint_ap, 0.0)
    patient = _patient(age_years, sex)
    marks = _landmarks(geom, View.AP, spacing, pixels.shape, ox, oy, patient)
    if side is PatientRight.IMAGE_RIGHT:
        pixels = np.ascontiguousarray(pixels[:, ::-1])
        marks = marks.mirrored(pixels.shape[1])
    return SyntheticFilm(pixels, spacing, marks, geom.truth, model, View.AP, patient, seed, geom)


def _split(overrides: dict) -> tuple[SpineModel, dict]:
    fields = {f.name for f in dataclasses.fields(SpineModel)}
    model = SpineModel(**{k: v for k, v in overrides.items() if k in fields})
    return model, {k: v for k, v in overrides.items() if k not in fields}


def synthetic_lateral(seed: int = 0, **overrides: Any) -> SyntheticFilm:
    """Render a lateral film of the default patient, with *overrides* of model fields or render options.

    >>> synthetic_lateral(pelvic_tilt_deg=30, mm_per_px=1.0).truth["SS"]
    25.0
    """
    model, options = _split(overrides)
    return render_lateral(model, seed=seed, **options)


def synthetic_ap(seed: int = 0, **overrides: Any) -> SyntheticFilm:
    """Render an AP film of the default patient, with *overrides* of model fields or render options.

    >>> round(synthetic_ap(c7_csvl_mm=-10, mm_per_px=1.0).truth["C7_CSVL"], 6)
    -10.0
    """
    model, options = _split(overrides)
    return render_ap(model, seed=seed, **options)


_SYNTAXES = {
    "explicit little endian": uid.ExplicitVRLittleEndian,
    "implicit little endian": uid.ImplicitVRLittleEndian,
    "jpeg2000 lossless": uid.JPEG2000Lossless,
    "jpeg-ls lossless": uid.JPEGLSLossless,
    "rle lossless": uid.RLELossless,
}
_SOP_CLASSES = {"DX": uid.DigitalXRayImageStorageForPresentation, "CR": uid.ComputedRadiographyImageStorage}


def _ds(values: Any) -> list[str]:
    return [f"{float(v):.10g}" for v in values]


def write_dicom(
    film: SyntheticFilm,
    path: str | Path,
    *,
    transfer_syntax: str = "explicit little endian",
    modality: str = "DX",
    patient_age: float | str | None = None,
    spacing: str = "pixel",
    sop_instance_uid: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save *film* as a DICOM file that the loaders read like a clinical one.

    Parameters
    ----------
    film : SyntheticFilm
    path : str or Path
    transfer_syntax : str
        ``"explicit little endian"`` (default), ``"implicit little endian"``,
        ``"jpeg2000 lossless"``, ``"jpeg-ls lossless"``, ``"rle lossless"``,
        or a transfer syntax UID among those. Compression is lossless: the
        pixels read back identical.
    modality : {"DX", "CR"}
        Also chooses the SOP class: Digital X-Ray Image Storage – For
        Presentation, or Computed Radiography Image Storage.
    patient_age : float or str, optional
        Years (written ``"067Y"``); a string is written as is (``""`` for an
        empty Patient's Age). None uses the film's patient.
    spacing : {"pixel", "imager", "both", "none"}
        Which spacing tags carry ``film.mm_per_px``: Pixel Spacing (0028,0030),
        Imager Pixel Spacing (0018,1164), both, or neither.
    sop_instance_uid : str, optional
        Defaults to a UID derived from the film (same film, same UID).
    extra : mapping, optional
        DICOM keywords to set last (``{"EstimatedRadiographicMagnificationFactor": 1.1}``).

    Returns
    -------
    Path
        *path*.

    Raises
    ------
    InvalidArgumentError
        An unknown transfer syntax, modality or spacing choice.

    Examples
    --------
    >>> import pydicom, tempfile, os
    >>> film = synthetic_ap(mm_per_px=1.0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_dicom(film, os.path.join(d, "ap.dcm"), transfer_syntax="jpeg2000 lossless")
    ...     ds = pydicom.dcmread(path)
    ...     print(ds.ViewPosition, ds.PatientAge, ds.PixelSpacing, (ds.pixel_array == film.pixels).all())
    AP 067Y [1, 1] True
    """
    syntax = _SYNTAXES.get(str(transfer_syntax).lower()) or next(
        (u for u in _SYNTAXES.values() if u == str(transfer_syntax)), None
    )
    if syntax is None:
        raise InvalidArgumentError(
            f"write_dicom: transfer_syntax must be one of {', '.join(map(repr, _SYNTAXES))}; "
            f"got {transfer_syntax!r}"
        )
    modality = str(modality).upper()
    if modality not in _SOP_CLASSES:
        raise InvalidArgumentError(f'write_dicom: modality must be "DX" or "CR"; got {modality!r}')
    if spacing not in ("pixel", "imager", "both", "none"):
        raise InvalidArgumentError(
            f'write_dicom: spacing must be "pixel", "imager", "both" or "none"; got {spacing!r}'
        )
    marks = film.landmarks
    entropy = [
        "spinecheck-synthetic",
        repr(film.model),
        str(film.seed),
        repr(film.mm_per_px),
        repr(film.shape),
    ]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = _SOP_CLASSES[modality]
    ds.SOPInstanceUID = sop_instance_uid or uid.generate_uid(
        entropy_srcs=[*entropy, film.view.value, "image", repr(marks.points.get("S1.sup.ant"))]
    )
    ds.StudyInstanceUID = uid.generate_uid(entropy_srcs=[*entropy, "study"])
    ds.SeriesInstanceUID = uid.generate_uid(entropy_srcs=[*entropy, film.view.value, "series"])
    ds.Modality = modality
    ds.PatientName = "SYNTHETIC^SPINE"
    ds.PatientID = f"SYN-{film.seed:04d}"
    ds.PatientBirthDate = ""
    ds.PatientSex = film.patient.sex.value if film.patient.sex is not None else ""
    age = film.patient.age_years if patient_age is None else patient_age
    ds.PatientAge = age if isinstance(age, str) else ("" if age is None else f"{int(age):03d}Y")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240101"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
    ds.AccessionNumber = ds.ReferringPhysicianName = ""
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1 if film.view is View.LATERAL else 2, 1
    ds.Manufacturer, ds.ManufacturerModelName = "spinecheck", "synthetic"
    ds.SeriesDescription = f"synthetic whole spine {film.view.value}"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.BodyPartExamined = "SPINE"
    if film.view is View.LATERAL:
        anterior = marks.points["S1.sup.ant"][0] > marks.points["S1.sup.post"][0]
        ds.ViewPosition, ds.PatientOrientation = "LATERAL", ["A" if anterior else "P", "F"]
    else:
        left = marks.patient_right is PatientRight.IMAGE_LEFT
        ds.ViewPosition, ds.PatientOrientation = "AP", ["L" if left else "R", "F"]
    if modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign = "LOG", 1
    ds.BurnedInAnnotation = "NO"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    lo, hi = np.percentile(film.pixels[::4, ::4], [0.5, 99.5])
    ds.WindowCenter, ds.WindowWidth = _ds([(lo + hi) / 2])[0], _ds([max(hi - lo, 1)])[0]
    if spacing in ("pixel", "both"):
        ds.PixelSpacing = _ds(film.mm_per_px)
    if spacing in ("imager", "both"):
        ds.ImagerPixelSpacing = _ds(film.mm_per_px)
    ds.ImageComments = f"synthetic spinecheck film, seed {film.seed}; not a patient"
    ds.set_pixel_data(film.pixels, "MONOCHROME2", 12, generate_instance_uid=False)
    ds.LossyImageCompression = "00"
    if syntax.is_compressed:
        ds.compress(syntax, generate_instance_uid=False)
    else:
        ds.file_meta.TransferSyntaxUID = syntax
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = Path(path)
    write_atomic(path, lambda f: ds.save_as(f, enforce_file_format=True))  # never a torn file
    return path


def write_png(film: SyntheticFilm, path: str | Path, *, bits: int = 8, max_size: int | None = None) -> Path:
    """Save *film* as a grey PNG (a preview, or a test image without a header).

    Parameters
    ----------
    film : SyntheticFilm
    path : str or Path
    bits : {8, 16}
        8: windowed to the 0.5–99.5 percentiles for viewing; 16: the raw
        12-bit values.
    max_size : int, optional
        Downsample (block mean, by an integer factor) until the longer side
        is at most this many pixels.

    Returns
    -------
    Path
    """
    if bits not in (8, 16):
        raise InvalidArgumentError(f"write_png: bits must be 8 or 16; got {bits!r}")
    img = film.pixels
    k = 1 if not max_size else max(1, math.ceil(max(img.shape) / max_size))
    if k > 1:
        h, w = (img.shape[0] // k) * k, (img.shape[1] // k) * k
        img = img[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    if bits == 8:
        lo, hi = np.percentile(img, [0.5, 99.5])
        img = np.clip((img - lo) / max(hi - lo, 1) * 255, 0, 255).round().astype(np.uint8)
    else:
        img = np.rint(img).astype(np.uint16)
    path = Path(path)
    io.imsave(path, img, check_contrast=False)
    return path
