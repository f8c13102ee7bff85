"""Automatic landmarks on real AP films: 5-fold cross-validation of the landmark model on aasce-train.

Each fold's network (trained by ``python -m spinecheck.landmarks.detect.training --fold K``, see the
model card) reads the films its training never saw (``RUN/foldK/heldout.txt``: whole patients), through
the same :func:`spinecheck.landmarks.detect.detect` that ``spinecheck detect`` uses (the film loaded
by :func:`~spinecheck.landmarks.load_radiograph`, read with its mirror image, the column checked).
The detected corners are compared with the dataset's labels:

- per-corner error (Euclidean, film pixels and % of the film's height): median and 90th percentile;
- ``Cobb_max`` (the largest angle between any two of the 17 vertebrae's left-right midlines, the
  dataset's first angle) against ``angles.csv``'s ``angle1_deg``;
- the AASCE 2019 challenge's three angles, by its published rule (:func:`challenge_angles`,
  re-implemented here; checked against ``angles.csv`` on the labels themselves), and its SMAPE;
- the share of films refused by ``spinecheck detect``'s rules
  (:func:`spinecheck.landmarks.detect.refusal.read_detection`) and of films read with flags (a
  low-confidence point or film, a vertebra replaced), and the figures on the films read;
- inference time per film (``detect`` alone, the film already loaded) and the process's peak memory.

Films whose labels the training screen left out (``left_out.json``) are not scored: their labels
are wrong. Run: ``python bench/bench_detect.py --runs RUNS [--data ../shared/data/aasce-train]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
from spinecheck.landmarks import load_radiograph
from spinecheck.landmarks.detect import detect, load_model
from spinecheck.landmarks.detect.refusal import read_detection
from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES, read_aasce_mat


def _is_s(mid: np.ndarray) -> bool:
    """The challenge's S-curve test on the 34 endplate midpoints (top to bottom)."""
    n = len(mid)
    # a film whose T1 and L5 midpoints share a column divides by zero here, as the challenge's code does
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (mid[: n - 2, 1] - mid[n - 1, 1]) / (mid[0, 1] - mid[n - 1, 1])
        t2 = (mid[: n - 2, 0] - mid[n - 1, 0]) / (mid[0, 0] - mid[n - 1, 0])
        ll = (t1 - t2)[:, None]
        pair = ll @ ll.T
        return not abs(pair.sum() - np.abs(pair).sum()) < 1e-4


def challenge_angles(p2: np.ndarray, rows: int) -> tuple[float, float, float]:
    """The three Cobb angles (degrees) of the AASCE 2019 challenge from 68 corners.

    Each vertebra's line joins the midpoints of its left side (upper-left, lower-left) and right
    side; angle 1 is the largest angle between two such lines (vertebrae ``i`` and ``j = pos1[i]``).
    When the endplate midpoints do not bend both ways (not S), angle 2 is T1's line against the
    upper end vertebra and angle 3 L5's against the lower. On an S curve, angle 2 is the largest
    angle of the upper end vertebra with any vertebra above it, and angle 3: when the two end
    vertebrae lie in the upper half of the film (the sum of their rows under the film's height),
    the largest angle of the lower end vertebra with any below it, else the largest angle of the
    vertebra that angle 2 found with any above it.

    References
    ----------
    The challenge's evaluation code (SpineWeb / MICCAI AASCE 2019), as published with
    Yi J et al., Vertebra-focused landmark detection for scoliosis assessment, ISBI 2020.
    """
    p = np.asarray(p2, dtype=float)
    mid_v = (p[0::2] + p[1::2]) / 2
    left = (p[0::4] + p[2::4]) / 2
    right = (p[1::4] + p[3::4]) / 2
    vec = right - left
    norm = np.linalg.norm(vec, axis=1)
    ang = np.arccos(np.clip((vec @ vec.T) / np.outer(norm, norm), 0.0, 1.0))
    pos1 = np.argmax(ang, axis=1)
    maxt = ang.max(axis=1)
    pos2 = int(np.argmax(maxt))
    a1 = maxt.max()
    last = len(vec) - 1
    if not _is_s(mid_v):
        a2, a3 = ang[0, pos2], ang[last, pos1[pos2]]
    else:
        a2 = ang[pos2, : pos2 + 1].max()
        if mid_v[pos2 * 2, 1] + mid_v[pos1[pos2] * 2, 1] < rows:
            a3 = ang[pos1[pos2], pos1[pos2] :].max()
        else:
            upper = int(np.argmax(ang[pos2, : pos2 + 1]))
            a3 = ang[upper, : upper + 1].max()
    return float(np.degrees(a1)), float(np.degrees(a2)), float(np.degrees(a3))


def smape(pred: np.ndarray, truth: np.ndarray) -> float:
    """The challenge's SMAPE (%): per film, sum |pred - truth| / sum (pred + truth), then the mean."""
    num = np.abs(pred - truth).sum(1)
    den = (pred + truth).sum(1)
    return float(100 * np.mean(np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)))


def _angles_csv(data: Path) -> dict[str, np.ndarray]:
    with (data / "angles.csv").open(newline="") as f:
        return {
            r["image"]: np.array([float(r[k]) for k in ("angle1_deg", "angle2_deg", "angle3_deg")])
            for r in csv.DictReader(f)
        }


def _score_fold(
    run: Path, data: Path, truth_angles: dict[str, np.ndarray], limit: int, local: Path | None = None
) -> dict:
    """Per-film results of one fold's network (and its local stage) on its held-out films."""
    model = load_model(str(run / "model.onnx"), local=str(local / "model.onnx") if local else None)
    names = [n for n in (run / "heldout.txt").read_text().split("\n") if n][: limit or None]
    if local is not None and (local / "heldout.txt").read_text() != (run / "heldout.txt").read_text():
        raise SystemExit(f"{local}: its held-out films are not {run}'s: the two stages' folds differ")
    films = []
    for name in names:
        film = load_radiograph(data / "images" / name)
        labels = read_aasce_mat(data / "labels" / f"{name}.mat", image_shape=(film.rows, film.columns))
        truth = np.array(list(labels.points.values()))
        _ = film.display  # decoding and windowing are the loader's time, not the model's
        t0 = time.perf_counter()
        found = detect(film, model)
        seconds = time.perf_counter() - t0
        pred = found.as_array()
        err = np.hypot(*(pred - truth).T)
        a_pred = np.array(challenge_angles(pred, film.rows))
        a_rule = np.array(challenge_angles(truth, film.rows))
        reading = read_detection(found, image=film.image_ref)
        films.append(
            {
                "image": name,
                "corner_px": err.tolist(),
                "point_conf": [found.point_confidence[n] for n in AASCE_POINT_NAMES],
                "corner_pct": (100 * err / film.rows).tolist(),
                "pred3": a_pred.tolist(),
                "true3": truth_angles[name].tolist(),
                "rule_gap": np.abs(a_rule - truth_angles[name]).tolist(),
                "cobb_err": float(a_pred[0] - truth_angles[name][0]),
                "conf": found.film_confidence,
                "replaced": bool(found.replaced),
                "replaced_levels": len(found.replaced),
                "pred": pred.round(2).tolist(),
                "refused": not reading,
                "flagged": bool(reading) and bool(reading.flags),
                "seconds": seconds,
            }
        )
    return {"films": films, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "aasce-train")
    )
    ap.add_argument(
        "--runs", required=True, help="folder holding fold0 .. fold4, each with model.onnx, heldout.txt"
    )
    ap.add_argument(
        "--local",
        help="folder holding fold0 .. fold4 of the local stage (training_local), read after each first stage",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="score only this many films per fold (0: all)")
    ap.add_argument("--time-shipped", type=int, default=20, help="time the shipped model on this many films")
    ap.add_argument(
        "--save", help="folder for each fold's per-film results; a fold found there is not re-scored"
    )
    args = ap.parse_args(argv)
    data, runs = Path(args.data), Path(args.runs)
    truth_angles = _angles_csv(data)

    records: list[dict] = []
    peak_mb = 0.0
    for k in range(args.folds):
        saved = Path(args.save) / f"fold{k}.json" if args.save else None
        if saved is not None and saved.is_file():  # scored by an earlier run (--save)
            done = json.loads(saved.read_text())
        else:
            local = Path(args.local) / f"fold{k}" if args.local else None
            done = _score_fold(runs / f"fold{k}", data, truth_angles, args.limit, local)
            if saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(json.dumps(done))
        records += done["films"]
        peak_mb = max(peak_mb, done["peak_mb"])
        print(f"fold {k}: {len(done['films'])} held-out films scored", file=sys.stderr)

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in records])

    corner_px = [np.array(r["corner_px"]) for r in records]
    corner_pct = [np.array(r["corner_pct"]) for r in records]
    pred3, true3, rule_gap, cobb_err = col("pred3"), col("true3"), col("rule_gap"), col("cobb_err")
    conf, refused, flagged, replaced, seconds = (
        col("conf"),
        col("refused"),
        col("flagged"),
        col("replaced"),
        col("seconds"),
    )
    px, pct = np.concatenate(corner_px), np.concatenate(corner_pct)
    p3, t3 = np.array(pred3), np.array(true3)
    cobb = np.array(cobb_err)
    fl = np.array(flagged)
    rule = np.array(rule_gap)
    n = len(cobb)
    print(f"films scored: {n} (held out by patient, {args.folds} folds); corners: {len(px)}")
    print(
        "challenge rule on the labels vs angles.csv: "
        f"{100 * (rule < 0.05).all(1).mean():.1f} % of films within 0.05 deg"
    )
    print(
        f"corner error: median {np.median(px):.1f} px ({np.median(pct):.2f} % of film height), "
        f"90th percentile {np.percentile(px, 90):.1f} px ({np.percentile(pct, 90):.2f} %)"
    )
    per_film = np.array([np.median(e) for e in corner_px])
    print(f"per-film median corner error: median {np.median(per_film):.1f} px, worst {per_film.max():.0f} px")
    print(
        f"Cobb_max error vs angle1: MAE {np.abs(cobb).mean():.2f} deg, median |err| {np.median(np.abs(cobb)):.2f} deg, "
        f"bias {cobb.mean():+.2f} deg, 90th pct |err| {np.percentile(np.abs(cobb), 90):.2f} deg"
    )
    print(
        f"challenge SMAPE (3 angles): {smape(p3, t3):.2f} %; per angle MAE "
        + ", ".join(f"{np.abs(p3[:, i] - t3[:, i]).mean():.2f}" for i in range(3))
        + " deg"
    )
    ref = np.array(refused)
    for label, keep in (("read (not refused)", ~ref), ("read without flags", ~ref & ~fl)):
        if keep.any():
            print(
                f"  on the {keep.sum()} films {label}: SMAPE {smape(p3[keep], t3[keep]):.2f} %, "
                f"Cobb_max MAE {np.abs(cobb[keep]).mean():.2f} deg"
            )
    print(
        f"refused: {100 * ref.mean():.1f} % ({ref.sum()} of {n}); read with flags: {100 * fl.mean():.1f} % "
        f"({fl.sum()}); a vertebra replaced on {100 * np.mean(replaced):.1f} %; "
        f"film confidence median {np.median(conf):.2f}, 5th percentile {np.percentile(conf, 5):.2f}"
    )
    if all("point_conf" in r for r in records):
        pc = np.concatenate([r["point_conf"] for r in records])
        for cut in (0.3, 0.4, 0.5):
            low = pc < cut
            films_low = np.mean([min(r["point_conf"]) < cut for r in records])
            print(
                f"points under confidence {cut}: {100 * low.mean():.1f} %, median error {np.median(px[low]):.1f} px "
                f"(others {np.median(px[~low]):.1f} px); films with one: {100 * films_low:.1f} %"
            )
    s = np.array(seconds)
    print(
        f"inference per film, one fold's network (detect, film loaded): median {1000 * np.median(s):.0f} ms, "
        f"max {1000 * s.max():.0f} ms; peak memory of the process {peak_mb:.0f} MB"
    )
    if args.time_shipped:
        # the shipped model (all folds' networks together) on a few films: time only, these films
        # are among its training films
        names = [n for n in (runs / "fold0" / "heldout.txt").read_text().split("\n") if n][
            : args.time_shipped
        ]
        model = load_model()
        took = []
        for name in names:
            film = load_radiograph(data / "images" / name)
            _ = film.display
            t0 = time.perf_counter()
            detect(film, model)
            took.append(time.perf_counter() - t0)
        print(
            f"inference per film, shipped model {model.info.name} {model.info.version} ({len(names)} films): "
            f"median {1000 * np.median(took):.0f} ms, max {1000 * max(took):.0f} ms; peak memory of the "
            f"process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
