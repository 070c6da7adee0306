"""The store keeps its tables: no module outside `casebook/store/` touches a table or SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import casebook

PACKAGE = Path(casebook.__file__).parent
# sqlalchemy names that build or run SQL; `sqlalchemy.engine.make_url` (URL parsing) is not one.
SQL_NAMES = frozenset({
    "text", "select", "insert", "update", "delete", "Table", "Column", "MetaData",
    "bindparam", "func", "and_", "or_", "literal", "literal_column", "exists", "join",
    "create_engine", "Connection", "Engine", "inspect",
})


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if a.name == "sqlalchemy" or a.name.startswith("casebook.store.tables")
                      or a.name.startswith("sqlalchemy.sql")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module.startswith("casebook.store.tables") or (
                node.module == "casebook.store" and "tables" in names
            ) or node.module.startswith("sqlalchemy.sql") or (
                node.module == "sqlalchemy" and names & SQL_NAMES
            ):
                found.append(f"from {node.module} import {', '.join(sorted(names))}")
    return found


def test_no_module_outside_the_store_imports_tables_or_sql() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): bad
        for path in sorted(PACKAGE.rglob("*.py"))
        if "store" not in path.relative_to(PACKAGE).parts[:1]
        and (bad := _violations(path))
    }
    assert offenders == {}


def test_the_check_sees_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy as sa\nfrom casebook.store import tables as t\n"
                   "from sqlalchemy import select\nfrom sqlalchemy.engine import make_url\n",
                   encoding="utf-8")
    assert _violations(bad) == ["import sqlalchemy", "from casebook.store import tables",
                                "from sqlalchemy import select"]
