"""Where a film's pixels lie in patient space: its image plane, as ITK (and so 3D Slicer) places it.

spinecheck measures in pixels, ``(x, y)`` = (column, row) with the origin at the centre of the
top-left pixel. Tools built on ITK, 3D Slicer first among them, place the same pixel in the
patient coordinate system of DICOM (LPS: x towards the patient's left, y posterior, z superior;
millimetres)::

    p = origin + x * col_spacing * row_direction + y * row_spacing * column_direction

``row_direction`` is the unit vector along a row (x growing), ``column_direction`` along a column
(y growing); this is DICOM's Image Plane module (PS3.3 C.7.6.2: Image Position (Patient) is the
centre of the first pixel, Image Orientation (Patient) the two direction cosines, Pixel Spacing
row then column). 3D Slicer shows ITK's image in RAS, ``diag(-1, -1, 1)`` times LPS.

What ITK takes for the origin, the directions and the spacing depends on the file, and that is
what :class:`ImagePlane` records, built from plain header values (no DICOM library here):

- **DICOM** (:meth:`ImagePlane.from_dicom`): ITK's GDCMImageIO reads through GDCM's
  ``ImageHelper`` (the reader 3D Slicer's DICOM module uses by default, "GDCM with DCMTK
  fallback"). The spacing attribute depends on the SOP class: Imager Pixel Spacing for CR, DX,
  mammography, intra-oral, XA and RF (not Pixel Spacing, and never divided by the Estimated
  Radiographic Magnification Factor); Nominal Scanned Pixel Spacing for single-frame secondary
  capture; Pixel Spacing for CT, MR, NM, PET and visible-light photographs. An absent attribute
  gives 1 mm per pixel and a zero value 1 mm, as in GDCM. The origin is Image Position
  (Patient) and the directions Image Orientation (Patient), both ignored for secondary capture
  and taken as zero and the identity when absent. Other SOP classes and multi-frame files are
  refused (an unknown plane that says why).
- **Pictures** (:meth:`ImagePlane.from_picture`): origin zero, directions the identity; a PNG
  always 1 mm per pixel (ITK's PNGImageIO ignores the pHYs chunk); a JPEG 25.4 / density mm
  from a JFIF density in dots per inch (10 / density per centimetre), else 1 mm; a TIFF likewise
  from its resolution with ResolutionUnit inch or centimetre, else 1 mm (a resolution without a
  unit is refused: readers disagree on it).

The spacing of a plane places pixels in space; it is not a calibration. A PNG shown at 1 mm per
pixel is not measured in millimetres (clinical.md §4: its distances stay in pixels), and a DX
film's Imager Pixel Spacing is where 3D Slicer puts its pixels even when spinecheck measures with
its Pixel Spacing.

References
----------
DICOM PS3.3 C.7.6.2, Image Plane Module. GDCM, ``gdcmImageHelper.cxx`` (``GetSpacingTagFromMediaStorage``,
``GetOriginValue``, ``GetDirectionCosinesValue``). ITK, ``itkGDCMImageIO.cxx``, ``itkPNGImageIO.cxx``,
``itkJPEGImageIO.cxx``, ``itkTIFFImageIO.cxx``. 3D Slicer, ``vtkMRMLMarkupsJsonStorageNode.cxx``
(LPS and RAS in markups files).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidLandmarksError

__all__ = ["ImagePlane"]

_Vector = tuple[float, float, float]

#: SOP classes whose spacing GDCM takes from Imager Pixel Spacing (0018,1164).
_IMAGER_SPACING_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1": "CR",
    "1.2.840.10008.5.1.4.1.1.1.1": "DX",
    "1.2.840.10008.5.1.4.1.1.1.1.1": "DX",
    "1.2.840.10008.5.1.4.1.1.1.2": "MG",
    "1.2.840.10008.5.1.4.1.1.1.2.1": "MG",
    "1.2.840.10008.5.1.4.1.1.1.3": "IO",
    "1.2.840.10008.5.1.4.1.1.1.3.1": "IO",
    "1.2.840.10008.5.1.4.1.1.12.1": "XA",
    "1.2.840.10008.5.1.4.1.1.12.2": "RF",
    "1.2.840.10008.5.1.4.1.1.12.3": "XA",
}
#: SOP classes whose spacing GDCM takes from Pixel Spacing (0028,0030).
_PIXEL_SPACING_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.2": "CT",
    "1.2.840.10008.5.1.4.1.1.4": "MR",
    "1.2.840.10008.5.1.4.1.1.20": "NM",
    "1.2.840.10008.5.1.4.1.1.128": "PET",
    "1.2.840.10008.5.1.4.1.1.77.1.2": "VL microscopic",
    "1.2.840.10008.5.1.4.1.1.77.1.4": "VL photographic",
}
#: Single-frame secondary capture: Nominal Scanned Pixel Spacing (0018,2010), no position.
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
#: Direction cosines (once of unit length) further from perpendicular than this (their dot product) are refused.
_COSINE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ImagePlane:
    """A film's pixels in patient space (LPS, mm), as ITK places them; or why that is not known.

    Attributes
    ----------
    mm_per_px : tuple of float or None
        ``(row spacing, column spacing)`` in mm, spinecheck's order (DICOM's); None when the
        plane is not known.
    origin_lps : tuple of 3 float
        The centre of pixel ``(0, 0)``, mm.
    row_direction, column_direction : tuple of 3 float
        Unit vectors along which x (the column index) and y (the row index) grow; orthonormal.
    rule : str
        How the plane was chosen (the attributes and the reader's rule), or why it is unknown.

    Examples
    --------
    >>> p = ImagePlane.from_spacing((0.5, 0.25), "given")
    >>> p.to_patient([[4.0, 2.0]]).tolist()
    [[1.0, 1.0, 0.0]]
    >>> xy, off = p.to_pixels([[1.0, 1.0, 0.0]])
    >>> xy.tolist(), off.tolist()
    ([[4.0, 2.0]], [0.0])
    """

    mm_per_px: tuple[float, float] | None
    origin_lps: _Vector = (0.0, 0.0, 0.0)
    row_direction: _Vector = (1.0, 0.0, 0.0)
    column_direction: _Vector = (0.0, 1.0, 0.0)
    rule: str = ""

    @property
    def known(self) -> bool:
        """True when pixels can be placed in patient space."""
        return self.mm_per_px is not None

    @property
    def normal(self) -> _Vector:
        """The unit normal ``row_direction x column_direction`` (out of the film)."""
        n = np.cross(self.row_direction, self.column_direction)
        return (float(n[0]), float(n[1]), float(n[2]))

    # ------------------------------------------------------------------ mapping

    def to_patient(self, xy: Any) -> np.ndarray:
        """Pixels to patient space.

        Parameters
        ----------
        xy : array_like, shape (N, 2)
            ``(x, y)`` pixels.

        Returns
        -------
        ndarray, shape (N, 3)
            LPS millimetres.
        """
        row, col = self._spacing()
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        return (
            np.asarray(self.origin_lps)
            + (xy[:, :1] * col) * np.asarray(self.row_direction)
            + (xy[:, 1:] * row) * np.asarray(self.column_direction)
        )

    def to_pixels(self, lps: Any) -> tuple[np.ndarray, np.ndarray]:
        """Patient space to pixels, and how far each position lies off the film's plane.

        Parameters
        ----------
        lps : array_like, shape (N, 3)
            LPS millimetres.

        Returns
        -------
        xy : ndarray, shape (N, 2)
            ``(x, y)`` pixels of each position's projection on the plane.
        off_plane_mm : ndarray, shape (N,)
            Signed distance from the plane along :attr:`normal`, mm.
        """
        row, col = self._spacing()
        d = np.asarray(lps, dtype=float).reshape(-1, 3) - np.asarray(self.origin_lps)
        x = d @ np.asarray(self.row_direction) / col
        y = d @ np.asarray(self.column_direction) / row
        return np.column_stack([x, y]), d @ np.asarray(self.normal)

    def _spacing(self) -> tuple[float, float]:
        if self.mm_per_px is None:
            raise InvalidLandmarksError(f"the film's plane in patient space is not known: {self.rule}")
        return self.mm_per_px

    def agrees_with(self, other: ImagePlane, *, tolerance: float = 1e-6) -> bool:
        """Tell whether two known planes place every pixel alike (relative *tolerance*).

        >>> ImagePlane.from_spacing((0.2, 0.2), "a").agrees_with(ImagePlane.from_spacing((0.2, 0.2), "b"))
        True
        """
        if self.mm_per_px is None or other.mm_per_px is None:
            return False
        a, b = (
            np.array([*p.mm_per_px, *p.origin_lps, *p.row_direction, *p.column_direction])  # type: ignore[misc]
            for p in (self, other)
        )
        scale = max(1.0, float(np.abs(a[2:5]).max()))  # origins far from zero compare to their size
        return bool(np.allclose(a, b, rtol=tolerance, atol=tolerance * scale))

    def describe(self) -> str:
        """The plane in words for messages: spacing, and origin and directions when not trivial.

        >>> ImagePlane.from_spacing((0.2, 0.1), "given").describe()
        '0.2 x 0.1 mm/px (row x col)'
        """
        if self.mm_per_px is None:
            return f"unknown ({self.rule})"
        row, col = self.mm_per_px
        text = f"{row:.6g} x {col:.6g} mm/px (row x col)"
        if self.origin_lps != (0.0, 0.0, 0.0):
            text += ", origin [" + ", ".join(f"{v:.6g}" for v in self.origin_lps) + "] mm LPS"
        if (self.row_direction, self.column_direction) != ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)):
            shown = [
                f"[{', '.join(f'{v:.4g}' for v in d)}]" for d in (self.row_direction, self.column_direction)
            ]
            text += f", directions {shown[0]} and {shown[1]}"
        return text

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The plane as plain JSON values (a known plane only).

        >>> ImagePlane.from_spacing((0.2, 0.2), "given").to_json()["mm_per_px"]
        [0.2, 0.2]
        """
        row, col = self._spacing()
        return {
            "mm_per_px": [row, col],
            "origin_lps": list(self.origin_lps),
            "row_direction": list(self.row_direction),
            "column_direction": list(self.column_direction),
            "rule": self.rule,
        }

    @classmethod
    def from_json(cls, obj: object, *, where: str) -> ImagePlane:
        """Read :meth:`to_json`'s form back; refuse anything else in one line naming *where*.

        Raises
        ------
        InvalidLandmarksError
            Not an object of the four numeric fields, spacing not > 0, or directions not
            orthonormal.
        """
        if not isinstance(obj, Mapping):
            raise InvalidLandmarksError(
                f'{where} must be {{"mm_per_px": [row, col], "origin_lps": [x, y, z], '
                f'"row_direction": [x, y, z], "column_direction": [x, y, z]}}; got {obj!r}'
            )
        spacing = _finite(obj.get("mm_per_px"), 2)
        if spacing is None or min(spacing) <= 0:
            raise InvalidLandmarksError(
                f'{where}: "mm_per_px" must be [row, col], two numbers > 0; got {obj.get("mm_per_px")!r}'
            )
        vectors = []
        for key in ("origin_lps", "row_direction", "column_direction"):
            v = _finite(obj.get(key), 3)
            if v is None:
                raise InvalidLandmarksError(f'{where}: "{key}" must be three numbers; got {obj.get(key)!r}')
            vectors.append(v)
        rule = obj.get("rule", "")
        r, c = _orthonormal(vectors[1], vectors[2])
        if r is None or c is None:
            raise InvalidLandmarksError(
                f'{where}: "row_direction" and "column_direction" must be perpendicular unit vectors; '
                f"got {list(vectors[1])} and {list(vectors[2])}"
            )
        return cls(
            (spacing[0], spacing[1]),
            (vectors[0][0], vectors[0][1], vectors[0][2]),
            r,
            c,
            rule if isinstance(rule, str) else "",
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def unknown(cls, reason: str = "the film's header was not read") -> ImagePlane:
        """A plane that is not known, with the reason."""
        return cls(None, rule=reason)

    @classmethod
    def from_spacing(cls, mm_per_px: Sequence[float], rule: str) -> ImagePlane:
        """A plane at the origin with the identity directions and the given ``(row, col)`` spacing."""
        row, col = (float(v) for v in mm_per_px)
        if not (math.isfinite(row) and math.isfinite(col) and row > 0 and col > 0):
            raise InvalidLandmarksError(f"a pixel spacing must be two numbers > 0; got {list(mm_per_px)!r}")
        return cls((row, col), rule=rule)

    @classmethod
    def from_dicom(
        cls,
        sop_class_uid: Any = None,
        *,
        imager_pixel_spacing: Any = None,
        pixel_spacing: Any = None,
        nominal_scanned_pixel_spacing: Any = None,
        image_position: Any = None,
        image_orientation: Any = None,
        frames: int = 1,
    ) -> ImagePlane:
        r"""The plane ITK's GDCMImageIO gives a single-frame DICOM image, from header values as read.

        Parameters
        ----------
        sop_class_uid : str
            SOP Class UID (0008,0016) or the file meta's Media Storage SOP Class UID.
        imager_pixel_spacing, pixel_spacing, nominal_scanned_pixel_spacing : sequence or None
            (0018,1164), (0028,0030), (0018,2010): ``row\column`` mm, as read.
        image_position, image_orientation : sequence or None
            (0020,0032) three numbers, (0020,0037) six.
        frames : int
            Number of Frames (multi-frame files are refused).

        Returns
        -------
        ImagePlane
            Unknown (with the reason) for another SOP class, a multi-frame file or a malformed
            value.

        Examples
        --------
        >>> cr = "1.2.840.10008.5.1.4.1.1.1"
        >>> ImagePlane.from_dicom(cr, imager_pixel_spacing=["0.2", "0.1"], pixel_spacing=[0.3, 0.3]).mm_per_px
        (0.2, 0.1)
        >>> ImagePlane.from_dicom(cr).rule
        'CR: Imager Pixel Spacing absent: 1 mm per pixel (ITK/GDCM default)'
        >>> ImagePlane.from_dicom("1.2.840.10008.5.1.4.1.1.6.1").known
        False
        """
        uid = str(sop_class_uid).strip() if sop_class_uid is not None else ""
        if frames > 1:
            return cls.unknown(f"a multi-frame file ({frames} frames): its plane per frame is not modelled")
        if uid in _IMAGER_SPACING_CLASSES:
            kind, name, raw = _IMAGER_SPACING_CLASSES[uid], "Imager Pixel Spacing", imager_pixel_spacing
        elif uid in _PIXEL_SPACING_CLASSES:
            kind, name, raw = _PIXEL_SPACING_CLASSES[uid], "Pixel Spacing", pixel_spacing
        elif uid == _SECONDARY_CAPTURE:
            kind, name, raw = (
                "secondary capture",
                "Nominal Scanned Pixel Spacing",
                nominal_scanned_pixel_spacing,
            )
        else:
            shown = uid or "absent"
            return cls.unknown(
                f"SOP Class UID {shown}: spinecheck knows where ITK/GDCM (3D Slicer) put the pixels of CR, DX, "
                "MG, IO, XA, RF, CT, MR, NM, PET, VL and single-frame secondary capture images only"
            )
        spacing, said = _gdcm_spacing(raw)
        if spacing is None:
            return cls.unknown(f"{kind}: {name} {said}")
        rule = f"{kind}: {name} {said}"
        if uid == _SECONDARY_CAPTURE:
            return cls(
                spacing, rule=rule + "; position and orientation not used for secondary capture (GDCM)"
            )
        origin: _Vector = (0.0, 0.0, 0.0)
        if not _absent(image_position):
            p = _finite(image_position, 3)
            if p is None:
                return cls.unknown(
                    f"{kind}: Image Position (Patient) {_shown(image_position)} is not three numbers"
                )
            origin = (p[0], p[1], p[2])
            rule += "; origin from Image Position (Patient)"
        r: _Vector = (1.0, 0.0, 0.0)
        c: _Vector = (0.0, 1.0, 0.0)
        if not _absent(image_orientation):
            o = _finite(image_orientation, 6)
            found = _orthonormal(o[:3], o[3:]) if o is not None else (None, None)
            if found[0] is None or found[1] is None:
                return cls.unknown(
                    f"{kind}: Image Orientation (Patient) {_shown(image_orientation)} is not two perpendicular "
                    "direction cosines"
                )
            r, c = found  # type: ignore[assignment]
            rule += "; directions from Image Orientation (Patient)"
        return cls(spacing, origin, r, c, rule)

    @classmethod
    def from_picture(
        cls,
        image_format: str,
        *,
        jfif_unit: Any = None,
        jfif_density: Any = None,
        tiff_resolution: Any = None,
        tiff_resolution_unit: Any = None,
        frames: int = 1,
    ) -> ImagePlane:
        """The plane ITK gives a PNG, JPEG or TIFF picture: origin zero, identity, spacing by format.

        Parameters
        ----------
        image_format : str
            ``"PNG"``, ``"JPEG"`` or ``"TIFF"``.
        jfif_unit, jfif_density
            A JPEG's JFIF APP0 density unit (0 none, 1 per inch, 2 per cm) and ``(x, y)`` density.
        tiff_resolution, tiff_resolution_unit
            A TIFF's ``(XResolution, YResolution)`` and ResolutionUnit (1 none, 2 inch, 3 cm), or
            None when absent.
        frames : int
            Pages (multi-page files are refused).

        Examples
        --------
        >>> ImagePlane.from_picture("PNG").mm_per_px
        (1.0, 1.0)
        >>> ImagePlane.from_picture("JPEG", jfif_unit=2, jfif_density=(100, 50)).mm_per_px
        (0.2, 0.1)
        """
        fmt = str(image_format).upper()
        if frames > 1:
            return cls.unknown(f"a {fmt} of {frames} pages: its plane per page is not modelled")
        if fmt == "PNG":
            return cls((1.0, 1.0), rule="PNG: 1 mm per pixel (ITK ignores the pHYs chunk)")
        if fmt == "JPEG":
            density = _finite(jfif_density, 2)
            per = {1: 25.4, 2: 10.0}.get(jfif_unit) if isinstance(jfif_unit, int) else None
            if per is not None and density is not None and min(density) > 0:
                x, y = per / density[0], per / density[1]
                unit = "inch" if jfif_unit == 1 else "cm"
                return cls((y, x), rule=f"JPEG: from its JFIF density per {unit} (ITK)")
            return cls((1.0, 1.0), rule="JPEG: no JFIF density: 1 mm per pixel (ITK default)")
        if fmt == "TIFF":
            resolution = _finite(tiff_resolution, 2)
            if resolution is None or min(resolution) <= 0:
                return cls((1.0, 1.0), rule="TIFF: no resolution: 1 mm per pixel (ITK default)")
            per = (
                {2: 25.4, 3: 10.0}.get(tiff_resolution_unit)
                if isinstance(tiff_resolution_unit, int)
                else None
            )
            if per is None:
                return cls.unknown(
                    f"TIFF: a resolution without the unit inch or centimetre (ResolutionUnit "
                    f"{tiff_resolution_unit!r}): viewers disagree on its spacing"
                )
            unit = "inch" if tiff_resolution_unit == 2 else "cm"
            return cls(
                (per / resolution[1], per / resolution[0]), rule=f"TIFF: from its resolution per {unit} (ITK)"
            )
        return cls.unknown(f"{fmt} pictures: their plane is not modelled")


# ----------------------------------------------------------------------------- helpers


def _absent(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (_sequence(raw) and len(raw) == 0)


def _sequence(raw: Any) -> bool:
    return isinstance(raw, (list, tuple, np.ndarray)) or type(raw).__name__ == "MultiValue"


def _finite(raw: Any, n: int) -> tuple[float, ...] | None:
    """*raw* as *n* finite floats (numbers or DICOM decimal strings), or None."""
    if not _sequence(raw) or len(raw) != n:
        return None
    try:
        values = tuple(float(v) for v in raw if not isinstance(v, bool))
    except (TypeError, ValueError):
        return None
    return values if len(values) == n and all(math.isfinite(v) for v in values) else None


def _shown(raw: Any) -> str:
    items = list(raw) if _sequence(raw) else [raw]
    return "\\".join(str(v).strip() for v in items)


def _gdcm_spacing(raw: Any) -> tuple[tuple[float, float] | None, str]:
    """A spacing attribute read as GDCM reads it: ``(row, col)`` and how, or None and why not."""
    if _absent(raw):
        return (1.0, 1.0), "absent: 1 mm per pixel (ITK/GDCM default)"
    items = list(raw) if _sequence(raw) else [raw]
    if len(items) == 1:
        items = items * 2
    values = _finite(items, 2)
    if values is None:
        return None, f"{_shown(raw)} is not one or two numbers"
    if min(values) < 0:
        return None, f"{_shown(raw)} is negative"
    row, col = (v if v != 0 else 1.0 for v in values)
    zero = " (a zero taken as 1 mm, as GDCM does)" if 0 in values else ""
    return (row, col), f"{_shown(raw)} mm{zero}"


def _orthonormal(row: Sequence[float], col: Sequence[float]) -> tuple[_Vector | None, _Vector | None]:
    """Two direction cosines made exactly orthonormal as ITK does, or None when they are not directions."""
    r = np.asarray(row, dtype=float)
    c = np.asarray(col, dtype=float)
    nr, nc = float(np.linalg.norm(r)), float(np.linalg.norm(c))
    if nr == 0 or nc == 0:
        return None, None
    r, c = r / nr, c / nc  # GDCM normalises cosines that are not of unit length
    if abs(r @ c) > _COSINE_TOLERANCE:
        return None, None
    # ITK: slice = row x col; row = col x slice; col = slice x row, each normalised
    n = np.cross(r, c)
    n /= np.linalg.norm(n)
    r = np.cross(c, n)
    r /= np.linalg.norm(r)
    c = np.cross(n, r)
    return (float(r[0]), float(r[1]), float(r[2])), (float(c[0]), float(c[1]), float(c[2]))
