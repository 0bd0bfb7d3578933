"""Seating as an attendee sees it, through the HTTP API on real parts: their own seat and
its push, staff's pushes, and seating wishes given when registering or later."""

from __future__ import annotations

import re

from models import registrations
from tests.integration.seating_helpers import (attendee_registration, conference_with_map,
                                               people, place, register, staff_client)
from tests.integration.stack import receive_events
from tests.integration.test_bad_input import assert_error
from tests.integration.test_registrations import token


# --- an attendee's own seat and wishes ---------------------------------------------------------


def test_an_attendee_sees_their_seat_and_is_told_when_it_changes(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    mine = attendee_registration(stack, tenant, conference_id)
    someone, = people(stack, tenant, conference_id, 1)
    attendee = token(tenant, "attendee")
    sock = stack.socket(attendee)
    try:
        with staff_client(stack, tenant) as client:
            assert place(client, conference_id, mine, "Hall/A/1").status_code == 200
            assert place(client, conference_id, mine, "Hall/A/3").status_code == 200
            with stack.client(attendee) as own:
                shown = own.get(f"/registrations/{mine}/seat")
            assert client.delete(f"/conferences/{conference_id}/seating/assignments/{mine}").status_code == 200
            # Someone else's seat is not pushed to this attendee.
            assert place(client, conference_id, someone, "Hall/A/2").status_code == 200
            assert place(client, conference_id, mine, "Hall/B/1").status_code == 200
        events = receive_events(sock, lambda seen: len(seen) >= 4)
    finally:
        sock.disconnect()
    assert shown.status_code == 200
    assert shown.json()["conference_id"] == conference_id
    assert shown.json()["registration_id"] == mine
    assert shown.json()["seat"]["seat_id"] == "Hall/A/3"
    seat_events = [data for name, data in events if name == "seat.updated"]
    assert [e["registration_id"] for e in seat_events] == [mine] * 4
    assert [e["seat"]["seat_id"] if e["seat"] else None for e in seat_events] == [
        "Hall/A/1", "Hall/A/3", None, "Hall/B/1"]
    with stack.client(attendee) as own:
        now = own.get(f"/registrations/{mine}/seat").json()
        assert now["seat"]["seat_id"] == "Hall/B/1"
        assert_error(own.get(f"/registrations/{someone}/seat"), 404, "registration_not_found")
    with staff_client(stack, tenant) as client:
        assert client.get(f"/registrations/{someone}/seat").json()["seat"]["seat_id"] == "Hall/A/2"
        client.delete(f"/conferences/{conference_id}/seating/assignments/{mine}")
    with stack.client(attendee) as own:
        assert own.get(f"/registrations/{mine}/seat").json()["seat"] is None


def test_staff_sockets_hear_every_seat_change(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    first, second = people(stack, tenant, conference_id, 2)
    sock = stack.socket(token(tenant, "staff"))
    try:
        with staff_client(stack, tenant) as client:
            place(client, conference_id, first, "Hall/A/1")
            place(client, conference_id, second, "Hall/A/2")
            client.post(f"/conferences/{conference_id}/seating/swap",
                        json={"registration_ids": [first, second]})
        events = receive_events(sock, lambda seen: len(
            [1 for name, _ in seen if name == "seat.updated"]) >= 4)
    finally:
        sock.disconnect()
    changes = [(e["registration_id"], e["seat"]["seat_id"]) for name, e in events
               if name == "seat.updated"]
    assert changes == [(first, "Hall/A/1"), (second, "Hall/A/2"), (first, "Hall/A/2"),
                       (second, "Hall/A/1")]


def test_seating_wishes_given_when_registering_are_stored(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    with stack.client(token(tenant, "attendee")) as client:
        forbidden = client.post(f"/conferences/{conference_id}/registrations", json={
            "answers": {}, "seating": {"party": "Team", "priority": "vip"}})
        assert_error(forbidden, 403, "missing_role")
        # VIP seats are staff's to give; an unknown category is a mistake.
        assert_error(client.post(f"/conferences/{conference_id}/registrations", json={
            "answers": {}, "seating": {"category": "vip"}}), 403, "category_reserved")
        assert_error(client.post(f"/conferences/{conference_id}/registrations", json={
            "answers": {}, "seating": {"category": "balcony"}}), 422, "validation_failed")
        # An attendee joins a party only by a code that exists here (no merging by name).
        assert_error(client.post(f"/conferences/{conference_id}/registrations", json={
            "answers": {}, "seating": {"party": "Team Rocket"}}), 422, "validation_failed")
        assert client.get(f"/conferences/{conference_id}/registrations").json()["items"] == []
        registration = register(client, conference_id, seating={
            "party": "new", "category": "standard", "accessible": True})
        shown = client.get(f"/registrations/{registration['id']}").json()
    code = registration["seating"]["party"]
    assert re.fullmatch(r"p-[A-Za-z0-9_-]{12}", code), code
    assert registration["seating"] == {"party": code, "category": "standard",
                                       "accessible": True, "priority": "standard"}
    assert shown["seating"] == registration["seating"]
    with staff_client(stack, tenant) as client:
        vip = register(client, conference_id, email="vip@example.com",
                       seating={"priority": "vip", "party": "Board"})
        companion = register(client, conference_id, email="companion@example.com",
                             seating={"party": code})
    assert vip["seating"] == {"party": "Board", "category": None, "accessible": False,
                              "priority": "vip"}
    assert companion["seating"]["party"] == code


def test_seating_wishes_are_changed_by_the_attendee_and_priority_by_staff(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    mine = attendee_registration(stack, tenant, conference_id, seating={"party": "new"})
    someone, = people(stack, tenant, conference_id, 1)
    with stack.client(token(tenant, "attendee")) as client:
        alpha = client.get(f"/registrations/{mine}").json()["seating"]["party"]
        assert alpha.startswith("p-")
        assert_error(client.patch(f"/registrations/{mine}/seating", json={"party": "Alpha"}),
                     422, "validation_failed")
        assert_error(client.patch(f"/registrations/{mine}/seating", json={"category": "vip"}),
                     403, "category_reserved")
        changed = client.patch(f"/registrations/{mine}/seating",
                               json={"category": "standard", "accessible": True})
        assert changed.status_code == 200, changed.text
        assert changed.json()["seating"] == {"party": alpha, "category": "standard",
                                             "accessible": True, "priority": "standard"}
        assert changed.json()["history"][-1]["reason"].startswith("seating:")
        cleared = client.patch(f"/registrations/{mine}/seating", json={"party": None})
        assert cleared.json()["seating"]["party"] is None
        assert_error(client.patch(f"/registrations/{mine}/seating", json={"priority": "vip"}),
                     403, "missing_role")
        # Not even a reset to the default: priority is staff's alone.
        assert_error(client.patch(f"/registrations/{mine}/seating", json={"priority": None}),
                     403, "missing_role")
        assert_error(client.patch(f"/registrations/{someone}/seating", json={"party": alpha}),
                     404, "registration_not_found")
    with staff_client(stack, tenant) as client:
        promoted = client.patch(f"/registrations/{mine}/seating",
                                json={"priority": "vip", "category": "vip"})
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["seating"] == {"party": None, "category": "vip",
                                              "accessible": True, "priority": "vip"}
        assert promoted.json()["history"][-1]["by"] == tenant.users["staff"].id
        other = client.patch(f"/registrations/{someone}/seating", json={"party": "Beta"})
        assert other.json()["seating"]["party"] == "Beta"
    stored = registrations.get_registration(tenant.id, mine)
    assert (stored.party, stored.seat_category, stored.needs_accessible, stored.priority) == (
        None, "vip", True, "vip")
    assert registrations.get_registration(tenant.id, someone).party == "Beta"
