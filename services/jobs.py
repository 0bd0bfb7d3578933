"""Jobs: the one door to the workers, and the one writer of a job's state.

Every piece of asynchronous work is a Job whose id is its Celery task id.
:func:`start_job` records it and sends its task by name (the web process never
imports task code); :func:`update_job` applies a conditional change of its state
and pushes ``job.updated`` when the change took effect, so a client sees exactly
the states that were stored. A job's state is hot, in Redis (:mod:`models.jobs`);
none of these changes waits on MongoDB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kombu.exceptions import OperationalError

from meeteasy.broker import JOB_KINDS, ROUTES, app, settings
from meeteasy.errors import NotFound, ServiceUnavailable
from models import jobs as job_records
from models import tenants as tenant_records
from models.base import utcnow
from models.jobs import MAX_PAGE, Job, public_view  # noqa: F401  (the API's view of a job)
from services import backpressure, events
from services.access import Caller

log = logging.getLogger(__name__)
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}


def start_job(tenant_id: str, user_id: str, kind: str, args: dict | None = None,
              idempotency_key: str | None = None) -> Job:
    """Record a queued job and send its task; the task id is the job id."""
    if kind not in JOB_KINDS:
        raise NotFound(f"Unknown job kind {kind!r}.", code="unknown_job_kind")
    backpressure.admit(tenant_id, user_id, kind)
    job = job_records.create_job(tenant_id, user_id, kind, args, idempotency_key)
    enqueue(job)
    return job


def enqueue(job: Job) -> None:
    """Send the job's task to its queue. If the broker cannot take it, the job is failed
    (never left queued with no message) and ServiceUnavailable is raised."""
    try:
        app.send_task(job.kind, kwargs={"tenant_id": job.tenant_id, "job_id": job.id},
                      task_id=job.id, queue=ROUTES[job.kind], retry=True,
                      retry_policy=PUBLISH_RETRY)
    except OperationalError:
        log.exception("could not enqueue job %s", job.id)
        job_records.fail_unsent(job.tenant_id, job.id, {
            "code": "enqueue_failed", "message": "The task queue was unavailable."})
        raise ServiceUnavailable("The task queue is unavailable; nothing was started.")


def update_job(change: Callable[..., Job | None], tenant_id: str, job_id: str, *args: Any,
               **kwargs: Any) -> Job | None:
    """Apply one of :mod:`models.jobs`' conditional state changes (``record_progress``,
    ``finish_job``…) and, if it took effect, announce the job as it now is."""
    job = change(tenant_id, job_id, *args, **kwargs)
    if job is not None:
        events.job_updated(job)
    return job


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
        restored, latest = restored + count, max(latest, seq)
    return {"restored": restored, "sequence": latest}
