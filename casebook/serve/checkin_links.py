"""Sending check-ins: a check-in is stored with a new patient link that ends when it does.

    url, checkin = send_checkin(store, "demo-0001", ["phq9", "gad7"], days=7)
    rows = due_checkins(store, date(2026, 12, 14), ["phq9", "symptoms"])   # one per patient

The link is `<base>/checkin?token=<token>`: opening it (a GET, as a mail scanner does) opens
a session and shows the form; it never uses the check-in up. The same link also opens the
patient's dashboard, which says a check-in is ready.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from casebook.checkins import check_instruments, upcoming_visits
from casebook.errors import InputError
from casebook.serve.tokens import (
    DEFAULT_BASE_URL,
    MAX_DAYS,
    check_base_url,
    check_days,
    hash_token,
)
from casebook.store import CaseStore
from casebook.store.access import add_link
from casebook.store.checkins import StoredCheckin, add_checkin

__all__ = ["CHECKIN_PATH", "DueRow", "due_checkins", "due_frame", "send_checkin"]

CHECKIN_PATH = "/checkin"


@dataclass(frozen=True)
class DueRow:
    patient_id: str
    name: str
    visit_date: date
    link: str
    expires_at: datetime


def send_checkin(
    store: CaseStore,
    patient_id: str,
    instruments: Sequence[str],
    *,
    due: date | None = None,
    days: int = 7,
    base_url: str = DEFAULT_BASE_URL,
    now: datetime | None = None,
) -> tuple[str, StoredCheckin]:
    """Store a check-in of `instruments` for a live patient, with a new link valid for
    `days` (or until the end of the day `due`, when given); (link URL, check-in).
    A bad base URL or instrument is refused before anything is stored."""
    base = check_base_url(base_url)
    chosen = check_instruments(store.catalog, instruments)
    now = now or datetime.now(UTC)
    expires = now + timedelta(days=check_days(days))
    if due is not None:  # open until the end of that day (UTC)
        expires = datetime.combine(due, datetime.max.time(), UTC).replace(microsecond=0)
        if not now < expires <= now + timedelta(days=MAX_DAYS):
            raise InputError(f"due: {due} must be from today to {MAX_DAYS} days ahead")
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    with store.transaction() as tx:  # the link and its check-in, or neither
        add_link(tx, patient_id, digest, digest[:12], created_at=now, expires_at=expires)
        checkin = add_checkin(
            tx, patient_id, digest, chosen, due_on=due, created_at=now, expires_at=expires
        )
    return f"{base}{CHECKIN_PATH}?token={token}", checkin


def due_checkins(
    store: CaseStore,
    visit_before: date,
    instruments: Sequence[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    today: date | None = None,
) -> list[DueRow]:
    """A check-in for every live patient with a visit from today up to `visit_before`
    who has no open check-in yet, due on that visit's day."""
    check_base_url(base_url)
    check_instruments(store.catalog, instruments)
    now = datetime.now(UTC)
    today = today or now.date()
    names = {p.id: p.name for p in store.patients()}
    out = []
    for patient_id, visit_date in upcoming_visits(store, visit_before, today=today):
        waiting = store.checkins(patient_id, status="sent")
        if any(c.closed_reason(now) is None for c in waiting):
            continue
        link, checkin = send_checkin(
            store, patient_id, instruments, due=visit_date, base_url=base_url, now=now
        )
        out.append(DueRow(patient_id, names[patient_id], visit_date, link, checkin.expires_at))
    return out


def due_frame(rows: Sequence[DueRow]) -> pd.DataFrame:
    """The rows as a table for a mail merge (write it with `interop.csv_write.frame_to_csv`)."""
    return pd.DataFrame(
        {
            "patient_id": [r.patient_id for r in rows],
            "name": [r.name for r in rows],
            "visit_date": [r.visit_date.isoformat() for r in rows],
            "link": [r.link for r in rows],
            "expires": [r.expires_at.strftime("%Y-%m-%d %H:%M UTC") for r in rows],
        },
        columns=["patient_id", "name", "visit_date", "link", "expires"],
    )
