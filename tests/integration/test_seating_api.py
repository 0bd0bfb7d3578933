"""Seating through the HTTP API on real parts: seat maps (JSON and CSV), staff's manual
seats, swaps, releases and holds, an attendee's own seat and its push, seating wishes,
roles and tenancy. (The auto-assign job is tested in test_seating_tasks.py.)"""

from __future__ import annotations

import copy
import csv
import io
import re
import threading
import uuid
from datetime import datetime

import pytest

from models import conferences as conference_store
from models import registrations as registration_store
from models import seat_assignments as seat_store
from models import seatmap_files, seatmaps
from tests.integration.stack import Stack, receive_events, wait_for_job
from tests.integration.test_bad_input import MAX_BODY, assert_error
from tests.integration.test_registrations import make_conference, token


def seat(label, x, y, category="standard", attributes=()):
    return {"label": label, "x": x, "y": y, "category": category, "attributes": list(attributes)}


# Two rows of four: A is vip (A1 accessible), B is standard (B3 accessible, B4 blocked).
MAP = {"categories": ["standard", "vip"], "stage_x": 2.5, "sections": [{"name": "Hall", "rows": [
    {"label": "A", "seats": [seat("1", 1, 1, "vip", ["accessible"]), seat("2", 2, 1, "vip"),
                             seat("3", 3, 1, "vip"), seat("4", 4, 1, "vip", ["aisle"])]},
    {"label": "B", "seats": [seat("1", 1, 2), seat("2", 2, 2), seat("3", 3, 2, attributes=["accessible"]),
                             seat("4", 4, 2, attributes=["blocked"])]},
]}]}
SEAT_IDS = ["Hall/A/1", "Hall/A/2", "Hall/A/3", "Hall/A/4", "Hall/B/1", "Hall/B/2", "Hall/B/3",
            "Hall/B/4"]
CSV_MAP = """section,row,seat,x,y,category,attributes
Hall,A,1,1,1,vip,accessible
Hall,A,2,2,1,vip,
Hall,A,3,3,1,vip,
Hall,A,4,4,1,vip,aisle
Hall,B,1,1,2,standard,
Hall,B,2,2,2,standard,
Hall,B,3,3,2,standard,accessible
Hall,B,4,4,2,standard,blocked
"""


def changed_map(edit) -> dict:
    """A copy of MAP with ``edit(seats by id)`` applied."""
    spec = copy.deepcopy(MAP)
    by_id = {f"Hall/{row['label']}/{s['label']}": s
             for row in spec["sections"][0]["rows"] for s in row["seats"]}
    edit(by_id)
    return spec


def map_without(seat_id: str) -> dict:
    spec = copy.deepcopy(MAP)
    _, row_label, label = seat_id.split("/")
    for row in spec["sections"][0]["rows"]:
        if row["label"] == row_label:
            row["seats"] = [s for s in row["seats"] if s["label"] != label]
    return spec


# --- set-up through the API ---------------------------------------------------------------


def staff_client(stack, tenant):
    return stack.client(token(tenant, "staff"))


def conference_with_map(stack, tenant, spec=MAP) -> str:
    """A published conference (manual approval, no form) with ``spec`` as its seat map."""
    conference_id = make_conference(tenant, mode="manual", form=None)
    with staff_client(stack, tenant) as client:
        response = client.put(f"/conferences/{conference_id}/seating/map", json=spec)
    assert response.status_code == 200, response.text
    return conference_id


def register(client, conference_id, **body):
    body.setdefault("answers", {})
    response = client.post(f"/conferences/{conference_id}/registrations", json=body)
    assert response.status_code == 202, response.text
    wait_for_job(client, response.json()["job_id"])
    return response.json()["registration"]


def approve(client, ids):
    registration = client.get(f"/registrations/{ids[0]}").json()
    response = client.post(f"/conferences/{registration['conference_id']}/registrations/decisions",
                           json={"action": "approve", "registration_ids": ids})
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"])
    assert job["state"] == "succeeded" and job["result"]["approved"] == len(ids), job


def people(stack, tenant, conference_id, count, *, approved=True, **body) -> list[str]:
    """``count`` registrations made by staff for others (by email); approved unless told."""
    with staff_client(stack, tenant) as client:
        ids = [register(client, conference_id, email=f"p{uuid.uuid4().hex[:8]}@example.com",
                        name=f"Person {n}", **body)["id"] for n in range(count)]
        if approved:
            approve(client, ids)
    return ids


def attendee_registration(stack, tenant, conference_id, **body) -> str:
    """The tenant's attendee registers themself; staff approves."""
    with stack.client(token(tenant, "attendee")) as client:
        rid = register(client, conference_id, **body)["id"]
    with staff_client(stack, tenant) as client:
        approve(client, [rid])
    return rid


def place(client, conference_id, rid, seat_id):
    return client.put(f"/conferences/{conference_id}/seating/assignments/{rid}",
                      json={"seat_id": seat_id})


def seated(client, conference_id) -> dict:
    """seat id → (registration id, kind), from the staff listing."""
    items = client.get(f"/conferences/{conference_id}/seating/assignments",
                       params={"limit": 1000}).json()["items"]
    return {item["seat_id"]: (item["registration_id"], item["kind"]) for item in items}


def staff_map(client, conference_id) -> dict:
    response = client.get(f"/conferences/{conference_id}/seating/map")
    assert response.status_code == 200, response.text
    return response.json()


def layout_seats(layout: dict) -> dict:
    """seat id → the seat as the layout shows it (without its occupant)."""
    out = {}
    for section in layout["sections"]:
        for row in section["rows"]:
            for s in row["seats"]:
                out[f"{section['name']}/{row['label']}/{s['label']}"] = {
                    key: value for key, value in s.items() if key not in ("id", "occupant")}
    return out


# --- the map --------------------------------------------------------------------------------


def test_json_map_is_stored_and_shown_with_occupancy(stack, tenant):
    conference_id = make_conference(tenant, mode="manual", form=None)
    with staff_client(stack, tenant) as client:
        assert client.get(f"/conferences/{conference_id}/seating/map").status_code == 404
        saved = client.put(f"/conferences/{conference_id}/seating/map", json=MAP)
        assert saved.status_code == 200, saved.text
    summary = saved.json()
    assert summary["version"] == 1 and summary["seat_count"] == 8
    assert summary["categories"] == ["standard", "vip"] and summary["stage_x"] == 2.5
    assert summary["sections"] == [{"name": "Hall", "rows": 2, "seats": 8}]
    assert summary["updated_by"] == tenant.users["staff"].id

    first, second = people(stack, tenant, conference_id, 2)
    pending, = people(stack, tenant, conference_id, 1, approved=False)
    with staff_client(stack, tenant) as client:
        assert place(client, conference_id, first, "Hall/A/2").status_code == 200
        assert place(client, conference_id, second, "Hall/B/1").status_code == 200
        held = client.post(f"/conferences/{conference_id}/seating/holds",
                           json={"registration_id": pending, "seat_id": "Hall/B/2", "minutes": 30})
        assert held.status_code == 201, held.text
        shown = staff_map(client, conference_id)
    assert shown["map"]["version"] == 1 and shown["map"]["seat_count"] == 8
    assert shown["occupancy"] == {
        "seats": 8, "assigned": 2, "held": 1, "free": 4, "blocked": 1, "by_category": {
            "vip": {"seats": 4, "assigned": 1, "held": 0, "free": 3, "blocked": 0},
            "standard": {"seats": 4, "assigned": 1, "held": 1, "free": 1, "blocked": 1}}}
    layout = shown["layout"]
    assert layout["categories"] == ["standard", "vip"] and layout["stage_x"] == 2.5
    by_id = {s["id"]: s for section in layout["sections"] for row in section["rows"]
             for s in row["seats"]}
    assert list(by_id) == SEAT_IDS
    assert by_id["Hall/A/2"]["occupant"]["registration_id"] == first
    assert by_id["Hall/A/2"]["occupant"]["kind"] == "assigned"
    assert by_id["Hall/B/2"]["occupant"]["kind"] == "held"
    assert by_id["Hall/B/2"]["occupant"]["expires_at"] is not None
    assert by_id["Hall/A/3"]["occupant"] is None
    assert by_id["Hall/A/1"]["attributes"] == ["accessible"] and by_id["Hall/A/1"]["category"] == "vip"
    assert by_id["Hall/B/4"]["attributes"] == ["blocked"]

    # The layout as downloaded (ids and occupants included) can be uploaded again unchanged.
    with staff_client(stack, tenant) as client:
        again = client.put(f"/conferences/{conference_id}/seating/map", json=layout)
        assert again.status_code == 200, again.text
        assert again.json()["version"] == 2
        assert layout_seats(staff_map(client, conference_id)["layout"]) == layout_seats(layout)
        assert len(seated(client, conference_id)) == 3


def test_csv_map_is_stored_and_downloads_as_the_same_csv(stack, tenant):
    conference_id = make_conference(tenant, mode="manual", form=None)
    with staff_client(stack, tenant) as client:
        saved = client.put(f"/conferences/{conference_id}/seating/map.csv", content=CSV_MAP,
                           headers={"Content-Type": "text/csv"},
                           params={"categories": "standard,vip"})
        assert saved.status_code == 200, saved.text
        assert saved.json()["seat_count"] == 8 and saved.json()["categories"] == ["standard", "vip"]
        layout = staff_map(client, conference_id)["layout"]
        downloaded = client.get(f"/conferences/{conference_id}/seating/map.csv")
        assert downloaded.status_code == 200
        assert downloaded.headers["content-type"].startswith("text/csv")
        assert "attachment" in downloaded.headers["content-disposition"]
        # Round trip: the download, uploaded again, is the same map.
        again = client.put(f"/conferences/{conference_id}/seating/map.csv",
                           content=downloaded.content, headers={"Content-Type": "text/csv"})
        assert again.status_code == 200, again.text
        assert again.json()["version"] == 2
        assert layout_seats(staff_map(client, conference_id)["layout"]) == layout_seats(layout)
        assert client.get(f"/conferences/{conference_id}/seating/map.csv").text == downloaded.text
    rows = list(csv.DictReader(io.StringIO(downloaded.text)))
    assert [f"{r['section']}/{r['row']}/{r['seat']}" for r in rows] == SEAT_IDS
    assert {r["seat"]: r["attributes"] for r in rows if r["row"] == "B"} == {
        "1": "", "2": "", "3": "accessible", "4": "blocked"}
    # The CSV and the JSON form of the same map are the same map.
    assert layout_seats(layout) == {sid: {**s, "rank": None} for sid, s in layout_seats(MAP).items()}


def test_a_semicolon_csv_with_decimal_commas_is_read(stack, tenant):
    conference_id = make_conference(tenant, mode="manual", form=None)
    text = "Section;Row;Seat;X;Y;Category;Attributes\r\nHall;A;1;1,5;2;standard;aisle accessible\r\n"
    with staff_client(stack, tenant) as client:
        saved = client.put(f"/conferences/{conference_id}/seating/map.csv", content=text.encode(),
                           headers={"Content-Type": "text/csv"})
        assert saved.status_code == 200, saved.text
        shown = layout_seats(staff_map(client, conference_id)["layout"])
    assert shown == {"Hall/A/1": {"label": "1", "x": 1.5, "y": 2.0, "category": "standard",
                                  "attributes": ["accessible", "aisle"], "rank": None}}


def test_a_bad_csv_names_each_line_and_changes_nothing(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    text = ("section,row,seat,x,y,category,attributes\n"
            "Hall,A,1,1,1,vip,\n"
            "Hall,A,1,2,1,vip,\n"           # line 3: the same seat again
            "Hall,A,2,3,1,balcony,\n"       # line 4: a category the map does not have
            "Hall,A,3,4\n"                  # line 5: too few values
            "Hall,A,5,x,1,vip,\n")          # line 6: not a number
    with staff_client(stack, tenant) as client:
        refused = client.put(f"/conferences/{conference_id}/seating/map.csv", content=text,
                             headers={"Content-Type": "text/csv"})
        error = assert_error(refused, 422, "validation_failed")
        assert set(error["details"]["fields"]) == {"line 3", "line 4", "line 5", "line 6"}
        assert "line 2" in error["details"]["fields"]["line 3"][0]
        assert "balcony" in error["details"]["fields"]["line 4"][0]
        bad_header = client.put(f"/conferences/{conference_id}/seating/map.csv",
                                content="section,row,x,y\nHall,A,1,1\n",
                                headers={"Content-Type": "text/csv"})
        assert list(assert_error(bad_header, 422)["details"]["fields"]) == ["line 1"]
        not_utf8 = client.put(f"/conferences/{conference_id}/seating/map.csv",
                              content=b"section,row\n\xff\xfe", headers={"Content-Type": "text/csv"})
        assert_error(not_utf8, 400, "malformed_csv")
        shown = staff_map(client, conference_id)
    assert shown["map"]["version"] == 1 and shown["map"]["seat_count"] == 8


def test_a_bad_json_map_is_refused_and_changes_nothing(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    url = f"/conferences/{conference_id}/seating/map"
    headers = {"Content-Type": "application/json"}
    with staff_client(stack, tenant) as client:
        assert_error(client.put(url, content=b'{"sections": [', headers=headers), 400, "malformed_json")
        assert_error(client.put(url, content=b"", headers=headers), 422, "validation_failed")
        assert_error(client.put(url, content=b"[]", headers=headers), 422, "validation_failed")
        invalid = changed_map(lambda s: s["Hall/A/2"].update(x="2", category="balcony", colour="red"))
        error = assert_error(client.put(url, json=invalid), 422, "validation_failed")
        assert set(error["details"]["fields"]) == {"sections.0.rows.0.seats.1.x",
                                                   "sections.0.rows.0.seats.1.category",
                                                   "sections.0.rows.0.seats.1.colour"}
        duplicate = changed_map(lambda s: s["Hall/A/2"].update(label="1"))
        error = assert_error(client.put(url, json=duplicate), 422, "validation_failed")
        assert list(error["details"]["fields"]) == ["sections.0.rows.0.seats.1.label"]
        assert staff_map(client, conference_id)["map"]["version"] == 1


@pytest.mark.parametrize("change, problem", [
    (lambda: map_without("Hall/A/2"), "removed"),
    (lambda: changed_map(lambda s: s["Hall/A/2"].update(category="standard")), "category vip → standard"),
    (lambda: changed_map(lambda s: s["Hall/A/2"].update(attributes=["blocked"])), "blocked"),
])
def test_a_replacement_may_not_take_an_occupied_seat_away(stack, tenant, change, problem):
    conference_id = conference_with_map(stack, tenant)
    rid, = people(stack, tenant, conference_id, 1)
    url = f"/conferences/{conference_id}/seating/map"
    with staff_client(stack, tenant) as client:
        assert place(client, conference_id, rid, "Hall/A/2").status_code == 200
        error = assert_error(client.put(url, json=change()), 409, "seats_occupied")
        assert error["details"] == {"count": 1, "seats": [
            {"seat": "Hall/A/2", "registration_id": rid, "problem": problem}]}
        # The same change as CSV is refused alike.
        spec = seatmap_files.parse_map(change())
        as_csv = client.put(f"{url}.csv", content=seatmap_files.export_csv(spec),
                            headers={"Content-Type": "text/csv"})
        assert_error(as_csv, 409, "seats_occupied")
        assert staff_map(client, conference_id)["map"]["version"] == 1
        assert seated(client, conference_id) == {"Hall/A/2": (rid, "assigned")}
        # Once the occupant is released, the change goes through.
        assert client.delete(f"/conferences/{conference_id}/seating/assignments/{rid}").status_code == 200
        accepted = client.put(url, json=change())
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["version"] == 2


def test_changing_a_free_seat_or_an_occupied_seats_position_is_allowed(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    rid, = people(stack, tenant, conference_id, 1)
    with staff_client(stack, tenant) as client:
        assert place(client, conference_id, rid, "Hall/A/2").status_code == 200

        def edit(by_id):
            by_id["Hall/A/2"].update(x=2.25, attributes=["aisle"])
            by_id["Hall/A/3"].update(category="standard", attributes=["blocked"])

        saved = client.put(f"/conferences/{conference_id}/seating/map", json=changed_map(edit))
        assert saved.status_code == 200, saved.text
        assert seated(client, conference_id) == {"Hall/A/2": (rid, "assigned")}


def test_a_conditional_replace_refuses_a_stale_version(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    url = f"/conferences/{conference_id}/seating/map"
    with staff_client(stack, tenant) as client:
        assert client.put(url, json=MAP, params={"version": 1}).json()["version"] == 2
        stale = client.put(url, json=map_without("Hall/A/4"), params={"version": 1})
        assert_error(stale, 409, "seat_map_changed")
        stale_csv = client.put(f"{url}.csv", content=CSV_MAP, params={"version": 1},
                               headers={"Content-Type": "text/csv"})
        assert_error(stale_csv, 409, "seat_map_changed")
        assert staff_map(client, conference_id)["map"]["seat_count"] == 8
        assert client.put(f"{url}.csv", content=CSV_MAP, params={"version": 2},
                          headers={"Content-Type": "text/csv"}).json()["version"] == 3
        assert_error(client.put(url, json=MAP, params={"version": 0}), 422)
        assert_error(client.put(url, json=MAP, params={"version": "two"}), 422)
        # No map yet, and a version asked for: nothing to replace.
        fresh = make_conference(tenant, mode="manual", form=None)
        assert_error(client.put(f"/conferences/{fresh}/seating/map", json=MAP,
                                params={"version": 1}), 409, "seat_map_changed")
        assert client.get(f"/conferences/{fresh}/seating/map").status_code == 404


def big_map(seats_per_row: int, rows: int) -> dict:
    return {"sections": [{"name": "Arena", "rows": [
        {"label": f"R{r}", "seats": [seat(str(n), n, r) for n in range(1, seats_per_row + 1)]}
        for r in range(rows)]}]}


def test_a_map_larger_than_the_body_limit_is_streamed_in(stack, tenant):
    conference_id = make_conference(tenant, mode="manual", form=None)
    spec = big_map(50, 20)
    with staff_client(stack, tenant) as client:
        response = client.put(f"/conferences/{conference_id}/seating/map", json=spec)
        assert len(response.request.content) > 10 * MAX_BODY
        assert response.status_code == 200, response.text
        assert response.json()["seat_count"] == 1000
        as_csv = client.get(f"/conferences/{conference_id}/seating/map.csv").content
        assert len(as_csv) > MAX_BODY
        again = client.put(f"/conferences/{conference_id}/seating/map.csv", content=as_csv,
                           headers={"Content-Type": "text/csv"})
        assert again.status_code == 200 and again.json()["seat_count"] == 1000
        # Other routes keep the ordinary limit.
        rid, = people(stack, tenant, conference_id, 1)
        padded = b'{"seat_id": "Arena/R0/1"}' + b" " * MAX_BODY
        assert_error(client.put(f"/conferences/{conference_id}/seating/assignments/{rid}",
                                content=padded, headers={"Content-Type": "application/json"}), 413)


SEATMAP_LIMIT = 8192


@pytest.fixture(scope="module")
def small_limit_web(services, stack):
    """A second API process whose seat-map limit is 8 KiB (only `web`; it shares the
    stack's database and Redis)."""
    web = Stack(services.workdir / "small-seatmaps", services.mongodb_uri, services.redis_url,
                MEETEASY_MAX_SEATMAP_BYTES=str(SEATMAP_LIMIT))
    try:
        web.start_web()
        yield web
    finally:
        web.stop()


def test_a_map_above_the_seatmap_limit_is_413(small_limit_web, tenant):
    conference_id = make_conference(tenant, mode="manual", form=None)
    url = f"/conferences/{conference_id}/seating/map"
    body = seatmap_files.export_csv(seatmap_files.parse_map(big_map(25, 20))).encode()
    assert SEATMAP_LIMIT < len(body) < 2 * SEATMAP_LIMIT
    with small_limit_web.client(token(tenant, "staff")) as client:
        declared = client.put(f"{url}.csv", content=body, headers={"Content-Type": "text/csv"})
        assert_error(declared, 413, "payload_too_large")
    with small_limit_web.client(token(tenant, "staff")) as client:
        # Chunked, no Content-Length: refused while it streams in.
        streamed = client.put(f"{url}.csv", content=iter([body[:4000], body[4000:]]),
                              headers={"Content-Type": "text/csv"})
        assert "content-length" not in streamed.request.headers
        assert_error(streamed, 413, "payload_too_large")
    with small_limit_web.client(token(tenant, "staff")) as client:
        assert client.get(url).status_code == 404  # nothing was stored
        small = seatmap_files.export_csv(seatmap_files.parse_map(big_map(15, 15))).encode()
        assert MAX_BODY < len(small) < SEATMAP_LIMIT
        assert client.put(f"{url}.csv", content=small,
                          headers={"Content-Type": "text/csv"}).status_code == 200


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
        assert_error(client.get(url, params={"limit": seat_store.MAX_PAGE + 1}), 422)
        assert_error(client.get(url, params={"limit": "many"}), 422)
        assert_error(client.get(url, params={"sort": "seat"}), 422)
    assert pages == [["Hall/A/1", "Hall/A/2"], ["Hall/A/4", "Hall/B/1"], ["Hall/B/3"]]
    assert [item["seat_id"] for item in whole["items"]] == sorted(targets)
    assert whole["next_after"] is None
    assert {item["seat_id"]: item["registration_id"] for item in whole["items"]} == dict(
        zip(targets, ids))


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
    stored = registration_store.get_registration(tenant.id, mine)
    assert (stored.party, stored.seat_category, stored.needs_accessible, stored.priority) == (
        None, "vip", True, "vip")
    assert registration_store.get_registration(tenant.id, someone).party == "Beta"


def test_an_archived_conferences_seating_is_read_only(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    first, second = people(stack, tenant, conference_id, 2)
    with staff_client(stack, tenant) as client:
        assert place(client, conference_id, first, "Hall/A/1").status_code == 200
        assert place(client, conference_id, second, "Hall/A/2").status_code == 200
        before = seated(client, conference_id)
        conference_store.transition(tenant.id, conference_id, "archived")
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


# --- roles and tenancy ----------------------------------------------------------------------


def staff_calls(client, conference_id: str, rid: str, seat_id="Hall/A/1") -> list:
    """One call of every staff-only seating route."""
    base = f"/conferences/{conference_id}/seating"
    return [
        client.put(f"{base}/map", json=MAP),
        client.put(f"{base}/map.csv", content=CSV_MAP, headers={"Content-Type": "text/csv"}),
        client.get(f"{base}/map"),
        client.get(f"{base}/map.csv"),
        client.post(f"{base}/auto-assign"),
        client.put(f"{base}/assignments/{rid}", json={"seat_id": seat_id}),
        client.delete(f"{base}/assignments/{rid}"),
        client.post(f"{base}/swap", json={"registration_ids": [rid, "0" * 24]}),
        client.post(f"{base}/holds", json={"registration_id": rid, "seat_id": seat_id, "minutes": 5}),
        client.get(f"{base}/assignments"),
    ]


def test_attendees_get_403_on_staff_routes_and_strangers_401_everywhere(stack, tenant):
    conference_id = conference_with_map(stack, tenant)
    mine = attendee_registration(stack, tenant, conference_id)
    with staff_client(stack, tenant) as client:
        place(client, conference_id, mine, "Hall/A/2")
    with stack.client(token(tenant, "attendee")) as client:
        for response in staff_calls(client, conference_id, mine):
            assert_error(response, 403, "missing_role")
    with stack.client() as client:
        anonymous = staff_calls(client, conference_id, mine) + [
            client.get(f"/registrations/{mine}/seat"),
            client.patch(f"/registrations/{mine}/seating", json={"party": "x"})]
        for response in anonymous:
            assert_error(response, 401)
    with stack.client("not-a-jwt") as client:
        assert_error(client.get(f"/registrations/{mine}/seat"), 401)
    with staff_client(stack, tenant) as client:
        shown = staff_map(client, conference_id)
        assert shown["map"]["version"] == 1
        assert seated(client, conference_id) == {"Hall/A/2": (mine, "assigned")}
    assert registration_store.get_registration(tenant.id, mine).party is None


def test_another_tenants_conferences_and_registrations_are_not_found(stack, tenant, other_tenant):
    conference_id = conference_with_map(stack, tenant)
    mine = attendee_registration(stack, tenant, conference_id)
    theirs, = people(stack, tenant, conference_id, 1)
    with staff_client(stack, tenant) as client:
        place(client, conference_id, mine, "Hall/A/2")
        place(client, conference_id, theirs, "Hall/A/3")
        before_map = staff_map(client, conference_id)
        before_csv = client.get(f"/conferences/{conference_id}/seating/map.csv").text
    own_conference = conference_with_map(stack, other_tenant)
    own_rid, = people(stack, other_tenant, own_conference, 1)
    missing_conference, missing_rid = uuid.uuid4().hex[:24], uuid.uuid4().hex[:24]

    def errors(responses):
        return [(r.status_code, r.json()["error"]["code"], r.json()["error"]["message"])
                for r in responses]

    for role in ("tenant_admin", "staff"):
        with stack.client(token(other_tenant, role)) as client:
            # The other tenant's conference, and its registrations.
            foreign = errors(staff_calls(client, conference_id, mine))
            missing = errors(staff_calls(client, missing_conference, missing_rid))
            assert foreign == missing
            assert {status for status, _, _ in foreign} == {404}
            # Its own conference, with the other tenant's registration ids.
            foreign_ids = errors([
                client.put(f"/conferences/{own_conference}/seating/assignments/{mine}",
                           json={"seat_id": "Hall/A/1"}),
                client.delete(f"/conferences/{own_conference}/seating/assignments/{mine}"),
                client.post(f"/conferences/{own_conference}/seating/swap",
                            json={"registration_ids": [own_rid, theirs]}),
                client.post(f"/conferences/{own_conference}/seating/holds",
                            json={"registration_id": theirs, "seat_id": "Hall/A/1", "minutes": 5}),
                client.get(f"/registrations/{mine}/seat"),
                client.patch(f"/registrations/{mine}/seating", json={"priority": "vip"})])
            missing_ids = errors([
                client.put(f"/conferences/{own_conference}/seating/assignments/{missing_rid}",
                           json={"seat_id": "Hall/A/1"}),
                client.delete(f"/conferences/{own_conference}/seating/assignments/{missing_rid}"),
                client.post(f"/conferences/{own_conference}/seating/swap",
                            json={"registration_ids": [own_rid, missing_rid]}),
                client.post(f"/conferences/{own_conference}/seating/holds",
                            json={"registration_id": missing_rid, "seat_id": "Hall/A/1",
                                  "minutes": 5}),
                client.get(f"/registrations/{missing_rid}/seat"),
                client.patch(f"/registrations/{missing_rid}/seating", json={"priority": "vip"})])
            assert foreign_ids == missing_ids
            assert {status for status, _, _ in foreign_ids} == {404}
    with stack.client(token(other_tenant, "attendee")) as client:
        assert errors([client.get(f"/registrations/{mine}/seat"),
                       client.patch(f"/registrations/{mine}/seating", json={"party": "x"})]) == \
            errors([client.get(f"/registrations/{missing_rid}/seat"),
                    client.patch(f"/registrations/{missing_rid}/seating", json={"party": "x"})])

    # Nothing was written in the first tenant, and nothing of it leaked into the other.
    with staff_client(stack, tenant) as client:
        after_map = staff_map(client, conference_id)
        assert after_map == before_map
        assert client.get(f"/conferences/{conference_id}/seating/map.csv").text == before_csv
        assert seated(client, conference_id) == {"Hall/A/2": (mine, "assigned"),
                                                 "Hall/A/3": (theirs, "assigned")}
    stored = registration_store.get_registration(tenant.id, mine)
    assert (stored.party, stored.priority) == (None, "standard")
    assert seat_store.SeatAssignment.objects(tenant_id=other_tenant.id).count() == 0
    assert seatmaps.SeatMap.objects(tenant_id=other_tenant.id).count() == 1


# --- bad input ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_input_setup(stack):
    from tests.integration.conftest import make_tenant

    tenant = make_tenant(stack)
    conference_id = conference_with_map(stack, tenant)
    first, second = people(stack, tenant, conference_id, 2)
    with staff_client(stack, tenant) as client:
        place(client, conference_id, first, "Hall/A/1")
        place(client, conference_id, second, "Hall/A/2")
    return tenant, conference_id, first, second


BAD_BODIES = [
    # (route, body, field named in details.fields)
    ("place", {"seat_id": "Hall/A/3", "kind": "held"}, "kind"),
    ("place", {"seat_id": 5}, "seat_id"),
    ("place", {"seat_id": ["Hall/A/3"]}, "seat_id"),
    ("place", {"seat_id": "A/1"}, "seat_id"),
    ("place", {}, "seat_id"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3", "minutes": 5, "note": "x"},
     "note"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3", "minutes": "5"}, "minutes"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3", "minutes": 1.5}, "minutes"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3", "minutes": 0}, "minutes"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3",
              "minutes": seat_store.MAX_HOLD_MINUTES + 1}, "minutes"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3", "minutes": -5}, "minutes"),
    ("hold", {"registration_id": "{first}", "seat_id": "Hall/A/3"}, "minutes"),
    ("hold", {"registration_id": 7, "seat_id": "Hall/A/3", "minutes": 5}, "registration_id"),
    ("swap", {"registration_ids": ["{first}", "{first}"]}, "registration_ids"),
    ("swap", {"registration_ids": ["{first}"]}, "registration_ids"),
    ("swap", {"registration_ids": ["{first}", "{second}", "{first}"]}, "registration_ids"),
    ("swap", {"registration_ids": "{first}"}, "registration_ids"),
    ("swap", {"registration_ids": ["{first}", "{second}"], "force": True}, "force"),
    ("wishes", {"party": "x", "table": 3}, "table"),
    ("wishes", {"accessible": "yes"}, "accessible"),
    ("wishes", {"accessible": 1}, "accessible"),
    ("wishes", {"party": ""}, "party"),
    ("wishes", {"party": "x" * 101}, "party"),
    ("wishes", {"category": 5}, "category"),
    ("wishes", {"priority": "gold"}, "priority"),
    ("register", {"answers": {}, "seating": {"party": "x", "row": "A"}}, "seating.row"),
    ("register", {"answers": {}, "seating": {"accessible": "true"}}, "seating.accessible"),
    ("register", {"answers": {}, "seating": "Team"}, "seating"),
]


def send(client, route, conference_id, body, first):
    base = f"/conferences/{conference_id}/seating"
    if route == "place":
        return client.put(f"{base}/assignments/{first}", json=body)
    if route == "hold":
        return client.post(f"{base}/holds", json=body)
    if route == "swap":
        return client.post(f"{base}/swap", json=body)
    if route == "wishes":
        return client.patch(f"/registrations/{first}/seating", json=body)
    return client.post(f"/conferences/{conference_id}/registrations",
                       json={**body, "email": "bad@example.com"})


def fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("route, body, field", BAD_BODIES,
                         ids=[f"{r}-{f}-{i}" for i, (r, _, f) in enumerate(BAD_BODIES)])
def test_bad_bodies_are_422_naming_the_field_and_change_nothing(stack, bad_input_setup, route,
                                                                 body, field):
    tenant, conference_id, first, second = bad_input_setup
    body = fill(body, {"first": first, "second": second})
    with staff_client(stack, tenant) as client:
        before = seated(client, conference_id)
        registrations = len(client.get(f"/conferences/{conference_id}/registrations").json()["items"])
        error = assert_error(send(client, route, conference_id, body, first), 422,
                             "validation_failed")
        assert field in error["details"]["fields"], error
        assert seated(client, conference_id) == before
        assert len(client.get(f"/conferences/{conference_id}/registrations").json()["items"]) == \
            registrations
    stored = registration_store.get_registration(tenant.id, first)
    assert (stored.party, stored.seat_category, stored.needs_accessible, stored.priority) == (
        None, None, False, "standard")


@pytest.mark.parametrize("route", ["place", "hold", "swap", "wishes"])
@pytest.mark.parametrize("content, status", [(b"{bad", 400), (b"[]", 422), (b'"x"', 422)])
def test_unreadable_bodies_are_refused(stack, bad_input_setup, route, content, status):
    tenant, conference_id, first, _ = bad_input_setup
    base = f"/conferences/{conference_id}/seating"
    method, url = {"place": ("PUT", f"{base}/assignments/{first}"),
                   "hold": ("POST", f"{base}/holds"), "swap": ("POST", f"{base}/swap"),
                   "wishes": ("PATCH", f"/registrations/{first}/seating")}[route]
    with staff_client(stack, tenant) as client:
        response = client.request(method, url, content=content,
                                  headers={"Content-Type": "application/json"})
        assert_error(response, status, "malformed_json" if status == 400 else "validation_failed")
        assert seated(client, conference_id) == {"Hall/A/1": (first, "assigned"),
                                                 "Hall/A/2": (bad_input_setup[3], "assigned")}


# --- the answers are the documented ones ------------------------------------------------------


def test_seating_answers_fit_their_documented_schemas(stack, tenant):
    from tests.integration.test_openapi import assert_documented

    with stack.client() as client:
        document = client.get("/docs/openapi.json").json()
    conference_id = make_conference(tenant, mode="manual", form=None)
    first, second = people(stack, tenant, conference_id, 2)
    mine = attendee_registration(stack, tenant, conference_id)
    base = "/conferences/{conference_id}/seating"
    url = f"/conferences/{conference_id}/seating"
    with staff_client(stack, tenant) as client:
        answers = [
            (f"{base}/map", "put", client.put(f"{url}/map", json=MAP)),
            (f"{base}/map.csv", "put", client.put(f"{url}/map.csv", content=CSV_MAP,
                                                  headers={"Content-Type": "text/csv"})),
            (f"{base}/map", "get", client.get(f"{url}/map")),
            (f"{base}/assignments/{{registration_id}}", "put", place(client, conference_id, first,
                                                                     "Hall/A/1")),
            (f"{base}/holds", "post", client.post(f"{url}/holds", json={
                "registration_id": second, "seat_id": "Hall/A/2", "minutes": 5})),
            (f"{base}/swap", "post", client.post(f"{url}/swap", json={
                "registration_ids": [first, second]})),
            (f"{base}/assignments", "get", client.get(f"{url}/assignments", params={"limit": 1})),
            (f"{base}/assignments/{{registration_id}}", "delete",
             client.delete(f"{url}/assignments/{first}")),
            ("/registrations/{registration_id}/seat", "get", client.get(f"/registrations/{second}/seat")),
            ("/registrations/{registration_id}/seating", "patch",
             client.patch(f"/registrations/{second}/seating", json={"priority": "vip"})),
            # errors
            (f"{base}/map", "put", client.put(f"{url}/map", json=map_without("Hall/A/1"))),
            (f"{base}/map.csv", "put", client.put(f"{url}/map.csv", content="x\n1\n",
                                                  headers={"Content-Type": "text/csv"})),
            (f"{base}/assignments/{{registration_id}}", "put", place(client, conference_id, first,
                                                                     "Hall/A/1")),
            (f"{base}/swap", "post", client.post(f"{url}/swap", json={"registration_ids": [first]})),
            (f"{base}/assignments", "get", client.get(f"{url}/assignments", params={"limit": 0})),
        ]
    with stack.client(token(tenant, "attendee")) as client:
        answers += [
            ("/registrations/{registration_id}/seat", "get", client.get(f"/registrations/{mine}/seat")),
            ("/registrations/{registration_id}/seating", "patch",
             client.patch(f"/registrations/{mine}/seating", json={"party": "new"})),
            (f"{base}/map", "get", client.get(f"{url}/map")),
        ]
    statuses = [response.status_code for _, _, response in answers]
    assert statuses == [200, 200, 200, 200, 201, 200, 200, 200, 200, 200, 409, 422, 409, 422, 422,
                        200, 200, 403], [r.text for _, _, r in answers]
    for path, method, response in answers:
        assert_documented(document, path, method, response)
