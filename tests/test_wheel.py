"""The built wheel works outside the checkout: it carries its templates as package data.

Builds the wheel, installs it with `--no-deps` into a fresh venv, checks that `casebook`
is imported from the venv and not from a checkout, then runs `casebook demo --no-serve` and
`casebook new --execute` in an empty folder.

The dependencies come from the interpreter running the tests, whichever it is (a venv, the
system Python, pyenv): a `.pth` file in the new venv lists that interpreter's site folders.
`--system-site-packages` would not do: a venv made from a venv's Python sees the base
interpreter's packages, not the venv's. Folders named by a `.pth` line are appended after
the venv's own site-packages and their own `.pth` files are not run, so an editable install
of casebook there (its path entry or its import hook) cannot shadow the wheel.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(the venv's bin folder, an environment without any checkout on PYTHONPATH)."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CASEBOOK_DB")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "-q",
            "-w",
            str(base / "dist"),
        ],
        base,
        env,
    )
    wheel = next((base / "dist").glob("casebook-*.whl"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], base, env)
    bin_dir = venv / "bin"
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "_casebook_test_deps.pth").write_text("\n".join(_site_folders()) + "\n")
    _run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], base, env
    )
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return bin_dir, env


def _site_folders() -> list[str]:
    """The site folders of the interpreter running the tests (where the dependencies are)."""
    folders = site.getsitepackages()
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return [f for f in dict.fromkeys(folders) if Path(f).is_dir()]


def test_casebook_comes_from_the_wheel(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    out = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import casebook, casebook.notebooks as n; "
            "print(casebook.__file__); print(n.TEMPLATES_DIR)",
        ],
        tmp_path,
        env,
    )
    module, templates = (Path(line) for line in out.splitlines())
    venv = bin_dir.parent.resolve()
    assert module.resolve().is_relative_to(venv), module
    assert templates.is_relative_to(venv), templates
    assert not templates.is_symlink()
    assert sorted(p.name for p in templates.glob("*.ipynb")) == [
        "case.ipynb",
        "clinic.ipynb",
        "dashboard.ipynb",
    ]


def test_demo_and_new_run_from_an_empty_folder(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    casebook = str(bin_dir / "casebook")
    _run([casebook, "demo", "--no-serve", "--patients", "2"], tmp_path, env)
    demo = tmp_path / "casebook-demo"
    built = sorted(
        p.relative_to(demo / "notebooks").as_posix() for p in (demo / "notebooks").glob("*/*.ipynb")
    )
    assert len(built) == 4, built
    # each patient: the case workbook named after them, and the dashboard
    assert (
        sorted(name.split("/")[1] for name in built if name.endswith("/dashboard.ipynb"))
        == ["dashboard.ipynb"] * 2
    )
    assert all(
        name.endswith(f"-{name.split('/')[0]}.ipynb")
        for name in built
        if not name.endswith("/dashboard.ipynb")
    )
    assert (demo / "notebooks" / "clinic.ipynb").is_file()  # the clinic view, once

    url = f"sqlite:///{demo / 'casebook.db'}"
    pid = built[0].split("/")[0]
    out = _run([casebook, "--db", url, "new", pid, "--execute"], tmp_path, env)
    path = Path(out.strip().splitlines()[-1])
    assert path.parent == tmp_path / "notebooks" / pid and path.name.endswith(f"-{pid}.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
