"""The chart builders, tested as data (`chart.to_dict()`): marks, encodings, bands, domains,
flags, and that each chart embeds only the columns its marks draw."""

from __future__ import annotations

import json
from datetime import date, timedelta

import altair as alt
import pytest
from chart_specs import columns, inline_rows, layer_rows, layers, long_case, marks, plain_case

from casebook.catalog import default_catalog
from casebook.charts import (
    CATEGORY_LABELS,
    analyte_chart,
    burden_chart,
    instrument_chart,
    is_empty,
    plan_timeline,
    symptom_chart,
)
from casebook.clinical.scoring import change_since_baseline, instrument_trend
from casebook.models import Case, PlanItem, SymptomRating, TestResult, Visit

CAT = default_catalog()
AUDIENCES = ("practitioner", "patient")


def _builders(case: Case, audience: str) -> dict[str, alt.TopLevelMixin]:
    return {
        "symptoms": symptom_chart(case, CAT, audience=audience),
        "burden": burden_chart(case, audience=audience),
        **{key: instrument_chart(case, CAT, key, audience=audience) for key in CAT.instruments},
        "ferritin": analyte_chart(case, CAT, "ferritin", audience=audience),
        "hemoglobin": analyte_chart(case, CAT, "hemoglobin", audience=audience),
        "plan": plan_timeline(case, CAT, audience=audience),
    }


def _record_ids(case: Case) -> set[str]:
    ids = {case.patient.id}
    for field in (
        "visits",
        "history",
        "symptoms",
        "instruments",
        "orders",
        "results",
        "plan",
        "notes",
    ):
        ids |= {rec.id for rec in getattr(case, field)}
    return ids


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_chart_carries_a_name_an_id_or_a_note(demo_cases: list[Case], audience: str) -> None:
    for case in demo_cases:
        for name, chart in _builders(case, audience).items():
            text = json.dumps(chart.to_dict())
            assert case.patient.name not in text, name
            for part in case.patient.name.split():
                assert part not in text, (name, part)
            leaked = [i for i in _record_ids(case) if i in text]
            assert not leaked, (name, leaked)
            for note in case.notes:
                assert note.text not in text, name
            assert not is_empty(chart), name


def test_symptom_chart_is_a_heatmap_with_a_total_row(demo_cases: list[Case]) -> None:
    case = demo_cases[1]
    spec = symptom_chart(case, CAT).to_dict()
    assert marks(spec) == ["rect", "rect", "text", "text"]
    cells, totals = layer_rows(spec, layers(spec)[0]), layer_rows(spec, layers(spec)[1])
    assert columns(cells) == {"visit", "symptom", "severity"}
    assert columns(totals) == {"visit", "symptom", "burden"}
    assert len(cells) == len({(r.visit_id, r.symptom) for r in case.symptoms})
    burdens = [v.burden for v in change_since_baseline(case)]
    assert [t["burden"] for t in totals] == burdens
    rect = layers(spec)[0]["encoding"]
    assert rect["color"]["field"] == "severity"
    assert rect["color"]["scale"]["domain"] == [0, 1, 2, 3, 4]
    y_domain = rect["y"]["scale"]["domain"]
    assert y_domain[: len(CAT.symptoms)] == [s.label for s in CAT.symptoms]
    assert y_domain[-1] == "Total burden"
    x_domain = rect["x"]["scale"]["domain"]
    assert len(x_domain) == len(case.visits)
    assert [r["severity"] for r in cells if r["visit"] == x_domain[0]] == [
        r.severity for r in case.symptoms if r.visit_id == case.sorted_visits()[0].id
    ]


def test_symptom_chart_uses_patient_wording_for_patients(demo_cases: list[Case]) -> None:
    spec = symptom_chart(demo_cases[0], CAT, audience="patient").to_dict()
    names = next(layer for layer in layers(spec) if layer["encoding"]["x"] == {"value": 0})
    labels = [row["symptom"] for row in layer_rows(spec, names)]
    assert labels[:-1] == [s.patient_label for s in CAT.symptoms]
    assert labels[-1] == "All symptoms together"
    assert all(layer["encoding"]["y"].get("axis", "none") is None for layer in layers(spec))


def test_burden_chart_labels_the_change_since_baseline(demo_cases: list[Case]) -> None:
    case = demo_cases[0]
    spec = burden_chart(case).to_dict()
    assert marks(spec) == ["rule", "line", "point", "text"]
    rows = layer_rows(spec, layers(spec)[1])
    assert columns(rows) == {"date", "burden", "change"}
    changes = change_since_baseline(case)
    assert [r["burden"] for r in rows] == [c.burden for c in changes]
    assert rows[0]["change"] == "start"
    for row, change in zip(rows[1:], changes[1:], strict=True):
        expected = "±0" if change.burden_delta == 0 else f"{change.burden_delta:+d}"
        assert row["change"] == expected.replace("-", "−")
    assert layers(spec)[1]["encoding"]["y"]["scale"]["domain"] == [0, 4 * len(CAT.symptoms)]
    assert layer_rows(spec, layers(spec)[0]) == [{"baseline": changes[0].burden}]


@pytest.mark.parametrize("key", sorted(CAT.instruments))
def test_instrument_chart_shades_the_bands_over_the_whole_range(
    demo_cases: list[Case], key: str
) -> None:
    inst = CAT.instruments[key]
    case = demo_cases[0]
    spec = instrument_chart(case, CAT, key).to_dict()
    assert marks(spec) == ["rect", "line", "point", "text"]
    lo, hi = inst.total_range
    bands = layer_rows(spec, layers(spec)[0])
    assert columns(bands) == {"y", "y2", "fill"}
    assert len(bands) == len(inst.bands)
    assert bands[0]["y"] == lo and bands[-1]["y2"] == hi
    band_y = layers(spec)[0]["encoding"]["y"]
    assert band_y["scale"]["domain"] == [lo, hi]
    for band in inst.bands:
        assert json.dumps(band.label) in band_y["axis"]["labelExpr"]
    line = layers(spec)[1]
    assert line["encoding"]["y"]["scale"]["domain"] == [lo, hi]
    points = layer_rows(spec, line)
    assert columns(points) == {"date", "total"}
    assert [p["total"] for p in points] == [
        t for _, t, _ in instrument_trend(case, key, instrument=inst)
    ]


def test_instrument_chart_refuses_an_unknown_instrument(demo_cases: list[Case]) -> None:
    with pytest.raises(KeyError, match="unknown instrument 'msq'"):
        instrument_chart(demo_cases[0], CAT, "msq")


def _point_layer(spec: dict) -> dict:
    return next(layer for layer in layers(spec) if "shape" in layer["encoding"])


def test_analyte_chart_marks_a_low_result_by_shape_and_colour(demo_cases: list[Case]) -> None:
    case = demo_cases[0]  # the alarm case: low hemoglobin, no stored range or flag
    spec = analyte_chart(case, CAT, "hemoglobin").to_dict()
    assert marks(spec) == ["rect", "line", "point", "text"]
    low, _ = CAT.tests["hemoglobin"].range_for(case.patient.sex)
    assert layer_rows(spec, layers(spec)[0])[0]["low"] == low
    point = _point_layer(spec)
    rows = layer_rows(spec, point)
    assert columns(rows) == {"date", "value", "flag"}
    assert [r["flag"] for r in rows] == ["low"]
    enc = point["encoding"]
    assert enc["color"]["field"] == enc["shape"]["field"] == "flag"
    assert enc["shape"]["scale"] == {"domain": ["low"], "range": ["triangle-down"]}
    assert layers(spec)[1]["encoding"]["y"]["axis"]["title"] == "Hemoglobin (g/dL)"


def test_analyte_chart_uses_the_results_own_range_and_flags() -> None:
    visit = Visit(patient_id="p-1", visit_date=date(2024, 1, 2), kind="intake")
    results = [
        TestResult(
            patient_id="p-1",
            test="crp",
            collected_on=date(2024, 1, 3),
            value=4.0,
            unit="mg/L",
            ref_low=None,
            ref_high=5.0,
        ),
        TestResult(
            patient_id="p-1",
            test="crp",
            collected_on=date(2024, 2, 3),
            value=7.5,
            unit="mg/L",
            ref_low=None,
            ref_high=5.0,
            flag="H",
        ),
        TestResult(
            patient_id="p-1", test="crp", collected_on=date(2024, 3, 3), value=12.0, unit="mg/L"
        ),  # no range of its own: the catalog's (up to 10) applies
    ]
    case = plain_case(visits=[visit], results=results)
    spec = analyte_chart(case, CAT, "1988-5", audience="patient").to_dict()  # by LOINC
    band = layer_rows(spec, layers(spec)[0])
    assert band == [{"high": 5.0}]  # no lower bound: the band runs to the bottom
    assert layers(spec)[0]["encoding"]["y2"] == {"value": "height"}
    rows = layer_rows(spec, _point_layer(spec))
    assert [r["flag"] for r in rows] == ["in range", "high", "high"]
    assert [r["value"] for r in rows] == [4.0, 7.5, 12.0]
    shape = _point_layer(spec)["encoding"]["shape"]["scale"]
    assert dict(zip(shape["domain"], shape["range"], strict=True)) == {
        "high": "triangle-up",
        "in range": "circle",
    }
    assert spec["title"]["text"] == [CAT.tests["crp"].patient_name]


def test_analyte_chart_without_numbers_is_a_labelled_empty_chart(demo_cases: list[Case]) -> None:
    assert is_empty(analyte_chart(demo_cases[0], CAT, "giardia_antigen"))
    assert is_empty(analyte_chart(demo_cases[0], CAT, "zonulin")) == (
        not any(r.test == "zonulin" for r in demo_cases[0].results)
    )
    with pytest.raises(KeyError, match="unknown test"):
        analyte_chart(demo_cases[0], CAT, "nonsense")


def test_plan_timeline_draws_one_bar_per_item(demo_cases: list[Case]) -> None:
    case = demo_cases[0]
    today = date.today()
    spec = plan_timeline(case, CAT, today=today).to_dict()
    assert marks(spec) == ["rect", "point", "text", "text", "rule"]
    bars = layers(spec)[0]
    rows = layer_rows(spec, bars)
    assert len(rows) == len(case.plan)
    assert columns(rows) == {
        "item",
        "category",
        "status",
        "start",
        "end",
        "opacity",
        "ytext",
        "y0",
        "y1",
    }
    assert bars["encoding"]["x2"]["field"] == "end"
    assert bars["encoding"]["x2"]["timeUnit"] == "utcyearmonthdate"
    assert bars["encoding"]["color"]["field"] == "category"
    labels = CATEGORY_LABELS["practitioner"]
    for item in case.plan:
        row = next(r for r in rows if r["item"].replace("\n", " ") == item.name)
        assert row["category"] == labels[item.category]
        assert row["start"] == item.start.isoformat()
        assert row["end"] == (item.end or today).isoformat()
        evidence = next(p.evidence for p in CAT.protocols if p.key == item.template)
        assert row["status"] == f"{item.status} · {evidence}"


def test_plan_timeline_handles_open_and_unstarted_items() -> None:
    today = date(2024, 6, 1)
    plan = [
        PlanItem(
            patient_id="p-1",
            category="referral",
            name="See a gastroenterologist",
            status="proposed",
        ),
        PlanItem(
            patient_id="p-1",
            category="herbal",
            name="Peppermint oil",
            start=date(2024, 3, 1),
            status="active",
        ),
        PlanItem(
            patient_id="p-1",
            category="herbal",
            name="Peppermint oil",
            start=date(2023, 3, 1),
            end=date(2023, 5, 1),
            status="stopped",
        ),
    ]
    spec = plan_timeline(plain_case(plan=plan), today=today, audience="patient").to_dict()
    rows = layer_rows(spec, layers(spec)[0])
    by_name = {r["item"].replace("\n", " "): r for r in rows}
    assert (
        by_name["See a gastroenterologist"]["start"]
        == by_name["See a gastroenterologist"]["end"]
        == "2024-06-01"
    )
    assert by_name["See a gastroenterologist"]["status"] == "suggested"
    # same name twice: rows stay apart, the earlier one first
    assert by_name["Peppermint oil"]["status"] == "stopped"
    assert by_name["Peppermint oil"]["end"] == "2023-05-01"
    assert by_name["Peppermint oil (2)"]["end"] == "2024-06-01"  # open-ended: runs to today
    assert by_name["Peppermint oil (2)"]["status"] == "ongoing"
    assert layers(spec)[1]["transform"] == [{"filter": "datum.start == datum.end"}]


def test_empty_cases_give_labelled_empty_charts() -> None:
    case = plain_case()
    built = {
        "symptoms": symptom_chart(case, CAT),
        "burden": burden_chart(case),
        "phq9": instrument_chart(case, CAT, "phq9"),
        "ferritin": analyte_chart(case, CAT, "ferritin"),
        "plan": plan_timeline(case, CAT),
    }
    for name, chart in built.items():
        assert is_empty(chart), name
        spec = chart.to_dict()
        assert marks(spec) == ["text"]
        (row,) = layer_rows(spec, spec)
        assert row["message"].startswith("No "), (name, row)
    visit = Visit(patient_id="p-1", visit_date=date(2024, 1, 2), kind="intake")
    rated_nothing = plain_case(visits=[visit])
    spec = symptom_chart(rated_nothing, CAT).to_dict()
    assert layer_rows(spec, spec) == [{"message": "No symptoms rated yet"}]
    assert not is_empty(alt.Chart().mark_point())  # a plain chart has no marker
    assert not is_empty(
        symptom_chart(
            plain_case(
                visits=[visit],
                symptoms=[
                    SymptomRating(
                        patient_id="p-1", visit_id=visit.id, symptom="bloating", severity=2
                    )
                ],
            ),
            CAT,
        )
    )


def test_a_long_case_embeds_one_row_per_point() -> None:
    case = long_case(40)  # three years of four-weekly visits
    spec = symptom_chart(case, CAT).to_dict()
    assert len(layer_rows(spec, layers(spec)[0])) == 40 * 4
    assert len(layer_rows(spec, layers(spec)[1])) == 40
    assert marks(spec) == ["rect", "rect"]  # cells too narrow for printed numbers
    spec = burden_chart(case).to_dict()
    assert len(layer_rows(spec, layers(spec)[1])) == 40
    spec = analyte_chart(case, CAT, "ferritin").to_dict()
    assert len(layer_rows(spec, _point_layer(spec))) == 40
    assert "text" not in marks(spec)  # value labels only while they fit
    assert inline_rows(spec) == 40 + 1  # the points and the one reference band


def test_charts_stay_composable(demo_cases: list[Case]) -> None:
    case = demo_cases[0]
    combined = alt.vconcat(
        symptom_chart(case, CAT),
        burden_chart(case),
        instrument_chart(case, CAT, "gad7"),
        analyte_chart(case, CAT, "ferritin"),
        plan_timeline(case, CAT),
    )
    assert len(combined.to_dict()["vconcat"]) == 5


def test_audience_and_width_are_checked(demo_cases: list[Case]) -> None:
    with pytest.raises(ValueError, match="audience must be 'practitioner' or 'patient'"):
        burden_chart(demo_cases[0], audience="public")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width must be a whole number of pixels"):
        burden_chart(demo_cases[0], width=50)
    assert burden_chart(demo_cases[0], width=400).to_dict()["width"] == 400
    narrow = plan_timeline(demo_cases[0], width=300, audience="patient").to_dict()
    assert narrow["width"] == 300


def test_dates_are_utc_so_no_time_zone_moves_them(demo_cases: list[Case]) -> None:
    spec = burden_chart(demo_cases[0]).to_dict()
    x = layers(spec)[1]["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"]["type"] == "utc"
    first = demo_cases[0].sorted_visits()[0].visit_date
    assert date.fromisoformat(x["scale"]["domain"][0]) < first
    assert date.fromisoformat(x["scale"]["domain"][0]) > first - timedelta(days=60)


def test_burden_chart_says_when_the_start_is_the_patients_checkin(demo_cases: list[Case]) -> None:
    case = demo_cases[0]
    first = case.sorted_visits()[0]
    as_checkin = case.model_copy(
        update={
            "visits": [
                v.model_copy(update={"kind": "check-in" if v.id == first.id else "follow-up"})
                for v in case.visits
            ]
        }
    )
    on = f"{first.visit_date.day} {first.visit_date:%B %Y}"
    for chart, words in (
        (burden_chart(as_checkin), f"labels: change from the check-in sent on {on}"),
        (burden_chart(as_checkin, audience="patient"), f"the check-in you sent on {on}"),
    ):
        spec = chart.to_dict()
        assert words in " ".join(spec["title"]["subtitle"])  # wrapped to the chart
        assert layer_rows(spec, layers(spec)[1])[0]["change"] == "start"
    assert "your first visit" in json.dumps(burden_chart(case, audience="patient").to_dict())
