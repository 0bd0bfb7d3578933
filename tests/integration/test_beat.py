"""Two beat processes on one Redis: each tick fires once, and a standby takes over.

No worker runs here, so every reaper message beat sends stays in the `default` list
of the test's private Redis, where the test counts and decodes it.
"""

from __future__ import annotations

import json
import time

import pytest
import redis

from tests.integration.stack import Stack

TASK = "maintenance.reap_stuck_jobs"
LOCKED = "beat: Acquired lock"


@pytest.fixture
def beats(request, services, private_redis, tmp_path):
    interval = getattr(request, "param", "1")
    platform = Stack(tmp_path / "stack", services.mongodb_uri, private_redis.url,
                     MEETEASY_REAPER_INTERVAL=interval)
    try:
        yield platform
    finally:
        platform.stop()


def _sent(client: redis.Redis) -> list[dict]:
    """The task messages waiting in the default queue, oldest first."""
    return [json.loads(raw) for raw in reversed(client.lrange("default", 0, -1))]


def _wait(check, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)


def _holder(platform: Stack, names) -> str | None:
    holding = [name for name in names if LOCKED in platform.log_text(name)]
    assert len(holding) <= 1, f"both beats say they hold the lock: {holding}"
    return holding[0] if holding else None


def test_two_beats_fire_each_tick_once_and_the_standby_takes_over(beats, private_redis):
    client = redis.Redis.from_url(private_redis.url)
    names = ("beat-a", "beat-b")
    processes = {name: beats.start_beat(name) for name in names}
    holder = _wait(lambda: _holder(beats, names), "a beat acquires the lock", 30)
    standby = next(name for name in names if name != holder)
    _wait(lambda: client.llen("default") > 0, "the first reaper tick", 10)
    # Give the standby time to start and block on the lock before measuring.
    _wait(lambda: "beat: Starting" in beats.log_text(standby), "the standby starts", 30)

    start_count, started = client.llen("default"), time.monotonic()
    time.sleep(5)
    count, elapsed = client.llen("default") - start_count, time.monotonic() - started

    assert all(process.poll() is None for process in processes.values()), \
        {name: beats.log_text(name)[-2000:] for name in names}
    ticks = int(elapsed)  # MEETEASY_REAPER_INTERVAL=1
    assert count <= ticks + 1, f"{count} reaper messages in {elapsed:.1f}s: two beats fired"
    assert count >= ticks - 2, f"only {count} reaper messages in {elapsed:.1f}s"
    messages = _sent(client)
    assert {message["headers"]["task"] for message in messages} == {TASK}
    assert len({message["headers"]["id"] for message in messages}) == len(messages)
    assert "Sending due task" not in beats.log_text(standby)
    assert _holder(beats, names) == holder

    # Failover: the holder dies without releasing its lock; once the lock expires
    # (RedBeat: five beat loop intervals) the standby acquires it and ticks go on.
    beats.kill(holder)
    killed_at = client.llen("default")
    _wait(lambda: LOCKED in beats.log_text(standby), "the standby acquires the lock", 20)
    taken_over = client.llen("default")
    _wait(lambda: client.llen("default") >= taken_over + 2, "ticks after the takeover", 10)
    assert processes[standby].poll() is None
    assert "Sending due task" in beats.log_text(standby)
    after = _sent(client)[killed_at:]
    assert after and {message["headers"]["task"] for message in after} == {TASK}


@pytest.mark.parametrize("beats", ["0.1"], indirect=True)
def test_a_sub_second_interval_keeps_the_lock(beats, private_redis):
    """RedBeat renews its lock to int(lock timeout) seconds: a lock timeout under 1 s
    would renew to 0, delete the lock and stop beat at its next renewal."""
    client = redis.Redis.from_url(private_redis.url)
    process = beats.start_beat("beat")
    _wait(lambda: LOCKED in beats.log_text("beat"), "beat acquires the lock", 30)
    _wait(lambda: client.llen("default") >= 3, "the first ticks", 10)
    time.sleep(2)
    sent = client.llen("default")
    _wait(lambda: client.llen("default") >= sent + 3, "ticks go on", 5)
    assert process.poll() is None, beats.log_text("beat")[-2000:]
    assert "LockNotOwnedError" not in beats.log_text("beat")
