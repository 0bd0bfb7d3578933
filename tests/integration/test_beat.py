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
TICKS = 5


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


def _senders(messages: list[dict], processes: dict) -> set[str]:
    """The names of the beats that sent ``messages`` (origin: ``gen<pid>@<host>``)."""
    by_origin = {f"gen{process.pid}": name for name, process in processes.items()}
    return {by_origin.get(message["headers"]["origin"].partition("@")[0],
                          message["headers"]["origin"]) for message in messages}


def _holder(platform: Stack, names) -> str | None:
    holding = [name for name in names if LOCKED in platform.log_text(name)]
    assert len(holding) <= 1, f"both beats say they hold the lock: {holding}"
    return holding[0] if holding else None


# Every wait below has its own generous deadline; the hang guard sits above their sum.
@pytest.mark.timeout(480)
def test_two_beats_fire_each_tick_once_and_the_standby_takes_over(beats, private_redis):
    client = redis.Redis.from_url(private_redis.url)
    names = ("beat-a", "beat-b")
    processes = {name: beats.start_beat(name) for name in names}
    holder = _wait(lambda: _holder(beats, names), "a beat acquires the lock", 60)
    standby = next(name for name in names if name != holder)
    _wait(lambda: client.llen("default") > 0, "the first reaper tick", 60)
    # Let the standby start and block on the lock before counting.
    _wait(lambda: "beat: Starting" in beats.log_text(standby), "the standby starts", 60)

    # However long they take: TICKS more ticks while both beats run, each sent once, and
    # all by the lock holder (a message's origin names the process that sent it).
    start_count = client.llen("default")
    _wait(lambda: client.llen("default") >= start_count + TICKS,
          f"{TICKS} reaper ticks with both beats running", 120)

    assert all(process.poll() is None for process in processes.values()), \
        {name: beats.log_text(name)[-2000:] for name in names}
    messages = _sent(client)
    assert {message["headers"]["task"] for message in messages} == {TASK}
    assert len({message["headers"]["id"] for message in messages}) == len(messages)
    senders = _senders(messages, processes)
    assert senders == {holder}, f"reaper messages sent by {senders}: two beats fired"
    assert "Sending due task" not in beats.log_text(standby)
    assert _holder(beats, names) == holder

    # Failover: the holder dies without releasing its lock; once the lock expires
    # (RedBeat: five beat loop intervals) the standby acquires it and ticks go on.
    beats.kill(holder)
    killed_at = client.llen("default")
    _wait(lambda: LOCKED in beats.log_text(standby), "the standby acquires the lock", 60)
    taken_over = client.llen("default")
    _wait(lambda: client.llen("default") >= taken_over + 2, "ticks after the takeover", 60)
    assert processes[standby].poll() is None
    assert "Sending due task" in beats.log_text(standby)
    after = _sent(client)[killed_at:]
    assert after and {message["headers"]["task"] for message in after} == {TASK}
    assert _senders(after, processes) == {standby}


@pytest.mark.parametrize("beats", ["0.1"], indirect=True)
def test_a_sub_second_interval_keeps_the_lock(beats, private_redis):
    """RedBeat renews its lock to int(lock timeout) seconds: a lock timeout under 1 s
    would renew to 0, delete the lock and stop beat at its next renewal."""
    client = redis.Redis.from_url(private_redis.url)
    process = beats.start_beat("beat")
    _wait(lambda: LOCKED in beats.log_text("beat"), "beat acquires the lock", 60)
    _wait(lambda: client.llen("default") >= 3, "the first ticks", 60)
    # Each beat loop renews the lock before it sends: twenty more ticks mean twenty more
    # renewals survived, however long the machine takes for them.
    sent = client.llen("default")
    _wait(lambda: client.llen("default") >= sent + 20, "ticks go on across lock renewals", 120)
    assert process.poll() is None, beats.log_text("beat")[-2000:]
    assert "LockNotOwnedError" not in beats.log_text("beat")
