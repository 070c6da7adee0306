"""The check-in form in Chromium at phone width (390 px) and at 200% zoom: nothing wider
than the screen, answered by keyboard alone, under the server's policy (no script needed),
and no serious or critical axe-core finding (axe as in tests/dashboard: `.cache/axe` or
`$CASEBOOK_AXE_JS`). Screenshots go to test-artifacts/checkins/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_checks import (
    PHONE,
    ZOOM_200,
    chromium,
    open_page,
    serious_axe_findings,
    wider_than_the_screen,
)

from casebook.catalog import default_catalog
from casebook.checkins import Draft, form_page, form_sections, safety_page
from casebook.clinical.vocabulary import SCREEN_PATIENT_QUESTIONS
from casebook.serve.checkin_handlers import CHECKIN_POLICY

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "checkins"
INSTRUMENTS = ["phq9", "gad7", "symptoms", "bristol", "alarms"]


def _form() -> str:
    sections = form_sections(default_catalog(), INSTRUMENTS)
    draft = Draft({"phq9": {"1": 2}}, "Typed <b>as is</b>")
    return form_page(sections, draft, action="/checkin/" + "0" * 32, xsrf="x", phone="000 111")


def _alarm_safety() -> str:
    said_yes = [SCREEN_PATIENT_QUESTIONS["melena"], SCREEN_PATIENT_QUESTIONS["hematemesis"]]
    return safety_page(clinic="Test Clinic", phone="000 111", self_harm=False, alarms=said_yes)


PAGES = {
    "form": _form,
    "safety": lambda: safety_page(clinic="Test Clinic", phone="000 111"),
    "alarm safety": _alarm_safety,
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def _open(browser: Any, html: str, *, policy: bool = True, **context: Any) -> Any:
    return open_page(browser, html, CHECKIN_POLICY, "main", policy=policy, **context)


@pytest.mark.parametrize("name, context", [("390", PHONE), ("zoom-200", ZOOM_200)])
@pytest.mark.parametrize("which", list(PAGES))
def test_nothing_is_wider_than_the_screen(
    browser: Any, which: str, name: str, context: dict[str, Any]
) -> None:
    page = _open(browser, PAGES[which](), **context)
    styled = page.eval_on_selector("main", "e => getComputedStyle(e).maxWidth")
    assert styled != "none"  # the inline stylesheet passed the policy
    assert wider_than_the_screen(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"checkin-{which}-{name}.png"), full_page=True)
    page.context.close()


def test_answered_by_keyboard_alone(browser: Any) -> None:
    page = _open(browser, _form(), **PHONE)
    assert page.is_checked("#phq9-1-2")  # the saved draft
    page.keyboard.press("Tab")  # the first radio group
    assert page.evaluate("document.activeElement.name") == "phq9.1"
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#phq9-1-3")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.name") == "phq9.2"
    assert page.is_checked("#phq9-2-0")
    assert page.input_value("#free_text") == "Typed <b>as is</b>"
    page.context.close()


@pytest.mark.parametrize("which", list(PAGES))
def test_axe_finds_nothing_serious(browser: Any, which: str) -> None:
    page = _open(browser, PAGES[which](), policy=False, **PHONE)
    assert serious_axe_findings(page) == []
    page.context.close()
