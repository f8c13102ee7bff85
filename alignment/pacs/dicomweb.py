"""DICOMweb: QIDO-RS to find, WADO-RS to fetch, STOW-RS to store (PS3.18), over the standard library's HTTP.

Why not the ``dicomweb-client`` package: its multipart reader accepts a body that stops before the
closing boundary (a transfer cut short reads as a complete, shorter file), it hands back datasets
written again by pydicom rather than the bytes the archive sent, and it raises on a STOW answer of
409 before reading which instance failed. The three transactions spinecheck needs are a JSON GET,
a multipart GET and a multipart POST; done here, each of those three checks is explicit.
"""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from .instances import (
    Found,
    Level,
    StoredInstance,
    StoreReport,
    StudyQuery,
    check_uid,
    json_value,
    keep_received,
    move_all,
    read_outgoing,
    staging_folder,
)
from .server import ENV, PacsError, PacsServer

__all__ = ["DicomWebClient", "split_multipart"]

_DICOM_JSON = "application/dicom+json"
#: Ask for the instance as stored (``transfer-syntax=*``): a fetched film is the archive's bytes.
_ACCEPT_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
#: STOW-RS failure reasons (PS3.4 Table GG.4-1 and B.2-1) in words.
_FAILURES = {
    0xA700: "out of resources",
    0xA900: "data set does not match SOP class",
    0xC000: "cannot understand",
    0x0110: "processing failure",
    0x0122: "SOP class not supported",
    0x0111: "duplicate SOP instance",
    0x0124: "not authorized",
    0x0212: "mistyped argument",
}


class DicomWebClient:
    """Find, fetch and store over DICOMweb at *server*'s URL.

    Parameters
    ----------
    server : PacsServer
        Of protocol DICOMWEB; its credentials, if any, go in every request's Authorization header.
    """

    def __init__(self, server: PacsServer) -> None:
        if server.url is None:
            raise ValueError("a DICOMweb client needs a URL")
        self.server = server
        self.url = server.url

    # ------------------------------------------------------------------ QIDO-RS

    def find(self, query: StudyQuery) -> list[Found]:
        """The studies, series or films (:attr:`StudyQuery.level`) matching *query*, in the archive's order."""
        keys: dict[str, str | list[str]] = {"includefield": ["StudyDescription", "PatientID", "StudyDate"]}
        if query.patient_id:
            keys["PatientID"] = query.patient_id
        if query.dicom_date_range():
            keys["StudyDate"] = query.dicom_date_range() or ""
        if query.study_uid:
            keys["StudyInstanceUID"] = query.study_uid
        found: list[Found] = []
        for study in self._json("studies", keys):
            base = Found(
                Level.STUDY,
                json_value(study, "00100020"),
                json_value(study, "00080020"),
                json_value(study, "00081030"),
                json_value(study, "0020000D"),
            )
            if query.level is Level.STUDY:
                if not (query.modalities or query.body_part) or self._series_of(base, query):
                    found.append(base)
                continue
            for series in self._series_of(base, query):
                if query.level is Level.SERIES:
                    found.append(series)
                    continue
                path = f"studies/{series.study_uid}/series/{series.series_uid}/instances"
                for item in self._json(path, {"includefield": "ViewPosition"}):
                    found.append(
                        replace(
                            series,
                            level=Level.INSTANCE,
                            sop_uid=json_value(item, "00080018"),
                            view_position=json_value(item, "00185101"),
                        )
                    )
        return found

    def _series_of(self, study: Found, query: StudyQuery) -> list[Found]:
        rows = self._json(
            f"studies/{study.study_uid}/series", {"includefield": ["BodyPartExamined", "SeriesDescription"]}
        )
        out = []
        for s in rows:
            modality, body = json_value(s, "00080060"), json_value(s, "00180015")
            if query.keeps_series(modality, body):
                out.append(study.series(json_value(s, "0020000E"), modality, body, json_value(s, "0008103E")))
        return out

    def _json(self, path: str, keys: dict[str, Any]) -> list[dict[str, Any]]:
        url = f"{self.url}/{path}?{urlencode(keys, doseq=True)}"
        status, _, body = self._request(Request(url, headers={"Accept": _DICOM_JSON}), f"search {path}")
        if status == 204 or not body.strip():
            return []
        try:
            rows = json.loads(body)
        except ValueError:
            rows = None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise PacsError(
                f"{self.server.describe()}: answered the search {path} with something not DICOM JSON"
            )
        return rows

    # ------------------------------------------------------------------ WADO-RS

    def fetch(
        self, folder: Path, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[Path]:
        """Fetch a study, a series or one instance into *folder*, every file whole or none at all.

        Each instance is written as ``<SOP Instance UID>.dcm``, exactly the bytes the archive sent
        (as it stores them: ``transfer-syntax=*``). They are received into a hidden folder inside
        *folder* and moved out only when every one is complete and is what was asked for.

        Raises
        ------
        PacsError
            Unreachable, credentials refused, nothing of that UID, a transfer cut short or a file
            that is not the instance asked for; then nothing is written.
        """
        check_uid(study_uid, "study_uid")
        path = f"studies/{study_uid}"
        expected = {"StudyInstanceUID": study_uid}
        if series_uid is not None:
            path += f"/series/{check_uid(series_uid, 'series_uid')}"
            expected["SeriesInstanceUID"] = series_uid
        if sop_uid is not None:
            if series_uid is None:
                raise ValueError("a SOP Instance UID needs its series")
            path += f"/instances/{check_uid(sop_uid, 'sop_uid')}"
            expected["SOPInstanceUID"] = sop_uid
        what = f"{self.server.describe()}: {path}"
        status, content_type, body = self._request(
            Request(f"{self.url}/{quote(path)}", headers={"Accept": _ACCEPT_DICOM}), f"fetch {path}"
        )
        parts = split_multipart(content_type, body, what)
        if not parts:
            raise PacsError(f"{what}: the archive sent no instance")
        return _keep_all(parts, folder, expected, what)

    # ------------------------------------------------------------------ STOW-RS

    def store(self, paths: list[Any]) -> StoreReport:
        """Store DICOM files in one STOW-RS request and say, per instance, what the archive did.

        Every file is read and checked first; one that is not a complete DICOM file sends none.
        An archive stores instance by instance: each is stored whole or refused, and the report
        says which (the caller decides what a partial store means; the command line fails).

        Raises
        ------
        PacsError
            A file is not complete DICOM (nothing sent), or the archive cannot be reached or
            refused the credentials.
        """
        outgoing = read_outgoing(paths)
        boundary = uuid.uuid4().hex
        body = (
            b"".join(
                b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + o.data + b"\r\n"
                for o in outgoing
            )
            + b"--"
            + boundary.encode()
            + b"--\r\n"
        )
        request = Request(
            f"{self.url}/studies",
            data=body,
            method="POST",
            headers={
                "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                "Accept": _DICOM_JSON,
            },
        )
        _, _, answer = self._request(request, "store", accept=(200, 202, 409))
        try:
            result = json.loads(answer) if answer.strip() else {}
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise PacsError(f"{self.server.describe()}: answered the store with something not DICOM JSON")
        stored = {json_value(i, "00081155"): i for i in result.get("00081199", {}).get("Value", [])}
        failed = {json_value(i, "00081155"): i for i in result.get("00081198", {}).get("Value", [])}
        report = []
        for o in outgoing:
            if o.sop_instance_uid in failed:
                code = failed[o.sop_instance_uid].get("00081197", {}).get("Value", [None])[0]
                reason = _FAILURES.get(code, "refused") if isinstance(code, int) else "refused"
                report.append(
                    StoredInstance(o.path, o.sop_instance_uid, False, f"{reason} (0x{code or 0:04X})")
                )
            elif o.sop_instance_uid in stored:
                warning = stored[o.sop_instance_uid].get("00081196", {}).get("Value", [None])[0]
                detail = f"stored with warning 0x{warning:04X}" if isinstance(warning, int) else "stored"
                report.append(StoredInstance(o.path, o.sop_instance_uid, True, detail))
            else:
                report.append(
                    StoredInstance(o.path, o.sop_instance_uid, False, "not in the archive's answer")
                )
        return StoreReport(self.server.describe(), tuple(report))

    # ------------------------------------------------------------------ HTTP

    def _request(
        self, request: Request, doing: str, *, accept: tuple[int, ...] = (200, 204)
    ) -> tuple[int, str, bytes]:
        """Send *request*; the status, content type and the whole body, or one clear PacsError."""
        where = self.server.describe()
        if self.server.credentials is not None:
            request.add_header("Authorization", self.server.credentials.header())
        try:
            with urlopen(request, timeout=self.server.timeout_s) as response:
                status, content_type = response.status, response.headers.get("Content-Type", "")
                length = response.headers.get("Content-Length")
                body = response.read()
        except HTTPError as e:
            if e.code in accept:
                with e:
                    return e.code, e.headers.get("Content-Type", ""), e.read()
            e.close()
            raise self._http_error(e.code, e.reason, doing) from None
        except http.client.IncompleteRead as e:
            raise PacsError(
                f"{where}: the {doing} was cut off after {len(e.partial)} bytes; nothing was kept"
            ) from None
        except (URLError, OSError, http.client.HTTPException) as e:
            reason = e.reason if isinstance(e, URLError) else e
            if isinstance(reason, (TimeoutError, socket.timeout)):
                said = f"no answer within {self.server.timeout_s:g} s"
            else:
                said = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
            raise PacsError(
                f"{where}: cannot reach the archive ({said}); check the address and that it runs"
            ) from None
        if length is not None and length.isdigit() and int(length) != len(body):
            raise PacsError(
                f"{where}: the {doing} was cut off after {len(body)} of {length} bytes; nothing was kept"
            )
        if status not in accept:
            raise self._http_error(status, "", doing)
        return status, content_type, body

    def _http_error(self, code: int, reason: str, doing: str) -> PacsError:
        where = self.server.describe()
        if code in (401, 403):
            if self.server.credentials is None:
                how = (
                    f"set {ENV['user']} and {ENV['password']} (or {ENV['token']}), or give --credentials FILE"
                )
                return PacsError(f"{where}: asks for credentials (HTTP {code} {reason}); {how}")
            return PacsError(f"{where}: refused the credentials given (HTTP {code} {reason})")
        if code == 404:
            return PacsError(f"{where}: holds nothing at {doing.split(' ', 1)[-1]} (HTTP 404)")
        return PacsError(f"{where}: the {doing} failed (HTTP {code} {reason})")


def split_multipart(content_type: str, body: bytes, what: str) -> list[bytes]:
    r"""The parts of a ``multipart/related`` body, refusing one that stops before its closing boundary.

    >>> body = b'--b\r\nContent-Type: application/dicom\r\n\r\nAB\r\n--b\r\n\r\nCD\r\n--b--\r\n'
    >>> split_multipart('multipart/related; boundary="b"', body, "x")
    [b'AB', b'CD']
    >>> split_multipart('multipart/related; boundary=b', body[:30], "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecheck.alignment.pacs.server.PacsError: x: the transfer was cut off (30 bytes, no closing boundary); ...
    """
    media, *params = [p.strip() for p in content_type.split(";")]
    boundary = next(
        (v.strip('"') for k, _, v in (p.partition("=") for p in params) if k.strip().lower() == "boundary"),
        None,
    )
    if media.lower() != "multipart/related" or not boundary:
        raise PacsError(f"{what}: the archive answered {media or 'without a type'}, not multipart/related")
    marker = b"--" + boundary.encode()
    start = 0 if body.startswith(marker) else body.find(b"\r\n" + marker) + 2
    end = body.find(b"\r\n" + marker + b"--", start)
    if start < 2 and not body.startswith(marker) or end < 0:
        raise PacsError(
            f"{what}: the transfer was cut off ({len(body)} bytes, no closing boundary); nothing was kept"
        )
    parts = []
    for chunk in body[start + len(marker) : end].split(b"\r\n" + marker):
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise PacsError(f"{what}: a part of the answer has no header end; nothing was kept")
        parts.append(content)
    return parts


def _keep_all(parts: list[bytes], folder: Path, expected: dict[str, str], what: str) -> list[Path]:
    """Keep every part as a checked file in *folder*, or none."""
    with staging_folder(folder) as staging:
        received = [
            keep_received(p, staging, expected, f"{what} (instance {n + 1})") for n, p in enumerate(parts)
        ]
        return move_all(received, folder)
