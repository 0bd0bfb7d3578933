"""/forms: versioned AMIS registration forms of a conference."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.schemas import ERRORS, json_body, json_response, query_parameters
from api.validation import Body, Query, parse_body, parse_query
from services import forms
from services.access import STAFF_ROLES

bp = Blueprint("forms", url_prefix="/forms")


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


@bp.post("/")
@openapi.definition(
    summary="Save a new version of a conference's registration form", tag="forms",
    description="The schema must be an AMIS form; item types the server does not validate are "
                "stored and listed in `warnings`.",
    body=json_body(FormBody),
    response=[json_response(FormView, status=201), *ERRORS(400, 401, 403, 404, 409, 413, 422)],
)
@authenticated(*STAFF_ROLES)
async def save_form(request):
    body = parse_body(request, FormBody)
    view = await offload.run_sync(forms.save_form, request.ctx.principal, body.conference_id,
                                  body.schema_)
    return json(view, status=201)


@bp.get("/")
@openapi.definition(
    summary="Versions of a conference's form, newest first (attendees: the current one)",
    tag="forms", parameter=query_parameters(FormFilter),
    response=[json_response(FormList), *ERRORS(401, 404, 422)],
)
@authenticated()
async def list_forms(request):
    query = parse_query(request, FormFilter)
    views = await offload.run_sync(forms.list_forms, request.ctx.principal, query.conference_id)
    return json({"items": views})


@bp.post("/check")
@openapi.definition(
    summary="Check answers against a conference's current form without registering",
    tag="forms", description="Gives the verdict the server would give at registration, so a "
                             "front end can show it before submitting.",
    parameter=query_parameters(FormFilter),
    body=json_body(AnswersBody),
    response=[json_response(AnswersVerdict), *ERRORS(400, 401, 404, 413, 422)],
)
@authenticated()
async def check_answers(request):
    query = parse_query(request, FormFilter)
    body = parse_body(request, AnswersBody)
    # In a thread: author patterns may use their whole time budget (models/amis/jsregex.py).
    verdict = await offload.run_sync(forms.check_answers, request.ctx.principal,
                                     query.conference_id, body.answers)
    return json(verdict)
