"""The seating tasks on real parts: ``seating.auto_assign`` jobs run by real workers
(started through the API, watched on a real Socket.IO client), concurrent staff moves,
and a worker SIGKILLed while it stores seats. (Beat's release of expired holds is in
test_seating_holds.py.)

Approved registrations are test set-up (written through the model layer); the seats
are always given by the job. Assertions read the stored seats through the model layer
(double bookings straight from the collection).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from models import registrations, seat_assignments
from services.seating.assignment.layout import ROW
from tests.integration.conftest import make_tenant
from tests.integration.seating_job_helpers import (approve, approve_in_bulk, auto_assign, doubles,
                                                   grid_map, in_one_row, job_events, layout,
                                                   party, put_map, run_auto_assign,
                                                   seats_on_map, stored, token)
from tests.integration.stack import Stack, receive_events, wait_for_job
from tests.integration.test_registrations import make_conference


# --- 1. one auto-assign job ---------------------------------------------------------------


def test_auto_assign_job_seats_parties_together_vips_first_and_wishes_hold(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    accessible = {(0, 0), (0, 11), (2, 0), (2, 11)}
    with stack.client(token(tenant, "staff")) as client:
        put_map(client, conference_id, grid_map(
            8, 12, categories=("standard", "press"),
            category=lambda _, r, s: "press" if r == 7 and s >= 6 else "standard",
            attributes=lambda _, r, s: ("accessible",) if (r, s) in accessible else ()))
    # Standard registrations come first; the VIPs registered last and still sit in front.
    people = (party("smith", 4) + party("jones", 2) + [{"party": "jones", "needs_accessible": True}]
              + party("lee", 2) + party("kim", 2) + party("novak", 3)
              + [{} for _ in range(10)] + [{"needs_accessible": True}]
              + [{"user_id": tenant.users["attendee"].id}]
              + party("press", 2, seat_category="press") + [{"seat_category": "press"}]
              + party("vip-a", 2, priority="vip") + party("vip-b", 3, priority="vip")
              + [{"priority": "vip"} for _ in range(4)])
    ids = approve(tenant, conference_id, people)
    person = dict(zip(ids, people))
    mine = ids[people.index({"user_id": tenant.users["attendee"].id})]

    staff_sock = stack.socket(token(tenant, "staff"))
    attendee_sock = stack.socket(token(tenant, "attendee"))
    try:
        with stack.client(token(tenant, "staff")) as client:
            job_id = auto_assign(client, conference_id)
            job = wait_for_job(client, job_id)
        events = receive_events(staff_sock, lambda seen: any(
            data["state"] == "succeeded" for data in job_events(seen, job_id)))
        pushed = receive_events(attendee_sock, lambda seen: any(
            name == "seat.updated" for name, _ in seen))
    finally:
        staff_sock.disconnect()
        attendee_sock.disconnect()

    assert job["state"] == "succeeded", job
    result = job["result"]
    where = {rid: seat for rid, (seat, *_) in stored(tenant, conference_id).items()}
    assert result["seated"] == len(ids) == len(where)
    assert result["unseated"] == [] and result["unseated_count"] == 0
    assert result["already_seated"] == 0 and result["released"] == 0
    assert result["splits"] == [] and result["stacked"] == []

    # Parties sit side by side in one row, as stored.
    members = defaultdict(list)
    for rid, wishes in person.items():
        if wishes.get("party"):
            members[wishes["party"]].append(where[rid])
    assert all(in_one_row(group) for group in members.values()), members
    quality = result["quality"]
    assert quality["parties"] == quality["in_one_row"] == len(members) == 8
    assert quality["together_share"] == 1.0 and quality["split"] == 0

    # VIPs sit better than standard registrations, and the reported ranks are the stored ones.
    hall = layout(tenant, conference_id)
    ranks = defaultdict(list)
    for rid, seat in where.items():
        ranks[person[rid].get("priority", "standard")].append(hall.rank(seat))
    means = {band: sum(values) / len(values) for band, values in ranks.items()}
    assert set(quality["mean_rank_by_band"]) == {"vip", "standard"}
    for band, mean in means.items():
        assert quality["mean_rank_by_band"][band] == pytest.approx(mean, abs=1e-3)
    assert means["vip"] < means["standard"]
    assert max(ranks["vip"]) < sorted(ranks["standard"])[len(ranks["standard"]) // 2]

    # Accessibility and category wishes hold on the stored seats.
    on_map = seats_on_map(tenant, conference_id)
    for rid, wishes in person.items():
        seat = on_map[where[rid]]
        if wishes.get("needs_accessible"):
            assert "accessible" in seat.attributes, (wishes, where[rid])
        if wishes.get("seat_category"):
            assert seat.category == wishes["seat_category"], (wishes, where[rid])

    # Progress arrived as job.updated, rising, with messages; the attendee heard of their seat.
    progress = job_events(events, job_id)
    percents = [data["progress"] for data in progress]
    assert percents == sorted(percents), percents
    assert any(0 < p < 100 for p in percents) and percents[-1] == 100
    assert progress[-1]["state"] == "succeeded"
    assert all(data["message"] for data in progress
               if data["state"] == "running" and data["progress"])
    seat_events = [data for name, data in pushed if name == "seat.updated"]
    assert [(e["registration_id"], e["seat"]["seat_id"]) for e in seat_events] == [
        (mine, where[mine])]
    assert seat_events[0]["conference_id"] == conference_id


def test_auto_assign_reports_who_stays_unseated_and_why(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    with stack.client(token(tenant, "staff")) as client:
        put_map(client, conference_id, grid_map(1, 10, categories=("standard", "vip")))
        standard = approve(tenant, conference_id, [{} for _ in range(12)])
        vip = approve(tenant, conference_id, [{"priority": "vip"}])
        sponsor, vip_category, needs = approve(tenant, conference_id, [
            {"seat_category": "sponsor"}, {"seat_category": "vip"}, {"needs_accessible": True}])
        result = run_auto_assign(client, conference_id)

    where = stored(tenant, conference_id)
    # Ten seats: the VIP (registered late) and the nine earliest standard registrations.
    assert set(where) == set(vip + standard[:9])
    assert result["seated"] == 10
    assert result["unseated_count"] == 6
    assert result["unseated_by_reason"] == {"map_full": 3, "no_such_category": 2,
                                            "no_accessible_seat": 1}
    reasons = {u["registration_id"]: u["reason"] for u in result["unseated"]}
    assert reasons == {standard[9]: "map_full", standard[10]: "map_full", standard[11]: "map_full",
                       sponsor: "no_such_category", vip_category: "no_such_category",
                       needs: "no_accessible_seat"}
    assert set(result["quality"]["mean_rank_by_band"]) == {"vip", "standard"}


# --- 2. run it twice ----------------------------------------------------------------------


def test_auto_assign_twice_moves_no_one_and_a_rerun_seats_only_newcomers(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    with stack.client(token(tenant, "staff")) as client:
        put_map(client, conference_id, grid_map(6, 10))
        first_ids = approve(tenant, conference_id, party("a", 3) + party("b", 2) + party("c", 4)
                            + [{} for _ in range(11)] + party("d", 2, priority="vip"))
        first = run_auto_assign(client, conference_id)
        after_first = stored(tenant, conference_id)

        second = run_auto_assign(client, conference_id)
        assert stored(tenant, conference_id) == after_first
        assert (second["seated"], second["released"], second["unseated_count"]) == (0, 0, 0)
        assert second["already_seated"] == len(first_ids) == first["seated"] == len(after_first)

        newcomers = approve(tenant, conference_id, party("a", 2) + [{} for _ in range(3)]
                            + party("e", 2))
        third = run_auto_assign(client, conference_id)
        after_third = stored(tenant, conference_id)
        fourth = run_auto_assign(client, conference_id)

    assert {rid: after_third[rid] for rid in after_first} == after_first
    assert set(after_third) == set(first_ids) | set(newcomers)
    assert third["seated"] == len(newcomers) and third["already_seated"] == len(first_ids)
    assert {after_third[rid][2] for rid in newcomers} == {f"auto:{third['job_id']}"}
    # Party "a" got two more members: beside the three seated ones, or reported.
    party_a = [after_third[rid][0] for rid in first_ids[:3] + newcomers[:2]]
    reported = {p["party"] for p in third["splits"] + third["stacked"]}
    assert in_one_row(party_a) or "a" in reported, party_a
    assert stored(tenant, conference_id) == after_third
    assert (fourth["seated"], fourth["released"]) == (0, 0)


# --- 3. jobs and staff at the same time -----------------------------------------------------


def test_two_jobs_and_200_manual_moves_at_once_never_double_book(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    rng = random.Random(7)
    people = []
    while len(people) < 250:
        size = rng.choice([1, 1, 2, 2, 3, 4])
        people += party(f"p{len(people)}", size) if size > 1 else [{}]
    people = people[:250]
    with stack.client(token(tenant, "staff")) as client:
        put_map(client, conference_id, grid_map(15, 20))
    ids = approve(tenant, conference_id, people)
    all_seats = list(seats_on_map(tenant, conference_id))
    local, opened = threading.local(), []

    def client():
        if not hasattr(local, "client"):
            local.client = stack.client(token(tenant, "staff"))
            opened.append(local.client)
        return local.client

    def manual(n: int):
        pick = random.Random(n)
        taken = {a.seat_id for a in seat_assignments.all_of(tenant.id, conference_id)}
        seat = pick.choice([s for s in all_seats if s not in taken])
        registration = pick.choice(ids)
        response = client().put(f"/conferences/{conference_id}/seating/assignments/{registration}",
                                json={"seat_id": seat})
        return registration, seat, response.status_code, response.json()

    with ThreadPoolExecutor(10) as pool:
        jobs = [pool.submit(lambda: auto_assign(client(), conference_id))]
        moves = [pool.submit(manual, n) for n in range(100)]
        jobs.append(pool.submit(lambda: auto_assign(client(), conference_id)))
        moves += [pool.submit(manual, n) for n in range(100, 200)]
        job_ids = [job.result() for job in jobs]
        outcomes = [move.result() for move in moves]
    for opened_client in opened:
        opened_client.close()
    with stack.client(token(tenant, "staff")) as staff:
        results = [wait_for_job(staff, job_id, timeout=60) for job_id in job_ids]

    statuses = Counter(status for _, _, status, _ in outcomes)
    codes = Counter(body["error"]["code"] for _, _, status, body in outcomes if status != 200)
    print(f"manual moves: {dict(statuses)}, refusals: {dict(codes)}")
    assert set(statuses) <= {200, 409, 503} and sum(statuses.values()) == 200
    assert set(codes) <= {"seat_taken", "seating_busy"}
    assert statuses[200] > 0
    for registration, seat, status, body in outcomes:
        if status == 200:
            assert (body["seat"]["seat_id"], body["seat"]["registration_id"]) == (
                seat, registration)

    assert doubles(tenant, conference_id) == ([], [])
    where = stored(tenant, conference_id)
    assert set(where) <= set(ids)
    assert len({seat for seat, *_ in where.values()}) == len(where)
    assert {seat for seat, *_ in where.values()} <= set(all_seats)
    # The map has room: everyone ends seated exactly once.
    assert len(where) == len(ids)
    assert all(job["state"] == "succeeded" for job in results), results
    for job in results:
        result = job["result"]
        assert result["seated"] + result["already_seated"] + result["unseated_count"] == len(ids)
        assert result["unseated_count"] == 0 and result["released"] == 0
        # Staff may have moved some of the job's people since (then `by` is theirs).
        by_job = sum(1 for *_, by, _ in where.values() if by == f"auto:{job['id']}")
        assert by_job <= result["seated"]
    new_by_hand = sum(1 for _, _, status, body in outcomes
                      if status == 200 and body["previous"] is None)
    assert sum(job["result"]["seated"] for job in results) + new_by_hand == len(where)


# --- 4. a worker killed while it stores seats -----------------------------------------------


@pytest.fixture
def seating_stack(services, private_redis, tmp_path):
    """web and a worker on a Redis of this test's own. A killed worker's message comes back
    after the visibility timeout; the job's lease (its time limit) is over by then, and so
    is the dead holder's seating lock (8 s here). The time limit leaves room for a whole
    6,000-seat run (about 6 s alone; a clean-clone run on a machine busy with other
    test runs saw the redelivered run pass its soft limit at 16 s)."""
    platform = Stack(tmp_path / "stack", services.mongodb_uri, private_redis.url,
                     MEETEASY_LONG_TASK_TIME_LIMIT="30", MEETEASY_VISIBILITY_TIMEOUT="33",
                     MEETEASY_SEATING_LOCK_TIMEOUT="8")
    try:
        with ThreadPoolExecutor(3) as pool:
            for started in [pool.submit(platform.start_web), pool.submit(platform.start_flusher),
                            pool.submit(platform.start_worker, "worker1")]:
                started.result()
        yield platform
    finally:
        platform.stop()


def big_crowd(rng: random.Random, count: int) -> list[dict]:
    """Parties of 1-4, a few VIP-category parties, a few people needing access; party
    members registered at different times (shuffled), as they do."""
    people = []
    while len(people) < count:
        size = rng.choice([1, 1, 1, 2, 2, 2, 3, 4])
        wishes = {}
        roll = rng.random()
        if roll < 0.02:
            wishes = {"seat_category": "vip", "priority": "vip"}
        elif roll < 0.04:
            wishes = {"priority": "vip"}
        group = party(f"g{len(people)}", size, **wishes) if size > 1 else [dict(wishes)]
        if rng.random() < 0.002:
            group[0] = {**group[0], "needs_accessible": True}
        people += group
    people = people[:count]
    rng.shuffle(people)
    return people


def half_seated_parties(tenant, conference_id: str, person: dict) -> set[str]:
    """Parties with some members seated and some not, once the store has settled: the
    last batch a dead worker sent may still be being written (up to a second for a batch
    of 1,000 on a busy machine), so the count must hold still for 3 s."""
    count, unchanged, deadline = -1, 0, time.monotonic() + 60
    while time.monotonic() < deadline and unchanged < 6:
        time.sleep(0.5)
        seated = {a.registration_id for a in seat_assignments.all_of(tenant.id, conference_id)}
        unchanged = unchanged + 1 if len(seated) == count else 0
        count = len(seated)
    states = defaultdict(set)
    for rid, wishes in person.items():
        if wishes.get("party"):
            states[wishes["party"]].add(rid in seated)
    return {name for name, seen in states.items() if seen == {True, False}}


def test_sigkill_while_storing_then_the_retry_seats_everyone_exactly_once(seating_stack):
    platform = seating_stack
    tenant = make_tenant(platform, roles=("tenant_admin", "staff"))
    conference_id = make_conference(tenant, form=None)
    # 6,400 seats: two blocks of 50 per row with an aisle between them, 64 rows in two
    # sections; the first 5 rows of the left section are VIP, row ends every 5th row accessible.
    data = grid_map(32, 100, sections=("Left", "Right"), aisle_after=50,
                    category=lambda name, r, s: "vip" if name == "Left" and r < 5 else "standard",
                    attributes=lambda _, r, s: ("accessible",) if r % 5 == 0 and s in (0, 99)
                    else ())
    people = big_crowd(random.Random(11), 6_000)
    started = time.monotonic()
    ids = approve_in_bulk(tenant, conference_id, people)
    created = time.monotonic() - started
    person = dict(zip(ids, people))

    with platform.client(token(tenant, "staff")) as client:
        put_map(client, conference_id, data)
        started = time.monotonic()
        job_id = auto_assign(client, conference_id)
        deadline = time.monotonic() + 60
        while True:
            job = client.get(f"/jobs/{job_id}").json()
            count = len(seat_assignments.all_of(tenant.id, conference_id))
            if job["progress"] >= 55 and count > 0:
                break
            assert job["state"] == "running" or job["state"] == "queued", job
            assert time.monotonic() < deadline, f"no storing within 60 s: {job}"
            time.sleep(0.05)
        platform.kill("worker1")
        killed_at = time.monotonic()
        half_seated = half_seated_parties(tenant, conference_id, person)
        stored_at_kill = len(seat_assignments.all_of(tenant.id, conference_id))
        platform.start_worker("worker2")
        job = wait_for_job(client, job_id, timeout=120)
        recovered = time.monotonic() - killed_at
    print(f"\n6,000 approved registrations inserted in {created:.1f}s; job killed after "
          f"{killed_at - started:.1f}s with {stored_at_kill} seats stored; recovered in "
          f"{recovered:.1f}s; {job['attempts']} attempts; result: "
          f"{ {k: v for k, v in (job['result'] or {}).items() if not isinstance(v, list)} }")

    assert 0 < stored_at_kill < len(ids), "the kill must land while seats are being stored"
    # The dead run stored whole parties only (their members register at different times).
    assert half_seated == set()
    assert job["state"] == "succeeded" and job["attempts"] >= 2, job
    result = job["result"]
    assert result["already_seated"] == stored_at_kill
    assert result["seated"] + result["already_seated"] == len(ids)
    assert result["unseated_count"] == 0

    assert doubles(tenant, conference_id) == ([], [])
    assignments = seat_assignments.all_of(tenant.id, conference_id)
    where = {a.registration_id: a.seat_id for a in assignments}
    assert len(assignments) == len(where) == len(ids) and set(where) == set(ids)
    on_map = seats_on_map(tenant, conference_id)
    assert set(where.values()) <= set(on_map)
    for rid, wishes in person.items():
        seat = on_map[where[rid]]
        if wishes.get("seat_category"):
            assert seat.category == wishes["seat_category"]
        if wishes.get("needs_accessible"):
            assert "accessible" in seat.attributes
    # Every party sits in one row, or the result reports it (stacked or split).
    hall = layout(tenant, conference_id)
    members = defaultdict(list)
    for rid, wishes in person.items():
        if wishes.get("party"):
            members[wishes["party"]].append(where[rid])
    reported = {p["party"] for p in result["splits"] + result["stacked"]}
    apart = {name for name, group in members.items() if hall.formation(group) != ROW}
    print(f"parties: {len(members)}, not in one row: {len(apart)}, reported: {len(reported)}")
    assert apart <= reported, sorted(apart - reported)[:10]


# --- 5. withdrawn registrations --------------------------------------------------------------


def test_auto_assign_releases_the_seats_of_withdrawn_registrations(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    staff = tenant.users["staff"].id
    with stack.client(token(tenant, "staff")) as client:
        put_map(client, conference_id, grid_map(3, 10))
        ids = approve(tenant, conference_id, party("a", 3) + [{} for _ in range(9)])
        run_auto_assign(client, conference_id)
        before = stored(tenant, conference_id)
        pending = registrations.create_registration(
            tenant.id, conference_id, registered_by=staff, user_id=None, name="Pending",
            answers={}, form_version=None,
            email=f"pending-{uuid.uuid4().hex[:6]}@example.com", invite_code=None)
        free = next(sid for sid in seats_on_map(tenant, conference_id)
                    if sid not in {seat for seat, *_ in before.values()})
        assert client.post(f"/conferences/{conference_id}/seating/holds", json={
            "registration_id": str(pending.id), "seat_id": free, "minutes": 30}).status_code == 201
        gone = [ids[0], ids[5], ids[7], ids[11]]
        for rid in gone:
            registrations.withdraw(tenant.id, rid, staff)
        sock = stack.socket(token(tenant, "staff"))
        try:
            result = run_auto_assign(client, conference_id)
            events = receive_events(sock, lambda seen: any(
                data["state"] == "succeeded" for data in job_events(seen, result["job_id"])))
        finally:
            sock.disconnect()
        after = stored(tenant, conference_id)
        again = run_auto_assign(client, conference_id)

    assert result["released"] == len(gone)
    assert result["seated"] == 0 and result["already_seated"] == len(ids) - len(gone)
    kept = {rid: before[rid] for rid in ids if rid not in gone}
    assert {rid: after[rid] for rid in kept} == kept
    assert set(after) == set(kept) | {str(pending.id)}  # the pending person's hold stays
    assert after[str(pending.id)][:2] == (free, "held")
    assert (again["released"], again["seated"]) == (0, 0)
    assert stored(tenant, conference_id) == after
    # The job said how many it had to seat: none (the hold of someone not approved is no one's).
    messages = [data["message"] for data in job_events(events, result["job_id"])]
    assert "Seating 0 people on a map of 30 seats." in messages, messages
