"""Approval jobs that join a queued task (models/job_state.Join): while an approval task
is queued for a conference, a new registration's job queues no message of its own; the
task's pass decides every registration waiting and ends the jobs that joined it."""

from __future__ import annotations

from meeteasy.redisconn import get_redis
from models import jobs as job_records
from models import registration_state
from services import decisions
from tests.integration.stack import wait_for_job
from tests.integration.test_caches import attendee_token
from tests.integration.test_registration_state import register_people
from tests.integration.test_registrations import make_conference, register


def _register_while_due(stack, tenant, conference_id, count) -> list[dict]:
    """Register ``count`` attendees while a task is due for the conference (its flag is
    set, as by a registration whose task is still queued): their jobs join it."""
    get_redis().set(registration_state.Keys.of(tenant.id, conference_id).pass_due, 1)
    return register_people(stack, tenant, conference_id, count, decided=False)


def _jobs(tenant, accepted) -> list:
    return [job_records.get_job(tenant.id, a["job_id"]) for a in accepted]


def test_jobs_that_joined_end_with_the_pass_that_decided_them(stack, tenant):
    conference_id = make_conference(tenant, form=None, capacity=2, waitlist=True)
    keys = registration_state.Keys.of(tenant.id, conference_id)
    accepted = _register_while_due(stack, tenant, conference_id, 3)
    # No message of their own: nothing ran them, they wait, recorded under their task.
    assert [job.state for job in _jobs(tenant, accepted)] == ["queued"] * 3
    joined = {k.decode(): v.decode() for k, v in get_redis().hgetall(keys.joined_jobs).items()}
    assert joined == {a["registration"]["id"]: a["job_id"] for a in accepted}

    # The due task's pass, as its worker runs it (the message itself is the test's).
    first = decisions.run_policy(tenant.id, conference_id)
    assert first == {"decided": 3}
    jobs = _jobs(tenant, accepted)
    assert [job.state for job in jobs] == ["succeeded"] * 3
    assert [job.result["registration"]["status"] for job in jobs] == \
        ["approved", "approved", "waitlisted"]
    assert [job.result["registration"]["id"] for job in jobs] == \
        [a["registration"]["id"] for a in accepted]
    assert not get_redis().exists(keys.pass_due, keys.joined_jobs)

    # Run twice (a redelivered message): nothing is decided or ended again.
    assert decisions.run_policy(tenant.id, conference_id) == {"decided": 0}
    assert [(job.state, job.change_seq) for job in _jobs(tenant, accepted)] == \
        [(job.state, job.change_seq) for job in jobs]

    # With no task due, the next registration queues its own, which a worker runs.
    with stack.client(attendee_token(stack, tenant)) as attendee:
        response = register(attendee, conference_id, answers={})
        ended = wait_for_job(attendee, response.json()["job_id"])
    assert ended["state"] == "succeeded" and ended["attempts"] == 1
    assert ended["result"]["registration"]["status"] == "waitlisted"


def test_the_sweep_ends_joined_jobs_whose_task_was_lost(stack, tenant):
    """The due task's message is gone (its flag outlives it): beat's sweep decides the
    registrations, ends their jobs, and lets the next registration queue a task again."""
    conference_id = make_conference(tenant, form=None, mode="manual")
    accepted = _register_while_due(stack, tenant, conference_id, 2)
    for _ in range(2):  # run twice: the second finds nothing to do
        decisions.sweep_queued()
        jobs = _jobs(tenant, accepted)
        assert [job.state for job in jobs] == ["succeeded"] * 2
        # Left for staff (manual policy): the policy saw them, they stay pending.
        assert [(job.result["registration"]["status"], job.attempts) for job in jobs] == \
            [("pending", 0)] * 2
    assert not get_redis().exists(registration_state.Keys.of(tenant.id, conference_id).pass_due)


def test_a_cancelled_joined_job_stays_cancelled(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    accepted = _register_while_due(stack, tenant, conference_id, 2)
    cancelled = job_records.request_cancel(tenant.id, accepted[0]["job_id"])
    assert cancelled.state == "cancelled"
    decisions.run_policy(tenant.id, conference_id)
    assert [job.state for job in _jobs(tenant, accepted)] == ["cancelled", "succeeded"]
