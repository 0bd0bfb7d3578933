"""The base of every job-backed task: claim, run, record, push.

A task receives ``tenant_id`` and ``job_id`` only; its arguments are re-read from
the Job. State is written before it is pushed; the claim is not pushed (the first
progress report or the end is). Failures are classified:
a :class:`MeetEasyError` fails the job at once with its code and message; a
transient error puts the job back in the queue and retries with backoff until
``MEETEASY_TASK_MAX_RETRIES``; anything else fails the job as ``internal_error``
and is logged with the job id, without leaking details to the client.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pymongo.errors
import redis.exceptions
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from meeteasy import db
from meeteasy.errors import JobCancelled, MeetEasyError, TransientError
from meeteasy.settings import get_settings
from models import jobs as job_records
from models.jobs import Job
from services.jobs import claim_job, update_job
from tasks.app import lease_seconds

log = logging.getLogger(__name__)

TRANSIENT = (TransientError, pymongo.errors.ConnectionFailure, redis.exceptions.ConnectionError,
             redis.exceptions.TimeoutError)
_connected_pid: int | None = None


def ensure_process_ready() -> None:
    """Connect this worker process to MongoDB once (after the fork, whatever the pool)."""
    global _connected_pid
    if _connected_pid != os.getpid():
        db.connect(get_settings())
        _connected_pid = os.getpid()


class StaleAttempt(Exception):
    """This attempt lost its job (reaped or finished elsewhere): stop without writing."""


class JobContext:
    """What a running task may do with its job: read its arguments, report progress."""

    def __init__(self, job: Job):
        self.job = job
        self.attempt = job.attempts

    @property
    def tenant_id(self) -> str:
        return self.job.tenant_id

    def progress(self, percent: int, message: str = "") -> None:
        """Store and push progress; raises JobCancelled if staff cancelled the job."""
        job = update_job(job_records.record_progress, self.tenant_id, self.job.id, self.attempt,
                         percent, message)
        if job is None:
            raise StaleAttempt(self.job.id)
        self.job = job
        if job.cancel_requested:
            raise JobCancelled()


class JobTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    # Retries are driven by __call__ (it must put the job back to `queued` first).
    max_retries = None
    # Messages carry (tenant_id, job_id), not run()'s parameters: Celery must not check
    # them against run()'s signature, or it refuses every retry.
    typing = False

    def __call__(self, *, tenant_id: str, job_id: str) -> None:
        ensure_process_ready()
        hostname = self.request.hostname or os.uname().nodename
        job = claim_job(tenant_id, job_id, hostname, lease_seconds(self.time_limit))
        if job is None:
            log.info("job %s not claimable (finished, cancelled or running elsewhere); skipped", job_id)
            return
        context = JobContext(job)
        if job.cancel_requested:  # cancelled while its previous worker was dying
            self._finish(context, "cancelled", message="Cancelled.")
            return
        try:
            result = self.run(context, **job.args)
        except StaleAttempt:
            log.warning("job %s attempt %s lost its lease; its result is discarded", job_id,
                        context.attempt)
            return
        except JobCancelled:
            self._finish(context, "cancelled", message="Cancelled.")
        except TRANSIENT as error:
            self._retry_or_fail(context, error)
        except SoftTimeLimitExceeded:
            self._finish(context, "failed", error={
                "code": "timed_out",
                "message": f"The job ran past its time limit of {get_settings().task_time_limit}s."})
        except MeetEasyError as error:
            self._finish(context, "failed", error={"code": error.code, "message": error.message})
        except Exception:
            log.exception("job %s (%s) failed unexpectedly", job_id, job.kind)
            self._finish(context, "failed", error={
                "code": "internal_error",
                "message": f"An unexpected error stopped the job; operators can find it as {job_id}."})
        else:
            self._finish(context, "succeeded", result=result or {})

    def _finish(self, context: JobContext, state: str, **outcome: Any) -> None:
        update_job(job_records.finish_job, context.tenant_id, context.job.id, context.attempt, state,
                   **outcome)

    def _retry_or_fail(self, context: JobContext, error: Exception) -> None:
        attempt = context.attempt
        if attempt > get_settings().task_max_retries:
            self._finish(context, "failed", error={
                "code": "transient_error",
                "message": f"Gave up after {attempt} attempts: {type(error).__name__}."})
            return
        job = update_job(job_records.release_for_retry, context.tenant_id, context.job.id, attempt, {
            "code": "transient_error", "message": f"Attempt {attempt} failed: {type(error).__name__}."})
        if job is None:
            return
        log.warning("job %s attempt %s hit %r; retrying", context.job.id, attempt, error)
        # Short backoff, far below the visibility timeout (ARCHITECTURE: no long ETAs).
        raise self.retry(kwargs={"tenant_id": context.tenant_id, "job_id": context.job.id},
                         countdown=min(2 ** attempt, 30), max_retries=None)
