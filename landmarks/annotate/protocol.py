"""Annotation protocols: which points to click, in which order, and what to say to the annotator.

A :class:`Protocol` is data: an ordered tuple of :class:`Step`, each naming one
landmark (formats.md §1), the prompt shown to the annotator, a hint, and the
parameters the point is needed for. :mod:`spinecheck.landmarks.annotate.session` walks a protocol
one step at a time.

Protocols
---------
``lateral``
    Every point any lateral parameter of clinical.md §1 needs, from the hips
    up: femoral heads, S1, L5, L4, L1, T12, T5, T4, T2, T1, C7, C2 (28 points).
``lateral-core``
    Only what PI, PT, SS, LL, TK, SVA and TPA need (PI–LL and GT come with
    them): femoral heads, S1, L1, T12, T4, T1 and C7 (12 points).
``ap``
    C7 centre and the S1 endplate (coronal balance), then both endplates of
    T1 to L5 for the Cobb angles, then the iliac crests (optional, for pelvic
    obliquity) — 73 points.

On a post-operative lateral film a protocol also asks for the endplates of the
junctional angles at the operation's levels (:meth:`Protocol.with_junctions`):
the superior endplate of UIV+2 and the inferior endplate of the UIV (PJA), the
superior endplate of the LIV and the inferior endplate of LIV-2 (DJA).

On an AP film ``left``/``right`` are the sides of the *image*, whatever the
patient's side (formats.md §1); the prompts say so.

Examples
--------
>>> p = get_protocol("lateral-core")
>>> p.view, len(p), p.steps[0].name
(<View.LATERAL: 'lateral'>, 12, 'FH.left')
>>> get_protocol("ap").step("IC.left").optional
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import InvalidLandmarksError
from ..points.names import TYPICAL_LEVELS, View, VocabularyEnum, check_point_name, parse_point_name

__all__ = ["ProtocolName", "Step", "Protocol", "PROTOCOLS", "get_protocol", "default_protocol", "prompt_for"]


class ProtocolName(VocabularyEnum):
    """The bundled protocols."""

    LATERAL = "lateral"
    LATERAL_CORE = "lateral-core"
    AP = "ap"


@dataclass(frozen=True)
class Step:
    """One landmark to place.

    Attributes
    ----------
    name : str
        The point name (formats.md §1), e.g. ``"S1.sup.ant"``.
    prompt : str
        One imperative line: what to click.
    hint : str
        How to find it; may be empty.
    used_for : tuple of str
        Parameter ids (clinical.md §1–2) that need this point.
    optional : bool
        Useful but not needed by the core parameters; skipping it is expected.
    """

    name: str
    prompt: str
    hint: str = ""
    used_for: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class Protocol:
    """An ordered list of steps for one view.

    Attributes
    ----------
    name : str
    view : View
    title : str
        Shown in the window's title bar.
    steps : tuple of Step
        In the order they are asked; names are unique and valid for *view*.
    """

    name: str
    view: View
    title: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", View.parse(self.view))
        seen: set[str] = set()
        for step in self.steps:
            check_point_name(step.name, self.view, where=f"protocol {self.name!r}")
            if step.name in seen:
                raise InvalidLandmarksError(f"protocol {self.name!r}: point {step.name!r} is asked twice")
            seen.add(step.name)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __contains__(self, name: object) -> bool:
        return any(s.name == name for s in self.steps)

    @property
    def names(self) -> tuple[str, ...]:
        """The point names, in order."""
        return tuple(s.name for s in self.steps)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameter ids the steps are needed for, each once, in the order the steps first name them.

        The window's live panel lists these and no others.

        >>> get_protocol("lateral-core").parameters
        ('PI', 'PT', 'PI_LL', 'TPA', 'GT', 'SS', 'LL', 'SVA', 'TK')
        """
        return tuple(dict.fromkeys(pid for s in self.steps for pid in s.used_for))

    def index(self, name: str) -> int:
        """Position of point *name* in the steps; :class:`InvalidLandmarksError` (a ValueError) when absent."""
        for i, s in enumerate(self.steps):
            if s.name == name:
                return i
        raise InvalidLandmarksError(f"point {name!r} is not in protocol {self.name!r}")

    def with_junctions(self, uiv: str | None, liv: str | None) -> Protocol:
        """Return the protocol, on a lateral film, with the endplates of the junctional angles added.

        The PJA needs the superior endplate of the vertebra two above the UIV and the
        inferior endplate of the UIV; the DJA the superior endplate of the LIV and the
        inferior endplate of the vertebra two below it, above the sacrum. "Two above"
        counts the typical spine (12 thoracic, 5 lumbar vertebrae): on a spine with a
        T13 or an L6 the measurement counts that vertebra too, and says which endplate it
        lacks. Endplates the protocol already asks for are not asked twice; an AP
        protocol, or no level, gives the protocol unchanged.

        >>> p = get_protocol("lateral-core").with_junctions("T10", "L2")
        >>> p.name, [s.name for s in p.steps[12:]]
        ('lateral-core+junctions', ['T8.sup.ant', 'T8.sup.post', 'T10.inf.ant', 'T10.inf.post', \
'L2.sup.ant', 'L2.sup.post', 'L4.inf.ant', 'L4.inf.post'])
        >>> p.step("T8.sup.ant").used_for
        ('PJA',)
        """
        plan: list[tuple[str, str]] = []
        if self.view is View.LATERAL and uiv is not None and uiv in TYPICAL_LEVELS:
            k = TYPICAL_LEVELS.index(uiv)
            if k >= 2:
                plan += [(f"{TYPICAL_LEVELS[k - 2]}.sup", "PJA"), (f"{uiv}.inf", "PJA")]
        if self.view is View.LATERAL and liv is not None and liv in TYPICAL_LEVELS:
            k = TYPICAL_LEVELS.index(liv)
            if k + 2 < TYPICAL_LEVELS.index("S1"):
                plan += [(f"{liv}.sup", "DJA"), (f"{TYPICAL_LEVELS[k + 2]}.inf", "DJA")]
        extra = tuple(
            _step(f"{endplate}.{corner}", self.view, (pid,))
            for endplate, pid in plan
            for corner in ("ant", "post")
            if f"{endplate}.{corner}" not in self
        )
        if not plan:
            return self
        levels = ", ".join(f"{n} {v}" for n, v in (("UIV", uiv), ("LIV", liv)) if v is not None)
        return Protocol(
            f"{self.name}+junctions",
            self.view,
            f"{self.title}, and the junctional endplates ({levels})",
            self.steps + extra,
        )

    def step(self, name: str) -> Step:
        """The step of point *name*; a step made from the name when the protocol does not ask for it."""
        for s in self.steps:
            if s.name == name:
                return s
        check_point_name(name, self.view)
        return Step(name, prompt_for(name, self.view))


# ------------------------------------------------------------------------------------------- wording

_UPPER = {"sup": "TOP (upper)", "inf": "BOTTOM (lower)"}
_LATERAL_CORNER = {"ant": "FRONT (anterior)", "post": "BACK (posterior)"}
_AP_CORNER = {"left": "IMAGE-LEFT", "right": "IMAGE-RIGHT"}
_ENDPLATE_HINT = {
    "sup": "The top endplate is the upper surface of the vertebral body.",
    "inf": "The bottom endplate is the lower surface of the vertebral body.",
}
_SPECIAL_PROMPTS = {
    "FH.left": "Click the CENTRE of one femoral head",
    "FH.right": "Click the CENTRE of the other femoral head",
    "FH": "Click the CENTRE of the femoral heads (superimposed)",
    "S1.sup.ant": "Click the FRONT (anterior) end of the S1 endplate: the sacral promontory",
    "S1.sup.post": "Click the BACK (posterior) end of the S1 endplate (top of the sacrum)",
    "S1.sup.left": "Click the IMAGE-LEFT end of the S1 endplate (top of the sacrum)",
    "S1.sup.right": "Click the IMAGE-RIGHT end of the S1 endplate (top of the sacrum)",
    "IC.left": "Click the TOP of the iliac crest on the IMAGE-LEFT side",
    "IC.right": "Click the TOP of the iliac crest on the IMAGE-RIGHT side",
}
_SPECIAL_HINTS = {
    "FH.left": "The round head of the thigh bone; click its middle and refinement fits its outline.",
    "FH.right": "If both heads overlap as one circle, or only one is visible, press n to skip this one.",
    "S1.sup.ant": "The top front corner of the sacrum, where the S1 endplate meets the front of the sacrum.",
    "S1.sup.post": "The top back corner of the sacrum, at the front of the spinal canal.",
    "S1.sup.left": "Left and right are the sides of the picture on screen, not the patient's sides.",
    "S1.sup.right": "Left and right are the sides of the picture on screen, not the patient's sides.",
    "IC.left": "Optional (pelvic obliquity; without the crests the S1 endplate is used): n skips it.",
    "IC.right": "Optional (pelvic obliquity; without the crests the S1 endplate is used): n skips it.",
    "C2.centroid": "The middle of the C2 body below the dens (the peg), not the dens itself.",
}


def prompt_for(name: str, view: View | str) -> str:
    """The one-line instruction for point *name* on a film of *view*.

    Examples
    --------
    >>> prompt_for("L1.sup.ant", "lateral")
    'Click the FRONT (anterior) corner of the TOP (upper) endplate of L1'
    >>> prompt_for("T5.inf.left", "ap")
    'Click the IMAGE-LEFT corner of the BOTTOM (lower) endplate of T5'
    >>> prompt_for("C7.centroid", "lateral")
    'Click the CENTRE of the C7 vertebral body'
    """
    view = View.parse(view)
    parsed = check_point_name(name, view)
    if name in _SPECIAL_PROMPTS:
        return _SPECIAL_PROMPTS[name]
    if parsed.centroid:
        return f"Click the CENTRE of the {parsed.level} vertebral body"
    assert parsed.endplate is not None and parsed.corner is not None
    corners = _LATERAL_CORNER if view is View.LATERAL else _AP_CORNER
    return (
        f"Click the {corners[parsed.corner.value]} corner of the {_UPPER[parsed.endplate.value]} "
        f"endplate of {parsed.level}"
    )


def _hint_for(name: str, view: View) -> str:
    if name in _SPECIAL_HINTS:
        return _SPECIAL_HINTS[name]
    parsed = parse_point_name(name)
    assert parsed is not None
    if parsed.centroid:
        return "The middle of the body: halfway between its endplates and between its front and back walls."
    assert parsed.endplate is not None
    side = (
        "Front = the side the patient faces."
        if view is View.LATERAL
        else "Left/right = sides of the picture on screen."
    )
    return f"{_ENDPLATE_HINT[parsed.endplate.value]} {side}"


def _step(name: str, view: View, used_for: tuple[str, ...], *, optional: bool = False) -> Step:
    return Step(name, prompt_for(name, view), _hint_for(name, view), used_for, optional)


def _lateral_steps(plan: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[Step, ...]:
    return tuple(_step(name, View.LATERAL, used) for name, used in plan)


_PELVIS = ("PI", "PT", "SS", "PI_LL", "TPA", "GT")
_HIPS = ("PI", "PT", "PI_LL", "TPA", "GT")
_S1_ANT = ("PI", "PT", "SS", "LL", "LL_L4S1", "PI_LL", "TPA", "GT")
_S1_POST = (*_S1_ANT, "SVA")

#: (point, parameters that need it), from the hips up.
_LATERAL_PLAN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("FH.left", _HIPS),
    ("FH.right", _HIPS),
    ("S1.sup.ant", _S1_ANT),
    ("S1.sup.post", _S1_POST),
    ("L5.inf.ant", ("LL_L1L5",)),
    ("L5.inf.post", ("LL_L1L5",)),
    ("L4.sup.ant", ("LL_L4S1",)),
    ("L4.sup.post", ("LL_L4S1",)),
    ("L1.sup.ant", ("LL", "LL_L1L5", "PI_LL")),
    ("L1.sup.post", ("LL", "LL_L1L5", "PI_LL")),
    ("T12.inf.ant", ("TK", "TK_T2T12", "TK_T5T12")),
    ("T12.inf.post", ("TK", "TK_T2T12", "TK_T5T12")),
    ("T5.sup.ant", ("TK_T5T12",)),
    ("T5.sup.post", ("TK_T5T12",)),
    ("T4.sup.ant", ("TK",)),
    ("T4.sup.post", ("TK",)),
    ("T2.sup.ant", ("TK_T2T12",)),
    ("T2.sup.post", ("TK_T2T12",)),
    ("T1.sup.ant", ("T1S", "TS_CL")),
    ("T1.sup.post", ("T1S", "TS_CL")),
    ("T1.centroid", ("TPA",)),
    ("C7.inf.ant", ("CL", "TS_CL")),
    ("C7.inf.post", ("CL", "TS_CL")),
    ("C7.sup.post", ("cSVA",)),
    ("C7.centroid", ("SVA", "GT")),
    ("C2.inf.ant", ("CL", "TS_CL")),
    ("C2.inf.post", ("CL", "TS_CL")),
    ("C2.centroid", ("cSVA",)),
)
_CORE_PARAMETERS = frozenset({"PI", "PT", "SS", "LL", "TK", "SVA", "TPA", "PI_LL", "GT"})
_LATERAL_CORE_PLAN = tuple(
    (name, tuple(p for p in used if p in _CORE_PARAMETERS))
    for name, used in _LATERAL_PLAN
    if any(p in ("PI", "PT", "SS", "LL", "TK", "SVA", "TPA") for p in used)
)

_COBB_LEVELS = TYPICAL_LEVELS[TYPICAL_LEVELS.index("T1") : TYPICAL_LEVELS.index("L5") + 1]


def _ap_steps() -> tuple[Step, ...]:
    steps = [
        _step("C7.centroid", View.AP, ("C7_CSVL",)),
        _step("S1.sup.left", View.AP, ("C7_CSVL",)),
        _step("S1.sup.right", View.AP, ("C7_CSVL",)),
    ]
    for level in _COBB_LEVELS:
        for endplate in ("sup", "inf"):
            for corner in ("left", "right"):
                steps.append(_step(f"{level}.{endplate}.{corner}", View.AP, ("Cobb_max",)))
    steps += [
        _step("IC.left", View.AP, ("PO",), optional=True),
        _step("IC.right", View.AP, ("PO",), optional=True),
    ]
    return tuple(steps)


PROTOCOLS = MappingProxyType(
    {
        p.name: p
        for p in (
            Protocol(
                ProtocolName.LATERAL.value,
                View.LATERAL,
                "lateral whole spine (every sagittal parameter)",
                _lateral_steps(_LATERAL_PLAN),
            ),
            Protocol(
                ProtocolName.LATERAL_CORE.value,
                View.LATERAL,
                "lateral core (PI, PT, SS, LL, TK, SVA, TPA)",
                _lateral_steps(_LATERAL_CORE_PLAN),
            ),
            Protocol(
                ProtocolName.AP.value,
                View.AP,
                "AP whole spine (coronal balance, Cobb angles T1-L5, pelvic obliquity)",
                _ap_steps(),
            ),
        )
    }
)
"""Protocol name to :class:`Protocol`."""


def get_protocol(name: str | ProtocolName) -> Protocol:
    """The bundled protocol called *name*.

    Raises
    ------
    InvalidLandmarksError
        An unknown name; the message lists the known ones.
    """
    key = name.value if isinstance(name, ProtocolName) else str(name).strip().lower()
    try:
        return PROTOCOLS[key]
    except KeyError:
        known = ", ".join(PROTOCOLS)
        raise InvalidLandmarksError.about(
            "name", "{name}: unknown protocol {got!r}; expected one of {known}", got=name, known=known
        ) from None


def default_protocol(view: View | str) -> Protocol:
    """The complete protocol of *view*: ``lateral`` or ``ap``.

    >>> default_protocol("ap").name
    'ap'
    """
    view = View.parse(view)
    return PROTOCOLS[ProtocolName.LATERAL.value if view is View.LATERAL else ProtocolName.AP.value]
