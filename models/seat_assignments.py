"""Who sits where: one document per occupied seat, assigned or held.

Two unique indexes make double booking impossible whatever runs at the same time:
one seat holds one person, one person holds one seat. On top of them, every writer
(the auto-assign task, staff's manual moves, map changes) holds the conference's
seating lock, so a multi-step change (a swap, a map replacement checked against the
occupants) sees no one else's half-done work. A hold is an assignment with an
``expires_at``; beat deletes expired holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import mongoengine as me
from pymongo import InsertOne
from pymongo.errors import BulkWriteError, DuplicateKeyError
from redis.lock import Lock

from meeteasy.errors import Conflict, NotFound, TransientError
from meeteasy import locks
from meeteasy.settings import get_settings
from models.base import TenantDocument, iso, utcnow

KINDS = ("assigned", "held")
LOCK_WAIT = 10
MAX_HOLD_MINUTES = 7 * 24 * 60
MAX_PAGE = 1000


class SeatAssignment(TenantDocument):
    conference_id = me.StringField(required=True)
    seat_id = me.StringField(required=True)
    registration_id = me.StringField(required=True)
    user_id = me.StringField(null=True)  # the attendee, for pushes
    kind = me.StringField(required=True, choices=KINDS, default="assigned")
    expires_at = me.DateTimeField(null=True)  # holds only
    by = me.StringField(required=True)  # a user id, or "auto:<job id>"
    created_at = me.DateTimeField(required=True, default=utcnow)
    meta = {
        "collection": "seat_assignments",
        "indexes": [
            # The guarantees: one person per seat, one seat per person. They also serve
            # every read by seat, by person and the whole conference (leading fields).
            {"fields": ("tenant_id", "conference_id", "seat_id"), "unique": True},
            {"fields": ("tenant_id", "conference_id", "registration_id"), "unique": True},
            # Platform-level: beat releases expired holds across tenants, each one only if
            # it is still the same hold (the conditional delete's exact fields).
            ("kind", "expires_at"),
            ("tenant_id", "conference_id", "registration_id", "kind", "expires_at"),
        ],
    }


def public_view(assignment: SeatAssignment | None) -> dict | None:
    if assignment is None:
        return None
    section, row, seat = split_seat_id(assignment.seat_id)
    return {"seat_id": assignment.seat_id, "section": section, "row": row, "seat": seat,
            "registration_id": assignment.registration_id, "kind": assignment.kind,
            "expires_at": iso(assignment.expires_at), "by": assignment.by,
            "created_at": iso(assignment.created_at)}


def seat_event(conference_id: str, registration_id: str, assignment: SeatAssignment | None) -> dict:
    """What ``seat.updated`` carries to the attendee (``seat`` None: no seat any more)."""
    return {"conference_id": conference_id, "registration_id": str(registration_id),
            "seat": public_view(assignment)}


def split_seat_id(seat_id: str) -> tuple[str, str, str]:
    section, _, rest = seat_id.partition("/")
    row, _, seat = rest.partition("/")
    return section, row, seat


@contextmanager
def seating_lock(tenant_id: str, conference_id: str, *, wait: float = LOCK_WAIT) -> Iterator[Lock]:
    """The conference's seats, changed by one writer at a time (named by tenant and
    conference; it expires MEETEASY_SEATING_LOCK_TIMEOUT seconds after its last renewal,
    so a dead holder blocks no one for long; long holders call ``lock.reacquire()``).
    Not getting it within ``wait`` seconds is a 503 ``seating_busy``, which a task retries."""
    busy = TransientError("Seats of this conference are being assigned by someone else; try "
                          "again in a moment.", code="seating_busy")
    with locks.held(f"meeteasy:lock:tenant:{tenant_id}:conference:{conference_id}:seating",
                    timeout=get_settings().seating_lock_timeout, wait=wait, busy=busy) as lock:
        yield lock


# --- reading ----------------------------------------------------------------------------


def all_of(tenant_id: str, conference_id: str) -> list[SeatAssignment]:
    return list(SeatAssignment.objects(tenant_id=tenant_id, conference_id=conference_id))


def list_page(tenant_id: str, conference_id: str, *, after: str | None = None,
              limit: int = 100) -> list[SeatAssignment]:
    """Occupied seats in seat-id order, after the ``after`` seat id."""
    filters = {"tenant_id": tenant_id, "conference_id": conference_id}
    if after:
        filters["seat_id__gt"] = after
    return list(SeatAssignment.objects(**filters).order_by("seat_id").limit(max(1, min(limit, MAX_PAGE))))


def seat_of(tenant_id: str, conference_id: str, registration_id: str) -> SeatAssignment | None:
    return SeatAssignment.objects(tenant_id=tenant_id, conference_id=conference_id,
                                  registration_id=str(registration_id)).first()


def occupant_of(tenant_id: str, conference_id: str, seat_id: str) -> SeatAssignment | None:
    return SeatAssignment.objects(tenant_id=tenant_id, conference_id=conference_id,
                                  seat_id=seat_id).first()


# --- writing ----------------------------------------------------------------------------


def insert_many(tenant_id: str, conference_id: str, seats: list[tuple[str, str, str | None]],
                by: str) -> tuple[list[SeatAssignment], list[str]]:
    """Store (registration, seat, user) assignments in one round trip. Returns the stored
    ones and the registrations refused by a unique index (seat or person already taken)."""
    if not seats:
        return [], []
    now = utcnow()
    documents = [SeatAssignment(tenant_id=tenant_id, conference_id=conference_id, seat_id=seat,
                                registration_id=str(registration), user_id=user, kind="assigned",
                                by=by, created_at=now) for registration, seat, user in seats]
    refused: set[int] = set()
    try:
        SeatAssignment._get_collection().bulk_write(
            [InsertOne(document.to_mongo().to_dict()) for document in documents], ordered=False)
    except BulkWriteError as error:
        for failure in error.details.get("writeErrors", []):
            if failure.get("code") != 11000:
                raise
            refused.add(failure["index"])
    stored = [d for i, d in enumerate(documents) if i not in refused]
    return stored, [documents[i].registration_id for i in sorted(refused)]


def place(tenant_id: str, conference_id: str, registration_id: str, seat_id: str, *,
          user_id: str | None, by: str, hold_minutes: int | None = None
          ) -> tuple[SeatAssignment | None, SeatAssignment]:
    """Put a person on a seat (moving them if they sit elsewhere), or hold the seat for
    them for ``hold_minutes``. Returns (where they sat before, where they sit now);
    409 ``seat_taken`` if someone else has the seat. The caller holds the seating lock.
    A hold is for someone without a seat: holding a seat for a seated person would turn
    their seat into one that expires (409 ``already_seated``; move them instead)."""
    before = seat_of(tenant_id, conference_id, registration_id)
    if hold_minutes and before is not None and before.kind == "assigned":
        raise Conflict(f"This person already sits on {before.seat_id}; move them instead of "
                       "holding a seat.", code="already_seated", details={"seat_id": before.seat_id})
    expires_at = utcnow() + timedelta(minutes=hold_minutes) if hold_minutes else None
    kind = "held" if hold_minutes else "assigned"
    occupant = occupant_of(tenant_id, conference_id, seat_id)
    if occupant is not None and occupant.registration_id != str(registration_id):
        raise Conflict(f"Seat {seat_id} is {occupant.kind} for another registration.",
                       code="seat_taken", details={"seat_id": seat_id,
                                                   "registration_id": occupant.registration_id})
    try:
        if before is None:
            now = utcnow()
            after = SeatAssignment(tenant_id=tenant_id, conference_id=conference_id,
                                   seat_id=seat_id, registration_id=str(registration_id),
                                   user_id=user_id, kind=kind, expires_at=expires_at, by=by,
                                   created_at=now).save(force_insert=True)
        else:
            after = SeatAssignment.objects(tenant_id=tenant_id, conference_id=conference_id,
                                           registration_id=str(registration_id)).modify(
                new=True, set__seat_id=seat_id, set__kind=kind, set__expires_at=expires_at,
                set__by=by, set__created_at=utcnow())
    except (me.NotUniqueError, DuplicateKeyError):
        # Only a writer that ignored the lock (or outlived it) can get here.
        raise Conflict(f"Seat {seat_id} was just taken.", code="seat_taken",
                       details={"seat_id": seat_id})
    if after is None:  # released meanwhile by a writer that outlived the lock
        raise Conflict("The seat changed meanwhile; try again.", code="seat_changed")
    return before, after


def release(tenant_id: str, conference_id: str, registration_id: str) -> SeatAssignment | None:
    """Free the person's seat (assigned or held); the freed assignment, or None."""
    return SeatAssignment.objects(tenant_id=tenant_id, conference_id=conference_id,
                                  registration_id=str(registration_id)).modify(remove=True)


def release_many(tenant_id: str, conference_id: str, registration_ids: list[str]) -> int:
    if not registration_ids:
        return 0
    return SeatAssignment._get_collection().delete_many(
        {"tenant_id": tenant_id, "conference_id": conference_id,
         "registration_id": {"$in": [str(r) for r in registration_ids]}}).deleted_count


def swap(tenant_id: str, conference_id: str, first: str, second: str, by: str
         ) -> tuple[SeatAssignment, SeatAssignment]:
    """Exchange the seats of two seated people. The caller holds the seating lock; the
    unique index forbids two people on one seat even for an instant, so the first person
    steps onto a parking id, the second moves, then the first. Each keeps their kind: a
    hold (perhaps of someone not approved) stays a hold, with its expiry."""
    a, b = seat_of(tenant_id, conference_id, first), seat_of(tenant_id, conference_id, second)
    missing = [rid for rid, found in ((first, a), (second, b)) if found is None]
    if missing:
        raise Conflict("Both people must have a seat to swap.", code="not_seated",
                       details={"registration_ids": missing})
    parking = f"~swap/{uuid.uuid4().hex}"
    move = SeatAssignment.objects(tenant_id=tenant_id, conference_id=conference_id)
    move.filter(registration_id=a.registration_id).update_one(set__seat_id=parking)
    new_b = move.filter(registration_id=b.registration_id).modify(
        new=True, set__seat_id=a.seat_id, set__by=by)
    new_a = move.filter(registration_id=a.registration_id).modify(
        new=True, set__seat_id=b.seat_id, set__by=by)
    return new_a, new_b


def expired_holds(now: datetime, limit: int = 500) -> list[SeatAssignment]:
    """Holds past their time, across tenants (beat releases them)."""
    return list(SeatAssignment.objects.across_tenants().filter(kind="held", expires_at__lt=now)
                .limit(limit))


def release_expired(hold: SeatAssignment) -> SeatAssignment | None:
    """Release one expired hold, unless it was confirmed or renewed meanwhile."""
    return SeatAssignment.objects(tenant_id=hold.tenant_id, conference_id=hold.conference_id,
                                  registration_id=hold.registration_id, kind="held",
                                  expires_at=hold.expires_at).modify(remove=True)


def not_found(registration_id: str) -> NotFound:
    return NotFound("This registration has no seat.", code="seat_not_found",
                    details={"registration_id": registration_id})
