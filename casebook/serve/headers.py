"""Response headers of every answer the dashboard server gives, pages and errors alike.

The page is plain HTML and one local stylesheet; charts are SVG images in `data:` URLs. It
runs no script, opens no socket and loads nothing from another host, so the policy allows
exactly that: no script source at all, styles only from this server, images only as
`data:`. Outputs in Voilà are trusted, so this policy is the second wall behind escaping:
even a payload that got past `html.escape` could not run.
"""

from __future__ import annotations

from types import MappingProxyType

from tornado import web

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "apply_security_headers"]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
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
        "Referrer-Policy": "no-referrer",
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
