"""CSV exports of registrations: a thin wrapper around :mod:`services.exports`."""

from __future__ import annotations

from services import exports
from tasks.app import app, long_running
from tasks.base import JobContext, JobTask


@app.task(base=JobTask, name="registrations.export", **long_running())
def export_task(job: JobContext, conference_id: str, status: str | None = None) -> dict:
    return exports.export_registrations(job.tenant_id, job.job.id, job.job.user_id,
                                        conference_id, status)
