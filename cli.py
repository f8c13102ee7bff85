"""The ``spinecheck`` command line: thin wiring of the public API.

``main(argv)`` parses, runs one command, and maps every known failure to a
single ``error: …`` line on stderr and a non-zero exit status (a traceback only
with ``--traceback``). Results go to stdout; progress and logs to stderr.

Exit status: 0 success; 1 internal error (a bug: please report it);
2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage (argparse's own complaints)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true", help="show the full traceback on errors")

    parser = _Parser(
        prog="spinecheck",
        description="Measure spinal alignment on whole-spine radiographs.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"spinecheck {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "measure",
        parents=[common],
        help="measure one study, or every study of a wide CSV",
        description="Measure every parameter and apply every criterion to a landmark file "
        "(.json, .mat) or a wide CSV of many studies.",
    )
    p.add_argument("landmarks", help="landmark file: spinecheck-landmarks/1 .json, AASCE .mat, or wide .csv")
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
        "--cobb-method",
        choices=("endplate", "midline"),
        default="endplate",
        help="coronal vertebral tilt: endplates (default) or the SpineWeb side-midpoint line",
    )
    p.add_argument(
        "--min-curve-deg",
        type=float,
        default=None,
        metavar="DEG",
        help="smallest tilt reversal that makes a separate coronal curve (default 10, the SRS "
        "definition of scoliosis)",
    )
    p.add_argument(
        "--age-set",
        default="lafage2016-linear",
        metavar="NAME|FILE",
        help="age-adjusted target set: a bundled name or a criteria JSON file",
    )
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser(
        "info",
        parents=[common],
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
        parents=[common],
        help="run the whole job on the bundled synthetic sample case",
        description="Generate the sample lateral and AP films, measure, judge and write the outputs.",
    )
    p.add_argument("--out", help="output folder (default: a new spinecheck-demo-N folder here)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "plot",
        parents=[common],
        help="draw the landmarks, constructions and verdicts on the radiograph",
        description="Draw the radiograph with its landmarks, the constructions (plumb lines, "
        "endplates, angles, Cobb lines), the values and the criteria verdicts.",
    )
    p.add_argument("image", help="the radiograph: DICOM or PNG/JPEG/TIFF")
    p.add_argument("landmarks", help="its landmark file: spinecheck-landmarks/1 .json or AASCE .mat")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the figure: .png, .pdf or .svg")
    p.add_argument("--dpi", type=float, default=150.0, help="resolution of a PNG (default 150)")
    p.add_argument(
        "--full-resolution",
        action="store_true",
        help="draw the film at full resolution (slow on whole-spine films; default: at most 2000 rows)",
    )
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "report",
        parents=[common],
        help="a one-page report: the annotated film beside the parameters and verdicts",
        description="Write one A4 page: the annotated radiograph beside a table of parameters, "
        "age-adjusted targets, verdicts and sources, with the patient and calibration provenance "
        "and the warnings.",
    )
    p.add_argument("image", help="the radiograph: DICOM or PNG/JPEG/TIFF")
    p.add_argument("landmarks", help="its landmark file: spinecheck-landmarks/1 .json or AASCE .mat")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the report: .pdf (or .png)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "compare",
        parents=[common],
        help="compare two films of one patient (pre and post) side by side",
        description="Write one A4 page: the pre and post films side by side with every parameter's "
        "pre value, post value and change (post - pre). Both films must be of the same view.",
    )
    p.add_argument("pre_image", help="the earlier radiograph")
    p.add_argument("pre_landmarks", help="its landmark file")
    p.add_argument("post_image", help="the later radiograph")
    p.add_argument("post_landmarks", help="its landmark file")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the comparison: .pdf or .png")
    p.set_defaults(func=cmd_compare)
    return parser


def _version() -> str:
    from alignment.report import tool_version

    return tool_version()


# ----------------------------------------------------------------------------- measure


def cmd_measure(args: argparse.Namespace) -> int:
    from alignment.report import format_csv, format_table, study_report
    from alignment.study import load_study

    study = load_study(
        args.landmarks,
        image=args.image,
        age=args.age,
        mm_per_px=args.mm_per_px,
        cobb_method=args.cobb_method,
        min_curve_deg=args.min_curve_deg,
        age_set=args.age_set,
    )
    out = sys.stdout
    if args.format == "csv":
        out.write(format_csv(study))
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


# ----------------------------------------------------------------------------- info


def cmd_info(args: argparse.Namespace) -> int:
    from landmarks.radiograph import format_info_text, load_radiograph, radiograph_info

    info = radiograph_info(load_radiograph(args.image, frame=args.frame))
    if args.format == "json":
        json.dump(info, sys.stdout, indent=2, allow_nan=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_info_text(info).rstrip("\n") + "\n")
    return EXIT_OK


# ----------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from alignment.demo import run_demo

    out = Path(args.out) if args.out else _new_folder(Path.cwd(), "spinecheck-demo")
    result = run_demo(out, log=lambda msg: print(msg, file=sys.stderr))
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
    from alignment.figure import figure_for
    from alignment.study import load_study
    from landmarks.errors import SpinecheckError
    from landmarks.radiograph import load_radiograph

    out = _output_path(args.output, (".png", ".pdf", ".svg"), "figure")
    if not (args.dpi > 0 and args.dpi <= 2400):
        raise SpinecheckError(f"--dpi: must be a number of dots per inch in (0, 2400]; got {args.dpi:g}")
    radiograph = load_radiograph(args.image)
    study = load_study(args.landmarks, image=radiograph)
    image = radiograph.display
    fig = figure_for(image, study, 0, max_display_rows=None if args.full_resolution else 2000)
    fig.savefig(out, dpi=args.dpi)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- report, compare


def _output_path(path: str, suffixes: tuple[str, ...], kind: str) -> Path:
    """*path* as the output file, refused unless its suffix is one of *suffixes*."""
    from landmarks.errors import SpinecheckError

    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise SpinecheckError(
            f"output '{out}': unsupported {kind} type {out.suffix or '(no suffix)'!r}; "
            f"expected one of {', '.join(suffixes)}"
        )
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from alignment.clinic_report import report_figure
    from alignment.study import load_study
    from landmarks.radiograph import load_radiograph

    out = _output_path(args.output, (".pdf", ".png"), "page")
    radiograph = load_radiograph(args.image)
    study = load_study(args.landmarks, image=radiograph)
    fig = report_figure(radiograph.display, study, 0)
    fig.savefig(out, dpi=150)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from alignment.clinic_report import comparison_figure
    from alignment.study import load_study
    from landmarks.radiograph import load_radiograph

    out = _output_path(args.output, (".pdf", ".png"), "page")
    pre_r, post_r = load_radiograph(args.pre_image), load_radiograph(args.post_image)
    pre = load_study(args.pre_landmarks, image=pre_r)
    post = load_study(args.post_landmarks, image=post_r)
    fig = comparison_figure(pre_r.display, pre, post_r.display, post)
    fig.savefig(out, dpi=150)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spinecheck`` command line; return the exit status."""
    from landmarks.errors import SpinecheckError

    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in argv
    try:
        args = build_parser().parse_args(argv)
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
        print(f"error: {_one_line(e)}", file=sys.stderr)
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


def _one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, OSError) and e.filename is not None and str(e.filename) not in text:
        text = f"'{e.filename}': {text}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
