"""The stuck-job reaper, called directly in the test process against the tests'
MongoDB and Redis. Jobs are put into their states with the models' own functions
(a claim by a "dead" worker with a lease of 0 s is a worker that died at once).

The session worker is running, so a message the reaper sends is really executed:
that, and the worker's log of what it received, is how the tests see it.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from models import jobs as job_store
from models.base import utcnow
from models.jobs import Job
from tasks.app import settings
from services.jobs import reap_stuck_jobs
from tests.integration.conftest import make_tenant
from tests.integration.hot_jobs import backdate
from tests.integration.stack import receive_events


@pytest.fixture(scope="module")
def tenant(stack):
    return make_tenant(stack, roles=("tenant_admin",))


@pytest.fixture
def owner(tenant):
    return tenant.id, tenant.users["tenant_admin"].id


def _ping(owner) -> Job:
    tenant_id, user_id = owner
    return job_store.create_job(tenant_id, user_id, "diagnostics.ping", {"hold_seconds": 0})


def _lost(owner, attempts: int = 1) -> Job:
    """A running job whose worker died: claimed ``attempts`` times, lease already over."""
    job = _ping(owner)
    for _ in range(attempts):
        job = job_store.claim_job(job.tenant_id, job.id, "dead-worker@nowhere", 0)
        # lease_until = claim time + 0 s: in the past once the clock has moved on (a
        # takeover needs the lease strictly expired, and a Redis claim takes well under 1 ms)
        time.sleep(0.01)
    assert job.state == "running" and job.attempts == attempts
    return job


def _reload(job: Job) -> Job:
    return job_store.get_job(job.tenant_id, job.id)


def _received(stack, job_id: str) -> int:
    return stack.log_text("worker").count(f"diagnostics.ping[{job_id}] received")


def _wait_finished(job: Job, timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while (current := _reload(job)).state not in job_store.FINISHED:
        assert time.monotonic() < deadline, f"job still {current.state}: {current.to_mongo()}"
        time.sleep(0.1)
    return current


def _settle():
    # Long enough for the worker to take any second message the reaper might have sent.
    time.sleep(1)


def test_lost_job_with_attempts_left_is_requeued_and_resent_once(stack, tenant, owner):
    sock = stack.socket(tenant.tokens["tenant_admin"]["access_token"])
    try:
        job = _lost(owner)
        first = reap_stuck_jobs()
        second = reap_stuck_jobs()
        pushed = receive_events(sock, lambda seen: any(
            data["id"] == job.id and data["state"] == "queued" for _, data in seen), timeout=10)
    finally:
        sock.disconnect()
    assert job.id in first["requeued"]
    assert job.id not in first["failed"] + first["resent"]
    assert job.id not in second["requeued"] + second["failed"] + second["resent"]
    queued = [data for _, data in pushed if data["id"] == job.id and data["state"] == "queued"]
    assert queued and queued[0]["attempts"] == 1
    assert queued[0]["message"] == "Requeued: its worker stopped responding."

    done = _wait_finished(job)
    _settle()
    assert done.state == "succeeded"
    assert done.attempts == 2
    assert done.result["worker"].startswith("worker-")
    assert _received(stack, job.id) == 1


def test_lost_job_without_attempts_left_fails_timed_out(stack, owner):
    job = _lost(owner, attempts=settings.task_max_retries + 1)
    first = reap_stuck_jobs()
    failed = _reload(job)
    second = reap_stuck_jobs()
    _settle()
    assert job.id in first["failed"]
    assert job.id not in first["requeued"] + second["failed"] + second["requeued"]
    assert failed.state == "failed"
    assert failed.error["code"] == "timed_out"
    assert failed.attempts == settings.task_max_retries + 1
    assert failed.lease_until is None and failed.finished_at is not None
    assert _reload(job).to_mongo() == failed.to_mongo()
    assert _received(stack, job.id) == 0


def test_job_queued_past_the_grace_is_sent_again_once(stack, owner):
    job = _ping(owner)  # recorded, its message "lost": never sent
    old = utcnow() - timedelta(seconds=settings.queued_job_grace + 5)
    backdate(job, updated_at=old)
    first = reap_stuck_jobs()
    second = reap_stuck_jobs()
    assert job.id in first["resent"]
    assert job.id not in second["resent"] + second["requeued"] + second["failed"]
    done = _wait_finished(job)
    _settle()
    assert done.state == "succeeded" and done.attempts == 1
    assert _received(stack, job.id) == 1


def test_fresh_queued_job_is_not_sent_again(stack, owner):
    job = _ping(owner)
    before = _reload(job).to_mongo()
    result = reap_stuck_jobs()
    assert job.id not in result["resent"]
    assert _reload(job).to_mongo() == before
    job_store.request_cancel(job.tenant_id, job.id)


def test_job_with_a_live_lease_is_untouched(stack, owner):
    job = _ping(owner)
    job = job_store.claim_job(job.tenant_id, job.id, "busy-worker@somewhere", 60)
    before = _reload(job).to_mongo()
    result = reap_stuck_jobs()
    try:
        assert job.id not in result["requeued"] + result["failed"] + result["resent"]
        assert _reload(job).to_mongo() == before
    finally:
        job_store.finish_job(job.tenant_id, job.id, job.attempts, "cancelled")
    assert _received(stack, job.id) == 0


def test_a_stale_queued_job_is_touched_by_one_of_two_concurrent_reapers(owner):
    """Two reapers can run at once (a late beat message beside the next one): both list
    the same stale job, and only the first may send it again."""
    job = _ping(owner)
    old = utcnow() - timedelta(seconds=settings.queued_job_grace + 5)
    backdate(job, updated_at=old)
    before = utcnow() - timedelta(seconds=settings.queued_job_grace)
    seen_by_both = [found for found in job_store.stale_queued(before) if found.id == job.id]
    assert len(seen_by_both) == 1
    stale = seen_by_both[0]
    touched = [job_store.touch_queued(stale.tenant_id, stale.id, "Sent again by the reaper.",
                                      stale.updated_at) for _ in range(2)]
    assert touched[0] is not None and touched[1] is None
    job_store.request_cancel(job.tenant_id, job.id)
