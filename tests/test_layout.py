"""The house keeps its shape: rooms by topic, data flowing one way, no import cycle.

Data flows image → points → parameters → assessment → report/figure. Each room of the package has a
rank; a module imports only from rooms of its own rank or below (its own room freely, without a
cycle). The graph is read from the source with :mod:`ast`, so an import inside a function counts as
much as one at the top of a module.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import spinecheck

ROOT = Path(spinecheck.__file__).resolve().parent

#: Room (dotted, under spinecheck) -> rank. A module belongs to the longest room that prefixes it.
RANKS = {
    "landmarks.errors": 0,
    "landmarks.points": 1,
    "landmarks.io": 2,
    "landmarks.synthetic": 2,
    "landmarks.imaging": 3,
    "landmarks.refine": 3,
    "landmarks.detect": 3,
    "landmarks.annotate": 4,
    "alignment.parameters": 5,
    "alignment.geometry": 6,
    "alignment.measure": 7,
    "alignment.criteria": 7,
    "alignment.followup": 8,
    "alignment.study": 8,
    "alignment.postop": 8,
    "alignment.motion": 8,
    "alignment.render": 9,
    "alignment.batch": 10,
    "alignment.export": 10,
    "alignment.tables": 11,
    "alignment.plots": 11,
    "alignment.demo": 11,
    "alignment.pacs": 11,
    "cli": 12,
}
#: The three front doors re-export from every room below them, lazily.
FRONT_DOORS = {"spinecheck", "spinecheck.alignment", "spinecheck.landmarks"}
ROOMS = [
    "spinecheck.landmarks.points",
    "spinecheck.landmarks.io",
    "spinecheck.landmarks.imaging",
    "spinecheck.landmarks.refine",
    "spinecheck.landmarks.annotate",
    "spinecheck.landmarks.synthetic",
    "spinecheck.alignment.geometry",
    "spinecheck.alignment.criteria",
    "spinecheck.alignment.render",
    "spinecheck.alignment.batch",
    "spinecheck.alignment.export",
    "spinecheck.alignment.tables",
    "spinecheck.alignment.plots",
    "spinecheck.alignment.pacs",
]


def _module_name(path: Path) -> str:
    parts = ["spinecheck", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    files = [ROOT / "__init__.py", ROOT / "cli.py"]
    files += sorted((ROOT / "alignment").rglob("*.py")) + sorted((ROOT / "landmarks").rglob("*.py"))
    return {_module_name(p): p for p in files}


SOURCES = _sources()


def _type_only(tree: ast.AST) -> set[int]:
    """The import statements under ``if TYPE_CHECKING:``, which never run."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return ids


def _imports(name: str, path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module *name* imports: spinecheck modules by full name, others by top-level name."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(
                a.name if a.name.startswith("spinecheck") else a.name.split(".")[0] for a in node.names
            )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("spinecheck"):
                found.add(target.split(".")[0])
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in SOURCES else target)
    return found


GRAPH = {name: _imports(name, path) for name, path in SOURCES.items()}
#: What runs: the type-only imports of the front doors (for type checkers) left out.
RUNTIME = {name: _imports(name, path, runtime_only=True) for name, path in SOURCES.items()}


def _room(module: str) -> str | None:
    short = module.removeprefix("spinecheck.")
    rooms = [r for r in RANKS if short == r or short.startswith(r + ".")]
    return max(rooms, key=len) if rooms else None


def test_every_module_has_a_room():
    homeless = [m for m in SOURCES if m not in FRONT_DOORS and _room(m) is None]
    assert not homeless, f"add these to a room (and to RANKS here): {homeless}"


def test_data_flows_one_way():
    """No module imports from a room that ranks above its own (landmarks never import alignment)."""
    upstream = []
    for module, imported in GRAPH.items():
        if module in FRONT_DOORS:
            continue
        rank = RANKS[_room(module)]
        for target in imported:
            if target.startswith("spinecheck") and target not in FRONT_DOORS:
                if RANKS[_room(target)] > rank:
                    upstream.append(f"{module} -> {target}")
    assert not upstream, "imports against the flow:\n" + "\n".join(sorted(upstream))


def test_no_import_cycle():
    graph = {m: {t for t in ts if t in SOURCES} for m, ts in RUNTIME.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


#: Rooms a check of their parent leaves out: the export room's job is to write DICOM, the pacs room's to send it.
EXEMPT = {"alignment": ("alignment.export", "alignment.pacs")}


@pytest.mark.parametrize(
    ("room", "never"),
    [
        pytest.param(
            "alignment",
            {"pydicom", "gdcm", "pylibjpeg", "jpeg_ls", "highdicom", "pynetdicom"},
            id="alignment-no-dicom",
        ),
        pytest.param("alignment.geometry", {"matplotlib", "scipy", "pydicom"}, id="geometry-plain"),
        pytest.param("alignment.criteria", {"matplotlib", "pydicom"}, id="criteria-no-drawing"),
        pytest.param("landmarks.points", {"matplotlib", "pydicom", "scipy"}, id="points-plain"),
    ],
)
def test_rooms_do_not_import_what_they_do_not_need(room, never):
    exempt = tuple(f"spinecheck.{r}" for r in EXEMPT.get(room, ()))
    offenders = [
        f"{m} imports {sorted(GRAPH[m] & never)}"
        for m in SOURCES
        if m.startswith(f"spinecheck.{room}") and not m.startswith(exempt) and GRAPH[m] & never
    ]
    assert not offenders, offenders


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_geometry_loads_neither_the_batch_engine_nor_the_window_nor_the_decoders():
    loaded = _loaded_after("import spinecheck.alignment.geometry")
    for heavy in ("spinecheck.alignment.batch", "spinecheck.landmarks.annotate", "pydicom", "matplotlib"):
        assert heavy not in loaded, heavy


def test_the_dicom_export_is_loaded_only_when_used():
    """Measuring, reporting and drawing import neither highdicom nor the export room."""
    loaded = _loaded_after("import spinecheck.alignment.render.figure, spinecheck.alignment.batch.runner")
    assert "highdicom" not in loaded and "spinecheck.alignment.export" not in loaded
    loaded = _loaded_after("import spinecheck; spinecheck.export_dicom")
    assert "spinecheck.alignment.export.dicom" in loaded and "highdicom" not in loaded


def test_import_spinecheck_is_cheap_and_loads_on_first_use():
    loaded = _loaded_after("import spinecheck")
    assert not {"numpy", "pydicom", "matplotlib", "scipy"} & loaded
    assert "spinecheck.alignment.render.figure" in _loaded_after("import spinecheck; spinecheck.figure_for")


@pytest.mark.parametrize("name", ["spinecheck", "spinecheck.alignment", "spinecheck.landmarks", *ROOMS])
def test_each_room_says_what_it_holds_and_exports_what_it_names(name):
    module = importlib.import_module(name)
    doc = (module.__doc__ or "").strip()
    assert doc and "\n" not in doc.split("\n\n")[0], f"{name}: a one-line docstring first"
    names = module.__all__
    assert len(names) == len(set(names)), f"{name}: a name listed twice in __all__"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}: __all__ names what it does not have: {missing}"


def test_every_room_is_a_package_the_walk_and_the_wheel_find():
    for room in ROOMS:
        folder = ROOT.joinpath(*room.split(".")[1:])
        assert (folder / "__init__.py").is_file(), room
