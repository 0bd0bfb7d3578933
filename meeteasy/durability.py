"""Whether the Redis we run on keeps its data: checked once when `web` and `worker` start.

Redis holds the task queues (and the jobs' hot state): a Redis without append-only
persistence loses every queued job when it restarts, and one that evicts keys under
memory pressure drops them silently. The README's "Production" section says what to set;
this logs a warning at start when it is not set, and never stops a process for it.
"""

from __future__ import annotations

import logging

import redis

from meeteasy import changes
from meeteasy.redisconn import get_redis

log = logging.getLogger("meeteasy.durability")
DURABLE_WAIT = 5.0  # seconds an announcement waits for the flusher on a volatile Redis


def persistence_problems(config: dict[str, str]) -> list[str]:
    """What is wrong for MeetEasy in a Redis configuration (``CONFIG GET`` answers)."""
    problems = []
    if config.get("appendonly") == "no":
        problems.append("append-only persistence is off (appendonly no): a restart loses "
                        "every queued job")
    if config.get("appendfsync") == "no":
        problems.append("appendfsync is 'no': a crash loses whatever the OS had not written")
    policy = config.get("maxmemory-policy")
    if policy is not None and policy != "noeviction":
        problems.append(f"maxmemory-policy is {policy}: under memory pressure Redis drops "
                        "queued jobs instead of refusing new ones")
    return problems


def read_config(client: redis.Redis) -> dict[str, str] | None:
    """The settings that matter, or None where CONFIG is disabled (managed Redis services
    often rename or forbid it; then nothing can be checked from here)."""
    config = {}
    try:
        for name in ("appendonly", "appendfsync", "maxmemory-policy"):
            config.update(client.config_get(name))
    except redis.exceptions.ResponseError:
        return None
    return config


def warn_if_volatile(url: str) -> None:
    """Log a warning naming each persistence problem of the Redis at ``url``."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5,
                                  decode_responses=True)
    try:
        config = read_config(client)
    except redis.exceptions.RedisError as error:
        log.warning("could not check Redis persistence at start (%s)", error)
        return
    finally:
        client.close()
    if config is None:
        log.info("Redis refuses CONFIG GET: its persistence settings are not checked; "
                 "see the README's Production section")
        return
    for problem in persistence_problems(config):
        log.warning("Redis persistence: %s. See the README's Production section.", problem)


_changes_durable: bool | None = None


def changes_durable() -> bool:
    """Whether a change in our Redis's stream survives a restart (append-only, fsync'd):
    then a change is durable once recorded; otherwise only once the flusher stored it.
    Asked once per process; a Redis that refuses CONFIG counts as not durable."""
    global _changes_durable
    if _changes_durable is None:
        try:
            config = read_config(get_redis())
        except redis.exceptions.RedisError:
            return False  # asked again next time
        text = {_text(name): _text(value) for name, value in (config or {}).items()}
        _changes_durable = text.get("appendonly") == "yes" and text.get("appendfsync") != "no"
    return _changes_durable


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def await_durable(seq: int, timeout: float = DURABLE_WAIT) -> bool:
    """Return once the change numbered ``seq`` is durable (see :func:`changes_durable`);
    False if ``timeout`` seconds passed first (the flusher is slow or down)."""
    if changes_durable():
        return True
    return changes.wait_flushed(seq, timeout)
