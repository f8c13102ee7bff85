"""The notebooks under notebooks/ run against the current code, and are stored without outputs.

Each notebook is executed top to bottom with nbclient in a fresh ``python3`` kernel (the kernelspec
ipykernel installs), from an empty temporary working directory; any cell error fails the test. A
stored notebook must have no outputs and no execution counts, so it can never show results the code
no longer produces.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    stale = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not stale, f"{path.name}: code cells {stale} hold outputs or execution counts; clear them"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_error(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # some jupyter_core 5.x releases warn (DeprecationWarning) unless told to use platformdirs' locations
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # the kernel is a child process: do not let a CI-wide MPLBACKEND change what the notebook runs on
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    # a warning printed to a researcher is a defect, as it is in the test suite (filterwarnings = error)
    warned = [
        o.text
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr" and "Warning" in o.text
    ]
    assert not warned, warned
    assert list(tmp_path.iterdir()) == [], "the notebook left files in its working directory"
