"""The alarm screen's NG12 questions in and out: JSON and FHIR round trips, and files
written before the questions were renamed (issue 19 item 1)."""

from __future__ import annotations

import json

from casebook.catalog import default_catalog
from casebook.demo.synthetic import generate_case
from casebook.interop import case_from_json, case_to_json
from casebook.interop.fhir import bundle_from_json, bundle_to_json
from casebook.interop.fhir_export import canonical_case
from casebook.models import SCREEN_QUESTIONS, AlarmScreen, Case
from casebook.store import CaseStore, import_case

CAT = default_catalog()
NEW = (
    "bowel_habit_change",
    "dysphagia",
    "upper_abdominal_pain",
    "reflux",
    "dyspepsia",
    "nausea_or_vomiting",
    "back_pain",
    "jaundice",
    "new_onset_diabetes",
)


def _with_screen(**answers: bool) -> Case:
    case = generate_case(3, seed=5)
    data = case.model_dump()
    for i, visit in enumerate(data["visits"]):
        # yes on the first visit, no on the others: both values travel
        visit["screen"].update({k: (v if i == 0 else not v) for k, v in answers.items()})
    return Case.model_validate(data)


def test_every_new_question_is_on_the_screen() -> None:
    assert set(NEW) <= set(SCREEN_QUESTIONS)


def test_json_and_store_round_trip_keeps_every_answer(store: CaseStore) -> None:
    case = _with_screen(**dict.fromkeys(NEW, True), dysphagia_or_persistent_vomiting=True)
    assert case_from_json(case_to_json(case)) == case
    assert import_case(store, case) == "created"
    loaded = store.load_case(case.patient.id)
    first = loaded.sorted_visits()[0].screen
    assert all(getattr(first, k) is True for k in NEW)
    assert first.dysphagia_or_persistent_vomiting is True


def test_fhir_round_trip_keeps_every_answer() -> None:
    case = _with_screen(**dict.fromkeys(NEW, True))
    back = bundle_from_json(bundle_to_json(case, CAT), "screen.json")
    assert back == canonical_case(case, CAT)
    screens = [v.screen for v in back.sorted_visits()]
    assert all(getattr(screens[0], k) is True for k in NEW)
    assert all(getattr(s, k) is False for s in screens[1:] for k in NEW)


def test_old_exports_with_the_looser_stools_question_still_import() -> None:
    case = _with_screen(bowel_habit_change=True)
    payload = json.loads(case_to_json(case))
    for visit in payload["case"]["visits"]:
        visit["screen"]["bowel_change_over_6_weeks"] = visit["screen"].pop("bowel_habit_change")
    old = case_from_json(json.dumps(payload))
    answers = [v.screen.bowel_habit_change for v in old.sorted_visits()]
    assert answers[0] is True and all(a is None for a in answers[1:])

    bundle = json.loads(bundle_to_json(case, CAT))
    for entry in bundle["entry"]:
        for ext in entry["resource"].get("extension", ()):
            for item in ext.get("extension", ()):
                if item.get("url") == "bowel_habit_change":
                    item["url"] = "bowel_change_over_6_weeks"
    from_fhir = bundle_from_json(json.dumps(bundle), "old.json")
    assert from_fhir.sorted_visits()[0].screen.bowel_habit_change is True


def test_a_screen_saved_before_the_new_questions_loads_with_them_not_asked() -> None:
    old = {"unintentional_weight_loss": True, "bowel_change_over_6_weeks": True}
    screen = AlarmScreen.model_validate(old)
    assert screen.bowel_habit_change is True and screen.unintentional_weight_loss is True
    assert all(getattr(screen, k) is None for k in NEW if k != "bowel_habit_change")


ADDED_LATER = (
    "treatment_resistant_dyspepsia",
    "upper_abdominal_mass",
    "mass_consistent_with_stomach_cancer",
    "mass_consistent_with_enlarged_gall_bladder",
    "mass_consistent_with_enlarged_liver",
    "anal_mass_or_ulceration",
)


def test_visits_stored_before_the_later_ng12_questions_still_load(store: CaseStore) -> None:
    case = _with_screen(dyspepsia=True)
    assert import_case(store, case) == "created"
    with store.engine.begin() as conn:  # rewrite the stored screens as an older version wrote them
        rows = conn.exec_driver_sql("SELECT id, screen FROM visits").all()
        for visit_id, screen in rows:
            old = json.loads(screen) if isinstance(screen, str) else dict(screen)
            assert set(ADDED_LATER) <= old.keys()
            for name in ADDED_LATER:
                old.pop(name)
            conn.exec_driver_sql(
                "UPDATE visits SET screen = %s WHERE id = %s"
                if conn.dialect.name == "postgresql"
                else "UPDATE visits SET screen = ? WHERE id = ?",
                (json.dumps(old), visit_id),
            )
    loaded = store.load_case(case.patient.id)
    first = loaded.sorted_visits()[0].screen
    assert first.dyspepsia is True
    assert all(getattr(first, n) is None for n in ADDED_LATER)


def test_the_later_ng12_answers_travel_through_json_and_fhir() -> None:
    case = _with_screen(**dict.fromkeys(ADDED_LATER, True), abdominal_or_rectal_mass=True)
    assert case_from_json(case_to_json(case)) == case
    back = bundle_from_json(bundle_to_json(case, CAT), "later.json")
    assert back == canonical_case(case, CAT)
    screens = [v.screen for v in back.sorted_visits()]
    assert all(getattr(screens[0], k) is True for k in ADDED_LATER)
    assert all(getattr(s, k) is False for s in screens[1:] for k in ADDED_LATER)
