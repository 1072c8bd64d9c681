"""Dependencies point one way (desktop -> services/export -> models) and no files import each
other in a circle. Read from the source with `ast`: every import counts, lazy ones inside
functions and type-only ones under `if TYPE_CHECKING:` too (a circle drawn only for the type
checker is still two files that need each other)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tuple(sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"))
# Who may import whom, package by package (a package may always import itself).
ALLOWED = {
    "models": set(),
    "services": {"models"},
    "export": {"models", "services"},
    "training": {"models", "services", "export"},
    "desktop": {"models", "services", "export", "training"},
}
QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name `module` imports (relative imports resolved)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return names


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (a name resolves to its longest module prefix)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(n) for n in _imported_names(module, path) if n.split(".")[0] in PACKAGES}
        edges[module] = {t for t in targets if t and t != module}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_type_only_imports_count(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from desktop.window.main_window import MainWindow\n")
    assert "desktop.window.main_window" in _imported_names("desktop.x", path)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_files(graph: dict[str, set[str]]) -> None:
    assert _cycles(graph) == []


def test_packages_depend_one_way(graph: dict[str, set[str]]) -> None:
    wrong = sorted(f"{m} imports {t}" for m, targets in graph.items() for t in targets
                   if t.split(".")[0] != m.split(".")[0]
                   and t.split(".")[0] not in ALLOWED.get(m.split(".")[0], set()))
    assert wrong == []
    assert set(PACKAGES) <= set(ALLOWED), "a new package needs its place in ALLOWED"


def test_models_imports_no_qt() -> None:
    qt = sorted(f"{module} imports {name}" for module, path in _modules().items()
                if module.startswith("models") for name in _imported_names(module, path)
                if name.split(".")[0] in QT)
    assert qt == []


def test_only_the_launcher_knows_the_main_window(graph: dict[str, set[str]]) -> None:
    """Window controllers receive the objects they use, never the window (issue 22): only the
    code that builds it (desktop/window/launch.py) imports desktop.window.main_window."""
    importers = sorted(m for m, targets in graph.items() if "desktop.window.main_window" in targets)
    assert importers == ["desktop.window.launch"]
