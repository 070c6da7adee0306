"""Helpers shared by the batch tests (not a test module)."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

TEMPLATES = Path(__file__).parent / "templates"


def normalized(path: Path) -> dict:
    """The notebook with volatile values masked: timings, widget model ids, widget state."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    nb = copy.deepcopy(nb)
    for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
        nb.metadata.get("papermill", {}).pop(key, None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for key in ("start_time", "end_time", "duration"):
            cell.metadata.get("papermill", {}).pop(key, None)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                view["model_id"] = "<model>"
    return nb
