"""/jobs: the source of truth for asynchronous work. Push is a hint; this is what
a client polls, and how it catches up after being away (``since``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.schemas import ERRORS, JobPage, JobView, json_response, query_parameters
from api.validation import Query, parse_query
from services import jobs
from services.jobs import Job

bp = Blueprint("jobs", url_prefix="/jobs")


def job_json(job: Job) -> dict:
    return {**jobs.public_view(job), "status_url": f"/jobs/{job.id}"}


def accepted(job: Job, **extra) -> dict:
    """The body of a 202: the job, where to poll it, and what else the route returns."""
    return {"job_id": job.id, "status_url": f"/jobs/{job.id}", "job": job_json(job), **extra}


class JobFilters(Query):
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None
    kind: str | None = Field(None, max_length=100)
    since: str | None = Field(None, pattern=jobs.CURSOR.pattern,
                              description="`next_cursor` of the last page.")
    limit: int = Field(50, ge=1, le=jobs.MAX_PAGE)


@bp.get("/")
@openapi.definition(
    summary="Jobs changed since a cursor, oldest change first", tag="jobs",
    parameter=query_parameters(JobFilters),
    response=[json_response(JobPage),
              *ERRORS(401, 422)],
)
@authenticated()
async def list_jobs(request):
    filters = parse_query(request, JobFilters)
    found, next_cursor = await offload.run_sync(
        jobs.list_jobs, request.ctx.principal, state=filters.state, kind=filters.kind,
        since=filters.since, limit=filters.limit)
    return json({"items": [job_json(job) for job in found], "next_cursor": next_cursor})


@bp.get("/<job_id:str>")
@openapi.definition(
    summary="One job", tag="jobs",
    response=[json_response(JobView),
              *ERRORS(401, 404)],
)
@authenticated()
async def get_job(request, job_id: str):
    return json(job_json(await offload.run_sync(jobs.get_job, request.ctx.principal, job_id)))


@bp.post("/<job_id:str>/cancel")
@openapi.definition(
    summary="Cancel a job: at once if queued, at its next step if running", tag="jobs",
    response=[json_response(JobView),
              *ERRORS(401, 404, 409)],
)
@authenticated()
async def cancel_job(request, job_id: str):
    return json(job_json(await offload.run_sync(jobs.cancel_job, request.ctx.principal, job_id)))
