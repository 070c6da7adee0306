"""The `--html` copy of a patient's dashboard: styled as the served page, with no note to
template editors in it and no link that only works on the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebook.demo import build_demo
from casebook.kernels.server import ForkServer
from casebook.notebooks import BatchOptions, run_batch, template_path
from casebook.store import CaseStore


def test_the_dashboard_copy_is_styled_and_has_no_developer_text_or_dead_link(
    tmp_path: Path, session_fork_server: ForkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", session_fork_server.jupyter_path)
    demo = build_demo(tmp_path / "demo", patients=1)
    pid = demo.patient_ids[0]
    with CaseStore(demo.url) as store:
        # without Pango the demo makes no summary: tests/conftest.py turns this failure,
        # after a PDF was asked for, into the one folded Pango skip
        assert store.latest_letter(pid, "after_visit_summary") is not None
    out = tmp_path / "nb"
    report = run_batch(
        BatchOptions(
            demo.url,
            out=out,
            templates=[template_path("dashboard.ipynb")],
            workers=1,
            html=True,
        )
    )
    assert report.counts["built"] == 1, report.summary_text()
    page = (out / pid / "dashboard.html").read_text(encoding="utf-8")
    assert "Your care dashboard" in page
    assert "casebook serve" not in page and "database_url" not in page  # the editors' note
    assert ".cb-card" in page  # the dashboard's own stylesheet, inlined
    assert 'href="/' not in page  # the summary download needs the server: left out
    served = (out / pid / "dashboard.ipynb").read_text(encoding="utf-8")
    assert "/dashboard/summary.pdf" in served  # the notebook itself keeps it
