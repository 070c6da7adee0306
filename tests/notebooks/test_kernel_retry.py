"""A kernel that dies before its first reply is replaced once by a fresh kernel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from batch_helpers import TEMPLATES

from casebook.notebooks import BatchOptions, run_batch

NOTE = "the kernel died before its first reply; retried once in a fresh kernel"

# Exits at once the first `times` starts (no reply ever comes), then is an ordinary kernel.
LAUNCHER = """\
import pathlib, sys
marks = pathlib.Path(sys.argv.pop(1))
started = len(list(marks.iterdir()))
(marks / str(started)).touch()
if started < int(sys.argv.pop(1)):
    sys.exit(1)
from ipykernel.kernelapp import launch_new_instance
launch_new_instance()
"""


def _dying_kernel(root: Path, times: int) -> tuple[Path, Path]:
    """A kernelspec `dies-early` under `root` (its JUPYTER_PATH entry) and the folder where
    each start leaves a mark."""
    marks = root / "marks"
    marks.mkdir()
    launcher = root / "launcher.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    spec = root / "jupyter" / "kernels" / "dies-early"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    sys.executable,
                    str(launcher),
                    str(marks),
                    str(times),
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "dies early",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    template = root / "whose_kernel.ipynb"
    nb = nbformat.read(TEMPLATES / "whose_kernel.ipynb", as_version=4)
    nb.metadata.kernelspec = {
        "name": "dies-early",
        "display_name": "dies early",
        "language": "python",
    }
    nbformat.write(nb, template)
    return template, marks


@pytest.mark.parametrize(("times", "status"), [(1, "built"), (2, "failed")])
def test_a_kernel_that_dies_before_replying_is_retried_once(
    batch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, times: int, status: str
) -> None:
    template, marks = _dying_kernel(tmp_path, times)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    out = tmp_path / "nb"
    report = run_batch(
        BatchOptions(
            batch_url,
            out=out,
            templates=[template],
            kernel="plain",
            patients=["demo-0001"],
            workers=1,
        )
    )
    (outcome,) = report.outcomes
    assert outcome.status == status, outcome
    assert outcome.notes == [NOTE]
    assert len(list(marks.iterdir())) == 2  # one start, one fresh retry, never a third
    built = out / "demo-0001" / "whose_kernel.ipynb"
    assert built.is_file() == (status == "built")
    if status == "failed":
        assert outcome.evalue and "died before" in outcome.evalue.lower()
