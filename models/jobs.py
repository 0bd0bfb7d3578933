"""Jobs: the record of every piece of asynchronous work, and the source of truth
that clients poll (push is only a hint).

A job's current state is hot, in Redis (:mod:`models.job_state`): every transition is
one compare-and-set script, so a redelivered task, a second worker or a late cancel can
never move a job backwards: ``queued → running → succeeded | failed | cancelled``;
``failed → queued`` only by an operator's retry. None of them talks to MongoDB, which
receives each change from the flusher, in bulk. MongoDB is the durable record and the
store of the job feed (``list_jobs``); one job is read from Redis first.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import mongoengine as me

from meeteasy import changes
from meeteasy.errors import BadRequest, Conflict, NotFound
from models import job_state
from models.base import TenantDocument, iso, utcnow

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
MAX_PAGE = 200
# How long the feed waits for the flusher to store the changes made before the request.
FEED_WAIT = 2.0


class Job(TenantDocument):
    id = me.StringField(primary_key=True, default=lambda: uuid.uuid4().hex)
    user_id = me.StringField(required=True)
    kind = me.StringField(required=True)
    args = me.DictField()
    state = me.StringField(required=True, choices=STATES, default="queued")
    progress = me.IntField(min_value=0, max_value=100, default=0)
    message = me.StringField(default="")
    result = me.DictField(null=True)
    error = me.DictField(null=True)
    attempts = me.IntField(default=0)
    lease_until = me.DateTimeField(null=True)
    worker = me.StringField(null=True)
    cancel_requested = me.BooleanField(default=False)
    idempotency_key = me.StringField(null=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    started_at = me.DateTimeField(null=True)
    finished_at = me.DateTimeField(null=True)
    # The number of the job's latest change (meeteasy.changes): the feed's order, and
    # what keeps a replayed or late change from overwriting a newer one.
    change_seq = me.IntField(default=0)
    # Only MongoDB's own query shapes remain (the hot state and the reaper are in Redis).
    # SecantusDB uses an index when the filter's fields are exactly a prefix of it.
    meta = {
        "collection": "jobs",
        "indexes": [
            # one job, and the flusher's guarded write of it
            ("tenant_id", "id", "change_seq"),
            # the feed (`since`), and an attendee's own feed
            ("tenant_id", "change_seq"),
            ("tenant_id", "user_id", "change_seq"),
            # the feed by state, and the unfinished jobs that `meeteasy jobs
            # restore-hot-state` puts back into Redis
            ("tenant_id", "state", "change_seq"),
        ],
    }


def public_view(job: Job) -> dict[str, Any]:
    """The job as `GET /jobs/{id}` returns it and `job.updated` carries it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        # One shape for every error a client reads: a job's carries `details` too.
        "error": {"details": None, **job.error} if job.error else None,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "user_id": job.user_id,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "cursor": encode_cursor(job.change_seq),
    }


def job_of(values: dict[str, Any]) -> Job:
    """The job of values as :mod:`models.job_state` gives them."""
    return Job(**values)


def _values(job: Job) -> dict[str, Any]:
    values = {name: job[name] for name in job_state.FIELDS}
    values["change_seq"] = values["change_seq"] or 0  # stored before sequences existed
    return values


def _stored(tenant_id: str, job_id: str) -> dict[str, Any] | None:
    """A job's values from MongoDB, to load into Redis when its hash is gone."""
    job = Job.objects(tenant_id=tenant_id, id=job_id).first()
    return _values(job) if job is not None else None


def _change(tenant_id: str, job_id: str, **transition) -> tuple[str, Job | None]:
    outcome, values = job_state.change(tenant_id, job_id,
                                       load=lambda: _stored(tenant_id, job_id), **transition)
    return outcome, job_of(values) if values is not None else None


def _changed(tenant_id: str, job_id: str, **transition) -> Job | None:
    """The job after the transition, or None if it did not apply."""
    outcome, job = _change(tenant_id, job_id, **transition)
    return job if outcome == "ok" else None


# --- one job -------------------------------------------------------------------------------

def new_job_id() -> str:
    return uuid.uuid4().hex


def create_job(tenant_id: str, user_id: str, kind: str, args: dict | None = None,
               idempotency_key: str | None = None, *, job_id: str | None = None,
               publish: tuple[str, str] | None = None) -> Job:
    """Record a queued job; with ``publish`` (queue list, task message), its message is
    queued by the same Redis script (see :func:`models.job_state.create`)."""
    return job_of(job_state.create(new_job_values(tenant_id, user_id, kind, args,
                                                idempotency_key, job_id=job_id), publish))


def new_job_values(tenant_id: str, user_id: str, kind: str, args: dict | None,
                   idempotency_key: str | None, *, job_id: str | None = None) -> dict[str, Any]:
    """A new queued job's values (to record with :mod:`models.job_state`)."""
    now = utcnow()
    return {"id": job_id or new_job_id(), "tenant_id": tenant_id, "user_id": user_id,
            "kind": kind, "args": args or {}, "state": "queued", "progress": 0, "message": "",
            "attempts": 0, "cancel_requested": False, "idempotency_key": idempotency_key,
            "created_at": now, "updated_at": now}


def get_job(tenant_id: str, job_id: str, user_id: str | None = None) -> Job:
    """The job, or NotFound; with ``user_id`` only that user's job (attendees see their own).
    Redis holds every job that is not finished and recently finished ones; MongoDB the rest."""
    values = job_state.read(tenant_id, job_id)
    job = job_of(values) if values is not None else \
        Job.objects(tenant_id=tenant_id, id=job_id).first()
    if job is None or (user_id is not None and job.user_id != user_id):
        raise NotFound("No such job.", code="job_not_found")
    return job


def claim_job(tenant_id: str, job_id: str, worker: str, lease_seconds: int) -> Job | None:
    """Move a job to `running` for this worker, or return None if it is not ours to run.

    A job is claimable when queued, or when running under a lease that expired
    (its worker died). The attempt counter makes later writes of a stale worker fail:
    the takeover of an expired lease is a compare-and-set on it."""
    now = utcnow()
    claim = dict(set_={"state": "running", "worker": worker, "started_at": now,
                       "updated_at": now, "lease_until": now + timedelta(seconds=lease_seconds),
                       "message": "", "error": None},
                 incr={"attempts": 1})
    outcome, job = _change(tenant_id, job_id, cond=[("state", "eq", "queued")], **claim)
    if outcome == "ok":
        return job
    if job is None or job.state != "running" or job.lease_until is None \
            or job.lease_until >= now:
        return None
    return _changed(tenant_id, job_id, cond=[("state", "eq", "running"),
                                             ("attempts", "eq", job.attempts),
                                             ("lease_until", "lt", now)], **claim)


def _current(attempt: int) -> list[tuple[str, str, Any]]:
    return [("state", "eq", "running"), ("attempts", "eq", attempt)]


def record_progress(tenant_id: str, job_id: str, attempt: int, percent: int, message: str) -> Job | None:
    """Store progress of the current attempt; None if the attempt is no longer current."""
    return _changed(tenant_id, job_id, cond=_current(attempt), set_={
        "progress": max(0, min(100, int(percent))), "message": message[:500],
        "updated_at": utcnow()})


def finish_job(tenant_id: str, job_id: str, attempt: int, state: str, *,
               result: dict | None = None, error: dict | None = None, message: str = "") -> Job | None:
    """End the current attempt; None if another attempt or a cancel got there first."""
    assert state in FINISHED
    now = utcnow()
    changes_ = {"state": state, "updated_at": now, "finished_at": now, "lease_until": None,
                "result": result, "error": error, "message": message[:500]}
    if state == "succeeded":
        changes_["progress"] = 100
    return _changed(tenant_id, job_id, cond=_current(attempt), set_=changes_)


def finish_joined(tenant_id: str, results: dict[str, dict]) -> list[Job]:
    """End as succeeded, with ``results[job id]``, jobs that joined another's task and are
    still queued (one cancelled meanwhile stays cancelled): those it ended."""
    now = utcnow()
    ended = job_state.change_many(tenant_id, {
        job_id: {"state": "succeeded", "updated_at": now, "started_at": now,
                 "finished_at": now, "progress": 100, "result": result, "message": ""}
        for job_id, result in results.items()}, cond=[("state", "eq", "queued")])
    return [job_of(values) for values in ended.values()]


def release_for_retry(tenant_id: str, job_id: str, attempt: int, error: dict) -> Job | None:
    """Give the job back to the queue after a transient failure (the task retries it)."""
    return _changed(tenant_id, job_id, cond=_current(attempt), set_={
        "state": "queued", "lease_until": None, "error": error,
        "message": "Retrying after a temporary failure.", "updated_at": utcnow()})


def request_cancel(tenant_id: str, job_id: str, user_id: str | None = None) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress step."""
    owner = [("user_id", "eq", user_id)] if user_id is not None else []
    now = utcnow()
    outcome, job = _change(tenant_id, job_id, cond=[("state", "eq", "queued"), *owner], set_={
        "state": "cancelled", "cancel_requested": True, "finished_at": now, "updated_at": now,
        "message": "Cancelled before it started."})
    if outcome == "conflict" and job.state == "running":
        outcome, job = _change(tenant_id, job_id, cond=[("state", "eq", "running"), *owner],
                               set_={"cancel_requested": True, "updated_at": now,
                                     "message": "Cancellation requested."})
    if job is None or (user_id is not None and job.user_id != user_id):
        raise NotFound("No such job.", code="job_not_found")
    if outcome != "ok":
        raise Conflict("The job has already finished.", code="job_finished")
    return job


def requeue_failed(tenant_id: str, job_id: str) -> Job:
    """An operator's retry: a failed job goes back to `queued` for a new attempt."""
    outcome, job = _change(tenant_id, job_id, cond=[("state", "eq", "failed")], set_={
        "state": "queued", "progress": 0, "message": "Retried by an operator.", "error": None,
        "result": None, "finished_at": None, "updated_at": utcnow()})
    if job is None:
        raise NotFound("No such job.", code="job_not_found")
    if outcome != "ok":
        raise Conflict(f"Only failed jobs can be retried; this one is {job.state}.",
                       code="job_not_failed")
    return job


def touch_queued(tenant_id: str, job_id: str, message: str, seen_at: datetime) -> Job | None:
    """Mark a queued job as sent again, if it is still as the reaper saw it (queued,
    unchanged since ``seen_at``); None otherwise, so two reapers never both resend it."""
    return _changed(tenant_id, job_id,
                    cond=[("state", "eq", "queued"), ("updated_at", "eq", seen_at)],
                    set_={"updated_at": utcnow(), "message": message})


def _expired(attempts: int, now: datetime) -> list[tuple[str, str, Any]]:
    return [*_current(attempts), ("lease_until", "lt", now)]


def fail_expired(tenant_id: str, job_id: str, attempts: int, error: dict) -> Job | None:
    now = utcnow()
    return _changed(tenant_id, job_id, cond=_expired(attempts, now), set_={
        "state": "failed", "error": error, "lease_until": None, "finished_at": now,
        "updated_at": now})


def requeue_expired(tenant_id: str, job_id: str, attempts: int) -> Job | None:
    now = utcnow()
    return _changed(tenant_id, job_id, cond=_expired(attempts, now), set_={
        "state": "queued", "lease_until": None, "updated_at": now,
        "message": "Requeued: its worker stopped responding."})


# --- the reaper's lists, from Redis ----------------------------------------------------------

def expired_leases(now: datetime, limit: int = 500) -> list[Job]:
    """Running jobs whose worker has outlived its time limit, across all tenants."""
    return [job_of(values) for values in job_state.due(job_state.LEASES, now, limit)]


def stale_queued(before: datetime, limit: int = 500) -> list[Job]:
    """Jobs queued before ``before`` and never claimed: their message may be lost."""
    return [job_of(values) for values in job_state.due(job_state.QUEUED, before, limit)]


# --- the feed, from MongoDB ----------------------------------------------------------------

def list_jobs(tenant_id: str, *, user_id: str | None = None, state: str | None = None,
              kind: str | None = None, since: str | None = None,
              limit: int = 50) -> tuple[list[Job], str | None]:
    """Jobs changed after the cursor ``since``, oldest change first, and the next cursor.

    A client that was away passes the last cursor it saw and gets every job that
    changed since, whatever its state, so it never misses an update. The query is
    bounded by the flusher's watermark, read first: every change up to it is stored,
    so none can be flushed behind the cursor later. (A job whose newer change is
    already stored above the bound comes in a later page, with that change.)"""
    after = decode_cursor(since) if since else 0
    bound = changes.settled(FEED_WAIT)
    limit = max(1, min(limit, MAX_PAGE))
    filters: dict[str, Any] = {"tenant_id": tenant_id, "change_seq__gt": after,
                               "change_seq__lte": bound}
    if user_id is not None:
        filters["user_id"] = user_id
    elif state is not None:
        filters["state"] = state
    jobs: list[Job] = []
    if after < bound:
        for job in Job.objects(**filters).order_by("change_seq").batch_size(limit + 20):
            # Filters without an index of their own (rare) are applied here.
            if (state is not None and job.state != state) or (kind is not None and job.kind != kind):
                continue
            jobs.append(job)
            if len(jobs) == limit:
                return jobs, encode_cursor(job.change_seq)
    # Every change up to the bound was looked at: the next page starts above it.
    return jobs, encode_cursor(max(after, bound)) if since or bound else None


def encode_cursor(seq: int) -> str:
    return f"s{seq:x}"


CURSOR = re.compile(r"^s[0-9a-f]{1,15}$")


def decode_cursor(cursor: str) -> int:
    if not CURSOR.fullmatch(cursor):
        raise BadRequest("`since` is not a cursor returned by this API.", code="bad_cursor")
    return int(cursor[1:], 16)


# --- durability --------------------------------------------------------------------------------

def flush(records: list[tuple[int, dict]]) -> None:
    """The flusher's writer for jobs (meeteasy.flusher)."""
    job_state.flush(Job._get_collection(), records)


def restore_hot_state(tenant_id: str) -> tuple[int, int]:
    """After a Redis loss: put the tenant's unfinished jobs back into Redis (those Redis
    still has are kept). The number restored, and the tenant's latest stored change of a
    job (the caller raises the change sequence above it)."""
    restored = sum(job_state.restore(_values(job)) for job in
                   Job.objects(tenant_id=tenant_id, state__in=["queued", "running"]))
    latest = Job.objects(tenant_id=tenant_id).order_by("-change_seq").only("change_seq").first()
    return restored, (latest.change_seq or 0) if latest is not None else 0
