"""The operation a post-operative film records: its date, the instrumented and the fused levels.

A landmark file may carry an optional ``"operation"`` block (formats.md §1)::

    "operation": {"date": "2023-05-04", "uiv": "T10", "liv": "S1", "fused": ["T10", "T11", ..., "S1"]}

and the command line may give or override the same items. Absent means the film
is not known to be operated. :class:`Operation` is the checked value; every door
(the landmark JSON, the wide CSV, the command line) words its own one-line error
from the :class:`OperationProblem` that :meth:`Operation.checked` raises, which
names the item at fault (``"uiv"``, ``"liv"``, ``"date"`` or ``"fused"``).

Levels are those of :data:`~spinecheck.landmarks.points.names.LEVELS`. The UIV
(upper instrumented vertebra) must lie above the LIV (lower instrumented
vertebra); the fused levels, when given, are listed from top to bottom without a
gap and include both. A transitional level (a thirteenth thoracic or sixth lumbar
vertebra, when :data:`LEVELS` holds one) may be left out of a fused list without
making a gap, since most patients do not have it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from ... import dataclass
from .names import LEVELS, level_index

__all__ = ["Operation", "OperationProblem", "OPERATION_ITEMS", "STANDARD_LEVELS", "is_standard_level"]

#: The items of an operation block, in the order they are written.
OPERATION_ITEMS: tuple[str, ...] = ("date", "uiv", "liv", "fused")

#: The levels every spine has (C2-C7, T1-T12, L1-L5, S1): a transitional level of
#: :data:`LEVELS` outside them counts in a patient's column only where it is annotated.
STANDARD_LEVELS: frozenset[str] = frozenset(
    [f"C{i}" for i in range(2, 8)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)] + ["S1"]
)

_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"  # compiled by re on first use: only an operation date needs it


def is_standard_level(level: str) -> bool:
    """Tell whether *level* is one every spine has (not a transitional T13 or L6).

    >>> is_standard_level("T12"), is_standard_level("L6")
    (True, False)
    """
    return level in STANDARD_LEVELS


class OperationProblem(ValueError):
    """An item of an operation is not valid: :attr:`item` names it, ``str()`` says what was expected.

    The text starts with what the item must be (``"must be a vertebral level ..."``), so that
    each door can put its own name of the item in front of it.
    """

    def __init__(self, item: str, text: str) -> None:
        super().__init__(text)
        self.item = item


@dataclass(frozen=True)
class Operation:
    """The operation a post-operative film records (all items optional).

    Attributes
    ----------
    date : datetime.date or None
        The day of the operation.
    uiv, liv : str or None
        The upper and lower instrumented vertebrae (levels of :data:`LEVELS`).
    fused : tuple of str
        The fused levels, top to bottom; empty when not given.
    source : str or None
        Who recorded it (``"landmark file"``, ``"landmark table"``, ``"command line"``),
        for the report.

    Examples
    --------
    >>> op = Operation.checked(date="2023-05-04", uiv="T10", liv="S1")
    >>> op.uiv, op.date.isoformat(), op.to_json()
    ('T10', '2023-05-04', {'date': '2023-05-04', 'uiv': 'T10', 'liv': 'S1'})
    >>> Operation.checked(uiv="L2", liv="T12")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.points.operation.OperationProblem: must be above the LIV (T12); got 'L2'
    """

    date: datetime.date | None = None
    uiv: str | None = None
    liv: str | None = None
    fused: tuple[str, ...] = field(default=())
    source: str | None = None

    @classmethod
    def checked(
        cls,
        *,
        date: object = None,
        uiv: object = None,
        liv: object = None,
        fused: object = None,
        source: str | None = None,
        today: datetime.date | None = None,
    ) -> Operation:
        """Check each item as it came in (text, a list) and return the operation.

        Parameters
        ----------
        date : str or datetime.date, optional
            ``YYYY-MM-DD``, not after *today*.
        uiv, liv : str, optional
            Vertebral levels; the UIV above the LIV.
        fused : sequence of str, optional
            Two or more levels, top to bottom, without a gap, including the UIV and the LIV.
        source : str, optional
        today : datetime.date, optional
            The day a date may not be after (default: today).

        Raises
        ------
        OperationProblem
            The first item that is not valid, by name.
        """
        day = _date(date, today or datetime.date.today())
        top = _level("uiv", uiv)
        bottom = _level("liv", liv)
        if top is not None and bottom is not None and level_index(top) >= level_index(bottom):
            raise OperationProblem("uiv", f"must be above the LIV ({bottom}); got {top!r}")
        levels = _fused(fused, top, bottom)
        return cls(day, top, bottom, levels, source)

    def replaced(self, source: str, **items: object) -> Operation:
        """Return the operation with *items* given anew by *source* (None keeps an item), checked again.

        The operation's ``source`` says who gave what when both did.

        >>> op = Operation.checked(uiv="T10", liv="S1", source="landmark file")
        >>> op.replaced("command line", uiv="T4").source
        'landmark file; uiv from the command line'
        """
        given = {k: v for k, v in items.items() if v is not None and v != ()}
        merged = {k: getattr(self, k) for k in OPERATION_ITEMS}
        merged.update(given)
        if not given:
            return self
        names = ", ".join(k for k in OPERATION_ITEMS if k in given)
        kept = any(getattr(self, k) not in (None, ()) for k in OPERATION_ITEMS if k not in given)
        who = f"{self.source}; {names} from the {source}" if kept and self.source else source
        return Operation.checked(**merged, source=who)

    def items(self) -> dict[str, Any]:
        """The items by name, as :meth:`checked` and :meth:`replaced` take them (None where not recorded).

        >>> Operation.checked(uiv="T10").items()
        {'date': None, 'uiv': 'T10', 'liv': None, 'fused': None}
        """
        return {k: getattr(self, k) or None for k in OPERATION_ITEMS}

    def to_json(self) -> dict[str, Any]:
        """The ``operation`` block as written in a landmark file (items not known left out)."""
        out: dict[str, Any] = {}
        if self.date is not None:
            out["date"] = self.date.isoformat()
        if self.uiv is not None:
            out["uiv"] = self.uiv
        if self.liv is not None:
            out["liv"] = self.liv
        if self.fused:
            out["fused"] = list(self.fused)
        return out

    def describe(self) -> str:
        """The operation in words, for reports.

        >>> Operation.checked(date="2023-05-04", uiv="T10", liv="S1", source="landmark file").describe()
        'operated 2023-05-04; UIV T10, LIV S1 (landmark file)'
        """
        parts = ["operated" + (f" {self.date.isoformat()}" if self.date else " (date not recorded)")]
        levels = [f"{name} {v}" for name, v in (("UIV", self.uiv), ("LIV", self.liv)) if v is not None]
        if self.fused:
            levels.append(f"fused {self.fused[0]}–{self.fused[-1]}")
        parts.append(", ".join(levels) or "levels not recorded")
        return "; ".join(parts) + (f" ({self.source})" if self.source else "")


def _date(value: object, today: datetime.date) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        day = value
    else:
        if not (isinstance(value, str) and re.match(_DATE_RE, value.strip())):
            raise OperationProblem("date", f"must be a date written YYYY-MM-DD; got {_shown(value)}")
        try:
            day = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise OperationProblem(
                "date", f"must be a real calendar date YYYY-MM-DD; got {_shown(value)}"
            ) from None
    if day > today:
        raise OperationProblem(
            "date", f"must not be in the future (today is {today.isoformat()}); got {_shown(value)}"
        )
    return day


def _level(item: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    text = value.strip() if isinstance(value, str) else None
    if text is None or text not in LEVELS:
        upper = text.upper() if text else None
        hint = f" (levels are upper-case: {upper!r})" if upper in LEVELS else ""
        raise OperationProblem(
            item, f"must be a vertebral level ({LEVELS[0]}..{LEVELS[-1]}); got {_shown(value)}{hint}"
        )
    return text


def _fused(value: object, uiv: str | None, liv: str | None) -> tuple[str, ...]:
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return ()
    expected = (
        "must be a list of two or more vertebral levels, top to bottom, without a gap "
        '(e.g. ["T10", "T11", "T12"])'
    )
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        raise OperationProblem("fused", f"{expected}; got {_shown(value)}")
    levels = []
    for v in value:
        if not isinstance(v, str) or v.strip() not in LEVELS:
            raise OperationProblem("fused", f"{expected}; {_shown(v)} is not a vertebral level")
        levels.append(v.strip())
    index = [level_index(v) for v in levels]
    for a, b, ia, ib in zip(levels, levels[1:], index, index[1:], strict=False):
        if ib <= ia:
            raise OperationProblem("fused", f"{expected}; {b!r} comes after {a!r}")
        skipped = [LEVELS[k] for k in range(ia + 1, ib) if is_standard_level(LEVELS[k])]
        if skipped:
            raise OperationProblem(
                "fused", f"{expected}; {', '.join(skipped)} missing between {a!r} and {b!r}"
            )
    for name, level in (("UIV", uiv), ("LIV", liv)):
        if level is not None and level not in levels:
            raise OperationProblem(
                "fused", f"must include the {name} ({level}); got {levels[0]}..{levels[-1]}"
            )
    return tuple(levels)


def _shown(value: object) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        text = "[" + ", ".join(repr(v) for v in value) + "]"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
