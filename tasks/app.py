"""The workers' side of the Celery application: the app itself lives with the routing
table in ``meeteasy/broker.py`` (``celery -A tasks.app`` still finds it here), and the
time limits of the tasks defined in this package."""

from __future__ import annotations

from meeteasy.broker import app, settings

__all__ = ["app", "settings", "lease_seconds", "long_running"]


def lease_seconds(time_limit: int | None = None) -> int:
    """How long a claimed job belongs to its worker: the task's hard time limit kills it
    by then. A dead worker's message comes back after the visibility timeout (checked to
    be longer, and counted from the fetch, just before the claim), so it finds the lease
    over and can claim the job. Should it come early anyway, it skips the job and the
    beat reaper requeues the job once its lease is over."""
    return time_limit or settings.task_time_limit


def long_running() -> dict:
    """Task options for bulk jobs: the long time limit (MEETEASY_LONG_TASK_TIME_LIMIT)."""
    return {"time_limit": settings.long_task_time_limit,
            "soft_time_limit": max(1, int(settings.long_task_time_limit * 0.9))}
