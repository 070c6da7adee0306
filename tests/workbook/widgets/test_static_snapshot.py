"""Workbook sections carry a static HTML snapshot for places with no widget manager."""

from __future__ import annotations

import ipywidgets

from casebook import workbook
from casebook.workbook.widgets._static import static_html, widget_bundle


def test_values_are_escaped_and_buttons_and_hidden_widgets_left_out() -> None:
    tree = ipywidgets.VBox(
        [
            ipywidgets.Text(value="<script>alert(1)</script>", description="Dose <b>"),
            ipywidgets.Button(description="Save"),
            ipywidgets.Label("visible & shown"),
            ipywidgets.Label("hidden", layout=ipywidgets.Layout(display="none")),
            ipywidgets.Dropdown(
                options=[("Daily <x>", 1), ("Weekly", 2)], value=1, description="Frequency"
            ),
        ]
    )
    out = static_html(tree)
    assert "<script" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<b>Dose &lt;b&gt;</b>" in out
    assert "Save" not in out and "hidden" not in out
    assert "visible &amp; shown" in out and "Daily &lt;x&gt;" in out


def test_every_section_offers_html_beside_its_widgets(demo_session) -> None:  # type: ignore[no-untyped-def]
    name = demo_session.case.patient.name
    sections = (workbook.patient_banner, workbook.header, workbook.plan_section)
    for section in (*sections, workbook.symptoms_section):
        bundle = section(demo_session)._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert bundle["text/html"].startswith('<div class="casebook-static">')
    banner_html = workbook.patient_banner(demo_session)._repr_mimebundle_()["text/html"]
    assert name in banner_html and demo_session.patient_id in banner_html


def test_a_sections_bundle_is_what_ipywidgets_gives_plus_its_html(demo_session) -> None:  # type: ignore[no-untyped-def]
    sections = (
        workbook.patient_banner,
        workbook.header,
        workbook.visits_section,
        workbook.history_section,
        workbook.symptoms_section,
        workbook.instruments_section,
        workbook.tests_section,
        workbook.plan_section,
        workbook.notes_section,
    )
    for section in sections:
        shown = section(demo_session)
        bundle = shown._repr_mimebundle_()
        stock = shown.widget._repr_mimebundle_()  # the whole tree's repr, cut at 110
        assert {k: v for k, v in bundle.items() if k != "text/html"} == stock, section.__name__
    small = ipywidgets.HBox([ipywidgets.Label("a")])
    assert widget_bundle(small)["text/plain"] == small._repr_mimebundle_()["text/plain"]
    assert widget_bundle(small)["text/plain"] == repr(small)  # short: not cut
    one = ipywidgets.VBox([ipywidgets.HTML("x" * 200)])
    assert widget_bundle(one)["text/plain"] == one._repr_mimebundle_()["text/plain"]
