"""The demo follows its own rules, over many seeds."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.cautions import case_cautions, protocol_warning
from casebook.clinical.red_flags import red_flags
from casebook.demo.synthetic import generate_cases
from casebook.models import Infection

CATALOG = default_catalog()
ORGANISMS = {"Giardia": "parasitic", "norovirus": "viral", "Campylobacter": "bacterial"}


@pytest.mark.parametrize("seed", range(1, 9))
def test_demo_cases_follow_the_rules(seed: int) -> None:
    today = date(2025, 3, 1)
    for case in generate_cases(12, seed=seed, today=today, catalog=CATALOG):
        pid = case.patient.id
        live = [i for i in case.plan if i.status in ("active", "proposed")]
        flags = [
            f
            for f in red_flags(case, CATALOG.red_flags, CATALOG.instruments, CATALOG.tests)
            if f.urgency in ("urgent", "same_day")
        ]
        if flags and any(i.category != "referral" for i in live):
            assert any(i.category == "referral" for i in live), f"{pid}: flag without referral"
        assert protocol_warning(case, CATALOG) is None, pid
        for entry in case.history:
            if isinstance(entry.data, Infection):
                assert ORGANISMS[entry.data.name] == entry.data.kind, pid
        for item in case.plan:
            before = [r for r in case.results if item.start and r.collected_on <= item.start]
            if item.template == "vitamin_d_repletion":
                vit_d = max(
                    (r for r in before if r.test == "vitamin_d"), key=lambda r: r.collected_on
                )
                assert vit_d.value is not None and vit_d.value < 20, pid
            if item.template == "herbal_antimicrobial_sibo":
                assert any(r.test.startswith("sibo_") for r in before), pid
            if item.template == "gluten_free_trial":
                assert any(r.test == "ttg_iga" for r in before), pid
            assert item.patient_name, pid
        unconfirmed = [m for m in case_cautions(case, CATALOG, today) if not m.confirmed]
        assert unconfirmed == [], pid


def test_the_rules_are_exercised() -> None:
    """The seeds above do meet flags, cautions and infections (so the test can fail)."""
    cases = [c for s in range(1, 9) for c in generate_cases(12, seed=s, catalog=CATALOG)]
    assert sum(bool(case_cautions(c, CATALOG)) for c in cases) >= 5
    assert any(isinstance(e.data, Infection) for c in cases for e in c.history)
    assert sum(any(i.category == "referral" for i in c.plan) for c in cases) >= 5
