"""The bundled sample case: ``spinecheck demo``.

Generates a deterministic synthetic lateral and AP pair (DICOM, with their
landmark files), then runs the whole job on them exactly as a user would from
the files: load, measure, judge, report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..landmarks.errors import InvalidArgumentError, SpinecheckError
from ..landmarks.imaging.radiograph import load_radiograph
from ..landmarks.io.atomic import write_text_atomic
from ..landmarks.io.landmark_file import write_landmarks
from ..landmarks.points.model import ImageRef
from ..landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom
from .render.figure import figure_for
from .render.files import save_figure
from .render.pages import report_figure
from .render.text import format_table, study_report, write_table_csv
from .study import Study, load_study

__all__ = ["run_demo", "DemoResult", "DEMO_AGE_YEARS", "DEMO_FILES"]

#: The sample patient's age, written into the DICOM header (Patient's Age).
DEMO_AGE_YEARS = 67


@dataclass
class DemoResult:
    """What the demo wrote, and the studies it measured."""

    out: Path
    files: list[Path] = field(default_factory=list)
    studies: dict[str, Study] = field(default_factory=dict)

    def summary(self) -> str:
        """A short account for the terminal: the verdicts and where the files are."""
        lines = [f"spinecheck demo: outputs in {self.out}"]
        for _view, study in self.studies.items():
            lines.append("")
            lines.append(format_table(study, 0).rstrip())
        lines.append("")
        lines.append("Files:")
        lines.extend(f"  {p}" for p in self.files)
        lat = self.out / "lateral.dcm"
        lines += [
            "",
            "Next, on these films:",
            f"  spinecheck annotate {lat} -o {self.out / 'mine.landmarks.json'}"
            "   # place the landmarks yourself, guided",
            f"  spinecheck refine {lat} {self.out / 'lateral.landmarks.json'} -o {self.out / 'refined.json'}"
            "   # image-based refinement of rough points",
            f"  spinecheck batch {self.out} -o {self.out / 'batch.csv'}   # a whole folder, in parallel",
        ]
        return "\n".join(lines)


#: The sample films' radiographic magnification: a detector pixel of 0.22 mm sees 0.2 mm of patient.
DEMO_MAGNIFICATION = 1.1


def _calibrated_dx_header(mm_per_px: tuple[float, float]) -> dict:
    """A DX header as a calibrated stitching workstation writes it (clinical.md §4 rule 2).

    The film is rendered at *mm_per_px* in the patient plane; the detector
    pixels are larger by the magnification, and Pixel Spacing states the
    calibrated patient-plane value with its calibration type.
    """
    detector = [f"{v * DEMO_MAGNIFICATION:.6g}" for v in mm_per_px]
    return {
        "ImagerPixelSpacing": detector,
        "EstimatedRadiographicMagnificationFactor": f"{DEMO_MAGNIFICATION:g}",
        "PixelSpacingCalibrationType": "GEOMETRY",
        "PixelSpacingCalibrationDescription": "synthetic sample: spacing at the patient's midsagittal plane",
    }


#: Every file :func:`run_demo` writes, by name.
DEMO_FILES = (
    *(
        f"{view}{suffix}"
        for view in ("lateral", "ap")
        for suffix in (".dcm", ".landmarks.json", ".report.json", ".report.txt", ".png", ".report.pdf")
    ),
    "table.csv",
)


def run_demo(
    out: Path, *, log: Callable[[str], None] = lambda msg: None, overwrite: bool = False
) -> DemoResult:
    """Generate the sample films and run the whole job into folder *out*.

    Parameters
    ----------
    out : Path
        Created if absent. Every file is written atomically (temporary file,
        then rename).
    log : callable
        Receives progress lines (the command line sends them to stderr).
    overwrite : bool
        Replace the files of an earlier demo in *out*; without it, a folder
        that holds any file of the demo's names (:data:`DEMO_FILES`) is
        refused before anything is written.

    Returns
    -------
    DemoResult
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpinecheckError(f"demo output '{out}': exists and is not a folder")
    existing = [name for name in DEMO_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise InvalidArgumentError.about(
            "overwrite",
            "demo output '{out}': holds an earlier demo ({first}{more}); {overwrite} replaces it, or choose "
            "another folder",
            names={"overwrite": "overwrite=True"},
            out=out,
            first=existing[0],
            more=f" and {len(existing) - 1} other files" if len(existing) > 1 else "",
        )
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out)
    films = {"lateral": synthetic_lateral(seed=0), "ap": synthetic_ap(seed=0)}
    for view, film in films.items():
        log(f"generating the synthetic {view} film ({film.shape[0]} x {film.shape[1]} px)")
        dcm = write_dicom(
            film,
            out / f"{view}.dcm",
            patient_age=DEMO_AGE_YEARS,
            spacing="pixel",
            extra=_calibrated_dx_header(film.mm_per_px),
        )
        points = out / f"{view}.landmarks.json"
        rows, cols = film.shape
        radiograph = load_radiograph(dcm)
        uid = radiograph.sop_instance_uid
        write_landmarks(
            film.landmarks.replace(
                image=ImageRef(path=dcm.name, sop_instance_uid=uid, rows=rows, columns=cols),
                patient=type(film.landmarks.patient)(),
                source=None,
            ),
            points,
        )
        log(f"measuring {points.name} on {dcm.name}")
        study = load_study(str(points), image=radiograph)
        result.studies[view] = study
        report_json = out / f"{view}.report.json"
        write_text_atomic(report_json, json.dumps(study_report(study, 0), indent=2, allow_nan=False) + "\n")
        report_txt = out / f"{view}.report.txt"
        write_text_atomic(report_txt, format_table(study, 0))
        figure_png = out / f"{view}.png"
        log(f"drawing {figure_png.name}")
        display = radiograph.display
        save_figure(figure_for(display, study), figure_png, dpi=110)
        report_pdf = out / f"{view}.report.pdf"
        log(f"writing the one-page report {report_pdf.name}")
        save_figure(report_figure(display, study), report_pdf)
        result.files += [dcm, points, report_json, report_txt, figure_png, report_pdf]
    table = out / "table.csv"
    write_table_csv(list(result.studies.values()), table)
    result.files.append(table)
    return result
