"""Seating's roles and tenancy through the HTTP API: attendees get 403 on staff routes,
strangers 401, and another tenant's seating answers exactly like a missing one."""

from __future__ import annotations

import uuid

from models import registrations, seat_assignments, seatmaps
from tests.integration.seating_helpers import (CSV_MAP, MAP, attendee_registration,
                                               conference_with_map, people, place, seated,
                                               staff_client, staff_map)
from tests.integration.test_bad_input import assert_error
from tests.integration.test_registrations import token


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
    assert registrations.get_registration(tenant.id, mine).party is None


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
    stored = registrations.get_registration(tenant.id, mine)
    assert (stored.party, stored.priority) == (None, "standard")
    assert seat_assignments.SeatBlock.objects(tenant_id=other_tenant.id).count() == 0
    assert seatmaps.SeatMap.objects(tenant_id=other_tenant.id).count() == 1
