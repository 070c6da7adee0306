"""The clinic notebook in a real browser: JupyterLab on a free port over the demo's store,
driven by Debian's chromium through Playwright. Opened before it runs, each section is a
sentence (not a widget repr). Run, the worklist is one folded row a patient (a screen at
most), most urgent first, a red flag first; a row unfolds to its items; the sign-off button
marks every in-range result reviewed (in the store, audited); a name opens the patient's
case workbook inside JupyterLab; no request leaves the local server; and an acknowledged
flag leaves the worklist when its cell runs again. Screenshots go to test-artifacts/
(clinic-unrun.png, clinic-worklist-before.png, clinic-worklist-after.png)."""

from __future__ import annotations

import re

import pytest

from casebook.clinic import clinic_notebook
from casebook.demo import build_demo
from casebook.store import CaseStore
from casebook.workbook import case_notebook
from tests.workbook.lab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NEEDS_CHROMIUM,
    PAGE_TIMEOUT_MS,
    Lab,
    open_and_run,
    run_all_cells,
)
from tests.workbook.test_workbook_browser import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, NEEDS_CHROMIUM]


ROW = ".casebook-clinic-worklist .casebook-worklist-patient"


def _in_range_left(store: CaseStore) -> int:
    from casebook.clinic import store_worklist

    rows = store_worklist(store)
    return int((rows["kind"] == "result-in-range").sum())


def test_the_clinic_notebook_in_jupyterlab(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    base, token, root = lab.base, lab.token, lab.folder
    clinic_page = f"{base}/lab/tree/{lab.path('notebooks/clinic.ipynb')}?token={token}"
    demo = build_demo(root / "demo", patients=12)
    store = CaseStore(demo.url, actor="dr-test")
    clinic_notebook(demo.url, root / "notebooks", execute=True)  # as batch and demo leave it
    for pid in demo.patient_ids:
        case_notebook(pid, demo.url, root / "notebooks")
    ARTIFACTS.mkdir(exist_ok=True)
    waiting = _in_range_left(store)
    assert waiting > 50  # the demo's in-range results, to sign off

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            # opened, not run: each section says what it is, in a sentence
            page.goto(clinic_page)
            page.get_by_text("to see what needs a decision").first.wait_for()
            page.keyboard.press("Control+b")  # fold the file browser: room for the table
            page.get_by_role("heading", name="Worklist", exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "clinic-unrun.png"))
            shown = page.locator(".jp-OutputArea-output").all_inner_texts()
            assert not [t for t in shown if "children=" in t or "HTML(value=" in t], shown

            foreign = open_and_run(page, base, token, lab.path("notebooks/clinic.ipynb"))
            page.locator(ROW).first.wait_for()
            rows = page.locator(ROW)
            rows.last.scroll_into_view_if_needed()  # the whole list and its controls in view
            page.screenshot(path=str(ARTIFACTS / "clinic-worklist-before.png"))
            assert 1 <= rows.count() <= 12  # a row a patient: a screen, not ~200 rows
            first = rows.first
            pid = first.get_attribute("data-patient")
            assert pid and demo.flags.get(pid)
            assert "red flag" in first.locator(".casebook-worklist-counts").inner_text()
            first.locator("summary .casebook-worklist-counts").click()  # unfold, not the link
            first.locator("tbody tr").first.wait_for()
            assert "Red flag" in first.locator("tbody tr").first.inner_text()

            button = page.get_by_role("button", name=f"Sign off {waiting} in-range results")
            button.click()
            page.get_by_text(
                re.compile(r"Signed off \d+ in-range results of \d+ patients")
            ).wait_for()
            page.get_by_role("button", name="Sign off 0 in-range results").wait_for()
            page.locator(ROW).last.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "clinic-worklist-after.png"))
            assert _in_range_left(store) == 0
            assert any(
                e.action == "sign-off" for e in store.audit_log(pid)
            )  # each result one audit entry

            # acknowledged in the store (as the case workbook's button does), the worklist
            # cell run again no longer lists them
            for rule in [r for (p, r) in _open_flags(store) if p == pid]:
                store.review_flag(pid, rule, "acknowledged")
            page.goto(clinic_page)
            run_all_cells(page)  # once the kernel is idle
            page.locator(ROW).first.wait_for()
            row = page.locator(f'{ROW}[data-patient="{pid}"]')
            assert row.count() == 0 or "red flag" not in row.inner_text()

            # a name opens the patient's case workbook (named after them) inside the running
            # JupyterLab: the table is a notebook output, so JupyterLab's link handler opens
            # it in a tab, without a reload (last: a reload would restore both notebooks)
            opened = page.locator(ROW).first.get_attribute("data-patient")
            page.locator(ROW).first.locator("summary a").click()
            page.locator(".lm-TabBar-tab", has_text=f"-{opened}.ipynb").first.wait_for()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "clinic-failure.png"))
            raise
        finally:
            browser.close()
    assert foreign == []


def _open_flags(store: CaseStore) -> list[tuple[str, str]]:
    from casebook.clinic import store_worklist

    rows = store_worklist(store)
    flags = rows[rows["kind"] == "red-flag"]
    return list(zip(flags["patient_id"], flags["ref"], strict=True))
