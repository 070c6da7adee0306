"""Clinic settings for the letterhead: a small TOML file kept next to the database.

Where it is read from, first found wins: the path given, then `$CASEBOOK_CLINIC`, then
`clinic.toml` next to a SQLite database file. When there is none, letters still print,
with a letterhead that says plainly that the clinic settings are not configured; no clinic
is ever invented. A file that is given but missing or wrong is an error, never a fallback.

    # clinic.toml
    name = "Example Digestive Health Clinic"
    address = ["1 Example Street", "Exampletown EX1 1EX"]
    phone = "000 0000 0000"
    email = "clinic@example.org"          # optional
    practitioner = "A. Example"
    credentials = "ND, MSc Nutrition"     # optional
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from casebook.errors import CasebookError

__all__ = [
    "CLINIC_ENV_VAR",
    "ClinicSettings",
    "LetterError",
    "Line",
    "Optional",
    "clinic_settings_help",
    "load_clinic_settings",
]

CLINIC_ENV_VAR = "CASEBOOK_CLINIC"
_FILE_NAME = "clinic.toml"

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Optional = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class LetterError(CasebookError, ValueError):
    """A letter that cannot be made as asked (bad settings, unknown flag or note, no PDF
    library); the message names the field in one line."""


class ClinicSettings(BaseModel):
    """The letterhead and the signature. `configured` is False for the built-in default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Line = Field(description="The clinic's name, as printed at the top of every letter")
    address: tuple[Line, ...] = Field(default=(), max_length=6, description="Address lines")
    phone: Optional = ""
    email: Optional = ""
    practitioner: Line = Field(description="Who signs the letters")
    credentials: Optional = Field(default="", description="Printed after the practitioner's name")
    configured: bool = Field(True, exclude=True, description="False: the default letterhead")

    @classmethod
    def unconfigured(cls) -> ClinicSettings:
        return cls(
            name="Clinic settings not configured", practitioner="The practitioner", configured=False
        )


def _sqlite_file(database_url: str | None) -> Path | None:
    if not database_url:
        return None
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _one_line(path: Path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or "(file)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"clinic settings {path}: field {field!r}: {err['msg']}{more}"


def load_clinic_settings(
    path: str | os.PathLike[str] | None = None, *, database_url: str | None = None
) -> ClinicSettings:
    """The clinic's settings, or `ClinicSettings.unconfigured()` when no file is set up."""
    chosen: Path | None = None
    if path is not None:
        chosen = Path(path)
    elif os.environ.get(CLINIC_ENV_VAR):
        chosen = Path(os.environ[CLINIC_ENV_VAR])
    else:
        db = _sqlite_file(database_url)
        if db is None or not (db.parent / _FILE_NAME).is_file():
            return ClinicSettings.unconfigured()
        chosen = db.parent / _FILE_NAME
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LetterError(f"clinic settings {chosen}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LetterError(
            f"clinic settings {chosen}: cannot be read ({exc.__class__.__name__})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise LetterError(f"clinic settings {chosen}: not valid TOML: {exc}") from None
    if "configured" in data:
        raise LetterError(f"clinic settings {chosen}: field 'configured': is not a setting")
    try:
        return ClinicSettings.model_validate(data)
    except ValidationError as exc:
        raise LetterError(_one_line(chosen, exc)) from None


_EXAMPLE = """\
    name = "Example Digestive Health Clinic"
    address = ["1 Example Street", "Exampletown EX1 1EX"]
    phone = "000 0000 0000"
    email = "clinic@example.org"          # optional
    practitioner = "A. Example"
    credentials = "ND, MSc Nutrition"     # optional"""


def clinic_settings_help(database_url: str | None) -> str:
    """Where the letterhead is read from for this store, and how to write the file
    (`casebook init` prints it)."""
    if os.environ.get(CLINIC_ENV_VAR):
        where = f"${CLINIC_ENV_VAR} = {os.environ[CLINIC_ENV_VAR]}"
    else:
        db = _sqlite_file(database_url)
        where = (
            str((db.parent / _FILE_NAME).resolve())
            if db is not None
            else f"the file named by ${CLINIC_ENV_VAR} (this store is not a SQLite file)"
        )
    try:
        found = load_clinic_settings(database_url=database_url)
        state = (
            "found: letters are signed by " + found.practitioner
            if found.configured
            else "not there yet: letters say 'Clinic settings not configured'"
        )
    except LetterError as exc:
        state = f"cannot be used: {exc}"
    return f"clinic settings for letters: {where} ({state})\n  write it as TOML, e.g.:\n{_EXAMPLE}"
