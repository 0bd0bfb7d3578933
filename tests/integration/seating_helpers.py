"""Seating tests' shared set-up through the HTTP API: the small seat map they use (JSON and
CSV), people registered and approved, and reads of who sits where."""

from __future__ import annotations

import copy
import uuid

from tests.integration.stack import wait_for_job
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
