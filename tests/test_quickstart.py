"""The README's quickstart and CI agree: `.ci/run` runs the README's test command verbatim,
and both commands make and use a virtual environment (a system Python refuses `pip
install` outside one, PEP 668)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_the_quickstart_has_a_demo_and_a_test_command_in_a_venv() -> None:
    demo, tests = _quickstart_commands()
    for command in (demo, tests):
        assert "\n" not in command, command
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e "), command
    assert demo.endswith(" && .venv/bin/casebook demo"), demo
    assert tests.endswith(" && .venv/bin/python -m pytest"), tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _demo, tests = _quickstart_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == tests, "the last line of .ci/run must be the README's test command"
