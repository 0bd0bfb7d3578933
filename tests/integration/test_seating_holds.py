"""Beat's release of expired seat holds on real parts: ``seating.release_expired_holds``
run by a real worker (and as the plain function), watched on real Socket.IO clients."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

from models import seat_assignments
from models.base import utcnow
from models.seat_assignments import SeatBlock
from services.seating.places import release_expired_holds
from tasks.app import app as celery_app
from tests.integration.seating_job_helpers import approve, grid_map, put_map, stored, token
from tests.integration.stack import Stack, receive_events
from tests.integration.test_registrations import make_conference


# --- holds ----------------------------------------------------------------------------------


def _celery_result(platform: Stack, task_id: str, timeout: float = 20) -> str:
    """The worker's log line for a finished plain task (results are not kept elsewhere)."""
    pattern = re.compile(rf"seating\.release_expired_holds\[{task_id}\] succeeded in [\d.]+s: (.*)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(platform.log_text("worker"))
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"release_expired_holds[{task_id}] did not finish within {timeout}s")


def _sweep(platform: Stack) -> str:
    task_id = uuid.uuid4().hex
    celery_app.send_task("seating.release_expired_holds", task_id=task_id, queue="seating")
    return _celery_result(platform, task_id)


def test_release_expired_holds_frees_only_expired_ones_and_twice_changes_nothing(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    expiring, renewed, confirmed, fresh = approve(
        tenant, conference_id, [{"user_id": tenant.users["attendee"].id}, {}, {}, {}])
    staff_sock = stack.socket(token(tenant, "tenant_admin"))
    attendee_sock = stack.socket(token(tenant, "attendee"))
    try:
        with stack.client(token(tenant, "staff")) as client:
            put_map(client, conference_id, grid_map(1, 10))
            for n, rid in enumerate((expiring, renewed, confirmed, fresh), start=1):
                response = client.post(f"/conferences/{conference_id}/seating/holds", json={
                    "registration_id": rid, "seat_id": f"Stalls/R1/{n}", "minutes": 30})
                assert response.status_code == 201, response.text
            # Three holds run out (set-up: their time is moved into the past)...
            SeatBlock.objects(tenant_id=tenant.id, conference_id=conference_id,
                              registrations__in=[expiring, renewed, confirmed]).update(
                set__expires_at=utcnow() - timedelta(minutes=1))
            seen_expired = {h.registration_id: h
                            for h in seat_assignments.expired_holds(utcnow(), limit=10_000)
                            if h.tenant_id == tenant.id}
            assert set(seen_expired) == {expiring, renewed, confirmed}
            # ...then, before any sweep, staff renew one and confirm another.
            renewal = client.post(f"/conferences/{conference_id}/seating/holds", json={
                "registration_id": renewed, "seat_id": "Stalls/R1/2", "minutes": 30})
            assert renewal.status_code == 201, renewal.text
            assert client.put(f"/conferences/{conference_id}/seating/assignments/{confirmed}",
                              json={"seat_id": "Stalls/R1/3"}).status_code == 200
        # A sweep that listed them before the renewal cannot release them now.
        with seat_assignments.seating_lock(tenant.id, conference_id) as seating:
            assert seat_assignments.release_expired(seating, seen_expired[renewed]) is None
            assert seat_assignments.release_expired(seating, seen_expired[confirmed]) is None

        first = _sweep(stack)
        events = receive_events(staff_sock, lambda seen: any(
            name == "seat.updated" and data["seat"] is None for name, data in seen))
        mine = receive_events(attendee_sock, lambda seen: any(
            name == "seat.updated" and data["seat"] is None for name, data in seen))
        after_first = stored(tenant, conference_id)

        second = _sweep(stack)
        later = receive_events(staff_sock, lambda seen: False, timeout=1)
        release_expired_holds()  # and a third time, the plain function in this process
    finally:
        staff_sock.disconnect()
        attendee_sock.disconnect()

    assert int(re.search(r"'released': (\d+)", first).group(1)) >= 1
    assert set(after_first) == {renewed, confirmed, fresh}
    assert after_first[renewed][:2] == ("Stalls/R1/2", "held")
    assert after_first[confirmed][:2] == ("Stalls/R1/3", "assigned")
    assert after_first[fresh][:2] == ("Stalls/R1/4", "held")
    # (The set-up's own pushes, holds given and confirmed, carry a seat.)
    released = [data for name, data in events if name == "seat.updated" and data["seat"] is None]
    assert [e["registration_id"] for e in released] == [expiring]
    assert [(name, data["registration_id"]) for name, data in mine
            if name == "seat.updated" and data["seat"] is None] == [("seat.updated", expiring)]
    # Run again (twice): nothing more is released or pushed.
    assert re.search(r"'released': (\d+)", second)
    assert stored(tenant, conference_id) == after_first
    assert [data for name, data in later if name == "seat.updated" and data["seat"] is None] == []
