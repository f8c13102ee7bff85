"""Train the landmark model on the AASCE training films (torch; the ``[train]`` extra).

Run it as a command::

    python -m spinecheck.landmarks.detect.training --data ../shared/data/aasce-train --out runs/final
    python -m spinecheck.landmarks.detect.training --data ../shared/data/aasce-train --out runs/cv --fold 0

With ``--fold K`` the films of fold K (of ``--folds``, by patient) are held out and their names
written to ``heldout.txt``; without it every film with plausible labels is used. Each epoch ends
with a checkpoint (``checkpoint.pt``), so ``--resume`` continues an interrupted run, and the run
writes ``train.log`` and, at the end, ``model.onnx``. Seeds are fixed (``--seed``); on the same
machine and thread count the run is repeatable.

Labels are checked first (:func:`screen_labels`): a film whose label file cannot be read as an AP
landmark set (a point off the image, a degenerate endplate) or whose landmarks the plausibility
checks withhold (corners swapped, levels out of order, a tilt or length far from the neighbours')
is left out; the log says how many and why.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import SpinecheckError
from ..io.aasce import read_aasce_mat
from ..points.sanity import check_landmarks
from .inference import INPUT_COLUMNS, INPUT_ROWS, MIRROR_ORDER, N_POINTS, STRIDE, prepare
from .model import LandmarkNet, soft_argmax

__all__ = ["patient_of", "assign_folds", "screen_labels", "build_cache", "train", "main"]

log = logging.getLogger("spinecheck.detect.training")

#: The training heatmaps' Gaussian, in heatmap cells (one cell: STRIDE input pixels).
_TARGET_SIGMA_CELLS = 1.0

_PATIENT = re.compile(r"-(\d+) [A-Z]+ AP\.\w+$")


def patient_of(image_name: str) -> str:
    """The patient a film belongs to, read from its AASCE name, or the name itself when it says none.

    ``sunhl-1th-02-Jan-2017-162 A AP.jpg`` is patient ``162`` (films A, B, ... of one patient);
    the ``...-coronalN.jpg`` films name no patient, so each is its own group.

    >>> patient_of("sunhl-1th-02-Jan-2017-162 B AP.jpg"), patient_of("sunhl-1th-20-Jul-2016-coronal1.jpg")
    ('162', 'sunhl-1th-20-Jul-2016-coronal1.jpg')
    """
    m = _PATIENT.search(image_name)
    return m.group(1) if m else image_name


def assign_folds(names: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold index of each film: whole patients per fold, folds as even in size as patients allow."""
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        groups.setdefault(patient_of(n), []).append(i)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    keys.sort(key=lambda k: -len(groups[k]))  # largest patients first, ties in shuffled order
    out = np.zeros(len(names), dtype=int)
    size = [0] * folds
    for k in keys:
        f = int(np.argmin(size))
        out[groups[k]] = f
        size[f] += len(groups[k])
    return out


def screen_labels(data: Path) -> tuple[list[str], dict[str, str]]:
    """The films with plausible labels, and the others with the reason they are left out."""
    good: list[str] = []
    bad: dict[str, str] = {}
    for image in sorted(p.name for p in (data / "images").iterdir() if p.is_file()):
        label = data / "labels" / f"{image}.mat"
        try:
            landmarks = read_aasce_mat(label)
        except (SpinecheckError, OSError) as e:
            bad[image] = str(e).splitlines()[0]
            continue
        found = check_landmarks(landmarks.to_table())
        if bool(found.bad.any()):
            bad[image] = str(found.problems[0])
            continue
        good.append(image)
    return good, bad


def build_cache(data: Path, images: Sequence[str], cache: Path) -> dict[str, np.ndarray]:
    """Network inputs and input-pixel corners of *images*, computed once and kept in *cache* (npz)."""
    from PIL import Image

    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if list(z["names"]) == list(images):
                return {k: z[k] for k in z.files}
    xs = np.zeros((len(images), INPUT_ROWS, INPUT_COLUMNS), dtype=np.float16)
    pts = np.zeros((len(images), N_POINTS, 2), dtype=np.float32)
    for i, image in enumerate(images):
        with Image.open(data / "images" / image) as im:
            grey = np.asarray(im.convert("L"), dtype=np.float32)
        x, (sx, sy) = prepare(grey)
        p2 = read_aasce_mat(data / "labels" / f"{image}.mat").points
        xy = np.array(list(p2.values()), dtype=np.float32)
        xs[i] = x
        pts[i, :, 0] = (xy[:, 0] + 0.5) / sx - 0.5
        pts[i, :, 1] = (xy[:, 1] + 0.5) / sy - 0.5
    out = {"names": np.array(images), "x": xs, "points": pts}
    np.savez(cache, names=out["names"], x=xs, points=pts)
    return out


def _augment(x: torch.Tensor, p: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random scale, aspect, rotation, shift, mirror (left/right names swapped) and contrast."""
    n = x.shape[0]
    h, w = x.shape[-2:]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

    scale = u(0.85, 1.2)
    aspect = u(0.9, 1.1)
    angle = torch.deg2rad(u(-10.0, 10.0))
    tx, ty = u(-0.1, 0.1), u(-0.08, 0.08)
    mirror = torch.rand(n, generator=g) < 0.5
    # matrix from output to input, in pixel units centred on the image (so rotation is not sheared)
    c, s = torch.cos(angle), torch.sin(angle)
    sx = scale * aspect * torch.where(mirror, -1.0, 1.0)
    sy = scale / aspect
    a = torch.zeros(n, 3, 3)
    a[:, 0, 0], a[:, 0, 1], a[:, 1, 0], a[:, 1, 1] = c / sx, -s / sy, s / sx, c / sy
    a[:, 0, 2], a[:, 1, 2], a[:, 2, 2] = tx * w, ty * h, 1.0
    # to normalised coordinates (align_corners=False): u_n = (2u + 1) / w - 1
    to_n = torch.tensor([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1], [0, 0, 1]])
    centre = torch.tensor([[1.0, 0, -(w - 1) / 2], [0, 1.0, -(h - 1) / 2], [0, 0, 1]])
    a_pix = torch.linalg.inv(centre) @ a @ centre  # output pixel -> input pixel
    theta = (to_n @ a_pix @ torch.linalg.inv(to_n))[:, :2]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    ph = torch.cat([p, torch.ones(*p.shape[:2], 1)], -1)
    q = (torch.linalg.inv(a_pix) @ ph.transpose(1, 2)).transpose(1, 2)[..., :2]
    order = torch.tensor(MIRROR_ORDER)
    q = torch.where(mirror[:, None, None], q[:, order], q)
    # contrast: gamma on [0, 1], then a little noise
    gamma = torch.exp(u(-0.35, 0.35))[:, None, None, None]
    y = (y + 0.5).clamp(0, 1) ** gamma - 0.5
    y = y + 0.02 * torch.randn(y.shape, generator=g)
    return y, q


def _loss(logits: torch.Tensor, target: torch.Tensor, stride: int = STRIDE) -> torch.Tensor:
    """Cross-entropy of each heatmap's softmax against a Gaussian at its corner, plus a small L1.

    The cross-entropy makes one sharp peak per corner (inference reads the expectation near the
    peak); the L1 of the whole map's soft-argmax (in heatmap cells, weight 0.1) penalises mass
    left far from the corner. Corners that augmentation moved off the input are not scored.
    """
    xy, _ = soft_argmax(logits, stride)
    n, k, h, w = logits.shape
    inside = (
        (target[..., 0] >= 0)
        & (target[..., 0] <= w * stride - 1)
        & (target[..., 1] >= 0)
        & (target[..., 1] <= h * stride - 1)
    ).float()
    count = inside.sum().clamp(min=1)
    l1 = ((xy - target).abs().sum(-1) / stride * inside).sum() / count
    xs = (torch.arange(w) + 0.5) * stride - 0.5
    ys = (torch.arange(h) + 0.5) * stride - 0.5
    sigma = _TARGET_SIGMA_CELLS * stride
    gx = torch.exp(-((xs - target[..., 0:1]) ** 2) / (2 * sigma**2))
    gy = torch.exp(-((ys - target[..., 1:2]) ** 2) / (2 * sigma**2))
    gauss = gy[..., :, None] * gx[..., None, :]
    gauss = gauss / gauss.sum((-2, -1), keepdim=True).clamp(min=1e-12)
    logp = torch.log_softmax(logits.reshape(n, k, h * w), -1).reshape(n, k, h, w)
    ce = -(gauss * logp).sum((-2, -1))
    return (ce * inside).sum() / count + 0.1 * l1


def export_onnx(
    net: torch.nn.Module,
    path: Path,
    input_name: str = "image",
    size: tuple[int, int] = (INPUT_ROWS, INPUT_COLUMNS),
) -> None:
    """Write the network as an ONNX graph: input *input_name* ``(N, 1, *size)``, output ``heatmaps``."""
    net.eval()
    dummy = torch.zeros(1, 1, *size)
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated in torch 2.9+, but the new one needs onnxscript,
        # which the [train] extra does not install; this small graph exports the same either way
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (dummy,),
            str(path),
            input_names=[input_name],
            output_names=["heatmaps"],
            dynamic_axes={input_name: {0: "n"}, "heatmaps": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )


class Ensemble(torch.nn.Module):
    """Several trained networks run side by side: output ``(N, M, ...)`` (M networks)."""

    def __init__(self, nets: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x) for net in self.nets], 1)


def ship(runs: Sequence[Path], version: str, weights: Path) -> dict[str, str]:
    """Export the networks of *runs* (their ``checkpoint.pt``) as one ensemble into *weights*.

    Writes ``landmarks-ap.onnx`` and ``manifest.json`` (name, version, file, SHA-256, the runs'
    settings) and returns the manifest.
    """
    import hashlib

    nets = []
    settings = []
    for run in runs:
        state = torch.load(Path(run) / "checkpoint.pt", weights_only=False)
        net = LandmarkNet(state["args"]["width"])
        net.load_state_dict(state["net"])
        nets.append(net.eval())
        a = state["args"]
        settings.append(
            f"fold {a['fold']} of {a['folds']}, {state['epoch']} epochs, width {a['width']}, seed {a['seed']}"
        )
    weights.mkdir(parents=True, exist_ok=True)
    path = weights / "landmarks-ap.onnx"
    export_onnx(Ensemble(nets), path)
    manifest = {
        "name": "spinecheck-ap-corners",
        "version": version,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input": f"{INPUT_ROWS} x {INPUT_COLUMNS} grey, heatmaps at stride {STRIDE}",
        "networks": "; ".join(settings),
    }
    old = weights / "manifest.json"
    if old.is_file() and "local" in (before := json.loads(old.read_text())):
        manifest["local"] = before["local"]  # the local stage is trained apart: it stays
    old.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def optimiser(net: torch.nn.Module, args: argparse.Namespace, steps_per_epoch: int) -> tuple[Any, Any]:
    """AdamW and its one-cycle schedule over ``args.epochs`` epochs (both stages train so)."""
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    return opt, sched


def save_checkpoint(
    path: Path,
    net: torch.nn.Module,
    opt: Any,
    sched: Any,
    rng_state: Any,
    epoch: int,
    args: argparse.Namespace,
) -> None:
    """Everything ``--resume`` needs after *epoch* epochs: weights, optimiser, schedule, random state."""
    state = {
        "net": net.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "rng": rng_state,
        "epoch": epoch,
        "args": vars(args),
    }
    torch.save(state, path)


def resume_checkpoint(path: Path, net: torch.nn.Module, opt: Any, sched: Any) -> tuple[int, Any]:
    """Load *path* into *net*, *opt*, *sched*; return the epochs done and the saved random state."""
    state = torch.load(path, weights_only=False)
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    log.info("resumed after epoch %d", state["epoch"])
    return int(state["epoch"]), state["rng"]


def train(args: argparse.Namespace) -> Path:
    """Train one model as *args* say; return the path of its ONNX export."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)

    data = Path(args.data)
    good, bad = screen_labels(data)
    log.info("labels: %d films, %d left out as implausible", len(good) + len(bad), len(bad))
    for image, why in sorted(bad.items()):
        log.info("left out %s: %s", image, why)
    fold_of = assign_folds(good, args.folds, args.seed)
    cache = build_cache(data, good, Path(args.cache) if args.cache else out / "cache.npz")
    if args.fold is None:
        use = np.arange(len(good))
    else:
        use = np.flatnonzero(fold_of != args.fold)
        held = [good[i] for i in np.flatnonzero(fold_of == args.fold)]
        (out / "heldout.txt").write_text("\n".join(held) + "\n")
        log.info(
            "fold %d of %d: %d films held out, %d for training", args.fold, args.folds, len(held), len(use)
        )
    (out / "folds.json").write_text(
        json.dumps(
            {
                "folds": args.folds,
                "seed": args.seed,
                "fold_of": dict(zip(good, fold_of.tolist(), strict=True)),
            },
            indent=0,
        )
    )
    (out / "left_out.json").write_text(json.dumps(bad, indent=1))
    xs = torch.from_numpy(cache["x"][use].astype(np.float32))[:, None]
    ps = torch.from_numpy(cache["points"][use])

    net = LandmarkNet(args.width)
    opt, sched = optimiser(net, args, math.ceil(len(use) / args.batch))
    g = torch.Generator().manual_seed(args.seed)
    start = 0
    ckpt = out / "checkpoint.pt"
    if args.resume and ckpt.is_file():
        start, rng_state = resume_checkpoint(ckpt, net, opt, sched)
        g.set_state(rng_state)
    log.info(
        "model: %d parameters, input %d x %d, %d epochs, batch %d, lr %g",
        sum(p.numel() for p in net.parameters()),
        INPUT_ROWS,
        INPUT_COLUMNS,
        args.epochs,
        args.batch,
        args.lr,
    )
    for epoch in range(start, args.epochs):
        net.train()
        t0 = time.time()
        order = torch.randperm(len(use), generator=g)
        total = 0.0
        err = []
        for b in range(0, len(use), args.batch):
            idx = order[b : b + args.batch]
            x, p = _augment(xs[idx], ps[idx], g)
            logits = net(x)
            loss = _loss(logits, p)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            with torch.no_grad():
                err.append((soft_argmax(logits)[0] - p).norm(dim=-1).flatten())
        e = torch.cat(err)
        log.info(
            "epoch %d/%d: loss %.4f, training corner error median %.2f px (input), %.0f s",
            epoch + 1,
            args.epochs,
            total / len(use),
            float(e.median()),
            time.time() - t0,
        )
        save_checkpoint(ckpt, net, opt, sched, g.get_state(), epoch + 1, args)
    onnx_path = out / "model.onnx"
    export_onnx(net, onnx_path)
    log.info("wrote %s", onnx_path)
    return onnx_path


def training_command(
    prog: str,
    description: str,
    defaults: dict[str, float],
    train_one: Callable[[argparse.Namespace], Path],
    ship_runs: Callable[[list[Path], str, Path], dict],
    version: str,
    argv: Sequence[str] | None,
) -> int:
    """The command line of a stage's training (this module's and :mod:`.training_local`'s).

    Trains one run (``--data``, ``--out``, ``--fold`` ...) with *train_one*, logging to
    ``OUT/train.log``, or with ``--ship RUN ...`` exports the runs with *ship_runs* into the
    package's weights. *defaults* gives the stage's ``epochs``, ``batch``, ``lr`` and ``width``.
    """
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--data", help="an AASCE folder: images/, labels/")
    ap.add_argument("--out", help="folder for the checkpoint, log and model.onnx")
    ap.add_argument(
        "--ship", nargs="+", metavar="RUN", help="instead of training: export these runs' networks as shipped"
    )
    ap.add_argument("--version", default=version, help="with --ship: the model's version")
    ap.add_argument(
        "--fold", type=int, default=None, help="hold out this fold (0-based); default: train on all"
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=int(defaults["epochs"]))
    ap.add_argument("--batch", type=int, default=int(defaults["batch"]))
    ap.add_argument("--lr", type=float, default=float(defaults["lr"]))
    ap.add_argument("--width", type=int, default=int(defaults["width"]))
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a busy 2-core machine, 2 threads ran a step 10 x slower, "
        "each waiting for the other)",
    )
    ap.add_argument("--cache", default=None, help="npz of prepared films to reuse (default: in OUT)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    args = ap.parse_args(argv)
    if args.ship:
        try:
            manifest = ship_runs(
                [Path(r) for r in args.ship], args.version, Path(__file__).resolve().parent / "weights"
            )
        except (SpinecheckError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(json.dumps(manifest, indent=1))
        return 0
    if not args.data or not args.out:
        ap.error("--data and --out are required to train")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.FileHandler(Path(args.out) / "train.log"), logging.StreamHandler(sys.stderr)],
    )
    try:
        train_one(args)
    except (SpinecheckError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The first stage's training command."""
    return training_command(
        "python -m spinecheck.landmarks.detect.training",
        __doc__.splitlines()[0],
        {"epochs": 18, "batch": 8, "lr": 3e-3, "width": 8},
        train,
        ship,
        "1.0",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
