"""Behind a TLS proxy: links on the public https address, Secure session cookies, and
X-Forwarded-* headers trusted only when the server is told to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serve_helpers import Server, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def proxied(serve_store) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    srv = start_server(
        serve_store.url,
        serve_store.folder,
        "--no-fork",
        "--no-shared-charts",
        "--public-url",
        "https://clinic.example.org",
        "--trust-proxy",
        "--bad-credentials-per-minute",
        "2",
    )
    yield srv
    srv.stop()


def test_an_https_public_url_makes_the_session_cookie_secure(proxied: Server, serve_store) -> None:
    token = proxied.token(serve_store.patients[0])
    opened = proxied.request(f"/dashboard?token={token}")
    assert opened.status == 200
    (cookie,) = [c for c in opened.cookies if c.startswith("casebook_session=")]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert "dashboards at https://clinic.example.org/dashboard" in proxied.log()


def test_every_cookie_of_a_refused_session_is_secure(proxied: Server, serve_store) -> None:
    from casebook.serve.tokens import revoke
    from casebook.store import CaseStore

    patient = serve_store.patients[3]
    session = proxied.open(proxied.token(patient))
    with CaseStore(serve_store.url, actor="test") as store:
        assert revoke(store, patient) >= 1
    refused = proxied.request("/dashboard", cookie=session)
    assert refused.status == 403
    names = {c.split("=", 1)[0] for c in refused.cookies}
    assert names == {"casebook_session", "casebook_link_ended"}, refused.cookies
    for cookie in refused.cookies:  # the cleared session and the "link ended" note
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_a_trusted_proxy_names_the_client(proxied: Server) -> None:
    one, two = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    codes = [proxied.request("/dashboard?token=" + "x" * 43, headers=one).status for _ in range(3)]
    assert codes == [403, 403, 429]
    # Another client behind the same proxy has its own allowance.
    assert proxied.request("/dashboard?token=" + "x" * 43, headers=two).status == 403


def test_forwarded_headers_are_ignored_unless_trusted(server: Server, serve_store) -> None:
    token = server.token(serve_store.patients[0])
    opened = server.request(
        f"/dashboard?token={token}", headers={"X-Forwarded-Proto": "https", "X-Scheme": "https"}
    )
    assert opened.status == 200
    (cookie,) = [c for c in opened.cookies if c.startswith("casebook_session=")]
    assert "Secure" not in cookie
