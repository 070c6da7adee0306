"""The HTML archive copy in Chromium: drawn offline, code hidden, nothing fetched, nothing run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from page_checks import CHROMIUM, CHROMIUM_ARGS, require_chromium

from casebook.notebooks import BatchOptions, default_templates, run_batch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _open(html: Path, shot: Path) -> dict[str, Any]:
    """Open `html` in Chromium; every request that is not file:/data: is aborted and kept."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, Any] = {"foreign": [], "errors": []}

    def route(r: Any, req: Any) -> None:
        if req.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            seen["foreign"].append(req.url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route("**/*", route)
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            seen["text"] = page.inner_text("body")
            seen["svgs"] = page.locator("svg").count()
            seen["scripts"] = page.locator("script").count()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return seen


def test_the_archive_copy_renders_offline_with_no_script(batch_url: str, tmp_path: Path) -> None:
    require_chromium()
    templates = default_templates()
    report = run_batch(
        BatchOptions(
            batch_url,
            out=tmp_path / "nb",
            templates=templates,
            patients=["demo-0001"],
            workers=1,
            html=True,
        )
    )
    assert report.ok, report.summary_text()
    ARTIFACTS.mkdir(exist_ok=True)
    for template in templates:
        folder = tmp_path / "nb" / "demo-0001"
        html = folder / template.with_suffix(".html").name
        if template.stem == "case":  # the workbook is named after its patient
            (html,) = folder.glob("*-demo-0001.html")
        seen = _open(html, ARTIFACTS / f"batch-archive-{template.stem}.png")
        assert seen["foreign"] == [], f"{html.name} requested other hosts: {seen['foreign']}"
        assert seen["errors"] == [] and seen["scripts"] == 0
        nb = nbformat.read(html.with_suffix(".ipynb"), as_version=4)
        code = [
            c.source.strip().splitlines()[-1]
            for c in nb.cells
            if c.cell_type == "code" and c.source.strip()
        ]
        shown = [line for line in code if len(line) > 12 and line in seen["text"]]
        assert shown == [], f"{html.name} shows code: {shown}"
        charts = sum(
            "image/svg+xml" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", [])
        )
        assert seen["svgs"] >= charts, f"{html.name}: {seen['svgs']} of {charts} charts drawn"
        assert len(seen["text"]) > 200
        if template.stem == "case":  # what the workbook's forms showed, as a static snapshot
            assert "red flags: refer" in seen["text"].lower(), "the case archive lacks its flags"
            assert "Symptoms at the visit of" in seen["text"]
