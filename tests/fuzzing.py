"""Fuzzing harness (issue 13, point 5): mutated inputs for every reader, each run judged by an oracle.

A *case* is one mutated input (landmark JSON, wide CSV, AASCE ``.mat``, 3D Slicer ``.mrk.json``,
DICOM of each transfer syntax, PNG/JPEG/TIFF) with what a right answer must satisfy. Each case runs
in a forked child with a memory limit (``RLIMIT_AS``) and a timeout, so a decoder abort, a Rust
panic or a memory bomb is classified, not fatal; the child reads through the API
(``load_study``, ``read_radiograph_header``, ``load_radiograph``) or the command line
(``spinecheck.cli.main`` with stdout and stderr on their own file descriptors, so native writes to
stderr are seen). :func:`run_subprocess` runs the installed ``spinecheck`` command itself (the
memory limit in ``preexec_fn``).

The oracle is not "no exception". Every run is one of:

``clean error``
    API: a ``SpinecheckError``. CLI: exit 2 and stderr exactly one line starting ``error: ``.
``internal error``
    Any other exception; exit 1; a traceback; exit 2 with more than one stderr line.
``crash``
    Killed by a signal, any other exit status, the timeout, or a child that said nothing.
``silent wrong``
    A result whose numbers break an invariant checked independently of the code under test:
    PI = PT + SS and PI-LL = PI - LL (1e-6 deg); angles within ±180 deg; distances below
    :data:`MAX_DISTANCE_MM`; nothing infinite; no criterion graded on a withheld parameter;
    a label swap, a deleted point or a translation leaves every parameter unchanged unless it is
    withheld or the study gained a warning; a calibration scaled by *k* scales every mm value
    by *k* exactly and leaves the angles; a calibration outside :data:`PLAUSIBLE_MM_PER_PX` is
    refused or its mm values withheld; a wide-CSV point with an x and no y is absent; a film whose
    geometry (Rows, Columns, Bits Allocated) no longer fits its pixel data is refused; a header
    edit that leaves the pixel data alone decodes to the same pixels.
``ok``
    A result that passes every check.

Decisions (the issue was silent): a duplicate JSON key and a byte flip inside a compressed stream
may give a result (the formats carry no checksum), judged by the invariants only; a warning the
reference run did not have counts as "warned" for a changed value; a memory bomb that ends in
``MemoryError`` is an internal error (the size was not checked before allocating).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import faulthandler
import hashlib
import io
import json
import logging
import math
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: A plausible pixel spacing of a radiograph, mm per pixel, in the plane where it is given. Digital
#: detectors have pixel pitches of 0.1-0.2 mm (CR plates 0.1-0.2 mm, DX flat panels 0.139-0.2 mm), a
#: downsampled export rarely exceeds 1 mm; 0.02 and 2 leave a factor of 5-10 either side.
PLAUSIBLE_MM_PER_PX = (0.02, 2.0)
#: No distance on a radiograph exceeds the diagonal of the longest long-length film (17 x 51 in,
#: 432 x 1295 mm: 1365 mm); a larger one means a wrong calibration or a wrong point.
MAX_DISTANCE_MM = 1400.0
ANGLE_TOLERANCE_DEG = 1e-6
#: Child limits: seconds per run, and address space above what the parent already maps.
TIMEOUT_S = 20.0
MEMORY_HEADROOM_BYTES = 2 * 1024**3


class Outcome(str, enum.Enum):
    """How one run ended."""

    CLEAN_ERROR = "clean error"
    INTERNAL_ERROR = "internal error"
    CRASH = "crash"
    SILENT_WRONG = "silent wrong"
    OK = "ok"


class Expect(str, enum.Enum):
    """What a right answer to a case must satisfy beyond the invariants."""

    ANY = "any"  # the invariants only
    SAME = "same"  # every parameter as in the reference, or withheld, or warned
    SCALED = "scaled"  # mm values x factor, angles unchanged (calibration scaled)
    REFUSED = "refused"  # a clean error, or every mm value withheld (implausible calibration)
    ERROR = "error"  # only a clean error is right (the film's geometry no longer fits its data)
    SAME_PIXELS = "same pixels"  # a result must decode to the reference's pixels


@dataclasses.dataclass(frozen=True)
class Case:
    """One mutated input.

    *kind* is ``"study"`` (landmarks, optionally with an image), ``"film"`` (DICOM) or
    ``"picture"``; *files* maps file names to their bytes; *reference* the unmutated (or reference
    variant) files of the same names, for :attr:`Expect.SAME`, :attr:`Expect.SCALED`,
    :attr:`Expect.SAME_PIXELS`.
    """

    reader: str
    mutation: str
    kind: str
    files: dict[str, bytes]
    main: str
    expect: Expect = Expect.ANY
    reference: dict[str, bytes] | None = None
    factor: float = 1.0
    image: str | None = None


@dataclasses.dataclass(frozen=True)
class Result:
    """One run's classification, with the detail that decided it."""

    case: Case
    mode: str
    outcome: Outcome
    detail: str


# ----------------------------------------------------------------------------- seeds


@dataclasses.dataclass(frozen=True)
class Seeds:
    """The unmutated inputs every mutator starts from (bytes), made by :func:`make_seeds`."""

    lateral_json: bytes
    ap_json: bytes
    csv: bytes
    mat: bytes
    slicer: bytes
    films: dict[str, bytes]  # name -> DICOM bytes (synthetic per transfer syntax, real NEMA films)
    lateral_film_json: bytes  # landmarks of films["lateral_explicit"] without calibration (from the film)
    pictures: dict[str, bytes]  # name with suffix -> bytes


SYNTHETIC_SYNTAXES = {
    "explicit": "explicit little endian",
    "implicit": "implicit little endian",
    "j2k": "jpeg2000 lossless",
    "jls": "jpeg-ls lossless",
    "rle": "rle lossless",
}
REAL_FILMS = ("RG2_UNC", "RG2_JPLL", "RG2_J2KR", "RG2_RLE", "RG2_JLSL", "RG2_J2KI")


def make_seeds(folder: Path, *, real_films: bool = True) -> Seeds:
    """Generate the seed inputs in *folder*: 1 mm/px synthetic films (900 x 360 px) and their landmarks."""
    import scipy.io
    from PIL import Image
    from spinecheck.landmarks.io.landmark_file import write_landmarks
    from spinecheck.landmarks.io.read import write_landmark_file
    from spinecheck.landmarks.io.wide_csv import write_landmark_table
    from spinecheck.landmarks.points.calibration import Calibration
    from spinecheck.landmarks.points.model import ImageRef, LandmarkTable, PatientInfo
    from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom

    folder.mkdir(parents=True, exist_ok=True)
    lateral, ap = synthetic_lateral(0, mm_per_px=1.0), synthetic_ap(0, mm_per_px=1.0)
    calibrated = {}
    for name, f in (("lateral", lateral), ("ap", ap)):
        rows, cols = f.shape
        s = f.landmarks.replace(
            image=ImageRef(path=None, sop_instance_uid=None, rows=rows, columns=cols),
            patient=PatientInfo(),
            source=None,
            calibration=Calibration.from_spacing([1.0, 1.0], where="fuzz seed"),
        )
        calibrated[name] = s
        write_landmarks(s, folder / f"{name}.json")
    write_landmark_table(
        LandmarkTable.from_sets([calibrated["lateral"], calibrated["ap"]]), folder / "table.csv"
    )
    write_landmark_file(calibrated["lateral"], folder / "lateral.mrk.json", mm_per_px=(1.0, 1.0))
    points = calibrated["ap"].points
    p2 = np.array([points[n] for n in _aasce_names()], dtype=float)
    scipy.io.savemat(folder / "ap.mat", {"p2": p2})

    films = {}
    for key, syntax in SYNTHETIC_SYNTAXES.items():
        path = write_dicom(lateral, folder / f"lateral_{key}.dcm", transfer_syntax=syntax)
        films[f"lateral_{key}"] = path.read_bytes()
    rows, cols = lateral.shape
    write_landmarks(
        lateral.landmarks.replace(
            image=ImageRef(path="film.dcm", sop_instance_uid=None, rows=rows, columns=cols),
            patient=PatientInfo(),
            source=None,
        ),
        folder / "film.json",
    )
    if real_films and (SHARED / "dicom").is_dir():
        for name in REAL_FILMS:
            if (SHARED / "dicom" / name).is_file():
                films[name] = (SHARED / "dicom" / name).read_bytes()
    pictures = {}
    eight = (lateral.pixels >> 4).astype(np.uint8)
    for suffix, image in ((".png", Image.fromarray(eight)), (".jpg", Image.fromarray(eight))):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG" if suffix == ".png" else "JPEG", quality=90)
        pictures["film" + suffix] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(lateral.pixels.astype(np.uint16)).save(buffer, format="TIFF")
    pictures["film.tif"] = buffer.getvalue()
    return Seeds(
        lateral_json=(folder / "lateral.json").read_bytes(),
        ap_json=(folder / "ap.json").read_bytes(),
        csv=(folder / "table.csv").read_bytes(),
        mat=(folder / "ap.mat").read_bytes(),
        slicer=(folder / "lateral.mrk.json").read_bytes(),
        films=films,
        lateral_film_json=(folder / "film.json").read_bytes(),
        pictures=pictures,
    )


def _aasce_names() -> tuple[str, ...]:
    from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES

    return AASCE_POINT_NAMES


# ----------------------------------------------------------------------------- mutators

#: Values a JSON number is replaced with: not numbers, not finite, absurd, of the wrong type.
JSON_JUNK: tuple[Any, ...] = (
    float("nan"),
    float("inf"),
    -float("inf"),
    1e300,
    -1e300,
    1e6,
    -1e6,
    0,
    "12",
    "12,7",
    None,
    True,
    [],
    {},
    [1.0],
    [1.0, 2.0, 3.0],
    "nan",
    -0.0,
    2**70,
)
#: What a wide-CSV cell is replaced with.
CSV_JUNK = (
    "",
    "nan",
    "inf",
    "-inf",
    "1e300",
    "-1e300",
    "abc",
    " 12 ",
    "1,5",
    "0x10",
    "=1+1",
    "1e-320",
    "\x00",
    "１２",
    "9" * 400,
    '"',
    "12;13",
)
#: Calibration factors on a 1 mm/px seed: inside and outside the plausible range.
PLAUSIBLE_FACTORS = (0.05, 0.1, 0.139, 0.2, 0.5, 1.5)
IMPLAUSIBLE_FACTORS = (1e-300, 1e-5, 0.01, 2.5, 10.0, 1e200)


def byte_mutations(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One of: flip bytes, truncate, append bytes, duplicate a slice, delete a slice."""
    what = rng.choice(("flip", "truncate", "append", "duplicate", "delete"))
    b = bytearray(data)
    if what == "flip":
        for _ in range(rng.choice((1, 2, 8, 64))):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif what == "truncate":
        del b[rng.randrange(len(b)) :]
    elif what == "append":
        b += rng.choice((b"\x00", b"\xff", bytes(rng.randrange(256) for _ in range(64)))) * rng.choice(
            (1, 100, 65536)
        )
    elif what == "duplicate":
        i = rng.randrange(len(b))
        b[i:i] = b[i : i + rng.randrange(1, 256)]
    else:
        i = rng.randrange(len(b))
        del b[i : i + rng.randrange(1, 256)]
    return f"bytes {what}", bytes(b)


def _dump(d: Any) -> bytes:
    return json.dumps(d, indent=1, allow_nan=True).encode()


def _swap_points(points: dict[str, Any], rng: random.Random) -> str:
    a, b = rng.sample(sorted(points), 2)
    points[a], points[b] = points[b], points[a]
    return f"swap {a} {b}"


def _rotate_corners(points: dict[str, Any], rng: random.Random) -> str:
    """Move one vertebra's four corners one place round (sup.a <- sup.b <- inf.b <- inf.a)."""
    a, b = ("left", "right") if any(k.endswith(".sup.left") for k in points) else ("ant", "post")
    order = (("sup", a), ("sup", b), ("inf", b), ("inf", a))
    levels = sorted(
        {k.split(".")[0] for k in points if all(f"{k.split('.')[0]}.{e}.{s}" in points for e, s in order)}
    )
    level = rng.choice(levels)
    names = [f"{level}.{e}.{s}" for e, s in order]
    values = [points[n] for n in names]
    for n, v in zip(names, values[1:] + values[:1], strict=True):
        points[n] = v
    return f"rotate corners {level}"


def landmark_json_case(rng: random.Random, seeds: Seeds, *, reader: str = "json") -> Case:
    """A mutated spinecheck landmark file (lateral or AP, calibrated 1 mm/px)."""
    raw = rng.choice((seeds.lateral_json, seeds.ap_json))
    d = json.loads(raw)
    points = d["points"]
    what = rng.choice(
        (
            "swap",
            "swap",
            "rotate",
            "junk",
            "type",
            "scale",
            "scale",
            "delete",
            "translate",
            "huge",
            "deep",
            "duplicate",
            "bytes",
        )
    )
    expect, factor = Expect.ANY, 1.0
    if what == "swap":
        name, expect = _swap_points(points, rng), Expect.SAME
    elif what == "rotate":
        name, expect = _rotate_corners(points, rng), Expect.SAME
    elif what == "junk":
        key = rng.choice(sorted(points))
        value = rng.choice(JSON_JUNK)
        if rng.random() < 0.5:
            points[key] = value
        else:
            points[key] = [points[key][0], value]
        name = f"point {key} = {value!r}"
    elif what == "type":
        key = rng.choice(
            ("format", "view", "image", "calibration", "points", "circles", "patient", "patient_right")
        )
        value = rng.choice(
            JSON_JUNK + ("lateral", "ap", "", {"mm_per_px": [1.0]}, {"rows": -5, "columns": 0})
        )
        d[key] = value
        name = f"{key} = {value!r}"
    elif what == "scale":
        factor = rng.choice(PLAUSIBLE_FACTORS + IMPLAUSIBLE_FACTORS)
        d["calibration"] = {"mm_per_px": [factor, factor]}
        name, expect = f"mm_per_px x {factor:g}", _scale_expectation(factor)
    elif what == "delete":
        key = rng.choice(sorted(points))
        del points[key]
        name, expect = f"delete {key}", Expect.SAME
    elif what == "translate":
        dx, dy = rng.uniform(-50, 50), rng.uniform(-50, 50)
        for k, (x, y) in points.items():
            points[k] = [x + dx, y + dy]
        for c in d.get("circles", {}).values():
            c["center"] = [c["center"][0] + dx, c["center"][1] + dy]
        name, expect = f"translate {dx:.1f} {dy:.1f}", Expect.SAME
    elif what == "huge":
        size = rng.choice((10_000, 1_000_000))
        points["X" * size] = [1.0, 2.0]
        name = f"point name of {size} characters"
    elif what == "deep":
        depth = rng.choice((1000, 100_000))
        text = raw.decode().replace('"points": {', '"points": ' + "[" * depth + "]" * depth + ', "x": {', 1)
        return Case(reader, f"nesting {depth}", "study", {"lm.json": text.encode()}, "lm.json")
    elif what == "duplicate":
        key = rng.choice(sorted(points))
        text = _dump(d).decode().replace(f'"{key}": ', f'"{key}": [0.0, 0.0], "{key}": ', 1)
        return Case(reader, f"duplicate key {key}", "study", {"lm.json": text.encode()}, "lm.json")
    else:
        name, data = byte_mutations(rng, raw)
        return Case(reader, name, "study", {"lm.json": data}, "lm.json")
    return Case(reader, name, "study", {"lm.json": _dump(d)}, "lm.json", expect, {"lm.json": raw}, factor)


def _scale_expectation(factor: float) -> Expect:
    low, high = PLAUSIBLE_MM_PER_PX
    return Expect.SCALED if low <= factor <= high else Expect.REFUSED


def wide_csv_case(rng: random.Random, seeds: Seeds) -> Case:
    """A mutated wide CSV (a lateral and an AP row, 1 mm/px)."""
    import csv as csv_module

    rows = list(csv_module.reader(io.StringIO(seeds.csv.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    coords = [i for i, h in enumerate(header) if h.endswith((".x", ".y"))]
    what = rng.choice(
        ("cell", "cell", "x without y", "x without y", "swap", "scale", "scale", "header", "bytes")
    )
    expect, factor, reference = Expect.ANY, 1.0, seeds.csv
    if what == "cell":
        r, c = rng.randrange(len(body)), rng.choice(coords + [header.index("view")])
        value = rng.choice(CSV_JUNK)
        body[r][c] = value
        name = f"cell {header[c]} = {value[:20]!r}"
    elif what == "x without y":
        r = rng.randrange(len(body))
        filled = [i for i in coords if header[i].endswith(".y") and body[r][i]]
        y = rng.choice(filled)
        x = header.index(header[y][:-2] + ".x")
        ref = [list(row) for row in body]
        ref[r][x] = ref[r][y] = ""
        reference = _csv_bytes([header, *ref])
        body[r][y] = ""
        if rng.random() < 0.5:
            body[r][x] = str(rng.choice((-5000.0, 0.0, 5000.0)))
        name, expect = f"x without y {header[y][:-2]}", Expect.SAME
    elif what == "swap":
        names = sorted({h[:-2] for h in header if h.endswith(".x")})
        a, b = rng.sample(names, 2)
        for axis in (".x", ".y"):
            i, j = header.index(a + axis), header.index(b + axis)
            header[i], header[j] = header[j], header[i]
        name, expect = f"swap {a} {b}", Expect.SAME
    elif what == "scale":
        factor = rng.choice(PLAUSIBLE_FACTORS + IMPLAUSIBLE_FACTORS)
        for row in body:
            for col in ("mm_per_px_row", "mm_per_px_col"):
                row[header.index(col)] = repr(factor)
        name, expect = f"mm_per_px x {factor:g}", _scale_expectation(factor)
    elif what == "header":
        i = rng.randrange(len(header))
        change = rng.choice(("duplicate", "delete", "rename"))
        if change == "duplicate":
            header[i] = header[(i + 1) % len(header)]
        elif change == "delete":
            header = header[:i] + header[i + 1 :]
            body = [row[:i] + row[i + 1 :] for row in body]
        else:
            header[i] = rng.choice(("", "S1.sup.middle.x", "image", "x" * 5000, "T1.sup.ant"))
        name = f"header {change} {i}"
    else:
        name, data = byte_mutations(rng, seeds.csv)
        return Case("csv", name, "study", {"t.csv": data}, "t.csv")
    return Case(
        "csv",
        name,
        "study",
        {"t.csv": _csv_bytes([header, *body])},
        "t.csv",
        expect,
        {"t.csv": reference},
        factor,
    )


def _csv_bytes(rows: list[list[str]]) -> bytes:
    import csv as csv_module

    out = io.StringIO()
    csv_module.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def mat_case(rng: random.Random, seeds: Seeds) -> Case:
    """A mutated AASCE ``.mat`` label file (its own or a real one from ../shared when present)."""
    import scipy.io

    source = seeds.mat
    p2 = scipy.io.loadmat(io.BytesIO(source))["p2"].astype(float)
    what = rng.choice(("rotate", "rotate", "swap", "value", "shape", "variable", "compressed", "bytes"))
    expect: Expect = Expect.ANY
    content: dict[str, Any] = {"p2": p2}
    if what == "rotate":
        v = rng.randrange(17)
        rows = p2[4 * v : 4 * v + 4].copy()
        p2[4 * v : 4 * v + 4] = rows[[2, 0, 3, 1]]  # UL<-LL, UR<-UL, LL<-LR, LR<-UR: one place round
        name, expect = f"rotate corners of vertebra {v}", Expect.SAME
    elif what == "swap":
        i, j = rng.sample(range(68), 2)
        p2[[i, j]] = p2[[j, i]]
        name, expect = f"swap rows {i} {j}", Expect.SAME
    elif what == "value":
        i, j = rng.randrange(68), rng.randrange(2)
        p2[i, j] = rng.choice((float("nan"), float("inf"), -1.0, 1e300, 1e7, -1e-300))
        name = f"p2[{i},{j}] = {p2[i, j]!r}"
    elif what == "shape":
        shape = rng.choice(((67, 2), (68, 3), (2, 68), (0, 0), (136,), (68, 2, 1)))
        content["p2"] = np.resize(p2, shape)
        name = f"p2 shape {shape}"
    elif what == "variable":
        content = rng.choice(
            (
                {"p3": p2},
                {"p2": "abc"},
                {"p2": p2.astype(complex)},
                {"p2": p2 > 0},
                {"p2": np.array([[p2]], dtype=object)},
                {"p2": p2.astype(np.int8)},
            )
        )
        name = f"variable {sorted(content)} {type(content[sorted(content)[0]]).__name__}"
    elif what == "compressed":
        buffer = io.BytesIO()
        scipy.io.savemat(buffer, content, do_compression=True)
        name, data = byte_mutations(rng, buffer.getvalue())
        return Case("mat", "compressed " + name, "study", {"a.mat": data}, "a.mat")
    else:
        name, data = byte_mutations(rng, source)
        return Case("mat", name, "study", {"a.mat": data}, "a.mat")
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, content)
    return Case("mat", name, "study", {"a.mat": buffer.getvalue()}, "a.mat", expect, {"a.mat": source})


def slicer_case(rng: random.Random, seeds: Seeds) -> Case:
    """A mutated 3D Slicer point list (a lateral film)."""
    d = json.loads(seeds.slicer)
    points = d["markups"][0]["controlPoints"]
    what = rng.choice(("swap", "swap", "junk", "type", "delete", "deep", "bytes"))
    expect = Expect.ANY
    if what == "swap":
        a, b = rng.sample(range(len(points)), 2)
        points[a]["label"], points[b]["label"] = points[b]["label"], points[a]["label"]
        name, expect = f"swap {points[a]['label']} {points[b]['label']}", Expect.SAME
    elif what == "junk":
        p = rng.choice(points)
        value = rng.choice(JSON_JUNK)
        p["position"] = rng.choice((value, [value, 0.0, 0.0], [0.0, value, 0.0]))
        name = f"position {p['label']} = {p['position']!r}"
    elif what == "type":
        key = rng.choice(
            ("markups", "@schema", "coordinateSystem", "coordinateUnits", "controlPoints", "label")
        )
        value = rng.choice(JSON_JUNK + ("LPS", "RAS", "mm", "um"))
        target = (
            d
            if key in ("markups", "@schema")
            else (d["markups"][0] if key != "label" else rng.choice(points))
        )
        target[key] = value
        name = f"{key} = {value!r}"
    elif what == "delete":
        p = points.pop(rng.randrange(len(points)))
        name, expect = f"delete {p['label']}", Expect.SAME
    elif what == "deep":
        text = seeds.slicer.decode().replace(
            '"markups": [', '"x": ' + "[" * 100_000 + "]" * 100_000 + ', "markups": [', 1
        )
        return Case("slicer", "nesting 100000", "study", {"a.mrk.json": text.encode()}, "a.mrk.json")
    else:
        name, data = byte_mutations(rng, seeds.slicer)
        return Case("slicer", name, "study", {"a.mrk.json": data}, "a.mrk.json")
    return Case(
        "slicer", name, "study", {"a.mrk.json": _dump(d)}, "a.mrk.json", expect, {"a.mrk.json": seeds.slicer}
    )


#: DICOM header edits: keyword -> values; geometry edits must be refused (:attr:`Expect.ERROR`).
GEOMETRY_EDITS = {
    "Rows": (-1, +1, 60000),
    "Columns": (-1, +1, 60000),
    "BitsAllocated": (8, 32, 1),
}
OTHER_EDITS = {
    "BitsStored": (17, 0, 1),
    "HighBit": (31, 0),
    "SamplesPerPixel": (3, 0),
    "PhotometricInterpretation": ("RGB", "PALETTE COLOR", "NOPE"),
    "PixelRepresentation": (1, 7),
    "NumberOfFrames": (2, 0, -1),
    "PatientAge": ("-01Y", "999Y", "abc"),
    "ImagerPixelSpacing": (["-1", "-1"], [0, 0], ["1e-300", "1e-300"]),
}


def film_case(rng: random.Random, seeds: Seeds, *, names: Sequence[str] | None = None) -> Case:
    """A mutated DICOM film of one transfer syntax (or a real NEMA film)."""
    name = rng.choice(sorted(names or seeds.films))
    raw = seeds.films[name]
    what = rng.choice(
        ("geometry", "spacing", "spacing", "other", "syntax", "vr", "trailing", "header bytes", "bytes")
    )
    if what in ("vr", "trailing", "header bytes", "bytes"):
        return _byte_edit(rng, name, raw, what)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom says an edited value is invalid: that is the point
        try:
            return _header_edit(rng, name, raw, what)
        except (ValueError, TypeError, OverflowError) as e:  # a value pydicom will not take: no case
            return Case(
                "dicom", f"{name} {what} (unwritable: {type(e).__name__})", "film", {"f.dcm": raw}, "f.dcm"
            )


def _header_edit(rng: random.Random, name: str, raw: bytes, what: str) -> Case:
    """Rows, Columns, Bits Allocated, Pixel Spacing, other image-pixel elements or the transfer syntax edited."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(raw))
    expect, factor = Expect.ANY, 1.0
    if what == "geometry":
        key = rng.choice(sorted(GEOMETRY_EDITS))
        change = rng.choice(GEOMETRY_EDITS[key])
        value = change if abs(change) > 1 else getattr(ds, key) + change
        if key == "BitsAllocated" and value == ds.BitsAllocated:
            value = 16 if value != 16 else 8
        setattr(ds, key, value)
        label, expect = f"{key} = {value}", Expect.ERROR
    elif what == "spacing":
        spacing = [float(v) for v in ds.get("PixelSpacing", [1.0, 1.0])]
        target = rng.choice(PLAUSIBLE_FACTORS + IMPLAUSIBLE_FACTORS)
        ds.PixelSpacing = [f"{target:.6g}", f"{target * spacing[1] / spacing[0]:.6g}"]
        factor = float(ds.PixelSpacing[0]) / spacing[0]
        label = f"PixelSpacing {target:g}"
        low, high = PLAUSIBLE_MM_PER_PX
        expect = Expect.SAME_PIXELS if low <= target <= high else Expect.REFUSED
    elif what == "other":
        key = rng.choice(sorted(OTHER_EDITS))
        value = rng.choice(OTHER_EDITS[key])
        setattr(ds, key, value)
        label = f"{key} = {value!r}"
    else:
        value = rng.choice(
            (
                "1.2.3.4",
                "not a uid",
                "1.2.840.10008.1.2.4.50",
                "1.2.840.10008.1.2.5",
                "1.2.840.10008.1.2.4.90",
                "1.2.840.10008.1.2",
                "1.2.840.10008.1.2.2",
            )
        )
        ds.file_meta.TransferSyntaxUID = value
        label = f"TransferSyntaxUID = {value}"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    files = {"f.dcm": buffer.getvalue()}
    return Case("dicom", f"{name} {label}", "film", files, "f.dcm", expect, {"f.dcm": raw}, factor)


def _byte_edit(rng: random.Random, name: str, raw: bytes, what: str) -> Case:
    files = lambda data: {"f.dcm": data}  # noqa: E731
    if what == "vr":
        i = raw.find(b"\x28\x00\x30\x00DS")  # (0028,0030) Pixel Spacing, explicit VR
        if i < 0:
            return Case("dicom", f"{name} unknown VR (implicit: unchanged)", "film", files(raw), "f.dcm")
        data = raw[: i + 4] + b"ZZ" + raw[i + 6 :]
        return Case("dicom", f"{name} unknown VR on PixelSpacing", "film", files(data), "f.dcm")
    if what == "trailing":
        size = rng.choice((1, 1024, 1 << 20, 8 << 20))
        return Case(
            "dicom",
            f"{name} {size} zero bytes appended",
            "film",
            files(raw + bytes(size)),
            "f.dcm",
            Expect.SAME_PIXELS,
            files(raw),
        )
    if what == "header bytes":
        b = bytearray(raw)
        for _ in range(rng.choice((1, 4))):
            b[rng.randrange(128, min(len(b), 2048))] ^= 1 << rng.randrange(8)
        return Case("dicom", f"{name} header bytes flipped", "film", files(bytes(b)), "f.dcm")
    label, data = byte_mutations(rng, raw)
    return Case("dicom", f"{name} {label}", "film", files(data), "f.dcm")


def picture_case(rng: random.Random, seeds: Seeds) -> Case:
    """A mutated PNG, JPEG or TIFF."""
    name = rng.choice(sorted(seeds.pictures))
    raw = seeds.pictures[name]
    if name.endswith(".png") and rng.random() < 0.3:
        w, h = rng.choice(((60000, 60000), (0, 900), (360, 1), (1 << 31 - 1, 2)))
        ihdr = struct.pack(">II", w, h) + raw[24:29]
        crc = struct.pack(">I", __import__("zlib").crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
        data = raw[:16] + ihdr + crc + raw[33:]
        return Case("picture", f"{name} IHDR {w}x{h}", "picture", {name: data}, name, Expect.ERROR)
    label, data = byte_mutations(rng, raw)
    return Case("picture", f"{name} {label}", "picture", {name: data}, name)


READERS: dict[str, Callable[[random.Random, Seeds], Case]] = {
    "json": landmark_json_case,
    "csv": wide_csv_case,
    "mat": mat_case,
    "slicer": slicer_case,
    "dicom": film_case,
    "picture": picture_case,
}


def all_swaps(seeds: Seeds) -> list[Case]:
    """Every swap of two point labels on the lateral and the AP seed (the issue's 9 901 on the demo films)."""
    cases = []
    for raw in (seeds.lateral_json, seeds.ap_json):
        names = sorted(json.loads(raw)["points"])
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                d = json.loads(raw)
                d["points"][a], d["points"][b] = d["points"][b], d["points"][a]
                cases.append(
                    Case(
                        "swaps",
                        f"swap {a} {b}",
                        "study",
                        {"lm.json": _dump(d)},
                        "lm.json",
                        Expect.SAME,
                        {"lm.json": raw},
                    )
                )
    return cases


def aasce_permutations(folder: Path = SHARED / "aasce-dev" / "labels") -> list[Case]:
    """Each real AASCE label with one vertebra's corners moved one place round, or swapped left-right."""
    import scipy.io

    cases = []
    for path in sorted(folder.glob("*.mat")):
        raw = path.read_bytes()
        p2 = scipy.io.loadmat(io.BytesIO(raw))["p2"]
        for v in range(17):
            for kind, order in (("rotate", [2, 0, 3, 1]), ("left-right", [1, 0, 3, 2])):
                q = p2.copy()
                q[4 * v : 4 * v + 4] = p2[4 * v : 4 * v + 4][order]
                buffer = io.BytesIO()
                scipy.io.savemat(buffer, {"p2": q})
                cases.append(
                    Case(
                        "aasce",
                        f"{path.stem} {kind} vertebra {v}",
                        "study",
                        {"a.mat": buffer.getvalue()},
                        "a.mat",
                        Expect.SAME,
                        {"a.mat": raw},
                    )
                )
    return cases


def generate(reader: str, seeds: Seeds, n: int, seed: int) -> list[Case]:
    """*n* cases of one reader, the same for the same *seed*."""
    make = READERS[reader]
    return [make(random.Random(f"{seed}/{reader}/{i}"), seeds) for i in range(n)]


# ----------------------------------------------------------------------------- running


def _summary_of_study(study: Any) -> list[dict[str, Any]]:
    from spinecheck.alignment.parameters import PARAMETERS

    m = study.measurements
    out = []
    for i in range(len(study)):
        values = {pid: _number(m.values[pid][i]) for pid in m.values}
        graded = []
        for c in study.assessment.columns:
            if (
                c.parameter in m.values
                and c.applied[i]
                and not math.isfinite(float(m.values[c.parameter][i]))
            ):
                graded.append(c.id)
        out.append(
            {
                "view": str(m.views[i].value if hasattr(m.views[i], "value") else m.views[i]),
                "values": values,
                "units": {pid: PARAMETERS[pid].unit for pid in values if pid in PARAMETERS},
                "warnings": list(m.warnings[i]),
                "graded_withheld": graded,
            }
        )
    return out


def _number(v: Any) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _summary_of_report(report: dict[str, Any]) -> dict[str, Any]:
    params = report.get("parameters", {})
    values = {k: p.get("value") for k, p in params.items()}
    judged = _criterion_parameters()
    graded = [
        row["id"]
        for row in report.get("criteria", [])
        if row.get("id") in judged
        and judged[row["id"]] in values
        and values[judged[row["id"]]] is None
        and any(row.get(key) is not None for key in ("grade", "flag", "category"))
    ]
    return {
        "view": report.get("view"),
        "values": values,
        "units": {k: p.get("unit") for k, p in params.items()},
        "warnings": list(report.get("warnings", [])),
        "graded_withheld": graded,
    }


def _criterion_parameters() -> dict[str, str]:
    """Criterion id -> the parameter it judges, read from the shipped criterion sets (data, not the engine)."""
    import spinecheck

    folder = Path(spinecheck.__file__).parent / "alignment" / "criteria" / "sets"
    out = {}
    for path in sorted(folder.glob("*.json")):
        for c in json.loads(path.read_text(encoding="utf-8")).get("criteria", []):
            if isinstance(c, dict) and c.get("id") and c.get("parameter"):
                out[c["id"]] = c["parameter"]
    return out


def _summary_of_film(radiograph: Any, header: Any) -> dict[str, Any]:
    pixels = np.asarray(radiograph.pixels)
    return {
        "rows": int(header.rows),
        "columns": int(header.columns),
        "shape": list(pixels.shape),
        "pixels": hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest(),
        "mm_per_px": _spacing(radiograph),
        "finite": bool(np.isfinite(pixels).all()),
    }


def _spacing(radiograph: Any) -> list[float] | None:
    cal = getattr(radiograph, "calibration", None)
    spacing = getattr(cal, "mm_per_px", None)
    return None if spacing is None else [float(s) for s in spacing]


def _api(case: Case, folder: Path, files: dict[str, bytes]) -> Any:
    """Read *files* through the API; the summary, or raise."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    path = str(folder / case.main)
    if case.kind == "study":
        from spinecheck.alignment.study import load_study

        return _summary_of_study(load_study(path, image=str(folder / case.image) if case.image else None))
    from spinecheck.landmarks.imaging.radiograph import load_radiograph, read_radiograph_header

    return _summary_of_film(load_radiograph(path), read_radiograph_header(path))


def _cli_argv(case: Case, folder: Path) -> list[str]:
    path = str(folder / case.main)
    if case.kind == "study":
        return ["measure", path, "--format", "json"] + (
            ["--image", str(folder / case.image)] if case.image else []
        )
    return ["info", path, "--format", "json"]


def _child(case: Case, mode: str, folder: Path, payload_path: Path) -> None:
    """In the forked child: run the case and the reference, write what happened as JSON."""
    from spinecheck.landmarks.errors import SpinecheckError

    payload: dict[str, Any] = {}
    if case.reference is not None:
        ref_folder = folder / "reference"
        ref_folder.mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                payload["reference"] = _api(case, ref_folder, case.reference)
            except SpinecheckError as e:
                payload["reference_error"] = str(e)
    if mode == "api":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                payload["result"] = _api(case, folder, case.files)
            except SpinecheckError as e:
                payload["error"] = ["clean", type(e).__name__, str(e)[:300]]
            except BaseException as e:  # noqa: BLE001 - classifying every way out is the point
                payload["error"] = ["internal", type(e).__name__, str(e)[:300]]
        payload["warnings"] = [str(w.message)[:200] for w in caught]
    else:
        from spinecheck.cli import main

        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        warnings.resetwarnings()  # as in a fresh process: not the test runner's filters and log handlers
        warnings.simplefilter("default")
        logging.root.handlers.clear()
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            payload["exit"] = main(_cli_argv(case, folder))
        except SystemExit as e:
            payload["exit"] = e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # noqa: BLE001
            payload["exit"] = 1
            print(f"uncaught {type(e).__name__}: {e}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    payload_path.write_text(json.dumps(payload, allow_nan=True))


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def run_case(
    case: Case, mode: str = "api", *, timeout: float = TIMEOUT_S, memory: int = MEMORY_HEADROOM_BYTES
) -> Result:
    """Run *case* in a forked child (``mode`` ``"api"`` or ``"cli"``) and classify it."""
    folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-"))
    try:
        out_path, err_path, payload_path = folder / ".stdout", folder / ".stderr", folder / ".payload"
        limit = _address_space() + memory
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                faulthandler.disable()  # a fatal signal is the parent's to see, not a stack dump on its stderr
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                for fd, path in ((1, out_path), (2, err_path)):
                    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                    os.dup2(target, fd)
                    os.close(target)
                _child(case, mode, folder, payload_path)
            finally:
                os._exit(0)
        status = _wait(pid, timeout)
        stdout = out_path.read_bytes() if out_path.exists() else b""
        stderr = err_path.read_bytes() if err_path.exists() else b""
        payload = json.loads(payload_path.read_text()) if payload_path.exists() else None
        outcome, detail = classify(case, mode, status, payload, stdout, stderr)
        return Result(case, mode, outcome, detail)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait(pid: int, timeout: float) -> int | None:
    """The child's wait status, or None when it ran past *timeout* (then it is killed)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def run_subprocess(case: Case, *, timeout: float = TIMEOUT_S, memory: int = 3 * 1024**3) -> Result:
    """Run *case* through the installed ``spinecheck`` command (a real process), and classify it."""
    folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-"))
    try:
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        command = shutil.which("spinecheck") or sys.executable
        argv = [command] if command.endswith("spinecheck") else [command, "-m", "spinecheck.cli"]
        payload: dict[str, Any] = {}
        if case.reference is not None:
            ref = folder / "reference"
            ref.mkdir()
            with contextlib.suppress(Exception), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                payload["reference"] = _api(case, ref, case.reference)

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        try:
            done = subprocess.run(
                argv + _cli_argv(case, folder),
                capture_output=True,
                timeout=timeout,
                preexec_fn=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Result(case, "process", Outcome.CRASH, f"timeout after {timeout:g} s")
        rc = done.returncode
        payload["exit"] = rc if rc >= 0 else None
        status = (rc << 8) if rc >= 0 else -rc
        outcome, detail = classify(case, "cli", status, payload, done.stdout, done.stderr)
        return Result(case, "process", outcome, detail)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- the oracle


def classify(
    case: Case, mode: str, status: int | None, payload: dict | None, stdout: bytes, stderr: bytes
) -> tuple[Outcome, str]:
    """The outcome of one run from its wait *status*, what the child said and its output."""
    if status is None:
        return Outcome.CRASH, "timeout"
    if os.WIFSIGNALED(status):
        return Outcome.CRASH, f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    if payload is None:
        return Outcome.CRASH, f"the child said nothing; stderr {_tail(stderr)}"
    reference = payload.get("reference")
    if mode == "api":
        if "error" in payload:
            kind, name, message = payload["error"]
            if kind == "clean":
                return Outcome.CLEAN_ERROR, f"{name}: {message[:120]}"
            return Outcome.INTERNAL_ERROR, f"{name}: {message[:160]}"
        result = payload["result"]
    else:
        code = payload.get("exit")
        lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        if code == 2:
            if len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in lines[0]:
                return Outcome.CLEAN_ERROR, lines[0][:160]
            return Outcome.INTERNAL_ERROR, f"exit 2 with {len(lines)} stderr lines: {_tail(stderr)}"
        if code == 1:
            return Outcome.INTERNAL_ERROR, f"exit 1: {_tail(stderr)}"
        if code != 0:
            return Outcome.CRASH, f"exit {code}: {_tail(stderr)}"
        if any("Traceback" in line for line in lines):
            return Outcome.INTERNAL_ERROR, f"exit 0 with a traceback: {_tail(stderr)}"
        try:
            result = _cli_result(case, json.loads(stdout))
        except (ValueError, KeyError, TypeError) as e:
            return Outcome.INTERNAL_ERROR, f"exit 0 but stdout is no report: {e}"
    problem = judge(case, result, reference)
    return (Outcome.SILENT_WRONG, problem) if problem else (Outcome.OK, "")


def _tail(data: bytes) -> str:
    text = " | ".join(data.decode("utf-8", "replace").strip().splitlines()[-3:])
    return text[:200]


def _cli_result(case: Case, output: Any) -> Any:
    if case.kind == "study":
        reports = output if isinstance(output, list) else [output]
        return [_summary_of_report(r) for r in reports]
    spacing = output.get("mm_per_px")
    return {
        "rows": output["rows"],
        "columns": output["columns"],
        "shape": [output["rows"], output["columns"]],
        "pixels": None,
        "mm_per_px": None if spacing is None else [float(s) for s in spacing],
        "finite": True,
    }


def judge(case: Case, result: Any, reference: Any) -> str:
    """Why *result* is wrong for *case* ("" when it is right)."""
    if case.expect is Expect.ERROR:
        return "accepted a film whose geometry does not fit its data"
    if case.kind == "study":
        return _judge_studies(case, result, reference)
    return _judge_film(case, result, reference)


def _judge_studies(case: Case, studies: list[dict], reference: list[dict] | None) -> str:
    for i, s in enumerate(studies):
        problem = study_invariants(s)
        if problem:
            return f"study {i}: {problem}"
    if case.expect is Expect.ANY or reference is None:
        return ""
    if len(reference) != len(studies):
        return f"{len(studies)} studies where the reference has {len(reference)}"
    for i, (s, r) in enumerate(zip(studies, reference, strict=True)):
        problem = _compare(case, s, r)
        if problem:
            return f"study {i}: {problem}"
    return ""


def study_invariants(s: dict[str, Any]) -> str:
    """The invariants every measured study keeps, whatever its input ("" when it keeps them)."""
    v, units = s["values"], s["units"]
    for pid, value in v.items():
        if value is None:
            continue
        if not math.isfinite(value):
            return f"{pid} = {value}"
        if units.get(pid) == "deg" and abs(value) > 180:
            return f"{pid} = {value:.6g} deg, beyond ±180"
        if units.get(pid) == "mm" and abs(value) > MAX_DISTANCE_MM:
            return f"{pid} = {value:.6g} mm, beyond any film"
    for total, parts, sign in (("PI", ("PT", "SS"), 1), ("PI_LL", ("PI", "LL"), -1)):
        a, b, c = v.get(total), v.get(parts[0]), v.get(parts[1])
        if None not in (a, b, c) and abs(a - (b + sign * c)) > ANGLE_TOLERANCE_DEG:
            return f"{total} {a:.6g} != {parts[0]} {b:.6g} {'+' if sign > 0 else '-'} {parts[1]} {c:.6g}"
    if s["graded_withheld"]:
        return f"graded on a withheld value: {', '.join(s['graded_withheld'])}"
    return ""


def _compare(case: Case, s: dict[str, Any], r: dict[str, Any]) -> str:
    warned = bool(set(s["warnings"]) - set(r["warnings"]))
    mm = [pid for pid, unit in r["units"].items() if unit == "mm"]
    if case.expect is Expect.REFUSED:
        shown = [pid for pid in mm if s["values"].get(pid) is not None]
        return f"implausible calibration (x {case.factor:g}) gave {', '.join(shown)}" if shown else ""
    for pid, expected in r["values"].items():
        got = s["values"].get(pid)
        if expected is None or got is None:
            continue  # withheld, in the reference (nothing to compare) or now (allowed)
        if case.expect is Expect.SCALED and pid in mm:
            expected *= case.factor
        if abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
            if case.expect is Expect.SAME and warned:
                continue
            return f"{pid} {got:.6g} where {expected:.6g} is right, with no warning ({case.mutation})"
    return ""


def _judge_film(case: Case, f: dict[str, Any], reference: dict[str, Any] | None) -> str:
    if f["rows"] <= 0 or f["columns"] <= 0 or list(f["shape"][:2]) != [f["rows"], f["columns"]]:
        return f"pixels {f['shape']} for a film of {f['rows']} x {f['columns']}"
    if not f["finite"]:
        return "pixels that are not finite"
    spacing = f["mm_per_px"]
    low, high = PLAUSIBLE_MM_PER_PX
    if spacing is not None and not all(low <= s <= high for s in spacing):
        return f"an implausible pixel spacing {spacing} accepted"
    if case.expect is Expect.SAME_PIXELS and reference is not None:
        if f["pixels"] is not None and f["pixels"] != reference["pixels"]:
            return "different pixels after an edit that left the pixel data alone"
        if spacing is not None and reference["mm_per_px"] is not None:
            expected = [s * case.factor for s in reference["mm_per_px"]]
            if not np.allclose(spacing, expected, rtol=1e-6):
                return f"spacing {spacing} where {expected} is right"
    return ""


# ----------------------------------------------------------------------------- campaigns


def warm_up(seeds: Seeds) -> None:
    """Import the readers and read each seed once in this process, so forked children start warm."""
    import spinecheck.cli  # noqa: F401
    from spinecheck.alignment.study import load_study
    from spinecheck.landmarks.errors import SpinecheckError

    folder = Path(tempfile.mkdtemp(prefix="spinecheck-fuzz-warm-"))
    try:
        for name, data in (
            ("a.json", seeds.lateral_json),
            ("b.json", seeds.ap_json),
            ("t.csv", seeds.csv),
            ("a.mat", seeds.mat),
            ("a.mrk.json", seeds.slicer),
        ):
            (folder / name).write_bytes(data)
            with warnings.catch_warnings(), contextlib.suppress(SpinecheckError):
                warnings.simplefilter("ignore")
                load_study(str(folder / name))
        for name in sorted(seeds.films)[:1]:
            _api(
                Case("dicom", "warm", "film", {"f.dcm": seeds.films[name]}, "f.dcm"),
                folder,
                {"f.dcm": seeds.films[name]},
            )
        for name, data in seeds.pictures.items():
            _api(Case("picture", "warm", "picture", {name: data}, name), folder, {name: data})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def campaign(cases: Iterable[Case], modes: Sequence[str] = ("api", "cli"), **limits: float) -> list[Result]:
    """Run every case in every mode."""
    return [run_case(case, mode, **limits) for case in cases for mode in modes]  # type: ignore[arg-type]


def counts(results: Sequence[Result]) -> dict[str, Counter]:
    """Outcome counts per reader (and ``"total"``)."""
    table: dict[str, Counter] = {}
    for r in results:
        for key in (r.case.reader, "total"):
            table.setdefault(key, Counter())[r.outcome] += 1
    return table


def counts_table(results: Sequence[Result]) -> str:
    """The counts as a fixed-width text table: runs, clean errors, internal errors, crashes, silent wrong, ok."""
    columns = ("runs", *[o.value for o in Outcome])
    lines = [f"{'reader':<10}" + "".join(f"{c:>16}" for c in columns)]
    table = counts(results)
    for reader in [*sorted(k for k in table if k != "total"), "total"]:
        if reader not in table:
            continue
        c = table[reader]
        lines.append(f"{reader:<10}{sum(c.values()):>16}" + "".join(f"{c[o]:>16}" for o in Outcome))
    return "\n".join(lines)


def failures(
    results: Sequence[Result],
    outcomes: Iterable[Outcome] = (Outcome.INTERNAL_ERROR, Outcome.CRASH, Outcome.SILENT_WRONG),
) -> list[str]:
    """One line per run with a bad outcome: reader, mode, mutation, outcome, detail."""
    bad = set(outcomes)
    return [
        f"{r.case.reader} [{r.mode}] {r.case.mutation}: {r.outcome.value}: {r.detail}"
        for r in results
        if r.outcome in bad
    ]
