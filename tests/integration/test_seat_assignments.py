"""The seat store on the tests' database: blocks written by ``insert_many``, changed one
person at a time, read back by person, by seat and by page; and the lock every write
needs (see models/seat_assignments.py)."""

from __future__ import annotations

import uuid

import pytest

from meeteasy.errors import Conflict, TransientError
from meeteasy.redisconn import get_redis
from models import seat_assignments as seats
from models.seat_assignments import SeatBlock


def _conference() -> tuple[str, str]:
    return f"t-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:24]


def _person() -> str:
    return uuid.uuid4().hex[:24]


def _where(tenant: str, conference: str) -> dict[str, str]:
    found = seats.all_of(tenant, conference)
    assert len({a.seat_id for a in found}) == len({a.registration_id for a in found}) == len(found)
    return {a.registration_id: a.seat_id for a in found}


def test_blocks_read_back_by_person_by_seat_and_by_page(services):
    tenant, conference = _conference()
    # Row names that sort around the "/" ending a row key: "-" and "." before it, "0" after.
    layout = [f"Hall/{row}/{n}" for row in ("A", "A-1", "A.b", "A0", "B") for n in range(1, 31)]
    people = [_person() for _ in layout]
    with seats.seating_lock(tenant, conference) as seating:
        stored, refused = seats.insert_many(seating, [(p, s, None) for p, s in zip(people, layout)],
                                            "auto:test")
    assert refused == [] and len(stored) == len(layout)
    assert SeatBlock.objects(tenant_id=tenant, conference_id=conference).count() == 3  # 64+64+22
    where = dict(zip(people, layout))
    assert _where(tenant, conference) == where
    for person, seat in list(where.items())[::7]:
        assert seats.seat_of(tenant, conference, person).seat_id == seat
        assert seats.occupant_of(tenant, conference, seat).registration_id == person
    assert seats.seat_of(tenant, conference, _person()) is None
    assert seats.occupant_of(tenant, conference, "Hall/A/31") is None
    ordered = sorted(layout)
    for after in [None, *ordered[::9], "Hall/A", "Hall/A-", "Hall/A-1/", "Hall", "A", "Z"]:
        expected = [seat for seat in ordered if after is None or seat > after][:10]
        page = seats.list_page(tenant, conference, after=after, limit=10)
        assert [a.seat_id for a in page] == expected, after


@pytest.mark.parametrize("read_first", [False, True], ids=["by query", "by occupancy"])
def test_one_person_changes_and_everyone_else_keeps_their_seat(services, read_first):
    tenant, conference = _conference()
    layout = [f"Hall/R{row}/{n}" for row in range(1, 4) for n in range(1, 41)]
    people = [_person() for _ in range(100)]
    where = dict(zip(people, layout))
    with seats.seating_lock(tenant, conference) as seating:
        seats.insert_many(seating, [(p, s, "u-" + p) for p, s in where.items()], "auto:1")
        # Checked against the occupancy read under the lock: a taken seat, a seated
        # person and a second seat for one person are refused.
        newcomer = _person()
        stored, refused = seats.insert_many(seating, [
            (people[0], layout[110], None), (_person(), layout[5], None),
            (newcomer, layout[111], None), (newcomer, layout[112], None)], "auto:2")
        assert [a.registration_id for a in stored] == [newcomer] and len(refused) == 3
        where[newcomer] = layout[111]

    with seats.seating_lock(tenant, conference) as seating:
        if read_first:
            assert len(seats.current(seating)) == len(where)
        before, after = seats.place(seating, people[3], layout[100], user_id="u-x", by="staff")
        assert (before.seat_id, before.by, after.seat_id, after.by) == (
            layout[3], "auto:1", layout[100], "staff")
        where[people[3]] = layout[100]
        with pytest.raises(Conflict):
            seats.place(seating, _person(), layout[50], user_id=None, by="staff")
        with pytest.raises(Conflict):
            seats.place(seating, people[4], layout[101], user_id=None, by="staff", hold_minutes=5)
        held = _person()
        _, hold = seats.place(seating, held, layout[102], user_id=None, by="staff", hold_minutes=5)
        where[held] = layout[102]
        for first, second in ((people[10], people[70]), (people[20], people[21]),
                              (people[22], held)):
            new_first, new_second = seats.swap(seating, first, second, "staff")
            assert (new_first.seat_id, new_second.seat_id) == (where[second], where[first])
            where[first], where[second] = where[second], where[first]
        assert seats.seat_of(tenant, conference, held).expires_at == hold.expires_at
        assert seats.release(seating, people[30]).seat_id == where.pop(people[30])
        assert seats.release(seating, people[30]) is None
        assert seats.release_many(seating, [people[40], people[41], people[99], _person()]) == 3
        for gone in (people[40], people[41], people[99]):
            del where[gone]
        with pytest.raises(Conflict):
            seats.swap(seating, people[30], people[31], "staff")
    assert _where(tenant, conference) == where
    assert seats.seat_of(tenant, conference, people[50]).user_id == "u-" + people[50]


def test_a_write_needs_the_seating_lock_held(services):
    tenant, conference = _conference()
    with seats.seating_lock(tenant, conference) as seating:
        pass
    with pytest.raises(RuntimeError):  # its block is over
        seats.place(seating, _person(), "Hall/A/1", user_id=None, by="staff")

    with seats.seating_lock(tenant, conference) as seating:
        # The lock lapses (as it does MEETEASY_SEATING_LOCK_TIMEOUT seconds after its last
        # renewal) and another writer takes it: the first may no longer write.
        get_redis().delete(f"meeteasy:lock:tenant:{tenant}:conference:{conference}:seating")
        with seats.seating_lock(tenant, conference, wait=1) as other:
            with pytest.raises(TransientError) as lost:
                seats.place(seating, _person(), "Hall/A/1", user_id=None, by="staff")
            seats.place(other, _person(), "Hall/A/2", user_id=None, by="staff")
    assert lost.value.code == "seating_lock_lost"
    assert [a.seat_id for a in seats.all_of(tenant, conference)] == ["Hall/A/2"]
