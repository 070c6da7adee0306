"""Rendering: well-formed SVG, escaped text, no network, notebook and widget outputs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import altair as alt
import pytest
from chart_specs import long_case, plain_case

from casebook.catalog import default_catalog
from casebook.charts import (
    ChartError,
    analyte_chart,
    burden_chart,
    chart_html,
    chart_output,
    chart_widget,
    instrument_chart,
    plan_timeline,
    render_svg,
    symptom_chart,
    update_chart_widget,
    warm_up,
)
from casebook.models import Case, PlanItem

CAT = default_catalog()
SVG_NS = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "charts"
PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def _all_charts(case: Case, audience: str = "practitioner") -> dict[str, alt.TopLevelMixin]:
    return {
        "symptoms": symptom_chart(case, CAT, audience=audience),
        "burden": burden_chart(case, audience=audience),
        "phq9": instrument_chart(case, CAT, "phq9", audience=audience),
        "bristol": instrument_chart(case, CAT, "bristol", audience=audience),
        "hemoglobin": analyte_chart(case, CAT, "hemoglobin", audience=audience),
        "ferritin": analyte_chart(case, CAT, "ferritin", audience=audience),
        "plan": plan_timeline(case, CAT, audience=audience),
    }


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return root


@pytest.mark.parametrize("audience", ["practitioner", "patient"])
def test_every_chart_renders_well_formed_svg(demo_cases: list[Case], audience: str) -> None:
    for case in demo_cases:
        for name, chart in _all_charts(case, audience).items():
            root = _parse(render_svg(chart))
            texts = " ".join(root.itertext())
            heading = chart.to_dict()["title"]["text"]
            assert " ".join(heading) in texts.replace("\n", " ") or heading[0] in texts, name


@pytest.mark.parametrize(
    ("audience", "width"),
    [("patient", None), ("patient", 300), ("practitioner", None), ("practitioner", 720)],
)
def test_the_picture_is_exactly_as_wide_as_asked(
    demo_cases: list[Case], audience: str, width: int | None
) -> None:
    """`width` is the whole picture's: a patient chart (340 px) fits a phone unscaled."""
    expected = width or {"patient": 340, "practitioner": 560}[audience]
    case = demo_cases[0]
    for chart in (
        symptom_chart(case, CAT, audience=audience, width=width),
        burden_chart(case, audience=audience, width=width),
        instrument_chart(case, CAT, "pss10", audience=audience, width=width),
        analyte_chart(case, CAT, "hemoglobin", audience=audience, width=width),
        plan_timeline(case, CAT, audience=audience, width=width),
    ):
        assert _parse(render_svg(chart)).get("width") == str(expected)


def test_empty_and_long_cases_render(demo_cases: list[Case]) -> None:
    for chart in _all_charts(plain_case()).values():
        assert "No " in " ".join(_parse(render_svg(chart)).itertext())
    for chart in _all_charts(long_case(40)).values():
        _parse(render_svg(chart))


class _Tags(HTMLParser):
    """Every start tag and attribute an HTML parser sees (as a browser would, inline)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def _hostile_case() -> Case:
    plan = [
        PlanItem(
            patient_id="p-1",
            category="herbal",
            name=name,
            status="active",
            start=date(2024, 1, 1),
            instructions=name,
            rationale=name,
        )
        for name in PAYLOADS
    ]
    return plain_case(plan=plan)


@pytest.mark.parametrize("audience", ["practitioner", "patient"])
def test_plan_item_names_are_escaped_in_the_svg(audience: str) -> None:
    chart = plan_timeline(_hostile_case(), CAT, today=date(2024, 6, 1), audience=audience)
    svg = render_svg(chart)
    assert "&lt;script" in svg
    assert "<script" not in svg.lower()
    assert "<img" not in svg.lower()
    root = _parse(svg)
    for element in root.iter():
        assert element.tag.removeprefix(SVG_NS) not in {"script", "img", "foreignObject"}
        assert not [a for a in element.attrib if a.lower().startswith("on")], element.attrib
    text = "".join(root.itertext())
    for payload in PAYLOADS:  # drawn as text, character for character
        assert payload.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    parser = _Tags()  # and inline in an HTML page, as Voila and JupyterLab place it
    parser.feed(chart_html(chart))
    assert not {"script", "img", "iframe", "foreignobject"} & set(parser.tags)
    assert not [a for a in parser.attrs if a.startswith("on")]


def test_render_errors_name_the_chart() -> None:
    remote = alt.Chart("https://example.com/data.csv", title="Remote data").mark_point()
    with pytest.raises(ChartError, match=r"(?s)'Remote data'.*not allowed"):
        render_svg(remote.encode(x="a:Q"))
    with pytest.raises(ChartError, match="'Broken'"):
        render_svg(
            {
                "title": "Broken",
                "mark": "point",
                "encoding": {"x": {"field": "a", "type": "nonsense"}},
            }
        )
    with pytest.raises(TypeError, match="expected an Altair chart"):
        render_svg("<svg/>")  # type: ignore[arg-type]


def test_rendering_opens_no_socket_in_python(
    monkeypatch: pytest.MonkeyPatch, demo_cases: list[Case]
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a chart tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for chart in _all_charts(demo_cases[0], "patient").values():
        _parse(render_svg(chart))


def _no_network_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is not installed: cannot run a process without a network")
    for prefix in ([unshare, "-n"], [unshare, "-rn"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    pytest.skip("this kernel refuses network namespaces (unshare -n / -rn both failed)")


def test_rendering_works_with_no_network_at_all(tmp_path: Path) -> None:
    """vl-convert is Rust and JavaScript: a Python socket patch cannot see it. Run it in a
    process that has no network interface but loopback, and check it still renders."""
    script = tmp_path / "render.py"
    script.write_text(
        textwrap.dedent("""
        import socket, sys
        from casebook.catalog import default_catalog
        from casebook.charts import analyte_chart, plan_timeline, render_svg, symptom_chart
        from casebook.demo.synthetic import generate_cases
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=2)
            sys.exit("the network is reachable: this check would prove nothing")
        except OSError:
            pass
        cat = default_catalog()
        case = generate_cases(1, seed=7)[0]
        for chart in (symptom_chart(case, cat, audience="patient"),
                      analyte_chart(case, cat, "hemoglobin"), plan_timeline(case, cat)):
            svg = render_svg(chart)
            assert svg.startswith("<svg") and "</svg>" in svg
        print("rendered offline")
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [*_no_network_prefix(), sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rendered offline" in proc.stdout


def test_importing_the_charts_loads_neither_vl_convert_nor_widgets() -> None:
    code = (
        "import sys, casebook.charts; "
        "print(sorted(m for m in ('vl_convert', 'ipywidgets') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_time_zone_does_not_move_a_date(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import sys
        from datetime import date
        from casebook.catalog import default_catalog
        from casebook.charts import (analyte_chart, burden_chart, instrument_chart,
                                     plan_timeline, render_svg, symptom_chart)
        from casebook.demo.synthetic import generate_cases
        cat, today = default_catalog(), date(2024, 6, 1)
        case = generate_cases(1, seed=7, today=today)[0]
        for chart in (symptom_chart(case, cat), burden_chart(case),
                      instrument_chart(case, cat, "phq9"), analyte_chart(case, cat, "ferritin"),
                      plan_timeline(case, cat, today=today, audience="patient")):
            sys.stdout.write(render_svg(chart))
    """)
    outputs = []
    for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "TZ": tz},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]


def test_chart_output_is_an_svg_display_object(demo_cases: list[Case]) -> None:
    out = chart_output(burden_chart(demo_cases[0]))
    bundle = out._repr_svg_()
    assert bundle.startswith("<svg")
    _parse(bundle)


def test_chart_output_survives_nbclient_and_nbformat(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from casebook.catalog import default_catalog\n"
            "from casebook.charts import chart_output, symptom_chart\n"
            "from casebook.demo.synthetic import generate_cases\n"
            "chart_output(symptom_chart(generate_cases(1, seed=7)[0], default_catalog()))"
        )
    ]
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    nbformat.validate(nb)
    (output,) = nb.cells[0].outputs
    assert output["output_type"] == "execute_result"
    assert set(output["data"]) == {"image/svg+xml", "text/plain"}
    assert not [k for k in output["data"] if "vega" in k or "javascript" in k]


def test_chart_widget_swaps_its_chart_in_place(demo_cases: list[Case]) -> None:
    widget = chart_widget(burden_chart(demo_cases[0]))
    state = widget.get_state()
    assert state["value"].startswith('<div class="casebook-chart"')
    assert "<svg" in state["value"]
    model_id = widget.model_id
    update_chart_widget(widget, plan_timeline(demo_cases[1], CAT))
    assert widget.model_id == model_id
    assert "Plan timeline" in widget.get_state()["value"]
    before = widget.value
    with pytest.raises(ChartError):
        update_chart_widget(widget, alt.Chart("https://example.com/x.csv").mark_point())
    assert widget.value == before  # a failed render leaves the last good chart
    import ipywidgets

    label = ipywidgets.Label()
    with pytest.raises(TypeError, match=r"ipywidgets\.HTML"):
        update_chart_widget(label, burden_chart(demo_cases[0]))  # type: ignore[arg-type]
    label.close()
    widget.close()


def test_warm_up_in_the_background() -> None:
    thread = warm_up(background=True)
    assert thread is not None
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert warm_up() is None


def test_one_svg_and_png_of_each_chart_for_review(demo_cases: list[Case]) -> None:
    """Writes test-artifacts/charts/<chart>-<audience>.svg and .png (look at them)."""
    import vl_convert

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for audience in ("practitioner", "patient"):
        for name, chart in _all_charts(demo_cases[0], audience).items():
            svg = render_svg(chart)
            (ARTIFACTS / f"{name}-{audience}.svg").write_text(svg)
            png = vl_convert.svg_to_png(svg, scale=1.5)
            (ARTIFACTS / f"{name}-{audience}.png").write_bytes(png)
            assert png.startswith(b"\x89PNG")
    empty = plan_timeline(plain_case(), CAT, audience="patient")
    (ARTIFACTS / "empty-patient.png").write_bytes(vl_convert.svg_to_png(render_svg(empty)))


def test_a_chart_drawn_again_comes_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import vl_convert

    from casebook.charts import clear_chart_cache

    calls: list[object] = []
    real = vl_convert.vegalite_to_svg

    def counting(spec: object, **kwargs: object) -> str:
        calls.append(spec)
        return str(real(spec, **kwargs))

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", counting)
    monkeypatch.delenv("CASEBOOK_CHART_SOCKET", raising=False)
    clear_chart_cache()
    spec = {
        "mark": "point",
        "data": {"values": [{"x": 1, "y": 2}]},
        "encoding": {
            "x": {"field": "x", "type": "quantitative"},
            "y": {"field": "y", "type": "quantitative"},
        },
    }
    first = render_svg(spec)
    again = render_svg(dict(reversed(list(spec.items()))))  # the same chart, keys reordered
    assert again == first and len(calls) == 1
    changed = {**spec, "data": {"values": [{"x": 1, "y": 3}]}}  # new data: drawn again
    assert render_svg(changed) != first and len(calls) == 2
    with pytest.raises(ChartError):  # errors are not cached
        render_svg({"mark": "no-such-mark", "data": {"values": []}})
    with pytest.raises(ChartError):
        render_svg({"mark": "no-such-mark", "data": {"values": []}})
    assert len(calls) == 4
    clear_chart_cache()
    render_svg(spec)
    assert len(calls) == 5
