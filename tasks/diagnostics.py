"""Diagnostics: the ping job operators use to check the whole pipeline."""

from __future__ import annotations

import socket
import time
from datetime import datetime

from meeteasy.errors import ValidationFailed
from services import diagnostics
from tasks.app import app, settings
from tasks.base import JobContext, JobTask

MAX_HOLD_SECONDS = 60


def check_hold(hold_seconds: int) -> None:
    limit = min(MAX_HOLD_SECONDS, settings.task_time_limit - 1)
    if not 0 <= hold_seconds <= limit:
        raise ValidationFailed.for_fields({"hold_seconds": [f"Must be between 0 and {limit}."]})


def ping_report(*, worker: str, created_at: datetime, started_at: datetime,
                redis_version: str, mongodb_version: str) -> dict:
    """What a ping tells an operator: who ran it, how long it queued, what it talked to."""
    return {
        "worker": worker,
        "host": socket.gethostname(),
        "queue_delay_ms": max(0, round((started_at - created_at).total_seconds() * 1000)),
        "redis_version": redis_version,
        "mongodb_version": mongodb_version,
    }


@app.task(base=JobTask, name="diagnostics.ping")
def ping(job: JobContext, hold_seconds: int = 0) -> dict:
    """Round-trip through a worker; ``hold_seconds`` keeps it running (to test
    progress, cancellation and worker loss), reporting progress each second."""
    check_hold(hold_seconds)
    for second in range(hold_seconds):
        job.progress(100 * second // hold_seconds, f"Holding, {hold_seconds - second}s left.")
        time.sleep(1)
    return ping_report(
        worker=job.job.worker,
        created_at=job.job.created_at,
        started_at=job.job.started_at,
        **diagnostics.server_versions(),
    )
