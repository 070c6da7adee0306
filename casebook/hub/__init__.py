"""casebook on JupyterHub: a clinic of several practitioners, each signed in as themselves.

`casebook hub init DIR` writes a hub folder (`hub.toml`, `jupyterhub_config.py`);
`casebook hub add-user DIR NAME --role ROLE` gives a person a database login that the hub
hands to their own server; `casebook hub start DIR` runs JupyterHub with that config.
JupyterHub itself is the `hub` extra: `pip install 'casebook[hub]'` (and the proxy,
`npm install -g configurable-http-proxy`).
"""

from __future__ import annotations

from casebook.hub.config import configure, spawn_environment
from casebook.hub.settings import HubSettings, load_settings, practitioners
from casebook.hub.setup import add_hub_user, init_hub

__all__ = [
    "HubSettings",
    "add_hub_user",
    "configure",
    "init_hub",
    "load_settings",
    "practitioners",
    "spawn_environment",
]
