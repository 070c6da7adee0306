"""The parameters of a casebook template, checked before Papermill sees them; safe paths.

Papermill itself pastes parameter names into code unchecked, quotes unusual values
without escaping, and fills output paths with `str.format` over the parameters. So:

- `check_parameters` lets through only identifier names and str/int/float/bool values,
  and refuses a URL that carries a password;
- `public_database_url` is the URL a kernel connects with: the password removed (the
  kernel gets it from its environment: `PGPASSWORD` or `~/.pgpass`), SQLite paths made
  absolute. For messages, use `casebook.store.redact_url`;
- `case_parameters` and `clinic_parameters` are what the templates take (the clinic
  notebook's date range and case-workbook folder checked here, so the batch plans it
  without the clinic package);
- `output_path` builds `root/<patient_id>/<name>` (or `root/<name>`) from validated parts
  and refuses any path that would leave `root`.
"""

from __future__ import annotations

import keyword
import math
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from casebook.errors import CasebookError
from casebook.ids import PATIENT_ID_RE

__all__ = [
    "NAME_RE_TEXT",
    "ParameterError",
    "ParameterValue",
    "case_parameters",
    "check_parameters",
    "clinic_parameters",
    "has_password",
    "kernel_env",
    "output_path",
    "parse_day",
    "public_database_url",
    "relative_folder",
]

ParameterValue = str | int | float | bool
"""The only value types passed to a template."""

NAME_RE_TEXT = "letters, digits, '.', '-' or '_', not starting with '.'"
_SECRET_QUERY_KEYS = ("password", "sslpassword")


class ParameterError(CasebookError, ValueError):
    """A parameter (or an id, a path part) that may not reach Papermill; `.name` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


# --- parameters -----------------------------------------------------------------------
def check_parameters(params: Mapping[str, object]) -> dict[str, ParameterValue]:
    """`params` as a new dict, or `ParameterError` naming the first bad name or value."""
    checked: dict[str, ParameterValue] = {}
    for name, value in params.items():
        _check_name(name)
        checked[name] = _check_value(name, value)
    if "patient_id" in checked:
        _check_patient_id(checked["patient_id"])
    return checked


def _check_name(name: object) -> None:
    shown = repr(name)[:80]
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise ParameterError(shown, "a parameter name must be an ASCII Python identifier")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ParameterError(name, "a parameter name may not be a Python keyword")
    if name.startswith("__") and name.endswith("__"):
        raise ParameterError(name, "a parameter name may not be a dunder name")


def _check_value(name: str, value: object) -> ParameterValue:
    if isinstance(value, bool | int | str):
        pass
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(name, "must be a finite number")
    else:
        raise ParameterError(
            name, f"must be a str, int, float or bool (got {type(value).__name__})"
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise ParameterError(name, "may not contain a NUL character")
        if has_password(value):
            raise ParameterError(
                name,
                "holds a URL with a password; pass public_database_url(url) and give the "
                "kernel the password through its environment (PGPASSWORD or ~/.pgpass)",
            )
    return value


def has_password(value: str) -> bool:
    """True when `value` is a URL that carries a password (in its netloc or query)."""
    if "://" not in value:
        return False
    try:
        parts = urlsplit(value.strip())
        if parts.password:
            return True
    except ValueError:
        return False
    query = parts.query.lower()
    return any(f"{key}=" in query for key in _SECRET_QUERY_KEYS)


def _check_patient_id(value: object) -> str:
    if not isinstance(value, str) or not PATIENT_ID_RE.fullmatch(value):
        raise ParameterError(
            "patient_id",
            "must be 1-64 letters, digits, '-' or '_'",
        )
    return value


def public_database_url(url: str) -> str:
    """`url` with any password removed (not masked); SQLite file paths made absolute."""
    if not isinstance(url, str) or not url.strip():
        raise ParameterError("database_url", "must be a non-empty database URL")
    from casebook.store.peek import fast_sqlite_url

    plain = fast_sqlite_url(url)  # sqlite:///FILE, the common case: no SQLAlchemy import
    if plain is not None:
        return plain[0]
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):  # a bad scheme; a bad port or IPv6 host
        raise ParameterError("database_url", "is not a database URL") from None
    parsed = parsed._replace(password=None).difference_update_query(_SECRET_QUERY_KEYS)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            parsed = parsed.set(database=os.path.abspath(os.path.expanduser(db)))
    return parsed.render_as_string(hide_password=False)


def case_parameters(patient_id: str, database_url: str) -> dict[str, str]:
    """The parameters every casebook template takes, checked, with no password."""
    params = {"patient_id": patient_id, "database_url": public_database_url(database_url)}
    check_parameters(params)
    return params


def parse_day(name: str, text: str | date | None) -> date | None:
    """A `YYYY-MM-DD` parameter as a date; empty means none. `ParameterError` names `name`."""
    if text is None or text == "":
        return None
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ParameterError(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def relative_folder(name: str, value: str) -> PurePosixPath:
    """A folder given relative to a notebook (never absolute, no drive, no backslash)."""
    path = PurePosixPath(value or ".")
    if path.is_absolute() or ":" in value or "\\" in value:
        raise ParameterError(
            name, f"must be a folder relative to the clinic notebook (got {value!r})"
        )
    return path


def clinic_parameters(
    database_url: str,
    *,
    date_from: str = "",
    date_to: str = "",
    practitioner: str = "",
    notebooks_dir: str = ".",
) -> dict[str, str]:
    """The parameters `templates/clinic.ipynb` takes, checked, with no password."""
    parse_day("date_from", date_from)
    parse_day("date_to", date_to)
    relative_folder("notebooks_dir", notebooks_dir)
    params = {
        "database_url": public_database_url(database_url),
        "date_from": date_from,
        "date_to": date_to,
        "practitioner": practitioner,
        "notebooks_dir": notebooks_dir,
    }
    check_parameters(params)
    return params


# --- paths ----------------------------------------------------------------------------
def output_path(root: Path, patient_id: str | None, name: str) -> Path:
    """`root/<patient_id>/<name>` (`root/<name>` for None: the clinic notebook), refusing any
    id, name or symlink that would leave `root`."""
    if patient_id is not None:
        _check_patient_id(patient_id)
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or not all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    ):
        raise ParameterError("name", f"a notebook file name must be {NAME_RE_TEXT} (got {name!r})")
    base = Path(root).resolve()
    path = base / name if patient_id is None else base / patient_id / name
    if not path.resolve().is_relative_to(base):
        whose = "name" if patient_id is None else "patient_id"
        shown = path.relative_to(base) if patient_id is None else Path(patient_id)
        raise ParameterError(whose, f"{shown} resolves outside {base} (a symlink?)")
    return path


def kernel_env(url: str) -> dict[str, str]:
    """What a kernel's environment needs beside `public_database_url(url)`: `PGPASSWORD`
    when `url` carries a password (given to the kernel manager, never to a notebook)."""
    from sqlalchemy.engine import make_url

    password = make_url(url).password
    return {"PGPASSWORD": str(password)} if password else {}
