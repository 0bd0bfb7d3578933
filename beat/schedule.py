"""The beat schedule. Run with ``celery -A beat.schedule beat``.

The scheduler is RedBeat: it keeps the schedule in Redis and holds a Redis lock
while it runs, so a second beat process (a standby, or one started by mistake)
waits for the lock instead of firing the same ticks again.
"""

from __future__ import annotations

import math

from meeteasy.broker import ROUTES
from tasks.app import app, settings


def every(task: str, seconds: float) -> dict:
    """Run ``task`` every ``seconds`` on its queue; a tick not taken by then expires."""
    return {"task": task, "schedule": seconds,
            "options": {"queue": ROUTES[task], "expires": seconds}}


app.conf.beat_schedule = {
    "reap-stuck-jobs": every("maintenance.reap_stuck_jobs", settings.reaper_interval),
    "advance-conferences": every("conferences.advance_by_dates", 60.0),
    "sweep-policy-queues": every("registrations.sweep_queued", settings.policy_sweep_interval),
    "release-expired-seat-holds": every("seating.release_expired_holds",
                                        settings.hold_sweep_interval),
}
# Beat wakes at least this often and renews its lock each time; if it dies, the lock
# expires after five such intervals and a standby takes over. The timeout is set here,
# whole seconds and at least 2, because RedBeat renews with int(lock_timeout): its
# default (5 x a sub-second interval) renews to 0 s, which deletes the lock, and the
# next renewal raises LockNotOwnedError and stops beat.
app.conf.beat_max_loop_interval = min(10.0, settings.reaper_interval)
app.conf.redbeat_lock_timeout = max(2, math.ceil(5 * app.conf.beat_max_loop_interval))

__all__ = ["app"]
