"""The workbook in a real browser: JupyterLab on a free port over a generated case notebook,
driven by Debian's chromium through Playwright. It runs all cells, waits for the widgets and
the drawn charts, changes a symptom rating and adds a plan item through the UI, saves both,
and reads them back from the store. Any request to a host other than the local server fails
the test. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from casebook.demo import DemoResult
from casebook.store import CaseStore
from casebook.workbook import case_notebook
from tests.workbook.lab import CHROMIUM, CHROMIUM_ARGS, NEEDS_CHROMIUM, Lab, open_and_run

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow, NEEDS_CHROMIUM]


def test_the_workbook_in_jupyterlab(lab: Lab, demo_store: DemoResult) -> None:
    from playwright.sync_api import sync_playwright

    base, token = lab.base, lab.token
    pid = demo_store.patient_ids[0]
    workbook = lab.path(case_notebook(pid, demo_store.url, lab.folder / "notebooks"))
    store = CaseStore(demo_store.url)
    case = store.load_case(pid)
    latest = case.sorted_visits()[-1]
    before = next(
        r for r in case.symptoms if r.visit_id == latest.id and r.symptom == "bloating"
    ).severity
    wanted = 4 if before != 4 else 1
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            foreign = open_and_run(page, base, token, workbook)

            symptom = page.locator(".casebook-symptom-bloating")
            symptom.wait_for()
            page.get_by_role("button", name="New plan item").wait_for()
            charts = page.locator(".casebook-chart-widget svg")
            page.wait_for_function(
                "document.querySelectorAll('.casebook-chart-widget svg').length >= 4"
            )
            assert page.get_by_text("could not be drawn").count() == 0
            assert charts.count() >= 4
            page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").first.evaluate(
                "el => el.scrollTo(0, 0)"
            )
            page.keyboard.press("Control+b")  # fold the file browser: room for the workbook
            panel = page.get_by_text(re.compile(r"⚠ \d+ red flags?: refer"))
            panel.scroll_into_view_if_needed()
            assert panel.is_visible()
            page.screenshot(path=str(ARTIFACTS / "workbook.png"))
            for heading, name in (
                ("Visits", "visits"),
                ("History", "history"),
                ("Questionnaires of the selected visit", "instruments"),
                ("Tests and results", "tests"),
            ):
                page.get_by_role("heading", name=heading, exact=True).scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / f"workbook-{name}.png"))
            # the form for a new order is folded until asked for, then shows the catalog
            assert page.get_by_role("button", name="Order test").count() == 0
            page.get_by_role("button", name="Order a test").click()
            page.get_by_role("button", name="Order test").wait_for()
            page.screenshot(path=str(ARTIFACTS / "workbook-order.png"))

            symptom.get_by_role("button", name=str(wanted), exact=True).click()
            save = page.get_by_role("button", name="Save symptoms")
            save.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "workbook-symptoms.png"))
            save.click()

            # the plan editor is folded until asked for
            assert page.locator(".widget-dropdown", has_text="Category").count() == 0
            page.get_by_role("button", name="New plan item").click()
            plan = page.locator(".widget-dropdown", has_text="Category").locator("select")
            plan.select_option(label="herbal")
            template = page.locator(".widget-dropdown", has_text="Protocol template")
            template.locator("select").select_option(
                label="Peppermint oil, enteric-coated — guideline-backed"
            )
            page.get_by_role("button", name="Use this template").click()
            page.get_by_role("button", name="Save plan item").click()
            page.get_by_text("✓ Saved at").nth(1).wait_for()
            page.locator(".widget-dropdown", has_text="Plan item").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "workbook-plan.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "workbook-failure.png"))
            raise
        finally:
            browser.close()

    after = store.load_case(pid)
    rating = next(r for r in after.symptoms if r.visit_id == latest.id and r.symptom == "bloating")
    assert rating.severity == wanted
    added = [p for p in after.plan if p.template == "peppermint_oil"]
    assert len(added) == len([p for p in case.plan if p.template == "peppermint_oil"]) + 1
    assert added[-1].source and added[-1].status == "proposed"
    store.close()
    assert not foreign, f"requests left the local server: {foreign}"
