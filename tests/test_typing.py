"""mypy --strict (configured in pyproject.toml) finds nothing in casebook/, and every
`type: ignore` left in it names its error code and says why."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# `# type: ignore[code]  # reason`: the code is what PGH003 (ruff) insists on; the reason
# is what a reader needs to decide whether the ignore can go.
_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    # The cache lives in the checkout's .mypy_cache (ignored by git), so a second run only
    # re-checks what changed.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout, proc.stdout


def test_every_type_ignore_names_its_code_and_reason() -> None:
    bad = []
    for path in sorted((ROOT / "casebook").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = _IGNORE.search(line)
            if found and not (found["codes"] and re.match(r"\s+#\s*\S", found["rest"])):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bad, "type: ignore without [code]  # reason:\n" + "\n".join(bad)


def test_the_ignore_check_sees_bare_and_unexplained_ignores() -> None:
    assert _IGNORE.search("x = 1  # type: ignore")["codes"] is None
    unexplained = _IGNORE.search("x = 1  # type: ignore[misc]")
    assert unexplained["codes"] == "[misc]" and not unexplained["rest"].strip()
