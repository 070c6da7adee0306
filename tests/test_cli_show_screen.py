"""`casebook show`: the latest visit's alarm screen, and the NG12 flag it raises with its
source (issue 19 item 1)."""

from __future__ import annotations

from datetime import date

from casebook.catalog import default_catalog
from casebook.cli._report import case_text, screen_lines
from casebook.models import AlarmScreen, Case, Patient, Visit

DAY = date(2025, 3, 1)


def _case(screens: list[AlarmScreen], age: int = 58) -> Case:
    visits = [
        Visit(patient_id="p-58", visit_date=date(2025, 1 + i, 1), screen=s)
        for i, s in enumerate(screens)
    ]
    patient = Patient(id="p-58", name="Screen Test", birth_date=date(DAY.year - age, 1, 1))
    return Case(patient=patient, visits=visits)


def test_show_lists_the_screen_answers_and_the_endoscopy_flag_with_its_source() -> None:
    case = _case([AlarmScreen(unintentional_weight_loss=True, reflux=True, fever=False)])
    text = case_text(case, default_catalog(), today=DAY)
    assert "ng12_endoscopy_55_weight_loss" in text
    flat = " ".join(text.split())
    assert "urgent direct-access upper GI endoscopy" in flat and "1.2.1" in flat
    assert "yes: Unintentional weight loss; Reflux or heartburn" in flat
    assert "not asked:" in flat and "Jaundice (yellow skin or eyes)" in flat
    assert "Fever" not in flat.split("not asked:")[1]
    for words in ("Dyspepsia not responding to treatment", "Anal mass or anal ulceration"):
        assert words in flat.split("not asked:")[1]


def test_the_latest_visit_is_the_one_shown_and_legacy_answers_are_named() -> None:
    case = _case([AlarmScreen(jaundice=True), AlarmScreen(dysphagia_or_persistent_vomiting=True)])
    lines = " ".join(" ".join(screen_lines(case)).split())
    assert "2025-02-01" in lines and "Jaundice" not in lines.split("not asked:")[0]
    assert "Dysphagia / persistent vomiting (older visits)" in lines


def test_no_visit_no_screen_lines() -> None:
    assert screen_lines(_case([])) == []
    all_no = AlarmScreen(
        **dict.fromkeys(AlarmScreen.model_fields.keys() - {"symptom_onset"}, False)
    )
    assert " ".join(screen_lines(_case([all_no]))).endswith("yes: none")


def test_show_gives_the_jaundice_flag_under_40_with_its_action_and_source() -> None:
    text = " ".join(
        case_text(_case([AlarmScreen(jaundice=True)], age=30), default_catalog(), today=DAY).split()
    )
    assert "[urgent] jaundice: Jaundice (yellow skin or whites of the eyes) (open)" in text
    assert "Refer for medical assessment, to be seen within 7 days" in text
    assert "source: British Society of Gastroenterology" in text
    assert "ng12_pancreatic_40_jaundice" not in text
    older = " ".join(
        case_text(_case([AlarmScreen(jaundice=True)], age=40), default_catalog(), today=DAY).split()
    )
    assert "ng12_pancreatic_40_jaundice" in older and "[urgent] jaundice:" not in older


def test_the_screen_shown_is_the_latest_visit_held_not_a_later_checkin() -> None:
    held = _case([AlarmScreen(jaundice=True)])
    sent = Visit(patient_id="p-58", kind="check-in", visit_date=date(2025, 2, 1))
    case = held.model_copy(update={"visits": [*held.visits, sent]})
    lines = " ".join(" ".join(screen_lines(case)).split())
    assert "alarm screen of the visit of 2025-01-01: yes: Jaundice" in lines
    only = held.model_copy(update={"visits": [sent]})
    lines = " ".join(" ".join(screen_lines(only)).split())
    assert "alarm screen of the check-in the patient sent on 2025-02-01: yes: none" in lines
