"""Conference housekeeping run by beat: the lifecycle follows the calendar."""

from __future__ import annotations

from services import conferences
from tasks.app import app
from tasks.base import ensure_process_ready


@app.task(name="conferences.advance_by_dates", acks_late=True, reject_on_worker_lost=True)
def advance_by_dates_task() -> dict:
    """Move conferences along by their dates (:func:`services.conferences.advance_by_dates`)."""
    ensure_process_ready()
    return conferences.advance_by_dates()
