"""The web's thread pool refuses calls past its backlog at once (api/offload.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from api import offload
from meeteasy.errors import Overloaded


def test_a_call_past_the_backlog_is_refused_and_the_pool_recovers():
    release = threading.Event()

    async def scenario():
        offload.start(max_workers=1, backlog=1)
        try:
            # One call runs, one waits for the thread: the pool is full.
            held = [asyncio.ensure_future(offload.run_sync(release.wait)) for _ in range(2)]
            await asyncio.sleep(0)
            with pytest.raises(Overloaded) as refused:
                await offload.run_sync(lambda: "never run")
            assert refused.value.retry_after == 1
            assert refused.value.details == {"queue": "web"}
            release.set()
            assert await asyncio.gather(*held) == [True, True]
            # Once they are done, a call is taken again.
            assert await offload.run_sync(lambda: "ran") == "ran"
        finally:
            release.set()
            offload.stop()

    asyncio.run(scenario())


def test_no_backlog_means_no_limit():
    async def scenario():
        offload.start(max_workers=1, backlog=0)
        try:
            assert await asyncio.gather(*(offload.run_sync(lambda n=n: n) for n in range(50))) \
                == list(range(50))
        finally:
            offload.stop()

    asyncio.run(scenario())
