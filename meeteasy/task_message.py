"""A Celery task message as the Redis transport stores it, built without a round trip.

``app.send_task`` goes through kombu's producer: a connection from the pool, a
binding lookup, then one ``LPUSH``, all blocking and ~1,500 messages/s at most here.
A job's 202 path only needs that last ``LPUSH``: :func:`redis_message` builds the very
message kombu would push (Celery's protocol 2, JSON, the body base64-encoded as kombu's
Redis channel does), so the job's record and its message can be written by one Redis
script (atomically, in one round trip) or pushed from asyncio without a thread.

Celery's own ``as_task_v2`` makes the headers and body, so only the envelope is ours;
``tests/integration/test_task_message.py`` compares it with kombu's and has a real
worker run a task published this way.
"""

from __future__ import annotations

import base64
import json
import uuid

from meeteasy.broker import app

PRIORITY = 0  # no priorities configured: the queue's list is the queue's own name


def redis_message(task: str, task_id: str, kwargs: dict, queue: str) -> str:
    """The JSON that kombu would ``LPUSH`` onto the list named ``queue``."""
    headers, properties, body, _ = app.amqp.as_task_v2(task_id, task, args=(), kwargs=kwargs)
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            **properties,
            "delivery_mode": 2,  # persistent
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": PRIORITY,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    })
