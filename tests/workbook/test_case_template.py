"""templates/case.ipynb: one parameters cell matching what `casebook new` passes, one call per
code cell, cleared outputs, and it runs under Papermill for demo patients."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from casebook import workbook
from casebook.notebooks import case_parameters, template_path
from casebook.workbook import TEMPLATE, case_notebook


@pytest.fixture(scope="module")
def template() -> nbformat.NotebookNode:
    return nbformat.read(template_path(TEMPLATE), as_version=4)


def test_parameters_match_what_casebook_new_passes(demo_store) -> None:  # type: ignore[no-untyped-def]
    inspected = papermill.inspect_notebook(str(template_path(TEMPLATE)))
    passed = case_parameters(demo_store.patient_ids[0], demo_store.url)
    assert set(inspected) == set(passed) == {"patient_id", "database_url"}
    for name, info in inspected.items():
        assert info["inferred_type_name"] == "str", name
        assert info["help"], f"{name} has no comment explaining it"
    assert inspected["patient_id"]["default"] == '""'  # never a real-looking patient
    assert inspected["database_url"]["default"] == '"sqlite:///casebook.db"'


def test_cells_hold_calls_not_logic(template: nbformat.NotebookNode) -> None:
    code = [c for c in template.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and code[0] is tagged[0]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "outputs must be cleared"
    for cell in code[1:]:
        tree = ast.parse(cell.source)
        calls = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
        assert len(calls) == 1, f"one call per cell, got: {cell.source!r}"
        node = calls[0].value if isinstance(calls[0], ast.Assign | ast.Expr) else None
        assert isinstance(node, ast.Call), cell.source
        assert ast.unparse(node.func).startswith("workbook."), cell.source
        assert not any(
            isinstance(n, ast.For | ast.If | ast.While | ast.FunctionDef | ast.Lambda | ast.With)
            for n in ast.walk(tree)
        )
    markdown = [c for c in template.cells if c.cell_type == "markdown"]
    assert len(markdown) >= len(code) - 2  # every section is explained (not the session)


def test_the_first_visible_thing_is_the_patient(template: nbformat.NotebookNode) -> None:
    """The cells before the banner hide their source (the parameters; the injected cell
    follows the parameters cell), so the notebook opens on whose record it is."""
    first = next(i for i, c in enumerate(template.cells) if "patient_banner" in c.source)
    assert first == 2 and all(c.cell_type == "code" for c in template.cells[: first + 1])
    for cell in template.cells[: first + 1]:
        assert cell.metadata["jupyter"]["source_hidden"] is True, cell.source


def test_no_patient_given_stops_in_one_line(tmp_path: Path) -> None:
    from casebook.errors import InputError

    with pytest.raises(InputError, match=r"^patient_id: no patient given") as caught:
        workbook.open_case("", f"sqlite:///{tmp_path / 'none.db'}")
    assert caught.value._render_traceback_() == [f"InputError: {caught.value}"]
    assert not (tmp_path / "none.db").exists()


@pytest.mark.slow
def test_the_template_run_with_no_patient_shows_one_line(tmp_path: Path) -> None:
    out = tmp_path / "nobody.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(template_path(TEMPLATE)), str(out), kernel_name="python3", progress_bar=False
        )
    nb = nbformat.read(out, as_version=4)
    (error,) = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert error.ename == "InputError" and "no patient given" in error.evalue
    assert error.traceback == [f"InputError: {error.evalue}"]  # one line, no traceback


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 2])
def test_the_template_runs_for_demo_patients(
    index: int,
    demo_store,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    pid = demo_store.patient_ids[index]
    path = case_notebook(pid, demo_store.url, tmp_path, execute=True)
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 9  # the banner, the header and seven sections
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    html = " ".join(
        str(m["state"].get("value", "")) for m in state.values() if m["model_name"] == "HTMLModel"
    )
    assert "<svg" in html and "could not be drawn" not in html
    assert "red flag" in html
    params = nb.metadata["papermill"]["parameters"]
    assert params["patient_id"] == pid and "password" not in params["database_url"]
