"""The annotated figure as a DICOM Secondary Capture image in the film's study.

The figure is :func:`~spinecheck.alignment.render.figure.figure_for`'s (the film with its
landmarks, constructions, values and verdicts, and the legend panel), rendered on its Agg canvas
to 8-bit RGB pixels. It is a picture for reading, not for measuring: it has margins and a
legend, so it carries no pixel spacing, and a viewer's ruler on it measures nothing.

The image copies the film's Patient and Study modules (exactly, as the SR does), its Patient
Orientation (the figure shows the film unflipped) and laterality, and references the film as
its source image (Source Image Sequence, purpose DCM 121322). Burned In Annotation is YES: the
figure's title names the landmark file, whose name may identify the patient.
"""

from __future__ import annotations

import numpy as np
from highdicom.sc import SCImage
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from ..render.figure import figure_for
from ..render.text import tool_version
from ..study import Study
from . import codes
from .source import SourceFilm, patient_orientation, series_laterality

__all__ = ["SC_SERIES_NUMBER", "SC_SERIES_DESCRIPTION", "FIGURE_DPI", "figure_pixels", "secondary_capture"]

#: Series Number of the capture's series: after the SR's (9901).
SC_SERIES_NUMBER = 9902
SC_SERIES_DESCRIPTION = "spinecheck annotated figure"
#: The figure is 11 inches tall: at 150 dots per inch, 1650 rows.
FIGURE_DPI = 150.0


def figure_pixels(display: np.ndarray, study: Study, i: int = 0, *, dpi: float = FIGURE_DPI) -> np.ndarray:
    """Study *i*'s annotated figure as RGB pixels.

    Parameters
    ----------
    display : ndarray of uint8, shape (rows, cols)
        The film's display image (``Radiograph.display``).
    study : Study
    i : int
    dpi : float
        Dots per inch of the 11-inch-tall figure.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    fig = figure_for(display, study, i)
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
    return np.ascontiguousarray(rgba[..., :3])


def secondary_capture(
    pixels: np.ndarray, source: SourceFilm, *, series_instance_uid: str, sop_instance_uid: str
) -> SCImage:
    """The figure's *pixels* as a Secondary Capture image in the film's study.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (height, width, 3)
        RGB.
    source : SourceFilm
    series_instance_uid, sop_instance_uid : str

    Returns
    -------
    highdicom.sc.SCImage
    """
    orientation = patient_orientation(source.header)
    sc = SCImage.from_ref_dataset(
        ref_dataset=source.evidence,
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=series_instance_uid,
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer="spinecheck",
        manufacturer_model_name="spinecheck",
        software_versions=tool_version(),
        series_description=SC_SERIES_DESCRIPTION,
        # highdicom asks for an orientation; the film's is written below (or none, Type 2)
        patient_orientation=(orientation[0], orientation[1]) if orientation else ("A", "F"),
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    sc.copy_patient_and_study_information(source.header)  # the film's own values, byte for byte
    sc["PatientOrientation"].value = orientation or ""
    laterality = series_laterality(source.header)
    if laterality is None:
        if "Laterality" in sc:
            del sc.Laterality
    else:
        sc.Laterality = laterality
    body_part = str(source.header.get("BodyPartExamined", "") or "").strip()
    if body_part:
        sc.BodyPartExamined = body_part
    sc.ConversionType = "WSD"  # rendered by software on a workstation (PS3.3 C.8.6.1)
    sc.BurnedInAnnotation = "YES"
    sc.DerivationDescription = (
        "the film's display image with spinecheck's landmarks, constructions, values and verdicts drawn "
        "over it, and a legend; a picture for reading, with no pixel spacing: not for measuring"
    )
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.sop_class_uid
    reference.ReferencedSOPInstanceUID = source.sop_instance_uid
    purpose = Dataset()
    purpose.CodeValue = codes.SOURCE_IMAGE_FOR_PROCESSING.value
    purpose.CodingSchemeDesignator = codes.SOURCE_IMAGE_FOR_PROCESSING.scheme
    purpose.CodeMeaning = codes.SOURCE_IMAGE_FOR_PROCESSING.meaning
    reference.PurposeOfReferenceCodeSequence = [purpose]
    sc.SourceImageSequence = [reference]
    return sc
