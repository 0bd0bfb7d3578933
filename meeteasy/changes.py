"""The change stream: how hot state in Redis becomes durable in MongoDB.

A hot change (a job's transition, and later a registration's) is decided by a Lua
script over Redis keys. The same script takes the next number of one global change
sequence (``INCR``) and appends the changed object, whole, to one Redis stream. The
flusher (:mod:`meeteasy.flusher`) drains that stream into MongoDB in bulk and then
records its watermark: every change numbered up to it is in MongoDB.

Because the number is taken and the entry appended in one atomic script, the stream
is in sequence order and a watermark means "nothing at or below it is missing". A
reader of MongoDB that bounds its query by the watermark it read first (the job feed,
``GET /jobs?since=``) can therefore never skip a change that is flushed late.

A script that records changes is made with :func:`script`; its Lua body may call
``next_seq()`` and ``append(collection, seq, doc_json)`` (see :data:`PRELUDE`), and its
first two keys are :data:`SEQ` and :data:`STREAM` (pass them with :func:`keys`).
"""

from __future__ import annotations

import time
from datetime import UTC
from functools import partial

from bson import json_util
from redis.commands.core import Script

from meeteasy.redisconn import get_redis

SEQ = "meeteasy:changes:seq"
STREAM = "meeteasy:changes:stream"
FLUSHED = "meeteasy:changes:flushed"
LEASE = "meeteasy:changes:flusher"

# A changed document that holds more than strings (a registration) is appended in
# MongoDB's extended JSON, read back with ``object_hook`` (ids, aware UTC times).
JSON = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True, tzinfo=UTC)
object_hook = partial(json_util.object_hook, json_options=JSON)

PRELUDE = """
local function next_seq()
  return redis.call('INCR', KEYS[1])
end
local function append(collection, seq, doc_json)
  redis.call('XADD', KEYS[2], '*', 'c', collection, 's', seq, 'd', doc_json)
end
"""


def script(body: str) -> Script:
    """A Lua script that may record changes: :data:`PRELUDE` precedes ``body``, and the
    caller's own keys start at ``KEYS[3]``. Bound to no connection (made at import,
    before any fork): call it with ``client=get_redis()`` or a pipeline."""
    return Script(None, (PRELUDE + body).encode())


def keys(*own: str) -> list[str]:
    """The keys of a :func:`script` call: the sequence, the stream, then the caller's."""
    return [SEQ, STREAM, *own]


def last_seq() -> int:
    """The number of the latest change recorded (0 before the first)."""
    return int(get_redis().get(SEQ) or 0)


def flushed_seq() -> int:
    """The watermark: every change numbered up to it is in MongoDB."""
    return int(get_redis().get(FLUSHED) or 0)


def wait_flushed(seq: int, timeout: float) -> bool:
    """Wait until the change numbered ``seq`` is in MongoDB; False if ``timeout``
    seconds pass first (the flusher is slow or down: the caller decides what then)."""
    deadline = time.monotonic() + timeout
    pause = 0.002
    while flushed_seq() < seq:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        # A flush takes a few milliseconds to ~100 ms (one batch): poll quickly at
        # first, then back off so that many waiters cost Redis little.
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.05)
    return True


def settled(timeout: float) -> int:
    """The watermark once every change recorded before this call is flushed (or once
    ``timeout`` passed): what a MongoDB reader bounds its query by, so that it sees
    the caller's own earlier writes and never skips a change flushed late."""
    wait_flushed(last_seq(), timeout)
    return flushed_seq()


_RAISE_FLOOR = Script(None, b"""
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
-- With nothing left to flush, every change numbered so far is in MongoDB. (While a
-- batch is being written its entries are still in the stream: then the flusher's own
-- commit moves the watermark.)
if redis.call('XLEN', KEYS[3]) == 0 then
  redis.call('SET', KEYS[2], redis.call('GET', KEYS[1]))
end
""")


def raise_floor(seq: int) -> None:
    """After a Redis loss: number new changes above ``seq`` (a change MongoDB holds),
    and, unless changes wait in the stream, count every change so far as flushed."""
    _RAISE_FLOOR(keys=[SEQ, FLUSHED, STREAM], args=[seq], client=get_redis())
