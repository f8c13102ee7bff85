"""Classic DIMSE, where an archive has no DICOMweb: C-FIND, C-GET and C-STORE with pynetdicom.

Films are fetched by C-GET: the archive sends them back over the association spinecheck opened,
so it need not know our host and port nor be able to connect to us, as C-MOVE requires. What the
archive sends is kept only when complete and asked for, all of it or nothing
(:func:`~.instances.keep_received`); pynetdicom hands over a dataset only when all of it arrived,
and an association that ends early leaves nothing.

Needs the ``pynetdicom`` package (the ``[pacs]`` extra).
"""

from __future__ import annotations

import importlib.util
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .instances import (
    Found,
    Level,
    StoredInstance,
    StoreReport,
    StudyQuery,
    check_uid,
    keep_received,
    move_all,
    read_outgoing,
    staging_folder,
)
from .server import PacsError, PacsServer

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = ["DimseClient", "require_pynetdicom", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'spinecheck[pacs]'"
_FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Query/Retrieve Information Model - FIND
_GET = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Query/Retrieve Information Model - GET
#: The transfer syntaxes offered for a film received by C-GET: as stored first (the archive
#: picks), so the kept file is the archive's own encoding whenever it is one of these.
_RECEIVE_SYNTAXES = [
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless, SV1
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.5",  # RLE lossless
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.4.51",  # JPEG extended
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
]
_PENDING = (0xFF00, 0xFF01)
_STORE_WARNINGS = {
    0xB000: "coercion of data elements",
    0xB007: "data set does not match SOP class",
    0xB006: "elements discarded",
}


def require_pynetdicom() -> None:
    """Refuse in one line, naming the extra, when pynetdicom is not installed.

    Raises
    ------
    PacsError
    """
    if importlib.util.find_spec("pynetdicom") is None:
        raise PacsError(f"DIMSE needs the pynetdicom package, which is not installed: {INSTALL_HINT}")


class DimseClient:
    """Find, fetch and store over DIMSE with the archive of *server* (protocol DIMSE)."""

    def __init__(self, server: PacsServer) -> None:
        require_pynetdicom()
        self.server = server

    # ------------------------------------------------------------------ C-FIND

    def find(self, query: StudyQuery) -> list[Found]:
        """The studies, series or films (:attr:`StudyQuery.level`) matching *query*, by Study Root C-FIND."""
        keys = {"PatientID": query.patient_id or "", "StudyDate": query.dicom_date_range() or ""}
        keys.update(StudyInstanceUID=query.study_uid or "", StudyDescription="")
        found: list[Found] = []
        with self._association([(_FIND, None)]) as assoc:
            for study in self._c_find(assoc, "STUDY", keys):
                base = Found(
                    Level.STUDY,
                    str(study.get("PatientID", "") or ""),
                    str(study.get("StudyDate", "") or ""),
                    str(study.get("StudyDescription", "") or ""),
                    str(study.get("StudyInstanceUID", "") or ""),
                )
                series = (
                    self._series_of(assoc, base, query)
                    if query.level is not Level.STUDY or (query.modalities or query.body_part)
                    else []
                )
                if query.level is Level.STUDY:
                    if not (query.modalities or query.body_part) or series:
                        found.append(base)
                    continue
                for s in series:
                    if query.level is Level.SERIES:
                        found.append(s)
                        continue
                    for item in self._instances(assoc, s.study_uid, s.series_uid):
                        from dataclasses import replace

                        found.append(
                            replace(
                                s,
                                level=Level.INSTANCE,
                                sop_uid=str(item.get("SOPInstanceUID", "") or ""),
                                view_position=str(item.get("ViewPosition", "") or ""),
                            )
                        )
        return found

    def _series_of(self, assoc, study: Found, query: StudyQuery) -> list[Found]:
        keys = dict(
            StudyInstanceUID=study.study_uid,
            SeriesInstanceUID="",
            Modality="",
            BodyPartExamined="",
            SeriesDescription="",
        )
        out = []
        for s in self._c_find(assoc, "SERIES", keys):
            modality, body = str(s.get("Modality", "") or ""), str(s.get("BodyPartExamined", "") or "")
            if query.keeps_series(modality, body):
                uid, description = (
                    str(s.get("SeriesInstanceUID", "") or ""),
                    str(s.get("SeriesDescription", "") or ""),
                )
                out.append(study.series(uid, modality, body, description))
        return out

    def _instances(self, assoc, study_uid: str, series_uid: str, sop_uid: str = "") -> list[Dataset]:
        keys = dict(
            StudyInstanceUID=study_uid,
            SeriesInstanceUID=series_uid,
            SOPInstanceUID=sop_uid,
            SOPClassUID="",
            ViewPosition="",
        )
        return self._c_find(assoc, "IMAGE", keys)

    def _c_find(self, assoc, level: str, keys: dict[str, str]) -> list[Dataset]:
        from pydicom import Dataset

        identifier = Dataset()
        identifier.QueryRetrieveLevel = level
        for k, v in keys.items():
            setattr(identifier, k, v)
        out = []
        for status, found in assoc.send_c_find(identifier, _FIND):
            code = self._status(status, f"C-FIND at the {level.lower()} level")
            if code in _PENDING and found is not None:
                out.append(found)
        return out

    # ------------------------------------------------------------------ C-GET

    def fetch(
        self, folder: Path, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[Path]:
        """Fetch a study, a series or one instance into *folder* by C-GET, every file whole or none at all.

        The instances are found first (C-FIND) so that the association offers to receive their
        SOP classes, each in the transfer syntaxes of :data:`_RECEIVE_SYNTAXES`.

        Raises
        ------
        PacsError
            Unreachable, association refused, nothing of that UID, a sub-operation failed or the
            association ended before every instance came; then nothing is written.
        """
        check_uid(study_uid, "study_uid")
        if series_uid is not None:
            check_uid(series_uid, "series_uid")
        if sop_uid is not None:
            if series_uid is None:
                raise ValueError("a SOP Instance UID needs its series")
            check_uid(sop_uid, "sop_uid")
        path = "/".join(u for u in (study_uid, series_uid, sop_uid) if u)
        what = f"{self.server.describe()}: {path}"
        with self._association([(_FIND, None)]) as assoc:
            series = (
                [series_uid]
                if series_uid
                else [
                    str(s.SeriesInstanceUID)
                    for s in self._c_find(
                        assoc, "SERIES", {"StudyInstanceUID": study_uid, "SeriesInstanceUID": ""}
                    )
                ]
            )
            instances = [i for s in series for i in self._instances(assoc, study_uid, s, sop_uid or "")]
        if not instances:
            raise PacsError(f"{what}: the archive holds no such instance")
        classes = sorted({str(i.SOPClassUID) for i in instances if "SOPClassUID" in i})
        expected = {"StudyInstanceUID": study_uid}
        if series_uid:
            expected["SeriesInstanceUID"] = series_uid
        if sop_uid:
            expected["SOPInstanceUID"] = sop_uid
        level = "IMAGE" if sop_uid else "SERIES" if series_uid else "STUDY"
        from pydicom import Dataset

        identifier = Dataset()
        identifier.QueryRetrieveLevel = level
        identifier.StudyInstanceUID = study_uid
        if series_uid:
            identifier.SeriesInstanceUID = series_uid
        if sop_uid:
            identifier.SOPInstanceUID = sop_uid
        with staging_folder(folder) as staging:
            received: list[Path] = []
            refused: list[str] = []

            def on_store(event: Any) -> int:
                try:
                    data = event.encoded_dataset()
                    received.append(
                        keep_received(data, staging, expected, f"{what} (instance {len(received) + 1})")
                    )
                except PacsError as e:
                    refused.append(str(e))
                    return 0xC210  # cannot understand: the archive counts it as failed
                return 0x0000

            from pynetdicom import evt

            # one context per transfer syntax: the archive then sends each film as it stores it (a
            # context of many lets it choose one it would have to transcode into, which it may not be able to)
            contexts = [(_GET, None), *((c, [t]) for c in classes for t in _RECEIVE_SYNTAXES)]
            if len(contexts) > 128:
                raise PacsError(
                    f"{what}: holds {len(classes)} kinds of instance, more than one C-GET can receive"
                )
            with self._association(contexts, roles=classes, handlers=[(evt.EVT_C_STORE, on_store)]) as assoc:
                final = None
                for status, _ in assoc.send_c_get(identifier, _GET):
                    if status is None or "Status" not in status:
                        raise PacsError(
                            f"{what}: the association ended before the C-GET finished; nothing was kept"
                        )
                    final = status
                aborted = not assoc.is_established
            if refused:
                raise PacsError(f"{refused[0]}; nothing was kept")
            if final is None or aborted and int(final.Status) in _PENDING:
                raise PacsError(f"{what}: the association ended before the C-GET finished; nothing was kept")
            code = int(final.Status)
            failed = int(final.get("NumberOfFailedSuboperations", 0) or 0)
            if code not in (0x0000,) or failed or len(received) < len(instances):
                raise PacsError(
                    f"{what}: the C-GET ended with status 0x{code:04X}, {len(received)} of {len(instances)} "
                    f"instances received, {failed} failed; nothing was kept"
                )
            return move_all(received, folder)

    # ------------------------------------------------------------------ C-STORE

    def store(self, paths: list[Any]) -> StoreReport:
        """Send DICOM files by C-STORE on one association and say, per instance, what the archive did.

        Every file is read and checked first; one that is not complete DICOM sends none. Each file is
        sent as it is, in its own transfer syntax; an archive that accepts neither its SOP class nor
        that syntax is said per instance.
        """
        outgoing = read_outgoing(paths)
        contexts = sorted({(o.sop_class_uid, o.transfer_syntax_uid) for o in outgoing})
        report: list[StoredInstance] = []
        with self._association([(c, [t]) for c, t in contexts]) as assoc:
            accepted = {(c.abstract_syntax, c.transfer_syntax[0]) for c in assoc.accepted_contexts}
            for o in outgoing:
                if (o.sop_class_uid, o.transfer_syntax_uid) not in accepted:
                    why = (
                        f"the archive does not accept SOP class {o.sop_class_uid} in {o.transfer_syntax_uid}"
                    )
                    report.append(StoredInstance(o.path, o.sop_instance_uid, False, why))
                    continue
                if not assoc.is_established:
                    report.append(
                        StoredInstance(o.path, o.sop_instance_uid, False, "not sent: the association ended")
                    )
                    continue
                status = assoc.send_c_store(o.path)
                if status is None or "Status" not in status:
                    report.append(
                        StoredInstance(o.path, o.sop_instance_uid, False, "no answer: the association ended")
                    )
                    continue
                code = int(status.Status)
                if code == 0x0000:
                    report.append(StoredInstance(o.path, o.sop_instance_uid, True, "stored"))
                elif code in _STORE_WARNINGS:
                    report.append(
                        StoredInstance(
                            o.path, o.sop_instance_uid, True, f"stored with warning: {_STORE_WARNINGS[code]}"
                        )
                    )
                else:
                    comment = str(status.get("ErrorComment", "") or "")
                    said = f"refused with status 0x{code:04X}" + (f" ({comment})" if comment else "")
                    report.append(StoredInstance(o.path, o.sop_instance_uid, False, said))
        return StoreReport(self.server.describe(), tuple(report))

    # ------------------------------------------------------------------ association

    def _association(self, contexts, *, roles=(), handlers=()):
        from contextlib import contextmanager

        from pynetdicom import AE, build_role

        server = self.server

        @contextmanager
        def opened():
            ae = AE(ae_title=server.calling_ae)
            ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = server.timeout_s
            ae.connection_timeout = server.timeout_s
            for uid, syntaxes in contexts:
                if syntaxes is None:
                    ae.add_requested_context(uid)
                else:
                    ae.add_requested_context(uid, syntaxes)
            try:  # pynetdicom says "aborted" of a port that refuses TCP: find out first
                socket.create_connection((server.host, server.port), timeout=server.timeout_s).close()
            except OSError as e:
                said = e.strerror or str(e) or type(e).__name__
                raise PacsError(
                    f"{server.describe()}: cannot reach the archive ({said}); check the host, the port and that it runs"
                ) from None
            ext = [build_role(uid, scp_role=True) for uid in roles]
            assoc = ae.associate(
                server.host,
                server.port,
                ae_title=server.called_ae,
                ext_neg=ext or None,
                evt_handlers=list(handlers),
            )
            if not assoc.is_established:
                raise _refusal(server, assoc)
            try:
                yield assoc
            finally:
                if assoc.is_established:
                    assoc.release()

        return opened()

    def _status(self, status, doing: str) -> int:
        where = self.server.describe()
        if status is None or "Status" not in status:
            raise PacsError(f"{where}: the association ended during the {doing}")
        code = int(status.Status)
        if code in (0x0000, *_PENDING):
            return code
        comment = str(status.get("ErrorComment", "") or "")
        raise PacsError(
            f"{where}: the {doing} failed with status 0x{code:04X}" + (f" ({comment})" if comment else "")
        )


def _refusal(server: PacsServer, assoc) -> PacsError:
    where = server.describe()
    titles = (
        f"check the called AE title '{server.called_ae}' and that the archive knows the calling AE "
        f"'{server.calling_ae}' from this host"
    )
    if assoc.is_rejected:
        return PacsError(f"{where}: refused the association; {titles}")
    if assoc.is_aborted:
        # Some archives abort where they refuse an AE title; and a refusal whose connection closes at
        # once may reach pynetdicom as an abort (seen once with Orthanc on a loaded machine)
        return PacsError(f"{where}: aborted the association as it opened; {titles}")
    return PacsError(f"{where}: cannot reach the archive; check the host, the port and that it runs")


# pynetdicom logs each refused association at ERROR; the one line above says it
logging.getLogger("pynetdicom").addHandler(logging.NullHandler())
