"""What `casebook serve` leaves out of its log: pyzmq's harmless closed-stream race, and
nothing else from tornado's general logger."""

from __future__ import annotations

import logging

from casebook.serve import server


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("tornado.general", logging.WARNING, __file__, 1, msg, args, None)


def test_the_closed_stream_race_is_left_out_and_nothing_else() -> None:
    general = logging.getLogger("tornado.general")
    before = list(general.filters)
    try:
        server._log_to_stderr()
        server._log_to_stderr()  # once only, however often the server starts
        added = [f for f in general.filters if f not in before]
        assert len(added) == 1
        assert not general.filter(_record("Got events for closed stream %s", object()))
        assert general.filter(_record("Uncaught exception in ZMQStream callback"))
        assert general.filter(_record("Got events for closed stream"))  # another message
    finally:
        general.filters[:] = before
