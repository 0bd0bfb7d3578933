"""Automatic seat assignment: staff start it (:func:`start_auto_assign`), a job on the
``seating`` queue runs it (:func:`auto_assign`, which ``tasks/seating.py`` wraps).

Under the conference's seating lock :func:`auto_assign` reads the map, the approved
registrations and the occupied seats, lets :func:`services.seating.assignment.assign.assign`
seat whoever has no seat yet (everyone else keeps theirs), and stores the new seats in
batches, renewing the lock between them; each batch is checked against the occupancy read
under the lock (a seat taken meanwhile would be reported, never shared). A batch is one
write holding whole parties: a run killed half-way leaves some parties seated and the
others not; the next run keeps the stored seats and seats the rest.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator

from models import registrations, seat_assignments, seatmaps
from models.jobs import Job
from services import events
from services.access import Caller, conference_for
from services.jobs import start_job
from services.seating.assignment.assign import STANDARD, VIP, Options, Request, assign
from services.seating.assignment.maps import layout_of

log = logging.getLogger(__name__)
STORE_BATCH = 1000
REPORT_LIMIT = 1000  # unseated people and split parties listed in a job's result
BANDS = {VIP: "vip", STANDARD: "standard"}


def start_auto_assign(caller: Caller, conference_id: str, idempotency_key: str | None = None
                      ) -> Job:
    """Start the job that seats everyone approved without a seat; 404 before any job when
    the conference has no seat map, 409 when it is archived."""
    conference = conference_for(caller, conference_id, change=True)
    seatmaps.get_map(caller.tenant_id, str(conference.id))  # 404 before a job is made
    return start_job(caller.tenant_id, caller.user_id, "seating.auto_assign",
                     {"conference_id": str(conference.id)}, idempotency_key=idempotency_key)


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
    with seat_assignments.seating_lock(tenant_id, conference_id) as seating:
        spec = seatmaps.load_spec(tenant_id, conference_id)
        layout = layout_of(spec)
        approved = registrations.approved_for_seating(tenant_id, conference_id)
        by_id = {str(r.id): r for r in approved}
        occupied = seat_assignments.current(seating)
        # Seats of people no longer approved (withdrawn, rejected) go back to the pool;
        # holds stay until they expire (a seat may be held for someone not yet approved).
        # So do seats no longer on the map.
        stale = [a.registration_id for a in occupied
                 if (a.kind == "assigned" and a.registration_id not in by_id)
                 or a.seat_id not in layout]
        released = seat_assignments.release_many(seating, stale)
        stale_set = set(stale)
        taken = {a.seat_id: a.registration_id for a in occupied if a.registration_id not in stale_set}
        requests = [request_of(r) for r in approved]
        # (Not len(requests) - len(taken): holds of people not yet approved are in taken.)
        seated_before = set(taken.values())
        newcomers = sum(1 for r in requests if r.registration not in seated_before)
        report(1, f"Seating {newcomers} people on a map of {len(layout)} seats.")

        def computed(done: int, units: int) -> None:
            seating.reacquire()
            report(1 + 49 * done // max(units, 1), f"Placed {done} of {units} groups.")

        result = assign(layout, requests, taken, Options(progress=computed))
        seating.reacquire()
        refused = store(seating, result.assignments, by_id, by, report)
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


def store(seating: seat_assignments.Seating, assignments: dict[str, str], by_id: dict, by: str,
          report: Callable[[int, str], None]) -> list[str]:
    """Write the new seats (registration → seat) a batch at a time, each party's new
    members in one batch, so that a run killed between batches leaves no party half
    seated; returns the registrations refused because their seat or they were taken.
    ``by_id`` maps each registration to something with its ``party`` and ``user_id``."""
    tenant_id, conference_id = seating.tenant_id, seating.conference_id
    refused: list[str] = []
    done = 0
    for batch in _batches(assignments, by_id):
        stored, lost = seat_assignments.insert_many(seating, batch, by)
        refused += lost
        for assignment in stored:
            if assignment.user_id:
                events.seat_updated(tenant_id, conference_id, assignment.registration_id,
                                    assignment.user_id, assignment, staff=False)
        done += len(batch)
        report(50 + 50 * done // max(len(assignments), 1),
               f"Stored {done} of {len(assignments)} seats.")
    if refused:
        # The lock kept everyone else out since the occupancy was read: only an
        # assignment that contradicts it (a bug) is refused.
        log.warning("auto-assign of %s/%s: %d seats refused as taken",
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
