"""Jobs: the record of every piece of asynchronous work, and the source of truth
that clients poll (push is only a hint).

State changes are conditional updates, so a redelivered task, a second worker or
a late cancel can never move a job backwards: ``queued → running → succeeded |
failed | cancelled``; ``failed → queued`` only by an operator's retry.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import mongoengine as me

from meeteasy.errors import BadRequest, Conflict, NotFound
from models.base import TenantDocument, iso, utcnow

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
MAX_PAGE = 200


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
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "jobs",
        "indexes": [
            # one job: get, and every conditional state change (state, attempt, lease)
            ("tenant_id", "id", "state", "attempts", "lease_until"),
            ("tenant_id", "id", "user_id"),
            ("tenant_id", "id", "state", "updated_at"),
            # listing by change (the `since` feed), optionally by owner, state or kind
            ("tenant_id", "updated_at", "id"),
            ("tenant_id", "user_id", "updated_at", "id"),
            ("tenant_id", "state", "updated_at", "id"),
            ("tenant_id", "kind", "updated_at", "id"),
            ("tenant_id", "user_id", "state", "updated_at", "id"),
            ("tenant_id", "user_id", "kind", "updated_at", "id"),
            # Platform-level: the reaper looks across tenants for expired leases.
            ("state", "lease_until"),
            ("state", "updated_at"),
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
        "error": job.error,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "user_id": job.user_id,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "cursor": encode_cursor(job),
    }


def create_job(tenant_id: str, user_id: str, kind: str, args: dict | None = None,
               idempotency_key: str | None = None) -> Job:
    return Job(tenant_id=tenant_id, user_id=user_id, kind=kind, args=args or {},
               idempotency_key=idempotency_key).save(force_insert=True)


def get_job(tenant_id: str, job_id: str, user_id: str | None = None) -> Job:
    """The job, or NotFound; with ``user_id`` only that user's job (attendees see their own)."""
    filters = {"tenant_id": tenant_id, "id": job_id}
    if user_id is not None:
        filters["user_id"] = user_id
    job = Job.objects(**filters).first()
    if job is None:
        raise NotFound("No such job.", code="job_not_found")
    return job


def list_jobs(tenant_id: str, *, user_id: str | None = None, state: str | None = None,
              kind: str | None = None, since: str | None = None,
              limit: int = 50) -> tuple[list[Job], str | None]:
    """Jobs changed after the cursor ``since``, oldest change first, and the next cursor.

    A client that was away passes the last cursor it saw and gets every job that
    changed since, whatever its state, so it never misses an update."""
    filters: dict[str, Any] = {"tenant_id": tenant_id}
    if user_id is not None:
        filters["user_id"] = user_id
    if state is not None:
        filters["state"] = state
    elif kind is not None:
        filters["kind"] = kind
    after = None
    if since:
        after = decode_cursor(since)
        # A range on the timestamp alone (no $or), so that an index serves it; the few
        # jobs of the cursor's own millisecond that come before it are skipped below.
        filters["updated_at__gte"] = after[0]
    limit = max(1, min(limit, MAX_PAGE))
    jobs = []
    for job in Job.objects(**filters).order_by("updated_at", "id").batch_size(limit + 20):
        if after and (job.updated_at, job.id) <= after:
            continue
        if kind is not None and job.kind != kind:  # with a state filter as well: rare
            continue
        jobs.append(job)
        if len(jobs) == limit:
            break
    next_cursor = encode_cursor(jobs[-1]) if jobs else since
    return jobs, next_cursor


def encode_cursor(job: Job) -> str:
    return f"{int(job.updated_at.timestamp() * 1000)}.{job.id}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    millis, _, job_id = cursor.partition(".")
    try:
        moment = datetime.fromtimestamp(int(millis) / 1000, tz=utcnow().tzinfo)
    except (ValueError, OverflowError, OSError):  # OSError: beyond the platform's time range
        raise BadRequest("`since` is not a cursor returned by this API.", code="bad_cursor")
    return moment, job_id


def claim_job(tenant_id: str, job_id: str, worker: str, lease_seconds: int) -> Job | None:
    """Move a job to `running` for this worker, or return None if it is not ours to run.

    A job is claimable when queued, or when running under a lease that expired
    (its worker died). The attempt counter makes later writes of a stale worker fail:
    the takeover of an expired lease is a compare-and-set on it."""
    now = utcnow()
    claim = dict(new=True, set__state="running", set__worker=worker, set__started_at=now,
                 set__updated_at=now, set__lease_until=now + timedelta(seconds=lease_seconds),
                 set__message="", set__error=None, inc__attempts=1)
    job = Job.objects(tenant_id=tenant_id, id=job_id, state="queued").modify(**claim)
    if job is not None:
        return job
    current = Job.objects(tenant_id=tenant_id, id=job_id).first()
    if current is None or current.state != "running" or current.lease_until is None \
            or current.lease_until >= now:
        return None
    return Job.objects(tenant_id=tenant_id, id=job_id, state="running",
                       attempts=current.attempts).modify(**claim)


def record_progress(tenant_id: str, job_id: str, attempt: int, percent: int, message: str) -> Job | None:
    """Store progress of the current attempt; None if the attempt is no longer current."""
    return Job.objects(tenant_id=tenant_id, id=job_id, state="running", attempts=attempt).modify(
        new=True, set__progress=max(0, min(100, int(percent))), set__message=message[:500],
        set__updated_at=utcnow())


def finish_job(tenant_id: str, job_id: str, attempt: int, state: str, *,
               result: dict | None = None, error: dict | None = None, message: str = "") -> Job | None:
    """End the current attempt; None if another attempt or a cancel got there first."""
    assert state in FINISHED
    now = utcnow()
    changes = dict(set__state=state, set__updated_at=now, set__finished_at=now,
                   set__lease_until=None, set__result=result, set__error=error,
                   set__message=message[:500])
    if state == "succeeded":
        changes["set__progress"] = 100
    return Job.objects(tenant_id=tenant_id, id=job_id, state="running", attempts=attempt).modify(
        new=True, **changes)


def release_for_retry(tenant_id: str, job_id: str, attempt: int, error: dict) -> Job | None:
    """Give the job back to the queue after a transient failure (the task retries it)."""
    return Job.objects(tenant_id=tenant_id, id=job_id, state="running", attempts=attempt).modify(
        new=True, set__state="queued", set__lease_until=None, set__error=error,
        set__message="Retrying after a temporary failure.", set__updated_at=utcnow())


def request_cancel(tenant_id: str, job_id: str, user_id: str | None = None) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress step."""
    get_job(tenant_id, job_id, user_id)
    now = utcnow()
    job = Job.objects(tenant_id=tenant_id, id=job_id, state="queued").modify(
        new=True, set__state="cancelled", set__cancel_requested=True, set__finished_at=now,
        set__updated_at=now, set__message="Cancelled before it started.")
    if job is None:
        job = Job.objects(tenant_id=tenant_id, id=job_id, state="running").modify(
            new=True, set__cancel_requested=True, set__updated_at=now,
            set__message="Cancellation requested.")
    if job is None:
        raise Conflict("The job has already finished.", code="job_finished")
    return job


def requeue_failed(tenant_id: str, job_id: str) -> Job:
    """An operator's retry: a failed job goes back to `queued` for a new attempt."""
    job = Job.objects(tenant_id=tenant_id, id=job_id, state="failed").modify(
        new=True, set__state="queued", set__progress=0, set__message="Retried by an operator.",
        set__error=None, set__result=None, set__finished_at=None, set__updated_at=utcnow())
    if job is None:
        current = get_job(tenant_id, job_id)
        raise Conflict(f"Only failed jobs can be retried; this one is {current.state}.",
                       code="job_not_failed")
    return job


def expired_leases(now: datetime, limit: int = 500) -> list[Job]:
    """Running jobs whose worker has outlived its time limit, across all tenants."""
    return list(Job.objects.across_tenants().filter(state="running", lease_until__lt=now).limit(limit))


def stale_queued(before: datetime, limit: int = 500) -> list[Job]:
    """Jobs queued before ``before`` and never claimed: their message may be lost."""
    return list(Job.objects.across_tenants().filter(state="queued", updated_at__lt=before).limit(limit))


def fail_unsent(tenant_id: str, job_id: str, error: dict) -> Job | None:
    """A queued job whose task could not be sent: failed, so nobody waits for it."""
    now = utcnow()
    return Job.objects(tenant_id=tenant_id, id=job_id, state="queued").modify(
        new=True, set__state="failed", set__error=error, set__finished_at=now, set__updated_at=now)


def touch_queued(tenant_id: str, job_id: str, message: str, seen_at: datetime) -> Job | None:
    """Mark a queued job as sent again, if it is still as the reaper saw it (queued,
    unchanged since ``seen_at``); None otherwise, so two reapers never both resend it."""
    return Job.objects(tenant_id=tenant_id, id=job_id, state="queued",
                       updated_at=seen_at).modify(
        new=True, set__updated_at=utcnow(), set__message=message)


def fail_expired(tenant_id: str, job_id: str, attempts: int, error: dict) -> Job | None:
    now = utcnow()
    return Job.objects(tenant_id=tenant_id, id=job_id, state="running", attempts=attempts,
                       lease_until__lt=now).modify(
        new=True, set__state="failed", set__error=error, set__lease_until=None,
        set__finished_at=now, set__updated_at=now)


def requeue_expired(tenant_id: str, job_id: str, attempts: int) -> Job | None:
    return Job.objects(tenant_id=tenant_id, id=job_id, state="running", attempts=attempts,
                       lease_until__lt=utcnow()).modify(
        new=True, set__state="queued", set__lease_until=None, set__updated_at=utcnow(),
        set__message="Requeued: its worker stopped responding.")
