"""Backpressure: refuse a new job at once when its workload cannot take it.

Overloaded, a platform that keeps accepting work fills its queues with jobs that no
worker reaches in time, and the backlog slows every claim further: throughput
collapses instead of levelling off (the Google SRE book, "Handling Overload"; Celery's
docs on queue length). So before a job is recorded (and before a registration is, for
its approval job), :func:`admit` refuses it, with nothing written, when

- its queue (``meeteasy.broker.ROUTES``) already holds its limit of waiting jobs
  (``MEETEASY_QUEUE_LIMIT``, ``MEETEASY_QUEUE_LIMITS``): 503 ``overloaded`` with
  Retry-After, for every client;
- its user starts jobs faster than ``MEETEASY_USER_JOB_RATE`` (a token bucket in
  Redis): 429 ``too_many_requests`` with Retry-After, for that user only.

The depths of all queues are read together in one round trip and the reading is reused
by the process for :data:`DEPTH_TTL`: a refusal costs a dictionary lookup, at the price
of a limit that a burst may pass by what arrives within that interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel
from redis.commands.core import Script

from meeteasy.broker import QUEUES, ROUTES, app
from meeteasy.errors import Overloaded, TooManyRequests
from meeteasy.readings import Reading
from meeteasy.redisconn import get_redis
from meeteasy.settings import Settings, get_settings
from models import job_state

DEPTH_TTL = 0.2
# Plugin deliveries are started by the platform for events it has stored, not at a
# client's request, so they count against no user's rate (their queue still has a limit).
UNMETERED_KINDS = frozenset({"plugins.deliver"})
# Kinds whose jobs may join a task queued already (models/job_state.Join) instead of
# queueing a message: their backlog is counted as every job waiting (a floor: it counts
# the other kinds' too), since their queue's list no longer shows it.
JOINING_KINDS = frozenset({"registrations.apply_policy"})
JOINED_WAITING = "*jobs waiting*"

# A token bucket per user: ``burst`` tokens, refilled at ``rate`` per second, one taken
# per job. Redis's clock decides, so every web process shares one bucket. Returns "0"
# when a token was taken, else the seconds until one will be there.
_BUCKET = Script(None, b"""
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(1000 * burst / rate) + 1000)
return tostring(wait)
""")


def queue_keys(queue: str, transport_options: dict) -> list[str]:
    """The Redis lists where kombu's Redis transport keeps a queue's waiting messages:
    the queue's name for priority 0 and ``name + sep + step`` for each other priority
    step (``kombu.transport.redis.Channel._q_for_pri``), behind the global key prefix."""
    prefix = transport_options.get("global_keyprefix", "")
    steps = transport_options.get("priority_steps", PRIORITY_STEPS)
    return [prefix + (f"{queue}{Channel.sep}{step}" if step else queue) for step in steps]


def read_depths(client: redis.Redis, queues: Iterable[str], transport_options: dict
                ) -> dict[str, int]:
    """queue → messages waiting in it (delivered but unacknowledged ones excluded), in
    one round trip."""
    keys = {queue: queue_keys(queue, transport_options) for queue in queues}
    with client.pipeline(transaction=False) as pipe:
        for queue_lists in keys.values():
            for key in queue_lists:
                pipe.llen(key)
        lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in queue_lists) for queue, queue_lists in keys.items()}


def limit_of(queue: str, settings: Settings) -> int:
    """How many jobs may wait in ``queue``; 0 for no limit."""
    return settings.queue_limit_overrides.get(queue, settings.queue_limit)


def is_full(depth: int, limit: int) -> bool:
    """A queue holding ``limit`` jobs takes no more (a limit of 0 never fills)."""
    return limit > 0 and depth >= limit


def retry_after(wait_seconds: float) -> int:
    """Whole seconds for Retry-After: never 0, which would invite an immediate retry."""
    return max(1, math.ceil(wait_seconds))


def read_waiting(client: redis.Redis) -> dict[str, int]:
    """The queues' depths (:func:`read_depths`), and under JOINED_WAITING the jobs waiting
    in all: those that joined another's task have no message of their own."""
    depths = read_depths(client, QUEUES, app.conf.broker_transport_options)
    depths[JOINED_WAITING] = client.zcard(job_state.QUEUED)
    return depths


_depths = Reading(lambda: read_waiting(get_redis()), DEPTH_TTL)


def admit(tenant_id: str, user_id: str, kind: str) -> None:
    """Raise :class:`Overloaded` (503) or :class:`TooManyRequests` (429), both with
    Retry-After, rather than let a job of ``kind`` in that the platform cannot take."""
    check_queue(kind)
    settings = get_settings()
    if settings.user_job_rate and kind not in UNMETERED_KINDS:
        wait = _take_token(f"meeteasy:rate:{tenant_id}:{user_id}", settings.user_job_rate,
                           settings.user_job_burst)
        if wait > 0:
            raise TooManyRequests("You are starting jobs faster than your share; slow down.",
                                  retry_after=retry_after(wait))


def check_queue(kind: str) -> None:
    """Raise :class:`Overloaded` if the queue of ``kind`` is full. An operation that
    writes before it starts its job asks this first, so that a refusal writes nothing."""
    queue = ROUTES[kind]
    limit = limit_of(queue, get_settings())
    depths = _depths.get()
    depth = max(depths[queue], depths[JOINED_WAITING]) if kind in JOINING_KINDS \
        else depths[queue]
    if limit and is_full(depth, limit):
        raise Overloaded(details={"queue": queue})


def _take_token(key: str, rate: float, burst: int) -> float:
    """Take one token from the bucket at ``key``: 0, or the seconds until there is one."""
    return float(_BUCKET(keys=[key], args=[rate, burst], client=get_redis()))
