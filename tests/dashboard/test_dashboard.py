"""The patient dashboard sections: plain words, nothing practitioner-only, everything escaped."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
from markupsafe import escape

from casebook import dashboard as d
from casebook.catalog import default_catalog
from casebook.clinical.red_flags import red_flags
from casebook.clinical.vocabulary import EVIDENCE_PATIENT_WORDS
from casebook.models import (
    Case,
    Note,
    Patient,
    PlanItem,
    TestOrder,
    TestResult,
)
from casebook.store import CaseStore, import_cases

SECTIONS = (
    d.header,
    d.attention,
    d.plan_section,
    d.symptoms_section,
    d.questionnaires_section,
    d.results_section,
    d.upcoming_tests_section,
    d.notes_section,
    d.footer,
)
EVIL = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "</style><script>window.__xss=3</script>",
    '"><svg onload=alert(1)>',
)
# Markup a payload would create if unescaped: a dangerous tag, or an event handler inside a tag.
RAW_MARKUP = re.compile(r"<(script|img src=x|svg|iframe|style)|<[^>]*\son\w+=", re.I)


def _page(case: Case) -> d.Dashboard:
    cat = default_catalog()
    return d.Dashboard(case, cat, red_flags(case, cat.red_flags, cat.instruments, cat.tests))


def _html(page: d.Dashboard) -> str:
    return "\n".join(section(page).html for section in SECTIONS)


def _text(markup: str) -> str:
    """The page without its chart images (their base64 is not text a person reads)."""
    return re.sub(r'src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', 'src=""', markup)


@pytest.fixture(scope="module")
def alarm_page(demo_cases: list[Case]) -> d.Dashboard:
    return _page(demo_cases[0])  # has alarm features, a referral and a shared note


def test_every_section_returns_html_a_cell_displays(alarm_page: d.Dashboard) -> None:
    for section in SECTIONS:
        out = section(alarm_page)
        assert isinstance(out, d.Section)
        bundle = out._repr_mimebundle_()
        assert bundle == {"text/html": out.html, "text/plain": f"[{out.name}]"}


def test_plan_in_plain_words_grouped_by_category(alarm_page: d.Dashboard) -> None:
    from casebook.charts import CATEGORY_LABELS

    html = d.plan_section(alarm_page).html
    active = [i for i in alarm_page.case.plan if i.status == "active"]
    assert active
    for item in active:
        assert escape(item.patient_title) in html
        if item.instructions:
            assert escape(item.instructions) in html
        assert escape(CATEGORY_LABELS["patient"][item.category]) in html
        if item.rationale:
            assert escape(item.rationale) not in html, "practitioner rationale leaked"
    assert "How often" in html and ("Since" in html or "Starts" in html)
    assert '<img src="data:image/svg+xml;base64,' in html


def test_plan_leaves_out_suggestions_and_folds_finished_items(demo_cases) -> None:
    case = demo_cases[1]
    today = date.today()
    extra = [
        PlanItem(
            patient_id=case.patient.id,
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name="Only suggested",
            status="proposed",
            instructions="x",
        ),
        PlanItem(
            patient_id=case.patient.id,
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name="All done",
            status="completed",
            start=today - timedelta(days=90),
            end=today - timedelta(days=30),
        ),
    ]
    html = d.plan_section(_page(case.model_copy(update={"plan": case.plan + extra}))).html
    assert "Only suggested" not in html
    assert re.search(
        r'<details class="cb-done"><summary>Finished \(\d+\)</summary>.*All done', html
    )


def test_notes_only_shared_ones(alarm_page: d.Dashboard) -> None:
    html = d.notes_section(alarm_page).html
    for note in alarm_page.case.notes:
        shown = escape(note.text) in html
        assert shown == (note.visibility == "shared"), note.visibility
    everything = _html(alarm_page)
    for note in alarm_page.case.notes:
        if note.visibility == "practitioner":
            assert escape(note.text) not in everything


def test_no_notes_means_no_output(demo_cases) -> None:
    case = demo_cases[1].model_copy(update={"notes": []})
    section = d.notes_section(_page(case))
    assert section.html == "" and section._repr_mimebundle_() == {}


def test_red_flags_show_as_one_kind_sentence_and_nothing_more(alarm_page: d.Dashboard) -> None:
    flags = [f for f in alarm_page.flags if f.urgency in ("urgent", "same_day")]
    assert flags, "the demo alarm case raises urgent flags"
    attention = d.attention(alarm_page).html
    assert "Please get in touch with your practitioner" in attention
    everything = _text(_html(alarm_page))
    for flag in alarm_page.flags:
        for internal in (flag.label, flag.reason, flag.action, flag.source):
            assert escape(internal) not in everything, internal


def test_no_urgent_flag_no_attention_box(demo_cases) -> None:
    calm = Case(patient=Patient(id="calm-1", name="Cal Mer", birth_date=date(1995, 3, 3)))
    page = _page(calm)
    assert page.flags == []
    assert d.attention(page).html == ""
    assert d.attention(page)._repr_mimebundle_() == {}


def test_symptom_progress_since_the_first_visit(alarm_page: d.Dashboard) -> None:
    html = d.symptoms_section(alarm_page).html
    first = alarm_page.case.sorted_visits()[0].visit_date
    assert f"Since your first visit on {first.day} {first:%B %Y}" in html
    counts = [int(n) for n in re.findall(r"(\d+) (?:better|about the same|stronger)", _text(html))]
    rated = {r.symptom for r in alarm_page.case.symptoms}
    assert sum(counts[:3]) == len(rated)
    assert html.count("<li>") == len(rated)
    assert "How strong each symptom was" in html  # the chart's description


def test_one_visit_only_explains_that_progress_comes_later(demo_cases) -> None:
    case = demo_cases[0]
    first = case.sorted_visits()[0]
    one = case.model_copy(
        update={
            "visits": [first],
            "symptoms": [s for s in case.symptoms if s.visit_id == first.id],
            "instruments": [],
            "orders": [],
            "results": [],
            "notes": [],
        }
    )
    html = d.symptoms_section(_page(one)).html
    assert "after your next visit" in html


def test_questionnaires_say_what_the_score_means(alarm_page: d.Dashboard) -> None:
    html = d.questionnaires_section(alarm_page).html
    phq9 = alarm_page.catalog.instruments["phq9"]
    assert "<h3>Depression symptoms</h3>" in html  # plain words
    assert "PHQ-9" not in html
    assert any(escape(b.patient_text) in html for b in phq9.bands)
    assert "scores run from 0 to 27; lower is better" in html
    assert "Visit by visit:" in html


def test_results_with_range_and_evidence_note(demo_cases) -> None:
    case = demo_cases[0]
    pid = case.patient.id
    when = case.sorted_visits()[0].visit_date
    extra = [
        TestResult(
            patient_id=pid,
            test="zonulin",
            value=70.0,
            unit="ng/mL",
            collected_on=when + timedelta(days=1),
        )
    ]
    page = _page(case.model_copy(update={"results": case.results + extra}))
    html = d.results_section(page).html
    cat = page.catalog
    assert escape(cat.tests["ferritin"].patient_note) in html
    assert EVIDENCE_PATIENT_WORDS["guideline-backed"] in html
    assert EVIDENCE_PATIENT_WORDS["not-recommended"] in html  # zonulin
    assert "Usual range:" in html
    hb = [r for r in case.results if r.test == "hemoglobin"][-1]
    assert f"{hb.value:g} {hb.unit}" in html
    # the alarm case's low hemoglobin raises a red flag: the page says so, not "below the range"
    assert "would like to talk this result through with you" in html


def test_a_result_without_a_range_gets_no_verdict(demo_cases) -> None:
    case = demo_cases[2]
    pid = case.patient.id
    siga = TestResult(
        patient_id=pid,
        test="secretory_iga",
        value=3.0,
        unit="mg/dL",
        collected_on=case.sorted_visits()[0].visit_date,
    )
    page = _page(case.model_copy(update={"results": [siga]}))
    html = d.results_section(page).html
    assert "No usual range is given" in html
    assert "usual range</span>" not in html and "cb-flag" not in html


def test_a_celiac_result_without_the_labs_limit_in_plain_words(demo_cases) -> None:
    """Issue 19: not "no usual range is given" for a test read only against the lab's limit;
    the result raises a review flag, so the page asks to talk it through."""
    case = demo_cases[2]
    ttg = TestResult(
        patient_id=case.patient.id,
        test="ttg_iga",
        value=3.0,
        unit="U/mL",
        collected_on=case.sorted_visits()[0].visit_date,
    )
    page = _page(case.model_copy(update={"results": [ttg]}))
    assert "celiac_serology_without_limit" in {f.key for f in page.flags}
    html = d.results_section(page).html
    assert "No usual range is given" not in html
    assert "read against the testing lab&#39;s own limit" in html
    assert "would like to talk this result through with you" in html
    with_limit = ttg.model_copy(update={"ref_high": 20.0})
    html = d.results_section(_page(case.model_copy(update={"results": [with_limit]}))).html
    assert "Usual range: up to 20 U/mL" in html


def test_upcoming_tests_are_the_open_orders(alarm_page: d.Dashboard) -> None:
    html = d.upcoming_tests_section(alarm_page).html
    open_orders = [o for o in alarm_page.case.orders if o.status in ("ordered", "collected")]
    assert open_orders
    assert html.count('class="cb-item"') == len(open_orders)
    assert "Giardia stool test" in html and "asked for on" in html
    for order in alarm_page.case.orders:
        if order.reason:
            assert order.reason not in html  # the practitioner's reason is not shown


def test_every_free_text_field_is_escaped() -> None:
    today = date.today()
    pid = "evil-1"
    patient = Patient(id=pid, name=f"Eve {EVIL[0]}", birth_date=date(1980, 1, 1), sex="female")
    plan = [
        PlanItem(
            patient_id=pid,
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name=f"P {e}",
            dose=e,
            frequency=e,
            instructions=e,
            status="active",
            start=today,
        )
        for e in EVIL
    ]
    notes = [
        Note(patient_id=pid, written_on=today, text=e, author=e, visibility="shared") for e in EVIL
    ]
    results = [
        TestResult.model_construct(
            id="a" * 32,
            patient_id=pid,
            version=1,
            test="ferritin",
            collected_on=today,
            value=40.0,
            value_text=None,
            unit=EVIL[1],
            ref_low=30.0,
            ref_high=None,
            flag=None,
            order_id=None,
        ),
        TestResult.model_construct(
            id="b" * 32,
            patient_id=pid,
            version=1,
            test="giardia_antigen",
            collected_on=today,
            value=None,
            value_text=EVIL[2],
            unit=EVIL[3],
            ref_low=None,
            ref_high=None,
            flag="A",
            order_id=None,
        ),
        TestResult.model_construct(
            id="c" * 32,
            patient_id=pid,
            version=1,
            test=EVIL[0],
            collected_on=today,
            value=None,
            value_text=EVIL[3],
            unit="",
            ref_low=None,
            ref_high=None,
            flag=None,
            order_id=None,
        ),
    ]
    orders = [
        TestOrder.model_construct(
            id="d" * 32,
            patient_id=pid,
            version=1,
            test=EVIL[1],
            status="ordered",
            ordered_on=today,
            reason=EVIL[0],
            collected_on=None,
            resulted_on=None,
            visit_id=None,
        )
    ]
    case = Case.model_construct(
        patient=patient,
        visits=[],
        history=[],
        symptoms=[],
        instruments=[],
        orders=orders,
        results=results,
        plan=plan,
        notes=notes,
    )
    page = d.Dashboard(case, default_catalog())
    for section in SECTIONS:
        markup = _text(section(page).html)
        assert not RAW_MARKUP.search(markup), (section.__name__, RAW_MARKUP.search(markup))
    everything = _text(_html(page))
    for e in EVIL:
        assert escape(e) in everything


@pytest.mark.parametrize(("hemoglobin", "discussed"), [(11.0, True), (13.5, False)])
def test_a_flagged_result_is_never_within_the_usual_range(
    hemoglobin: float, discussed: bool
) -> None:
    """Ferritin 38 ng/mL is within its printed range; with anemia it is iron-deficiency anemia,
    and then the page must not call it usual (issue 9)."""
    pid, day = "iron-1", date.today() - timedelta(days=3)
    results = [
        TestResult(
            patient_id=pid,
            test="ferritin",
            value=38.0,
            unit="ng/mL",
            collected_on=day,
            ref_low=30.0,
        ),
        TestResult(
            patient_id=pid,
            test="hemoglobin",
            value=hemoglobin,
            unit="g/dL",
            collected_on=day,
            ref_low=12.0,
        ),
    ]
    case = Case(
        patient=Patient(id=pid, name="Iron Test", birth_date=date(1990, 1, 1), sex="female"),
        results=results,
    )
    page = _page(case)
    ferritin = (
        d.results_section(page).html.split("Ferritin (iron stores)")[1].split("</article>")[0]
    )
    assert ("would like to talk this result through" in ferritin) is discussed
    assert ("within the usual range" in ferritin) is not discussed
    assert bool(d.attention(page).html) is discussed


def test_charts_are_svg_images(alarm_page: d.Dashboard) -> None:
    html = d.symptoms_section(alarm_page).html
    (data,) = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert base64.b64decode(data).decode().startswith("<svg")


def test_load_dashboard_reads_the_store_without_writing(
    sqlite_store: CaseStore, demo_cases
) -> None:
    import_cases(sqlite_store, demo_cases[:2])
    pid = demo_cases[1].patient.id
    before = len(sqlite_store.audit_log(pid))
    page = d.load_dashboard(pid, sqlite_store.url)
    assert page.case.patient.id == pid
    assert page.case.patient.name in d.header(page).html
    assert len(sqlite_store.audit_log(pid)) == before


def test_header_offers_the_latest_after_visit_summary_only_when_there_is_one(
    alarm_page: d.Dashboard,
) -> None:
    from datetime import date as _date

    from casebook.models import LetterRecord

    assert d.SUMMARY_PATH not in d.header(alarm_page).html
    pid = alarm_page.case.patient.id
    letters = [
        LetterRecord(
            patient_id=pid,
            kind=kind,
            recipient="x",
            letter_date=on,
            content_hash="0" * 64,
            record_version=1,
            pdf=b"%PDF-1.7 test",
        )
        for kind, on in (
            ("after_visit_summary", _date(2025, 1, 5)),
            ("after_visit_summary", _date(2025, 3, 9)),
            ("referral", _date(2025, 5, 1)),
        )
    ]
    page = d.Dashboard(
        alarm_page.case.model_copy(update={"letters": letters}),
        alarm_page.catalog,
        alarm_page.flags,
    )
    html = d.header(page).html
    assert f'<a href="{d.SUMMARY_PATH}" download>' in html
    assert "your visit on 9 March 2025 (PDF)" in html
