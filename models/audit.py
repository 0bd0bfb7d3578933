"""Who changed what: an append-only, tenant-scoped log of staff (and beat) actions.

The CRUD functions of other modules write an entry after each change they make;
nothing updates or deletes entries. ``conference_id`` files every entry under the
conference it concerns (the conference itself, or one of its sessions or speakers),
so that a conference's history is one indexed query.
"""

from __future__ import annotations

from typing import Any

import mongoengine as me

from models.base import TenantDocument, iso, utcnow

SYSTEM_ACTOR = "system:beat"
MAX_PAGE = 200


class AuditLog(TenantDocument):
    actor = me.StringField(required=True)  # a user id, or SYSTEM_ACTOR
    action = me.StringField(required=True)  # e.g. "conference.updated"
    target_type = me.StringField(required=True)
    target_id = me.StringField(required=True)
    conference_id = me.StringField(null=True)
    changes = me.DictField()
    at = me.DateTimeField(required=True, default=utcnow)
    meta = {
        "collection": "audit_log",
        "indexes": [
            ("tenant_id", "conference_id", "at"),
            ("tenant_id", "target_type", "target_id", "at"),
        ],
    }


# What an entry can be about; the API's audit answer lists exactly these.
TARGET_TYPES = ("conference", "session", "speaker", "seat_map", "registration")


def record(tenant_id: str, actor: str, action: str, target_type: str, target_id: str, *,
           conference_id: str | None = None, changes: dict[str, Any] | None = None) -> AuditLog:
    """Append one entry. ``changes`` must be JSON-ready (``{field: {"from": x, "to": y}}``
    for an update, the stored values for a creation)."""
    assert target_type in TARGET_TYPES, target_type
    return AuditLog(tenant_id=tenant_id, actor=actor, action=action, target_type=target_type,
                    target_id=target_id, conference_id=conference_id,
                    changes=changes or {}).save(force_insert=True)


def list_for_conference(tenant_id: str, conference_id: str, *, offset: int = 0,
                        limit: int = 50) -> tuple[list[AuditLog], int]:
    """A conference's history (its own entries and its agenda's), oldest first, and the total."""
    found = AuditLog.objects(tenant_id=tenant_id, conference_id=conference_id).order_by("at", "id")
    limit = max(1, min(limit, MAX_PAGE))
    return list(found.skip(max(0, offset)).limit(limit)), found.count()


def public_view(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "changes": entry.changes,
        "at": iso(entry.at),
    }
