"""The parameters computable so far, as short lines for the annotation window.

:func:`live_parameters` is what ``spinecheck annotate`` shows beside the film
while points are being placed: every parameter of the film's view, its value
once its landmarks are there, otherwise what it still needs. The annotation
window (in ``landmarks``) receives it as a plain function, so ``landmarks``
never imports ``alignment``.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from ...landmarks.points.calibration import Calibration
from ...landmarks.points.model import LandmarkSet
from ..measure import measure
from ..parameters import PARAMETERS, Unit, shown_number

__all__ = ["live_parameters"]

_MISSING = "missing landmarks: "


def live_parameters(
    landmarks: LandmarkSet,
    calibration: Calibration | None = None,
    *,
    parameters: Collection[str] | None = None,
) -> list[str]:
    """One line per parameter of the film's view (or of *parameters*): its value, or what it needs.

    Parameters
    ----------
    landmarks : LandmarkSet
        The points placed so far, ``(x, y)`` pixels.
    calibration : Calibration, optional
        The spacing to measure with (the image header's, or the user's);
        None or uncalibrated gives lengths in pixels.
    parameters : collection of str, optional
        Only these parameter ids (an annotation protocol's,
        :attr:`~spinecheck.landmarks.annotate.protocol.Protocol.parameters`), in
        the order of the parameter table; the coronal curves are listed when
        ``"Cobb_max"`` is among them. None lists every parameter of the view.

    Returns
    -------
    list of str
        ``"PI       54.2°"``, ``"SVA      45 mm"``, ``"SVA      312 px (no calibration)"``,
        ``"SVA      — needs C7.centroid (or the four C7 corners)"``; on AP films
        one line per coronal curve; then the measurement's warnings, each
        starting with ``"! "``.

    Examples
    --------
    >>> s = LandmarkSet("lateral", {"S1.sup.post": (0, 0), "S1.sup.ant": (10, 10), "FH": (20, 40)})
    >>> lines = live_parameters(s)
    >>> lines[:3]
    ['PI       68.2°', 'PT       23.2°', 'SS       45.0°']
    >>> [line for line in lines if line.startswith("SVA")]
    ['SVA      — needs C7.centroid (or the four C7 corners)']
    >>> live_parameters(s, parameters=("PI", "SS"))
    ['PI       68.2°', 'SS       45.0°']
    """
    m = measure(landmarks.to_table(calibration=calibration))
    lines = []
    for pid, p in PARAMETERS.items():
        if p.view is not landmarks.view or (parameters is not None and pid not in parameters):
            continue
        value = float(m.values[pid][0])
        reason = m.reasons[pid][0]
        if math.isfinite(value):
            text = f"{shown_number(value)}°" if p.unit is Unit.DEG else f"{shown_number(value, 0)} mm"
        elif p.is_length and math.isfinite(px := float(m.values_px[pid][0])):
            text = f"{shown_number(px, 0)} px (no calibration)"
        elif isinstance(reason, str) and reason.startswith(_MISSING):
            text = "— needs " + reason[len(_MISSING) :]
        else:
            text = f"— {reason}" if reason else "—"
        lines.append(f"{pid:<8} {text}")
    curves = m.curves.curves(0) if parameters is None or "Cobb_max" in parameters else []
    for curve in curves:
        lines.append(
            f"Cobb     {curve['upper_end']}–{curve['lower_end']} "
            f"{shown_number(curve['angle_deg'])}° (apex {curve['apex'] or 'unknown'})"
        )
    lines.extend(f"! {w}" for w in m.warnings[0])
    return lines
