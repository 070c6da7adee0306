"""Making a clinic's hub folder and adding its users (`casebook hub init`, `add-user`)."""

from __future__ import annotations

import os
from pathlib import Path

from casebook.errors import InputError
from casebook.hub.settings import (
    CONFIG_FILE,
    HubSettings,
    load_settings,
    write_credential,
    write_settings,
)

__all__ = ["add_hub_user", "init_hub"]

_CONFIG = """\
# JupyterHub configuration for a casebook clinic, written by `casebook hub init`.
# The settings are in hub.toml beside this file; what they mean is in casebook.hub.config.
from casebook.hub import configure

configure(c, {folder!r})  # noqa: F821  (JupyterHub defines `c`)
"""


def init_hub(folder: Path, settings: HubSettings, *, admin_url: str | None = None) -> Path:
    """Write `hub.toml` and `jupyterhub_config.py` into `folder` (made private to this
    user). With `admin_url` (the PostgreSQL store's owner or an admin), also give the
    dashboard service its own database login. Refuses a folder that already has a hub."""
    if (folder / CONFIG_FILE).exists():
        raise InputError(f"{folder}: already holds a hub (its settings are in hub.toml)")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    write_settings(folder, settings)
    config = folder / CONFIG_FILE
    config.write_text(_CONFIG.format(folder=str(folder.resolve())), encoding="utf-8")
    if admin_url is not None:
        _add_login(folder, admin_url, settings.dashboard_login, "practitioner")
    return config


def add_hub_user(folder: Path, admin_url: str, name: str, role: str) -> str:
    """Create `name`'s database login as `role` and keep its URL for the hub to hand over;
    returns the login's URL without its password (for the caller to print)."""
    settings = load_settings(folder)  # a hub must be here
    if name == settings.dashboard_login:
        raise InputError(f"user name: {name!r} is the dashboard service's own login")
    return _add_login(folder, admin_url, name, role)


def _add_login(folder: Path, admin_url: str, name: str, role: str) -> str:
    import sqlalchemy as sa

    from casebook.store import CaseStore
    from casebook.store.role_kinds import Role
    from casebook.store.users import add_user

    try:
        kind = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InputError(f"--role: one of {choices} (got {role!r})") from None
    with CaseStore(admin_url, actor=name) as store:
        password = add_user(store, name, kind)
    url = sa.make_url(admin_url).set(username=name, password=password)
    write_credential(folder, name, url.render_as_string(hide_password=False))
    return url.render_as_string(hide_password=True)
