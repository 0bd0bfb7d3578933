"""A task delivered twice does its work once.

The test process sends the same task message again through its own Celery app
(which points at the tests' Redis), exactly as a broker redelivery would look to the
session worker: same task id, same kwargs.
"""

from __future__ import annotations

import time

import pytest

from models import jobs as job_store
from tasks.app import app
from tests.integration.conftest import make_tenant
from tests.integration.stack import receive_events, wait_for_job


@pytest.fixture(scope="module")
def tenant(stack):
    return make_tenant(stack, roles=("tenant_admin",))


def _job_events(events, job_id):
    return [data for event, data in events if event == "job.updated" and data["id"] == job_id]


def _send_again(tenant_id: str, job_id: str) -> None:
    app.send_task("diagnostics.ping", kwargs={"tenant_id": tenant_id, "job_id": job_id},
                  task_id=job_id, queue="default")


def _wait_for_runs(stack, job_id: str, runs: int, timeout: float = 20) -> None:
    """Wait until the worker reports ``runs`` executions of this task id (each delivery
    is executed; the claim decides whether it does anything)."""
    needle = f"diagnostics.ping[{job_id}] succeeded in"
    deadline = time.monotonic() + timeout
    while stack.log_text("worker").count(needle) < runs:
        assert time.monotonic() < deadline, f"worker did not run {job_id} {runs} times"
        time.sleep(0.1)


def test_a_finished_job_delivered_again_is_left_alone(stack, tenant):
    token = tenant.tokens["tenant_admin"]["access_token"]
    sock = stack.socket(token)
    try:
        with stack.client(token) as client:
            job_id = client.post("/diagnostics/ping", json={}).json()["job_id"]
            receive_events(sock, lambda seen: any(
                data["state"] == "succeeded" for data in _job_events(seen, job_id)))
            before = wait_for_job(client, job_id)
            assert before["state"] == "succeeded" and before["attempts"] == 1
            _wait_for_runs(stack, job_id, 1)

            _send_again(tenant.id, job_id)
            _wait_for_runs(stack, job_id, 2)
            after = client.get(f"/jobs/{job_id}").json()
            late = receive_events(sock, lambda seen: False, timeout=1)
    finally:
        sock.disconnect()
    assert after == before
    assert _job_events(late, job_id) == []


def test_two_deliveries_at_once_run_the_job_once(stack, tenant):
    token = tenant.tokens["tenant_admin"]["access_token"]
    admin = tenant.users["tenant_admin"]
    # Recorded queued without a message, then sent twice before any worker can pick it:
    # the session worker (two pool processes) takes both at the same time.
    job = job_store.create_job(tenant.id, admin.id, "diagnostics.ping", {"hold_seconds": 1})
    sock = stack.socket(token)
    try:
        _send_again(tenant.id, job.id)
        _send_again(tenant.id, job.id)
        with stack.client(token) as client:
            polled = wait_for_job(client, job.id)
        _wait_for_runs(stack, job.id, 2)
        events = receive_events(sock, lambda seen: any(
            data["state"] == "succeeded" for data in _job_events(seen, job.id)))
        events += receive_events(sock, lambda seen: False, timeout=1)
    finally:
        sock.disconnect()
    pushed = _job_events(events, job.id)
    states = [data["state"] for data in pushed]
    assert polled["state"] == "succeeded"
    assert polled["attempts"] == 1
    # One claim: every push belongs to attempt 1 and the same start.
    assert {(data["attempts"], data["started_at"]) for data in pushed} == \
        {(1, polled["started_at"])}, pushed
    assert states.count("succeeded") == 1, states
    assert states[-1] == "succeeded"


def test_every_job_task_accepts_its_message_and_can_be_retried(stack):
    """A job task's message is (tenant_id, job_id), whatever run() takes; Celery must
    accept it when the task is sent or retried (retry re-sends it with apply_async)."""
    from tasks.app import app
    from tasks.base import JobTask

    app.loader.import_default_modules()
    job_tasks = [task for task in app.tasks.values() if isinstance(task, JobTask)]
    assert {task.name for task in job_tasks} >= {"diagnostics.ping", "registrations.apply_policy",
                                                 "registrations.staff_decision",
                                                 "registrations.export"}
    for task in job_tasks:
        # No job has this id: a worker that receives it finds nothing to claim.
        task.apply_async(kwargs={"tenant_id": "no-tenant", "job_id": "no-job"}, queue="default")
