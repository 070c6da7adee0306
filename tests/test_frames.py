"""Tidy DataFrames: documented columns, one row per observation, dtypes and values."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from casebook.catalog import default_catalog
from casebook.interop.frames import instruments_frame, plan_frame, results_frame, symptoms_frame
from casebook.models import Case, InstrumentResponse, TestResult
from casebook.store import CaseStore, import_case

SYMPTOM_COLUMNS = [
    "patient_id",
    "visit_id",
    "visit_date",
    "visit_kind",
    "symptom",
    "severity",
    "frequency",
]
INSTRUMENT_COLUMNS = ["patient_id", "visit_id", "visit_date", "instrument", "total", "band"]
RESULT_COLUMNS = [
    "patient_id",
    "test",
    "test_name",
    "group",
    "evidence",
    "collected_on",
    "value",
    "value_text",
    "unit",
    "ref_low",
    "ref_high",
    "flag",
]
PLAN_COLUMNS = [
    "patient_id",
    "category",
    "name",
    "dose",
    "frequency",
    "start",
    "end",
    "status",
    "template",
]


def ts(day: date | None) -> pd.Timestamp | None:
    return None if day is None else pd.Timestamp(day)


@pytest.fixture
def stored(sqlite_store: CaseStore, demo_cases: list[Case]) -> list[Case]:
    """The demo cases as loaded back from a store (ranges and flags filled in)."""
    for case in demo_cases:
        import_case(sqlite_store, case)
    return [sqlite_store.load_case(c.patient.id) for c in demo_cases]


def test_symptoms_frame(demo_cases: list[Case]) -> None:
    df = symptoms_frame(demo_cases)

    assert list(df.columns) == SYMPTOM_COLUMNS
    assert len(df) == sum(len(c.symptoms) for c in demo_cases)
    assert pd.api.types.is_datetime64_any_dtype(df["visit_date"])
    assert pd.api.types.is_integer_dtype(df["severity"])
    assert list(df.index) == list(range(len(df)))
    keys = list(zip(df["patient_id"], df["visit_date"], df["symptom"], strict=True))
    assert keys == sorted(keys)
    by_key = df.set_index(["visit_id", "symptom"])
    assert by_key.index.is_unique
    for case in demo_cases:
        visits = {v.id: v for v in case.visits}
        for r in case.symptoms:
            row = by_key.loc[(r.visit_id, r.symptom)]
            assert row["patient_id"] == case.patient.id
            assert row["visit_date"] == ts(visits[r.visit_id].visit_date)
            assert row["visit_kind"] == visits[r.visit_id].kind
            assert (row["severity"], row["frequency"]) == (r.severity, r.frequency)


def test_instruments_frame(stored: list[Case]) -> None:
    df = instruments_frame(stored)

    assert list(df.columns) == INSTRUMENT_COLUMNS
    assert len(df) == sum(len(c.instruments) for c in stored)
    assert pd.api.types.is_datetime64_any_dtype(df["visit_date"])
    assert df["total"].dtype == "Int64"
    by_key = df.set_index(["visit_id", "instrument"])
    for case in stored:
        visits = {v.id: v for v in case.visits}
        for r in case.instruments:
            row = by_key.loc[(r.visit_id, r.instrument)]
            assert r.total is not None  # the store scored every complete response
            assert (row["patient_id"], row["total"], row["band"]) == (
                case.patient.id,
                r.total,
                r.band,
            )
            assert row["visit_date"] == ts(visits[r.visit_id].visit_date)


def test_incomplete_instrument_has_no_total(demo_cases: list[Case]) -> None:
    case = demo_cases[1]
    partial = InstrumentResponse(
        patient_id=case.patient.id, visit_id=case.visits[0].id, instrument="gad7", answers={"1": 2}
    )
    df = instruments_frame(case.model_copy(update={"instruments": [partial]}))
    assert len(df) == 1
    assert df["total"].isna().all()
    assert df["band"].isna().all()
    assert df["total"].dtype == "Int64"


def test_results_frame(stored: list[Case]) -> None:
    catalog = default_catalog()
    df = results_frame(stored)

    assert list(df.columns) == RESULT_COLUMNS
    assert len(df) == sum(len(c.results) for c in stored)
    assert pd.api.types.is_datetime64_any_dtype(df["collected_on"])
    assert pd.api.types.is_float_dtype(df["value"])
    by_key = df.set_index(["patient_id", "test", "collected_on"])
    assert by_key.index.is_unique
    for case in stored:
        for r in case.results:
            row = by_key.loc[(case.patient.id, r.test, ts(r.collected_on))]
            test = catalog.tests[r.test]
            assert (row["test_name"], row["group"], row["evidence"]) == (
                test.name,
                test.group,
                test.evidence,
            )
            assert (row["value"], row["unit"]) == (r.value, r.unit)
            assert (row["flag"] if pd.notna(row["flag"]) else None) == r.flag
            for bound in ("ref_low", "ref_high"):
                expected = getattr(r, bound)
                assert pd.isna(row[bound]) if expected is None else row[bound] == expected
    hb = by_key.loc[("demo-0001", "hemoglobin")].iloc[0]
    assert (hb["value"], hb["ref_low"], hb["flag"]) == (10.4, 12.0, "L")


def test_results_frame_qualitative_and_unknown_test(demo_cases: list[Case]) -> None:
    case = demo_cases[0]
    pid = case.patient.id
    results = [
        TestResult(
            patient_id=pid,
            test="giardia_antigen",
            collected_on=date(2024, 3, 1),
            value_text="positive",
            flag="A",
        ),
        TestResult(patient_id=pid, test="retired_test", collected_on=date(2024, 3, 2), value=1.5),
    ]
    df = results_frame(case.model_copy(update={"results": results}))
    assert list(df["test"]) == ["giardia_antigen", "retired_test"]
    giardia, retired = df.iloc[0], df.iloc[1]
    assert (giardia["value_text"], giardia["flag"], giardia["group"]) == ("positive", "A", "stool")
    assert pd.isna(giardia["value"])
    assert (retired["test_name"], retired["value"]) == ("retired_test", 1.5)
    assert pd.isna(retired["group"]) and pd.isna(retired["evidence"])


def test_plan_frame(demo_cases: list[Case]) -> None:
    df = plan_frame(demo_cases)

    assert list(df.columns) == PLAN_COLUMNS
    assert len(df) == sum(len(c.plan) for c in demo_cases)
    assert pd.api.types.is_datetime64_any_dtype(df["start"])
    assert pd.api.types.is_datetime64_any_dtype(df["end"])
    keys = list(zip(df["patient_id"], df["category"], df["name"], strict=True))
    assert keys == sorted(keys)
    rows = {(r.patient_id, r.category, r.name, r.template): r for r in df.itertuples(index=False)}
    for case in demo_cases:
        for item in case.plan:
            row = rows[(case.patient.id, item.category, item.name, item.template)]
            assert (row.dose, row.frequency, row.status) == (item.dose, item.frequency, item.status)
            assert row.start == ts(item.start)
            assert pd.isna(row.end) if item.end is None else row.end == ts(item.end)
    assert "referral" in set(df.loc[df["patient_id"] == "demo-0001", "category"])


def test_single_case_and_generator_are_accepted(demo_cases: list[Case]) -> None:
    one = symptoms_frame(demo_cases[2])
    assert set(one["patient_id"]) == {"demo-0003"}
    assert len(one) == len(demo_cases[2].symptoms)
    lazy = plan_frame(c for c in demo_cases[:2])
    assert set(lazy["patient_id"]) == {"demo-0001", "demo-0002"}


@pytest.mark.parametrize(
    ("frame", "columns", "dates"),
    [
        (symptoms_frame, SYMPTOM_COLUMNS, ["visit_date"]),
        (instruments_frame, INSTRUMENT_COLUMNS, ["visit_date"]),
        (results_frame, RESULT_COLUMNS, ["collected_on"]),
        (plan_frame, PLAN_COLUMNS, ["start", "end"]),
    ],
)
def test_empty_input_gives_empty_frames_with_the_columns(
    frame: object, columns: list[str], dates: list[str]
) -> None:
    df = frame([])  # type: ignore[operator]
    assert list(df.columns) == columns
    assert len(df) == 0
    for col in dates:
        assert pd.api.types.is_datetime64_any_dtype(df[col])
