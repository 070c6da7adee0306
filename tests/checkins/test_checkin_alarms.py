"""The alarm screen in a check-in: the workbook's yes/no questions in the patient's words,
recorded on the check-in visit's screen, flagged by the same rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from casebook.catalog import default_catalog
from casebook.checkins import (
    ALARMS,
    CheckinInputError,
    accept,
    form_sections,
    import_bundle,
    parse_answers,
    submit,
)
from casebook.checkins._pages import safety_page
from casebook.clinic import store_worklist
from casebook.clinical.vocabulary import SCREEN_PATIENT_QUESTIONS
from casebook.interop.fhir_checkins import checkin_to_bundle
from casebook.models import (
    EXAMINATION_FINDINGS,
    PATIENT_SCREEN_QUESTIONS,
    SCREEN_LABELS,
    SCREEN_QUESTIONS,
    AlarmScreen,
    Patient,
    Visit,
)
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore


def _patient(store: CaseStore, pid: str = "p1", born: date = date(1980, 1, 1)) -> None:
    store.add_patient(Patient(id=pid, name="Test Person", birth_date=born))


def _answers(yes: set[str]) -> list[tuple[str, str]]:
    """Every alarm question answered: yes for those in `yes`, no for the rest."""
    return [(f"{ALARMS}.{n}", "yes" if n in yes else "no") for n in PATIENT_SCREEN_QUESTIONS]


def test_every_screen_question_has_plain_words_for_the_patient() -> None:
    # every question but what only an examination finds (where a mass lies)
    assert set(SCREEN_PATIENT_QUESTIONS) == set(SCREEN_QUESTIONS) - EXAMINATION_FINDINGS
    assert set(PATIENT_SCREEN_QUESTIONS) == set(SCREEN_PATIENT_QUESTIONS)
    for name, words in SCREEN_PATIENT_QUESTIONS.items():
        assert words.endswith("?") and words != SCREEN_LABELS[name]
        assert not {"melena", "hematemesis", "dysphagia", "dyspepsia"} & set(words.lower().split())
    (section,) = form_sections(default_catalog(), [ALARMS])
    assert [q.name for q in section.questions] == [f"alarms.{n}" for n in PATIENT_SCREEN_QUESTIONS]
    assert all(q.options == (("yes", "Yes"), ("no", "No")) for q in section.questions)
    with pytest.raises(CheckinInputError, match=r"alarms\.melena: not one of the answers"):
        parse_answers(default_catalog(), [ALARMS], [("alarms.melena", "maybe")], complete=False)


def test_a_yes_raises_the_workbooks_flag_on_the_checkin_visit(store: CaseStore) -> None:
    _patient(store)
    _, checkin = send_checkin(store, "p1", ["phq9", ALARMS])
    phq = [(f"phq9.{i}", "0") for i in range(1, 10)]
    done = submit(store, "l", checkin, [*phq, *_answers({"melena"})], now=datetime.now(UTC))
    assert done.same_day and not done.self_harm
    assert done.alarms == (SCREEN_PATIENT_QUESTIONS["melena"],)
    assert [(f.key, f.urgency) for f in done.flags] == [("melena", "same_day")]
    (visit,) = store.load_case("p1").visits
    assert visit.kind == "check-in" and visit.screen.melena is True
    assert visit.screen.gi_bleeding is False  # asked, answered no
    rows = store_worklist(store)
    assert list(rows["kind"][:2]) == ["red-flag", "check-in-to-review"]
    assert rows["urgency"][0] == "same_day"


def test_an_urgent_but_not_same_day_answer_is_not_told_to_act_today(store: CaseStore) -> None:
    _patient(store)
    _, checkin = send_checkin(store, "p1", [ALARMS])
    done = submit(store, "l", checkin, _answers({"dysphagia"}), now=datetime.now(UTC))
    assert done.urgent and not done.same_day and done.alarms == ()
    assert [f.key for f in done.flags] == ["dysphagia"]


def test_the_safety_page_words_follow_what_was_answered() -> None:
    both = safety_page(clinic="C", phone="1", self_harm=True, alarms=["Q one?", "Q <two>?"])
    assert "hurting" in both and "Samaritans" in both and "Q &lt;two&gt;?" in both
    only = safety_page(clinic="C", phone="1", self_harm=False, alarms=["Q one?"])
    assert "hurting" not in only and "One of your answers needs" in only


def test_accept_puts_alarm_answers_on_the_visit_never_over_its_own(store: CaseStore) -> None:
    _patient(store)
    target = store.save(
        Visit(patient_id="p1", visit_date=date.today(), screen=AlarmScreen(melena=False))
    )
    _, checkin = send_checkin(store, "p1", [ALARMS])
    done = submit(store, "l", checkin, _answers({"melena", "fever"}), now=datetime.now(UTC))
    _, kept = accept(store, done.checkin.id, "p1", target.id)
    assert kept == ["screen melena"]
    visits = {v.id: v for v in store.load_case("p1").visits}
    assert visits[target.id].screen.melena is False  # the practitioner's answer stays
    assert visits[target.id].screen.fever is True and visits[target.id].screen.reflux is False
    assert visits[done.checkin.visit_id or ""].screen.melena is True  # kept apart


def test_alarm_answers_round_trip_through_fhir(store: CaseStore, tmp_path: Path) -> None:
    source = CaseStore(f"sqlite:///{tmp_path / 'source.db'}", create=True, actor="tester")
    _patient(source)
    _, checkin = send_checkin(source, "p1", [ALARMS])
    done = submit(source, "l", checkin, _answers({"jaundice"}), now=datetime.now(UTC))
    bundle = checkin_to_bundle(done.checkin, source.catalog)
    source.close()
    _patient(store)
    stored, new = import_bundle(store, bundle)
    assert new and stored.answers == done.checkin.answers
    (visit,) = store.load_case("p1").visits
    assert visit.screen.jaundice is True and visit.screen.melena is False
