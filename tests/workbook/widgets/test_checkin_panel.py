"""The visit section's check-ins: send one, then accept or mark what the patient sent."""

from __future__ import annotations

from datetime import UTC, date, datetime

from casebook.checkins import form_sections, submit
from casebook.models import Visit
from casebook.workbook.widgets.checkins import CheckinPanel
from casebook.workbook.widgets.session import CaseSession


def _answer(session: CaseSession, free_text: str) -> None:
    (checkin,) = session.store.checkins(session.patient_id, status="sent")
    fields = [
        (q.name, q.options[-1][0])
        for s in form_sections(session.catalog, checkin.instruments)
        for q in s.questions
    ]
    submit(session.store, "l", checkin, [*fields, ("free_text", free_text)], now=datetime.now(UTC))
    session.reload()


def test_send_then_accept_into_the_selected_visit(session: CaseSession) -> None:
    visit = session.store.save(Visit(patient_id=session.patient_id, visit_date=date(2026, 1, 5)))
    session.reload()
    panel = CheckinPanel(session)
    panel.instruments.value = ("gad7",)
    link = panel.send()
    assert "/checkin?token=" in link and "/checkin?token=" in panel.sent.value
    assert panel.review.children == ()
    _answer(session, "<script>x</script>")
    (row,) = panel.review.children
    shown = row.children[0].value
    assert "&lt;script&gt;" in shown and "<script>" not in shown
    session.select_visit(visit.id)
    panel.accept(session.store.checkins(session.patient_id, status="submitted")[0].id)
    assert panel.review.children == ()
    (gad,) = session.store.load_case(session.patient_id).instruments
    assert gad.visit_id == visit.id and gad.total == 21


def test_mark_reviewed_and_a_refused_send(session: CaseSession) -> None:
    panel = CheckinPanel(session)
    panel.instruments.value = ()
    assert panel.send() == "" and "instruments" in panel.sent.value
    panel.instruments.value = ("bristol",)
    panel.send()
    _answer(session, "")
    (checkin,) = session.store.checkins(session.patient_id, status="submitted")
    panel.accept(checkin.id)  # the selected visit is the check-in's own: refused
    assert "Select the visit" in panel.sent.value
    panel.mark(checkin.id)
    assert session.store.checkins(session.patient_id)[0].status == "reviewed"
    assert panel.review.children == ()
