"""Accuracy and speed of landmark refinement (issue 5).

(a) Real AASCE films (``../shared/data/aasce-dev``, ``labels_ok = yes``): every annotated
endplate's corners perturbed by Gaussian noise, sigma = 5 px (fixed seeds, several repeats);
median endplate-angle error against the annotation before and after refinement. A declined
endplate counts with its unrefined error.
(b) Generated films (``synthetic_lateral``, ``synthetic_ap``) at 0.2 and 0.4 mm/px (same anatomy):
femoral-head centre error from a click 10 mm off in a random direction; median, 90th percentile,
decline rate, ms per head. A declined head counts as the 10 mm click error. On lateral films the
headline is the way the hip axis uses the heads: both clicked 10 mm off (independent directions),
refined as a pair, each error after the better name assignment (the names are interchangeable,
formats.md §1), plus the hip-axis (midpoint) error; the single-click figure is kept, labelled.

(c) Generated films, lateral and AP at 0.2 mm/px: every endplate's corners perturbed by sigma = 5 px
(1 mm), refined through ``refine_landmarks`` (the path of ``spinecheck refine``); median endplate-angle
and corner-position error against the truth before and after, decline rate.

(d) Generated films, lateral and AP at 0.2 mm/px: each corner placed without its partner (the
lateral protocol's C7.sup.post is one), clicked sigma = 5 px off, refined through ``refine_point``
with the same body's other endplate and the S1 endplate placed (the tilt and the facing come from
them), and with nothing else placed; median and 90th-percentile corner error before and after.

(e) Real AP films, cross-validated (issue 12): the learned-shape refiner
(:mod:`spinecheck.landmarks.refine.shape`) on ``../shared/data/aasce-train``. The films whose labels
pass the plausibility checks are split into 5 folds by patient (the folds of the landmark
network's training, ``spinecheck.landmarks.detect.training.assign_folds``, seed 0: needs the
``[train]`` extra); for each fold a shape model is learned from the other four and every corner
T1..L5 of the fold's films is clicked sigma = 5 px off (fixed seeds, ``--repeats`` times), then
refined as ``spinecheck refine`` does (all corners at once, the clicks' error estimated from
the clicks). Median endplate-angle error (34 endplates per film) against the annotation before
and after, its reduction, and the median corner error.

(f) Real AP films, cross-validated (issue 12): the landmark model's refiner network (model 1.2;
``python -m spinecheck.landmarks.detect.training_local --refiner --fold K``, folder
``--refine-runs``) or, without it, its local stage (``--fold K`` without ``--refiner``, folder
``--local-runs``) as the AP refiner (:mod:`spinecheck.landmarks.refine.learned`). Each fold's
network reads the films it never saw (the shipped networks, which saw them, are not used); every
corner T1..L5 is clicked sigma = 5 px off and refined as ``spinecheck refine`` does
(``refine_ap_corners`` with the fold's networks and a shape learned on the other folds): refine
rule 2, each corner at 0.3 click + 0.4 shape + 0.3 network (close-ups framed by the shape's
corners). Median endplate-angle error before and after; beside it, on the same clicks, rule 1 (model
1.2 as first shipped: the shape's corner ``MODEL_WEIGHT`` of the way to the network's), the shape
alone, and the shape with the click term (0.3 click + 0.7 shape: where no network corner is used).
``--films N`` reads only the first N films of each fold (a trial run).

Run: ``python bench/bench_refine.py [--repeats N] [--seeds N] [--part a|b|c|d|e|f|all]
[--local-runs RUNS] [--refine-runs RUNS] [--films N]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from spinecheck.landmarks import (
    load_radiograph,
    read_aasce_mat,
    refine_endplate,
    refine_femoral_head,
    refine_landmarks,
    refine_point,
)
from spinecheck.landmarks.io.aasce import AASCE_LEVELS
from spinecheck.landmarks.refine.femoral_head import refine_femoral_head_pair
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "aasce-dev"


def _angle(p, q) -> float:
    return math.degrees(math.atan2(q[1] - p[1], q[0] - p[0]))


def _err(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


def bench_endplates(repeats: int) -> None:
    with open(DATA / "angles.csv", newline="") as f:
        images = [r["image"] for r in csv.DictReader(f) if r["labels_ok"] == "yes"]
    before, after, declined, seconds = [], [], 0, 0.0
    for k, image in enumerate(images):
        img = load_radiograph(DATA / "images" / image).display
        s = read_aasce_mat(DATA / "labels" / f"{image}.mat")
        rng = np.random.default_rng(k)
        for _ in range(repeats):
            for level in AASCE_LEVELS:
                for endplate, side in (("sup", "below"), ("inf", "above")):
                    p = np.array(s.points[f"{level}.{endplate}.left"])
                    q = np.array(s.points[f"{level}.{endplate}.right"])
                    pn, qn = p + rng.normal(0, 5, 2), q + rng.normal(0, 5, 2)
                    t0 = time.perf_counter()
                    fit = refine_endplate(img, pn, qn, body_side=side)
                    seconds += time.perf_counter() - t0
                    true = _angle(p, q)
                    e0 = _err(_angle(pn, qn), true)
                    before.append(e0)
                    if fit:
                        after.append(_err(fit.angle_deg, true))
                    else:
                        after.append(e0)
                        declined += 1
    n = len(before)
    b, a = float(np.median(before)), float(np.median(after))
    print(f"(a) AASCE endplates: {len(images)} films x {repeats} repeats, {n} endplates, sigma 5 px")
    print(
        f"    median angle error before {b:.3f} deg, after {a:.3f} deg ({1 - a / b:+.1%} reduction; target >= 40 %)"
    )
    print(
        f"    90th percentile before {np.percentile(before, 90):.3f}, after {np.percentile(after, 90):.3f} deg"
    )
    print(f"    declined {declined / n:.1%}; {1000 * seconds / n:.1f} ms per endplate")


def _single_clicks(film, spacing: float, seed: int):
    """Each head alone, clicked 10 mm off in a random direction: errors (mm) and seconds."""
    rng = np.random.default_rng(100 + seed)
    out = []
    for name in ("FH.left", "FH.right"):
        true = np.array(film.landmarks.points[name])
        for _ in range(3):
            a = rng.uniform(0, 2 * math.pi)
            click = true + 10.0 / spacing * np.array([math.cos(a), math.sin(a)])
            t0 = time.perf_counter()
            fit = refine_femoral_head(film.pixels, click, mm_per_px=spacing)
            dt = time.perf_counter() - t0
            out.append((math.dist(fit.circle.center, true) * spacing if fit else None, dt))
    return out


def _pair_clicks(film, spacing: float, seed: int):
    """Both heads clicked 10 mm off (independent directions), refined as a pair.

    Per repeat: the two centre errors (mm) after the better name assignment, the hip-axis
    (midpoint) error (mm), and the seconds; None errors when declined.
    """
    rng = np.random.default_rng(200 + seed)
    tl, tr = (np.array(film.landmarks.points[n]) for n in ("FH.left", "FH.right"))
    out = []
    for _ in range(3):
        a, b = rng.uniform(0, 2 * math.pi, 2)
        clicks = [
            tl + 10.0 / spacing * np.array([math.cos(a), math.sin(a)]),
            tr + 10.0 / spacing * np.array([math.cos(b), math.sin(b)]),
        ]
        t0 = time.perf_counter()
        pair = refine_femoral_head_pair(film.pixels, clicks, mm_per_px=spacing)
        dt = time.perf_counter() - t0
        if not pair:
            out.append((None, None, dt))
            continue
        p, q = (np.array(f.circle.center) for f in pair.fits)
        straight = [math.dist(p, tl) * spacing, math.dist(q, tr) * spacing]
        crossed = [math.dist(p, tr) * spacing, math.dist(q, tl) * spacing]
        axis = math.dist((p + q) / 2, (tl + tr) / 2) * spacing
        out.append((min(straight, crossed, key=sum), axis, dt))
    return out


def _summary(errors: list[float | None], seconds: float, heads: int) -> str:
    e = np.array([10.0 if v is None else v for v in errors])
    declined = sum(v is None for v in errors) / len(errors)
    return (
        f"median {np.median(e):.2f} mm (target <= 1), p90 {np.percentile(e, 90):.2f} mm, "
        f"declined {declined:.1%}, {1000 * seconds / heads:.0f} ms per head"
    )


def bench_heads(seeds: int, spacings: tuple[float, ...] = (0.2, 0.4)) -> None:
    """(b): declined heads count as the 10 mm click error; lateral headline = both heads clicked."""
    for spacing in spacings:
        for label, gen in (("lateral", synthetic_lateral), ("ap", synthetic_ap)):
            films = [gen(seed, mm_per_px=spacing) for seed in range(seeds)]
            size = "x".join(str(v) for v in films[0].pixels.shape)
            where = f"{seeds} films ({size}, {spacing} mm/px)"
            single = [r for seed, film in enumerate(films) for r in _single_clicks(film, spacing, seed)]
            if label == "lateral":
                pairs = [r for seed, film in enumerate(films) for r in _pair_clicks(film, spacing, seed)]
                errors = [e for errs, _, _ in pairs for e in (errs if errs else (None, None))]
                axes = np.array([10.0 if ax is None else ax for _, ax, _ in pairs])
                print(
                    f"(b) femoral heads, lateral, both heads clicked 10 mm off, refined as a pair, "
                    f"{len(pairs)} pairs on {where}: {_summary(errors, sum(r[2] for r in pairs), len(errors))}; "
                    f"hip axis median {np.median(axes):.2f} mm, p90 {np.percentile(axes, 90):.2f} mm"
                )
            print(
                f"(b) femoral heads, {label}, single click 10 mm off, {len(single)} clicks on {where}: "
                f"{_summary([e for e, _ in single], sum(t for _, t in single), len(single))}"
            )


def bench_synthetic_endplates(seeds: int) -> None:
    for view, make in (("lateral", synthetic_lateral), ("ap", synthetic_ap)):
        before, after, moved_before, moved_after, declined, endplates, seconds = [], [], [], [], 0, 0, 0.0
        for seed in range(seeds):
            film = make(seed)
            truth = film.landmarks
            corners = ("ant", "post") if view == "lateral" else ("left", "right")
            rng = np.random.default_rng(100 + seed)
            rough = {
                n: (x + rng.normal(0, 5), y + rng.normal(0, 5)) if n.endswith(corners) else (x, y)
                for n, (x, y) in truth.points.items()
            }
            names = [n for n in rough if n.endswith(corners)]
            image = (film.pixels >> 4).astype(np.uint8)
            t0 = time.perf_counter()
            refined = refine_landmarks(
                image, truth.replace(points=rough, circles={}), mm_per_px=film.mm_per_px, names=names
            )
            seconds += time.perf_counter() - t0
            declined += sum(1 for n in names if n in refined.refinement.declined)
            for n in names:
                moved_before.append(math.dist(rough[n], truth.points[n]))
                moved_after.append(math.dist(refined.points[n], truth.points[n]))
            for n in names:
                if not n.endswith(corners[0]):
                    continue
                m = n[: -len(corners[0])] + corners[1]
                true = _angle(truth.points[n], truth.points[m])
                before.append(_err(_angle(rough[n], rough[m]), true))
                after.append(_err(_angle(refined.points[n], refined.points[m]), true))
                endplates += 1
        b, a = float(np.median(before)), float(np.median(after))
        print(
            f"(c) generated {view} films (0.2 mm/px), {seeds} films, {endplates} endplates, corners sigma 5 px: "
            f"median angle error {b:.2f} -> {a:.2f} deg ({1 - a / b:+.0%}), median corner error "
            f"{np.median(moved_before):.1f} -> {np.median(moved_after):.1f} px, "
            f"declined {declined / max(len(moved_before), 1):.0%}, "
            f"{1000 * seconds / max(endplates, 1):.0f} ms per endplate"
        )


def bench_lone_corners(seeds: int) -> None:
    """(d): a corner placed without its partner, refined through ``refine_point`` (the window's path)."""
    for view, make in (("lateral", synthetic_lateral), ("ap", synthetic_ap)):
        first, second = ("post", "ant") if view == "lateral" else ("left", "right")
        for label, with_context in (
            ("the body's other endplate placed", True),
            ("nothing else placed", False),
        ):
            before, after, declined, seconds = [], [], 0, 0.0
            for seed in range(seeds):
                film = make(seed)
                truth = film.landmarks.points
                rng = np.random.default_rng(300 + seed)
                for name in truth:
                    bits = name.split(".")
                    if len(bits) != 3 or bits[0] in ("S1", "C2"):
                        continue
                    other = "inf" if bits[1] == "sup" else "sup"
                    pair = [f"{bits[0]}.{other}.{first}", f"{bits[0]}.{other}.{second}"]
                    if not all(n in truth for n in pair):
                        continue
                    context = {n: truth[n] for n in [*pair, "S1.sup.ant", "S1.sup.post"] if n in truth}
                    click = tuple(np.array(truth[name]) + rng.normal(0, 5, 2))
                    pts = {**context, name: click} if with_context else {name: click}
                    t0 = time.perf_counter()
                    out = refine_point(film.pixels, name, pts, view=view, mm_per_px=film.mm_per_px)
                    seconds += time.perf_counter() - t0
                    before.append(math.dist(click, truth[name]))
                    if out:
                        after.append(math.dist(out.moves[name].refined, truth[name]))
                    else:
                        after.append(before[-1])
                        declined += 1
            n = len(before)
            print(
                f"(d) lone corners, generated {view} films (0.2 mm/px), {label}: {n} corners, sigma 5 px: "
                f"median error {np.median(before):.1f} -> {np.median(after):.1f} px, p90 "
                f"{np.percentile(before, 90):.1f} -> {np.percentile(after, 90):.1f} px, declined "
                f"{declined / n:.0%}, {1000 * seconds / n:.0f} ms per corner"
            )


TRAIN = DATA.parent / "aasce-train"


def bench_shape_cv(repeats: int, folds: int = 5) -> None:
    from spinecheck.landmarks.detect.training import assign_folds, screen_labels
    from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES
    from spinecheck.landmarks.refine.shape import learn_shape_model, refine_with_shape

    good, bad = screen_labels(TRAIN)
    shapes = np.array(
        [[read_aasce_mat(TRAIN / "labels" / f"{n}.mat").points[p] for p in AASCE_POINT_NAMES] for n in good]
    )
    fold_of = assign_folds(good, folds, 0)

    def angles(x: np.ndarray) -> np.ndarray:  # the 34 endplates' angles, degrees
        d = x[1::2] - x[0::2]
        return np.degrees(np.arctan2(d[:, 1], d[:, 0]))

    before, after, corner0, corner1, seconds = [], [], [], [], 0.0
    for k in range(folds):
        model = learn_shape_model(shapes[fold_of != k], source=f"aasce-train less fold {k}")
        for i in np.flatnonzero(fold_of == k):
            rng = np.random.default_rng(1000 + int(i))
            truth = shapes[i]
            for _ in range(repeats):
                rough = truth + rng.normal(0, 5, truth.shape)
                t0 = time.perf_counter()
                fit = refine_with_shape(
                    dict(zip(AASCE_POINT_NAMES, map(tuple, rough), strict=True)), model=model
                )
                seconds += time.perf_counter() - t0
                done = np.array([fit.points[n] for n in AASCE_POINT_NAMES])
                before.append([_err(a, b) for a, b in zip(angles(rough), angles(truth), strict=True)])
                after.append([_err(a, b) for a, b in zip(angles(done), angles(truth), strict=True)])
                corner0.append(np.hypot(*(rough - truth).T))
                corner1.append(np.hypot(*(done - truth).T))
    b, a = np.median(np.concatenate(before)), np.median(np.concatenate(after))
    n = len(before)
    print(
        f"(e) aasce-train, {folds}-fold CV by patient ({len(good)} films, {len(bad)} left out for their labels), "
        f"all corners T1-L5 clicked sigma = 5 px off, {repeats} repeats: median endplate-angle error "
        f"{b:.2f} -> {a:.2f} deg ({1 - a / b:.0%} lower); median corner error "
        f"{np.median(np.concatenate(corner0)):.2f} -> {np.median(np.concatenate(corner1)):.2f} px; "
        f"{1000 * seconds / n:.1f} ms per film"
    )


def bench_local_cv(
    local_runs: Path | None, refine_runs: Path | None, repeats: int, folds: int = 5, films: int | None = None
) -> None:
    from spinecheck.landmarks.detect.inference import load_model
    from spinecheck.landmarks.detect.training import assign_folds, screen_labels
    from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES
    from spinecheck.landmarks.refine.learned import (
        MODEL_WEIGHT,
        blend_corner,
        refine_ap_corners,
        refine_with_model,
    )
    from spinecheck.landmarks.refine.shape import learn_shape_model

    good, bad = screen_labels(TRAIN)
    fold_of = assign_folds(good, folds, 12)  # the landmark model's folds (its training seed)
    shapes = np.array(
        [[read_aasce_mat(TRAIN / "labels" / f"{n}.mat").points[p] for p in AASCE_POINT_NAMES] for n in good]
    )

    def angles(x: np.ndarray) -> np.ndarray:
        d = x[1::2] - x[0::2]
        return np.degrees(np.arctan2(d[:, 1], d[:, 0]))

    def network(grey: np.ndarray, x: np.ndarray, model) -> list[tuple[float, float] | None]:
        """The network's usable corner for each of the corners ``x`` (68, 2), else None."""
        found = refine_with_model(grey, dict(zip(AASCE_POINT_NAMES, map(tuple, x), strict=True)), model=model)
        return [found[n][0] if found and n in found else None for n in AASCE_POINT_NAMES]

    rows: dict[str, list[list[float]]] = {k: [] for k in ("clicks", "shape", "shape+c", "rule1", "rule2")}
    used, seconds, n_runs, differ = [], 0.0, 0, 0
    for k in range(folds):
        parts = {}
        for key, runs in (("local", local_runs), ("refine", refine_runs)):
            if runs is None:
                continue
            held = [n for n in (runs / f"fold{k}" / "heldout.txt").read_text().split("\n") if n]
            if held != [good[i] for i in np.flatnonzero(fold_of == k)]:
                raise SystemExit(f"{runs / f'fold{k}'}: its held-out films are not fold {k}'s")
            parts[key] = str(runs / f"fold{k}" / "model.onnx")
        # only the fold's own networks: the shipped ones saw these films
        model = load_model(local=parts.get("local"), refine=parts.get("refine"))
        model = replace(
            model,
            local=model.local if "local" in parts else None,
            refine=model.refine if "refine" in parts else None,
        )
        shape_model = learn_shape_model(shapes[fold_of != k], source=f"aasce-train less fold {k}")
        for i in np.flatnonzero(fold_of == k)[:films]:
            grey = load_radiograph(TRAIN / "images" / good[i]).display
            truth = shapes[i]
            rng = np.random.default_rng(1000 + int(i))
            checked = False
            for _ in range(repeats):
                rough = truth + rng.normal(0, 5, truth.shape)
                clicks = dict(zip(AASCE_POINT_NAMES, map(tuple, rough), strict=True))
                t0 = time.perf_counter()
                by_shape = _shape_of(rough, shape_model)
                net = network(grey, by_shape, model)
                rule2 = np.array(
                    [blend_corner(c, s, m) for c, s, m in zip(rough, by_shape, net, strict=True)]
                )
                seconds += time.perf_counter() - t0
                n_runs += 1
                # once per film: spinecheck refine's own path (refine_landmarks) gives the same corners
                if not checked:
                    checked = True
                    moves = refine_ap_corners(
                        grey, clicks, AASCE_POINT_NAMES, shape_model=shape_model, model=model
                    )
                    path = np.array(
                        [moves[n].refined if n in moves else clicks[n] for n in AASCE_POINT_NAMES]
                    )
                    differ += not np.allclose(path, rule2, atol=1e-6)  # a shape put off the film, say
                used.append(np.mean([m is not None for m in net]))
                # rule 1, model 1.2 as first shipped: the shape's corner MODEL_WEIGHT of the way to the network's
                rule1 = np.array(
                    [
                        s if m is None else s + MODEL_WEIGHT * (np.asarray(m) - s)
                        for s, m in zip(by_shape, net, strict=True)
                    ]
                )
                shape_c = np.array([blend_corner(c, s) for c, s in zip(rough, by_shape, strict=True)])
                for key, x in (
                    ("clicks", rough),
                    ("shape", by_shape),
                    ("shape+c", shape_c),
                    ("rule1", rule1),
                    ("rule2", rule2),
                ):
                    rows[key].append([_err(a, b) for a, b in zip(angles(x), angles(truth), strict=True)])
    med = {key: float(np.median(np.concatenate(v))) for key, v in rows.items()}
    b = med["clicks"]

    def cut(key: str) -> str:
        return f"{med[key]:.3f} deg ({med[key] / b - 1:+.1%})"

    network_name = "the refiner network's" if refine_runs else "the local stage's"
    n_films = len(rows["clicks"]) // repeats
    print(
        f"(f) aasce-train, {network_name} {folds}-fold CV by patient ({n_films} films), all corners T1-L5 "
        f"clicked sigma = 5 px off, {repeats} repeats: median endplate-angle error {b:.3f} deg -> "
        f"{cut('rule2')} as spinecheck refine does it (rule 2: 0.3 click + 0.4 shape + 0.3 model); "
        f"on the same clicks rule 1 of model 1.2 (the shape, then 0.3 towards the model) {cut('rule1')}, "
        f"the shape alone {cut('shape')}, the shape with the click term (0.3 click + 0.7 shape) "
        f"{cut('shape+c')}; model corners used {np.mean(used):.0%}; {1000 * seconds / n_runs:.0f} ms per film; "
        f"refine_ap_corners gave the same corners on {len(rows['clicks']) // repeats - differ} of "
        f"{len(rows['clicks']) // repeats} films (first repeat)"
    )


def _shape_of(x: np.ndarray, shape_model, names: list[str] | None = None) -> np.ndarray:
    """Corners ``(68, 2)`` after the learned-shape refiner (only *names* moved)."""
    from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES
    from spinecheck.landmarks.refine.shape import refine_with_shape

    fit = refine_with_shape(
        dict(zip(AASCE_POINT_NAMES, map(tuple, x), strict=True)), model=shape_model, names=names
    )
    return np.array([fit.points.get(p, tuple(x[i])) for i, p in enumerate(AASCE_POINT_NAMES)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument(
        "--part", choices=("a", "b", "c", "d", "e", "f", "all"), default="all", help="run only one part"
    )
    ap.add_argument("--local-runs", help="part (f): folder of the local stage's fold0 .. fold4 runs")
    ap.add_argument(
        "--refine-runs",
        help="part (f): folder of the refiner network's fold0 .. fold4 runs (training_local --refiner)",
    )
    ap.add_argument(
        "--films", type=int, help="part (f): only the first N held-out films of each fold (a trial)"
    )
    args = ap.parse_args()
    if args.part in ("a", "all"):
        if DATA.is_dir():
            bench_endplates(args.repeats)
        else:
            print(f"(a) skipped: {DATA} is absent")
    if args.part in ("b", "all"):
        bench_heads(args.seeds)
    if args.part in ("c", "all"):
        bench_synthetic_endplates(args.seeds)
    if args.part in ("d", "all"):
        bench_lone_corners(args.seeds)
    if args.part in ("e", "all"):
        if TRAIN.is_dir():
            bench_shape_cv(args.repeats)
        else:
            print(f"(e) skipped: {TRAIN} is absent")
    if args.part in ("f", "all"):
        if TRAIN.is_dir() and (args.local_runs or args.refine_runs):
            bench_local_cv(
                Path(args.local_runs) if args.local_runs else None,
                Path(args.refine_runs) if args.refine_runs else None,
                args.repeats,
                films=args.films,
            )
        else:
            print(f"(f) skipped: needs {TRAIN} and --local-runs or --refine-runs")


if __name__ == "__main__":
    main()
