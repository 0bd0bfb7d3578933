"""The Celery application and the routing table: how work reaches the workers.

This is the broker side only (no task code), so the web process and the services
send tasks by name without importing the workers' modules. Configuration follows
ARCHITECTURE.md's reliability rules. Importing this module reads settings but opens
no connection.
"""

from __future__ import annotations

import sys

from celery import Celery
from kombu import Queue

from meeteasy.settings import load_or_exit

# The routing table: every task by name, and the queue that serves it. The worker's
# queues, Celery's routes, the beat schedule, the job starter and the tests read it.
ROUTES = {
    "diagnostics.ping": "default",
    "registrations.apply_policy": "default",
    "registrations.staff_decision": "default",
    "registrations.sweep_queued": "default",
    "registrations.export": "analytics",
    "seating.auto_assign": "seating",
    "seating.release_expired_holds": "seating",
    "plugins.deliver": "plugins",
    "maintenance.reap_stuck_jobs": "default",
    "conferences.advance_by_dates": "default",
}
# The kinds of job a service may start (tasks on JobTask); the rest are beat's.
JOB_KINDS = frozenset({"diagnostics.ping", "registrations.apply_policy",
                       "registrations.staff_decision", "registrations.export",
                       "seating.auto_assign", "plugins.deliver"})
# Every queue a worker serves, "default" first; "ai" and "analytics" are reserved for
# the workloads of those names.
QUEUES = tuple(dict.fromkeys(("default", *ROUTES.values(), "ai", "analytics")))
settings = load_or_exit()
_unknown_queues = sorted(set(settings.queue_limit_overrides) - set(QUEUES))
if _unknown_queues:
    sys.exit(f"meeteasy: invalid setting MEETEASY_QUEUE_LIMITS: unknown queue(s) "
             f"{', '.join(_unknown_queues)}; the queues are {', '.join(QUEUES)}")


def restore_sweep_seconds(visibility_timeout: int) -> int:
    """How often a worker looks for expired unacked messages: a quarter of the
    visibility timeout, between 1 and 10 seconds."""
    return max(1, min(10, visibility_timeout // 4))


app = Celery("meeteasy", include=[
    "tasks.diagnostics", "tasks.maintenance", "tasks.registrations", "tasks.exports", "tasks.plugins",
    "tasks.conferences", "tasks.seating",
])
app.conf.update(
    broker_url=settings.redis_url,
    broker_connection_retry_on_startup=True,
    # Results live in the Job document; Celery's result backend would be a second truth.
    task_ignore_result=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=settings.task_time_limit,
    task_soft_time_limit=max(1, int(settings.task_time_limit * 0.9)),
    broker_transport_options={
        "visibility_timeout": settings.visibility_timeout,
        # kombu gives a dead worker's unacked messages back only when a live worker
        # sweeps for them: by default a sweep every 10 s that scans Redis only every
        # 10th time, so up to 100 s late, whatever the visibility timeout. Scan on each
        # sweep, and sweep often enough relative to the visibility timeout.
        "unacked_restore_interval": restore_sweep_seconds(settings.visibility_timeout),
        "unacked_restore_throttle": 1,
        # A worker killed during a sweep leaves the sweep mutex behind; kombu's default
        # of 300 s would stall every redelivery that long.
        "unacked_mutex_expire": min(300, settings.visibility_timeout),
    },
    task_queues=[Queue(name) for name in QUEUES],
    task_default_queue="default",
    task_routes={name: {"queue": queue} for name, queue in ROUTES.items()},
    worker_send_task_events=True,
    task_send_sent_event=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
    enable_utc=True,
    beat_scheduler="redbeat.RedBeatScheduler",
    redbeat_redis_url=settings.redis_url,
    redbeat_key_prefix="meeteasy:beat:",
)

