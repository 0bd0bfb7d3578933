"""Registration tasks run twice do their work once, and survive the loss of their worker."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from meeteasy import embedded
from meeteasy.redisconn import get_redis
from models import activity, exports, registration_state, registrations
from models import plugins as plugin_activations
from services import decisions
from services.exports import registrations_csv
from services.plugins import deliver
from tests.integration.conftest import make_tenant
from tests.integration.hot_jobs import flushed
from tests.integration.stack import Stack, wait_for_job
from tests.integration.test_registrations import create_pending, make_conference


def snapshot(tenant, conference_id):
    flushed()
    return {str(r.id): (r.status, r.ticket_code, r.waitlist_seq, len(r.history))
            for r in registrations.Registration.objects(tenant_id=tenant.id,
                                                        conference_id=conference_id)}


def test_apply_policy_twice_decides_once(stack, tenant):
    conference_id = make_conference(tenant, capacity=3, waitlist=True, form=None)
    create_pending(tenant, conference_id, 5)
    first = decisions.apply_policy(tenant.id, conference_id)
    after_first = snapshot(tenant, conference_id)
    second = decisions.apply_policy(tenant.id, conference_id)
    assert sorted(r.status for r in first) == ["approved"] * 3 + ["waitlisted"] * 2
    assert second == []
    assert snapshot(tenant, conference_id) == after_first


def test_plugins_are_asked_before_the_conference_lock_is_taken(stack, tenant, monkeypatch):
    """No plugin code runs while the conference's places are held: each batch is asked
    about first, then decided under the lock with the answers, in arrival order."""
    conference_id = make_conference(tenant, mode="rules", plugin_rules=True,
                                    email_domains=["allowed.example"], rules_fallback="reject",
                                    form=None)
    ids = create_pending(tenant, conference_id, 5)
    allowed = registrations.Registration.objects(tenant_id=tenant.id, id=ids[2]).modify(
        new=True, set__email="ada@allowed.example")
    lock = f"meeteasy:lock:{tenant.id}:conference:{conference_id}:places"
    asked = []

    def ask(tenant_id, hook, *, registration, conference):
        asked.append((registration["id"], bool(get_redis().exists(lock))))
        assert hook == "registration.approval_rule" and conference["id"] == conference_id
        return ("vetting", "approve") if registration["seq"] % 2 else None

    monkeypatch.setattr(decisions.registry, "ask", ask)
    monkeypatch.setattr(decisions, "BATCH", 2)
    moved = decisions.apply_policy(tenant.id, conference_id)
    assert [rid for rid, _ in asked] == [rid for rid in ids if rid != str(allowed.id)]
    assert [held for _, held in asked] == [False] * 4
    assert [str(r.id) for r in moved] == ids
    assert [(r.status, r.decided_by) for r in moved] == [
        ("approved", "rules") if r.id == allowed.id else
        ("approved", "plugin:vetting") if r.seq % 2 else ("rejected", "rules") for r in moved]


def test_staff_decision_twice_decides_once(stack, tenant):
    conference_id = make_conference(tenant, mode="manual", form=None)
    ids = create_pending(tenant, conference_id, 4)
    staff = tenant.users["staff"].id
    first = decisions.staff_decide(tenant.id, conference_id, ids, "approve", staff)
    after_first = snapshot(tenant, conference_id)
    second = decisions.staff_decide(tenant.id, conference_id, ids, "approve", staff)
    assert first == {"approved": 4, "rejected": 0, "skipped": []}
    assert second["approved"] == 0
    assert [item["reason"] for item in second["skipped"]] == ["already approved"] * 4
    assert snapshot(tenant, conference_id) == after_first


def test_export_twice_keeps_one_file(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    create_pending(tenant, conference_id, 3)
    job_id = uuid.uuid4().hex
    for _ in range(2):
        content, rows = registrations_csv(tenant.id, conference_id, None)
        exports.store_export(tenant.id, job_id, tenant.users["staff"].id, "r.csv", content, rows)
    assert exports.ExportFile.objects(tenant_id=tenant.id, job_id=job_id).count() == 1
    assert exports.get_export(tenant.id, job_id).rows == 3


def test_plugin_delivery_twice_is_recorded_once(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    registration_id = create_pending(tenant, conference_id, 1)[0]
    plugin_activations.set_activation(tenant.id, "activity_log", enabled=True, config={},
                                      updated_by=tenant.users["tenant_admin"].id)
    view = registrations.full_view(registrations.get_registration(tenant.id, registration_id))
    arguments = {"registration": view, "event_id": uuid.uuid4().hex}
    event = {"hook": "registration.created", "arguments": arguments}
    outcomes = [deliver(tenant.id, [event]) for _ in range(2)]
    assert outcomes == [[{"activity_log": "ok"}]] * 2
    assert len(activity.for_registration(tenant.id, registration_id)) == 1


@pytest.fixture
def bulk_stack(services, tmp_path):
    """web and a worker on a Redis of their own, with a short visibility timeout so that
    a killed worker's bulk job comes back within the test."""
    broker = embedded.start_redis(tmp_path / "redis", tmp_path / "redis.log")
    platform = Stack(tmp_path / "stack", services.mongodb_uri, broker.url,
                     MEETEASY_LONG_TASK_TIME_LIMIT="60", MEETEASY_VISIBILITY_TIMEOUT="65")
    try:
        platform.start_web()
        platform.start_flusher()
        platform.start_worker("worker1")
        yield platform
    finally:
        platform.stop()
        broker.stop()


@pytest.mark.timeout(480)  # a hang guard: redelivery alone waits out the 65 s visibility timeout
def test_bulk_approval_survives_a_killed_worker(bulk_stack):
    """SIGKILL the worker during a bulk approval of 2,000: every registration ends
    decided exactly once and no ticket code is issued twice."""
    tenant = make_tenant(bulk_stack, roles=("tenant_admin", "staff"))
    conference_id = make_conference(tenant, mode="manual", form=None)
    create_pending(tenant, conference_id, 2000, session_redis=False)
    with bulk_stack.client(tenant.tokens["staff"]["access_token"]) as client:
        response = client.post(f"/conferences/{conference_id}/registrations/decisions",
                               json={"action": "approve", "status": "pending"})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/jobs/{job_id}").json()["progress"] == 0:
            assert time.monotonic() < deadline, "the bulk job never reported progress"
            time.sleep(0.05)
        bulk_stack.kill("worker1")
        decided_before_kill = int(redis.Redis.from_url(bulk_stack.env["MEETEASY_REDIS_URL"]).hget(
            registration_state.Keys.of(tenant.id, conference_id).counts, "approved") or 0)
        bulk_stack.start_worker("worker2")
        job = wait_for_job(client, job_id, timeout=300)

    assert 0 < decided_before_kill < 2000
    assert job["state"] == "succeeded" and job["attempts"] == 2
    flushed(redis_url=bulk_stack.env["MEETEASY_REDIS_URL"])
    regs = list(registrations.Registration.objects(tenant_id=tenant.id,
                                                   conference_id=conference_id))
    assert [r.status for r in regs] == ["approved"] * 2000
    assert all([h.to for h in r.history] == ["pending", "approved"] for r in regs)
    assert len({r.ticket_code for r in regs}) == 2000
    # The second attempt approved exactly what the first had not.
    assert job["result"]["approved"] + len(job["result"]["skipped"]) == 2000
    assert {s["reason"] for s in job["result"]["skipped"]} <= {"already approved"}
