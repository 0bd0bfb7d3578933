"""Starting jobs: the one way the API and the CLI hand work to the workers.

A job kind is the name of its Celery task; :data:`KINDS` says which queue serves
it. Callers enqueue by name (``send_task``), so the web process never imports
task code.
"""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from meeteasy.errors import NotFound, ServiceUnavailable
from models import jobs as job_store
from models.jobs import Job
from tasks.app import app

log = logging.getLogger(__name__)

KINDS = {
    "diagnostics.ping": "default",
    "registrations.apply_policy": "default",
    "registrations.staff_decision": "default",
    "registrations.export": "analytics",
    "seating.auto_assign": "seating",
}
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}


def start_job(tenant_id: str, user_id: str, kind: str, args: dict | None = None,
              idempotency_key: str | None = None) -> Job:
    """Record a queued job and send its task; the task id is the job id."""
    if kind not in KINDS:
        raise NotFound(f"Unknown job kind {kind!r}.", code="unknown_job_kind")
    job = job_store.create_job(tenant_id, user_id, kind, args, idempotency_key)
    enqueue(job)
    return job


def enqueue(job: Job) -> None:
    """Send the job's task. If the broker cannot take it, the job is failed (never left
    queued with no message) and ServiceUnavailable is raised."""
    try:
        app.send_task(job.kind, kwargs={"tenant_id": job.tenant_id, "job_id": job.id},
                      task_id=job.id, queue=KINDS[job.kind], retry=True, retry_policy=PUBLISH_RETRY)
    except OperationalError:
        log.exception("could not enqueue job %s", job.id)
        job_store.fail_unsent(job.tenant_id, job.id, {
            "code": "enqueue_failed", "message": "The task queue was unavailable."})
        raise ServiceUnavailable("The task queue is unavailable; nothing was started.")


def retry_job(tenant_id: str, job_id: str) -> Job:
    """An operator's retry of a failed job: a new attempt of the same job."""
    job = job_store.requeue_failed(tenant_id, job_id)
    enqueue(job)
    return job
