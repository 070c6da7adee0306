"""A static HTML snapshot of a widget tree, for places with no widget front end.

An executed notebook's widget outputs show nothing where no widget manager runs (the
batch's standalone HTML archive, a notebook viewer). Each workbook section therefore adds
this snapshot as the `text/html` alternative of its output: what the forms showed when the
notebook ran, as inert HTML. HTML widget values are already escaped by the workbook; every
other value is escaped here with `_html.text`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipywidgets

from casebook.notebooks import WIDGET_VIEW
from casebook.workbook.widgets._html import text

__all__ = ["static_html", "widget_bundle"]

_SKIP = (ipywidgets.Button, ipywidgets.FileUpload)


def _value_text(widget: ipywidgets.Widget) -> str:
    value = getattr(widget, "value", None)
    label = getattr(widget, "label", None)  # selection widgets: the shown label
    shown = label if isinstance(label, str) else value
    if shown is None or shown == "" or (isinstance(shown, tuple | list) and not shown):
        return ""
    if isinstance(shown, tuple | list):
        shown = ", ".join(str(v) for v in shown)
    description = getattr(widget, "description", "") or ""
    name = f"<b>{text(description)}</b> " if description else ""
    return f"<div>{name}{text(str(shown))}</div>"


def static_html(widget: ipywidgets.Widget) -> str:
    """The widget and its children as static HTML (hidden widgets and buttons left out)."""
    layout = getattr(widget, "layout", None)
    if isinstance(widget, _SKIP) or (layout is not None and layout.display == "none"):
        return ""
    if isinstance(widget, ipywidgets.HTML | ipywidgets.HTMLMath):
        return str(widget.value)
    if isinstance(widget, ipywidgets.Label):
        return f"<div>{text(str(widget.value))}</div>"
    if isinstance(widget, ipywidgets.Tab | ipywidgets.Accordion):
        titles = list(widget.titles) if widget.titles else []
        parts = []
        for i, child in enumerate(widget.children):
            title = titles[i] if i < len(titles) and titles[i] else ""
            heading = f"<h4>{text(title)}</h4>" if title else ""
            parts.append(heading + static_html(child))
        return "".join(parts)
    if isinstance(widget, ipywidgets.Box):
        return "<div>" + "".join(static_html(c) for c in widget.children) + "</div>"
    if isinstance(widget, ipywidgets.Output):
        return ""  # outputs of their own are shown as cell outputs, not here
    if isinstance(widget, ipywidgets.ValueWidget):
        return _value_text(widget)
    return ""


_TEXT_LIMIT = 110  # ipywidgets cuts a widget's text/plain here


def _repr_pieces(value: object) -> Iterator[str]:
    """`repr(value)` in pieces, as ipywidgets writes a widget tree (`Widget.__repr__`)."""
    if isinstance(value, ipywidgets.Widget) and type(value).__repr__ is ipywidgets.Widget.__repr__:
        yield f"{type(value).__name__}("
        for i, key in enumerate(value._repr_keys()):
            yield f"{', ' if i else ''}{key}="
            yield from _repr_pieces(getattr(value, key))
        yield ")"
    elif type(value) is tuple:
        yield "("
        for i, item in enumerate(value):
            yield ", " if i else ""
            yield from _repr_pieces(item)
        yield ",)" if len(value) == 1 else ")"
    else:
        yield repr(value)


def widget_bundle(widget: ipywidgets.Widget) -> dict[str, Any]:
    """What `widget._repr_mimebundle_()` gives (its view and its text/plain), with
    `static_html` as text/html. ipywidgets writes the repr of the whole tree, every trait of
    every child, to keep its first 110 characters (~0.07 s a case notebook); this writes
    only those."""
    text = ""
    for piece in _repr_pieces(widget):
        text += piece
        if len(text) > _TEXT_LIMIT:
            text = text[:_TEXT_LIMIT] + "…"
            break
    bundle: dict[str, Any] = {"text/plain": text}
    if widget._view_name is not None:
        bundle[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
    bundle["text/html"] = f'<div class="casebook-static">{static_html(widget)}</div>'
    return bundle
