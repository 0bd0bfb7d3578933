"""Backpressure's plain parts: where kombu keeps a queue, when a queue is full, and the
limits read from the settings."""

from __future__ import annotations

import pytest
from kombu.transport.redis import Channel
from pydantic import ValidationError

from meeteasy.settings import Settings
from services.backpressure import is_full, limit_of, queue_keys, retry_after


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
