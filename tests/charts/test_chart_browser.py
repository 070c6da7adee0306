"""Charts inlined in a page under the strictest Content-Security-Policy, at phone width, in
Debian's Chromium: drawn, no request, no script, hostile plan names inert."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from pathlib import Path

import pytest
from chart_specs import plain_case
from page_checks import CHROMIUM, CHROMIUM_ARGS, require_chromium

from casebook.catalog import default_catalog
from casebook.charts import (
    CHART_CSS,
    analyte_chart,
    burden_chart,
    chart_html,
    instrument_chart,
    plan_timeline,
    symptom_chart,
)
from casebook.models import Case, PlanItem

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "charts"
CAT = default_catalog()
PHONE = {"width": 360, "height": 740}


def _page(case: Case) -> str:
    hostile = [
        PlanItem(
            patient_id=case.patient.id,
            category="herbal",
            name=name,
            status="active",
            start=date(2024, 1, 1),
        )
        for name in ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')
    ]
    with_payloads = case.model_copy(update={"plan": [*case.plan, *hostile]})
    charts = [
        symptom_chart(case, CAT, audience="patient"),
        burden_chart(case, audience="patient"),
        instrument_chart(case, CAT, "phq9", audience="patient"),
        analyte_chart(case, CAT, "hemoglobin", audience="patient"),
        plan_timeline(with_payloads, CAT, audience="patient"),
        plan_timeline(plain_case(), CAT, audience="patient"),
    ]
    style_hash = base64.b64encode(hashlib.sha256(CHART_CSS.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'sha256-{style_hash}'"
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CHART_CSS}</style></head><body>"
        + "".join(chart_html(chart) for chart in charts)
        + "</body></html>"
    )


@pytest.mark.browser
def test_charts_draw_offline_under_a_strict_csp_at_phone_width(demo_cases: list[Case]) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    dialogs: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE)
            page.route("**/*", lambda route: (requests.append(route.request.url), route.abort()))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.set_content(_page(demo_cases[0]), wait_until="load")
            boxes = page.eval_on_selector_all(
                ".casebook-chart > svg",
                "els => els.map(e => [e.getBoundingClientRect().width,"
                " e.getBoundingClientRect().height, e.querySelectorAll('text').length])",
            )
            scripts = page.eval_on_selector_all(
                "script, img, iframe, foreignObject", "els => els.length"
            )
            handlers = page.evaluate(
                "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                ".filter(a => a.name.startsWith('on')).length"
            )
            texts = page.inner_text("body")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-patient-phone.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [], f"the page asked for {requests}"
    assert dialogs == [], f"a payload ran: {dialogs}"
    assert problems == [], problems  # a CSP violation is reported on the console
    assert scripts == 0 and handlers == 0
    assert len(boxes) == 6
    for width, height, n_text in boxes:
        assert 0 < width <= PHONE["width"] and height > 40 and n_text > 0
    assert "No plan items yet" in texts
