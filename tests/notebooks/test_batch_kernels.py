"""Where a batch's kernels come from: forked from the fork server when asked (never a silent
fall-back to plain ones), with their kernelspec and environment given to the kernel manager
and no change to this process's environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from batch_helpers import TEMPLATES

from casebook.notebooks import BatchOptions, run_batch, run_notebook
from casebook.notebooks._kernel import kernel_settings

WHOSE = TEMPLATES / "whose_kernel.ipynb"
FORK_SERVER = "casebook.kernels.forkserver"


def _printed(path: Path) -> dict[str, str]:
    """The `name: value` lines the template printed."""
    nb = nbformat.read(path, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@pytest.mark.parametrize("workers", [1, 2])
def test_forked_batch_kernels_are_children_of_the_fork_server(
    batch_url: str, tmp_path: Path, workers: int
) -> None:
    before = dict(os.environ)
    report = run_batch(
        BatchOptions(batch_url, out=tmp_path, templates=[WHOSE], workers=workers, kernel="forked")
    )
    assert report.ok, report.summary_text()
    assert all(not o.notes for o in report.outcomes), [o.notes for o in report.outcomes]
    assert len(report.outcomes) > 1
    for outcome in report.outcomes:
        printed = _printed(Path(outcome.output))
        assert FORK_SERVER in printed["parent"], f"{outcome.patient_id}: a plain kernel"
        # the batch's one chart service, its socket given to each kernel's environment
        assert printed["charts"] == "service"
    assert dict(os.environ) == before


def test_plain_batch_kernels_are_not_forked(batch_url: str, tmp_path: Path) -> None:
    report = run_batch(
        BatchOptions(
            batch_url,
            out=tmp_path,
            templates=[WHOSE],
            patients=["demo-0001"],
            workers=1,
            kernel="plain",
        )
    )
    assert report.ok, report.summary_text()
    assert FORK_SERVER not in _printed(Path(report.outcomes[0].output))["parent"]


def test_the_kernel_gets_its_environment_from_the_kernel_manager(tmp_path: Path) -> None:
    out = tmp_path / "demo-0001" / "whose_kernel.ipynb"
    before = dict(os.environ)
    run_notebook(
        WHOSE,
        out,
        {"patient_id": "demo-0001"},
        **kernel_settings((), {"CASEBOOK_KERNEL_PROBE": "given"}),
    )
    assert _printed(out)["probe"] == "given"
    assert dict(os.environ) == before
    assert "given" not in json.dumps(nbformat.read(out, as_version=4).metadata)
