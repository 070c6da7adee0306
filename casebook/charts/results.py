"""The trend chart of one lab analyte: results over time over the reference range."""

from __future__ import annotations

import altair as alt

from casebook.catalog import Catalog, LabTest
from casebook.charts.style import (
    FLAG_STYLES,
    Audience,
    axis,
    built_quietly,
    empty_chart,
    inline,
    padded_domain,
    style_for,
    time_axis,
    title,
)
from casebook.clinical.scoring import read_result
from casebook.clinical.scoring import reference_range as result_range
from casebook.format import range_text
from casebook.models import Case, TestResult

__all__ = ["analyte_chart", "reference_range"]


def _range_text(low: float | None, high: float | None) -> str:
    return range_text(low, high) or "none given"


def reference_range(
    results: list[TestResult], test: LabTest, sex: str
) -> tuple[float | None, float | None]:
    """The range shaded behind a trend: that of the latest result that carries one, else the
    catalog's (sex-specific where it has one). (None, None) when neither gives a range."""
    printed = [r for r in results if r.ref_low is not None or r.ref_high is not None]
    latest = max(printed, key=lambda r: r.collected_on, default=None)
    return result_range(latest, test, sex) if latest else test.range_for(sex)


@built_quietly
def analyte_chart(
    case: Case,
    catalog: Catalog,
    test: str,
    *,
    audience: Audience = "practitioner",
    width: int | None = None,
) -> alt.LayerChart | alt.Chart:
    """Numeric results of one test (catalog key or LOINC code) over time: the reference range
    shaded, high and low results marked by shape and colour, the unit in the axis title.

    Each point's flag is the stored H/L flag, or else computed against the result's own range
    (the catalog's when the result has none). Qualitative tests and tests with no numeric
    result give an `empty_chart`. Unknown `test`: KeyError naming the known tests."""
    style = style_for(audience, width)
    patient = audience == "patient"
    lab = catalog.test(test)
    heading = lab.patient_name if patient else lab.name
    results = sorted(
        (r for r in case.results if r.test == lab.key and r.value is not None),
        key=lambda r: r.collected_on,
    )
    if lab.kind == "qualitative":
        message = "Reported in words, not numbers: see the results list"
        return empty_chart(message, title_text=heading, audience=audience, width=width)
    if not results:
        return empty_chart("No results yet", title_text=heading, audience=audience, width=width)
    rows = []
    for r in results:
        flag = read_result(r, lab, case.patient.sex).flag
        flag = flag if flag in ("H", "L") else None  # a number marked "A" has no direction
        rows.append(
            {
                "date": r.collected_on.isoformat(),
                "value": r.value,
                "flag": FLAG_STYLES[flag or ""][0],
            }
        )
    low, high = reference_range(results, lab, case.patient.sex)
    values = [float(r.value) for r in results if r.value is not None]
    bounds = [b for b in (low, high) if b is not None]
    top = max([*values, *bounds]) * 1.15 or 1.0  # one value and no range: a list
    bottom = min(0.0, *values)
    scale = alt.Scale(domain=[bottom, top], nice=True, zero=bottom == 0)
    unit = lab.unit or (results[-1].unit if results else "")
    y_title = unit if patient else f"{lab.name} ({unit})" if unit else lab.name
    y_axis = axis(style, y_title, tickCount=5)
    layers: list[alt.Chart] = []
    if bounds:  # an open side of the range runs to the edge of the plot
        band_row = {k: v for k, v in (("low", low), ("high", high)) if v is not None}
        band = alt.Chart(inline([band_row], list(band_row))).mark_rect(color="#cfe8d6", opacity=0.8)
        if low is not None:
            y2 = alt.Y2("high:Q") if high is not None else alt.Y2Value(0)
            band = band.encode(y=alt.Y("low:Q", scale=scale, axis=y_axis), y2=y2)
        else:
            band = band.encode(
                y=alt.Y("high:Q", scale=scale, axis=y_axis), y2=alt.Y2Value("height")
            )
        layers.append(band.encode(x=alt.XValue(0), x2=alt.X2Value("width")))
    present = [v for v in FLAG_STYLES.values() if v[0] in {row["flag"] for row in rows}]
    legend = alt.Legend(
        title=None, orient="bottom", labelFontSize=style.font, symbolSize=90, direction="horizontal"
    )
    data = alt.Chart(inline(rows, ["date", "value", "flag"]))
    plot_width = style.width - 60
    x = time_axis("date", style, padded_domain([r.collected_on for r in results]), plot_width)
    y = alt.Y("value:Q", scale=scale, axis=y_axis)
    layers.append(data.mark_line(color="#777", strokeWidth=1.5).encode(x=x, y=y))
    layers.append(
        data.mark_point(filled=True, opacity=1, size=110 if patient else 80).encode(
            x=x,
            y=y,
            color=alt.Color(
                "flag:N",
                scale=alt.Scale(domain=[p[0] for p in present], range=[p[1] for p in present]),
                legend=legend,
            ),
            shape=alt.Shape(
                "flag:N",
                scale=alt.Scale(domain=[p[0] for p in present], range=[p[2] for p in present]),
                legend=legend,
            ),
        )
    )
    if len(rows) <= 12:
        layers.append(
            data.mark_text(dy=-13, fontSize=style.font - 1, color="#222").encode(
                x=x, y=y, text=alt.Text("value:Q", format="~g")
            )
        )
    shade = "usual range" if patient else "reference range"
    subtitle = f"Shaded: {shade}, {_range_text(low, high)} {unit}".rstrip()
    if not bounds:
        subtitle = "No reference range for this test"
    return alt.LayerChart(
        layer=layers,
        width=style.width,
        height=200 if patient else 220,
        title=title(heading, style, subtitle),
    )
