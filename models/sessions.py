"""A conference's sessions: when and where they take place, and who gives them.

Sessions belong to one conference of one tenant; every query names both. Two
sessions may not overlap in one room (intervals are half-open, so one may start
when the other ends). Writes to an archived conference are refused. Sessions are
removed for real on delete (unlike conferences), with an audit entry that keeps
what was removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import mongoengine as me
from bson import ObjectId

from meeteasy import locks
from meeteasy.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from models import audit
from models.base import (TenantDocument, is_object_id, iso, snapshot_diff, utcnow,
                         validate_document)
from models.conferences import Conference, get_changeable, to_utc
from models.speakers import Speaker

MAX_PAGE = 500
MAX_SPEAKERS_PER_SESSION = 50
# The room lock guards a few MongoDB round-trips; it expires long after they can
# have finished, and a writer waits for it only briefly before answering 503.
ROOM_LOCK_TIMEOUT = 30
ROOM_LOCK_WAIT = 5
SESSION_FIELDS = ("title", "description", "starts_at", "ends_at", "room", "track", "speaker_ids")


class Session(TenantDocument):
    conference_id = me.StringField(required=True)
    title = me.StringField(required=True, max_length=300)
    description = me.StringField(default="", max_length=20000)
    starts_at = me.DateTimeField(required=True)
    ends_at = me.DateTimeField(required=True)
    room = me.StringField(default="", max_length=200)
    # The room as compared: "Hall A", "hall a" and " Hall  A " are one room.
    room_key = me.StringField(default="")
    track = me.StringField(default="", max_length=200)
    speaker_ids = me.ListField(me.StringField())
    created_by = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    # Every query names the conference, writes by id included.
    meta = {
        "collection": "sessions",
        "indexes": [
            # the agenda, a day of it (a range), sessions before or after the dates
            ("tenant_id", "conference_id", "starts_at"),
            # a room's schedule: the overlap check, listing by room (and day); a track
            # filter on top of it is applied in Python
            ("tenant_id", "conference_id", "room_key", "starts_at"),
            # listing by track (and day)
            ("tenant_id", "conference_id", "track", "starts_at"),
            # unlinking a deleted speaker
            ("tenant_id", "conference_id", "speaker_ids"),
            # one session: get, update, delete
            ("tenant_id", "conference_id", "id"),
        ],
    }


# --- pure rules ----------------------------------------------------------------------


def room_key(room: str) -> str:
    return " ".join((room or "").split()).casefold()


def overlaps(starts_at: datetime, ends_at: datetime, other_starts_at: datetime,
             other_ends_at: datetime) -> bool:
    """Half-open intervals: back-to-back sessions do not overlap."""
    return starts_at < other_ends_at and other_starts_at < ends_at


def first_overlap(starts_at: datetime, ends_at: datetime, room: str, sessions,
                  exclude: Any = None):
    """The earliest of ``sessions`` in ``room`` overlapping the interval, or None."""
    key = room_key(room)
    if not key:
        return None
    clashing = [s for s in sessions if s.id != exclude and room_key(s.room) == key
                and overlaps(starts_at, ends_at, s.starts_at, s.ends_at)]
    return min(clashing, key=lambda s: (s.starts_at, str(s.id)), default=None)


def check_session_fields(fields: dict, conference: Conference) -> dict:
    """Validate and normalise session fields (a full set merged with any patch); 422 naming
    each field. Times must carry an offset and lie within the conference's dates."""
    problems: dict[str, list[str]] = {}
    cleaned = dict(fields)
    for name in sorted(set(fields) - set(SESSION_FIELDS)):
        problems[name] = ["Not a field that can be set."]
    for name in ("title", "description", "room", "track"):
        if name in fields and not isinstance(fields[name], str):
            problems[name] = ["Must be a string."]
        elif name in fields and name != "description":
            cleaned[name] = " ".join(fields[name].split())
    if "title" in cleaned and "title" not in problems and not cleaned["title"]:
        problems["title"] = ["A title is required."]
    for name in ("starts_at", "ends_at"):
        value = fields.get(name)
        if not isinstance(value, datetime):
            problems[name] = ["Must be a date and time."]
        elif value.utcoffset() is None:
            problems[name] = ["Give a time zone offset, e.g. 2027-05-01T09:00:00+02:00."]
        else:
            cleaned[name] = to_utc(value)
    if "starts_at" not in problems and "ends_at" not in problems:
        starts_at, ends_at = cleaned["starts_at"], cleaned["ends_at"]
        if ends_at <= starts_at:
            problems["ends_at"] = ["Must be after starts_at."]
        if starts_at < conference.starts_at:
            problems["starts_at"] = [f"Must not be before the conference starts "
                                     f"({iso(conference.starts_at)})."]
        if ends_at > conference.ends_at:
            problems.setdefault("ends_at", []).append(
                f"Must not be after the conference ends ({iso(conference.ends_at)}).")
    ids = fields.get("speaker_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        problems["speaker_ids"] = ["Must be a list of speaker ids."]
    else:
        cleaned["speaker_ids"] = list(dict.fromkeys(ids))
        if len(cleaned["speaker_ids"]) > MAX_SPEAKERS_PER_SESSION:
            problems["speaker_ids"] = [f"At most {MAX_SPEAKERS_PER_SESSION} speakers."]
    if problems:
        raise ValidationFailed.for_fields(problems)
    return cleaned


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants that begin and end ``day`` in ``timezone`` (DST days included)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return to_utc(start), to_utc(end)


def group_by_day(sessions: list[Session], timezone: str) -> list[tuple[date, list[Session]]]:
    """Sessions grouped by their start date in ``timezone``, days and sessions in order."""
    zone = ZoneInfo(timezone)
    days: dict[date, list[Session]] = {}
    for session in sorted(sessions, key=lambda s: (s.starts_at, room_key(s.room), str(s.id))):
        days.setdefault(session.starts_at.astimezone(zone).date(), []).append(session)
    return sorted(days.items())


# --- views ---------------------------------------------------------------------------


def session_view(session: Session, timezone: str) -> dict:
    """The session, with its times also in the conference's time zone."""
    zone = ZoneInfo(timezone)
    return {
        "id": str(session.id),
        "conference_id": session.conference_id,
        "title": session.title,
        "description": session.description,
        "starts_at": iso(session.starts_at),
        "ends_at": iso(session.ends_at),
        "local_starts_at": session.starts_at.astimezone(zone).isoformat(),
        "local_ends_at": session.ends_at.astimezone(zone).isoformat(),
        "room": session.room,
        "track": session.track,
        "speaker_ids": list(session.speaker_ids),
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at),
    }


def _session_snapshot(session: Session) -> dict:
    return {"title": session.title, "description": session.description,
            "starts_at": iso(session.starts_at), "ends_at": iso(session.ends_at),
            "room": session.room, "track": session.track,
            "speaker_ids": list(session.speaker_ids)}


# --- sessions ------------------------------------------------------------------------


@contextmanager
def room_lock(tenant_id: str, conference_id: str, room: str) -> Iterator[None]:
    """Serialise the writers of one room's schedule.

    Why a Redis lock: the overlap rule spans documents (a session may not overlap any
    other in its room), which no unique index can express, and a check-then-insert
    without one lets two concurrent writers both pass the check. The lock is named by
    tenant, conference and room, expires after ROOM_LOCK_TIMEOUT (a writer that died
    never blocks the room for longer), and a writer waits ROOM_LOCK_WAIT at most,
    then gets 503 ``agenda_busy``. Should the lock expire under a writer that stalled,
    the writers re-check after writing (see ``_verify_no_overlap``), so two overlapping
    sessions are still never both kept. A room-less session needs no lock."""
    key = room_key(room)
    if not key:
        yield
        return
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    busy = ServiceUnavailable(f"Room {room!r} is being rescheduled by someone else; try again "
                              "in a moment.", code="agenda_busy")
    with locks.held(f"meeteasy:lock:tenant:{tenant_id}:conference:{conference_id}:room:{digest}",
                    timeout=ROOM_LOCK_TIMEOUT, wait=ROOM_LOCK_WAIT, busy=busy):
        yield


def _overlapping(tenant_id: str, conference_id: str, room: str, starts_at: datetime,
                 ends_at: datetime, exclude: Any = None) -> list[Session]:
    key = room_key(room)
    if not key:
        return []
    candidates = Session.objects(tenant_id=tenant_id, conference_id=conference_id, room_key=key,
                                 starts_at__lt=ends_at).order_by("starts_at", "id")
    return [s for s in candidates if s.ends_at > starts_at and s.id != exclude]


def _overlap_conflict(other: Session) -> Conflict:
    return Conflict(
        f"Room {other.room!r} is taken by {other.title!r} from {iso(other.starts_at)} to "
        f"{iso(other.ends_at)}.", code="session_overlap",
        details={"session": {"id": str(other.id), "title": other.title, "room": other.room,
                             "starts_at": iso(other.starts_at), "ends_at": iso(other.ends_at)}})


def _check_speakers_exist(tenant_id: str, conference_id: str, speaker_ids: list[str]) -> None:
    if not speaker_ids:
        return
    valid = [i for i in speaker_ids if ObjectId.is_valid(i)]
    found = {str(s.id) for s in Speaker.objects(tenant_id=tenant_id, conference_id=conference_id,
                                                id__in=valid).only("id")}
    unknown = [i for i in speaker_ids if i not in found]
    if unknown:
        raise ValidationFailed.for_fields(
            {"speaker_ids": [f"No speaker of this conference has the id {i!r}." for i in unknown]})


def _drop_vanished_speakers(session: Session) -> Session:
    """A speaker deleted between the existence check and the write is unlinked here
    (its deletion unlinks it from every session written before; this covers the rest)."""
    if not session.speaker_ids:
        return session
    found = {str(s.id) for s in Speaker.objects(
        tenant_id=session.tenant_id, conference_id=session.conference_id,
        id__in=[ObjectId(i) for i in session.speaker_ids]).only("id")}
    gone = [i for i in session.speaker_ids if i not in found]
    if gone:
        Session.objects(tenant_id=session.tenant_id, conference_id=session.conference_id,
                        id=session.id).update_one(pull_all__speaker_ids=gone)
        session.speaker_ids = [i for i in session.speaker_ids if i in found]
    return session


def _verify_no_overlap(session: Session) -> Session | None:
    """After a write: the session another writer put in the same slot, if any."""
    clashing = _overlapping(session.tenant_id, session.conference_id, session.room,
                            session.starts_at, session.ends_at, exclude=session.id)
    return clashing[0] if clashing else None


def create_session(tenant_id: str, conference_id: str, *, actor: str, **fields) -> Session:
    """Schedule a session; 422 for bad fields or unknown speakers, 409 ``session_overlap``
    naming the session already in that room at that time."""
    conference = get_changeable(tenant_id, conference_id)
    missing = {name: ["This field is required."] for name in ("title", "starts_at", "ends_at")
               if fields.get(name) is None}
    if missing:
        raise ValidationFailed.for_fields(missing)
    fields = check_session_fields(fields, conference)
    _check_speakers_exist(tenant_id, conference_id, fields.get("speaker_ids", []))
    session = Session(tenant_id=tenant_id, conference_id=conference_id, created_by=actor,
                      room_key=room_key(fields.get("room", "")), **fields)
    validate_document(session)
    with room_lock(tenant_id, conference_id, session.room):
        clashing = _overlapping(tenant_id, conference_id, session.room, session.starts_at,
                                session.ends_at)
        if clashing:
            raise _overlap_conflict(clashing[0])
        session.save(force_insert=True)
        other = _verify_no_overlap(session)
        if other is not None:
            Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                            id=session.id).delete()
            raise _overlap_conflict(other)
    session = _drop_vanished_speakers(session)
    audit.record(tenant_id, actor, "session.created", "session", str(session.id),
                 conference_id=conference_id, changes=_session_snapshot(session))
    return session


def get_session(tenant_id: str, conference_id: str, session_id: str) -> Session:
    session = None
    if is_object_id(session_id):
        session = Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                                  id=session_id).first()
    if session is None:
        raise NotFound("No such session.", code="session_not_found")
    return session


def list_sessions(tenant_id: str, conference_id: str, *, track: str | None = None,
                  room: str | None = None, day: date | None = None, timezone: str = "UTC",
                  offset: int = 0, limit: int = 200) -> tuple[list[Session], int]:
    """Sessions by start time (then room), and the total matching. ``day`` is a date in
    ``timezone`` (the conference's): the sessions starting on it."""
    filters: dict[str, Any] = {"tenant_id": tenant_id, "conference_id": conference_id}
    track = " ".join(track.split()) if track is not None else None
    if room is not None:
        filters["room_key"] = room_key(room)
    elif track is not None:
        filters["track"] = track
    if day is not None:
        start, end = day_bounds(day, timezone)
        filters["starts_at__gte"] = start
        filters["starts_at__lt"] = end
    found = Session.objects(**filters).order_by("starts_at", "room_key", "id")
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    if room is None or track is None:
        return list(found.skip(offset).limit(limit)), found.count()
    # A room and a track: the room's schedule is read and its track checked here.
    matching = [session for session in found if session.track == track]
    return matching[offset:offset + limit], len(matching)


def update_session(tenant_id: str, conference_id: str, session_id: str, changes: dict, *,
                   actor: str) -> Session:
    """Change a session; the same rules as :func:`create_session` on the merged result."""
    conference = get_changeable(tenant_id, conference_id)
    session = get_session(tenant_id, conference_id, session_id)
    before = _session_snapshot(session)
    current = {"title": session.title, "description": session.description,
               "starts_at": session.starts_at, "ends_at": session.ends_at, "room": session.room,
               "track": session.track, "speaker_ids": list(session.speaker_ids)}
    unknown = sorted(set(changes) - set(SESSION_FIELDS))
    if unknown:
        raise ValidationFailed.for_fields(
            {name: ["Not a field that can be set."] for name in unknown})
    merged = check_session_fields({**current, **changes}, conference)
    if "speaker_ids" in changes:
        _check_speakers_exist(tenant_id, conference_id, merged["speaker_ids"])
    for name, value in merged.items():
        setattr(session, name, value)
    session.room_key = room_key(session.room)
    validate_document(session)
    diff = snapshot_diff(before, _session_snapshot(session))
    if not diff:
        return session
    updates = {f"set__{name}": merged[name] for name in diff}
    updates["set__room_key"] = session.room_key
    moves = bool({"starts_at", "ends_at", "room"} & set(diff))
    with room_lock(tenant_id, conference_id, session.room if moves else ""):
        if moves:
            clashing = _overlapping(tenant_id, conference_id, session.room, session.starts_at,
                                    session.ends_at, exclude=session.id)
            if clashing:
                raise _overlap_conflict(clashing[0])
        updated = Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                                  id=session.id).modify(
            new=True, set__updated_at=utcnow(), **updates)
        if updated is None:
            raise NotFound("No such session.", code="session_not_found")
        other = _verify_no_overlap(updated) if moves else None
        if other is not None:
            restore = {f"set__{name}": current[name] for name in diff}
            Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                            id=session.id).update_one(
                set__room_key=room_key(current["room"]), **restore)
            raise _overlap_conflict(other)
    updated = _drop_vanished_speakers(updated)
    audit.record(tenant_id, actor, "session.updated", "session", str(updated.id),
                 conference_id=conference_id, changes=diff)
    return updated


def delete_session(tenant_id: str, conference_id: str, session_id: str, *, actor: str) -> None:
    get_changeable(tenant_id, conference_id)
    session = get_session(tenant_id, conference_id, session_id)
    if not Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                           id=session.id).delete():
        raise NotFound("No such session.", code="session_not_found")
    audit.record(tenant_id, actor, "session.deleted", "session", str(session.id),
                 conference_id=conference_id, changes=_session_snapshot(session))


def count_sessions_outside(tenant_id: str, conference_id: str, starts_at: datetime,
                           ends_at: datetime) -> int:
    """How many sessions would not fit in the conference dates [starts_at, ends_at]."""
    early = Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                            starts_at__lt=starts_at).count()
    # One range per query: the end of the sessions starting in time is checked here.
    late = sum(1 for session in Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                                                starts_at__gte=starts_at).only("ends_at")
               if session.ends_at > ends_at)
    return early + late


def unlink_speaker(tenant_id: str, conference_id: str, speaker_id: str) -> int:
    """Remove a deleted speaker from every session they gave; how many sessions lost them."""
    return Session.objects(tenant_id=tenant_id, conference_id=conference_id,
                           speaker_ids=speaker_id).update(
        pull__speaker_ids=speaker_id, set__updated_at=utcnow())
