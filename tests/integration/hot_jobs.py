"""Test helpers for jobs' hot state (models/job_state.py) in the tests' own Redis."""

from __future__ import annotations

from datetime import datetime

from meeteasy import changes
from meeteasy.redisconn import get_redis
from models import job_state


def flushed(timeout: float = 60) -> None:
    """Wait until every change recorded so far is in MongoDB (the session's flusher)."""
    assert changes.wait_flushed(changes.last_seq(), timeout), "the flusher did not catch up"


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
