"""The forms' stylesheet is a file of the workbook package (static/forms.css), inlined in
the forms as one <style> element; every rule is scoped to the forms' class."""

from __future__ import annotations

import re

from casebook.workbook.widgets._html import FORM_CLASS, STYLE, STYLESHEET


def test_the_stylesheet_ships_in_the_workbook_package_and_is_inlined() -> None:
    assert STYLESHEET.parent.name == "static" and STYLESHEET.parent.parent.name == "workbook"
    css = STYLESHEET.read_text(encoding="utf-8")
    assert f"<style>{css}</style>" == STYLE
    assert STYLE.count("<style>") == 1 and "</style>" not in css


def test_every_rule_is_scoped_to_the_forms() -> None:
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(encoding="utf-8"), flags=re.S)
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", css)]
    assert selectors, "no rule in forms.css"
    assert all(s.startswith(f".{FORM_CLASS} ") for s in selectors), selectors
