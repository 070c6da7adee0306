"""The right patient on every JupyterLab screen, in a real browser (Debian's chromium through
Playwright): three patients opened from the clinic worklist inside one running JupyterLab,
without a reload; each tab is named after its patient; each workbook's first output and its
header that stays in view while the notebook scrolls say whose record it is; a second click
on a patient brings their open workbook to the front instead of opening another. A referral
letter's link opens the PDF inside the same JupyterLab. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from casebook.clinic import clinic_notebook
from casebook.demo import build_demo
from casebook.notebooks import case_notebook_name
from casebook.store import CaseStore
from casebook.workbook import case_notebook
from tests.workbook.lab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NEEDS_CHROMIUM,
    SHOWN,
    Lab,
    open_and_run,
    run_all_cells,
)
from tests.workbook.test_workbook_browser import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, NEEDS_CHROMIUM]

# Set on the page once JupyterLab is up: a reload (a link the browser follows) loses it.
_MARK = "() => { window.__casebookNoReload = 'still here'; }"
_MARKED = "() => window.__casebookNoReload === 'still here'"
# The notebook's scroll area and the banner's place in it, on the notebook on show.
_SCROLL_TO_END = f"""() => {{
  const outer = document.querySelector('{SHOWN} .jp-WindowedPanel-outer');
  const cells = document.querySelectorAll('{SHOWN} .jp-CodeCell');
  cells[cells.length - 1].scrollIntoView();  // the notes, at the end of the workbook
  return outer.scrollTop;
}}"""
_BANNER_IN_VIEW = f"""() => {{
  const outer = document.querySelector('{SHOWN} .jp-WindowedPanel-outer');
  const banner = document.querySelector('{SHOWN} .casebook-banner');
  if (!outer || !banner || outer.scrollTop < 500) return false;
  const o = outer.getBoundingClientRect(), b = banner.getBoundingClientRect();
  return b.height > 0 && b.top >= o.top - 1 && b.bottom <= o.top + 160;
}}"""


def _tabs(page, title: str) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=title).count())


def _current_tab(page) -> str:  # type: ignore[no-untyped-def]
    return str(
        page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
        .first.inner_text()
        .strip()
    )


def test_three_patients_from_the_worklist_in_one_jupyterlab(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    base, token, root = lab.base, lab.token, lab.folder
    demo = build_demo(root / "demo", patients=4, summaries=False)
    store = CaseStore(demo.url)
    patients = {p.id: p for p in store.patients()}
    clinic_notebook(demo.url, root / "notebooks")
    for pid in demo.patient_ids:
        case_notebook(pid, demo.url, root / "notebooks")
    store.close()
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            foreign = open_and_run(page, base, token, lab.path("notebooks/clinic.ipynb"))
            page.evaluate(_MARK)
            rows = page.locator(".casebook-clinic-worklist .casebook-worklist-patient")
            rows.first.wait_for()
            page.keyboard.press("Control+b")  # fold the file browser: room for the tabs
            links = page.locator(".casebook-clinic-worklist summary a")  # a row a patient
            shown_ids: list[str] = []
            for i in range(links.count()):
                pid = links.nth(i).get_attribute("title", timeout=5_000) or ""
                pid = pid.removeprefix("Open the case workbook of ")
                if pid in patients and pid not in shown_ids:
                    shown_ids.append(pid)
            assert len(shown_ids) >= 3, shown_ids
            chosen = shown_ids[:3]

            for pid in chosen:
                patient = patients[pid]
                title = case_notebook_name(pid, patient.name)
                page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="clinic.ipynb").click()
                link = page.locator(f'.casebook-clinic-worklist a[title$=" {pid}"]').first
                link.scroll_into_view_if_needed()
                link.click()
                page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=title).wait_for()
                assert page.evaluate(_MARKED), "opening a patient reloaded JupyterLab"
                assert _current_tab(page) == title
                run_all_cells(page)
                banner = page.locator(f"{SHOWN} .casebook-banner")
                banner.wait_for()
                text = banner.inner_text()
                for part in (patient.name, f"born {patient.birth_date.isoformat()}", pid):
                    assert part in text, (part, text)
                # the notebook's first line is the banner: the cells above it show neither
                # their code nor its placeholder, and have no output
                first = page.locator(f"{SHOWN} .jp-OutputArea-output").first
                assert patient.name in first.inner_text()
                assert page.locator(f"{SHOWN} .jp-InputPlaceholder:visible").count() == 0
                # deep in the workbook, the banner is still at the top of the notebook
                assert page.evaluate(_SCROLL_TO_END) > 500
                page.wait_for_function(_BANNER_IN_VIEW, timeout=30_000)
                page.screenshot(path=str(ARTIFACTS / f"right-patient-{pid}.png"))

            # three tabs, one per patient, each named after them
            titles = [case_notebook_name(p, patients[p].name) for p in chosen]
            assert [_tabs(page, t) for t in titles] == [1, 1, 1]

            # the first patient again, from the worklist: their tab comes to the front
            page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="clinic.ipynb").click()
            page.locator(f'.casebook-clinic-worklist a[title$=" {chosen[0]}"]').first.click()
            page.wait_for_function(
                """(title) => [...document.querySelectorAll(
                    '#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel')]
                    .some(e => e.textContent.trim() === title)""",
                arg=titles[0],
            )
            assert [_tabs(page, t) for t in titles] == [1, 1, 1]
            assert page.evaluate(_MARKED), "a second click reloaded JupyterLab"
            # its live widgets are still there: the session was not dropped
            assert page.locator(f"{SHOWN} .casebook-banner").is_visible()
            page.screenshot(path=str(ARTIFACTS / "right-patient-three-tabs.png"))

            # a referral letter (the worklist's first row is a red flag) opens in a tab of
            # the same JupyterLab, not in a second workspace
            assert demo.flags.get(chosen[0])
            page.locator(SHOWN).get_by_role("button", name="Referral letter").click()
            letter = page.locator(f"{SHOWN} a", has_text=re.compile(r"^referral-.*\.pdf$"))
            letter.wait_for()
            name = letter.inner_text().strip()
            letter.click()
            page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=name).wait_for()
            assert page.evaluate(_MARKED), "opening the letter reloaded JupyterLab"
            assert len(browser.contexts[0].pages) == 1  # no second browser tab
            assert [_tabs(page, t) for t in titles] == [1, 1, 1]
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "right-patient-failure.png"))
            raise
        finally:
            browser.close()
    assert foreign == [], f"requests left the local server: {foreign}"
