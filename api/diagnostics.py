"""/diagnostics: operators' checks of the running platform."""

from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.idempotency import idempotent
from api.jobs import accepted
from api.schemas import ERRORS, JobAccepted, json_body, json_response
from api.validation import Body, parse_body
from services import diagnostics

bp = Blueprint("diagnostics", url_prefix="/diagnostics")


class PingBody(Body):
    hold_seconds: int = Field(0, ge=0, le=60, description=(
        "Keep the job running this long, reporting progress each second."))


@bp.post("/ping")
@openapi.definition(
    summary="Round-trip a job through a worker", tag="diagnostics",
    description="The job's result names the worker, the queue delay and the Redis and "
                "MongoDB versions the worker sees.",
    body=json_body(PingBody),
    response=[json_response(JobAccepted, status=202, description="Accepted: follow the job"),
              *ERRORS(400, 401, 403, 409, 413, 422, 429, 503)],
)
@authenticated("tenant_admin")
@idempotent
async def ping(request):
    body = parse_body(request, PingBody)
    job = await offload.run_sync(diagnostics.ping, request.ctx.principal, body.hold_seconds,
                                 request.headers.get("Idempotency-Key"))
    return json(accepted(job), status=202)
