"""The plan timeline: one bar per plan item from its start to its end, coloured by category."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, cast

import altair as alt

from casebook.catalog import Catalog
from casebook.charts.style import (
    CATEGORY_COLORS,
    CATEGORY_LABELS,
    Audience,
    Style,
    axis,
    built_quietly,
    empty_chart,
    inline,
    style_for,
    title,
)
from casebook.models import PLAN_CATEGORIES, Case, PlanItem

__all__ = ["STATUS_WORDS", "plan_timeline"]

STATUS_WORDS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "practitioner": MappingProxyType(
            {
                "proposed": "proposed",
                "active": "active",
                "stopped": "stopped",
                "completed": "completed",
            }
        ),
        "patient": MappingProxyType(
            {
                "proposed": "suggested",
                "active": "ongoing",
                "stopped": "stopped",
                "completed": "finished",
            }
        ),
    }
)
_OPACITY: Mapping[str, float] = MappingProxyType(
    {"proposed": 0.45, "active": 1.0, "stopped": 0.45, "completed": 0.7}
)


def _order(item: PlanItem) -> tuple[int, date, str]:
    return (PLAN_CATEGORIES.index(item.category), item.start or date.max, item.name)


def _rows(
    items: list[PlanItem], catalog: Catalog | None, today: date, style: Style, chars: int
) -> list[dict[str, object]]:
    """One row per item with its own vertical layout in pixels: the name (up to two lines)
    from `ytext`, then its bar from `y0` to `y1`."""
    patient = style.audience == "patient"
    evidence = {p.key: p.evidence for p in catalog.protocols} if catalog else {}
    words, labels = STATUS_WORDS[style.audience], CATEGORY_LABELS[style.audience]
    line_h = round(style.font * 1.25)
    bar_h = 12 if patient else 10
    rows: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    top = 0
    for item in items:
        seen[item.name] = seen.get(item.name, 0) + 1
        name = item.name if seen[item.name] == 1 else f"{item.name} ({seen[item.name]})"
        lines = textwrap.wrap(name, chars, max_lines=2, placeholder="…") or [name]
        start = item.start or today
        status = words[item.status]
        if not patient and item.template in evidence:
            status = f"{status} · {evidence[item.template]}"
        y0 = top + 3 + line_h * len(lines) + 2
        rows.append(
            {
                "item": "\n".join(lines),
                "category": labels[item.category],
                "status": status,
                "start": start.isoformat(),
                "end": (item.end or max(today, start)).isoformat(),
                "opacity": _OPACITY[item.status],
                "ytext": top + 3,
                "y0": y0,
                "y1": y0 + bar_h,
            }
        )
        top = y0 + bar_h + 10
    return rows


def _month_ticks(first: date, last: date, most: int) -> list[date]:
    """The first days of months inside [first, last], every 1, 2, 3, 6 or 12 months, at
    most `most` of them (a span shorter than a month gets its two ends)."""
    months = []
    day = date(first.year, first.month, 1)
    while day <= last:
        if day >= first:
            months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    step = next((s for s in (1, 2, 3, 6, 12) if len(months[::s]) <= most), 24)
    picked = [m for m in months if (m.year * 12 + m.month - 1) % step == 0]
    return picked or [first, last]


def _date_axis(
    domain: tuple[date, date],
    style: Style,
    plot_width: float,
) -> tuple[alt.Scale, alt.Axis]:
    """A UTC date scale and an axis of whole months, horizontal and at the page's font size,
    "Mar 2026" on the first label and in each January, the month alone ("May") otherwise:
    short enough that every label fits at phone width."""
    most = max(2, min(8, int(plot_width // (style.font * 4.5))))
    ticks = _month_ticks(domain[0], domain[1], most)
    scale = alt.Scale(type="utc", domain=[d.isoformat() for d in domain])
    label = (
        "datum.index == 0 || utcmonth(datum.value) == 0"
        " ? utcFormat(datum.value, '%b %Y') : utcFormat(datum.value, '%b')"
    )
    if len({(t.year, t.month) for t in ticks}) < len(ticks):  # two ends of a short span
        label = "utcFormat(datum.value, '%-d %b')"
    return scale, axis(
        style,
        None,
        values=[alt.DateTime(year=t.year, month=t.month, date=t.day, utc=True) for t in ticks],
        labelExpr=label,
        labelAngle=0,
        labelOverlap=False,
        labelPadding=4,
        grid=True,
        gridColor="#e5e5e5",
    )


@built_quietly
def plan_timeline(
    case: Case,
    catalog: Catalog | None = None,
    *,
    today: date | None = None,
    audience: Audience = "practitioner",
    width: int | None = None,
) -> alt.LayerChart | alt.Chart:
    """One row per plan item: its name and status on a line, under them a bar from its start
    to its end (items with no end run to `today`; an item not started yet is a dot at
    `today`), coloured by category; a dotted mark shows today. With a `catalog`, the
    practitioner's view adds the evidence label of the protocol template an item came from."""
    style = style_for(audience, width)
    patient = audience == "patient"
    today = today or date.today()
    heading = "Your plan over time" if patient else "Plan timeline"
    items = sorted(case.plan, key=_order)
    if not items:
        return empty_chart("No plan items yet", title_text=heading, audience=audience, width=width)
    plot_width = style.width - 16
    status_room = 100 if patient else 190
    chars = max(12, int((plot_width - status_room) / (style.font * 0.52)))
    rows = _rows(items, catalog, today, style, chars)
    height = int(cast(float, rows[-1]["y1"])) + 4
    first = min(date.fromisoformat(str(r["start"])) for r in rows)
    last = max(today, *(date.fromisoformat(str(r["end"])) for r in rows))
    pad = timedelta(days=max((last - first).days, 30) // 25 + 2)
    x_scale, x_axis = _date_axis((first - pad, last + pad), style, plot_width)
    x = alt.X("start:T", scale=x_scale, axis=x_axis)
    y_scale = alt.Scale(domain=[0, height], reverse=True, nice=False, zero=False)

    def y(field: str) -> alt.Y:  # pixels from the top of the plot
        return alt.Y(f"{field}:Q", scale=y_scale, axis=None)

    present = {r["category"] for r in rows}
    used = [c for c in PLAN_CATEGORIES if CATEGORY_LABELS[audience][c] in present]
    color = alt.Color(
        "category:N",
        scale=alt.Scale(
            domain=[CATEGORY_LABELS[audience][c] for c in used],
            range=[CATEGORY_COLORS[c] for c in used],
        ),
        legend=alt.Legend(
            title=None,
            orient="bottom",
            columns=1 if patient else 2,
            labelFontSize=style.font,
            symbolType="square",
            labelLimit=(style.width - 40) // (1 if patient else 2),
        ),
    )
    base = alt.Chart(inline(rows, list(rows[0])))
    text: dict[str, Any] = {"baseline": "top", "fontSize": style.font, "lineBreak": "\n"}
    day = alt.DateTime(year=today.year, month=today.month, date=today.day, utc=True)
    layers = [
        base.mark_rect(cornerRadius=3).encode(
            x=x,
            x2=alt.X2("end:T", timeUnit="utcyearmonthdate", title="end"),  # UTC text too
            y=y("y0"),
            y2=alt.Y2("y1:Q"),
            color=color,
            opacity=alt.Opacity("opacity:Q", scale=None, legend=None),
        ),
        # a dot, so an item that starts and ends on one day (or has not started) still shows
        base.mark_point(
            filled=True, size=90, opacity=1, shape="circle", yOffset=6 if patient else 5
        )
        .encode(x=x, y=y("y0"), color=color)
        .transform_filter("datum.start == datum.end"),
        base.mark_text(align="left", color="#222", limit=plot_width - status_room, **text).encode(
            x=alt.XValue(0), y=y("ytext"), text=alt.Text("item:N")
        ),
        base.mark_text(align="right", color="#555", limit=status_room, **text).encode(
            x=alt.XValue("width"), y=y("ytext"), text=alt.Text("status:N")
        ),
        # today: a dotted mark across each bar (a full-height rule would cross the names)
        base.mark_rule(
            color="#333", strokeWidth=1.5, strokeDash=[2, 2], yOffset=-4, y2Offset=4
        ).encode(
            x=alt.X(datum=day, type="temporal", scale=x_scale, axis=x_axis),
            y=y("y0"),
            y2=alt.Y2("y1:Q"),
        ),
    ]
    subtitle = (
        "What you are doing now and what is finished; the dotted mark is today"
        if patient
        else "Start to end; open-ended items run to today (dotted mark)"
    )
    return alt.LayerChart(
        layer=layers,
        width=style.width,
        height=height,
        title=title(heading, style, subtitle),
    )
