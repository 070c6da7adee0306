"""The workbook in a real browser: JupyterLab on a free port over a generated case notebook,
driven by Debian's chromium through Playwright. It runs all cells, waits for the widgets and
the drawn charts, changes a symptom rating and adds a plan item through the UI, saves both,
and reads them back from the store. Any request to a host other than the local server fails
the test. Screenshots go to test-artifacts/."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from casebook.demo import DemoResult
from casebook.store import CaseStore
from casebook.workbook import case_notebook

CHROMIUM = Path("/usr/lib/chromium/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
# No news, no update check, no PyPI lookups by the extension manager: the clinic is offline.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # every cell stays in the page, so the test can reach any section
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium "
                              "(apt-get install chromium) to run the browser tests"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab on 127.0.0.1:<free port> over tmp_path; (base URL, token, root)."""
    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp_path / ".lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / ".workspaces")}
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1",
         *(["--allow-root"] if os.geteuid() == 0 else []),
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={tmp_path / '.workspaces'}"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _get(f"{base}/api/status?token={token}") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
            time.sleep(0.2)
        yield base, token, tmp_path
    finally:
        request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
        with contextlib.suppress(OSError):  # stops the kernels too
            urllib.request.urlopen(request, timeout=5)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=5)
        log.close()


def _run_all_cells(page) -> None:  # type: ignore[no-untyped-def]
    """Run ▸ Run All Cells, as a practitioner does. A notebook whose kernel is still
    connecting moves through the cells without running them: then it is asked again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ran = page.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[(\*|\d+)\]"))
    for _attempt in range(3):
        page.locator(".jp-NotebookPanel .jp-Notebook").click()  # focus the notebook
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator(".lm-Menu-content .lm-Menu-itemLabel").filter(
            has_text=re.compile(r"^Run All Cells$")).click()
        try:
            ran.first.wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.wait_for_timeout(1_000)
    pytest.fail("Run All Cells never started the cells")


def test_the_workbook_in_jupyterlab(lab: tuple[str, str, Path], demo_store: DemoResult) -> None:
    from playwright.sync_api import sync_playwright

    base, token, root = lab
    pid = demo_store.patient_ids[0]
    case_notebook(pid, demo_store.url, root / "notebooks")
    store = CaseStore(demo_store.url)
    case = store.load_case(pid)
    latest = case.sorted_visits()[-1]
    before = next(r for r in case.symptoms
                  if r.visit_id == latest.id and r.symptom == "bloating").severity
    wanted = 4 if before != 4 else 1
    ARTIFACTS.mkdir(exist_ok=True)
    foreign: list[str] = []
    server = urlsplit(base).netloc

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def check(request) -> None:  # type: ignore[no-untyped-def]
                parts = urlsplit(request.url)
                if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != server:
                    foreign.append(request.url)

            page.on("request", check)
            page.goto(f"{base}/lab/tree/notebooks/{pid}/case.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=30_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=30_000)
            _run_all_cells(page)

            symptom = page.locator(".casebook-symptom-bloating")
            symptom.wait_for(timeout=40_000)
            page.get_by_role("button", name="Save plan item").wait_for(timeout=40_000)
            charts = page.locator(".casebook-chart-widget svg")
            page.wait_for_function(
                "document.querySelectorAll('.casebook-chart-widget svg').length >= 4",
                timeout=30_000)
            assert page.get_by_text("could not be drawn").count() == 0
            assert charts.count() >= 4
            page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").first.evaluate(
                "el => el.scrollTo(0, 0)")
            page.keyboard.press("Control+b")  # fold the file browser: room for the workbook
            panel = page.get_by_text(re.compile(r"⚠ \d+ red flags?: refer"))
            panel.scroll_into_view_if_needed()
            assert panel.is_visible()
            page.screenshot(path=str(ARTIFACTS / "workbook.png"))
            for heading, name in (("Visits", "visits"), ("History", "history"),
                                  ("Questionnaires of the selected visit", "instruments"),
                                  ("Tests and results", "tests")):
                page.get_by_role("heading", name=heading, exact=True).scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / f"workbook-{name}.png"))

            symptom.get_by_role("button", name=str(wanted), exact=True).click()
            save = page.get_by_role("button", name="Save symptoms")
            save.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "workbook-symptoms.png"))
            save.click()

            plan = page.locator(".widget-dropdown", has_text="Category").locator("select")
            plan.select_option(label="herbal")
            template = page.locator(".widget-dropdown", has_text="Protocol template")
            template.locator("select").select_option(
                label="Peppermint oil, enteric-coated — guideline-backed")
            page.get_by_role("button", name="Use this template").click()
            page.get_by_role("button", name="Save plan item").click()
            page.get_by_text("✓ Saved at").nth(1).wait_for(timeout=15_000)
            page.locator(".widget-dropdown", has_text="Plan item").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "workbook-plan.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "workbook-failure.png"))
            raise
        finally:
            browser.close()

    after = store.load_case(pid)
    rating = next(r for r in after.symptoms
                  if r.visit_id == latest.id and r.symptom == "bloating")
    assert rating.severity == wanted
    added = [p for p in after.plan if p.template == "peppermint_oil"]
    assert len(added) == len([p for p in case.plan if p.template == "peppermint_oil"]) + 1
    assert added[-1].source and added[-1].status == "proposed"
    store.close()
    assert not foreign, f"requests left the local server: {foreign}"
