"""/conferences: organisers create and run conferences; attendees read the public ones.

Staff (``tenant_admin``, ``staff``) see every conference of their tenant; anyone else
sees published, ongoing and ended ones only, and a draft or archived conference
answers them 404 exactly like a missing one. Every change is audited
(``GET /conferences/{id}/audit``) and pushed as ``conference.updated`` to the
tenant's staff room.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from pydantic_core import PydanticCustomError
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.idempotency import idempotent
from api.schemas import ERRORS, json_body, json_response, query_parameters
from api.validation import Body, Query, parse_body, parse_query
from services import audit, conferences
from services.access import STAFF_ROLES

bp = Blueprint("conferences", url_prefix="/conferences")

Status = Literal["draft", "published", "ongoing", "ended", "archived"]
Mode = Literal["automatic", "manual", "rules"]
Fallback = Literal["manual", "reject"]


def _known_zone(value: str) -> str:
    if value not in conferences.time_zones():
        raise PydanticCustomError("invalid", "Use an IANA time zone such as Europe/Paris.")
    return value


# A slug as a client may write it: stored in lowercase (conferences.SLUG).
SLUG_INPUT = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,78}[A-Za-z0-9])?$"


def _slug(value: str) -> str:
    value = value.lower()
    if not conferences.SLUG.fullmatch(value):
        raise PydanticCustomError("invalid",
                                  "Use 1-80 lowercase letters, digits and inner hyphens.")
    return value


Timezone = Annotated[str, Field(max_length=64, description="IANA time zone, e.g. Europe/Paris.",
                                json_schema_extra={"enum": sorted(conferences.time_zones())}),
                     AfterValidator(_known_zone)]
Slug = Annotated[str, Field(min_length=1, max_length=80,
                            description="Unique in the tenant; stored in lowercase.",
                            json_schema_extra={"pattern": SLUG_INPUT}),
                 AfterValidator(_slug)]
When = Annotated[AwareDatetime, Field(description="ISO 8601 with an offset; `ends_at` must be "
                                                  "after `starts_at`.")]
Domains = Annotated[list[Annotated[str, Field(max_length=253)]], Field(max_length=200)]


# --- bodies --------------------------------------------------------------------------


class PolicyBody(Body):
    mode: Mode = "automatic"
    waitlist: bool = True
    email_domains: Domains = Field(default_factory=list)
    rules_fallback: Fallback = "manual"
    plugin_rules: bool = False


class PolicyPatch(Body):
    """Only the policy fields given change."""

    mode: Mode = None
    waitlist: bool = None
    email_domains: Domains = None
    rules_fallback: Fallback = None
    plugin_rules: bool = None


class ConferenceCreate(Body):
    title: str = Field(min_length=1, max_length=300)
    slug: Slug
    description: str = Field("", max_length=20000)
    venue: str = Field("", max_length=500)
    timezone: Timezone = "UTC"
    starts_at: When
    ends_at: When
    capacity: int | None = Field(None, ge=0, le=10_000_000, description="null: unlimited.")
    policy: PolicyBody = Field(default_factory=PolicyBody)


class ConferencePatch(Body):
    """Fields left out stay as they are; ``capacity: null`` means unlimited."""

    title: str = Field(None, min_length=1, max_length=300)
    slug: Slug = None
    description: str = Field(None, max_length=20000)
    venue: str = Field(None, max_length=500)
    timezone: Timezone = None
    starts_at: When = None
    ends_at: When = None
    capacity: int | None = Field(None, ge=0, le=10_000_000)
    policy: PolicyPatch = None


class StatusBody(Body):
    status: Status


class ConferenceFilters(Query):
    status: Status | None = None
    q: str | None = Field(None, min_length=1, max_length=200)
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=conferences.MAX_PAGE)


class AuditFilters(Query):
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=audit.MAX_PAGE)


# --- answers -------------------------------------------------------------------------


class PolicyView(BaseModel):
    mode: Mode
    waitlist: bool
    email_domains: list[str]
    rules_fallback: Fallback
    plugin_rules: bool


class ConferenceView(BaseModel):
    id: str
    title: str
    slug: str
    description: str
    venue: str
    timezone: str
    starts_at: str
    ends_at: str
    capacity: int | None
    policy: PolicyView
    status: Status
    allowed_transitions: list[Status]
    created_by: str
    created_at: str
    updated_at: str


class ConferencePage(BaseModel):
    items: list[ConferenceView]
    total: int
    offset: int
    limit: int


class AuditEntryView(BaseModel):
    id: str
    actor: str = Field(description="A user id, or `system:beat`.")
    action: str
    target_type: Literal[audit.TARGET_TYPES]
    target_id: str
    changes: dict[str, Any]
    at: str


class AuditPage(BaseModel):
    items: list[AuditEntryView]
    total: int
    offset: int
    limit: int


# --- routes --------------------------------------------------------------------------


@bp.post("/")
@openapi.definition(
    summary="Create a conference (as a draft)", tag="conferences",
    body=json_body(ConferenceCreate),
    response=[json_response(ConferenceView, 201, "Created"),
              *ERRORS(400, 401, 403, 409, 413, 422, 503)],
)
@authenticated(*STAFF_ROLES)
@idempotent
async def create_conference(request):
    body = parse_body(request, ConferenceCreate)
    caller = request.ctx.principal
    view = await offload.run_sync(conferences.create_conference, caller, body.model_dump())
    return json(view, status=201)


@bp.get("/")
@openapi.definition(
    summary="List conferences by start date", tag="conferences",
    description="Staff see every conference except archived ones (ask for them with "
                "`status=archived`); attendees see published, ongoing and ended ones. "
                "`q` matches title, slug and venue.",
    parameter=query_parameters(ConferenceFilters),
    response=[json_response(ConferencePage), *ERRORS(401, 422)],
)
@authenticated()
async def list_conferences(request):
    filters = parse_query(request, ConferenceFilters)
    caller = request.ctx.principal
    views, total = await offload.run_sync(
        conferences.list_conferences, caller, status=filters.status, text=filters.q,
        offset=filters.offset, limit=filters.limit)
    return json({"items": views, "total": total, "offset": filters.offset,
                 "limit": filters.limit})


@bp.get("/<conference_id:str>")
@openapi.definition(
    summary="One conference", tag="conferences",
    response=[json_response(ConferenceView), *ERRORS(401, 404)],
)
@authenticated()
async def get_conference(request, conference_id: str):
    view = await offload.run_sync(conferences.get_conference, request.ctx.principal,
                                  conference_id)
    return json(view)


@bp.patch("/<conference_id:str>")
@openapi.definition(
    summary="Change a conference's fields", tag="conferences",
    description="Send only the fields that change; `policy` is merged into the current "
                "one. An archived conference cannot be changed (409 `conference_archived`); "
                "dates that would leave a session outside them are refused (409 "
                "`sessions_outside_dates`).",
    body=json_body(ConferencePatch),
    response=[json_response(ConferenceView), *ERRORS(400, 401, 403, 404, 409, 413, 422)],
)
@authenticated(*STAFF_ROLES)
async def update_conference(request, conference_id: str):
    body = parse_body(request, ConferencePatch)
    caller = request.ctx.principal
    view = await offload.run_sync(conferences.update_conference, caller, conference_id,
                                  body.model_dump(exclude_unset=True))
    return json(view)


@bp.post("/<conference_id:str>/status")
@openapi.definition(
    summary="Move a conference through its lifecycle", tag="conferences",
    description="draft → published → ongoing → ended → archived; a draft or published "
                "conference may be archived, a published one taken back to draft. Any other "
                "move is 409 `invalid_transition` with `from`, `to` and `allowed` in details. "
                "Beat moves published → ongoing → ended by the dates.",
    body=json_body(StatusBody),
    response=[json_response(ConferenceView), *ERRORS(400, 401, 403, 404, 409, 413, 422)],
)
@authenticated(*STAFF_ROLES)
async def change_status(request, conference_id: str):
    body = parse_body(request, StatusBody)
    caller = request.ctx.principal
    view = await offload.run_sync(conferences.transition, caller, conference_id, body.status)
    return json(view)


@bp.delete("/<conference_id:str>")
@openapi.definition(
    summary="Archive a conference (soft delete)", tag="conferences",
    description="The conference stays readable by staff (`GET /conferences/?status=archived`) "
                "and is never removed. Only a draft, published or ended conference can be "
                "archived (409 `invalid_transition` otherwise).",
    response=[json_response(ConferenceView), *ERRORS(401, 403, 404, 409)],
)
@authenticated(*STAFF_ROLES)
async def archive_conference(request, conference_id: str):
    view = await offload.run_sync(conferences.archive_conference, request.ctx.principal,
                                  conference_id)
    return json(view)


@bp.get("/<conference_id:str>/audit")
@openapi.definition(
    summary="Who changed what in a conference and its agenda, oldest first", tag="conferences",
    parameter=query_parameters(AuditFilters),
    response=[json_response(AuditPage), *ERRORS(401, 403, 404, 422)],
)
@authenticated(*STAFF_ROLES)
async def conference_audit(request, conference_id: str):
    filters = parse_query(request, AuditFilters)
    caller = request.ctx.principal
    views, total = await offload.run_sync(audit.conference_history, caller, conference_id,
                                          offset=filters.offset, limit=filters.limit)
    return json({"items": views, "total": total, "offset": filters.offset,
                 "limit": filters.limit})
