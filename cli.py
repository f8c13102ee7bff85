"""The ``spinecheck`` command line: thin wiring of the public API.

``main(argv)`` parses, runs one command, and maps every known failure to a
single ``error: …`` line on stderr and a non-zero exit status (a traceback only
with ``--traceback``). Results go to stdout; progress and logs to stderr.

Exit status: 0 success; 1 internal error (a bug: please report it);
2 bad input or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage (argparse's own complaints)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


class _Subcommands(argparse._SubParsersAction):
    """The subcommands; with :attr:`only` set, that one alone gets its parser built.

    A run uses one command's parser, and building all twenty costs it some 15 ms of argparse work
    (issue 17, 5): the others get :data:`_UNBUILT`. :func:`build_parser` builds them all when the
    command named is not one of them, so that an error or ``--help`` lists every command.
    """

    only: str | None = None

    def add_parser(self, name: str, *, arguments: Sequence[Any] = (), **kwargs: Any) -> Any:
        """The parser of *name*, with the arguments each of *arguments* adds to it first."""
        if self.only is not None and name != self.only:
            return _UNBUILT
        parser = super().add_parser(name, **kwargs)
        for add in arguments:
            add(parser)
        return parser


class _Unbuilt:
    """The parser of a subcommand not built: each of its methods does nothing and returns it."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


_UNBUILT = _Unbuilt()


#: The flag that stands for each library argument an error can name: the library names the
#: argument (``SpinecheckError.argument``, and the others its message mentions), the command line
#: names the flag, as ``SpinecheckError.message(flags)`` words it.
_FLAGS = {
    "age": "--age",
    "age_set": "--age-set",
    "allow_different_patients": "--allow-different-patients",
    "chunk_size": "--chunk-size",
    "cobb_method": "--cobb-method",
    "criteria": "--criteria",
    "image": "--image",
    "liv": "--liv",
    "operation_date": "--operation-date",
    "preop_dja": "--preop-dja",
    "preop_pja": "--preop-pja",
    "uiv": "--uiv",
    "jobs": "--jobs",
    "landmarks_dir": "--landmarks",
    "min_curve_deg": "--min-curve-deg",
    "mm_per_px": "--mm-per-px",
    "output": "-o",
    "overwrite": "--overwrite",
    "reference_sets": "--reference-set",
    "resume": "--resume",
    "scheduler": "--scheduler",
    "table": "--table",
    "figures": "--figures",
}
#: Per command, a flag that stands for an argument of a more general name.
_COMMAND_FLAGS = {
    "annotate": {"name": "--protocol"},
    "export": {"output_dir": "-o"},
    "batch": {
        "patient_identifiers": "--patient-identifiers",
        "pseudonym_key": "--pseudonymise",
        "key_file": "--pseudonym-key",
        "dicom": "--dicom",
        "detect": "--detect",
    },
    "pacs": {
        "output_dir": "-o",
        "dimse": "--dimse",
        "called_ae": "--called-ae",
        "calling_ae": "--calling-ae",
        "url": "--url",
        "date_from": "--date-from",
        "date_to": "--date-to",
        "study_uid": "STUDY_UID",
        "series_uid": "SERIES_UID",
        "sop_uid": "SOP_UID",
        "paths": "FILE",
    },
    "report": {"output_dir": "--dicom"},
    "instability": {
        "flexion_landmarks": "FLEXION_LANDMARKS",
        "extension_landmarks": "EXTENSION_LANDMARKS",
        "flexion_image": "--flexion-image",
        "extension_image": "--extension-image",
    },
}


def _common(parser: Any) -> None:
    """``--traceback``: every command's."""
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors")


def _film(parser: Any) -> None:
    """One film and its landmarks: plot, report, refine, convert and export."""
    parser.add_argument("image", help="the radiograph: DICOM or PNG/JPEG/TIFF")
    parser.add_argument(
        "landmarks", help="its landmark file: spinecheck-landmarks/1 .json, 3D Slicer .mrk.json or AASCE .mat"
    )


def _measuring(parser: Any) -> None:
    """How a study is measured and judged: the same for one study and for a whole archive."""
    parser.add_argument(
        "--cobb-method",
        choices=("endplate", "midline"),
        default="endplate",
        help="coronal vertebral tilt: endplates (default) or the SpineWeb side-midpoint line",
    )
    parser.add_argument(
        "--min-curve-deg",
        type=float,
        default=None,
        metavar="DEG",
        help="smallest tilt reversal that makes a separate coronal curve (default 10, the SRS "
        "definition of scoliosis)",
    )
    parser.add_argument(
        "--age-set",
        default="lafage2016-linear",
        metavar="NAME|FILE",
        help="age-adjusted target set: a bundled name or a criteria JSON file (default lafage2016-linear)",
    )
    parser.add_argument(
        "--criteria",
        action="append",
        metavar="NAME|FILE",
        help="a criterion set to apply, a bundled name or a criteria JSON file; repeat for several: they "
        "replace the default list ('spinecheck criteria' lists the sets and marks the defaults)",
    )
    parser.add_argument(
        "--reference-set",
        action="append",
        default=[],
        metavar="NAME|FILE",
        help="a further target set reported under its own name (e.g. hasegawa2016, schwab2013-odi40, "
        "normative-pi-age-2025); repeat for several",
    )


def _operated(parser: Any) -> None:
    """The operation a post-operative film follows: given here, or overriding the landmark file's."""
    operation = parser.add_argument_group(
        "post-operative film",
        'the operation the film follows; each item overrides the landmark file\'s "operation" block, and '
        "giving one makes the film post-operative (PJA at the UIV, DJA at the LIV, Glassman's coronal "
        "criterion marked as found for unoperated patients)",
    )
    operation.add_argument("--uiv", metavar="LEVEL", help="upper instrumented vertebra, e.g. T10")
    operation.add_argument("--liv", metavar="LEVEL", help="lower instrumented vertebra, e.g. S1")
    operation.add_argument("--operation-date", metavar="YYYY-MM-DD", help="the day of the operation")
    operation.add_argument(
        "--preop-pja",
        type=float,
        metavar="DEG",
        help="the pre-operative proximal junctional angle (kyphosis positive), for PJK; without it PJK is "
        "not judged ('spinecheck compare' measures it on the pre-operative film)",
    )
    operation.add_argument(
        "--preop-dja", type=float, metavar="DEG", help="the pre-operative distal junctional angle, for DJK"
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand; of *command* alone when it is one (quicker to build)."""
    parser = _Parser(
        prog="spinecheck",
        description="Measure spinal alignment on whole-spine radiographs.",
    )
    _common(parser)
    parser.add_argument("--version", action="version", version=f"spinecheck {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, action=_Subcommands)
    assert isinstance(sub, _Subcommands)
    sub.required = True
    sub.only = command

    p = sub.add_parser(
        "measure",
        arguments=[_common, _measuring, _operated],
        help="measure one study, or every study of a wide CSV",
        description="Measure every parameter and apply every criterion to a landmark file "
        "(.json, .mat) or a wide CSV of many studies.",
    )
    p.add_argument(
        "landmarks",
        help="landmark file: spinecheck-landmarks/1 .json, 3D Slicer .mrk.json (with --image, or --mm-per-px "
        "as the spacing Slicer showed the film at), AASCE .mat, or wide .csv",
    )
    p.add_argument(
        "--image",
        help="the radiograph: calibration, age, sex and view come from it unless the "
        "landmark file or the command line says otherwise",
    )
    p.add_argument(
        "--age", type=float, metavar="YEARS", help="patient age in years (overrides file and image)"
    )
    p.add_argument(
        "--mm-per-px",
        type=float,
        nargs=2,
        metavar=("ROW", "COL"),
        help="pixel spacing in mm (overrides file and image)",
    )
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes measuring a large wide CSV written as CSV, in pieces (default: the CPUs this process may use); "
        "1 measures in this process alone. The table is the same either way",
    )
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser(
        "info",
        arguments=[_common],
        help="what the loader sees in an image",
        description="Show what spinecheck reads from a radiograph: size, photometric, transfer "
        "syntax, pixel spacing with its source and plane, age, sex, view.",
    )
    p.add_argument("image", help="DICOM (CR, DX, secondary capture) or PNG/JPEG/TIFF")
    p.add_argument("--frame", type=int, default=None, help="frame of a multi-frame DICOM (0-based)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "demo",
        arguments=[_common],
        help="run the whole job on the bundled synthetic sample case",
        description="Generate the sample lateral and AP films, measure, judge and write the outputs.",
    )
    p.add_argument("--out", help="output folder (default: a new spinecheck-demo-N folder here)")
    p.add_argument("--overwrite", action="store_true", help="replace the files of an earlier demo in --out")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "plot",
        arguments=[_common, _film, _measuring, _operated],
        help="draw the landmarks, constructions and verdicts on the radiograph",
        description="Draw the radiograph with its landmarks, the constructions (plumb lines, "
        "endplates, angles, Cobb lines), the values and the criteria verdicts.",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the figure: .png, .pdf or .svg")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (never an input)")
    p.add_argument("--dpi", type=float, default=150.0, help="resolution of a PNG (default 150)")
    p.add_argument(
        "--full-resolution",
        action="store_true",
        help="draw the film at full resolution (slow on whole-spine films; default: at most 2000 rows)",
    )
    p.add_argument("--no-panel", action="store_true", help="the film alone, without the side panel")
    p.add_argument("--no-values", action="store_true", help="the constructions without their value labels")
    p.add_argument("--no-points", action="store_true", help="leave out the landmark dots")
    p.add_argument(
        "--variants",
        action="store_true",
        help="also draw the LL and TK variants (L1-L5, L4-S1, T2-T12, T5-T12)",
    )
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "report",
        arguments=[_common, _film, _measuring, _operated],
        help="a one-page report: the annotated film beside the parameters and verdicts",
        description="Write one A4 page: the annotated radiograph beside a table of parameters, "
        "age-adjusted targets, verdicts and sources, with the patient and calibration provenance "
        "and the warnings.",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the report: .pdf (or .png)")
    p.add_argument(
        "--dicom",
        metavar="DIR",
        help="also write the results as DICOM into DIR, as 'spinecheck export' does (a DICOM film only)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT if it exists (never an input), and with --dicom the DICOM files of the same names",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "compare",
        arguments=[_common, _measuring],
        help="compare films of one patient over time: two side by side, or a series",
        description="Compare two or more films of one patient, each given as IMAGE LANDMARKS. The films are "
        "put in time order by their dates (the landmark file's image.study_date, else the DICOM Study Date, "
        "else its Acquisition Date; in the order given when a film has no date) and must be of one view and "
        "of one patient (Patient ID, sex and birth date, where the films state them). Two films: one A4 "
        "page, the earlier and the later film side by side with every parameter's and each coronal "
        "curve's (by region) earlier value, later value and change, their dates and the interval. Three or "
        "more: the films, a table of every parameter over time and a plot of each (the pages of one PDF, "
        "or one PNG per page: OUT.png, OUT-2.png, ...).",
    )
    p.add_argument(
        "films",
        nargs="+",
        metavar="IMAGE LANDMARKS",
        help="each film's radiograph and its landmark file; two pairs or more",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the comparison: .pdf or .png")
    p.add_argument(
        "--table",
        metavar="OUT.csv",
        help="also write every parameter over time as CSV: one row per film in time order (its date, days "
        "from the first film, then the batch-table columns)",
    )
    p.add_argument(
        "--allow-different-patients",
        action="store_true",
        help="compare even when the films' Patient ID, sex or birth date differ (the pages say so)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT (its pages) and --table if they exist (never an input)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "instability",
        arguments=[_common],
        help="segmental motion between a flexion and an extension film, judged by cited criteria",
        description="Measure, for every motion segment from T12-L1 to L5-S1 placed on both lateral films, the "
        "sagittal translation of the upper vertebra on the lower one (mm, px and % of the lower vertebra's "
        "superior endplate depth) and the segmental angle on each film, and their change between flexion and "
        "extension; judge the changes by instability sets (default instability-elmose2023: > 3 mm dynamic "
        "translation [V]; 'spinecheck criteria' lists the others). The films' headers give each film's "
        "calibration, age and sex; a pair of AP films, one film given twice or films of different patients "
        "are refused.",
    )
    p.add_argument("flexion_landmarks", metavar="FLEXION_LANDMARKS", help="the flexion film's landmark file")
    p.add_argument(
        "extension_landmarks", metavar="EXTENSION_LANDMARKS", help="the extension film's landmark file"
    )
    p.add_argument(
        "--flexion-image", metavar="FILE", help="the flexion radiograph (calibration, patient data)"
    )
    p.add_argument("--extension-image", metavar="FILE", help="the extension radiograph")
    p.add_argument(
        "--mm-per-px",
        type=float,
        nargs=2,
        metavar=("ROW", "COL"),
        help="pixel spacing in mm of both films (overrides files and images)",
    )
    p.add_argument(
        "--criteria",
        action="append",
        metavar="NAME|FILE",
        help="an instability set, a bundled name or a JSON file; repeat for several (default "
        "instability-elmose2023)",
    )
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="also write the one-page report (.pdf or .png): both films with the segments marked, and the "
        "verdicts; needs --flexion-image and --extension-image",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (never an input)")
    p.set_defaults(func=cmd_instability)

    p = sub.add_parser(
        "criteria",
        arguments=[_common],
        help="list the shipped criterion and target sets, their evidence and the option that selects each",
        description="List every shipped set: its name, title, evidence status ([V] confirmed in the "
        "primary source, [S] secondary sources agree, [S-] one secondary source, [U] unconfirmed: "
        "selectable, never a default), first source, whether it is applied by default, and the option "
        "that selects it (--criteria, --age-set, --reference-set, or --criteria of 'spinecheck instability').",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.set_defaults(func=cmd_criteria)

    p = sub.add_parser(
        "batch",
        arguments=[_common, _measuring],
        help="measure a whole archive into one table (CSV, and a Parquet copy beside it)",
        description="Find every radiograph under ROOT (DICOM by content, PNG/JPEG/TIFF by extension), pair "
        "it with its landmark file (same name beside it, under --landmarks, or by the SOP Instance UID the "
        "landmark file records), measure and judge every study, and write one row per study to TABLE.csv, "
        "sorted by image path relative to ROOT. Studies that fail, images without landmarks and landmarks "
        "without image keep a row that says why. Only each film's header is read (size, SOP Instance UID, "
        "pixel spacing, age, sex, view, orientation) and its pixel data checked to be all there without "
        "decoding: 'ok' means the landmarks and the header were read and checked. The pixels are decoded "
        "only for --figures or with --verify-pixels. Exit status 0 when the batch completed, even if some "
        "rows are errors; 2 for bad usage or input.",
    )
    p.add_argument("root", help="the archive folder, searched recursively")
    p.add_argument("-o", "--output", required=True, metavar="TABLE.csv", help="the batch table")
    p.add_argument("--landmarks", metavar="DIR", help="a separate folder of landmark files")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: the number of CPUs); 1 runs in this process",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask distributed cluster (tcp://host:8786; needs spinecheck[dask], and the "
        "archive at the same path on every worker)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted table: done studies are kept"
    )
    p.add_argument("--overwrite", action="store_true", help="start TABLE.csv again if it exists")
    p.add_argument(
        "--figures", metavar="DIR", help="also write each study's annotated figure (PNG) under DIR"
    )
    p.add_argument(
        "--verify-pixels",
        action="store_true",
        help="decode every film's pixels: a film that cannot be decoded (e.g. a corrupt compressed "
        "stream) is an error row; slower (default: header only, the rows are the same otherwise)",
    )
    p.add_argument(
        "--dicom",
        metavar="DIR",
        help="also write each ok DICOM study's results as DICOM (an SR and the figure as a Secondary "
        "Capture, in the film's study) to DIR/<image path>-sr.dcm and -sc.dcm; needs spinecheck[dicom]",
    )
    p.add_argument(
        "--patient-identifiers",
        action="store_true",
        help="also write the columns patient_id and patient_name (personal data; not with --pseudonymise)",
    )
    p.add_argument(
        "--pseudonymise",
        action="store_true",
        help="write patient_pseudonym, a keyed hash (HMAC-SHA256) of the Patient ID, instead of the ID; "
        "the key is read from --pseudonym-key FILE or the environment variable SPINECHECK_PSEUDONYM_KEY",
    )
    p.add_argument(
        "--pseudonym-key",
        metavar="FILE",
        help="the file holding the secret key of --pseudonymise (never the key itself on the command line)",
    )
    p.add_argument(
        "--detect",
        action="store_true",
        help="find the landmarks of each image without a landmark file with the shipped model (AP films; a "
        "film it cannot read is an error row); adds the columns landmarks_source and detect_confidence. A "
        "film with a person's landmark file always uses those",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument(
        "--chunk-size", type=int, default=None, metavar="N", help="studies per task (default: automatic)"
    )
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser(
        "refine",
        arguments=[_common, _film],
        help="move rough landmarks onto the image evidence (endplate edges, femoral-head rims)",
        description="Refine every endplate (both corners together), lone corner and femoral head of "
        "a landmark file on its radiograph, each within a bound, and write the refined landmarks "
        "with a record of every point moved and every point left as placed (and why).",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="the refined landmark file: .json (spinecheck-landmarks/1) or .mrk.json (3D Slicer)",
    )
    bound = p.add_mutually_exclusive_group()
    bound.add_argument(
        "--max-shift-mm", type=float, metavar="MM", help="no point moves further than this (calibrated films)"
    )
    bound.add_argument("--max-shift-px", type=float, metavar="PX", help="no point moves further than this")
    p.add_argument("--only", nargs="+", metavar="NAME", help="refine only these points (default: all)")
    p.add_argument(
        "--in-place", action="store_true", help="allow OUT to be the input landmark file (it is replaced)"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it exists (another file than the input)"
    )
    p.set_defaults(func=cmd_refine)

    p = sub.add_parser(
        "detect",
        arguments=[_common],
        help="find the vertebral corners T1-L5 of an AP film with the shipped model",
        description="Find the four corners of every vertebra T1 to L5 on an AP whole-spine film (DICOM or "
        "image) with the landmark model shipped with spinecheck, and write them as a spinecheck-landmarks/1 "
        "file that records that the points are machine-made: the model's name, version and weights' SHA-256, "
        "a confidence per point and one for the film. Points and films of low confidence are flagged in the "
        "file, and 'measure', 'plot', 'report' and 'batch' show the flags; a film the model cannot read "
        "(another view, no spine, upside down) is refused in one line and nothing is written. Check the "
        "points with 'spinecheck annotate IMAGE --detect' before relying on them: the model is not for "
        "clinical use on its own.",
    )
    p.add_argument("image", help="the AP radiograph: DICOM or PNG/JPEG/TIFF")
    p.add_argument(
        "-o",
        "--output",
        metavar="LANDMARKS.json",
        help="the landmark file (default: <image stem>.landmarks.json beside the image, as annotate)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the landmark file if it exists")
    p.add_argument(
        "--model",
        metavar="FILE.onnx",
        help="an ONNX file of the same network instead of the shipped model (e.g. a cross-validation fold's)",
    )
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser(
        "convert",
        arguments=[_common, _film],
        help="write a film's landmarks in another format: 3D Slicer .mrk.json or spinecheck .json",
        description="Read a landmark file placed on IMAGE (.json, 3D Slicer .mrk.json or AASCE .mat) and "
        "write its points to OUT in the format its name says: .mrk.json, a 3D Slicer point list in "
        "millimetres where Slicer shows the film; any other .json, spinecheck-landmarks/1. What the "
        "output format cannot hold is listed on stderr.",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="the landmark file to write: .mrk.json or .json"
    )
    p.add_argument(
        "--mm-per-px",
        type=float,
        nargs=2,
        metavar=("ROW", "COL"),
        help="the pixel spacing 3D Slicer shows the film at, when the film's header does not tell (it places "
        "the points; it is not a calibration)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (never an input)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "export",
        arguments=[_common, _film, _measuring, _operated],
        help="write the results as DICOM in the film's study: a Structured Report and the figure",
        description="Measure and judge a DICOM film's landmarks and write two DICOM files into DIR, in the "
        "film's study (its Study Instance UID, patient and study copied; new series; both referencing the "
        "film), so that a PACS shows them beside it: DIR/<film>-sr.dcm, a Comprehensive SR holding a TID "
        "1500 measurement report (every parameter with its unit, each verdict with its rule and citation, "
        "the calibration, the landmark source and every landmark as a point on the film), and "
        "DIR/<film>-sc.dcm, the annotated figure as a Secondary Capture image. Needs the [dicom] extra.",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="the folder to write to (made if missing)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing files of the same names")
    p.set_defaults(func=cmd_export)

    _add_pacs_parser(sub)

    p = sub.add_parser(
        "annotate",
        arguments=[_common],
        help="place the landmarks on a film in a window, one point at a time",
        description="Open the film in a window that asks for one landmark at a time, refines each "
        "click on the image (accept it, or keep your click), shows the parameters as soon as they "
        "can be computed, and saves the landmark file after every change. An existing landmark "
        "file is resumed at the first point neither placed nor skipped.",
        epilog=_ANNOTATE_KEYS,
        formatter_class=_AnnotateHelp,
    )
    p.add_argument("image", help="the radiograph: DICOM or PNG/JPEG/TIFF")
    p.add_argument(
        "-o",
        "--output",
        metavar="LANDMARKS.json",
        help="the landmark file (default: <image stem>.landmarks.json beside the image); resumed if it exists",
    )
    p.add_argument(
        "--view",
        choices=("lateral", "ap"),
        help="the projection, when the image header does not say (or says wrong)",
    )
    p.add_argument(
        "--protocol",
        metavar="NAME",
        help="which points to ask for: lateral (every sagittal parameter), lateral-core (PI, PT, SS, "
        "LL, TK, SVA, TPA only) or ap (default: the complete protocol of the view)",
    )
    p.add_argument(
        "--mm-per-px",
        type=float,
        nargs=2,
        metavar=("ROW", "COL"),
        help="pixel spacing in mm, recorded in the landmark file (overrides the image header)",
    )
    p.add_argument(
        "--no-refine", action="store_true", help="place points exactly where clicked (no image refinement)"
    )
    p.add_argument(
        "--uiv",
        metavar="LEVEL",
        help="a post-operative film: the upper instrumented vertebra, recorded in the file; the endplates of "
        "the proximal junctional angle (UIV and UIV+2) are asked for too",
    )
    p.add_argument(
        "--detect",
        action="store_true",
        help="fill the window with the corners T1-L5 the shipped landmark model finds (AP films), for you to "
        "check and correct; points already in the landmark file are kept (key d does the same in the window)",
    )
    p.add_argument(
        "--liv", metavar="LEVEL", help="likewise the lower instrumented vertebra (DJA: LIV, LIV-2)"
    )
    p.add_argument(
        "--operation-date", metavar="YYYY-MM-DD", help="the day of the operation, recorded in the file"
    )
    p.set_defaults(func=cmd_annotate)
    if command is not None and command not in sub.choices:
        return build_parser()  # not a command: every parser, for the message's list of commands
    return parser


def _version() -> str:
    from . import __version__

    return __version__


# ----------------------------------------------------------------------------- measure


def cmd_measure(args: argparse.Namespace) -> int:
    from .landmarks.errors import InvalidArgumentError

    if args.jobs is not None and args.jobs < 1:  # as batch says it
        raise InvalidArgumentError.about(
            "jobs", "{jobs}: must be a number of worker processes >= 1; got {got}", got=args.jobs
        )
    # processes: a large wide CSV written as CSV is measured in pieces (one landmark file never loads them)
    jobs = 1
    if args.format == "csv" and args.image is None and Path(args.landmarks).suffix.lower() == ".csv":
        from .alignment.batch import wide_pieces

        jobs = args.jobs or wide_pieces.default_jobs()
        if wide_pieces.applies(args.landmarks, jobs=jobs):
            # where the workers come from a fork server (not Linux), it imports their modules on the other
            # core while this process imports its own; on Linux they are forked from this process
            wide_pieces.start_workers_server()
        else:
            jobs = 1
    from .alignment.render.text import format_csv_chunks, format_table, study_report
    from .alignment.study import load_study
    from .landmarks.points.calibration import Calibration

    if args.mm_per_px is not None:  # said in the flag's words; load_study would name its argument
        Calibration.from_spacing(list(args.mm_per_px), where="--mm-per-px", field_name="ROW COL")
    options = {
        "age": args.age,
        "mm_per_px": args.mm_per_px,
        "cobb_method": args.cobb_method,
        "min_curve_deg": args.min_curve_deg,
        "given_by": "command line",
        **_set_options(args),
        **_operation_options(args),
    }
    if jobs > 1 and wide_pieces.measure_in_pieces(args.landmarks, sys.stdout, jobs=jobs, options=options):
        return EXIT_OK
    study = load_study(args.landmarks, image=args.image, **options)
    out = sys.stdout
    if args.format == "csv":
        for chunk in format_csv_chunks(study):  # written as made: never the whole table's text at once
            out.write(chunk)
    elif args.format == "json":
        reports = [study_report(study, i) for i in range(len(study))]
        json.dump(
            reports[0] if len(reports) == 1 and not args.landmarks.lower().endswith(".csv") else reports,
            out,
            indent=2,
            allow_nan=False,
        )
        out.write("\n")
    else:
        out.write("\n".join(format_table(study, i) for i in range(len(study))))
    return EXIT_OK


def _set_options(args: argparse.Namespace, *, absolute: bool = False) -> dict:
    """The criterion and target sets the ``measuring`` options chose, as :func:`load_study` takes them.

    With *absolute*, a set given as a file is named by its absolute path (batch
    workers may run in another folder).
    """
    from .alignment.criteria.engine import DEFAULT_CRITERIA
    from .alignment.criteria.rules import builtin_sets

    def named(source: str) -> str:
        if absolute and source not in builtin_sets() and Path(source).is_file():
            return str(Path(source).resolve())
        return source

    return {
        "age_set": named(args.age_set),
        "criteria": tuple(named(c) for c in (args.criteria or DEFAULT_CRITERIA)),
        "reference_sets": tuple(named(r) for r in args.reference_set),
    }


def _measuring_options(args: argparse.Namespace) -> dict:
    """Every ``measuring`` option, as :func:`load_study` takes them."""
    return {"cobb_method": args.cobb_method, "min_curve_deg": args.min_curve_deg, **_set_options(args)}


def _operation_options(args: argparse.Namespace, *, given_by: bool = False) -> dict:
    """The ``operated`` options (UIV, LIV, date, pre-operative angles), as :func:`load_study` takes them.

    With *given_by*, the operation items are said to come from the command line.
    """
    out = {
        "uiv": args.uiv,
        "liv": args.liv,
        "operation_date": args.operation_date,
        "preop_pja": args.preop_pja,
        "preop_dja": args.preop_dja,
    }
    return {**out, "given_by": "command line"} if given_by else out


# ----------------------------------------------------------------------------- criteria

#: The option that passes a set to each library argument.
_SET_OPTIONS = {
    "criteria": "--criteria",
    "age_set": "--age-set",
    "reference_sets": "--reference-set",
    "instability_criteria": "instability --criteria",
}
_KIND_TITLES = {
    "criteria": "Criterion sets (--criteria NAME|FILE, repeatable; the list replaces the defaults)",
    "targets": "Target sets (--age-set NAME|FILE for the age-adjusted targets; --reference-set NAME|FILE, repeatable)",
    "instability": "Instability sets (spinecheck instability --criteria NAME|FILE, repeatable)",
}


def cmd_criteria(args: argparse.Namespace) -> int:
    from .alignment.criteria.catalogue import shipped_sets

    sets = shipped_sets()
    if args.format == "json":
        out = [
            {
                "name": s.name,
                "kind": s.info.kind,
                "title": s.info.title,
                "status": s.status.value,
                "status_text": s.status.description,
                "sources": [c.as_dict() for c in s.info.sources],
                "default": s.default,
                "options": [_SET_OPTIONS[a] for a in s.arguments],
                **({"note": s.info.note} if s.info.note else {}),
            }
            for s in sets
        ]
        json.dump(out, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return EXIT_OK
    width = max(len(s.name) for s in sets) + 2
    lines: list[str] = []
    for kind, title in _KIND_TITLES.items():
        chosen = [s for s in sets if s.info.kind == kind]
        if chosen:
            lines += [title] + [_set_line(s, width) for s in chosen] + [""]
    lines.append("* applied by default; status:")
    lines += [f"  [{st.value}] {st.description}" for st in _statuses()]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _set_line(s, width: int) -> str:
    """Two lines for one shipped set: name, status and title; then its first source and options."""
    name = s.name + (" *" if s.default else "")
    options = ", ".join(_SET_OPTIONS[a] for a in s.arguments)
    head = f"  {name:<{width}} [{s.status.value}]"
    return f"{head:<{width + 9}}{s.info.title}\n{'':<{width + 9}}{s.first_source}; {options}"


def _statuses():
    from .alignment.criteria.rules import Status

    return [Status.V, Status.S, Status.S_MINUS, Status.U]


# ----------------------------------------------------------------------------- info


def cmd_info(args: argparse.Namespace) -> int:
    from .landmarks.imaging.radiograph import describe_radiograph, format_info_text

    # the header alone where it describes the film (its window), the pixels decoded otherwise
    info = describe_radiograph(args.image, frame=args.frame)
    if args.format == "json":
        json.dump(info, sys.stdout, indent=2, allow_nan=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_info_text(info).rstrip("\n") + "\n")
    return EXIT_OK


# ----------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from .alignment.demo import run_demo

    out = Path(args.out) if args.out else _new_folder(Path.cwd(), "spinecheck-demo")
    result = run_demo(out, log=lambda msg: print(msg, file=sys.stderr), overwrite=args.overwrite)
    print(result.summary())
    return EXIT_OK


def _new_folder(parent: Path, stem: str) -> Path:
    for k in range(1, 10_000):
        candidate = parent / (stem if k == 1 else f"{stem}-{k}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"no free folder name like {stem}-N in {parent}")


# ----------------------------------------------------------------------------- plot


def cmd_plot(args: argparse.Namespace) -> int:
    from .alignment.plots.films import film_figure
    from .alignment.render.files import save_figure
    from .alignment.study import load_study
    from .landmarks.errors import SpinecheckError
    from .landmarks.imaging.radiograph import load_radiograph

    out = _output_path(args.output, (".png", ".pdf", ".svg"), "figure")
    _check_output(out, args, args.image, args.landmarks)
    if not (args.dpi > 0 and args.dpi <= 2400):
        raise SpinecheckError(f"--dpi: must be a number of dots per inch in (0, 2400]; got {args.dpi:g}")
    radiograph = load_radiograph(args.image)
    study = load_study(
        args.landmarks,
        image=radiograph,
        **_measuring_options(args),
        **_operation_options(args, given_by=True),
    )
    fig = film_figure(
        radiograph,
        study,
        panel=not args.no_panel,
        values=not args.no_values,
        points=not args.no_points,
        variants=args.variants,
        full_resolution=args.full_resolution,
    )
    save_figure(fig, out, dpi=args.dpi)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- report, compare


def _output_path(path: str, suffixes: tuple[str, ...], kind: str) -> Path:
    """*path* as the output file, refused unless its suffix is one of *suffixes*."""
    from .landmarks.errors import SpinecheckError

    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise SpinecheckError(
            f"output '{out}': unsupported {kind} type {out.suffix or '(no suffix)'!r}; "
            f"expected one of {', '.join(suffixes)}"
        )
    return out


def _check_output(
    out: Path | None,
    args: argparse.Namespace,
    *inputs: str | None,
    argument: str = "output",
    overwrite: bool | None = None,
) -> None:
    """Refuse *out* if it is one of the command's input files, or exists without ``--overwrite``.

    The inputs are *inputs* and the criterion and target sets given as files.
    Checked before anything is read: a wrong ``-o`` costs nothing.
    """
    from .landmarks.io.outputs import check_output

    if out is None:
        return
    sets = [
        getattr(args, "age_set", None),
        *(getattr(args, "criteria", None) or ()),
        *getattr(args, "reference_set", ()),
    ]
    check_output(
        out,
        inputs=[*inputs, *(s for s in sets if s and Path(s).is_file())],
        overwrite=getattr(args, "overwrite", False) if overwrite is None else overwrite,
        argument=argument,
    )


def cmd_report(args: argparse.Namespace) -> int:
    from .alignment.render.files import save_figure
    from .alignment.render.pages import report_figure
    from .alignment.study import load_study
    from .landmarks.imaging.radiograph import load_radiograph

    out = _output_path(args.output, (".pdf", ".png"), "page")
    _check_output(out, args, args.image, args.landmarks)
    if args.dicom:  # refused before anything is measured or written
        _dicom_preflight(args.image, args.dicom, args.overwrite)
    radiograph = load_radiograph(args.image)
    study = load_study(
        args.landmarks,
        image=radiograph,
        **_measuring_options(args),
        **_operation_options(args, given_by=True),
    )
    fig = report_figure(radiograph.display, study, 0)
    save_figure(fig, out, dpi=150)
    print(f"wrote {out}", file=sys.stderr)
    if args.dicom:
        _write_dicom(radiograph, study, args.dicom, args.overwrite)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from .alignment.followup import Film, compare_studies, series_table
    from .alignment.render.comparison import comparison_figure
    from .alignment.render.series import page_paths, save_pages, series_figures, write_series_csv
    from .alignment.study import load_study
    from .landmarks.errors import SpinecheckError
    from .landmarks.imaging.radiograph import load_radiograph

    out = _output_path(args.output, (".pdf", ".png"), "page")
    table = _output_path(args.table, (".csv",), "table") if args.table else None
    paths = args.films
    if len(paths) % 2 or len(paths) < 4:
        raise SpinecheckError(
            f"compare: give the films as IMAGE LANDMARKS pairs, two pairs or more; got {len(paths)} "
            f"path{'s' if len(paths) != 1 else ''}"
        )
    _check_output(out, args, *paths)
    _check_output(table, args, *paths, str(out), argument="table")
    films, images = [], []
    for image, landmarks in zip(paths[::2], paths[1::2], strict=True):
        radiograph = load_radiograph(image)
        study = load_study(landmarks, image=radiograph, **_measuring_options(args))
        films.append(Film(study, 0, radiograph.header))  # the header only: the pixels can go
        images.append(radiograph.display)
    followup = compare_studies(films, allow_different_patients=args.allow_different_patients)
    shown = [images[k] for k in followup.given]  # in time order
    for k, f in enumerate(followup.films, 1):
        print(f"film {k}: {f.name}, {followup.date_line(k - 1)}", file=sys.stderr)
    if len(followup) == 2:
        (a, b), (image_a, image_b) = followup.films, shown
        pages = [
            comparison_figure(
                image_a, a.study, image_b, b.study, pre_index=a.index, post_index=b.index, followup=followup
            )
        ]
    else:
        pages = series_figures(shown, series_table(followup))
    for extra in page_paths(out, len(pages))[1:]:  # OUT-2.png, ...: known only now, checked before any write
        _check_output(extra, args, *paths, *([str(table)] if table else []))
    for path in save_pages(pages, out):
        print(f"wrote {path}", file=sys.stderr)
    if table is not None:
        write_series_csv(series_table(followup), table)
        print(f"wrote {table}", file=sys.stderr)
    return EXIT_OK


def cmd_instability(args: argparse.Namespace) -> int:
    from .alignment.criteria.instability import DEFAULT_INSTABILITY_SETS
    from .alignment.motion import load_instability
    from .alignment.render.instability_report import (
        format_instability_csv,
        format_instability_table,
        instability_report,
    )
    from .landmarks.errors import SpinecheckError
    from .landmarks.points.calibration import Calibration

    out = _output_path(args.output, (".pdf", ".png"), "page") if args.output else None
    if out is not None and not (args.flexion_image and args.extension_image):
        raise SpinecheckError(
            f"-o '{out}': the page draws both films; give --flexion-image and --extension-image"
        )
    _check_output(
        out, args, args.flexion_landmarks, args.extension_landmarks, args.flexion_image, args.extension_image
    )
    if args.mm_per_px is not None:  # said in the flag's words; load_instability would name its argument
        Calibration.from_spacing(list(args.mm_per_px), where="--mm-per-px", field_name="ROW COL")
    images = [args.flexion_image, args.extension_image]
    if out is not None:  # the page needs the pixels: decode once, and measure from the same films
        from .landmarks.imaging.radiograph import load_radiograph

        images = [load_radiograph(path) for path in images]
    study = load_instability(
        args.flexion_landmarks,
        args.extension_landmarks,
        flexion_image=images[0],
        extension_image=images[1],
        mm_per_px=args.mm_per_px,
        criteria=args.criteria or DEFAULT_INSTABILITY_SETS,
        given_by="command line",
    )
    if args.format == "json":
        json.dump(instability_report(study), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    elif args.format == "csv":
        sys.stdout.write(format_instability_csv(study))
    else:
        sys.stdout.write(format_instability_table(study))
    if out is not None:
        from .alignment.render.files import save_figure
        from .alignment.render.instability_page import instability_figure

        fig = instability_figure(images[0].display, images[1].display, study)
        save_figure(fig, out, dpi=150)
        print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- annotate

_ANNOTATE_KEYS = "<the keys of the annotation window>"


class _AnnotateHelp(argparse.RawDescriptionHelpFormatter):
    """Puts the window's keys in ``annotate --help``, importing them only when help is shown."""

    def add_text(self, text: str | None) -> None:
        if text == _ANNOTATE_KEYS:
            from .landmarks.annotate.window import KEYS

            text = "keys in the window:\n" + "\n".join(f"  {key:<27}{what}" for key, what in KEYS)
        super().add_text(text)


def cmd_annotate(args: argparse.Namespace) -> int:
    from .landmarks.annotate.protocol import default_protocol, get_protocol
    from .landmarks.annotate.session import AnnotationSession, default_refiner, stale_temporary_files
    from .landmarks.errors import SpinecheckError
    from .landmarks.imaging.merge import recorded_image_ref
    from .landmarks.imaging.radiograph import load_radiograph
    from .landmarks.io.outputs import check_output
    from .landmarks.points.calibration import Calibration
    from .landmarks.points.names import View

    radiograph = load_radiograph(args.image)
    protocol = get_protocol(args.protocol) if args.protocol else None
    view = View.parse(args.view) if args.view else radiograph.view
    if view is None and protocol is not None:
        view = protocol.view
    if view is None:
        view = _annotated_view(args)
    if view is None:
        raise SpinecheckError(
            f"'{args.image}': the image does not say whether it is a lateral or an AP film; "
            "give --view lateral or --view ap"
        )
    if args.view and radiograph.view is not None and radiograph.view is not view:
        print(
            f"note: the image header says {radiograph.view.value}; annotating as {view.value}",
            file=sys.stderr,
        )
    if protocol is None:
        protocol = default_protocol(view)
    elif protocol.view is not view:
        raise SpinecheckError(
            f"--protocol {protocol.name}: is for {protocol.view.value} films, but '{args.image}' is "
            f"{view.value}; choose a {view.value} protocol or give --view"
        )
    image = Path(args.image)
    out = _landmark_output(
        args.output, image, "annotate saves a spinecheck-landmarks/1 .json after every click"
    )
    # the landmark file is resumed and saved after each click: it may exist, but never be the film
    check_output(out, inputs=[args.image], overwrite=True)
    _check_writable_folder(out)
    calibration = None
    if args.mm_per_px is not None:
        calibration = Calibration.from_spacing(
            list(args.mm_per_px), where="--mm-per-px", field_name="ROW COL"
        )
    refiner = None
    if not args.no_refine:
        try:
            refiner = default_refiner()
        except ImportError as e:
            print(f"note: refinement is not available ({e}); points stay where clicked", file=sys.stderr)
    if args.detect and view is not View.AP:
        raise SpinecheckError(f"--detect: the landmark model reads AP films; '{args.image}' is {view.value}")
    image_ref = recorded_image_ref(radiograph, out)
    session = AnnotationSession(
        out,
        protocol,
        image=radiograph.analysis if refiner is not None else None,
        image_ref=image_ref,
        calibration=calibration,
        header_calibration=radiograph.calibration,
        patient_right=radiograph.patient_right,
        refiner=refiner,
        operation=_operation_given(args),
        detector=_detector(radiograph, image_ref, args.image) if view is View.AP else None,
    )
    if session.resumed:
        placed, skipped, todo = session.counts()
        nxt = f"; next: {session.current.name}" if session.current is not None else ""
        print(f"resuming {out}: {placed} placed, {skipped} skipped, {todo} to do{nxt}", file=sys.stderr)
    for tmp in stale_temporary_files(out):
        print(
            f"note: '{tmp}' is a temporary file an interrupted save left; it is not used, and the next save "
            "removes it",
            file=sys.stderr,
        )
    _require_display()
    if args.detect:
        try:
            print(session.detect(), file=sys.stderr)
        except SpinecheckError as e:  # the film refused: the window opens for placing by hand
            print(f"note: {_one_line(e)}; place the points by hand", file=sys.stderr)

    import matplotlib.pyplot as plt

    from .alignment.render.live import live_parameters
    from .landmarks.annotate.window import AnnotationWindow

    fig = plt.figure(figsize=(14, 9))
    _fill_screen(fig)
    # keep a reference: the canvas holds its callbacks weakly
    window = AnnotationWindow(session, radiograph.display, live=live_parameters, figure=fig)
    plt.show()
    window.closed = True
    if session.dirty:
        session.save()
    if not out.exists():
        print("nothing was placed: no landmark file written")
        return EXIT_OK
    placed, skipped, todo = session.counts()
    shown_image = _quote(str(image))
    shown_out = _quote(str(out))
    print(
        f"landmarks: {out} ({placed} placed, {skipped} skipped, {todo} to do)\n"
        "next:\n"
        f"  spinecheck measure {shown_out} --image {shown_image}\n"
        f"  spinecheck plot {shown_image} {shown_out} -o {_quote(str(out.with_suffix('.png')))}\n"
        f"  spinecheck report {shown_image} {shown_out} -o {_quote(str(out.with_suffix('.pdf')))}\n"
        f"  spinecheck annotate {shown_image} -o {shown_out}   (to continue or correct)"
    )
    return EXIT_OK


def _detector(radiograph, image_ref, shown: str):
    """What the annotation session's ``detect`` runs: the shipped model on *radiograph*, once."""
    import functools

    @functools.cache
    def found():
        from .landmarks.detect.inference import detect
        from .landmarks.detect.refusal import read_detection

        reading = read_detection(detect(radiograph), image=image_ref, header_view=radiograph.view)
        return reading.check(f"'{shown}'")

    return found


def _annotated_view(args: argparse.Namespace):
    """The view the landmark file being resumed records (None when there is none to read).

    A film that does not say its view is annotated with ``--view`` once; the file records it, so the
    command printed to continue (``annotate IMAGE -o FILE``) needs no ``--view``.
    """
    from .landmarks.errors import SpinecheckError
    from .landmarks.io.read import read_landmarks

    image = Path(args.image)
    out = Path(args.output) if args.output else image.with_name(f"{image.stem}.landmarks.json")
    if not out.is_file():
        return None
    try:
        return read_landmarks(out).view
    except (SpinecheckError, OSError):
        return None  # the session reads it again and says what is wrong with it


def _fill_screen(fig) -> None:
    """Make the annotation window fill most of the screen (it lays itself out again for any size)."""
    window: Any = getattr(fig.canvas.manager, "window", None)
    if hasattr(window, "winfo_screenwidth"):  # Tk: size the canvas, leaving room for the toolbar and a panel
        width, height = window.winfo_screenwidth(), window.winfo_screenheight()
        fig.set_size_inches(max(width - 16, 640) / fig.dpi, max(height - 110, 480) / fig.dpi, forward=True)
        window.geometry("+0+0")
    elif hasattr(window, "showMaximized"):  # Qt
        window.showMaximized()


def _operation_given(args: argparse.Namespace):
    """The operation ``--uiv``, ``--liv`` and ``--operation-date`` give (None when none is given)."""
    from .landmarks.errors import InvalidArgumentError
    from .landmarks.points.operation import Operation, OperationProblem

    items = {"uiv": args.uiv, "liv": args.liv, "date": args.operation_date}
    if all(v is None for v in items.values()):
        return None
    try:
        return Operation.checked(**items, source="command line")
    except OperationProblem as e:
        argument = "operation_date" if e.item == "date" else e.item
        raise InvalidArgumentError.about(argument, f"{{{argument}}}: {{text}}", text=str(e)) from None


def _check_writable_folder(out: Path) -> None:
    """Refuse an output whose folder cannot take the file: the window saves after every click."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=out.parent if str(out.parent) else ".", prefix=".spinecheck-"):
            pass
    except OSError as e:
        from .landmarks.errors import SpinecheckError

        raise SpinecheckError(
            f"output '{out}': cannot write a file in that folder ({e.strerror}); choose another output with -o"
        ) from None


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _require_display() -> None:
    """Refuse to open a window where nobody can see it (CI, no display): it would hang or do nothing."""
    import os

    import matplotlib

    from .landmarks.errors import SpinecheckError

    headless = "use `spinecheck refine IMAGE LANDMARKS -o OUT.json` for headless work"
    ci = os.environ.get("CI", "")
    if ci and ci.strip().lower() not in ("0", "false", "no"):
        raise SpinecheckError(f"annotate needs an interactive display, and CI is set; {headless}")
    backend = matplotlib.get_backend()
    try:
        from matplotlib.backends import BackendFilter, backend_registry

        interactive = backend_registry.list_builtin(BackendFilter.INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        interactive = matplotlib.rcsetup.interactive_bk  # type: ignore[attr-defined]  # gone from 3.9's stubs
    if backend.lower() not in {b.lower() for b in interactive}:
        raise SpinecheckError(
            f"annotate needs an interactive display, but matplotlib's backend is {backend!r} (no display?); "
            f"set MPLBACKEND to an interactive one such as qtagg or tkagg, or {headless}"
        )


# ----------------------------------------------------------------------------- refine


def cmd_refine(args: argparse.Namespace) -> int:
    import math
    import os

    from .landmarks.errors import InvalidLandmarksError, MissingCalibrationError
    from .landmarks.imaging.merge import merge_header, recorded_image_ref
    from .landmarks.imaging.radiograph import load_radiograph
    from .landmarks.io import read_landmarks, write_landmark_file
    from .landmarks.refine.points import refine_landmarks

    out = _output_path(args.output, (".json",), "landmark file")
    source = Path(args.landmarks)
    if out.exists() and source.exists() and os.path.samefile(out, source):
        if not args.in_place:
            raise InvalidLandmarksError(
                f"output '{out}': is the input landmark file; give another -o, or --in-place to replace it"
            )
        _check_output(out, args, args.image, overwrite=True)  # the film never, whatever the options
    else:
        _check_output(out, args, args.image, args.landmarks)
    for name, value in (("--max-shift-mm", args.max_shift_mm), ("--max-shift-px", args.max_shift_px)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InvalidLandmarksError(f"{name}: must be a distance > 0; got {value:g}")
    radiograph = load_radiograph(args.image)
    s = read_landmarks(source, image=radiograph)
    merged = merge_header(s, radiograph, where=f"landmarks file '{source}'")
    mm_per_px = merged.calibration.mm_per_px if merged.calibration.calibrated else None
    max_shift_px = args.max_shift_px
    if args.max_shift_mm is not None:
        if mm_per_px is None:
            raise MissingCalibrationError(
                f"--max-shift-mm: '{args.image}' has no pixel spacing and '{source}' no calibration; "
                "use --max-shift-px"
            )
        max_shift_px = args.max_shift_mm / math.sqrt(mm_per_px[0] * mm_per_px[1])
    if args.only:
        unknown = [n for n in args.only if n not in s.points]
        if unknown:
            raise InvalidLandmarksError(
                f"--only: {', '.join(repr(n) for n in unknown)} not in the landmarks '{source}'"
            )
    # the refined file names its film as the annotation window does: relative to the file's folder
    s = s.replace(image=s.image.completed_by(recorded_image_ref(radiograph, out)))
    refined = refine_landmarks(
        radiograph.analysis, s, mm_per_px=mm_per_px, max_shift_px=max_shift_px, names=args.only
    )
    notes = write_landmark_file(refined, out, image=radiograph)
    sys.stdout.write(_refine_summary(refined, mm_per_px))
    _notes(notes)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def _notes(notes: Sequence[str]) -> None:
    """What a landmark format left out or assumed, one ``note:`` line each on stderr."""
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


# ----------------------------------------------------------------------------- detect


def _landmark_output(output: str | None, image: Path, saves: str) -> Path:
    """The landmark file a command writes: *output*, or ``<stem>.landmarks.json`` beside *image*; a .json.

    A 3D Slicer ``.mrk.json`` is refused with the way to make one (*saves* says why the command
    writes spinecheck-landmarks/1).
    """
    from .landmarks.errors import SpinecheckError

    out = Path(output) if output else image.with_name(f"{image.stem}.landmarks.json")
    _output_path(str(out), (".json",), "landmark file")
    if out.name.lower().endswith(".mrk.json"):
        raise SpinecheckError(
            f"output '{out}': {saves}; give a .json and then write the 3D Slicer file with "
            f"`spinecheck convert IMAGE LANDMARKS.json -o {out.name}`"
        )
    return out


def cmd_detect(args: argparse.Namespace) -> int:
    from .landmarks.detect.inference import detect, load_model
    from .landmarks.detect.refusal import read_detection
    from .landmarks.imaging.merge import recorded_image_ref
    from .landmarks.imaging.radiograph import load_radiograph
    from .landmarks.io import write_landmarks

    image = Path(args.image)
    out = _landmark_output(
        args.output, image, "detect writes a spinecheck-landmarks/1 .json (it holds the confidence)"
    )
    _check_output(out, args, args.image)
    model = load_model(args.model)
    radiograph = load_radiograph(args.image)
    found = detect(radiograph, model)
    reading = read_detection(found, image=recorded_image_ref(radiograph, out), header_view=radiograph.view)
    s = reading.check(f"'{args.image}'")
    write_landmarks(s, out)
    for flag in reading.flags:
        print(f"note: {flag}", file=sys.stderr)
    low = s.provenance.low_points() if s.provenance else ()
    shown_image, shown_out = _quote(str(image)), _quote(str(out))
    print(
        f"landmarks: {out} ({len(s.points)} corners T1-L5 by model {found.model.name} {found.model.version}, "
        f"film confidence {found.film_confidence:.2f}, {len(low)} low-confidence points)\n"
        "next:\n"
        f"  spinecheck annotate {shown_image} -o {shown_out}   (check and correct the points)\n"
        f"  spinecheck measure {shown_out} --image {shown_image}\n"
        f"  spinecheck plot {shown_image} {shown_out} -o {_quote(str(out.with_suffix('.png')))}"
    )
    return EXIT_OK


# ----------------------------------------------------------------------------- convert


def cmd_convert(args: argparse.Namespace) -> int:

    from .landmarks.imaging.merge import recorded_image_ref
    from .landmarks.imaging.radiograph import read_radiograph_header
    from .landmarks.io import read_landmarks, write_landmark_file
    from .landmarks.io.checks import check_same_image

    out = _output_path(args.output, (".json",), "landmark file")
    source = Path(args.landmarks)
    _check_output(out, args, args.image, args.landmarks)
    film = read_radiograph_header(args.image)
    s = read_landmarks(source, image=film, mm_per_px=args.mm_per_px)
    check_same_image(s, film.image_ref, f"landmarks file '{source}'")
    # the written file names its film as refine does: relative to the file's folder
    s = s.replace(image=s.image.completed_by(recorded_image_ref(film, out)))
    notes = write_landmark_file(s, out, image=film, mm_per_px=args.mm_per_px)
    _notes([*s.warnings, *notes])
    print(f"wrote {out} ({len(s.points)} points)", file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace) -> int:
    from .alignment.study import load_study
    from .landmarks.imaging.radiograph import load_radiograph

    _dicom_preflight(args.image, args.output, args.overwrite)
    radiograph = load_radiograph(args.image)
    study = load_study(
        args.landmarks,
        image=radiograph,
        **_measuring_options(args),
        **_operation_options(args, given_by=True),
    )
    _write_dicom(radiograph, study, args.output, args.overwrite)
    return EXIT_OK


def _dicom_preflight(image: str, folder: str, overwrite: bool) -> None:
    """Refuse a DICOM export before measuring: no highdicom, not a DICOM film, outputs that exist."""
    from .alignment.export.dicom import check_outputs, require_highdicom
    from .alignment.export.source import read_source_film

    require_highdicom()
    read_source_film(image)
    check_outputs(image, folder, overwrite=overwrite)


def _write_dicom(radiograph, study, folder: str, overwrite: bool) -> None:
    from .alignment.export.dicom import export_dicom

    done = export_dicom(radiograph, study, folder, overwrite=overwrite)
    _notes(done.notes)
    print(f"wrote {done.structured_report} (Structured Report)", file=sys.stderr)
    print(f"wrote {done.secondary_capture} (Secondary Capture)", file=sys.stderr)
    print(
        f"  in study {done.study_instance_uid}, beside film {done.referenced_sop_instance_uid}",
        file=sys.stderr,
    )


def _refine_summary(s, mm_per_px) -> str:
    import math

    r = s.refinement
    lines = []
    width = max((len(n) for n in (*r.moved, *r.declined)), default=0)
    for name, m in r.moved.items():
        dx, dy = m.refined[0] - m.original[0], m.refined[1] - m.original[1]
        mm = f" ({math.hypot(dx * mm_per_px[1], dy * mm_per_px[0]):.1f} mm)" if mm_per_px else ""
        lines.append(
            f"moved     {name:<{width}}  {m.distance_px:6.1f} px{mm}  {m.method}  confidence {m.confidence:.2f}"
        )
    for name, why in r.declined.items():
        lines.append(f"declined  {name:<{width}}  {why}")
    lines.append(f"{len(r.moved)} moved, {len(r.declined)} declined")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- pacs


def _server(parser: Any) -> None:
    """Where the archive is and how to reach it: every ``spinecheck pacs`` action's."""
    where = parser.add_argument_group(
        "archive",
        "give --url (DICOMweb) or --dimse with --called-ae (DIMSE), or set SPINECHECK_PACS_URL or "
        "SPINECHECK_PACS_DIMSE and SPINECHECK_PACS_CALLED_AE. Credentials (DICOMweb) are never a flag: "
        "SPINECHECK_PACS_USER and SPINECHECK_PACS_PASSWORD, or SPINECHECK_PACS_TOKEN, or --credentials FILE",
    )
    where.add_argument("--url", metavar="URL", help="the DICOMweb service root, e.g. https://pacs/dicom-web")
    where.add_argument("--dimse", metavar="HOST:PORT", help="a DIMSE archive (C-FIND, C-GET, C-STORE)")
    where.add_argument("--called-ae", metavar="AE", help="the archive's AE title (DIMSE)")
    where.add_argument("--calling-ae", metavar="AE", help="our AE title (DIMSE; default SPINECHECK)")
    where.add_argument(
        "--credentials",
        metavar="FILE",
        help='a JSON file {"user": ..., "password": ...} or {"token": ...} that only you may read (chmod 600)',
    )
    where.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="seconds to wait (default 30)"
    )


def _add_pacs_parser(sub: Any) -> None:
    """``spinecheck pacs find|fetch|store|measure``: the archive, by DICOMweb or DIMSE."""
    pacs = sub.add_parser(
        "pacs",
        arguments=[_common],
        help="find spine films in a PACS, fetch one, measure it and send the results back",
        description="Talk to a DICOM archive by DICOMweb (QIDO-RS, WADO-RS, STOW-RS) or DIMSE (C-FIND, "
        "C-GET, C-STORE). DIMSE needs the [pacs] extra; measure needs the [dicom] extra.",
    )
    verbs = pacs.add_subparsers(
        dest="pacs_command", metavar="ACTION", parser_class=_Parser, action=_Subcommands
    )
    verbs.required = True

    p = verbs.add_parser(
        "find",
        arguments=[_common, _server],
        help="list a patient's films (or studies, series), one per line",
        description="List what the archive holds: one line per film (tab-separated: study, series and SOP "
        "instance UIDs, patient ID, study date, modality, body part, view, description), or JSON.",
    )
    p.add_argument("--patient-id", metavar="ID", help="the Patient ID, matched exactly")
    p.add_argument("--modality", metavar="CR,DX", help="series modalities to keep, comma-separated")
    p.add_argument("--body-part", metavar="PART", help="Body Part Examined to keep, e.g. SPINE (empty kept)")
    p.add_argument("--date-from", metavar="YYYY-MM-DD", help="studies on or after this day")
    p.add_argument("--date-to", metavar="YYYY-MM-DD", help="studies on or before this day")
    p.add_argument("--study", metavar="STUDY_UID", help="one study")
    p.add_argument("--level", choices=("study", "series", "instance"), default="instance", help="rows per")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_pacs_find)

    p = verbs.add_parser(
        "fetch",
        arguments=[_common, _server],
        help="fetch a study, series or film into a folder, whole or not at all",
        description="Fetch into DIR as <SOP Instance UID>.dcm (WADO-RS as stored, or C-GET). Every file is "
        "checked complete and is the one asked for before it appears; a transfer cut short leaves nothing.",
    )
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("series_uid", metavar="SERIES_UID", nargs="?")
    p.add_argument("sop_uid", metavar="SOP_UID", nargs="?")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder (made if missing)")
    p.set_defaults(func=cmd_pacs_fetch)

    p = verbs.add_parser(
        "store",
        arguments=[_common, _server],
        help="send DICOM files (e.g. the SR and capture of 'spinecheck export')",
        description="Send DICOM files (STOW-RS, or C-STORE) and say per file what the archive did. Every "
        "file is checked complete first (one bad file sends none); exit 2 when the archive refused any.",
    )
    p.add_argument("paths", metavar="FILE", nargs="+")
    p.set_defaults(func=cmd_pacs_store)

    p = verbs.add_parser(
        "measure",
        arguments=[_common, _server, _measuring, _operated],
        help="fetch a film, measure it, write the SR and capture, and with --store send them back",
        description="The round trip: fetch the film into DIR, measure its landmarks (printing the report), "
        "write DIR/<SOP>-sr.dcm and DIR/<SOP>-sc.dcm as 'spinecheck export' does, and with --store send "
        "both to the archive. Outputs that exist are refused before anything is fetched.",
    )
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("series_uid", metavar="SERIES_UID")
    p.add_argument("sop_uid", metavar="SOP_UID")
    p.add_argument("--landmarks", required=True, metavar="FILE", help="the film's landmark file")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder (made if missing)")
    p.add_argument("--store", action="store_true", help="send the SR and the capture to the archive")
    p.add_argument("--overwrite", action="store_true", help="replace existing files of the same names")
    p.set_defaults(func=cmd_pacs_measure)


def _archive(args: argparse.Namespace):
    from .alignment.pacs.archive import client_for
    from .alignment.pacs.server import server_from

    if args.timeout <= 0:
        from .landmarks.errors import SpinecheckError

        raise SpinecheckError(f"--timeout: must be a number of seconds > 0; got {args.timeout:g}")
    return client_for(
        server_from(
            args.url,
            args.dimse,
            called_ae=args.called_ae,
            calling_ae=args.calling_ae,
            credentials=args.credentials,
            timeout_s=args.timeout,
        )
    )


def cmd_pacs_find(args: argparse.Namespace) -> int:
    from .alignment.pacs.instances import StudyQuery

    query = StudyQuery(
        patient_id=args.patient_id,
        modalities=tuple((args.modality or "").split(",")),
        body_part=args.body_part,
        date_from=args.date_from,
        date_to=args.date_to,
        study_uid=args.study,
        level=args.level,
    )
    found = _archive(args).find(query)
    if args.format == "json":
        json.dump([f.as_dict() for f in found], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("".join(f.line() + "\n" for f in found))
    noun = {"study": "studies", "series": "series", "instance": "films"}[args.level]
    print(f"{len(found)} {noun} found", file=sys.stderr)
    return EXIT_OK


def cmd_pacs_fetch(args: argparse.Namespace) -> int:
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        from .landmarks.errors import SpinecheckError

        raise SpinecheckError(f"-o '{folder}': is not a folder")
    folder.mkdir(exist_ok=True)
    for path in _archive(args).fetch(folder, args.study_uid, args.series_uid, args.sop_uid):
        print(path)
    return EXIT_OK


def cmd_pacs_store(args: argparse.Namespace) -> int:
    report = _archive(args).store(args.paths)
    for i in report.instances:
        print(f"{'stored' if i.stored else 'FAILED'}\t{i.path}\t{i.sop_instance_uid}\t{i.detail}")
    report.raise_for_failures()
    return EXIT_OK


def cmd_pacs_measure(args: argparse.Namespace) -> int:
    from .alignment.pacs.archive import measure_from_archive
    from .alignment.render.text import format_table

    done = measure_from_archive(
        _archive(args),
        args.study_uid,
        args.series_uid,
        args.sop_uid,
        args.landmarks,
        args.output,
        store=args.store,
        overwrite=args.overwrite,
        **_measuring_options(args),
        **_operation_options(args, given_by=True),
    )
    sys.stdout.write(format_table(done.study, 0))
    print(f"fetched {done.film}", file=sys.stderr)
    _notes(done.export.notes)
    print(f"wrote {done.export.structured_report} (Structured Report)", file=sys.stderr)
    print(f"wrote {done.export.secondary_capture} (Secondary Capture)", file=sys.stderr)
    if done.stored is not None:
        for i in done.stored.instances:
            print(f"stored {i.path.name} in {done.stored.server} ({i.detail})", file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- batch


def cmd_batch(args: argparse.Namespace) -> int:
    import os

    from .alignment.batch.workers import forks_here, start_fork_server

    if args.pseudonym_key is not None and not args.pseudonymise:
        raise UsageError("--pseudonym-key FILE: is the key of --pseudonymise, which was not given")
    if args.patient_identifiers and args.pseudonymise:
        raise UsageError(
            "--patient-identifiers and --pseudonymise: choose one; a table holding both the Patient ID and "
            "its pseudonym would undo the pseudonyms of every table made with the key"
        )
    jobs = (os.cpu_count() or 1) if args.jobs is None else args.jobs
    if args.scheduler is None and jobs > 1 and not forks_here():
        # the workers' fork server imports what they need on the other core while this process imports
        # the engine and walks the archive (started with the pool, it kept the first worker waiting ~1 s);
        # where the workers are forked from this process, each imports what it needs itself (runner._Processes)
        start_fork_server(figures=bool(args.figures), dicom=bool(args.dicom))
    from .alignment.batch.personal import read_pseudonym_key
    from .alignment.batch.runner import BatchInterrupted, BatchOptions, run_batch
    from .alignment.geometry.coronal import DEFAULT_MIN_CURVE_DEG

    options = BatchOptions(
        cobb_method=args.cobb_method,
        min_curve_deg=DEFAULT_MIN_CURVE_DEG if args.min_curve_deg is None else args.min_curve_deg,
        figures=str(Path(args.figures).resolve()) if args.figures else None,
        verify_pixels=args.verify_pixels,
        patient_identifiers=args.patient_identifiers,
        pseudonym_key=read_pseudonym_key(args.pseudonym_key) if args.pseudonymise else None,
        dicom=str(Path(args.dicom).resolve()) if args.dicom else None,
        detect=args.detect,
        **_set_options(args, absolute=True),
    )
    try:
        summary = run_batch(
            args.root,
            args.output,
            landmarks_dir=args.landmarks,
            jobs=args.jobs,
            scheduler=args.scheduler,
            resume=args.resume,
            overwrite=args.overwrite,
            options=options,
            chunk_size=args.chunk_size,
            progress=False if args.quiet else None,  # None: a bar when stderr is a terminal
        )
    except BatchInterrupted as e:  # said even with --quiet: how to continue
        print(
            f"interrupted: {e.rows} rows are in '{e.table}'; rerun with --resume to continue", file=sys.stderr
        )
        raise
    if not args.quiet:
        print(summary.text(), file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spinecheck`` command line; return the exit status.

    While the command runs, ``requests`` is marked absent where nothing imported it before
    (:func:`_no_downloads`).
    """
    with _no_downloads():
        return _main(argv)


@contextlib.contextmanager
def _no_downloads() -> Iterator[None]:
    """``requests`` marked absent (``None`` in :data:`sys.modules`) while a command runs; as it was after.

    ``import pydicom`` imports :mod:`pydicom.data.download`, which imports ``requests`` where it is
    installed (and with it urllib3, charset_normalizer, idna, certifi), only to fetch pydicom's test
    files; no command fetches anything (this package reads nothing from the network). Absent, pydicom
    takes :mod:`urllib.request` instead, its own path for a missing ``requests``. That was about a
    third of pydicom's import: 0.1-0.17 s of wall time and 0.2-0.29 s of CPU (perf stat, 10 runs
    each), paid by every command that reads a film (a batch, ``info``) (issue 17, 3 and 4). The
    batch workers' fork server marks it the same way (:mod:`~spinecheck.alignment.batch._no_downloads`).
    A program that imported ``requests`` before keeps it; one that calls :func:`main` and then
    imports ``requests`` gets it (the mark is taken away after the command).
    """
    marked = "requests" not in sys.modules
    if marked:
        sys.modules["requests"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if marked and "requests" in sys.modules and sys.modules["requests"] is None:
            del sys.modules["requests"]


def _main(argv: Sequence[str] | None) -> int:
    """:func:`main`'s work."""
    from .landmarks.errors import SpinecheckError

    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in argv
    command = ""  # known once the arguments are parsed
    try:
        args = build_parser(argv[0] if argv else None).parse_args(argv)
        command = args.command
        return int(args.func(args))
    except UsageError as e:
        print(f"error: {e} (see 'spinecheck --help')", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (SpinecheckError, OSError) as e:
        if show_traceback:
            raise
        print(f"error: {_one_line(e, {**_FLAGS, **_COMMAND_FLAGS.get(command, {})})}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line unless asked for the traceback
        if show_traceback:
            raise
        print(
            f"error: internal error: {type(e).__name__}: {_one_line(e)} (run with --traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _one_line(e: BaseException, flags: dict[str, str] | None = None) -> str:
    """*e*'s message on one line, naming the arguments it is about by their *flags*."""
    from .landmarks.errors import SpinecheckError

    text = (e.message(flags) if isinstance(e, SpinecheckError) else str(e)) or type(e).__name__
    if isinstance(e, OSError) and e.filename is not None and str(e.filename) not in text:
        text = f"'{e.filename}': {text}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
