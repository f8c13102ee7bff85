"""The landmark model's local stage: close-up geometry, and how detect and the AP refiner use it.

The close-ups are checked on generated films whose vertebrae are known; a fake local network that
answers with heatmaps peaked at known close-up pixels checks that :func:`detect` and
:func:`place_corners` map every close-up (and its mirror image) back to the film's pixels and
names. The shipped network itself is run on real films in ``test_detect_model.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from spinecheck.landmarks.detect import LandmarkModel, ModelInfo, detect
from spinecheck.landmarks.detect.inference import _LOCAL_JUMP, place_corners
from spinecheck.landmarks.detect.local import (
    LOCAL_SIZE,
    LOCAL_SPACING,
    LOCAL_STRIDE,
    REFINE_SPAN,
    Frames,
    closeup_to_film,
    cut_closeups,
    film_to_closeup,
    frames_from_corners,
    reduced_film,
    refine_frames,
    vertebra_frames,
)
from test_detect_model import _column, _FakeSession

CELLS = LOCAL_SIZE // LOCAL_STRIDE
HALF = (LOCAL_SIZE - 1) / 2


def _frames(n: int = 3, turn_deg: float = 20.0, scale: float = 2.5) -> Frames:
    t = np.radians(turn_deg)
    down = np.tile([np.sin(t), np.cos(t)], (n, 1))
    return Frames(np.array([[200.0 + 10 * i, 300.0 + 80 * i] for i in range(n)]), down, np.full(n, scale))


def test_closeup_pixels_and_film_pixels_map_both_ways():
    f = _frames()
    rng = np.random.default_rng(3)
    uv = rng.uniform(0, LOCAL_SIZE - 1, (3, 5, 2))
    np.testing.assert_allclose(film_to_closeup(closeup_to_film(uv, f), f), uv, atol=1e-9)
    # the close-up's centre is the frame's centre; its rows run down the spine, its columns to the right
    centre = closeup_to_film(np.full((3, 1, 2), HALF), f)[:, 0]
    np.testing.assert_allclose(centre, f.centre)
    step_down = closeup_to_film(np.array([[[HALF, HALF + 1]]] * 3), f)[:, 0] - f.centre
    np.testing.assert_allclose(step_down, f.down * 2.5)
    step_right = closeup_to_film(np.array([[[HALF + 1, HALF]]] * 3), f)[:, 0] - f.centre
    assert (step_right[:, 0] > 0).all() and np.allclose(step_right @ f.down.T, 0, atol=1e-9)


def test_frames_follow_the_column_and_its_spacing():
    col = _column(step=100.0)
    f = vertebra_frames(col)
    np.testing.assert_allclose(f.centre, col.reshape(17, 4, 2).mean(1))
    np.testing.assert_allclose(f.down, np.tile([0.0, 1.0], (17, 1)), atol=1e-12)
    np.testing.assert_allclose(f.scale, 100.0 / LOCAL_SPACING)
    # a tilted column: the frames turn with it
    t = np.radians(15)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    g = vertebra_frames(col @ rot.T)
    np.testing.assert_allclose(g.down, np.tile(rot @ [0.0, 1.0], (17, 1)), atol=1e-12)


def test_a_lone_vertebras_frame_comes_from_its_own_corners():
    # a vertebra 120 wide, 70 tall, tilted 10 degrees: down is perpendicular to its endplates
    t = np.radians(10)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    corners = (np.array([[0, 0], [120, 0], [0, 70], [120, 70]], float) - [60, 35]) @ rot.T + [400, 500]
    f = frames_from_corners(corners[None])
    np.testing.assert_allclose(f.centre[0], [400, 500])
    np.testing.assert_allclose(f.down[0], rot @ [0.0, 1.0], atol=1e-12)
    assert f.scale[0] == pytest.approx(70 * 1.3 / LOCAL_SPACING)


def test_closeups_show_the_vertebra_at_their_centre_whatever_the_turn():
    film = np.full((1200, 800), 30.0)
    film[560:640, 340:460] = 220.0  # one bright vertebra-like block, centre (399.5, 599.5)
    for turn in (0.0, 25.0):
        t = np.radians(turn)
        f = Frames(np.array([[399.5, 599.5]]), np.array([[np.sin(t), np.cos(t)]]), np.array([2.0]))
        crop = cut_closeups(film, f)[0]
        assert crop.shape == (LOCAL_SIZE, LOCAL_SIZE) and crop.dtype == np.float32
        assert -0.5 <= crop.min() and crop.max() <= 0.5
        rows, cols = np.nonzero(crop > 0.3)
        assert rows.mean() == pytest.approx(HALF, abs=1.0) and cols.mean() == pytest.approx(HALF, abs=1.0)
        # about 80 x 120 film pixels at 2 film pixels per close-up pixel
        assert 0.8 * 40 * 60 <= len(rows) <= 1.2 * 40 * 60


def test_reduced_film_is_block_means_of_a_whole_factor():
    g = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    small, k = reduced_film(g, 3.7)
    assert k == 3 and small.shape == (2, 3)
    assert small[0, 0] == pytest.approx(g[:3, :3].mean())
    same, one = reduced_film(g, 0.8)
    assert one == 1 and same.shape == g.shape


# ----------------------------------------------------------------------------- detect with a local stage


def _local_heatmap(u: float, v: float, sigma_cells: float = 0.7) -> np.ndarray:
    xs = (np.arange(CELLS) + 0.5) * LOCAL_STRIDE - 0.5
    d2 = (xs[None, :] - u) ** 2 + (xs[:, None] - v) ** 2
    return -d2 / (2 * (sigma_cells * LOCAL_STRIDE) ** 2)


class _FakeLocal:
    """A local network that puts the centre vertebra's corners at fixed close-up pixels (and mirrored)."""

    def __init__(self, corners_uv: np.ndarray) -> None:
        self.uv = np.asarray(corners_uv, float)
        self.calls = 0

    def run(self, names, feeds):
        x = feeds["closeup"]
        assert x.ndim == 4 and x.shape[1:] == (1, LOCAL_SIZE, LOCAL_SIZE) and x.dtype == np.float32
        self.calls += 1
        n = len(x) // 2
        plain = np.stack([_local_heatmap(u, v) for u, v in self.uv])
        mirrored = self.uv[[1, 0, 3, 2]].copy()
        mirrored[:, 0] = LOCAL_SIZE - 1 - mirrored[:, 0]
        mirror = np.stack([_local_heatmap(u, v) for u, v in mirrored])
        return [
            np.concatenate([np.repeat(plain[None], n, 0), np.repeat(mirror[None], n, 0)]).astype(np.float32)
        ]


#: A vertebra 36 close-up pixels wide and 20 tall around the close-up's centre, a little tilted.
_UV = np.array([[HALF - 18, HALF - 11], [HALF + 18, HALF - 9], [HALF - 18, HALF + 9], [HALF + 18, HALF + 11]])


def _model(corners: np.ndarray, rows: int, columns: int, local_uv: np.ndarray = _UV) -> LandmarkModel:
    return LandmarkModel(
        ModelInfo("fake", "0", "0" * 64), _FakeSession(corners, rows, columns), local=_FakeLocal(local_uv)
    )


def test_detect_places_each_vertebra_where_the_local_stage_says():
    rows, columns = 2000, 800
    truth = _column(top=150.0, step=100.0, x0=300.0, width=120.0)
    film = np.random.default_rng(0).uniform(0, 255, (rows, columns))
    model = _model(truth, rows, columns)
    found = detect(film, model)
    # the first stage finds the column (the fake's corners), the local stage's corners are read in
    # frames made from it, and its mirrored close-ups agree after their corners are swapped back
    first = detect(film, LandmarkModel(model.info, model.session))
    frames = vertebra_frames(first.as_array())
    expected = closeup_to_film(np.repeat(_UV[None], 17, 0), frames).reshape(-1, 2)
    np.testing.assert_allclose(found.as_array(), expected, atol=0.05)
    assert model.local.calls == 1 and not found.replaced
    assert min(found.point_confidence.values()) > 0.5
    # the first stage's confidence still decides the film's (the local stage cannot make a film readable)
    assert found.film_confidence == pytest.approx(first.film_confidence)


def test_a_column_whose_every_close_up_lands_elsewhere_is_the_first_stages_all_replaced():
    rows, columns = 2000, 800
    truth = _column(top=150.0, step=100.0, x0=300.0, width=120.0)
    film = np.random.default_rng(0).uniform(0, 255, (rows, columns))
    far = _UV + [0.0, (_LOCAL_JUMP + 0.15) * LOCAL_SPACING]  # every centre moved more than half a spacing
    found = detect(film, _model(truth, rows, columns, far))
    first = detect(film, LandmarkModel(ModelInfo("fake", "0", "0" * 64), _FakeSession(truth, rows, columns)))
    np.testing.assert_allclose(found.as_array(), first.as_array(), atol=1e-9)
    assert len(found.replaced) == 17 and max(found.point_confidence.values()) <= 0.2


class _BlockReader:
    """A local network that reads its close-ups: the corners of the bright block nearest the centre."""

    def run(self, names, feeds):
        from scipy import ndimage

        out = []
        for x in feeds["closeup"][:, 0]:
            lab, n = ndimage.label(x > 0.2)
            boxes = ndimage.find_objects(lab)
            centres = [((b[1].start + b[1].stop - 1) / 2, (b[0].start + b[0].stop - 1) / 2) for b in boxes]
            r, c = boxes[int(np.argmin([np.hypot(u - HALF, v - HALF) for u, v in centres]))]
            uv = [(c.start, r.start), (c.stop - 1, r.start), (c.start, r.stop - 1), (c.stop - 1, r.stop - 1)]
            out.append(np.stack([_local_heatmap(u, v, 0.5) for u, v in uv]))
        return [np.array(out, dtype=np.float32)]


def test_the_local_stage_finds_vertebrae_the_first_stage_spaced_wrongly():
    # 17 bright blocks 70 px tall every 100 px; the first stage puts L1 55 px high, nearer T12's
    # block than its own, and L4 45 px low: L1's close-up lands on T12 (the two collide, L1 moved
    # further, so it is read again one spacing below T12), L4's settles on its own block
    rows, columns = 2000, 800
    film = np.full((rows, columns), 30.0)
    truth = _column(top=150.0, step=100.0, x0=300.0, width=120.0)
    for v in range(17):
        film[150 + 100 * v : 220 + 100 * v + 1, 300:421] = 220.0
    squeezed = truth.reshape(17, 4, 2).copy()
    squeezed[12, :, 1] -= 55.0
    squeezed[15, :, 1] += 45.0
    model = LandmarkModel(
        ModelInfo("fake", "0", "0" * 64),
        _FakeSession(squeezed.reshape(-1, 2), rows, columns),
        local=_BlockReader(),
    )
    found = detect(film, model)
    assert not found.replaced
    # within a close-up pixel or so (the reader thresholds a resampled block; 3-5 film px a pixel)
    np.testing.assert_allclose(found.as_array(), truth, atol=6.0)


def test_place_corners_refines_rough_clicks_in_their_own_frames():
    rows, columns = 1500, 700
    film = np.random.default_rng(1).uniform(0, 255, (rows, columns))
    clicks = _column(top=200.0, step=100.0, x0=250.0, width=120.0).reshape(17, 4, 2)[3:6]
    model = _model(_column(), rows, columns)
    xy, conf = place_corners(film, clicks, model)
    assert xy.shape == (3, 4, 2) and conf.shape == (3, 4)
    expected = closeup_to_film(np.repeat(_UV[None], 3, 0), frames_from_corners(clicks))
    np.testing.assert_allclose(xy, expected, atol=0.05)
    assert (conf > 0.5).all()


def test_the_refiners_frame_spans_the_vertebras_larger_side():
    wide = np.array([[0, 0], [150, 10], [0, 70], [150, 80]], float)  # 150 wide, 70 tall, tilted
    tall = np.array([[0, 0], [60, 0], [0, 90], [60, 90]], float)
    f = refine_frames(np.stack([wide, tall]))
    np.testing.assert_allclose(f.scale, [np.hypot(150, 10) / REFINE_SPAN, 90 / REFINE_SPAN])
    np.testing.assert_allclose(f.centre, [[75, 40], [30, 45]])
    # the close-up runs down the vertebra (perpendicular to its endplates), and holds its corners
    np.testing.assert_allclose(f.down[0], frames_from_corners(wide).down[0])
    uv = film_to_closeup(np.stack([wide, tall]), f)
    assert (uv > 0.1 * LOCAL_SIZE).all() and (uv < 0.9 * LOCAL_SIZE).all()


def test_place_corners_uses_the_refiners_network_on_its_finer_frames():
    rows, columns = 1500, 700
    film = np.random.default_rng(1).uniform(0, 255, (rows, columns))
    clicks = _column(top=200.0, step=100.0, x0=250.0, width=120.0).reshape(17, 4, 2)[3:6]
    refiner_uv = _UV + [[2.0, -1.0], [-1.0, 1.0], [1.0, 2.0], [0.0, -2.0]]
    model = LandmarkModel(
        ModelInfo("fake", "0", "0" * 64),
        _FakeSession(_column(), rows, columns),
        local=_FakeLocal(_UV),
        refine=_FakeLocal(refiner_uv),
    )
    xy, conf = place_corners(film, clicks, model)
    expected = closeup_to_film(np.repeat(refiner_uv[None], 3, 0), refine_frames(clicks))
    np.testing.assert_allclose(xy, expected, atol=0.05)
    assert model.refine.calls == 1 and model.local.calls == 0 and (conf > 0.5).all()


def test_place_corners_needs_a_model_with_a_local_stage():
    from spinecheck.landmarks.errors import InvalidArgumentError

    plain = LandmarkModel(ModelInfo("fake", "0", "0" * 64), _FakeSession(_column(), 100, 100))
    with pytest.raises(InvalidArgumentError, match="no local stage"):
        place_corners(np.zeros((400, 300)), _column().reshape(17, 4, 2)[:1], plain)


# ----------------------------------------------------------------------------- training (needs the [train] extra)


def _block_cache() -> dict[str, np.ndarray]:
    """A training cache of one generated film: 17 bright blocks, their corners as the labels."""
    film = np.full((2000, 800), 30.0, dtype=np.float32)
    truth = _column(top=150.0, step=100.0, x0=300.0, width=120.0)
    for v in range(17):
        film[150 + 100 * v : 220 + 100 * v + 1, 300:421] = 220.0
    small, k = reduced_film(film, 2.0)
    return {
        "names": np.array(["film.jpg"]),
        "pixels": small.ravel(),
        "offsets": np.array([0, small.size]),
        "shapes": np.array([small.shape]),
        "factors": np.array([k]),
        "points": truth[None].astype(np.float32),
    }


def test_training_close_ups_carry_their_vertebras_corners_mirrored_or_not():
    pytest.importorskip("torch")
    from spinecheck.landmarks.detect.training_local import closeup_batch

    cache = _block_cache()
    pairs = np.array([(0, v) for v in range(17)] * 4)
    x, p, scales = closeup_batch(cache, pairs, np.random.default_rng(0))
    assert x.shape == (68, 1, LOCAL_SIZE, LOCAL_SIZE) and p.shape == (68, 4, 2)
    assert np.allclose(scales, 100 / LOCAL_SPACING, rtol=0.4)
    for img, uv in zip(x[:, 0], p, strict=True):
        assert uv[0, 0] < uv[1, 0] and uv[0, 1] < uv[2, 1]  # left before right, superior above inferior
        for u, v in uv:  # each corner sits on its block's edge (bright within a pixel or two)
            r, c = int(round(v)), int(round(u))
            assert img[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3].max() > 0.2


def test_the_refiners_training_close_ups_are_framed_by_clicks_a_few_pixels_off():
    pytest.importorskip("torch")
    from spinecheck.landmarks.detect.training_local import REFINER, closeup_batch

    film = np.full((2000, 800), 30.0, dtype=np.float32)
    truth = _column(top=150.0, step=100.0, x0=300.0, width=120.0)
    for v in range(17):
        film[150 + 100 * v : 220 + 100 * v + 1, 300:421] = 220.0
    cache = {
        "pixels": film.ravel(),
        "offsets": np.array([0, film.size]),
        "shapes": np.array([film.shape]),
        "factors": np.array([1]),
        "points": truth[None].astype(np.float32),
    }
    pairs = np.array([(0, v) for v in range(17)] * 4)
    x, p, scales = closeup_batch(cache, pairs, np.random.default_rng(0), stage=REFINER)
    # the blocks are 120 wide (70 tall): their width spans about REFINE_SPAN close-up pixels
    assert np.allclose(scales, 120 / REFINE_SPAN, rtol=0.25)
    assert np.abs(p.mean(1) - HALF).max() < 8  # clicks 2-9 px off: the vertebra stays central
    for img, uv in zip(x[:, 0], p, strict=True):
        for u, v in uv:
            r, c = int(round(v)), int(round(u))
            assert img[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3].max() > 0.2


def test_shipping_refuses_runs_trained_for_the_other_network(tmp_path):
    torch = pytest.importorskip("torch")
    import json

    from spinecheck.landmarks.detect.model import CornerNet
    from spinecheck.landmarks.detect.training_local import REFINER, ship_local
    from spinecheck.landmarks.errors import InvalidArgumentError

    run = tmp_path / "fold0"
    run.mkdir()
    args = {"width": 4, "fold": 0, "folds": 5, "seed": 12, "stage": "local"}
    torch.save({"net": CornerNet(4).state_dict(), "epoch": 1, "args": args}, run / "checkpoint.pt")
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "manifest.json").write_text(json.dumps({"name": "m", "version": "1.1", "file": "a.onnx"}))
    with pytest.raises(InvalidArgumentError, match="fold0: stage: a run of the refiner was expected"):
        ship_local([run], "1.2", weights, REFINER)
    args["stage"] = "refine"
    torch.save({"net": CornerNet(4).state_dict(), "epoch": 1, "args": args}, run / "checkpoint.pt")
    manifest = ship_local([run], "1.2", weights, REFINER)
    assert manifest["refine"]["file"] == "corners-ap-refine.onnx" and "local" not in manifest
    assert (weights / "corners-ap-refine.onnx").is_file()


def test_shipping_the_local_stage_adds_it_to_the_manifest(tmp_path):
    torch = pytest.importorskip("torch")
    import json

    import onnxruntime
    from spinecheck.landmarks.detect.model import CornerNet
    from spinecheck.landmarks.detect.training_local import ship_local

    runs = []
    for k in range(2):
        run = tmp_path / f"fold{k}"
        run.mkdir()
        torch.manual_seed(k)
        args = {"width": 4, "fold": k, "folds": 5, "seed": 12}
        torch.save({"net": CornerNet(4).state_dict(), "epoch": 1, "args": args}, run / "checkpoint.pt")
        runs.append(run)
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "manifest.json").write_text(json.dumps({"name": "m", "version": "1.0", "file": "a.onnx"}))
    manifest = ship_local(runs, "1.1", weights)
    assert manifest["version"] == "1.1" and manifest["local"]["file"] == "corners-ap-local.onnx"
    assert json.loads((weights / "manifest.json").read_text()) == manifest
    session = onnxruntime.InferenceSession(str(weights / "corners-ap-local.onnx"))
    (out,) = session.run(["heatmaps"], {"closeup": np.zeros((3, 1, LOCAL_SIZE, LOCAL_SIZE), np.float32)})
    assert out.shape == (3, 2, 4, CELLS, CELLS)


def test_a_checkpoint_resumes_the_weights_schedule_and_random_state(tmp_path):
    torch = pytest.importorskip("torch")
    import argparse

    from spinecheck.landmarks.detect.model import CornerNet
    from spinecheck.landmarks.detect.training import optimiser, resume_checkpoint, save_checkpoint

    args = argparse.Namespace(lr=3e-3, epochs=2, width=4)
    net = CornerNet(4)
    opt, sched = optimiser(net, args, 3)
    opt.step()
    sched.step()
    rng = np.random.default_rng(5)
    save_checkpoint(tmp_path / "c.pt", net, opt, sched, rng.bit_generator.state, 1, args)
    expected = rng.random()
    again = CornerNet(4)
    opt2, sched2 = optimiser(again, args, 3)
    epoch, state = resume_checkpoint(tmp_path / "c.pt", again, opt2, sched2)
    rng2 = np.random.default_rng(0)
    rng2.bit_generator.state = state
    assert epoch == 1 and rng2.random() == expected
    assert sched2.state_dict()["last_epoch"] == sched.state_dict()["last_epoch"] == 1
    for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
