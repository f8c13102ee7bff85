"""Benchmark: load and window a tall 16-bit DX film, against pydicom's own decode.

Builds (in a temporary folder) a 7200 x 3000 radiograph-like DX image (smooth
exposure gradient, soft tissue, a spine of vertebral bodies and discs, ribs,
pelvis and quantum noise, so that compression behaves as on a film) stored
uncompressed and as JPEG 2000 lossless, with and without a header window. For
each file it times, best of several runs:

- pydicom: ``pydicom.dcmread(path).pixel_array``;
- spinecheck: ``load_radiograph(path).display`` (stored pixels, header reading,
  calibration, and the uint8 display image);

and measures peak memory in fresh subprocesses, relative to the decoded array
(rows x columns x 2 bytes): the rise of the resident set (``ru_maxrss``, all
memory, including the decoders' C buffers) and the ``tracemalloc`` peak (Python
and NumPy allocations only).

Targets (issue 3): time beyond pydicom's decode <= 20 %; peak memory <= 3 x the
decoded array.

Run: ``python bench/bench_load.py [--rows 7200 --cols 3000 --repeat 15 --j2k-repeat 3 --bits-stored 16]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def radiograph_like(rows: int, cols: int, bits_stored: int = 16, seed: int = 0) -> np.ndarray:
    """Return a MONOCHROME2 film of stored values: bone bright, direct exposure dark."""
    rng = np.random.default_rng(seed)
    y = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, cols, dtype=np.float32)[None, :]
    img = np.full((rows, cols), 1800.0, dtype=np.float32)
    img += 300 * y + 200 * x  # heel effect
    body = np.clip(1 - (x / 0.75) ** 2, 0, None) ** 0.5
    img += 5000 * body  # soft tissue across the trunk
    spine = np.exp(-(((x - 0.03 * np.sin(3 * y)) / 0.09) ** 2))  # a gentle scoliosis
    img += 4500 * spine * (0.75 + 0.25 * (np.cos(np.pi * 12 * y) > -0.6))  # bodies and discs
    img += 900 * (np.sin(40 * (y + 0.15 * x**2)) > 0.7) * (y < 0.1) * body  # ribs
    img += 3000 * np.exp(-(((np.abs(x) - 0.35) / 0.18) ** 2 + ((y - 0.62) / 0.12) ** 2))  # pelvis
    img += rng.normal(0, 40, size=(rows, cols)).astype(np.float32)
    img *= (2**bits_stored - 1) / 16383
    np.clip(img, 0, 2**bits_stored - 1, out=img)
    return img.astype(np.uint16)


def write_films(folder: Path, rows: int, cols: int, bits_stored: int) -> dict[str, Path]:
    """Write the uncompressed and JPEG 2000 lossless films, with and without a window."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import JPEG2000Lossless, generate_uid

    pixels = radiograph_like(rows, cols, bits_stored)
    lo, hi = np.percentile(pixels[::8, ::8], [1, 99])
    paths = {}
    for window in (True, False):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
        ds.Modality, ds.ViewPosition, ds.PatientOrientation = "DX", "LL", ["A", "F"]
        ds.PatientBirthDate, ds.StudyDate, ds.PatientSex = "19580101", "20240312", "F"
        ds.ImagerPixelSpacing = [0.15, 0.15]
        ds.EstimatedRadiographicMagnificationFactor = 1.12
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
        ds.PixelRepresentation = 0
        if window:
            ds.WindowCenter, ds.WindowWidth = f"{(lo + hi) / 2:.0f}", f"{hi - lo:.0f}"
        ds.PixelData = pixels.tobytes()
        tag = "window" if window else "percentiles"
        paths[f"uncompressed, {tag}"] = folder / f"unc_{tag}.dcm"
        ds.save_as(paths[f"uncompressed, {tag}"], enforce_file_format=True)
        ds.compress(JPEG2000Lossless, pixels)
        paths[f"JPEG 2000 lossless, {tag}"] = folder / f"j2k_{tag}.dcm"
        ds.save_as(paths[f"JPEG 2000 lossless, {tag}"], enforce_file_format=True)
    return paths


def _pydicom(path: Path) -> object:
    import pydicom

    return pydicom.dcmread(path).pixel_array


def _spinecheck(path: Path) -> object:
    from spinecheck.landmarks.imaging.radiograph import load_radiograph

    r = load_radiograph(path)
    return r.display, r


def _read_only(path: Path) -> object:
    import pydicom

    return pydicom.dcmread(path)


def _load_only(path: Path) -> object:
    from spinecheck.landmarks.imaging.radiograph import load_radiograph

    return load_radiograph(path)


def best_times(fns: dict, path: Path, repeat: int) -> dict[str, float]:
    """Best of *repeat* runs of each function, the functions interleaved run by run.

    Interleaving keeps a busy machine from favouring whichever ran first.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            result = fn(path)
            times[name].append(time.perf_counter() - t)
            del result
    return {name: min(ts) for name, ts in times.items()}


def _high_water_kb() -> int:
    """Peak resident set of this process in kB (VmHWM: exec resets it, ru_maxrss may not)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child(mode: str, which: str, path: str) -> None:
    """Run one load in this fresh process and print its peak memory as JSON."""
    import tracemalloc

    import pydicom  # noqa: F401 - imports (and their memory) before the measurement
    import spinecheck.landmarks.imaging.radiograph  # noqa: F401

    fn = _pydicom if which == "pydicom" else _spinecheck
    if mode == "rss":
        before = _high_water_kb()
        result = fn(Path(path))
        print(json.dumps({"bytes": (_high_water_kb() - before) * 1024}))
    else:
        tracemalloc.start()
        result = fn(Path(path))
        print(json.dumps({"bytes": tracemalloc.get_traced_memory()[1]}))
    del result


def peak_memory(mode: str, which: str, path: Path) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, which, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    return int(json.loads(out.stdout.strip().splitlines()[-1])["bytes"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=7200)
    parser.add_argument("--cols", type=int, default=3000)
    parser.add_argument("--bits-stored", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=15, help="runs per timing, uncompressed")
    parser.add_argument("--j2k-repeat", type=int, default=3, help="runs per timing, JPEG 2000")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return

    sys.path.insert(0, str(ROOT))
    from spinecheck.landmarks.imaging.pixel_decoding import decoder_available

    array_bytes = args.rows * args.cols * 2
    print(
        f"film {args.rows} x {args.cols}, 16 bits allocated, {args.bits_stored} stored; "
        f"decoded array {array_bytes / 1e6:.1f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        paths = write_films(Path(tmp), args.rows, args.cols, args.bits_stored)
        sizes = {name: path.stat().st_size for name, path in paths.items()}
        ratio = sizes["uncompressed, window"] / sizes["JPEG 2000 lossless, window"]
        print(
            f"(films written in {time.perf_counter() - t:.1f} s; J2K ratio {ratio:.2f}"
            f"; J2K decoder available: {decoder_available('1.2.840.10008.1.2.4.90')})\n"
        )
        print(
            f"{'file':<32} {'pydicom s':>10} {'ours s':>8} {'extra':>7} | {'dcmread':>7} "
            f"{'load':>6} {'display':>7} | peak RSS / array   | tracemalloc / array"
        )
        print(
            f"{'':<32} {'':>10} {'':>8} {'':>7} | {'s':>7} {'s':>6} {'s':>7} | pydicom     ours  | "
            "pydicom     ours"
        )
        for name, path in paths.items():
            repeat = args.repeat if name.startswith("uncompressed") else args.j2k_repeat
            t = best_times(
                {"pydicom": _pydicom, "ours": _spinecheck, "read": _read_only, "load": _load_only},
                path,
                repeat,
            )
            mem = {
                (m, w): peak_memory(m, w, path) / array_bytes
                for m in ("rss", "tracemalloc")
                for w in ("pydicom", "spinecheck")
            }
            extra = 100 * (t["ours"] / t["pydicom"] - 1)
            print(
                f"{name:<32} {t['pydicom']:>10.3f} {t['ours']:>8.3f} {extra:>+6.1f}% "
                f"| {t['read']:>7.3f} {t['load']:>6.3f} {t['ours'] - t['load']:>7.3f} | "
                f"{mem['rss', 'pydicom']:>7.2f} {mem['rss', 'spinecheck']:>8.2f}  | "
                f"{mem['tracemalloc', 'pydicom']:>7.2f} {mem['tracemalloc', 'spinecheck']:>8.2f}"
            )
        print(
            "\nextra: time of load_radiograph(path).display beyond pydicom's dcmread(path).pixel_array; "
            "dcmread: reading the file without decoding; load: load_radiograph alone (display is lazy); "
            "display: the rest. Memory: peak rise over the imports, in units of the decoded array."
        )


if __name__ == "__main__":
    main()
