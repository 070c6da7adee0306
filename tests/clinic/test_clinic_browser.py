"""The clinic notebook in a real browser: JupyterLab on a free port over a demo store, driven
by Debian's chromium through Playwright. It runs all cells, checks that the worklist starts
with a red flag, that a worklist row opens the patient's case workbook, that no request left
the local server, and that an acknowledged flag leaves the worklist when its cell runs
again. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from casebook.clinic import clinic_notebook
from casebook.demo import build_demo
from casebook.store import CaseStore
from casebook.workbook import case_notebook
from tests.workbook.lab import CHROMIUM, CHROMIUM_ARGS, open_and_run, run_all_cells
from tests.workbook.test_workbook_browser import (
    ARTIFACTS,
    lab,  # noqa: F401  (the JupyterLab fixture)
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium "
        "(apt-get install chromium) to run the browser tests",
    ),
]


def _first_row(page) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(kind, patient id) of the worklist's first row."""
    row = page.locator(".casebook-clinic-worklist tbody tr").first
    cells = row.locator("td")
    pid = re.search(r"\(([^)]+)\)", cells.nth(1).inner_text())
    assert pid is not None
    return cells.nth(2).inner_text().strip(), pid.group(1)


def test_the_clinic_notebook_in_jupyterlab(lab: tuple[str, str, Path]) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, token, root = lab
    demo = build_demo(root / "demo", patients=6)
    store = CaseStore(demo.url)
    clinic_notebook(demo.url, root / "notebooks")
    for pid in demo.patient_ids:
        case_notebook(pid, demo.url, root / "notebooks")
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            foreign = open_and_run(page, base, token, "notebooks/clinic.ipynb")
            page.locator(".casebook-clinic-worklist tbody tr").first.wait_for()
            page.get_by_text("Written:").or_(
                page.get_by_role("button", name="Export tables to CSV")
            ).first.wait_for()
            page.keyboard.press("Control+b")  # fold the file browser: room for the table
            page.get_by_role("heading", name="Worklist", exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "clinic.png"))
            kind, pid = _first_row(page)
            assert kind == "red-flag"
            assert demo.flags.get(pid)

            # the row's link opens the patient's case workbook (named after them) in JupyterLab
            page.locator(".casebook-clinic-worklist tbody tr").first.get_by_role("link").click()
            page.locator(".lm-TabBar-tab", has_text=f"-{pid}.ipynb").first.wait_for()

            # acknowledged in the store (as the case workbook's button does), the worklist
            # cell run again no longer lists it
            rules = [r for (p, r) in _open_flags(store) if p == pid]
            for rule in rules:
                store.review_flag(pid, rule, "acknowledged")
            page.goto(f"{base}/lab/tree/notebooks/clinic.ipynb?token={token}")
            run_all_cells(page)  # once the kernel is idle
            page.locator(".casebook-clinic-worklist tbody tr").first.wait_for()
            flagged = (
                page.locator(".casebook-clinic-worklist tbody tr")
                .filter(has_text=f"({pid})")
                .filter(has_text="red-flag")
            )
            assert flagged.count() == 0
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
