"""The header: patient, visits, last saved, unsaved sections, and red flags that cannot be
missed."""

from __future__ import annotations

from datetime import date, timedelta

from casebook.clinical.flag_lifecycle import SAME_DAY_MAX_AGE_DAYS, flag_statuses
from casebook.models import SCREEN_QUESTIONS, AlarmScreen, InstrumentResponse, TestResult, Visit
from casebook.workbook.widgets._html import STYLE, esc
from casebook.workbook.widgets.banner import BANNER_CLASS, PatientBanner, banner_html
from casebook.workbook.widgets.header import Header, flag_panel
from casebook.workbook.widgets.session import CaseSession


def test_the_banner_says_who_escaped_and_the_header_lists_visits(session: CaseSession) -> None:
    banner = PatientBanner(session, today=date(2026, 3, 3))
    state = banner.widget.get_state()["value"]
    assert "Ada &lt;b&gt;Bold&lt;/b&gt; &amp; Co" in state and "<b>Bold" not in state
    assert "p-001" in state and "female" in state and "born 1968-03-04 (57 years)" in state
    assert BANNER_CLASS in banner.widget._dom_classes and state.startswith("<style>")
    assert banner.widget.get_state()["value"] == STYLE + banner_html(
        session.case.patient, date(2026, 3, 3)
    )
    header = Header(session)
    assert "Ada" not in header.widget.children[0].value  # who: the banner, said once
    assert "Visits (0)" in header.visits.value and "none yet" in header.visits.value
    assert "Last saved:</b> 2" in header.saved.value  # the patient's creation
    assert "No visit yet" in header.flags.value


def test_every_flag_shows_label_reason_action_and_source(demo_session: CaseSession) -> None:
    header = Header(demo_session)
    header.unfold.click()
    value = header.flags.get_state()["value"]
    flags = demo_session.red_flags()
    assert flags, "the first demo case has alarm features"
    assert "border:3px solid #b00020" in value
    assert f"{len(flags)} red flag" in value
    for flag in flags:
        for text in (flag.label, flag.action):
            assert esc(text) in value  # escaped like every text in the header
    assert "Unintentional weight loss" in value and "Source:" in value


def test_many_flags_are_summarised_in_a_few_lines_and_unfold_on_demand(
    demo_session: CaseSession,
) -> None:
    """The first demo patient has 8 flags: a line an urgency, every label on it, until the
    button unfolds each flag's reason, action and source; it folds them again."""
    header = Header(demo_session)
    flags = demo_session.red_flags()
    assert len(flags) >= 5
    value = header.flags.value
    assert f"{len(flags)} red flags: refer" in value
    for flag in flags:
        assert f"<b>{flag.label.replace('&', '&amp;')}</b>" in value
    assert "Action:" not in value and "Source:" not in value and "<li" not in value
    lines = value.count('<div style="margin:3px 0">')
    assert lines == len({f.urgency for f in flags}) <= 4
    assert header.unfold.layout.display != "none"
    assert header.unfold.description == "Show each flag's reason, action and source"
    header.unfold.click()
    value = header.flags.value
    assert value.count("<li") == len(flags) and value.count("Action:") == len(flags)
    header.unfold.click()
    assert "Action:" not in header.flags.value


def test_the_unfold_button_is_hidden_without_flags(session: CaseSession) -> None:
    header = Header(session)
    assert "No red flags" in header.flags.value or "No visit yet" in header.flags.value
    assert header.unfold.layout.display == "none"
    assert header.visits.layout.display != "none"  # its own layout, not a shared one


def test_phq9_item_9_is_a_same_day_flag_at_once(session: CaseSession) -> None:
    # onset recorded before 50: otherwise the age at intake raises the onset rule
    visit = session.save(
        [
            Visit(
                patient_id=session.patient_id,
                kind="intake",
                visit_date=date.today(),
                screen=AlarmScreen(symptom_onset=date(2010, 1, 1)),
            )
        ]
    )[0]
    header = Header(session)
    assert "No red flags" in header.flags.value
    answers = {str(i): 0 for i in range(1, 10)} | {"9": 1}
    draft = InstrumentResponse(
        patient_id=session.patient_id, visit_id=visit.id, instrument="phq9", answers=answers
    )
    session.set_pending("Instruments", [draft])
    value = header.flags.value
    assert "SAME DAY" in value and "PHQ-9 item 9" in value
    assert "(not saved yet)" in value  # summarised
    header.unfold.click()
    assert "from answers not saved yet" in header.flags.value
    session.save([draft])
    session.set_pending("Instruments", [])
    value = header.flags.value
    assert "SAME DAY" in value and "not saved yet" not in value


def test_unsaved_sections_and_unasked_screen_are_visible(session: CaseSession) -> None:
    session.save(
        [
            Visit(
                patient_id=session.patient_id,
                kind="intake",
                visit_date=date(2024, 2, 1),
                screen=AlarmScreen(fever=False, gi_bleeding=False),
            )
        ]
    )
    header = Header(session)
    asked = len(SCREEN_QUESTIONS)  # two of them answered
    assert f"{asked - 2} of {asked} questions not asked" in header.flags.value
    session.set_unsaved("Symptoms", True)
    assert "Unsaved changes in: Symptoms" in header.saved.value
    session.set_unsaved("Symptoms", False)
    assert "Unsaved" not in header.saved.value


def test_flag_panel_orders_by_urgency(demo_session: CaseSession) -> None:
    flags = demo_session.red_flags()
    assert len({f.urgency for f in flags}) > 1
    panel = flag_panel(flag_statuses(list(reversed(flags)), []), [])
    shown = sorted(flags, key=lambda f: panel.index(f.label.replace("&", "&amp;")))
    rank = {"same_day": 0, "urgent": 1, "routine": 2}
    assert [rank[f.urgency] for f in shown] == sorted(rank[f.urgency] for f in flags)
    assert flag_panel([], []) == ""


def _phq9(session: CaseSession, on: date) -> None:
    visit = session.save(
        [
            Visit(
                patient_id=session.patient_id,
                kind="intake",
                visit_date=on,
                screen=AlarmScreen(symptom_onset=date(2010, 1, 1)),
            )
        ]
    )[0]
    answers = {str(i): 0 for i in range(1, 10)} | {"9": 2}
    session.save(
        [
            InstrumentResponse(
                patient_id=session.patient_id, visit_id=visit.id, instrument="phq9", answers=answers
            )
        ]
    )


def test_an_old_phq9_item_9_answer_is_urgent_to_review_not_same_day(session: CaseSession) -> None:
    old = date.today() - timedelta(days=SAME_DAY_MAX_AGE_DAYS + 300)
    _phq9(session, old)
    value = Header(session).flags.value
    assert "SAME DAY" not in value and "URGENT" in value
    assert f"answered on {old.isoformat()}, review" in value
    assert "1 red flag: refer" in value  # still open: it never silently disappears


def test_header_buttons_take_each_step_through_the_store(session: CaseSession) -> None:
    pid = session.patient_id
    day = date.today() - timedelta(days=2)
    session.save(
        [TestResult(patient_id=pid, test="hs_crp", value=14.0, unit="mg/L", collected_on=day)]
    )
    header = Header(session)
    steps = header.steps
    assert steps.flag.get_state()["_options_labels"] == (
        "Raised CRP (10 mg/L or more) [routine; open]",
    )
    assert steps.flag.value == "crp_raised"
    assert [b.disabled for b in steps.buttons.values()] == [False, False, False]
    assert "1 red flag: refer" in header.flags.value

    steps.referred_to.value = ""
    steps.buttons["referred"].click()  # refer needs to whom: refused, nothing written
    assert "referred_to" in steps.message.value
    assert session.store.flag_reviews([pid]) == {pid: []}

    steps.note.value = "discussed; repeat in 6 weeks"
    steps.buttons["acknowledged"].click()
    (review,) = session.store.flag_reviews([pid])[pid]
    assert (review.state, review.note, review.actor) == (
        "acknowledged",
        "discussed; repeat in 6 weeks",
        "tester",
    )
    assert steps.note.value == ""
    message = steps.message.get_state()["value"]
    assert "Raised CRP (10 mg/L or more): acknowledged." in message  # its title, not its key
    assert "crp_raised" not in message
    assert "(acknowledged)" in header.flags.value and "⚠" not in header.flags.value
    assert steps.buttons["acknowledged"].disabled and not steps.buttons["resolved"].disabled

    steps.referred_to.value = "GI clinic"
    steps.buttons["referred"].click()
    steps.outcome.value = "repeat hs-CRP normal"
    steps.buttons["resolved"].click()
    states = [r.state for r in session.store.flag_reviews([pid])[pid]]
    assert states == ["acknowledged", "referred", "resolved"]
    assert "Resolved:" in header.flags.value and "repeat hs-CRP normal" in header.flags.value
    assert steps.flag.options == () and steps.widget.layout.display == "none"
    actions = [(e.entity, e.action) for e in session.store.audit_log(pid)][-3:]
    assert actions == [
        ("flag_review", "acknowledge"),
        ("flag_review", "refer"),
        ("flag_review", "resolve"),
    ]

    # a newer raised result re-opens the rule
    session.save(
        [
            TestResult(
                patient_id=pid, test="hs_crp", value=22.0, unit="mg/L", collected_on=date.today()
            )
        ]
    )
    assert "(open again: newer evidence)" in header.flags.value
    assert "1 red flag: refer" in header.flags.value
    header.unfold.click()
    assert "OPEN AGAIN" in header.flags.value
    assert steps.flag.value == "crp_raised" and not steps.buttons["acknowledged"].disabled
