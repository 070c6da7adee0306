"""What the workbook does to start fast: rfc3987_syntax (imported by jsonschema, for altair)
is deferred until it is used, and then behaves as itself."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

CHECK = """
import sys
from casebook.kernels.imports import defer_rfc3987_syntax
defer_rfc3987_syntax()
import altair  # imports jsonschema, which asks for rfc3987_syntax
assert type(sys.modules["rfc3987_syntax"]).__name__ == "_DeferredModule", "not deferred"
from jsonschema import _format
checker = _format.draft7_format_checker
assert checker.conforms("http://example.org/a", "iri")
assert not checker.conforms("not an iri", "iri")
assert type(sys.modules["rfc3987_syntax"]).__name__ == "module", "real module not loaded"
import rfc3987_syntax
assert rfc3987_syntax.is_valid_syntax("iri", "http://example.org/")
print("ok")
"""


NOT_INSTALLED = pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None,
    reason="rfc3987_syntax is not installed: nothing to defer",
)


@NOT_INSTALLED
def test_rfc3987_syntax_is_deferred_and_still_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@NOT_INSTALLED
def test_nothing_changes_when_it_is_already_imported() -> None:
    import rfc3987_syntax  # noqa: F401 - the state this test is about

    from casebook.kernels.imports import defer_rfc3987_syntax

    before = sys.modules["rfc3987_syntax"]
    defer_rfc3987_syntax()
    assert sys.modules["rfc3987_syntax"] is before
