"""Invite codes: a `rules` conference approves a registration that brings a valid one.
Staff make and list them; the approval pass spends them (:mod:`services.decisions`)."""

from __future__ import annotations

from models import invites as invite_records
from services.access import Caller, conference_for, require_staff


def create_codes(caller: Caller, conference_id: str, *, count: int, max_uses: int,
                 label: str) -> list[dict]:
    """Make ``count`` codes of a conference, each good for ``max_uses`` registrations."""
    require_staff(caller, "create invite codes")
    conference = conference_for(caller, conference_id)
    return [invite_records.public_view(code) for code in invite_records.create_codes(
        caller.tenant_id, str(conference.id), count=count, max_uses=max_uses, label=label,
        created_by=caller.user_id)]


def list_codes(caller: Caller, conference_id: str) -> list[dict]:
    """A conference's invite codes and how much each was used."""
    require_staff(caller, "list invite codes")
    conference = conference_for(caller, conference_id)
    return [invite_records.public_view(code)
            for code in invite_records.list_codes(caller.tenant_id, str(conference.id))]
