"""Arrival numbers come from a Redis counter seeded from MongoDB: losing it never gives
one number to two registrations."""

from __future__ import annotations

import redis

from models import conferences
from tests.integration.test_caches import attendee_token
from tests.integration.test_registrations import make_conference, register


def test_a_lost_counter_is_seeded_from_the_highest_stored_number(stack, services, tenant):
    conference_id = make_conference(tenant, form=None)
    key = conferences.registration_seq_key(tenant.id, conference_id)
    broker = redis.Redis.from_url(services.redis_url)
    seqs = []
    for lost in (False, True):
        if lost:
            broker.delete(key)  # as after Redis lost its data
        with stack.client(attendee_token(stack, tenant)) as attendee:
            accepted = register(attendee, conference_id, answers={})
            assert accepted.status_code == 202, accepted.text
            seqs.append(accepted.json()["registration"]["seq"])
    assert seqs == [1, 2]


def test_a_number_taken_meanwhile_is_passed_over(stack, services, tenant):
    """Redis lost the counter while registrations holding numbers were being written:
    the counter restarts lower than a stored number, and the unique index refuses it."""
    conference_id = make_conference(tenant, form=None)
    with stack.client(attendee_token(stack, tenant)) as attendee:
        assert register(attendee, conference_id, answers={}).json()["registration"]["seq"] == 1
    with stack.client(attendee_token(stack, tenant)) as attendee:
        assert register(attendee, conference_id, answers={}).json()["registration"]["seq"] == 2
    redis.Redis.from_url(services.redis_url).set(
        conferences.registration_seq_key(tenant.id, conference_id), 1)
    with stack.client(attendee_token(stack, tenant)) as attendee:
        accepted = register(attendee, conference_id, answers={})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["registration"]["seq"] == 3
