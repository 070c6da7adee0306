"""The case workbook's file name (JupyterLab's tab) and links that open inside JupyterLab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casebook.notebooks import (
    LabHtml,
    ParameterError,
    adopt_previous,
    case_notebook_name,
    case_notebook_path,
    lab_link,
    notebook_name,
)
from casebook.notebooks._jobs import sidecar_path

pytestmark = pytest.mark.usefixtures("close_widgets")  # tests/conftest.py


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Clara Dunmore", "Clara-Dunmore-p1.ipynb"),
        ("Zoë O'Brien-Núñez", "Zoe-O-Brien-Nunez-p1.ipynb"),
        ("<script>alert(1)</script>", "script-alert-1-script-p1.ipynb"),
        ("../../etc/passwd", "etc-passwd-p1.ipynb"),
        ("王小明", "case-p1.ipynb"),  # no Latin letter or digit: the id alone
        ("", "case-p1.ipynb"),
        ("A" * 60, "A" * 40 + "-p1.ipynb"),
    ],
)
def test_the_workbook_is_named_after_the_patient(name: str, expected: str) -> None:
    assert case_notebook_name("p1", name) == expected
    assert notebook_name("case.ipynb", "p1", name) == expected
    assert notebook_name("dashboard.ipynb", "p1", name) == "dashboard.ipynb"


def test_the_path_is_checked_like_every_output(tmp_path: Path) -> None:
    path = case_notebook_path(tmp_path, "p-1", "Ada Lovelace")
    assert path == tmp_path.resolve() / "p-1" / "Ada-Lovelace-p-1.ipynb"
    with pytest.raises(ParameterError, match="patient_id"):
        case_notebook_path(tmp_path, "../x", "Ada")


def _workbook(path: Path, patient_id: str, template: str = "/t/case.ipynb") -> Path:
    meta = {"papermill": {"input_path": template, "parameters": {"patient_id": patient_id}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [], "metadata": meta}), encoding="utf-8")
    return path


def test_a_previous_workbook_of_the_patient_is_renamed_with_what_is_beside_it(
    tmp_path: Path,
) -> None:
    new = tmp_path / "p1" / "New-Name-p1.ipynb"
    old = _workbook(tmp_path / "p1" / "Old-Name-p1.ipynb", "p1")
    sidecar_path(old).write_text("{}")
    old.with_suffix(".html").write_text("<p>")
    assert adopt_previous(new, "p1") == old
    assert sorted(p.name for p in new.parent.iterdir()) == [
        ".New-Name-p1.ipynb.inputs.json",
        "New-Name-p1.html",
        "New-Name-p1.ipynb",
    ]
    assert adopt_previous(new, "p1") is None  # it exists now: nothing to do


def test_an_older_casebooks_case_ipynb_is_adopted(tmp_path: Path) -> None:
    old = _workbook(tmp_path / "p1" / "case.ipynb", "p1")
    new = tmp_path / "p1" / "Ada-p1.ipynb"
    assert adopt_previous(new, "p1") == old and new.is_file() and not old.exists()


def test_only_our_workbooks_of_that_patient_are_renamed(tmp_path: Path) -> None:
    folder = tmp_path / "p1"
    others = [
        _workbook(folder / "Someone-p1.ipynb", "p2"),  # another patient's
        _workbook(folder / "Notes-p1.ipynb", "p1", template="/t/dashboard.ipynb"),
        folder / "Hand-made-p1.ipynb",
    ]
    others[2].write_text("not json")
    assert adopt_previous(folder / "Ada-p1.ipynb", "p1") is None
    assert all(p.exists() for p in others) and not (folder / "Ada-p1.ipynb").exists()
    assert adopt_previous(tmp_path / "missing" / "Ada-p1.ipynb", "p1") is None


def test_a_link_is_escaped_and_quoted_with_no_target() -> None:
    link = lab_link("notes/p 1/Ada-p1.ipynb", "<b>Ada</b> & Co", title='of "p1"')
    assert str(link) == (
        '<a href="notes/p%201/Ada-p1.ipynb" title="of &#34;p1&#34;">'
        "&lt;b&gt;Ada&lt;/b&gt; &amp; Co</a>"
    )
    assert "title" not in lab_link("a.pdf", "a.pdf")


def test_lab_html_is_a_notebook_output_replaced_as_a_whole() -> None:
    shown = LabHtml()
    assert shown.widget.outputs == () and shown.value == ""
    shown.value = '<a href="a.ipynb">a</a>'
    assert shown.widget.outputs == (
        {
            "output_type": "display_data",
            "data": {"text/html": '<a href="a.ipynb">a</a>'},
            "metadata": {},
        },
    )
    shown.value = "<p>b</p>"
    assert [o["data"]["text/html"] for o in shown.widget.outputs] == ["<p>b</p>"]
    bundle = shown._repr_mimebundle_()
    assert bundle["text/html"] == "<p>b</p>"
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == shown.widget.model_id
