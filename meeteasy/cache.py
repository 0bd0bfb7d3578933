"""Process-local caches of what every request re-reads (a conference, its current form,
a tenant's plugins), each entry valid only while its version in Redis is unchanged.

Every write path of a cached thing stores it in MongoDB and then calls
:meth:`Versioned.changed`, which gives the thing a new random version in Redis. A read
asks Redis for the version (one round trip, or none inside :func:`versions_read`) and
serves its copy only if that copy was loaded under the same version; otherwise it
loads from MongoDB. So a change takes effect on the next request of every web and
worker process, and a process never serves a copy older than the last completed write.

Why these rules hold:

* the version is read *before* loading, so a write landing between the two leaves a
  copy tagged with the older version: the next read sees the new one and reloads;
* versions are random, never counters, and a missing version is created (set if
  absent) before it is used: after Redis loses its data, or a key expires, no old
  copy can match a version handed out again;
* a writer that dies between its MongoDB write and the new version leaves copies
  that would be stale: entries are reloaded after ``max_age`` seconds regardless.

Values are kept as given by ``load`` and handed to ``build`` on each read, so callers
get their own object (a mongoengine document built from stored fields) and cannot
change the cached one.
"""

from __future__ import annotations

import contextvars
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from redis.commands.core import Script

from meeteasy.redisconn import get_redis

T = TypeVar("T")
PREFIX = "meeteasy:cache:"
# Seconds a version lives without a change: an expired one costs each process one reload,
# and versions of things nobody reads (or ids that name nothing) do not pile up.
VERSION_TTL = 3600
# Get each version, creating a missing one with the token given for it, in one round trip.
GET_OR_CREATE = Script(None, b"""
local out = {}
for i, key in ipairs(KEYS) do
  local version = redis.call('GET', key)
  if not version then
    version = ARGV[i]
    redis.call('SET', key, version, 'EX', ARGV[#KEYS + 1])
  end
  out[i] = version
end
return out
""")
_prefetched: contextvars.ContextVar[dict[str, bytes] | None] = contextvars.ContextVar(
    "meeteasy_cache_versions", default=None)


def _token() -> str:
    return secrets.token_hex(8)


def read_versions(keys: list[str]) -> dict[str, bytes]:
    """The current version of each key (created where missing), in one Redis round trip."""
    values = GET_OR_CREATE(keys=keys, args=[*[_token() for _ in keys], VERSION_TTL],
                           client=get_redis())
    return dict(zip(keys, values))


@contextmanager
def versions_read(*keys: str) -> Iterator[None]:
    """Read the versions of ``keys`` once, for every cached read inside the block (one
    request's worth): the block sees those things as they were at its start."""
    token = _prefetched.set({**(_prefetched.get() or {}), **read_versions(list(keys))})
    try:
        yield
    finally:
        _prefetched.reset(token)


class Versioned:
    """One kind of cached thing (``name``), keyed by the parts that name one of them."""

    def __init__(self, name: str, *, max_entries: int = 2048, max_age: float = 60.0):
        self.name = name
        self.max_entries = max_entries
        self.max_age = max_age
        self._entries: OrderedDict[str, tuple[bytes, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, *parts: str) -> str:
        """The Redis key of one thing's version (for :func:`versions_read`)."""
        return PREFIX + self.name + ":" + ":".join(str(part) for part in parts)

    def get(self, parts: tuple[str, ...], load: Callable[[], Any],
            build: Callable[[Any], T]) -> T:
        """``build(value)``, the value loaded by ``load()`` under the current version."""
        key = self.key(*parts)
        version = (_prefetched.get() or {}).get(key)
        if version is None:
            version = read_versions([key])[key]
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version and now - entry[1] < self.max_age:
                self._entries.move_to_end(key)
                return build(entry[2])
        value = load()
        with self._lock:
            self._entries[key] = (version, now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return build(value)

    def changed(self, *parts: str) -> None:
        """Call after every stored change of the thing: each process reloads it on its
        next read."""
        key = self.key(*parts)
        get_redis().set(key, _token(), ex=VERSION_TTL)
        prefetched = _prefetched.get()
        if prefetched:
            prefetched.pop(key, None)  # the block that wrote reads its own change
