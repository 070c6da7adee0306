"""The worklist: each kind, states passed in, ordering, and nothing after `today`."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from casebook.catalog import default_catalog
from casebook.clinic import WORKLIST_COLUMNS, ClinicError, to_csv, worklist
from casebook.clinical.red_flags import RedFlag
from casebook.clinical.vocabulary import Urgency
from casebook.models import AlarmScreen
from tests.clinic.cases import TODAY, V, days, make_case

CAT = default_catalog()


def _kinds(df: pd.DataFrame, pid: str) -> list[str]:
    return list(df.loc[df["patient_id"] == pid, "kind"])


def test_red_flags_computed_and_closed_states_dropped() -> None:
    case = make_case("rf", [V(20, 5, screen=AlarmScreen(gi_bleeding=True, fever=True))])
    df = worklist([case], CAT, today=TODAY)
    flags = df[df["kind"] == "red-flag"]
    # bleeding with abdominal pain rated, under 50: NICE NG12 1.3.1 (FIT) as well
    fit = "ng12_fit_under_50_bleeding"
    assert set(flags["ref"]) == {"gi_bleeding", "fever", fit}
    assert set(flags["urgency"]) == {"urgent"} and set(flags["since"]) == {pd.Timestamp(days(20))}
    states = {
        ("rf", "gi_bleeding"): "acknowledged",
        ("rf", "fever"): "open",
        ("rf", fit): "referred",
    }
    left = worklist([case], CAT, today=TODAY, flag_states=states)
    assert list(left.loc[left["kind"] == "red-flag", "ref"]) == ["fever"]
    for state in ("referred", "resolved"):
        gone = worklist(
            [case],
            CAT,
            today=TODAY,
            flag_states={("rf", "fever"): state, ("rf", "gi_bleeding"): state, ("rf", fit): state},
        )
        assert "red-flag" not in set(gone["kind"])


def test_unknown_flag_state_is_a_clear_error() -> None:
    with pytest.raises(ClinicError, match=r"^flag_states\[.*unknown state 'closed'"):
        worklist([], CAT, today=TODAY, flag_states={("x", "fever"): "closed"})


def test_results_to_review_flagged_first_until_reviewed() -> None:
    case = make_case(
        "rr",
        [V(30, 5)],
        results=[
            # a ferritin over 100: with the raised CRP, 100 or less would be iron deficiency (a flag
            # that folds both results into it: BSG 2021)
            {"test": "ferritin", "collected_on": days(20), "value": 180.0, "unit": "ng/mL"},
            {"test": "crp", "collected_on": days(10), "value": 7.0, "unit": "mg/L", "flag": "H"},
            {"test": "albumin", "collected_on": days(-3), "value": 4.0, "unit": "g/dL"},
        ],
    )
    df = worklist([case], CAT, today=TODAY)
    rows = df[df["kind"].isin(("result-to-review", "result-in-range"))]
    assert list(rows["urgency"]) == ["soon", "routine"]  # the future albumin is not there
    assert rows.iloc[0]["detail"] == f"{CAT.tests['crp'].name} 7 mg/L (high) on {days(10)}"
    reviewed = {case.results[1].id}
    left = worklist([case], CAT, today=TODAY, reviewed_results=reviewed)
    assert list(left.loc[left["kind"] == "result-in-range", "ref"]) == [case.results[0].id]


def test_tests_overdue_after_the_configured_days() -> None:
    case = make_case(
        "to",
        [V(60, 5)],
        orders=[
            {"test": "giardia_antigen", "ordered_on": days(45)},
            {"test": "calprotectin", "ordered_on": days(10)},
            {"test": "ferritin", "ordered_on": days(50), "status": "cancelled"},
        ],
    )
    df = worklist([case], CAT, today=TODAY)
    over = df[df["kind"] == "test-overdue"]
    assert list(over["ref"]) == [case.orders[0].id]
    assert over.iloc[0]["detail"].endswith(f"ordered {days(45)}, no result after 45 days")
    assert (
        len(worklist([case], CAT, today=TODAY, overdue_days=5).query("kind == 'test-overdue'")) == 2
    )
    with pytest.raises(ClinicError, match=r"^overdue_days:"):
        worklist([case], CAT, today=TODAY, overdue_days=-1)


def test_order_with_a_result_is_not_overdue() -> None:
    case = make_case(
        "tr",
        [V(60, 5)],
        orders=[{"test": "ferritin", "ordered_on": days(45)}],
        results=[
            {
                "test": "ferritin",
                "collected_on": days(40),
                "value": 60.0,
                "unit": "ng/mL",
                "order": 0,
            }
        ],
    )
    assert case.orders[0].status == "ordered"  # only the linked result says it is done
    assert "test-overdue" not in _kinds(worklist([case], CAT, today=TODAY), "tr")


def test_follow_ups_due() -> None:
    plan = [
        {
            "category": "herbal",
            "name": "Peppermint oil",
            "status": "active",
            "start": days(100),
            "end": days(-5),
        },
        {
            "category": "herbal",
            "name": "STW 5",
            "status": "active",
            "start": days(100),
            "end": days(3),
        },
        {
            "category": "herbal",
            "name": "Later",
            "status": "active",
            "start": days(100),
            "end": days(-60),
        },
    ]
    case = make_case(
        "fu",
        [V(100, 5)],
        plan=plan,
        results=[
            {
                "test": "vitamin_d",
                "collected_on": days(120),
                "value": 12.0,
                "unit": "ng/mL",
                "flag": "L",
            }
        ],
    )
    due = worklist([case], CAT, today=TODAY).query("kind == 'follow-up-due'")
    details = list(due["detail"])
    assert f"Peppermint oil: ends {days(-5)}, review the plan" in details
    assert f"STW 5: ended {days(3)}, review the plan" in details
    assert not any(d.startswith("Later") for d in details)
    assert any(d.startswith("Re-test due: ") and "(low)" in d for d in details)
    assert f"No visit since {days(100)} (100 days); plan active" in details
    assert set(due["urgency"]) == {"routine"}


def test_a_checkin_sent_since_is_not_a_visit_for_follow_up_due() -> None:
    plan = [{"category": "herbal", "name": "Peppermint oil", "status": "active"}]
    case = make_case("ci", [V(100, 5), V(10, 3, kind="check-in")], plan=plan)
    due = worklist([case], CAT, today=TODAY).query("kind == 'follow-up-due'")
    assert list(due["detail"]) == [f"No visit since {days(100)} (100 days); plan active"]


def test_worsening_respects_direction_and_latest_visit() -> None:
    worse = make_case("w", [V(90, 10, {"phq9": 5, "gad7": 8}), V(10, 15, {"phq9": 9, "gad7": 6})])
    better = make_case("b", [V(90, 15, {"phq9": 9}), V(10, 10, {"phq9": 5})])
    df = worklist([worse, better], CAT, today=TODAY)
    row = df[df["kind"] == "worsening"]
    assert list(row["patient_id"]) == ["w"]
    detail = row.iloc[0]["detail"]
    assert "Symptom burden 10 → 15" in detail and "PHQ-9 5 → 9" in detail
    assert "GAD-7" not in detail
    flipped = dataclasses.replace(
        CAT,
        instruments={
            **CAT.instruments,
            "gad7": CAT.instruments["gad7"].model_copy(update={"higher_is_worse": False}),
        },
    )
    assert (
        "GAD-7 8 → 6"
        in worklist([worse], flipped, today=TODAY).query("kind == 'worsening'").iloc[0]["detail"]
    )


def test_ordering_most_urgent_first_and_details_stay_per_patient() -> None:
    flags = {
        "a": [
            RedFlag(
                "phq9_self_harm",
                "Self-harm",
                "PHQ-9 item 9 answered",
                "same_day",
                "Review today",
                "src",
                None,
                days(2),
            )
        ],
        "b": [RedFlag("fever", "Fever", "Fever reported", "urgent", "Refer", "src", None, days(5))],
    }
    a = make_case(
        "a",
        [V(30, 10), V(5, 20)],
        name="Alma Zed",
        results=[
            {"test": "crp", "collected_on": days(3), "value": 9.0, "unit": "mg/L", "flag": "H"}
        ],
    )
    b = make_case(
        "b",
        [V(30, 10)],
        name="Bo Yarrow",
        results=[{"test": "ferritin", "collected_on": days(3), "value": 80.0, "unit": "ng/mL"}],
    )
    df = worklist([b, a], CAT, today=TODAY, flags=flags)
    assert list(df.columns) == WORKLIST_COLUMNS
    assert list(zip(df["urgency"], df["kind"], strict=True)) == [
        ("same_day", "red-flag"),
        ("urgent", "red-flag"),
        ("soon", "result-to-review"),
        ("soon", "worsening"),
        ("routine", "result-in-range"),
    ]
    for pid, other in (("a", "b"), ("b", "a")):
        text = " ".join(df.loc[df["patient_id"] == pid, "detail"])
        assert other not in text.split() and ("Bo" if pid == "a" else "Alma") not in text
    assert set(df.loc[df["patient_id"] == "a", "name"]) == {"Alma Zed"}
    header = to_csv(df).splitlines()[0].split(",")
    assert [c for c in header if c in {"patient_id", "kind", "urgency", "detail", "since"}] == [
        "patient_id",
        "kind",
        "urgency",
        "detail",
        "since",
    ]


def test_an_old_same_day_answer_is_urgent_to_review_and_ranks_below_a_fresh_one() -> None:
    # issue 18: a 61-day-old PHQ-9 item 9 answer was "same-day" and first on the worklist
    # while the workbook and `casebook flags` showed it as urgent, to review
    old = days(61)
    flags = {
        "a": [
            RedFlag(
                "phq9_self_harm",
                "Self-harm",
                "PHQ-9 item 9 answered",
                "same_day",
                "Review today",
                "src",
                None,
                old,
            )
        ],
        "b": [
            RedFlag(
                "phq9_self_harm",
                "Self-harm",
                "PHQ-9 item 9 answered",
                "same_day",
                "Review today",
                "src",
                None,
                days(2),
            )
        ],
    }
    cases = [make_case(pid, [V(70, 10)]) for pid in ("a", "b")]
    df = worklist(cases, CAT, today=TODAY, flags=flags).query("kind == 'red-flag'")
    assert list(zip(df["patient_id"], df["urgency"], strict=True)) == [
        ("b", "same_day"),
        ("a", "urgent"),
    ]
    assert df.iloc[1]["detail"] == f"PHQ-9 item 9 answered (answered on {old}, review)"


def test_synthetic_worklist_covers_every_kind() -> None:
    from casebook.demo.synthetic import generate_cases

    cases = generate_cases(40, seed=2, today=TODAY, catalog=CAT)
    df = worklist(cases, CAT, today=TODAY)
    assert set(df["kind"]) == {
        "red-flag",
        "result-to-review",
        "result-in-range",
        "test-overdue",
        "follow-up-due",
        "worsening",
    }
    ranks = df["urgency"].map(lambda u: Urgency(u).rank)
    assert ranks.is_monotonic_increasing
    assert df.iloc[0]["kind"] == "red-flag"


def test_lab_flags_on_the_worklist_unreadable_celiac_and_superseded_anaemia() -> None:
    """Issue 19: a celiac result without the lab's upper limit is listed for review (never
    silence); an old low hemoglobin with a newer one in range is routine and says so."""
    case = make_case(
        "lb",
        [V(400, 5)],
        results=[
            {"test": "ttg_iga", "collected_on": days(20), "value": 25.0, "unit": "U/mL"},
            {"test": "hemoglobin", "collected_on": days(300), "value": 10.0, "unit": "g/dL"},
            {"test": "hemoglobin", "collected_on": days(10), "value": 13.0, "unit": "g/dL"},
        ],
    )
    flags = worklist([case], CAT, today=TODAY).query("kind == 'red-flag'").set_index("ref")
    celiac = flags.loc["celiac_serology_without_limit"]
    assert celiac["urgency"] == "routine" and "cannot be read" in celiac["detail"]
    anemia = flags.loc["anemia"]
    assert anemia["urgency"] == "routine"
    assert f"a newer result is in range: Hemoglobin 13 g/dL on {days(10)}" in anemia["detail"]
    with_limit = make_case(
        "lc",
        [V(400, 5)],
        results=[
            {"test": "ttg_iga", "collected_on": days(20), "value": 5.0, "unit": "U/mL"},
        ],
    )
    with_limit.results[0].ref_high = 20.0
    assert "red-flag" not in set(worklist([with_limit], CAT, today=TODAY)["kind"])
