"""The patient page in Chromium at phone width and at 200% zoom: the attention card, the plan
and the tests to come on top, the longer sections folded into <details>, no heading said
twice, nothing wider than the screen, and no serious or critical axe-core finding.

The page is the server's own Voilà template (`casebook/dashboard/templates/voila/casebook/
index.html.j2`) filled with the outputs of the dashboard notebook's cells, run in this
process in the notebook's order (no kernel), with the server's stylesheet. axe-core is
injected with the page's CSP bypassed (the page itself allows no script); `.ci/run`
installs it with npm into `.cache/axe`, or `$CASEBOOK_AXE_JS` names an `axe.min.js`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import pytest
from page_checks import (
    PHONE,
    ZOOM_200,
    chromium,
    open_page,
    serious_axe_findings,
    wider_than_the_screen,
)

from casebook import dashboard
from casebook.models import Case
from casebook.notebooks import template_path
from casebook.serve.headers import CONTENT_SECURITY_POLICY, STYLE_ELEMENT
from casebook.serve.render import TEMPLATE_DIR
from casebook.store import CaseStore, import_cases

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "dashboard"
FOLDED = ("symptoms", "questionnaires", "results", "notes")


def _page_html(url: str, patient_id: str) -> str:
    """The page as the server would send it, from the template's cells run here in order."""
    nb = nbformat.read(template_path("dashboard.ipynb"), as_version=4)
    scope: dict[str, Any] = {"patient_id": patient_id, "database_url": url}
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), scope)  # noqa: S102  # our own template's cells
        expression = compile(ast.Expression(last.value), "<cell>", "eval") if last else None
        value = eval(expression, scope) if expression else None  # noqa: S307  # our template
        html = value.html if isinstance(value, dashboard.Section) else ""
        outputs = [{"output_type": "display_data", "data": {"text/html": html}}] if html else []
        cells.append({"outputs": outputs})

    def generate(_nb: Any, _kernel: str) -> Iterator[dict[str, Any]]:
        yield from cells

    folder = jinja2.FileSystemLoader(TEMPLATE_DIR / "casebook")
    env = jinja2.Environment(loader=folder, autoescape=False)  # noqa: S701  # as Voila: cells hold HTML
    return env.get_template("index.html.j2").render(
        nb=None,
        kernel_start=lambda _nb: "k",
        cell_generator=generate,
        resources={"base_url": "/", "casebook_style": STYLE_ELEMENT},
    )


@pytest.fixture(scope="module")
def page_html(tmp_path_factory: pytest.TempPathFactory, demo_cases: list[Case]) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('page') / 'c.db'}"
    with CaseStore(url, create=True, actor="test") as store:
        import_cases(store, demo_cases)
    return _page_html(url, demo_cases[0].patient.id)  # patient 0 has alarm features


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def _open(browser: Any, html: str, *, policy: bool = True, **context: Any) -> Any:
    """The page under the server's own policy (its inline stylesheet must pass by its
    hash), unless `policy=False` (axe is injected as a script)."""
    return open_page(
        browser, html, CONTENT_SECURITY_POLICY, "footer.cb-footer", policy=policy, **context
    )


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_top_of_the_page_and_the_folded_sections(browser: Any, page_html: str) -> None:
    page = _open(browser, page_html, **PHONE)
    order = page.eval_on_selector_all(
        "main > section, main > details, main > header, main > footer",
        "els => els.map(e => e.id || e.className)",
    )
    assert order[:4] == ["cb-header", "attention", "plan", "upcoming"], order
    folded = page.eval_on_selector_all(
        "main > details.cb-fold",
        "els => els.map(e => [e.id, e.open, e.querySelector('summary > h2').textContent])",
    )
    assert [f[0] for f in folded] == [s for s in FOLDED if s in order]
    assert all(not is_open for _, is_open, _ in folded)
    assert (
        page.locator("text=your practitioner would like to talk this result through").count() == 1
    )
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4500, f"the page is {height} px long on a phone"
    _shot(page, "patient-page-390")
    page.click("#results > summary")
    assert page.eval_on_selector("#results", "e => e.open")
    discuss = page.locator(".cb-flag-discuss").first
    assert discuss.is_visible()
    assert discuss.evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"
    page.context.close()


def test_no_heading_is_said_twice(browser: Any, page_html: str) -> None:
    page = _open(browser, page_html, **PHONE)
    headings = page.eval_on_selector_all(
        "h1, h2, h3, h4", "els => els.map(e => e.textContent.trim().toLowerCase())"
    )
    assert headings and len(headings) == len(set(headings)), headings
    page.context.close()


@pytest.mark.parametrize("name, context", [("390", PHONE), ("zoom-200", ZOOM_200)])
def test_nothing_is_wider_than_the_screen(
    browser: Any, page_html: str, name: str, context: dict[str, Any]
) -> None:
    page = _open(browser, page_html, **context)
    page.eval_on_selector_all("details", "els => els.forEach(e => e.open = true)")
    assert wider_than_the_screen(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= context["viewport"]["width"]
    _shot(page, f"patient-page-open-{name}")
    page.context.close()


@pytest.mark.parametrize("opened", [False, True], ids=["folded", "opened"])
def test_axe_finds_nothing_serious(browser: Any, page_html: str, opened: bool) -> None:
    page = _open(browser, page_html, policy=False, **PHONE)
    if opened:
        page.eval_on_selector_all("details", "els => els.forEach(e => e.open = true)")
    assert serious_axe_findings(page) == []
    page.context.close()
