"""The package's shape, checked from its source with `ast` (nothing is imported):
imports point down the layers, no import cycle, few top-level modules, short functions.

A self-test runs the same checker on a small broken package, so that a checker
which finds nothing cannot pass by accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pluralist"

# Top-level names of pluralist, bottom layer first (DESIGN.md). A module may import
# its own layer and those below; future packages are placed already.
LAYERS = (
    ("errors", "fileio", "metrics", "runtime"),
    ("encode", "data"),
    ("models",),
    ("training",),
    ("robust",),
    ("evaluation", "decide"),
    ("workflows",),
    ("cli", "serve", "integrations"),
)
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MAX_TOP_LEVEL_MODULES = 5     # besides __init__.py: more and the layout is flattening again
MAX_FUNCTION_LINES = 40


# --- reading the package ---------------------------------------------------------

def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package directory `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _package_of(module: str, path: Path) -> str:
    """The package a relative import starts from: the module itself for an __init__."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(module, path).split(".")
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known_prefix(name: str, modules) -> str | None:
    """The longest prefix of `name` that is one of our modules (a name imported from a
    module is not a module itself)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def _targets(node, module: str, path: Path, modules, top: str):
    """The package modules one import statement loads, as (target, what was written)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if (target := _known_prefix(alias.name, modules)) is not None:
                yield target, f"import {alias.name}"
        return
    source = _absolute(node, module, path)
    for alias in node.names:
        written = f"from {source} import {alias.name}"
        if f"{source}.{alias.name}" in modules:     # a submodule, imported by name
            yield f"{source}.{alias.name}", written
        elif source == top and alias.name == "__version__":
            continue   # the root always loads first: this cannot close a cycle
        elif (target := _known_prefix(source, modules)) is not None:
            yield target, written


def import_edges(root: Path) -> list[tuple[str, str, int, str]]:
    """(importer, imported, line, statement) for every import of one package module by
    another, at any depth (function-level imports included)."""
    modules = module_files(root)
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, written in _targets(node, module, path, modules, root.name):
                    edges.append((module, target, node.lineno, written))
    return sorted(edges)


# --- the rules ---------------------------------------------------------------------

def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYER_OF.get(parts[1]) if len(parts) > 1 else None


def unassigned_modules(root: Path) -> list[str]:
    return [m for m in module_files(root) if m != root.name and _layer(m) is None]


def upward_imports(root: Path) -> list[str]:
    """One line per import that points up a layer, or into the public API (the root)."""
    problems = []
    for source, target, line, written in import_edges(root):
        if source == root.name or _layer(source) is None:
            continue   # the public API may import anything; unassigned modules are reported apart
        where = f"{source} (line {line}: {written})"
        if target == root.name:
            problems.append(f"{where} imports the public API {root.name}/__init__.py")
        elif _layer(target) is not None and _layer(target) > _layer(source):
            problems.append(f"{where} imports {target}, a layer above: "
                            f"{LAYERS[_layer(source)]} may import only layers below")
    return problems


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of a directed graph (recursive: the
    package has tens of modules, far from the recursion limit)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def import_cycles(root: Path) -> list[str]:
    """One line per cycle: its modules and the imports that close it."""
    edges = import_edges(root)
    graph: dict[str, set[str]] = {m: set() for m in module_files(root)}
    for source, target, _, _ in edges:
        graph[source].add(target)
    problems = []
    for component in strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        inside = [f"{s} -> {t} (line {n})" for s, t, n, _ in edges if s in members and t in members]
        problems.append(f"import cycle among {component}: " + "; ".join(inside))
    return problems


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Every function or method (nested ones too) longer than `limit` lines."""
    problems = []
    for module, path in module_files(root).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    rel = path.relative_to(root.parent)
                    problems.append(f"{rel}:{node.lineno} {node.name} is {lines} lines (limit {limit})")
    return sorted(problems)


def top_level_modules(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.py") if p.name != "__init__.py")


# --- the package ---------------------------------------------------------------------

def test_every_module_has_a_layer():
    assert not unassigned_modules(PACKAGE), (
        "modules outside every layer (add their top-level name to LAYERS in this test): "
        f"{unassigned_modules(PACKAGE)}")


def test_imports_point_down_the_layers():
    problems = upward_imports(PACKAGE)
    assert not problems, "imports that point up:\n" + "\n".join(problems)


def test_no_import_cycles():
    problems = import_cycles(PACKAGE)
    assert not problems, "\n".join(problems)


def test_few_modules_lie_directly_in_the_package():
    modules = top_level_modules(PACKAGE)
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, (
        f"{len(modules)} modules directly in pluralist/ besides __init__.py "
        f"(at most {MAX_TOP_LEVEL_MODULES}): {modules}; move some into a layer's package")


def test_functions_are_short():
    problems = long_functions(PACKAGE)
    assert not problems, (f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(problems))


def test_the_checker_sees_the_real_package():
    """A checker that read nothing would pass every rule above."""
    edges = import_edges(PACKAGE)
    assert ("pluralist.training.loop", "pluralist.models.base") in {(s, t) for s, t, _, _ in edges}
    # a function-level import, and a submodule imported by name (`from . import families`)
    assert ("pluralist.models.registry", "pluralist.models.families") in {(s, t) for s, t, _, _ in edges}
    assert len(module_files(PACKAGE)) > 40


# --- the checker on a small broken package -----------------------------------------

BROKEN = {
    "__init__.py": "__version__ = '0'\nfrom .models import a\n",
    "errors.py": "from . import __version__\n",                      # allowed
    "models/__init__.py": "",
    "models/a.py": "def late():\n    from ..training import fit\n",  # up, inside a function
    "models/b.py": "from pluralist import models\nfrom .. import __version__\n",
    "training/__init__.py": "",
    "training/loop.py": "from ..models.a import late\n",
    "data/__init__.py": "",
    "data/p.py": "from . import q\n",                                  # p <-> q
    "data/q.py": "import pluralist.data.p\n",
    "robust/r.py": "from .. import errors, metrics_api\n",              # the root's name
    "shiny/thing.py": "",                                                # no layer
}


def _write_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pluralist"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_checker_finds_an_upward_import(tmp_path):
    root = _write_package(tmp_path, BROKEN)
    problems = upward_imports(root)
    assert len(problems) == 2, problems
    assert problems[0].startswith("pluralist.models.a (line 2: from pluralist.training import fit)")
    assert "imports pluralist.training, a layer above" in problems[0]
    # `errors` is a module, `metrics_api` a name of the root: that one uses the public API
    assert problems[1].startswith("pluralist.robust.r (line 1: from pluralist import metrics_api)")
    assert "public API" in problems[1]


def test_the_checker_finds_an_import_cycle(tmp_path):
    root = _write_package(tmp_path, BROKEN)
    # models.a -> training (the package), not training.loop: no cycle through loop
    assert import_cycles(root) == [
        "import cycle among ['pluralist.data.p', 'pluralist.data.q']: "
        "pluralist.data.p -> pluralist.data.q (line 1); pluralist.data.q -> pluralist.data.p (line 1)"]


def test_the_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    files = {**BROKEN, "models/a.py": "def late():\n    from ..training.loop import fit\n"}
    cycles = import_cycles(_write_package(tmp_path, files))
    assert any("pluralist.models.a" in c and "pluralist.training.loop" in c for c in cycles), cycles


def test_the_checker_finds_unassigned_modules_and_long_functions(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(40))
    files = {**BROKEN, "errors.py": f"def long():\n{body}\n\ndef short():\n    return 1\n"}
    root = _write_package(tmp_path, files)
    assert unassigned_modules(root) == ["pluralist.shiny.thing"]
    assert long_functions(root) == ["pluralist/errors.py:1 long is 41 lines (limit 40)"]


def test_tarjan_on_a_known_graph():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"f"}, "g": set()}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["d", "e"], ["f"], ["g"]]
