"""Packaging stays honest: environment.yml and pyproject list the same dependencies,
and every public module's `__all__` names what it defines."""

from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
from pathlib import Path

import casebook

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    name = re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]
    return name.lower().replace("_", "-")


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("dask", "hub", "test"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    conda: set[str] = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:", 1)[1].splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line)
        if m and not line.strip().startswith("- -e") and m.group(1) not in ("pip:",):
            conda.add(_name(m.group(1)))
    conda -= {"python", "pip"}
    assert conda == wanted, (
        f"only in environment.yml: {sorted(conda - wanted)}; "
        f"only in pyproject.toml: {sorted(wanted - conda)}"
    )


def test_console_script_and_extras_are_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["casebook"] == "casebook.cli:main"
    assert {"test", "dask", "hub"} <= set(project["optional-dependencies"])


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(casebook.__path__, "casebook."):
        if ".migrations" in info.name or info.name.endswith(".__main__"):
            continue  # migrations are Alembic scripts; __main__ runs a command on import
        names.append(info.name)
    return names


def test_every_module_declares_an_accurate_all() -> None:
    problems = []
    for name in _modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            if not name.split(".")[-1].startswith("_"):
                problems.append(f"{name}: no __all__")
            continue
        missing = [n for n in exported if not hasattr(module, n)]
        if missing:
            problems.append(f"{name}: __all__ names undefined {missing}")
        if len(set(exported)) != len(exported):
            problems.append(f"{name}: __all__ repeats a name")
    assert not problems, "\n".join(problems)


def test_modules_stay_small() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "casebook").rglob("*.py")
        if "versions" not in p.parts and (n := len(p.read_text().splitlines())) > 450
    }
    assert not long, f"modules over 450 lines (split them by concern): {long}"


def _imported_top_level_names() -> set[str]:
    import ast
    import sys

    names: set[str] = set()
    for path in (ROOT / "casebook").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "casebook"}


def test_every_imported_package_is_a_declared_dependency() -> None:
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    declared |= {_name(r) for r in project["optional-dependencies"]["dask"]}
    providers = packages_distributions()
    missing = []
    for module in sorted(_imported_top_level_names()):
        dists = {_name(d) for d in providers.get(module, [module])}
        if not dists & declared:
            missing.append(f"{module} (from {sorted(dists)})")
    assert not missing, f"imported by casebook but not declared in pyproject.toml: {missing}"


def test_python_versions_agree() -> None:
    """requires-python, the classifiers, mypy, ruff and the README's first line of the
    quickstart name the same oldest Python, and the classifiers list each tested minor."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = config["project"]
    oldest = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert oldest, f"requires-python is not '>=3.N': {project['requires-python']!r}"
    minors = sorted(
        int(c.rsplit(".", 1)[1])
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert minors == list(range(int(oldest[1]), minors[-1] + 1)), minors
    assert config["tool"]["mypy"]["python_version"] == f"3.{minors[0]}"
    assert config["tool"]["ruff"]["target-version"] == f"py3{minors[0]}"
    for doc in ("README.md", "CONTRIBUTING.md"):
        assert f"You need Python 3.{minors[0]} or newer" in (ROOT / doc).read_text(), doc
