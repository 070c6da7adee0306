"""The letter buttons of the workbook: the PDF beside the case notebook, a link to it, the
letter kept with the case."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebook.workbook.widgets.header import Header
from casebook.workbook.widgets.letters import LetterButtons
from casebook.workbook.widgets.session import CaseSession
from casebook.workbook.widgets.visits import VisitsForm


@pytest.fixture(autouse=True)
def _no_clinic_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEBOOK_CLINIC", raising=False)


def test_referral_button_writes_the_pdf_links_it_and_keeps_the_letter(
    demo_session: CaseSession, tmp_path: Path
) -> None:
    buttons = LetterButtons(demo_session, ("referral",), folder=tmp_path)
    assert demo_session.red_flags() and not buttons.referral_button.disabled
    buttons.recipient.value = 'Dr <script>x</script> "Q"'
    buttons.referral_button.click()
    written = list((tmp_path / "letters").glob("referral-*.pdf"))
    assert len(written) == 1
    kept = demo_session.store.latest_letter(demo_session.patient_id, "referral")
    assert kept is not None and kept.recipient == 'Dr <script>x</script> "Q"'
    assert written[0].read_bytes() == kept.pdf
    # A notebook output (not an ipywidgets HTML value) and no target: JupyterLab opens the
    # PDF in a tab of the same workspace (rendermime's local-link handler), no reload.
    link = f'<a href="letters/{written[0].name}">{written[0].name}</a>'
    assert link in buttons.output.value and "target=" not in buttons.output.value
    (shown,) = buttons.output.widget.outputs
    assert shown["data"] == {"text/html": buttons.output.value}
    assert buttons.output.widget in buttons.widget.children
    assert [x.id for x in demo_session.case.letters] == [kept.id]  # the session reloaded


def test_summary_button_is_for_the_selected_visit(
    demo_session: CaseSession, tmp_path: Path
) -> None:
    first = demo_session.case.sorted_visits()[0]
    demo_session.select_visit(first.id)
    buttons = LetterButtons(demo_session, ("after_visit_summary",), folder=tmp_path)
    buttons.summary_button.click()
    path = tmp_path / "letters" / f"after-visit-summary-{first.visit_date.isoformat()}.pdf"
    assert path.is_file()
    kept = demo_session.store.latest_letter(demo_session.patient_id, "after_visit_summary")
    assert kept is not None and kept.letter_date == first.visit_date
    assert path.read_bytes() == kept.pdf


def test_no_flag_no_referral_no_visit_no_summary(session: CaseSession, tmp_path: Path) -> None:
    buttons = LetterButtons(session, folder=tmp_path)
    assert buttons.referral_button.disabled and buttons.summary_button.disabled
    assert buttons.make("referral") is None
    assert "reason: no red flag is raised" in buttons.output.value
    assert not (tmp_path / "letters").exists()
    assert session.store.letters(session.patient_id) == []


def test_an_error_is_shown_escaped(demo_session: CaseSession, tmp_path: Path) -> None:
    buttons = LetterButtons(demo_session, ("referral",), folder=tmp_path)
    buttons.recipient.value = "   "
    assert buttons.make("referral") is None
    assert "to: the recipient is empty" in buttons.output.value


def test_header_and_visits_place_the_buttons(demo_session: CaseSession) -> None:
    header = Header(demo_session)
    assert header.letters.widget in header.widget.children
    assert header.letters.kinds == ("referral",)
    visits = VisitsForm(demo_session)
    assert visits.letters.widget in visits.widget.children
    assert visits.letters.kinds == ("after_visit_summary",)


def test_the_visit_selected_at_first_is_one_held_and_a_checkin_makes_no_summary(
    session: CaseSession, tmp_path: Path
) -> None:
    from datetime import date

    from casebook.models import Visit

    pid = session.patient_id
    held = session.store.save(Visit(patient_id=pid, kind="intake", visit_date=date(2026, 3, 2)))
    checkin = session.store.save(
        Visit(patient_id=pid, kind="check-in", visit_date=date(2026, 3, 9))
    )
    opened = CaseSession(session.store, pid)
    assert opened.visit_id == held.id  # not the later check-in
    buttons = LetterButtons(opened, ("after_visit_summary",), folder=tmp_path)
    assert not buttons.summary_button.disabled
    opened.select_visit(checkin.id)
    assert buttons.summary_button.disabled  # a check-in the patient sent is not a visit
