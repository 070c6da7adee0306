"""Substances, override reasons, preconditions and the review list: each rule on both sides."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.catalog import default_catalog
from casebook.cli._report import case_text
from casebook.clinic import worklist
from casebook.clinical.cautions import active_cautions, items_for_review, protocol_warning
from casebook.clinical.overrides import confirmation_problem, reason_problem
from casebook.clinical.preconditions import celiac_serology_status
from casebook.clinical.substances import match_substances
from casebook.models import (
    AlarmScreen,
    Allergy,
    Case,
    CautionConfirmation,
    FoodSensitivity,
    HistoryEntry,
    Medication,
    Patient,
    PlanItem,
    SafetyFacts,
    TestResult,
    Visit,
)
from casebook.store import CaseStore

PID = "s-001"
CATALOG = default_catalog()
TODAY = date(2024, 6, 1)


def _case(*history: object, plan: tuple[PlanItem, ...] = (), **extra: object) -> Case:
    return Case(
        patient=Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female"),
        history=[HistoryEntry(patient_id=PID, data=d) for d in history],  # type: ignore[arg-type]
        plan=list(plan),
        **extra,  # type: ignore[arg-type]
    )


def _typed(name: str, category: str = "herbal", **extra: object) -> PlanItem:
    return PlanItem(
        patient_id=PID, category=category, name=name, status="active", start=TODAY, **extra
    )  # type: ignore[arg-type]


def _keys(case: Case, item: PlanItem) -> set[str]:
    return {m.key for m in active_cautions(case, CATALOG, item, TODAY)}


# --- matching names ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Berberine 500 mg", ("berberine",)),
        ("Goldenseal root", ("berberine",)),
        ("Fish oil 2 g", ("fish_oil",)),
        ("Omega-3 (EPA/DHA)", ("fish_oil",)),
        ("Licorice root tea", ("licorice",)),
        ("DGL licorice chewable", ("dgl",)),
        ("Deglycyrrhizinated liquorice", ("dgl",)),
        ("Slippery elm powder", ("slippery_elm",)),
        ("Zinc carnosine 75 mg", ("zinc_carnosine",)),
        ("L-Glutamine 5 g", ("l_glutamine",)),
        ("Ashwagandha KSM-66", ("ashwagandha",)),
        ("St. John's Wort", ("st_johns_wort",)),
        ("S. boulardii 250 mg", ("saccharomyces_boulardii",)),
        ("Lactobacillus rhamnosus GG", ("lactobacillus",)),
        ("Peppermint oil capsules", ("peppermint",)),
        ("Turmeric with black pepper", ("curcumin",)),
        ("Psyllium husk", ("psyllium",)),
        ("Oregano oil", ()),
        ("Elmwood tea", ()),  # whole words only
    ],
)
def test_typed_names_match_names_and_synonyms(typed: str, found: tuple[str, ...]) -> None:
    assert match_substances(typed, CATALOG) == found


def test_every_substance_has_synonyms_and_sourced_cautions_kept_apart() -> None:
    assert len(CATALOG.substances) >= 15
    for sub in CATALOG.substances.values():
        assert sub.synonyms
        for kind, cautions in (
            ("contraindication", sub.contraindications),
            ("interaction", sub.interactions),
            ("population", sub.populations),
        ):
            assert all(c.kind == kind and c.source for c in cautions), sub.key
    for tpl in CATALOG.protocols:
        assert all(k in CATALOG.substances for k in tpl.substances)


# --- cautions computed from substances, both sides ---------------------------------------
def test_typed_berberine_in_pregnancy_and_fish_oil_on_warfarin() -> None:
    berberine = _typed("berberine 500 mg")
    assert "berberine.pregnancy" in _keys(_case(SafetyFacts(pregnant=True)), berberine)
    assert "berberine.pregnancy" not in _keys(_case(SafetyFacts(pregnant=False)), berberine)
    fish = _typed("Fish oil", "nutritional_support")
    warfarin = Medication(drug_class="anticoagulant", name="warfarin")
    assert _keys(_case(warfarin), fish) == {"fish_oil.bleeding"}
    assert _keys(_case(Medication(drug_class="nsaid", name="ibuprofen")), fish) == set()


def test_licorice_and_dgl_differ() -> None:
    low_k = _case(SafetyFacts(hypokalemia=True))
    (licorice,) = active_cautions(low_k, CATALOG, _typed("Licorice root"), TODAY)
    assert (licorice.key, licorice.caution.kind) == (
        "licorice.blood_pressure_potassium",
        "contraindication",
    )
    (dgl,) = active_cautions(low_k, CATALOG, _typed("DGL"), TODAY)
    assert (dgl.key, dgl.caution.kind) == ("dgl.residual_glycyrrhizin", "population")
    assert _keys(_case(SafetyFacts(hypokalemia=False)), _typed("Licorice root")) == set()


def test_st_johns_wort_on_the_pill_or_an_ssri() -> None:
    item = _typed("St John's wort")
    pill = Medication(drug_class="oral_contraceptive", name="microgynon")
    ssri = Medication(drug_class="ssri", name="sertraline")
    assert _keys(_case(pill), item) == {"st_johns_wort.critical_medicines"}
    assert _keys(_case(ssri), item) == {"st_johns_wort.serotonergic"}
    assert _keys(_case(Medication(drug_class="antacid", name="gaviscon")), item) == set()


def test_a_recorded_allergy_rules_a_substance_out() -> None:
    fish = _typed("Fish oil", "nutritional_support")
    assert _keys(_case(Allergy(substance="Fish", reaction="hives")), fish) == {"fish_oil.allergy"}
    food = FoodSensitivity(food="shellfish", reaction="allergy", severity="severe")
    assert _keys(_case(food), fish) == {"fish_oil.allergy"}
    intolerance = FoodSensitivity(food="fish", reaction="intolerance")
    assert _keys(_case(intolerance), fish) == set()
    assert _keys(_case(Allergy(substance="penicillin")), fish) == set()


# --- what a confirmation must say ---------------------------------------------------------
def _c(reason: str, advised_by: str = "") -> CautionConfirmation:
    return CautionConfirmation.model_construct(
        key="k", reason=reason, by="dr a", advised_by=advised_by, on=TODAY
    )


@pytest.mark.parametrize("token", [".", "ok", "OK!", "n/a", "yes", "agreed", "see notes", "-"])
def test_a_token_is_never_a_reason(token: str) -> None:
    assert reason_problem(token) is not None
    assert confirmation_problem("interaction", _c(token)) is not None
    assert confirmation_problem("contraindication", _c(token, "Dr B")) is not None


def test_interactions_are_lighter_than_contraindications() -> None:
    assert confirmation_problem("interaction", _c("INR")) is not None  # one word
    assert confirmation_problem("interaction", _c("INR weekly")) is None  # two words
    assert confirmation_problem("population", _c("Dietitian involved")) is None
    four = "Obstetrician agreed after review"
    five = "Obstetrician agreed after full review"
    assert confirmation_problem("contraindication", _c(four, "Dr B")) is not None
    assert confirmation_problem("contraindication", _c(five, "Dr B")) is None
    assert confirmation_problem("contraindication", _c(five)) is not None  # who advised
    assert confirmation_problem("contraindication", _c(five, "  ")) is not None


# --- gluten-free trial preconditions -------------------------------------------------------
def _result(test: str, value: float, low: float | None, high: float | None) -> TestResult:
    flag = "H" if high is not None and value > high else "L" if low and value < low else None
    return TestResult(
        patient_id=PID,
        test=test,
        collected_on=date(2024, 5, 1),
        value=value,
        ref_low=low,
        ref_high=high,
        flag=flag,  # type: ignore[arg-type]
    )


def test_celiac_serology_status_on_both_sides() -> None:
    ttg_ok, ttg_high = _result("ttg_iga", 2, None, 7), _result("ttg_iga", 30, None, 7)
    iga_ok, iga_low = _result("total_iga", 150, 70, 400), _result("total_iga", 5, 70, 400)
    assert celiac_serology_status(_case()) == "none"
    assert celiac_serology_status(_case(results=[ttg_ok])) == "needs_total_iga"
    assert celiac_serology_status(_case(results=[ttg_ok, iga_low])) == "needs_total_iga"
    assert celiac_serology_status(_case(results=[ttg_ok, iga_ok])) == "negative"
    assert celiac_serology_status(_case(results=[ttg_high, iga_ok])) == "positive"
    no_range = _result("ttg_iga", 2, None, None)
    assert celiac_serology_status(_case(results=[no_range, iga_ok])) == "unreadable"
    igg = _result("ttg_igg", 1, None, 7)
    assert celiac_serology_status(_case(results=[ttg_ok, iga_low, igg])) == "negative"


def _gf(status: str = "proposed") -> PlanItem:
    return PlanItem(
        patient_id=PID,
        category="eliminate_triggers",
        name="Gluten-free trial (only after celiac serology)",
        template="gluten_free_trial",
        status=status,  # type: ignore[arg-type]
        start=TODAY,
    )


def test_a_gluten_free_trial_needs_serology_or_a_confirmation(store: CaseStore) -> None:
    store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    with pytest.raises(Exception, match=r"celiac_serology.*no celiac serology recorded"):
        store.save(_gf())
    confirmed = _gf().model_copy(
        update={
            "caution_confirmations": [
                CautionConfirmation(
                    key="celiac_serology",
                    reason="Celiac disease excluded by duodenal biopsy in 2023, letter on file",
                    advised_by="Dr G, gastroenterologist",
                    on=TODAY,
                )
            ]
        }
    )
    assert store.save(confirmed).version == 1


def test_a_negative_serology_lets_the_trial_start_and_a_positive_one_blocks_it(
    store: CaseStore,
) -> None:
    store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    store.save(_result("total_iga", 150, 70, 400))
    ttg = store.save(_result("ttg_iga", 2, None, 7))
    saved = store.save(_gf())
    assert saved.version == 1
    store.save(ttg.model_copy(update={"value": 30.0, "flag": "H"}))
    with pytest.raises(Exception, match="celiac serology is positive; refer"):
        store.save(saved.model_copy(update={"status": "active"}))
    store.save(
        PlanItem(
            patient_id=PID,
            category="referral",
            name="Referral to gastroenterology (alarm features)",
            template="gastroenterology_referral",
        )
    )
    with pytest.raises(Exception, match=r"'celiac_serology'.*positive"):  # now a confirmation
        store.save(saved.model_copy(update={"status": "active"}))
    ok = CautionConfirmation(
        key="celiac_serology",
        reason="Gastroenterologist took biopsies and asked for a supervised trial",
        advised_by="Dr G, gastroenterologist",
        on=TODAY,
    )
    update = {"status": "active", "caution_confirmations": [ok]}
    assert store.save(saved.model_copy(update=update)).status == "active"


# --- referral matching the flag's action ----------------------------------------------------
def test_only_a_matching_referral_clears_the_protocol_warning() -> None:
    bleed = Visit(
        patient_id=PID, kind="intake", visit_date=date(2024, 5, 1), screen=AlarmScreen(melena=True)
    )
    peppermint = _typed("Peppermint oil")
    dietitian = PlanItem(patient_id=PID, category="referral", name="Dietitian referral")
    gi = PlanItem(patient_id=PID, category="referral", name="Urgent gastroenterology referral")
    assert protocol_warning(_case(plan=(peppermint, dietitian), visits=[bleed]), CATALOG)
    assert protocol_warning(_case(plan=(peppermint, gi), visits=[bleed]), CATALOG) is None


# --- gate every way in ----------------------------------------------------------------------
def test_a_pregnancy_recorded_during_a_course_lists_the_item_for_review(store: CaseStore) -> None:
    store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    store.save(_typed("Berberine 500 mg"))
    assert items_for_review(store.load_case(PID), CATALOG, TODAY) == []
    store.save(HistoryEntry(patient_id=PID, data=SafetyFacts(recorded_on=TODAY, pregnant=True)))
    case = store.load_case(PID)
    ((item, missing),) = items_for_review(case, CATALOG, TODAY)
    assert item.name == "Berberine 500 mg" and [m.key for m in missing] == ["berberine.pregnancy"]
    rows = worklist([case], CATALOG, today=TODAY)
    review = rows[rows["kind"] == "caution-review"]
    assert list(review["ref"]) == [item.id]
    assert "berberine.pregnancy" in review["detail"].iloc[0]
    assert review["urgency"].iloc[0] == "urgent"  # a contraindication
    text = case_text(case, CATALOG, today=TODAY)
    assert "NOT CONFIRMED" in text and "listed for review" in text


def test_an_item_entered_as_completed_since_the_last_visit_is_checked(store: CaseStore) -> None:
    store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    store.save(HistoryEntry(patient_id=PID, data=SafetyFacts(pregnant=True)))
    store.save(Visit(patient_id=PID, kind="intake", visit_date=date(2024, 5, 1)))

    def berberine(status: str, start: date, end: date) -> PlanItem:
        return _typed("Berberine").model_copy(update={"status": status, "start": start, "end": end})

    recent = berberine("completed", date(2024, 5, 2), date(2024, 5, 20))
    with pytest.raises(Exception, match=r"berberine\.pregnancy"):
        store.save(recent)
    old = berberine("completed", date(2024, 3, 1), date(2024, 4, 30))
    assert store.save(old).status == "completed"  # history before the last visit
    stopped = berberine("stopped", date(2024, 5, 2), date(2024, 5, 20))
    assert store.save(stopped).status == "stopped"  # stopping is always allowed


def test_the_substance_list_and_reason_travel_in_fhir_and_allergies_as_allergyintolerance() -> None:
    from casebook.interop import fhir

    item = _typed("Oregano oil", no_substance_reason="Oregano oil is not in the catalog")
    case = _case(Allergy(substance="penicillin", reaction="hives", severity="moderate"))
    case = case.model_copy(update={"plan": [item]})
    bundle = fhir.case_to_bundle(case, CATALOG)
    types = [e.resource.get_resource_type() for e in bundle.entry or ()]
    assert "AllergyIntolerance" in types
    back = fhir.case_from_bundle(bundle, CATALOG)
    assert back.plan[0].no_substance_reason == item.no_substance_reason
    (allergy,) = [h.data for h in back.history if isinstance(h.data, Allergy)]
    assert (allergy.substance, allergy.reaction, allergy.severity) == (
        "penicillin",
        "hives",
        "moderate",
    )


def test_the_workbook_says_which_items_a_saved_fact_put_up_for_review(
    sqlite_store: CaseStore,
) -> None:
    from casebook.workbook.widgets.history import HistoryForm
    from casebook.workbook.widgets.plan import PlanForm
    from casebook.workbook.widgets.session import CaseSession

    sqlite_store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    sqlite_store.save(_typed("Berberine 500 mg"))
    session = CaseSession(sqlite_store, PID)
    form = HistoryForm(session)
    assert form.review.get_state()["value"] == ""
    form.new_category.value = "safety"
    form.new_button.click()
    form._fields("safety")["pregnant"].value = True
    form.bar.save_button.click()
    shown = form.review.get_state()["value"]
    assert "listed for review" in shown and "Berberine 500 mg" in shown
    assert "berberine.pregnancy" in shown
    # the plan editor shows the caution of a typed name as it is typed
    plan = PlanForm(session)
    plan.new()
    plan.fields["category"].value = "herbal"
    plan.fields["name"].value = "Goldenseal capsules"
    assert "berberine.pregnancy" in plan.cautions_info.get_state()["value"]
    assert "berberine.pregnancy" in plan.confirm.rows


def test_the_plan_editor_lists_substances_a_name_does_not_show(sqlite_store: CaseStore) -> None:
    from casebook.workbook.widgets.plan import PlanForm
    from casebook.workbook.widgets.session import CaseSession

    sqlite_store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    sqlite_store.save(HistoryEntry(patient_id=PID, data=SafetyFacts(hypertension=True)))
    form = PlanForm(CaseSession(sqlite_store, PID))
    form.new()
    form.fields["category"].value = "herbal"
    form.fields["name"].value = "Gut formula X"
    assert form.cautions_info.get_state()["value"] == ""
    form.bar.save_button.click()
    assert "no_substance_reason" in form.bar.message.get_state()["value"]
    form.substances.value = "licorice root, unobtainium"
    assert "unobtainium" in form.substances_info.get_state()["value"]
    assert "licorice.blood_pressure_potassium" in form.confirm.rows
    reason, advised = form.confirm.rows["licorice.blood_pressure_potassium"]
    reason.value = "GP monitors blood pressure weekly and agreed a four week course"
    assert advised is not None
    advised.value = "Dr C, GP"
    form.bar.save_button.click()
    (item,) = sqlite_store.load_case(PID).plan
    assert item.substances == ["licorice"]
    form.edit(item)
    assert form.substances.value == "licorice" and not form.bar.dirty


def test_a_medicine_or_a_birthday_can_put_an_item_up_for_review() -> None:
    item = _typed("Berberine 500 mg")
    adult = _case(plan=(item,))
    assert items_for_review(adult, CATALOG, TODAY) == []
    on_tacrolimus = _case(
        Medication(drug_class="immunosuppressant", name="tacrolimus"), plan=(item,)
    )
    ((_, missing),) = items_for_review(on_tacrolimus, CATALOG, TODAY)
    assert [m.key for m in missing] == ["berberine.cyp_pgp"]
    child = adult.model_copy(
        update={"patient": adult.patient.model_copy(update={"birth_date": date(2010, 1, 1)})}
    )
    ((_, missing),) = items_for_review(child, CATALOG, TODAY)
    assert [m.key for m in missing] == ["berberine.child"]
