"""Registrations: register (202 + the approval job), list, decide, withdraw, export, tickets.

Deciding is the workers' job: approval by policy, staff decisions (one or
thousands) and exports are jobs; the API validates, writes the intent and
enqueues. Withdrawal is a single conditional update and answers at once, then
enqueues the waitlist promotion.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, json
from sanic.response import raw
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.idempotency import idempotent
from api.jobs import job_json
from api.schemas import (ERRORS, JobAccepted, JobView, RegistrationView, SeatingWishes,
                         json_body, json_response)
from api.validation import Body, Query, parse_body, parse_query
from meeteasy.errors import Conflict, Forbidden, ServiceUnavailable, ValidationFailed
from models import amis, exports, invites
from models import conferences as conference_store
from models import forms as form_store
from models import registrations as store
from models import seat_assignments as seats
from models import users as user_store
from services import events
from services.jobs import start_job
from services.registrations import announce
from services.seating_wishes import check_wishes, wishes_fields

bp = Blueprint("registrations")
STAFF = ("tenant_admin", "staff")
OPEN_STATUSES = ("published", "ongoing")
BULK_LIMIT = 20_000
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
    limit: int = Field(50, ge=1, le=store.MAX_PAGE)


class DecisionBody(Body):
    action: Literal["approve", "reject"]
    registration_ids: list[str] | None = Field(None, min_length=1, max_length=BULK_LIMIT)
    status: Literal["pending", "waitlisted"] | None = Field(None, description=(
        "Instead of ids: every registration in this status."))
    reason: str = Field("", max_length=500)


class ReasonBody(Body):
    reason: str = Field("", max_length=500)


class ExportBody(Body):
    status: Literal["pending", "approved", "rejected", "waitlisted", "withdrawn"] | None = None


def _accepted(job, **extra) -> dict:
    return {"job_id": job.id, "status_url": f"/jobs/{job.id}", "job": job_json(job), **extra}


# --- registering ----------------------------------------------------------------------


def register(caller, conference_id: str, body: RegisterBody, idempotency_key: str | None):
    """Validate and store a pending registration, then start its approval job."""
    conference = conference_store.get_conference(caller.tenant_id, conference_id,
                                                 visible_to_attendees=not caller.is_staff)
    if conference.status not in OPEN_STATUSES:
        raise Conflict(f"Registration is closed: the conference is {conference.status}.",
                       code="registration_closed")
    form = form_store.current(caller.tenant_id, str(conference.id))
    answers = body.answers
    if form is not None:
        review = amis.review_submission(form.schema, answers)
        if not review.valid:
            raise ValidationFailed.for_fields(
                {f"answers.{name}": messages for name, messages in review.errors.items()},
                "Some answers are invalid.")
        answers = review.cleaned
    elif answers:
        raise ValidationFailed.for_fields({"answers": ["This conference has no form to answer."]})
    user_id, email, name = _registrant(caller, body)
    seating = wishes_fields(body.seating.model_dump(exclude_unset=True)) if body.seating else {}
    check_wishes(caller, str(conference.id), seating)
    registration = store.create_registration(
        caller.tenant_id, str(conference.id),
        seq=conference_store.next_registration_seq(caller.tenant_id, str(conference.id)),
        registered_by=caller.user_id, user_id=user_id, email=email, name=name, answers=answers,
        form_version=form.version if form else None, invite_code=body.invite_code, seating=seating)
    try:
        job = start_job(caller.tenant_id, caller.user_id, "registrations.apply_policy",
                        {"conference_id": str(conference.id), "registration_id": str(registration.id)},
                        idempotency_key=idempotency_key)
    except ServiceUnavailable:
        store.delete_unannounced(caller.tenant_id, registration.id)
        raise
    announce([registration])
    return job, store.full_view(registration)


def _registrant(caller, body: RegisterBody) -> tuple[str | None, str | None, str]:
    """Who is registered: the caller, or (staff only) the person named by ``email``."""
    if body.email is not None:
        if not caller.is_staff:
            raise Forbidden("Only staff register other people.", code="missing_role")
        email = user_store.normalise_email(body.email)
        user = user_store.User.objects(email=email).first()
        member = user is not None and "attendee" in user_store.roles_in(caller.tenant_id, user)
        return (str(user.id) if member else None), email, (body.name or "").strip()
    user = user_store.get_user(caller.user_id)
    return caller.user_id, user.email, (body.name or user.name or "").strip()


@bp.post("/conferences/<conference_id:str>/registrations")
@openapi.definition(
    summary="Register for a conference (yourself, or someone else as staff)", tag="registrations",
    description="Answers are validated at once against the conference's current AMIS form (422 "
                "with `details.fields` keyed `answers.<name>`). The registration is stored "
                "`pending` and the approval job decides it by the conference's policy; follow "
                "the job, or the `registration.*` events on the socket.",
    body=json_body(RegisterBody),
    response=[json_response(RegistrationAccepted, status=202, description="Accepted"),
              *ERRORS(400, 401, 403, 404, 409, 413, 422, 503)],
)
@authenticated()
@idempotent
async def create_registration(request, conference_id: str):
    body = parse_body(request, RegisterBody)
    job, view = await offload.run_sync(register, request.ctx.principal, conference_id, body,
                                       request.headers.get("Idempotency-Key"))
    return json(_accepted(job, registration=view), status=202)


# --- reading --------------------------------------------------------------------------


@bp.get("/conferences/<conference_id:str>/registrations")
@openapi.definition(
    summary="Registrations of a conference in arrival order (attendees: their own)",
    tag="registrations",
    description="Filters: `status`, `q` (name or email, case-insensitive), and any number of "
                "`answer.<field name>=<value>` for exact form answers.",
    parameter=[openapi.definitions.Parameter(name, kind, "query") for name, kind in
               (("status", str), ("q", str), ("after", int), ("limit", int))],
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
    caller = request.ctx.principal

    def page():
        conference = conference_store.get_conference(caller.tenant_id, conference_id,
                                                     visible_to_attendees=not caller.is_staff)
        found = store.list_registrations(
            caller.tenant_id, str(conference.id), status=filters.status, text=filters.q,
            answers=answers, user_id=None if caller.is_staff else caller.user_id,
            after_seq=filters.after, limit=filters.limit)
        positions = store.waitlist_positions(found)
        return found, [store.public_view(r, waitlist_position=positions.get(r.id)) for r in found]

    found, views = await offload.run_sync(page)
    next_after = found[-1].seq if len(found) == filters.limit else None
    return json({"items": views, "next_after": next_after})


@bp.get("/registrations/<registration_id:str>")
@openapi.definition(summary="One registration (attendees: their own)", tag="registrations",
                    response=[json_response(RegistrationView), *ERRORS(401, 404)])
@authenticated()
async def get_registration(request, registration_id: str):
    caller = request.ctx.principal

    def read():
        return store.full_view(store.get_registration(
            caller.tenant_id, registration_id, user_id=None if caller.is_staff else caller.user_id))

    return json(await offload.run_sync(read))


@bp.get("/tickets/<code:str>")
@openapi.definition(summary="Look a ticket code up (staff, e.g. at the door)", tag="registrations",
                    response=[json_response(RegistrationView), *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def get_ticket(request, code: str):
    caller = request.ctx.principal
    registration = await offload.run_sync(store.get_by_ticket, caller.tenant_id, code)
    return json(await offload.run_sync(store.full_view, registration))


# --- deciding -------------------------------------------------------------------------


def _start_decision(caller, conference_id: str, ids: list[str], action: str, reason: str,
                    idempotency_key: str | None):
    return start_job(caller.tenant_id, caller.user_id, "registrations.staff_decision",
                     {"conference_id": conference_id, "registration_ids": ids, "action": action,
                      "reason": reason}, idempotency_key=idempotency_key)


async def _decide_one(request, registration_id: str, action: str):
    body = parse_body(request, ReasonBody)
    caller = request.ctx.principal

    def start():
        registration = store.get_registration(caller.tenant_id, registration_id)
        if registration.status not in store.DECIDABLE:
            raise Conflict(f"The registration is already {registration.status}.",
                           code="already_decided")
        return _start_decision(caller, registration.conference_id, [str(registration.id)], action,
                               body.reason, request.headers.get("Idempotency-Key"))

    return json(_accepted(await offload.run_sync(start)), status=202)


@bp.post("/registrations/<registration_id:str>/approve")
@openapi.definition(summary="Approve a pending or waitlisted registration (a job)",
                    tag="registrations", body=json_body(ReasonBody),
                    response=[json_response(JobAccepted, status=202, description="Accepted"),
                              *ERRORS(400, 401, 403, 404, 409, 422, 503)])
@authenticated(*STAFF)
@idempotent
async def approve(request, registration_id: str):
    return await _decide_one(request, registration_id, "approve")


@bp.post("/registrations/<registration_id:str>/reject")
@openapi.definition(summary="Reject a pending or waitlisted registration (a job)",
                    tag="registrations", body=json_body(ReasonBody),
                    response=[json_response(JobAccepted, status=202, description="Accepted"),
                              *ERRORS(400, 401, 403, 404, 409, 422, 503)])
@authenticated(*STAFF)
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
              *ERRORS(400, 401, 403, 404, 413, 422, 503)])
@authenticated(*STAFF)
@idempotent
async def decide_many(request, conference_id: str):
    body = parse_body(request, DecisionBody)
    if (body.registration_ids is None) == (body.status is None):
        raise ValidationFailed.for_fields({"registration_ids": ["Give registration_ids or status."]})
    caller = request.ctx.principal

    def start():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        cid = str(conference.id)
        ids = body.registration_ids or store.ids_with_status(caller.tenant_id, cid, body.status,
                                                             limit=BULK_LIMIT)
        return _start_decision(caller, cid, list(dict.fromkeys(ids)), body.action, body.reason,
                               request.headers.get("Idempotency-Key"))

    return json(_accepted(await offload.run_sync(start)), status=202)


@bp.post("/registrations/<registration_id:str>/withdraw")
@openapi.definition(
    summary="Withdraw a registration (attendees: their own); frees its place", tag="registrations",
    description="The ticket becomes void at once; a job then promotes the waitlist in order.",
    response=[json_response(Withdrawn), *ERRORS(401, 404, 409, 503)])
@authenticated()
async def withdraw(request, registration_id: str):
    caller = request.ctx.principal

    def run():
        done = store.withdraw(caller.tenant_id, registration_id, caller.user_id,
                              user_id=None if caller.is_staff else caller.user_id)
        announce([done])
        view = store.full_view(done)
        if seats.release(caller.tenant_id, done.conference_id, str(done.id)) is not None:
            events.seat_updated(caller.tenant_id, done.conference_id, str(done.id), done.user_id,
                                None)
        job = start_job(caller.tenant_id, caller.user_id, "registrations.apply_policy",
                        {"conference_id": done.conference_id})
        return view, job

    view, job = await offload.run_sync(run)
    return json({"registration": view, "promotion_job_id": job.id})


# --- exporting ------------------------------------------------------------------------


@bp.post("/conferences/<conference_id:str>/registrations/export")
@openapi.definition(summary="Export registrations as CSV (a job; download from /exports/{job_id})",
                    tag="registrations", body=json_body(ExportBody),
                    response=[json_response(JobAccepted, status=202, description="Accepted"),
                              *ERRORS(400, 401, 403, 404, 422, 503)])
@authenticated(*STAFF)
@idempotent
async def export(request, conference_id: str):
    body = parse_body(request, ExportBody)
    caller = request.ctx.principal

    def start():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        return start_job(caller.tenant_id, caller.user_id, "registrations.export",
                         {"conference_id": str(conference.id), "status": body.status},
                         idempotency_key=request.headers.get("Idempotency-Key"))

    return json(_accepted(await offload.run_sync(start)), status=202)


@bp.get("/exports/<job_id:str>")
@openapi.definition(summary="Download an export produced by a job (staff)", tag="registrations",
                    response=[openapi.definitions.Response({"text/csv": str}, status=200),
                              *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def download(request, job_id: str):
    caller = request.ctx.principal
    found = await offload.run_sync(exports.get_export, caller.tenant_id, job_id)
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
@authenticated(*STAFF)
async def create_invites(request, conference_id: str):
    body = parse_body(request, InviteBody)
    caller = request.ctx.principal

    def create():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        return [invites.public_view(code) for code in invites.create_codes(
            caller.tenant_id, str(conference.id), count=body.count, max_uses=body.max_uses,
            label=body.label, created_by=caller.user_id)]

    return json({"items": await offload.run_sync(create)}, status=201)


@bp.get("/conferences/<conference_id:str>/invite-codes")
@openapi.definition(summary="Invite codes of a conference and their use", tag="registrations",
                    response=[json_response(InviteList), *ERRORS(401, 403, 404)])
@authenticated(*STAFF)
async def list_invites(request, conference_id: str):
    caller = request.ctx.principal

    def read():
        conference = conference_store.get_conference(caller.tenant_id, conference_id)
        return [invites.public_view(code) for code in invites.list_codes(caller.tenant_id, str(conference.id))]

    return json({"items": await offload.run_sync(read)})
