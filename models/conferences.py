"""Conferences and their lifecycle.

``draft → published → ongoing → ended → archived``; a draft or published
conference may also be archived directly, and a published one taken back to
draft. Archiving is the only way to remove a conference: nothing is hard-deleted.
Transitions are conditional updates on the state they leave, so two staff
members (or beat and a person) can never both move the same conference.
Every change is written to the audit log (``models.audit``) with its actor.
"""

from __future__ import annotations

import copy
import functools
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import available_timezones

import mongoengine as me
from bson import ObjectId

from meeteasy.cache import Versioned
from meeteasy.errors import Conflict, NotFound, ValidationFailed
from models import audit
from models.base import (TenantDocument, is_object_id, iso, snapshot_diff, utcnow,
                         validate_document)

STATUSES = ("draft", "published", "ongoing", "ended", "archived")
TRANSITIONS = {
    "draft": ("published", "archived"),
    "published": ("draft", "ongoing", "archived"),
    "ongoing": ("ended",),
    "ended": ("archived",),
    "archived": (),
}
VISIBLE_TO_ATTENDEES = ("published", "ongoing", "ended")
NOT_ARCHIVED = tuple(status for status in STATUSES if status != "archived")
APPROVAL_MODES = ("automatic", "manual", "rules")
RULES_FALLBACKS = ("manual", "reject")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
EMAIL_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EDITABLE = ("title", "slug", "description", "venue", "timezone", "starts_at", "ends_at",
            "capacity", "policy")
REQUIRED = ("title", "slug", "starts_at", "ends_at")
POLICY_FIELDS = ("mode", "waitlist", "email_domains", "rules_fallback", "plugin_rules")
MAX_PAGE = 200
# Each request's copy of a conference (services.access.conference_for), kept per process
# while the conference is unchanged. Its counters change on every registration and
# approval pass without a new version, so copies leave them out (see get_cached).
CACHE = Versioned("conference")
COUNTERS = ("registration_seq", "waitlist_seq", "decided_seq")


class ApprovalPolicy(me.EmbeddedDocument):
    """How the approval task decides a new registration.

    ``automatic`` approves while capacity remains; ``manual`` leaves it pending for
    staff; ``rules`` approves on an allowed email domain, a valid invite code or a
    plugin's verdict, and otherwise applies ``rules_fallback``. Past capacity a
    registration is waitlisted when ``waitlist`` is on, else rejected."""

    mode = me.StringField(choices=APPROVAL_MODES, default="automatic")
    waitlist = me.BooleanField(default=True)
    email_domains = me.ListField(me.StringField())
    rules_fallback = me.StringField(choices=RULES_FALLBACKS, default="manual")
    plugin_rules = me.BooleanField(default=False)


class Conference(TenantDocument):
    title = me.StringField(required=True, max_length=300)
    slug = me.StringField(required=True)
    description = me.StringField(default="", max_length=20000)
    venue = me.StringField(default="", max_length=500)
    timezone = me.StringField(required=True, default="UTC")
    starts_at = me.DateTimeField(required=True)
    ends_at = me.DateTimeField(required=True)
    capacity = me.IntField(min_value=0, null=True)  # None: unlimited
    policy = me.EmbeddedDocumentField(ApprovalPolicy, default=ApprovalPolicy)
    status = me.StringField(required=True, choices=STATUSES, default="draft")
    # The arrival and waitlist counters as stored before they moved to Redis
    # (models.registration_state): floors when the conference's state there is built.
    registration_seq = me.IntField(default=0)
    waitlist_seq = me.IntField(default=0)
    decided_seq = me.IntField(default=0)  # no longer used (the policy's queue is in Redis)
    created_by = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "conferences",
        "indexes": [
            # a slug names one conference of the tenant (no query reads by it)
            {"fields": ("tenant_id", "slug"), "unique": True},
            # one conference: get, the sequence counters, and every conditional update
            # (the status it leaves, or `status $in` the non-archived ones)
            ("tenant_id", "id", "status"),
            # listing: one status, or `status $in` a set of them (never `$ne`, which no
            # index serves); the text search filters this scan in Python
            ("tenant_id", "status", "starts_at"),
            # Platform-level: beat moves conferences of every tenant by their dates.
            ("status", "starts_at"),
            ("status", "ends_at"),
        ],
    }


def public_view(conference: Conference) -> dict:
    return {
        "id": str(conference.id),
        "title": conference.title,
        "slug": conference.slug,
        "description": conference.description,
        "venue": conference.venue,
        "timezone": conference.timezone,
        "starts_at": iso(conference.starts_at),
        "ends_at": iso(conference.ends_at),
        "capacity": conference.capacity,
        "policy": _policy_dict(conference.policy),
        "status": conference.status,
        "allowed_transitions": list(TRANSITIONS[conference.status]),
        "created_by": conference.created_by,
        "created_at": iso(conference.created_at),
        "updated_at": iso(conference.updated_at),
    }


def _policy_dict(policy: ApprovalPolicy | None) -> dict:
    policy = policy or ApprovalPolicy()
    return {"mode": policy.mode, "waitlist": policy.waitlist,
            "email_domains": list(policy.email_domains), "rules_fallback": policy.rules_fallback,
            "plugin_rules": policy.plugin_rules}


def to_utc(moment: datetime) -> datetime:
    """An aware datetime as MongoDB will give it back: UTC, whole milliseconds. Stored
    and returned values then compare equal, and the API answers the same on create and read."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def snapshot(conference: Conference) -> dict[str, Any]:
    """The editable fields, JSON-ready (for the audit log)."""
    view = public_view(conference)
    return {name: view[name] for name in EDITABLE}


def check_fields(fields: dict) -> dict:
    """Validate and normalise conference fields (a full set or a patch); 422 naming each field.

    Dates must carry an offset and are stored in UTC; the policy arrives as a dict."""
    problems: dict[str, list[str]] = {}
    cleaned = dict(fields)
    unknown = sorted(set(fields) - set(EDITABLE))
    for name in unknown:
        problems[name] = ["Not a field that can be set."]
    for name in ("title", "slug", "description", "venue", "timezone"):
        if name in fields and not isinstance(fields[name], str):
            problems[name] = ["Must be a string."]
    if "slug" in fields and "slug" not in problems:
        cleaned["slug"] = fields["slug"].strip().lower()
        if not SLUG.match(cleaned["slug"]):
            problems["slug"] = ["Use 1-80 lowercase letters, digits and inner hyphens."]
    if "title" in fields and "title" not in problems:
        cleaned["title"] = fields["title"].strip()
        if not cleaned["title"]:
            problems["title"] = ["A title is required."]
    if "timezone" in fields and "timezone" not in problems:
        if fields["timezone"] not in time_zones():
            problems["timezone"] = ["Use an IANA time zone such as Europe/Paris."]
    for name in ("starts_at", "ends_at"):
        if name not in fields:
            continue
        if not isinstance(fields[name], datetime):
            problems[name] = ["Must be a date and time."]
        elif fields[name].tzinfo is None or fields[name].utcoffset() is None:
            problems[name] = ["Give a time zone offset, e.g. 2027-05-01T09:00:00+02:00."]
        else:
            cleaned[name] = to_utc(fields[name])
    if "capacity" in fields:
        capacity = fields["capacity"]
        if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                     or capacity < 0):
            problems["capacity"] = ["Must be a whole number >= 0, or null for unlimited."]
    if "policy" in fields:
        policy = fields["policy"]
        if isinstance(policy, ApprovalPolicy):
            policy = _policy_dict(policy)
        if not isinstance(policy, dict):
            problems["policy"] = ["Must be an object."]
        else:
            for name in sorted(set(policy) - set(POLICY_FIELDS)):
                problems[f"policy.{name}"] = ["Not a policy field."]
            domains = [str(domain).strip().lower() for domain in policy.get("email_domains") or []]
            bad = [domain for domain in domains if not EMAIL_DOMAIN.match(domain)]
            if bad:
                problems["policy.email_domains"] = [f"Not a domain: {', '.join(bad)}."]
            known = {name: value for name, value in policy.items() if name in POLICY_FIELDS}
            cleaned["policy"] = ApprovalPolicy(**{**known, "email_domains": domains})
    if problems:
        raise ValidationFailed.for_fields(problems)
    return cleaned


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zones a conference may be in."""
    return frozenset(available_timezones() | {"UTC"})


def _check_dates(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationFailed.for_fields({"ends_at": ["Must be after starts_at."]})


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"A conference with slug {slug!r} already exists.",
                    code="conference_slug_taken", details={"fields": {"slug": ["Taken."]}})


def create_conference(tenant_id: str, created_by: str, **fields) -> Conference:
    """A new draft conference; 422 naming every bad or missing field, 409 on a taken slug."""
    missing = {name: ["This field is required."] for name in REQUIRED if fields.get(name) is None}
    if missing:
        raise ValidationFailed.for_fields(missing)
    fields = check_fields(fields)
    _check_dates(fields["starts_at"], fields["ends_at"])
    conference = Conference(tenant_id=tenant_id, created_by=created_by, **fields)
    validate_document(conference)
    try:
        conference.save(force_insert=True)
    except me.NotUniqueError:
        raise _slug_taken(fields["slug"])
    CACHE.changed(tenant_id, str(conference.id))  # a copy may say it does not exist
    audit.record(tenant_id, created_by, "conference.created", "conference", str(conference.id),
                 conference_id=str(conference.id), changes=snapshot(conference))
    return conference


def get_conference(tenant_id: str, conference_id: str, *,
                   visible_to_attendees: bool = False) -> Conference:
    """The conference, or NotFound. Attendees only see published, ongoing and ended ones."""
    conference = Conference.objects(tenant_id=tenant_id, id=conference_id).first() \
        if is_object_id(conference_id) else None
    return _found(conference, visible_to_attendees)


def get_cached(tenant_id: str, conference_id: str, *,
               visible_to_attendees: bool = False) -> Conference:
    """:func:`get_conference` from this process's copy while the conference is unchanged
    (:mod:`meeteasy.cache`: one Redis read instead of a MongoDB one). The copy has no
    counters (None): those of registrations live in Redis (models.registration_state)."""
    if not is_object_id(conference_id):
        raise NotFound("No such conference.", code="conference_not_found")
    return _found(CACHE.get((tenant_id, conference_id),
                            lambda: _stored_fields(tenant_id, conference_id), _copy),
                  visible_to_attendees)


def _stored_fields(tenant_id: str, conference_id: str) -> dict | None:
    return Conference._get_collection().find_one(
        {"tenant_id": tenant_id, "_id": ObjectId(conference_id)},
        projection={name: False for name in COUNTERS})


def _copy(stored: dict | None) -> Conference | None:
    if stored is None:
        return None
    conference = Conference._from_son(copy.deepcopy(stored))
    for name in COUNTERS:
        conference._data[name] = None  # absent from the copy: fail loudly if read
    return conference


def _found(conference: Conference | None, visible_to_attendees: bool) -> Conference:
    hidden = visible_to_attendees and conference is not None and \
        conference.status not in VISIBLE_TO_ATTENDEES
    if conference is None or hidden:
        raise NotFound("No such conference.", code="conference_not_found")
    return conference


def ensure_changeable(conference: Conference) -> Conference:
    """An archived conference is read-only: it, its agenda, its forms and its seats (409)."""
    if conference.status == "archived":
        raise archived_conflict()
    return conference


def get_changeable(tenant_id: str, conference_id: str) -> Conference:
    """The conference that a write to it or to its parts (agenda, forms, seats) acts on;
    409 if it is archived."""
    return ensure_changeable(get_conference(tenant_id, conference_id))


def archived_conflict() -> Conflict:
    return Conflict("An archived conference cannot be changed.", code="conference_archived")


def list_conferences(tenant_id: str, *, status: str | None = None, text: str | None = None,
                     visible_to_attendees: bool = False, offset: int = 0,
                     limit: int = 50) -> tuple[list[Conference], int]:
    """Conferences by start date, and the total matching (for pagination).

    Archived conferences are left out unless asked for by ``status``; attendees see
    only published, ongoing and ended ones whatever they ask. ``text`` matches title,
    slug or venue (case-insensitive)."""
    if visible_to_attendees and status and status not in VISIBLE_TO_ATTENDEES:
        return [], 0
    if status:
        statuses = (status,)
    elif visible_to_attendees:
        statuses = VISIBLE_TO_ATTENDEES
    else:
        statuses = NOT_ARCHIVED
    found = Conference.objects(tenant_id=tenant_id, status__in=statuses).order_by("starts_at", "id")
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    if not text:
        return list(found.skip(offset).limit(limit)), found.count()
    # No index serves a substring match (MongoDB scans for one too), so the tenant's
    # conferences of those statuses are read once and matched here.
    pattern = re.compile(re.escape(text), re.IGNORECASE)
    matching = [conference for conference in found
                if any(isinstance(value, str) and pattern.search(value)
                       for value in (conference.title, conference.slug, conference.venue))]
    return matching[offset:offset + limit], len(matching)


def plan_update(conference: Conference, changes: dict) -> tuple[dict, dict]:
    """Check a patch of :data:`EDITABLE` fields and apply it to ``conference`` in memory
    (nothing is stored): the cleaned changes, and the diff the audit log records.

    ``policy`` is merged into the current policy (send only what changes). The rules
    that read other collections (sessions inside the dates, capacity above the approved
    registrations) are the update operation's: :func:`services.conferences.update_conference`."""
    if isinstance(changes.get("policy"), dict):
        changes = {**changes, "policy": {**_policy_dict(conference.policy), **changes["policy"]}}
    changes = check_fields(changes)
    before = snapshot(conference)
    for name, value in changes.items():
        setattr(conference, name, value)
    _check_dates(conference.starts_at, conference.ends_at)
    validate_document(conference)
    return changes, snapshot_diff(before, snapshot(conference))


def save_update(conference: Conference, changes: dict, diff: dict, *,
                actor: str | None = None) -> Conference:
    """Store a planned update (:func:`plan_update`) unless the conference was archived
    meanwhile (409), and audit it."""
    tenant_id = conference.tenant_id
    updates = {f"set__{name}": changes[name] for name in diff}
    try:
        updated = Conference.objects(tenant_id=tenant_id, id=conference.id,
                                     status__in=NOT_ARCHIVED).modify(
            new=True, set__updated_at=utcnow(), **updates)
    except me.NotUniqueError:
        raise _slug_taken(changes["slug"])
    if updated is None:
        raise archived_conflict()
    CACHE.changed(tenant_id, str(updated.id))
    audit.record(tenant_id, actor or "unknown", "conference.updated", "conference",
                 str(updated.id), conference_id=str(updated.id), changes=diff)
    return updated


def check_transition(current: str, to: str) -> None:
    """409 ``invalid_transition`` unless the lifecycle allows ``current → to``."""
    allowed = TRANSITIONS[current]
    if to not in allowed:
        raise Conflict(f"A {current} conference cannot become {to}.", code="invalid_transition",
                       details={"from": current, "to": to, "allowed": list(allowed)})


def transition(tenant_id: str, conference_id: str, to: str, *,
               actor: str | None = None) -> Conference:
    """Move the conference to ``to`` if its lifecycle allows it from where it is (409 otherwise)."""
    if to not in STATUSES:
        raise ValidationFailed.for_fields({"status": [f"Must be one of {', '.join(STATUSES)}."]})
    conference = get_conference(tenant_id, conference_id)
    check_transition(conference.status, to)
    moved = _move(conference, to)
    if moved is None:
        raise Conflict("The conference changed meanwhile; reload it and try again.",
                       code="concurrent_change")
    _audit_move(moved, conference.status, actor or "unknown")
    return moved


def archive_conference(tenant_id: str, conference_id: str, *,
                       actor: str | None = None) -> Conference:
    """The soft delete: the conference stays, read-only, listed only when asked for."""
    return transition(tenant_id, conference_id, "archived", actor=actor)


def _move(conference: Conference, to: str) -> Conference | None:
    moved = Conference.objects(tenant_id=conference.tenant_id, id=conference.id,
                               status=conference.status).modify(
        new=True, set__status=to, set__updated_at=utcnow())
    if moved is not None:
        CACHE.changed(conference.tenant_id, str(conference.id))
    return moved


def _audit_move(conference: Conference, was: str, actor: str) -> None:
    archived = conference.status == "archived"
    action = "conference.archived" if archived else "conference.status_changed"
    audit.record(conference.tenant_id, actor, action, "conference", str(conference.id),
                 conference_id=str(conference.id),
                 changes={"status": {"from": was, "to": conference.status}})


def advance_by_dates(now: datetime) -> list[Conference]:
    """Beat's pass over every tenant: published → ongoing once started, then ongoing →
    ended once over (one pass may do both, through ``ongoing`` as the lifecycle says).

    Returns the conferences moved, each once, in their new state. Each move is
    conditional on the state it leaves, so a second pass, a second beat or a person
    moving the conference meanwhile never moves it twice."""
    moved: dict[Any, Conference] = {}
    for was, condition, to in (("published", {"starts_at__lte": now}, "ongoing"),
                               ("ongoing", {"ends_at__lte": now}, "ended")):
        for conference in Conference.objects.across_tenants().filter(status=was, **condition):
            done = _move(conference, to)
            if done is not None:
                _audit_move(done, was, audit.SYSTEM_ACTOR)
                moved[done.id] = done
    return list(moved.values())


def ids_of_tenant(tenant_id: str) -> list[str]:
    """Every conference id of the tenant (an operator's command walks them)."""
    return [str(c.id) for c in Conference.objects(tenant_id=tenant_id).only("id")]
