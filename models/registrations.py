"""Registrations, their decisions and ticket codes.

Every decision is a conditional update from the status it leaves, so a decision
is taken once however many tasks, staff members or redeliveries race for it. A
ticket code is written by the same update that approves, so an approved
registration has exactly one code, and the unique index on its ticket key
guarantees no code is ever issued twice in the tenant; a withdrawn or rejected
registration keeps its voided code, so a code is never reused.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
import secrets

import mongoengine as me
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from meeteasy.errors import Conflict, NotFound
from models.base import TenantDocument, is_object_id, iso, utcnow

STATUSES = ("pending", "approved", "rejected", "waitlisted", "withdrawn")
DECIDABLE = ("pending", "waitlisted")
WITHDRAWABLE = ("pending", "approved", "waitlisted")
TICKET_BYTES = 18  # 144 bits of randomness, 24 URL-safe characters
MAX_PAGE = 500
PRIORITIES = ("vip", "standard")  # the seat assignment serves VIPs first
SEATING_FIELDS = ("party", "seat_category", "needs_accessible", "priority")


KEY_INDEXES = ("one_per_user_key", "one_per_email_key", "one_per_ticket_key")
# The indexes the key indexes replaced (dropped by Registration.ensure_indexes).
REPLACED_INDEXES = ("one_per_user", "one_per_email", "ticket_code_unique",
                    "tenant_id_1_conference_id_1_user_id_1_status_1",
                    "tenant_id_1_conference_id_1_email_1_status_1",
                    "tenant_id_1_ticket_code_1_conference_id_1")


def key_fields(user_id: str | None, email: str | None, ticket_code: str | None) -> dict:
    """The unique keys of a registration: each value, or while it has none a placeholder
    of its own ("~" and random; no user id, email or ticket code starts so), since a
    non-partial unique index takes one entry per document."""
    return {f"{name}_key": value or "~" + secrets.token_hex(12)
            for name, value in (("user", user_id), ("email", email), ("ticket", ticket_code))}


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
            # and the reads by them: find_existing, an attendee's own listing, check-in by
            # code. (Partial unique indexes on user_id, email and ticket_code would each
            # need a plain twin: SecantusDB never reads from a partial index.)
            {"fields": ("tenant_id", "conference_id", "user_key"), "unique": True,
             "name": KEY_INDEXES[0]},
            {"fields": ("tenant_id", "conference_id", "email_key"), "unique": True,
             "name": KEY_INDEXES[1]},
            {"fields": ("tenant_id", "ticket_key"), "unique": True, "name": KEY_INDEXES[2]},
            # one registration: get, every conditional decision (status $in, policy_checked),
            # and a batch of ids ($in on _id; the conference is checked in Python)
            ("tenant_id", "id", "status", "policy_checked"),
            # listing in arrival order, from an `after` cursor (a range on seq)
            {"fields": ("tenant_id", "conference_id", "seq"), "unique": True},
            ("tenant_id", "conference_id", "status", "seq"),
            # the policy's queue, and counts by status
            ("tenant_id", "conference_id", "status", "policy_checked", "seq"),
            # the waitlist in order, and a waitlisted person's position (a range)
            ("tenant_id", "conference_id", "status", "waitlist_seq"),
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
        adopt_key_fields(cls._get_collection())
        super().ensure_indexes()


def adopt_key_fields(collection) -> None:
    """Once per database, before its key indexes exist: give registrations stored before
    the key fields theirs, and drop the indexes the key indexes replaced."""
    if KEY_INDEXES[0] in collection.index_information():
        return
    for stored in collection.find({"user_key": {"$exists": False}}):
        collection.update_one({"_id": stored["_id"], "user_key": {"$exists": False}},
                              {"$set": key_fields(stored.get("user_id"), stored.get("email"),
                                                  stored.get("ticket_code"))})
    for name in set(REPLACED_INDEXES) & set(collection.index_information()):
        collection.drop_index(name)


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


def create_registration(tenant_id: str, conference_id: str, *, seq: int, registered_by: str,
                        user_id: str | None, email: str | None, name: str, answers: dict,
                        form_version: int | None, invite_code: str | None,
                        seating: dict | None = None) -> Registration:
    """Store a pending registration; 409 if this person already registered, SeqTaken if
    another registration holds ``seq``. ``seating`` may set the fields of SEATING_FIELDS."""
    now = utcnow()
    registration = Registration(
        tenant_id=tenant_id, conference_id=conference_id, user_id=user_id, email=email, name=name,
        answers=answers, form_version=form_version, invite_code=invite_code, seq=seq,
        **{key: value for key, value in (seating or {}).items() if key in SEATING_FIELDS},
        registered_by=registered_by, created_at=now, updated_at=now,
        history=[HistoryEntry(at=now, by=registered_by, to="pending", reason="registered")])
    try:
        return registration.save(force_insert=True)
    except me.NotUniqueError:
        existing = find_existing(tenant_id, conference_id, user_id, email)
        if existing is None:
            raise SeqTaken(seq)
        raise Conflict("This person is already registered for the conference.",
                       code="already_registered",
                       details={"registration_id": str(existing.id) if existing else None})


class SeqTaken(Exception):
    """The arrival number was taken (Redis lost the counter while it was in use): draw another."""


def last_seq(tenant_id: str, conference_id: str) -> int:
    """The highest arrival number stored for the conference (0 if none)."""
    last = Registration.objects(tenant_id=tenant_id, conference_id=conference_id) \
        .order_by("-seq").only("seq").first()
    return last.seq if last else 0


def find_existing(tenant_id: str, conference_id: str, user_id: str | None,
                  email: str | None) -> Registration | None:
    for field, value in (("user_key", user_id), ("email_key", email)):
        if value:
            found = Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                         **{field: value}).first()
            if found:
                return found
    return None


def get_registration(tenant_id: str, registration_id: str, *, user_id: str | None = None) -> Registration:
    """The registration, or NotFound; with ``user_id`` only that person's own."""
    if not is_object_id(registration_id):
        raise NotFound("No such registration.", code="registration_not_found")
    registration = Registration.objects(tenant_id=tenant_id, id=registration_id).first()
    # The owner is compared here rather than filtered on, so that one index serves both.
    if registration is None or (user_id is not None and registration.user_id != user_id):
        raise NotFound("No such registration.", code="registration_not_found")
    return registration


def get_by_ticket(tenant_id: str, code: str) -> Registration:
    registration = Registration.objects(tenant_id=tenant_id, ticket_key=code).first()
    if registration is None:
        raise NotFound("No such ticket.", code="ticket_not_found")
    return registration


def waitlist_position(registration: Registration) -> int | None:
    """1 for the next person to be promoted; None unless waitlisted."""
    if registration.status != "waitlisted" or registration.waitlist_seq is None:
        return None
    ahead = Registration.objects(tenant_id=registration.tenant_id,
                                 conference_id=registration.conference_id, status="waitlisted",
                                 waitlist_seq__lt=registration.waitlist_seq).count()
    return ahead + 1


def waitlist_positions(registrations: list[Registration]) -> dict:
    """Live waitlist positions of many registrations of one conference, in two queries
    (rather than a count each): how many wait before the first, then the order of
    everyone waiting between the first and the last."""
    waiting = sorted((r for r in registrations if r.status == "waitlisted" and r.waitlist_seq),
                     key=lambda r: r.waitlist_seq)
    if not waiting:
        return {}
    first, last = waiting[0], waiting[-1]
    base = waitlist_position(first)
    between = sorted(r.waitlist_seq for r in Registration.objects(
        tenant_id=first.tenant_id, conference_id=first.conference_id, status="waitlisted",
        waitlist_seq__gte=first.waitlist_seq, waitlist_seq__lte=last.waitlist_seq).only("waitlist_seq"))
    return {r.id: base + bisect.bisect_left(between, r.waitlist_seq) for r in waiting}


def count_status(tenant_id: str, conference_id: str, status: str) -> int:
    return Registration.objects(tenant_id=tenant_id, conference_id=conference_id, status=status).count()


def unchecked_pending(tenant_id: str, conference_id: str, limit: int) -> list[Registration]:
    """Pending registrations the policy has not looked at yet, in arrival order."""
    return list(Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                     status="pending", policy_checked=False)
                .order_by("seq").limit(limit))


def next_waitlisted(tenant_id: str, conference_id: str, limit: int) -> list[Registration]:
    return list(Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                     status="waitlisted").order_by("waitlist_seq").limit(limit))


def decide(tenant_id: str, registration_id, *, to: str, by: str, reason: str = "",
           from_statuses: tuple[str, ...] = DECIDABLE, waitlist_seq: int | None = None,
           policy_checked: bool = True) -> Registration | None:
    """Move a registration from one of ``from_statuses`` to ``to``; None if it was not there.

    Approval writes a fresh ticket code in the same update (a collision with an
    existing code, ~2^-144, is retried with a new one)."""
    now = utcnow()
    changes = dict(set__status=to, set__reason=reason, set__decided_by=by, set__decided_at=now,
                   set__updated_at=now, set__policy_checked=policy_checked,
                   push__history=HistoryEntry(at=now, by=by, to=to, reason=reason))
    if to == "waitlisted":
        changes["set__waitlist_seq"] = waitlist_seq
    query = Registration.objects(tenant_id=tenant_id, id=registration_id, status__in=from_statuses)
    if to != "approved":
        if to in ("withdrawn", "rejected"):
            changes["set__ticket_void"] = True
        return query.modify(new=True, **changes)
    for _ in range(3):
        code = new_ticket_code()
        try:
            return query.modify(new=True, set__ticket_code=code, set__ticket_key=code,
                                set__ticket_void=False, **changes)
        except me.NotUniqueError:
            continue
    raise Conflict("Could not issue a unique ticket code.", code="ticket_code_collision")


@dataclass(frozen=True)
class Decision:
    """One decision of a batch: move ``registration_id`` to ``to`` (``"checked"``: the
    policy looked and left it pending for staff)."""

    registration_id: object
    to: str
    reason: str = ""
    waitlist_seq: int | None = None


def decide_many(tenant_id: str, decisions: list[Decision], *, by: str,
                from_statuses: tuple[str, ...] = DECIDABLE) -> list[Registration]:
    """Apply a batch of decisions in one round trip; returns the registrations that moved.

    Each update is conditional, as in :func:`decide`; the ones that moved are read
    back by the decision time written into them (a registration withdrawn meanwhile
    keeps its status and is not returned)."""
    if not decisions:
        return []
    now = utcnow()
    operations = []
    for decision in decisions:
        if decision.to == "checked":
            operations.append(UpdateOne(
                {"tenant_id": tenant_id, "_id": ObjectId(str(decision.registration_id)),
                 "status": {"$in": ["pending"]}, "policy_checked": False},
                {"$set": {"policy_checked": True, "reason": decision.reason, "updated_at": now}}))
            continue
        changes = {"status": decision.to, "reason": decision.reason, "decided_by": by,
                   "decided_at": now, "updated_at": now, "policy_checked": True}
        if decision.to == "approved":
            code = new_ticket_code()
            changes.update(ticket_code=code, ticket_key=code, ticket_void=False)
        elif decision.to == "waitlisted":
            changes["waitlist_seq"] = decision.waitlist_seq
        elif decision.to in ("withdrawn", "rejected"):
            changes["ticket_void"] = True
        history = {"at": now, "by": by, "to": decision.to, "reason": decision.reason}
        operations.append(UpdateOne(
            {"tenant_id": tenant_id, "_id": ObjectId(str(decision.registration_id)),
             "status": {"$in": list(from_statuses)}},
            {"$set": changes, "$push": {"history": history}}))
    try:
        Registration._get_collection().bulk_write(operations, ordered=False)
    except BulkWriteError as error:
        # Only a ticket-code collision (~2^-144) can fail an update: redo those one by one.
        for failed in error.details.get("writeErrors", []):
            decision = decisions[failed["index"]]
            decide(tenant_id, decision.registration_id, to=decision.to, by=by,
                   reason=decision.reason, from_statuses=from_statuses,
                   waitlist_seq=decision.waitlist_seq)
    moved = [d.registration_id for d in decisions if d.to != "checked"]
    return [registration for registration in _by_ids(tenant_id, moved)
            if registration.decided_at == now and registration.decided_by == by]


def list_registrations(tenant_id: str, conference_id: str, *, status: str | None = None,
                       text: str | None = None, answers: dict[str, str] | None = None,
                       user_id: str | None = None, after_seq: int | None = None,
                       limit: int = 50) -> list[Registration]:
    """Registrations in arrival order after ``after_seq``, filtered by status, text on
    name/email (case-insensitive) and exact form answers (``{"person.city": "Lyon"}``).

    The server reads by conference (and status) from the cursor on; a person's own
    listing reads their one registration. Text and answers (no index can serve a
    substring or an arbitrary answer path) are checked here, row by row, until the
    page is full, so results and the ``after_seq`` cursor are those of the full filter."""
    limit = max(1, min(limit, MAX_PAGE))
    filters: dict = {"tenant_id": tenant_id, "conference_id": conference_id}
    checks = []
    if user_id:
        filters["user_key"] = user_id  # one registration per person: the rest is checked below
        if status:
            checks.append(lambda r: r.status == status)
        if after_seq is not None:
            checks.append(lambda r: r.seq > after_seq)
    else:
        if status:
            filters["status"] = status
        if after_seq is not None:
            filters["seq__gt"] = after_seq
    if text:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
        checks.append(lambda r: any(isinstance(value, str) and pattern.search(value)
                                    for value in (r.name, r.email)))
    for name, value in (answers or {}).items():
        checks.append(lambda r, path=name.split("."), value=value:
                      _path_equals(r.answers, path, value))
    found = Registration.objects(**filters).order_by("seq")
    if not checks:
        return list(found.limit(limit))
    page = []
    for registration in found.batch_size(limit + 50):
        if all(check(registration) for check in checks):
            page.append(registration)
            if len(page) == limit:
                break
    return page


def _path_equals(document, path: list[str], value) -> bool:
    """MongoDB's ``{"a.b": value}`` on a stored document: the path descends into
    sub-documents, into the documents of an array and by position (``a.0``); it
    matches a value equal to ``value``, or an array holding it."""
    if not path:
        if isinstance(document, list) and any(_same(item, value) for item in document):
            return True
        return _same(document, value)
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return head in document and _path_equals(document[head], rest, value)
    if isinstance(document, list):
        if head.isdigit() and int(head) < len(document) \
                and _path_equals(document[int(head)], rest, value):
            return True
        return any(_path_equals(item, path, value) for item in document
                   if isinstance(item, dict))
    return False


def _same(stored, value) -> bool:
    # BSON equality: numbers compare by value across int and float, but never equal a
    # boolean or a string (in Python, 1 == True).
    if isinstance(stored, bool) or isinstance(value, bool):
        return isinstance(stored, bool) and isinstance(value, bool) and stored == value
    numbers = (int, float)
    if isinstance(stored, numbers) != isinstance(value, numbers):
        return False
    return stored == value


def by_ids(tenant_id: str, conference_id: str, ids: list[str]) -> list[Registration]:
    """The conference's registrations among ``ids`` (malformed or foreign ids are left out),
    in arrival order."""
    found = _by_ids(tenant_id, ids)
    return sorted((r for r in found if r.conference_id == conference_id), key=lambda r: r.seq)


def _by_ids(tenant_id: str, ids: list) -> list[Registration]:
    valid = [str(rid) for rid in ids if is_object_id(str(rid or ""))]
    return list(Registration.objects(tenant_id=tenant_id, id__in=valid)) if valid else []


def ids_with_status(tenant_id: str, conference_id: str, status: str, limit: int = 50_000) -> list[str]:
    """Ids of every registration in ``status``, in arrival order (for bulk decisions)."""
    found = Registration.objects(tenant_id=tenant_id, conference_id=conference_id, status=status) \
        .order_by("seq").only("id").limit(limit)
    return [str(registration.id) for registration in found]


def delete_unannounced(tenant_id: str, registration_id) -> None:
    """Undo a registration whose approval task could not be sent (nothing else saw it)."""
    Registration.objects(tenant_id=tenant_id, id=registration_id, status="pending",
                         policy_checked=False).delete()


def withdraw(tenant_id: str, registration_id: str, by: str, *, user_id: str | None = None) -> Registration:
    """Withdraw a registration (its ticket becomes void); 409 once rejected or withdrawn.
    With ``user_id``, only that person's own registration."""
    registration = get_registration(tenant_id, registration_id, user_id=user_id)
    done = decide(tenant_id, registration.id, to="withdrawn", by=by, reason="Withdrawn.",
                  from_statuses=WITHDRAWABLE, policy_checked=True)
    if done is None:
        raise Conflict(f"A {registration.status} registration cannot be withdrawn.",
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
    now = utcnow()
    said = ", ".join(f"{key}={value!r}" for key, value in sorted(changes.items()))
    updated = Registration.objects(tenant_id=tenant_id, id=registration.id).modify(
        new=True, set__updated_at=now,
        push__history=HistoryEntry(at=now, by=by, to=registration.status, reason=f"seating: {said}"),
        **{f"set__{key}": value for key, value in changes.items()})
    if updated is None:
        raise NotFound("No such registration.", code="registration_not_found")
    return updated


def new_party_code() -> str:
    """A party code the server makes: unguessable, so only the people it is shared with
    can join (72 bits, 12 URL-safe characters after the prefix)."""
    return "p-" + secrets.token_urlsafe(9)


def party_exists(tenant_id: str, conference_id: str, party: str) -> bool:
    return Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                party=party).first() is not None


def approved_for_seating(tenant_id: str, conference_id: str) -> list[Registration]:
    """Every approved registration with what the seat assignment reads, in arrival order."""
    return list(Registration.objects(tenant_id=tenant_id, conference_id=conference_id,
                                     status="approved")
                .only("id", "seq", "user_id", "name", "party", "seat_category",
                      "needs_accessible", "priority")
                .order_by("seq"))
