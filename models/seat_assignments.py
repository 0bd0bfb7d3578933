"""Who sits where: the occupied seats of a conference, assigned or held, packed in blocks.

**Blocks.** A :class:`SeatBlock` holds up to BLOCK entries as parallel arrays (``seats``,
``registrations``, ``users``) that share the block's ``kind``, ``by``, ``created_at`` and,
for a hold, ``expires_at``. The auto-assign job stores its seats as blocks of up to BLOCK
neighbouring seats; a seat placed, held or swapped by hand is a block of one, so a hold
is always a block of its own. Why: SecantusDB pays per document and per index key. One
document per seat with two unique indexes stored 45,000 seats in 26 s, 3 to 7 times as
long as bare documents without any index; blocks with one index key per person and one
per row take about 0.4 times as long as those (``bench/seating.py --store``, ``/raw``),
and a block stays small enough that taking one person out of it (a move, a release)
rewrites little.

**One index.** ``keys`` lists ``reg:<registration>`` for each entry and ``row:<section>/
<row>/`` for each row the block touches, indexed after (tenant, conference): a person is
found exactly, a seat through its row (the few blocks touching it), the conference by
the prefix, a page of seats by a range of rows (``row:`` keys sort as the seat ids do).
Beat's expired holds sweep across tenants on ``expires_at``, which only holds carry.

**Uniqueness.** No index refuses a double booking (a unique multikey index costs more
on SecantusDB than everything else together). One person per seat and one seat per
person hold because the writes below are the only ones, and each takes the
:class:`Seating` that :func:`seating_lock` yields: they refuse to run outside its
``with`` block, check the occupancy they read under the lock, and renew the lock just
before they write, which fails if it ever lapsed (a holder that outlived it may have
missed someone else's change). A person moved or swapped is first taken out of their
block, then put in a new one: a writer dying in between leaves them without a seat
(the next auto-assign seats them again), never on two.

No migration: the collection of one document per seat (``seat_assignments``) held no
production data when this replaced it; nothing reads it any more.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import mongoengine as me
import redis.exceptions
from bson import ObjectId
from redis.lock import Lock

from meeteasy import locks
from meeteasy.errors import Conflict, NotFound, TransientError
from meeteasy.settings import get_settings
from models.base import TenantDocument, iso, utcnow

KINDS = ("assigned", "held")
LOCK_WAIT = 10
MAX_HOLD_MINUTES = 7 * 24 * 60
MAX_PAGE = 1000
BLOCK = 64  # entries per block the auto-assign job writes
REG, ROW, ROW_END = "reg:", "row:", "row;"  # ROW_END: just past every "row:" key
ENTRY_FIELDS = ("seats", "registrations", "users")
NO_KEYS = {"keys": 0}  # reads leave the index keys on the server


class SeatBlock(TenantDocument):
    """Declares the collection and its indexes; the functions below read and write it
    with pymongo (a block is a plain dict), so that 45,000 entries cost no objects."""
    conference_id = me.StringField(required=True)
    seats = me.ListField(me.StringField())
    registrations = me.ListField(me.StringField())
    users = me.ListField(me.StringField(null=True))  # the attendees, for pushes
    keys = me.ListField(me.StringField())
    kind = me.StringField(required=True, choices=KINDS, default="assigned")
    expires_at = me.DateTimeField()  # holds only
    by = me.StringField(required=True)  # a user id, or "auto:<job id>"
    created_at = me.DateTimeField(required=True, default=utcnow)
    meta = {
        "collection": "seat_blocks",
        "indexes": [
            ("tenant_id", "conference_id", "keys"),
            # Platform-level: beat releases expired holds across tenants (only holds, each
            # a block of its own, have an expiry).
            ("expires_at",),
        ],
    }


@dataclass(frozen=True)
class Assignment:
    """One occupied seat, as read."""
    tenant_id: str
    conference_id: str
    seat_id: str
    registration_id: str
    user_id: str | None
    kind: str
    expires_at: datetime | None
    by: str
    created_at: datetime


def public_view(assignment: Assignment | None) -> dict | None:
    if assignment is None:
        return None
    section, row, seat = split_seat_id(assignment.seat_id)
    return {"seat_id": assignment.seat_id, "section": section, "row": row, "seat": seat,
            "registration_id": assignment.registration_id, "kind": assignment.kind,
            "expires_at": iso(assignment.expires_at), "by": assignment.by,
            "created_at": iso(assignment.created_at)}


def seat_event(conference_id: str, registration_id: str, assignment: Assignment | None) -> dict:
    """What ``seat.updated`` carries to the attendee (``seat`` None: no seat any more)."""
    return {"conference_id": conference_id, "registration_id": str(registration_id),
            "seat": public_view(assignment)}


def split_seat_id(seat_id: str) -> tuple[str, str, str]:
    section, _, rest = seat_id.partition("/")
    row, _, seat = rest.partition("/")
    return section, row, seat


def row_key(seat_id: str) -> str:
    """``section/row/``: the seat id up to its second slash. A seat id greater than
    another never has a smaller row key, so a range of row keys holds every seat after
    a given one."""
    section, row, _ = split_seat_id(seat_id)
    return f"{section}/{row}/"


def not_found(registration_id: str) -> NotFound:
    return NotFound("This registration has no seat.", code="seat_not_found",
                    details={"registration_id": registration_id})


# --- the lock: the one way to change seats ----------------------------------------------


class Seating:
    """A conference's seats while this process holds their lock (see
    :func:`seating_lock`). The write functions take it; it remembers the occupancy
    once read (:func:`current`) and the writes keep that copy true."""

    def __init__(self, tenant_id: str, conference_id: str, lock: Lock):
        self.tenant_id, self.conference_id = tenant_id, conference_id
        self._lock = lock
        self._open = True
        self._occupancy: _Occupancy | None = None

    def reacquire(self) -> None:
        """Renew the lock (a long holder calls this between its steps). 503
        ``seating_lock_lost`` if it lapsed meanwhile: someone else may have changed the
        seats since they were read, so nothing more is written with this handle."""
        if not self._open:
            raise RuntimeError("seats changed outside the seating_lock block that allowed it")
        try:
            self._lock.reacquire()
        except redis.exceptions.LockError as error:
            self._open = False
            raise TransientError("The seats changed hands meanwhile; try again.",
                                 code="seating_lock_lost") from error
        except redis.exceptions.RedisError as error:
            raise TransientError("This cannot be changed right now (lock service "
                                 "unavailable); try again.", code="lock_unavailable") from error

    def _close(self) -> None:
        self._open = False
        self._occupancy = None


@contextmanager
def seating_lock(tenant_id: str, conference_id: str, *, wait: float = LOCK_WAIT
                 ) -> Iterator[Seating]:
    """The conference's seats, changed by one writer at a time (named by tenant and
    conference; it expires MEETEASY_SEATING_LOCK_TIMEOUT seconds after its last renewal,
    so a dead holder blocks no one for long; long holders call ``reacquire()``). Not
    getting it within ``wait`` seconds is a 503 ``seating_busy``, which a task retries."""
    busy = TransientError("Seats of this conference are being assigned by someone else; try "
                          "again in a moment.", code="seating_busy")
    with locks.held(f"meeteasy:lock:tenant:{tenant_id}:conference:{conference_id}:seating",
                    timeout=get_settings().seating_lock_timeout, wait=wait, busy=busy) as lock:
        seating = Seating(tenant_id, conference_id, lock)
        try:
            yield seating
        finally:
            seating._close()


class _Occupancy:
    """The blocks as read under the lock: who holds which seat, and each person's block."""

    def __init__(self, blocks: Iterable[dict]):
        self.blocks: dict[ObjectId, dict] = {}
        self.block_of: dict[str, dict] = {}
        self.holder: dict[str, str] = {}
        for block in blocks:
            self.add(block)

    def add(self, block: dict) -> None:
        self.blocks[block["_id"]] = block
        for seat, registration in zip(block["seats"], block["registrations"]):
            self.block_of[registration] = block
            self.holder[seat] = registration

    def remove(self, block: dict) -> None:
        self.blocks.pop(block["_id"], None)
        for seat, registration in zip(block["seats"], block["registrations"]):
            if self.block_of.get(registration) is block:
                del self.block_of[registration]
            if self.holder.get(seat) == registration:
                del self.holder[seat]


# --- reading (no lock needed) -------------------------------------------------------------


def _collection():
    return SeatBlock._get_collection()


def _scope(tenant_id: str, conference_id: str, **query) -> dict:
    return {"tenant_id": tenant_id, "conference_id": conference_id, **query}


def _entries(block: dict) -> list[Assignment]:
    return [Assignment(block["tenant_id"], block["conference_id"], seat, registration, user,
                       block["kind"], block.get("expires_at"), block["by"], block["created_at"])
            for seat, registration, user in zip(*(block[f] for f in ENTRY_FIELDS))]


def _entry(block: dict | None, registration_id: str) -> Assignment | None:
    return next((a for a in _entries(block) if a.registration_id == registration_id), None) \
        if block else None


def all_of(tenant_id: str, conference_id: str) -> list[Assignment]:
    return [a for block in _collection().find(_scope(tenant_id, conference_id), NO_KEYS)
            for a in _entries(block)]


def list_page(tenant_id: str, conference_id: str, *, after: str | None = None,
              limit: int = 100) -> list[Assignment]:
    """Occupied seats in seat-id order, after the ``after`` seat id (only blocks on its
    row or later ones are read)."""
    query = _scope(tenant_id, conference_id)
    if after:
        # The tightest row key no later seat can be below (see row_key).
        bound = row_key(after) if after.count("/") >= 2 else after
        query["keys"] = {"$gte": ROW + bound, "$lt": ROW_END}
    found = (a for block in _collection().find(query, NO_KEYS) for a in _entries(block)
             if not after or a.seat_id > after)
    return heapq.nsmallest(max(1, min(limit, MAX_PAGE)), found, key=lambda a: a.seat_id)


def seat_of(tenant_id: str, conference_id: str, registration_id: str) -> Assignment | None:
    registration_id = str(registration_id)
    return _entry(_person_block(tenant_id, conference_id, registration_id), registration_id)


def occupant_of(tenant_id: str, conference_id: str, seat_id: str) -> Assignment | None:
    return next((a for block in _row_blocks(tenant_id, conference_id, seat_id)
                 for a in _entries(block) if a.seat_id == seat_id), None)


def expired_holds(now: datetime, limit: int = 500) -> list[Assignment]:
    """Holds past their time, across tenants (beat releases them)."""
    return [a for block in _collection().find({"expires_at": {"$lt": now}}, NO_KEYS).limit(limit)
            for a in _entries(block)]


def _person_block(tenant_id: str, conference_id: str, registration_id: str) -> dict | None:
    return _collection().find_one(_scope(tenant_id, conference_id, keys=REG + registration_id),
                                  NO_KEYS)


def _row_blocks(tenant_id: str, conference_id: str, seat_id: str) -> list[dict]:
    return list(_collection().find(_scope(tenant_id, conference_id, keys=ROW + row_key(seat_id)),
                                   NO_KEYS))


# --- reading under the lock ------------------------------------------------------------------


def current(seating: Seating) -> list[Assignment]:
    """Every occupied seat, read under the lock (and kept by ``seating`` for the writes
    that follow, which check against it)."""
    return [a for block in list(_occupancy(seating).blocks.values()) for a in _entries(block)]


def _occupancy(seating: Seating) -> _Occupancy:
    seating.reacquire()
    if seating._occupancy is None:
        seating._occupancy = _Occupancy(_collection().find(
            _scope(seating.tenant_id, seating.conference_id), NO_KEYS))
    return seating._occupancy


def _block_of(seating: Seating, registration_id: str) -> dict | None:
    if seating._occupancy is not None:
        return seating._occupancy.block_of.get(registration_id)
    return _person_block(seating.tenant_id, seating.conference_id, registration_id)


def _holder_of(seating: Seating, seat_id: str) -> Assignment | None:
    if seating._occupancy is not None:
        registration = seating._occupancy.holder.get(seat_id)
        return _entry(seating._occupancy.block_of[registration], registration) \
            if registration else None
    return occupant_of(seating.tenant_id, seating.conference_id, seat_id)


# --- writing (under the lock) ---------------------------------------------------------------


def insert_many(seating: Seating, seats: list[tuple[str, str, str | None]], by: str
                ) -> tuple[list[Assignment], list[str]]:
    """Store (registration, seat, user) assignments in one round trip, as blocks of up to
    BLOCK neighbouring seats. Returns the stored ones and the registrations refused
    because the occupancy read under the lock has their seat taken or them seated."""
    occupancy = _occupancy(seating)
    accepted: list[tuple[str, str, str | None]] = []
    refused: list[str] = []
    seats_now, people_now = set(), set()
    for registration, seat, user in seats:
        registration = str(registration)
        if seat in occupancy.holder or seat in seats_now or registration in occupancy.block_of \
                or registration in people_now:
            refused.append(registration)
            continue
        seats_now.add(seat)
        people_now.add(registration)
        accepted.append((registration, seat, user))
    accepted.sort(key=lambda entry: entry[1])  # neighbours share a block and its row keys
    now = utcnow()
    blocks = [_new_block(seating, accepted[start:start + BLOCK], kind="assigned", by=by,
                         created_at=now) for start in range(0, len(accepted), BLOCK)]
    _insert(seating, blocks)
    return [a for block in blocks for a in _entries(block)], refused


def place(seating: Seating, registration_id: str, seat_id: str, *, user_id: str | None, by: str,
          hold_minutes: int | None = None) -> tuple[Assignment | None, Assignment]:
    """Put a person on a seat (moving them if they sit elsewhere), or hold the seat for
    them for ``hold_minutes``. Returns (where they sat before, where they sit now);
    409 ``seat_taken`` if someone else has the seat. A hold is for someone without a
    seat: holding a seat for a seated person would turn their seat into one that expires
    (409 ``already_seated``; move them instead)."""
    registration_id = str(registration_id)
    old_block = _block_of(seating, registration_id)
    before = _entry(old_block, registration_id)
    if hold_minutes and before is not None and before.kind == "assigned":
        raise Conflict(f"This person already sits on {before.seat_id}; move them instead of "
                       "holding a seat.", code="already_seated", details={"seat_id": before.seat_id})
    occupant = _holder_of(seating, seat_id)
    if occupant is not None and occupant.registration_id != registration_id:
        raise Conflict(f"Seat {seat_id} is {occupant.kind} for another registration.",
                       code="seat_taken", details={"seat_id": seat_id,
                                                   "registration_id": occupant.registration_id})
    now = utcnow()
    block = _new_block(seating, [(registration_id, seat_id, user_id)],
                       kind="held" if hold_minutes else "assigned", by=by, created_at=now,
                       expires_at=now + timedelta(minutes=hold_minutes) if hold_minutes else None)
    if old_block is not None:
        _take_out(seating, old_block, {registration_id})
    _insert(seating, [block])
    return before, _entries(block)[0]


def release(seating: Seating, registration_id: str) -> Assignment | None:
    """Free the person's seat (assigned or held); the freed assignment, or None."""
    registration_id = str(registration_id)
    block = _block_of(seating, registration_id)
    if block is None:
        return None
    _take_out(seating, block, {registration_id})
    return _entry(block, registration_id)


def release_many(seating: Seating, registration_ids: Iterable[str]) -> int:
    wanted = {str(r) for r in registration_ids}
    blocks = {}
    for registration in wanted:
        block = _block_of(seating, registration)
        if block is not None:
            blocks[block["_id"]] = block
    for block in blocks.values():
        _take_out(seating, block, wanted)
    return sum(r in wanted for block in blocks.values() for r in block["registrations"])


def swap(seating: Seating, first: str, second: str, by: str) -> tuple[Assignment, Assignment]:
    """Exchange the seats of two seated people. Each keeps their kind: a hold (perhaps of
    someone not approved) stays a hold, with its expiry."""
    first, second = str(first), str(second)
    if first == second:
        raise ValueError("a swap takes two different people")
    blocks = [_block_of(seating, first), _block_of(seating, second)]
    missing = [rid for rid, block in zip((first, second), blocks) if block is None]
    if missing:
        raise Conflict("Both people must have a seat to swap.", code="not_seated",
                       details={"registration_ids": missing})
    a, b = _entry(blocks[0], first), _entry(blocks[1], second)
    moved = [_new_block(seating, [(x.registration_id, y.seat_id, x.user_id)], kind=x.kind, by=by,
                        created_at=x.created_at, expires_at=x.expires_at)
             for x, y in ((a, b), (b, a))]
    for block in {block["_id"]: block for block in blocks}.values():
        _take_out(seating, block, {first, second})
    _insert(seating, moved)
    return _entries(moved[0])[0], _entries(moved[1])[0]


def release_expired(seating: Seating, hold: Assignment) -> Assignment | None:
    """Release one expired hold (from :func:`expired_holds`), unless it was confirmed,
    renewed or released meanwhile."""
    if (hold.tenant_id, hold.conference_id) != (seating.tenant_id, seating.conference_id):
        raise ValueError("the hold belongs to another conference's seats")
    now = _entry(_block_of(seating, hold.registration_id), hold.registration_id)
    if now is None or now.kind != "held" or now.expires_at != hold.expires_at:
        return None
    return release(seating, hold.registration_id)


def _new_block(seating: Seating, entries: list[tuple[str, str, str | None]], *, kind: str,
               by: str, created_at: datetime, expires_at: datetime | None = None) -> dict:
    block = {"_id": ObjectId(), "tenant_id": seating.tenant_id,
             "conference_id": seating.conference_id,
             "seats": [seat for _, seat, _ in entries],
             "registrations": [registration for registration, _, _ in entries],
             "users": [user for _, _, user in entries],
             "kind": kind, "by": by, "created_at": created_at}
    if expires_at is not None:
        block["expires_at"] = expires_at
    return block


def _keys(block: dict) -> list[str]:
    return [REG + r for r in block["registrations"]] + sorted(
        {ROW + row_key(seat) for seat in block["seats"]})


def _insert(seating: Seating, blocks: list[dict]) -> None:
    if not blocks:
        return
    seating.reacquire()
    try:
        _collection().insert_many([{**block, "keys": _keys(block)} for block in blocks],
                                  ordered=False)
    except BaseException:
        seating._occupancy = None  # perhaps written, perhaps not: read again if needed
        raise
    if seating._occupancy is not None:
        for block in blocks:
            seating._occupancy.add(block)


def _take_out(seating: Seating, block: dict, registrations: set[str]) -> None:
    """Remove these people from their block: rewrite it without them, or delete it."""
    leaving = next(r for r in block["registrations"] if r in registrations)
    anchor = _scope(seating.tenant_id, seating.conference_id, keys=REG + leaving)
    keep = [i for i, r in enumerate(block["registrations"]) if r not in registrations]
    rest = {**block, **{field: [block[field][i] for i in keep] for field in ENTRY_FIELDS}}
    seating.reacquire()
    try:
        if keep:
            _collection().update_one(anchor, {"$set": {
                **{field: rest[field] for field in ENTRY_FIELDS}, "keys": _keys(rest)}})
        else:
            _collection().delete_one(anchor)
    except BaseException:
        seating._occupancy = None
        raise
    if seating._occupancy is not None:
        seating._occupancy.remove(block)
        if keep:
            seating._occupancy.add(rest)
