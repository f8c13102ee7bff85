"""The closed vocabulary of landmark names: levels, views, endplates, corners.

A point name is ``<LEVEL>.<ENDPLATE>.<CORNER>`` (``"S1.sup.ant"``),
``<LEVEL>.centroid`` (``"C7.centroid"``), or a femoral head (``"FH.left"``,
``"FH.right"``, or ``"FH"`` when both heads superimpose). Corners are
``ant``/``post`` on a lateral film and ``left``/``right`` on an AP film, where
left/right are *image* left/right (see ``formats.md`` §1).
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple, TypeVar

from ..errors import InvalidArgumentError, InvalidLandmarksError, SpinecheckError, shorten

__all__ = [
    "View",
    "Endplate",
    "Corner",
    "PatientRight",
    "LEVELS",
    "TYPICAL_LEVELS",
    "TRANSITIONAL_LEVELS",
    "level_index",
    "PointName",
    "parse_point_name",
    "valid_point_names",
    "closest_point_names",
    "check_point_name",
    "FEMORAL_HEADS",
    "ILIAC_CRESTS",
]


_E = TypeVar("_E", bound="VocabularyEnum")


class VocabularyEnum(str, enum.Enum):
    """A closed vocabulary: an Enum whose members are also their string value.

    ``View("lateral") is View.LATERAL`` and ``View.LATERAL == "lateral"``; at the door, case and
    surrounding blanks do not matter (``View(" Lateral ") is View.LATERAL``).
    """

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> VocabularyEnum | None:
        key = value.strip().lower() if isinstance(value, str) else None
        return next((m for m in cls if str(m.value).lower() == key), None)

    @classmethod
    def parse(
        cls: type[_E],
        value: object,
        *,
        where: str = "",
        field: str = "",
        argument: str | None = None,
        error: type[SpinecheckError] | None = None,
    ) -> _E:
        """Return the member for *value*, or raise a one-line error that lists the members.

        The error names *argument* (a Python argument: an :class:`InvalidArgumentError`, or
        *error*, about it) when given, else the file and field (*where*, *field*: an
        :class:`InvalidLandmarksError`).

        >>> View.parse("AP")
        <View.AP: 'ap'>
        >>> View.parse("pa", where="landmarks file 'a.json'", field="view")
        Traceback (most recent call last):
        ...
        spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'a.json': "view" must be one of \
'lateral', 'ap'; got 'pa'
        """
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            if argument is not None:
                raise (error or InvalidArgumentError).about(
                    argument,
                    f"{{{argument}}}: must be one of {{allowed}}; got {{got!r}}",
                    allowed=allowed,
                    got=value,
                ) from None
            prefix = f"{where}: " if where else ""
            name = f'"{field}" ' if field else ""
            raise (error or InvalidLandmarksError)(
                f"{prefix}{name}must be one of {allowed}; got {value!r}"
            ) from None


class View(VocabularyEnum):
    """Projection of the film. AP and PA films are both ``"ap"``."""

    LATERAL = "lateral"
    AP = "ap"


class Endplate(VocabularyEnum):
    SUP = "sup"
    INF = "inf"


class Corner(VocabularyEnum):
    ANT = "ant"
    POST = "post"
    LEFT = "left"
    RIGHT = "right"


class PatientRight(VocabularyEnum):
    """Which side of the image the patient's right is on (AP/PA films)."""

    IMAGE_LEFT = "image_left"
    IMAGE_RIGHT = "image_right"


#: Every vertebral level a point may name, top to bottom: C2..C7, T1..T12, T13, L1..L5, L6, S1.
#: ``T13`` (a thirteenth thoracic vertebra) and ``L6`` (a sixth lumbar vertebra) are transitional
#: levels: most spines have neither, and a level nobody placed is simply absent (a curve or a
#: range skips it). ``S1`` is the top of the sacrum, the first segment that does not move.
LEVELS: tuple[str, ...] = (
    tuple(f"C{i}" for i in range(2, 8))
    + tuple(f"T{i}" for i in range(1, 14))
    + tuple(f"L{i}" for i in range(1, 7))
    + ("S1",)
)
#: The levels only some spines have (formats.md §1, transitional anatomy).
TRANSITIONAL_LEVELS: tuple[str, ...] = ("T13", "L6")
#: The levels of the commonest spine, 12 thoracic and 5 lumbar vertebrae (24 of :data:`LEVELS`).
TYPICAL_LEVELS: tuple[str, ...] = tuple(lv for lv in LEVELS if lv not in TRANSITIONAL_LEVELS)
_LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}

FEMORAL_HEADS: tuple[str, ...] = ("FH.left", "FH.right", "FH")
#: Iliac-crest summits on an AP film (image left/right), for pelvic obliquity.
#: An optional extension of ``spinecheck-landmarks/1``.
ILIAC_CRESTS: tuple[str, ...] = ("IC.left", "IC.right")

_CORNERS = {
    View.LATERAL: (Corner.ANT, Corner.POST),
    View.AP: (Corner.LEFT, Corner.RIGHT),
}

_VERTEBRA_RE = re.compile(
    r"^(?P<level>[CTLS]\d{1,2})\.(?:(?P<endplate>sup|inf)\.(?P<corner>ant|post|left|right)|(?P<centroid>centroid))$"
)


def level_index(level: str) -> int:
    """Position of *level* in :data:`LEVELS` (C2 is 0, T13 is 18, L6 is 24, S1 is 25).

    >>> level_index("L5") - level_index("L1")
    4
    >>> LEVELS[level_index("T13") + 1]
    'L1'
    """
    try:
        return _LEVEL_INDEX[level]
    except KeyError:
        raise InvalidLandmarksError(
            f"unknown vertebral level {level!r}; expected one of C2..C7, T1..T13, L1..L6, S1"
        ) from None


class PointName(NamedTuple):
    """A parsed point name. ``level`` is None for femoral heads and crests."""

    name: str
    level: str | None
    endplate: Endplate | None
    corner: Corner | None
    centroid: bool


def parse_point_name(name: str) -> PointName | None:
    """Parse *name*; return None when it is not a valid name for any view.

    >>> parse_point_name("S1.sup.ant").corner
    <Corner.ANT: 'ant'>
    >>> parse_point_name("S1.top") is None
    True
    """
    if type(name) is str:  # a subclass may compare or hash differently: parse it in full
        known = _PARSED.get(name)
        if known is not None:
            return known
    if name in FEMORAL_HEADS or name in ILIAC_CRESTS:
        return PointName(name, None, None, None, False)
    m = _VERTEBRA_RE.fullmatch(name)  # not .match: "$" also matches before a final newline
    if m is None or m["level"] not in _LEVEL_INDEX:
        return None
    if m["centroid"]:
        return PointName(name, m["level"], None, None, True)
    return PointName(name, m["level"], Endplate(m["endplate"]), Corner(m["corner"]), False)


def valid_point_names(view: View | str) -> tuple[str, ...]:
    """Every valid point name on a film of *view*, top to bottom.

    >>> len(valid_point_names("lateral"))  # 26 levels x 5 names, and the femoral heads
    133
    """
    view = View.parse(view)
    names: list[str] = []
    for level in LEVELS:
        for endplate in Endplate:
            for corner in _CORNERS[view]:
                names.append(f"{level}.{endplate.value}.{corner.value}")
        names.append(f"{level}.centroid")
    names.extend(FEMORAL_HEADS)
    if view is View.AP:
        names.extend(ILIAC_CRESTS)
    return tuple(names)


def closest_point_names(name: str, view: View | str, n: int = 3) -> list[str]:
    """The valid names closest to *name* (for "did you mean" messages).

    >>> closest_point_names("S1.sup.anterior", "lateral")[0]
    'S1.sup.ant'
    """
    candidates = valid_point_names(view)
    if len(name) > 3 * max(map(len, candidates)):
        # difflib's ratio 2M / (len(a) + len(b)) is then under the 0.5 cutoff for every
        # candidate: no match, found without the quadratic work on a huge name
        return []
    import difflib  # here: only a message needs it, and it costs a command's start-up some milliseconds

    found = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if not found:
        # case errors ("s1.SUP.ant") are the commonest slip; compare folded
        folded = {c.lower(): c for c in candidates}
        found = [folded[m] for m in difflib.get_close_matches(name.lower(), folded, n=n, cutoff=0.5)]
    return found


def check_point_name(name: str, view: View | str, *, where: str = "") -> PointName:
    """Validate *name* for a film of *view*; raise a one-line error otherwise.

    The error names the closest valid names, and says so when the name is
    valid only on the other view (``ant`` on an AP film, ``left`` on a lateral).
    """
    if type(view) is not View:
        view = View.parse(view)
    if type(name) is str:
        known = (_ACCEPTED.get(view) or _accepted(view)).get(name)
        if known is not None:
            return known
    return _check_point_name(name, view, where)


def _check_point_name(name: str, view: View, where: str) -> PointName:
    prefix = f"{where}: " if where else ""
    parsed = parse_point_name(name) if isinstance(name, str) else None
    if parsed is not None:
        if parsed.corner is not None and parsed.corner not in _CORNERS[view]:
            allowed = "/".join(c.value for c in _CORNERS[view])
            raise InvalidLandmarksError(
                f'{prefix}point "{shorten(name)}" is {_other(view)} landmark but the film is '
                f'"{view.value}" (corners on {_article(view)} film are {allowed}); '
                f'check the file\'s "view"'
            )
        if parsed.name in ILIAC_CRESTS and view is not View.AP:
            raise InvalidLandmarksError(
                f'{prefix}point "{shorten(name)}" is an AP landmark but the film is "{view.value}"'
            )
        return parsed
    close = closest_point_names(str(name), view)
    hint = (
        f"; did you mean {', '.join(repr(c) for c in close)}?"
        if close
        else ("; expected <LEVEL>.<sup|inf>.<corner>, <LEVEL>.centroid or FH.left/FH.right/FH")
    )
    raise InvalidLandmarksError(f"{prefix}unknown point name {shorten(str(name))!r}{hint}")


def _other(view: View) -> str:
    return "a lateral" if view is View.AP else "an AP"


def _article(view: View) -> str:
    return "an AP" if view is View.AP else "a lateral"


# A landmark file checks every one of its ~100 names, and the valid names are a closed vocabulary,
# so each is parsed and checked once, by the full code paths above (which therefore cannot disagree
# with the tables), when a name of its view is first checked: a lateral film's run does not parse
# the AP names. A name not in them (a misspelling, a name of the other view, a str subclass) still
# takes the full path and gets its full error message.
_PARSED: dict[str, PointName] = {}  # the names of the views tabled so far
_ACCEPTED: dict[View, dict[str, PointName]] = {}


def _accepted(view: View) -> dict[str, PointName]:
    """The valid names of *view*, each checked in full, tabled on first use."""
    table = {name: _check_point_name(name, view, "") for name in valid_point_names(view)}
    _PARSED.update(table)
    _ACCEPTED[view] = table
    return table
