"""Bulk work: the cycle collector paused while a large import runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cycle_collector_paused"]


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the block (reference counting still frees what
    is dropped). An import of 100,000 results builds some 500,000 small containers that
    all live until it ends; the collector would walk them over and over and find nothing
    to free: 0.1 to 0.2 s of a 1.2 s import. Nested or concurrent pauses are fine: only
    the block that paused a running collector starts it again."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
