"""The clinic view over the store: results reviewed (audited), bulk loading, the worklist
and outcomes read from the store, and the `review`, `worklist`, `outcomes` commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest

from casebook.cli import main
from casebook.clinic import ClinicError, ClinicFilter, store_outcomes, store_worklist
from casebook.models import Case, TestResult
from casebook.store import CaseStore, NotFoundError, import_cases, import_results
from tests.clinic.cases import TODAY, V, days, make_case

RESULTS = [
    # a ferritin over 100: with the raised CRP, 100 or less would be iron deficiency (a flag
    # that folds both results into it: BSG 2021)
    {"test": "ferritin", "collected_on": days(20), "value": 180.0, "unit": "ng/mL"},
    {"test": "crp", "collected_on": days(10), "value": 7.0, "unit": "mg/L"},
]


def _cases() -> list[Case]:
    plan = [
        {
            "category": "herbal",
            "name": "Peppermint oil",
            "status": "active",
            "template": "low_fodmap_diet",
            "start": days(60),
        }
    ]
    return [
        make_case("cl-1", [V(60, 20), V(5, 10)], name="Ann <i>One</i>", results=RESULTS, plan=plan),
        make_case("cl-2", [V(50, 12), V(8, 18)], name="Bo Two", plan=plan),
        make_case("cl-3", [V(40, 9)], name="Cy Three"),
    ]


@pytest.fixture
def filled(store: CaseStore) -> CaseStore:
    import_cases(store, _cases())
    return store


def _to_review(store: CaseStore) -> set[str]:
    df = store_worklist(store, today=TODAY)
    return set(df.loc[df["kind"].isin(("result-to-review", "result-in-range")), "ref"])


def test_marking_results_reviewed_is_audited_and_takes_them_off_the_worklist(
    filled: CaseStore,
) -> None:
    case = filled.load_case("cl-1")
    ferritin, crp = sorted(case.results, key=lambda r: r.test == "crp")
    assert _to_review(filled) == {ferritin.id, crp.id}
    before = case.patient.record_version
    (done,) = filled.mark_results_reviewed("cl-1", [crp.id])
    assert (done.id, done.reviewed_by, done.version) == (crp.id, filled.actor, crp.version + 1)
    assert _to_review(filled) == {ferritin.id}
    stored = {r.id: r for r in filled.load_case("cl-1").results}
    assert stored[crp.id].reviewed_at is not None and stored[crp.id].reviewed_at.tzinfo
    assert stored[ferritin.id].reviewed_at is None
    assert filled.load_case("cl-1").patient.record_version == before + 1
    reviews = [e for e in filled.audit_log("cl-1") if e.action == "review"]
    assert [(e.entity, e.entity_id, e.actor) for e in reviews] == [("result", crp.id, filled.actor)]
    assert reviews[0].before["reviewed_at"] is None and reviews[0].after["reviewed_by"]
    assert filled.mark_results_reviewed("cl-1", [crp.id]) == []  # already: no new entry
    assert [r.id for r in filled.mark_results_reviewed("cl-1", "all")] == [ferritin.id]
    assert len([e for e in filled.audit_log("cl-1") if e.action == "review"]) == 2
    assert _to_review(filled) == set()


def test_an_unknown_result_is_refused_and_nothing_is_marked(filled: CaseStore) -> None:
    crp = next(r for r in filled.load_case("cl-1").results if r.test == "crp")
    with pytest.raises(NotFoundError, match=r"no result 'nope' for patient 'cl-1'"):
        filled.mark_results_reviewed("cl-1", [crp.id, "nope"])
    assert all(r.reviewed_at is None for r in filled.load_case("cl-1").results)
    with pytest.raises(NotFoundError, match="no patient 'ghost'"):
        filled.mark_results_reviewed("ghost", "all")


def test_a_changed_value_is_a_new_result_to_review(filled: CaseStore) -> None:
    filled.mark_results_reviewed("cl-1", "all")
    crp = next(r for r in filled.load_case("cl-1").results if r.test == "crp")
    same = filled.save(crp.model_copy(update={"ref_high": crp.ref_high}))
    assert same.reviewed_at is not None  # nothing changed
    changed = filled.save(crp.model_copy(update={"value": 9.0}))
    assert (changed.reviewed_at, changed.reviewed_by) == (None, None)
    ferritin = next(r for r in filled.load_case("cl-1").results if r.test == "ferritin")
    import_results(
        filled,
        [
            TestResult(
                patient_id="cl-1",
                test="ferritin",
                unit="ng/mL",
                collected_on=ferritin.collected_on,
                value=181.0,
            )
        ],
    )
    again = next(r for r in filled.load_case("cl-1").results if r.test == "ferritin")
    assert (again.value, again.reviewed_at) == (181.0, None)
    assert _to_review(filled) == {crp.id, ferritin.id}


def test_old_records_without_review_fields_load() -> None:
    r = TestResult.model_validate(
        {
            "patient_id": "x",
            "test": "crp",
            "collected_on": "2024-01-01",
            "value": 1.0,
            "unit": "mg/L",
        }
    )
    assert (r.reviewed_at, r.reviewed_by) == (None, None)
    naive = r.model_copy(update={"reviewed_at": datetime(2024, 1, 2, 3)})
    assert TestResult.model_validate(naive.model_dump()).reviewed_at.tzinfo is not None


def test_load_cases_is_load_case_for_each_patient(filled: CaseStore) -> None:
    every = filled.load_cases()
    assert [c.patient.id for c in every] == ["cl-1", "cl-2", "cl-3"]
    for case in every:
        assert case == filled.load_case(case.patient.id)
    some = filled.load_cases(["cl-3", "cl-1", "cl-1", "ghost"])
    assert [c.patient.id for c in some] == ["cl-1", "cl-3"]
    assert some[0] == filled.load_case("cl-1")


def test_practitioner_and_date_filters(filled: CaseStore, sqlite_url: str) -> None:
    other = CaseStore(filled.url, actor="dr-b")
    try:
        crp = next(r for r in other.load_case("cl-1").results if r.test == "crp")
        other.mark_results_reviewed("cl-1", [crp.id])
    finally:
        other.close()
    mine = store_worklist(filled, today=TODAY, clinic_filter=ClinicFilter(practitioner="dr-b"))
    assert set(mine["patient_id"]) == {"cl-1"}
    late = store_worklist(filled, today=TODAY, clinic_filter=ClinicFilter(date_from=days(9)))
    assert (late["since"] >= days(9).isoformat()).all() and len(late)
    outcomes = store_outcomes(filled, clinic_filter=ClinicFilter(date_to=days(45)))
    assert set(outcomes["patient_id"]) == {"cl-1", "cl-2"}
    with pytest.raises(ClinicError, match=r"^date_to: .* is before date_from"):
        ClinicFilter(date_from=days(1), date_to=days(2))


@pytest.fixture
def cli_db(sqlite_url: str) -> str:
    with CaseStore(sqlite_url, create=True) as s:
        import_cases(s, _cases())
    return sqlite_url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_review_worklist_and_outcomes(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "--db", cli_db, "worklist", "--format", "csv", "--today", TODAY.isoformat()
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"patient_id", "kind", "urgency", "detail", "since"} <= set(rows[0])
    assert sum(r["kind"] == "result-to-review" for r in rows) == 1  # the CRP, out of range
    assert not any(r["kind"] == "result-in-range" for r in rows)  # no decision: not listed
    code, out, _ = _run(
        capsys, "--db", cli_db, "worklist", "--all", "--format", "csv", "--today", TODAY.isoformat()
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sum(r["kind"] == "result-in-range" for r in rows) == 1
    assert {r["kind"] for r in rows} <= {
        "red-flag",
        "result-to-review",
        "result-in-range",
        "test-overdue",
        "follow-up-due",
        "worsening",
    }
    code, out, _ = _run(capsys, "--db", cli_db, "--actor", "dr-a", "review", "cl-1", "--all")
    assert (code, out) == (0, "cl-1: 2 results marked reviewed\n")
    code, out, _ = _run(capsys, "--db", cli_db, "worklist", "--all", "--format", "json")
    assert all(not r["kind"].startswith("result-") for r in json.loads(out)["rows"])
    code, out, err = _run(capsys, "--db", cli_db, "review", "cl-1", "--result", "nope")
    assert code == 1 and err == "casebook review: no result 'nope' for patient 'cl-1'\n"

    code, out, _ = _run(capsys, "--db", cli_db, "outcomes", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {
        "patient_id",
        "baseline_visit",
        "latest_visit",
        "baseline_burden",
        "latest_burden",
        "burden_change",
    } <= set(rows[0])
    assert "name" not in rows[0] and "One" not in out
    by_id = {r["patient_id"]: r for r in rows}
    assert (by_id["cl-1"]["baseline_burden"], by_id["cl-1"]["burden_change"]) == (
        "20",
        "-10",
    )  # whole scores as integers
    code, out, _ = _run(
        capsys, "--db", cli_db, "outcomes", "--by", "template", "--min-patients", "2"
    )
    assert code == 0 and "Caveats:" in out and "regression to the mean" in out
    code, out, _ = _run(capsys, "--db", cli_db, "outcomes", "--format", "csv", "--deidentify")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert not {r["patient_id"] for r in rows} & {"cl-1", "cl-2", "cl-3"}
    assert not {r["baseline_visit"] for r in rows} & {days(60).isoformat(), days(50).isoformat()}
    code, out, err = _run(capsys, "--db", cli_db, "worklist", "--from", "yesterday")
    assert (
        code == 1 and err == "casebook worklist: --from: 'yesterday' is not a date (YYYY-MM-DD)\n"
    )
    code, out, _ = _run(capsys, "--db", cli_db, "worklist")
    assert code == 0 and "Ann <i>One</i>" in out


def test_worklist_with_no_patients_says_nothing_to_act_on(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    CaseStore(sqlite_url, create=True).close()
    code, out, _ = _run(capsys, "--db", sqlite_url, "worklist")
    assert (code, out) == (0, "Nothing to act on.\n")
    assert date.today()  # the real today is used without --today


def test_an_acknowledged_flag_leaves_the_worklist(sqlite_store: CaseStore) -> None:
    from casebook.demo.synthetic import generate_cases

    case = generate_cases(4, seed=7)[0]  # patient 0 has alarm features
    import_cases(sqlite_store, [case])
    pid = case.patient.id
    statuses = sqlite_store.flag_statuses(pid)
    assert statuses, "the seeded alarm case raises red flags"
    rule = statuses[0].flag.key

    def flagged() -> set[str]:
        df = store_worklist(sqlite_store)
        return set(df.loc[(df["kind"] == "red-flag") & (df["patient_id"] == pid), "ref"])

    assert flagged() == {s.flag.key for s in statuses}
    sqlite_store.review_flag(pid, rule, "acknowledged", note="seen")
    assert flagged() == {s.flag.key for s in statuses} - {rule}
