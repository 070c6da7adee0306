"""The demo's "Next:" lines work as printed, whether or not its venv is activated."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from casebook.demo.build import DemoResult, demo_text


def _venv(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "venv dir" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "activate").write_text("# activate\n")
    casebook = bin_dir / "casebook"
    casebook.write_text("#!/bin/sh\n")
    casebook.chmod(0o755)
    return bin_dir


def _text() -> str:
    return demo_text(DemoResult(Path("demo"), "sqlite:///demo/casebook.db", ["demo-0001"]))


def test_an_unactivated_venv_is_activated_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _venv(tmp_path)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", "/nonexistent")
    lines = _text().splitlines()
    step = lines.index("Next:") + 1
    assert lines[step].startswith(f"  . '{bin_dir / 'activate'}'   # puts casebook and jupyter")


def test_an_activated_venv_or_a_plain_python_needs_no_activation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _venv(tmp_path)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert "activate" not in _text()
    (bin_dir / "activate").unlink()  # not a venv: nothing to activate
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "activate" not in _text()
