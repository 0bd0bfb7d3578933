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
from api.jobs import accepted
from api.schemas import (ERRORS, JobAccepted, RegistrationView, SeatingWishes, json_body,
                         json_response, query_parameters)
from api.validation import Body, Query, parse_body, parse_query
from meeteasy.errors import BadRequest, PayloadTooLarge, ValidationFailed
from meeteasy.settings import get_settings
from services.seating import automatic, maps, places
from services.seating_wishes import change_wishes

bp = Blueprint("seating")
STAFF = ("tenant_admin", "staff")


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
    minutes: int = Field(ge=1, le=places.MAX_HOLD_MINUTES)


class SwapBody(Body):
    registration_ids: list[str] = Field(min_length=2, max_length=2,
                                        json_schema_extra={"uniqueItems": True})


class PageQuery(Query):
    after: str | None = Field(None, max_length=130, description="`next_after` of the previous page.")
    limit: int = Field(100, ge=1, le=places.MAX_PAGE)


class CsvQuery(Query):
    categories: str | None = Field(None, max_length=1000, description=(
        "Comma-separated categories the CSV may use; default: the current map's, or "
        f"{', '.join(maps.DEFAULT_CATEGORIES)}."))
    version: int | None = Field(None, ge=1, description="Replace only if the map is at this version.")


class VersionQuery(Query):
    version: int | None = Field(None, ge=1, description="Replace only if the map is at this version.")


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


@bp.put("/conferences/<conference_id:str>/seating/map", stream=True)
@openapi.definition(
    summary="Create or replace the seat map (JSON)", tag="seating",
    description="Sections → rows → seats (`label`, `x`, `y`, `category`, `attributes` of "
                "accessible/aisle/blocked, optional `rank`, lower is better). A change that removes, "
                "re-categorises or blocks an occupied seat is refused (409 `seats_occupied`).",
    parameter=query_parameters(VersionQuery),
    response=[json_response(MapSummary), *ERRORS(400, 401, 403, 404, 409, 413, 422, 503)])
@authenticated(*STAFF)
async def put_map(request, conference_id: str):
    query = parse_query(request, VersionQuery)
    body = await _read_upload(request)
    try:
        data = jsonlib.loads(body or b"null")
    except ValueError:
        raise BadRequest("The body is not valid JSON.", code="malformed_json")
    return json(await offload.run_sync(maps.save_map_json, request.ctx.principal, conference_id,
                                       data, query.version))


@bp.put("/conferences/<conference_id:str>/seating/map.csv", stream=True)
@openapi.definition(
    summary="Create or replace the seat map from a venue's CSV", tag="seating",
    description="Header `section,row,seat,x,y,category,attributes` (optional `rank`); commas or "
                "semicolons; errors name each line (`details.fields[\"line 12\"]`).",
    parameter=query_parameters(CsvQuery),
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
    return json(await offload.run_sync(maps.save_map_csv, request.ctx.principal, conference_id,
                                       text, wanted, query.version))


@bp.get("/conferences/<conference_id:str>/seating/map")
@openapi.definition(summary="The seat map with occupancy (staff)", tag="seating",
                    response=[json_response(StaffMap), *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def get_map(request, conference_id: str):
    return json(await offload.run_sync(maps.staff_map, request.ctx.principal, conference_id))


@bp.get("/conferences/<conference_id:str>/seating/map.csv")
@openapi.definition(summary="The seat map as CSV (staff)", tag="seating",
                    response=[openapi.definitions.Response({"text/csv": str}, status=200),
                              *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def get_map_csv(request, conference_id: str):
    text = await offload.run_sync(maps.map_csv, request.ctx.principal, conference_id)
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
              *ERRORS(401, 403, 404, 409, 429, 503)])
@authenticated(*STAFF)
@idempotent
async def auto_assign(request, conference_id: str):
    job = await offload.run_sync(automatic.start_auto_assign, request.ctx.principal, conference_id,
                                 request.headers.get("Idempotency-Key"))
    return json(accepted(job), status=202)


# --- manual changes ---------------------------------------------------------------------


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
    return json(await offload.run_sync(places.place, request.ctx.principal, conference_id,
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
    return json(await offload.run_sync(places.hold, request.ctx.principal, conference_id,
                                       body.registration_id, body.seat_id, body.minutes), status=201)


@bp.delete("/conferences/<conference_id:str>/seating/assignments/<registration_id:str>")
@openapi.definition(summary="Release a person's seat or hold", tag="seating",
                    response=[json_response(SeatChange), *ERRORS(401, 403, 404, 409, 503)])
@authenticated(*STAFF)
async def release(request, conference_id: str, registration_id: str):
    return json(await offload.run_sync(places.release, request.ctx.principal, conference_id,
                                       registration_id))


@bp.post("/conferences/<conference_id:str>/seating/swap")
@openapi.definition(summary="Swap the seats of two seated people", tag="seating",
                    body=json_body(SwapBody),
                    response=[json_response(Swapped), *ERRORS(400, 401, 403, 404, 409, 422, 503)])
@authenticated(*STAFF)
async def swap(request, conference_id: str):
    body = parse_body(request, SwapBody)
    if body.registration_ids[0] == body.registration_ids[1]:
        raise ValidationFailed.for_fields({"registration_ids": ["Give two different registrations."]})
    return json(await offload.run_sync(places.swap, request.ctx.principal, conference_id,
                                       body.registration_ids))


@bp.get("/conferences/<conference_id:str>/seating/assignments")
@openapi.definition(summary="Occupied seats in seat order (staff)", tag="seating",
                    parameter=query_parameters(PageQuery),
                    response=[json_response(AssignmentPage), *ERRORS(401, 403, 404, 422)])
@authenticated(*STAFF)
async def list_assignments(request, conference_id: str):
    query = parse_query(request, PageQuery)
    return json(await offload.run_sync(places.list_assignments, request.ctx.principal,
                                       conference_id, after=query.after, limit=query.limit))


# --- a person's own seat ----------------------------------------------------------------


@bp.get("/registrations/<registration_id:str>/seat")
@openapi.definition(summary="Where a registration sits (attendees: their own)", tag="seating",
                    response=[json_response(MySeat), *ERRORS(401, 404)])
@authenticated()
async def my_seat(request, registration_id: str):
    return json(await offload.run_sync(places.seat_of_registration, request.ctx.principal,
                                       registration_id))


@bp.patch("/registrations/<registration_id:str>/seating")
@openapi.definition(
    summary="Change a registration's seating wishes (party, category, accessibility; "
            "priority: staff only)", tag="seating", body=json_body(SeatingWishes),
    description="Takes effect at the next automatic assignment; a seat already given stays.",
    response=[json_response(RegistrationView), *ERRORS(400, 401, 403, 404, 422)])
@authenticated()
async def update_wishes(request, registration_id: str):
    body = parse_body(request, SeatingWishes)
    return json(await offload.run_sync(change_wishes, request.ctx.principal, registration_id,
                                       body.model_dump(exclude_unset=True)))
