"""Delivering hook events to plugins, off the path of the work that fired them."""

from __future__ import annotations

from services import plugins
from tasks.app import app
from tasks.base import JobContext, JobTask


@app.task(base=JobTask, name="plugins.deliver")
def deliver_task(job: JobContext, events: list[dict]) -> dict:
    return {"outcomes": plugins.deliver(job.tenant_id, events)}
