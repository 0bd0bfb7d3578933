"""A value read from a server and reused by this process for a short while."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Reading(Generic[T]):
    """The answer of ``read()``, reused for ``ttl`` seconds. Threads that find it stale at
    the same moment may each read; the last answer is kept. A read that raises keeps
    nothing, so the next call asks again."""

    def __init__(self, read: Callable[[], T], ttl: float,
                 clock: Callable[[], float] = time.monotonic):
        self._read, self._ttl, self._clock = read, ttl, clock
        self._last: tuple[float, T] | None = None

    def get(self) -> T:
        now = self._clock()
        last = self._last
        if last is None or now - last[0] >= self._ttl:
            last = (now, self._read())
            self._last = last
        return last[1]
