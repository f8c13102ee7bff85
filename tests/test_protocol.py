"""The annotation protocols: coverage of every parameter, honest "needed for" hints, wording."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from spinecheck.alignment.geometry.coronal import vertebra_tilts
from spinecheck.alignment.measure import measure
from spinecheck.alignment.parameters import JUNCTIONAL, PARAMETERS
from spinecheck.landmarks.annotate.protocol import (
    PROTOCOLS,
    Protocol,
    Step,
    default_protocol,
    get_protocol,
    prompt_for,
)
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import LandmarkSet
from spinecheck.landmarks.points.names import LEVELS, View
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

ROOT = Path(__file__).resolve().parents[1]
CAL = Calibration.from_spacing([1.0, 1.0])


@pytest.fixture(scope="module")
def truth():
    """True points of a lateral and an AP film, with the vertebral centroids the protocols ask for."""
    out = {}
    for film in (synthetic_lateral(mm_per_px=1.0), synthetic_ap(mm_per_px=1.0)):
        pts = dict(film.landmarks.points)
        corners = ("ant", "post") if film.view is View.LATERAL else ("left", "right")
        for level in ("C2", "C7", "T1"):
            four = [pts[f"{level}.{e}.{c}"] for e in ("sup", "inf") for c in corners]
            pts[f"{level}.centroid"] = tuple(np.mean(four, axis=0))
        out[film.view] = pts
    return out


def measured(view: View, points: dict) -> dict[str, float]:
    m = measure(LandmarkSet(view, points).to_table(calibration=CAL))
    return {pid: float(m.values[pid][0]) for pid, p in PARAMETERS.items() if p.view is view}


def warnings_of(view: View, points: dict) -> tuple[str, ...]:
    return measure(LandmarkSet(view, points).to_table(calibration=CAL)).warnings[0]


def protocol_points(protocol: Protocol, truth) -> dict:
    return {name: truth[protocol.view][name] for name in protocol.names}


@pytest.mark.parametrize("name", ["lateral", "ap"])
def test_the_complete_protocol_measures_every_parameter_of_its_view(name, truth):
    protocol = get_protocol(name)
    values = measured(protocol.view, protocol_points(protocol, truth))
    # the junctional angles of a post-operative film are measured at the operation's levels, which no
    # protocol fixes: their reason says so ("UIV not recorded") on a film that records none
    missing = [pid for pid, v in values.items() if not math.isfinite(v) and pid not in JUNCTIONAL]
    assert not missing, f"protocol {name!r} lacks points for {missing}"
    assert default_protocol(protocol.view) is protocol


def test_the_core_protocol_measures_its_parameters_and_is_a_subsequence_of_the_complete_one(truth):
    core, full = get_protocol("lateral-core"), get_protocol("lateral")
    values = measured(View.LATERAL, protocol_points(core, truth))
    for pid in ("PI", "PT", "SS", "LL", "TK", "SVA", "TPA"):
        assert math.isfinite(values[pid]), pid
    assert not math.isfinite(values["CL"])  # the cervical points are not asked
    positions = [full.index(n) for n in core.names]
    assert positions == sorted(positions)
    assert len(core) < len(full)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_each_step_is_needed_for_the_parameters_it_names(name, truth):
    """Leaving a point out changes (or removes) every parameter its hint says it is needed for.

    The Cobb angles are searched over every vertebra, so a corner is needed for them when leaving
    it out removes its vertebra's tilt (the largest curve of this film may not reach it).
    """
    protocol = get_protocol(name)
    points = protocol_points(protocol, truth)
    full = measured(protocol.view, points)
    tilts = vertebra_tilts(LandmarkSet(protocol.view, points).to_table())["mid"][0]
    for step in protocol.steps:
        rest = {n: p for n, p in points.items() if n != step.name}
        without = measured(protocol.view, rest)
        for pid in step.used_for:
            assert pid in full, f"{step.name}: unknown parameter {pid}"
            if pid == "Cobb_max":
                j = LEVELS.index(step.name.split(".")[0])
                lost = vertebra_tilts(LandmarkSet(protocol.view, rest).to_table())["mid"][0]
                assert math.isfinite(tilts[j]) and not math.isfinite(lost[j]), step.name
            else:
                # the same value is possible from a fallback (PO from S1 without the crests): then it says so
                changed = without[pid] != full[pid] or warnings_of(protocol.view, rest) != warnings_of(
                    protocol.view, points
                )
                assert changed, f"{step.name} is said to be needed for {pid}, but is not"


def test_every_parameter_of_a_view_is_named_by_some_step_of_its_complete_protocol():
    for view in View:
        named = {pid for step in default_protocol(view).steps for pid in step.used_for}
        # the junctional angles are asked for on a post-operative film, at its levels (with_junctions)
        expected = {pid for pid, p in PARAMETERS.items() if p.view is view and pid not in JUNCTIONAL}
        assert named == expected


def test_protocols_refuse_unknown_and_repeated_names():
    with pytest.raises(InvalidLandmarksError, match="unknown protocol 'sagittal'; expected one of lateral"):
        get_protocol("sagittal")
    with pytest.raises(InvalidLandmarksError, match="asked twice"):
        Protocol("x", "lateral", "x", (Step("C7.centroid", "a"), Step("C7.centroid", "b")))
    with pytest.raises(InvalidLandmarksError, match="an AP landmark"):
        Protocol("x", "lateral", "x", (Step("S1.sup.left", "a"),))
    assert get_protocol(" Lateral-Core ").name == "lateral-core"


def test_prompts_say_image_sides_on_ap_and_anatomy_on_lateral():
    ap = get_protocol("ap")
    corners = [s for s in ap.steps if ".sup." in s.name or ".inf." in s.name]
    assert all("IMAGE-LEFT" in s.prompt or "IMAGE-RIGHT" in s.prompt for s in corners)
    assert all(("IMAGE-LEFT" in s.prompt) == s.name.endswith(".left") for s in corners)
    lateral = get_protocol("lateral")
    assert all(s.prompt.startswith("Click the ") and s.hint for s in lateral.steps)
    assert "FRONT" in prompt_for("S1.sup.ant", "lateral") and "BACK" in prompt_for("T4.sup.post", "lateral")
    assert [s.name for s in ap.steps if s.optional] == ["IC.left", "IC.right"]
    assert (
        ap.step("L2.centroid").prompt == "Click the CENTRE of the L2 vertebral body"
    )  # not asked, but named
