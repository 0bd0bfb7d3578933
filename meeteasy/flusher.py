"""The flusher: drains the change stream (:mod:`meeteasy.changes`) into MongoDB.

Group commit: it blocks on the stream for up to :data:`BLOCK_MS`, takes whatever has
arrived (up to :data:`BATCH` changes), hands each collection's changes to that
collection's writer (one bulk write each), and only then commits: it raises the
watermark to the batch's last sequence number and trims the flushed entries off the
stream, in one script. Batches that are not full start at most once per
``MEETEASY_FLUSH_INTERVAL_MS``: SecantusDB spends a few ms on each write command
whatever it carries, and a job started and finished within the interval is written
once (measured at 50 pings/s: the server's CPU fell from 30% to 6%). A crash
between the write and the commit means the next flusher writes the batch again; the
writers make that harmless (a change is applied only over an older one).

Exactly one flusher is active: it holds a lease in Redis, renewed every turn. A
standby (a second `meeteasy flusher`, or the same one restarted) takes the lease over
once the holder stops renewing it, and starts from the oldest unflushed change. The
commit checks the lease, so a holder that stalled past its lease never moves the
watermark or trims what its successor has not flushed.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import pymongo.errors
import redis.exceptions
from redis.commands.core import Script

from meeteasy import changes
from meeteasy.changes import FLUSHED, LEASE, STREAM
from meeteasy.redisconn import get_redis

log = logging.getLogger(__name__)

# A writer stores a batch of one collection's changes: (sequence, document) pairs in
# sequence order, the document as its script appended it.
Writer = Callable[[list[tuple[int, dict]]], None]

DUPLICATE_KEY = 11000
BLOCK_MS = 100
BATCH = 1000
LEASE_MS = 5000
RETRY_PAUSE = 1.0

_RENEW = Script(None, b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
""")

# KEYS: lease, watermark, stream. ARGV: owner, last sequence, first id to keep, lease ms.
_COMMIT = Script(None, b"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], ARGV[2])
end
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
""")


class Flusher:
    """One flusher process's loop; :meth:`step` is one turn, :meth:`run` turns until
    :meth:`stop` is called (from a signal handler)."""

    def __init__(self, writers: dict[str, Writer], *, delay_ms: int = 0, interval_ms: int = 0,
                 lease_ms: int = LEASE_MS):
        self.writers = writers
        self.delay = delay_ms / 1000
        self.interval = interval_ms / 1000
        self.lease_ms = lease_ms
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding = False
        self.stopping = False

    def run(self) -> None:
        log.info("flusher %s started", self.owner)
        try:
            while not self.stopping:
                try:
                    self.step()
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                        pymongo.errors.PyMongoError) as error:
                    # Nothing was committed: the same batch is read again next turn.
                    log.warning("flusher: %r; retrying in %.0fs", error, RETRY_PAUSE)
                    time.sleep(RETRY_PAUSE)
        finally:
            self._release()

    def stop(self) -> None:
        """Finish the current turn (its batch is written and committed), then return."""
        self.stopping = True

    def step(self) -> int:
        """Hold the lease, flush one batch; the number of changes flushed."""
        client = get_redis()
        if not self._hold(client):
            time.sleep(self.lease_ms / 5000)
            return 0
        started = time.monotonic()
        answer = client.xread({STREAM: "0-0"}, count=BATCH, block=BLOCK_MS)
        if not answer:
            return 0
        entries = answer[0][1]
        if self.delay:
            time.sleep(self.delay)
        self._write(entries)
        last_id, fields = entries[-1]
        if not _COMMIT(keys=[LEASE, FLUSHED, STREAM],
                       args=[self.owner, int(fields[b"s"]), _after(last_id), self.lease_ms],
                       client=client):
            log.warning("flusher %s lost its lease during a batch; standing by", self.owner)
            self.holding = False
        if len(entries) < BATCH:
            # Pace the batches: each MongoDB write costs the server a few ms whatever it
            # carries, and a job started and finished within the interval is written once.
            # A full batch means a backlog: the next one starts at once.
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        return len(entries)

    def _write(self, entries: list) -> None:
        by_collection: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        for _, fields in entries:
            by_collection[fields[b"c"].decode()].append(
                (int(fields[b"s"]), json.loads(fields[b"d"], object_hook=changes.object_hook)))
        for collection, records in by_collection.items():
            # An unknown collection stops the flusher rather than drop its changes.
            self.writers[collection](records)

    def _hold(self, client) -> bool:
        if self.holding and not _RENEW(keys=[LEASE], args=[self.owner, self.lease_ms],
                                       client=client):
            log.warning("flusher %s lost its lease; standing by", self.owner)
            self.holding = False
        if not self.holding and client.set(LEASE, self.owner, nx=True, px=self.lease_ms):
            log.info("flusher %s holds the lease", self.owner)
            self.holding = True
        return self.holding

    def _release(self) -> None:
        """Let a standby take over at once instead of after the lease runs out."""
        if self.holding:
            try:
                _RENEW(keys=[LEASE], args=[self.owner, 1], client=get_redis())
            except redis.exceptions.RedisError:
                pass
            self.holding = False


def raise_unless_duplicates(error: pymongo.errors.BulkWriteError) -> None:
    """For a writer: a bulk write whose only errors are duplicate keys stored what it
    could (what it repeats is stored already); any other error is MongoDB failing, and
    raising it leaves the batch uncommitted, to be written again."""
    if any(e["code"] != DUPLICATE_KEY for e in error.details["writeErrors"]):
        raise error


def insert_new(collection, docs: list[dict]) -> list[dict]:
    """For a writer: insert the documents created within a batch; those MongoDB holds
    already (a replayed batch) are returned, for the writer's guarded write."""
    if not docs:
        return []
    try:
        collection.insert_many(docs, ordered=False)
    except pymongo.errors.BulkWriteError as error:
        # The server may name any unique index a stored document repeats, not only _id's.
        raise_unless_duplicates(error)
        return [docs[e["index"]] for e in error.details["writeErrors"]]
    return []


def _after(entry_id: bytes) -> str:
    """The smallest stream id above ``entry_id``: trimming below it drops the batch."""
    millis, _, number = entry_id.decode().partition("-")
    return f"{millis}-{int(number) + 1}"
