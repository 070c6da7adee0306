"""Check-ins through `casebook serve`: the form, drafts, one submission, the same-day flag,
and every hostile request refused with its status and nothing written."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from serve_helpers import Response, Server, start_server

from casebook.catalog import default_catalog
from casebook.checkins import form_sections
from casebook.models import Patient
from casebook.serve import revoke
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore, tables

pytestmark = pytest.mark.slow

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def ci_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("checkins")
    url = f"sqlite:///{folder / 'casebook.db'}"
    with CaseStore(url, create=True, actor="test") as store:
        for pid in ("ci-1", "ci-2", "ci-3", "ci-4", "ci-5", "ci-6", "ci-7"):
            store.add_patient(Patient(id=pid, name=f"Person {pid}", birth_date=date(1980, 1, 1)))
    (folder / "clinic.toml").write_text(
        'name = "Test Clinic"\nphone = "000 1111 2222"\npractitioner = "A. Tester"\n',
        encoding="utf-8",
    )
    srv = start_server(
        url, folder, "--no-fork", "--no-shared-charts", "--bad-credentials-per-minute", "6000"
    )
    yield srv
    srv.stop()


@dataclass
class Opened:
    checkin_id: str
    session: str
    xsrf: str
    page: Response


def _send(server: Server, pid: str, instruments: list[str], days: int = 7) -> tuple[str, str]:
    with CaseStore(server.db_url, actor="test") as store:
        url, checkin = send_checkin(store, pid, instruments, days=days, base_url=server.base)
    return url.split("token=", 1)[1], checkin.id


def _open(server: Server, pid: str, instruments: list[str]) -> Opened:
    token, checkin_id = _send(server, pid, instruments)
    first = server.request(f"/checkin?token={token}")
    assert first.status == 200 and first.session, first.status
    moved = server.request("/checkin", cookie=first.session)
    assert moved.status == 303  # on to the patient's oldest open check-in
    assert re.fullmatch(r"/checkin/[0-9a-f]{32}", moved.header("Location") or "")
    page = server.request(f"/checkin/{checkin_id}", cookie=first.session)
    assert page.status == 200
    xsrf = re.search(r'name="_xsrf" value="([0-9a-f]{64})"', page.body)
    assert xsrf is not None
    return Opened(checkin_id, first.session, xsrf.group(1), page)


def _answers(instruments: list[str], value: str = "0") -> list[tuple[str, str]]:
    out = []
    for section in form_sections(default_catalog(), instruments):
        for q in section.questions:
            offered = [v for v, _ in q.options]
            out.append((q.name, value if value in offered else offered[0]))
    return out


def _post(
    server: Server,
    opened: Opened,
    fields: list[tuple[str, str]],
    action: str = "submit",
    *,
    headers: dict[str, str] | None = None,
    xsrf: str | None = None,
) -> Response:
    body = urllib.parse.urlencode(
        [("_xsrf", opened.xsrf if xsrf is None else xsrf), *fields, ("action", action)]
    )
    return server.request(
        f"/checkin/{opened.checkin_id}",
        method="POST",
        cookie=opened.session,
        headers={**FORM, **(headers or {})},
        body=body.encode(),
    )


def _state(server: Server, pid: str) -> tuple[list[str], int]:
    """(statuses of the patient's check-ins, visits in the case)."""
    with CaseStore(server.db_url, actor="test") as store:
        return [c.status for c in store.checkins(pid)], len(store.load_case(pid).visits)


def test_the_form_lists_the_catalog_wording_and_a_get_uses_nothing(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-1", ["phq9", "symptoms"])
    assert "Little interest or pleasure in doing things" in opened.page.body
    assert "Tummy pain or cramps" in opened.page.body
    assert "no permission required to reproduce" in opened.page.body  # the licence
    assert "<script" not in opened.page.body
    assert "form-action 'self'" in (opened.page.header("Content-Security-Policy") or "")
    again = ci_server.request(f"/checkin/{opened.checkin_id}", cookie=opened.session)
    assert again.status == 200
    assert _state(ci_server, "ci-1") == (["sent"], 0)


def test_save_then_submit_with_a_self_harm_answer(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-2", ["phq9"])
    saved = _post(ci_server, opened, [("phq9.1", "2"), ("free_text", "<b>bold</b>")], "save")
    assert saved.status == 200 and "saved" in saved.body
    page = ci_server.request(f"/checkin/{opened.checkin_id}", cookie=opened.session)
    assert 'value="2" checked' in page.body and "&lt;b&gt;bold&lt;/b&gt;" in page.body
    assert _state(ci_server, "ci-2") == (["sent"], 0)
    answers = [*_answers(["phq9"], "0")[:-1], ("phq9.9", "1")]
    done = _post(ci_server, opened, [*answers, ("free_text", "<b>bold</b>")])
    assert done.status == 200
    assert "000 1111 2222" in done.body and "emergency" in done.body
    assert not re.search(r"(we|will) (call|phone|ring) you|within \d", done.body)  # no promise
    with CaseStore(ci_server.db_url, actor="test") as store:
        flags = store.flag_statuses("ci-2")
        (checkin,) = store.checkins("ci-2")
        log = store.audit_log("ci-2")
    assert flags[0].flag.key == "phq9_self_harm" and flags[0].urgency == "same_day"
    assert checkin.status == "submitted" and checkin.free_text == "<b>bold</b>"
    assert {e.actor for e in log if e.entity in ("visit", "instrument")} == {
        next(e.actor for e in log if e.action == "submit")
    }
    assert all(e.actor.startswith("patient link ") for e in log if e.action in ("submit", "draft"))
    # replayed: refused, nothing more written
    replay = _post(ci_server, opened, answers)
    assert replay.status == 409
    assert _state(ci_server, "ci-2") == (["submitted"], 1)


def test_an_answer_of_zero_thanks_without_alarm(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-3", ["gad7", "bristol"])
    done = _post(ci_server, opened, _answers(["gad7", "bristol"], "0"))
    assert done.status == 200 and "emergency" not in done.body


def test_a_same_day_alarm_answer_says_what_to_do_now(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-7", ["alarms"])
    assert "black and sticky, like tar" in opened.page.body
    answers = [(n, "yes" if n == "alarms.melena" else "no") for n, _ in _answers(["alarms"])]
    done = _post(ci_server, opened, answers)
    assert done.status == 200
    assert "Have your stools (poo) been black and sticky, like tar?" in done.body
    assert "000 1111 2222" in done.body and "emergency department" in done.body
    assert "hurting yourself" not in done.body and "Samaritans" not in done.body
    assert not re.search(r"(we|will) (call|phone|ring) you|within \d", done.body)
    with CaseStore(ci_server.db_url, actor="test") as store:
        flags = store.flag_statuses("ci-7")
    assert [(f.flag.key, f.urgency) for f in flags] == [("melena", "same_day")]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([("phq9.1", "7")], 400),  # out of range
        ([("phq9.1", "x")], 400),
        ([("phq9.1", "1"), ("phq9.1", "2")], 400),  # doubled field
        ([("gad7.1", "1")], 400),  # not a question of this check-in
        ([("free_text", "x" * 2001)], 400),
    ],
)
def test_bad_answers_are_refused_and_nothing_written(
    ci_server: Server, fields: list[tuple[str, str]], status: int
) -> None:
    opened = _open(ci_server, "ci-4", ["phq9"])
    assert _post(ci_server, opened, fields, "save").status == status
    with CaseStore(ci_server.db_url, actor="test") as store:
        checkin = store.checkin(opened.checkin_id)
    assert checkin is not None and checkin.answers == {} and checkin.status == "sent"


def test_hostile_requests_are_refused(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-5", ["phq9"])
    answers = _answers(["phq9"])
    path = f"/checkin/{opened.checkin_id}"
    body = urllib.parse.urlencode([("_xsrf", opened.xsrf), *answers, ("action", "submit")])
    # another patient's session asking for this check-in by its URL
    other = _open(ci_server, "ci-6", ["phq9"])
    assert ci_server.request(path, cookie=other.session).status == 404
    stolen = Opened(opened.checkin_id, other.session, other.xsrf, other.page)
    assert _post(ci_server, stolen, answers).status in (403, 404)
    # posted from another origin, or with another form's CSRF token, or none
    assert (
        _post(ci_server, opened, answers, headers={"Origin": "https://evil.example"}).status == 403
    )
    assert _post(ci_server, opened, answers, headers={"Sec-Fetch-Site": "cross-site"}).status == 403
    assert _post(ci_server, opened, answers, xsrf=other.xsrf).status == 403
    assert _post(ci_server, opened, answers, xsrf="").status == 403
    # no cookie; a token in the URL instead of the session
    assert ci_server.request(path, method="POST", headers=FORM, body=body.encode()).status == 403
    # malformed and oversized bodies, the wrong content type
    bad = ci_server.request(
        path, method="POST", cookie=opened.session, headers=FORM, body=b"\xff\xfe=&&=="
    )
    assert bad.status == 400
    huge = ci_server.request(
        path, method="POST", cookie=opened.session, headers=FORM, body=b"a=" + b"x" * 40_000
    )
    assert huge.status == 413
    json = ci_server.request(
        path,
        method="POST",
        cookie=opened.session,
        headers={"Content-Type": "application/json"},
        body=b"{}",
    )
    assert json.status == 415
    assert _state(ci_server, "ci-5") == (["sent"], 0)
    # a flood: refused once the link's submissions are spent, nothing written
    codes = [_post(ci_server, opened, [("phq9.1", "9")], "save").status for _ in range(12)]
    assert codes[0] == 400 and 429 in codes
    assert _state(ci_server, "ci-5") == (["sent"], 0)


def test_a_revoked_link_mid_form(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-3", ["phq9"])
    with CaseStore(ci_server.db_url, actor="test") as store:
        revoke(store, "ci-3")
    page = ci_server.request(f"/checkin/{opened.checkin_id}", cookie=opened.session)
    assert page.status == 403 and "no longer valid" in page.body  # the form, reloaded
    assert _post(ci_server, opened, _answers(["phq9"])).status == 403
    with CaseStore(ci_server.db_url, actor="test") as store:
        statuses = [c.status for c in store.checkins("ci-3")]
    assert statuses.count("sent") == 1  # the revoked one took nothing


def test_an_expired_checkin_mid_form(ci_server: Server) -> None:
    opened = _open(ci_server, "ci-1", ["phq9"])
    with CaseStore(ci_server.db_url, actor="test") as store, store.transaction() as tx:
        c = tables.checkins  # the clock moves on: the check-in ended a minute ago
        ended = datetime.now(UTC) - timedelta(minutes=1)
        tx.conn.execute(sa.update(c).where(c.c.id == opened.checkin_id).values(expires_at=ended))
    page = ci_server.request(f"/checkin/{opened.checkin_id}", cookie=opened.session)
    assert page.status == 403 and "expired" in page.body  # the form, reloaded
    refused = _post(ci_server, opened, _answers(["phq9"]))
    assert refused.status == 403 and "expired" in refused.body
    with CaseStore(ci_server.db_url, actor="test") as store:
        checkin = store.checkin(opened.checkin_id)
    assert checkin is not None and checkin.status == "sent" and checkin.answers == {}
