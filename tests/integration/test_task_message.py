"""meeteasy.task_message: the Celery message we push ourselves is the one kombu pushes,
and a real worker runs it."""

from __future__ import annotations

import base64
import json
import uuid

import redis

from meeteasy.broker import ROUTES, app
from meeteasy.task_message import redis_message
from models import jobs as job_records
from tests.integration.stack import wait_for_job

# What differs between two messages of the same task by design: a fresh tag per message,
# the sender's process in `origin`, and the reply queue, which only send_task sets (no
# result backend reads it here).
PER_MESSAGE = {"delivery_tag", "reply_to", "origin"}


def _comparable(raw: bytes) -> dict:
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    for part in ("headers", "properties"):
        message[part] = {k: v for k, v in message[part].items() if k not in PER_MESSAGE}
    message["headers"]["ignore_result"] = bool(message["headers"]["ignore_result"])
    return message


def test_our_message_is_the_one_kombu_pushes(services):
    broker = redis.Redis.from_url(services.redis_url)
    queue = f"test-envelope-{uuid.uuid4().hex[:8]}"  # no worker consumes it
    kwargs = {"tenant_id": "t1", "job_id": "j1"}
    try:
        app.send_task("diagnostics.ping", kwargs=kwargs, task_id="j1", queue=queue)
        broker.lpush(queue, redis_message("diagnostics.ping", "j1", kwargs, queue))
        ours, kombus = broker.lrange(queue, 0, -1)  # LPUSH: the newest first
    finally:
        broker.delete(queue)
    assert _comparable(ours) == _comparable(kombus)
    assert json.loads(ours)["properties"]["delivery_tag"] != \
        json.loads(kombus)["properties"]["delivery_tag"]


def test_a_worker_runs_a_task_pushed_as_that_message(stack, services, tenant):
    admin = tenant.users["tenant_admin"].id
    job = job_records.create_job(tenant.id, admin, "diagnostics.ping", {"hold_seconds": 0})
    queue = ROUTES["diagnostics.ping"]
    redis.Redis.from_url(services.redis_url).lpush(queue, redis_message(
        "diagnostics.ping", job.id, {"tenant_id": tenant.id, "job_id": job.id}, queue))
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        finished = wait_for_job(client, job.id)
    assert finished["state"] == "succeeded", finished
    assert finished["attempts"] == 1
