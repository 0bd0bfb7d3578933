"""Seating: the seat map (JSON or CSV, up to 50,000 seats), automatic assignment (a job),
manual assignments, swaps, releases and holds, and each attendee's own seat.

Every change of seats runs under the conference's seating lock (see
``models/seat_assignments.py``); a caller that waits too long for it gets 503
``seating_busy`` and may simply retry. Map uploads are streamed, so they may exceed
MEETEASY_MAX_BODY_BYTES up to MEETEASY_MAX_SEATMAP_BYTES.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, json
from sanic.response import raw
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.idempotency import idempotent
from api.jobs import job_json
from api.schemas import (ERRORS, JobAccepted, RegistrationView, SeatingWishes, json_body,
                         json_response)
from api.validation import Body, Query, parse_body, parse_query
from meeteasy.errors import (BadRequest, Conflict, NotFound, PayloadTooLarge,
                             ValidationFailed)
from meeteasy.settings import get_settings
from models import audit
from models import conferences as conference_store
from models import registrations as registration_store
from models import seat_assignments as seats
from models import seatmaps
from models.base import iso
from services import events
from services.jobs import start_job
from services.seating_wishes import check_wishes, wishes_fields

bp = Blueprint("seating")
STAFF = ("tenant_admin", "staff")
HOLDABLE = ("pending", "approved", "waitlisted")


class SeatView(BaseModel):
    seat_id: str
    section: str
    row: str
    seat: str
    registration_id: str
    kind: Literal["assigned", "held"]
    expires_at: str | None
    by: str
    created_at: str


class MapSummary(BaseModel):
    conference_id: str
    version: int
    categories: list[str]
    stage_x: float | None
    seat_count: int
    sections: list[dict[str, Any]]
    updated_by: str
    created_at: str
    updated_at: str


class StaffMap(BaseModel):
    map: MapSummary
    occupancy: dict[str, Any] = Field(description="Counts: seats, assigned, held, free, blocked, "
                                                  "and the same per category.")
    layout: dict[str, Any] = Field(description="The map as PUT takes it; each seat also has its "
                                               "`id` and `occupant` (null when free).")


class AssignmentPage(BaseModel):
    items: list[SeatView]
    next_after: str | None


class SeatChange(BaseModel):
    seat: SeatView | None
    previous: SeatView | None
    warnings: list[str]


class Swapped(BaseModel):
    seats: list[SeatView]


class MySeat(BaseModel):
    conference_id: str
    registration_id: str
    seat: SeatView | None


class PlaceBody(Body):
    seat_id: str = Field(min_length=5, max_length=130, description="`section/row/seat`.")


class HoldBody(Body):
    registration_id: str = Field(min_length=1, max_length=40)
    seat_id: str = Field(min_length=5, max_length=130)
    minutes: int = Field(ge=1, le=seats.MAX_HOLD_MINUTES)


class SwapBody(Body):
    registration_ids: list[str] = Field(min_length=2, max_length=2)


class PageQuery(Query):
    after: str | None = Field(None, max_length=130, description="`next_after` of the previous page.")
    limit: int = Field(100, ge=1, le=seats.MAX_PAGE)


class CsvQuery(Query):
    categories: str | None = Field(None, max_length=1000, description=(
        "Comma-separated categories the CSV may use; default: the current map's, or "
        f"{', '.join(seatmaps.DEFAULT_CATEGORIES)}."))
    version: int | None = Field(None, ge=1, description="Replace only if the map is at this version.")


class VersionQuery(Query):
    version: int | None = Field(None, ge=1, description="Replace only if the map is at this version.")


def _changeable_conference(caller, conference_id: str):
    """The conference whose seats a request changes: an archived one is read-only (409)."""
    conference = conference_store.get_conference(caller.tenant_id, conference_id)
    if conference.status == "archived":
        raise Conflict("An archived conference cannot be changed.", code="conference_archived")
    return conference


# --- the map ----------------------------------------------------------------------------


async def _read_upload(request) -> bytes:
    """The streamed body, refused with 413 as soon as it passes MAX_SEATMAP_BYTES."""
    limit = get_settings().max_seatmap_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"A seat map may be at most {limit} bytes.")
    chunks, size = [], 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A seat map may be at most {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _save(caller, conference_id: str, parse, version: int | None):
    conference = _changeable_conference(caller, conference_id)
    cid = str(conference.id)
    spec = parse(seatmaps.find_map(caller.tenant_id, cid))  # metadata only (its categories)
    with seats.seating_lock(caller.tenant_id, cid):
        occupied = {a.seat_id: a.registration_id for a in seats.all_of(caller.tenant_id, cid)}
        saved = seatmaps.save_map(caller.tenant_id, cid, spec, caller.user_id, occupied,
                                  expected_version=version)
    audit.record(caller.tenant_id, caller.user_id, "seat_map.saved", "seat_map", cid,
                 conference_id=cid, changes={"version": saved.version, "seats": saved.seat_count})
    return seatmaps.summary(saved)


@bp.put("/conferences/<conference_id:str>/seating/map", stream=True)
@openapi.definition(
    summary="Create or replace the seat map (JSON)", tag="seating",
    description="Sections → rows → seats (`label`, `x`, `y`, `category`, `attributes` of "
                "accessible/aisle/blocked, optional `rank`, lower is better). A change that removes, "
                "re-categorises or blocks an occupied seat is refused (409 `seats_occupied`).",
    response=[json_response(MapSummary), *ERRORS(400, 401, 403, 404, 409, 413, 422, 503)])
@authenticated(*STAFF)
async def put_map(request, conference_id: str):
    query = parse_query(request, VersionQuery)
    body = await _read_upload(request)
    try:
        data = jsonlib.loads(body or b"null")
    except ValueError:
        raise BadRequest("The body is not valid JSON.", code="malformed_json")
    return json(await offload.run_sync(_save, request.ctx.principal, conference_id,
                                       lambda current: seatmaps.parse_map(data), query.version))


@bp.put("/conferences/<conference_id:str>/seating/map.csv", stream=True)
@openapi.definition(
    summary="Create or replace the seat map from a venue's CSV", tag="seating",
    description="Header `section,row,seat,x,y,category,attributes` (optional `rank`); commas or "
                "semicolons; errors name each line (`details.fields[\"line 12\"]`).",
    response=[json_response(MapSummary), *ERRORS(400, 401, 403, 404, 409, 413, 422, 503)])
@authenticated(*STAFF)
async def put_map_csv(request, conference_id: str):
    query = parse_query(request, CsvQuery)
    body = await _read_upload(request)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The CSV must be UTF-8 text.", code="malformed_csv")
    wanted = [c.strip() for c in query.categories.split(",") if c.strip()] if query.categories else None

    def parse(current):
        categories = wanted or (list(current.categories) if current else None)
        if current is None:
            return seatmaps.parse_csv(text, categories)
        return seatmaps.parse_csv(text, categories, open_categories=list(current.open_categories),
                                  stage_x=current.stage_x)

    return json(await offload.run_sync(_save, request.ctx.principal, conference_id, parse,
                                       query.version))


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


@bp.get("/conferences/<conference_id:str>/seating/map")
@openapi.definition(summary="The seat map with occupancy (staff)", tag="seating",
                    response=[json_response(StaffMap), *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def get_map(request, conference_id: str):
    caller = request.ctx.principal

    def read():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        document = seatmaps.get_map(caller.tenant_id, str(conference.id))
        spec = seatmaps.load_spec(caller.tenant_id, str(conference.id))
        counts, occupants = _occupancy(spec, seats.all_of(caller.tenant_id, str(conference.id)))
        return {"map": seatmaps.summary(document), "occupancy": counts,
                "layout": seatmaps.export_json(spec, occupants)}

    return json(await offload.run_sync(read))


@bp.get("/conferences/<conference_id:str>/seating/map.csv")
@openapi.definition(summary="The seat map as CSV (staff)", tag="seating",
                    response=[openapi.definitions.Response({"text/csv": str}, status=200),
                              *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def get_map_csv(request, conference_id: str):
    caller = request.ctx.principal

    def read():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        return seatmaps.export_csv(seatmaps.load_spec(caller.tenant_id, str(conference.id)))

    text = await offload.run_sync(read)
    return raw(text.encode("utf-8"), content_type="text/csv; charset=utf-8",
               headers={"Content-Disposition": 'attachment; filename="seat-map.csv"'})


# --- automatic assignment ---------------------------------------------------------------


@bp.post("/conferences/<conference_id:str>/seating/auto-assign")
@openapi.definition(
    summary="Seat every approved registration that has no seat yet (a job on the seating queue)",
    tag="seating",
    description="Parties sit together (one row, else rows directly behind each other, split "
                "only when nothing else fits); category and accessibility wishes are met; VIPs "
                "then earlier registrations get better seats. Everyone already seated keeps "
                "their seat. Progress arrives as `job.updated`; the result lists who stayed "
                "unseated and why, split parties and a quality score.",
    response=[json_response(JobAccepted, status=202, description="Accepted"),
              *ERRORS(401, 403, 404, 409, 503)])
@authenticated(*STAFF)
@idempotent
async def auto_assign(request, conference_id: str):
    caller = request.ctx.principal

    def start():
        conference = _changeable_conference(caller, conference_id)
        seatmaps.get_map(caller.tenant_id, str(conference.id))  # 404 before a job is made
        return start_job(caller.tenant_id, caller.user_id, "seating.auto_assign",
                         {"conference_id": str(conference.id)},
                         idempotency_key=request.headers.get("Idempotency-Key"))

    job = await offload.run_sync(start)
    return json({"job_id": job.id, "status_url": f"/jobs/{job.id}", "job": job_json(job)}, status=202)


# --- manual changes ---------------------------------------------------------------------


def _registration(caller, conference_id: str, registration_id: str, statuses: tuple[str, ...]):
    registration = registration_store.get_registration(caller.tenant_id, registration_id)
    if registration.conference_id != conference_id:
        raise NotFound("No such registration.", code="registration_not_found")
    if registration.status not in statuses:
        raise Conflict(f"A {registration.status} registration cannot be seated.",
                       code="not_seatable", details={"status": registration.status})
    return registration


def _seat_on_map(spec: seatmaps.MapSpec, seat_id: str) -> seatmaps.SeatSpec:
    seat = spec.seat(seat_id)
    if seat is None:
        raise ValidationFailed.for_fields({"seat_id": [f"No seat {seat_id!r} on the map."]})
    if "blocked" in seat.attributes:
        raise Conflict(f"Seat {seat_id} is blocked.", code="seat_blocked")
    return seat


def _warnings(registration, seat: seatmaps.SeatSpec) -> list[str]:
    out = []
    if registration.seat_category and registration.seat_category != seat.category:
        out.append(f"The registration asked for {registration.seat_category}; this seat is "
                   f"{seat.category}.")
    if registration.needs_accessible and "accessible" not in seat.attributes:
        out.append("The registration needs an accessible seat; this one is not.")
    return out


def _place(caller, conference_id: str, registration_id: str, seat_id: str,
           hold_minutes: int | None = None) -> dict:
    conference = _changeable_conference(caller, conference_id)
    cid = str(conference.id)
    registration = _registration(caller, cid, registration_id,
                                 HOLDABLE if hold_minutes else ("approved",))
    with seats.seating_lock(caller.tenant_id, cid):
        # Under the lock: a map replaced meanwhile may no longer have (or may block) the seat.
        seat = _seat_on_map(seatmaps.load_spec(caller.tenant_id, cid), seat_id)
        before, after = seats.place(caller.tenant_id, cid, str(registration.id), seat_id,
                                    user_id=registration.user_id, by=caller.user_id,
                                    hold_minutes=hold_minutes)
    audit.record(caller.tenant_id, caller.user_id, "seat.held" if hold_minutes else "seat.assigned",
                 "registration", str(registration.id), conference_id=cid,
                 changes={"seat": {"from": before.seat_id if before else None, "to": seat_id}})
    events.seat_updated(caller.tenant_id, cid, str(registration.id), registration.user_id, after)
    return {"seat": seats.public_view(after), "previous": seats.public_view(before),
            "warnings": _warnings(registration, seat)}


@bp.put("/conferences/<conference_id:str>/seating/assignments/<registration_id:str>")
@openapi.definition(
    summary="Put an approved registration on a seat (moving them if seated elsewhere)",
    tag="seating", body=json_body(PlaceBody),
    description="409 `seat_taken` if someone else sits there, `seat_blocked` for a blocked "
                "seat; `warnings` say when the seat misses the person's category or "
                "accessibility wish (staff may override them).",
    response=[json_response(SeatChange), *ERRORS(400, 401, 403, 404, 409, 422, 503)])
@authenticated(*STAFF)
async def place(request, conference_id: str, registration_id: str):
    body = parse_body(request, PlaceBody)
    return json(await offload.run_sync(_place, request.ctx.principal, conference_id,
                                       registration_id, body.seat_id))


@bp.post("/conferences/<conference_id:str>/seating/holds")
@openapi.definition(
    summary="Hold a seat for a person for some minutes (released by beat when it expires)",
    tag="seating", body=json_body(HoldBody),
    description="Assigning the same seat to the person later confirms the hold.",
    response=[json_response(SeatChange, status=201), *ERRORS(400, 401, 403, 404, 409, 422, 503)])
@authenticated(*STAFF)
async def hold(request, conference_id: str):
    body = parse_body(request, HoldBody)
    return json(await offload.run_sync(_place, request.ctx.principal, conference_id,
                                       body.registration_id, body.seat_id, body.minutes), status=201)


@bp.delete("/conferences/<conference_id:str>/seating/assignments/<registration_id:str>")
@openapi.definition(summary="Release a person's seat or hold", tag="seating",
                    response=[json_response(SeatChange), *ERRORS(401, 403, 404, 409, 503)])
@authenticated(*STAFF)
async def release(request, conference_id: str, registration_id: str):
    caller = request.ctx.principal

    def run():
        conference = _changeable_conference(caller, conference_id)
        cid = str(conference.id)
        registration = _registration(caller, cid, registration_id, registration_store.STATUSES)
        with seats.seating_lock(caller.tenant_id, cid):
            gone = seats.release(caller.tenant_id, cid, str(registration.id))
        if gone is None:
            raise seats.not_found(registration_id)
        audit.record(caller.tenant_id, caller.user_id, "seat.released", "registration",
                     str(registration.id), conference_id=cid,
                     changes={"seat": {"from": gone.seat_id, "to": None}})
        events.seat_updated(caller.tenant_id, cid, str(registration.id), registration.user_id, None)
        return {"seat": None, "previous": seats.public_view(gone), "warnings": []}

    return json(await offload.run_sync(run))


@bp.post("/conferences/<conference_id:str>/seating/swap")
@openapi.definition(summary="Swap the seats of two seated people", tag="seating",
                    body=json_body(SwapBody),
                    response=[json_response(Swapped), *ERRORS(400, 401, 403, 404, 409, 422, 503)])
@authenticated(*STAFF)
async def swap(request, conference_id: str):
    body = parse_body(request, SwapBody)
    if body.registration_ids[0] == body.registration_ids[1]:
        raise ValidationFailed.for_fields({"registration_ids": ["Give two different registrations."]})
    caller = request.ctx.principal

    def run():
        conference = _changeable_conference(caller, conference_id)
        cid = str(conference.id)
        people = [_registration(caller, cid, rid, registration_store.STATUSES)
                  for rid in body.registration_ids]
        with seats.seating_lock(caller.tenant_id, cid):
            new_a, new_b = seats.swap(caller.tenant_id, cid, str(people[0].id), str(people[1].id),
                                      caller.user_id)
        audit.record(caller.tenant_id, caller.user_id, "seat.swapped", "conference", cid,
                     conference_id=cid, changes={"seats": {
                         str(people[0].id): new_a.seat_id, str(people[1].id): new_b.seat_id}})
        for person, assignment in zip(people, (new_a, new_b)):
            events.seat_updated(caller.tenant_id, cid, str(person.id), person.user_id, assignment)
        return {"seats": [seats.public_view(new_a), seats.public_view(new_b)]}

    return json(await offload.run_sync(run))


@bp.get("/conferences/<conference_id:str>/seating/assignments")
@openapi.definition(summary="Occupied seats in seat order (staff)", tag="seating",
                    parameter=[openapi.definitions.Parameter(name, kind, "query")
                               for name, kind in (("after", str), ("limit", int))],
                    response=[json_response(AssignmentPage), *ERRORS(401, 403, 404, 422)])
@authenticated(*STAFF)
async def list_assignments(request, conference_id: str):
    query = parse_query(request, PageQuery)
    caller = request.ctx.principal

    def read():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        return seats.list_page(caller.tenant_id, str(conference.id), after=query.after,
                               limit=query.limit)

    found = await offload.run_sync(read)
    return json({"items": [seats.public_view(a) for a in found],
                 "next_after": found[-1].seat_id if len(found) == query.limit else None})


# --- a person's own seat ----------------------------------------------------------------


@bp.get("/registrations/<registration_id:str>/seat")
@openapi.definition(summary="Where a registration sits (attendees: their own)", tag="seating",
                    response=[json_response(MySeat), *ERRORS(401, 404)])
@authenticated()
async def my_seat(request, registration_id: str):
    caller = request.ctx.principal

    def read():
        registration = registration_store.get_registration(
            caller.tenant_id, registration_id, user_id=None if caller.is_staff else caller.user_id)
        found = seats.seat_of(caller.tenant_id, registration.conference_id, str(registration.id))
        return seats.seat_event(registration.conference_id, str(registration.id), found)

    return json(await offload.run_sync(read))


@bp.patch("/registrations/<registration_id:str>/seating")
@openapi.definition(
    summary="Change a registration's seating wishes (party, category, accessibility; "
            "priority: staff only)", tag="seating", body=json_body(SeatingWishes),
    description="Takes effect at the next automatic assignment; a seat already given stays.",
    response=[json_response(RegistrationView), *ERRORS(400, 401, 403, 404, 422)])
@authenticated()
async def update_wishes(request, registration_id: str):
    body = parse_body(request, SeatingWishes)
    caller = request.ctx.principal
    changes = wishes_fields(body.model_dump(exclude_unset=True))

    def run():
        owner = None if caller.is_staff else caller.user_id
        registration = registration_store.get_registration(caller.tenant_id, registration_id,
                                                           user_id=owner)
        check_wishes(caller, registration.conference_id, changes)
        registration = registration_store.update_seating(registration, changes, caller.user_id)
        return registration_store.full_view(registration)

    return json(await offload.run_sync(run))
