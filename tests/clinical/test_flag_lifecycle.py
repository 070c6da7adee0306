"""The red-flag lifecycle: pure states (clinical.flag_lifecycle) and the store's steps, on
SQLite and PostgreSQL (db_url)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.flag_lifecycle import SAME_DAY_MAX_AGE_DAYS, flag_statuses
from casebook.clinical.red_flags import RedFlag
from casebook.errors import CasebookError
from casebook.interop import case_from_json, case_to_json
from casebook.interop.fhir import bundle_to_json
from casebook.interop.fhir_common import EXT
from casebook.models import FlagReview, Patient, TestResult
from casebook.store import CaseStore, NotFoundError, import_case

TODAY = date.today()


def _flag(
    key: str = "phq9_self_harm",
    urgency: str = "same_day",
    on: date | None = TODAY,
    results: tuple[str, ...] = (),
) -> RedFlag:
    return RedFlag(key, "Label", "reason", urgency, "act", "src", None, on, results)


def _review(
    state: str,
    evidence_on: date | None,
    key: str = "phq9_self_harm",
    minutes: int = 0,
    **extra: str,
) -> FlagReview:
    return FlagReview(
        patient_id="p1",
        rule_key=key,
        state=state,  # type: ignore[arg-type]
        at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        evidence_on=evidence_on,
        actor="ann",
        **extra,
    )


# --- pure ---------------------------------------------------------------------------------
def test_a_step_holds_until_newer_evidence_reopens_it() -> None:
    day = TODAY - timedelta(days=3)
    (s,) = flag_statuses([_flag(on=day)], [_review("acknowledged", day, note="called")])
    assert (s.state, s.reopened, s.needs_contact) == ("acknowledged", False, False)
    (s,) = flag_statuses([_flag(on=TODAY)], [_review("acknowledged", day)])
    assert (s.state, s.reopened, s.needs_contact) == ("open", True, True)
    assert s.last is not None and s.last.state == "acknowledged"
    assert s.summary().startswith("open again: newer evidence since acknowledged by ann")


def test_the_latest_step_counts_and_other_rules_steps_do_not() -> None:
    day = TODAY - timedelta(days=1)
    reviews = [
        _review("resolved", day, minutes=2, outcome="seen by GP"),
        _review("acknowledged", day, minutes=1),
        _review("acknowledged", day, key="fever"),
    ]
    (s,) = flag_statuses([_flag(on=day)], reviews)
    assert s.state == "resolved" and s.summary().endswith(": seen by GP")


def test_same_day_evidence_ages_into_urgent_to_review_but_stays_open() -> None:
    fresh = TODAY - timedelta(days=SAME_DAY_MAX_AGE_DAYS)
    old = TODAY - timedelta(days=SAME_DAY_MAX_AGE_DAYS + 1)
    (s,) = flag_statuses([_flag(on=fresh)], [])
    assert (s.urgency, s.aged, s.headline()) == ("same_day", False, "same day")
    (s,) = flag_statuses([_flag(on=old)], [])
    assert (s.urgency, s.aged, s.state, s.needs_contact) == ("urgent", True, "open", True)
    assert s.headline() == f"urgent — answered on {old.isoformat()}, review"
    (s,) = flag_statuses([_flag(on=old, results=("r1",))], [])
    assert s.age_note == f"result of {old.isoformat()}, review"
    (s,) = flag_statuses([_flag(urgency="urgent", on=old)], [])
    assert (s.urgency, s.aged) == ("urgent", False)


def test_open_flags_come_first_most_urgent_first() -> None:
    flags = [
        _flag("a", "routine"),
        _flag("b", "urgent"),
        _flag("c", "same_day"),
        _flag("d", "same_day"),
    ]
    reviews = [_review("acknowledged", TODAY, key="c")]
    assert [s.flag.key for s in flag_statuses(flags, reviews)] == ["d", "b", "a", "c"]


def test_the_model_refuses_a_step_without_its_detail() -> None:
    with pytest.raises(ValueError, match="needs referred_to"):
        _review("referred", TODAY)
    with pytest.raises(ValueError, match="needs outcome"):
        _review("resolved", TODAY)
    with pytest.raises(ValueError):
        _review("open", TODAY)  # open is derived, never stored


# --- the store ------------------------------------------------------------------------------
@pytest.fixture
def crp_store(store: CaseStore) -> CaseStore:
    store.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1990, 1, 1), sex="female"))
    store.save(
        TestResult(
            patient_id="p1",
            test="hs_crp",
            value=14.0,
            unit="mg/L",
            collected_on=TODAY - timedelta(days=10),
        )
    )
    return store


def test_each_step_is_stored_and_audited(crp_store: CaseStore) -> None:
    store = crp_store
    (s,) = store.flag_statuses("p1")
    assert (s.flag.key, s.state) == ("crp_raised", "open")
    ack = store.review_flag("p1", "crp_raised", "acknowledged", note="discussed")
    assert (ack.actor, ack.evidence_on, ack.version) == ("tester", TODAY - timedelta(days=10), 1)
    ref = store.review_flag("p1", "crp_raised", "referred", referred_to="GI clinic")
    res = store.review_flag("p1", "crp_raised", "resolved", outcome="calprotectin normal")
    assert store.flag_reviews() == {"p1": [ack, ref, res]}
    assert store.flag_reviews(["p1", "p2"]) == {"p1": [ack, ref, res], "p2": []}
    assert store.load_case("p1").flag_reviews == [ack, ref, res]
    (s,) = store.flag_statuses("p1")
    assert s.state == "resolved" and s.last == res
    steps = [
        (e.entity, e.action, e.entity_id, (e.after or {}).get("state"))
        for e in store.audit_log("p1")
        if e.entity == "flag_review"
    ]
    assert steps == [
        ("flag_review", "acknowledge", ack.id, "acknowledged"),
        ("flag_review", "refer", ref.id, "referred"),
        ("flag_review", "resolve", res.id, "resolved"),
    ]
    assert store.verify_audit_log().intact


def test_newer_evidence_reopens_a_resolved_flag(crp_store: CaseStore) -> None:
    store = crp_store
    store.review_flag("p1", "crp_raised", "resolved", outcome="repeat planned")
    store.save(
        TestResult(
            patient_id="p1",
            test="hs_crp",
            value=3.0,
            unit="mg/L",
            collected_on=TODAY - timedelta(days=5),
        )
    )  # below: not alarm evidence
    assert store.flag_statuses("p1")[0].state == "resolved"
    store.save(TestResult(patient_id="p1", test="crp", value=25.0, unit="mg/L", collected_on=TODAY))
    (s,) = store.flag_statuses("p1")
    assert (s.state, s.reopened) == ("open", True)
    store.review_flag("p1", "crp_raised", "acknowledged")
    assert store.flag_statuses("p1")[0].state == "acknowledged"


@pytest.mark.parametrize(
    ("rule", "state", "extra", "message"),
    [
        ("fever", "acknowledged", {}, "rule 'fever': not raised for this patient now"),
        ("crp_raised", "referred", {}, "referred_to: a referral needs to whom"),
        (
            "crp_raised",
            "resolved",
            {"outcome": "  "},
            "outcome: resolving a flag needs its outcome",
        ),
        ("crp_raised", "open", {}, "state: 'open' is not one of acknowledged, referred, resolved"),
    ],
)
def test_a_step_that_cannot_be_taken_is_one_line_and_writes_nothing(
    crp_store: CaseStore, rule: str, state: str, extra: dict[str, str], message: str
) -> None:
    before = len(crp_store.audit_log("p1"))
    with pytest.raises(CasebookError) as err:
        crp_store.review_flag("p1", rule, state, **extra)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert len(crp_store.audit_log("p1")) == before
    assert crp_store.flag_reviews(["p1"]) == {"p1": []}


def test_steps_follow_the_state(crp_store: CaseStore) -> None:
    store = crp_store
    store.review_flag("p1", "crp_raised", "acknowledged")
    with pytest.raises(
        CasebookError, match="it is acknowledged; it can be acknowledged only when open"
    ):
        store.review_flag("p1", "crp_raised", "acknowledged")
    store.review_flag("p1", "crp_raised", "resolved", outcome="ok")
    with pytest.raises(CasebookError, match="it is resolved"):
        store.review_flag("p1", "crp_raised", "referred", referred_to="GI")
    with pytest.raises(NotFoundError):
        store.review_flag("nobody", "crp_raised", "acknowledged")


def test_steps_travel_with_the_case(crp_store: CaseStore, tmp_path: Path) -> None:
    crp_store.review_flag("p1", "crp_raised", "acknowledged", note="seen")
    crp_store.review_flag("p1", "crp_raised", "resolved", outcome="normal on repeat")
    case = crp_store.load_case("p1")
    again = case_from_json(case_to_json(case))
    assert again == case and len(again.flag_reviews) == 2
    with CaseStore(f"sqlite:///{tmp_path / 'other.db'}", create=True) as other:
        assert import_case(other, again) == "created"
        assert other.load_case("p1").flag_reviews == case.flag_reviews
        assert other.flag_statuses("p1")[0].state == "resolved"
        assert import_case(other, again) == "unchanged"
    flags = [
        e["resource"]
        for e in json.loads(bundle_to_json(case, default_catalog()))["entry"]
        if e["resource"]["resourceType"] == "Flag"
    ]
    (flag,) = flags
    assert flag["status"] == "inactive"
    assert {"url": EXT + "review-state", "valueCode": "resolved"} in flag["extension"]
