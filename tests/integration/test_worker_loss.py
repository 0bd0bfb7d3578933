"""A worker that dies mid-job: the job still ends, and its work is recorded once.

These tests run web, relay and their own workers on a Redis of this module's own, so
the shared session worker can never take the job, and SIGKILL a whole worker (main
process and pool children).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from meeteasy import embedded
from tests.integration.conftest import make_tenant
from tests.integration.stack import Stack, receive_events, wait_for_job


def _job_events(events, job_id):
    return [data for event, data in events if event == "job.updated" and data["id"] == job_id]


def _succeeded(job_id):
    return lambda seen: any(data["state"] == "succeeded" for data in _job_events(seen, job_id))


@pytest.fixture(scope="module")
def front(services, tmp_path_factory):
    """web + relay on a Redis of this module's own, shared by its tests (they start
    and kill their own workers)."""
    workdir = tmp_path_factory.mktemp("worker-loss")
    broker = embedded.start_redis(workdir / "redis", workdir / "redis.log")
    platform = Stack(workdir / "front", services.mongodb_uri, broker.url)
    try:
        with ThreadPoolExecutor(3) as pool:
            for started in [pool.submit(platform.start_web), pool.submit(platform.start_relay),
                            pool.submit(platform.start_flusher)]:
                started.result()
        platform.broker = broker
        platform.tenant = make_tenant(platform, roles=("tenant_admin",))
        yield platform
    finally:
        platform.stop()
        broker.stop()


@pytest.fixture
def lossy_stack(request, services, front, tmp_path):
    """Workers (and beat) for one test, on the front's Redis, with this test's settings."""
    # Redelivery after 8 s, so that a lost job comes back within the test.
    overrides = {"MEETEASY_LONG_TASK_TIME_LIMIT": "7", "MEETEASY_VISIBILITY_TIMEOUT": "8",
                 **getattr(request, "param", {})}
    platform = Stack(tmp_path / "stack", services.mongodb_uri, front.broker.url, **overrides)
    platform.api_url, platform.relay_url = front.api_url, front.relay_url
    try:
        platform.start_worker("worker1")
        yield platform
    finally:
        platform.stop()


def _start_and_lose_a_held_ping(platform: Stack, client) -> str:
    """POST a 3 s ping, wait until worker1 is really running it, SIGKILL worker1."""
    job_id = client.post("/diagnostics/ping", json={"hold_seconds": 3}).json()["job_id"]
    running = wait_for_job(client, job_id, states=("running",), timeout=20)
    assert running["attempts"] == 1
    # Progress proves the attempt is inside the task body, not just claimed.
    deadline = time.monotonic() + 10
    while client.get(f"/jobs/{job_id}").json()["progress"] == 0:
        assert time.monotonic() < deadline, "the held ping never reported progress"
        time.sleep(0.1)
    platform.kill("worker1")
    after_kill = client.get(f"/jobs/{job_id}").json()
    assert after_kill["state"] == "running" and after_kill["attempts"] == 1
    return job_id


def _assert_done_once(events, polled, job_id):
    states = [data["state"] for data in _job_events(events, job_id)]
    assert polled["state"] == "succeeded", polled
    assert polled["attempts"] == 2, polled
    # The dead attempt never finished; the job was recorded succeeded exactly once,
    # by the second attempt, on the new worker.
    assert states.count("succeeded") == 1, states
    assert [s for s in states if s not in ("running", "queued")] == ["succeeded"], states
    assert polled["result"]["worker"].startswith("worker2-"), polled["result"]
    assert _job_events(events, job_id)[-1]["attempts"] == 2


def test_sigkilled_worker_job_is_redelivered_and_succeeds_once(front, lossy_stack):
    """No beat here: the new worker gets the dead worker's unacked message back from
    kombu's visibility-timeout restore, after the job's lease (the task time limit)
    has expired, so the redelivered message can claim the job."""
    platform = lossy_stack
    token = front.tenant.tokens["tenant_admin"]["access_token"]
    sock = platform.socket(token)
    try:
        with platform.client(token) as client:
            job_id = _start_and_lose_a_held_ping(platform, client)
            platform.start_worker("worker2")
            # visibility 8 s + restore sweep + 3 s hold: well inside this bound.
            polled = wait_for_job(client, job_id, timeout=40)
            events = receive_events(sock, _succeeded(job_id), timeout=10)
            # Anything more that arrives (a second succeeded) would show here.
            events += receive_events(sock, lambda seen: False, timeout=1)
    finally:
        sock.disconnect()
    _assert_done_once(events, polled, job_id)
    assert "queued" not in [data["state"] for data in _job_events(events, job_id)]
    assert f"diagnostics.ping[{job_id}] received" in platform.log_text("worker2")


@pytest.mark.parametrize("lossy_stack", [{"MEETEASY_VISIBILITY_TIMEOUT": "300",
                                          "MEETEASY_REAPER_INTERVAL": "1"}], indirect=True)
def test_reaper_rescues_a_lost_job_when_no_redelivery_comes(front, lossy_stack):
    """If the broker does not give the message back in time (here: a visibility timeout
    far beyond the test), beat's reaper requeues the job once its lease has expired."""
    platform = lossy_stack
    token = front.tenant.tokens["tenant_admin"]["access_token"]
    sock = platform.socket(token)
    try:
        with platform.client(token) as client:
            job_id = _start_and_lose_a_held_ping(platform, client)
            platform.start_worker("worker2")
            platform.start_beat("beat")
            polled = wait_for_job(client, job_id, timeout=40)
            events = receive_events(sock, _succeeded(job_id), timeout=10)
            events += receive_events(sock, lambda seen: False, timeout=1)
    finally:
        sock.disconnect()
    _assert_done_once(events, polled, job_id)
    states = [data["state"] for data in _job_events(events, job_id)]
    assert "queued" in states, states  # the reaper's requeue was pushed
