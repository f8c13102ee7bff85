"""Who placed a landmark file's points: the optional ``"provenance"`` block (formats.md §1).

A landmark file without the block was placed by hand. Points made by a model carry
``"provenance": {"kind": "model", "model": {"name": ..., "version": ..., "sha256": ...},
"confidence": {"film": 0.93, "points": {"T1.sup.left": 0.88}}}``, and a person who corrects
some of them keeps the block and lists the corrected names under ``"corrected"``.

Measuring does not depend on who placed the points, so the landmark readers leave the block
alone; what reports the points' origin (the DICOM Structured Report of ``spinecheck export``)
reads it here, checked at the door like every other block.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import InvalidLandmarksError
from ..points.names import VocabularyEnum
from .landmark_file import landmarks_where

__all__ = ["ProvenanceKind", "ModelInfo", "Provenance", "parse_provenance", "read_provenance"]

_KEYS = ("kind", "model", "confidence", "corrected")
_MODEL_KEYS = ("name", "version", "sha256")
_CONFIDENCE_KEYS = ("film", "points")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


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
    """Who placed a landmark file's points, point by point.

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
        object.__setattr__(self, "point_confidence", MappingProxyType(dict(self.point_confidence)))
        object.__setattr__(self, "corrected", tuple(self.corrected))

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


def read_provenance(path: str | os.PathLike[str]) -> Provenance | None:
    """The provenance block of a ``spinecheck-landmarks/1`` file, or None when it has none.

    Other landmark formats (wide CSV, AASCE ``.mat``, 3D Slicer ``.mrk.json``) have no
    provenance block: None.

    Parameters
    ----------
    path : str or Path
        The landmark file (already read with
        :func:`~spinecheck.landmarks.io.read_landmarks`, which checks the rest of it).

    Returns
    -------
    Provenance or None
        None: the points were placed by hand (formats.md §1).

    Raises
    ------
    InvalidLandmarksError
        The file cannot be read, or the block does not follow formats.md §1: the
        message names the file and the field.
    """
    text = os.fspath(path)
    lowered = text.lower()
    if not lowered.endswith(".json") or lowered.endswith(".mrk.json"):
        return None
    where = landmarks_where(text)
    try:
        with open(text, encoding="utf-8-sig") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidLandmarksError(f"{where}: cannot be read again for its provenance ({e})") from None
    if not isinstance(doc, Mapping) or doc.get("provenance") is None:
        return None
    points = doc.get("points")
    return parse_provenance(
        doc["provenance"], where=where, points=points if isinstance(points, Mapping) else {}
    )


def parse_provenance(block: Any, *, where: str, points: Mapping[str, Any]) -> Provenance:
    """Check a ``"provenance"`` block and return it as a :class:`Provenance`.

    Parameters
    ----------
    block : Any
        The block as decoded from JSON.
    where : str
        How messages name the file (``landmarks file 'a.json'``).
    points : Mapping
        The file's ``"points"``: a confidence or correction for a point the file
        does not place is left out (a person may have removed a point the model
        placed), not an error.

    Raises
    ------
    InvalidLandmarksError
        Not an object; an unknown key; ``kind`` not ``"model"``; a model without
        ``name`` or ``version``; ``sha256`` not 64 hexadecimal digits; a confidence
        not a number from 0 to 1; ``corrected`` not a list of point names.

    Examples
    --------
    >>> p = parse_provenance({"kind": "model", "model": {"name": "m", "version": "2"}}, where="x", points={})
    >>> p.model.describe(), p.corrected
    ('m 2', ())
    >>> parse_provenance({"kind": "person"}, where="landmarks file 'a.json'", points={})
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidLandmarksError: landmarks file 'a.json': "provenance.kind" must be \
one of 'model'; got 'person'
    """
    obj = _object(block, "provenance", where)
    _known(obj, _KEYS, "provenance", where)
    if "kind" not in obj:
        raise InvalidLandmarksError(
            f'{where}: "provenance" needs "kind": "model" (absent block: placed by hand)'
        )
    kind = ProvenanceKind.parse(obj["kind"], where=where, field="provenance.kind")
    model = _object(obj.get("model"), "provenance.model", where)
    _known(model, _MODEL_KEYS, "provenance.model", where)
    name = _text(model.get("name"), "provenance.model.name", where)
    version = _text(model.get("version"), "provenance.model.version", where)
    sha = model.get("sha256")
    if sha is not None and not (isinstance(sha, str) and _SHA256.match(sha)):
        raise InvalidLandmarksError(
            f'{where}: "provenance.model.sha256" must be the 64 hexadecimal digits of a SHA-256; got {_show(sha)}'
        )
    confidence = _optional(obj.get("confidence"), "provenance.confidence", where)
    _known(confidence, _CONFIDENCE_KEYS, "provenance.confidence", where)
    film = confidence.get("film")
    film_confidence = None if film is None else _fraction(film, "provenance.confidence.film", where)
    per_point = _optional(confidence.get("points"), "provenance.confidence.points", where)
    point_confidence = {
        str(k): _fraction(v, f"provenance.confidence.points.{k}", where)
        for k, v in per_point.items()
        if k in points
    }
    corrected = obj.get("corrected", [])
    if not isinstance(corrected, list) or not all(isinstance(n, str) for n in corrected):
        raise InvalidLandmarksError(
            f'{where}: "provenance.corrected" must be a list of point names; got {_show(corrected)}'
        )
    return Provenance(
        kind,
        ModelInfo(name, version, sha.lower() if sha else None),
        film_confidence,
        point_confidence,
        tuple(dict.fromkeys(n for n in corrected if n in points)),
    )


def _object(value: Any, key: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        got = "nothing" if value is None else _show(value)
        raise InvalidLandmarksError(f'{where}: "{key}" must be a JSON object {{...}}; got {got}')
    return value


def _optional(value: Any, key: str, where: str) -> Mapping[str, Any]:
    """An optional object: absent is empty."""
    return {} if value is None else _object(value, key, where)


def _known(obj: Mapping[str, Any], keys: tuple[str, ...], key: str, where: str) -> None:
    for k in obj:
        if k not in keys:
            close = difflib.get_close_matches(str(k), keys, n=1, cutoff=0.6)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            allowed = ", ".join(f'"{x}"' for x in keys)
            raise InvalidLandmarksError(f'{where}: "{key}" may hold {allowed}; got unknown key "{k}"{hint}')


def _text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        got = "nothing" if value is None else _show(value)
        raise InvalidLandmarksError(f'{where}: "{key}" must be a non-empty string; got {got}')
    return value.strip()


def _fraction(value: Any, key: str, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and 0 <= value <= 1)
    ):
        raise InvalidLandmarksError(f'{where}: "{key}" must be a confidence from 0 to 1; got {_show(value)}')
    return float(value)


def _show(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
