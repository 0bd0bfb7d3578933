"""Registrations, their decisions and ticket codes.

A registration's changes are made in Redis (:mod:`models.registration_state`) and
stored in MongoDB by the flusher, in bulk. Every decision is applied over the version
of the registration it was decided on, from the status it leaves, so a decision is
taken once however many tasks, staff members or redeliveries race for it. A ticket
code is written by the change that approves, so an approved registration has exactly
one code; a withdrawn or rejected registration keeps its voided code, so a code is
never reused. One registration is read from Redis first; lists are read from MongoDB
once the flusher stored every change made before the read.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial

import mongoengine as me
from bson import ObjectId

from meeteasy.errors import Conflict, NotFound, TransientError
from models import job_state, registration_keys, registration_state
from models.registration_keys import KEY_INDEXES, key_fields  # noqa: F401  (tests use them)
from models.jobs import Job, job_of
from models.base import TenantDocument, is_object_id, iso, utcnow

STATUSES = ("pending", "approved", "rejected", "waitlisted", "withdrawn")
DECIDABLE = ("pending", "waitlisted")
WITHDRAWABLE = ("pending", "approved", "waitlisted")
TICKET_BYTES = 18  # 144 bits of randomness, 24 URL-safe characters
MAX_PAGE = 500
PRIORITIES = ("vip", "standard")  # the seat assignment serves VIPs first
SEATING_FIELDS = ("party", "seat_category", "needs_accessible", "priority")


class HistoryEntry(me.EmbeddedDocument):
    """Who moved the registration where, and why (the audit trail)."""

    at = me.DateTimeField(required=True)
    by = me.StringField(required=True)  # a user id, or "policy" / "rules" / "plugin:<name>"
    to = me.StringField(required=True)
    reason = me.StringField(default="")


class Registration(TenantDocument):
    conference_id = me.StringField(required=True)
    user_id = me.StringField(null=True)
    email = me.StringField(null=True)
    name = me.StringField(default="", max_length=300)
    answers = me.DictField()
    form_version = me.IntField(null=True)
    invite_code = me.StringField(null=True)
    status = me.StringField(required=True, choices=STATUSES, default="pending")
    seq = me.IntField(required=True)  # arrival order within the conference
    policy_checked = me.BooleanField(default=False)  # the approval policy has looked at it
    # The number of the registration's latest change (meeteasy.changes): what keeps a
    # replayed or late flush from overwriting a newer one.
    change_seq = me.IntField(default=0)
    waitlist_seq = me.IntField(null=True)
    reason = me.StringField(default="")
    ticket_code = me.StringField(null=True)
    ticket_void = me.BooleanField(default=False)
    registered_by = me.StringField(required=True)
    decided_by = me.StringField(null=True)
    decided_at = me.DateTimeField(null=True)
    history = me.EmbeddedDocumentListField(HistoryEntry)
    # user_id, email and ticket_code as unique keys: the value, or a placeholder of the
    # registration's own while it has none (see key_fields).
    user_key = me.StringField()
    email_key = me.StringField()
    ticket_key = me.StringField()
    # What the seat assignment needs to know (models/seatmaps.py, tasks/seating/).
    party = me.StringField(null=True, max_length=100)  # people sharing it sit together
    seat_category = me.StringField(null=True, max_length=40)  # None: any category
    needs_accessible = me.BooleanField(default=False)
    priority = me.StringField(choices=PRIORITIES, default="standard")  # set by staff
    created_at = me.DateTimeField(required=True, default=utcnow)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    # Text and form-answer filters are checked in Python over one of these scans.
    meta = {
        "collection": "registrations",
        "indexes": [
            # One registration per person per conference, one per ticket code in the tenant,
            # and the reads by them: an attendee's own listing, check-in by code. (Partial
            # unique indexes on user_id, email and ticket_code would each need a plain
            # twin: SecantusDB never reads from a partial index.)
            {"fields": ("tenant_id", "conference_id", "user_key"), "unique": True,
             "name": KEY_INDEXES[0]},
            {"fields": ("tenant_id", "conference_id", "email_key"), "unique": True,
             "name": KEY_INDEXES[1]},
            {"fields": ("tenant_id", "ticket_key"), "unique": True, "name": KEY_INDEXES[2]},
            # one registration, a batch of ids ($in on _id), and the flusher's guarded write
            ("tenant_id", "id", "change_seq"),
            # listing in arrival order, from an `after` cursor (a range on seq)
            {"fields": ("tenant_id", "conference_id", "seq"), "unique": True},
            ("tenant_id", "conference_id", "status", "seq"),
            # joining a party by its code
            ("tenant_id", "conference_id", "party"),
        ],
    }

    def __init__(self, *args, **values):
        super().__init__(*args, **values)
        if self._created and not self.user_key:  # new, not read from the database
            for name, value in key_fields(self.user_id, self.email, self.ticket_code).items():
                setattr(self, name, value)

    @classmethod
    def ensure_indexes(cls):
        registration_keys.adopt_key_fields(cls._get_collection())
        registration_keys.adopt_change_seq(cls._get_collection())
        super().ensure_indexes()


def new_ticket_code() -> str:
    return secrets.token_urlsafe(TICKET_BYTES)


def qr_payload(registration: Registration) -> str | None:
    """What the ticket's QR code encodes: versioned, names the conference, carries the code."""
    if not registration.ticket_code or registration.ticket_void:
        return None
    return f"ME1:{registration.conference_id}:{registration.ticket_code}"


def public_view(registration: Registration, *, waitlist_position: int | None = None) -> dict:
    active_ticket = registration.status == "approved" and not registration.ticket_void
    return {
        "id": str(registration.id),
        "conference_id": registration.conference_id,
        "user_id": registration.user_id,
        "email": registration.email,
        "name": registration.name,
        "answers": registration.answers,
        "form_version": registration.form_version,
        "status": registration.status,
        "reason": registration.reason,
        "seq": registration.seq,
        "waitlist_position": waitlist_position,
        "ticket_code": registration.ticket_code if active_ticket else None,
        "qr_payload": qr_payload(registration) if active_ticket else None,
        "registered_by": registration.registered_by,
        "decided_by": registration.decided_by,
        "decided_at": iso(registration.decided_at),
        "created_at": iso(registration.created_at),
        "updated_at": iso(registration.updated_at),
        "history": [{"at": iso(h.at), "by": h.by, "to": h.to, "reason": h.reason}
                    for h in registration.history],
        "seating": seating_view(registration),
    }


def seating_view(registration: Registration) -> dict:
    return {"party": registration.party, "category": registration.seat_category,
            "accessible": bool(registration.needs_accessible),
            "priority": registration.priority or "standard"}


def full_view(registration: Registration) -> dict:
    """The view with the live waitlist position (one indexed count when waitlisted)."""
    return public_view(registration, waitlist_position=waitlist_position(registration))


def create_registration(tenant_id: str, conference_id: str, *, registered_by: str,
                        user_id: str | None, email: str | None, name: str, answers: dict,
                        form_version: int | None, invite_code: str | None,
                        seating: dict | None = None) -> Registration:
    """Record a pending registration, numbered in arrival order, in Redis (the flusher
    stores it); 409 if this person already registered. ``seating`` may set the fields of
    SEATING_FIELDS."""
    return _create(tenant_id, conference_id, registered_by=registered_by, user_id=user_id,
                   email=email, name=name, answers=answers, form_version=form_version,
                   invite_code=invite_code, seating=seating)[0]


def create_with_job(tenant_id: str, conference_id: str, job: tuple[dict, tuple[str, str]],
                    **fields) -> tuple[Registration, Job]:
    """:func:`create_registration`, and in the same Redis transaction a job (its values,
    its queue and task message; :func:`models.jobs.new_job_values`) recorded and its
    message queued: one exists if and only if the other does."""
    registration, answer = _create(tenant_id, conference_id, job=job, **fields)
    return registration, job_of(job_state.decode_created(answer))


def _create(tenant_id: str, conference_id: str, *, registered_by: str, user_id: str | None,
            email: str | None, name: str, answers: dict, form_version: int | None,
            invite_code: str | None, seating: dict | None = None,
            job: tuple[dict, tuple[str, str]] | None = None,
            registration_id: str | None = None) -> tuple[Registration, object]:
    now = utcnow()
    registration = Registration(
        id=ObjectId(registration_id), tenant_id=tenant_id, conference_id=conference_id,
        user_id=user_id,
        email=email, name=name, answers=answers, form_version=form_version,
        invite_code=invite_code, seq=0,
        **{key: value for key, value in (seating or {}).items() if key in SEATING_FIELDS},
        registered_by=registered_by, created_at=now, updated_at=now,
        history=[HistoryEntry(at=now, by=registered_by, to="pending", reason="registered")])
    registration.validate()
    son = registration.to_mongo().to_dict()
    del son["seq"]  # the script numbers it
    also = None if job is None else \
        (lambda pipe, requires: job_state.create_on(
            pipe, job[0], job[1], requires,
            registration_state.join(tenant_id, conference_id, str(son["_id"]))))
    outcome, found, job_answer = registration_state.create(
        tenant_id, conference_id, son, registration_state.person_keys(user_id, email),
        partial(_stored_state, tenant_id, conference_id), also)
    if outcome == "taken":
        raise Conflict("This person is already registered for the conference.",
                       code="already_registered", details={"registration_id": found})
    return Registration._from_son(found), job_answer


def get_many(tenant_id: str, registration_ids: list[str]) -> dict[str, Registration]:
    """The registrations of these ids that exist (Redis first, then MongoDB), by id."""
    if not registration_ids:
        return {}
    return {registration_id: registration for registration_id, (registration, _)
            in _current(tenant_id, registration_ids).items()}


def _stored_state(tenant_id: str, conference_id: str) -> tuple[list[dict], int, int]:
    """What MongoDB holds of a conference's registrations, for registration_state.build."""
    from models.conferences import Conference  # models.conferences imports this module

    stored = Conference.objects(tenant_id=tenant_id, id=conference_id) \
        .only("registration_seq", "waitlist_seq").first() if is_object_id(conference_id) else None
    documents = list(Registration._get_collection().find(
        {"tenant_id": tenant_id, "conference_id": conference_id},
        {"user_id": 1, "email": 1, "status": 1, "policy_checked": 1, "seq": 1, "waitlist_seq": 1}))
    if stored is None:
        return documents, 0, 0
    return documents, stored.registration_seq or 0, stored.waitlist_seq or 0


def ensure_built(tenant_id: str, conference_id: str, *, force: bool = False) -> bool:
    """Build the conference's hot counters and queues from MongoDB unless they are built
    (``force``: rebuild them); True if this call built them."""
    if not force and registration_state.is_ready(tenant_id, conference_id):
        return False
    return registration_state.build(tenant_id, conference_id,
                                    partial(_stored_state, tenant_id, conference_id), force=force)


def get_registration(tenant_id: str, registration_id: str, *, user_id: str | None = None) -> Registration:
    """The registration (Redis first, then MongoDB), or NotFound; with ``user_id`` only
    that person's own."""
    if not is_object_id(registration_id):
        raise NotFound("No such registration.", code="registration_not_found")
    hot = registration_state.read(tenant_id, [registration_id]).get(registration_id)
    registration = Registration._from_son(hot[0]) if hot else \
        Registration.objects(tenant_id=tenant_id, id=registration_id).first()
    # The owner is compared here rather than filtered on, so that one index serves both.
    if registration is None or (user_id is not None and registration.user_id != user_id):
        raise NotFound("No such registration.", code="registration_not_found")
    return registration


def get_by_ticket(tenant_id: str, code: str) -> Registration:
    registration_state.settled()
    registration = Registration.objects(tenant_id=tenant_id, ticket_key=code).first()
    if registration is None:
        raise NotFound("No such ticket.", code="ticket_not_found")
    return get_registration(tenant_id, str(registration.id))  # its latest change


def waitlist_position(registration: Registration) -> int | None:
    """1 for the next person to be promoted; None unless waitlisted."""
    return waitlist_positions([registration]).get(registration.id)


def waitlist_positions(registrations: list[Registration]) -> dict:
    """Live waitlist positions of registrations of one conference (their ranks on the
    conference's waitlist in Redis, one round trip)."""
    waiting = [r for r in registrations if r.status == "waitlisted"]
    if not waiting:
        return {}
    tenant_id, conference_id = waiting[0].tenant_id, waiting[0].conference_id
    ensure_built(tenant_id, conference_id)
    ranks = registration_state.waitlist_ranks(tenant_id, conference_id,
                                              [str(r.id) for r in waiting])
    return {r.id: ranks[str(r.id)] + 1 for r in waiting if str(r.id) in ranks}


def count_status(tenant_id: str, conference_id: str, status: str) -> int:
    ensure_built(tenant_id, conference_id)
    return registration_state.counts(tenant_id, conference_id).get(status, 0)


def reserve_arrivals(tenant_id: str, conference_id: str, count: int) -> range:
    """Reserve ``count`` arrival numbers, for registrations stored in MongoDB directly (a
    bulk import); once stored, :func:`ensure_built` with ``force`` takes them in."""
    ensure_built(tenant_id, conference_id)
    last = registration_state.reserve_arrivals(tenant_id, conference_id, count)
    return range(last - count + 1, last + 1)


def next_waitlist_seq(tenant_id: str, conference_id: str, count: int = 1) -> int:
    """Reserve ``count`` waitlist numbers (under the conference's lock); returns the last."""
    ensure_built(tenant_id, conference_id)
    return registration_state.next_waitlist_numbers(tenant_id, conference_id, count)


def unchecked_pending(tenant_id: str, conference_id: str, limit: int) -> list[Registration]:
    """Pending registrations the policy has not looked at yet, in arrival order."""
    return _queue(tenant_id, conference_id, "pending", limit)


def next_waitlisted(tenant_id: str, conference_id: str, limit: int) -> list[Registration]:
    return _queue(tenant_id, conference_id, "waitlist", limit)


def _queue(tenant_id: str, conference_id: str, which: str, limit: int) -> list[Registration]:
    ensure_built(tenant_id, conference_id)
    belongs = _QUEUED_IN[which]
    while True:
        ids = registration_state.queue_head(tenant_id, conference_id, which, limit)
        current = _current(tenant_id, ids)
        stale = [rid for rid in ids if rid not in current or not belongs(current[rid][0])]
        if not stale:
            return [current[rid][0] for rid in ids]
        # Gone, or moved on by a change this queue never saw (the conference was built
        # from an older copy): left at the head, it would stop every pass there.
        registration_state.leave_queue(tenant_id, conference_id, which, stale)


_QUEUED_IN = {"pending": lambda r: r.status == "pending" and not r.policy_checked,
              "waitlist": lambda r: r.status == "waitlisted"}


def _current(tenant_id: str, ids: list[str]) -> dict[str, tuple[Registration, int]]:
    """The latest documents of ``ids`` with their versions, loading into Redis those it
    no longer holds (once every change so far is in MongoDB); unknown ids are left out."""
    ids = [rid for rid in dict.fromkeys(str(rid) for rid in ids) if is_object_id(rid)]
    found = registration_state.read(tenant_id, ids)
    missing = [rid for rid in ids if rid not in found]
    if missing:
        registration_state.settled()
        registration_state.load(list(Registration._get_collection().find(
            {"tenant_id": tenant_id, "_id": {"$in": [ObjectId(rid) for rid in missing]}})))
        found.update(registration_state.read(tenant_id, missing))
    return {rid: (Registration._from_son(doc), version) for rid, (doc, version) in found.items()}


@dataclass(frozen=True)
class Decision:
    """One decision of a batch: move ``registration_id`` to ``to`` (``"checked"``: the
    policy looked and left it pending for staff)."""

    registration_id: object
    to: str
    reason: str = ""
    waitlist_seq: int | None = None


def decide(tenant_id: str, registration_id, *, to: str, by: str, reason: str = "",
           from_statuses: tuple[str, ...] = DECIDABLE,
           waitlist_seq: int | None = None) -> Registration | None:
    """Move a registration from one of ``from_statuses`` to ``to``; None if it was not there."""
    moved = decide_many(tenant_id, [Decision(registration_id, to, reason, waitlist_seq)], by=by,
                        from_statuses=from_statuses)
    return moved[0] if moved else None


def decide_many(tenant_id: str, decisions: list[Decision], *, by: str,
                from_statuses: tuple[str, ...] = DECIDABLE) -> list[Registration]:
    """Apply a batch of decisions, each only from one of ``from_statuses`` (``checked``:
    only to a pending registration the policy has not seen); returns the registrations
    that moved. Approval issues a fresh ticket code (144 random bits; the unique index
    on ticket keys refuses a repeat when it is stored).

    Each decision is applied over the version it was decided on: one that raced a
    change (a withdrawal, a seating change) is decided again on what that left."""
    now = utcnow()
    moved: list[Registration] = []
    remaining = decisions
    for _ in range(CHANGE_ATTEMPTS):
        if not remaining:
            break
        current = _current(tenant_id, [d.registration_id for d in remaining])
        planned: list[tuple[Decision, Registration, int]] = []
        for decision in remaining:
            registration, version = current.get(str(decision.registration_id), (None, 0))
            if registration is not None and _decidable(registration, decision, from_statuses):
                _decided(registration, decision, by, now)
                planned.append((decision, registration, version))
        applied = _apply(tenant_id, [(r, v, False) for _, r, v in planned])
        moved += [r for (d, r, _), done in zip(planned, applied) if done and d.to != "checked"]
        remaining = [d for (d, _, _), done in zip(planned, applied) if not done]
    return moved


CHANGE_ATTEMPTS = 5  # a registration changed by someone else between read and write


def _decidable(registration: Registration, decision: Decision,
               from_statuses: tuple[str, ...]) -> bool:
    if decision.to == "checked":
        return registration.status == "pending" and not registration.policy_checked
    return registration.status in from_statuses


def _decided(registration: Registration, decision: Decision, by: str, now) -> None:
    registration.reason, registration.updated_at = decision.reason, now
    registration.policy_checked = True
    if decision.to == "checked":
        return
    registration.status, registration.decided_by, registration.decided_at = decision.to, by, now
    if decision.to == "approved":
        registration.ticket_code = registration.ticket_key = new_ticket_code()
        registration.ticket_void = False
    elif decision.to == "waitlisted":
        registration.waitlist_seq = decision.waitlist_seq
    elif decision.to in ("withdrawn", "rejected"):
        registration.ticket_void = True
    registration.history.append(HistoryEntry(at=now, by=by, to=decision.to,
                                             reason=decision.reason))


def _apply(tenant_id: str, planned: list[tuple[Registration, int, bool]]) -> list[bool]:
    """Write changed registrations (each with the version it was read at, and whether it
    stays in the policy's queue), by conference; whether each was written."""
    done = [False] * len(planned)
    by_conference: dict[str, list[int]] = {}
    for index, (registration, _, _) in enumerate(planned):
        by_conference.setdefault(registration.conference_id, []).append(index)
    for conference_id, indexes in by_conference.items():
        # No build first: on a conference Redis does not hold, the script keeps no
        # counters, and the build counts this change from MongoDB once it is flushed.
        numbers = registration_state.apply(tenant_id, conference_id, [
            registration_state.Change(planned[i][0].to_mongo().to_dict(), planned[i][1],
                                      planned[i][2]) for i in indexes])
        for index, number in zip(indexes, numbers):
            if number:
                planned[index][0].change_seq = number
                done[index] = True
    return done


def flush(records: list[tuple[int, dict]]) -> None:
    """The flusher's writer for registrations (meeteasy.flusher)."""
    registration_state.flush(Registration._get_collection(), records)


def by_ids(tenant_id: str, conference_id: str, ids: list[str]) -> list[Registration]:
    """The conference's registrations among ``ids`` (malformed or foreign ids are left out),
    in arrival order."""
    return sorted((r for r in get_many(tenant_id, ids).values()
                   if r.conference_id == conference_id), key=lambda r: r.seq)


def ids_with_status(tenant_id: str, conference_id: str, status: str, limit: int = 50_000) -> list[str]:
    """Ids of every registration in ``status``, in arrival order (for bulk decisions)."""
    registration_state.settled()
    found = Registration.objects(tenant_id=tenant_id, conference_id=conference_id, status=status) \
        .order_by("seq").only("id").limit(limit)
    return [str(registration.id) for registration in found]


def withdraw(tenant_id: str, registration_id: str, by: str, *, user_id: str | None = None) -> Registration:
    """Withdraw a registration (its ticket becomes void); 409 once rejected or withdrawn.
    With ``user_id``, only that person's own registration."""
    registration = get_registration(tenant_id, registration_id, user_id=user_id)
    done = decide(tenant_id, registration.id, to="withdrawn", by=by, reason="Withdrawn.",
                  from_statuses=WITHDRAWABLE)
    if done is None:
        current = get_registration(tenant_id, registration_id)
        raise Conflict(f"A {current.status} registration cannot be withdrawn.",
                       code="not_withdrawable")
    return done


def update_seating(registration: Registration, changes: dict, by: str) -> Registration:
    """Change what the seat assignment knows of a registration (party, category,
    accessibility, priority); recorded in its history. The caller has read it (and
    checked who may change it)."""
    tenant_id = registration.tenant_id
    changes = {key: value for key, value in changes.items() if key in SEATING_FIELDS}
    if not changes:
        return registration
    said = ", ".join(f"{key}={value!r}" for key, value in sorted(changes.items()))
    for _ in range(CHANGE_ATTEMPTS):
        current, version = _current(tenant_id, [str(registration.id)]).get(
            str(registration.id), (None, 0))
        if current is None:
            raise NotFound("No such registration.", code="registration_not_found")
        now = utcnow()
        for key, value in changes.items():
            setattr(current, key, value)
        current.updated_at = now
        current.history.append(HistoryEntry(at=now, by=by, to=current.status,
                                            reason=f"seating: {said}"))
        queued = current.status == "pending" and not current.policy_checked
        if _apply(tenant_id, [(current, version, queued)])[0]:
            return current
    raise TransientError("The registration kept changing; try again.")


def new_party_code() -> str:
    """A party code the server makes: unguessable, so only the people it is shared with
    can join (72 bits, 12 URL-safe characters after the prefix)."""
    return "p-" + secrets.token_urlsafe(9)


def party_exists(tenant_id: str, conference_id: str, party: str) -> bool:
    registration_state.settled()
    return Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                party=party).first() is not None


def approved_for_seating(tenant_id: str, conference_id: str) -> list[Registration]:
    """Every approved registration with what the seat assignment reads, in arrival order."""
    registration_state.settled()
    return list(Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                     status="approved")
                .only("id", "seq", "user_id", "name", "party", "seat_category",
                      "needs_accessible", "priority")
                .order_by("seq"))


def latest_change_seq(tenant_id: str) -> int:
    """The highest change number stored for the tenant's registrations (after a Redis
    loss, new changes are numbered above it). A scan: an operator's command runs it."""
    latest = Registration.objects(tenant_id=tenant_id).order_by("-change_seq") \
        .only("change_seq").first()
    return (latest.change_seq or 0) if latest is not None else 0
