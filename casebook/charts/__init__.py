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
"""

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
