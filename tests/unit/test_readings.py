"""A server reading reused for a while (meeteasy/readings.py): the queue depths of
backpressure and the server versions of the ping use it."""

from __future__ import annotations

import pytest

from meeteasy.readings import Reading


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_reading_is_reused_until_it_is_ttl_old():
    clock, answers = Clock(), iter([{"default": 1}, {"default": 7}])
    reading = Reading(lambda: next(answers), ttl=0.2, clock=clock)
    assert reading.get() == {"default": 1}
    clock.now += 0.19
    assert reading.get() == {"default": 1}
    clock.now += 0.01
    assert reading.get() == {"default": 7}


def test_a_failed_read_is_not_kept():
    answers = iter([ConnectionError("redis is down"), {"default": 3}])

    def read():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    reading = Reading(read, ttl=0.2, clock=Clock())
    with pytest.raises(ConnectionError):
        reading.get()
    assert reading.get() == {"default": 3}
