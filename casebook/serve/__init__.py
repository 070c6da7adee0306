"""The patient-facing dashboard server: one patient per link, read-only, offline.

    from casebook.serve import grant, revoke, run
    url = grant(store, "demo-0001", days=30, base_url="http://127.0.0.1:8866")
    revoke(store, "demo-0001")          # ends every link (and open session) of that patient
    run("sqlite:///casebook.db", host="127.0.0.1", port=8866)   # blocks; Ctrl-C stops it

See `casebook.serve.app` for what the server allows and what it refuses.
"""

from __future__ import annotations

from casebook.serve.limits import Limits
from casebook.serve.server import base_url, run
from casebook.serve.tokens import AccessRefused, Grant, check_token, grant, link_url, revoke

__all__ = [
    "AccessRefused",
    "Grant",
    "Limits",
    "base_url",
    "check_token",
    "grant",
    "link_url",
    "revoke",
    "run",
]
