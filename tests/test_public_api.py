"""Each module's `__all__` is its public API, as in httpx's tests/test_exported_members.py:
it names only what exists, every public name the module defines is in it, and a private
module (`_x.py`) is reached from outside its package only through the package's API."""

from __future__ import annotations

import ast
import importlib
import logging
import pkgutil
from pathlib import Path
from typing import TypeVar

import casebook

ROOT = Path(__file__).resolve().parents[1]


def _module_names() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(casebook.__path__, "casebook.")
        if ".migrations" not in info.name and not info.name.endswith(".__main__")
    ]


def _defined_names(tree: ast.Module) -> set[str]:
    """Names a module binds itself at top level: defs, classes and assignments (not imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            names.add(node.target.id)
    return names


def _not_api(value: object) -> bool:
    """Module plumbing that is public by spelling only: loggers and type variables."""
    return isinstance(value, logging.Logger | TypeVar)


def test_all_names_only_what_exists_and_every_public_definition() -> None:
    problems = []
    for name in _module_names():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            continue
        missing = [n for n in exported if not hasattr(module, n)]
        if missing:
            problems.append(f"{name}: __all__ names what does not exist: {missing}")
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        unlisted = sorted(
            n
            for n in _defined_names(tree) - set(exported)
            if not n.startswith("_") and not _not_api(getattr(module, n, None))
        )
        if unlisted:
            problems.append(f"{name}: public but not in __all__ (list it or add a _): {unlisted}")
    assert not problems, "\n".join(problems)


def _private_part(module: str) -> int | None:
    for index, part in enumerate(module.split(".")):
        if part.startswith("_") and not part.startswith("__"):
            return index
    return None


def _imported_modules(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m.split(".")[0] == "casebook"]


def test_private_modules_are_used_only_inside_their_package() -> None:
    problems = []
    for path in sorted((ROOT / "casebook").rglob("*.py")):
        importer = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        for module in _imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            index = _private_part(module)
            if index is None:
                continue
            owner = ".".join(module.split(".")[:index])
            if importer != owner and not importer.startswith(owner + "."):
                problems.append(f"{path.relative_to(ROOT)} imports {module}: use {owner}")
    assert not problems, "\n".join(problems)


def test_the_checks_see_unlisted_names_and_private_imports() -> None:
    tree = ast.parse("import os\nfrom x import y\nA = 1\nB: int\ndef f(): pass\nclass _C: pass\n")
    assert _defined_names(tree) == {"A", "f", "_C"}
    assert _private_part("casebook.cli._main") == 2
    assert _private_part("casebook.cli.__main__") is None
    outside = ast.parse("from casebook.workbook.widgets._static import static_html\n")
    assert "casebook.workbook.widgets._static.static_html" in _imported_modules(outside)
