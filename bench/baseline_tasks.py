"""The baseline's Celery app: one no-op task whose worker emits one Socket.IO event.

It is the bare pipeline MeetEasy is compared against (``bench/pipeline.py``): no
MongoDB, no job document, no claim, one push. The Celery settings that shape the
pipeline (prefork, acks late, prefetch 1, JSON, task events) match ``tasks/app.py``,
so the MeetEasy/baseline ratio measures MeetEasy's own work, not Celery tuning.

Configured from the environment: ``BENCH_REDIS_URL`` (broker and Socket.IO fan-out).
Run a worker with ``celery -A bench.baseline_tasks worker -Q bench-baseline``.
"""

from __future__ import annotations

import os

import socketio
from celery import Celery
from kombu import Queue

QUEUE = "bench-baseline"
CHANNEL = "bench:socketio"
EVENT = "job.updated"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")

app = Celery("bench-baseline")
app.conf.update(
    broker_url=REDIS_URL,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_queues=[Queue(QUEUE)],
    task_default_queue=QUEUE,
    worker_send_task_events=True,
    task_send_sent_event=True,
    worker_hijack_root_logger=False,
)

_manager: socketio.RedisManager | None = None
_manager_pid: int | None = None


def _emitter() -> socketio.RedisManager:
    # Made in the process that emits (after the prefork), like meeteasy.push.
    global _manager, _manager_pid
    if _manager is None or _manager_pid != os.getpid():
        _manager = socketio.RedisManager(REDIS_URL, channel=CHANNEL, write_only=True)
        _manager_pid = os.getpid()
    return _manager


@app.task(name="bench.noop")
def noop(job_id: str, room: str) -> None:
    """Do nothing, then tell the room the job is done."""
    _emitter().emit(EVENT, {"id": job_id, "state": "succeeded"}, to=room)
