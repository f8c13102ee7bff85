"""Sagittal parameters of lateral films (clinical.md §1), vectorised over studies.

All angles are computed in the patient frame of :mod:`spinecheck.alignment.geometry.plane`:
``a`` anterior, ``s`` superior, millimetres. Anterior is derived per film from
the S1 superior endplate (``S1.sup.post -> S1.sup.ant``), never assumed; when
S1 is not annotated it is taken from the majority of the other annotated
endplates, whose ``ant``/``post`` names say the same thing, and the film
carries a warning (:mod:`spinecheck.landmarks.points.facing`: one rule for the
whole tool).

Endplate orientation θ (clinical.md §0.6): the angle of the line from the
posterior to the anterior corner from the anterior horizontal, positive when
the anterior corner is higher. Then ``SS = -θ(S1 sup)``, ``T1S = -θ(T1 sup)``
and a sagittal Cobb between an upper line U and a lower line L is
``θ(U) - θ(L)`` (positive = lordosis).

Transitional anatomy (:mod:`spinecheck.landmarks.points.anatomy`): "S1" above
means the sacral endplate, the superior endplate of a sacralised vertebra when
the study records one; the ranged parameters take their endplates from
:data:`~spinecheck.alignment.parameters.RANGES`, resolved per study.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import dataclass
from ...landmarks.points.anatomy import LevelRole, SpineLevels
from ...landmarks.points.facing import facing
from ...landmarks.points.model import LandmarkTable
from ..parameters import FIVE_LUMBAR_ONLY, JUNCTIONAL, RANGES, Constructions, JunctionLines
from .junctional import junctional_angles
from .plane import (
    NO_REASON,
    Inputs,
    Need,
    angle_from_horizontal_deg,
    angle_from_vertical_deg,
    coincide,
    column,
    has_reason,
    merge_reasons,
    per_level,
    placed,
    signed_angle_deg,
    wrap_deg,
)

__all__ = [
    "ParameterColumn",
    "SagittalCobb",
    "SAGITTAL_COBBS",
    "SagittalResult",
    "hip_axis",
    "sagittal_parameters",
    "PI_IDENTITY_TOL_DEG",
]

#: PI is computed independently of PT and SS; the identity PI = PT + SS must hold to this.
PI_IDENTITY_TOL_DEG = 1e-6

_LAT = ("ant", "post")


@dataclass(frozen=True)
class ParameterColumn:
    """Values of one parameter over N studies.

    ``value`` is degrees, or millimetres for lengths (NaN when uncalibrated);
    ``value_px`` is the length in pixels (None for angles); ``reason`` is None
    where measured.
    """

    value: np.ndarray
    reason: np.ndarray
    value_px: np.ndarray | None = None


class SagittalResult(NamedTuple):
    """What :func:`sagittal_parameters` measured on N lateral films.

    Attributes
    ----------
    columns : dict of str to ParameterColumn
        Parameter id to its values.
    warnings : dict of int to list of str
        Study index to its warnings (studies without any are absent).
    anterior_sign : ndarray, shape (N,)
        +1 where the patient faces image right, -1 image left, NaN unknown
        (:func:`spinecheck.landmarks.points.facing.facing`).
    constructions : Constructions
        The hip axis, the S1 midpoint and perpendicular and the C2, C7 and T1
        body centres the parameters were measured from, in image pixels.
    junctions : JunctionLines
        The levels and endplates of the junctional angles (PJA, DJA) of
        post-operative films, in image pixels.
    """

    columns: dict[str, ParameterColumn]
    warnings: dict[int, list[str]]
    anterior_sign: np.ndarray
    constructions: Constructions
    junctions: JunctionLines


def hip_axis(inp: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hip axis (clinical.md §1 ``HA``) of N studies, in the frame of *inp*.

    Returns
    -------
    ha : ndarray, shape (N, 2)
        The midpoint of ``FH.left`` and ``FH.right`` when both are placed,
        else ``FH`` (both heads superimposed), else the one head placed; NaN
        when there is none.
    one_side : ndarray of bool, shape (N,)
        Only one of ``FH.left``/``FH.right`` placed, and no ``FH``: a study to warn about.
    none : ndarray of bool, shape (N,)
        No femoral head placed.
    """
    fh_l, fh_r, fh = inp.p("FH.left"), inp.p("FH.right"), inp.p("FH")
    has_l, has_r, has_one = (placed(v) for v in (fh_l, fh_r, fh))
    ha = np.where(
        (has_l & has_r)[:, None],
        (fh_l + fh_r) / 2,
        np.where(has_one[:, None], fh, np.where(has_l[:, None], fh_l, fh_r)),
    )
    return ha, ~has_one & (has_l ^ has_r), ~(has_l | has_r | has_one)


def _endplate(inp: Inputs, level: str, e: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ of an endplate (deg), its reason (missing or zero length), and its midpoint."""
    post, ant = inp.p(f"{level}.{e}.post"), inp.p(f"{level}.{e}.ant")
    reason = inp.reasons([Need.point(f"{level}.{e}.ant"), Need.point(f"{level}.{e}.post")])
    zero = coincide(post, ant)
    word = "superior" if e == "sup" else "inferior"
    reason = merge_reasons(
        reason,
        np.where(
            zero,
            f"degenerate geometry: {level} {word} endplate has zero length "
            f"({level}.{e}.ant and {level}.{e}.post coincide)",
            NO_REASON,
        ),
    )
    theta = np.where(zero, np.nan, angle_from_horizontal_deg(post, ant))
    return theta, reason, _midpoint(post, ant)


def _endplate_at(
    inp: Inputs, levels: np.ndarray, e: str, made: dict | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_endplate` of each study's own level (``(N,)`` level names: a role resolved per study).

    *made* keeps each endplate's :func:`_endplate` for the next parameter built on it.
    """

    def make(level: str) -> tuple[np.ndarray, ...]:
        if made is None:
            return _endplate(inp, level, e)
        if (level, e) not in made:
            made[level, e] = _endplate(inp, level, e)
        return made[level, e]

    theta, reason, mid = per_level(levels, make)
    return theta, reason, mid


def _midpoint(post: np.ndarray, ant: np.ndarray) -> np.ndarray:
    """An endplate's midpoint (S1mid of clinical.md §1 for the S1 superior endplate)."""
    return (post + ant) / 2


def sagittal_parameters(table: LandmarkTable) -> SagittalResult:
    """Every sagittal parameter of clinical.md §1 for N lateral films.

    Parameters
    ----------
    table : LandmarkTable
        Lateral films only.

    Returns
    -------
    SagittalResult
        The parameter columns, the warnings, where each patient faces and
        the constructions, in image pixels.

    Notes
    -----
    PI is computed from its own definition — the signed angle at S1mid from
    the endplate perpendicular (pointing into the sacrum) to S1mid→HA — and
    checked against PT + SS to :data:`PI_IDENTITY_TOL_DEG`; a failure makes
    all three null (it means the hip axis lies above the sacral endplate).

    The constructions are made by the same functions in a frame of pixels
    (spacing 1), where they are exact, then mapped back to ``(x, y)``; the
    S1 perpendicular, a direction, is made in millimetres and mapped to pixels.
    """
    spine = table.spine()
    sacrum = spine.of(LevelRole.SACRUM)
    sign, from_s1 = facing(table)
    warnings: dict[int, list[str]] = {}
    for i in np.flatnonzero(~from_s1 & np.isfinite(sign)):
        which = "S1" if sacrum[i] == "S1" else f"{sacrum[i]} (the sacral endplate: sacralised {sacrum[i]})"
        warnings.setdefault(int(i), []).append(
            f"{which} superior endplate not annotated: anterior taken from the other endplates' ant/post corners"
        )
    no_dir = ~np.isfinite(sign)
    inp = Inputs(table, np.where(no_dir, 1.0, sign))
    px = Inputs(table, inp.sign, pixels=True)
    calibrated = table.calibrated
    r_dir = np.where(no_dir, "no endplate annotated: the anterior direction is unknown", NO_REASON)

    out: dict[str, ParameterColumn] = {}

    def angle(pid: str, value: np.ndarray, *reasons: np.ndarray) -> None:
        out[pid] = ParameterColumn(*column(value, merge_reasons(*reasons, r_dir)))

    def length(pid: str, mm: np.ndarray, pixels: np.ndarray, *reasons: np.ndarray) -> None:
        v_px, r_geom = column(pixels, merge_reasons(*reasons, r_dir))
        reason = merge_reasons(
            r_geom, np.where(~calibrated, "no calibration: distance in pixels only", NO_REASON)
        )
        out[pid] = ParameterColumn(np.where(has_reason(reason), np.nan, mm), reason, v_px)

    # --- pelvis: the sacral endplate, S1 superior or a sacralised vertebra's ----
    made: dict = {}  # endplates shared by parameters (S1 sup, L1 sup, T12 inf...) are made once
    theta_s1, r_s1, s1mid = _endplate_at(inp, sacrum, "sup", made)
    ha, one_side, no_head = hip_axis(inp)
    for i in np.flatnonzero(one_side):
        warnings.setdefault(int(i), []).append(
            "only one femoral head annotated: the hip axis is that head's centre"
        )
    r_ha = np.where(no_head, "missing landmarks: FH.left and FH.right (or FH)", NO_REASON)
    h = ha - s1mid  # S1mid -> HA
    r_coincident = np.where(
        (h[:, 0] == 0) & (h[:, 1] == 0),
        "degenerate geometry: the hip axis coincides with the S1 endplate midpoint",
        NO_REASON,
    )

    ss = -theta_s1
    pt = -angle_from_vertical_deg(ha, s1mid)  # positive when S1mid is posterior to HA
    t = np.radians(theta_s1)
    normal_into_sacrum = np.stack([np.sin(t), -np.cos(t)], axis=1)  # endplate direction turned clockwise
    pi = signed_angle_deg(normal_into_sacrum, h)
    broken = np.isfinite(pi) & np.isfinite(pt) & (np.abs(pi - (pt + ss)) > PI_IDENTITY_TOL_DEG)
    r_identity = np.where(
        broken, "implausible geometry: PI != PT + SS (is the hip axis above the S1 endplate?)", NO_REASON
    )
    r_pelvis = merge_reasons(r_s1, r_ha, r_coincident, r_identity)
    angle("SS", ss, r_s1)
    angle("PT", pt, r_pelvis)
    angle("PI", pi, r_pelvis)

    # --- lordosis / kyphosis (Cobb between endplates, at each study's levels) --
    for pid, upper, lower, kyphosis in SAGITTAL_COBBS:
        tu, ru, _ = _endplate_at(inp, spine.of(upper[0]), upper[1], made)
        tl, rl, _ = _endplate_at(inp, spine.of(lower[0]), lower[1], made)
        cobb = wrap_deg(tu - tl)
        angle(pid, -cobb if kyphosis else cobb, ru, rl, *_not_on_transitional(pid, spine, sacrum))
    angle("PI_LL", out["PI"].value - out["LL"].value, out["PI"].reason, out["LL"].reason)
    theta_t1, r_t1, _ = made.get(("T1", "sup")) or _endplate(inp, "T1", "sup")
    angle("T1S", -theta_t1, r_t1)
    angle("TS_CL", out["T1S"].value - out["CL"].value, out["T1S"].reason, out["CL"].reason)

    # --- junctional angles of post-operative films, at each study's UIV and LIV ------
    junction = junctional_angles(inp, table.uiv_index, table.liv_index, spine)
    for pid in JUNCTIONAL:
        angle(pid, junction.values[pid], junction.reasons[pid])

    # --- global alignment ------------------------------------------------------
    c7 = inp.centre("C7", _LAT)
    c7_px, c2_px = px.centre("C7", _LAT), px.centre("C2", _LAT)
    r_c7 = inp.reasons([Need.centre("C7", _LAT)])
    r_t1c = inp.reasons([Need.centre("T1", _LAT)])
    angle("TPA", wrap_deg(pt + angle_from_vertical_deg(ha, inp.centre("T1", _LAT))), r_pelvis, r_t1c)
    angle("GT", wrap_deg(pt + angle_from_vertical_deg(s1mid, c7)), r_pelvis, r_c7)
    s1_post, s1_post_px, r_s1_post = per_level(
        sacrum,
        lambda lv: (
            inp.p(f"{lv}.sup.post"),
            px.p(f"{lv}.sup.post"),
            inp.reasons([Need.point(f"{lv}.sup.post")]),
        ),
    )
    length("SVA", c7[:, 0] - s1_post[:, 0], c7_px[:, 0] - s1_post_px[:, 0], r_c7, r_s1_post)
    length(
        "cSVA",
        inp.centre("C2", _LAT)[:, 0] - inp.p("C7.sup.post")[:, 0],
        c2_px[:, 0] - px.p("C7.sup.post")[:, 0],
        inp.reasons([Need.centre("C2", _LAT), Need.point("C7.sup.post")]),
    )

    # --- the constructions, in image pixels --------------------------------------
    normal_px = inp.pixels(normal_into_sacrum)
    normal_px /= np.hypot(normal_px[:, 0], normal_px[:, 1])[:, None]
    constructions = Constructions(
        hip_axis=px.pixels(hip_axis(px)[0]),
        s1_mid=px.pixels(
            per_level(sacrum, lambda lv: (_midpoint(px.p(f"{lv}.sup.post"), px.p(f"{lv}.sup.ant")),))[0]
        ),
        s1_normal=normal_px,
        c2_centre=px.pixels(c2_px),
        c7_centre=px.pixels(c7_px),
        t1_centre=px.pixels(px.centre("T1", _LAT)),
    )
    return SagittalResult(out, warnings, sign, constructions, junction.lines)


def _not_on_transitional(pid: str, spine: SpineLevels, sacrum: np.ndarray) -> tuple[np.ndarray, ...]:
    """Why a parameter of ``FIVE_LUMBAR_ONLY`` (LL_L4S1) is not measured on a transitional lumbosacral junction."""
    if pid not in FIVE_LUMBAR_ONLY or not spine.lumbosacral.any():
        return ()
    what = np.where(
        np.equal(sacrum, "S1"), "6 lumbar vertebrae (L6)", "sacralised " + sacrum.astype(str)
    ).astype(object)
    return (
        np.where(
            spine.lumbosacral,
            "not measured with transitional lumbosacral anatomy (" + what + "): the lower arc L4-S1 of "
            "GAP is defined on five lumbar vertebrae (Yilgor 2017)",
            NO_REASON,
        ),
    )


class SagittalCobb(NamedTuple):
    """A sagittal Cobb parameter: the two endplates it is measured between.

    A level is taken literally, or is a :class:`~spinecheck.landmarks.points.anatomy.LevelRole`
    value resolved per study (``("sacrum", "sup")``: the sacral endplate).
    """

    id: str
    upper: tuple[str, str]  # (level or role, "sup"/"inf")
    lower: tuple[str, str]
    kyphosis: bool  # positive for kyphosis (else for lordosis)


#: The sagittal Cobb parameters of clinical.md §1, by the endplates they join
#: (:data:`~spinecheck.alignment.parameters.RANGES`).
SAGITTAL_COBBS: tuple[SagittalCobb, ...] = tuple(
    SagittalCobb(
        pid,
        (RANGES[pid].upper.level, RANGES[pid].upper.endplate),
        (RANGES[pid].lower.level, RANGES[pid].lower.endplate),
        kyphosis,
    )
    for pid, kyphosis in (
        ("LL", False),
        ("LL_L1L5", False),
        ("LL_L4S1", False),
        ("TK", True),
        ("TK_T2T12", True),
        ("TK_T5T12", True),
        ("CL", False),
    )
)
