"""A tenant's activity feed, written by the activity_log plugin."""

from __future__ import annotations

import mongoengine as me

from models.base import TenantDocument, utcnow


class ActivityEntry(TenantDocument):
    event_id = me.StringField(required=True)
    hook = me.StringField(required=True)
    registration_id = me.StringField(required=True)
    conference_id = me.StringField(required=True)
    status = me.StringField(required=True)
    at = me.DateTimeField(required=True, default=utcnow)
    meta = {"collection": "activity", "indexes": [
        {"fields": ("tenant_id", "event_id"), "unique": True},  # one entry per event
        ("tenant_id", "conference_id", "at"),
        ("tenant_id", "registration_id", "at"),
    ]}


def record(tenant_id: str, hook: str, registration: dict, event_id: str) -> None:
    """Idempotent: a redelivered event is recorded once."""
    ActivityEntry.objects(tenant_id=tenant_id, event_id=event_id).update_one(
        upsert=True, set_on_insert__hook=hook, set_on_insert__registration_id=registration["id"],
        set_on_insert__conference_id=registration["conference_id"],
        set_on_insert__status=registration["status"], set_on_insert__at=utcnow())


def for_registration(tenant_id: str, registration_id: str) -> list[ActivityEntry]:
    return list(ActivityEntry.objects(tenant_id=tenant_id, registration_id=registration_id).order_by("at"))
