"""`casebook letter referral|summary` and the clinic settings text of `casebook init`."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebook.cli import main
from casebook.models import Case
from casebook.store import CaseStore, import_case


@pytest.fixture
def cli_db(
    sqlite_url: str, alarm_case: Case, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEBOOK_CLINIC", raising=False)
    with CaseStore(sqlite_url, create=True, actor="t") as store:
        import_case(store, alarm_case)
    return sqlite_url


def test_referral_writes_the_default_path_and_keeps_the_letter(
    cli_db, alarm_case, capsys, tmp_path
) -> None:
    pid = alarm_case.patient.id
    assert main(["letter", "referral", pid, "--db", cli_db, "--to", "Dr B. Example"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.parent == Path("notebooks") / pid / "letters"
    assert printed.name.startswith("referral-") and printed.suffix == ".pdf"
    with CaseStore(cli_db) as store:
        kept = store.latest_letter(pid, "referral")
    assert kept is not None and kept.recipient == "Dr B. Example"
    assert (tmp_path / printed).read_bytes() == kept.pdf


def test_summary_for_a_visit_to_a_chosen_file(cli_db, alarm_case, capsys, tmp_path) -> None:
    pid = alarm_case.patient.id
    first = alarm_case.sorted_visits()[0].visit_date.isoformat()
    out = tmp_path / "avs.pdf"
    assert (
        main(["letter", "summary", pid, "--visit", first, "--out", str(out), "--db", cli_db]) == 0
    )
    assert capsys.readouterr().out.strip() == str(out)
    with CaseStore(cli_db) as store:
        kept = store.latest_letter(pid, "after_visit_summary")
    assert kept is not None and kept.letter_date.isoformat() == first
    assert out.read_bytes() == kept.pdf


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "--visit", "1.2.2025"], "--visit: '1.2.2025' is not a date"),
        (["summary", "--visit", "2001-01-01"], "visit: no visit is recorded on 2001-01-01"),
        (["referral", "--flag", "no_such_rule"], "flag 'no_such_rule': no red-flag rule"),
        (["referral", "--note", "0" * 32], "include_notes: "),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli_db, alarm_case, capsys, tmp_path, argv, message
) -> None:
    kind, *rest = argv
    assert main(["letter", kind, alarm_case.patient.id, *rest, "--db", cli_db]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "notebooks").exists()
    with CaseStore(cli_db) as store:
        assert store.letters(alarm_case.patient.id) == []


def test_init_says_where_the_clinic_settings_go(sqlite_url, capsys, monkeypatch) -> None:
    monkeypatch.delenv("CASEBOOK_CLINIC", raising=False)
    assert main(["init", "--db", sqlite_url]) == 0
    out = capsys.readouterr().err  # stdout stays "store ready at URL"
    where = Path(sqlite_url.removeprefix("sqlite:///")).parent / "clinic.toml"
    assert f"clinic settings for letters: {where}" in out
    assert "not there yet" in out and 'practitioner = "A. Example"' in out
    where.write_text('name = "Test Clinic"\npractitioner = "T. Tester"\n', encoding="utf-8")
    assert main(["init", "--db", sqlite_url]) == 0
    assert "found: letters are signed by T. Tester" in capsys.readouterr().err


def test_summary_of_a_record_with_only_checkins_is_one_line(
    sqlite_url, capsys, monkeypatch, tmp_path
) -> None:
    from datetime import date

    from casebook.models import Patient, Visit

    monkeypatch.chdir(tmp_path)
    with CaseStore(sqlite_url, create=True, actor="t") as store:
        store.add_patient(Patient(id="p-1", name="T", birth_date=date(1980, 1, 1)))
        store.save(Visit(patient_id="p-1", kind="check-in", visit_date=date(2026, 3, 9)))
    assert main(["letter", "summary", "p-1", "--db", sqlite_url]) == 1
    err = capsys.readouterr().err.strip()
    assert "visit: " in err and "only check-ins" in err and len(err.splitlines()) == 1
    assert main(["letter", "summary", "p-1", "--db", sqlite_url, "--visit", "2026-03-09"]) == 1
    err = capsys.readouterr().err.strip()
    assert "2026-03-09 holds only a check-in" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "notebooks").exists()
