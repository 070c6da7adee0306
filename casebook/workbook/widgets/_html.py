"""Small HTML fragments for the widgets. Every text that reaches HTML passes through `esc`
(or `text`, for a string shown as it is): ipywidgets.HTML values are raw HTML, and names,
notes and plan text come from people.

This module is the one place in the widgets that escapes: the fragments are short and built
in Python (they are widget values, not pages; pages come from the dashboard's Jinja
templates with autoescape on)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from casebook.format import number

__all__ = [
    "EVIDENCE_COLOURS",
    "FORM_CLASS",
    "STYLE",
    "STYLESHEET",
    "badge",
    "esc",
    "evidence_badge",
    "notice",
    "pretty",
    "shown",
    "table",
    "text",
]

EVIDENCE_COLOURS = {
    "guideline-backed": "#1b6e3a",
    "supportive": "#1f5f99",
    "research-only": "#8a5a00",
    "not-recommended": "#b00020",
}
FORM_CLASS = "casebook-form"
STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "forms.css"
"""The forms' stylesheet (casebook/workbook/static/forms.css), its selectors under
FORM_CLASS."""
STYLE = f"<style>{STYLESHEET.read_text(encoding='utf-8')}</style>"
"""The stylesheet as a `<style>` element, inline: nothing is downloaded."""

_NOTICE = {
    "error": ("#fdecea", "#b00020"),
    "warning": ("#fff4e5", "#8a5a00"),
    "info": ("#eef4fb", "#1f5f99"),
    "ok": ("#edf7ee", "#1b6e3a"),
}


def esc(value: Any) -> str:
    """`value` as it reads in a form (`shown`), escaped for HTML (quotes too)."""
    return text(shown(value))


def text(value: str) -> str:
    """A string escaped for HTML (quotes too), shown exactly as it is."""
    return html.escape(value, quote=True)


def shown(value: Any) -> str:
    """How a stored value reads in a form or a table: None is a dash, dates are ISO."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {shown(v)}" for k, v in value.items())
    return str(value)


def pretty(key: str) -> str:
    """'proton_pump_inhibitor' -> 'proton pump inhibitor'."""
    return key.replace("_", " ")


def badge(text: str, colour: str) -> str:
    return (
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:0 6px;'
        f'font-size:0.85em;white-space:nowrap">{esc(text)}</span>'
    )


def evidence_badge(evidence: str) -> str:
    return badge(evidence, EVIDENCE_COLOURS.get(evidence, "#555"))


def notice(kind: str, body_html: str) -> str:
    """A coloured box around HTML that the caller has already escaped."""
    background, border = _NOTICE[kind]
    return (
        f'<div style="background:{background};border-left:4px solid {border};'
        f'padding:4px 8px;margin:2px 0;line-height:1.4">{body_html}</div>'
    )


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, escaped: bool = False) -> str:
    """An HTML table; cells are escaped unless `escaped` says they already are."""
    cell = (lambda c: c) if escaped else esc
    head = "".join(f'<th style="text-align:left;padding:2px 8px">{esc(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="padding:2px 8px">{cell(c)}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
