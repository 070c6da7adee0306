"""templates/dashboard.ipynb: typed parameters, one call per cell, and it runs under Papermill."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from casebook import dashboard
from casebook.models import Case
from casebook.notebooks import case_parameters, template_path
from casebook.store import CaseStore, import_cases

TEMPLATE = template_path("dashboard.ipynb")


def _code_cells() -> list[nbformat.NotebookNode]:
    nb = nbformat.read(TEMPLATE, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def test_parameters_cell_matches_what_the_server_passes() -> None:
    params = papermill.inspect_notebook(str(TEMPLATE))
    assert {k: v["inferred_type_name"] for k, v in params.items()} == {
        "patient_id": "str",
        "database_url": "str",
    }
    assert set(params) == set(case_parameters("demo-0001", "sqlite:///x.db"))
    for value in params.values():
        assert value["help"], "every parameter is commented"
    tagged = [c for c in _code_cells() if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is not None


def test_every_other_cell_is_one_call_into_casebook_dashboard() -> None:
    cells = [c for c in _code_cells() if "parameters" not in c.metadata.get("tags", [])]
    load, *sections = cells
    assert load.source == (
        "from casebook import dashboard\n\n"
        "page = dashboard.load_dashboard(patient_id, database_url)"
    )
    for cell in sections:
        tree = ast.parse(cell.source)
        assert len(tree.body) == 1, cell.source
        call = tree.body[0].value  # type: ignore[attr-defined]
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        assert isinstance(call.func.value, ast.Name) and call.func.value.id == "dashboard"
        assert call.func.attr in dashboard.__all__
        assert [a.id for a in call.args] == ["page"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_template_runs_with_papermill(
    sqlite_url: str, demo_cases: list[Case], tmp_path: Path
) -> None:
    with CaseStore(sqlite_url, create=True, actor="tester") as store:
        import_cases(store, demo_cases[:1])
    pid = demo_cases[0].patient.id
    out = tmp_path / "dashboard.ipynb"
    papermill.execute_notebook(
        str(TEMPLATE),
        str(out),
        parameters=case_parameters(pid, sqlite_url),
        progress_bar=False,
        cwd=str(tmp_path),
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "".join(o.data.get("text/html", "") for o in outputs if "data" in o)
    assert demo_cases[0].patient.name in html
    for section in ("plan", "symptoms", "questionnaires", "results", "upcoming", "notes"):
        assert f'id="{section}"' in html, section
    assert "<script" not in html
