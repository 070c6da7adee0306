"""The dashboard in Chromium: charts drawn, nothing fetched from elsewhere, no payload runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from serve_helpers import CHROMIUM_ARGS, PAYLOADS, Server, free_port

from tests.workbook.lab import PAGE_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def _browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Every request, console message and dialog of a page; requests to any origin not in
    `allowed` are aborted and remembered."""

    def __init__(self, context: Any, allowed: set[str]) -> None:
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.allowed = allowed
        context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme == "data":
            route.continue_()
            return
        self.requests.append(url)
        if f"{parts.scheme}://{parts.netloc}" not in self.allowed:
            self.foreign.append(url)
            route.abort()
        else:
            route.continue_()

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

    def paths(self) -> set[str]:
        return {urlsplit(u).path for u in self.requests}


def _context(browser: Any, viewport: dict[str, int]) -> Any:
    """A fresh context whose every wait (the first view forks a kernel) has a generous
    upper bound instead of Playwright's 30 s."""
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context


def _open(
    browser: Any,
    server: Server,
    url: str,
    viewport: dict[str, int],
    extra_origins: tuple[str, ...] = (),
) -> tuple[Any, Any, Watch]:
    context = _context(browser, viewport)
    watch = Watch(context, {server.base, *extra_origins})
    page = context.new_page()
    watch.attach(page)
    page.goto(url)
    page.wait_for_selector("footer.cb-footer")
    return context, page, watch


def _chart_state(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "figure.cb-chart img",
        "imgs => imgs.map(i => ({ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth,"
        " src: i.src.slice(0, 26)}))",
    )


@pytest.mark.parametrize(("label", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_dashboard_opens_from_its_link_with_charts_drawn(
    chromium: str,
    server: Server,
    serve_store,
    artifacts: Path,
    label: str,
    viewport: dict[str, int],
) -> None:
    pid = serve_store.patients[0]
    url = f"{server.base}/dashboard?token={server.token(pid)}"
    with _browser(chromium) as browser:
        context, page, watch = _open(browser, server, url, viewport)
        assert page.url == f"{server.base}/dashboard"  # the token left the address bar
        charts = _chart_state(page)
        assert len(charts) >= 3, charts  # plan, symptoms, at least one result trend
        assert all(c["ok"] and c["w"] > 100 for c in charts), charts
        assert all(c["src"] == "data:image/svg+xml;base64," for c in charts), charts
        assert page.locator(".cb-problem").count() == 0
        assert page.locator("#plan .cb-item").count() >= 1
        assert page.locator("#plan .cb-why").first.inner_text().strip()
        assert page.locator("#results .cb-item").count() >= 1
        assert page.locator("#attention").count() == 1  # patient 0 has alarm features
        assert not watch.foreign, watch.foreign
        assert watch.paths() <= {"/dashboard", "/static/dashboard.css"}, watch.requests
        assert not watch.console, watch.console  # a CSP violation would be logged here
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"page scrolls sideways: {width}px"
        page.screenshot(path=str(artifacts / f"dashboard-{label}.png"), full_page=True)
        context.close()


def test_payloads_in_every_free_text_field_never_run(
    chromium: str, server: Server, serve_store, artifacts: Path
) -> None:
    url = f"{server.base}/dashboard?token={server.token(serve_store.payload_patient)}"
    with _browser(chromium) as browser:
        context, page, watch = _open(browser, server, url, DESKTOP)
        page.wait_for_timeout(500)  # give any onerror/onload handler its chance to fire
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert watch.dialogs == []
        assert page.locator("script, iframe, svg, object, embed, body style").count() == 0
        assert page.locator("head style").count() == 1  # the page's own, allowed by its hash
        assert page.locator("[onerror], [onload], [onclick], a[href^='javascript']").count() == 0
        text = page.inner_text("body")
        for payload in PAYLOADS:  # shown as the text it is
            assert payload in text, payload
        assert not watch.foreign, watch.foreign
        assert watch.paths() <= {"/dashboard", "/static/dashboard.css"}, watch.requests
        assert page.locator(".cb-problem").count() == 0
        page.screenshot(path=str(artifacts / "dashboard-payloads.png"), full_page=True)
        context.close()


class _LinkPage(BaseHTTPRequestHandler):
    link = ""

    def do_GET(self) -> None:
        body = f'<!DOCTYPE html><a id="go" href="{self.link}">Your dashboard</a>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_link_clicked_on_another_site_opens_the_dashboard(
    chromium: str, server: Server, serve_store
) -> None:
    """As from a webmail: a cross-site click still ends on the dashboard (the SameSite=Strict
    cookie is set by the link page and sent by its same-site refresh)."""
    pid = serve_store.patients[1]
    handler = type(
        "Link", (_LinkPage,), {"link": f"{server.base}/dashboard?token={server.token(pid)}"}
    )
    port = free_port()
    mail = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=mail.serve_forever, daemon=True)
    thread.start()
    other = f"http://localhost:{port}"  # another site than 127.0.0.1
    try:
        with _browser(chromium) as browser:
            context = _context(browser, PHONE)
            watch = Watch(context, {server.base, other})
            page = context.new_page()
            watch.attach(page)
            page.goto(f"{other}/")
            page.click("#go")
            page.wait_for_selector("footer.cb-footer")
            assert page.url == f"{server.base}/dashboard"
            assert page.locator("#plan").count() == 1
            assert not watch.foreign, watch.foreign
            context.close()
    finally:
        mail.shutdown()
        mail.server_close()


def test_a_checkin_answered_in_the_browser_starts_the_patients_page(
    chromium: str, server: Server, artifacts: Path
) -> None:
    """A patient with no visit answers a check-in in Chromium (the real form, posted by the
    browser with its own Origin header) and their page then counts from that check-in."""
    from casebook.checkins import form_sections
    from casebook.format import day
    from casebook.models import Patient
    from casebook.serve.checkin_links import send_checkin
    from casebook.store import CaseStore

    with CaseStore(server.db_url, actor="test") as store:
        store.add_patient(Patient(id="ci-browser", name="Sam Sample", birth_date=date(1990, 1, 1)))
        link, _ = send_checkin(store, "ci-browser", ["phq9", "symptoms"], base_url=server.base)
        questions = [
            (q.name, q.options[1][0])  # the second answer offered (PHQ-9: "several days")
            for section in form_sections(store.catalog, ["phq9", "symptoms"])
            for q in section.questions
            if q.name != "phq9.9"  # item 9 at "not at all": no same-day page here
        ]
    with _browser(chromium) as browser:
        context = _context(browser, PHONE)
        watch = Watch(context, {server.base})
        page = context.new_page()
        watch.attach(page)
        page.goto(link)
        page.wait_for_url(f"{server.base}/checkin/*")
        for name, value in [*questions, ("phq9.9", "0")]:
            page.check(f"input[name='{name}'][value='{value}']")
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_selector("text=Thank you")
        assert "cannot be sent" not in page.inner_text("main")
        with CaseStore(server.db_url, actor="test") as store:
            assert [c.status for c in store.checkins("ci-browser")] == ["submitted"]
            (visit,) = store.load_case("ci-browser").visits
        assert visit.kind == "check-in"
        page.goto(f"{server.base}/dashboard?token={server.token('ci-browser')}")
        page.wait_for_selector("footer.cb-footer")
        text = page.text_content("body") or ""  # folded sections included
        on = day(visit.visit_date)
        assert f"Latest: 8 from the check-in you sent on {on}" in " ".join(text.split())
        assert f"in the check-in you sent on {on}. This is your starting point" in text
        assert not watch.foreign and not watch.console, (watch.foreign, watch.console)
        page.screenshot(path=str(artifacts / "dashboard-after-checkin-390.png"), full_page=True)
        context.close()
