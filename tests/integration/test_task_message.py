"""meeteasy.task_message: the Celery message we push ourselves is the one kombu pushes,
and a real worker runs it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import redis

from meeteasy.broker import ROUTES
from meeteasy.task_message import redis_message
from models import jobs as job_records
from tests.integration.stack import ROOT, wait_for_job

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


# Both messages are pushed from a fresh process that imports what `meeteasy web` does
# (meeteasy.broker, not the task modules): Celery fills a message's time limits from the
# task when the sending process has it registered, as a test process may by then.
SEND_BOTH = """
import sys
from meeteasy.broker import app
from meeteasy.task_message import redis_message
import redis
queue, kwargs = sys.argv[1], {"tenant_id": "t1", "job_id": "j1"}
app.send_task("diagnostics.ping", kwargs=kwargs, task_id="j1", queue=queue)
redis.Redis.from_url(app.conf.broker_url).lpush(
    queue, redis_message("diagnostics.ping", "j1", kwargs, queue))
"""


def test_our_message_is_the_one_kombu_pushes(services):
    broker = redis.Redis.from_url(services.redis_url)
    queue = f"test-envelope-{uuid.uuid4().hex[:8]}"  # no worker consumes it
    try:
        subprocess.run([sys.executable, "-c", SEND_BOTH, queue], check=True, cwd=ROOT,
                       env={**os.environ, "MEETEASY_REDIS_URL": services.redis_url},
                       timeout=60)
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
