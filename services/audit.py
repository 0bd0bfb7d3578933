"""The audit log as staff read it: who changed what in a conference and its agenda."""

from __future__ import annotations

from models import audit as audit_records
from models.audit import MAX_PAGE, TARGET_TYPES  # noqa: F401  (the API's limits)
from services.access import Caller, conference_for


def conference_history(caller: Caller, conference_id: str, *, offset: int,
                       limit: int) -> tuple[list[dict], int]:
    """A page of the conference's entries (its own and its agenda's), oldest first, and
    the total."""
    conference = conference_for(caller, conference_id)
    entries, total = audit_records.list_for_conference(caller.tenant_id, str(conference.id),
                                                       offset=offset, limit=limit)
    return [audit_records.public_view(e) for e in entries], total
