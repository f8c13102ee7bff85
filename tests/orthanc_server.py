"""A real Orthanc archive for the PACS tests: started on loopback on free ports, always stopped.

Orthanc (Debian: ``apt-get install orthanc orthanc-dicomweb``, which ``.ci/run`` installs when it
runs as root) is started as a plain process with a temporary configuration: loopback only, a
temporary storage folder, HTTP authentication with a test user (so the credentials path is
tested), the DICOMweb plugin, and our AE title known to it. The process leads its own process
group and is killed with the group by the fixture's finaliser, by ``atexit`` when pytest itself
ends, and by the kernel when pytest is killed outright (``PR_SET_PDEATHSIG`` on Linux), so a
killed test run leaves no server behind.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "spine", "s3cret-Ü"
ARCHIVE_AE, OUR_AE = "ORTHANCTEST", "SPINECHECK"
#: Where the Debian package orthanc-dicomweb puts the plugin (``dpkg -L orthanc-dicomweb``).
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")


@dataclass
class Orthanc:
    """A running Orthanc: its DICOMweb root, DIMSE port and REST root (user and password above)."""

    process: subprocess.Popen
    http_port: int
    dicom_port: int
    folder: Path

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.rest}/dicom-web"

    def upload(self, data: bytes) -> dict:
        """POST a DICOM file to the REST API (not through the code under test)."""
        return json.loads(self.call("/instances", data, "application/dicom"))

    def call(self, path: str, data: bytes | None = None, content_type: str = "application/json") -> bytes:
        request = urllib.request.Request(
            self.rest + path, data=data, method="POST" if data is not None else "GET"
        )
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def orthanc_binary() -> str | None:
    return shutil.which("Orthanc")


def dicomweb_plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        for path in sorted(Path(folder).glob("libOrthancDicomWeb.so*")) if Path(folder).is_dir() else []:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    os.setsid()
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_orthanc(folder: Path, our_port: int) -> Orthanc:
    """Start Orthanc in *folder*; our AE is known to it at 127.0.0.1:*our_port* (for C-MOVE)."""
    binary, plugin = orthanc_binary(), dicomweb_plugin()
    assert binary and plugin
    http_port, dicom_port = free_port(), free_port()
    storage = folder / "storage"
    storage.mkdir(parents=True)
    config = {
        "Name": "spinecheck-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "DicomAet": ARCHIVE_AE,
        "DicomCheckCalledAet": True,
        "DicomModalities": {
            "spinecheck": {
                "AET": OUR_AE,
                "Host": "127.0.0.1",
                "Port": our_port,
                "AllowEcho": True,
                "AllowFind": True,
                "AllowGet": True,
                "AllowMove": True,
                "AllowStore": True,
            }
        },
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowStore": False,
        "DicomCheckModalityHost": True,
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StorageCompression": False,
        "HttpCompressionEnabled": False,
        "ConcurrentJobs": 1,
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    log = open(folder / "orthanc.log", "wb")  # noqa: SIM115 - the process writes to it until stopped
    process = subprocess.Popen(
        [binary, str(path)], stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, cwd=folder
    )
    log.close()
    server = Orthanc(process, http_port, dicom_port, folder)
    atexit.register(server.stop)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "Orthanc stopped at start: " + (folder / "orthanc.log").read_text(errors="replace")[-2000:]
            )
        try:
            server.call("/system")
            return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("Orthanc did not answer within 60 s")
