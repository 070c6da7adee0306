"""The forms' stylesheet is a file of the workbook package (static/forms.css), inlined in
the forms as one <style> element; every rule is scoped to the forms' class, or to the patient
banner and the notebook cells it keeps in view."""

from __future__ import annotations

import re

from casebook.workbook.widgets._html import FORM_CLASS, STYLE, STYLESHEET
from casebook.workbook.widgets.banner import BANNER_CLASS


def test_the_stylesheet_ships_in_the_workbook_package_and_is_inlined() -> None:
    assert STYLESHEET.parent.name == "static" and STYLESHEET.parent.parent.name == "workbook"
    css = STYLESHEET.read_text(encoding="utf-8")
    assert f"<style>{css}</style>" == STYLE
    assert STYLE.count("<style>") == 1 and "</style>" not in css


def test_every_rule_is_scoped_to_the_forms_or_the_banner() -> None:
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(encoding="utf-8"), flags=re.S)
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", css)]
    assert selectors, "no rule in forms.css"
    forms = [s for s in selectors if s.startswith(f".{FORM_CLASS} ")]
    banner = [s for s in selectors if f".{BANNER_CLASS}" in s and s not in forms]
    assert sorted(forms + banner) == sorted(selectors), selectors
    # the rules reaching outside: the cell holding the banner and the cells above it (`~`:
    # those with a later sibling holding it), nothing else
    outside = [s for s in banner if not s.startswith(f".{BANNER_CLASS}")]
    scoped = rf"\.jp-Notebook \.jp-Cell:has\((~ \.jp-Cell )?\.{BANNER_CLASS}\)( .*)?"
    assert outside and all(re.fullmatch(scoped, s) for s in outside), outside


def test_the_banner_cell_stays_in_view() -> None:
    css = STYLESHEET.read_text(encoding="utf-8")
    rule = css.split(f".jp-Cell:has(.{BANNER_CLASS}){{", 1)[1].split("}", 1)[0]
    assert "position:sticky" in rule and "top:0" in rule
