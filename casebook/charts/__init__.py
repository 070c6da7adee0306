"""Altair charts of a case, shared by the practitioner workbook and the patient dashboards.

Builders return Altair charts and never display anything; `render_svg`, `chart_output` and
`chart_widget` turn a chart into static SVG in the kernel (vl-convert), so every chart works
offline, in JupyterLab, in Voila and in exported HTML, with no JavaScript on the page.

    from casebook.charts import chart_output, symptom_chart
    chart_output(symptom_chart(case, catalog, audience="patient"))

Every builder takes `audience` ("practitioner" or "patient": wording from the catalog, larger
text for phones) and `width` (pixels of the whole picture, axes and legend included, once
rendered by `render_svg`; default 560 for practitioners and 340, a phone, for patients).
When there is nothing to draw a builder returns a small labelled chart (`empty_chart`);
`is_empty(chart)` tells it apart. A chart embeds only the columns its marks draw: no ids,
no names, no notes.

Names load on first use, so that `casebook.charts.remote` (the chart service's client and
socket variable, which the kernels layer reads) can be imported without Altair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casebook._lazy import lazy_exports

if TYPE_CHECKING:  # the names load on first use: importing the package stays cheap
    from casebook.charts.plan import STATUS_WORDS, plan_timeline
    from casebook.charts.render import (
        CHART_CSS,
        RENDER_CONFIG,
        chart_html,
        chart_output,
        chart_widget,
        clear_chart_cache,
        render_svg,
        update_chart_widget,
        warm_up,
    )
    from casebook.charts.results import analyte_chart, reference_range
    from casebook.charts.style import (
        CATEGORY_COLORS,
        CATEGORY_LABELS,
        FLAG_STYLES,
        SEVERITY_COLORS,
        Audience,
        ChartError,
        empty_chart,
        is_empty,
    )
    from casebook.charts.visits import burden_chart, instrument_chart, symptom_chart

__all__ = [
    "CATEGORY_COLORS",
    "CATEGORY_LABELS",
    "CHART_CSS",
    "FLAG_STYLES",
    "RENDER_CONFIG",
    "SEVERITY_COLORS",
    "STATUS_WORDS",
    "Audience",
    "ChartError",
    "analyte_chart",
    "burden_chart",
    "chart_html",
    "chart_output",
    "chart_widget",
    "clear_chart_cache",
    "empty_chart",
    "instrument_chart",
    "is_empty",
    "plan_timeline",
    "reference_range",
    "render_svg",
    "symptom_chart",
    "update_chart_widget",
    "warm_up",
]

_HOMES = {
    "Audience": "style",
    "CATEGORY_COLORS": "style",
    "CATEGORY_LABELS": "style",
    "CHART_CSS": "render",
    "ChartError": "style",
    "FLAG_STYLES": "style",
    "RENDER_CONFIG": "render",
    "SEVERITY_COLORS": "style",
    "STATUS_WORDS": "plan",
    "analyte_chart": "results",
    "burden_chart": "visits",
    "chart_html": "render",
    "chart_output": "render",
    "chart_widget": "render",
    "clear_chart_cache": "render",
    "empty_chart": "style",
    "instrument_chart": "visits",
    "is_empty": "style",
    "plan_timeline": "plan",
    "reference_range": "results",
    "render_svg": "render",
    "symptom_chart": "visits",
    "update_chart_widget": "render",
    "warm_up": "render",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
