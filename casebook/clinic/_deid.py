"""De-identify a clinic export for sharing with researchers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import date

import pandas as pd

from casebook.errors import ClinicError

__all__ = ["DEIDENTIFICATION_NOTE", "deidentify"]

DEIDENTIFICATION_NOTE = (
    "De-identification removes names and free-text columns, replaces each patient id by a "
    "pseudonym (an HMAC of the id under a key made for this export and not saved with it), "
    "and shifts every date of a patient by the same random number of days (up to a year "
    "either way), so intervals within a patient are kept. It does not make the data "
    "anonymous: a rare combination of plan, scores and time in care can still single a "
    "patient out to someone who knows them; free text left in other columns is not "
    "checked; small groups can reveal individuals; and the same key used for two exports "
    "links them. Share it only under a data-sharing agreement, and keep the minimum group "
    "size for any figure derived from it."
)
_DROP = ("name", "patient_name", "detail", "ref")


def _key(key: bytes | str | None) -> bytes:
    if key is None:
        return secrets.token_bytes(32)
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or len(key) < 16:
        raise ClinicError("key: must be at least 16 bytes (or omit it for a random key)")
    return key


def _digest(key: bytes, label: bytes, value: str) -> bytes:
    return hmac.new(key, label + b"\0" + value.encode("utf-8"), hashlib.sha256).digest()


def _date_columns(df: pd.DataFrame) -> list[str]:
    cols = []
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            cols.append(col)
        elif s.dtype == object:
            present = s.dropna()
            if len(present) and all(isinstance(x, date) for x in present):
                cols.append(col)
    return cols


def deidentify(
    df: pd.DataFrame,
    *,
    key: bytes | str | None = None,
    id_column: str = "patient_id",
    drop: Iterable[str] = _DROP,
    max_shift_days: int = 365,
) -> pd.DataFrame:
    """A copy of `df` without names or free text, ids pseudonymised, dates shifted per patient.

    `key` (16 bytes or more) makes pseudonyms and shifts repeatable; without it a random
    key is made for this export only. Every date column (datetime64 or `date` values) is
    shifted by the patient's own offset of 1 to `max_shift_days` days, earlier or later.
    """
    if (
        isinstance(max_shift_days, bool)
        or not isinstance(max_shift_days, int)
        or max_shift_days < 1
    ):
        raise ClinicError(
            f"max_shift_days: must be a whole number of at least 1 (got {max_shift_days!r})"
        )
    secret = _key(key)
    out = df.drop(columns=[c for c in drop if c in df.columns])
    dates = _date_columns(out)
    if id_column not in out.columns:
        if dates:
            raise ClinicError(
                f"{id_column}: needed to shift the dates of each patient "
                f"(date columns: {', '.join(dates)})"
            )
        out.attrs["deidentified"] = DEIDENTIFICATION_NOTE
        return out
    ids = out[id_column].astype(str)
    unique = ids.unique()
    pseudonyms, shifts = {}, {}
    for pid in unique:
        pseudonyms[pid] = "p-" + _digest(secret, b"id", pid).hex()[:16]
        raw = int.from_bytes(_digest(secret, b"shift", pid)[:8], "big")
        days = 1 + (raw >> 1) % max_shift_days
        shifts[pid] = days if raw & 1 else -days
    offset = pd.to_timedelta(ids.map(shifts), unit="D")
    for col in dates:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col] + offset
        else:
            shifted = pd.to_datetime(out[col]) + offset
            out[col] = shifted.dt.date.where(shifted.notna(), None)
    out[id_column] = ids.map(pseudonyms)
    out.attrs["deidentified"] = DEIDENTIFICATION_NOTE
    return out
