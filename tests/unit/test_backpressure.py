"""Backpressure's plain parts: where kombu keeps a queue, when a queue is full, how long
a queue reading is reused, and the limits read from the settings."""

from __future__ import annotations

import pytest
from kombu.transport.redis import Channel
from pydantic import ValidationError

from meeteasy.settings import Settings
from services.backpressure import DepthGauge, is_full, limit_of, queue_keys, retry_after


def test_a_queue_lives_in_its_own_list_and_one_list_per_other_priority_step():
    assert queue_keys("seating", {}) == ["seating", "seating\x06\x163", "seating\x06\x166",
                                         "seating\x06\x169"]
    assert Channel.sep == "\x06\x16"  # kombu's own separator, so the names above are its names


def test_queue_keys_follow_the_transport_options():
    assert queue_keys("default", {"priority_steps": [0, 5], "global_keyprefix": "app:"}) == [
        "app:default", "app:default\x06\x165"]


def test_a_queue_is_full_at_its_limit_and_never_without_one():
    assert not is_full(9, 10)
    assert is_full(10, 10)
    assert is_full(11, 10)
    assert not is_full(10**9, 0)


def test_limits_come_from_the_default_and_the_per_queue_overrides(tmp_path):
    settings = Settings(queue_limit=500, queue_limits="seating:20, plugins:0",
                        data_dir=tmp_path)
    assert limit_of("default", settings) == 500
    assert limit_of("seating", settings) == 20
    assert limit_of("plugins", settings) == 0


@pytest.mark.parametrize("text", ["seating", "seating:-1", ":5", "seating:many", "a:1,,b:2"])
def test_malformed_per_queue_limits_are_refused(text, tmp_path):
    with pytest.raises(ValidationError, match="queue:limit"):
        Settings(queue_limits=text, data_dir=tmp_path)


def test_retry_after_is_whole_seconds_and_never_zero():
    assert retry_after(0.01) == 1
    assert retry_after(1.0) == 1
    assert retry_after(1.2) == 2


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_gauge_reuses_a_reading_until_it_is_ttl_old():
    clock, readings = Clock(), iter([{"default": 1}, {"default": 7}])
    gauge = DepthGauge(lambda: next(readings), ttl=0.2, clock=clock)
    assert gauge.depths() == {"default": 1}
    clock.now += 0.19
    assert gauge.depths() == {"default": 1}
    clock.now += 0.01
    assert gauge.depths() == {"default": 7}


def test_a_failed_reading_is_not_kept():
    clock = Clock()
    answers = iter([ConnectionError("redis is down"), {"default": 3}])

    def read():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    gauge = DepthGauge(read, ttl=0.2, clock=clock)
    with pytest.raises(ConnectionError):
        gauge.depths()
    assert gauge.depths() == {"default": 3}
