"""Outcomes across patients: arithmetic, loss to follow-up, suppression and MID shares."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from casebook.catalog import default_catalog
from casebook.clinic import (
    CAVEATS,
    NO_PLAN,
    ClinicError,
    clinic_frames,
    outcomes_by_group,
    outcomes_by_patient,
    to_csv,
)
from casebook.clinical.scoring import change_since_baseline
from casebook.demo.synthetic import generate_cases
from tests.clinic.cases import V, days, make_case

CAT = default_catalog()


def _item(template: str, category: str = "herbal", status: str = "active") -> dict[str, object]:
    return {
        "category": category,
        "name": template.replace("_", " "),
        "template": template,
        "status": status,
        "start": days(200),
    }


def test_per_patient_baseline_latest_and_change() -> None:
    case = make_case(
        "p1",
        [
            V(200, 20, {"phq9": 14, "gad7": 9}),
            V(150, 15, {"phq9": 10}),
            V(100, 12, {"phq9": 6, "gad7": 11}),
        ],
        plan=[
            _item("peppermint_oil"),
            _item("low_fodmap_diet", "eliminate_triggers"),
            _item("probiotic_trial", "microbiome_support", "proposed"),
        ],
    )
    row = outcomes_by_patient([case], CAT).iloc[0]
    assert row["baseline_visit"] == pd.Timestamp(days(200))
    assert row["latest_visit"] == pd.Timestamp(days(100))
    assert (row["baseline_burden"], row["latest_burden"], row["burden_change"]) == (20, 12, -8)
    assert (row["phq9_baseline"], row["phq9_latest"], row["phq9_change"]) == (14, 6, -8)
    assert (row["gad7_baseline"], row["gad7_latest"], row["gad7_change"]) == (9, 11, 2)
    assert math.isnan(row["pss10_change"])
    assert row["time_in_care_days"] == 100 and bool(row["followed_up"])
    assert row["plan_categories"] == "eliminate_triggers; herbal"  # proposed is not used
    assert row["templates"] == "low_fodmap_diet; peppermint_oil"


def test_single_visit_patient_is_kept_as_lost_to_follow_up() -> None:
    cases = [make_case("one", [V(30, 18, {"phq9": 12})]), make_case("two", [V(90, 10), V(30, 8)])]
    df = outcomes_by_patient(cases, CAT).set_index("patient_id")
    assert list(df.index) == ["one", "two"]
    one = df.loc["one"]
    assert not one["followed_up"] and one["baseline_burden"] == 18
    assert pd.isna(one["latest_visit"]) and pd.isna(one["latest_burden"])
    assert pd.isna(one["burden_change"]) and pd.isna(one["phq9_change"])
    assert one["time_in_care_days"] == 0
    assert df.loc["two", "burden_change"] == -2
    assert df.attrs["caveats"] == list(CAVEATS)


def test_per_patient_csv_has_the_issue_columns_in_order() -> None:
    text = to_csv(outcomes_by_patient([make_case("p", [V(60, 9), V(1, 4)])], CAT))
    header = text.splitlines()[0].split(",")
    wanted = [
        "patient_id",
        "baseline_visit",
        "latest_visit",
        "baseline_burden",
        "latest_burden",
        "burden_change",
    ]
    assert [c for c in header if c in wanted] == wanted
    assert text.splitlines()[1].startswith(f"p,{days(60).isoformat()},{days(1).isoformat()},")


def test_burden_change_agrees_with_scoring_on_synthetic_cases() -> None:
    today = date(2024, 6, 1)
    cases = generate_cases(30, seed=3, today=today, catalog=CAT)
    df = outcomes_by_patient(cases, CAT).set_index("patient_id")
    assert len(df) == 30
    for case in cases:
        last = change_since_baseline(case)[-1]
        row = df.loc[case.patient.id]
        if len(case.visits) == 1:
            assert not row["followed_up"] and pd.isna(row["burden_change"])
        else:
            assert row["burden_change"] == last.burden_delta


def _group_cases(phq_changes: list[int], lost: int = 0) -> list:
    cases = [
        make_case(
            f"g{i}",
            [
                V(100, 20, {"phq9": 15, "pss10": 20}),
                V(10, 20 + d, {"phq9": 15 + d, "pss10": 20 + d}),
            ],
            plan=[_item("peppermint_oil")],
        )
        for i, d in enumerate(phq_changes)
    ]
    cases += [
        make_case(f"l{i}", [V(50, 20, {"phq9": 15})], plan=[_item("peppermint_oil")])
        for i in range(lost)
    ]
    return cases


def _row(df: pd.DataFrame, group: str, measure: str) -> pd.Series:
    return df[(df["group"] == group) & (df["measure"] == measure)].iloc[0]


def test_group_medians_iqr_mid_share_and_loss_to_follow_up() -> None:
    df = outcomes_by_group(_group_cases([-6, -5, -4, 0, 2, -10], lost=2), CAT, by="template")
    phq = _row(df, "peppermint_oil", "phq9")
    assert (phq["n_patients"], phq["n_followed_up"], phq["n_lost_to_follow_up"]) == (8, 6, 2)
    assert phq["n_measured"] == 6 and phq["median_change"] == -4.5
    assert (phq["q1_change"], phq["q3_change"]) == (-5.75, -1.0)
    assert phq["mid"] == 5 and phq["improved_share"] == 0.5  # -6, -5 and -10
    assert "Löwe" in phq["mid_source"]
    pss = _row(df, "peppermint_oil", "pss10")
    assert pss["median_change"] == -4.5 and pd.isna(pss["improved_share"])
    assert pd.isna(pss["mid"]) and "no established MID" in pss["note"]
    assert df.attrs["caveats"] == list(CAVEATS)


def test_figures_from_fewer_than_the_minimum_are_suppressed() -> None:
    cases = _group_cases([-6, -5, -4, 0], lost=3)
    df = outcomes_by_group(cases, CAT, by="template")  # default minimum 5
    phq = _row(df, "peppermint_oil", "phq9")
    assert phq["n_measured"] == 4 and phq["n_lost_to_follow_up"] == 3
    for col in ("median_change", "q1_change", "q3_change", "improved_share"):
        assert pd.isna(phq[col]), col
    assert phq["note"].startswith("not shown: fewer than 5")
    shown = _row(
        outcomes_by_group(cases, CAT, by="template", min_patients=4), "peppermint_oil", "phq9"
    )
    assert shown["median_change"] == -4.5 and shown["improved_share"] == 0.5


def test_patients_without_plan_are_a_group_and_categories_work() -> None:
    cases = [*_group_cases([-6, -5, -4, 0, 2]), make_case("none", [V(80, 10), V(5, 3)])]
    frames = clinic_frames(cases, CAT)
    df = outcomes_by_group(frames, CAT, by="category", min_patients=1)
    assert set(df["group"]) == {"herbal", NO_PLAN}
    assert _row(df, NO_PLAN, "burden")["median_change"] == -7
    assert _row(df, "herbal", "burden")["group_name"] == "Herbal"
    per_patient = outcomes_by_patient(frames, CAT)
    again = outcomes_by_group(per_patient, CAT, by="category", min_patients=1, plan=frames.plan)
    pd.testing.assert_frame_equal(df, again)


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"by": "practitioner"}, "by"), ({"min_patients": 0}, "min_patients")]
)
def test_bad_parameters_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ClinicError, match=rf"^{field}:"):
        outcomes_by_group([], CAT, **kwargs)  # type: ignore[arg-type]


def test_per_patient_frame_needs_the_plan() -> None:
    with pytest.raises(ClinicError, match=r"^plan:"):
        outcomes_by_group(outcomes_by_patient([], CAT), CAT)


def test_each_measure_starts_where_it_was_first_recorded_from_the_baseline() -> None:
    # a pre-visit check-in before the intake stays apart; the intake rated no symptoms
    case = make_case(
        "p1",
        [
            V(300, 30, {"phq9": 20}, kind="check-in"),
            V(200, None, {"gad7": 9}, kind="intake"),
            V(150, 18, {"phq9": 12}),
            V(100, 12, {"phq9": 6, "gad7": 5}),
        ],
    )
    row = outcomes_by_patient([case], CAT).iloc[0]
    assert row["baseline_visit"] == pd.Timestamp(days(200))
    assert (row["baseline_burden"], row["latest_burden"], row["burden_change"]) == (18, 12, -6)
    assert (row["phq9_baseline"], row["phq9_latest"], row["phq9_change"]) == (12, 6, -6)
    assert (row["gad7_baseline"], row["gad7_change"]) == (9, -4)
    assert row["burden_change"] == change_since_baseline(case)[-1].burden_delta
