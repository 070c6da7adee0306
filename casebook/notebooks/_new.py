"""`casebook new` without `--execute`: parameterize a template and write it, in a blink.

Papermill's prepare-only run costs seconds of imports (papermill, nbclient, SQLAlchemy for
the URL and the store) to do three things: read the template, add a cell tagged
`injected-parameters` after the one tagged `parameters`, and write the result. This module
does the same with `json` and `sqlite3`, byte for byte what `run_notebook(...,
execute=False)` writes (a test compares them), so a later papermill run replaces the
injected cell exactly as it would its own.

It takes the fast path only when it is sure: a plain `sqlite:///FILE` URL whose file holds
the patient. Anything else (PostgreSQL, a query string, a missing file or patient, an old
schema) returns None and the caller takes the full path, whose messages say what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from casebook.notebooks._links import adopt_previous, notebook_name
from casebook.notebooks._parameters import check_parameters, output_path
from casebook.notebooks._run import hidden_parameters, refuse_overwrite, write_atomic
from casebook.store.peek import fast_sqlite_url, patient_name

__all__ = ["parameterize", "prepare_case_notebook"]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _translate(value: object) -> str:
    """Papermill's Python translation of one checked value (str, bool, int, float)."""
    if isinstance(value, str):
        escaped = value.encode("unicode_escape").decode("utf-8").replace('"', r"\"")
        return f'"{escaped}"'
    return repr(value)


def parameterize(
    nb: dict[str, Any], parameters: Mapping[str, object], template: Path, output: Path
) -> dict[str, Any]:
    """`nb` (a template's JSON) as papermill prepares it, with our scrubbed metadata."""
    params = check_parameters(parameters)
    source = "# Parameters\n" + "".join(f"{k} = {_translate(v)}\n" for k, v in params.items())
    injected: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": "injected-parameters",
        "metadata": {"tags": ["injected-parameters"]},
        "outputs": [],
        "source": source,
    }
    if hidden_parameters(nb["cells"]):
        injected["metadata"]["jupyter"] = {"source_hidden": True}
    cells: list[dict[str, Any]] = []
    for cell in nb["cells"]:
        meta = cell.setdefault("metadata", {})
        meta.setdefault("tags", [])
        meta.setdefault("papermill", {})
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        cells.append(cell)
    tags = [cell["metadata"]["tags"] for cell in cells]
    old = next((i for i, t in enumerate(tags) if "injected-parameters" in t), None)
    if old is not None:
        cells[old] = injected
    else:
        at = next((i + 1 for i, t in enumerate(tags) if "parameters" in t), 0)
        cells.insert(at, injected)
    if sum(cell.get("id") == "injected-parameters" for cell in cells) > 1:
        del injected["id"]  # as `_scrub_metadata`: never two cells with one id
    nb["cells"] = cells
    nb.setdefault("metadata", {})["papermill"] = {
        "default_parameters": {},
        "environment_variables": {},
        "input_path": str(template),
        "output_path": str(output),
        "parameters": dict(params),
        "version": metadata.version("papermill"),
    }
    return nb


def _dumps(nb: dict[str, Any]) -> str:
    """As `nbformat.writes`: sources split into lines, sorted keys, one-space indent."""
    for cell in nb["cells"]:
        cell["source"] = _lines(cell["source"])
        for output in cell.get("outputs", []):
            for key in ("text",):
                if isinstance(output.get(key), str):
                    output[key] = _lines(output[key])
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)


def prepare_case_notebook(
    patient_id: str,
    database_url: str | None,
    out_dir: str | Path,
    template: Path,
    *,
    force: bool = False,
) -> Path | None:
    """Write `out_dir/<patient_id>/<notebook name>` parameterized (`notebook_name`: the case
    workbook is named after the patient), or None when the fast path is not sure (the
    caller then takes the store and papermill path)."""
    target = fast_sqlite_url(database_url)
    params = check_parameters({"patient_id": patient_id, "database_url": ""})  # id first
    if target is None:
        return None
    url, db = target
    params["database_url"] = url
    name = patient_name(db, patient_id)
    if name is None:
        return None
    output = output_path(Path(out_dir), patient_id, notebook_name(template.name, patient_id, name))
    adopt_previous(output, patient_id)
    refuse_overwrite(output, force=force)
    with open(template, encoding="utf-8") as fh:
        nb = json.load(fh)
    if nb.get("nbformat") != 4:
        return None
    write_atomic(output, _dumps(parameterize(nb, params, template, output)))
    return output
