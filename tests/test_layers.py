"""The package's layers, read from its import statements (README "Code layout"): the engine
(``cinev4``'s own modules and ``_fasthash``), the contracts (``cinev4.contracts``), the
pipeline (``cinev4.pipeline``) and the command line (``cinev4.cli``, ``cinev4.hashcli``).
A module imports only from its own layer and those below it, and no modules import each
other in a circle. Every import counts: at the top, inside functions (lazy) and under
TYPE_CHECKING. The checker is tried on a planted package first, so it can fail."""
from __future__ import annotations

import ast
from pathlib import Path

import cinev4

PACKAGE = Path(cinev4.__file__).parent  # the source tree, or the installed wheel in the wheel check
RANK = {"engine": 0, "contracts": 1, "pipeline": 2, "cli": 3}
SUBPACKAGE_LAYER = {"contracts": "contracts", "pipeline": "pipeline", "cli": "cli", "hashcli": "cli"}
# Above every layer: the console entry points, and the documented import path of the Dask
# backend (``cinev4.distributed``, a re-export of ``cinev4.pipeline.dask_backend``).
ABOVE_THE_LAYERS = {"cinev4.__main__", "cinev4._console", "cinev4.distributed"}


def modules_of(package: Path) -> dict[str, Path]:
    found = {}
    for path in package.rglob("*.py"):
        name = ".".join((package.name, *path.relative_to(package).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return SUBPACKAGE_LAYER.get(parts[1], "engine") if len(parts) > 1 else "engine"


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a name imported from a module counts as
    that module, or as the submodule of that name where there is one)."""
    top = next(iter(modules)).split(".")[0]
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith(top) and target != name:
                    edges[name].add(target)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, however indirectly (a package's re-exports
    of its own submodules, PEP 562 style, do not count)."""
    def follows(a: str, b: str) -> bool:
        return not a.startswith(b + ".")  # a submodule importing its package's names is fine

    reach: dict[str, set[str]] = {}
    for start in edges:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen and follows(start, nxt):
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = seen
    groups = {frozenset({a, *[b for b in reach[a] if a in reach[b]]}) for a in edges}
    return sorted(sorted(g) for g in groups if len(g) > 1)


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
                  for a, targets in edges.items() if a not in ABOVE_THE_LAYERS
                  for b in targets if RANK[layer_of(b)] > RANK[layer_of(a)])


def test_the_checker_finds_a_planted_circle_and_an_upward_import(tmp_path: Path) -> None:
    pkg = tmp_path / "cinev4"
    for folder in (pkg, pkg / "pipeline", pkg / "contracts"):
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (pkg / "pipeline" / "a.py").write_text("def f():\n    from cinev4.pipeline.b import g\n")  # lazy
    (pkg / "pipeline" / "b.py").write_text("from .a import f\n")
    (pkg / "contracts" / "c.py").write_text("from cinev4.pipeline import a\n")
    edges = import_edges(modules_of(pkg))
    assert circles(edges) == [["cinev4.pipeline.a", "cinev4.pipeline.b"]]
    assert upward_imports(edges) == ["cinev4.contracts.c (contracts) imports cinev4.pipeline.a (pipeline)"]


def test_no_module_of_cinev4_imports_itself_back() -> None:
    assert circles(import_edges(modules_of(PACKAGE))) == []


def test_each_layer_imports_only_from_itself_and_below() -> None:
    modules = modules_of(PACKAGE)
    assert {"cinev4.contracts.layout", "cinev4.pipeline.gates", "cinev4.cli", "cinev4.errors"} <= set(modules)
    assert upward_imports(import_edges(modules)) == []
