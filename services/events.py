"""The one door to the clients: every push a client can receive is emitted here.

Pushes go to the tenant's rooms only (the user's, and the tenant's staff room) through
the write-only emitter of :mod:`meeteasy.push`. They are at-most-once and best effort:
the state they describe is always stored first, and a client that was away reads it
back (``GET /jobs``, ``GET /registrations/{id}``…).

Events:

- ``job.updated``: a job's public view, to its owner and the tenant's staff;
- ``registration.created|approved|rejected|waitlisted|withdrawn``: the registration's
  public view, to the registrant and staff;
- ``seat.updated``: where a registration sits now (``seat: null`` when it has none);
- ``conference.updated``: a conference's view, to staff only.
"""

from __future__ import annotations

from meeteasy import push
from models import conferences, jobs, seat_assignments
from models import registrations as registration_records

REGISTRATION_EVENTS = {"approved": "registration.approved", "rejected": "registration.rejected",
                       "waitlisted": "registration.waitlisted",
                       "withdrawn": "registration.withdrawn", "pending": "registration.created"}


def job_updated(job: jobs.Job) -> None:
    push.emit("job.updated", jobs.public_view(job), tenant_id=job.tenant_id, user_id=job.user_id)


def registration_changed(event: str, view: dict, *, tenant_id: str, user_id: str | None) -> None:
    """``registration.*`` with a view the caller already made."""
    assert event in REGISTRATION_EVENTS.values(), event
    push.emit(event, view, tenant_id=tenant_id, user_id=user_id)


def seat_updated(tenant_id: str, conference_id: str, registration_id: str, user_id: str | None,
                 assignment: seat_assignments.Assignment | None, *, staff: bool = True) -> None:
    """Where the attendee sits now, or ``seat: null``."""
    push.emit("seat.updated",
              seat_assignments.seat_event(conference_id, registration_id, assignment),
              tenant_id=tenant_id, user_id=user_id, staff=staff)


def conference_updated(conference: conferences.Conference) -> None:
    push.emit("conference.updated", conferences.public_view(conference),
              tenant_id=conference.tenant_id, staff=True)


def event_of(registration: registration_records.Registration) -> str:
    """The ``registration.*`` event (and plugin hook) that a registration's status announces."""
    return REGISTRATION_EVENTS[registration.status]
