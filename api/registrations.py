"""Registrations: register (202 + the approval job), list, decide, withdraw, export, tickets.

Deciding is the workers' job: approval by policy, staff decisions (one or
thousands) and exports are jobs; the API validates, writes the intent and
enqueues. Withdrawal is a single conditional update and answers at once, then
enqueues the waitlist promotion.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, json
from sanic.response import raw
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.idempotency import idempotent
from api.jobs import accepted
from api.schemas import (ERRORS, JobAccepted, JobView, RegistrationView, SeatingWishes,
                         json_body, json_response, query_parameters)
from api.validation import Body, Query, parse_body, parse_query
from meeteasy.errors import ValidationFailed
from services import decisions, exports, invites, registrations
from services.access import STAFF_ROLES
from services.decisions import BULK_LIMIT

bp = Blueprint("registrations")
ANSWER = "answer."  # query prefix of form-answer filters
FIELD_NAME = re.compile(r"^[A-Za-z_][\w-]*(?:\.[\w-]+)*$")


class RegisterBody(Body):
    answers: dict[str, Any] = Field(default_factory=dict, description="Answers to the current form.")
    invite_code: str | None = Field(None, min_length=1, max_length=100)
    email: str | None = Field(None, max_length=320, description=(
        "Staff only: register someone else, identified by email."))
    name: str | None = Field(None, max_length=300)
    seating: SeatingWishes | None = Field(None, description=(
        "Seating wishes: a party to sit with, a category, accessibility (priority: staff only)."))


class RegistrationAccepted(BaseModel):
    job_id: str
    status_url: str
    job: JobView
    registration: RegistrationView


class RegistrationPage(BaseModel):
    items: list[RegistrationView]
    next_after: int | None = Field(description="Pass as `after` for the next page.")


class Withdrawn(BaseModel):
    registration: RegistrationView
    promotion_job_id: str | None


class RegistrationFilters(Query):
    status: Literal["pending", "approved", "rejected", "waitlisted", "withdrawn"] | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="Text in name or email.")
    after: int | None = Field(None, ge=0, description="`next_after` of the previous page.")
    limit: int = Field(50, ge=1, le=registrations.MAX_PAGE)


class DecisionBody(Body):
    """Either ``registration_ids`` or ``status``, not both."""

    model_config = ConfigDict(json_schema_extra={
        "oneOf": [{"required": ["registration_ids"]}, {"required": ["status"]}]})

    action: Literal["approve", "reject"]
    registration_ids: list[str] = Field(None, min_length=1, max_length=BULK_LIMIT)
    status: Literal["pending", "waitlisted"] = Field(None, description=(
        "Instead of ids: every registration in this status."))
    reason: str = Field("", max_length=500)


class ReasonBody(Body):
    reason: str = Field("", max_length=500)


class ExportBody(Body):
    status: Literal["pending", "approved", "rejected", "waitlisted", "withdrawn"] | None = None


# --- registering ----------------------------------------------------------------------


@bp.post("/conferences/<conference_id:str>/registrations")
@openapi.definition(
    summary="Register for a conference (yourself, or someone else as staff)", tag="registrations",
    description="Answers are validated at once against the conference's current AMIS form (422 "
                "with `details.fields` keyed `answers.<name>`). The registration is stored "
                "`pending` and the approval job decides it by the conference's policy; follow "
                "the job, or the `registration.*` events on the socket.",
    body=json_body(RegisterBody),
    response=[json_response(RegistrationAccepted, status=202, description="Accepted"),
              *ERRORS(400, 401, 403, 404, 409, 413, 422, 429, 503)],
)
@authenticated()
@idempotent
async def create_registration(request, conference_id: str):
    body = parse_body(request, RegisterBody)
    job, view = await offload.run_sync(
        registrations.register, request.ctx.principal, conference_id, answers=body.answers,
        invite_code=body.invite_code, email=body.email, name=body.name,
        seating=body.seating.model_dump(exclude_unset=True) if body.seating else None,
        idempotency_key=request.headers.get("Idempotency-Key"))
    return json(accepted(job, registration=view), status=202)


# --- reading --------------------------------------------------------------------------


@bp.get("/conferences/<conference_id:str>/registrations")
@openapi.definition(
    summary="Registrations of a conference in arrival order (attendees: their own)",
    tag="registrations",
    description="Filters: `status`, `q` (name or email, case-insensitive), and any number of "
                "`answer.<field name>=<value>` for exact form answers.",
    parameter=query_parameters(RegistrationFilters),
    response=[json_response(RegistrationPage), *ERRORS(401, 404, 422)],
)
@authenticated()
async def list_registrations(request, conference_id: str):
    answers = {key[len(ANSWER):]: request.args.get(key) for key in request.args
               if key.startswith(ANSWER)}
    bad = [name for name in answers if not FIELD_NAME.match(name)]
    if bad:
        raise ValidationFailed.for_fields({f"{ANSWER}{name}": ["Not a form field name."] for name in bad})
    filters = parse_query(request, RegistrationFilters, skip=lambda key: key.startswith(ANSWER))
    views, next_after = await offload.run_sync(
        registrations.list_page, request.ctx.principal, conference_id, status=filters.status,
        text=filters.q, answers=answers, after=filters.after, limit=filters.limit)
    return json({"items": views, "next_after": next_after})


@bp.get("/registrations/<registration_id:str>")
@openapi.definition(summary="One registration (attendees: their own)", tag="registrations",
                    response=[json_response(RegistrationView), *ERRORS(401, 404)])
@authenticated()
async def get_registration(request, registration_id: str):
    return json(await offload.run_sync(registrations.get_one, request.ctx.principal,
                                       registration_id))


@bp.get("/tickets/<code:str>")
@openapi.definition(summary="Look a ticket code up (staff, e.g. at the door)", tag="registrations",
                    response=[json_response(RegistrationView), *ERRORS(401, 403, 404)])
@authenticated(*STAFF_ROLES)
async def get_ticket(request, code: str):
    return json(await offload.run_sync(registrations.ticket, request.ctx.principal, code))


# --- deciding -------------------------------------------------------------------------


async def _decide_one(request, registration_id: str, action: str):
    body = parse_body(request, ReasonBody)
    job = await offload.run_sync(decisions.start_decision, request.ctx.principal, registration_id,
                                 action, body.reason, request.headers.get("Idempotency-Key"))
    return json(accepted(job), status=202)


@bp.post("/registrations/<registration_id:str>/approve")
@openapi.definition(summary="Approve a pending or waitlisted registration (a job)",
                    tag="registrations", body=json_body(ReasonBody),
                    response=[json_response(JobAccepted, status=202, description="Accepted"),
                              *ERRORS(400, 401, 403, 404, 409, 422, 429, 503)])
@authenticated(*STAFF_ROLES)
@idempotent
async def approve(request, registration_id: str):
    return await _decide_one(request, registration_id, "approve")


@bp.post("/registrations/<registration_id:str>/reject")
@openapi.definition(summary="Reject a pending or waitlisted registration (a job)",
                    tag="registrations", body=json_body(ReasonBody),
                    response=[json_response(JobAccepted, status=202, description="Accepted"),
                              *ERRORS(400, 401, 403, 404, 409, 422, 429, 503)])
@authenticated(*STAFF_ROLES)
@idempotent
async def reject(request, registration_id: str):
    return await _decide_one(request, registration_id, "reject")


@bp.post("/conferences/<conference_id:str>/registrations/decisions")
@openapi.definition(
    summary="Approve or reject many registrations at once (a job with progress)",
    tag="registrations",
    description="Give `registration_ids`, or `status` to decide every registration in it. "
                "Approval stops at capacity; the result lists what was skipped and why.",
    body=json_body(DecisionBody),
    response=[json_response(JobAccepted, status=202, description="Accepted"),
              *ERRORS(400, 401, 403, 404, 413, 422, 429, 503)])
@authenticated(*STAFF_ROLES)
@idempotent
async def decide_many(request, conference_id: str):
    body = parse_body(request, DecisionBody)
    if (body.registration_ids is None) == (body.status is None):
        raise ValidationFailed.for_fields({"registration_ids": ["Give registration_ids or status."]})
    job = await offload.run_sync(
        decisions.start_decisions, request.ctx.principal, conference_id, action=body.action,
        reason=body.reason, registration_ids=body.registration_ids, status=body.status,
        idempotency_key=request.headers.get("Idempotency-Key"))
    return json(accepted(job), status=202)


@bp.post("/registrations/<registration_id:str>/withdraw")
@openapi.definition(
    summary="Withdraw a registration (attendees: their own); frees its place", tag="registrations",
    description="The ticket becomes void at once; a job then promotes the waitlist in order.",
    response=[json_response(Withdrawn), *ERRORS(401, 404, 409, 429, 503)])
@authenticated()
async def withdraw(request, registration_id: str):
    view, job = await offload.run_sync(registrations.withdraw, request.ctx.principal,
                                       registration_id)
    return json({"registration": view, "promotion_job_id": job.id})


# --- exporting ------------------------------------------------------------------------


@bp.post("/conferences/<conference_id:str>/registrations/export")
@openapi.definition(summary="Export registrations as CSV (a job; download from /exports/{job_id})",
                    tag="registrations", body=json_body(ExportBody),
                    response=[json_response(JobAccepted, status=202, description="Accepted"),
                              *ERRORS(400, 401, 403, 404, 422, 429, 503)])
@authenticated(*STAFF_ROLES)
@idempotent
async def export(request, conference_id: str):
    body = parse_body(request, ExportBody)
    job = await offload.run_sync(exports.start_export, request.ctx.principal, conference_id,
                                 body.status, request.headers.get("Idempotency-Key"))
    return json(accepted(job), status=202)


@bp.get("/exports/<job_id:str>")
@openapi.definition(summary="Download an export produced by a job (staff)", tag="registrations",
                    response=[openapi.definitions.Response({"text/csv": str}, status=200),
                              *ERRORS(401, 403, 404)])
@authenticated(*STAFF_ROLES)
async def download(request, job_id: str):
    found = await offload.run_sync(exports.get_export, request.ctx.principal, job_id)
    return raw(found.content.encode("utf-8"), content_type=f"{found.content_type}; charset=utf-8",
               headers={"Content-Disposition": f'attachment; filename="{found.filename}"'})


# --- invite codes ---------------------------------------------------------------------


class InviteBody(Body):
    count: int = Field(1, ge=1, le=1000)
    max_uses: int = Field(1, ge=1, le=100_000)
    label: str = Field("", max_length=200)


class InviteView(BaseModel):
    code: str
    max_uses: int
    uses: int
    label: str
    created_at: str


class InviteList(BaseModel):
    items: list[InviteView]


@bp.post("/conferences/<conference_id:str>/invite-codes")
@openapi.definition(summary="Create invite codes (approve registrations under the `rules` policy)",
                    tag="registrations", body=json_body(InviteBody),
                    response=[json_response(InviteList, status=201), *ERRORS(400, 401, 403, 404, 422)])
@authenticated(*STAFF_ROLES)
async def create_invites(request, conference_id: str):
    body = parse_body(request, InviteBody)
    codes = await offload.run_sync(invites.create_codes, request.ctx.principal, conference_id,
                                   count=body.count, max_uses=body.max_uses, label=body.label)
    return json({"items": codes}, status=201)


@bp.get("/conferences/<conference_id:str>/invite-codes")
@openapi.definition(summary="Invite codes of a conference and their use", tag="registrations",
                    response=[json_response(InviteList), *ERRORS(401, 403, 404)])
@authenticated(*STAFF_ROLES)
async def list_invites(request, conference_id: str):
    return json({"items": await offload.run_sync(invites.list_codes, request.ctx.principal,
                                                 conference_id)})
