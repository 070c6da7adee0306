"""Charts of what is measured at visits: symptom severities, symptom burden, instrument scores.

Each builder draws from the case record and the catalog only, and embeds a small table with
just the columns its marks use: no record ids, no names, no notes.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import altair as alt

from casebook.catalog import Catalog, Instrument
from casebook.charts.style import (
    SEVERITY_COLORS,
    Audience,
    Style,
    axis,
    built_quietly,
    date_label,
    empty_chart,
    inline,
    padded_domain,
    style_for,
    time_axis,
    title,
)
from casebook.clinical.baseline import symptoms_start
from casebook.clinical.scoring import VisitChange, change_since_baseline, instrument_trend
from casebook.clinical.vocabulary import severity_words
from casebook.format import day as day_words
from casebook.models import Case, Visit

__all__ = ["burden_chart", "instrument_chart", "symptom_chart", "visit_labels"]

_TOTAL = {"practitioner": "Total burden", "patient": "All symptoms together"}
_BLUE = "#0072B2"
# Band fills from light to stronger for scores where higher is worse (one hue: greyscale-safe).
_BAND_RAMP = ("#f3f3f3", "#fdebd7", "#fcd9b5", "#f9c28f", "#f5a965")
_BAND_ALTERNATE = ("#f2f2f2", "#deebf7")


def visit_labels(visits: list[Visit], *, two_lines: bool = False) -> dict[str, str]:
    """visit id -> a unique short date label, in visit order ('5 Mar 2024', '5 Mar 2024 (2)');
    with `two_lines` the year goes on a second line ('5 Mar\\n2024')."""
    labels: dict[str, str] = {}
    seen: dict[date, int] = {}
    for visit in visits:
        day = visit.visit_date
        seen[day] = seen.get(day, 0) + 1
        text = f"{day.day} {day:%b}\n{day:%Y}" if two_lines else date_label(day)
        labels[visit.id] = text if seen[day] == 1 else f"{text} ({seen[day]})"
    return labels


def _symptom_labels(catalog: Catalog, keys: set[str], style: Style) -> dict[str, str]:
    """symptom key -> row label in catalog order (patient wording for patients)."""
    labels: dict[str, str] = {}
    for symptom in catalog.symptoms:
        if symptom.key in keys:
            text = symptom.patient_label if style.audience == "patient" else symptom.label
            labels[symptom.key] = text
    for key in sorted(keys - set(labels)):  # rated but no longer in the catalog
        labels[key] = key.replace("_", " ").capitalize()
    return labels


def _visit_axis(visits: list[Visit], style: Style, step: float) -> tuple[dict[str, str], alt.Axis]:
    """Column labels that fit `step` pixels: one line, two lines, or slanted."""
    char = style.font * 0.62
    if step >= 11 * char + 8:
        return visit_labels(visits), axis(style, None, labelAngle=0, orient="top")
    if step >= 6 * char + 6:
        return visit_labels(visits, two_lines=True), axis(
            style,
            None,
            labelAngle=0,
            orient="top",
            labelExpr="split(datum.label, '\\n')",
            labelPadding=round(style.font * 1.25) + 4,
        )  # Vega draws line 2 below line 1
    return visit_labels(visits), axis(
        style, None, labelAngle=-45, orient="top", labelOverlap="greedy"
    )


@built_quietly
def symptom_chart(
    case: Case, catalog: Catalog, *, audience: Audience = "practitioner", width: int | None = None
) -> alt.LayerChart | alt.Chart:
    """Severity 0-4 of every symptom at every visit (a heatmap, numbers printed in the cells),
    with the total burden as the last row. For patients: the catalog's plain wording, each
    label on its own line above its row, so the chart fits a phone."""
    style = style_for(audience, width)
    patient = audience == "patient"
    heading = "How your symptoms have changed" if patient else "Symptoms at each visit"
    visits = case.sorted_visits()
    if not visits:
        return empty_chart("No visits yet", title_text=heading, audience=audience, width=width)
    visit_ids = {v.id for v in visits}
    cells: dict[tuple[str, str], int] = {}
    for rating in case.symptoms:  # a later rating of the same symptom at a visit wins
        if rating.visit_id in visit_ids:
            cells[(rating.visit_id, rating.symptom)] = rating.severity
    if not cells:
        return empty_chart(
            "No symptoms rated yet", title_text=heading, audience=audience, width=width
        )
    plot_width = style.width - 16 if patient else max(120, style.width - style.label_limit)
    step = plot_width / len(visits)
    vlabels, x_axis = _visit_axis(visits, style, step)
    slabels = _symptom_labels(catalog, {s for _, s in cells}, style)
    total = _TOTAL[audience]
    rows = [
        {"visit": vlabels[v], "symptom": slabels[s], "severity": sev}
        for (v, s), sev in cells.items()
    ]
    burden: dict[str, int] = {}
    for (v, _), sev in cells.items():
        burden[v] = burden.get(v, 0) + sev
    totals = [
        {"visit": vlabels[v.id], "symptom": total, "burden": burden[v.id]}
        for v in visits
        if v.id in burden
    ]

    xs, ys = list(vlabels.values()), [*slabels.values(), total]
    x = alt.X("visit:O", sort=xs, scale=alt.Scale(domain=xs), axis=x_axis)
    cell_h = 26  # patients: the cell under its label line
    row_h = round(style.font * 1.3 + cell_h + 10) if patient else style.step
    offset = row_h / 2 - cell_h / 2 - 4 if patient else 0
    y = alt.Y(
        "symptom:N",
        sort=ys,
        axis=None if patient else axis(style, None, labelPadding=6),
        scale=alt.Scale(domain=ys, paddingInner=0, paddingOuter=0)
        if patient
        else alt.Scale(domain=ys),
    )
    words = severity_words(patient=patient)
    legend_expr = "[" + ", ".join(f"'{i} {w}'" for i, w in enumerate(words)) + "][datum.value]"
    color = alt.Color(
        "severity:O",
        scale=alt.Scale(domain=[0, 1, 2, 3, 4], range=list(SEVERITY_COLORS)),
        legend=alt.Legend(
            title="How strong" if patient else "Severity",
            orient="bottom",
            direction="horizontal",
            labelExpr=legend_expr,
            labelFontSize=style.font - 1,
            titleFontSize=style.font,
            columns=3 if patient else 5,
            symbolType="square",
            symbolStrokeColor="#999",
        ),
    )
    box: dict[str, Any] = {"height": cell_h, "yOffset": offset} if patient else {}
    cell = alt.Chart(inline(rows, ["visit", "symptom", "severity"]))
    layers = [cell.mark_rect(stroke="white", strokeWidth=1, **box).encode(x=x, y=y, color=color)]
    total_data = alt.Chart(inline(totals, ["visit", "symptom", "burden"]))
    layers.append(total_data.mark_rect(fill="#e6e6e6", stroke="white", **box).encode(x=x, y=y))
    if step >= 16:
        layers.append(
            cell.mark_text(fontSize=style.font - 1, dy=offset).encode(
                x=x,
                y=y,
                text=alt.Text("severity:Q"),
                color=alt.ColorValue(
                    "#222", condition={"test": "datum.severity >= 3", "value": "white"}
                ),
            )
        )
        layers.append(
            total_data.mark_text(
                fontSize=style.font - 1, fontWeight="bold", color="#222", dy=offset
            ).encode(x=x, y=y, text=alt.Text("burden:Q"))
        )
    if patient:
        names = alt.Chart(inline([{"symptom": label} for label in ys], ["symptom"]))
        layers.append(
            names.mark_text(
                align="left",
                baseline="top",
                dy=-row_h / 2 + 3,
                fontSize=style.font,
                color="#222",
                limit=plot_width,
            ).encode(x=alt.XValue(0), y=y, text=alt.Text("symptom:N"))
        )
    subtitle = (
        "0 none to 4 severe; the last row adds them all up"
        if patient
        else f"Severity 0-4 per visit; last row: sum of {len(slabels)} symptoms"
    )
    return alt.LayerChart(
        layer=layers,
        width=style.width,
        height=row_h * len(ys),
        title=title(heading, style, subtitle),
    )


def _burden_subtitle(start: Visit | None, *, patient: bool) -> str:
    """What the labels count from: the patient's own check-in said as such."""
    if start is None or not start.is_checkin:
        if patient:
            return "Lower is better; numbers show the change since your first visit"
        return "Sum of severities; labels: change since baseline"
    on = day_words(start.visit_date)
    if patient:
        return f"Lower is better; numbers show the change since the check-in you sent on {on}"
    return f"Sum of severities; labels: change from the check-in sent on {on}"


@built_quietly
def burden_chart(
    case: Case, *, audience: Audience = "practitioner", width: int | None = None
) -> alt.LayerChart | alt.Chart:
    """Symptom burden (sum of severities) per visit, each point labelled with its change from
    where the burden starts (`clinical.baseline`: the baseline visit, or a check-in the
    patient sent, which the subtitle names); a dashed line marks the start."""
    style = style_for(audience, width)
    patient = audience == "patient"
    heading = "Your symptoms overall" if patient else "Symptom burden"
    changes = [c for c in change_since_baseline(case) if c.burden is not None]
    if not changes:
        message = "No visits yet" if not case.visits else "No symptoms rated yet"
        return empty_chart(message, title_text=heading, audience=audience, width=width)
    baseline = symptoms_start(case)  # where the burden starts (clinical.baseline)
    rated = max(sum(1 for r in case.symptoms if r.visit_id == c.visit_id) for c in changes)
    top = max(4 * rated, *(c.burden or 0 for c in changes), 1)

    def change(c: VisitChange) -> str:
        if baseline is not None and c.visit_id == baseline.id:
            return "start"
        delta = c.burden_delta
        return "" if delta is None else ("±0" if delta == 0 else f"{delta:+d}".replace("-", "−"))

    data = inline(
        [
            {"date": c.visit_date.isoformat(), "burden": c.burden, "change": change(c)}
            for c in changes
        ],
        ["date", "burden", "change"],
    )
    plot_width = style.width - 50
    x = time_axis("date", style, padded_domain([c.visit_date for c in changes]), plot_width)
    y = alt.Y(
        "burden:Q",
        scale=alt.Scale(domain=[0, top], nice=False),
        axis=axis(
            style, "Total (0 = no symptoms)" if patient else f"Burden (0-{top})", tickCount=5
        ),
    )
    base = alt.Chart(data).encode(x=x, y=y)
    layers = [
        base.mark_line(color=_BLUE, strokeWidth=2),
        base.mark_point(color=_BLUE, filled=True, size=70 if patient else 50, opacity=1),
        base.mark_text(dy=-12, fontSize=style.font, color="#222").encode(text=alt.Text("change:N")),
    ]
    base_burden = next((c.burden for c in changes if baseline and c.visit_id == baseline.id), None)
    if base_burden is not None:
        rule = (
            alt.Chart(inline([{"baseline": base_burden}], ["baseline"]))
            .mark_rule(color="#777", strokeDash=[4, 4])
            .encode(y=alt.Y("baseline:Q"))
        )
        layers.insert(0, rule)
    subtitle = _burden_subtitle(baseline, patient=patient)
    return alt.LayerChart(
        layer=layers,
        width=style.width,
        height=200 if patient else 220,
        title=title(heading, style, subtitle),
    )


def _band_rows(instrument: Instrument) -> list[dict[str, object]]:
    lo, hi = instrument.total_range
    bands = sorted(instrument.bands, key=lambda b: b.min)
    if instrument.higher_is_worse:
        step = (len(_BAND_RAMP) - 1) / max(1, len(bands) - 1)
        fills = [_BAND_RAMP[round(i * step)] for i in range(len(bands))]
    else:
        fills = [_BAND_ALTERNATE[i % 2] for i in range(len(bands))]
    rows = []
    for band, fill in zip(bands, fills, strict=True):
        y, y2 = max(lo, band.min - 0.5), min(hi, band.max + 0.5)
        rows.append({"y": y, "y2": y2, "band": band.label, "fill": fill})
    return rows


def _band_axis(rows: list[dict[str, Any]], style: Style) -> alt.Axis:
    """A right-hand axis that names each band at its middle (outside the plot, so a band's
    name never hides a point)."""
    mids = [(float(r["y"]) + float(r["y2"])) / 2 for r in rows]
    expr = (
        " : ".join(
            f"datum.value == {m!r} ? {json.dumps(r['band'])}"
            for m, r in zip(mids, rows, strict=True)
        )
        + " : ''"
    )
    return alt.Axis(
        orient="right",
        values=mids,
        labelExpr=expr,
        title=None,
        ticks=False,
        domain=False,
        grid=False,
        labelFontSize=style.font - 1,
        labelFontStyle="italic",
        labelColor="#444",
        labelLimit=style.label_limit,
    )


@built_quietly
def instrument_chart(
    case: Case,
    catalog: Catalog,
    key: str,
    *,
    audience: Audience = "practitioner",
    width: int | None = None,
) -> alt.LayerChart | alt.Chart:
    """Totals of one instrument per visit over its bands (shaded and named); the y axis spans
    the instrument's whole score range. Unknown `key`: KeyError naming the known ones."""
    style = style_for(audience, width)
    patient = audience == "patient"
    inst = catalog.instrument(key)
    heading = (
        f"{inst.measures[:1].upper()}{inst.measures[1:]} ({inst.short_name})"
        if patient
        else f"{inst.name} ({inst.short_name})"
    )
    trend = instrument_trend(case, key, instrument=inst)
    if not trend:
        message = f"No {inst.short_name} scores yet"
        return empty_chart(message, title_text=heading, audience=audience, width=width)
    lo, hi = inst.total_range
    y_title = "Score" if patient else f"Total ({lo}-{hi})"
    y_scale = alt.Scale(domain=[lo, hi], nice=False, zero=False)
    band_rows = _band_rows(inst)
    bands = alt.Chart(inline(band_rows, ["y", "y2", "fill"]))
    points = alt.Chart(
        inline(
            [{"date": day.isoformat(), "total": total} for day, total, _ in trend],
            ["date", "total"],
        )
    )
    label_width = max(len(str(r["band"])) for r in band_rows) * (style.font - 1) * 0.55 + 8
    plot_width = max(150, round(style.width - 50 - min(label_width, style.label_limit)))
    x = time_axis("date", style, padded_domain([day for day, _, _ in trend]), plot_width)
    y = alt.Y("total:Q", scale=y_scale, axis=axis(style, y_title, tickCount=5))
    y_plain = alt.Y("total:Q", scale=y_scale, axis=None)  # one score axis, on the left
    layers = [
        bands.mark_rect(opacity=1).encode(
            y=alt.Y("y:Q", scale=y_scale, axis=_band_axis(band_rows, style)),
            y2=alt.Y2("y2:Q"),
            x=alt.XValue(0),
            x2=alt.X2Value("width"),
            color=alt.Color("fill:N", scale=None),
        ),
        points.mark_line(color=_BLUE, strokeWidth=2).encode(x=x, y=y),
        points.mark_point(color=_BLUE, filled=True, size=70 if patient else 50, opacity=1).encode(
            x=x, y=y_plain
        ),
        points.mark_text(dy=-11, fontSize=style.font, color="#222").encode(
            x=x, y=y_plain, text=alt.Text("total:Q")
        ),
    ]
    if inst.higher_is_worse:
        subtitle = "Lower is better" if patient else f"Measures {inst.measures}; higher is worse"
    else:
        subtitle = "The middle band is the usual range" if patient else f"Measures {inst.measures}"
    return alt.LayerChart(
        layer=layers,
        resolve=alt.Resolve(axis=alt.AxisResolveMap(y="independent")),
        width=style.width,
        height=200 if patient else 220,
        title=title(heading, style, subtitle),
    )
