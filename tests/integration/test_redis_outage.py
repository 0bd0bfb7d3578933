"""Redis (the broker) restarting under load: while it is down the API answers 503 with
Retry-After, never a 500; once it is back with its append-only file, every job accepted
before or after the outage completes.

The test runs web and a worker on a Redis of its own with append-only persistence
(what `meeteasy dev` runs and the README asks of production), stops that Redis while
a client keeps sending requests, and starts it again on the same port and directory.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from meeteasy import embedded
from models.jobs import Job
from tests.integration.conftest import make_tenant
from tests.integration.stack import Stack, wait_for_job

VOLATILE_WARNING = "append-only persistence is off"


@pytest.fixture
def durable(services, tmp_path):
    """web and one single-process worker on a Redis with AOF. A message a worker had
    taken when Redis went away comes back after the visibility timeout: 8 s here."""
    redis_dir, redis_log = tmp_path / "redis", tmp_path / "redis.log"
    broker = embedded.start_redis(redis_dir, redis_log, durable=True)
    stack = Stack(tmp_path / "stack", services.mongodb_uri, broker.url,
                  MEETEASY_LONG_TASK_TIME_LIMIT="7", MEETEASY_VISIBILITY_TIMEOUT="8")
    stack.broker = broker
    stack.restart_broker = lambda: embedded.start_redis(redis_dir, redis_log, port=broker.port,
                                                        durable=True)
    try:
        stack.start_web()
        stack.start_flusher()
        stack.start_worker(concurrency=1)
        yield stack
    finally:
        stack.stop()
        stack.broker.stop()


class Load:
    """A client in a thread: starts pings and reads one back, over and over, recording
    each answer's status, Retry-After and (when accepted) job id."""

    def __init__(self, client: httpx.Client):
        self.client = client
        self.answers: list[tuple[str, int, str | None]] = []
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            response = self.client.post("/diagnostics/ping", json={})
            self.answers.append(("POST", response.status_code, response.headers.get("Retry-After")))
            if response.status_code == 202:
                self.accepted.append(response.json()["job_id"])
            if self.accepted:
                read = self.client.get(f"/jobs/{self.accepted[-1]}")
                self.answers.append(("GET", read.status_code, read.headers.get("Retry-After")))
            time.sleep(0.02)

    def count(self, method: str, status: int) -> int:
        return sum(1 for answer in list(self.answers) if answer[:2] == (method, status))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)


def _until(check, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def test_the_session_stack_warns_that_its_redis_keeps_nothing(stack):
    assert VOLATILE_WARNING in stack.log_text("web")
    assert VOLATILE_WARNING in stack.log_text("worker")


@pytest.mark.timeout(300)
def test_a_redis_restart_answers_503_meanwhile_and_loses_no_accepted_job(durable):
    assert VOLATILE_WARNING not in durable.log_text("web") + durable.log_text("worker")
    tenant = make_tenant(durable, roles=("tenant_admin",))
    with durable.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        # A backlog the single worker process is still working through at the restart.
        backlog = []
        for _ in range(6):
            response = client.post("/diagnostics/ping", json={"hold_seconds": 1})
            assert response.status_code == 202, response.text
            backlog.append(response.json()["job_id"])
        with Load(client) as load:
            _until(lambda: load.count("POST", 202) >= 3, "pings accepted before the outage", 30)
            durable.broker.stop()
            down = load.count("POST", 503)
            _until(lambda: load.count("POST", 503) >= down + 5, "503s while Redis is down", 60)
            durable.broker = durable.restart_broker()
            up = load.count("POST", 202)
            _until(lambda: load.count("POST", 202) >= up + 3, "pings accepted after the restart",
                   60)
        statuses = {status for _, status, _ in load.answers}
        assert statuses <= {200, 202, 503}, load.answers
        assert all(retry_after and int(retry_after) >= 1
                   for _, status, retry_after in load.answers if status == 503)
        for job_id in [*backlog, *load.accepted]:
            job = wait_for_job(client, job_id, timeout=90)
            assert job["state"] == "succeeded", job
    # The flusher lived through the outage and stored every job's end in MongoDB.
    assert durable.processes["flusher"].poll() is None, durable.log_text("flusher")[-2000:]
    everyone = set(backlog) | set(load.accepted)
    _until(lambda: {job.id for job in Job.objects(tenant_id=tenant.id, state="succeeded")}
           >= everyone, "every job's end stored by the flusher", 60)
