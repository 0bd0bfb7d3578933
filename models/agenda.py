"""A conference's programme as a whole: its sessions with their speakers, day by day,
and what spans both collections (deleting a speaker unlinks them from their sessions).
"""

from __future__ import annotations

from meeteasy.errors import NotFound
from models import audit
from models.base import iso
from models.conferences import Conference, get_changeable
from models.sessions import Session, group_by_day, session_view, unlink_speaker
from models.speakers import Speaker, get_speaker, speaker_snapshot, speaker_view, speakers_by_id


def delete_speaker(tenant_id: str, conference_id: str, speaker_id: str, *, actor: str) -> int:
    """Delete the speaker and unlink them from every session; returns how many sessions
    lost them. Deleting first means a session written later finds them gone
    (see ``models.sessions._drop_vanished_speakers``)."""
    get_changeable(tenant_id, conference_id)
    speaker = get_speaker(tenant_id, conference_id, speaker_id)
    if not Speaker.objects(tenant_id=tenant_id, conference_id=conference_id,
                           id=speaker.id).delete():
        raise NotFound("No such speaker.", code="speaker_not_found")
    unlinked = unlink_speaker(tenant_id, conference_id, str(speaker.id))
    audit.record(tenant_id, actor, "speaker.deleted", "speaker", str(speaker.id),
                 conference_id=conference_id,
                 changes={**speaker_snapshot(speaker), "unlinked_sessions": unlinked})
    return unlinked


def agenda(tenant_id: str, conference: Conference, *, staff: bool) -> dict:
    """The whole programme: days in the conference's time zone, each session with its
    speakers' profiles embedded."""
    sessions = list(Session.objects(tenant_id=tenant_id, conference_id=str(conference.id))
                    .order_by("starts_at", "room_key", "id"))
    speakers = speakers_by_id(tenant_id, str(conference.id),
                              [i for s in sessions for i in s.speaker_ids])
    days = []
    for day, day_sessions in group_by_day(sessions, conference.timezone):
        days.append({"date": day.isoformat(), "sessions": [
            {**session_view(s, conference.timezone),
             "speakers": [speaker_view(speakers[i], staff=staff) for i in s.speaker_ids
                          if i in speakers]}
            for s in day_sessions]})
    return {"conference": {"id": str(conference.id), "title": conference.title,
                           "timezone": conference.timezone, "status": conference.status,
                           "starts_at": iso(conference.starts_at),
                           "ends_at": iso(conference.ends_at)},
            "days": days}
