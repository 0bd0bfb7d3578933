"""The plain rules of conferences and their agenda: lifecycle, field checks, overlap,
days in a time zone. No database: documents are built in memory and never saved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from bson import ObjectId

from meeteasy.errors import Conflict, ValidationFailed
from models.sessions import (Session, check_session_fields, day_bounds, first_overlap,
                             group_by_day, overlaps, room_key)
from models.speakers import check_speaker_fields
from models.conferences import (STATUSES, TRANSITIONS, ApprovalPolicy, Conference, check_fields,
                                check_transition, to_utc)

PARIS = timezone(timedelta(hours=2))


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2027, 5, day, hour, minute, tzinfo=UTC)


def fields_of(error: ValidationFailed) -> dict:
    return error.details["fields"]


# --- lifecycle -----------------------------------------------------------------------

ALLOWED = {("draft", "published"), ("draft", "archived"), ("published", "draft"),
           ("published", "ongoing"), ("published", "archived"), ("ongoing", "ended"),
           ("ended", "archived")}


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("to", STATUSES)
def test_only_the_lifecycle_transitions_are_allowed(current, to):
    if (current, to) in ALLOWED:
        check_transition(current, to)
        return
    with pytest.raises(Conflict) as refused:
        check_transition(current, to)
    assert refused.value.code == "invalid_transition"
    assert refused.value.details == {"from": current, "to": to,
                                     "allowed": list(TRANSITIONS[current])}


def test_archived_is_final_and_every_status_is_reachable_from_draft():
    assert TRANSITIONS["archived"] == ()
    reached, frontier = {"draft"}, ["draft"]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(STATUSES)
    # Beat's path by the dates is made of allowed steps only.
    assert "ongoing" in TRANSITIONS["published"] and "ended" in TRANSITIONS["ongoing"]


# --- conference fields ---------------------------------------------------------------


def test_fields_are_normalised():
    cleaned = check_fields({"slug": " My-Conf ", "title": "  Title ", "timezone": "Europe/Paris",
                            "starts_at": datetime(2027, 5, 1, 9, 0, 0, 123456, tzinfo=PARIS),
                            "policy": {"mode": "rules", "email_domains": [" Example.COM "]}})
    assert cleaned["slug"] == "my-conf"
    assert cleaned["title"] == "Title"
    assert cleaned["starts_at"] == datetime(2027, 5, 1, 7, 0, 0, 123000, tzinfo=UTC)
    assert cleaned["starts_at"].tzinfo is UTC
    policy = cleaned["policy"]
    assert isinstance(policy, ApprovalPolicy)
    assert (policy.mode, policy.email_domains, policy.waitlist) == ("rules", ["example.com"], True)


@pytest.mark.parametrize("fields, bad", [
    ({"slug": "-nope"}, "slug"),
    ({"slug": "a" * 81}, "slug"),
    ({"slug": "has space"}, "slug"),
    ({"title": "   "}, "title"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"starts_at": datetime(2027, 5, 1, 9)}, "starts_at"),
    ({"ends_at": "2027-05-01"}, "ends_at"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"policy": {"email_domains": ["not a domain"]}}, "policy.email_domains"),
    ({"policy": {"colour": "red"}}, "policy.colour"),
    ({"status": "ended"}, "status"),
])
def test_bad_fields_are_named(fields, bad):
    with pytest.raises(ValidationFailed) as refused:
        check_fields(fields)
    assert list(fields_of(refused.value)) == [bad]


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ValidationFailed) as refused:
        check_fields({"slug": "", "timezone": "x", "capacity": -5})
    assert set(fields_of(refused.value)) == {"slug", "timezone", "capacity"}


def test_capacity_null_means_unlimited():
    assert check_fields({"capacity": None})["capacity"] is None


def test_to_utc_keeps_the_instant():
    moment = datetime(2027, 3, 28, 1, 30, 0, 999999, tzinfo=PARIS)
    assert to_utc(moment) == moment.replace(microsecond=999000)
    assert to_utc(moment).utcoffset() == timedelta(0)


# --- overlap -------------------------------------------------------------------------


@pytest.mark.parametrize("a, b, clash", [
    ((9, 10), (10, 11), False),  # back to back
    ((9, 10), (8, 9), False),
    ((9, 10), (9, 10), True),  # same slot
    ((9, 11), (10, 12), True),  # partly
    ((9, 12), (10, 11), True),  # contains
    ((10, 11), (9, 12), True),  # inside
    ((9, 10), (11, 12), False),
])
def test_overlap_is_half_open(a, b, clash):
    assert overlaps(at(a[0]), at(a[1]), at(b[0]), at(b[1])) is clash
    assert overlaps(at(b[0]), at(b[1]), at(a[0]), at(a[1])) is clash


def session(title, start, end, room="Hall A"):
    return Session(id=ObjectId(), title=title, starts_at=start, ends_at=end, room=room)


def test_first_overlap_looks_in_the_same_room_only():
    keynote = session("Keynote", at(9), at(10))
    workshop = session("Workshop", at(9), at(12), room="Room 2")
    lunch = session("Lunch", at(12), at(13))
    existing = [lunch, workshop, keynote]
    assert first_overlap(at(9, 30), at(12, 30), "hall  a", existing) is keynote
    assert first_overlap(at(10), at(12), "Hall A", existing) is None
    assert first_overlap(at(11), at(12), "ROOM 2", existing) is workshop
    # A session never clashes with itself (an update), and room-less sessions never clash.
    assert first_overlap(at(9), at(10), "Hall A", existing, exclude=keynote.id) is None
    assert first_overlap(at(9), at(10), "", existing) is None


def test_room_names_compare_without_case_or_extra_spaces():
    assert room_key("  Hall   A ") == room_key("hall a") == "hall a"
    assert room_key("") == ""


# --- session fields ------------------------------------------------------------------


CONFERENCE = Conference(title="C", slug="c", timezone="Europe/Paris",
                        starts_at=at(7), ends_at=at(16, day=2))


def test_session_times_must_be_inside_the_conference():
    with pytest.raises(ValidationFailed) as refused:
        check_session_fields({"title": "Early", "starts_at": at(6), "ends_at": at(17, day=2)},
                             CONFERENCE)
    assert set(fields_of(refused.value)) == {"starts_at", "ends_at"}
    with pytest.raises(ValidationFailed) as refused:
        check_session_fields({"title": "Backwards", "starts_at": at(10), "ends_at": at(9)},
                             CONFERENCE)
    assert list(fields_of(refused.value)) == ["ends_at"]
    with pytest.raises(ValidationFailed) as refused:
        check_session_fields({"title": "Naive", "starts_at": datetime(2027, 5, 1, 9),
                              "ends_at": at(10)}, CONFERENCE)
    assert list(fields_of(refused.value)) == ["starts_at"]
    ok = check_session_fields({"title": " Whole  day ", "starts_at": at(7),
                               "ends_at": at(16, day=2), "room": " Hall  A ",
                               "speaker_ids": ["a", "b", "a"]}, CONFERENCE)
    assert (ok["title"], ok["room"], ok["speaker_ids"]) == ("Whole day", "Hall A", ["a", "b"])


def test_speaker_fields_are_checked():
    with pytest.raises(ValidationFailed) as refused:
        check_speaker_fields({"name": " ", "email": "nope", "photo_url": "ftp://x/y.png",
                              "links": [{"label": "site", "url": "javascript:alert(1)"}]})
    assert set(fields_of(refused.value)) == {"name", "email", "photo_url", "links.0.url"}
    ok = check_speaker_fields({"name": "Ada  Lovelace", "email": "Ada@Example.com",
                               "links": [{"label": "site", "url": "https://ada.example"}]})
    assert ok["name"] == "Ada Lovelace" and ok["email"] == "ada@example.com"


# --- days ----------------------------------------------------------------------------


def test_day_bounds_follow_the_time_zone_and_daylight_saving():
    start, end = day_bounds(date(2027, 5, 1), "Europe/Paris")
    assert (start, end) == (datetime(2027, 4, 30, 22, tzinfo=UTC),
                            datetime(2027, 5, 1, 22, tzinfo=UTC))
    start, end = day_bounds(date(2027, 3, 28), "Europe/Paris")  # clocks go forward: 23 hours
    assert end - start == timedelta(hours=23)


def test_sessions_group_by_local_day_in_start_order():
    late = session("Late", at(22, 30), at(23, 30))  # 00:30 on May 2nd in Paris
    morning = session("Morning", at(7), at(8))
    second = session("Second", at(8), at(9), room="B")
    grouped = group_by_day([late, second, morning], "Europe/Paris")
    assert [(day.isoformat(), [s.title for s in items]) for day, items in grouped] == [
        ("2027-05-01", ["Morning", "Second"]), ("2027-05-02", ["Late"])]
    assert [day.isoformat() for day, _ in group_by_day([late], "UTC")] == ["2027-05-01"]
