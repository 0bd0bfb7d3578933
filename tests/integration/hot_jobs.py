"""Test helpers for jobs' hot state (models/job_state.py) in the tests' own Redis."""

from __future__ import annotations

import time
from datetime import datetime

import redis

from meeteasy import changes
from meeteasy.redisconn import get_redis
from models import job_state


def flushed(timeout: float = 60, redis_url: str | None = None) -> None:
    """Wait until every change recorded so far is in MongoDB: by the session's flusher,
    or, given ``redis_url``, by the flusher of a test's own Redis there."""
    if redis_url is None:
        assert changes.wait_flushed(changes.last_seq(), timeout), "the flusher did not catch up"
        return
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        target = int(client.get(changes.SEQ) or 0)
        deadline = time.monotonic() + timeout
        while int(client.get(changes.FLUSHED) or 0) < target:
            assert time.monotonic() < deadline, \
                f"the flusher on {redis_url} did not catch up with change {target}"
            time.sleep(0.05)
    finally:
        client.close()


def backdate(job, **moments: datetime) -> None:
    """Move a job's ``updated_at`` / ``lease_until`` into the past, as if that long had
    passed: in its hash, and in the reaper's sorted set that orders it by that time."""
    client = get_redis()
    values, _ = job_state.encode(moments)
    client.hset(job_state.hash_key(job.tenant_id, job.id), mapping=values)
    member = job_state.member(job.tenant_id, job.id)
    for name, which in (("lease_until", job_state.LEASES), ("updated_at", job_state.QUEUED)):
        if name in values:
            client.zadd(which, {member: int(values[name])}, xx=True)


def stored_jobs(**filters) -> int:
    """How many jobs MongoDB holds, once every change so far is flushed."""
    from models.jobs import Job

    flushed()
    return Job.objects(**filters).count()
