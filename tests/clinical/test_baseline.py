"""Where progress is measured from: the baseline visit and where each measure starts,
check-ins the patient sent included."""

from __future__ import annotations

from datetime import date

from casebook.clinical.baseline import baseline_visit, symptoms_start
from casebook.clinical.scoring import change_since_baseline
from tests.clinical.test_scoring import make_case, ratings, response, visit

D1, D2, D3 = date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)
PHQ = {str(i): 1 for i in range(1, 10)}  # total 9


def test_no_visits_no_baseline() -> None:
    case = make_case()
    assert baseline_visit(case) is None and symptoms_start(case) is None


def test_a_checkin_only_record_starts_at_its_first_checkin() -> None:
    first, second = visit(D2, "check-in"), visit(D1, "check-in")  # stored out of order
    case = make_case(
        visits=[first, second],
        symptoms=[*ratings(second, bloating=3), *ratings(first, bloating=1)],
        instruments=[response(second, "phq9", PHQ, total=15), response(first, "phq9", PHQ, 9)],
    )
    assert baseline_visit(case) == second and symptoms_start(case) == second
    start = symptoms_start(case)
    assert start is not None and start.is_checkin
    rows = change_since_baseline(case)
    assert [(r.visit_date, r.burden, r.burden_delta) for r in rows] == [(D1, 3, 0), (D2, 1, -2)]
    assert [r.instruments["phq9"].delta for r in rows] == [0, -6]


def test_a_later_intake_is_the_start_and_an_earlier_checkin_stays_on_the_trend() -> None:
    checkin, intake, later = visit(D1, "check-in"), visit(D2, "intake"), visit(D3)
    case = make_case(
        visits=[checkin, intake, later],
        symptoms=[
            *ratings(checkin, bloating=4),
            *ratings(intake, bloating=3),
            *ratings(later, bloating=1),
        ],
        instruments=[response(checkin, "phq9", PHQ, total=20), response(later, "phq9", PHQ, 9)],
    )
    assert baseline_visit(case) == intake and symptoms_start(case) == intake
    rows = change_since_baseline(case)
    assert [(r.burden, r.burden_delta) for r in rows] == [(4, 1), (3, 0), (1, -2)]
    # PHQ-9 was not asked at the intake: it starts at its first score from the intake on;
    # the check-in's score before the intake is shown against it, not used as the start
    assert [r.instruments["phq9"].delta for r in rows] == [11, None, 0]


def test_a_checkin_on_the_intake_day_comes_after_the_intake() -> None:
    checkin, intake = visit(D1, "check-in"), visit(D1, "intake")
    case = make_case(
        visits=[checkin, intake],
        symptoms=[*ratings(checkin, bloating=2), *ratings(intake, bloating=3)],
    )
    assert baseline_visit(case) == intake and symptoms_start(case) == intake
    assert [r.burden_delta for r in change_since_baseline(case)] == [0, -1]


def test_a_checkin_after_an_unrated_intake_is_where_the_symptoms_start() -> None:
    intake, checkin = visit(D1, "intake"), visit(D2, "check-in")
    case = make_case(visits=[intake, checkin], symptoms=ratings(checkin, bloating=2))
    assert baseline_visit(case) == intake and symptoms_start(case) == checkin


def test_held_visits_leave_out_the_checkins_the_patient_sent() -> None:
    checkin, intake, follow = visit(D1, "check-in"), visit(D2, "intake"), visit(D3, "follow-up")
    case = make_case(visits=[follow, checkin, intake])
    assert [v.is_checkin for v in case.sorted_visits()] == [True, False, False]
    assert case.held_visits() == [intake, follow]
