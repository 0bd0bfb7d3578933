"""Response shapes shared by several blueprints, for the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from sanic_ext import openapi


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int


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
    413: "Body larger than MEETEASY_MAX_BODY_BYTES",
    422: "Invalid fields; details.fields names each one",
    503: "A backing service is unavailable",
}


def ERRORS(*statuses: int) -> list:
    """OpenAPI responses for the error statuses an endpoint can answer."""
    return [openapi.definitions.Response({"application/json": ErrorBody}, status=status,
                                         description=_DESCRIPTIONS[status])
            for status in statuses]
