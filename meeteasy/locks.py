"""Redis locks named by tenant and resource, with a timeout and a bounded wait (STYLE.md).

A lock expires after ``timeout`` seconds, so a holder that died blocks nobody for long;
a long holder renews it with ``lock.reacquire()``. Waiting longer than ``wait`` raises
``busy`` (a 503 the client may retry, or a retry for a task); Redis being unreachable
raises 503 ``lock_unavailable``, a TransientError, so a task retries it too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis.exceptions
from redis.lock import Lock

from meeteasy.errors import MeetEasyError, TransientError
from meeteasy.redisconn import get_redis

log = logging.getLogger(__name__)


@contextmanager
def held(name: str, *, timeout: float, wait: float, busy: MeetEasyError) -> Iterator[Lock]:
    lock = get_redis().lock(name, timeout=timeout, blocking_timeout=wait, sleep=0.02)
    try:
        acquired = lock.acquire()
    except redis.exceptions.RedisError as error:
        raise TransientError("This cannot be changed right now (lock service unavailable); "
                             "try again.", code="lock_unavailable") from error
    if not acquired:
        raise busy
    try:
        yield lock
    finally:
        try:
            lock.release()
        except redis.exceptions.RedisError:
            log.warning("lock %s expired before its release", name)
