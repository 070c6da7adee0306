"""Tests of clinical.scoring: built on hand-made catalog entries, never on the catalog data."""

from __future__ import annotations

import inspect
import itertools
from datetime import date
from typing import Any

import pytest

from casebook.catalog.rule_schema import RedFlagRule
from casebook.catalog.schema import (
    AnswerOption,
    Band,
    Instrument,
    InstrumentAlert,
    InstrumentItem,
    LabTest,
    SexRange,
)
from casebook.clinical import scoring
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.scoring import (
    Score,
    ScoringError,
    band_for,
    burden_by_visit,
    change_since_baseline,
    instrument_alerts,
    instrument_trend,
    qualitative_flag,
    read_result,
    reference_range,
    result_flag,
    score_instrument,
    symptom_burden,
)
from casebook.models import (
    AlarmScreen,
    Case,
    FamilyHistory,
    HistoryEntry,
    InstrumentResponse,
    Medication,
    Patient,
    SymptomRating,
    TestResult,
    Visit,
)

PID = "p001"


# --- instruments built here (mirroring the published scoring) -------------------------


def make_instrument(
    key: str,
    short: str,
    values: range,
    n_items: int,
    bands: list[tuple[int, int, str]],
    *,
    reverse: tuple[int, ...] = (),
    scoring_kind: str = "sum",
    alerts: tuple[InstrumentAlert, ...] = (),
) -> Instrument:
    if scoring_kind == "category":
        items = (InstrumentItem(id="type", text="Stool type"),)
    else:
        items = tuple(
            InstrumentItem(id=str(i), text=f"Item {i}", reverse=i in reverse)
            for i in range(1, n_items + 1)
        )
    return Instrument(
        key=key,
        name=short,
        short_name=short,
        measures="test",
        scoring=scoring_kind,
        licence="test",
        source="test",
        options=tuple(AnswerOption(value=v, label=f"option {v}") for v in values),
        items=items,
        bands=tuple(
            Band(min=lo, max=hi, label=lab, patient_text=f"{lab} text") for lo, hi, lab in bands
        ),
        alerts=alerts,
    )


PHQ9_ALERT = InstrumentAlert(
    item="9",
    min_value=1,
    message="Self-harm thoughts: same-day clinician review",
    source="PHQ-9 instructions",
)
PHQ9 = make_instrument(
    "phq9",
    "PHQ-9",
    range(0, 4),
    9,
    [
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately severe"),
        (20, 27, "severe"),
    ],
    alerts=(PHQ9_ALERT,),
)
GAD7 = make_instrument(
    "gad7",
    "GAD-7",
    range(0, 4),
    7,
    [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
)
PSS10 = make_instrument(
    "pss10",
    "PSS-10",
    range(0, 5),
    10,
    [(0, 13, "low"), (14, 26, "moderate"), (27, 40, "high")],
    reverse=(4, 5, 7, 8),
)
FAS = make_instrument(
    "fas",
    "FAS",
    range(1, 6),
    10,
    [(10, 21, "no substantial fatigue"), (22, 50, "substantial fatigue")],
    reverse=(4, 10),
)
BRISTOL = make_instrument(
    "bristol",
    "Bristol",
    range(1, 8),
    1,
    [(1, 2, "constipation"), (3, 4, "normal"), (5, 7, "loose")],
    scoring_kind="category",
)
INSTRUMENTS = {i.key: i for i in (PHQ9, GAD7, PSS10, FAS, BRISTOL)}
SUM_INSTRUMENTS = [PHQ9, GAD7, PSS10, FAS]


def answers_for(instrument: Instrument, total: int) -> dict[str, int]:
    """Answers whose score is `total`, filling item contributions greedily."""
    lo, hi = min(instrument.option_values), max(instrument.option_values)
    remaining = total - lo * len(instrument.items)
    answers = {}
    for item in instrument.items:
        contribution = lo + min(hi - lo, remaining)
        remaining -= contribution - lo
        answers[item.id] = (lo + hi - contribution) if item.reverse else contribution
    assert remaining == 0, f"{total} is not reachable"
    return answers


def all_answers(instrument: Instrument, value: int) -> dict[str, int]:
    return {item.id: value for item in instrument.items}


BAND_EDGES = [
    pytest.param(inst, edge, band.label, id=f"{inst.key}-{band.label}-{edge}")
    for inst in SUM_INSTRUMENTS
    for band in inst.bands
    for edge in sorted({band.min, band.max})
]


@pytest.mark.parametrize(("instrument", "total", "label"), BAND_EDGES)
def test_every_band_edge(instrument: Instrument, total: int, label: str) -> None:
    score = score_instrument(instrument, answers_for(instrument, total))
    assert score.total == total
    assert score.band == label
    assert score.band_text == f"{label} text"
    assert band_for(instrument, total).label == label


@pytest.mark.parametrize(
    ("instrument", "total"),
    [
        pytest.param(inst, edge, id=f"{inst.key}-{edge}")
        for inst in SUM_INSTRUMENTS
        for band in inst.bands[:-1]
        for edge in (band.max,)
    ],
)
def test_one_more_point_crosses_into_the_next_band(instrument: Instrument, total: int) -> None:
    here = band_for(instrument, total)
    there = band_for(instrument, total + 1)
    assert here != there
    assert there.min == total + 1


@pytest.mark.parametrize(
    ("stool_type", "label"),
    [
        (1, "constipation"),
        (2, "constipation"),
        (3, "normal"),
        (4, "normal"),
        (5, "loose"),
        (6, "loose"),
        (7, "loose"),
    ],
)
def test_bristol_every_type(stool_type: int, label: str) -> None:
    assert score_instrument(BRISTOL, {"type": stool_type}) == Score(
        stool_type, label, f"{label} text", ()
    )


@pytest.mark.parametrize(
    ("instrument", "value", "total"),
    [
        (PHQ9, 0, 0),
        (PHQ9, 3, 27),
        (GAD7, 0, 0),
        (GAD7, 3, 21),
        (PSS10, 0, 16),
        (PSS10, 4, 24),
        (PSS10, 2, 20),
        (FAS, 1, 18),
        (FAS, 5, 42),
        (FAS, 3, 30),
    ],
)
def test_reverse_scored_items(instrument: Instrument, value: int, total: int) -> None:
    assert score_instrument(instrument, all_answers(instrument, value)).total == total


def test_pss10_reverse_items_are_4_5_7_8() -> None:
    base = all_answers(PSS10, 0)  # 16: the four reversed items score 4 each
    for item in map(str, range(1, 11)):
        bumped = score_instrument(PSS10, {**base, item: 1}).total
        assert bumped == (15 if item in {"4", "5", "7", "8"} else 17), item


def test_pss10_extremes() -> None:
    low = {i: (4 if i in {"4", "5", "7", "8"} else 0) for i in map(str, range(1, 11))}
    high = {i: (0 if i in {"4", "5", "7", "8"} else 4) for i in map(str, range(1, 11))}
    assert score_instrument(PSS10, low).total == 0
    assert score_instrument(PSS10, high) == Score(40, "high", "high text", ())


def test_small_instrument_exhaustively() -> None:
    small = make_instrument(
        "small",
        "Small",
        range(0, 3),
        3,
        [(0, 2, "a"), (3, 4, "b"), (5, 6, "c")],
        reverse=(2,),
        alerts=(InstrumentAlert(item="3", min_value=2, message="item 3 high", source="s"),),
    )
    seen = set()
    for a, b, c in itertools.product(range(3), repeat=3):
        score = score_instrument(small, {"1": a, "2": b, "3": c})
        assert score.total == a + (2 - b) + c
        assert band_for(small, score.total).label == score.band
        assert score.alerts == (("item 3 high",) if c >= 2 else ())
        seen.add(score.total)
    assert seen == set(range(7))


# --- invalid answers -----------------------------------------------------------------


def test_out_of_range_answer_names_instrument_item_and_allowed_values() -> None:
    answers = {**all_answers(PHQ9, 0), "3": 5}
    with pytest.raises(ScoringError, match=r"^PHQ-9 item '3': answer 5 is not one of 0, 1, 2, 3$"):
        score_instrument(PHQ9, answers)


@pytest.mark.parametrize("bad", [-1, 4, True, "2", 1.0, None])
def test_answers_that_are_not_options_are_refused(bad: object) -> None:
    with pytest.raises(ScoringError, match=r"PHQ-9 item '1': answer .* is not one of"):
        score_instrument(PHQ9, {**all_answers(PHQ9, 0), "1": bad})  # type: ignore[dict-item]


def test_fas_refuses_zero() -> None:
    with pytest.raises(ScoringError, match=r"FAS item '4': answer 0 is not one of 1, 2, 3, 4, 5"):
        score_instrument(FAS, {**all_answers(FAS, 1), "4": 0})


def test_missing_items_are_listed() -> None:
    answers = all_answers(PHQ9, 1)
    del answers["3"], answers["7"]
    with pytest.raises(ScoringError, match=r"PHQ-9: items '3', '7' are not answered"):
        score_instrument(PHQ9, answers)


def test_empty_answers_list_every_item() -> None:
    with pytest.raises(ScoringError) as info:
        score_instrument(GAD7, {})
    assert "'1', '2', '3', '4', '5', '6', '7' are not answered" in str(info.value)


def test_unknown_items_are_refused() -> None:
    with pytest.raises(ScoringError, match=r"PHQ-9: unknown item ids '10', 'x'"):
        score_instrument(PHQ9, {**all_answers(PHQ9, 0), "10": 1, "x": 0})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ScoringError) as info:
        score_instrument(GAD7, {"1": 9, "2": 0, "3": 0, "4": 0, "5": 0, "6": 0, "z": 1})
    message = str(info.value)
    assert "unknown item ids 'z'" in message
    assert "items '7' are not answered" in message
    assert "item '1': answer 9" in message


@pytest.mark.parametrize("bad", [0, 8])
def test_bristol_out_of_range(bad: int) -> None:
    with pytest.raises(ScoringError, match=rf"Bristol item 'type': answer {bad} is not one of"):
        score_instrument(BRISTOL, {"type": bad})


def test_scoring_error_is_a_value_error() -> None:
    assert issubclass(ScoringError, ValueError)


@pytest.mark.parametrize(("instrument", "total"), [(PHQ9, -1), (PHQ9, 28), (FAS, 9), (BRISTOL, 8)])
def test_band_for_outside_the_range(instrument: Instrument, total: int) -> None:
    with pytest.raises(ScoringError, match=rf"total {total} is outside"):
        band_for(instrument, total)


# --- alerts --------------------------------------------------------------------------


@pytest.mark.parametrize(("item9", "fires"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_alert(item9: int, fires: bool) -> None:
    score = score_instrument(PHQ9, {**all_answers(PHQ9, 0), "9": item9})
    assert score.alerts == ((PHQ9_ALERT.message,) if fires else ())


def test_alerts_use_the_raw_answer_of_a_reversed_item() -> None:
    alert = InstrumentAlert(item="4", min_value=3, message="raw 4 high", source="s")
    pss = PSS10.model_copy(update={"alerts": (alert,)})
    assert score_instrument(pss, {**all_answers(pss, 0), "4": 4}).alerts == ("raw 4 high",)
    assert score_instrument(pss, {**all_answers(pss, 0), "4": 2}).alerts == ()


def test_instrument_alerts_on_incomplete_or_invalid_answers() -> None:
    assert instrument_alerts(PHQ9, {"9": 2}) == (PHQ9_ALERT.message,)
    assert instrument_alerts(PHQ9, {"9": 7}) == ()
    assert instrument_alerts(PHQ9, {"1": 3}) == ()


# --- result flags --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "low", "high", "flag"),
    [
        (12.0, 12.0, 15.5, None),
        (11.99, 12.0, 15.5, "L"),
        (12.01, 12.0, 15.5, None),
        (15.5, 12.0, 15.5, None),
        (15.51, 12.0, 15.5, "H"),
        (15.49, 12.0, 15.5, None),
        (0.0, 0.0, None, None),
        (-0.1, 0.0, None, "L"),
        (1e9, 0.0, None, None),
        (50.0, None, 50.0, None),
        (50.1, None, 50.0, "H"),
        (-1e9, None, 50.0, None),
        (7.0, None, None, None),
        (None, 1.0, 2.0, None),
        (5.0, 5.0, 5.0, None),
    ],
)
def test_result_flag(
    value: float | None, low: float | None, high: float | None, flag: str | None
) -> None:
    assert result_flag(value, low, high) == flag


def make_test(key: str = "hemoglobin", **kw: object) -> LabTest:
    fields: dict[str, object] = dict(
        key=key,
        name="Hemoglobin",
        patient_name="Hemoglobin",
        group="blood",
        unit="g/dL",
        unit_aliases=("g/dl",),
        evidence="guideline-backed",
        evidence_note="n",
        patient_note="n",
        source="s",
        loinc="718-7",
    )
    fields.update(kw)
    return LabTest(**fields)  # type: ignore[arg-type]


TTG = make_test(
    "ttg_iga",
    name="tTG-IgA",
    kind="qualitative",
    unit="",
    loinc="31017-7",
    abnormal_values=("positive", "weak positive"),
    normal_values=("negative",),
)


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("positive", "A"),
        ("POSITIVE", "A"),
        ("  Weak Positive ", "A"),
        ("negative", None),
        ("Negative", None),
    ],
)
def test_qualitative_flag(text: str, flag: str | None) -> None:
    assert qualitative_flag(TTG, text) == flag


def test_qualitative_flag_unknown_value_lists_allowed() -> None:
    with pytest.raises(
        ScoringError,
        match=r"tTG-IgA: result 'equivocal' is not one of 'negative', 'positive', 'weak positive'",
    ):
        qualitative_flag(TTG, "equivocal")


# --- which flag and range apply (read_result) ------------------------------------------


def _result(**kw: object) -> TestResult:
    fields: dict[str, object] = dict(
        patient_id=PID, test="hemoglobin", collected_on=date(2024, 1, 2)
    )
    fields.update(kw)
    return TestResult(**fields)  # type: ignore[arg-type]


SEXED = make_test(ranges={"female": SexRange(low=12.0), "male": SexRange(low=13.0)}, ref_low=12.0)


@pytest.mark.parametrize(
    ("sex", "value", "flag"),
    [
        ("female", 11.9, "L"),
        ("female", 12.0, None),
        ("male", 12.9, "L"),
        ("male", 13.0, None),
        ("unknown", 11.9, "L"),
        ("unknown", 12.5, None),
    ],
)
def test_read_result_uses_the_catalog_range_for_the_patients_sex(
    sex: str, value: float, flag: str | None
) -> None:
    reading = read_result(_result(value=value), SEXED, sex)
    assert reading.flag == flag
    assert (reading.low, reading.high) == SEXED.range_for(sex)


def test_read_result_prefers_the_results_own_range_and_stored_flag() -> None:
    own = _result(value=12.5, ref_low=13.5, ref_high=17.0)
    assert read_result(own, SEXED, "female") == scoring.Reading("L", 13.5, 17.0)
    assert reference_range(own, SEXED, "female") == (13.5, 17.0)
    stored = _result(value=12.5, flag="H")  # the reporting lab's flag wins
    assert read_result(stored, SEXED, "female").flag == "H"
    assert read_result(_result(value=5.0), None, "female") == scoring.Reading(None, None, None)
    assert not read_result(_result(value=5.0), None, "female").has_range


@pytest.mark.parametrize(
    ("text", "flag"), [("positive", "A"), ("negative", None), ("equivocal", None)]
)
def test_read_result_reads_text_results_against_the_test(text: str, flag: str | None) -> None:
    assert read_result(_result(test="ttg_iga", value_text=text), TTG, "female").flag == flag


def test_one_number_formatter() -> None:
    from casebook.format import number

    assert [number(v) for v in (12.0, 10.9, 250000.0, 0.5, 3.14159265359)] == [
        "12",
        "10.9",
        "250000",
        "0.5",
        "3.141592654",
    ]


# --- case builders -------------------------------------------------------------------


def make_case(sex: str = "female", birth: date = date(1980, 6, 15), **lists: list) -> Case:
    return Case(patient=Patient(id=PID, name="Test Patient", birth_date=birth, sex=sex), **lists)


def visit(when: date, kind: str = "follow-up", **screen: object) -> Visit:
    return Visit(patient_id=PID, visit_date=when, kind=kind, screen=AlarmScreen(**screen))


def ratings(v: Visit, **severities: int) -> list[SymptomRating]:
    return [
        SymptomRating(patient_id=PID, visit_id=v.id, symptom=s, severity=n)
        for s, n in severities.items()
    ]


def response(
    v: Visit, key: str, answers: dict[str, int], total: int | None = None, band: str | None = None
) -> InstrumentResponse:
    return InstrumentResponse(
        patient_id=PID, visit_id=v.id, instrument=key, answers=answers, total=total, band=band
    )


def result(test: str, when: date, value: float | None = None, **kw: object) -> TestResult:
    return TestResult(patient_id=PID, test=test, collected_on=when, value=value, **kw)


# --- burden and change ---------------------------------------------------------------

V1 = date(2026, 1, 10)
V2 = date(2026, 2, 10)
V3 = date(2026, 3, 10)


def test_symptom_burden() -> None:
    v = visit(V1)
    assert symptom_burden([]) == 0
    assert symptom_burden(ratings(v, bloating=3, fatigue=4, diarrhea=0)) == 7
    keys = [
        "abdominal_pain",
        "bloating",
        "diarrhea",
        "constipation",
        "fatigue",
        "headaches",
        "skin_problems",
        "joint_pain",
        "brain_fog",
        "food_intolerances",
        "anxiety_depression",
    ]
    assert symptom_burden(ratings(v, **dict.fromkeys(keys, 4))) == 44


def out_of_order_case() -> tuple[Case, Visit, Visit, Visit]:
    intake, mid, last = visit(V1, "intake"), visit(V2), visit(V3)
    case = make_case(
        visits=[last, intake, mid],
        symptoms=[
            *ratings(last, bloating=1, fatigue=1),
            *ratings(intake, bloating=4, fatigue=3, brain_fog=2),
        ],
        instruments=[
            response(last, "phq9", all_answers(PHQ9, 1), 9, "mild"),
            response(mid, "phq9", all_answers(PHQ9, 2), 18, "moderately severe"),
            response(intake, "gad7", all_answers(GAD7, 2), 14, "moderate"),
            response(last, "gad7", all_answers(GAD7, 1), 7, "mild"),
        ],
    )
    return case, intake, mid, last


def test_burden_by_visit_follows_sorted_visits() -> None:
    case, intake, mid, last = out_of_order_case()
    rows = burden_by_visit(case)
    assert [r.visit_id for r in rows] == [intake.id, mid.id, last.id]
    assert [(r.visit_date, r.kind, r.burden, r.rated) for r in rows] == [
        (V1, "intake", 9, 3),
        (V2, "follow-up", 0, 0),
        (V3, "follow-up", 2, 2),
    ]


def test_change_since_baseline() -> None:
    case, intake, mid, last = out_of_order_case()
    rows = change_since_baseline(case)
    assert [r.visit_id for r in rows] == [intake.id, mid.id, last.id]
    assert [(r.burden, r.burden_delta) for r in rows] == [(9, 0), (None, None), (2, -7)]
    phq = [(r.instruments["phq9"].total, r.instruments["phq9"].delta) for r in rows]
    assert phq == [(None, None), (18, 0), (9, -9)]  # vs PHQ-9's first scored visit
    gad = [(r.instruments["gad7"].total, r.instruments["gad7"].delta) for r in rows]
    assert gad == [(14, 0), (None, None), (7, -7)]
    assert rows[2].instruments["gad7"].band == "mild"


def test_change_since_baseline_prefers_intake_over_earlier_follow_up() -> None:
    early, intake = visit(date(2025, 12, 1)), visit(V1, "intake")
    case = make_case(
        visits=[intake, early], symptoms=[*ratings(early, bloating=1), *ratings(intake, bloating=3)]
    )
    rows = change_since_baseline(case)
    assert [(r.visit_id, r.burden, r.burden_delta) for r in rows] == [
        (early.id, 1, -2),
        (intake.id, 3, 0),
    ]


def test_change_since_baseline_without_baseline_ratings() -> None:
    # an intake without symptom ratings: the burden starts where they were first rated
    intake, later, last = visit(V1, "intake"), visit(V2), visit(V3)
    case = make_case(
        visits=[intake, later, last],
        symptoms=[*ratings(later, bloating=2), *ratings(last, bloating=1)],
    )
    assert [(r.burden, r.burden_delta) for r in change_since_baseline(case)] == [
        (None, None),
        (2, 0),
        (1, -1),
    ]


def test_change_since_baseline_empty_case() -> None:
    assert change_since_baseline(make_case()) == []
    assert burden_by_visit(make_case()) == []


def test_change_since_baseline_can_rescore_answers() -> None:
    intake, later = visit(V1, "intake"), visit(V2)
    case = make_case(
        visits=[later, intake],
        instruments=[
            response(intake, "phq9", all_answers(PHQ9, 2)),  # not stored: rescored
            response(later, "phq9", {"1": 3}),  # incomplete: not scored
        ],
    )
    stored = change_since_baseline(case)
    assert [r.instruments["phq9"].total for r in stored] == [None, None]
    rescored = change_since_baseline(case, instruments=INSTRUMENTS)
    assert [r.instruments["phq9"] for r in rescored] == [
        scoring.InstrumentChange(18, "moderately severe", 0),
        scoring.InstrumentChange(None, None, None),
    ]


def test_instrument_trend() -> None:
    case, *_ = out_of_order_case()
    assert instrument_trend(case, "phq9") == [(V2, 18, "moderately severe"), (V3, 9, "mild")]
    assert instrument_trend(case, "gad7") == [(V1, 14, "moderate"), (V3, 7, "mild")]
    assert instrument_trend(case, "pss10") == []
    assert instrument_trend(case, "phq9", instrument=PHQ9) == [
        (V2, 18, "moderately severe"),
        (V3, 9, "mild"),
    ]


def test_instrument_trend_skips_unscored_responses() -> None:
    v1, v2 = visit(V1, "intake"), visit(V2)
    case = make_case(
        visits=[v1, v2],
        instruments=[
            response(v2, "bristol", {"type": 4}, 4, "normal"),
            response(v1, "bristol", {"type": 9}),
        ],
    )
    assert instrument_trend(case, "bristol") == [(V2, 4, "normal")]
    assert instrument_trend(case, "bristol", instrument=BRISTOL) == [(V2, 4, "normal")]


# --- red flags -----------------------------------------------------------------------


def rule(kind: str, key: str | None = None, urgency: str = "urgent", **kw: object) -> RedFlagRule:
    return RedFlagRule(
        key=key or kind,
        kind=kind,
        label=f"{kind} label",
        urgency=urgency,
        action=f"{kind} action",
        source=f"{kind} source",
        **kw,
    )


def only(flags: list[RedFlag]) -> RedFlag:
    assert len(flags) == 1, flags
    return flags[0]


def test_screen_rule_positive_cites_most_recent_visit() -> None:
    v1, v2, v3 = visit(V1, "intake", gi_bleeding=True), visit(V2, gi_bleeding=True), visit(V3)
    case = make_case(visits=[v3, v2, v1])
    flag = only(red_flags(case, [rule("screen", field="gi_bleeding")], INSTRUMENTS))
    assert flag == RedFlag(
        "screen",
        "screen label",
        "screen label: answered yes on the alarm screen on 2026-02-10 (also on 1 earlier visit(s))",
        "urgent",
        "screen action",
        "screen source",
        v2.id,
        V2,
    )


@pytest.mark.parametrize("answer", [False, None])
def test_screen_rule_negative(answer: bool | None) -> None:
    case = make_case(visits=[visit(V1, "intake", gi_bleeding=answer, fever=True)])
    assert red_flags(case, [rule("screen", field="gi_bleeding")], INSTRUMENTS) == []


def test_screen_rule_respects_today() -> None:
    case = make_case(visits=[visit(V1, "intake"), visit(V3, fever=True)])
    rules = [rule("screen", field="fever")]
    assert red_flags(case, rules, {}, today=V2) == []
    assert only(red_flags(case, rules, {}, today=V3)).on == V3


@pytest.mark.parametrize("field", ["symptom_onset", "no_such_field"])
def test_screen_rule_with_a_bad_field_is_an_error(field: str) -> None:
    case = make_case(visits=[visit(V1, "intake")])
    with pytest.raises(ScoringError, match=rf"rule 'screen': '{field}' is not a yes/no"):
        red_flags(case, [rule("screen", field=field)], {})


@pytest.mark.parametrize(
    ("onset", "fires", "age"),
    [
        (date(2024, 5, 1), True, 50),
        (date(2024, 4, 30), False, 49),
        (date(2030, 1, 1), True, 55),
    ],
)
def test_onset_age_exactly_50(onset: date, fires: bool, age: int) -> None:
    v = visit(V1, "intake", symptom_onset=onset)
    case = make_case(birth=date(1974, 5, 1), visits=[v])
    flags = red_flags(case, [rule("onset_age", min_age=50)], {})
    if fires:
        flag = only(flags)
        assert flag.reason == f"Symptoms began on {onset}, at age {age} (threshold 50)"
        assert (flag.visit_id, flag.on) == (v.id, onset)
    else:
        assert flags == []


def test_onset_age_uses_earliest_recorded_onset() -> None:
    v1 = visit(V1, "intake", symptom_onset=date(2025, 6, 1))
    v2 = visit(V2, symptom_onset=date(2023, 1, 1))  # corrected: earlier, before 50
    case = make_case(birth=date(1974, 5, 1), visits=[v1, v2])
    assert red_flags(case, [rule("onset_age", min_age=50)], {}) == []


@pytest.mark.parametrize(
    ("birth", "fires"), [(date(1976, 1, 10), True), (date(1976, 1, 11), False)]
)
def test_onset_age_without_onset_uses_the_age_at_intake(birth: date, fires: bool) -> None:
    v1 = visit(V1, "intake")
    case = make_case(birth=birth, visits=[v1, visit(V3)])
    flags = red_flags(case, [rule("onset_age", min_age=50)], {})
    if not fires:
        assert flags == []
        return
    flag = only(flags)
    assert flag.reason == (
        "No symptom onset recorded; age 50 at the visit on 2026-01-10 "
        "(threshold 50): ask when the symptoms began"
    )
    assert (flag.visit_id, flag.on) == (v1.id, V1)


HB_RULE = rule("lab", key="anemia", test="hemoglobin", below_female=12, below_male=13)
HB = {"hemoglobin": make_test()}


@pytest.mark.parametrize(
    ("sex", "value", "threshold"),
    [
        ("female", 11.9, "12 (female)"),
        ("female", 12.0, None),
        ("female", 12.5, None),
        ("male", 12.9, "13 (male)"),
        ("male", 13.0, None),
        ("male", 12.5, "13 (male)"),
        ("unknown", 12.5, "13 (sex unknown: the higher of the female and male thresholds)"),
        ("other", 12.9, "13 (sex other: the higher of the female and male thresholds)"),
        ("unknown", 13.0, None),
    ],
)
def test_sex_specific_hemoglobin(sex: str, value: float, threshold: str | None) -> None:
    when = date(2026, 3, 2)
    case = make_case(sex=sex, results=[result("hemoglobin", when, value, unit="g/dL")])
    flags = red_flags(case, [HB_RULE], {}, HB)
    if threshold is None:
        assert flags == []
    else:
        assert only(flags).reason == f"Hemoglobin {value:g} g/dL on {when} is below {threshold}"


def test_lab_rule_reason_example_and_most_recent_evidence() -> None:
    case = make_case(
        results=[
            result("hemoglobin", date(2026, 3, 2), 10.9, unit="g/dL"),
            result("hemoglobin", date(2026, 1, 5), 9.8, unit="g/dL"),
            result("hemoglobin", date(2026, 4, 1), 12.8, unit="g/dL"),  # normal, newest
        ]
    )
    flag = only(red_flags(case, [HB_RULE], {}, HB))
    assert flag.reason == (
        "Hemoglobin 10.9 g/dL on 2026-03-02 is below 12 (female); "
        "a newer result is in range: Hemoglobin 12.8 g/dL on 2026-04-01"
    )
    assert flag.superseded == "a newer result is in range: Hemoglobin 12.8 g/dL on 2026-04-01"
    assert (flag.key, flag.on, flag.visit_id) == ("anemia", date(2026, 3, 2), None)


def test_lab_rule_plain_below_and_above_without_catalog() -> None:
    crp = rule("lab", key="crp_high", test="crp", above=10)
    alb = rule("lab", key="albumin_low", test="albumin", below=3.5)
    case = make_case(
        results=[
            result("crp", V1, 10.0, unit="mg/L"),
            result("albumin", V1, 3.5, unit="g/dL"),
        ]
    )
    assert red_flags(case, [crp, alb], {}) == []
    case = make_case(
        results=[
            result("crp", V1, 10.5, unit="mg/L"),
            result("albumin", V2, 3.4, unit="g/dL"),
        ]
    )
    assert [f.reason for f in red_flags(case, [crp, alb], {})] == [
        "albumin 3.4 g/dL on 2026-02-10 is below 3.5",
        "crp 10.5 mg/L on 2026-01-10 is above 10",
    ]


def test_lab_rule_reason_formats_large_and_decimal_values_plainly() -> None:
    r = rule("lab", key="platelets_low", test="platelets", below=150000)
    case = make_case(results=[result("platelets", V1, 120000.0, unit="/uL")])
    assert only(red_flags(case, [r], {})).reason == (
        "platelets 120000 /uL on 2026-01-10 is below 150000"
    )
    r = rule("lab", key="albumin_low", test="albumin", below=3.45)
    case = make_case(results=[result("albumin", V1, 3.25, unit="g/dL")])
    assert only(red_flags(case, [r], {})).reason.endswith("3.25 g/dL on 2026-01-10 is below 3.45")


def test_lab_rule_plain_below_applies_when_sex_specific_is_missing() -> None:
    r = rule("lab", key="hb", test="hemoglobin", below=11, below_female=12)
    case = make_case(sex="male", results=[result("hemoglobin", V1, 11.5, unit="g/dL")])
    assert red_flags(case, [r], {}, HB) == []
    case = make_case(sex="male", results=[result("hemoglobin", V1, 10.5, unit="g/dL")])
    assert only(red_flags(case, [r], {}, HB)).reason.endswith("is below 11")


def test_lab_rule_ignores_other_units_qualitative_and_future_results() -> None:
    case = make_case(
        results=[
            result("hemoglobin", V1, 109, unit="g/L"),
            result("hemoglobin", V2, value_text="haemolysed"),
            result("hemoglobin", date(2026, 6, 1), 9.0, unit="g/dl"),
        ]
    )
    assert red_flags(case, [HB_RULE], {}, HB, today=V3) == []
    assert only(red_flags(case, [HB_RULE], {}, HB)).on == date(2026, 6, 1)


def test_lab_rule_by_loinc() -> None:
    r = rule("lab", key="hb", test="718-7", below_female=12)
    case = make_case(results=[result("hemoglobin", V1, 11.0, unit="g/dL")])
    assert only(red_flags(case, [r], {}, HB)).reason.startswith("Hemoglobin 11 g/dL")


def test_lab_flag_rule() -> None:
    r = rule("lab_flag", key="celiac", test="ttg_iga", flags=("A", "H"))
    tests = {"ttg_iga": TTG}
    negative = make_case(results=[result("ttg_iga", V1, value_text="negative")])
    assert red_flags(negative, [r], {}, tests) == []
    stored = make_case(results=[result("ttg_iga", V1, value_text="positive", flag="A")])
    assert only(red_flags(stored, [r], {}, tests)).reason == (
        "tTG-IgA 'positive' on 2026-01-10 is flagged A (abnormal)"
    )
    derived = make_case(results=[result("ttg_iga", V2, value_text="Weak positive")])
    assert only(red_flags(derived, [r], {}, tests)).on == V2
    unknown_text = make_case(results=[result("ttg_iga", V2, value_text="equivocal")])
    assert red_flags(unknown_text, [r], {}, tests) == []


def test_lab_flag_rule_numeric() -> None:
    r = rule("lab_flag", key="calpro", test="calprotectin", flags=("H",))
    low = make_case(results=[result("calprotectin", V1, 10, unit="ug/g", flag="L")])
    assert red_flags(low, [r], {}) == []
    stored = make_case(results=[result("calprotectin", V1, 120, unit="ug/g", flag="H")])
    assert only(red_flags(stored, [r], {})).reason == (
        "calprotectin 120 ug/g on 2026-01-10 is flagged H (high)"
    )
    by_range = make_case(results=[result("calprotectin", V1, 51, unit="ug/g", ref_high=50)])
    assert len(red_flags(by_range, [r], {})) == 1
    at_edge = make_case(results=[result("calprotectin", V1, 50, unit="ug/g", ref_high=50)])
    assert red_flags(at_edge, [r], {}) == []
    calpro = make_test("calprotectin", name="Fecal calprotectin", unit="ug/g", ref_high=50)
    by_catalog = make_case(results=[result("calprotectin", V1, 51, unit="ug/g")])
    assert only(red_flags(by_catalog, [r], {}, {"calprotectin": calpro})).reason == (
        "Fecal calprotectin 51 ug/g on 2026-01-10 is flagged H (high)"
    )


def family(condition: str, relative: str = "parent", age: int | None = None) -> HistoryEntry:
    return HistoryEntry(
        patient_id=PID, data=FamilyHistory(relative=relative, condition=condition, age_at_onset=age)
    )


def test_family_history_rule() -> None:
    r = rule("family_history", conditions=("colorectal_cancer", "ibd"), urgency="routine")
    case = make_case(
        history=[
            family("colorectal_cancer", age=48),
            family("other"),
            family("ibd", "sibling"),
            HistoryEntry(patient_id=PID, data=Medication(drug_class="nsaid", name="ibuprofen")),
        ]
    )
    flag = only(red_flags(case, [r], {}))
    assert flag.reason == (
        "Family history of colorectal cancer (parent, onset at 48), IBD (sibling)"
    )
    assert (flag.visit_id, flag.on, flag.urgency) == (None, None, "routine")
    assert red_flags(make_case(history=[family("other"), family("celiac_disease")]), [r], {}) == []


PHQ9_RULE = rule("instrument_alert", key="self_harm", instrument="phq9", urgency="same_day")


def test_phq9_item9_equals_1_is_a_same_day_flag() -> None:
    v1, v2 = visit(V1, "intake"), visit(V2)
    case = make_case(
        visits=[v2, v1],
        instruments=[
            response(v1, "phq9", {**all_answers(PHQ9, 0), "9": 1}),
            response(v2, "phq9", {**all_answers(PHQ9, 2), "9": 0}),
        ],
    )
    flag = only(red_flags(case, [PHQ9_RULE], INSTRUMENTS))
    assert flag.reason == f"PHQ-9 on 2026-01-10: {PHQ9_ALERT.message}"
    assert (flag.key, flag.urgency, flag.visit_id, flag.on) == ("self_harm", "same_day", v1.id, V1)


def test_instrument_alert_negative_and_robust() -> None:
    v1, v2 = visit(V1, "intake"), visit(V2)
    case = make_case(
        visits=[v1, v2],
        instruments=[
            response(v1, "phq9", all_answers(PHQ9, 3) | {"9": 0}),
            response(v2, "phq9", {"1": 7, "9": 9, "junk": 1}),
            response(v2, "gad7", all_answers(GAD7, 3)),
        ],
    )
    assert red_flags(case, [PHQ9_RULE], INSTRUMENTS) == []
    assert red_flags(case, [PHQ9_RULE], {}) == []  # instrument not known: nothing to check


def test_instrument_alert_fires_on_an_incomplete_response() -> None:
    v1 = visit(V1, "intake")
    case = make_case(visits=[v1], instruments=[response(v1, "phq9", {"9": 2})])
    assert only(red_flags(case, [PHQ9_RULE], INSTRUMENTS)).visit_id == v1.id


def test_flags_sorted_by_urgency_then_key() -> None:
    v = visit(
        V1,
        "intake",
        fever=True,
        night_sweats=True,
        gi_bleeding=True,
        symptom_onset=date(2025, 1, 1),
    )
    case = make_case(
        birth=date(1950, 1, 1),
        visits=[v],
        instruments=[response(v, "phq9", {**all_answers(PHQ9, 0), "9": 3})],
        history=[family("celiac_disease")],
    )
    rules = [
        rule("screen", key="z_fever", urgency="routine", field="fever"),
        rule("family_history", key="a_family", urgency="routine", conditions=("celiac_disease",)),
        rule("screen", key="m_sweats", urgency="urgent", field="night_sweats"),
        rule("onset_age", key="b_onset", urgency="urgent", min_age=50),
        rule("screen", key="y_bleed", urgency="same_day", field="gi_bleeding"),
        PHQ9_RULE,
        rule("screen", key="quiet", field="abdominal_or_rectal_mass"),
    ]
    flags = red_flags(case, rules, INSTRUMENTS)
    assert [(f.urgency, f.key) for f in flags] == [
        ("same_day", "self_harm"),
        ("same_day", "y_bleed"),
        ("urgent", "b_onset"),
        ("urgent", "m_sweats"),
        ("routine", "a_family"),
        ("routine", "z_fever"),
    ]


def test_no_rules_no_flags() -> None:
    assert red_flags(make_case(), [], {}) == []


# --- module hygiene ------------------------------------------------------------------


def test_all_is_complete_and_exact() -> None:
    defined = {
        name
        for name, obj in vars(scoring).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == scoring.__name__
    } | {"ResultFlag"}  # a type alias (Literal) has no __module__ to tell where it was made
    assert set(scoring.__all__) == defined
    assert sorted(scoring.__all__) == list(scoring.__all__)


def test_score_is_frozen() -> None:
    score = score_instrument(GAD7, all_answers(GAD7, 0))
    with pytest.raises(AttributeError):
        score.total = 3  # type: ignore[misc]


# --- against the shipped catalog, when it exists ------------------------------------


def _default_catalog() -> Any:
    from casebook.catalog import default_catalog

    return default_catalog()


def test_shipped_instruments_score_at_every_band_edge() -> None:
    catalog = _default_catalog()
    for instrument in catalog.instruments.values():
        if instrument.scoring == "category":
            for value in instrument.option_values:
                score = score_instrument(instrument, {instrument.items[0].id: value})
                assert score.total == value
            continue
        for band in instrument.bands:
            for edge in (band.min, band.max):
                assert score_instrument(instrument, answers_for(instrument, edge)).band == (
                    band.label
                ), (instrument.key, edge)


def test_shipped_reverse_scoring_matches_the_reference() -> None:
    catalog = _default_catalog()
    expected = {"pss10": (0, 16), "fas": (1, 18), "phq9": (0, 0), "gad7": (0, 0)}
    for key, (value, total) in expected.items():
        instrument = catalog.instruments[key]
        assert score_instrument(instrument, all_answers(instrument, value)).total == total, key
