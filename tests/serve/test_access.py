"""The HTTP access matrix of the dashboard server: who reaches what, with exact status codes."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from serve_helpers import Server

from casebook.serve.headers import CONTENT_SECURITY_POLICY
from casebook.serve.tokens import hash_token, issue_token, open_session, revoke
from casebook.store import CaseStore
from casebook.store import tables as t

pytestmark = pytest.mark.slow

KERNEL = str(uuid.uuid4())  # a new id each run; the test ids say <kernel> (xdist's workers
# each collect the suite and must name the same tests)
# Every route stock Voilà, jupyter_server or JupyterLab would offer. None exists here.
CLOSED_PATHS = [
    "/tree",
    "/voila",
    "/voila/",
    "/voila/tree",
    "/voila/tree/",
    "/voila/render/dashboard.ipynb",
    "/voila/render/templates/dashboard.ipynb",
    "/dashboard.ipynb",
    "/dashboard/demo-0002",
    "/voila/files/dashboard.ipynb",
    "/voila/files/casebook.db",
    "/voila/files/../casebook.db",
    "/files/casebook.db",
    "/casebook.db",
    "/api",
    "/api/kernels",
    f"/api/kernels/{KERNEL}",
    f"/api/kernels/{KERNEL}/channels",
    "/api/kernelspecs",
    "/api/sessions",
    "/api/contents",
    "/api/contents/casebook.db",
    "/api/terminals",
    "/api/status",
    "/api/me",
    "/voila/api/contents",
    "/voila/api/contents/",
    f"/voila/api/shutdown/{KERNEL}",
    f"/voila/query/{KERNEL}",
    f"/voila/execution/{KERNEL}",
    "/voila/static/voila.js",
    "/voila/templates/lab/static/index.css",
    "/voila/api/themes/light",
    "/voila/labextensions/@jupyter-widgets/jupyterlab-manager/package.json",
    "/lab",
    "/lab/tree",
    "/login",
    "/logout",
    "/notebooks/dashboard.ipynb",
    "/edit/casebook.db",
    "/static/",
    "/static/../casebook.db",
    "/static/dashboard.css/../../casebook.db",
    "/favicon.ico",
]


def _name(store_url: str, pid: str) -> str:
    with CaseStore(store_url) as store:
        return store.get_patient(pid).name


def _reload_after(server: Server, refused):  # type: ignore[no-untyped-def]
    """The page reloaded by a browser that kept the cookie the refusal `refused` set (its
    session cookie was cleared)."""
    kept = [c.split(";", 1)[0] for c in refused.cookies if c.startswith("casebook_link_ended=")]
    assert kept, refused.cookies
    return server.request("/dashboard", headers={"Cookie": kept[0]})


def _check_headers(res, what: str) -> None:  # type: ignore[no-untyped-def]
    assert res.header("Content-Security-Policy") == CONTENT_SECURITY_POLICY, what
    assert res.header("Cache-Control") == "no-store", what
    assert res.header("Referrer-Policy") == "same-origin", what
    assert res.header("X-Content-Type-Options") == "nosniff", what
    assert res.header("X-Frame-Options") == "DENY", what
    assert res.header("Server") is None, what


def test_own_dashboard_is_200_with_cookie_set_by_the_link(server: Server, serve_store) -> None:
    a, b = serve_store.patients[:2]
    token = server.token(a)
    opened = server.request(f"/dashboard?token={token}")
    assert opened.status == 200
    cookie = next(c for c in opened.cookies if c.startswith("casebook_session="))
    session = opened.session
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session), cookie
    assert session != token and token not in cookie  # the cookie never holds the token
    assert "Secure" not in cookie  # plain http, no https public URL
    for part in ("HttpOnly", "Path=/", "SameSite=Strict", "Max-Age="):
        assert part in cookie, cookie
    assert 'http-equiv="refresh" content="0; url=/dashboard"' in opened.body
    assert opened.headers.get("Refresh") == "0; url=/dashboard"  # the browser moves on sooner
    assert _name(serve_store.url, a) not in opened.body  # the interstitial shows no data
    _check_headers(opened, "link page")

    page = server.request("/dashboard", cookie=session)
    assert page.status == 200, page.body[:500]
    _check_headers(page, "dashboard")
    assert _name(serve_store.url, a) in page.body
    assert _name(serve_store.url, b) not in page.body
    assert 'class="cb-card"' in page.body and 'id="plan"' in page.body
    assert 'class="cb-card cb-problem"' not in page.body, "a section failed to render"
    # No script, no remote resource, no Voilà front end on the page.
    assert "<script" not in page.body.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page.body, re.I)
    assert "voila.js" not in page.body and "fontawesome" not in page.body.lower()


def test_root_path_shows_the_same_dashboard(server: Server, serve_store) -> None:
    a = serve_store.patients[2]
    page = server.request("/", cookie=server.session(a))
    assert page.status == 200
    assert _name(serve_store.url, a) in page.body


def test_url_cannot_choose_the_patient(server: Server, serve_store) -> None:
    a, b = serve_store.patients[:2]
    token = server.session(a)
    name_a, name_b = _name(serve_store.url, a), _name(serve_store.url, b)
    page = server.request(
        f"/dashboard?patient_id={b}&patient={b}&database_url=sqlite:///x.db"
        f"&template=lab&theme=dark",
        cookie=token,
    )
    assert page.status == 200
    assert name_a in page.body and name_b not in page.body
    assert "cb-page" in page.body and "<script" not in page.body.lower()  # our template only
    assert "theme-dark" not in page.body and "jp-Notebook" not in page.body
    for path in (f"/dashboard/{b}", f"/{b}", f"/dashboard/{b}/", f"/voila/render/{b}"):
        assert server.request(path, cookie=token).status == 404, path


def test_a_token_in_the_url_replaces_the_session(server: Server, serve_store) -> None:
    """The token decides: B's link opened in A's browser becomes B's session."""
    a, b = serve_store.patients[:2]
    session_a, token_b = server.session(a), server.token(b)
    opened = server.request(f"/dashboard?token={token_b}", cookie=session_a)
    assert opened.status == 200
    assert opened.session and opened.session != session_a
    page = server.request("/dashboard", cookie=opened.session)
    assert _name(serve_store.url, b) in page.body
    assert _name(serve_store.url, a) not in page.body


@pytest.mark.parametrize("path", CLOSED_PATHS, ids=lambda p: p.replace(KERNEL, "<kernel>"))
def test_every_other_route_is_404_with_or_without_a_session(
    server: Server, serve_store, path: str
) -> None:
    token = server.session(serve_store.patients[3])
    for cookie in (None, token):
        res = server.request(path, cookie=cookie)
        assert res.status == 404, f"{path} with cookie={bool(cookie)}: {res.status}"
        _check_headers(res, path)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        res = server.request(path, method=method, cookie=token, body=b"{}")
        assert res.status == 404, f"{method} {path}: {res.status}"


def test_dashboard_only_answers_get(server: Server, serve_store) -> None:
    token = server.session(serve_store.patients[3])
    for method in ("POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        res = server.request("/dashboard", method=method, cookie=token, body=b"x=1")
        assert res.status == 405, f"{method}: {res.status}"


def test_no_credentials_is_401(server: Server) -> None:
    res = server.request("/dashboard")
    assert res.status == 401
    assert "personal link" in res.body
    _check_headers(res, "401")
    assert server.request("/").status == 401


@pytest.mark.parametrize(
    "token",
    [
        "x" * 43,
        pytest.param(secrets.token_urlsafe(32), id="unknown-token"),  # new each run
        "short",
        "a" * 44,
        "../../etc/passwd",
        "' OR 1=1 --",
    ],
)
def test_unknown_or_malformed_token_is_403(server: Server, token: str) -> None:
    for res in (
        server.request(f"/dashboard?token={quote(token)}"),
        server.request("/dashboard", cookie=quote(token)),
    ):
        assert res.status == 403
        assert "not valid" in res.body
        _check_headers(res, "403")
        assert not any(c.startswith(f"casebook_session={quote(token)}") for c in res.cookies)


def test_two_tokens_in_one_url_are_refused(server: Server, serve_store) -> None:
    a = serve_store.patients[0]
    one, two = server.token(a), server.token(a)
    assert server.request(f"/dashboard?token={one}&token={two}").status == 403


def test_expired_link_is_403_and_its_session_too(server: Server, serve_store) -> None:
    a = serve_store.patients[1]
    with CaseStore(serve_store.url, actor="test") as store:
        token, grant = issue_token(
            store, a, days=1, now=datetime.now(UTC) - timedelta(days=1, seconds=1)
        )
        session = open_session(store, grant)  # a session that outlived its link
    assert grant.expires_at < datetime.now(UTC)
    res = server.request(f"/dashboard?token={token}")
    assert res.status == 403 and "expired" in res.body
    res = server.request("/dashboard", cookie=session)
    assert res.status == 403 and "expired" in res.body
    again = _reload_after(server, res)
    assert again.status == 403 and "This link has expired" in again.body
    assert any(
        c.startswith('casebook_session=""') or "Max-Age=0" in c or "expires=" in c
        for c in res.cookies
    ), res.cookies


def test_revoke_ends_links_and_open_sessions_at_once(server: Server, serve_store) -> None:
    a = serve_store.patients[2]
    first, second = server.token(a), server.token(a)
    sessions = [server.open(first), server.open(first), server.open(second)]  # open pages
    assert len(set(sessions)) == 3
    assert server.request("/dashboard", cookie=sessions[0]).status == 200
    with CaseStore(serve_store.url, actor="test") as store:
        assert revoke(store, a) >= 2
    for session in sessions:
        res = server.request("/dashboard", cookie=session)
        assert res.status == 403 and "no longer valid" in res.body
    # Reloaded again, with the cookies the refusal left: it still says why, in plain words.
    again = _reload_after(server, res)
    assert again.status == 403 and "no longer valid" in again.body
    for token in (first, second):
        assert server.request(f"/dashboard?token={token}").status == 403
    fresh = server.token(a)  # a new link after a revoke works
    assert server.request(f"/dashboard?token={fresh}").status == 200


def test_deleted_patient_link_is_refused(server: Server, serve_store) -> None:
    with CaseStore(serve_store.url, actor="test") as store:
        from casebook.models import Patient

        store.add_patient(
            Patient(id="gone-0001", name="Gone Person", birth_date=datetime(1990, 1, 1).date())
        )
    session = server.session("gone-0001")
    with CaseStore(serve_store.url, actor="test") as store:
        store.delete_patient("gone-0001", store.get_patient("gone-0001").version)
    assert server.request("/dashboard", cookie=session).status == 403


def test_a_flood_on_one_link_is_throttled(server: Server, serve_store) -> None:
    token = server.token(serve_store.patients[3])
    codes = [server.request(f"/dashboard?token={token}").status for _ in range(30)]  # burst 20
    assert codes[0] == 200
    assert 429 in codes, codes
    first = codes.index(429)
    assert all(c == 429 for c in codes[first:]), codes
    res = server.request(f"/dashboard?token={token}")
    assert res.status == 429
    assert int(res.header("Retry-After") or "0") >= 1
    assert "wait" in res.body
    # Other links are not affected.
    assert server.request(f"/dashboard?token={server.token(serve_store.patients[3])}").status == 200


def test_uses_are_audited_and_the_token_is_never_stored(server: Server, serve_store) -> None:
    a = serve_store.patients[0]
    token = server.token(a)
    link = hash_token(token)[:12]
    session = server.open(token)
    assert server.request("/dashboard", cookie=session).status == 200
    with CaseStore(serve_store.url, actor="test") as store:
        access = [e for e in store.audit_log(a) if e.entity == "access" and e.entity_id == link]
        assert [e.action for e in access] == ["grant", "open", "view"]
        assert access[1].after == {"link": link, "via": "link"}
        assert access[2].after == {"link": link, "via": "session"}
        assert access[2].actor == "casebook serve"
        with store.engine.connect() as conn:
            stored = (
                conn.execute(
                    sa.select(t.access_tokens.c.token_hash).where(t.access_tokens.c.patient_id == a)
                )
                .scalars()
                .all()
            )
            dump = "\n".join(str(r) for r in conn.execute(sa.select(t.audit_log)).all())
            sessions = conn.execute(sa.select(t.access_sessions)).all()
    assert hash_token(token) in stored
    # The store keeps only the session id's hash, bound to the link it came from.
    assert (hash_token(session), hash_token(token)) in [
        (r.session_hash, r.token_hash) for r in sessions
    ]
    assert session not in "\n".join(str(r) for r in sessions) and session not in dump
    assert token not in "".join(stored) and token not in dump
    assert token not in server.log(), "a token reached the server log"
