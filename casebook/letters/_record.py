"""Facts the letters read from the record: latest results with their range and flag, latest
instrument scores. Pure functions over the case and the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from casebook.catalog import Catalog, Instrument, LabTest
from casebook.clinical.scoring import ScoringError, read_result, score_instrument
from casebook.clinical.vocabulary import ResultFlag
from casebook.models import Case, TestResult

__all__ = ["ResultFact", "ScoreFact", "latest_results", "latest_scores"]


@dataclass(frozen=True)
class ResultFact:
    test_key: str
    test: LabTest | None
    result: TestResult
    low: float | None
    high: float | None
    flag: ResultFlag | None


@dataclass(frozen=True)
class ScoreFact:
    instrument: Instrument
    on: date
    total: int
    band: str
    band_text: str
    visit_id: str


def latest_results(
    case: Case, catalog: Catalog, *, since: date | None = None, until: date | None = None
) -> list[ResultFact]:
    """The latest result of each test collected in [since, until], in catalog order."""
    latest: dict[str, TestResult] = {}
    for result in sorted(case.results, key=lambda r: (r.collected_on, r.id)):
        if (since is None or result.collected_on >= since) and (
            until is None or result.collected_on <= until
        ):
            latest[result.test] = result
    order = {key: i for i, key in enumerate(catalog.tests)}
    facts = []
    for key in sorted(latest, key=lambda k: (order.get(k, len(order)), k)):
        test = catalog.tests.get(key)
        reading = read_result(latest[key], test, case.patient.sex)
        facts.append(ResultFact(key, test, latest[key], reading.low, reading.high, reading.flag))
    return facts


def latest_scores(
    case: Case, catalog: Catalog, *, until: date | None = None, visit_id: str | None = None
) -> list[ScoreFact]:
    """The latest scorable response of each catalog instrument (of one visit if given)."""
    dates = {v.id: v.visit_date for v in case.visits}
    order = {v.id: i for i, v in enumerate(case.sorted_visits())}
    facts = []
    for key, instrument in catalog.instruments.items():
        responses = sorted(
            (
                r
                for r in case.instruments
                if r.instrument == key
                and (visit_id is None or r.visit_id == visit_id)
                and (until is None or dates[r.visit_id] <= until)
            ),
            key=lambda r: order[r.visit_id],
        )
        for response in reversed(responses):
            try:
                score = score_instrument(instrument, response.answers)
            except ScoringError:
                continue
            facts.append(
                ScoreFact(
                    instrument,
                    dates[response.visit_id],
                    score.total,
                    score.band,
                    score.band_text,
                    response.visit_id,
                )
            )
            break
    return facts
