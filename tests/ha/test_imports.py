"""The integration's module structure: no import cycles, no module shadowing another.

Parsed with `ast` rather than imported, so imports under `TYPE_CHECKING` count too:
a cycle that only the type checker sees is still two modules that cannot be read,
changed or tested one without the other.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "plate_recognizer"

# Cycles still being taken apart, each named by its modules, sorted. The test fails
# when one of these is gone, so that its entry is removed with it.
KNOWN_CYCLES: set[tuple[str, ...]] = set()


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def _import_graph(root: Path = INTEGRATION) -> dict[str, set[str]]:
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue  # the integration imports itself only relatively
            base = list(path.relative_to(root).parent.parts)  # the package of `.`
            if node.level > 1:
                base = base[: len(base) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            candidates = [".".join(target)] if node.module else []
            # `from . import x` / `from .pkg import x`: x may be a module itself.
            candidates += [".".join([*target, alias.name]) for alias in node.names]
            for candidate in candidates:
                found = candidate or "__init__"
                if found in modules and found != name:
                    graph[name].add(found)
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_type_checking_imports(tmp_path: Path) -> None:
    graph = _import_graph()
    # Runtime imports, including a package's own submodules and `from . import x`.
    assert "coordinator" in graph["camera_runtime"]
    assert "platereader" in graph["camera_runtime"]
    assert "platereader.annotate" in graph["camera_runtime"]
    assert "platereader.config" in graph["platereader"]
    # An import only the type checker runs is an edge too (the integration has none
    # left, so a package made here shows it).
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\nfrom .b import B\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"
    )
    made = _import_graph(tmp_path)
    assert made["b"] == {"a"}
    assert _cycles(made) == {("a", "b")}


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == {("a", "b", "c")}


def test_no_import_cycles_between_the_integrations_modules() -> None:
    cycles = _cycles(_import_graph())
    assert cycles - KNOWN_CYCLES == set(), "import cycles: " + ", ".join(map(str, cycles))
    assert KNOWN_CYCLES - cycles == set(), "gone: remove from KNOWN_CYCLES"


def test_runtime_data_coordinator_and_cameras_do_not_import_each_other() -> None:
    graph = _import_graph()
    assert "camera_runtime" not in graph["coordinator"]
    assert "data" not in graph["coordinator"]
    assert "data" not in graph["camera_runtime"]


def test_no_module_is_named_like_another_importable_module() -> None:
    """mypy finds `platereader` through the integration's folder (pyproject's
    mypy_path), which it searches before the standard library and site-packages:
    a `select.py` or `yaml.py` here would hide the real one from the type checker."""
    assert str(INTEGRATION) not in sys.path  # else find_spec would find our own files
    shadowing = []
    for path in [*INTEGRATION.glob("*.py"), *INTEGRATION.glob("*/__init__.py")]:
        name = path.stem if path.name != "__init__.py" else path.parent.name
        if name in ("__init__", "platereader"):  # platereader is meant to be found so
            continue
        if name in sys.stdlib_module_names or importlib.util.find_spec(name) is not None:
            shadowing.append(name)
    assert shadowing == []
