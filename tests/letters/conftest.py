"""Fixtures for the letters: a seeded alarm case with known history, and PDF text."""

from __future__ import annotations

from datetime import date

import pytest
from letters_helpers import TODAY

from casebook.catalog import Catalog, default_catalog
from casebook.demo.synthetic import generate_cases
from casebook.letters import ClinicSettings
from casebook.models import (
    Case,
    FamilyHistory,
    HistoryEntry,
    Infection,
    InflammatoryCondition,
    Medication,
    PlanItem,
)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()


@pytest.fixture(scope="session")
def settings() -> ClinicSettings:
    return ClinicSettings(
        name="Example Digestive Health Clinic",
        address=("1 Example Street", "Exampletown EX1"),
        phone="000 0000 0000",
        email="clinic@example.org",
        practitioner="A. Example",
        credentials="ND",
    )


def _with_history(case: Case) -> Case:
    """The seeded alarm case (demo-0001) plus history and a supplement the tests look for."""
    pid = case.patient.id
    extra = [
        InflammatoryCondition(condition="celiac_disease", status="suspected"),
        Infection(
            kind="parasitic",
            name="Giardia",
            onset=date(2023, 3, 1),
            resolved=date(2023, 4, 1),
            treated_with="metronidazole",
        ),
        FamilyHistory(relative="sibling", condition="colorectal_cancer", age_at_onset=52),
        Medication(
            drug_class="proton_pump_inhibitor",
            name="Omeprazole",
            dose="20 mg daily",
            start=date(2024, 1, 10),
        ),
        Medication(
            drug_class="antibiotic",
            name="Stoppedcillin",
            dose="1 g",
            start=date(2023, 1, 1),
            end=date(2023, 1, 7),
        ),
    ]
    history = [*case.history, *(HistoryEntry(patient_id=pid, data=d) for d in extra)]
    plan = [
        *case.plan,
        PlanItem(
            patient_id=pid,
            category="microbiome_support",
            name="Saccharomyces boulardii",
            dose="250 mg",
            frequency="twice daily",
            start=date(2025, 1, 5),
            status="active",
            instructions="Take with a glass of water.",
            rationale="RATIONALE-FOR-PRACTITIONER",
        ),
    ]
    case = case.model_copy(update={"history": history, "plan": plan})
    # the added omeprazole matches the demo plan's cautions: confirm them, as the store needs
    from casebook.clinical.cautions import unconfirmed_cautions
    from casebook.models import CautionConfirmation

    cat = default_catalog()
    confirmed = [
        i.model_copy(
            update={
                "caution_confirmations": [
                    *i.caution_confirmations,
                    *(
                        CautionConfirmation(
                            key=m.key, reason="Taken apart from other medicines", on=TODAY
                        )
                        for m in unconfirmed_cautions(case, cat, i, TODAY)
                    ),
                ]
            }
        )
        for i in case.plan
    ]
    return case.model_copy(update={"plan": confirmed})


@pytest.fixture(scope="session")
def alarm_case(catalog: Catalog) -> Case:
    return _with_history(generate_cases(1, seed=1, today=TODAY, catalog=catalog)[0])
