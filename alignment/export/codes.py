"""The codes the DICOM results name their content with: standard codes where they exist, spinecheck's own otherwise.

A DICOM Structured Report names every item with a coded concept (code value, coding scheme
designator, code meaning). DICOM (``DCM``), SNOMED CT (``SCT``) and UCUM codes are used where
the DICOM standard lists one for the concept (PS3.16: the Cobb angle, CID 7550; the maximum of
several values, CID 7464; plain radiography, the procedure). No standard code was found for the
spinopelvic parameters (pelvic incidence, sagittal vertical axis, …) nor for spinecheck's
criteria, so they are coded in spinecheck's private coding scheme ``99SPINECHECK`` (PS3.16 §8.2:
a private designator begins with "99"), whose code value is the parameter or criterion id of the
JSON report (``PI``, ``srs_schwab.pi_ll``) and whose code meaning is its name. The SR declares the
scheme in its Coding Scheme Identification Sequence. Nothing here is an invented SNOMED code.

The other items spinecheck writes (calibration, landmark source, curve attributes, …) have code
values with a hyphen (``calib-source``), which no parameter id (letters, digits, ``_``) and no
criterion id (lower case, digits, ``_``, ``.``) can have: the three never collide.
"""

from __future__ import annotations

from typing import NamedTuple

from ..parameters import PARAMETERS

__all__ = [
    "Concept",
    "SCHEME",
    "SCHEME_NAME",
    "SCHEME_ORGANIZATION",
    "COBB_ANGLE",
    "MAXIMUM",
    "PLAIN_RADIOGRAPHY",
    "SOURCE_IMAGE_FOR_PROCESSING",
    "UNITS",
    "CALIBRATION",
    "PATIENT_AGE",
    "LANDMARK_SOURCE",
    "WARNING",
    "ANATOMY",
    "LEVELS",
    "OPERATION",
    "CONVENTIONS",
    "CURVE_WITHHELD",
    "UPPER_END",
    "LOWER_END",
    "APEX",
    "CONVEX",
    "LENKE_REGION",
    "SCHWAB_REGION",
    "FIXED",
    "parameter_concept",
    "own_parameter_concept",
    "criterion_concept",
    "unit_concept",
]


class Concept(NamedTuple):
    """A coded concept: code value, coding scheme designator, code meaning (at most 64 characters)."""

    value: str
    scheme: str
    meaning: str


#: spinecheck's private coding scheme (PS3.16 §8.2: private designators begin with "99").
SCHEME = "99SPINECHECK"
SCHEME_NAME = "spinecheck parameters, criteria and report items"
SCHEME_ORGANIZATION = "the spinecheck project"

#: SNOMED CT, listed in DICOM PS3.16 CID 7550 (angle measurements) and CID 218.
COBB_ANGLE = Concept("285285000", "SCT", "Cobb angle")
#: SNOMED CT, DICOM PS3.16 CID 7464 (region of interest measurement modifiers): the derivation of Cobb_max.
MAXIMUM = Concept("56851009", "SCT", "Maximum")
#: SNOMED CT, DICOM PS3.16 CID 10005: the procedure the report's measurements were made on.
PLAIN_RADIOGRAPHY = Concept("168537006", "SCT", "Plain radiography")
#: DICOM PS3.16 CID 7202: the film, as the source of the annotated figure.
SOURCE_IMAGE_FOR_PROCESSING = Concept("121322", "DCM", "Source image for image processing operation")

#: The UCUM unit of each unit the report uses. Pixels have no UCUM unit: a count, annotated.
UNITS = {
    "deg": Concept("deg", "UCUM", "degree"),
    "mm": Concept("mm", "UCUM", "millimeter"),
    "px": Concept("{pixels}", "UCUM", "pixels"),
    "%": Concept("%", "UCUM", "percent"),
    "ratio": Concept("{ratio}", "UCUM", "ratio"),
    "years": Concept("a", "UCUM", "year"),
}

CALIBRATION = Concept("calib-source", SCHEME, "Calibration")
PATIENT_AGE = Concept("patient-age", SCHEME, "Patient age used")
LANDMARK_SOURCE = Concept("landmark-source", SCHEME, "Landmark source")
WARNING = Concept("report-warning", SCHEME, "Warning")
ANATOMY = Concept("spine-anatomy", SCHEME, "Transitional anatomy")
LEVELS = Concept("levels-measured", SCHEME, "Levels measured")
OPERATION = Concept("operation-record", SCHEME, "Operation")
CONVENTIONS = Concept("sign-conventions", SCHEME, "Conventions")
CURVE_WITHHELD = Concept("curve-withheld", SCHEME, "Coronal curve withheld")
UPPER_END = Concept("upper-end", SCHEME, "Upper end vertebra")
LOWER_END = Concept("lower-end", SCHEME, "Lower end vertebra")
APEX = Concept("apex-vertebra", SCHEME, "Apex vertebra")
CONVEX = Concept("convex-side", SCHEME, "Convex side")
LENKE_REGION = Concept("lenke-region", SCHEME, "Curve region (Lenke)")
SCHWAB_REGION = Concept("schwab-region", SCHEME, "Curve region (SRS-Schwab curve type)")

#: Every fixed concept of the private scheme (the README lists them).
FIXED = (
    CALIBRATION,
    PATIENT_AGE,
    LANDMARK_SOURCE,
    WARNING,
    ANATOMY,
    LEVELS,
    OPERATION,
    CONVENTIONS,
    CURVE_WITHHELD,
    UPPER_END,
    LOWER_END,
    APEX,
    CONVEX,
    LENKE_REGION,
    SCHWAB_REGION,
)

#: Parameters with a standard code: the concept and its derivation modifier.
_STANDARD = {"Cobb_max": (COBB_ANGLE, MAXIMUM)}


def parameter_concept(pid: str) -> tuple[Concept, Concept | None]:
    """The concept that names parameter *pid*, and its derivation modifier (None for most).

    >>> parameter_concept("PI")
    (Concept(value='PI', scheme='99SPINECHECK', meaning='pelvic incidence'), None)
    >>> parameter_concept("Cobb_max")[0].meaning, parameter_concept("Cobb_max")[1].meaning
    ('Cobb angle', 'Maximum')
    """
    if pid in _STANDARD:
        return _STANDARD[pid]
    return own_parameter_concept(pid), None


def own_parameter_concept(pid: str) -> Concept:
    """Parameter *pid* in spinecheck's scheme, whatever standard code it also has.

    A text about a parameter (why it was not measured) is named so: a TEXT item cannot carry
    the derivation that makes the standard "Cobb angle" the largest one.

    >>> own_parameter_concept("Cobb_max")
    Concept(value='Cobb_max', scheme='99SPINECHECK', meaning='largest coronal Cobb angle')
    """
    return Concept(pid, SCHEME, _meaning(PARAMETERS[pid].name))


def criterion_concept(criterion_id: str, name: str) -> Concept:
    """The concept that names a criterion row of the report (its id, its name).

    >>> criterion_concept("srs_schwab.pi_ll", "SRS-Schwab PI-LL")
    Concept(value='srs_schwab.pi_ll', scheme='99SPINECHECK', meaning='SRS-Schwab PI-LL')
    """
    return Concept(criterion_id, SCHEME, _meaning(name))


def unit_concept(unit: str) -> Concept:
    """The UCUM concept of a report unit (``"deg"``, ``"mm"``, ``"px"``, ``"%"``, …).

    >>> unit_concept("mm")
    Concept(value='mm', scheme='UCUM', meaning='millimeter')
    """
    return UNITS[unit]


def _meaning(text: str) -> str:
    # Code Meaning is LO: at most 64 characters
    return text if len(text) <= 64 else text[:63] + "…"
