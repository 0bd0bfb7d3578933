"""Jobs: the one door to the workers, and the one writer of a job's state.

Every piece of asynchronous work is a Job whose id is its Celery task id.
:func:`start_job` records it and queues its task by name, in one Redis script (the
web process never imports task code, nor goes through kombu's producer:
:mod:`meeteasy.task_message`); :func:`update_job` applies a conditional change of its state
and pushes ``job.updated`` when the change took effect, so a client sees exactly
the states that were stored. A job's state is hot, in Redis (:mod:`models.jobs`);
none of these changes waits on MongoDB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from meeteasy import changes
from meeteasy.broker import JOB_KINDS, ROUTES, settings
from meeteasy.errors import NotFound, ServiceUnavailable
from meeteasy.redisconn import OUTAGES, get_redis
from meeteasy.task_message import redis_message
from models import jobs as job_records
from models import registrations as registration_records
from models import tenants as tenant_records
from models.base import utcnow
from models.jobs import CURSOR, MAX_PAGE, Job, public_view  # noqa: F401  (the API's view of a job)
from services import backpressure, events
from services.access import Caller

log = logging.getLogger(__name__)


def start_job(tenant_id: str, user_id: str, kind: str, args: dict | None = None,
              idempotency_key: str | None = None) -> Job:
    """Record a queued job and queue its task (the task id is the job id), both in one
    Redis script: a job is recorded if and only if its message is queued. Redis out of
    reach raises ServiceUnavailable, with nothing started."""
    if kind not in JOB_KINDS:
        raise NotFound(f"Unknown job kind {kind!r}.", code="unknown_job_kind")
    job_id = job_records.new_job_id()
    try:
        backpressure.admit(tenant_id, user_id, kind)
        return job_records.create_job(tenant_id, user_id, kind, args, idempotency_key,
                                      job_id=job_id, publish=_message(kind, tenant_id, job_id))
    except OUTAGES as error:
        raise ServiceUnavailable("The task queue is unavailable; nothing was started.") \
            from error


def prepare_job(tenant_id: str, user_id: str, kind: str, args: dict,
                idempotency_key: str | None) -> tuple[dict, tuple[str, str]]:
    """A new job's values and its (queue, task message), for a model that records the
    job together with what it is about (:func:`models.registrations.create_with_job`);
    the caller has admitted it (:func:`services.backpressure.admit`)."""
    values = job_records.new_job_values(tenant_id, user_id, kind, args, idempotency_key)
    return values, _message(kind, tenant_id, values["id"])


def enqueue(job: Job) -> None:
    """Queue the task of a job that is recorded already (an operator's retry, the
    reaper's resend). If Redis fails here the job stays queued with no message, and the
    reaper sends it again once it has waited ``MEETEASY_QUEUED_JOB_GRACE``."""
    queue, message = _message(job.kind, job.tenant_id, job.id)
    get_redis().lpush(queue, message)


def _message(kind: str, tenant_id: str, job_id: str) -> tuple[str, str]:
    """The task's queue and the message that Celery's Redis transport would push there."""
    queue = ROUTES[kind]
    return queue, redis_message(kind, job_id, {"tenant_id": tenant_id, "job_id": job_id}, queue)


def update_job(change: Callable[..., Job | None], tenant_id: str, job_id: str, *args: Any,
               **kwargs: Any) -> Job | None:
    """Apply one of :mod:`models.jobs`' conditional state changes (``record_progress``,
    ``finish_job``…) and, if it took effect, announce the job as it now is."""
    job = change(tenant_id, job_id, *args, **kwargs)
    if job is not None:
        events.job_updated(job)
    return job


def finish_joined(tenant_id: str, results: dict[str, dict]) -> None:
    """End jobs that joined the task that did their work (:class:`models.job_state.Join`),
    each with its result, and announce them."""
    for job in job_records.finish_joined(tenant_id, results):
        events.job_updated(job)


def claim_job(tenant_id: str, job_id: str, worker: str, lease_seconds: int) -> Job | None:
    """A worker's claim of the job (see :func:`models.jobs.claim_job`). Not announced: a
    running job is pushed at its first progress report and at its end, so a short job
    sends one ``job.updated``, its end."""
    return job_records.claim_job(tenant_id, job_id, worker, lease_seconds)


# --- what callers do with jobs ------------------------------------------------------------


def get_job(caller: Caller, job_id: str) -> Job:
    """One job: staff read any of their tenant's, others only their own."""
    return job_records.get_job(caller.tenant_id, job_id, caller.own_only)


def list_jobs(caller: Caller, *, state: str | None, kind: str | None, since: str | None,
              limit: int) -> tuple[list[Job], str | None]:
    """Jobs changed since a cursor, oldest change first, and the next cursor."""
    return job_records.list_jobs(caller.tenant_id, user_id=caller.own_only, state=state,
                                 kind=kind, since=since, limit=limit)


def cancel_job(caller: Caller, job_id: str) -> Job:
    """Cancel at once if queued; a running job stops at its next progress report."""
    return update_job(job_records.request_cancel, caller.tenant_id, job_id, caller.own_only)


def retry_job(tenant_id: str, job_id: str) -> Job:
    """An operator's retry of a failed job: a new attempt of the same job."""
    job = update_job(job_records.requeue_failed, tenant_id, job_id)
    enqueue(job)
    return job


def reap_stuck_jobs() -> dict:
    """Take back jobs whose worker died: requeue them while attempts remain, else fail
    them; and resend jobs that sat `queued` so long their message may be lost.

    Every change is conditional on the state it saw, so running this twice, or
    beside a worker that just claimed the job, changes nothing twice."""
    requeued, failed, resent = [], [], []
    for job in job_records.expired_leases(utcnow()):
        if job.attempts > settings.task_max_retries:
            done = update_job(job_records.fail_expired, job.tenant_id, job.id, job.attempts, {
                "code": "timed_out",
                "message": f"The job's worker stopped responding on each of {job.attempts} attempts."})
            if done is not None:
                failed.append(done.id)
        else:
            done = update_job(job_records.requeue_expired, job.tenant_id, job.id, job.attempts)
            if done is not None:
                enqueue(done)
                requeued.append(done.id)
    stale_before = utcnow() - timedelta(seconds=settings.queued_job_grace)
    for job in job_records.stale_queued(stale_before):
        touched = job_records.touch_queued(job.tenant_id, job.id, "Sent again by the reaper.",
                                           job.updated_at)
        if touched is not None:
            enqueue(touched)
            resent.append(touched.id)
    if requeued or failed or resent:
        log.warning("reaper: requeued %s, failed %s, resent %s", requeued, failed, resent)
    return {"requeued": requeued, "failed": failed, "resent": resent}


def restore_hot_state() -> dict:
    """After a Redis loss: every tenant's unfinished jobs back into Redis (from MongoDB,
    where the flusher stored them), and the change sequence above every stored change.
    Jobs that Redis still has are left as they are, so running it twice is harmless."""
    restored, latest = 0, 0
    for tenant in tenant_records.list_tenants():
        count, seq = job_records.restore_hot_state(str(tenant.id))
        # Registrations' changes share the sequence: new ones are numbered above theirs.
        seq = max(seq, registration_records.latest_change_seq(str(tenant.id)))
        restored, latest = restored + count, max(latest, seq)
    changes.raise_floor(latest)
    return {"restored": restored, "sequence": latest}
