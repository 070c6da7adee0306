"""The store keeps its tables: no module outside `casebook/store/` touches a table or SQL;
and it has no back doors: nothing reaches into a private member of a store, inside the store
or out (the modules of the store take a `Transaction`, whose API is public)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import casebook

PACKAGE = Path(casebook.__file__).parent
ROOT = PACKAGE.parent
# sqlalchemy names that build or run SQL; `sqlalchemy.engine.make_url` (URL parsing) is not one.
SQL_NAMES = frozenset(
    {
        "text",
        "select",
        "insert",
        "update",
        "delete",
        "Table",
        "Column",
        "MetaData",
        "bindparam",
        "func",
        "and_",
        "or_",
        "literal",
        "literal_column",
        "exists",
        "join",
        "create_engine",
        "Connection",
        "Engine",
        "inspect",
    }
)


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [
                f"import {a.name}"
                for a in node.names
                if a.name == "sqlalchemy"
                or a.name.startswith("casebook.store.tables")
                or a.name.startswith("sqlalchemy.sql")
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if (
                node.module.startswith("casebook.store.tables")
                or (node.module == "casebook.store" and "tables" in names)
                or node.module.startswith("sqlalchemy.sql")
                or (node.module == "sqlalchemy" and names & SQL_NAMES)
            ):
                found.append(f"from {node.module} import {', '.join(sorted(names))}")
    return found


def test_no_module_outside_the_store_imports_tables_or_sql() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): bad
        for path in sorted(PACKAGE.rglob("*.py"))
        if "store" not in path.relative_to(PACKAGE).parts[:1] and (bad := _violations(path))
    }
    assert offenders == {}


def test_the_check_sees_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlalchemy as sa\nfrom casebook.store import tables as t\n"
        "from sqlalchemy import select\nfrom sqlalchemy.engine import make_url\n",
        encoding="utf-8",
    )
    assert _violations(bad) == [
        "import sqlalchemy",
        "from casebook.store import tables",
        "from sqlalchemy import select",
    ]


def _private_store_uses(path: Path) -> list[str]:
    """`store._x`, `self.store._x`, `self._store._x`: a private member of a store object."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            owner = ast.unparse(node.value)
            if owner.rsplit(".", 1)[-1].lstrip("_").endswith("store"):
                found.append(f"{node.lineno}: {owner}.{node.attr}")
    return found


def test_nothing_reaches_into_a_store() -> None:
    offenders = {
        str(path.relative_to(ROOT)): bad
        for folder in (PACKAGE, ROOT / "tests", ROOT / "benchmarks")
        for path in sorted(folder.rglob("*.py"))
        if (bad := _private_store_uses(path))
    }
    assert offenders == {}


def test_the_store_check_sees_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "store._read()\nself.store._audit(1)\nself._store._bump()\n"
        "store.read()\nstore.__class__\nself._store.read()\n",
        encoding="utf-8",
    )
    assert _private_store_uses(bad) == [
        "1: store._read",
        "2: self.store._audit",
        "3: self._store._bump",
    ]


def test_no_module_of_the_store_uses_a_private_member_of_another_object() -> None:
    """ruff's SLF001 (`obj._x` for any obj but self and cls) on the store's own modules."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "SLF001",
            "casebook/store",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
