"""The house rules, checked with ``ast`` over the source (docs/architecture.md):

* no import cycle among meetguard modules, counting every import: top-level,
  function-local (lazy) and ``TYPE_CHECKING`` ones;
* no function in meetguard/ longer than 60 lines;
* the bundled plugins import only the declared public module, meetguard.plugin_api.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "meetguard"
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterator[str]:
    """Every meetguard module ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            # `from . import x` imports the submodule x; `from .m import f` imports m
            targets = subs if node.module is None and subs else [base, *subs]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:   # `import meetguard.audio.models as m`
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    return {name: set(imported(name, path)) for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), plus self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_lazy_and_type_checking_imports() -> None:
    graph = import_graph()
    assert "meetguard.pipeline" in graph["meetguard._guard"]          # top level
    assert "meetguard.detection" in graph["meetguard.backends"]        # lazy, in a method
    assert "meetguard.audio.backend" in graph["meetguard.release"]     # TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_meetguard_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_function_longer_than_sixty_lines() -> None:
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name} ({lines} lines, line {node.lineno})")
    assert long == []


def test_plugins_import_only_the_public_plugin_api() -> None:
    sources = [p for p in sorted((REPO / "plugins").glob("*/meetguard_*/**/*.py"))]
    assert sources, "the bundled plugins are missing"
    bad = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            bad += [f"{path.relative_to(REPO)}: {n}" for n in names
                    if n.split(".")[0] == "meetguard" and n != "meetguard.plugin_api"]
    assert bad == []
