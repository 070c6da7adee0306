"""A clinic's hub folder: `hub.toml` (what `casebook hub init` chose) and the credentials
the hub hands to each practitioner's server.

The folder is the hub's alone (mode 0700): the hub process reads each practitioner's
database URL, password included, from `credentials/NAME.url` (mode 0600) when it starts
that practitioner's server, and puts it in the server's environment. Nobody types a
password into a notebook, and a practitioner's server holds only its own.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casebook.errors import InputError

__all__ = [
    "CONFIG_FILE",
    "SETTINGS_FILE",
    "Authenticator",
    "HubSettings",
    "Spawner",
    "credential_path",
    "load_settings",
    "practitioners",
    "read_credential",
    "write_credential",
    "write_settings",
]

SETTINGS_FILE = "hub.toml"
CONFIG_FILE = "jupyterhub_config.py"
_CREDENTIALS = "credentials"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

Authenticator = Literal["pam", "native", "dummy"]
"""pam: the server's own accounts (each practitioner a system user, as The Littlest
JupyterHub does); native: accounts the hub keeps (sign-up, approved by an admin);
dummy: any password is accepted (tests and trying it out only)."""
Spawner = Literal["local", "simple"]
"""local: each server runs as its practitioner's system user (the hub runs as root);
simple: every server runs as the hub's own user (tests and trying it out only)."""


class HubSettings(BaseModel):
    """What `casebook hub init` wrote; the config file reads it on every hub start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ip: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = ""  # https://clinic.example.org when behind a TLS proxy
    authenticator: Authenticator = "pam"
    spawner: Spawner = "local"
    dashboard_port: int = Field(8866, ge=1, le=65535)
    dashboard_login: str = Field("casebook_dashboard", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    admin_users: tuple[str, ...] = ()  # hub admins (they manage the hub, not the record)


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError("user name: lower-case letters, digits and '_', starting with a letter")
    return name


def load_settings(folder: Path) -> HubSettings:
    path = folder / SETTINGS_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no hub here (run `casebook hub init` first)") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    try:
        return HubSettings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: {field}: {first['msg']}") from None


def write_settings(folder: Path, settings: HubSettings) -> Path:
    """Write `hub.toml` (strings as JSON strings, which TOML reads the same)."""
    lines = ["# casebook hub settings: `casebook hub init` wrote this; edit and restart.\n"]
    for key, value in settings.model_dump().items():
        if isinstance(value, tuple | list):
            rendered = "[" + ", ".join(json.dumps(v) for v in value) + "]"
        elif isinstance(value, str):
            rendered = json.dumps(value)
        else:
            rendered = str(value)
        lines.append(f"{key} = {rendered}\n")
    path = folder / SETTINGS_FILE
    _write_private(path, "".join(lines))
    return path


def credential_path(folder: Path, name: str) -> Path:
    return folder / _CREDENTIALS / f"{_check_name(name)}.url"


def write_credential(folder: Path, name: str, url: str) -> Path:
    """Keep `name`'s database URL (with its password) where only the hub can read it."""
    path = credential_path(folder, name)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path.parent, 0o700)
    _write_private(path, url + "\n")
    return path


def read_credential(folder: Path, name: str) -> str | None:
    try:
        return credential_path(folder, name).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def practitioners(folder: Path) -> list[str]:
    """Every user the hub holds a database login for (they alone may sign in)."""
    found = (folder / _CREDENTIALS).glob("*.url")
    return sorted(p.stem for p in found if _NAME.match(p.stem))


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner alone, replacing it whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
