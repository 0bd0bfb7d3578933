"""The seating tasks: automatic assignment (a job on the ``seating`` queue) and beat's
release of expired holds. Both are thin: the work is in :mod:`services.seating`."""

from __future__ import annotations

from services.seating import automatic, places
from tasks.app import app, long_running
from tasks.base import JobContext, JobTask, ensure_process_ready


@app.task(base=JobTask, name="seating.auto_assign", **long_running())
def auto_assign_task(job: JobContext, conference_id: str) -> dict:
    return automatic.auto_assign(job.tenant_id, conference_id, by=f"auto:{job.job.id}",
                                 progress=lambda percent, message: job.progress(percent, message))


@app.task(name="seating.release_expired_holds", acks_late=True, reject_on_worker_lost=True)
def release_expired_holds_task() -> dict:
    ensure_process_ready()
    return places.release_expired_holds()
