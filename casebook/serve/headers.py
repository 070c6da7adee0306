"""Response headers of every answer the dashboard server gives, pages and errors alike.

The page is plain HTML with its stylesheet inline (one `<style>` element, allowed by its
hash: nothing to fetch before the page can be drawn); charts are SVG images in `data:` URLs.
It runs no script, opens no socket and loads nothing from another host, so the policy
allows exactly that: no script source at all, styles only from this server or with the
stylesheet's own hash, images only as `data:`. Outputs in Voilà are trusted, so this
policy is the second wall behind escaping: even a payload that got past `html.escape` could
not run (and an injected `<style>` would not match the hash).
"""

from __future__ import annotations

import base64
import hashlib
from types import MappingProxyType

from tornado import web

from casebook.dashboard import STYLESHEET

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "STYLESHEET",
    "STYLE_ELEMENT",
    "apply_security_headers",
]

_STYLE = STYLESHEET.read_text(encoding="utf-8")
STYLE_ELEMENT = f"<style>{_STYLE}</style>"
"""The stylesheet inline, as every page carries it; the policy allows it by its hash."""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'self' 'sha256-{_STYLE_HASH}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = MappingProxyType(
    {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        # not no-referrer: under it a browser posts a form with `Origin: null` (Fetch,
        # "serialize a request origin"), which the check-in form's origin check refuses;
        # same-origin sends no Referer to any other site, and a form's true Origin here
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    }
)


def apply_security_headers(handler: web.RequestHandler) -> None:
    """Set every header of SECURITY_HEADERS and drop the Server banner."""
    for name, value in SECURITY_HEADERS.items():
        handler.set_header(name, value)
    handler.clear_header("Server")
