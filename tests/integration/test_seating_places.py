"""Staff's manual seats through the HTTP API on real parts: placing, moving, releasing,
swapping and holding seats, the listing, and what archiving and withdrawing do to seats.
(The auto-assign job is tested in test_seating_tasks.py.)"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from models import conferences, seat_assignments
from tests.integration.seating_helpers import (CSV_MAP, MAP, approve, attendee_registration,
                                               conference_with_map, map_without, people, place,
                                               seated, staff_client, staff_map)
from tests.integration.stack import receive_events, wait_for_job
from tests.integration.test_bad_input import assert_error
from tests.integration.test_registrations import make_conference, token


# --- staff's manual changes -------------------------------------------------------------------


def test_staff_places_moves_and_releases_a_person(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    first, second = people(stack, tenant, conference_id, 2)
    pending, = people(stack, tenant, conference_id, 1, approved=False)
    base = f"/conferences/{conference_id}/seating/assignments"
    with staff_client(stack, tenant) as client:
        placed = place(client, conference_id, first, "Hall/A/2")
        assert placed.status_code == 200, placed.text
        body = placed.json()
        assert body["previous"] is None and body["warnings"] == []
        assert {k: body["seat"][k] for k in ("seat_id", "section", "row", "seat", "registration_id",
                                             "kind", "expires_at", "by")} == {
            "seat_id": "Hall/A/2", "section": "Hall", "row": "A", "seat": "2",
            "registration_id": first, "kind": "assigned", "expires_at": None,
            "by": tenant.users["staff"].id}

        moved = place(client, conference_id, first, "Hall/A/3")
        assert moved.status_code == 200
        assert moved.json()["previous"]["seat_id"] == "Hall/A/2"
        assert moved.json()["seat"]["seat_id"] == "Hall/A/3"
        again = place(client, conference_id, first, "Hall/A/3")  # where they sit already
        assert again.status_code == 200 and again.json()["previous"]["seat_id"] == "Hall/A/3"

        taken = assert_error(place(client, conference_id, second, "Hall/A/3"), 409, "seat_taken")
        assert taken["details"]["registration_id"] == first
        assert_error(place(client, conference_id, second, "Hall/B/4"), 409, "seat_blocked")
        unknown = assert_error(place(client, conference_id, second, "Hall/Z/9"), 422)
        assert list(unknown["details"]["fields"]) == ["seat_id"]
        not_seatable = assert_error(place(client, conference_id, pending, "Hall/A/1"), 409,
                                    "not_seatable")
        assert not_seatable["details"] == {"status": "pending"}
        assert seated(client, conference_id) == {"Hall/A/3": (first, "assigned")}

        released = client.delete(f"{base}/{first}")
        assert released.status_code == 200
        assert released.json()["seat"] is None
        assert released.json()["previous"]["seat_id"] == "Hall/A/3"
        assert_error(client.delete(f"{base}/{first}"), 404, "seat_not_found")
        assert seated(client, conference_id) == {}
        # The freed seat is free for someone else.
        assert place(client, conference_id, second, "Hall/A/3").status_code == 200


def test_placing_without_a_map_or_in_another_conference_is_404(stack, tenant):
    no_map = make_conference(tenant, mode="manual", form=None)
    other = conference_with_map(stack, tenant)
    rid, = people(stack, tenant, no_map, 1)
    with staff_client(stack, tenant) as client:
        assert_error(place(client, no_map, rid, "Hall/A/1"), 404, "seat_map_not_found")
        # A registration of another conference of the same tenant is not this one's.
        assert_error(place(client, other, rid, "Hall/A/1"), 404, "registration_not_found")
        assert_error(client.get(f"/conferences/{no_map}/seating/map.csv"), 404, "seat_map_not_found")
        assert client.get(f"/conferences/{no_map}/seating/assignments").json() == {
            "items": [], "next_after": None}


def test_warnings_say_when_a_seat_misses_a_wish(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    rid, = people(stack, tenant, conference_id, 1,
                  seating={"category": "vip", "accessible": True})
    with staff_client(stack, tenant) as client:
        both = place(client, conference_id, rid, "Hall/B/1").json()["warnings"]
        category_only = place(client, conference_id, rid, "Hall/B/3").json()["warnings"]
        access_only = place(client, conference_id, rid, "Hall/A/2").json()["warnings"]
        none = place(client, conference_id, rid, "Hall/A/1").json()["warnings"]
    assert len(both) == 2
    assert len(category_only) == 1 and "vip" in category_only[0]
    assert len(access_only) == 1 and "accessible" in access_only[0]
    assert none == []


def test_swap_exchanges_two_seats(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    first, second, third = people(stack, tenant, conference_id, 3)
    with staff_client(stack, tenant) as client:
        place(client, conference_id, first, "Hall/A/1")
        place(client, conference_id, second, "Hall/B/2")
        swapped = client.post(f"/conferences/{conference_id}/seating/swap",
                              json={"registration_ids": [first, second]})
        assert swapped.status_code == 200, swapped.text
        assert [(s["registration_id"], s["seat_id"]) for s in swapped.json()["seats"]] == [
            (first, "Hall/B/2"), (second, "Hall/A/1")]
        assert seated(client, conference_id) == {"Hall/B/2": (first, "assigned"),
                                                 "Hall/A/1": (second, "assigned")}
        unseated = client.post(f"/conferences/{conference_id}/seating/swap",
                               json={"registration_ids": [first, third]})
        assert assert_error(unseated, 409, "not_seated")["details"] == {"registration_ids": [third]}
        assert seated(client, conference_id) == {"Hall/B/2": (first, "assigned"),
                                                 "Hall/A/1": (second, "assigned")}


def test_a_swap_moves_a_hold_as_a_hold(stack, tenant):
    """A hold swapped with a seat stays a hold, with its expiry: a swap seats no one who
    was not approved."""
    conference_id = conference_with_map(stack, tenant)
    pending, = people(stack, tenant, conference_id, 1, approved=False)
    approved, = people(stack, tenant, conference_id, 1)
    with staff_client(stack, tenant) as client:
        hold = client.post(f"/conferences/{conference_id}/seating/holds",
                           json={"registration_id": pending, "seat_id": "Hall/A/4", "minutes": 60})
        assert hold.status_code == 201, hold.text
        assert place(client, conference_id, approved, "Hall/A/1").status_code == 200
        swapped = client.post(f"/conferences/{conference_id}/seating/swap",
                              json={"registration_ids": [pending, approved]})
        assert swapped.status_code == 200, swapped.text
        assert seated(client, conference_id) == {"Hall/A/1": (pending, "held"),
                                                 "Hall/A/4": (approved, "assigned")}
    moved_hold, moved_seat = swapped.json()["seats"]
    assert moved_hold["expires_at"] == hold.json()["seat"]["expires_at"]
    assert moved_seat["expires_at"] is None


def test_a_seat_is_never_given_while_a_new_map_takes_it_away(stack, tenant):
    """Placing and replacing the map at the same time: whenever someone got the seat, the
    map still has it (a replacement that would remove it waits, then is refused)."""
    conference_id = conference_with_map(stack, tenant)
    rid, = people(stack, tenant, conference_id, 1)
    url = f"/conferences/{conference_id}/seating/map"
    stop, answers = threading.Event(), []

    def replace_again_and_again():
        with staff_client(stack, tenant) as client:
            n = 0
            while not stop.is_set():
                response = client.put(url, json=map_without("Hall/A/4") if n % 2 else MAP)
                answers.append((response.status_code, response.json().get("error", {}).get("code")))
                n += 1

    replacer = threading.Thread(target=replace_again_and_again)
    replacer.start()
    placed = 0
    try:
        with staff_client(stack, tenant) as client:
            for _ in range(80):
                response = place(client, conference_id, rid, "Hall/A/4")
                if response.status_code == 200:
                    placed += 1
                    shown = staff_map(client, conference_id)
                    occupant = {s["id"]: s["occupant"] for section in shown["layout"]["sections"]
                                for row in section["rows"] for s in row["seats"]}
                    assert occupant.get("Hall/A/4", {}).get("registration_id") == rid, shown["map"]
                    assert shown["occupancy"]["assigned"] == 1
                    assert client.delete(
                        f"/conferences/{conference_id}/seating/assignments/{rid}").status_code == 200
                else:
                    assert_error(response, 422, "validation_failed")
    finally:
        stop.set()
        replacer.join()
    assert placed and {status for status, _ in answers} <= {200, 409}
    assert {code for status, code in answers if status == 409} <= {"seats_occupied"}


def test_a_hold_keeps_a_seat_for_a_while_and_an_assignment_confirms_it(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    pending, = people(stack, tenant, conference_id, 1, approved=False)
    other, = people(stack, tenant, conference_id, 1)
    url = f"/conferences/{conference_id}/seating/holds"
    with staff_client(stack, tenant) as client:
        held = client.post(url, json={"registration_id": pending, "seat_id": "Hall/A/4",
                                      "minutes": 90})
        assert held.status_code == 201, held.text
        hold = held.json()["seat"]
        assert hold["kind"] == "held" and hold["registration_id"] == pending
        expires = datetime.fromisoformat(hold["expires_at"].replace("Z", "+00:00"))
        created = datetime.fromisoformat(hold["created_at"].replace("Z", "+00:00"))
        assert (expires - created).total_seconds() == pytest.approx(90 * 60, abs=1)
        assert_error(place(client, conference_id, other, "Hall/A/4"), 409, "seat_taken")
        assert_error(client.post(url, json={"registration_id": other, "seat_id": "Hall/A/4",
                                            "minutes": 5}), 409, "seat_taken")
        assert_error(client.post(url, json={"registration_id": other, "seat_id": "Hall/B/4",
                                            "minutes": 5}), 409, "seat_blocked")
        # Approved, then given the seat they hold: the hold becomes their seat.
        approve(client, [pending])
        confirmed = place(client, conference_id, pending, "Hall/A/4")
        assert confirmed.status_code == 200
        assert confirmed.json()["seat"]["kind"] == "assigned"
        assert confirmed.json()["seat"]["expires_at"] is None
        assert confirmed.json()["previous"]["kind"] == "held"
        assert seated(client, conference_id) == {"Hall/A/4": (pending, "assigned")}
        # Holding a seat for someone seated would make their seat expire: move them instead.
        assert_error(client.post(url, json={"registration_id": pending, "seat_id": "Hall/A/3",
                                            "minutes": 5}), 409, "already_seated")
        assert seated(client, conference_id) == {"Hall/A/4": (pending, "assigned")}


def test_rejected_and_withdrawn_registrations_cannot_be_held(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    rid, = people(stack, tenant, conference_id, 1, approved=False)
    with staff_client(stack, tenant) as client:
        wait_for_job(client, client.post(f"/registrations/{rid}/reject", json={}).json()["job_id"])
        refused = client.post(f"/conferences/{conference_id}/seating/holds",
                              json={"registration_id": rid, "seat_id": "Hall/A/1", "minutes": 5})
    assert assert_error(refused, 409, "not_seatable")["details"] == {"status": "rejected"}


def test_assignments_are_listed_in_seat_order_page_by_page(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    ids = people(stack, tenant, conference_id, 5)
    targets = ["Hall/B/3", "Hall/A/1", "Hall/B/1", "Hall/A/4", "Hall/A/2"]
    url = f"/conferences/{conference_id}/seating/assignments"
    with staff_client(stack, tenant) as client:
        for rid, seat_id in zip(ids, targets):
            assert place(client, conference_id, rid, seat_id).status_code == 200
        pages, after = [], None
        while True:
            params = {"limit": 2, **({"after": after} if after else {})}
            page = client.get(url, params=params)
            assert page.status_code == 200, page.text
            pages.append([item["seat_id"] for item in page.json()["items"]])
            after = page.json()["next_after"]
            if after is None:
                break
        whole = client.get(url).json()
        assert_error(client.get(url, params={"limit": 0}), 422)
        assert_error(client.get(url, params={"limit": seat_assignments.MAX_PAGE + 1}), 422)
        assert_error(client.get(url, params={"limit": "many"}), 422)
        assert_error(client.get(url, params={"sort": "seat"}), 422)
    assert pages == [["Hall/A/1", "Hall/A/2"], ["Hall/A/4", "Hall/B/1"], ["Hall/B/3"]]
    assert [item["seat_id"] for item in whole["items"]] == sorted(targets)
    assert whole["next_after"] is None
    assert {item["seat_id"]: item["registration_id"] for item in whole["items"]} == dict(
        zip(targets, ids))


def test_an_archived_conferences_seating_is_read_only(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    first, second = people(stack, tenant, conference_id, 2)
    with staff_client(stack, tenant) as client:
        assert place(client, conference_id, first, "Hall/A/1").status_code == 200
        assert place(client, conference_id, second, "Hall/A/2").status_code == 200
        before = seated(client, conference_id)
        conferences.transition(tenant.id, conference_id, "archived")
        url = f"/conferences/{conference_id}/seating"
        for response in [
                client.put(f"{url}/map", json=MAP),
                client.put(f"{url}/map.csv", content=CSV_MAP, headers={"Content-Type": "text/csv"}),
                client.post(f"{url}/auto-assign"),
                place(client, conference_id, first, "Hall/A/3"),
                client.post(f"{url}/holds", json={"registration_id": first, "seat_id": "Hall/A/3",
                                                  "minutes": 5}),
                client.post(f"{url}/swap", json={"registration_ids": [first, second]}),
                client.delete(f"{url}/assignments/{first}")]:
            assert_error(response, 409, "conference_archived")
        # Still readable, and unchanged.
        assert seated(client, conference_id) == before
        assert staff_map(client, conference_id)["map"]["version"] == 1
        assert client.get(f"{url}/map.csv").status_code == 200


def test_withdrawing_frees_the_seat(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    mine = attendee_registration(stack, tenant, conference_id)
    other, = people(stack, tenant, conference_id, 1)
    attendee = token(tenant, "attendee")
    with staff_client(stack, tenant) as client:
        assert place(client, conference_id, mine, "Hall/A/1").status_code == 200
    sock = stack.socket(attendee)
    try:
        with stack.client(attendee) as client:
            withdrawn = client.post(f"/registrations/{mine}/withdraw")
            assert withdrawn.status_code == 200, withdrawn.text
        events = receive_events(sock, lambda seen: any(name == "seat.updated" for name, _ in seen))
    finally:
        sock.disconnect()
    assert ("seat.updated", {"conference_id": conference_id, "registration_id": mine,
                             "seat": None}) in events
    with staff_client(stack, tenant) as client:
        wait_for_job(client, withdrawn.json()["promotion_job_id"])
        assert seated(client, conference_id) == {}
        assert staff_map(client, conference_id)["occupancy"]["assigned"] == 0
        assert place(client, conference_id, other, "Hall/A/1").status_code == 200
        assert_error(place(client, conference_id, mine, "Hall/A/2"), 409, "not_seatable")
