"""Registrations' hot state in Redis (models/registration_state.py): the flusher stores
each registration once, and after a Redis loss `meeteasy registrations rebuild` puts
every conference's counters, waitlist and policy queue back from MongoDB."""

from __future__ import annotations

from click.testing import CliRunner

from cli import main
from meeteasy.redisconn import get_redis
from models import registration_state
from models import registrations as registration_store
from services import decisions
from tests.integration.hot_jobs import flushed
from tests.integration.stack import wait_for_job
from tests.integration.test_caches import attendee_token
from tests.integration.test_registrations import make_conference, register, token


def register_people(stack, tenant, conference_id, count, *, decided=True) -> list[dict]:
    """``count`` new attendees register; with ``decided``, each job is awaited."""
    accepted = []
    for _ in range(count):
        with stack.client(attendee_token(stack, tenant)) as attendee:
            response = register(attendee, conference_id, answers={})
            assert response.status_code == 202, response.text
            accepted.append(response.json())
            if decided:
                assert wait_for_job(attendee, response.json()["job_id"])["state"] == "succeeded"
    return accepted


def _state(tenant_id, conference_id) -> dict:
    keys = registration_state.Keys.of(tenant_id, conference_id)
    client = get_redis()
    return {"counts": registration_state.counts(tenant_id, conference_id),
            "people": client.hgetall(keys.people),
            "pending": client.zrange(keys.pending, 0, -1, withscores=True),
            "waitlist": client.zrange(keys.waitlist, 0, -1, withscores=True),
            "arrivals": client.get(keys.arrivals),
            "waitlist_numbers": client.get(keys.waitlist_numbers)}


def _lose_redis_state(tenant_id, conference_ids, registration_ids) -> None:
    """As after Redis lost its data: the conferences' keys and the hot registrations go."""
    client = get_redis()
    for conference_id in conference_ids:
        client.delete(*vars(registration_state.Keys.of(tenant_id, conference_id)).values())
    client.delete(*(registration_state.doc_key(tenant_id, rid) for rid in registration_ids))


def test_every_registration_is_stored_once_with_its_decision(stack, tenant):
    conference_id = make_conference(tenant, form=None, capacity=2, waitlist=True)
    accepted = register_people(stack, tenant, conference_id, 3)
    flushed()
    stored = registration_store.Registration._get_collection().find(
        {"tenant_id": tenant.id, "conference_id": conference_id})
    by_id = {str(doc["_id"]): doc for doc in stored}
    assert sorted(by_id) == sorted(a["registration"]["id"] for a in accepted)
    assert sorted(doc["status"] for doc in by_id.values()) == ["approved", "approved",
                                                                "waitlisted"]
    assert [doc["seq"] for doc in sorted(by_id.values(), key=lambda d: d["seq"])] == [1, 2, 3]
    # What MongoDB holds is each registration's latest change, as Redis holds it.
    for registration_id, doc in by_id.items():
        hot, version = registration_state.read(tenant.id, [registration_id])[registration_id]
        assert doc["change_seq"] == version == hot["change_seq"]
        assert (doc["status"], doc["ticket_code"]) == (hot["status"], hot.get("ticket_code"))


def test_rebuild_after_a_redis_loss_restores_counters_queues_and_order(stack, tenant):
    full = make_conference(tenant, form=None, capacity=2, waitlist=True)
    queued = make_conference(tenant, form=None, mode="manual")
    accepted = register_people(stack, tenant, full, 4)
    # Registrations recorded without their approval job: still in the policy's queue.
    unseen = [registration_store.create_registration(
        tenant.id, queued, registered_by=tenant.users["staff"].id, user_id=None,
        email=f"q{n}@example.com", name="", answers={}, form_version=None, invite_code=None)
        for n in range(2)]
    flushed()
    before = {cid: _state(tenant.id, cid) for cid in (full, queued)}
    assert before[full]["counts"] == {"approved": 2, "waitlisted": 2}
    assert [score for _, score in before[queued]["pending"]] == [1.0, 2.0]
    _lose_redis_state(tenant.id, (full, queued),
                      [a["registration"]["id"] for a in accepted] + [str(r.id) for r in unseen])

    runner = CliRunner()
    for _ in range(2):  # running it twice is harmless
        outcome = runner.invoke(main, ["registrations", "rebuild", "--tenant", tenant.slug],
                                catch_exceptions=False)
        assert outcome.exit_code == 0, outcome.output
        assert {cid: _state(tenant.id, cid) for cid in (full, queued)} == before

    with stack.client(token(tenant, "staff")) as staff:
        waiting = [staff.get(f"/registrations/{a['registration']['id']}").json()
                   for a in accepted[2:]]
        assert [w["waitlist_position"] for w in waiting] == [1, 2]
        # The next arrival is numbered after the stored ones; a person registers once.
        again = register(staff, full, email="late@example.com", answers={})
        assert again.json()["registration"]["seq"] == 5
        assert register(staff, full, email="late@example.com", answers={}).status_code == 409
        # A freed place goes to the first on the waitlist.
        first = accepted[0]["registration"]["id"]
        withdrawn = staff.post(f"/registrations/{first}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        assert wait_for_job(staff, withdrawn.json()["promotion_job_id"])["state"] == "succeeded"
        promoted = staff.get(f"/registrations/{accepted[2]['registration']['id']}").json()
        assert promoted["status"] == "approved"


def test_the_sweep_decides_what_waits_without_a_job_and_only_once(stack, tenant):
    """Registrations recorded whose approval job never came (Redis went away between
    the two): beat's sweep runs their conference's pass; run twice, it decides nothing
    more, and a conference with an empty queue leaves the sweep's set."""
    conference_id = make_conference(tenant, form=None, capacity=1, waitlist=True)
    created = [registration_store.create_registration(
        tenant.id, conference_id, registered_by=tenant.users["staff"].id, user_id=None,
        email=f"s{n}@example.com", name="", answers={}, form_version=None, invite_code=None)
        for n in range(3)]
    member = f"{tenant.id}:{conference_id}".encode()
    assert member in get_redis().smembers(registration_state.QUEUED)

    first = decisions.sweep_queued()
    after_first = {str(r.id): registration_store.get_registration(tenant.id, str(r.id)).to_mongo()
                   for r in created}
    assert first["decided"] >= 3
    assert [after_first[str(r.id)]["status"] for r in created] == ["approved", "waitlisted",
                                                                   "waitlisted"]
    decisions.sweep_queued()
    assert {str(r.id): registration_store.get_registration(tenant.id, str(r.id)).to_mongo()
            for r in created} == after_first
    assert member not in get_redis().smembers(registration_state.QUEUED)


def test_the_flusher_s_writer_run_twice_or_late_moves_nothing_back(stack, tenant, caplog):
    """A batch written again (the flusher died before its commit) or an older change
    arriving late leaves each stored registration at its latest change."""
    conference_id = make_conference(tenant, form=None)
    created = registration_store.create_registration(
        tenant.id, conference_id, registered_by=tenant.users["staff"].id, user_id=None,
        email="w@example.com", name="", answers={}, form_version=None, invite_code=None)
    first = registration_state.read(tenant.id, [str(created.id)])[str(created.id)][0]
    registration_store.decide(tenant.id, created.id, to="approved", by="staff")
    latest = registration_state.read(tenant.id, [str(created.id)])[str(created.id)][0]
    flushed()
    collection = registration_store.Registration._get_collection()

    def stored():
        return collection.find_one({"_id": created.id})

    assert (stored()["status"], stored()["change_seq"]) == ("approved", latest["change_seq"])
    batch = [(first["change_seq"], first), (latest["change_seq"], latest)]
    for records in (batch, batch, batch[:1]):
        registration_store.flush(records)
        assert (stored()["status"], stored()["change_seq"]) == ("approved",
                                                                latest["change_seq"])
    assert collection.count_documents({"tenant_id": tenant.id, "email": "w@example.com"}) == 1
    # A replayed creation meets the stored registration on a unique index (SecantusDB
    # may name its email's rather than _id's): recognised as stored, not reported lost.
    assert not [r for r in caplog.records if "not stored" in r.getMessage()]


def test_a_queue_entry_whose_registration_moved_on_is_dropped(stack, tenant):
    """A conference built from an older copy (the policy's queue names registrations that
    were decided since): the pass drops those entries rather than stop at them for ever,
    even a whole batch of them; run twice, it finds nothing."""
    conference_id = make_conference(tenant, form=None, mode="manual")
    staff = tenant.users["staff"].id
    created = [registration_store.create_registration(
        tenant.id, conference_id, registered_by=staff, user_id=None, email=f"m{n}@example.com",
        name="", answers={}, form_version=None, invite_code=None)
        for n in range(decisions.BATCH + 1)]
    moved = registration_store.decide_many(
        tenant.id, [registration_store.Decision(r.id, "approved") for r in created], by=staff)
    assert len(moved) == len(created)
    keys = registration_state.Keys.of(tenant.id, conference_id)
    get_redis().zadd(keys.pending, {str(r.id): r.seq for r in created})
    for _ in range(2):
        assert decisions.apply_policy(tenant.id, conference_id) == []
        assert get_redis().zcard(keys.pending) == 0
    assert {registration_store.get_registration(tenant.id, str(r.id)).status
            for r in created} == {"approved"}
