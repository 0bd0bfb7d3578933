"""Conferences: create, read, change and move them through their lifecycle.

Staff see every conference of their tenant; anyone else sees published, ongoing and
ended ones only (:func:`services.access.conference_for`). Every change is stored and
audited first (:mod:`models.conferences`), then pushed as ``conference.updated`` to
the tenant's staff room.
"""

from __future__ import annotations

import logging
from datetime import datetime

from meeteasy.errors import Conflict
from models import conferences as conference_records
from models import registrations, sessions
from models.base import utcnow
from models.conferences import Conference
from models.conferences import MAX_PAGE, SLUG, time_zones  # noqa: F401  (the API's field checks)
from services import events
from services.access import Caller, conference_for

log = logging.getLogger(__name__)


def _pushed(conference: Conference) -> dict:
    events.conference_updated(conference)
    return conference_records.public_view(conference)


def create_conference(caller: Caller, fields: dict) -> dict:
    """A new draft conference of the caller's tenant."""
    return _pushed(conference_records.create_conference(caller.tenant_id, caller.user_id,
                                                        **fields))


def list_conferences(caller: Caller, *, status: str | None, text: str | None, offset: int,
                     limit: int) -> tuple[list[dict], int]:
    """A page of conferences by start date (attendees: the visible ones), and the total."""
    found, total = conference_records.list_conferences(
        caller.tenant_id, status=status, text=text, visible_to_attendees=not caller.is_staff,
        offset=offset, limit=limit)
    return [conference_records.public_view(c) for c in found], total


def get_conference(caller: Caller, conference_id: str) -> dict:
    return conference_records.public_view(conference_for(caller, conference_id))


def update_conference(caller: Caller, conference_id: str, changes: dict) -> dict:
    """Apply a patch (only the fields given; ``policy`` merged into the current one).

    An archived conference is read-only (409). Besides the field checks, the new dates
    may not leave a session of the agenda outside them (409 ``sessions_outside_dates``)
    and the capacity may not fall below the approved registrations (409
    ``capacity_below_approved``). A patch that changes nothing is not stored, but
    pushed all the same."""
    conference = conference_for(caller, conference_id, change=True)
    changes, diff = conference_records.plan_update(conference, changes)
    if diff:
        if "starts_at" in diff or "ends_at" in diff:
            outside = sessions.count_sessions_outside(caller.tenant_id, conference_id,
                                                      conference.starts_at, conference.ends_at)
            if outside:
                raise Conflict(f"{outside} session(s) of the agenda would fall outside the new "
                               "dates; move them first.", code="sessions_outside_dates",
                               details={"sessions": outside})
        if "capacity" in diff and conference.capacity is not None:
            approved = registrations.count_status(caller.tenant_id, conference_id, "approved")
            if conference.capacity < approved:
                raise Conflict(f"{approved} registrations are already approved; the capacity "
                               "cannot be lower.", code="capacity_below_approved",
                               details={"approved": approved})
        conference = conference_records.save_update(conference, changes, diff,
                                                    actor=caller.user_id)
    return _pushed(conference)


def transition(caller: Caller, conference_id: str, to: str) -> dict:
    """Move the conference to ``to`` if its lifecycle allows it (409 otherwise)."""
    return _pushed(conference_records.transition(caller.tenant_id, conference_id, to,
                                                 actor=caller.user_id))


def archive_conference(caller: Caller, conference_id: str) -> dict:
    """The soft delete: the conference stays, read-only, listed only when asked for."""
    return _pushed(conference_records.archive_conference(caller.tenant_id, conference_id,
                                                         actor=caller.user_id))


def advance_by_dates(now: datetime | None = None) -> dict:
    """Move published conferences that have started to ``ongoing`` and ongoing ones that
    are over to ``ended``, across tenants, and tell each tenant's staff room.

    Each move is a conditional update on the state it leaves, so a second run (or a
    second beat) moves nothing twice; the state is stored before it is pushed."""
    moved = conference_records.advance_by_dates(now or utcnow())
    for conference in moved:
        events.conference_updated(conference)
    if moved:
        log.info("advanced %d conference(s) by their dates", len(moved))
    return {"moved": [{"tenant_id": c.tenant_id, "id": str(c.id), "status": c.status}
                      for c in moved]}
