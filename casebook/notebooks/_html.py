"""The standalone HTML archive copy of an executed notebook: code hidden, nothing remote.

nbconvert's HTML pulls require.js, MathJax, the widget manager and mermaid from public
CDNs. A clinic archive must open offline and must not tell a third party that it was
opened, so the copy is inert: every `<script>` element is removed and a
Content-Security-Policy meta tag forbids scripts and any load from elsewhere. Outputs that
do not need JavaScript (text, tables, SVG and PNG charts) are what the copy shows.

A template shapes its copy with three conventions: cells tagged `not-in-copy` (a note to
whoever edits the template) are left out; the stylesheet its notebook metadata names
(`casebook.stylesheet`, a `.css` path inside the casebook package) is inlined, so the copy
looks as the served page does; and an element of class `served-only` (a link into the
server, dead in a file) is left out.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ARCHIVE_CSP", "NOT_IN_COPY", "SERVED_ONLY", "WIDGET_VIEW", "notebook_html"]

ARCHIVE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "script-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
NOT_IN_COPY = "not-in-copy"  # a cell tag
SERVED_ONLY = "served-only"  # a class of a <p> or <div> that only works on the server
_SERVED_ONLY = re.compile(
    r"<(p|div)\b[^>]*\bclass=\"[^\"]*\bserved-only\b[^\"]*\"[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_PACKAGE = Path(__file__).resolve().parents[1]  # casebook/


def notebook_html(notebook: Path) -> str:
    """The HTML of `notebook` with input cells and prompts hidden, scripts removed."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if NOT_IN_COPY not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:  # a widget view cannot render without a script: use its HTML
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
    body, _ = exporter.from_notebook_node(nb)
    body = _SERVED_ONLY.sub("", _SCRIPT.sub("", body))
    meta = (
        f'<meta http-equiv="Content-Security-Policy" content="{ARCHIVE_CSP}">'
        '<meta name="referrer" content="no-referrer">'
    ) + _stylesheet(nb.metadata.get("casebook", {}).get("stylesheet"))
    body, found = _HEAD.subn(lambda m: m.group(0) + meta, body, count=1)
    if not found:
        body = meta + body
    return body


def _stylesheet(named: object) -> str:
    """A `<style>` element with the stylesheet a template names, or '' when it names none
    (or a path that is not a .css file inside the casebook package)."""
    if not isinstance(named, str) or not named.endswith(".css"):
        return ""
    path = (_PACKAGE / named).resolve()
    if not path.is_relative_to(_PACKAGE) or not path.is_file():
        return ""
    css = path.read_text(encoding="utf-8").replace("</", "<\\/")  # never ends the element
    return f"<style>{css}</style>"
