"""The worklist as a to-do list: a flag and its own result are one item, the default view
shows what needs a decision, one row a patient, and in-range results are signed off in bulk
(audited) from the store and the command line."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.catalog import load_catalog
from casebook.cli import main
from casebook.clinic import (
    KIND_TABLE,
    KINDS,
    ClinicError,
    by_patient,
    check_kinds,
    clinic_frames,
    shown_items,
    sign_off_in_range,
    store_worklist,
    worklist,
)
from casebook.clinic._todo import sign_off_choice
from casebook.models import Case
from casebook.store import CaseStore, import_cases
from tests.clinic.cases import TODAY, V, days, make_case

CAT = load_catalog()
LOW_HB = {"test": "hemoglobin", "collected_on": days(9), "value": 10.4, "unit": "g/dL"}
OK_HB = {"test": "hemoglobin", "collected_on": days(9), "value": 13.5, "unit": "g/dL"}
IN_RANGE = [
    {"test": "ferritin", "collected_on": days(20), "value": 80.0, "unit": "ng/mL"},
    {"test": "albumin", "collected_on": days(12), "value": 4.2, "unit": "g/dL"},
]


def _cases() -> list[Case]:
    return [
        make_case("an-1", [V(30, 8)], name="Ann Anemia", results=[LOW_HB, *IN_RANGE]),
        make_case("ok-2", [V(30, 8)], name="Bo Fine", results=[OK_HB, *IN_RANGE]),
    ]


def test_every_kind_is_one_entry_with_its_words() -> None:
    assert tuple(k.key for k in KIND_TABLE) == KINDS and len(set(KINDS)) == len(KINDS)
    assert [k.key for k in KIND_TABLE if not k.decision] == ["result-in-range"]
    assert KIND_TABLE[0].count(1) == "1 red flag" and KIND_TABLE[0].count(3) == "3 red flags"
    assert check_kinds(None) is None and check_kinds(["red-flag"]) == {"red-flag"}
    with pytest.raises(ClinicError, match=r"^kind: unknown kind 'nope' \(one of red-flag, "):
        check_kinds(["red-flag", "nope"])
    with pytest.raises(ClinicError, match=r"^kinds: must be a collection"):
        check_kinds("red-flag")


def test_a_flag_and_its_own_result_are_one_item() -> None:
    """The same anaemia is one red-flag row, not a red flag and a result to review."""
    cases = _cases()
    low = cases[0].results[0]
    df = worklist(cases, CAT, today=TODAY)
    mine = df[df["patient_id"] == "an-1"]
    assert low.id not in set(mine["ref"])
    flag = mine[mine["ref"] == "anemia"]
    assert list(flag["kind"]) == ["red-flag"]
    assert flag.iloc[0]["detail"].endswith(" · also: result out of range")
    # the same value inside the range for the other patient: a routine in-range result
    theirs = df[(df["patient_id"] == "ok-2") & (df["ref"] == cases[1].results[0].id)]
    assert list(zip(theirs["kind"], theirs["urgency"], strict=True)) == [
        ("result-in-range", "routine")
    ]
    # once the flag is acknowledged, its result is on the list as itself, once
    after = worklist(cases, CAT, today=TODAY, flag_states={("an-1", "anemia"): "acknowledged"})
    mine = after[after["patient_id"] == "an-1"]
    assert "anemia" not in set(mine["ref"])
    assert list(mine.loc[mine["ref"] == low.id, "kind"]) == ["result-to-review"]


def test_the_default_view_shows_only_what_needs_a_decision_one_row_a_patient() -> None:
    df = worklist(_cases(), CAT, today=TODAY)
    assert "result-in-range" in set(df["kind"])
    default = shown_items(df)
    assert "result-in-range" not in set(default["kind"])
    assert set(shown_items(df, everything=True)["kind"]) == set(df["kind"])
    only = shown_items(df, kinds=["result-in-range"])  # asked for by name: shown
    assert set(only["kind"]) == {"result-in-range"} and len(only) == 5
    patients = by_patient(default)
    assert list(patients["patient_id"]) == ["an-1"]  # Bo has nothing to decide
    row = patients.iloc[0]
    assert (row["urgency"], row["todo"], row["items"]) == ("urgent", "1 red flag", 1)
    everyone = by_patient(shown_items(df, everything=True))
    assert list(everyone["patient_id"]) == ["an-1", "ok-2"]  # the urgent one first
    assert list(everyone["todo"]) == [
        "1 red flag · 2 in-range results to sign off",
        "3 in-range results to sign off",
    ]
    assert by_patient(shown_items(df, kinds=["test-overdue"])).empty


def test_patients_tie_on_urgency_by_kind_then_by_how_many_items() -> None:
    few = make_case("a-few", [V(30, 8)], results=[{**LOW_HB, "value": 14.0, "flag": "H"}])
    many = make_case(
        "b-many",
        [V(30, 8)],
        results=[
            {**LOW_HB, "value": 14.0, "flag": "H"},
            {**IN_RANGE[0], "value": 900.0, "flag": "H"},
        ],
    )
    rows = by_patient(shown_items(worklist([few, many], CAT, today=TODAY)))
    assert list(zip(rows["patient_id"], rows["items"], strict=True)) == [
        ("b-many", 2),
        ("a-few", 1),
    ]


def test_the_demo_worklist_fits_a_screen() -> None:
    """The demo's 12 patients: 12 rows at most in the default view, not ~200."""
    from casebook.demo.synthetic import generate_cases

    cases = generate_cases(12, seed=1, today=date(2026, 12, 7), catalog=CAT)
    items = worklist(cases, CAT, today=date(2026, 12, 7))
    assert len(items) > 100  # what the list was before it was folded
    assert len(by_patient(shown_items(items))) <= 12


def test_sign_off_takes_in_range_results_only_audited_and_as_seen(store: CaseStore) -> None:
    import_cases(store, _cases())
    frames = clinic_frames(store.load_cases(), store.catalog)
    items = store_worklist(store, today=TODAY, frames=frames)
    chosen = sign_off_choice(items, frames)
    assert {pid: len(v) for pid, v in chosen.items()} == {"an-1": 2, "ok-2": 3}
    assert sign_off_choice(items, frames, patient_id="ok-2").keys() == {"ok-2"}
    with pytest.raises(ClinicError, match=r"^patient: 'zz' is not on the worklist"):
        sign_off_choice(items, frames, patient_id="zz")
    # one of Bo's results is stored again (a corrected value) after the list was read
    ferritin = next(r for r in store.load_case("ok-2").results if r.test == "ferritin")
    store.save(ferritin.model_copy(update={"value": 81.0}))
    done = store.sign_off_results(chosen)
    assert {pid: len(v) for pid, v in done.items()} == {"an-1": 2, "ok-2": 2}
    assert all(r.reviewed_by == "tester" for v in done.values() for r in v)
    entries = [e for e in store.audit_log("ok-2") if e.action == "sign-off"]
    assert len(entries) == 2 and ferritin.id not in {e.entity_id for e in entries}
    left = store_worklist(store, today=TODAY)
    assert set(left.loc[left["kind"] == "result-in-range", "ref"]) == {ferritin.id}
    low = next(r for r in store.load_case("an-1").results if r.test == "hemoglobin")
    assert low.reviewed_at is None  # cited by the open flag: not signed off
    assert sign_off_in_range(store, today=TODAY) == {"ok-2": 1}
    assert sign_off_in_range(store, today=TODAY) == {}


def test_cli_worklist_folds_by_patient_and_signs_off(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with CaseStore(sqlite_url, create=True, actor="t") as s:
        import_cases(s, _cases())
    base = ["--db", sqlite_url, "--actor", "dr-a", "worklist", "--today", TODAY.isoformat()]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("urgent    Ann Anemia (an-1): 1 item")
    assert "Bo Fine" not in out and "Red flag:" not in out
    assert "5 in-range results to sign off, not listed" in out
    assert all(len(line) <= 100 for line in out.splitlines())
    assert main([*base, "--patient", "an-1"]) == 0
    out = capsys.readouterr().out
    assert "  - [urgent] Red flag: Hemoglobin 10.4 g/dL" in out
    assert main([*base, "--kind", "nope"]) == 1
    assert "unknown kind 'nope'" in capsys.readouterr().err
    assert main([*base, "--sign-off-in-range", "--patient", "ok-2"]) == 0
    assert capsys.readouterr().out == (
        "Signed off 3 in-range results of 1 patient (each one audit entry)\n"
    )
    assert main([*base, "--sign-off-in-range"]) == 0
    assert capsys.readouterr().out.startswith("Signed off 2 in-range results of 1 patient")
    assert main([*base, "--sign-off-in-range"]) == 0
    assert capsys.readouterr().out == "No in-range results to sign off\n"
    with CaseStore(sqlite_url) as s:
        assert {e.actor for e in s.audit_log("ok-2") if e.action == "sign-off"} == {"dr-a"}
