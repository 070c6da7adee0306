"""The package's floor plan holds: every casebook module has a layer, imports only from its
own layer or below (function-level and TYPE_CHECKING imports included), and no two modules,
nor two packages, import each other round a cycle.

The layer order is CONTRIBUTING.md's; `LAYERS` below is its executable copy. A new module
under a package listed here takes that package's layer; a new top-level module or package
has to be given one here, which is the moment to decide where it belongs.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "casebook"

# Lowest first. A module's unit is the longest key that is a prefix of its dotted name.
LAYERS: dict[str, int] = {
    "casebook": 0,  # the package's own __init__ (its version)
    "casebook.errors": 0,
    "casebook.ids": 0,
    "casebook.format": 0,
    "casebook.templating": 0,
    "casebook._lazy": 0,
    "casebook.clinical.vocabulary": 0,  # one spelling per word; the catalog validates with it
    "casebook.models": 1,
    "casebook.catalog": 1,
    "casebook.clinical": 2,
    "casebook.store": 3,
    "casebook.interop": 4,
    "casebook.charts": 4,
    "casebook.kernels": 4,
    "casebook.notebooks": 4,
    "casebook.workbook": 5,
    "casebook.dashboard": 5,
    "casebook.clinic": 5,
    "casebook.letters": 5,
    "casebook.checkins": 5,
    "casebook.serve": 5,
    "casebook.demo": 5,
    "casebook.hub": 5,
    "casebook.cli": 6,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {
    _module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts
}
PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py"}


def _unit(module: str) -> str | None:
    best = None
    for key in LAYERS:
        if (module == key or module.startswith(key + ".")) and (
            best is None or len(key) > len(best)
        ):
            best = key
    return best


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if importer not in PACKAGES:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> Iterator[tuple[str, int]]:
    """(imported casebook module, line) for every import statement in `module`, at any depth:
    `from a.b import c` names `a.b.c` when that is a module, else `a.b`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "casebook":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source.split(".")[0] != "casebook":
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                yield (full if full in MODULES else source), node.lineno


GRAPH: dict[str, set[str]] = {
    module: {target for target, _ in _imports(module) if target != module} for module in MODULES
}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
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


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in MODULES if _unit(m) in (None, "casebook") and m != "casebook")
    assert not missing, f"give these modules a layer in tests/test_layers.py: {missing}"


def test_imports_never_run_up_the_layers() -> None:
    bad: list[str] = []
    for module in MODULES:
        unit = _unit(module)
        if unit is None or (unit == "casebook" and module != "casebook"):
            continue  # no layer yet: test_every_module_has_a_layer names it
        for target, line in _imports(module):
            target_unit = _unit(target)
            if target_unit is None:
                bad.append(f"{module}:{line} imports {target}, which is not a casebook module")
            elif LAYERS[target_unit] > LAYERS[unit]:
                bad.append(
                    f"{MODULES[module].relative_to(ROOT)}:{line}: {unit} (layer "
                    f"{LAYERS[unit]}) imports {target} (layer {LAYERS[target_unit]})"
                )
    bad = sorted(set(bad))
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_module_import_cycle() -> None:
    # A package's __init__ re-exporting its own modules is not a cycle of the floor plan;
    # a module importing its own package's __init__ back is.
    cycles = _cycles(GRAPH)
    assert not cycles, "module import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_package_import_cycle() -> None:
    units: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        unit = _unit(module)
        assert unit is not None
        for target in targets:
            target_unit = _unit(target)
            if target_unit is not None and target_unit != unit:
                units[unit].add(target_unit)
    cycles = _cycles(units)
    assert not cycles, "package import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("importer", "source"),
    [
        ("casebook.store.casestore", "from .tables import x"),
        ("casebook.store", "from .tables import x"),
        ("casebook.store.casestore", "from ..clinical import y"),
    ],
)
def test_relative_imports_resolve(importer: str, source: str) -> None:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ImportFrom)
    expected = {
        "from .tables import x": "casebook.store.tables",
        "from ..clinical import y": "casebook.clinical",
    }[source]
    assert _resolve(importer, node) == expected


def test_the_checks_find_a_cycle_and_an_upward_import() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert LAYERS[_unit("casebook.cli._main") or ""] > LAYERS[_unit("casebook.store.x") or ""]
    assert _unit("casebook.clinical.vocabulary") == "casebook.clinical.vocabulary"
    assert _unit("casebook.clinical.scoring") == "casebook.clinical"
