"""The seating tasks: automatic assignment (queue ``seating``) and the release of expired holds.

:func:`auto_assign` is the plain function the task wraps. Under the conference's
seating lock it reads the map, the approved registrations and the occupied seats,
lets :func:`services.seating.assignment.assign.assign` seat whoever has no seat yet (everyone
else keeps theirs), and stores the new seats in batches, renewing the lock between
them. The unique indexes on seats are the last word: a seat somebody took anyway
is reported, never shared. A run killed half-way leaves some new seats stored and
the rest not; the next run keeps the stored ones and seats the rest, next to their
party where it can.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator

from models import registrations as registration_store
from models import seat_assignments as seats
from models import seatmaps
from models.base import utcnow
from tasks.app import app, long_running
from tasks.base import JobContext, JobTask, ensure_process_ready
from services import events
from services.seating.assignment.assign import STANDARD, VIP, Options, Request, assign
from services.seating.assignment.maps import layout_of

log = logging.getLogger(__name__)
STORE_BATCH = 1000
HOLD_BATCH = 500  # expired holds read at a time; a sweep goes on until none is left
REPORT_LIMIT = 1000  # unseated people and split parties listed in a job's result
BANDS = {VIP: "vip", STANDARD: "standard"}


def request_of(registration) -> Request:
    return Request(registration=str(registration.id), order=registration.seq,
                   band=VIP if registration.priority == "vip" else STANDARD,
                   party=registration.party or None, category=registration.seat_category or None,
                   accessible=bool(registration.needs_accessible))


def auto_assign(tenant_id: str, conference_id: str, *, by: str = "auto",
                progress: Callable[[int, str], None] | None = None) -> dict:
    """Seat every approved registration of the conference that has no seat yet; see the
    module docstring. Returns the job's result (counts, who stayed unseated and why,
    split and stacked parties, quality)."""
    report = progress or (lambda percent, message: None)
    with seats.seating_lock(tenant_id, conference_id) as lock:
        spec = seatmaps.load_spec(tenant_id, conference_id)
        layout = layout_of(spec)
        approved = registration_store.approved_for_seating(tenant_id, conference_id)
        by_id = {str(r.id): r for r in approved}
        occupied = seats.all_of(tenant_id, conference_id)
        # Seats of people no longer approved (withdrawn, rejected) go back to the pool;
        # holds stay until they expire (a seat may be held for someone not yet approved).
        # So do seats not on the map: a swap whose writer died between its steps left
        # someone on a parking id (models/seat_assignments.py, swap).
        stale = [a.registration_id for a in occupied
                 if (a.kind == "assigned" and a.registration_id not in by_id)
                 or a.seat_id not in layout]
        released = seats.release_many(tenant_id, conference_id, stale)
        stale_set = set(stale)
        taken = {a.seat_id: a.registration_id for a in occupied if a.registration_id not in stale_set}
        requests = [request_of(r) for r in approved]
        # (Not len(requests) - len(taken): holds of people not yet approved are in taken.)
        seated_before = set(taken.values())
        newcomers = sum(1 for r in requests if r.registration not in seated_before)
        report(1, f"Seating {newcomers} people on a map of {len(layout)} seats.")

        def computed(done: int, units: int) -> None:
            lock.reacquire()
            report(1 + 49 * done // max(units, 1), f"Placed {done} of {units} groups.")

        result = assign(layout, requests, taken, Options(progress=computed))
        lock.reacquire()
        refused = _store(tenant_id, conference_id, result.assignments, by_id, by, lock, report)
    quality = result.quality
    unseated = [{"registration_id": u.registration, "reason": str(u.reason)} for u in result.unseated]
    unseated += [{"registration_id": rid, "reason": "seat_taken"} for rid in refused]
    return {
        "seated": len(result.assignments) - len(refused),
        "already_seated": len(requests) - newcomers,
        "released": released,
        "unseated_count": len(unseated),
        "unseated_by_reason": dict(Counter(u["reason"] for u in unseated)),
        "unseated": unseated[:REPORT_LIMIT],
        "splits": [_party_json(p) for p in result.splits[:REPORT_LIMIT]],
        "stacked": [_party_json(p) for p in result.stacked[:REPORT_LIMIT]],
        "quality": {"parties": quality.parties, "in_one_row": quality.in_one_row,
                    "stacked": quality.stacked, "split": quality.split,
                    "incomplete": quality.incomplete,
                    "together_share": round(quality.together_share, 4),
                    "mean_rank_by_band": {BANDS.get(band, str(band)): round(rank, 3)
                                          for band, rank in quality.mean_rank_by_band.items()}},
    }


def _store(tenant_id: str, conference_id: str, assignments: dict[str, str], by_id: dict, by: str,
           lock, report: Callable[[int, str], None]) -> list[str]:
    """Write the new seats a batch at a time, each party's new members in one batch, so
    that a run killed between batches leaves no party half seated; returns the
    registrations a unique index refused."""
    refused: list[str] = []
    done = 0
    for batch in _batches(assignments, by_id):
        stored, lost = seats.insert_many(tenant_id, conference_id, batch, by)
        refused += lost
        lock.reacquire()
        for assignment in stored:
            if assignment.user_id:
                events.seat_updated(tenant_id, conference_id, assignment.registration_id,
                              assignment.user_id, assignment, staff=False)
        done += len(batch)
        report(50 + 50 * done // max(len(assignments), 1),
               f"Stored {done} of {len(assignments)} seats.")
    if refused:
        log.warning("auto-assign of %s/%s: %d seats were taken by a writer without the lock",
                    tenant_id, conference_id, len(refused))
    return refused


def _batches(assignments: dict[str, str], by_id: dict
             ) -> Iterator[list[tuple[str, str, str | None]]]:
    """(registration, seat, user) in batches of about STORE_BATCH, parties whole, in the
    order of their first member. (The assignment lists people in registration order, and
    members of a party register at different times: cut there, a killed run left some
    thousand parties half seated, and the next run had to split some of them.)"""
    groups: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}
    for rid, seat in assignments.items():
        party = by_id[rid].party
        groups.setdefault(("party", party) if party else ("alone", rid), []).append(
            (rid, seat, by_id[rid].user_id))
    batch: list[tuple[str, str, str | None]] = []
    for group in groups.values():
        if batch and len(batch) + len(group) > STORE_BATCH:
            yield batch
            batch = []
        batch.extend(group)
    if batch:
        yield batch


def _party_json(party) -> dict:
    return {"party": party.party, "formation": party.formation,
            "reason": str(party.reason) if party.reason else None,
            "groups": [{"section": g.section, "row": g.row, "seats": list(g.seats)}
                       for g in party.groups]}


def release_expired_holds() -> dict:
    """Free every hold past its time (conditional on the hold being unchanged, so a hold
    confirmed or renewed meanwhile stays); tell each person."""
    released = []
    now = utcnow()
    while True:
        expired = seats.expired_holds(now, limit=HOLD_BATCH)
        before = len(released)
        for hold in expired:
            gone = seats.release_expired(hold)
            if gone is not None:
                released.append(gone.seat_id)
                events.seat_updated(gone.tenant_id, gone.conference_id, gone.registration_id,
                              gone.user_id, None)
        if len(expired) < HOLD_BATCH or len(released) == before:
            break  # all done (or only holds renewed meanwhile are left: never spin)
    if released:
        log.info("released %d expired seat holds", len(released))
    return {"released": len(released)}


# --- tasks: thin wrappers -------------------------------------------------------------


@app.task(base=JobTask, name="seating.auto_assign", **long_running())
def auto_assign_task(job: JobContext, conference_id: str) -> dict:
    return auto_assign(job.tenant_id, conference_id, by=f"auto:{job.job.id}",
                       progress=lambda percent, message: job.progress(percent, message))


@app.task(name="seating.release_expired_holds", acks_late=True, reject_on_worker_lost=True)
def release_expired_holds_task() -> dict:
    ensure_process_ready()
    return release_expired_holds()
