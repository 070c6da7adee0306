"""The shared chart renderer: same SVG as in-process, private socket, safe fallback."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import Server

from casebook import dashboard as d
from casebook.catalog import Catalog, default_catalog
from casebook.charts import (
    analyte_chart,
    burden_chart,
    clear_chart_cache,
    instrument_chart,
    is_empty,
    plan_timeline,
    render_svg,
    symptom_chart,
)
from casebook.charts.remote import CHART_SOCKET_ENV as ENV_VAR
from casebook.kernels.chart_service import ChartService, bundled_font_env, render_remote
from casebook.models import Case

SPEC = {
    "mark": "bar",
    "data": {"values": [{"a": "x", "b": 2}, {"a": "y", "b": 3}]},
    "encoding": {
        "x": {"field": "a", "type": "nominal"},
        "y": {"field": "b", "type": "quantitative"},
    },
}


@pytest.fixture(scope="module")
def service() -> Iterator[ChartService]:
    svc = ChartService().start()
    yield svc
    svc.stop()


def test_renders_what_the_kernel_would(service: ChartService, demo_cases: list[Case]) -> None:
    chart = symptom_chart(demo_cases[0], default_catalog(), audience="patient")
    assert render_remote(chart.to_dict(), service.socket_path) == render_svg(chart)


def _demo_charts(cases: list[Case], catalog: Catalog) -> list[Any]:
    """Every chart the demo's workbooks and dashboards can draw for `cases`: each builder,
    both audiences, each instrument and each test the case has (an empty chart each too)."""
    today = date(2026, 6, 1)
    charts: list[Any] = []
    for case in cases:
        tests = sorted({r.test for r in case.results})
        for audience in ("practitioner", "patient"):
            charts += [
                symptom_chart(case, catalog, audience=audience),
                burden_chart(case, audience=audience),
                plan_timeline(case, catalog, audience=audience, today=today),
            ]
            charts += [analyte_chart(case, catalog, t, audience=audience) for t in tests]
        charts.append(burden_chart(case, width=420))
        scored = sorted({s.instrument for s in case.instruments})
        charts += [instrument_chart(case, catalog, key, width=420) for key in scored]
    empty = case.model_copy(update={"plan": [], "visits": [], "symptoms": [], "instruments": []})
    return [
        *charts,
        instrument_chart(empty, catalog, scored[0]),
        symptom_chart(empty, catalog),
        plan_timeline(empty),
    ]


@pytest.mark.slow
def test_the_bundled_font_draws_every_demo_chart_to_the_same_bytes(
    service: ChartService, demo_cases: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service measures text with vl-convert's in-memory Liberation Sans alone; this
    process (no font configuration of its own) with the system's fonts: every chart the
    demo draws comes out the same, byte for byte (two patients: every kind of chart, test
    and instrument, ~60 charts)."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    clear_chart_cache()
    charts = _demo_charts(demo_cases[:2], default_catalog())
    assert len(charts) > 50 and sum(map(is_empty, charts)) >= 3
    for chart in charts:
        spec = chart.to_dict()
        assert render_remote(spec, service.socket_path) == render_svg(spec), spec.get("title")


def test_the_service_measures_text_with_no_system_font(service: ChartService) -> None:
    """Its process reads a font configuration that names one font folder, empty, in the
    service's private folder (no folder at all would bring the system's back)."""
    import psutil

    assert service.process is not None and service.folder is not None
    config = Path(psutil.Process(service.process.pid).environ()["FONTCONFIG_FILE"])
    assert config.parent == service.folder
    [folder] = [Path(d.text or "") for d in ET.parse(config).getroot().iter("dir")]
    assert folder.parent == service.folder and folder.is_dir() and not any(folder.iterdir())


def test_bundled_font_env_keeps_the_rest_of_the_environment(tmp_path: Path) -> None:
    odd = tmp_path / "a & <b>"
    odd.mkdir()
    env = bundled_font_env(odd)
    assert {k: v for k, v in env.items() if k != "FONTCONFIG_FILE"} == {
        k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"
    }
    [folder] = [d.text for d in ET.parse(env["FONTCONFIG_FILE"]).getroot().iter("dir")]
    assert folder == str(odd / "no-fonts")
    assert bundled_font_env(odd) == env  # again: same files, no error


def test_the_socket_is_private(service: ChartService) -> None:
    mode = os.stat(service.socket_path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(service.socket_path)).st_mode) == 0o700


def test_bad_specs_are_errors_and_the_service_keeps_going(service: ChartService) -> None:
    with pytest.raises(ValueError, match="chart service"):
        render_remote({"mark": "no-such-mark", "data": {"values": []}}, service.socket_path)
    remote = {**SPEC, "data": {"url": "https://example.com/data.csv"}}
    with pytest.raises(ValueError, match="chart service"):  # it may fetch nothing
        render_remote(remote, service.socket_path)
    assert render_remote(SPEC, service.socket_path).startswith("<svg")


def test_dashboard_uses_it_and_falls_back_without_it(
    service: ChartService, demo_cases, monkeypatch, tmp_path
) -> None:
    page = d.Dashboard(demo_cases[0], default_catalog())
    monkeypatch.setenv(ENV_VAR, service.socket_path)
    clear_chart_cache()  # each way below draws for itself, not from this process's cache
    before = service.renders()
    shared = d.symptoms_section(page).html
    through_service = service.renders() - before
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone.sock"))
    clear_chart_cache()
    fallback = d.symptoms_section(page).html
    monkeypatch.delenv(ENV_VAR)
    clear_chart_cache()
    local = d.symptoms_section(page).html
    assert through_service == shared.count("data:image/svg+xml;base64,") >= 1
    assert service.renders() == before + through_service  # the fallbacks never asked it
    assert shared == fallback == local


@pytest.mark.slow
def test_the_servers_kernels_render_through_the_service(server: Server, serve_store) -> None:
    """A page served by `casebook serve` had its charts drawn by the shared service: the
    service's count grows by the charts on the page (none were drawn in the kernel)."""
    [socket_path] = [
        proc.cmdline()[-1]
        for proc in server.processes()
        if "casebook.kernels.chart_service" in proc.cmdline()
    ]
    before = int(render_remote({"casebook-chartd": "renders"}, socket_path))
    page = server.request("/dashboard", cookie=server.session(serve_store.patients[0]))
    assert page.status == 200
    charts = page.body.count("data:image/svg+xml;base64,")
    assert charts >= 1
    assert int(render_remote({"casebook-chartd": "renders"}, socket_path)) == before + charts


def test_stop_ends_the_process_and_its_folder() -> None:
    svc = ChartService().start()
    proc, folder = svc.process, svc.folder
    assert proc is not None and folder is not None and folder.is_dir()
    svc.stop()
    assert proc.poll() is not None and not folder.exists()
    with pytest.raises(OSError):
        render_remote(SPEC, str(folder / "charts.sock"))


def test_renderers_draw_side_by_side_and_stop_together() -> None:
    """`renderers=2`: two processes accept on the one socket, draw the same SVG, count
    together, and both end when the service stops."""
    import concurrent.futures

    import psutil

    svc = ChartService(renderers=2).start()
    try:
        assert svc.process is not None
        parent = psutil.Process(svc.process.pid)
        [child] = parent.children()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            svgs = set(pool.map(lambda _: render_remote(SPEC, svc.socket_path), range(8)))
        assert len(svgs) == 1 and svgs.pop().startswith("<svg")
        assert svc.renders() == 8
    finally:
        svc.stop()
    child.wait(timeout=30)  # the renderer exits on its own once stdin closes
    assert not child.is_running()
