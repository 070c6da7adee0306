"""Every view shows the same urgency for the same flag: the one the flag lifecycle gives
(`casebook.clinical.flag_lifecycle`). Checked on the demo's own patients (`casebook demo`:
12 patients, seed 1), on the demo's today and on each patient's last visit day, for the
workbook's flag panel, `casebook flags` and `casebook show`, the clinic worklist, the
referral letter, the after-visit summary and the patient's dashboard.

The demo's patient with a PHQ-9 item 9 answer is the issue-18 case: same day on the day
it was answered, urgent (answered on DATE, review) weeks later, in every view alike."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date

import pytest

from casebook import dashboard
from casebook.catalog import default_catalog
from casebook.cli import main
from casebook.clinic import worklist
from casebook.clinical.flag_lifecycle import FlagStatus, case_flag_statuses
from casebook.clinical.red_flags import red_flags
from casebook.clinical.vocabulary import Urgency
from casebook.demo.synthetic import generate_cases
from casebook.letters import ClinicSettings, after_visit_summary, referral_letter
from casebook.models import Case
from casebook.store import CaseStore, import_cases
from casebook.workbook.widgets.header import flag_panel

CATALOG = default_catalog()
TODAY = date.today()  # the CLI reads the record as of today
CASES = generate_cases(12, seed=1, today=TODAY, catalog=CATALOG)  # the demo's patients
SETTINGS = ClinicSettings(name="Demo clinic", practitioner="Dr Demo")


def _days(case: Case) -> list[date]:
    """The demo's today and the patient's last visit (when its evidence was new)."""
    return sorted({TODAY, case.sorted_visits()[-1].visit_date})


def _statuses(case: Case, day: date) -> list[FlagStatus]:
    statuses = case_flag_statuses(case, CATALOG, today=day)
    assert len({s.flag.label for s in statuses}) == len(statuses)  # labels name the flags
    return statuses


def _cases_and_days() -> Iterator[tuple[Case, date]]:
    for case in CASES:
        for day in _days(case):
            yield case, day


def test_the_demo_holds_each_urgency_and_an_aged_same_day_flag() -> None:
    shown = {
        (s.flag.urgency, s.urgency) for case, day in _cases_and_days() for s in _statuses(case, day)
    }
    assert {
        (Urgency.SAME_DAY, Urgency.SAME_DAY),
        (Urgency.SAME_DAY, Urgency.URGENT),
        (Urgency.URGENT, Urgency.URGENT),
        (Urgency.ROUTINE, Urgency.ROUTINE),
    } <= shown


_BADGE = re.compile(r'white-space:nowrap">([^<]*)</span> <b>([^<]*)</b>')


def test_workbook_flag_panel() -> None:
    for case, day in _cases_and_days():
        statuses = _statuses(case, day)
        shown = {
            html.unescape(label): html.unescape(word)
            for word, label in _BADGE.findall(flag_panel(statuses, []))
        }
        assert shown == {s.flag.label: s.urgency.label.upper() for s in statuses}, (
            case.patient.id,
            day,
        )


_LINE = re.compile(r"^  [!-] \[([^\]]*)\] ([a-z0-9_]+): ", re.MULTILINE)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'casebook.db'}"
    with CaseStore(url, create=True, actor="tester") as store:
        import_cases(store, CASES)
    return url


@pytest.mark.parametrize("command", ["flags", "show"])
def test_cli_flags_and_show(demo_db: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    for case in CASES:
        assert main(["--db", demo_db, command, case.patient.id]) == 0
        shown = dict((key, headline) for headline, key in _LINE.findall(capsys.readouterr().out))
        statuses = _statuses(case, TODAY)
        assert shown == {s.flag.key: s.headline() for s in statuses}, case.patient.id
        assert all(s.headline().split(" — ")[0] == s.urgency.label for s in statuses)


def test_clinic_worklist_shows_and_ranks_by_the_lifecycle_urgency() -> None:
    for day in sorted({d for case in CASES for d in _days(case)}):
        rows = worklist(CASES, CATALOG, today=day).query("kind == 'red-flag'")
        shown = {(r.patient_id, r.ref): Urgency(r.urgency) for r in rows.itertuples()}
        expected = {
            (c.patient.id, s.flag.key): s.urgency
            for c in CASES
            for s in _statuses(c, day)
            if s.state == "open"
        }
        assert shown == expected, day
        ranks = [Urgency(u).rank for u in rows["urgency"]]
        assert ranks == sorted(ranks), day


_LETTER_ROW = re.compile(
    r"<tr><td>([^<]*)</td><td>.*?</td><td[^>]*>[^<]*</td><td>([^<]*)</td>"
    r"</tr>",
    re.DOTALL,
)


def test_referral_letter() -> None:
    for case, day in _cases_and_days():
        statuses = _statuses(case, day)
        if not statuses:
            continue
        letter = referral_letter(case, CATALOG, SETTINGS, to="Gastroenterology", on=day)
        table = letter.html.split('scope="col">Urgency</th>', 1)[1].split("</table>", 1)[0]
        shown = {html.unescape(label): word for label, word in _LETTER_ROW.findall(table)}
        assert shown == {s.flag.label: s.urgency.label.capitalize() for s in statuses}, (
            case.patient.id,
            day,
        )


def test_after_visit_summary_asks_to_get_in_touch_as_the_lifecycle_says() -> None:
    for case in CASES:
        day = case.sorted_visits()[-1].visit_date
        contact = [s.urgency for s in _statuses(case, day) if s.needs_contact]
        letter = after_visit_summary(case, CATALOG, SETTINGS, visit_date=day)
        words = {u.patient_words for u in contact}
        assert len(words) <= 1
        asked = bool(contact) and f"<strong>{words.pop()}.</strong>" in letter.html
        assert asked == bool(contact), case.patient.id


def test_patient_dashboard_asks_to_get_in_touch_as_the_lifecycle_says() -> None:
    for case, day in _cases_and_days():
        page = dashboard.Dashboard(
            case,
            CATALOG,
            red_flags(case, CATALOG.red_flags, CATALOG.instruments, CATALOG.tests, today=day),
            day,
        )
        contact = [s.urgency for s in _statuses(case, day) if s.needs_contact]
        section = dashboard.attention(page).html
        assert bool(section) == bool(contact), (case.patient.id, day)
        if contact:
            assert f"<h2>{contact[0].patient_words}</h2>" in section


def test_the_issue_18_patient_in_every_view(
    demo_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (case,) = [
        c
        for c in CASES
        if any(
            f.key == "phq9_self_harm"
            for f in red_flags(c, CATALOG.red_flags, CATALOG.instruments, CATALOG.tests)
        )
    ]
    answered = next(s.flag.on for s in _statuses(case, TODAY) if s.flag.key == "phq9_self_harm")
    assert answered is not None and (TODAY - answered).days > 14
    assert main(["--db", demo_db, "flags", case.patient.id]) == 0
    assert f"[urgent — answered on {answered}, review] phq9_self_harm:" in capsys.readouterr().out
    rows = worklist(CASES, CATALOG, today=TODAY)
    row = rows[(rows["patient_id"] == case.patient.id) & (rows["ref"] == "phq9_self_harm")]
    assert list(row["urgency"]) == ["urgent"]
    assert (rows["urgency"] != "same_day").all()  # nothing is same day on the demo's today
