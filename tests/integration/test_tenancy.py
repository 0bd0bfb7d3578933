"""Tenants never see each other: another tenant's job answers exactly like a missing
one, and no event of one tenant reaches another tenant's sockets."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.stack import receive_events, wait_for_job


def _error_code(response):
    return response.json()["error"]["code"]


@pytest.fixture
def job_of_tenant_a(stack, tenant):
    token = tenant.tokens["tenant_admin"]["access_token"]
    with stack.client(token) as client:
        job_id = client.post("/diagnostics/ping", json={"hold_seconds": 2}).json()["job_id"]
        yield job_id
        wait_for_job(client, job_id)


@pytest.mark.parametrize("role", ["tenant_admin", "staff", "attendee"])
def test_another_tenants_job_is_not_found(stack, job_of_tenant_a, other_tenant, role):
    token = other_tenant.tokens[role]["access_token"]
    missing = uuid.uuid4().hex
    with stack.client(token) as client:
        for path in (f"/jobs/{job_of_tenant_a}", f"/jobs/{missing}"):
            response = client.get(path)
            assert response.status_code == 404
            assert _error_code(response) == "job_not_found"
        for path in (f"/jobs/{job_of_tenant_a}/cancel", f"/jobs/{missing}/cancel"):
            response = client.post(path)
            assert response.status_code == 404
            assert _error_code(response) == "job_not_found"
        listed = client.get("/jobs/").json()["items"]
    assert job_of_tenant_a not in [job["id"] for job in listed]


def test_attendee_sees_only_their_own_jobs(stack, tenant, job_of_tenant_a):
    attendee = tenant.tokens["attendee"]["access_token"]
    with stack.client(attendee) as client:
        assert client.get(f"/jobs/{job_of_tenant_a}").status_code == 404
        assert client.post(f"/jobs/{job_of_tenant_a}/cancel").status_code == 404
        assert client.get("/jobs/").json()["items"] == []
    staff = tenant.tokens["staff"]["access_token"]
    with stack.client(staff) as client:
        assert client.get(f"/jobs/{job_of_tenant_a}").status_code == 200


def test_events_stay_inside_their_tenant(stack, tenant, other_tenant):
    """B's staff socket and A's attendee socket hear nothing of A's admin's job;
    A's staff socket hears all of it, once per change."""
    sockets = {
        "a_staff": stack.socket(tenant.tokens["staff"]["access_token"]),
        "a_attendee": stack.socket(tenant.tokens["attendee"]["access_token"]),
        "b_admin": stack.socket(other_tenant.tokens["tenant_admin"]["access_token"]),
        "b_staff": stack.socket(other_tenant.tokens["staff"]["access_token"]),
    }
    try:
        with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
            job_id = client.post("/diagnostics/ping", json={}).json()["job_id"]
            wait_for_job(client, job_id)
        heard_by_staff = receive_events(sockets["a_staff"], lambda seen: any(
            data["state"] == "succeeded" for _, data in seen))
        # The job is over and A's staff heard its end; whatever was to reach the
        # others has been published by now, so a short listen is enough.
        heard = {name: receive_events(sock, lambda seen: False, timeout=1.5)
                 for name, sock in sockets.items() if name != "a_staff"}
    finally:
        for sock in sockets.values():
            sock.disconnect()
    assert [data["state"] for _, data in heard_by_staff if data["id"] == job_id] == \
        ["succeeded"]
    assert heard == {"a_attendee": [], "b_admin": [], "b_staff": []}
