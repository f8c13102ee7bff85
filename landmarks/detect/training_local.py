"""Train the local stage (:class:`.model.CornerNet`) on close-ups of the AASCE films (torch).

Run it as a command::

    python -m spinecheck.landmarks.detect.training_local --data ../shared/data/aasce-train --out runs/local0 --fold 0
    python -m spinecheck.landmarks.detect.training_local --ship runs/local0 runs/local1 ... --version 1.1
    python -m spinecheck.landmarks.detect.training_local --refiner --data ... --out runs/refine0 --fold 0
    python -m spinecheck.landmarks.detect.training_local --refiner --ship runs/refine0 ... --version 1.2

The films, their screening and the folds are those of the first stage
(:mod:`.training`: same labels left out, same seed, so fold K holds out the same patients). Each
training step cuts close-ups (:func:`.local.cut_closeups`) around every vertebra of the training
films, from frames that the labels give and then moved as the first stage misplaces them: the
centre by about a fifth of the spacing, the direction by about 6 degrees, the scale by about
12 %; half are mirrored (left and right corners swapped). Each epoch ends with a checkpoint
(``--resume`` continues), ``train.log`` records the run and, with ``--fold``, the corner error on
the held-out films' close-ups; the run ends with ``model.onnx``.

The refiner's network (:data:`REFINER`, model 1.2) is trained by the same code with the other
framing: ``--refiner`` frames each close-up by the labels' corners clicked 2 to 9 px off (uniform
spread per vertebra, normal errors) as :func:`.local.refine_frames` frames a person's clicks, two
film pixels to one close-up pixel; it ships as ``corners-ap-refine.onnx``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidArgumentError
from ..io.aasce import read_aasce_mat
from .local import (
    LOCAL_SIZE,
    LOCAL_SPACING,
    LOCAL_STRIDE,
    REFINE_SPAN,
    Frames,
    cut_closeups,
    film_to_closeup,
    reduced_film,
    refine_frames,
    vertebra_frames,
)
from .model import CornerNet, soft_argmax
from .training import (
    Ensemble,
    _loss,
    assign_folds,
    export_onnx,
    optimiser,
    resume_checkpoint,
    save_checkpoint,
    screen_labels,
    training_command,
)

__all__ = [
    "Stage",
    "LOCAL",
    "REFINER",
    "build_local_cache",
    "jittered_frames",
    "clicked_frames",
    "closeup_batch",
    "train_local",
    "export_local",
    "ship_local",
    "main",
]

log = logging.getLogger("spinecheck.detect.training_local")

#: How far the training frames are moved from the labels' (standard deviations).
_SHIFT_SPACINGS = 0.2
_TURN_DEG = 6.0
_SCALE_LOG = 0.12
#: Corner order of a mirrored close-up: left and right swap.
_MIRROR4 = [1, 0, 3, 2]


def build_local_cache(
    data: Path, images: Sequence[str], cache: Path, stage: Stage | None = None
) -> dict[str, np.ndarray]:
    """Each film reduced by block means and its corners, kept in *cache* (reused when it matches).

    The reduction is the largest whole factor under 0.7 of the close-ups' median scale on that
    film (the *stage*'s frames of its labels; default :data:`LOCAL`).
    """
    stage = stage or LOCAL
    from PIL import Image

    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            stored = str(z["stage"]) if "stage" in z.files else LOCAL.key  # caches before 1.2: local
            if list(z["names"]) == list(images) and stored == stage.key:
                return {k: z[k] for k in z.files}
    films, offsets, shapes, factors, points = [], [0], [], [], []
    for image in images:
        xy = np.array(
            list(read_aasce_mat(data / "labels" / f"{image}.mat").points.values()), dtype=np.float32
        )
        scale = float(np.median(stage.frames(xy).scale))
        with Image.open(data / "images" / image) as im:
            grey = np.asarray(im.convert("L"), dtype=np.float32)
        # the smallest scale a jittered frame takes is about 0.7 of the label's
        small, k = reduced_film(grey, 0.7 * scale)
        films.append(small.astype(np.float16).ravel())
        offsets.append(offsets[-1] + small.size)
        shapes.append(small.shape)
        factors.append(k)
        points.append(xy)
    out = {
        "names": np.array(images),
        "pixels": np.concatenate(films),
        "offsets": np.array(offsets, dtype=np.int64),
        "shapes": np.array(shapes, dtype=np.int64),
        "factors": np.array(factors, dtype=np.int64),
        "points": np.stack(points),
        "stage": np.array(stage.key),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        names=out["names"],
        pixels=out["pixels"],
        offsets=out["offsets"],
        shapes=out["shapes"],
        factors=out["factors"],
        points=out["points"],
        stage=out["stage"],
    )
    return out


def jittered_frames(xy: np.ndarray, rng: np.random.Generator) -> Frames:
    """The labels' frames of a film's vertebrae, each moved as the first stage misplaces them."""
    f = vertebra_frames(xy)
    n = len(f.scale)
    spacing = f.scale * LOCAL_SPACING
    shift = np.clip(rng.normal(0.0, _SHIFT_SPACINGS, (n, 2)), -0.45, 0.45) * spacing[:, None]
    turn = np.radians(rng.normal(0.0, _TURN_DEG, n))
    c, s = np.cos(turn), np.sin(turn)
    down = np.stack([c * f.down[:, 0] - s * f.down[:, 1], s * f.down[:, 0] + c * f.down[:, 1]], 1)
    scale = f.scale * np.exp(np.clip(rng.normal(0.0, _SCALE_LOG, n), -0.3, 0.3))
    return Frames(f.centre + shift, down, scale)


#: The refiner's training clicks: each vertebra's corners off by a normal error whose spread is
#: drawn uniformly in this range (px), around the 5 px the refiner's target is measured at.
_CLICK_SIGMA_PX = (2.0, 9.0)


#: The refiner's training frames are turned further than the clicks turn them (degrees, standard
#: deviation): framed by the clicks alone, the network learned to follow the frame's direction, and
#: its endplate-angle errors correlated with the clicks' (0.34 on fold 0), which is what the
#: refiner averages it with.
_CLICK_TURN_DEG = 8.0


def clicked_frames(xy: np.ndarray, rng: np.random.Generator) -> Frames:
    """The refiner's frames of a film's vertebrae: framed by the labels clicked a few pixels off, then turned."""
    p = np.asarray(xy, dtype=float).reshape(-1, 4, 2)
    sigma = rng.uniform(*_CLICK_SIGMA_PX, len(p))[:, None, None]
    f = refine_frames(p + rng.normal(0.0, 1.0, p.shape) * sigma)
    turn = np.radians(np.clip(rng.normal(0.0, _CLICK_TURN_DEG, len(p)), -20.0, 20.0))
    c, s = np.cos(turn), np.sin(turn)
    down = np.stack([c * f.down[:, 0] - s * f.down[:, 1], s * f.down[:, 0] + c * f.down[:, 1]], 1)
    return Frames(f.centre, down, f.scale)


@dataclass(frozen=True)
class Stage:
    """What the local stage and the refiner's network differ in; the training is the same.

    ``frames`` gives the label frames (the scale the films are cached at), ``jitter`` the
    training frames (labels ``(68, 2)``, random generator), ``file`` and ``key`` the shipped
    ONNX file and its key in ``manifest.json``.
    """

    name: str
    frames: Callable[[np.ndarray], Frames]
    jitter: Callable[[np.ndarray, np.random.Generator], Frames]
    file: str
    key: str


#: The detector's local stage (model 1.1): frames from the first stage's column.
LOCAL = Stage("local stage", vertebra_frames, jittered_frames, "corners-ap-local.onnx", "local")
#: The AP refiner's network (model 1.2): frames from a person's rough corners.
REFINER = Stage("refiner", refine_frames, clicked_frames, "corners-ap-refine.onnx", "refine")


def closeup_batch(
    cache: dict[str, np.ndarray],
    pairs: np.ndarray,
    rng: np.random.Generator,
    augment: bool = True,
    stage: Stage | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Close-ups ``(n, 1, S, S)``, close-up corners ``(n, 4, 2)``, scales ``(n,)`` of (film, level) *pairs*.

    Framed as the *stage* frames its training close-ups (default :data:`LOCAL`).
    """
    stage = stage or LOCAL
    xs = np.empty((len(pairs), 1, LOCAL_SIZE, LOCAL_SIZE), dtype=np.float32)
    ps = np.empty((len(pairs), 4, 2), dtype=np.float32)
    scales = np.empty(len(pairs))
    for j, (film, level) in enumerate(pairs.tolist()):
        a, b = cache["offsets"][film], cache["offsets"][film + 1]
        small = cache["pixels"][a:b].astype(np.float32).reshape(cache["shapes"][film])
        xy = cache["points"][film].astype(float)
        frames = stage.jitter(xy, rng)
        one = Frames(
            frames.centre[level : level + 1], frames.down[level : level + 1], frames.scale[level : level + 1]
        )
        x = cut_closeups(None, one, reduced=(small, int(cache["factors"][film])))[0]  # type: ignore[arg-type]
        p = film_to_closeup(xy.reshape(17, 4, 2)[level : level + 1], one)[0]
        if augment:
            if rng.random() < 0.5:
                x = x[:, ::-1]
                p = p[_MIRROR4]
                p[:, 0] = LOCAL_SIZE - 1 - p[:, 0]
            gamma = math.exp(rng.uniform(-0.35, 0.35))
            x = np.clip(x + 0.5, 0, 1) ** gamma - 0.5 + rng.normal(0, 0.02, x.shape)
        xs[j, 0] = x
        ps[j] = p
        scales[j] = one.scale[0]
    return xs, ps, scales


def export_local(net: torch.nn.Module, path: Path) -> None:
    """Write the local network (or an ensemble of them) as ONNX: input ``closeup``, output ``heatmaps``."""
    export_onnx(net, path, "closeup", (LOCAL_SIZE, LOCAL_SIZE))


def ship_local(runs: Sequence[Path], version: str, weights: Path, stage: Stage | None = None) -> dict:
    """Export the networks of *runs* as one ensemble into *weights*, beside the first stage.

    Writes the *stage*'s file (default :data:`LOCAL`: ``corners-ap-local.onnx``) and adds it to
    ``manifest.json`` under the stage's key (file, SHA-256, close-up size, the runs' settings),
    with the model's *version*; returns the manifest. Runs trained for another stage are refused.
    """
    import hashlib

    stage = stage or LOCAL
    nets, settings = [], []
    for run in runs:
        state = torch.load(Path(run) / "checkpoint.pt", weights_only=False)
        trained_for = state["args"].get("stage", LOCAL.key)
        if trained_for != stage.key:
            raise InvalidArgumentError(
                f"{run}: stage: a run of the {stage.name} was expected, this one trained {trained_for!r}"
            )
        net = CornerNet(state["args"]["width"])
        net.load_state_dict(state["net"])
        nets.append(net.eval())
        a = state["args"]
        settings.append(
            f"fold {a['fold']} of {a['folds']}, {state['epoch']} epochs, width {a['width']}, seed {a['seed']}"
        )
    path = weights / stage.file
    export_local(Ensemble(nets), path)
    manifest_path = weights / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"] = version
    manifest[stage.key] = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input": f"{LOCAL_SIZE} x {LOCAL_SIZE} close-up, heatmaps at stride {LOCAL_STRIDE}"
        + (f"; the vertebra's larger side spans {REFINE_SPAN:g} px" if stage is REFINER else ""),
        "networks": "; ".join(settings),
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _corner_error_px(net: CornerNet, cache: dict, pairs: np.ndarray, seed: int, stage: Stage) -> np.ndarray:
    """Film-pixel corner errors of *net* on the close-ups of *pairs* (frames jittered, not augmented)."""
    rng = np.random.default_rng(seed)
    net.eval()
    errs = []
    with torch.no_grad():
        for b in range(0, len(pairs), 64):
            chunk = pairs[b : b + 64]
            x, p, scales = closeup_batch(cache, chunk, rng, augment=False, stage=stage)
            uv = soft_argmax(net(torch.from_numpy(x)), LOCAL_STRIDE)[0].numpy()
            errs.append(np.linalg.norm(uv - p, axis=-1) * scales[:, None])
    return np.concatenate(errs).ravel()


def train_local(args: argparse.Namespace, stage: Stage | None = None) -> Path:
    """Train one network of the *stage* (default :data:`LOCAL`) as *args* say; return its ONNX export."""
    stage = stage or LOCAL
    args.stage = stage.key  # kept in the checkpoint: shipping checks it
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    data = Path(args.data)
    good, bad = screen_labels(data)
    log.info("labels: %d films, %d left out as implausible", len(good) + len(bad), len(bad))
    fold_of = assign_folds(good, args.folds, args.seed)
    cache = build_local_cache(data, good, Path(args.cache) if args.cache else out / "local_cache.npz", stage)
    cache["pixels"] = cache["pixels"].astype(np.float32)  # once, not at every close-up
    if args.fold is None:
        use = np.arange(len(good))
        held_films = np.array([], dtype=int)
    else:
        use = np.flatnonzero(fold_of != args.fold)
        held_films = np.flatnonzero(fold_of == args.fold)
        (out / "heldout.txt").write_text("\n".join(good[i] for i in held_films) + "\n")
        log.info(
            "fold %d of %d: %d films held out, %d for training",
            args.fold,
            args.folds,
            len(held_films),
            len(use),
        )
    (out / "left_out.json").write_text(json.dumps(bad, indent=1))
    pairs = np.array([(f, v) for f in use for v in range(17)], dtype=np.int64)

    net = CornerNet(args.width)
    opt, sched = optimiser(net, args, math.ceil(len(pairs) / args.batch))
    start = 0
    ckpt = out / "checkpoint.pt"
    if args.resume and ckpt.is_file():
        start, rng.bit_generator.state = resume_checkpoint(ckpt, net, opt, sched)
    log.info(
        "%s: %d parameters, close-up %d x %d, %d epochs of %d close-ups, batch %d, lr %g",
        stage.name,
        sum(p.numel() for p in net.parameters()),
        LOCAL_SIZE,
        LOCAL_SIZE,
        args.epochs,
        len(pairs),
        args.batch,
        args.lr,
    )
    for epoch in range(start, args.epochs):
        net.train()
        t0 = time.time()
        order = rng.permutation(len(pairs))
        total, err = 0.0, []
        for b in range(0, len(pairs), args.batch):
            x, p, _ = closeup_batch(cache, pairs[order[b : b + args.batch]], rng, stage=stage)
            xt, pt = torch.from_numpy(x), torch.from_numpy(p)
            logits = net(xt)
            loss = _loss(logits, pt, LOCAL_STRIDE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(x)
            with torch.no_grad():
                err.append((soft_argmax(logits, LOCAL_STRIDE)[0] - pt).norm(dim=-1).flatten())
        e = torch.cat(err)
        log.info(
            "epoch %d/%d: loss %.4f, training corner error median %.2f close-up px, %.0f s",
            epoch + 1,
            args.epochs,
            total / len(pairs),
            float(e.median()),
            time.time() - t0,
        )
        save_checkpoint(ckpt, net, opt, sched, rng.bit_generator.state, epoch + 1, args)
    if len(held_films):
        held_pairs = np.array([(f, v) for f in held_films for v in range(17)], dtype=np.int64)
        held_err = _corner_error_px(net, cache, held_pairs, args.seed + 1, stage)
        log.info(
            "held-out close-ups (frames moved as in training): corner error median %.1f px, 90th percentile %.1f px",
            float(np.median(held_err)),
            float(np.percentile(held_err, 90)),
        )
    onnx_path = out / "model.onnx"
    export_local(net, onnx_path)
    log.info("wrote %s", onnx_path)
    return onnx_path


def main(argv: Sequence[str] | None = None) -> int:
    """The local stage's training command; with ``--refiner`` (first), the refiner's network's."""
    args = list(sys.argv[1:] if argv is None else argv)
    stage = REFINER if args[:1] == ["--refiner"] else LOCAL
    return training_command(
        "python -m spinecheck.landmarks.detect.training_local" + (" --refiner" if stage is REFINER else ""),
        __doc__.splitlines()[0],
        {"epochs": 12 if stage is REFINER else 14, "batch": 32, "lr": 3e-3, "width": 8},
        functools.partial(train_local, stage=stage),
        functools.partial(ship_local, stage=stage),
        "1.2",
        args[1:] if stage is REFINER else args,
    )


if __name__ == "__main__":
    sys.exit(main())
