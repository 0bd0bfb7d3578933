"""Registration approval jobs: thin wrappers around :mod:`services.decisions`."""

from __future__ import annotations

from services import decisions
from tasks.app import app, long_running
from tasks.base import JobContext, JobTask, ensure_process_ready


@app.task(base=JobTask, name="registrations.apply_policy")
def apply_policy_task(job: JobContext, conference_id: str, registration_id: str | None = None) -> dict:
    """Decide the conference's new registrations; with ``registration_id``, report that one."""
    return decisions.run_policy(job.tenant_id, conference_id, registration_id)


@app.task(base=JobTask, name="registrations.staff_decision", **long_running())
def staff_decision_task(job: JobContext, conference_id: str, registration_ids: list[str],
                        action: str, reason: str = "") -> dict:
    def progress(done: int, total: int) -> None:
        job.progress(100 * done // max(total, 1), f"{done} of {total} registrations")

    return decisions.staff_decide(job.tenant_id, conference_id, registration_ids, action,
                                  job.job.user_id, reason, progress)


@app.task(name="registrations.sweep_queued", acks_late=True, reject_on_worker_lost=True)
def sweep_queued_task() -> dict:
    """Decide what waits in policy queues with no job coming (beat, every
    ``MEETEASY_POLICY_SWEEP_INTERVAL`` seconds)."""
    ensure_process_ready()
    return decisions.sweep_queued()
