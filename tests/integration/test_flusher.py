"""The flusher as a process (`meeteasy flusher`) on a Redis of each test's own, with
web and a worker: a slowed flusher does not make the job feed skip a change, and a
flusher SIGKILLed under load loses nothing, since its standby takes over."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from meeteasy.changes import FLUSHED, SEQ, STREAM
from models.jobs import Job
from tests.integration.conftest import make_tenant
from tests.integration.stack import Stack, wait_for_job


@pytest.fixture
def platform(services, private_redis, tmp_path):
    stack = Stack(tmp_path / "stack", services.mongodb_uri, private_redis.url)
    try:
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(stack.start_web),
                            pool.submit(stack.start_worker, "worker", 4)]:
                started.result()
        stack.redis = redis.Redis.from_url(private_redis.url)
        yield stack
    finally:
        stack.stop()


def _wait(check, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)
    return value


def _post_pings(client, count: int) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post("/diagnostics/ping", json={}),
                                range(count)))
    assert all(answer.status_code == 202 for answer in answers), answers[0].text
    return [answer.json()["job_id"] for answer in answers]


def test_a_client_catching_up_sees_every_change_with_a_slowed_flusher(platform):
    """Each batch waits 2.5 s before it is written, longer than the feed waits for the
    flusher (models.jobs.FEED_WAIT), so the feed answers again and again while changes
    are recorded but not yet stored, and while a batch is being written (a batch holds
    each job's latest change, so it is not written in change order). The client keeps
    only its cursor; it must end up with every job in its final state."""
    platform.start_flusher(MEETEASY_FLUSH_DELAY_MS="2500")
    tenant = make_tenant(platform, roles=("tenant_admin",))
    seen: dict[str, tuple[int, str]] = {}
    behind = []

    def read_page(client, cursor):
        behind.append(int(platform.redis.get(SEQ) or 0) > int(platform.redis.get(FLUSHED) or 0))
        page = client.get("/jobs/", params={"since": cursor} if cursor else {}).json()
        sequences = [int(item["cursor"][1:], 16) for item in page["items"]]
        assert sequences == sorted(sequences), sequences
        for item, sequence in zip(page["items"], sequences):
            assert sequence > seen.get(item["id"], (0, ""))[0]
            seen[item["id"]] = (sequence, item["state"])
        return page["next_cursor"] or cursor, len(page["items"])

    with platform.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        cursor = None
        with ThreadPoolExecutor(1) as pool:
            posting = pool.submit(_post_pings, client, 60)
            while not posting.done():
                cursor, _ = read_page(client, cursor)
            job_ids = posting.result()
        for job_id in job_ids:
            assert wait_for_job(client, job_id, timeout=120)["state"] == "succeeded"
        deadline = time.monotonic() + 120
        while platform.redis.get(SEQ) != platform.redis.get(FLUSHED):
            assert time.monotonic() < deadline, "the flusher did not catch up"
            cursor, _ = read_page(client, cursor)
        count = 1
        while count:  # the rest of the feed, now that everything is stored
            cursor, count = read_page(client, cursor)
    assert any(behind), "the flusher was never behind: the test proves nothing"
    assert set(seen) == set(job_ids)
    assert {job_id for job_id, (_, state) in seen.items() if state != "succeeded"} == set()


@pytest.mark.timeout(300)
def test_a_sigkilled_flusher_loses_nothing_its_standby_takes_over(platform):
    """Two flushers; the one holding the lease is killed while jobs are being created and
    run. Every accepted job ends in MongoDB as the API shows it, and the stream empties."""
    platform.start_flusher("flusher-a", MEETEASY_FLUSH_DELAY_MS="200")
    _wait(lambda: "holds the lease" in platform.log_text("flusher-a"), "flusher-a leads")
    platform.start_flusher("flusher-b")
    tenant = make_tenant(platform, roles=("tenant_admin",))
    with platform.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        with ThreadPoolExecutor(1) as pool:
            posting = pool.submit(_post_pings, client, 150)
            # Mid-load: changes are recorded and some are already flushed.
            _wait(lambda: int(platform.redis.get(FLUSHED) or 0) > 0 and
                  platform.redis.xlen(STREAM) > 0, "a flush with more changes waiting")
            assert "holds the lease" not in platform.log_text("flusher-b")  # one active
            platform.kill("flusher-a")
            job_ids = posting.result()
        polled = {job_id: wait_for_job(client, job_id, timeout=120) for job_id in job_ids}
    _wait(lambda: "holds the lease" in platform.log_text("flusher-b"), "flusher-b takes over")
    _wait(lambda: platform.redis.get(FLUSHED) == platform.redis.get(SEQ),
          "flusher-b flushes everything")
    assert platform.redis.xlen(STREAM) == 0
    stored = {job.id: job for job in Job.objects(tenant_id=tenant.id)}
    assert set(stored) == set(job_ids)
    for job_id, view in polled.items():
        job = stored[job_id]
        assert (job.state, job.attempts, job.result) == (view["state"], view["attempts"],
                                                         view["result"])
        assert view["state"] == "succeeded"
