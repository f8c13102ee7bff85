"""What ``pip install`` puts into site-packages: one package, ``spinecheck``, and nothing else.

The wheel is built from the files git tracks (as a fresh clone has them), with the build backend
already installed, so the test needs no network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import spinecheck

ROOT = Path(spinecheck.__file__).resolve().parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know which files are tracked")
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    src = tmp_path_factory.mktemp("clone") / "spinecheck-src"
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("spinecheck-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_only_the_spinecheck_package(wheel):
    top = {name.split("/")[0] for name in wheel.namelist()}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == {"spinecheck"}
    assert len(dist_info) == 1


def test_every_subpackage_and_data_file_is_in_the_wheel(wheel):
    names = set(wheel.namelist())
    for init in [
        *ROOT.joinpath("alignment").rglob("__init__.py"),
        *ROOT.joinpath("landmarks").rglob("__init__.py"),
    ]:
        assert f"spinecheck/{init.relative_to(ROOT).as_posix()}" in names, init
    for module in ("__init__.py", "cli.py", "py.typed"):
        assert f"spinecheck/{module}" in names
    sets = sorted(p.name for p in ROOT.joinpath("alignment", "criteria", "sets").glob("*.json"))
    assert sets and all(f"spinecheck/alignment/criteria/sets/{s}" in names for s in sets)
    # the landmark model's weights, manifest (SHA-256) and model card: `spinecheck detect` needs them
    weights = sorted(p.name for p in ROOT.joinpath("landmarks", "detect", "weights").iterdir())
    assert {"landmarks-ap.onnx", "manifest.json", "MODEL_CARD.md"} <= set(weights)
    assert all(f"spinecheck/landmarks/detect/weights/{w}" in names for w in weights)
    assert not [
        n for n in names if n.startswith(("spinecheck/tests/", "spinecheck/bench/", "spinecheck/notebooks/"))
    ]
    assert "spinecheck/setup.py" not in names


def test_the_console_script_runs_spinecheck_cli(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "spinecheck = spinecheck.cli:main" in text
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    assert f"Version: {spinecheck.__version__}" in wheel.read(metadata).decode()


def test_the_installed_command_is_ours():
    # the console script beside this interpreter's own (PATH may not hold that folder), else on PATH
    beside = Path(sysconfig.get_path("scripts")) / "spinecheck"
    exe = str(beside) if beside.exists() else shutil.which("spinecheck")
    assert exe is not None, "no spinecheck command installed with this interpreter nor on PATH"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"spinecheck {spinecheck.__version__}"


def test_the_installed_package_adds_no_other_top_level_name(tmp_path):
    """Installed (editable here, as the README says), only ``spinecheck`` is importable, not its rooms."""
    code = (
        "import importlib.util as u; "
        "print([n for n in ('spinecheck', 'cli', 'alignment', 'landmarks', 'setup') if u.find_spec(n)])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['spinecheck']"
