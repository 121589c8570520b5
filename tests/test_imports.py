"""The import graph ARCHITECTURE.md describes: no circles between regie's modules, and the
command modules load the engine lazily (issue 15)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "regie"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, modules: set[str], *, nested: bool) -> set[str]:
    """regie modules a module imports: at load time, and with ``nested`` also inside its
    functions; never those under ``if TYPE_CHECKING`` (types only)."""
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("regie"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("regie"):
            for alias in node.names:  # `from regie.engine import moves` imports a module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif nested or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            pending.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in modules}


def import_graph(*, nested: bool = False) -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    modules = set(files)
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8")), modules, nested=nested)
        for name, path in files.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others() -> None:
    """Also not through an import inside a function: such an import would only hide the
    circle (the CLI's lazily loaded engine modules never import the CLI back)."""
    graph = import_graph(nested=True)
    # packages import their own modules (regie.workflows re-exports definition): not a circle
    for name, deps in graph.items():
        deps.discard(name)
    assert _cycles(graph) == []


def test_command_modules_import_no_engine_module_at_load_time() -> None:
    graph = import_graph()
    eager = {
        (name, dep)
        for name, deps in graph.items()
        if name.startswith("regie.cli")
        for dep in deps
        if dep.startswith(("regie.engine.", "regie.notifications."))
        and dep != "regie.notifications.types"
    }
    assert eager == set()


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
