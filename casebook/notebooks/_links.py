"""Where a patient's case workbook is, what it is called, and how another notebook links to
it so that the link opens inside the running JupyterLab.

**The file name says whose record it is.** JupyterLab titles a notebook's tab with its file
name, and a stock JupyterLab has no other way to set it. So the case workbook of a patient
is `<Name>-<id>.ipynb` in their folder (`notebooks/demo-0001/Clara-Dunmore-demo-0001.ipynb`):
the name first (what the practitioner reads; a tab shows about 25 characters), made of
ASCII letters and digits only, then the id, which is unique. A name with no Latin letter or
digit gives `case-<id>.ipynb`. The name is the clinic's own data in the clinic's own
workspace; it never reaches an error message (errors name the id).

When a patient's name changes, or a workspace made by an older casebook holds `case.ipynb`,
`adopt_previous` renames that patient's previous case workbook (with its batch sidecar and
HTML copy) to the new name before it is rebuilt, so a patient never has two workbooks.

**Links that open inside JupyterLab.** An ipywidgets `HTML` value is put into the page as
it is: a click on its link makes the browser load the link, which reloads the whole of
JupyterLab. HTML shown as a notebook *output* (`text/html`) goes through JupyterLab's
renderer instead, which resolves a relative link against the notebook's folder and turns a
click into its `rendermime:handle-local-link` command: `openOrReveal`, which brings an
already open notebook to the front, in the same workspace, without a reload. `LabHtml`
shows HTML that way (an ipywidgets `Output` holding one `text/html` output, replaced as a
whole when it changes), and `lab_link` writes the link.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from casebook.notebooks._jobs import sidecar_path
from casebook.notebooks._parameters import output_path

__all__ = [
    "CASE_TEMPLATE",
    "LabHtml",
    "adopt_previous",
    "case_notebook_name",
    "case_notebook_path",
    "lab_link",
    "notebook_name",
]

CASE_TEMPLATE = "case.ipynb"
"""The case workbook's template; its notebooks are named after the patient."""

_NAME_PART = re.compile(r"[A-Za-z0-9]+")
_NAME_LIMIT = 40  # characters of the name kept in a file name


def _name_slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = "-".join(_NAME_PART.findall(plain))
    return slug[:_NAME_LIMIT].rstrip("-")


def case_notebook_name(patient_id: str, name: str) -> str:
    """`Clara-Dunmore-demo-0001.ipynb` for patient `demo-0001` named "Clara Dunmore"."""
    slug = _name_slug(name)
    return f"{slug or 'case'}-{patient_id}.ipynb"


def notebook_name(template: str, patient_id: str, name: str) -> str:
    """The file name a patient's notebook made from `template` (a file name) gets: the case
    workbook is named after the patient, every other template keeps its own name."""
    return case_notebook_name(patient_id, name) if template == CASE_TEMPLATE else template


def case_notebook_path(root: Path, patient_id: str, name: str) -> Path:
    """`root/<id>/<Name>-<id>.ipynb`, checked as `output_path` checks every output."""
    return output_path(root, patient_id, case_notebook_name(patient_id, name))


def _made_for(path: Path, patient_id: str) -> bool:
    """Whether `path` is a case workbook casebook made for `patient_id` (papermill's record
    of its template and parameters says so)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]["papermill"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(meta, dict) or not isinstance(meta.get("parameters"), dict):
        return False
    template = Path(str(meta.get("input_path") or "")).name
    return template == CASE_TEMPLATE and meta["parameters"].get("patient_id") == patient_id


def adopt_previous(output: Path, patient_id: str) -> Path | None:
    """Rename the patient's previous case workbook in `output`'s folder (an older name, or
    `case.ipynb` from an older casebook) to `output`, with its sidecar and HTML copy; the
    path it had, or None when there was none (or `output` exists already)."""
    folder = output.parent
    if output.exists() or not folder.is_dir():
        return None
    candidates = [folder / CASE_TEMPLATE, *sorted(folder.glob(f"*-{patient_id}.ipynb"))]
    for old in candidates:
        if old != output and old.is_file() and _made_for(old, patient_id):
            for beside in (sidecar_path, _html_copy):
                if beside(old).is_file():
                    beside(old).replace(beside(output))
            old.replace(output)
            return old
    return None


def _html_copy(path: Path) -> Path:
    return path.with_suffix(".html")


def lab_link(href: str, label: str, *, title: str = "") -> Markup:
    """`<a href="HREF">LABEL</a>`, escaped; `href` is a path relative to the notebook that
    shows it, with each part quoted. Shown through `LabHtml` (any `text/html` output), a
    click opens the file inside JupyterLab, or brings it to the front when it is open."""
    parts = "/".join(quote(part) for part in href.split("/"))
    hint = Markup(' title="{}"').format(title) if title else Markup("")
    return Markup('<a href="{}"{}>{}</a>').format(parts, hint, label)  # format escapes


class LabHtml:
    """HTML shown as a notebook output, so that its relative links open inside JupyterLab
    (see the module's text). `widget` is the ipywidgets `Output` to put in a layout;
    `value` is the HTML shown, replaced as a whole by assignment."""

    def __init__(self, value: str = "") -> None:
        import ipywidgets

        self.widget = ipywidgets.Output()
        self._value = ""
        self.value = value

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, html: str) -> None:
        self._value = str(html)
        output: dict[str, Any] = {
            "output_type": "display_data",
            "data": {"text/html": self._value},
            "metadata": {},
        }
        self.widget.outputs = (output,) if self._value else ()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # The widget's view, and for places without a widget manager the HTML itself.
        from casebook.notebooks._html import WIDGET_VIEW

        return {
            "text/plain": "",
            "text/html": self._value,
            WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id},
        }
