"""`/dashboard/summary.pdf`: the patient downloads their own latest after-visit summary,
under the dashboard's session rules, and never another patient's."""

from __future__ import annotations

import http.client
from datetime import UTC, datetime, timedelta

import pytest
from serve_helpers import Server

from casebook.catalog import default_catalog
from casebook.letters import ClinicSettings, after_visit_summary, save_letter
from casebook.models import LetterRecord
from casebook.serve.tokens import issue_token, revoke
from casebook.store import CaseStore

pytestmark = pytest.mark.slow

PATH = "/dashboard/summary.pdf"


def _summary(url: str, pid: str) -> LetterRecord:
    settings = ClinicSettings(name="Test Clinic", practitioner="T. Tester")
    with CaseStore(url, actor="test") as store:
        letter = after_visit_summary(store.load_case(pid), default_catalog(), settings)
        record, _ = save_letter(store, letter)
    return record


def _raw(
    server: Server, path: str, cookie: str | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request(
            "GET", path, headers={"Cookie": f"casebook_session={cookie}"} if cookie else {}
        )
        res = conn.getresponse()
        return res.status, res.headers, res.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def summaries(serve_store) -> dict[str, LetterRecord]:  # type: ignore[no-untyped-def]
    """Patients 0 and 3 have summaries (3 has two: the later one is served); 1 has none."""
    a, _, _, d = serve_store.patients[:4]
    _summary(serve_store.url, d)
    return {a: _summary(serve_store.url, a), d: _summary(serve_store.url, d)}


def test_own_latest_summary_is_a_pdf_attachment(server: Server, serve_store, summaries) -> None:
    for pid, record in summaries.items():
        status, headers, body = _raw(server, PATH, server.session(pid))
        assert status == 200
        assert body == record.pdf, f"{pid} got another letter"
        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
    a, d = list(summaries)
    assert summaries[a].pdf != summaries[d].pdf


def test_the_dashboard_offers_the_link_only_when_there_is_a_summary(
    server: Server, serve_store, summaries
) -> None:
    with_one, without = serve_store.patients[0], serve_store.patients[1]
    page = server.request("/dashboard", cookie=server.session(with_one))
    assert page.status == 200 and f'href="{PATH}"' in page.body
    page = server.request("/dashboard", cookie=server.session(without))
    assert page.status == 200 and PATH not in page.body


def test_no_summary_is_404(server: Server, serve_store, summaries) -> None:
    status, _, body = _raw(server, PATH, server.session(serve_store.patients[1]))
    assert status == 404 and b"%PDF" not in body


def test_no_credentials_is_401(server: Server, summaries) -> None:
    status, _, body = _raw(server, PATH)
    assert status == 401 and b"%PDF" not in body


def test_bad_expired_or_revoked_credentials_are_403(server: Server, serve_store, summaries) -> None:
    a = serve_store.patients[0]
    assert _raw(server, PATH, "x" * 43)[0] == 403
    with CaseStore(serve_store.url, actor="test") as store:
        expired, _ = issue_token(
            store, a, days=1, now=datetime.now(UTC) - timedelta(days=1, seconds=1)
        )
    status, _, body = _raw(server, f"{PATH}?token={expired}")  # cannot open a session
    assert status == 403 and b"%PDF" not in body
    revoked = server.session(a)
    with CaseStore(serve_store.url, actor="test") as store:
        revoke(store, a)
    status, _, body = _raw(server, PATH, revoked)
    assert status == 403 and b"%PDF" not in body


def test_the_url_never_chooses_the_patient_or_the_letter(
    server: Server, serve_store, summaries
) -> None:
    own, other = serve_store.patients[3], serve_store.patients[0]
    token = server.session(own)
    other_id = summaries[other].id
    status, _, body = _raw(
        server, f"{PATH}?patient_id={other}&id={other_id}&letter={other_id}", token
    )
    assert status == 200 and body == summaries[own].pdf
    for path in (
        f"/dashboard/summary.pdf/{other_id}",
        f"/dashboard/{other}/summary.pdf",
        f"/dashboard/summary-{other_id}.pdf",
        f"/dashboard/letters/{other_id}",
    ):
        assert _raw(server, path, token)[0] == 404, path


def test_a_link_in_the_url_opens_the_session_and_shows_no_letter(
    server: Server, serve_store, summaries
) -> None:
    token = server.token(serve_store.patients[3])
    status, headers, body = _raw(server, f"{PATH}?token={token}")
    assert status == 200 and b"%PDF" not in body
    assert 'url=/dashboard"' in body.decode()
    assert "casebook_session=" in (headers.get("Set-Cookie") or "")
