"""What the patient-facing pages' browser tests share: Debian's chromium for a module, a
page served under the server's own policy, and the checks each page must pass (nothing
wider than the screen, no serious axe-core finding). Axe as `.ci/run` installs it
(`.cache/axe`) or `$CASEBOOK_AXE_JS`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# tests/conftest.py folds every skip that ends with this into one line of `-ra`.
CHROMIUM_SKIP = (
    f"{CHROMIUM} is missing: browser tests skipped (Debian's chromium: apt-get install "
    "chromium; .ci/run installs it)"
)
AXE_JS = Path(
    os.environ.get("CASEBOOK_AXE_JS")
    or ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
)
PHONE = {"viewport": {"width": 390, "height": 844}}
ZOOM_200 = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
"""A 1280 x 800 window at 200% zoom: 640 x 400 CSS pixels, each drawn as two."""


def has_chromium() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def require_chromium() -> str:
    """The path to Debian's chromium, or a skip with `CHROMIUM_SKIP`."""
    if not has_chromium():
        pytest.skip(CHROMIUM_SKIP)
    return CHROMIUM


def chromium() -> Iterator[Any]:
    """Chromium for a module-scoped fixture (`yield from chromium()`); skips without it."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def open_page(
    browser: Any, html: str, policy_header: str, ready: str, *, policy: bool = True, **context: Any
) -> Any:
    """`html` as the server sends it, with its Content-Security-Policy, in a new context
    (`policy=False` for axe, injected as a script the policy rightly refuses); waits for
    the selector `ready`."""
    ctx = browser.new_context(bypass_csp=not policy, **context)
    ctx.route(
        "http://casebook.test/",
        lambda r: r.fulfill(
            body=html, content_type="text/html", headers={"Content-Security-Policy": policy_header}
        ),
    )
    page = ctx.new_page()
    page.goto("http://casebook.test/")
    page.wait_for_selector(ready)
    return page


def wider_than_the_screen(page: Any) -> list[str]:
    """The elements of `main` that reach past the screen's right edge."""
    found: list[str] = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.tagName + '.' + e.className)""")
    return found


def serious_axe_findings(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (skips without axe-core)."""
    if not AXE_JS.is_file():
        pytest.skip(
            f"axe-core is not installed ({AXE_JS}): `npm install --prefix .cache/axe "
            "axe-core` (as .ci/run does), or set CASEBOOK_AXE_JS"
        )
    page.add_script_tag(path=str(AXE_JS))
    result: list[dict[str, Any]] = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                       help: v.help}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]
