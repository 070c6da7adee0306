"""Tests: the catalog by group with evidence visible before ordering, order status, results
with unit, range and flag, and the trend chart per analyte."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from casebook.models import TestOrder
from casebook.store import CaseStore
from casebook.workbook.widgets.orders import GROUPS, OrderForm, OrderStatusForm
from casebook.workbook.widgets.results import ResultForm, ResultsView
from casebook.workbook.widgets.session import CaseSession


def test_tests_are_grouped_and_show_their_evidence_first(session: CaseSession) -> None:
    form = OrderForm(session)
    seen = set()
    for group in GROUPS:
        form.group.value = group
        keys = [k for _, k in form.test.options]
        assert keys and all(session.catalog.tests[k].group == group for k in keys)
        seen |= set(keys)
    assert seen == set(session.catalog.tests)
    form.choose("calprotectin")
    text = form.evidence.get_state()["value"]
    assert "guideline-backed" in text and "Source:" in text
    assert form.fields["confirm"].row.layout.display == "none"


def test_a_not_recommended_test_warns_and_needs_confirmation(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 3, 1))
    form = OrderForm(session)
    form.choose("zonulin")
    text = form.evidence.value
    assert "Not recommended" in text and "not-recommended" in text
    assert session.catalog.tests["zonulin"].source.split(".")[0] in text
    assert form.fields["confirm"].row.layout.display == "flex"
    form.bar.save_button.click()
    assert "tick to confirm" in form.fields["confirm"].error.value
    assert sqlite_store.load_case(session.patient_id).orders == []
    form.fields["confirm"].value = True
    form.fields["reason"].value = "patient asked"
    form.bar.save_button.click()
    (order,) = sqlite_store.load_case(session.patient_id).orders
    assert (order.test, order.status, order.ordered_on) == ("zonulin", "ordered", date(2024, 3, 1))
    assert order.visit_id == session.visit_id and order.reason == "patient asked"


def test_order_status_is_tracked(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 3, 1))
    order = session.save(
        [TestOrder(patient_id=session.patient_id, test="calprotectin", ordered_on=date(2024, 3, 1))]
    )[0]
    form = OrderStatusForm(session)
    (row,) = form.rows
    row.fields["status"].value = "collected"
    form.bar.save_button.click()
    assert "needs a collected_on date" in row.fields["collected_on"].error.value
    assert sqlite_store.load_case(session.patient_id).orders[0].status == "ordered"
    row.fields["collected_on"].value = date(2024, 3, 4)
    form.bar.save_button.click()
    stored = sqlite_store.load_case(session.patient_id).orders[0]
    assert (stored.status, stored.collected_on, stored.version) == (
        "collected",
        date(2024, 3, 4),
        order.version + 1,
    )
    (row,) = form.rows
    row.fields["status"].value = "cancelled"
    form.bar.save_button.click()
    assert sqlite_store.load_case(session.patient_id).orders[0].status == "cancelled"
    assert form.rows == [] and "No open orders" in form.list.children[0].value


def test_a_result_for_an_order_gets_range_flag_and_resolves_it(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 3, 1))
    order = session.save(
        [TestOrder(patient_id=session.patient_id, test="ferritin", ordered_on=date(2024, 3, 1))]
    )[0]
    form, view = ResultForm(session), ResultsView(session)
    form.order.value = order.id
    assert form.test.layout.display == "none"
    assert form.fields["unit"].widget.value == "ng/mL"
    assert form.fields["ref_low"].widget.value == "30"
    form.fields["collected_on"].value = date(2024, 3, 5)
    form.fields["value"].value = "twelve"
    form.bar.save_button.click()
    assert "not a number" in form.fields["value"].error.value
    form.fields["value"].value = "12"
    form.bar.save_button.click()
    case = sqlite_store.load_case(session.patient_id)
    (result,) = case.results
    assert (result.value, result.unit, result.ref_low, result.flag) == (12.0, "ng/mL", 30.0, "L")
    assert result.order_id == order.id
    assert case.orders[0].status == "resulted"
    assert case.orders[0].collected_on == date(2024, 3, 5)
    table = view.table.get_state()["value"]
    assert "Ferritin" in table and "L low" in table
    assert view.analyte.value == "ferritin"
    assert "<svg" in view.chart.widget.value


def test_a_wrong_unit_is_refused_beside_the_field(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 3, 1))
    form = ResultForm(session)
    form.test.value = "vitamin_d"
    form.fields["value"].value = "75"
    form.fields["unit"].value = "nmol/L"
    form.bar.save_button.click()
    assert "convert the value first" in form.fields["unit"].error.value
    assert sqlite_store.load_case(session.patient_id).results == []
    form.fields["unit"].value = "ng/mL"
    form.fields["value"].value = "120"  # above the usual printed range of 20-100 ng/mL
    form.bar.save_button.click()
    assert sqlite_store.load_case(session.patient_id).results[0].flag == "H"


def test_a_qualitative_result_is_flagged_abnormal(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 3, 1))
    form = ResultForm(session)
    form.test.value = "giardia_antigen"
    assert "Type one of" in form.hint.value
    form.fields["value"].value = "maybe"
    form.bar.save_button.click()
    assert "is not one of" in form.bar.message.value
    form.fields["value"].value = "positive"
    form.bar.save_button.click()
    assert sqlite_store.load_case(session.patient_id).results[0].flag == "A"
    assert "Giardia" in " ".join(f.label for f in session.red_flags())


def test_the_test_picker_names_each_group_once(session: CaseSession) -> None:
    labels = dict((key, label) for label, key in ResultForm(session).test.options)
    assert labels["giardia_antigen"] == "Giardia antigen or PCR (stool)"
    assert labels["calprotectin"].endswith(f"({session.catalog.tests['calprotectin'].group})")
    assert not [label for label in labels.values() if label.count("(stool)") > 1]
