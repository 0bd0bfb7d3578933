"""A conference's programme: its sessions, its speakers and the day-by-day agenda.

Staff write; anyone of the tenant reads the agenda of a conference they can see
(:func:`services.access.conference_for`: attendees only published, ongoing and ended
ones). Speakers' email addresses are shown to staff only.
"""

from __future__ import annotations

from datetime import date

from models import agenda as agenda_records
from models import conferences, sessions, speakers
from models.base import normalise_email  # noqa: F401  (the API's field checks)
from models.sessions import MAX_PAGE as MAX_SESSIONS_PAGE  # noqa: F401  (the API's limits)
from models.sessions import MAX_SPEAKERS_PER_SESSION  # noqa: F401
from models.speakers import MAX_LINKS, WEB_URL, is_web_url  # noqa: F401
from models.speakers import MAX_PAGE as MAX_SPEAKERS_PAGE  # noqa: F401
from services.access import Caller, conference_for


# --- sessions ------------------------------------------------------------------------


def list_sessions(caller: Caller, conference_id: str, *, track: str | None, room: str | None,
                  day: date | None, offset: int, limit: int) -> tuple[list[dict], int]:
    """A page of sessions by start time (``day`` in the conference's time zone), and the
    total."""
    conference = conference_for(caller, conference_id)
    found, total = sessions.list_sessions(
        caller.tenant_id, str(conference.id), track=track, room=room, day=day,
        timezone=conference.timezone, offset=offset, limit=limit)
    return [sessions.session_view(s, conference.timezone) for s in found], total


def create_session(caller: Caller, conference_id: str, fields: dict) -> dict:
    session = sessions.create_session(caller.tenant_id, conference_id, actor=caller.user_id,
                                      **fields)
    conference = conferences.get_conference(caller.tenant_id, conference_id)
    return sessions.session_view(session, conference.timezone)


def get_session(caller: Caller, conference_id: str, session_id: str) -> dict:
    conference = conference_for(caller, conference_id)
    session = sessions.get_session(caller.tenant_id, str(conference.id), session_id)
    return sessions.session_view(session, conference.timezone)


def update_session(caller: Caller, conference_id: str, session_id: str, changes: dict) -> dict:
    session = sessions.update_session(caller.tenant_id, conference_id, session_id, changes,
                                      actor=caller.user_id)
    conference = conferences.get_conference(caller.tenant_id, conference_id)
    return sessions.session_view(session, conference.timezone)


def delete_session(caller: Caller, conference_id: str, session_id: str) -> None:
    sessions.delete_session(caller.tenant_id, conference_id, session_id, actor=caller.user_id)


# --- speakers ------------------------------------------------------------------------


def list_speakers(caller: Caller, conference_id: str, *, offset: int,
                  limit: int) -> tuple[list[dict], int]:
    """A page of speakers by name, and the total."""
    conference = conference_for(caller, conference_id)
    found, total = speakers.list_speakers(caller.tenant_id, str(conference.id), offset=offset,
                                          limit=limit)
    return [speakers.speaker_view(s, staff=caller.is_staff) for s in found], total


def create_speaker(caller: Caller, conference_id: str, fields: dict) -> dict:
    speaker = speakers.create_speaker(caller.tenant_id, conference_id, actor=caller.user_id,
                                      **fields)
    return speakers.speaker_view(speaker, staff=True)


def get_speaker(caller: Caller, conference_id: str, speaker_id: str) -> dict:
    conference = conference_for(caller, conference_id)
    speaker = speakers.get_speaker(caller.tenant_id, str(conference.id), speaker_id)
    return speakers.speaker_view(speaker, staff=caller.is_staff)


def update_speaker(caller: Caller, conference_id: str, speaker_id: str, changes: dict) -> dict:
    speaker = speakers.update_speaker(caller.tenant_id, conference_id, speaker_id, changes,
                                      actor=caller.user_id)
    return speakers.speaker_view(speaker, staff=True)


def delete_speaker(caller: Caller, conference_id: str, speaker_id: str) -> int:
    """Delete the speaker; how many sessions they were unlinked from."""
    return agenda_records.delete_speaker(caller.tenant_id, conference_id, speaker_id,
                                         actor=caller.user_id)


# --- the agenda ----------------------------------------------------------------------


def agenda(caller: Caller, conference_id: str) -> dict:
    """The whole programme by day in the conference's time zone, speakers embedded."""
    return agenda_records.agenda(caller.tenant_id, conference_for(caller, conference_id),
                                 staff=caller.is_staff)
