"""The beat schedule. Run with ``celery -A beat.schedule beat``.

The scheduler is RedBeat: it keeps the schedule in Redis and holds a Redis lock
while it runs, so a second beat process (a standby, or one started by mistake)
waits for the lock instead of firing the same ticks again.
"""

from __future__ import annotations

import math

from tasks.app import app, settings

app.conf.beat_schedule = {
    "reap-stuck-jobs": {
        "task": "maintenance.reap_stuck_jobs",
        "schedule": settings.reaper_interval,
        "options": {"queue": "default", "expires": settings.reaper_interval},
    },
    "advance-conferences": {"task": "conferences.advance_by_dates", "schedule": 60.0,
                            "options": {"queue": "default", "expires": 60.0}},
    "release-expired-seat-holds": {"task": "seating.release_expired_holds",
                                   "schedule": settings.hold_sweep_interval,
                                   "options": {"queue": "seating",
                                               "expires": settings.hold_sweep_interval}},
}
# Beat wakes at least this often and renews its lock each time; if it dies, the lock
# expires after five such intervals and a standby takes over. The timeout is set here,
# whole seconds and at least 2, because RedBeat renews with int(lock_timeout): its
# default (5 x a sub-second interval) renews to 0 s, which deletes the lock, and the
# next renewal raises LockNotOwnedError and stops beat.
app.conf.beat_max_loop_interval = min(10.0, settings.reaper_interval)
app.conf.redbeat_lock_timeout = max(2, math.ceil(5 * app.conf.beat_max_loop_interval))

__all__ = ["app"]
