"""The landmark model's inference: pre- and post-processing, the shipped ONNX weights, real films.

CI never trains: the network itself is only run (the shipped ONNX graph, through onnxruntime).
Pre- and post-processing are checked on generated films and heatmaps whose corners are known; a
fake network that answers with heatmaps peaked at known corners checks that :func:`detect` maps
the film and its mirror image back to the film's pixels and names.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
from spinecheck.landmarks.detect import (
    INPUT_COLUMNS,
    INPUT_ROWS,
    LandmarkModel,
    ModelInfo,
    ModelIntegrityError,
    detect,
    heatmaps_to_points,
    load_model,
    plausible_spine,
    prepare,
)
from spinecheck.landmarks.detect.inference import MIRROR_ORDER, STRIDE
from spinecheck.landmarks.errors import InvalidArgumentError
from spinecheck.landmarks.io.aasce import AASCE_POINT_NAMES, read_aasce_mat

H, W = INPUT_ROWS // STRIDE, INPUT_COLUMNS // STRIDE


def _column(top: float = 150.0, step: float = 100.0, x0: float = 300.0, width: float = 120.0) -> np.ndarray:
    """68 corners of a straight, upright column of 17 vertebrae 70 px tall, ``AASCE_POINT_NAMES`` order."""
    return np.array(
        [[x0 + dx, top + step * v + dy] for v in range(17) for dy in (0.0, 70.0) for dx in (0.0, width)]
    )


def _heatmap(u: float, v: float, sigma_cells: float = 0.7) -> np.ndarray:
    """Logits of a Gaussian peak at input pixel ``(u, v)``."""
    xs = (np.arange(W) + 0.5) * STRIDE - 0.5
    ys = (np.arange(H) + 0.5) * STRIDE - 0.5
    d2 = (xs[None, :] - u) ** 2 + (ys[:, None] - v) ** 2
    return -d2 / (2 * (sigma_cells * STRIDE) ** 2)


class _FakeSession:
    """Answers like the network would if it found *corners* (film pixels) exactly, on the film and its mirror."""

    def __init__(self, corners: np.ndarray, rows: int, columns: int) -> None:
        sx, sy = columns / INPUT_COLUMNS, rows / INPUT_ROWS
        self.uv = np.stack([(corners[:, 0] + 0.5) / sx - 0.5, (corners[:, 1] + 0.5) / sy - 0.5], -1)

    def run(self, names, feeds):
        x = feeds["image"]
        assert x.shape == (2, 1, INPUT_ROWS, INPUT_COLUMNS) and x.dtype == np.float32
        plain = np.stack([_heatmap(u, v) for u, v in self.uv])
        mirrored_uv = self.uv[list(MIRROR_ORDER)].copy()
        mirrored_uv[:, 0] = INPUT_COLUMNS - 1 - mirrored_uv[:, 0]
        mirror = np.stack([_heatmap(u, v) for u, v in mirrored_uv])
        return [np.stack([plain, mirror]).astype(np.float32)]


def _fake_model(corners: np.ndarray, rows: int, columns: int) -> LandmarkModel:
    return LandmarkModel(ModelInfo("fake", "0", "0" * 64), _FakeSession(corners, rows, columns))


# ----------------------------------------------------------------------------- pre-processing


def test_prepare_resizes_stretches_and_reports_the_scale():
    rng = np.random.default_rng(1)
    film = rng.uniform(20, 60, size=(2000, 900))
    film[500:700, 400:500] = 250.0  # a bright block
    x, (sx, sy) = prepare(film)
    assert x.shape == (INPUT_ROWS, INPUT_COLUMNS) and x.dtype == np.float32
    assert (sx, sy) == (900 / INPUT_COLUMNS, 2000 / INPUT_ROWS)
    assert -0.5 <= x.min() and x.max() <= 0.5
    # the block's centre, mapped back with the documented pixel-centre rule, lands on the film's
    rows, cols = np.nonzero(x > 0.4)
    u, v = cols.mean(), rows.mean()
    assert (u + 0.5) * sx - 0.5 == pytest.approx(449.5, abs=sx)
    assert (v + 0.5) * sy - 0.5 == pytest.approx(599.5, abs=sy)


def test_prepare_reads_a_radiographs_display_and_rgb_arrays():
    grey = np.tile(np.linspace(0, 255, 300), (600, 1)).astype(np.uint8)

    class Film:  # what detect needs of a Radiograph: its display grey levels
        display = grey

    a, _ = prepare(Film())
    b, _ = prepare(np.repeat(grey[..., None], 3, axis=2))
    np.testing.assert_allclose(a, prepare(grey)[0])
    np.testing.assert_allclose(b, a, atol=1e-3)


@pytest.mark.parametrize(
    ("image", "said"),
    [
        pytest.param(np.zeros((10, 400)), "at least 16 x 16", id="too-small"),
        pytest.param(np.zeros((3, 40, 40, 2)), "2-D grey film", id="4-d"),
        pytest.param(np.full((40, 40), np.nan), "finite", id="nan"),
        pytest.param(np.full((40, 40), "a"), "numbers", id="strings"),
    ],
)
def test_prepare_refuses_what_is_not_a_film(image, said):
    with pytest.raises(InvalidArgumentError, match=said):
        prepare(image)


# ----------------------------------------------------------------------------- post-processing


def test_heatmaps_to_points_is_sub_pixel_and_in_film_pixels():
    rng = np.random.default_rng(2)
    uv = np.column_stack([rng.uniform(20, INPUT_COLUMNS - 20, 68), rng.uniform(20, INPUT_ROWS - 20, 68)])
    maps = np.stack([_heatmap(u, v) for u, v in uv])
    xy, conf = heatmaps_to_points(maps, (3.0, 7.5))
    np.testing.assert_allclose(xy[:, 0], (uv[:, 0] + 0.5) * 3.0 - 0.5, atol=0.05 * 3.0)
    np.testing.assert_allclose(xy[:, 1], (uv[:, 1] + 0.5) * 7.5 - 0.5, atol=0.05 * 7.5)
    assert (conf > 0.7).all()


def test_a_spread_or_split_heatmap_is_less_confident_and_a_split_one_keeps_to_one_peak():
    sharp = _heatmap(60, 100)
    wide = _heatmap(60, 100, sigma_cells=3)
    split = np.logaddexp(_heatmap(60, 59.5), _heatmap(60, 139.5) + 0.1)  # torn between two vertebrae
    maps = np.stack([sharp, wide, split] + [sharp] * 65)
    xy, conf = heatmaps_to_points(maps, (1.0, 1.0))
    assert conf[0] > 0.9 and conf[0] > conf[1] > 0
    assert conf[2] == pytest.approx(0.52, abs=0.02)
    # on the stronger peak, not midway between the two (which the whole map's expectation gives)
    assert xy[2].tolist() == pytest.approx([60.0, 139.5], abs=0.01)


def test_heatmaps_to_points_refuses_the_wrong_shape():
    with pytest.raises(InvalidArgumentError, match=r"\(68, h, w\)"):
        heatmaps_to_points(np.zeros((17, 8, 8)), (1.0, 1.0))


def test_a_plausible_column_is_left_alone():
    found = plausible_spine(_column())
    assert not found.replaced.any() and found.reasons == ()
    np.testing.assert_array_equal(found.xy, _column())


@pytest.mark.parametrize(
    ("level", "spoil", "why"),
    [
        pytest.param(8, lambda p: p[[2, 3, 0, 1]], "superior corners below", id="upside-down"),
        pytest.param(8, lambda p: p[[1, 0, 3, 2]], "left corners right", id="left-right-swapped"),
        pytest.param(3, lambda p: p + [0.0, 900.0], "out of order", id="moved-down"),
        pytest.param(12, lambda p: p * [3.0, 1.0] - [600.0, 0.0], "width", id="too-wide"),
        pytest.param(
            5,
            lambda p: (p - p.mean(0)) @ np.array([[0.8, 0.6], [-0.6, 0.8]]) + p.mean(0),
            "tilt",
            id="tilted-37-deg",
        ),
    ],
)
def test_an_implausible_vertebra_is_replaced_by_its_neighbours(level, spoil, why):
    truth = _column()
    bad = truth.copy()
    bad[4 * level : 4 * level + 4] = spoil(truth[4 * level : 4 * level + 4])
    found = plausible_spine(bad)
    assert np.flatnonzero(found.replaced).tolist() == [level]
    assert why in found.reasons[0]
    np.testing.assert_allclose(found.xy, truth, atol=1e-9)


def test_the_end_vertebrae_are_extrapolated():
    truth = _column()
    bad = truth.copy()
    bad[64:68] = bad[64:68] - [0.0, 1000.0]  # L5 up among the thoracic vertebrae
    found = plausible_spine(bad)
    assert np.flatnonzero(found.replaced).tolist() == [16]
    np.testing.assert_allclose(found.xy[64:68], truth[64:68], atol=1e-9)


# ----------------------------------------------------------------------------- detect, with a known answer


@pytest.mark.parametrize("mirrored", [False, True], ids=["film", "mirrored-film"])
def test_detect_maps_corners_back_to_the_film_and_its_names(mirrored):
    rows, columns = 2400, 1000
    corners = _column(top=300.0, step=110.0, x0=420.0, width=150.0)
    corners[::4, 1] += 6.0  # each superior-left corner a little lower: tilted endplates
    if mirrored:  # the same spine seen in a mirror: its image-left corners are the right ones
        corners = corners[list(MIRROR_ORDER)]
        corners[:, 0] = columns - 1 - corners[:, 0]
    film = np.random.default_rng(3).uniform(0, 255, size=(rows, columns))
    found = detect(film, _fake_model(corners, rows, columns))
    assert list(found.points) == list(AASCE_POINT_NAMES)
    assert (found.rows, found.columns) == (rows, columns)
    np.testing.assert_allclose(found.as_array(), corners, atol=0.05 * columns / INPUT_COLUMNS)
    assert found.replaced == ()
    assert found.film_confidence > 0.3 and min(found.point_confidence.values()) > 0.3
    assert found.model == ModelInfo("fake", "0", "0" * 64)


def test_detect_marks_a_replaced_vertebra_and_lowers_the_film_confidence():
    rows, columns = 2400, 1000
    corners = _column(top=300.0, step=110.0, x0=420.0, width=150.0)
    good = detect(np.zeros((rows, columns)), _fake_model(corners, rows, columns))
    corners[36:40, 1] -= 700.0  # T10 found up among the upper thoracic vertebrae
    bad = detect(np.zeros((rows, columns)), _fake_model(corners, rows, columns))
    assert bad.replaced == ("T10",)
    assert max(bad.point_confidence[f"T10.{c}"] for c in ("sup.left", "sup.right", "inf.left")) <= 0.2
    assert bad.film_confidence < good.film_confidence


# ----------------------------------------------------------------------------- the shipped weights


def _weights():
    return resources.files("spinecheck.landmarks.detect").joinpath("weights")


def test_the_shipped_weights_match_their_manifest_and_model_card():
    manifest = json.loads(_weights().joinpath("manifest.json").read_text())
    data = _weights().joinpath(manifest["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    assert len(data) < 8 * 2**20, "the weights should stay a few MB"
    model = load_model()
    assert model.info == ModelInfo(manifest["name"], manifest["version"], manifest["sha256"])
    card = _weights().joinpath("MODEL_CARD.md").read_text()
    size = len(data)
    for key in ("local", "refine"):  # the local stage since 1.1, the refiner's network since 1.2
        part = manifest[key]
        part_data = _weights().joinpath(part["file"]).read_bytes()
        assert hashlib.sha256(part_data).hexdigest() == part["sha256"]
        assert part["sha256"] in card
        size += len(part_data)
    assert size < 8 * 2**20
    assert model.local is not None and model.refine is not None
    for must in (
        "AASCE",
        "research",
        "not for clinical use",
        "cross-validat",
        manifest["version"],
        manifest["sha256"],
    ):
        assert must.lower() in card.lower(), must


@pytest.mark.parametrize(("key", "what"), [("local", "local stage"), ("refine", "refiner network")])
def test_a_damaged_second_network_in_the_package_is_refused(tmp_path, monkeypatch, key, what):
    """The shipped model checks its other networks' SHA-256 too: a replaced file is refused in one line."""
    from spinecheck.landmarks.detect import inference

    folder = tmp_path / "weights"
    folder.mkdir()
    manifest = json.loads(_weights().joinpath("manifest.json").read_text())
    for name in (manifest["file"], manifest["local"]["file"], manifest["refine"]["file"], "manifest.json"):
        folder.joinpath(name).write_bytes(_weights().joinpath(name).read_bytes())
    data = bytearray(folder.joinpath(manifest[key]["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    folder.joinpath(manifest[key]["file"]).write_bytes(bytes(data))

    class _Files:  # what importlib.resources.files gives, pointed at the copy
        def __init__(self, path):
            self.path = path

        def joinpath(self, name):
            return self.path / name

    monkeypatch.setattr(inference.resources, "files", lambda package: _Files(tmp_path))
    inference._shipped.cache_clear()
    try:
        with pytest.raises(ModelIntegrityError, match=f"{what} .* does not match the recorded"):
            inference._shipped()
    finally:
        inference._shipped.cache_clear()


def test_a_damaged_model_file_is_refused(tmp_path):
    manifest = json.loads(_weights().joinpath("manifest.json").read_text())
    data = bytearray(_weights().joinpath(manifest["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match the recorded"):
        load_model(str(damaged), sha256=manifest["sha256"])
    with pytest.raises(ModelIntegrityError, match="cannot be read"):
        load_model(str(tmp_path / "absent.onnx"))


def test_inference_needs_no_torch():
    code = (
        "import sys, numpy as np; from spinecheck.landmarks.detect import detect; "
        "detect(np.random.default_rng(0).uniform(0, 255, (900, 400))); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- real films


def _dev_films(shared_data):
    """Three aasce-dev films with good labels, and their folder.

    They are among the training films of the shipped model (aasce-dev is part of aasce-train), so
    the tests below check sane output, not accuracy: the cross-validated accuracy is the bench's.
    """
    dev = shared_data / "aasce-dev"
    present = sorted(p.name for p in (dev / "images").glob("*.jpg"))
    with (dev / "angles.csv").open() as f:
        ok = {line.split(",")[0] for line in f if line.rstrip().endswith(",yes")}
    return dev, [n for n in present if n in ok][:3]


@pytest.mark.shared
def test_the_shipped_model_finds_the_corners_of_real_ap_films(shared_data):
    from spinecheck.landmarks import load_radiograph

    dev, names = _dev_films(shared_data)
    assert len(names) == 3
    for name in names:
        film = load_radiograph(dev / "images" / name)
        truth = read_aasce_mat(dev / "labels" / f"{name}.mat")
        found = detect(film)
        xy = found.as_array()
        assert np.isfinite(xy).all()
        assert (xy[:, 0] >= -0.5).all() and (xy[:, 0] <= film.columns - 0.5).all()
        centres = xy.reshape(17, 4, 2).mean(1)
        assert (np.diff(centres[:, 1]) > 0).all(), f"{name}: vertebrae out of order"
        err = np.hypot(*(xy - np.array(list(truth.points.values()))).T)
        # sane, not accurate: the model's cross-validated per-corner error is about 2 % of the film's
        # height at the median and 6 % at the 90th percentile (model card); a spine found in the wrong
        # place (an upside-down reading, the ribs) is off by 10 % or more
        assert np.median(err) < 0.06 * film.rows, f"{name}: median corner error {np.median(err):.0f} px"
        assert 0 < found.film_confidence <= 1


@pytest.mark.shared
def test_a_mirrored_real_film_gives_the_mirrored_corners(shared_data):
    from spinecheck.landmarks import load_radiograph

    dev, names = _dev_films(shared_data)
    film = load_radiograph(dev / "images" / names[0]).display
    plain = detect(film).as_array()
    mirrored = detect(film[:, ::-1]).as_array()[list(MIRROR_ORDER)]
    mirrored[:, 0] = film.shape[1] - 1 - mirrored[:, 0]
    # film and mirror are both read in either case, so the two answers agree closely
    assert np.median(np.hypot(*(plain - mirrored).T)) < 0.005 * film.shape[0]


# ----------------------------------------------------------------------------- training (needs the [train] extra)


def test_folds_keep_each_patient_whole():
    training = pytest.importorskip("spinecheck.landmarks.detect.training")
    names = [
        f"sunhl-1th-0{d}-Jan-2017-{p} {f} AP.jpg" for p, d, f in [(162, 2, "A"), (162, 3, "B"), (163, 3, "A")]
    ]
    names += [f"sunhl-1th-04-Jan-2017-{p} A AP.jpg" for p in range(170, 190)] + [
        "sunhl-1th-20-Jul-2016-coronal1.jpg"
    ]
    folds = training.assign_folds(names, 5, seed=12)
    assert folds[0] == folds[1]  # patient 162's films A and B
    assert sorted(np.bincount(folds, minlength=5)) == [4, 5, 5, 5, 5]
    assert training.patient_of(names[-1]) == names[-1]  # a name without a patient is its own group


def test_augmentation_moves_the_corners_with_the_image_and_renames_mirrored_ones():
    torch = pytest.importorskip("torch")
    training = pytest.importorskip("spinecheck.landmarks.detect.training")
    # three bright dots at known corners (T1.sup.left, T1.sup.right, T1.inf.left), the rest far away
    pts = torch.tensor([[[30.0, 40.0], [90.0, 50.0], [40.0, 200.0]] + [[64.0, 128.0]] * 65])
    x = torch.full((1, 1, INPUT_ROWS, INPUT_COLUMNS), -0.5)
    for u, v in pts[0, :3].tolist():
        x[0, 0, int(v) - 1 : int(v) + 2, int(u) - 1 : int(u) + 2] = 0.5
    seen_mirror = seen_plain = False
    for seed in range(12):
        y, q = training._augment(x.clone(), pts.clone(), torch.Generator().manual_seed(seed))
        img = y[0, 0].numpy()
        mirrored = bool(
            q[0, 0, 0] > q[0, 1, 0]
        )  # "left" corner now right of "right": only if renamed wrongly
        assert not mirrored
        # T1.inf.left is where a dot is, whichever way the film was turned (its name follows the image)
        for k in (0, 1):
            u, v = q[0, k].tolist()
            r, c = round(v), round(u)
            assert img[max(r - 3, 0) : r + 4, max(c - 3, 0) : c + 4].max() > 0.3, (seed, k)
        dot3 = q[0, 2] if bool(q[0, 2, 1] > 150) else q[0, 3]  # T1.inf.left, or T1.inf.right once mirrored
        seen_mirror |= bool(q[0, 3, 1] > 150)
        seen_plain |= bool(q[0, 2, 1] > 150)
        r, c = round(float(dot3[1])), round(float(dot3[0]))
        assert img[max(r - 3, 0) : r + 4, max(c - 3, 0) : c + 4].max() > 0.3, (seed, "inf")
    assert seen_mirror and seen_plain
