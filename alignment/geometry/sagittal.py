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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...landmarks.points.facing import facing
from ...landmarks.points.model import LandmarkTable
from .plane import (
    NO_REASON,
    Inputs,
    Need,
    angle_from_horizontal_deg,
    angle_from_vertical_deg,
    column,
    merge_reasons,
    signed_angle_deg,
    wrap_deg,
)

__all__ = ["ParameterColumn", "sagittal_parameters", "PI_IDENTITY_TOL_DEG"]

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


def _endplate(inp: Inputs, level: str, e: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ of an endplate (deg), its reason (missing or zero length), and its midpoint."""
    post, ant = inp.p(f"{level}.{e}.post"), inp.p(f"{level}.{e}.ant")
    reason = inp.reasons([Need.point(f"{level}.{e}.ant"), Need.point(f"{level}.{e}.post")])
    zero = np.all(post == ant, axis=1)
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
    return theta, reason, (post + ant) / 2


def sagittal_parameters(table: LandmarkTable) -> tuple[dict[str, ParameterColumn], dict[int, list[str]]]:
    """Every sagittal parameter of clinical.md §1 for N lateral films.

    Parameters
    ----------
    table : LandmarkTable
        Lateral films only.

    Returns
    -------
    columns : dict
        Parameter id to :class:`ParameterColumn`.
    warnings : dict
        Study index to its warnings (studies without any are absent).

    Notes
    -----
    PI is computed from its own definition — the signed angle at S1mid from
    the endplate perpendicular (pointing into the sacrum) to S1mid→HA — and
    checked against PT + SS to :data:`PI_IDENTITY_TOL_DEG`; a failure makes
    all three null (it means the hip axis lies above the sacral endplate).
    """
    sign, from_s1 = facing(table)
    warnings: dict[int, list[str]] = {}
    for i in np.flatnonzero(~from_s1 & np.isfinite(sign)):
        warnings.setdefault(int(i), []).append(
            "S1 superior endplate not annotated: anterior taken from the other endplates' ant/post corners"
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
        out[pid] = ParameterColumn(np.where(np.equal(reason, NO_REASON), mm, np.nan), reason, v_px)

    # --- pelvis --------------------------------------------------------------
    theta_s1, r_s1, s1mid = _endplate(inp, "S1", "sup")
    fh_l, fh_r, fh = inp.p("FH.left"), inp.p("FH.right"), inp.p("FH")
    has_l, has_r, has_one = (np.isfinite(v).all(axis=1) for v in (fh_l, fh_r, fh))
    ha = np.where(
        (has_l & has_r)[:, None],
        (fh_l + fh_r) / 2,
        np.where(has_one[:, None], fh, np.where(has_l[:, None], fh_l, fh_r)),
    )
    for i in np.flatnonzero(~has_one & (has_l ^ has_r)):
        warnings.setdefault(int(i), []).append(
            "only one femoral head annotated: the hip axis is that head's centre"
        )
    r_ha = np.where(~(has_l | has_r | has_one), "missing landmarks: FH.left and FH.right (or FH)", NO_REASON)
    h = ha - s1mid  # S1mid -> HA
    r_coincident = np.where(
        np.all(h == 0, axis=1),
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

    # --- lordosis / kyphosis (Cobb between endplates) -------------------------
    for pid, upper, lower, kyphosis in _COBBS:
        tu, ru, _ = _endplate(inp, *upper)
        tl, rl, _ = _endplate(inp, *lower)
        cobb = wrap_deg(tu - tl)
        angle(pid, -cobb if kyphosis else cobb, ru, rl)
    angle("PI_LL", out["PI"].value - out["LL"].value, out["PI"].reason, out["LL"].reason)
    theta_t1, r_t1, _ = _endplate(inp, "T1", "sup")
    angle("T1S", -theta_t1, r_t1)
    angle("TS_CL", out["T1S"].value - out["CL"].value, out["T1S"].reason, out["CL"].reason)

    # --- global alignment ------------------------------------------------------
    c7 = inp.centre("C7", _LAT)
    r_c7 = inp.reasons([Need.centre("C7", _LAT)])
    r_t1c = inp.reasons([Need.centre("T1", _LAT)])
    angle("TPA", wrap_deg(pt + angle_from_vertical_deg(ha, inp.centre("T1", _LAT))), r_pelvis, r_t1c)
    angle("GT", wrap_deg(pt + angle_from_vertical_deg(s1mid, c7)), r_pelvis, r_c7)
    length(
        "SVA",
        c7[:, 0] - inp.p("S1.sup.post")[:, 0],
        px.centre("C7", _LAT)[:, 0] - px.p("S1.sup.post")[:, 0],
        r_c7,
        inp.reasons([Need.point("S1.sup.post")]),
    )
    length(
        "cSVA",
        inp.centre("C2", _LAT)[:, 0] - inp.p("C7.sup.post")[:, 0],
        px.centre("C2", _LAT)[:, 0] - px.p("C7.sup.post")[:, 0],
        inp.reasons([Need.centre("C2", _LAT), Need.point("C7.sup.post")]),
    )
    return out, warnings


#: (id, upper endplate, lower endplate, positive for kyphosis)
_COBBS = (
    ("LL", ("L1", "sup"), ("S1", "sup"), False),
    ("LL_L1L5", ("L1", "sup"), ("L5", "inf"), False),
    ("LL_L4S1", ("L4", "sup"), ("S1", "sup"), False),
    ("TK", ("T4", "sup"), ("T12", "inf"), True),
    ("TK_T2T12", ("T2", "sup"), ("T12", "inf"), True),
    ("TK_T5T12", ("T5", "sup"), ("T12", "inf"), True),
    ("CL", ("C2", "inf"), ("C7", "inf"), False),
)
