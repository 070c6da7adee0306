"""The Dask executor sends the same jobs to a cluster and gets the same notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import TEMPLATES, normalized

from casebook.notebooks import BatchOptions, run_batch

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
dask = pytest.importorskip("dask", reason="the dask extra is not installed")

# Upper bounds for a busy machine (load average 6 on two cores), where starting two worker
# processes that import casebook, or a reply while every core is taken, can outlast
# distributed's 30 s defaults: connecting to the scheduler (the workers, and run_batch's
# Client) and a comm's silence. Each wait still ends as soon as its state is reached. The
# worker processes get this config from their nanny.
GENEROUS = {
    "distributed.comm.timeouts.connect": "300s",
    "distributed.comm.timeouts.tcp": "300s",
}

WIDGETS = TEMPLATES / "widgets.ipynb"
FAILING = TEMPLATES / "failing.ipynb"


def test_a_dask_cluster_builds_the_same_notebooks(batch_url: str, tmp_path: Path) -> None:
    with (
        dask.config.set(GENEROUS),
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
    ):
        report = run_batch(
            BatchOptions(
                batch_url,
                out=tmp_path / "dask",
                templates=[WIDGETS, FAILING],
                executor="dask",
                scheduler=cluster.scheduler_address,
            )
        )
    status = {(o.patient_id, o.notebook): o.status for o in report.outcomes}
    assert status == {
        ("demo-0001", "widgets.ipynb"): "built",
        ("demo-0002", "widgets.ipynb"): "built",
        ("demo-0003", "widgets.ipynb"): "built",
        ("demo-0001", "failing.ipynb"): "built",
        ("demo-0002", "failing.ipynb"): "failed",
        ("demo-0003", "failing.ipynb"): "built",
    }, report.summary_text()
    (failed,) = report.failed
    assert (failed.cell_index, failed.ename) == (4, "ValueError")
    local = run_batch(
        BatchOptions(
            batch_url,
            out=tmp_path / "local",
            templates=[WIDGETS],
            workers=1,
            patients=["demo-0003"],
        )
    )
    assert local.ok
    built = normalized(tmp_path / "dask" / "demo-0003" / "widgets.ipynb")
    expected = normalized(tmp_path / "local" / "demo-0003" / "widgets.ipynb")
    assert built["metadata"] == expected["metadata"]
    # cell by cell, so that a difference names its cell and shows only that cell
    for index, (cell, wanted) in enumerate(zip(built["cells"], expected["cells"], strict=True)):
        assert cell == wanted, f"cell {index} differs between the Dask and the local run"
