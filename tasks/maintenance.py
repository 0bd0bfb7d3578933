"""Platform housekeeping run by beat."""

from __future__ import annotations

from services.jobs import reap_stuck_jobs
from tasks.app import app
from tasks.base import ensure_process_ready


@app.task(name="maintenance.reap_stuck_jobs", acks_late=True, reject_on_worker_lost=True)
def reap_stuck_jobs_task() -> dict:
    ensure_process_ready()
    return reap_stuck_jobs()
