"""The seat map of a conference: saving it (its JSON form or a venue's CSV), staff's view
of it with who sits where, and its CSV export.

A map is replaced under the conference's seating lock and checked against the occupied
seats, so no seat is given while a new map takes it away (409 ``seats_occupied``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models import audit, seat_assignments, seatmap_files, seatmaps
from models.base import iso
from models.seatmaps import DEFAULT_CATEGORIES  # noqa: F401  (the API documents them)
from services.access import Caller, conference_for


def save_map_json(caller: Caller, conference_id: str, data: Any, version: int | None) -> dict:
    """Create or replace the map from its JSON form (422 naming every problem by its path);
    with ``version``, only if the map is still at that version. Returns its summary."""
    return _save(caller, conference_id, lambda current: seatmap_files.parse_map(data), version)


def save_map_csv(caller: Caller, conference_id: str, text: str, categories: list[str] | None,
                 version: int | None) -> dict:
    """Create or replace the map from a venue's CSV (422 naming every bad line). The
    categories it may use are ``categories``, else the current map's, else the default
    ones; a CSV has no place for the map-wide settings, so the current map's are kept."""
    def parse(current):
        chosen = categories or (list(current.categories) if current else None)
        if current is None:
            return seatmap_files.parse_csv(text, chosen)
        return seatmap_files.parse_csv(text, chosen,
                                       open_categories=list(current.open_categories),
                                       stage_x=current.stage_x)

    return _save(caller, conference_id, parse, version)


def _save(caller: Caller, conference_id: str,
          parse: Callable[[seatmaps.SeatMap | None], seatmaps.MapSpec], version: int | None
          ) -> dict:
    conference = conference_for(caller, conference_id, change=True)
    cid = str(conference.id)
    spec = parse(seatmaps.find_map(caller.tenant_id, cid))  # metadata only (its categories)
    with seat_assignments.seating_lock(caller.tenant_id, cid) as seating:
        occupied = {a.seat_id: a.registration_id for a in seat_assignments.current(seating)}
        saved = seatmaps.save_map(caller.tenant_id, cid, spec, caller.user_id, occupied,
                                  expected_version=version)
    audit.record(caller.tenant_id, caller.user_id, "seat_map.saved", "seat_map", cid,
                 conference_id=cid, changes={"version": saved.version, "seats": saved.seat_count})
    return seatmaps.summary(saved)


def staff_map(caller: Caller, conference_id: str) -> dict:
    """The map's summary, its occupancy counts and its layout with each seat's occupant."""
    conference = conference_for(caller, conference_id)
    document = seatmaps.get_map(caller.tenant_id, str(conference.id))
    spec = seatmaps.load_spec(caller.tenant_id, str(conference.id))
    counts, occupants = _occupancy(spec, seat_assignments.all_of(caller.tenant_id,
                                                                 str(conference.id)))
    return {"map": seatmaps.summary(document), "occupancy": counts,
            "layout": seatmap_files.export_json(spec, occupants)}


def map_csv(caller: Caller, conference_id: str) -> str:
    """The map as the CSV that :func:`save_map_csv` reads."""
    conference = conference_for(caller, conference_id)
    return seatmap_files.export_csv(seatmaps.load_spec(caller.tenant_id, str(conference.id)))


def _occupancy(spec: seatmaps.MapSpec, occupied: list) -> tuple[dict, dict]:
    by_seat = {a.seat_id: a for a in occupied}
    counts: dict[str, Any] = {"seats": 0, "assigned": 0, "held": 0, "free": 0, "blocked": 0,
                              "by_category": {}}
    for sid, _, _, seat in spec.seats():
        bucket = counts["by_category"].setdefault(
            seat.category, {"seats": 0, "assigned": 0, "held": 0, "free": 0, "blocked": 0})
        who = by_seat.get(sid)
        state = who.kind if who else ("blocked" if "blocked" in seat.attributes else "free")
        for target in (counts, bucket):
            target["seats"] += 1
            target[state] += 1
    occupants = {sid: {"registration_id": a.registration_id, "kind": a.kind,
                       "expires_at": iso(a.expires_at)}
                 for sid, a in by_seat.items()}
    return counts, occupants
