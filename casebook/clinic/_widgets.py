"""The clinic notebook's section widgets: a box and an HTML widget whose text/plain
fallback is a sentence.

Where no widget front end draws the section (the notebook opened before it runs, a viewer,
`nbconvert --to markdown`), JupyterLab shows an output's text/plain: ipywidgets writes the
repr of the widget tree there (`VBox(children=(HBox(...`). These say what the section is
and how to see it instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as W

from casebook.notebooks import WIDGET_VIEW, LabHtml

__all__ = ["SectionBox", "SectionHTML", "sentence_bundle"]


def sentence_bundle(widget: W.Widget, sentence: str) -> dict[str, Any]:
    """The widget's view, with `sentence` as its text/plain."""
    bundle: dict[str, Any] = {"text/plain": sentence}
    if widget._view_name is not None:
        bundle[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
    return bundle


class SectionBox(W.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A section's VBox; `.value` is its main HTML's value (the drawn table: an HTML child,
    or the `LabHtml` whose widget is a child)."""

    def __init__(
        self, children: Sequence[W.Widget], *, sentence: str, html: W.HTML | LabHtml | None = None
    ) -> None:
        super().__init__(list(children))
        self._sentence = sentence
        self._html = html

    @property
    def value(self) -> str:
        return "" if self._html is None else str(self._html.value)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return sentence_bundle(self, self._sentence)

    def __repr__(self) -> str:
        return self._sentence


class SectionHTML(W.HTML):  # type: ignore[misc]  # ipywidgets is untyped
    """A section drawn as one HTML widget."""

    def __init__(self, value: str, *, sentence: str) -> None:
        super().__init__(value=value)
        self._sentence = sentence

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return sentence_bundle(self, self._sentence)

    def __repr__(self) -> str:
        return self._sentence
