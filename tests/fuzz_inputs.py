"""Fuzzing inputs (issue 13, point 5): the seed files and the mutators of every reader.

The seeds are generated (1 mm/px synthetic lateral and AP films, 900 x 360 px, their landmark
files in every format, the film as DICOM of each transfer syntax and as PNG/JPEG/TIFF), plus the
real NEMA films of ``../shared/data`` when present. A mutator takes a :class:`random.Random` and
the seeds and returns one :class:`Case`: the mutated files and what a right answer must satisfy
(:class:`Expect`). Running and judging the cases is :mod:`fuzzing`.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import random
import struct
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: A plausible pixel spacing of a radiograph, mm per pixel, in the plane where it is given. Digital
#: detectors have pixel pitches of 0.1-0.2 mm (CR plates 0.1-0.2 mm, DX flat panels 0.139-0.2 mm), a
#: downsampled export rarely exceeds 1 mm; 0.02 and 2 leave a factor of 5-10 either side.
PLAUSIBLE_MM_PER_PX = (0.02, 2.0)


class Expect(str, enum.Enum):
    """What a right answer to a case must satisfy beyond the invariants."""

    ANY = "any"  # the invariants only
    SAME = "same"  # every parameter as in the reference, or withheld, or warned
    SCALED = "scaled"  # mm values x factor, angles unchanged (calibration scaled)
    REFUSED = "refused"  # a clean error, or every mm value withheld (implausible calibration)
    SAME_PIXELS = "same pixels"  # a result must decode to the reference's pixel values, in its shape


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
# fmt: off
JSON_JUNK: tuple[Any, ...] = (
    float("nan"), float("inf"), -float("inf"), 1e300, -1e300, 1e6, -1e6, 0, "12", "12,7", None, True, [], {},
    [1.0], [1.0, 2.0, 3.0], "nan", -0.0, 2**70,
)
#: What a wide-CSV cell is replaced with.
CSV_JUNK = (
    "", "nan", "inf", "-inf", "1e300", "-1e300", "abc", " 12 ", "1,5", "0x10", "=1+1", "1e-320", "\x00", "１２",
    "9" * 400, '"', "12;13",
)
# fmt: on
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


#: DICOM header edits: keyword -> values. A geometry edit must be refused, or decode to the same pixel values
#: (a compressed stream carries its own geometry: Bits Allocated 32 on a 16-bit JPEG 2000 can still be right).
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
        label, expect = f"{key} = {value}", Expect.SAME_PIXELS
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
        return Case(
            "picture", f"{name} IHDR {w}x{h}", "picture", {name: data}, name, Expect.SAME_PIXELS, {name: raw}
        )
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
