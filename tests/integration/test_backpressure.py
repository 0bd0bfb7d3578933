"""Backpressure, seen by a client: a full queue answers 503 `overloaded` with Retry-After
and records nothing, and takes work again once workers drain it; a user starting jobs
faster than their rate gets 429 with Retry-After while other users go on.

Each test runs web (and, when it drains, a worker) on a Redis of its own, so the depth
of its queue is its own and the session worker never takes its jobs.
"""

from __future__ import annotations

import time

import pytest
import redis

from meeteasy.broker import ROUTES
from tests.integration.conftest import make_tenant
from tests.integration.stack import Stack, wait_for_job
from tests.integration.test_registrations import make_conference, register

LIMIT = 3
PING_QUEUE = ROUTES["diagnostics.ping"]


@pytest.fixture
def platform(request, services, private_redis, tmp_path):
    """web and a flusher on this test's Redis with this test's settings; workers start when asked."""
    stack = Stack(tmp_path / "stack", services.mongodb_uri, private_redis.url,
                  **getattr(request, "param", {}))
    try:
        stack.start_web()
        stack.start_flusher()
        yield stack
    finally:
        stack.stop()


def _until(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)
    return answer


def _job_ids(client) -> list[str]:
    response = client.get("/jobs", params={"limit": 100})
    assert response.status_code == 200, response.text
    return sorted(job["id"] for job in response.json()["items"])


def _registrations(client, conference_id: str) -> list[dict]:
    response = client.get(f"/conferences/{conference_id}/registrations")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _assert_refused(response, code: str, status: int) -> int:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    assert "job_id" not in response.json()
    return retry_after


@pytest.mark.parametrize("platform", [{"MEETEASY_QUEUE_LIMITS": f"{PING_QUEUE}:{LIMIT}"}],
                         indirect=True)
def test_a_full_queue_refuses_work_with_503_until_workers_drain_it(platform, private_redis):
    tenant = make_tenant(platform)
    conference_id = make_conference(tenant)
    broker = redis.Redis.from_url(private_redis.url)
    with platform.client(tenant.tokens["tenant_admin"]["access_token"]) as client, \
            platform.client(tenant.tokens["attendee"]["access_token"]) as attendee:
        # No worker: each accepted ping waits in its queue until the queue is full. The web
        # process reuses a depth reading for a moment, so it may take a few past the limit.
        accepted = []

        def refused():
            response = client.post("/diagnostics/ping", json={})
            if response.status_code == 202:
                accepted.append(response.json()["job_id"])
                return None
            return response

        refusal = _until(refused, "the ping queue refuses work")
        _assert_refused(refusal, "overloaded", 503)
        assert refusal.json()["error"]["details"] == {"queue": PING_QUEUE}
        assert len(accepted) >= LIMIT
        assert broker.llen(PING_QUEUE) == len(accepted)

        # Refused again, with an Idempotency-Key: nothing recorded, no message queued, and
        # the key is not taken, so the client's retry after the overload runs for real.
        again = client.post("/diagnostics/ping", json={}, headers={"Idempotency-Key": "k-1"})
        _assert_refused(again, "overloaded", 503)
        assert broker.llen(PING_QUEUE) == len(accepted)
        assert _job_ids(client) == sorted(accepted)
        # A registration's approval job goes to the same queue: refused, and no
        # registration is left behind.
        assert ROUTES["registrations.apply_policy"] == PING_QUEUE
        _assert_refused(register(attendee, conference_id), "overloaded", 503)
        assert _registrations(client, conference_id) == []
        assert broker.llen(PING_QUEUE) == len(accepted)

        platform.start_worker()
        for job_id in accepted:
            assert wait_for_job(client, job_id)["state"] == "succeeded"
        retried = _until(lambda: (lambda r: r if r.status_code != 503 else None)(
            client.post("/diagnostics/ping", json={}, headers={"Idempotency-Key": "k-1"})),
            "the drained queue takes work again")
        assert retried.status_code == 202, retried.text
        assert "Idempotent-Replayed" not in retried.headers
        assert wait_for_job(client, retried.json()["job_id"])["state"] == "succeeded"
        assert _job_ids(client) == sorted([*accepted, retried.json()["job_id"]])
        registered = register(attendee, conference_id)
        assert registered.status_code == 202, registered.text
        assert wait_for_job(attendee, registered.json()["job_id"])["state"] == "succeeded"
        assert len(_registrations(client, conference_id)) == 1


@pytest.mark.parametrize("platform", [{"MEETEASY_USER_JOB_RATE": "0.5",
                                       "MEETEASY_USER_JOB_BURST": "2"}], indirect=True)
def test_one_users_excess_gets_429_while_others_go_on(platform):
    tenant = make_tenant(platform, roles=("tenant_admin",))
    other = make_tenant(platform, roles=("tenant_admin",))
    with platform.client(tenant.tokens["tenant_admin"]["access_token"]) as client, \
            platform.client(other.tokens["tenant_admin"]["access_token"]) as neighbour:
        burst = [client.post("/diagnostics/ping", json={}) for _ in range(2)]
        assert [response.status_code for response in burst] == [202, 202]
        excess = client.post("/diagnostics/ping", json={})
        retry_after = _assert_refused(excess, "too_many_requests", 429)
        assert retry_after <= 2  # one token comes back every 2 s
        assert _job_ids(client) == sorted(response.json()["job_id"] for response in burst)

        assert neighbour.post("/diagnostics/ping", json={}).status_code == 202

        time.sleep(retry_after)
        later = _until(lambda: (lambda r: r if r.status_code != 429 else None)(
            client.post("/diagnostics/ping", json={})), "a token comes back")
        assert later.status_code == 202, later.text
