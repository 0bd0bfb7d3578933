"""/conferences/{id}/sessions, /speakers and /agenda: a conference's programme.

Staff write; anyone of the tenant reads the agenda of a published, ongoing or ended
conference (a draft's or archived one's answers them 404). Speakers' email
addresses are shown to staff only.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.idempotency import idempotent
from api.schemas import ERRORS, json_body, json_response, query_parameters
from api.validation import Body, Query, parse_body, parse_query
from meeteasy.errors import ValidationFailed
from services import agenda
from services.access import STAFF_ROLES

bp = Blueprint("agenda", url_prefix="/conferences")

When = Annotated[AwareDatetime, Field(description="ISO 8601 with an offset, within the "
                                                  "conference's dates.")]
SpeakerIds = Annotated[list[Annotated[str, Field(max_length=64)]],
                       Field(max_length=agenda.MAX_SPEAKERS_PER_SESSION,
                             description="Ids of speakers of the same conference.")]
ErrorsOfRead = ERRORS(401, 404)


def _web_url(value: str) -> str:
    if not agenda.is_web_url(value):
        raise PydanticCustomError("invalid", "Use an http(s) URL.")
    return value


def _email(value: str) -> str:
    try:
        return agenda.normalise_email(value)
    except ValidationFailed:
        raise PydanticCustomError("invalid", "Not an email address.") from None


def _date_text(value):
    # Query values are text, and pydantic would read "0" as a Unix time.
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise PydanticCustomError("invalid", "Use a date as YYYY-MM-DD.")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_text)]
WebUrl = Annotated[str, Field(max_length=2000, description="http(s) URL.",
                              json_schema_extra={"pattern": agenda.WEB_URL.pattern}),
                   AfterValidator(_web_url)]
Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}),
                  AfterValidator(_email)]


# --- bodies --------------------------------------------------------------------------


class SessionCreate(Body):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20000)
    starts_at: When
    ends_at: When
    room: str = Field("", max_length=200, description="Sessions may not overlap in a room.")
    track: str = Field("", max_length=200)
    speaker_ids: SpeakerIds = Field(default_factory=list)


class SessionPatch(Body):
    """Fields left out stay as they are."""

    title: str = Field(None, min_length=1, max_length=300)
    description: str = Field(None, max_length=20000)
    starts_at: When = None
    ends_at: When = None
    room: str = Field(None, max_length=200)
    track: str = Field(None, max_length=200)
    speaker_ids: SpeakerIds = None


class LinkBody(Body):
    label: str = Field("", max_length=100)
    url: WebUrl


Links = Annotated[list[LinkBody], Field(max_length=agenda.MAX_LINKS)]


class SpeakerCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    bio: str = Field("", max_length=10000)
    company: str = Field("", max_length=200)
    title: str = Field("", max_length=200)
    email: Email | None = None
    photo_url: WebUrl | None = None
    links: Links = Field(default_factory=list)


class SpeakerPatch(Body):
    """Fields left out stay as they are; ``email``/``photo_url`` null clears them."""

    name: str = Field(None, min_length=1, max_length=200)
    bio: str = Field(None, max_length=10000)
    company: str = Field(None, max_length=200)
    title: str = Field(None, max_length=200)
    email: Email | None = None
    photo_url: WebUrl | None = None
    links: Links = None


class SessionFilters(Query):
    track: str | None = Field(None, max_length=200)
    room: str | None = Field(None, max_length=200)
    day: IsoDate | None = Field(None, description="YYYY-MM-DD in the conference's time zone.")
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(200, ge=1, le=agenda.MAX_SESSIONS_PAGE)


class PageFilters(Query):
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(200, ge=1, le=agenda.MAX_SPEAKERS_PAGE)


# --- answers -------------------------------------------------------------------------


class SessionView(BaseModel):
    id: str
    conference_id: str
    title: str
    description: str
    starts_at: str
    ends_at: str
    local_starts_at: str = Field(description="starts_at in the conference's time zone.")
    local_ends_at: str
    room: str
    track: str
    speaker_ids: list[str]
    created_at: str
    updated_at: str


class LinkView(BaseModel):
    label: str
    url: str


class SpeakerView(BaseModel):
    id: str
    conference_id: str
    name: str
    bio: str
    company: str
    title: str
    email: str | None = Field(description="Shown to staff only.")
    photo_url: str | None
    links: list[LinkView]
    created_at: str
    updated_at: str


class SessionPage(BaseModel):
    items: list[SessionView]
    total: int
    offset: int
    limit: int


class SpeakerPage(BaseModel):
    items: list[SpeakerView]
    total: int
    offset: int
    limit: int


class Deleted(BaseModel):
    id: str
    deleted: Literal[True]
    unlinked_sessions: int = Field(0, description="Sessions the speaker was removed from.")


class AgendaSession(SessionView):
    speakers: list[SpeakerView]


class AgendaDay(BaseModel):
    date: str = Field(description="YYYY-MM-DD in the conference's time zone.")
    sessions: list[AgendaSession]


class AgendaConference(BaseModel):
    id: str
    title: str
    timezone: str
    status: Literal["draft", "published", "ongoing", "ended", "archived"]
    starts_at: str
    ends_at: str


class AgendaView(BaseModel):
    conference: AgendaConference
    days: list[AgendaDay]


# --- sessions ------------------------------------------------------------------------


@bp.get("/<conference_id:str>/sessions")
@openapi.definition(
    summary="A conference's sessions by start time", tag="agenda",
    parameter=query_parameters(SessionFilters),
    response=[json_response(SessionPage), *ERRORS(401, 404, 422)],
)
@authenticated()
async def list_sessions(request, conference_id: str):
    filters = parse_query(request, SessionFilters)
    caller = request.ctx.principal
    views, total = await offload.run_sync(
        agenda.list_sessions, caller, conference_id, track=filters.track, room=filters.room,
        day=filters.day, offset=filters.offset, limit=filters.limit)
    return json({"items": views, "total": total, "offset": filters.offset,
                 "limit": filters.limit})


@bp.post("/<conference_id:str>/sessions")
@openapi.definition(
    summary="Schedule a session", tag="agenda",
    description="409 `session_overlap` names the session already in that room at that "
                "time; 422 for times outside the conference or unknown speaker ids; 503 "
                "`agenda_busy` if the room's schedule stayed locked by another writer.",
    body=json_body(SessionCreate),
    response=[json_response(SessionView, 201, "Created"),
              *ERRORS(400, 401, 403, 404, 409, 413, 422, 503)],
)
@authenticated(*STAFF_ROLES)
@idempotent
async def create_session(request, conference_id: str):
    body = parse_body(request, SessionCreate)
    caller = request.ctx.principal
    view = await offload.run_sync(agenda.create_session, caller, conference_id,
                                  body.model_dump())
    return json(view, status=201)


@bp.get("/<conference_id:str>/sessions/<session_id:str>")
@openapi.definition(summary="One session", tag="agenda",
                    response=[json_response(SessionView), *ErrorsOfRead])
@authenticated()
async def get_session(request, conference_id: str, session_id: str):
    view = await offload.run_sync(agenda.get_session, request.ctx.principal, conference_id,
                                  session_id)
    return json(view)


@bp.patch("/<conference_id:str>/sessions/<session_id:str>")
@openapi.definition(
    summary="Change a session (times, room, track, speakers...)", tag="agenda",
    body=json_body(SessionPatch),
    response=[json_response(SessionView), *ERRORS(400, 401, 403, 404, 409, 413, 422, 503)],
)
@authenticated(*STAFF_ROLES)
async def update_session(request, conference_id: str, session_id: str):
    body = parse_body(request, SessionPatch)
    caller = request.ctx.principal
    view = await offload.run_sync(agenda.update_session, caller, conference_id, session_id,
                                  body.model_dump(exclude_unset=True))
    return json(view)


@bp.delete("/<conference_id:str>/sessions/<session_id:str>")
@openapi.definition(summary="Remove a session from the agenda", tag="agenda",
                    response=[json_response(Deleted), *ERRORS(401, 403, 404, 409)])
@authenticated(*STAFF_ROLES)
async def delete_session(request, conference_id: str, session_id: str):
    await offload.run_sync(agenda.delete_session, request.ctx.principal, conference_id,
                           session_id)
    return json({"id": session_id, "deleted": True, "unlinked_sessions": 0})


# --- speakers ------------------------------------------------------------------------


@bp.get("/<conference_id:str>/speakers")
@openapi.definition(summary="A conference's speakers by name", tag="agenda",
                    parameter=query_parameters(PageFilters),
                    response=[json_response(SpeakerPage), *ERRORS(401, 404, 422)])
@authenticated()
async def list_speakers(request, conference_id: str):
    filters = parse_query(request, PageFilters)
    caller = request.ctx.principal
    views, total = await offload.run_sync(agenda.list_speakers, caller, conference_id,
                                          offset=filters.offset, limit=filters.limit)
    return json({"items": views, "total": total, "offset": filters.offset,
                 "limit": filters.limit})


@bp.post("/<conference_id:str>/speakers")
@openapi.definition(summary="Add a speaker profile", tag="agenda",
                    body=json_body(SpeakerCreate),
                    response=[json_response(SpeakerView, 201, "Created"),
                              *ERRORS(400, 401, 403, 404, 409, 413, 422)])
@authenticated(*STAFF_ROLES)
@idempotent
async def create_speaker(request, conference_id: str):
    body = parse_body(request, SpeakerCreate)
    caller = request.ctx.principal
    view = await offload.run_sync(agenda.create_speaker, caller, conference_id,
                                  body.model_dump())
    return json(view, status=201)


@bp.get("/<conference_id:str>/speakers/<speaker_id:str>")
@openapi.definition(summary="One speaker", tag="agenda",
                    response=[json_response(SpeakerView), *ErrorsOfRead])
@authenticated()
async def get_speaker(request, conference_id: str, speaker_id: str):
    view = await offload.run_sync(agenda.get_speaker, request.ctx.principal, conference_id,
                                  speaker_id)
    return json(view)


@bp.patch("/<conference_id:str>/speakers/<speaker_id:str>")
@openapi.definition(summary="Change a speaker's profile", tag="agenda",
                    body=json_body(SpeakerPatch),
                    response=[json_response(SpeakerView),
                              *ERRORS(400, 401, 403, 404, 409, 413, 422)])
@authenticated(*STAFF_ROLES)
async def update_speaker(request, conference_id: str, speaker_id: str):
    body = parse_body(request, SpeakerPatch)
    caller = request.ctx.principal
    view = await offload.run_sync(agenda.update_speaker, caller, conference_id, speaker_id,
                                  body.model_dump(exclude_unset=True))
    return json(view)


@bp.delete("/<conference_id:str>/speakers/<speaker_id:str>")
@openapi.definition(summary="Delete a speaker, unlinking them from their sessions",
                    tag="agenda", response=[json_response(Deleted), *ERRORS(401, 403, 404, 409)])
@authenticated(*STAFF_ROLES)
async def delete_speaker(request, conference_id: str, speaker_id: str):
    unlinked = await offload.run_sync(agenda.delete_speaker, request.ctx.principal,
                                      conference_id, speaker_id)
    return json({"id": speaker_id, "deleted": True, "unlinked_sessions": unlinked})


# --- the agenda ----------------------------------------------------------------------


@bp.get("/<conference_id:str>/agenda")
@openapi.definition(
    summary="The programme: sessions grouped by day, speakers embedded", tag="agenda",
    description="Days are dates in the conference's time zone; sessions within a day are "
                "ordered by start time, then room.",
    response=[json_response(AgendaView), *ErrorsOfRead],
)
@authenticated()
async def get_agenda(request, conference_id: str):
    return json(await offload.run_sync(agenda.agenda, request.ctx.principal, conference_id))
