"""Seat maps through the HTTP API on real parts: JSON and CSV uploads and downloads,
replacements checked against occupied seats and versions, and the size limits of a
streamed upload."""

from __future__ import annotations

import csv
import io

import pytest

from models import seatmap_files
from tests.integration.seating_helpers import (CSV_MAP, MAP, SEAT_IDS, changed_map,
                                               conference_with_map, layout_seats, map_without,
                                               people, place, seat, seated, staff_client,
                                               staff_map)
from tests.integration.stack import Stack
from tests.integration.test_bad_input import MAX_BODY, assert_error
from tests.integration.test_registrations import make_conference, token


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
