"""Run blocking work (mongoengine, Redis scripts, password hashing) off the event loop.

The pool is the web process's capacity. Past it, requests wait for a thread, and an
overloaded web that keeps admitting them answers every one of them late (and lets
clients time out on work it then does anyway). So a call that would make more than
``backlog`` calls wait for a thread is refused at once with 503 ``overloaded`` and
Retry-After: the excess of a load the process cannot serve costs it almost nothing, and
what it admits is answered at its full rate (the Google SRE book, "Handling Overload").
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from meeteasy.errors import Overloaded

T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None
_limit = 0  # calls in flight (running or waiting for a thread) at most; 0: no limit
_in_flight = 0  # changed on the event loop only


def start(max_workers: int = 32, backlog: int = 0) -> None:
    global _executor, _limit
    _executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="meeteasy-io")
    _limit = max_workers + backlog if backlog else 0


def stop() -> None:
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    global _in_flight
    if _limit and _in_flight >= _limit:
        raise Overloaded("This server is at capacity; try again shortly.",
                         details={"queue": "web"}, retry_after=1)
    _in_flight += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor, functools.partial(fn, *args, **kwargs))
    finally:
        _in_flight -= 1
