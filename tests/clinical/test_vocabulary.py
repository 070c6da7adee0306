"""The words of the domain are spelled once, in casebook.clinical.vocabulary, and importing
it imports nothing else of casebook (the catalog and the models sit above it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.vocabulary import (
    GET_IN_TOUCH,
    RED_FLAG_URGENCIES,
    RESULT_FLAG_PATIENT_WORDS,
    Urgency,
    result_patient_words,
)

PACKAGE = Path(__file__).resolve().parents[2] / "casebook"
VOCABULARY = PACKAGE / "clinical" / "vocabulary.py"


def test_the_urgency_scale_in_order_with_its_words() -> None:
    assert [u.value for u in sorted(Urgency, key=lambda u: u.rank)] == [
        "same_day",
        "urgent",
        "soon",
        "routine",
    ]
    assert [u.label for u in Urgency] == ["same day", "urgent", "soon", "routine"]
    assert [u for u in Urgency if u.needs_contact] == [Urgency.SAME_DAY, Urgency.URGENT]
    assert [u.patient_words for u in Urgency] == [GET_IN_TOUCH, GET_IN_TOUCH, "", ""]
    assert Urgency("same_day") is Urgency.SAME_DAY  # the stored and catalog spelling
    with pytest.raises(ValueError):
        Urgency("same-day")


def test_catalog_rules_carry_only_red_flag_urgencies() -> None:
    used = {rule.urgency for rule in default_catalog().red_flags}
    assert used <= set(RED_FLAG_URGENCIES) and Urgency.SOON not in RED_FLAG_URGENCIES
    assert all(isinstance(u, Urgency) for u in used)


def test_result_words_for_a_patient() -> None:
    assert result_patient_words("H", numeric=True) == RESULT_FLAG_PATIENT_WORDS["H"]
    assert result_patient_words(None, numeric=True) == "within the usual range"
    assert result_patient_words("H", numeric=False) == RESULT_FLAG_PATIENT_WORDS["A"]
    assert result_patient_words(None, numeric=False) == "the usual result"


def test_importing_the_vocabulary_imports_no_other_casebook_module() -> None:
    code = (
        "import sys, casebook.clinical.vocabulary; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('casebook'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["casebook", "casebook.clinical", "casebook.clinical.vocabulary"]


def _strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_urgency_and_patient_result_words_are_spelled_only_in_the_vocabulary() -> None:
    words = (
        {u.value for u in Urgency}
        | {u.label for u in Urgency}
        | {"same-day"}
        | set(RESULT_FLAG_PATIENT_WORDS.values())
        | {GET_IN_TOUCH}
    )
    found = {
        f"{path.relative_to(PACKAGE)}: {sorted(hit)}"
        for path in PACKAGE.rglob("*.py")
        if path != VOCABULARY
        if (hit := _strings(path) & words)
    }
    assert not found, f"spelled outside clinical/vocabulary.py: {sorted(found)}"
