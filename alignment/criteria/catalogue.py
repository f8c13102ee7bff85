"""The shipped criterion sets: what each is, its evidence, and which argument selects it.

:func:`shipped_sets` reads the header of every set in ``alignment/criteria/sets/``
(title, status, sources) and says how it is used: a criterion set is given in
``criteria`` (the default ones are applied unless that list is replaced), an
age-dependent target set as ``age_set`` or in ``reference_sets``, another
target set in ``reference_sets``, an instability set as the criteria of a
flexion-extension pair (``spinecheck instability --criteria``). ``spinecheck
criteria`` prints this list.
"""

from __future__ import annotations

from typing import NamedTuple

from .engine import DEFAULT_CRITERIA
from .instability import DEFAULT_INSTABILITY_SETS
from .rules import Citation, SetInfo, Status, builtin_kind, builtin_sets, read_set_file
from .targets import available_age_sets

__all__ = ["ShippedSet", "shipped_sets", "DEFAULT_AGE_SET", "SET_KINDS"]

#: The age-adjusted target set applied when none is chosen (clinical.md §6).
DEFAULT_AGE_SET = "lafage2016-linear"

#: Every kind of shipped set, in the order :func:`shipped_sets` lists them.
SET_KINDS: tuple[str, ...] = ("criteria", "targets", "instability")

#: Per kind, the sets applied when the caller chooses none.
_DEFAULTS: dict[str, tuple[str, ...]] = {
    "criteria": DEFAULT_CRITERIA,
    "targets": (DEFAULT_AGE_SET,),
    "instability": DEFAULT_INSTABILITY_SETS,
}


class ShippedSet(NamedTuple):
    """One shipped set and how it is selected.

    Attributes
    ----------
    info : SetInfo
        Its header: name, kind, title, status, sources, note.
    arguments : tuple of str
        The arguments that take it: ``"criteria"`` (:func:`~spinecheck.alignment.criteria.engine.assess`
        and :func:`~spinecheck.alignment.study.load_study`), ``"age_set"``, ``"reference_sets"``,
        or ``"instability_criteria"`` (a flexion-extension pair).
    default : bool
        Applied when the caller chooses no set of its kind.
    """

    info: SetInfo
    arguments: tuple[str, ...]
    default: bool

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def status(self) -> Status:
        return self.info.status

    @property
    def first_source(self) -> Citation:
        return self.info.sources[0]


def shipped_sets() -> list[ShippedSet]:
    """Every shipped set, by kind (criteria, targets, instability) and then by name.

    Returns
    -------
    list of ShippedSet

    Examples
    --------
    >>> sets = {s.name: s for s in shipped_sets()}
    >>> sets["gap"].arguments, sets["gap"].default, str(sets["gap"].status)
    (('criteria',), True, 'S')
    >>> sets["lafage2016-linear"].arguments, sets["lafage2016-linear"].default
    (('age_set', 'reference_sets'), True)
    >>> sets["schwab2013-odi40"].arguments, sets["schwab2013-odi40"].default
    (('reference_sets',), False)
    """
    age_sets = set(available_age_sets())
    out = []
    for name in builtin_sets():
        kind = builtin_kind(name)
        if kind not in SET_KINDS:
            continue
        info, _, _ = read_set_file(name, kinds=SET_KINDS)
        if kind == "criteria":
            arguments: tuple[str, ...] = ("criteria",)
        elif kind == "targets":
            arguments = ("age_set", "reference_sets") if name in age_sets else ("reference_sets",)
        else:
            arguments = ("instability_criteria",)
        out.append(ShippedSet(info, arguments, name in _DEFAULTS.get(kind, ())))
    return sorted(out, key=lambda s: (SET_KINDS.index(s.info.kind), s.name))
