"""noob's modules import one another without cycles.

Every ``import`` counts, also one inside a function (a lazy import hides a cycle at import
time but still ties the two modules together), except:

- imports under ``if TYPE_CHECKING:`` (annotations only, never run);
- imports inside a module-level ``__getattr__``: the documented compat re-exports
  (``noob.asset.AssetSpecification``, ``noob.node.base.WrapFuncNode``, ``noob.cli.run.run``...);
- the edges in :data:`ALLOWED`, each an API of the original noob that has to reach upwards.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "noob"

ALLOWED = {
    ("noob.spec", "noob.node.adapters"): "NodeSpecification.nodeinfo, the original's computed field, "
    "imports the node's type on demand",
    ("noob.node.base", "noob.node.adapters"): "Node.from_specification, the original's constructor, "
    "builds the adapter for any node kind",
}


def module_files(root: Path) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(module: str, path: Path, modules: Iterable[str]) -> set[str]:
    """The package modules ``module`` imports (see the module docstring for what is left out)."""
    known = set(modules)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if top and isinstance(child, ast.FunctionDef) and child.name == "__getattr__":
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - child.level + 1]
                    base = ".".join([*parts, *([child.module] if child.module else [])])
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    names.add(sub if sub in known else base)
            visit(child, top=False)

    visit(ast.parse(path.read_text(encoding="utf-8")), top=True)
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (iterative Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = module_files(root)
    return {
        m: {t for t in imports_of(m, p, modules) if (m, t) not in ALLOWED} for m, p in modules.items()
    }


def test_no_import_cycles() -> None:
    """No two of noob's modules import each other, directly or through others."""
    assert [] == cycles(import_graph(ROOT))


def test_allowed_edges_still_exist() -> None:
    """Every allowed upward import is still made (a stale exception would hide a new cycle)."""
    modules = module_files(ROOT)
    raw = {m: imports_of(m, p, modules) for m, p in modules.items()}
    assert [] == [edge for edge in ALLOWED if edge[1] not in raw[edge[0]]]


def test_finder_reports_a_lazy_cycle(tmp_path: Path) -> None:
    """The check fails a package whose cycle hides behind a function-level import."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from . import a\n    return a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
        "def __getattr__(name):\n    from pkg import a\n    return a\n"
    )
    assert [["pkg.a", "pkg.b"]] == cycles(import_graph(pkg))
