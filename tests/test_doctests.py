"""Every docstring example of the installed ``spinecheck`` package runs and gives what it shows.

pytest's ``--doctest-modules`` imports files by their path, which names them after the checkout's
folder rather than ``spinecheck``; here every module is imported by its installed name instead, found
by walking the package, so a new module's examples are run without being listed anywhere.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import spinecheck

# the build script sits beside the package modules in a checkout, and is not one of them
_NOT_MODULES = {"spinecheck.setup"}


def _modules() -> list[str]:
    names = ["spinecheck"]
    names += [m.name for m in pkgutil.walk_packages(spinecheck.__path__, "spinecheck.")]
    return sorted(n for n in names if n not in _NOT_MODULES)


#: Packages of optional extras ([dicom], [dask], [train]): a module that needs one is left out when it is absent.
_OPTIONAL = {"highdicom", "distributed", "torch"}


def _examples(name: str) -> list[doctest.DocTest]:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name in _OPTIONAL:
            return []
        raise
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]


MODULES = _modules()
WITH_EXAMPLES = [name for name in MODULES if _examples(name)]


def test_the_walk_finds_every_room():
    rooms = {n.rsplit(".", 1)[0] for n in MODULES}
    for room in ("points", "io", "imaging", "refine", "annotate", "synthetic"):
        assert f"spinecheck.landmarks.{room}" in rooms
    for room in ("geometry", "criteria", "render", "batch", "export"):
        assert f"spinecheck.alignment.{room}" in rooms


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    tests = _examples(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures: list[str] = []
    for test in tests:
        out: list[str] = []
        result = runner.run(test, out=out.append)
        if result.failed:
            failures.append("".join(out))
    assert not failures, "\n".join(failures)
