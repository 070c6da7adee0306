"""The standalone HTML archive copy of an executed notebook: code hidden, nothing remote.

nbconvert's HTML pulls require.js, MathJax, the widget manager and mermaid from public
CDNs. A clinic archive must open offline and must not tell a third party that it was
opened, so the copy is inert: every `<script>` element is removed and a
Content-Security-Policy meta tag forbids scripts and any load from elsewhere. Outputs that
do not need JavaScript (text, tables, SVG and PNG charts) are what the copy shows.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ARCHIVE_CSP", "WIDGET_VIEW", "notebook_html"]

ARCHIVE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "script-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


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
    for cell in nb.cells:  # a widget view cannot render without a script: use its HTML
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
    body, _ = exporter.from_notebook_node(nb)
    body = _SCRIPT.sub("", body)
    meta = (
        f'<meta http-equiv="Content-Security-Policy" content="{ARCHIVE_CSP}">'
        '<meta name="referrer" content="no-referrer">'
    )
    body, found = _HEAD.subn(lambda m: m.group(0) + meta, body, count=1)
    if not found:
        body = meta + body
    return body
