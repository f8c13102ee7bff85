"""A study's results as a DICOM Comprehensive SR: a TID 1500 Measurement Report on the film.

The content tree (PS3.16 TID 1500), built with highdicom:

- the observation context: spinecheck as the device observer;
- procedure reported: plain radiography (SCT 168537006);
- an Image Library entry for the film;
- one measurement group (TID 1501), tracking identifier "spinal alignment": every parameter
  the report measured as a NUM (TID 300) with its UCUM unit, referencing the film as its
  source; then TEXT qualitative evaluations (TID 1501 row 12): each parameter not measured
  with its reason (never a number), the calibration and its source, the age used, the landmark
  source (the model that made machine-made landmarks), the conventions, transitional anatomy,
  the operation, withheld curves, every criterion's verdict with its rule, citation and
  evidence status, and the report's warnings. The algorithm is spinecheck (TID 4019);
- AP films: one group per coronal curve, its Cobb angle (SCT 285285000) and its end vertebrae,
  apex, convex side and regions;
- one planar ROI group (TID 1410) per landmark, tracking identifier the point name, its position
  a SCOORD POINT on the film; machine-made points name their model (TID 4019) and confidence.

A NUM's Floating Point Value is the report's value at full precision (the JSON report's
number); its Numeric Value, what a viewer shows, is the value as the text report shows it
(0.1, never "-0.0"), the value every criterion was decided on.

SCOORD coordinates: spinecheck's pixel (x, y) has its origin at the centre of the top-left
pixel (formats.md §1); DICOM's image coordinates have theirs at the top-left corner of that
pixel, the centre of which is (0.5, 0.5) (PS3.3 C.18.6.1.1, Graphic Data). So a landmark at
(x, y) is the SCOORD (column, row) = (x + 0.5, y + 0.5), stored as 32-bit floats (FL).
"""

from __future__ import annotations

import uuid

import highdicom as hd
import numpy as np
from highdicom.sr import (
    AlgorithmIdentification,
    CodedConcept,
    ComprehensiveSR,
    DeviceObserverIdentifyingAttributes,
    GraphicTypeValues,
    ImageRegion,
    Measurement,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    ObserverContext,
    PlanarROIMeasurementsAndQualitativeEvaluations,
    RelationshipTypeValues,
    SourceImageForMeasurement,
    SourceImageForRegion,
    TextContentItem,
    TrackingIdentifier,
)
from pydicom.sr.codedict import codes as dicom_codes
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
)
from pydicom.valuerep import DS

from ...landmarks.io.provenance import Provenance
from ..parameters import shown_number
from ..render.text import study_report, tool_version
from ..study import Study
from . import codes
from .codes import Concept
from .source import SourceFilm, ascii_text, patient_orientation

__all__ = ["SR_SERIES_NUMBER", "SR_SERIES_DESCRIPTION", "DEVICE_UID", "structured_report", "verdict_text"]

#: Series Number of the SR series: high, so that a viewer lists it after the film's series.
SR_SERIES_NUMBER = 9901
SR_SERIES_DESCRIPTION = "spinecheck measurements"
#: The device observer's UID: one for spinecheck, derived from its name (a UUID-based 2.25 UID).
DEVICE_UID = hd.UID.from_uuid(str(uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/spinecheck/")))
_PROJECTION_CLASSES = (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
)
#: Tracking identifier of the group of parameters and verdicts.
ALIGNMENT_GROUP = "spinal alignment"


def structured_report(
    study: Study,
    i: int,
    source: SourceFilm,
    provenance: Provenance | None,
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
) -> ComprehensiveSR:
    """Study *i*'s report as a Comprehensive SR in the film's study.

    Parameters
    ----------
    study : Study
        Measured and judged with its film (``load_study(..., image=...)``).
    i : int
        The study.
    source : SourceFilm
        The film's header (:func:`~spinecheck.alignment.export.source.read_source_film`).
    provenance : Provenance or None
        Who placed the points (None: by hand).
    series_instance_uid, sop_instance_uid : str
        The new series and instance.

    Returns
    -------
    highdicom.sr.ComprehensiveSR
        Patient and Study modules copied from the film, exactly.
    """
    report = study_report(study, i)
    groups: list = [_alignment_group(study, i, report, source, provenance)]
    groups += [_curve_group(curve, source) for curve in report.get("curves", [])]
    points = study.table.study(i).points
    groups += [_point_group(name, xy, source, provenance) for name, xy in points.items()]
    device = DeviceObserverIdentifyingAttributes(
        uid=DEVICE_UID, name="spinecheck", manufacturer_name="spinecheck", model_name="spinecheck"
    )
    context = ObservationContext(
        observer_device_context=ObserverContext(
            observer_type=dicom_codes.DCM.Device, observer_identifying_attributes=device
        )
    )
    content = MeasurementReport(
        observation_context=context,
        procedure_reported=_code(codes.PLAIN_RADIOGRAPHY),
        imaging_measurements=groups,
        referenced_images=_library(source),
    )
    scheme = hd.coding_schemes.CodingSchemeIdentificationItem(
        designator=codes.SCHEME,
        name=codes.SCHEME_NAME,
        responsible_organization=codes.SCHEME_ORGANIZATION,
    )
    sr = ComprehensiveSR(
        evidence=[source.evidence],
        content=content[0],
        series_instance_uid=series_instance_uid,
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer="spinecheck",
        manufacturer_model_name="spinecheck",
        software_versions=tool_version(),
        series_description=SR_SERIES_DESCRIPTION,
        # complete, but preliminary and unverified: no person has signed the measurements off
        is_complete=True,
        is_final=False,
        is_verified=False,
        coding_schemes=[scheme],
    )
    sr.copy_patient_and_study_information(source.header)  # the film's own values, byte for byte
    return sr


def _library(source: SourceFilm) -> list:
    """The film for the Image Library (TID 1600), when its header describes it as TID 1603 asks.

    A CR or DX film with a two-valued Patient Orientation and an Imager Pixel Spacing; for
    any other the library, optional in TID 1500, is left out (the measurements and points
    reference the film all the same).
    """
    header = source.evidence
    projection = source.sop_class_uid in _PROJECTION_CLASSES and str(header.get("Modality", "")) in (
        "CR",
        "DX",
    )
    spacing = header.get("ImagerPixelSpacing")
    if projection and patient_orientation(header) and spacing is not None and len(spacing) == 2:
        return [header]
    return []


def _alignment_group(
    study: Study, i: int, report: dict, source: SourceFilm, provenance: Provenance | None
) -> MeasurementsAndQualitativeEvaluations:
    """Every parameter, then the report's context and every verdict as text."""
    measurements = []
    texts: list[tuple[Concept, str]] = []
    levels = []
    for pid, p in report["parameters"].items():
        concept, derivation = codes.parameter_concept(pid)
        own = codes.own_parameter_concept(pid)  # texts name the parameter in spinecheck's scheme
        if p["value"] is None:
            texts.append((own, f"not measured: {p.get('reason') or 'no reason given'}"))
            continue
        measurements.append(_measurement(concept, float(p["value"]), p["unit"], source, derivation))
        if p.get("note"):
            texts.append((own, p["note"]))
        if p.get("levels"):
            levels.append(f"{pid}: {p['levels']}")
    texts.append((codes.CALIBRATION, _calibration_text(report["calibration"])))
    texts.append((codes.PATIENT_AGE, _age_text(report["patient"])))
    texts.append((codes.LANDMARK_SOURCE, _landmark_source(provenance)))
    texts.append((codes.CONVENTIONS, "; ".join(f"{k}: {v}" for k, v in report["conventions"].items())))
    if "anatomy" in report:
        texts.append((codes.ANATOMY, str(report["anatomy"].get("summary") or report["anatomy"])))
        if levels:
            texts.append((codes.LEVELS, "; ".join(levels)))
    operation = study.table.operation(i)
    if operation is not None:
        texts.append((codes.OPERATION, operation.describe()))
    for w in report.get("curves_withheld", []):
        texts.append((codes.CURVE_WITHHELD, f"{w['upper_end']}-{w['lower_end']}: {w['reason']}"))
    for column in study.assessment.columns:
        row = column.row(i)
        if row is not None:
            texts.append((codes.criterion_concept(row["id"], row["name"]), verdict_text(column, i)))
    texts += [(codes.WARNING, w) for w in report["warnings"]]
    sets = ", ".join(s.display for s in study.assessment.sets)
    parameters = [f"criterion and target sets: {sets}" if sets else "no criterion set"]
    if "cobb_method" in report["conventions"]:
        parameters.append(f"Cobb method: {report['conventions']['cobb_method']}")
    group = MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(identifier=ALIGNMENT_GROUP, uid=hd.UID()),
        algorithm_id=AlgorithmIdentification(
            name="spinecheck", version=tool_version(), parameters=[ascii_text(p) for p in parameters]
        ),
        measurements=measurements,
    )
    _add_texts(group, texts)
    return group


def _curve_group(curve: dict, source: SourceFilm) -> MeasurementsAndQualitativeEvaluations:
    """One coronal curve: its Cobb angle, end vertebrae, apex, convex side and regions."""
    name = f"coronal curve {curve['upper_end']}-{curve['lower_end']}"
    group = MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(identifier=name, uid=hd.UID()),
        measurements=[_measurement(codes.COBB_ANGLE, float(curve["angle_deg"]), "deg", source)],
    )
    items = [
        (codes.UPPER_END, curve.get("upper_end")),
        (codes.LOWER_END, curve.get("lower_end")),
        (codes.APEX, curve.get("apex")),
        (codes.CONVEX, curve.get("convex")),
        (codes.LENKE_REGION, curve.get("lenke_region")),
        (codes.SCHWAB_REGION, curve.get("region")),
    ]
    _add_texts(group, [(c, str(v)) for c, v in items if v])
    return group


def _point_group(
    name: str, xy: tuple[float, float], source: SourceFilm, provenance: Provenance | None
) -> PlanarROIMeasurementsAndQualitativeEvaluations:
    """One landmark: a SCOORD POINT on the film (PS3.3 C.18.6.1.1: spinecheck's pixel + 0.5)."""
    region = ImageRegion(
        graphic_type=GraphicTypeValues.POINT,
        graphic_data=np.array([[xy[0] + 0.5, xy[1] + 0.5]]),
        source_image=SourceImageForRegion(source.sop_class_uid, source.sop_instance_uid),
    )
    algorithm = None
    if provenance is not None and name not in provenance.corrected:
        model = provenance.model
        algorithm = AlgorithmIdentification(
            name=ascii_text(model.name),
            version=ascii_text(model.version),
            parameters=[f"weights sha256 {model.sha256}"] if model.sha256 else None,
        )
    group = PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(identifier=name, uid=hd.UID()),
        referenced_region=region,
        algorithm_id=algorithm,
    )
    if provenance is not None:
        _add_texts(group, [(codes.LANDMARK_SOURCE, provenance.point_source(name))])
    return group


def _measurement(
    concept: Concept, value: float, unit: str, source: SourceFilm, derivation: Concept | None = None
) -> Measurement:
    m = Measurement(
        name=_code(concept),
        value=value,
        unit=_code(codes.unit_concept(unit)),
        derivation=_code(derivation) if derivation is not None else None,
        referenced_images=[SourceImageForMeasurement(source.sop_class_uid, source.sop_instance_uid)],
    )
    # what a viewer shows: the value as the reports show it (the criteria decided on it); the
    # Floating Point Value beside it keeps the report's full precision
    m[0].MeasuredValueSequence[0].NumericValue = DS(shown_number(value))
    return m


def _add_texts(group, texts: list[tuple[Concept, str]]) -> None:
    """Append TEXT qualitative evaluations (TID 1501 row 12) to a measurement group."""
    items = group[0].ContentSequence
    for concept, text in texts:
        items.append(
            TextContentItem(
                name=_code(concept),
                value=ascii_text(text),
                relationship_type=RelationshipTypeValues.CONTAINS,
            )
        )


def _code(concept: Concept) -> CodedConcept:
    return CodedConcept(
        value=concept.value, scheme_designator=concept.scheme, meaning=ascii_text(concept.meaning)
    )


def verdict_text(column, i: int) -> str:
    """A criterion's verdict on study *i* in words: the report's line, its rule, source, status and note.

    Parameters
    ----------
    column : CriterionColumn
        One criterion of :class:`~spinecheck.alignment.criteria.engine.Assessment`.
    i : int

    Returns
    -------
    str
        ``"Sagittal imbalance (SVA >= 5 cm): not flagged (45.0 mm; SVA >= 50 mm) [V]; source:
        Glassman SD et al. ...; note: ..."``: the values as shown, the rule, the evidence
        status, the citation and its note.
    """
    row = column.row(i)
    parts = [column.summary(i)]
    rule = row.get("rule")
    if rule and rule not in parts[0]:
        parts.append(f"rule: {rule}")
    parts.append(f"source: {row['source']}")  # the evidence status ends the summary: [V], [S], [S-], [U]
    for key in ("note", "user_supplied"):
        if row.get(key):
            parts.append(f"{key.replace('_', ' ')}: {row[key]}")
    return "; ".join(parts)


def _calibration_text(cal: dict) -> str:
    if not cal.get("mm_per_px"):
        return (
            f"none: distances in pixels, no millimetre criterion evaluated; {cal.get('rule') or ''}".rstrip(
                "; "
            )
        )
    row, col = cal["mm_per_px"]
    parts = [f"{row:g} x {col:g} mm/px (row x col)", f"source {cal['source']}", f"plane {cal['plane']}"]
    if cal.get("rule"):
        parts.append(str(cal["rule"]))
    return "; ".join(parts)


def _age_text(patient: dict) -> str:
    if patient.get("age_years") is None:
        return "unknown: age-adjusted targets not applied"
    return f"{patient['age_years']:g} years ({patient.get('age_source') or 'source not recorded'})"


def _landmark_source(provenance: Provenance | None) -> str:
    if provenance is None:
        return "placed by hand (the landmark file records no model provenance)"
    return provenance.describe()
