"""A job end to end: API → Job document → Celery worker → MongoDB → Socket.IO push."""

from __future__ import annotations

from tests.integration.stack import receive_events, wait_for_job


def _job_events(events, job_id):
    return [data for event, data in events if event == "job.updated" and data["id"] == job_id]


def test_ping_round_trips_through_a_worker_and_is_pushed(stack, tenant):
    token = tenant.tokens["tenant_admin"]["access_token"]
    sock = stack.socket(token)
    try:
        with stack.client(token) as client:
            response = client.post("/diagnostics/ping", json={})
            assert response.status_code == 202, response.text
            accepted = response.json()
            job_id = accepted["job_id"]
            assert accepted["status_url"] == f"/jobs/{job_id}"
            assert accepted["job"]["state"] == "queued"

            events = receive_events(sock, lambda seen: any(
                data["state"] == "succeeded" for data in _job_events(seen, job_id)))
            polled = client.get(f"/jobs/{job_id}").json()
    finally:
        sock.disconnect()

    states = [data["state"] for data in _job_events(events, job_id)]
    # A job without progress reports is pushed once, at its end (the claim is not pushed).
    assert states == ["succeeded"]
    pushed = _job_events(events, job_id)[-1]
    assert polled["state"] == "succeeded"
    assert polled["attempts"] == 1
    result = polled["result"]
    assert result["worker"].startswith("worker-")
    assert result["queue_delay_ms"] >= 0
    assert result["redis_version"].count(".") == 2
    assert result["mongodb_version"]
    # The push carries the job exactly as GET /jobs/{id} shows it.
    assert {**pushed, "status_url": polled["status_url"]} == polled


def test_progress_is_pushed_and_a_running_job_can_be_cancelled(stack, tenant):
    token = tenant.tokens["tenant_admin"]["access_token"]
    sock = stack.socket(token)
    try:
        with stack.client(token) as client:
            job_id = client.post("/diagnostics/ping", json={"hold_seconds": 4}).json()["job_id"]
            receive_events(sock, lambda seen: any(
                data["progress"] > 0 for data in _job_events(seen, job_id)))
            cancel = client.post(f"/jobs/{job_id}/cancel")
            assert cancel.status_code == 200, cancel.text
            assert cancel.json()["cancel_requested"] is True
            job = wait_for_job(client, job_id)
            again = client.post(f"/jobs/{job_id}/cancel")
    finally:
        sock.disconnect()
    assert job["state"] == "cancelled"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"


def test_polling_catches_up_with_since(stack, tenant):
    token = tenant.tokens["tenant_admin"]["access_token"]
    with stack.client(token) as client:
        first = client.post("/diagnostics/ping", json={}).json()["job_id"]
        wait_for_job(client, first)
        page = client.get("/jobs/", params={"limit": 50}).json()
        cursor = page["next_cursor"]
        assert [job["id"] for job in page["items"]] == [first]

        second = client.post("/diagnostics/ping", json={}).json()["job_id"]
        wait_for_job(client, second)
        later = client.get("/jobs/", params={"since": cursor}).json()
        assert [job["id"] for job in later["items"]] == [second]
        assert client.get("/jobs/", params={"since": later["next_cursor"]}).json()["items"] == []
        assert [j["id"] for j in client.get("/jobs/", params={"state": "succeeded"}).json()["items"]] \
            == [first, second]
        assert client.get("/jobs/", params={"kind": "nothing.such"}).json()["items"] == []
