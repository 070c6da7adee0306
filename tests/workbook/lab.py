"""JupyterLab for the browser tests and the workbook benchmark: a server on a free port over
a folder, offline (no news, no update check, no extension manager lookups), and Run All as a
practitioner does it through the menu."""

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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from casebook.kernels.spec import WORKBOOK_KERNEL, install_kernelspec
from tests.page_checks import CHROMIUM as CHROMIUM  # re-exported for the browser tests
from tests.page_checks import CHROMIUM_ARGS as CHROMIUM_ARGS
from tests.page_checks import CHROMIUM_SKIP, has_chromium

# Upper bounds, not expectations: every wait ends as soon as the page or the server reaches
# the state it waits for. They are generous so that a busy machine (load average 6 on two
# cores: a kernel start or a JupyterLab start takes minutes, not seconds) makes the browser
# tests slow, not red. Playwright's own default (30 s) applies to every page that
# `open_and_run` opens, through `page.set_default_timeout`.
PAGE_TIMEOUT_MS = 240_000
LAB_STARTUP_S = 240.0
NEEDS_CHROMIUM = pytest.mark.skipif(not has_chromium(), reason=CHROMIUM_SKIP)
# No news, no update check, no PyPI lookups by the extension manager: the clinic is offline.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # every cell stays in the page, so the test can reach any section
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # a notebook in a tab behind another is marked hidden (`lm-mod-hidden`, what SHOWN
    # reads); JupyterLab's default (`contentVisibility`) only styles it, so with two
    # notebooks open SHOWN would match both
    "@jupyterlab/application-extension/shell.jupyterlab-settings": {"hiddenMode": "display"},
}


class LabError(RuntimeError):
    """JupyterLab did not start, or Run All never started the cells."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


@contextlib.contextmanager
def running_lab(
    root: Path, env: Mapping[str, str] | None = None, startup: float = LAB_STARTUP_S
) -> Iterator[tuple[str, str]]:
    """JupyterLab on 127.0.0.1:<free port> over `root`; yields (base URL, token). Its own
    config, runtime and workspace folders, and the `casebook` kernelspec (first on its
    `JUPYTER_PATH`), live under `root`; `env` is added to its environment."""
    port, token = free_port(), secrets.token_hex(16)
    settings = root / ".lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # the `casebook` kernel that case notebooks name, as `casebook init` installs it
    kernels = root / ".jupyter-path"
    install_kernelspec(kernels / "kernels" / WORKBOOK_KERNEL)
    lab_env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTER_PATH": str(kernels),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
        **(env or {}),
    }
    log_path = root / "lab.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.ip=127.0.0.1",
            *(["--allow-root"] if os.geteuid() == 0 else []),
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={root / '.workspaces'}",
        ],
        cwd=root,
        env=lab_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
        while _get(f"{base}/api/status?token={token}") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LabError("JupyterLab did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        yield base, token
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


@dataclass(frozen=True)
class Lab:
    """A JupyterLab that the browser tests of a session share (see tests/conftest.py), and
    the folder of one test under its root: each test writes only there."""

    base: str
    token: str
    root: Path  # the server's root folder
    folder: Path  # this test's own folder under `root`

    def path(self, file: Path | str) -> str:
        """`file` (under `folder`, or relative to it) as a path under the server's root."""
        return (self.folder / file).relative_to(self.root).as_posix()


def _api(base: str, token: str, method: str, path: str) -> object:
    request = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
    return json.loads(body) if body else None


def reset_lab(base: str, token: str) -> None:
    """Close what a test left in the server, so that the next test finds it as if new: its
    sessions (each stops its kernel) and the saved workspaces (a page would reopen their
    tabs). The test's browser is closed by then: no page saves a workspace again."""
    sessions = _api(base, token, "GET", "/api/sessions")
    for session in sessions if isinstance(sessions, list) else []:
        _api(base, token, "DELETE", f"/api/sessions/{session['id']}")
    spaces = _api(base, token, "GET", "/lab/api/workspaces")
    ids = spaces.get("workspaces", {}).get("ids", []) if isinstance(spaces, dict) else []
    for space in ids:
        _api(base, token, "DELETE", f"/lab/api/workspaces/{space}")


# The notebook on show: JupyterLab may restore other notebooks of the workspace in tabs
# behind it (hidden, but in the page), at a moment that depends on the machine's speed.
SHOWN = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# The prompts of the code cells of the notebook on show, as JupyterLab draws them: "[ ]:",
# "[*]:" while queued or running, "[7]:" when done. A cell whose source is hidden (the case
# workbook's first cells) shows a placeholder instead, whose prompt never shows a count.
_PROMPTS = f"""() => [...document.querySelectorAll(
    '{SHOWN} .jp-CodeCell .jp-InputPrompt:not(.jp-Placeholder-prompt)')]
    .map(e => e.textContent.trim())"""
# A cell is queued or running ([*]), or shows a new execution count: Run All has taken.
_STARTED = f"""(before) => ({_PROMPTS})().some(
    (t, i) => t.includes('*') || (/\\[\\d+\\]/.test(t) && t !== before[i]))"""
# Nothing is queued or running.
_QUIET = f"""() => {{
  const now = ({_PROMPTS})();
  return now.length > 0 && !now.some(t => t.includes('*'));
}}"""
# Run All is over: every cell shows a new execution count, or a cell failed (which stops Run
# All: the test's own checks then say what is missing). A count is new when it differs from
# the one shown before, which may come from a saved run.
_DONE = f"""(before) => {{
  if (document.querySelector('{SHOWN} [data-mime-type="application/vnd.jupyter.error"]'))
    return true;
  return ({_PROMPTS})().every((t, i) => /\\[\\d+\\]/.test(t) && t !== before[i]);
}}"""


def run_all_cells(page) -> None:  # type: ignore[no-untyped-def]
    """Run ▸ Run All Cells, as a practitioner does, once the kernel is idle, and wait until
    every cell has run. A notebook whose kernel is still connecting (which, on a busy
    machine, can outlast the kernel's `Idle`) moves through the cells without running them:
    their prompts turn to [*] and back to [ ]. Then it is asked again, up to five times.
    Each wait is for a state of the page; the bounds are generous."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(f"{SHOWN} .jp-CodeCell .jp-InputPrompt", timeout=PAGE_TIMEOUT_MS)
    before = page.evaluate(f"({_PROMPTS})()")
    for _attempt in range(5):
        page.wait_for_selector(
            f"{SHOWN} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=PAGE_TIMEOUT_MS
        )
        # a dialog left by the last attempt is answered first (that may start the cells)
        if not _answer_dialog(page):
            page.locator(f"{SHOWN} .jp-Notebook").click()  # focus the notebook
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator(".lm-Menu-content .lm-Menu-itemLabel").filter(
                has_text=re.compile(r"^Run All Cells$")
            ).click()
        try:
            # the page's answer to the click, not kernel work: a short bound will do
            page.wait_for_function(_STARTED, arg=before, timeout=30_000)
        except PlaywrightTimeout:
            continue
        page.wait_for_function(_QUIET, timeout=PAGE_TIMEOUT_MS)
        if page.evaluate(_DONE, before):
            return
    raise LabError("Run All Cells never ran the cells")


def _answer_dialog(page) -> bool:  # type: ignore[no-untyped-def]
    """Accept the dialog JupyterLab put over the notebook, as a practitioner would; True if
    there was one. Run All on a session whose kernel was not connected yet (a busy machine)
    asks "Select Kernel", with the notebook's own kernel chosen. On a busy machine the
    dialog can still be there after the click (it asks again, or the click came before it
    listened): then it is answered again. Each wait is for the page's answer to a click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    dialog = page.locator(".jp-Dialog").first
    if not dialog.count():
        return False
    for _attempt in range(5):
        with contextlib.suppress(PlaywrightTimeout):  # gone since: nothing to click
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click(timeout=30_000)
        try:
            dialog.wait_for(state="detached", timeout=30_000)
        except PlaywrightTimeout:
            continue
        return True
    raise LabError("a dialog stayed over the notebook:\n" + dialog.inner_text())


def open_and_run(page, base: str, token: str, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Open the notebook at `path` (under the server's root), wait for its kernel, Run All.
    Returns the list that gathers, from now on, every request the page makes to a host
    other than the server at `base` (the clinic is offline: a test asserts it stays empty)."""
    foreign: list[str] = []
    server = urlsplit(base).netloc

    def check(request) -> None:  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != server:
            foreign.append(request.url)

    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.on("request", check)
    page.goto(f"{base}/lab/tree/{path}?token={token}")
    page.wait_for_selector(".jp-Notebook")
    run_all_cells(page)
    return foreign
