"""De-identification and the text, CSV and JSON renderings."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from casebook.catalog import default_catalog
from casebook.clinic import (
    CAVEATS,
    DEIDENTIFICATION_NOTE,
    ClinicError,
    deidentify,
    format_table,
    outcomes_by_group,
    outcomes_by_patient,
    to_csv,
    to_json,
    worklist,
)
from casebook.demo.synthetic import generate_cases

CAT = default_catalog()
TODAY = date(2024, 6, 1)
KEY = b"0123456789abcdef-test-key"


@pytest.fixture(scope="module")
def cases() -> list:
    return generate_cases(25, seed=5, today=TODAY, catalog=CAT)


def test_deidentify_drops_names_and_replaces_ids_consistently(cases: list) -> None:
    wl = worklist(cases, CAT, today=TODAY)
    out = deidentify(wl, key=KEY)
    assert not {"name", "detail", "ref"} & set(out.columns)
    text = out.to_csv()
    for case in cases:
        assert case.patient.name not in text and case.patient.id not in text
    mapping = dict(zip(wl["patient_id"], out["patient_id"], strict=True))
    assert len(set(mapping.values())) == len(mapping)  # one pseudonym per patient
    again = deidentify(outcomes_by_patient(cases, CAT), key=KEY)
    assert set(again["patient_id"]) >= set(mapping.values())
    other = deidentify(wl, key=b"another key, sixteen+")
    assert set(other["patient_id"]).isdisjoint(mapping.values())
    assert out.attrs["deidentified"] == DEIDENTIFICATION_NOTE


def test_deidentify_shifts_dates_per_patient_keeping_intervals(cases: list) -> None:
    df = outcomes_by_patient(cases, CAT)
    out = deidentify(df, key=KEY)
    shift = out["baseline_visit"] - df["baseline_visit"]
    assert (shift != pd.Timedelta(0)).all() and shift.abs().max() <= pd.Timedelta(days=365)
    followed = df["followed_up"]
    pd.testing.assert_series_equal(
        (out["latest_visit"] - out["baseline_visit"])[followed],
        (df["latest_visit"] - df["baseline_visit"])[followed],
    )
    assert shift.nunique() > len(df) // 2  # patients are shifted differently
    assert (out["burden_change"].fillna(0) == df["burden_change"].fillna(0)).all()


def test_deidentify_plain_dates_random_key_and_errors() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["a", "a", "b"],
            "when": [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 1)],
        }
    )
    out = deidentify(df)
    assert (out["when"][1] - out["when"][0]).days == 10
    assert all(isinstance(d, date) for d in out["when"])
    assert not set(deidentify(df)["patient_id"]) & set(out["patient_id"])  # fresh key each time
    with pytest.raises(ClinicError, match=r"^patient_id: needed"):
        deidentify(df.drop(columns=["patient_id"]))
    with pytest.raises(ClinicError, match=r"^key:"):
        deidentify(df, key=b"short")


def test_table_and_json_carry_caveats_and_sources(cases: list) -> None:
    groups = outcomes_by_group(cases, CAT, by="template")
    table = format_table(groups)
    flowing = " ".join(table.split())  # the caveats are wrapped to 100 columns
    assert "Caveats:" in table and all(c in flowing for c in CAVEATS)
    assert "Minimal important differences from:" in table and "Med Care 2004" in table
    payload = json.loads(to_json(groups))
    assert payload["caveats"] == list(CAVEATS) and payload["min_patients"] == 5
    assert payload["columns"] == list(groups.columns)
    assert len(payload["rows"]) == len(groups)
    suppressed = [r for r in payload["rows"] if r["note"].startswith("not shown")]
    assert suppressed and all(r["median_change"] is None for r in suppressed)


def test_csv_dates_and_empty_cells() -> None:
    df = pd.DataFrame(
        {"patient_id": ["a"], "since": [pd.Timestamp("2024-03-05")], "x": [float("nan")]}
    )
    assert to_csv(df) == "patient_id,since,x\na,2024-03-05,\n"
    assert json.loads(to_json(df))["rows"] == [
        {"patient_id": "a", "since": "2024-03-05", "x": None}
    ]
    assert format_table(df.iloc[0:0]).startswith("(nothing to show)")


def test_readme_states_what_deidentification_does_and_does_not_protect() -> None:
    from pathlib import Path

    from casebook.clinic import DEIDENTIFICATION_NOTE

    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert DEIDENTIFICATION_NOTE in readme
