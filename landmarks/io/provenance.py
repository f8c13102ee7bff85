"""Who placed a landmark file's points: the optional ``"provenance"`` block (formats.md §1).

A landmark file without the block was placed by hand. Points made by a model carry
``"provenance": {"kind": "model", "model": {"name": ..., "version": ..., "sha256": ...},
"confidence": {"film": 0.93, "points": {"T1.sup.left": 0.88}}}``, and a person who corrects
some of them keeps the block and lists the corrected names under ``"corrected"``.

The landmark reader checks the block at the door (:func:`parse_provenance`) and keeps it as
:attr:`LandmarkSet.provenance <spinecheck.landmarks.points.model.LandmarkSet>`, with its
low-confidence flags among the set's warnings; the writer puts it back
(:func:`provenance_to_json`). Measuring does not depend on who placed the points.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidLandmarksError, reason
from ..points.provenance import ModelInfo, Provenance, ProvenanceKind
from .checks import landmarks_where

__all__ = [
    "ProvenanceKind",
    "ModelInfo",
    "Provenance",
    "parse_provenance",
    "read_provenance",
    "provenance_to_json",
]

_KEYS = ("kind", "model", "confidence", "corrected")
_MODEL_KEYS = ("name", "version", "sha256")
_CONFIDENCE_KEYS = ("film", "points")
_SHA256 = r"^[0-9a-fA-F]{64}$"  # compiled by re on first use: only a model's landmark file has one


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
        raise InvalidLandmarksError(
            f"{where}: cannot be read again for its provenance ({reason(e)})"
        ) from None
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
    if sha is not None and not (isinstance(sha, str) and re.match(_SHA256, sha)):
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


def provenance_to_json(p: Provenance) -> dict[str, Any]:
    """The ``"provenance"`` block of *p*, as :func:`parse_provenance` reads it back.

    Confidences are rounded to 4 decimals (the file records a model's judgement, not its
    floating-point noise); empty parts are left out.

    Examples
    --------
    >>> p = Provenance("model", ModelInfo("m", "2"), 0.91234567, {"FH": 0.5}, ("FH",))
    >>> provenance_to_json(p)
    {'kind': 'model', 'model': {'name': 'm', 'version': '2'}, 'confidence': {'film': 0.9123, \
'points': {'FH': 0.5}}, 'corrected': ['FH']}
    """
    model: dict[str, Any] = {"name": p.model.name, "version": p.model.version}
    if p.model.sha256:
        model["sha256"] = p.model.sha256
    doc: dict[str, Any] = {"kind": ProvenanceKind.parse(p.kind).value, "model": model}
    confidence: dict[str, Any] = {}
    if p.film_confidence is not None:
        confidence["film"] = round(float(p.film_confidence), 4)
    if p.point_confidence:
        confidence["points"] = {n: round(float(c), 4) for n, c in p.point_confidence.items()}
    if confidence:
        doc["confidence"] = confidence
    if p.corrected:
        doc["corrected"] = list(p.corrected)
    return doc


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
            import difflib  # here: only a message needs it (start-up, issue 17)

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
