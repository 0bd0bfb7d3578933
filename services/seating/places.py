"""Who sits where, changed by hand: staff place, hold, release and swap seats and list
the occupied ones; an attendee reads their own seat; beat releases expired holds.

Every change runs under the conference's seating lock and tells the attendee (and the
tenant's staff) where they sit now (``seat.updated``).
"""

from __future__ import annotations

import logging

from meeteasy.errors import Conflict, NotFound, TransientError, ValidationFailed
from models import audit, registrations, seat_assignments, seatmaps
from models.base import utcnow
from models.seat_assignments import MAX_HOLD_MINUTES, MAX_PAGE  # noqa: F401  (the API's limits)
from services import events
from services.access import Caller, conference_for

log = logging.getLogger(__name__)
HOLDABLE = ("pending", "approved", "waitlisted")
HOLD_BATCH = 500  # expired holds read at a time; a sweep goes on until none is left
SWEEP_LOCK_WAIT = 2  # seconds beat waits for a conference's seats before moving on


def _registration(caller: Caller, conference_id: str, registration_id: str,
                  statuses: tuple[str, ...]):
    registration = registrations.get_registration(caller.tenant_id, registration_id)
    if registration.conference_id != conference_id:
        raise NotFound("No such registration.", code="registration_not_found")
    if registration.status not in statuses:
        raise Conflict(f"A {registration.status} registration cannot be seated.",
                       code="not_seatable", details={"status": registration.status})
    return registration


def _seat_on_map(spec: seatmaps.MapSpec, seat_id: str) -> seatmaps.SeatSpec:
    seat = spec.seat(seat_id)
    if seat is None:
        raise ValidationFailed.for_fields({"seat_id": [f"No seat {seat_id!r} on the map."]})
    if "blocked" in seat.attributes:
        raise Conflict(f"Seat {seat_id} is blocked.", code="seat_blocked")
    return seat


def _warnings(registration, seat: seatmaps.SeatSpec) -> list[str]:
    out = []
    if registration.seat_category and registration.seat_category != seat.category:
        out.append(f"The registration asked for {registration.seat_category}; this seat is "
                   f"{seat.category}.")
    if registration.needs_accessible and "accessible" not in seat.attributes:
        out.append("The registration needs an accessible seat; this one is not.")
    return out


def place(caller: Caller, conference_id: str, registration_id: str, seat_id: str) -> dict:
    """Put an approved registration on a seat, moving them if seated elsewhere; the seat,
    the previous one, and warnings where the seat misses the person's wishes."""
    return _place(caller, conference_id, registration_id, seat_id)


def hold(caller: Caller, conference_id: str, registration_id: str, seat_id: str,
         minutes: int) -> dict:
    """Hold a seat for a pending, approved or waitlisted registration for ``minutes``;
    placing the person on it later confirms the hold."""
    return _place(caller, conference_id, registration_id, seat_id, minutes)


def _place(caller: Caller, conference_id: str, registration_id: str, seat_id: str,
           hold_minutes: int | None = None) -> dict:
    conference = conference_for(caller, conference_id, change=True)
    cid = str(conference.id)
    registration = _registration(caller, cid, registration_id,
                                 HOLDABLE if hold_minutes else ("approved",))
    with seat_assignments.seating_lock(caller.tenant_id, cid) as seating:
        # Under the lock: a map replaced meanwhile may no longer have (or may block) the seat.
        seat = _seat_on_map(seatmaps.load_spec(caller.tenant_id, cid), seat_id)
        before, after = seat_assignments.place(seating, str(registration.id), seat_id,
                                               user_id=registration.user_id,
                                               by=caller.user_id, hold_minutes=hold_minutes)
    audit.record(caller.tenant_id, caller.user_id, "seat.held" if hold_minutes else "seat.assigned",
                 "registration", str(registration.id), conference_id=cid,
                 changes={"seat": {"from": before.seat_id if before else None, "to": seat_id}})
    events.seat_updated(caller.tenant_id, cid, str(registration.id), registration.user_id, after)
    return {"seat": seat_assignments.public_view(after),
            "previous": seat_assignments.public_view(before),
            "warnings": _warnings(registration, seat)}


def release(caller: Caller, conference_id: str, registration_id: str) -> dict:
    """Free a registration's seat or hold (404 ``seat_not_found`` if it has none)."""
    conference = conference_for(caller, conference_id, change=True)
    cid = str(conference.id)
    registration = _registration(caller, cid, registration_id, registrations.STATUSES)
    with seat_assignments.seating_lock(caller.tenant_id, cid) as seating:
        gone = seat_assignments.release(seating, str(registration.id))
    if gone is None:
        raise seat_assignments.not_found(registration_id)
    audit.record(caller.tenant_id, caller.user_id, "seat.released", "registration",
                 str(registration.id), conference_id=cid,
                 changes={"seat": {"from": gone.seat_id, "to": None}})
    events.seat_updated(caller.tenant_id, cid, str(registration.id), registration.user_id, None)
    return {"seat": None, "previous": seat_assignments.public_view(gone), "warnings": []}


def swap(caller: Caller, conference_id: str, registration_ids: list[str]) -> dict:
    """Exchange the seats of two seated registrations (each keeps assigned or held)."""
    conference = conference_for(caller, conference_id, change=True)
    cid = str(conference.id)
    people = [_registration(caller, cid, rid, registrations.STATUSES)
              for rid in registration_ids]
    with seat_assignments.seating_lock(caller.tenant_id, cid) as seating:
        new_a, new_b = seat_assignments.swap(seating, str(people[0].id), str(people[1].id),
                                             caller.user_id)
    audit.record(caller.tenant_id, caller.user_id, "seat.swapped", "conference", cid,
                 conference_id=cid, changes={"seats": {
                     str(people[0].id): new_a.seat_id, str(people[1].id): new_b.seat_id}})
    for person, assignment in zip(people, (new_a, new_b)):
        events.seat_updated(caller.tenant_id, cid, str(person.id), person.user_id, assignment)
    return {"seats": [seat_assignments.public_view(new_a), seat_assignments.public_view(new_b)]}


def list_assignments(caller: Caller, conference_id: str, *, after: str | None,
                     limit: int) -> dict:
    """A page of occupied seats in seat order, and the cursor of the next page (None on
    the last)."""
    conference = conference_for(caller, conference_id)
    found = seat_assignments.list_page(caller.tenant_id, str(conference.id), after=after,
                                       limit=limit)
    return {"items": [seat_assignments.public_view(a) for a in found],
            "next_after": found[-1].seat_id if len(found) == limit else None}


def seat_of_registration(caller: Caller, registration_id: str) -> dict:
    """Where a registration sits (``seat`` None when nowhere); attendees read their own."""
    registration = registrations.get_registration(caller.tenant_id, registration_id,
                                                  user_id=caller.own_only)
    found = seat_assignments.seat_of(caller.tenant_id, registration.conference_id,
                                     str(registration.id))
    return seat_assignments.seat_event(registration.conference_id, str(registration.id), found)


def release_expired_holds() -> dict:
    """Free every hold past its time (conditional on the hold being unchanged, so a hold
    confirmed or renewed meanwhile stays); tell each person. A conference whose seats
    are busy (an auto-assign job holds them) is left to the next sweep."""
    released = []
    now = utcnow()
    while True:
        expired = seat_assignments.expired_holds(now, limit=HOLD_BATCH)
        before = len(released)
        by_conference: dict[tuple[str, str], list] = {}
        for expired_hold in expired:
            by_conference.setdefault((expired_hold.tenant_id, expired_hold.conference_id),
                                     []).append(expired_hold)
        for (tenant_id, conference_id), holds in by_conference.items():
            try:
                with seat_assignments.seating_lock(tenant_id, conference_id,
                                                   wait=SWEEP_LOCK_WAIT) as seating:
                    gone = [seat_assignments.release_expired(seating, h) for h in holds]
            except TransientError as error:
                log.info("expired holds of %s/%s left for the next sweep: %s", tenant_id,
                         conference_id, error.code)
                continue
            for hold in filter(None, gone):
                released.append(hold.seat_id)
                events.seat_updated(tenant_id, conference_id, hold.registration_id,
                                    hold.user_id, None)
        if len(expired) < HOLD_BATCH or len(released) == before:
            break  # all done (or only holds renewed or busy are left: never spin)
    if released:
        log.info("released %d expired seat holds", len(released))
    return {"released": len(released)}
