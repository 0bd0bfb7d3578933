"""One synchronous Redis client per process (re-created after a fork)."""

from __future__ import annotations

import os

import redis

from meeteasy.settings import get_settings

# Redis unreachable, timing out, still loading its data after a restart, full
# (maxmemory with noeviction) or a read-only replica during a failover: an operation
# that meets one may succeed once Redis is back (the API answers 503 with Retry-After).
OUTAGES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
           redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError)

_client: redis.Redis | None = None
_client_pid: int | None = None


def get_redis() -> redis.Redis:
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = redis.Redis.from_url(get_settings().redis_url, socket_timeout=5,
                                       socket_connect_timeout=5, health_check_interval=30)
        _client_pid = os.getpid()
    return _client
