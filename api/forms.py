"""/forms: versioned AMIS registration forms of a conference."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.schemas import ERRORS, json_body, json_response
from api.validation import Body, Query, parse_body, parse_query
from meeteasy.errors import Conflict, NotFound
from models import amis
from models import conferences as conference_store
from models import forms as form_store

bp = Blueprint("forms", url_prefix="/forms")
STAFF = ("tenant_admin", "staff")


class FormBody(Body):
    conference_id: str = Field(min_length=1, max_length=64)
    schema_: dict[str, Any] = Field(alias="schema", description="An AMIS form: {\"type\": \"form\", \"body\": [...]}")


class FormView(BaseModel):
    id: str
    conference_id: str
    version: int
    schema_: dict[str, Any] = Field(alias="schema")
    warnings: list[str]
    created_by: str
    created_at: str


class FormList(BaseModel):
    items: list[FormView]


class FormFilter(Query):
    conference_id: str = Field(min_length=1, max_length=64)


class AnswersBody(Body):
    answers: dict[str, Any]


class AnswersVerdict(BaseModel):
    valid: bool
    errors: dict[str, list[str]]
    cleaned: dict[str, Any]
    dropped: list[str]


def _conference_for(caller, conference_id: str):
    return conference_store.get_conference(caller.tenant_id, conference_id,
                                           visible_to_attendees=not caller.is_staff)


@bp.post("/")
@openapi.definition(
    summary="Save a new version of a conference's registration form", tag="forms",
    description="The schema must be an AMIS form; item types the server does not validate are "
                "stored and listed in `warnings`.",
    body=json_body(FormBody),
    response=[json_response(FormView, status=201), *ERRORS(400, 401, 403, 404, 409, 413, 422)],
)
@authenticated(*STAFF)
async def save_form(request):
    body = parse_body(request, FormBody)
    caller = request.ctx.principal

    def save():
        conference = conference_store.get_conference(caller.tenant_id, body.conference_id)
        if conference.status == "archived":
            raise Conflict("An archived conference cannot change.", code="conference_archived")
        return form_store.save_version(caller.tenant_id, str(conference.id), body.schema_,
                                       caller.user_id)

    form = await offload.run_sync(save)
    return json(form_store.public_view(form), status=201)


@bp.get("/")
@openapi.definition(
    summary="Versions of a conference's form, newest first (attendees: the current one)",
    tag="forms", parameter=[openapi.definitions.Parameter("conference_id", str, "query", required=True)],
    response=[json_response(FormList), *ERRORS(401, 404, 422)],
)
@authenticated()
async def list_forms(request):
    query = parse_query(request, FormFilter)
    caller = request.ctx.principal

    def versions():
        conference = _conference_for(caller, query.conference_id)
        found = form_store.list_versions(caller.tenant_id, str(conference.id))
        return found if caller.is_staff else found[:1]

    return json({"items": [form_store.public_view(f) for f in await offload.run_sync(versions)]})


def _current_form(caller, conference_id: str):
    conference = _conference_for(caller, conference_id)
    form = form_store.current(caller.tenant_id, str(conference.id))
    if form is None:
        raise NotFound("This conference has no registration form yet.", code="form_not_found")
    return form


@bp.post("/check")
@openapi.definition(
    summary="Check answers against a conference's current form without registering",
    tag="forms", description="Gives the verdict the server would give at registration, so a "
                             "front end can show it before submitting.",
    parameter=[openapi.definitions.Parameter("conference_id", str, "query", required=True)],
    body=json_body(AnswersBody),
    response=[json_response(AnswersVerdict), *ERRORS(400, 401, 404, 413, 422)],
)
@authenticated()
async def check_answers(request):
    query = parse_query(request, FormFilter)
    body = parse_body(request, AnswersBody)
    caller = request.ctx.principal
    form = await offload.run_sync(_current_form, caller, query.conference_id)
    # In a thread: author patterns may use their whole time budget (models/amis/jsregex.py).
    review = await offload.run_sync(amis.review_submission, form.schema, body.answers)
    return json({"valid": review.valid, "errors": review.errors, "cleaned": review.cleaned,
                 "dropped": list(review.dropped)})
