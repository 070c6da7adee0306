"""Charts to static SVG with vl-convert, and the two ways a view shows them.

Rendering happens in the kernel: the page receives finished SVG, so a chart needs no
JavaScript, no CDN and no network (vl-convert is told to fetch nothing), works the same in
JupyterLab, Voila and exported HTML, and a strict Content-Security-Policy stays possible.
Altair's renderers are never touched.

Where a shared, warm chart engine runs (`casebook.kernels.chart_service`: `casebook serve` and
the `casebook` kernel start one), a kernel asks it instead of starting vl-convert's JavaScript
engine itself (~0.4 s a process); if it is gone, the chart is drawn in-process. Every
process keeps its last `CHART_CACHE_SIZE` charts by spec, so unchanged data is not drawn
again.

vl-convert escapes every text it writes into the SVG (labels, titles, aria-labels), so a
plan item named `<script>...` arrives as text, never as markup (tests/charts prove it).
"""

from __future__ import annotations

import functools
import html
import json
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import altair as alt
from altair.utils.schemapi import debug_mode

from casebook.charts.remote import CHART_SOCKET_ENV, RENDER_CONFIG, WARM_UP_SPEC
from casebook.charts.style import ChartError

if TYPE_CHECKING:
    import ipywidgets
    from IPython.display import SVG

__all__ = [
    "CHART_CACHE_SIZE",
    "CHART_CSS",
    "RENDER_CONFIG",
    "chart_html",
    "chart_output",
    "chart_widget",
    "clear_chart_cache",
    "render_svg",
    "update_chart_widget",
    "warm_up",
]

CHART_CACHE_SIZE = 64
"""Charts kept per process, keyed by their whole spec (data included): a chart whose data
did not change is not drawn again."""


CHART_CSS = """\
.casebook-chart { max-width: 100%; overflow-x: auto; }
.casebook-chart > svg { display: block; max-width: 100%; height: auto; }
"""
"""Style for pages that inline `chart_html`: charts shrink to a phone's width, never grow."""


def _spec(chart: alt.TopLevelMixin | Mapping[str, Any]) -> dict[str, Any]:
    """The Vega-Lite dict. Not validated against the schema here (about 20 ms a chart), nor
    each object Altair makes on the way (debug mode off): the builders' specs are validated
    in the tests, and vl-convert reports any invalid spec."""
    if isinstance(chart, Mapping):
        return dict(chart)
    if not isinstance(chart, alt.TopLevelMixin):
        raise TypeError(f"expected an Altair chart or a Vega-Lite dict, got {type(chart).__name__}")
    with debug_mode(False):
        return chart.to_dict(validate=False)


def _title(spec: Mapping[str, Any]) -> str:
    heading = spec.get("title")
    if isinstance(heading, Mapping):
        heading = heading.get("text")
    if isinstance(heading, list):
        heading = " ".join(map(str, heading))
    return str(heading) if heading else "untitled chart"


def _object_title(chart: object) -> str:
    heading = getattr(chart, "title", None)
    heading = getattr(heading, "text", heading)
    if heading is None or heading is alt.Undefined:
        return "untitled chart"
    return _title({"title": heading})


def _svg(spec: Mapping[str, Any]) -> str:
    """The SVG of `spec`, from the cache when the very same spec (data included) was drawn
    before in this process."""
    key = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return _cached_svg(key)


@functools.lru_cache(maxsize=CHART_CACHE_SIZE)
def _cached_svg(key: str) -> str:
    # A chart drawn again (a re-run cell, a form refreshed after a save that changed other
    # data) costs a dictionary lookup instead of a Vega run; errors are not cached.
    spec = json.loads(key)
    socket_path = os.environ.get(CHART_SOCKET_ENV)
    if socket_path:  # a warm, shared engine (casebook serve, the casebook kernel)
        from casebook.charts.remote import render_remote

        try:
            return render_remote(spec, socket_path)
        except (OSError, ValueError):
            pass  # render here instead: slower, same result (a bad spec raises below)
    import vl_convert  # lazily: importing casebook.charts must stay cheap

    config = json.loads(json.dumps(dict(RENDER_CONFIG)))  # a fresh copy for each call
    return str(vl_convert.vegalite_to_svg(spec, config=config, allowed_base_urls=[]))


def render_svg(chart: alt.TopLevelMixin | Mapping[str, Any]) -> str:
    """The chart as a standalone SVG document (a string starting with `<svg`).

    Offline by construction: vl-convert runs the bundled Vega in-process and may fetch no
    URL (a chart that points at remote data fails here instead). Text uses the viewer's
    local sans-serif font; no font is downloaded. Raises ChartError naming the chart's title
    when the spec is invalid or vl-convert fails.
    """
    try:
        spec = _spec(chart)
    except ValueError as exc:  # altair's SchemaValidationError is a ValueError
        raise ChartError(
            f"chart {_object_title(chart)!r} is not a valid Vega-Lite spec: {exc}"
        ) from exc
    try:
        svg = _svg(spec)
    except Exception as exc:  # vl-convert reports every failure as a plain ValueError
        raise ChartError(f"chart {_title(spec)!r} could not be rendered: {exc}") from exc
    if not svg.lstrip().startswith("<svg"):
        raise ChartError(f"chart {_title(spec)!r}: vl-convert returned no SVG")
    return svg


def clear_chart_cache() -> None:
    """Forget every cached chart of this process (the next draw of each runs Vega again)."""
    _cached_svg.cache_clear()


@functools.cache
def _warmed() -> bool:
    _svg(json.loads(json.dumps(dict(WARM_UP_SPEC))))
    return True


def warm_up(*, background: bool = False) -> threading.Thread | None:
    """Start vl-convert's JavaScript engine now (~0.5 s, once per process) so that the first
    real chart renders in warm time. With `background=True` it runs in a daemon thread that
    is returned. Never call it in a process that will later fork kernels: the engine owns
    threads."""
    if not background:
        _warmed()
        return None
    thread = threading.Thread(target=_warmed, name="casebook-chart-warm-up", daemon=True)
    thread.start()
    return thread


def chart_html(chart: alt.TopLevelMixin | Mapping[str, Any]) -> str:
    """The SVG inside `<div class="casebook-chart">`, ready to inline in a page (see CHART_CSS).
    Safe to inline: every text in the SVG is escaped by vl-convert."""
    spec = _spec(chart)
    return (
        f'<div class="casebook-chart" role="figure" aria-label="{html.escape(_title(spec))}">'
        f"{render_svg(spec)}</div>"
    )


def chart_output(chart: alt.TopLevelMixin | Mapping[str, Any]) -> SVG:
    """What a notebook cell displays: an `image/svg+xml` output (valid nbformat, no JS)."""
    from IPython.display import SVG

    return SVG(data=render_svg(chart))


def chart_widget(chart: alt.TopLevelMixin | Mapping[str, Any]) -> ipywidgets.HTML:
    """An `ipywidgets.HTML` holding the chart's SVG (via `chart_html`); swap its chart in place
    with `update_chart_widget` when the data change."""
    import ipywidgets

    widget = ipywidgets.HTML(value=chart_html(chart))
    widget.add_class("casebook-chart-widget")
    return widget


def update_chart_widget(
    widget: ipywidgets.HTML, chart: alt.TopLevelMixin | Mapping[str, Any]
) -> None:
    """Replace the chart shown by a `chart_widget` (one `value` change on the same widget).
    On a render error the widget keeps its previous chart and ChartError is raised."""
    import ipywidgets

    if not isinstance(widget, ipywidgets.HTML):
        raise TypeError(
            f"expected the ipywidgets.HTML of chart_widget, got {type(widget).__name__}"
        )
    widget.value = chart_html(chart)
