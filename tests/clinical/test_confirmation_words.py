"""One confirmation sentence shape: the workbook's caution panel and `casebook show` put
the same parts (`confirmation_words`) in their own words."""

from __future__ import annotations

from datetime import date

from casebook.catalog import default_catalog
from casebook.cli._report import case_text
from casebook.clinical.cautions import ConfirmationWords, case_cautions, confirmation_words
from casebook.models import Case, CautionConfirmation, HistoryEntry, Medication, Patient, PlanItem
from casebook.workbook.widgets.confirm import cautions_html

PID = "c-001"
CATALOG = default_catalog()
TODAY = date(2024, 6, 1)
KEY = "peppermint.acid_suppressants"


def _case(*confirmations: CautionConfirmation) -> Case:
    tpl = next(t for t in CATALOG.protocols if t.key == "peppermint_oil")
    item = PlanItem(
        patient_id=PID,
        category=tpl.category,
        name=tpl.name,
        template=tpl.key,
        status="active",
        start=TODAY,
        caution_confirmations=list(confirmations),
    )
    ppi = Medication(drug_class="proton_pump_inhibitor", name="omeprazole")
    return Case(
        patient=Patient(id=PID, name="Test Patient", birth_date=date(1990, 1, 1), sex="female"),
        history=[HistoryEntry(patient_id=PID, data=ppi)],
        plan=[item],
    )


def _match(case: Case):  # type: ignore[no-untyped-def]
    return next(m for m in case_cautions(case, CATALOG, TODAY) if m.key == KEY)


def test_a_confirmed_caution_reads_the_same_parts_in_both_views() -> None:
    confirmed = CautionConfirmation(
        key=KEY, reason="Taken 2 h apart", by="dr a", advised_by="Dr <Gut>", on=TODAY
    )
    case = _case(confirmed)
    words = confirmation_words(_match(case))
    assert words == ConfirmationWords(
        by="dr a", advised_by="Dr <Gut>", on="2024-06-01", reason="Taken 2 h apart"
    )
    assert "confirmed by dr a, advised by Dr <Gut> on 2024-06-01: Taken 2 h apart" in case_text(
        case, CATALOG, today=TODAY
    )
    assert (
        "Confirmed by dr a (advised by Dr &lt;Gut&gt;) on 2024-06-01: Taken 2 h apart"
        in cautions_html([_match(case)])
    )


def test_who_confirmed_reads_unknown_when_nobody_was_recorded() -> None:
    case = _case(CautionConfirmation(key=KEY, reason="Taken 2 h apart", on=TODAY))
    words = confirmation_words(_match(case))
    assert (words.by, words.advised_by) == ("unknown", "")
    assert "confirmed by unknown on 2024-06-01" in case_text(case, CATALOG, today=TODAY)
    assert "Confirmed by unknown on 2024-06-01" in cautions_html([_match(case)])


def test_an_open_caution_gives_only_its_problem() -> None:
    case = _case()
    assert confirmation_words(_match(case)) == ConfirmationWords(problem="not confirmed")
    assert "NOT CONFIRMED: not confirmed; listed for review" in case_text(
        case, CATALOG, today=TODAY
    )
    assert "Needs its own reason to go ahead (not confirmed)." in cautions_html([_match(case)])
