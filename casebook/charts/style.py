"""What every casebook chart shares: audiences, sizes, colour-blind-safe palettes, axis and
title helpers, and the labelled empty chart.

Styling is set on the encodings and titles of each chart (never with `configure_*`), so a
caller may still layer or concatenate the charts the builders return.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Literal, ParamSpec, TypeVar

import altair as alt
from altair.utils.schemapi import debug_mode

from casebook.clinical.vocabulary import RESULT_FLAG_WORDS
from casebook.errors import CasebookError

__all__ = [
    "CATEGORY_COLORS",
    "CATEGORY_LABELS",
    "FLAG_STYLES",
    "SEVERITY_COLORS",
    "Audience",
    "ChartError",
    "Style",
    "axis",
    "built_quietly",
    "date_label",
    "empty_chart",
    "inline",
    "is_empty",
    "padded_domain",
    "style_for",
    "time_axis",
    "time_scale",
    "title",
]

Audience = Literal["practitioner", "patient"]


class ChartError(CasebookError, RuntimeError):
    """A chart that cannot be built or rendered; the message names the chart (its title)."""


@dataclass(frozen=True)
class Style:
    """Sizes for one audience. Patients read on phones: larger text, narrower default."""

    audience: Audience
    width: int  # the whole rendered picture (render_svg fits axes and legend inside)
    font: int  # axis labels, legend labels, in-chart text
    title_font: int
    axis_title_font: int
    step: int  # height of one row in row-based charts (heatmap, plan)
    label_limit: int  # widest axis label, pixels, before it is cut with an ellipsis


_STYLES: Mapping[str, Style] = MappingProxyType(
    {
        "practitioner": Style("practitioner", 560, 12, 15, 12, 22, 180),
        "patient": Style("patient", 340, 14, 17, 14, 30, 150),
    }
)

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form of
# colour-vision deficiency. Categories also carry their name on the axis or the legend.
CATEGORY_COLORS: Mapping[str, str] = MappingProxyType(
    {
        "eliminate_triggers": "#D55E00",  # vermillion
        "herbal": "#009E73",  # bluish green
        "nutritional_support": "#E69F00",  # orange
        "microbiome_support": "#56B4E9",  # sky blue
        "stress_management": "#CC79A7",  # reddish purple
        "referral": "#0072B2",  # blue
    }
)
CATEGORY_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "practitioner": MappingProxyType(
            {
                "eliminate_triggers": "Eliminate triggers",
                "herbal": "Herbal",
                "nutritional_support": "Nutritional support",
                "microbiome_support": "Microbiome support",
                "stress_management": "Stress management",
                "referral": "Referral",
            }
        ),
        "patient": MappingProxyType(
            {
                "eliminate_triggers": "Foods and triggers to avoid",
                "herbal": "Herbal remedies",
                "nutritional_support": "Nutrition",
                "microbiome_support": "Gut bacteria support",
                "stress_management": "Stress and rest",
                "referral": "Seeing a specialist",
            }
        ),
    }
)
# Severity 0-4 from light to dark in one hue family (ColorBrewer OrRd): ordered by lightness,
# so it reads in greyscale too; every cell also prints its number.
SEVERITY_COLORS = ("#f4f4f4", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000")
# A flag is told apart by shape and colour, never by colour alone.
FLAG_STYLES: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        # flag ("" when in range): (legend text, colour, shape)
        "H": (RESULT_FLAG_WORDS["H"], "#D55E00", "triangle-up"),
        "L": (RESULT_FLAG_WORDS["L"], "#0072B2", "triangle-down"),
        "": ("in range", "#333333", "circle"),
    }
)


def style_for(audience: str, width: int | None = None) -> Style:
    """The Style of `audience`, with `width` (pixels of the whole rendered picture) if given."""
    try:
        style = _STYLES[audience]
    except KeyError:
        raise ValueError(
            f"audience must be 'practitioner' or 'patient' (got {audience!r})"
        ) from None
    if width is None:
        return style
    if isinstance(width, bool) or not isinstance(width, int) or not 200 <= width <= 2000:
        raise ValueError(f"width must be a whole number of pixels, 200-2000 (got {width!r})")
    return Style(**{**style.__dict__, "width": width})


def title(text: str, style: Style, subtitle: str = "") -> alt.TitleParams:
    """A left-aligned title; `subtitle` under it in grey (catalog text only, never a name)."""

    def lines(words: str, size: int) -> list[str]:  # titles do not wrap by themselves
        return textwrap.wrap(words, max(16, int(style.width / (size * 0.55)))) or [words]

    extra: dict[str, Any] = {}
    if subtitle:
        extra = {
            "subtitle": lines(subtitle, style.font),
            "subtitleFontSize": style.font,
            "subtitleColor": "#555",
        }
    return alt.TitleParams(
        lines(text, style.title_font), anchor="start", fontSize=style.title_font, offset=8, **extra
    )


def axis(style: Style, title_text: str | None = None, **kwargs: Any) -> alt.Axis:
    """An axis with the audience's font sizes."""
    return alt.Axis(
        title=title_text,
        labelFontSize=style.font,
        titleFontSize=style.axis_title_font,
        labelLimit=style.label_limit,
        **kwargs,
    )


def time_scale(
    domain: tuple[date, date], style: Style, plot_width: float
) -> tuple[alt.Scale, alt.Axis]:
    """A UTC date scale over `domain` (so no time zone moves a date by a day) and an axis
    whose ticks fall on whole weeks, months or years, few enough to never repeat a label."""
    days = max((domain[1] - domain[0]).days, 1)
    most = max(2, min(6, int(plot_width // (style.font * 6.5))))  # labels ~6 characters
    if days > 120:
        months = days / 30.4
        step = next(s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= most or s == 60)
        ticks = alt.TimeIntervalStep(interval="month", step=step)
        fmt = "%Y" if step >= 12 else "%b %Y"
    else:
        weeks = days / 7
        step = next(s for s in (1, 2, 4, 8, 16) if weeks / s <= most or s == 16)
        ticks = alt.TimeIntervalStep(interval="week", step=step)
        fmt = "%-d %b %Y" if style.audience == "patient" or days > 60 else "%-d %b"
    scale = alt.Scale(type="utc", domain=[d.isoformat() for d in domain])
    return scale, axis(
        style, None, format=fmt, tickCount=ticks, labelOverlap="greedy", labelAngle=0
    )


def time_axis(field: str, style: Style, domain: tuple[date, date], plot_width: float) -> alt.X:
    """The x encoding of a date `field` over `domain` (see `time_scale`)."""
    scale, ax = time_scale(domain, style, plot_width)
    return alt.X(f"{field}:T", scale=scale, axis=ax)


def padded_domain(days: list[date]) -> tuple[date, date]:
    """A date domain around `days` with room for the first and last point's label."""
    span = max((max(days) - min(days)).days, 30)
    pad = timedelta(days=max(10, span // 12))
    return min(days) - pad, max(days) + pad


def date_label(day: date) -> str:
    """A short date for a category axis: '5 Mar 2024'."""
    return f"{day.day} {day:%b %Y}"


_P = ParamSpec("_P")
_R = TypeVar("_R")


def built_quietly(builder: Callable[_P, _R]) -> Callable[_P, _R]:
    """`builder` with Altair's debug mode off while it runs: Altair otherwise validates every
    axis, scale and encoding against the schema as it is made, as much time as building the
    chart (measured). The builders' whole specs are validated by their tests
    (`chart.to_dict()`), and vl-convert rejects an invalid spec when it draws.

    For the same reason the builders give a chart its size, title and resolve in its
    constructor rather than `.properties()` and `.resolve_axis()`: each of those makes the
    chart again (for a LayerChart Altair deep-copies every layer twice) and `.properties()`
    validates its values against the schema whatever the debug mode (half of a builder's
    time, measured; the spec is the same)."""

    @functools.wraps(builder)
    def build(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with debug_mode(False):
            return builder(*args, **kwargs)

    return build


class _SharedData(alt.InlineData):
    """Inline data that Altair shares instead of copying: every `encode`, `mark_*`,
    `properties` and `LayerChart` deep-copies its charts, data included, value by value (half
    the time of building a layered chart, measured). No builder changes values once made, so
    one copy serves every layer; the spec is the same as `alt.InlineData`'s."""

    def __deepcopy__(self, memo: object = None) -> _SharedData:
        return self


def inline(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> alt.InlineData:
    """Inline data holding exactly `columns` of `rows` (what the marks draw, nothing else).

    Plain values rather than a DataFrame: Altair hashes a DataFrame through its text repr,
    which made building a chart several times slower. Shared, not copied, by the charts
    built from it (see `_SharedData`): do not change its values."""
    return _SharedData(values=[{c: row[c] for c in columns} for row in rows])


@built_quietly
def empty_chart(
    message: str, *, title_text: str = "", audience: str = "practitioner", width: int | None = None
) -> alt.Chart:
    """A small chart that says `message` (e.g. "No visits yet") instead of drawing data.

    Builders return this when there is nothing to draw; `is_empty(chart)` tells it apart.
    """
    style = style_for(audience, width)
    heading: Any = title(title_text, style) if title_text else alt.Undefined
    chart: alt.Chart = (
        alt.Chart(
            inline([{"message": message}], ["message"]),
            width=style.width,
            height=60,
            title=heading,
            usermeta={"casebook": {"empty": True}},
        )
        .mark_text(
            fontSize=style.font + 1,
            color="#555",
            align="center",
            baseline="middle",
        )
        .encode(text=alt.Text("message:N"))
    )
    return chart


def is_empty(chart: alt.TopLevelMixin) -> bool:
    """True when `chart` is an `empty_chart` (nothing to draw), so a view can hide it."""
    meta = getattr(chart, "usermeta", alt.Undefined)
    if meta is alt.Undefined or not isinstance(meta, dict):
        return False
    return bool(meta.get("casebook", {}).get("empty", False))
