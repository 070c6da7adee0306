"""Running jobs in threads that start together, for the tests of concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_at_once(jobs: Sequence[Callable[[], T]], timeout: float = 240) -> list[T]:
    """Each job in its own thread, all released at once; their results, in order. A job
    that raised fails the test here, in the test's thread."""
    start = threading.Barrier(len(jobs))
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            start.wait()
            results[k] = jobs[k]()
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert errors == []
    return [results[k] for k in range(len(jobs))]
