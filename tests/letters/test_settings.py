"""Clinic settings: found next to the database or by $CASEBOOK_CLINIC, validated, and a
plain default letterhead when there are none."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from letters_helpers import TODAY

from casebook.catalog import Catalog
from casebook.letters import (
    CLINIC_ENV_VAR,
    LetterError,
    load_clinic_settings,
    referral_letter,
    to_pdf,
)
from casebook.models import Case

GOOD = """
name = "Example Digestive Health Clinic"
address = ["1 Example Street", "Exampletown EX1"]
phone = "000 0000 0000"
practitioner = "A. Example"
credentials = "ND"
"""


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLINIC_ENV_VAR, raising=False)


def test_found_next_to_the_database(tmp_path: Path) -> None:
    (tmp_path / "clinic.toml").write_text(GOOD)
    settings = load_clinic_settings(database_url=f"sqlite:///{tmp_path / 'casebook.db'}")
    assert settings.configured
    assert settings.address == ("1 Example Street", "Exampletown EX1")
    assert settings.credentials == "ND"


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clinic.toml").write_text(GOOD)
    other = tmp_path / "other.toml"
    other.write_text('name = "Other Clinic"\npractitioner = "B. Example"\n')
    monkeypatch.setenv(CLINIC_ENV_VAR, str(other))
    assert load_clinic_settings(database_url=f"sqlite:///{tmp_path / 'c.db'}").name == (
        "Other Clinic"
    )


def test_default_says_not_configured(tmp_path: Path, alarm_case: Case, catalog: Catalog) -> None:
    settings = load_clinic_settings(database_url=f"sqlite:///{tmp_path / 'casebook.db'}")
    assert not settings.configured
    assert not load_clinic_settings(database_url="postgresql+psycopg://u@h/db").configured
    letter = referral_letter(alarm_case, catalog, settings, to="Dr X", on=TODAY)
    assert "Clinic settings not configured" in letter.html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('practitioner = "A"\n', "field 'name': Field required"),
        ('name = "C"\npractitioner = "A"\naddress = "one line"\n', "field 'address':"),
        ('name = "C"\npractitioner = "A"\nfax = "1"\n', "field 'fax': Extra inputs"),
        ('name = ""\npractitioner = "A"\n', "field 'name': String should have at least"),
        ('name = "C"\npractitioner = "A"\nconfigured = false\n', "field 'configured':"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_bad_settings_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text(text)
    with pytest.raises(LetterError) as caught:
        load_clinic_settings(path)
    assert str(caught.value).startswith(f"clinic settings {path}: {message}")
    assert "\n" not in str(caught.value)


def test_a_named_file_that_is_missing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CLINIC_ENV_VAR, str(tmp_path / "nope.toml"))
    with pytest.raises(LetterError, match=r"nope\.toml: no such file$"):
        load_clinic_settings()


def test_missing_pdf_library_is_one_line(
    monkeypatch: pytest.MonkeyPatch, alarm_case: Case, catalog: Catalog
) -> None:
    letter = referral_letter(alarm_case, catalog, load_clinic_settings(), to="X", on=TODAY)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import now raises ImportError
    with pytest.raises(LetterError, match=r"^PDF letters need WeasyPrint .*weasyprint") as e:
        to_pdf(letter)
    assert "\n" not in str(e.value)
