"""Jobs' hot state (models/job_state.py, models/jobs.py) against the tests' own Redis and
MongoDB, with the session's flusher between them: the compare-and-set transitions, the
reaper's sorted sets, the expiry of finished jobs, the load of a job Redis no longer has,
the flusher's writer run twice, and `meeteasy jobs restore-hot-state` after a Redis loss.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner

from cli import main
from meeteasy.errors import Conflict, NotFound
from meeteasy.redisconn import get_redis
from meeteasy.settings import get_settings
from models import job_state
from models import jobs as job_store
from models import tenants as tenant_store
from models.base import utcnow
from tests.integration.hot_jobs import backdate, flushed


@pytest.fixture
def tenant_id(services):
    return str(tenant_store.create_tenant(f"hot-{uuid.uuid4().hex[:8]}", "Hot").id)


def _ping(tenant_id: str) -> job_store.Job:
    return job_store.create_job(tenant_id, "u1", "diagnostics.ping", {"hold_seconds": 0})


def _running(tenant_id: str, lease_seconds: int = 60) -> job_store.Job:
    job = _ping(tenant_id)
    return job_store.claim_job(tenant_id, job.id, "w", lease_seconds)


def _scores(job) -> tuple[float | None, float | None]:
    member = job_state.member(job.tenant_id, job.id)
    client = get_redis()
    return client.zscore(job_state.LEASES, member), client.zscore(job_state.QUEUED, member)


def _stored(job) -> dict:
    flushed()
    return job_store.Job.objects(tenant_id=job.tenant_id, id=job.id).first().to_mongo().to_dict()


def _forget(job) -> None:
    """What a Redis loss does to one job: its hash and its places in the sorted sets."""
    client = get_redis()
    member = job_state.member(job.tenant_id, job.id)
    client.delete(job_state.hash_key(job.tenant_id, job.id))
    client.zrem(job_state.LEASES, member)
    client.zrem(job_state.QUEUED, member)


def test_each_transition_takes_the_next_change_number_and_a_refused_one_none(tenant_id):
    job = _ping(tenant_id)
    claimed = job_store.claim_job(tenant_id, job.id, "w", 60)
    progressed = job_store.record_progress(tenant_id, job.id, 1, 40, "forty")
    assert job.change_seq < claimed.change_seq < progressed.change_seq
    # Refused: a second claim, a stale attempt's progress and end. Nothing changes.
    assert job_store.claim_job(tenant_id, job.id, "other", 60) is None
    assert job_store.record_progress(tenant_id, job.id, 2, 90, "stale") is None
    assert job_store.finish_job(tenant_id, job.id, 2, "succeeded") is None
    current = job_store.get_job(tenant_id, job.id)
    assert current.to_mongo() == progressed.to_mongo()
    assert (current.state, current.progress, current.worker) == ("running", 40, "w")
    done = job_store.finish_job(tenant_id, job.id, 1, "succeeded", result={"n": 1})
    assert done.change_seq > progressed.change_seq
    assert (done.progress, done.lease_until, done.result) == (100, None, {"n": 1})


def test_an_expired_lease_is_taken_over_once_by_attempts(tenant_id):
    job = _running(tenant_id)
    assert job_store.claim_job(tenant_id, job.id, "w2", 60) is None  # the lease is live
    backdate(job, lease_until=utcnow() - timedelta(seconds=1))
    taken = job_store.claim_job(tenant_id, job.id, "w2", 60)
    assert (taken.worker, taken.attempts) == ("w2", 2)
    assert job_store.claim_job(tenant_id, job.id, "w3", 60) is None
    assert job_store.record_progress(tenant_id, job.id, 1, 50, "dead worker") is None


def test_the_reaper_sets_follow_the_state(tenant_id):
    job = _ping(tenant_id)
    assert _scores(job) == (None, job_state.millis(job.updated_at))
    running = job_store.claim_job(tenant_id, job.id, "w", 60)
    assert _scores(job) == (job_state.millis(running.lease_until), None)
    released = job_store.release_for_retry(tenant_id, job.id, 1, {"code": "t", "message": "t"})
    assert _scores(job) == (None, job_state.millis(released.updated_at))
    job_store.claim_job(tenant_id, job.id, "w", 60)
    job_store.finish_job(tenant_id, job.id, 2, "failed", error={"code": "x", "message": "x"})
    assert _scores(job) == (None, None)
    cancelled = _ping(tenant_id)
    job_store.request_cancel(tenant_id, cancelled.id)
    assert _scores(cancelled) == (None, None)


def test_a_finished_job_expires_from_redis_once_stored_and_is_read_from_mongodb(tenant_id):
    job = _running(tenant_id)
    queued = _ping(tenant_id)
    done = job_store.finish_job(tenant_id, job.id, 1, "succeeded", result={"ok": True})
    stored = _stored(done)
    assert stored["state"] == "succeeded" and stored["change_seq"] == done.change_seq
    client = get_redis()
    assert 0 < client.ttl(job_state.hash_key(tenant_id, job.id)) <= get_settings().finished_job_ttl
    assert client.ttl(job_state.hash_key(tenant_id, queued.id)) == -1  # never while unfinished
    client.delete(job_state.hash_key(tenant_id, job.id))  # as if its TTL ran out
    assert job_store.get_job(tenant_id, job.id).to_mongo() == done.to_mongo()
    with pytest.raises(NotFound):
        job_store.get_job(tenant_id, job.id, user_id="someone else")


def test_a_change_to_a_job_redis_no_longer_has_loads_it_from_mongodb_first(tenant_id):
    job = _running(tenant_id)
    failed = job_store.finish_job(tenant_id, job.id, 1, "failed", error={"code": "x", "message": "x"})
    _stored(failed)
    _forget(failed)
    retried = job_store.requeue_failed(tenant_id, job.id)
    assert (retried.state, retried.attempts, retried.error) == ("queued", 1, None)
    assert retried.change_seq > failed.change_seq
    assert get_redis().ttl(job_state.hash_key(tenant_id, job.id)) == -1
    assert _scores(job) == (None, job_state.millis(retried.updated_at))
    with pytest.raises(Conflict):
        job_store.requeue_failed(tenant_id, job.id)
    with pytest.raises(NotFound):
        job_store.requeue_failed(tenant_id, uuid.uuid4().hex)
    assert job_store.claim_job(tenant_id, uuid.uuid4().hex, "w", 60) is None


def test_the_flushers_writer_run_twice_or_late_changes_nothing(tenant_id):
    """At-least-once: a batch written again (the flusher died before its commit), or an
    older change arriving after a newer one, leaves MongoDB as it was."""
    client = get_redis()

    def change_of(job):  # the change as the flusher reads it from the stream
        flat = client.hgetall(job_state.hash_key(job.tenant_id, job.id))
        doc = {name.decode(): value.decode() for name, value in flat.items()}
        return int(doc["change_seq"]), doc

    jobs = [_ping(tenant_id) for _ in range(3)]
    queued = change_of(jobs[0])
    running = job_store.claim_job(tenant_id, jobs[0].id, "w", 60)
    claim = change_of(running)
    done = job_store.finish_job(tenant_id, jobs[0].id, 1, "succeeded", result={"n": 1})
    batch = [queued, claim, change_of(done), change_of(jobs[1]), change_of(jobs[2])]
    stored = [_stored(job) for job in jobs]

    for _ in range(2):
        job_store.flush(batch)
        assert [_stored(job) for job in jobs] == stored
    job_store.flush([queued, claim])  # older than what MongoDB has
    assert [_stored(job) for job in jobs] == stored
    assert stored[0]["state"] == "succeeded" and stored[0]["change_seq"] == done.change_seq


def test_restore_hot_state_after_a_redis_loss(tenant_id):
    running = _running(tenant_id)
    queued = _ping(tenant_id)
    finished = job_store.finish_job(tenant_id, _running(tenant_id).id, 1, "succeeded")
    before = {job.id: job_store.get_job(tenant_id, job.id).to_mongo() for job in (running, queued)}
    for job in (running, queued, finished):
        _stored(job)
        _forget(job)

    runner = CliRunner()
    first = runner.invoke(main, ["jobs", "restore-hot-state"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert {job.id: job_store.get_job(tenant_id, job.id).to_mongo()
            for job in (running, queued)} == before
    assert _scores(running) == (job_state.millis(running.lease_until), None)
    assert _scores(queued) == (None, job_state.millis(queued.updated_at))
    assert job_state.read(tenant_id, finished.id) is None  # finished jobs stay in MongoDB
    # New changes are numbered above every stored one, and a second run restores nothing.
    assert job_store.claim_job(tenant_id, queued.id, "w", 60).change_seq > finished.change_seq
    second = runner.invoke(main, ["jobs", "restore-hot-state"], catch_exceptions=False)
    assert second.exit_code == 0 and second.output.startswith("0 unfinished jobs restored")
