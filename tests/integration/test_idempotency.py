"""Idempotency-Key on POST /diagnostics/ping: one key, one job."""

from __future__ import annotations

import threading
import uuid

import pytest

from api.idempotency import fingerprint
from models import idempotency as store
from models import users
from tests.integration.conftest import PASSWORD
from tests.integration.hot_jobs import stored_jobs

PING = "/diagnostics/ping"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]


def new_key() -> str:
    return f"key-{uuid.uuid4().hex}"


def jobs_with(tenant_id: str, key: str) -> int:
    return stored_jobs(tenant_id=tenant_id, idempotency_key=key)


def ping(client, key: str | None, body: bytes = b'{"hold_seconds": 0}'):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(PING, content=body, headers=headers)


@pytest.fixture
def admin(stack, tenant):
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        yield client


def test_a_retry_gets_the_first_answer(admin, tenant):
    key = new_key()
    first = ping(admin, key)
    second = ping(admin, key)
    assert first.status_code == 202, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 202, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["job_id"] == first.json()["job_id"]
    assert second.json() == first.json()
    assert jobs_with(tenant.id, key) == 1
    assert stored_jobs(tenant_id=tenant.id, id=first.json()["job_id"]) == 1


def test_without_a_key_or_with_another_key_each_post_is_new(admin, tenant):
    before = stored_jobs(tenant_id=tenant.id)
    ids = {ping(admin, None).json()["job_id"], ping(admin, None).json()["job_id"],
           ping(admin, new_key()).json()["job_id"], ping(admin, new_key()).json()["job_id"]}
    assert len(ids) == 4
    assert stored_jobs(tenant_id=tenant.id) == before + 4


def test_same_key_with_another_body_is_422(admin, tenant):
    key = new_key()
    first = ping(admin, key, b'{"hold_seconds": 0}')
    assert first.status_code == 202, first.text
    other = ping(admin, key, b'{"hold_seconds": 1}')
    assert_error(other, 422, "idempotency_key_reused")
    assert "Idempotent-Replayed" not in other.headers
    assert jobs_with(tenant.id, key) == 1


def test_a_key_still_in_progress_is_409(admin, tenant):
    key = new_key()
    body = b'{"hold_seconds": 0}'
    # What a concurrent first request holds while it runs.
    claimed = store.begin(tenant.id, tenant.users["tenant_admin"].id, key,
                          fingerprint("POST", PING, body))
    assert claimed is None
    assert_error(ping(admin, key, body), 409, "idempotency_in_progress")
    assert jobs_with(tenant.id, key) == 0
    # Once the first request gave up, the key is free again.
    store.abandon(tenant.id, tenant.users["tenant_admin"].id, key)
    retry = ping(admin, key, body)
    assert retry.status_code == 202, retry.text
    assert jobs_with(tenant.id, key) == 1


def test_failed_requests_are_not_remembered(admin, tenant):
    key = new_key()
    assert_error(ping(admin, key, b'{"hold_seconds": "x"}'), 422, "validation_failed")
    # The same bad request is evaluated again, not replayed.
    again = ping(admin, key, b'{"hold_seconds": "x"}')
    assert_error(again, 422, "validation_failed")
    assert "Idempotent-Replayed" not in again.headers
    # The key is free for the corrected request.
    fixed = ping(admin, key, b'{"hold_seconds": 0}')
    assert fixed.status_code == 202, fixed.text
    assert jobs_with(tenant.id, key) == 1


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_a_malformed_key_is_422(admin, tenant, key):
    before = stored_jobs(tenant_id=tenant.id)
    error = assert_error(ping(admin, key), 422, "validation_failed")
    assert list(error["details"]["fields"]) == ["Idempotency-Key"]
    assert stored_jobs(tenant_id=tenant.id) == before


def test_keys_belong_to_their_user(stack, tenant, other_tenant, admin):
    key = new_key()
    email = f"second-admin-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    users.create_user(tenant.id, email, PASSWORD, ["tenant_admin"])
    colleague = stack.login(tenant.slug, email, PASSWORD)["access_token"]
    outsider = other_tenant.tokens["tenant_admin"]["access_token"]

    mine = ping(admin, key)
    with stack.client(colleague) as client:
        theirs = ping(client, key)
    with stack.client(outsider) as client:
        elsewhere = ping(client, key)

    for response in (mine, theirs, elsewhere):
        assert response.status_code == 202, response.text
        assert "Idempotent-Replayed" not in response.headers
    assert len({mine.json()["job_id"], theirs.json()["job_id"], elsewhere.json()["job_id"]}) == 3
    assert jobs_with(tenant.id, key) == 2
    assert jobs_with(other_tenant.id, key) == 1


def test_concurrent_duplicates_make_one_job(stack, tenant):
    key = new_key()
    token = tenant.tokens["tenant_admin"]["access_token"]
    callers = 10
    start = threading.Barrier(callers)
    answers = [None] * callers

    def call(index):
        with stack.client(token) as client:
            client.get("/health")  # connect before the race starts
            start.wait()
            answers[index] = ping(client, key)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = [answer for answer in answers if answer.status_code == 202]
    others = [answer for answer in answers if answer.status_code != 202]
    assert accepted, [answer.text for answer in answers]
    assert len({answer.json()["job_id"] for answer in accepted}) == 1
    for answer in others:
        assert_error(answer, 409, "idempotency_in_progress")
    assert jobs_with(tenant.id, key) == 1
    assert store.IdempotencyRecord.objects(tenant_id=tenant.id, key=key).count() == 1
