"""The Dask executor sends the same jobs to a cluster and gets the same notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import TEMPLATES, normalized

from casebook.notebooks import BatchOptions, run_batch

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

WIDGETS = TEMPLATES / "widgets.ipynb"
FAILING = TEMPLATES / "failing.ipynb"


def test_a_dask_cluster_builds_the_same_notebooks(batch_url: str, tmp_path: Path) -> None:
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        report = run_batch(BatchOptions(
            batch_url, out=tmp_path / "dask", templates=[WIDGETS, FAILING], executor="dask",
            scheduler=cluster.scheduler_address,
        ))
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
    local = run_batch(BatchOptions(batch_url, out=tmp_path / "local", templates=[WIDGETS],
                                   workers=1, patients=["demo-0003"]))
    assert local.ok
    assert normalized(tmp_path / "dask" / "demo-0003" / "widgets.ipynb") == normalized(
        tmp_path / "local" / "demo-0003" / "widgets.ipynb"
    )
