"""Conference housekeeping run by beat: the lifecycle follows the calendar."""

from __future__ import annotations

import logging
from datetime import datetime

from models import conferences as store
from models.base import utcnow
from services import events
from tasks.app import app
from tasks.base import ensure_process_ready

log = logging.getLogger(__name__)


def advance_conferences(now: datetime | None = None) -> dict:
    """Move published conferences that have started to ``ongoing`` and ongoing ones that
    are over to ``ended``, across tenants, and tell each tenant's staff room.

    Each move is a conditional update on the state it leaves, so a second run (or a
    second beat) moves nothing twice; the state is stored before it is pushed."""
    moved = store.advance_by_dates(now or utcnow())
    for conference in moved:
        events.conference_updated(conference)
    if moved:
        log.info("advanced %d conference(s) by their dates", len(moved))
    return {"moved": [{"tenant_id": c.tenant_id, "id": str(c.id), "status": c.status}
                      for c in moved]}


@app.task(name="conferences.advance_by_dates", acks_late=True, reject_on_worker_lost=True)
def advance_by_dates_task() -> dict:
    ensure_process_ready()
    return advance_conferences()
