"""Platform housekeeping run by beat."""

from __future__ import annotations

import logging
from datetime import timedelta

from models import jobs as job_store
from models.base import utcnow
from tasks.app import app, settings
from tasks.base import ensure_process_ready, push_job
from tasks.jobs import enqueue

log = logging.getLogger(__name__)


def reap_stuck_jobs() -> dict:
    """Take back jobs whose worker died: requeue them while attempts remain, else fail
    them; and resend jobs that sat `queued` so long their message may be lost.

    Every change is conditional on the state it saw, so running this twice, or
    beside a worker that just claimed the job, changes nothing twice."""
    requeued, failed, resent = [], [], []
    for job in job_store.expired_leases(utcnow()):
        if job.attempts > settings.task_max_retries:
            done = job_store.fail_expired(job.tenant_id, job.id, job.attempts, {
                "code": "timed_out",
                "message": f"The job's worker stopped responding on each of {job.attempts} attempts."})
            bucket = failed
        else:
            done = job_store.requeue_expired(job.tenant_id, job.id, job.attempts)
            bucket = requeued
        if done is not None:
            push_job(done)
            if bucket is requeued:
                enqueue(done)
            bucket.append(done.id)
    stale_before = utcnow() - timedelta(seconds=settings.queued_job_grace)
    for job in job_store.stale_queued(stale_before):
        touched = job_store.touch_queued(job.tenant_id, job.id, "Sent again by the reaper.",
                                         job.updated_at)
        if touched is not None:
            enqueue(touched)
            resent.append(touched.id)
    if requeued or failed or resent:
        log.warning("reaper: requeued %s, failed %s, resent %s", requeued, failed, resent)
    return {"requeued": requeued, "failed": failed, "resent": resent}


@app.task(name="maintenance.reap_stuck_jobs", acks_late=True, reject_on_worker_lost=True)
def reap_stuck_jobs_task() -> dict:
    ensure_process_ready()
    return reap_stuck_jobs()
