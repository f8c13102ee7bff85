"""Who placed a landmark set's points: a model, with its confidence, and what a person corrected.

A landmark set without a :class:`Provenance` was placed by hand. One made by a model (``spinecheck
detect``) records the model's name, version and weights' SHA-256, a confidence per point and one
for the film, and the points a person moved afterwards (formats.md §1, the optional
``"provenance"`` block, read and written by :mod:`spinecheck.landmarks.io.provenance`).

A model's point is *flagged* when its confidence is below :data:`LOW_POINT_CONFIDENCE` and a
person has not corrected it, and a film when its confidence is below
:data:`LOW_FILM_CONFIDENCE`: the flags travel as the set's warnings, so ``measure``, the report,
the figure's notes and the batch table show them beside the numbers built on the points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field, replace
from types import MappingProxyType

from ... import dataclass
from .names import VocabularyEnum

__all__ = [
    "LOW_POINT_CONFIDENCE",
    "LOW_FILM_CONFIDENCE",
    "ProvenanceKind",
    "ModelInfo",
    "Provenance",
]

#: A model's point below this confidence (0 to 1) is flagged for a person to check. The shipped
#: model 1.1 scores a point by the geometric mean of its two stages' (each the share of a heatmap's
#: mass near the peak, lowered when the readings disagree); in cross-validation 14 % of its points
#: fall below 0.3, with a median error of 61 px against 19 px for the others (below 0.5: 28 %,
#: 50 px against 18 px): see the model card.
LOW_POINT_CONFIDENCE = 0.3
#: A film whose confidence is below this is flagged as a whole (``spinecheck detect`` refuses one
#: far below it: :mod:`spinecheck.landmarks.detect.refusal`).
LOW_FILM_CONFIDENCE = 0.5
#: At most this many flagged points are named in a warning; the rest are counted.
_NAMED = 8


class ProvenanceKind(VocabularyEnum):
    """What placed the points of a landmark file that has a provenance block."""

    MODEL = "model"


@dataclass(frozen=True)
class ModelInfo:
    """The model that placed the points.

    Attributes
    ----------
    name, version : str
    sha256 : str or None
        The SHA-256 of the model's weights (64 hexadecimal digits, lower case), when recorded.
    """

    name: str
    version: str
    sha256: str | None = None

    def describe(self) -> str:
        """``"name version"``, and the weights' SHA-256 when known.

        >>> ModelInfo("spine-ap", "1.2").describe()
        'spine-ap 1.2'
        """
        text = f"{self.name} {self.version}"
        return f"{text} (weights sha256 {self.sha256})" if self.sha256 else text


@dataclass(frozen=True)
class Provenance:
    """Who placed a landmark set's points, point by point.

    Attributes
    ----------
    kind : ProvenanceKind
    model : ModelInfo
    film_confidence : float or None
        The model's confidence in the film as a whole, 0 to 1.
    point_confidence : Mapping[str, float]
        Point name to the model's confidence in it, 0 to 1 (read-only).
    corrected : tuple of str
        The points a person moved after the model placed them.
    """

    kind: ProvenanceKind
    model: ModelInfo
    film_confidence: float | None = None
    point_confidence: Mapping[str, float] = field(default_factory=dict)
    corrected: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ProvenanceKind.parse(self.kind))
        object.__setattr__(self, "point_confidence", MappingProxyType(dict(self.point_confidence)))
        object.__setattr__(self, "corrected", tuple(dict.fromkeys(self.corrected)))

    def point_source(self, name: str) -> str:
        """How point *name* came to be where it is, in words.

        >>> p = Provenance(ProvenanceKind.MODEL, ModelInfo("m", "1"), point_confidence={"FH": 0.9},
        ...                corrected=("S1.sup.ant",))
        >>> p.point_source("FH"), p.point_source("S1.sup.ant")
        ('placed by model m 1, confidence 0.90', 'placed by model m 1, corrected by a person')
        """
        text = f"placed by model {self.model.name} {self.model.version}"
        if name in self.corrected:
            return f"{text}, corrected by a person"
        confidence = self.point_confidence.get(name)
        return text if confidence is None else f"{text}, confidence {confidence:.2f}"

    def describe(self) -> str:
        """The whole block in one line, for a report."""
        parts = [f"placed by model {self.model.describe()}"]
        if self.film_confidence is not None:
            parts.append(f"film confidence {self.film_confidence:.2f}")
        if self.corrected:
            parts.append(f"corrected by a person: {', '.join(self.corrected)}")
        return "; ".join(parts)

    def with_corrected(self, names: Iterable[str]) -> Provenance:
        """The same provenance with *names* added to the points a person corrected.

        >>> p = Provenance("model", ModelInfo("m", "1")).with_corrected(["T1.sup.left"])
        >>> p.with_corrected(["T1.sup.left", "T2.sup.left"]).corrected
        ('T1.sup.left', 'T2.sup.left')
        """
        return replace(self, corrected=(*self.corrected, *names))

    def low_points(self, threshold: float = LOW_POINT_CONFIDENCE) -> tuple[str, ...]:
        """The model's points below *threshold* that no person corrected, lowest first.

        >>> p = Provenance("model", ModelInfo("m", "1"), point_confidence={"a": 0.9, "b": 0.2, "c": 0.4},
        ...                corrected=("c",))
        >>> p.low_points()
        ('b',)
        """
        low = [(c, n) for n, c in self.point_confidence.items() if c < threshold and n not in self.corrected]
        return tuple(n for _, n in sorted(low))

    def flags(self) -> tuple[str, ...]:
        """The low-confidence flags, one line each: the film's, then its points'.

        These go into the landmark set's warnings, so every report of the
        numbers shows them.

        >>> p = Provenance("model", ModelInfo("m", "1"), film_confidence=0.3,
        ...                point_confidence={"T1.sup.left": 0.1, "T1.sup.right": 0.9})
        >>> for line in p.flags():
        ...     print(line)
        points placed by model m 1 with low film confidence 0.30 (below 0.50): check every point before using a number
        1 point placed by model m 1 with low confidence (below 0.30), not corrected: T1.sup.left 0.10
        """
        out = []
        who = f"model {self.model.name} {self.model.version}"
        if self.film_confidence is not None and self.film_confidence < LOW_FILM_CONFIDENCE:
            out.append(
                f"points placed by {who} with low film confidence {self.film_confidence:.2f} "
                f"(below {LOW_FILM_CONFIDENCE:.2f}): check every point before using a number"
            )
        low = self.low_points()
        if low:
            named = ", ".join(f"{n} {self.point_confidence[n]:.2f}" for n in low[:_NAMED])
            more = f" and {len(low) - _NAMED} more" if len(low) > _NAMED else ""
            s = "" if len(low) == 1 else "s"
            out.append(
                f"{len(low)} point{s} placed by {who} with low confidence (below {LOW_POINT_CONFIDENCE:.2f}), "
                f"not corrected: {named}{more}"
            )
        return tuple(out)

    def renamed(self, rename: Mapping[str, str]) -> Provenance:
        """The same provenance with point names changed by *rename* (others kept), e.g. a mirrored film's."""
        return replace(
            self,
            point_confidence={rename.get(n, n): c for n, c in self.point_confidence.items()},
            corrected=tuple(rename.get(n, n) for n in self.corrected),
        )
