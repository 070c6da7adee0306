"""De-identify a clinic export for sharing with researchers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

from casebook.errors import ClinicError

__all__ = ["DEIDENTIFICATION_NOTE", "deidentify"]

DEIDENTIFICATION_NOTE = (
    "De-identification removes names and free-text columns, replaces each patient id by a "
    "pseudonym (an HMAC of the id under a key made for this export and not saved with it), "
    "and puts the rows in the order of the pseudonyms, not of the real ids. It then keeps a "
    "minimum group size k (5, or --min-patients): every number is coarsened to a band (its "
    "lower bound: 5 points for scores and their changes, 30 days for a number of days), "
    "dates are left out (a number of days in care keeps the interval), and a row whose "
    "combination of banded numbers, yes/no and text values is shared by fewer than k "
    "patients' rows is suppressed (left out; the table and JSON formats say how many). "
    "It does not make the data anonymous: someone who knows that a patient is in the "
    "export, and their scores, can narrow them to a group of k; free text left in other "
    "columns is not checked; a small clinic's export keeps few rows (share the group "
    "tables instead); and the same key used for two exports links them. Share it only "
    "under a data-sharing agreement, and keep the minimum group size for any figure "
    "derived from it."
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


def _banded(series: pd.Series, width: int) -> pd.Series:
    """Each number as the lower bound of its band of `width` (-19 -> -20), an integer."""
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return pd.Series(np.floor(values / width) * width, index=series.index).astype("Int64")


def _k_anonymous(
    out: pd.DataFrame, id_column: str, dates: list[str], min_group: int
) -> pd.DataFrame:
    """`out` without its date columns, numbers banded, and only the rows whose values (all
    but the pseudonym) are shared by at least `min_group` rows; attrs["suppressed"] counts
    the rows left out."""
    out = out.drop(columns=dates)
    for col in out.columns:
        series = out[col]
        if col == id_column or pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            out[col] = _banded(series, 30 if str(col).endswith("_days") else 5)
    quasi = [c for c in out.columns if c != id_column]
    if not quasi:
        return out
    values = out[quasi].astype(object).where(out[quasi].notna(), None)
    keys = pd.Series([tuple(map(str, row)) for row in values.itertuples(index=False)])
    sizes = keys.map(keys.value_counts())
    kept = out[sizes >= min_group].reset_index(drop=True)
    kept.attrs["suppressed"] = int((sizes < min_group).sum())
    return kept


def deidentify(
    df: pd.DataFrame,
    *,
    key: bytes | str | None = None,
    id_column: str = "patient_id",
    drop: Iterable[str] = _DROP,
    max_shift_days: int = 365,
    min_group: int | None = 5,
) -> pd.DataFrame:
    """A copy of `df` without names or free text, ids pseudonymised, rows in pseudonym order,
    and (with `min_group`, k) no row that fewer than k rows share (`DEIDENTIFICATION_NOTE`).

    `key` (16 bytes or more) makes pseudonyms and shifts repeatable; without it a random
    key is made for this export only. With `min_group=None` nothing is banded or suppressed
    and every date column (datetime64 or `date` values) is kept, shifted by the patient's
    own offset of 1 to `max_shift_days` days, earlier or later.
    """
    if min_group is not None and (
        isinstance(min_group, bool) or not isinstance(min_group, int) or min_group < 1
    ):
        raise ClinicError(f"min_group: must be a whole number of at least 1 (got {min_group!r})")
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
    # the pseudonyms' order, not the real ids': a patient's own rows keep theirs
    out = out.iloc[np.lexsort((np.arange(len(out)), out[id_column].to_numpy()))]
    out = out.reset_index(drop=True)
    if min_group is not None:
        out = _k_anonymous(out, id_column, dates, min_group)
    out.attrs["deidentified"] = DEIDENTIFICATION_NOTE
    return out
