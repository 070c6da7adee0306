"""Connections the patient server keeps: bounded in number and in time.

Tornado's HTTP server holds a connection for as long as its client likes: a client that
sends its headers a byte at a time, a body that never finishes, or a kept-alive connection
left idle would each hold a file descriptor until the process runs out. Here:

- the headers of each request (the first, or the next on a kept-alive connection) must be
  complete within `header_timeout` seconds of the connection being ready for them, which
  also ends an idle kept-alive connection (Tornado's `idle_connection_timeout`);
- a request body must arrive within `body_timeout` seconds (`body_timeout`);
- at most `max_connections` connections are served at once. One more is answered, not
  reset: its request headers are read (for at most `header_timeout`), then it gets a plain
  503 with `Retry-After` and `Connection: close`. Past twice the limit a connection is
  closed at once (the only case without an answer: the server is being flooded).

Tornado's own body limit (`max_body_size`) answers 400 with no page; it is set far above
`MAX_BODY_BYTES` so that the handlers, which count every chunk, answer 413 first.
"""

from __future__ import annotations

import logging
from typing import Any

from tornado import gen, iostream
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from casebook.serve.limits import MAX_BUFFER_BYTES, Limits

__all__ = ["SERVER_BODY_CAP", "BoundedHTTPServer", "server_options"]

log = logging.getLogger("casebook.serve")

SERVER_BODY_CAP = 1024 * 1024
"""Tornado's own cap on a body (400 beyond it); the handlers refuse far smaller bodies with
413 as the chunks arrive, so a client never meets this one."""

_MAX_HEADER_BYTES = 16 * 1024
_BUSY_BODY = b"The server is busy. Please try again in a few seconds.\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Cache-Control: no-store\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_BUSY_BODY)).encode("ascii") + b"\r\n\r\n" + _BUSY_BODY
)


def server_options(limits: Limits, *, xheaders: bool) -> dict[str, Any]:
    """Keyword arguments for `BoundedHTTPServer` (and Tornado's `HTTPServer`)."""
    return {
        "xheaders": xheaders,
        "max_connections": limits.max_connections,
        "idle_connection_timeout": limits.header_timeout,
        "body_timeout": limits.body_timeout,
        "max_body_size": SERVER_BODY_CAP,
        "max_buffer_size": MAX_BUFFER_BYTES,
        "max_header_size": _MAX_HEADER_BYTES,
    }


class BoundedHTTPServer(HTTPServer):
    """Tornado's HTTP server with a limit on connections served at once."""

    def initialize(self, *args: Any, max_connections: int = 256, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self._refusing = 0

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def handle_stream(self, stream: iostream.IOStream, address: tuple[Any, ...]) -> None:
        if len(self._connections) < self.max_connections:
            super().handle_stream(stream, address)
        elif self._refusing < self.max_connections:
            self._refusing += 1
            IOLoop.current().add_future(
                gen.convert_yielded(self._answer_busy(stream)), lambda _f: None
            )
        else:
            log.warning("connection closed unanswered: %d connections open", self.max_connections)
            stream.close()

    async def _answer_busy(self, stream: iostream.IOStream) -> None:
        """Read the request's headers (so closing sends no reset), answer 503, close."""
        timeout = self.conn_params.header_timeout or 10.0
        try:
            await gen.with_timeout(
                IOLoop.current().time() + timeout,
                stream.read_until_regex(b"\r?\n\r?\n", max_bytes=_MAX_HEADER_BYTES),
                quiet_exceptions=(iostream.StreamClosedError,),
            )
            await stream.write(_BUSY)
        except (iostream.StreamClosedError, iostream.UnsatisfiableReadError, TimeoutError):
            pass
        finally:
            self._refusing -= 1
            stream.close()
