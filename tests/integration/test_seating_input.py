"""Seating's bad input through the HTTP API (422 naming the field, nothing changed) and
its answers checked against the documented schemas."""

from __future__ import annotations

import pytest

from models import registrations as registration_records
from models import seat_assignments
from tests.integration.seating_helpers import (CSV_MAP, MAP, attendee_registration,
                                               conference_with_map, map_without, people, place,
                                               seated, staff_client)
from tests.integration.test_bad_input import assert_error
from tests.integration.test_registrations import make_conference, token


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
              "minutes": seat_assignments.MAX_HOLD_MINUTES + 1}, "minutes"),
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
    stored = registration_records.get_registration(tenant.id, first)
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
