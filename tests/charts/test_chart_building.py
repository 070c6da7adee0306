"""How the builders make their charts cheaply without changing them: data shared between
layers instead of copied, Altair's per-object validation off while building (the whole spec
is still validated by `to_dict()`), and the edge cases of a single point."""

from __future__ import annotations

from datetime import date

import altair as alt
import pytest
from altair.utils import schemapi
from chart_specs import layer_rows, layers, plain_case

from casebook.catalog import default_catalog
from casebook.charts import analyte_chart, render_svg
from casebook.charts.style import built_quietly, inline
from casebook.models import TestResult, Visit

CAT = default_catalog()
ROWS = [{"day": "2024-01-02", "n": 1, "extra": "dropped"}, {"day": "2024-02-02", "n": 3}]


def test_inline_data_is_shared_by_copies_and_gives_the_same_spec() -> None:
    data = inline(ROWS, ["day", "n"])
    chart = alt.Chart(data).mark_line().encode(x="day:T", y="n:Q")
    assert chart.copy().data is data  # Altair's deep copies keep the one object
    assert chart.mark_point().data is data
    plain = alt.Chart(alt.InlineData(values=[{"day": r["day"], "n": r["n"]} for r in ROWS]))
    expected = plain.mark_line().encode(x="day:T", y="n:Q").to_dict()
    assert chart.to_dict() == expected


def test_built_quietly_defers_validation_to_the_whole_spec() -> None:
    seen: list[bool] = []

    def build() -> alt.Chart:
        seen.append(schemapi.DEBUG_MODE)
        return alt.Chart(inline(ROWS, ["n"])).mark_point(size="big").encode(y="n:Q")

    assert schemapi.DEBUG_MODE
    chart = built_quietly(build)()  # an invalid size is not refused while building ...
    assert seen == [False] and schemapi.DEBUG_MODE  # ... and debug mode is back on after
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        chart.to_dict()  # ... but the whole spec is, as the builders' tests check
    with pytest.raises(schemapi.SchemaValidationError):
        build()  # outside built_quietly Altair refuses it at once


def test_builders_restore_debug_mode_when_they_raise() -> None:
    case = plain_case(visits=[Visit(patient_id="p-1", visit_date=date(2024, 1, 2))])
    with pytest.raises(KeyError, match="unknown test"):
        analyte_chart(case, CAT, "nonsense")
    assert schemapi.DEBUG_MODE


def test_analyte_chart_draws_a_single_result_of_a_test_without_a_range() -> None:
    assert CAT.tests["zonulin"].range_for("female") == (None, None)
    visit = Visit(patient_id="p-1", visit_date=date(2024, 1, 2))
    result = TestResult(
        patient_id="p-1", test="zonulin", collected_on=date(2024, 1, 3), value=40.0, unit="ng/mL"
    )
    chart = analyte_chart(plain_case(visits=[visit], results=[result]), CAT, "zonulin")
    spec = chart.to_dict()  # validated
    assert [r["value"] for r in layer_rows(spec, layers(spec)[0])] == [40.0]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, pytest.approx(46.0)]
    assert render_svg(chart).lstrip().startswith("<svg")
