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
    wl = worklist(cases, CAT, today=TODAY).assign(row=lambda d: range(len(d)))
    out = deidentify(wl, key=KEY, min_group=None)
    assert not {"name", "detail", "ref"} & set(out.columns)
    text = out.to_csv()
    for case in cases:
        assert case.patient.name not in text and case.patient.id not in text
    real = wl["patient_id"].to_numpy()[out["row"].to_numpy()]
    mapping = dict(zip(real, out["patient_id"], strict=True))
    assert len(set(mapping.values())) == len(mapping) == wl["patient_id"].nunique()
    again = deidentify(outcomes_by_patient(cases, CAT), key=KEY, min_group=None)
    assert set(again["patient_id"]) >= set(mapping.values())
    other = deidentify(wl, key=b"another key, sixteen+", min_group=None)
    assert set(other["patient_id"]).isdisjoint(mapping.values())
    assert out.attrs["deidentified"] == DEIDENTIFICATION_NOTE


def test_deidentify_shifts_dates_per_patient_keeping_intervals(cases: list) -> None:
    df = outcomes_by_patient(cases, CAT).assign(row=lambda d: range(len(d)))
    out = deidentify(df, key=KEY, min_group=None).set_index("row").sort_index()
    shift = out["baseline_visit"] - df["baseline_visit"]
    assert (shift != pd.Timedelta(0)).all() and shift.abs().max() <= pd.Timedelta(days=365)
    followed = df["followed_up"]
    pd.testing.assert_series_equal(
        (out["latest_visit"] - out["baseline_visit"])[followed],
        (df["latest_visit"] - df["baseline_visit"])[followed],
        check_names=False,
        check_index_type=False,
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
    out = deidentify(df, min_group=None)
    twice = out[out["patient_id"].duplicated(keep=False)]["when"].tolist()
    assert len(twice) == 2 and (twice[1] - twice[0]).days == 10  # a patient's rows in order
    assert all(isinstance(d, date) for d in out["when"])
    assert not set(deidentify(df)["patient_id"]) & set(out["patient_id"])  # fresh key each time
    with pytest.raises(ClinicError, match=r"^patient_id: needed"):
        deidentify(df.drop(columns=["patient_id"]))
    with pytest.raises(ClinicError, match=r"^key:"):
        deidentify(df, key=b"short")
    with pytest.raises(ClinicError, match=r"^min_group:"):
        deidentify(df, min_group=0)


def _score_rows(df: pd.DataFrame) -> list[tuple[object, ...]]:
    scores = df.drop(columns=["patient_id"]).astype(object)
    return [tuple(map(str, r)) for r in scores.where(scores.notna(), None).itertuples(False)]


@pytest.mark.parametrize("k", [5, 3, 2])
def test_the_twelve_demo_patients_cannot_be_matched_back(k: int) -> None:
    """The probe matched every de-identified row to its patient by row order and by each
    patient's distinct row of scores: rows now come in pseudonym order, numbers in bands,
    and no row is kept that fewer than k rows share."""
    cases = generate_cases(12, seed=1, today=TODAY, catalog=CAT)
    full = outcomes_by_patient(cases, CAT)
    assert len(full) == 12 and len(set(_score_rows(full))) == 12  # each row gives one away
    for columns in (list(full.columns), ["patient_id", "followed_up", "baseline_burden"]):
        out = deidentify(full[columns], key=KEY, min_group=k)
        assert out.attrs["suppressed"] + len(out) == 12
        assert not {c for c in out.columns if "visit" in c}  # dates left out
        rows = _score_rows(out)
        assert all(rows.count(r) >= k for r in rows), rows  # no row singles a patient out
        assert list(out["patient_id"]) == sorted(out["patient_id"])  # pseudonym order
    kept = deidentify(full[["patient_id", "followed_up", "baseline_burden"]], min_group=k)
    assert len(kept) >= 6 and str(kept["baseline_burden"].dtype) == "Int64"  # 26.0 -> band 25
    assert set(kept["baseline_burden"]) <= {15, 20, 25, 30}
    shuffled = deidentify(full.assign(row=range(12)), key=KEY, min_group=None)
    assert list(shuffled["row"]) != list(range(12))  # not the real ids' order


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


def test_csv_writes_whole_scores_without_a_decimal_point() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "baseline_burden": [26.0, None, 7.0],  # float only because b has none
            "median_change": [-2.5, 1.0, 0.0],  # a true fraction stays one
        }
    )
    rows = to_csv(df).splitlines()
    assert rows[1:] == ["a,26,-2.5", "b,,1.0", "c,7,0.0"]
    assert df["baseline_burden"].dtype == "float64"  # the frame itself is left alone
