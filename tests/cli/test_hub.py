"""`casebook hub init|add-user|start` as the README has a new user run them: each refusal
is one line that says what to do."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from casebook.cli import main
from casebook.hub import HubSettings, init_hub
from casebook.hub.settings import CONFIG_FILE, read_credential
from tests.pg_roles import Clinic, clinic

__all__ = ["clinic"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


def test_init_on_sqlite_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEBOOK_DB", raising=False)
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    code, _, err = _run(capsys, "hub", "init", str(tmp_path / "hub"), "--db", url)
    assert code == 1 and _one_line(err)
    assert "several practitioners need PostgreSQL" in err
    assert not (tmp_path / "hub").exists()  # nothing half-written
    code, _, err = _run(capsys, "hub", "init", str(tmp_path / "hub"))  # no --db at all
    assert code == 1 and _one_line(err) and "--db" in err


class _Became(Exception):
    """What the test's `os.execv` raises instead of replacing the process."""


def _fake_bin(folder: Path, name: str) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_start_names_what_is_missing_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "hub"
    init_hub(folder, HubSettings())
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", str(bin_dir))  # neither jupyterhub nor the proxy
    # nor beside the running Python (a venv's bin/, found without activating it)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    code, _, err = _run(capsys, "hub", "start", str(folder))
    assert code == 1 and _one_line(err)
    assert err.startswith("casebook hub: jupyterhub is not installed: pip install 'casebook[hub]'")

    _fake_bin(bin_dir, "jupyterhub")
    code, _, err = _run(capsys, "hub", "start", str(folder))
    assert code == 1 and _one_line(err)
    assert "configurable-http-proxy is not installed: npm install -g" in err

    def became(path: str, argv: list[str]) -> None:
        raise _Became(argv)

    monkeypatch.setattr(os, "execv", became)
    _fake_bin(bin_dir, "configurable-http-proxy")
    with pytest.raises(_Became) as hub:  # all there: the command becomes the hub
        main(["hub", "start", str(folder)])
    assert hub.value.args[0] == [str(bin_dir / "jupyterhub"), "-f", str(folder / CONFIG_FILE)]

    code, _, err = _run(capsys, "hub", "start", str(tmp_path / "nowhere"))
    assert code == 1 and _one_line(err) and "run `casebook hub init` first" in err


def test_add_user_twice_is_one_line(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "hub"
    init_hub(folder, HubSettings())
    name = clinic.user_name("dr")
    argv = ("hub", "add-user", str(folder), name, "--role", "practitioner", "--db", clinic.url)
    code, out, _ = _run(capsys, *argv)
    assert code == 0 and out.startswith(f"user {name} added as practitioner")
    kept = read_credential(folder, name)
    assert kept is not None and kept.split("@")[0] not in out  # no password printed
    code, _, err = _run(capsys, *argv)
    assert code == 1 and _one_line(err) and f"user {name!r} exists already" in err
    assert read_credential(folder, name) == kept  # the first login's URL is untouched
