"""`configure(c, folder)`: the whole of a clinic's `jupyterhub_config.py`.

What it sets, and why:
- **People sign in** through a real authenticator (`hub.toml`'s `authenticator`): only the
  users the hub holds a database login for may sign in (`allowed_users`).
- **Each practitioner gets their own JupyterLab** (`/lab`), with the `casebook` kernel, in
  a server whose environment holds *their own* database URL (`CASEBOOK_DB`), read from the
  hub's private folder by `pre_spawn_hook` as the server starts. The database takes the
  audit trail's "who" from that login, so what a notebook claims (`CASEBOOK_USER`,
  `--actor`) cannot change it. A user without a login on the hub's list gets no server.
- **No sharing**: servers are not shared (JupyterHub 5's sharing lets another person run
  code as the owner, under the owner's login); no role here grants the `shares` scope.
- **Patient dashboards** are `casebook serve`, run by the hub as a managed service with its
  own database login, behind the same proxy at `/dashboard` (`Proxy.extra_routes`); its
  links point at the hub's public URL.
- The hub's own state (its SQLite database, cookie secret, proxy token) stays in the folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from casebook.hub.settings import HubSettings, load_settings, practitioners, read_credential

__all__ = ["configure", "installed_command", "proxy_command", "spawn_environment"]

_AUTHENTICATORS = {
    "pam": "jupyterhub.auth.PAMAuthenticator",
    "native": "nativeauthenticator.NativeAuthenticator",
    "dummy": "jupyterhub.auth.DummyAuthenticator",
}
_SPAWNERS = {
    "local": "jupyterhub.spawner.LocalProcessSpawner",
    "simple": "jupyterhub.spawner.SimpleLocalProcessSpawner",
}


def installed_command(name: str) -> str | None:
    """A command installed beside the running Python (a venv's `bin/`, used without
    activating it, as the README's commands do), else on PATH; None if neither."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def proxy_command(folder: Path) -> list[str] | None:
    """configurable-http-proxy: installed into the hub folder (`npm install --prefix`), else
    on PATH; None if neither (the hub then says it cannot start the proxy)."""
    local = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return [str(local)]
    found = shutil.which("configurable-http-proxy")
    return [found] if found else None


def spawn_environment(folder: Path, settings: HubSettings, user: str) -> dict[str, str]:
    """What a practitioner's server gets in its environment: their own database URL (and
    nothing that names anyone else), the links' public address, the casebook kernel."""
    url = read_credential(folder, user)
    if url is None or user == settings.dashboard_login:
        from casebook.errors import InputError

        raise InputError(f"user {user}: the hub holds no database login for them")
    env = {"CASEBOOK_DB": url, "CASEBOOK_HUB": "1"}
    if settings.public_url:
        env["CASEBOOK_PUBLIC_URL"] = settings.public_url
    return env


def configure(c: Any, folder: str | Path) -> None:
    """Fill JupyterHub's config object `c` for the clinic whose hub folder is `folder`."""
    here = Path(folder).resolve()
    settings = load_settings(here)
    users = set(practitioners(here)) - {settings.dashboard_login}

    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = settings.port
    c.JupyterHub.db_url = f"sqlite:///{here / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(here / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(here / "jupyterhub.pid")
    c.JupyterHub.authenticator_class = _AUTHENTICATORS[settings.authenticator]
    c.JupyterHub.spawner_class = _SPAWNERS[settings.spawner]
    c.Authenticator.allowed_users = users
    c.Authenticator.admin_users = set(settings.admin_users)
    c.Authenticator.delete_invalid_users = True  # a disabled login's hub account goes too

    c.Spawner.default_url = "/lab"
    # each server runs from the hub's own environment, activated or not
    c.Spawner.cmd = [installed_command("jupyterhub-singleuser") or "jupyterhub-singleuser"]
    if settings.spawner == "simple" and os.geteuid() == 0:
        # every server runs as the hub's own user; as root, Jupyter refuses without this
        c.Spawner.args = ["--ServerApp.allow_root=True"]
    c.Spawner.env_keep = ["PATH", "PYTHONPATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "VIRTUAL_ENV"]

    def hand_over_login(spawner: Any) -> None:
        from tornado import web

        from casebook.errors import CasebookError

        try:
            env = spawn_environment(here, settings, spawner.user.name)
        except CasebookError as exc:
            raise web.HTTPError(403, str(exc)) from None
        spawner.environment = {**spawner.environment, **env}

    c.Spawner.pre_spawn_hook = hand_over_login

    command = proxy_command(here)
    if command is not None:
        c.ConfigurableHTTPProxy.command = command
    c.ConfigurableHTTPProxy.pid_file = str(here / "jupyterhub-proxy.pid")

    dashboard_url = read_credential(here, settings.dashboard_login)
    if dashboard_url is not None:
        public = settings.public_url or f"http://{settings.ip}:{settings.port}"
        c.JupyterHub.services = [
            {
                "name": "casebook-dashboard",
                "command": [
                    sys.executable,
                    "-m",
                    "casebook.cli",
                    "serve",
                    "--port",
                    str(settings.dashboard_port),
                    "--public-url",
                    public,
                    "--trust-proxy",
                ],
                "environment": {"CASEBOOK_DB": dashboard_url},
            }
        ]
        c.Proxy.extra_routes = {"/dashboard/": f"http://127.0.0.1:{settings.dashboard_port}"}
