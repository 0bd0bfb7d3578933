"""The start-up check of Redis persistence (meeteasy/durability.py) on CONFIG answers."""

from __future__ import annotations

import redis

from meeteasy.durability import persistence_problems, read_config

DURABLE = {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}


def test_a_durable_configuration_has_no_problem():
    assert persistence_problems(DURABLE) == []
    assert persistence_problems({**DURABLE, "appendfsync": "always"}) == []


def test_each_way_of_losing_queued_jobs_is_named():
    problems = persistence_problems({"appendonly": "no", "appendfsync": "no",
                                     "maxmemory-policy": "allkeys-lru"})
    assert len(problems) == 3
    assert "appendonly no" in problems[0]
    assert "appendfsync" in problems[1]
    assert "allkeys-lru" in problems[2]


class ConfigForbidden:
    def config_get(self, name):
        raise redis.exceptions.ResponseError("unknown command 'CONFIG'")


class Config:
    def config_get(self, name):
        return {name: DURABLE[name]}


def test_a_redis_that_forbids_config_is_not_judged():
    assert read_config(ConfigForbidden()) is None


def test_the_three_settings_are_read():
    assert read_config(Config()) == DURABLE
