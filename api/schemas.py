"""Response shapes shared by several blueprints, for the OpenAPI document.

Routes declare their bodies and answers with :func:`json_body`, :func:`json_response`
and :func:`ERRORS`, never with a bare pydantic class: sanic-ext renders a bare class
from its type hints, which turns ``Literal`` fields into ``object``, lists a dict's
methods as properties, shows ``model_config`` as a field and leaves ``$ref``s to
``$defs`` that the document does not contain.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic_ext import openapi
from sanic_ext.extensions.openapi.types import Schema

from api.validation import Body


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None


class ErrorBody(BaseModel):
    error: ErrorDetail


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class Health(BaseModel):
    status: Literal["ok"]


class JobView(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: int
    message: str
    result: dict | None
    error: ErrorDetail | None
    attempts: int
    cancel_requested: bool
    user_id: str
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    cursor: str
    status_url: str


class JobPage(BaseModel):
    items: list[JobView]
    next_cursor: str | None


class JobAccepted(BaseModel):
    job_id: str
    status_url: str
    job: JobView


_DESCRIPTIONS = {
    400: "Malformed request (e.g. the body is not JSON)",
    401: "Missing, invalid or expired access token",
    403: "The caller's role does not allow this",
    404: "Not found (or owned by another tenant)",
    409: "Conflicts with the current state, or a concurrent duplicate Idempotency-Key",
    413: "Body larger than MEETEASY_MAX_BODY_BYTES, or a request line and headers too long",
    422: "Invalid fields; details.fields names each one",
    429: "This user starts jobs faster than MEETEASY_USER_JOB_RATE (`too_many_requests`), "
         "nothing was started; try again after the Retry-After header's seconds",
    503: "A backing service is unavailable, or the queue this work goes to is full "
         "(`overloaded`, nothing was started); try again after the Retry-After header's seconds",
}


class RegistrationView(BaseModel):
    id: str
    conference_id: str
    user_id: str | None
    email: str | None
    name: str
    answers: dict[str, Any]
    form_version: int | None
    status: Literal["pending", "approved", "rejected", "waitlisted", "withdrawn"]
    reason: str
    seq: int
    waitlist_position: int | None
    ticket_code: str | None
    qr_payload: str | None
    registered_by: str
    decided_by: str | None
    decided_at: str | None
    created_at: str
    updated_at: str
    history: list[dict[str, Any]]
    seating: dict[str, Any]


class SeatingWishes(Body):
    party: str | None = Field(None, min_length=1, max_length=100, description=(
        "People with the same party sit together. `new` starts a party under a code the "
        "server makes; the others of the party give that code. Attendees may only join "
        "existing parties; staff may name parties freely."))
    category: str | None = Field(None, min_length=1, max_length=40)
    accessible: bool | None = None
    priority: Literal["vip", "standard"] | None = Field(None, description="Staff only.")


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """``model`` as a self-contained OpenAPI 3.0 schema (pydantic writes JSON Schema 2020-12:
    ``$defs`` references, ``type: null`` alternatives and ``const``, which OpenAPI 3.0 lacks)."""
    schema = model.model_json_schema()
    return _openapi30(schema, schema.pop("$defs", {}))


def _openapi30(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_openapi30(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _openapi30({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    node = {key: _openapi30(value, defs) for key, value in node.items()}
    for combinator in ("anyOf", "oneOf"):
        options = node.get(combinator)
        if options and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del node[combinator]
            node["nullable"] = True
            if len(rest) == 1:
                node = {**rest[0], **node}
            else:
                node[combinator] = rest
            if "enum" in node and None not in node["enum"]:
                # OpenAPI 3.0.3: an enum lists null too, or null is not one of its values.
                node["enum"] = [*node["enum"], None]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    return node


def json_body(model: type[BaseModel]) -> openapi.definitions.RequestBody:
    """``body=`` of ``openapi.definition`` for a JSON request body: required when the
    model has a required field (an empty body is read as ``{}``)."""
    schema = schema_of(model)
    return openapi.definitions.RequestBody({"application/json": {"schema": schema}},
                                           required=bool(schema.get("required")))


def query_parameters(model: type[BaseModel]) -> list[openapi.definitions.Parameter]:
    """``parameter=`` of ``openapi.definition``: the query model that validates the
    request is the one that documents it, bounds, patterns and enums included."""
    schema = schema_of(model)
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema.get("properties", {}).items():
        field = {key: value for key, value in field.items() if key not in ("title", "default")}
        field.pop("nullable", None)  # a query value is text or absent, never null
        description = field.pop("description", None)
        parameters.append(openapi.definitions.Parameter(
            name, as_is(field), "query", description=description, required=name in required))
    return parameters


def as_is(schema: dict[str, Any]) -> Schema:
    """A parameter's schema that sanic-ext serves unchanged (a plain dict it would read
    as the properties of an object)."""
    return Schema(**schema)


def json_response(model: type[BaseModel], status: int = 200,
                  description: str = "Success") -> openapi.definitions.Response:
    """A success answer of ``model`` for ``response=`` of ``openapi.definition``."""
    return openapi.definitions.Response({"application/json": {"schema": schema_of(model)}},
                                        status=status, description=description)


def ERRORS(*statuses: int) -> list:
    """OpenAPI responses for the error statuses an endpoint can answer."""
    return [openapi.definitions.Response({"application/json": {"schema": schema_of(ErrorBody)}},
                                         status=status, description=_DESCRIPTIONS[status])
            for status in statuses]


def error_response(status: int) -> dict[str, Any]:
    """One error status as the served document states it (see ``api.contract``)."""
    return {"description": _DESCRIPTIONS[status],
            "content": {"application/json": {"schema": schema_of(ErrorBody)}}}
