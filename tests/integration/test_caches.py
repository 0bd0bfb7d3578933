"""The web and worker processes' caches (meeteasy/cache.py) on real parts: a change made
through one web process takes effect on the next request of another, and in the workers."""

from __future__ import annotations

import time
import uuid

import pytest

from models import activity, users
from tests.integration.conftest import PASSWORD, make_tenant
from tests.integration.stack import Stack, wait_for_job
from tests.integration.test_registrations import FORM, make_conference, register, token


@pytest.fixture(scope="module")
def second(services):
    """A second web process on the same Redis and MongoDB as the shared stack's."""
    platform = Stack(services.workdir / f"second-{uuid.uuid4().hex[:6]}", services.mongodb_uri,
                     services.redis_url)
    try:
        platform.start_web()
        yield platform
    finally:
        platform.stop()


def attendee_token(stack, tenant) -> str:
    email = f"a-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    users.create_user(tenant.id, email, PASSWORD, ["attendee"])
    return stack.login(tenant.slug, email, PASSWORD)["access_token"]


def test_a_conference_closed_through_one_web_process_refuses_registrations_in_another(
        stack, second, tenant):
    conference_id = make_conference(tenant)
    with second.client(attendee_token(stack, tenant)) as attendee:
        assert register(attendee, conference_id).status_code == 202  # B now holds a copy
    with stack.client(token(tenant, "staff")) as staff:
        for status in ("ongoing", "ended"):
            moved = staff.post(f"/conferences/{conference_id}/status", json={"status": status})
            assert moved.status_code == 200, moved.text
    with second.client(attendee_token(stack, tenant)) as attendee:
        refused = register(attendee, conference_id)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "registration_closed"
        assert attendee.get(f"/conferences/{conference_id}").json()["status"] == "ended"


def test_a_new_form_saved_through_one_web_process_checks_the_next_answers_in_another(
        stack, second, tenant):
    conference_id = make_conference(tenant)
    new_form = {"type": "form", "body": [
        {"type": "input-text", "name": "badge", "label": "Badge name", "required": True}]}
    old_answers = {"person": {"name": "Ada"}, "diet": "vegan"}
    with second.client(attendee_token(stack, tenant)) as attendee:
        assert register(attendee, conference_id, answers=old_answers).status_code == 202
    with stack.client(token(tenant, "staff")) as staff:
        saved = staff.post("/forms/", json={"conference_id": conference_id, "schema": new_form})
        assert saved.status_code == 201, saved.text
    with second.client(attendee_token(stack, tenant)) as attendee:
        refused = register(attendee, conference_id, answers=old_answers)
        assert refused.status_code == 422, refused.text
        assert "answers.badge" in refused.json()["error"]["details"]["fields"]
        accepted = register(attendee, conference_id, answers={"badge": "Ada"})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["registration"]["form_version"] == 2


def test_a_first_form_saved_through_one_web_process_is_the_one_another_checks_against(
        stack, second, tenant):
    conference_id = make_conference(tenant, form=None)
    answers = {"person": {"name": "Ada"}}
    with second.client(attendee_token(stack, tenant)) as attendee:
        none = attendee.post("/forms/check", params={"conference_id": conference_id},
                             json={"answers": answers})
        assert none.status_code == 404 and none.json()["error"]["code"] == "form_not_found"
        with stack.client(token(tenant, "staff")) as staff:
            assert staff.post("/forms/", json={"conference_id": conference_id,
                                               "schema": FORM}).status_code == 201
        checked = attendee.post("/forms/check", params={"conference_id": conference_id},
                                json={"answers": answers})
        assert checked.status_code == 200, checked.text
        assert checked.json()["valid"] is True


def test_a_plugin_enabled_through_one_web_process_hears_registrations_of_another_and_the_workers(
        stack, second):
    tenant = make_tenant(stack)
    conference_id = make_conference(tenant, form=None)
    with second.client(attendee_token(stack, tenant)) as attendee:
        before = register(attendee, conference_id, answers={})  # B and the worker: no plugin
        assert wait_for_job(attendee, before.json()["job_id"])["state"] == "succeeded"
    with stack.client(token(tenant, "tenant_admin")) as admin:
        enabled = admin.put("/plugins/activity_log", json={"enabled": True, "config": {}})
        assert enabled.status_code == 200, enabled.text
    with second.client(attendee_token(stack, tenant)) as attendee:
        after = register(attendee, conference_id, answers={}).json()
        assert wait_for_job(attendee, after["job_id"])["state"] == "succeeded"
    registration_id = after["registration"]["id"]
    deadline = time.monotonic() + 30
    heard: set[str] = set()
    while time.monotonic() < deadline and heard != {"registration.created",
                                                    "registration.approved"}:
        heard = {entry.hook for entry in activity.for_registration(tenant.id, registration_id)}
        time.sleep(0.2)
    # registration.created is announced by web B, registration.approved by the worker
    assert heard == {"registration.created", "registration.approved"}


def test_a_capacity_raised_through_one_web_process_is_what_the_approval_pass_uses(
        stack, second, tenant):
    conference_id = make_conference(tenant, capacity=1, waitlist=False, form=None)
    statuses = []
    for capacity in (1, 2):
        if capacity == 2:
            with stack.client(token(tenant, "staff")) as staff:
                raised = staff.patch(f"/conferences/{conference_id}", json={"capacity": 2})
                assert raised.status_code == 200, raised.text
        with second.client(attendee_token(stack, tenant)) as attendee:
            accepted = register(attendee, conference_id, answers={}).json()
            job = wait_for_job(attendee, accepted["job_id"])
            statuses.append(job["result"]["registration"]["status"])
    assert statuses == ["approved", "approved"]
