"""Cautions checked against the patient: matching, the refused save, the confirmation, the
audit row, the plan form and `casebook show`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casebook.catalog import CatalogError, default_catalog, load_catalog
from casebook.cli._report import case_text
from casebook.clinical.cautions import (
    active_cautions,
    case_cautions,
    protocol_warning,
    safety_facts,
)
from casebook.clinical.derive import RecordError
from casebook.models import (
    AlarmScreen,
    Case,
    CautionConfirmation,
    HistoryEntry,
    Medication,
    Patient,
    PlanItem,
    SafetyFacts,
    Visit,
)
from casebook.store import CaseStore
from casebook.workbook.widgets.plan import PlanForm
from casebook.workbook.widgets.session import CaseSession

PID = "c-001"
CATALOG = default_catalog()
TODAY = date(2024, 6, 1)


def _template(key: str):  # type: ignore[no-untyped-def]
    return next(t for t in CATALOG.protocols if t.key == key)


def _case(
    *history: object,
    born: date = date(1990, 1, 1),
    plan: tuple[PlanItem, ...] = (),
    visits: tuple[Visit, ...] = (),
) -> Case:
    return Case(
        patient=Patient(id=PID, name="Test Patient", birth_date=born, sex="female"),
        history=[HistoryEntry(patient_id=PID, data=d) for d in history],  # type: ignore[arg-type]
        plan=list(plan),
        visits=list(visits),
    )


def _item(key: str, status: str = "proposed", **extra: object) -> PlanItem:
    tpl = _template(key)
    return PlanItem(
        patient_id=PID,
        category=tpl.category,
        name=tpl.name,
        template=key,
        status=status,
        start=TODAY,
        **extra,
    )  # type: ignore[arg-type]


def _keys(case: Case, key: str) -> set[str]:
    return {m.key for m in active_cautions(case, CATALOG, _template(key), TODAY)}


# --- matching on both sides --------------------------------------------------------------
def test_berberine_pregnancy_matches_only_when_recorded_pregnant() -> None:
    assert "berberine.pregnancy" in _keys(
        _case(SafetyFacts(pregnant=True)), "herbal_antimicrobial_sibo"
    )
    assert "berberine.pregnancy" in _keys(
        _case(SafetyFacts(breastfeeding=True)), "herbal_antimicrobial_sibo"
    )
    assert "berberine.pregnancy" not in _keys(
        _case(SafetyFacts(pregnant=False)), "herbal_antimicrobial_sibo"
    )
    assert _keys(_case(), "herbal_antimicrobial_sibo") == set()  # nothing asked: no match


def test_a_later_safety_entry_overrides_an_earlier_one() -> None:
    case = _case(
        SafetyFacts(recorded_on=date(2024, 1, 1), pregnant=True),
        SafetyFacts(recorded_on=date(2024, 5, 1), pregnant=False, reflux=True),
    )
    assert safety_facts(case) == {"pregnant": False, "reflux": True}
    assert "berberine.pregnancy" not in _keys(case, "herbal_antimicrobial_sibo")


def test_berberine_with_diabetes_medicine_only_while_it_is_taken() -> None:
    current = Medication(drug_class="diabetes_medicine", name="metformin")
    stopped = Medication(
        drug_class="diabetes_medicine",
        name="metformin",
        start=date(2020, 1, 1),
        end=date(2021, 1, 1),
    )
    other = Medication(drug_class="nsaid", name="ibuprofen")
    assert "berberine.diabetes" in _keys(_case(current), "herbal_antimicrobial_sibo")
    assert "berberine.diabetes" not in _keys(_case(stopped), "herbal_antimicrobial_sibo")
    assert "berberine.diabetes" not in _keys(_case(other), "herbal_antimicrobial_sibo")
    ciclosporin = Medication(drug_class="immunosuppressant", name="ciclosporin")
    assert "berberine.cyp_pgp" in _keys(_case(ciclosporin), "herbal_antimicrobial_sibo")


def test_probiotics_immunocompromise_and_central_lines() -> None:
    p = "probiotic_unspecified."
    assert _keys(_case(SafetyFacts(immunosuppressed=True)), "probiotic_trial") == {
        p + "immunocompromised"
    }
    assert _keys(_case(SafetyFacts(central_line_or_critical_illness=True)), "probiotic_trial") == {
        p + "central_line_critical"
    }
    assert _keys(
        _case(Medication(drug_class="chemotherapy", name="capecitabine")), "probiotic_trial"
    ) == {p + "immunocompromised"}
    steroid = Medication(drug_class="systemic_corticosteroid", name="prednisolone")
    assert _keys(_case(steroid), "probiotic_trial") == {p + "immunocompromised"}
    inhaled = Medication(drug_class="steroid", name="budesonide inhaler")
    assert _keys(_case(inhaled), "probiotic_trial") == set()
    for fact, key in (
        ("heart_valve_disease", "heart_valve"),
        ("jejunal_feeding", "jejunal_feeding"),
        ("severe_acute_pancreatitis", "severe_pancreatitis"),
    ):
        assert _keys(_case(SafetyFacts(**{fact: True})), "probiotic_trial") == {p + key}
        assert _keys(_case(SafetyFacts(**{fact: False})), "probiotic_trial") == set()
    assert _keys(_case(SafetyFacts(immunosuppressed=False)), "probiotic_trial") == set()


def test_elimination_diets_children_and_eating_disorders() -> None:
    child = _case(born=date(2010, 1, 1))
    assert "child" in _keys(child, "low_fodmap_diet")
    assert "child" not in _keys(_case(born=date(2006, 5, 31)), "low_fodmap_diet")  # 18 today
    assert "child" in _keys(_case(born=date(2006, 6, 2)), "low_fodmap_diet")  # 17 today
    assert "eating_disorder" in _keys(
        _case(SafetyFacts(eating_disorder_history=True)), "supervised_elimination_reintroduction"
    )
    assert (
        _keys(
            _case(SafetyFacts(eating_disorder_history=False)),
            "supervised_elimination_reintroduction",
        )
        == set()
    )


def test_peppermint_with_acid_suppression_psyllium_with_any_medicine() -> None:
    ppi = Medication(drug_class="proton_pump_inhibitor", name="omeprazole")
    assert "peppermint.acid_suppressants" in _keys(_case(ppi), "peppermint_oil")
    assert "peppermint.acid_suppressants" not in _keys(_case(), "peppermint_oil")
    assert _keys(_case(ppi), "soluble_fibre_psyllium") == {"psyllium.medicine_spacing"}
    assert _keys(_case(), "soluble_fibre_psyllium") == set()
    assert "vitamin_d3.hypercalcemia" in _keys(
        _case(SafetyFacts(hypercalcemia_or_granulomatous_disease=True)), "vitamin_d_repletion"
    )


def test_every_template_carries_sourced_cautions_or_says_why_not() -> None:
    for tpl in CATALOG.protocols:
        assert tpl.patient_name
        assert tpl.cautions or tpl.substances or tpl.no_cautions_reason, tpl.key
        cautions = [
            *tpl.cautions,
            *(c for k in tpl.substances for c in CATALOG.substances[k].cautions),
        ]
        assert cautions or tpl.no_cautions_reason, tpl.key
        for caution in cautions:
            assert caution.source and "notes" not in caution.source.lower()
    assert any(t.key == "supervised_elimination_reintroduction" for t in CATALOG.protocols)


# --- the loader -----------------------------------------------------------------------
_TEMPLATE = """
[[protocol]]
key = "clinic_tea"
category = "herbal"
name = "Clinic tea"
patient_name = "Herbal tea"
instructions = "Drink one cup."
rationale = "Synthetic."
evidence = "research-only"
source = "Synthetic"
"""


def test_the_loader_refuses_a_template_without_cautions(tmp_path: Path) -> None:
    (tmp_path / "protocols.toml").write_text(_TEMPLATE, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"clinic_tea.*cautions: Field required"):
        load_catalog(tmp_path)
    (tmp_path / "protocols.toml").write_text(_TEMPLATE + "cautions = []\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="needs substances or no_cautions_reason"):
        load_catalog(tmp_path)
    (tmp_path / "protocols.toml").write_text(
        _TEMPLATE + 'cautions = []\nno_cautions_reason = "Nothing applies."\n', encoding="utf-8"
    )
    assert any(t.key == "clinic_tea" for t in load_catalog(tmp_path).protocols)


def test_the_loader_refuses_a_caution_on_an_unknown_fact(tmp_path: Path) -> None:
    (tmp_path / "protocols.toml").write_text(
        _TEMPLATE
        + """
[[protocol.cautions]]
key = "moon"
kind = "population"
facts = ["full_moon"]
text = "x"
source = "y"
""",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="unknown safety facts"):
        load_catalog(tmp_path)


# --- the save: refused, then accepted with a reason, audited ----------------------------
def _stored_patient(store: CaseStore, *facts: SafetyFacts) -> None:
    store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    for data in facts:
        store.save(HistoryEntry(patient_id=PID, data=data))


def test_a_berberine_course_for_a_pregnant_patient_needs_a_confirmation(store: CaseStore) -> None:
    _stored_patient(store, SafetyFacts(pregnant=True))
    item = _item("herbal_antimicrobial_sibo")
    with pytest.raises(RecordError, match=r"'berberine.pregnancy'.*recorded as pregnant"):
        store.save(item)

    def confirmed(reason: str, advised_by: str = "") -> PlanItem:
        c = CautionConfirmation.model_construct(
            key="berberine.pregnancy", reason=reason, by="dr a", advised_by=advised_by, on=TODAY
        )
        return item.model_copy(update={"caution_confirmations": [c]})

    for token in ("  ", ".", "ok", "N/A", "agreed"):
        with pytest.raises(RecordError, match="token"):
            store.save(confirmed(token, "Dr B"))
    with pytest.raises(RecordError, match="at least 5 words"):
        store.save(confirmed("Obstetrician agreed after review", "Dr B"))
    reason = "Obstetrician reviewed the risk and agreed a two-week course"
    with pytest.raises(RecordError, match="advised_by"):
        store.save(confirmed(reason))
    assert store.load_case(PID).plan == []
    saved = store.save(confirmed(reason, "Dr B, obstetrician"))
    assert store.load_case(PID).plan == [saved]
    (row,) = [e for e in store.audit_log(PID) if e.entity == "plan"]
    assert row.action == "create"
    assert row.after["caution_confirmations"][0]["reason"] == reason
    assert row.after["caution_confirmations"][0]["advised_by"] == "Dr B, obstetrician"
    assert row.after["substances"] == []  # from the template, not copied onto the item


def test_an_interaction_needs_two_words_and_each_caution_its_own_reason(
    store: CaseStore,
) -> None:
    store.add_patient(
        Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female")
    )
    for med in (
        Medication(drug_class="diabetes_medicine", name="metformin"),
        Medication(drug_class="immunosuppressant", name="tacrolimus"),
    ):
        store.save(HistoryEntry(patient_id=PID, data=med))
    item = _item("herbal_antimicrobial_sibo")

    def with_reasons(*pairs: tuple[str, str]) -> PlanItem:
        cs = [CautionConfirmation(key=k, reason=r, by="dr a", on=TODAY) for k, r in pairs]
        return item.model_copy(update={"caution_confirmations": cs})

    with pytest.raises(RecordError, match="at least 2 words"):
        store.save(
            with_reasons(("berberine.diabetes", "monitored"), ("berberine.cyp_pgp", "Level weekly"))
        )
    same = "Levels checked with the prescriber"
    with pytest.raises(RecordError, match="repeats another's reason"):
        store.save(with_reasons(("berberine.diabetes", same), ("berberine.cyp_pgp", same)))
    saved = store.save(
        with_reasons(
            ("berberine.diabetes", "Glucose diary agreed"),
            ("berberine.cyp_pgp", "Tacrolimus level in a week"),
        )
    )
    assert len(saved.caution_confirmations) == 2


def test_a_stopped_item_and_a_patient_without_the_fact_save_freely(store: CaseStore) -> None:
    _stored_patient(store, SafetyFacts(pregnant=False))
    saved = store.save(_item("herbal_antimicrobial_sibo"))
    assert saved.version == 1
    store.save(HistoryEntry(patient_id=PID, data=SafetyFacts(recorded_on=TODAY, pregnant=True)))
    stopped = store.save(saved.model_copy(update={"status": "stopped", "end": TODAY}))
    assert stopped.status == "stopped"  # history: never checked
    with pytest.raises(RecordError, match="pregnancy"):  # re-starting is checked again
        store.save(stopped.model_copy(update={"status": "active", "end": None}))


def test_a_whole_case_import_lists_an_unconfirmed_item_for_review(
    sqlite_store: CaseStore, tmp_path: Path
) -> None:
    """A case's own export always imports back: an unconfirmed caution is kept, and the item
    is listed for review (never silently accepted, never a backup that cannot be restored)."""
    from casebook.clinical.cautions import items_for_review
    from casebook.interop import case_from_json, case_to_json
    from casebook.store import import_case

    case = _case(SafetyFacts(pregnant=True), plan=(_item("herbal_antimicrobial_sibo", "active"),))
    assert import_case(sqlite_store, case) == "created"
    stored = sqlite_store.load_case(PID)
    ((_, missing),) = items_for_review(stored, CATALOG, TODAY)
    assert [m.key for m in missing] == ["berberine.pregnancy"]
    text = case_to_json(stored)
    other = CaseStore(f"sqlite:///{tmp_path / 'restored.db'}", create=True, actor="t")
    assert import_case(other, case_from_json(text)) == "created"
    assert other.load_case(PID).plan == stored.plan
    other.close()


def test_a_large_case_import_works_the_safety_facts_out_once(
    sqlite_store: CaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linear imports: every plan item is checked against one index of the case."""
    from casebook.clinical import cautions
    from casebook.store import import_case

    calls: list[int] = []
    real = cautions.safety_facts

    def counted(case: Case) -> dict[str, bool]:
        calls.append(len(case.plan))
        return real(case)

    monkeypatch.setattr(cautions, "safety_facts", counted)
    reason = CautionConfirmation(
        key="l_glutamine.pregnancy", reason="Obstetrician agreed", on=TODAY
    )
    fine = [_item("glutamine_trial", caution_confirmations=[reason]) for _ in range(300)]
    case = _case(SafetyFacts(pregnant=True), plan=(*fine, _item("glutamine_trial")))
    assert import_case(sqlite_store, case) == "created"
    assert calls == [301]  # once for the whole case
    stored = sqlite_store.load_case(PID)
    assert len(stored.plan) == 301
    assert len(cautions.items_for_review(stored, CATALOG, TODAY)) == 1


def test_replacing_a_case_checks_cautions_once_not_per_item(
    sqlite_store: CaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`import case --replace` saves record by record without re-reading the case per item."""
    from casebook.store import import_case, writes

    reason = CautionConfirmation(
        key="l_glutamine.pregnancy", reason="Obstetrician agreed", on=TODAY
    )
    fine = [_item("glutamine_trial", caution_confirmations=[reason]) for _ in range(40)]
    case = _case(SafetyFacts(pregnant=True), plan=tuple(fine))
    assert import_case(sqlite_store, case) == "created"
    stored = sqlite_store.load_case(PID)
    renamed = [p.model_copy(update={"name": p.name + " (renamed)"}) for p in stored.plan]
    reads: list[str] = []
    real = writes.read_case
    monkeypatch.setattr(writes, "read_case", lambda conn, pid: reads.append(pid) or real(conn, pid))
    replaced = stored.model_copy(update={"plan": renamed})
    assert import_case(sqlite_store, replaced, replace=True) == "replaced"
    assert reads == []  # no per-item re-read of the case
    assert all(p.name.endswith("(renamed)") for p in sqlite_store.load_case(PID).plan)


# --- the plan form and `casebook show` ---------------------------------------------------
def test_the_plan_form_shows_the_caution_before_it_can_be_saved(sqlite_store: CaseStore) -> None:
    _stored_patient(sqlite_store, SafetyFacts(pregnant=True))
    session = CaseSession(sqlite_store, PID)
    form = PlanForm(session)
    form.fields["category"].value = "herbal"
    assert form.cautions_info.get_state()["value"] == ""
    form.template.value = "herbal_antimicrobial_sibo"
    form.use_template.click()
    shown = form.cautions_info.get_state()["value"]
    assert "berberine.pregnancy" in shown and "recorded as pregnant" in shown
    assert "NCCIH" in shown and "Needs its own reason" in shown
    reason, advised = form.confirm.rows["berberine.pregnancy"]
    assert advised is not None  # a contraindication asks who advised
    form.bar.save_button.click()
    assert sqlite_store.load_case(PID).plan == []
    assert "pregnancy" in form.bar.message.get_state()["value"]
    reason.value = "Obstetrician reviewed the risk and agreed a short course"
    form.bar.save_button.click()
    assert sqlite_store.load_case(PID).plan == []  # no one named as advising
    assert "advised_by" in form.bar.message.get_state()["value"]
    advised.value = "Dr B, obstetrician"
    form.bar.save_button.click()
    (item,) = sqlite_store.load_case(PID).plan
    assert [(c.key, c.advised_by, c.by) for c in item.caution_confirmations] == [
        ("berberine.pregnancy", "Dr B, obstetrician", sqlite_store.actor)
    ]
    assert item.patient_name == _template("herbal_antimicrobial_sibo").patient_name
    form.edit(item)
    assert "Confirmed by" in form.cautions_info.get_state()["value"]
    assert "advised by Dr B" in form.cautions_info.get_state()["value"]
    assert form.confirm.rows == {}


def test_a_typed_item_is_matched_against_the_substance_catalog(sqlite_store: CaseStore) -> None:
    _stored_patient(sqlite_store, SafetyFacts(pregnant=True))
    typed = PlanItem(patient_id=PID, category="herbal", name="Berberine 500 mg", status="active")
    with pytest.raises(RecordError, match=r"'berberine.pregnancy'.*recorded as pregnant"):
        sqlite_store.save(typed)
    unknown = typed.model_copy(update={"name": "Oregano oil capsules"})
    with pytest.raises(RecordError, match=r"plan item substances: .*no_substance_reason"):
        sqlite_store.save(unknown)
    with pytest.raises(RecordError, match="token"):
        sqlite_store.save(unknown.model_copy(update={"no_substance_reason": "n/a"}))
    saved = sqlite_store.save(
        unknown.model_copy(update={"no_substance_reason": "Oregano oil is not in the catalog"})
    )
    assert saved.substances == []
    ok = CautionConfirmation(key="fish_oil.pregnancy", reason="Obstetric team agreed", on=TODAY)
    fish = PlanItem(
        patient_id=PID,
        category="nutritional_support",
        name="Fish oil 2 g",
        caution_confirmations=[ok],
    )
    assert sqlite_store.save(fish).substances == ["fish_oil"]  # the match is kept on the item
    with pytest.raises(RecordError, match="unknown substance 'unicorn'"):
        sqlite_store.save(fish.model_copy(update={"substances": ["unicorn"]}))


def _urgent_visit() -> Visit:
    return Visit(
        patient_id=PID, kind="intake", visit_date=date(2024, 5, 1), screen=AlarmScreen(melena=True)
    )


def test_a_gut_protocol_beside_an_open_urgent_flag_warns() -> None:
    running = _case(visits=(_urgent_visit(),), plan=(_item("peppermint_oil", "active"),))
    warning = protocol_warning(running, CATALOG)
    assert warning is not None and "no matching referral" in warning
    assert protocol_warning(running, CATALOG, "referral") is None
    referred = _case(
        visits=(_urgent_visit(),),
        plan=(_item("peppermint_oil", "active"), _item("gastroenterology_referral", "active")),
    )
    assert protocol_warning(referred, CATALOG) is None
    dietitian = _case(
        visits=(_urgent_visit(),),
        plan=(_item("peppermint_oil", "active"), _item("dietitian_referral", "active")),
    )
    assert protocol_warning(dietitian, CATALOG) is not None  # not the flag's action
    typed = PlanItem(
        patient_id=PID, category="referral", name="Suspected cancer pathway referral (2WW)"
    )
    typed_case = _case(visits=(_urgent_visit(),), plan=(_item("peppermint_oil", "active"), typed))
    assert protocol_warning(typed_case, CATALOG) is None
    calm = _case(
        visits=(
            Visit(
                patient_id=PID,
                kind="intake",
                visit_date=date(2024, 5, 1),
                screen=AlarmScreen(melena=False),
            ),
        ),
        plan=(_item("peppermint_oil", "active"),),
    )
    assert protocol_warning(calm, CATALOG) is None
    assert "WARNING" in case_text(running, CATALOG, today=TODAY)
    assert "WARNING" not in case_text(referred, CATALOG, today=TODAY)


def test_the_plan_form_warns_when_a_gut_protocol_would_start_beside_a_flag(
    sqlite_store: CaseStore,
) -> None:
    _stored_patient(sqlite_store)
    sqlite_store.save(_urgent_visit())
    form = PlanForm(CaseSession(sqlite_store, PID))
    form.fields["category"].value = "herbal"
    assert "no matching referral" in form.flag_warning.get_state()["value"]
    form.fields["category"].value = "referral"
    assert form.flag_warning.get_state()["value"] == ""


def test_casebook_show_lists_active_cautions_with_their_state() -> None:
    ppi = Medication(drug_class="proton_pump_inhibitor", name="omeprazole")
    item = _item("peppermint_oil", "active")
    text = case_text(_case(ppi, plan=(item,)), CATALOG, today=TODAY)
    assert "CAUTIONS" in text and "peppermint.acid_suppressants" in text
    assert "NOT CONFIRMED" in text
    assert "EMA HMPC" in text
    confirmed = item.model_copy(
        update={
            "caution_confirmations": [
                CautionConfirmation(
                    key="peppermint.acid_suppressants",
                    reason="Taken 2 h apart",
                    by="dr a",
                    on=TODAY,
                )
            ]
        }
    )
    text = case_text(_case(ppi, plan=(confirmed,)), CATALOG, today=TODAY)
    assert "confirmed by dr a" in text and "NOT CONFIRMED" not in text
    assert "cautions: none" in case_text(_case(plan=(item,)), CATALOG, today=TODAY)
    assert (
        case_cautions(
            _case(ppi, plan=(item.model_copy(update={"status": "stopped"}),)), CATALOG, TODAY
        )
        == []
    )


def test_every_safety_fact_has_words_for_the_practitioner() -> None:
    from casebook.clinical import cautions
    from casebook.models import SAFETY_FACTS

    assert set(cautions._FACT_WORDS) == set(SAFETY_FACTS)
