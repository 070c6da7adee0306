"""Patient links: random tokens, stored as hashes, expiring, revocable, audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from casebook.errors import InputError
from casebook.models import Case
from casebook.serve import AccessRefused, check_token, grant, link_url, revoke
from casebook.serve.tokens import (
    MAX_DAYS,
    check_session,
    hash_token,
    issue_token,
    open_session,
    record_use,
)
from casebook.store import CaseStore, NotFoundError, import_cases
from casebook.store import tables as t


@pytest.fixture
def store(store: CaseStore, demo_cases: list[Case]) -> CaseStore:
    """Two patients, on SQLite and (when configured) on PostgreSQL."""
    import_cases(store, demo_cases[:2])
    return store


def _token(url: str) -> str:
    match = re.fullmatch(r"http://127\.0\.0\.1:8866/dashboard\?token=([A-Za-z0-9_-]{43})", url)
    assert match, url
    return match.group(1)


def _rows(store: CaseStore) -> list[sa.Row]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(t.access_tokens)).all())


def test_grant_stores_only_the_hash_and_audits(store: CaseStore, demo_cases) -> None:
    pid = demo_cases[0].patient.id
    token = _token(grant(store, pid))
    (row,) = _rows(store)
    assert row.token_hash == hash_token(token) and len(row.token_hash) == 64
    assert token not in str(tuple(row))
    expires = row.expires_at.replace(tzinfo=UTC)
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    (entry,) = [e for e in store.audit_log(pid) if e.entity == "access"]
    assert (entry.action, entry.entity_id, entry.actor) == ("grant", row.token_hash[:12], "tester")
    assert token not in str(entry.after)


def test_each_grant_is_a_new_random_token(store: CaseStore, demo_cases) -> None:
    pid = demo_cases[0].patient.id
    tokens = {_token(grant(store, pid)) for _ in range(20)}
    assert len(tokens) == 20


def test_check_token_maps_to_exactly_its_patient(store: CaseStore, demo_cases) -> None:
    a, b = (c.patient.id for c in demo_cases[:2])
    token_a, token_b = _token(grant(store, a)), _token(grant(store, b, 7))
    assert check_token(store, token_a).patient_id == a
    assert check_token(store, token_b).patient_id == b
    assert check_token(store, token_b).link_id == hash_token(token_b)[:12]


@pytest.mark.parametrize("token", ["", "x" * 43, "short", "a" * 44, "é" * 43, None, 42])
def test_unknown_or_malformed_tokens_are_refused(store: CaseStore, token: object) -> None:
    with pytest.raises(AccessRefused) as info:
        check_token(store, token)  # type: ignore[arg-type]
    assert info.value.reason == "unknown" and info.value.patient_id is None


def test_expired_token_is_refused_with_its_patient(store: CaseStore, demo_cases) -> None:
    pid = demo_cases[0].patient.id
    token, grant_ = issue_token(store, pid, days=1)
    assert check_token(store, token, now=grant_.expires_at - timedelta(seconds=1))
    with pytest.raises(AccessRefused) as info:
        check_token(store, token, now=grant_.expires_at)
    assert (info.value.reason, info.value.patient_id) == ("expired", pid)


def test_revoke_ends_every_link_of_one_patient_only(store: CaseStore, demo_cases) -> None:
    a, b = (c.patient.id for c in demo_cases[:2])
    mine = [_token(grant(store, a)) for _ in range(3)]
    theirs = _token(grant(store, b))
    assert revoke(store, a) == 3
    for token in mine:
        with pytest.raises(AccessRefused) as info:
            check_token(store, token)
        assert info.value.reason == "revoked"
    assert check_token(store, theirs).patient_id == b
    assert revoke(store, a) == 0  # nothing left to end
    revokes = [e for e in store.audit_log(a) if e.action == "revoke"]
    assert [e.after for e in revokes] == [{"links": 3}, {"links": 0}]


def test_a_deleted_patients_links_stop_working(store: CaseStore, demo_cases) -> None:
    pid = demo_cases[1].patient.id
    token = _token(grant(store, pid))
    store.delete_patient(pid, store.get_patient(pid).version)
    with pytest.raises(AccessRefused) as info:
        check_token(store, token)
    assert info.value.reason == "revoked"
    with pytest.raises(NotFoundError):
        grant(store, pid)


def test_unknown_patient_is_a_clear_error(store: CaseStore) -> None:
    with pytest.raises(NotFoundError, match="no patient 'nobody'"):
        grant(store, "nobody")
    with pytest.raises(NotFoundError, match="no patient 'nobody'"):
        revoke(store, "nobody")
    assert _rows(store) == []


@pytest.mark.parametrize("days", [0, -1, MAX_DAYS + 1, 1.5, "7", True, None])
def test_days_out_of_range_name_the_field(store: CaseStore, demo_cases, days: object) -> None:
    with pytest.raises(ValueError, match=r"^days: a link lasts 1 to 365 whole days"):
        grant(store, demo_cases[0].patient.id, days)  # type: ignore[arg-type]
    assert _rows(store) == []


def test_record_use_writes_an_access_audit_entry(store: CaseStore, demo_cases) -> None:
    pid = demo_cases[0].patient.id
    record_use(store, pid, "abc123abc123", "view", {"via": "session"})
    entry = store.audit_log(pid)[-1]
    assert (entry.entity, entry.entity_id, entry.action) == ("access", "abc123abc123", "view")
    assert entry.after == {"link": "abc123abc123", "via": "session"}


def test_link_url_joins_base_and_token() -> None:
    assert (
        link_url("http://clinic.local:8866/", "T") == "http://clinic.local:8866/dashboard?token=T"
    )


def test_a_session_opens_what_its_link_opens_until_revoked(store: CaseStore, demo_cases) -> None:
    pid = demo_cases[0].patient.id
    token, link = issue_token(store, pid, days=2)
    session = open_session(store, link)
    assert session != token and token not in session
    assert check_session(store, session).patient_id == pid
    with pytest.raises(AccessRefused):
        check_session(store, token)  # a link's token is not a session id
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t.access_sessions)).all()
    assert [(r.session_hash, r.token_hash) for r in rows] == [
        (hash_token(session), link.token_hash)
    ]
    revoke(store, pid)
    with pytest.raises(AccessRefused) as info:
        check_session(store, session)
    assert info.value.reason == "revoked"


@pytest.mark.parametrize(
    "base",
    [
        "https://clinic.example.org/x",
        "http://[https://x]:8866",
        "https://a b",
        "ftp://x",
        "https://x?token=1",
    ],
)
def test_grant_refuses_a_bad_base_url_before_storing_a_token(
    store: CaseStore, demo_cases, base: str
) -> None:
    with pytest.raises(InputError, match=r"^public URL: "):
        grant(store, demo_cases[0].patient.id, base_url=base)
    assert _rows(store) == []
