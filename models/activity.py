"""A tenant's activity feed, written by the activity_log plugin."""

from __future__ import annotations

import mongoengine as me

from models.base import TenantDocument, utcnow


class ActivityEntry(TenantDocument):
    hook = me.StringField(required=True)
    registration_id = me.StringField(required=True)
    conference_id = me.StringField(required=True)
    status = me.StringField(required=True)
    at = me.DateTimeField(required=True, default=utcnow)
    meta = {"collection": "activity", "indexes": [("tenant_id", "conference_id", "at"),
                                                  ("tenant_id", "registration_id", "at")]}


def record(tenant_id: str, hook: str, registration: dict) -> ActivityEntry:
    return ActivityEntry(tenant_id=tenant_id, hook=hook, registration_id=registration["id"],
                         conference_id=registration["conference_id"],
                         status=registration["status"]).save(force_insert=True)


def for_registration(tenant_id: str, registration_id: str) -> list[ActivityEntry]:
    return list(ActivityEntry.objects(tenant_id=tenant_id, registration_id=registration_id).order_by("at"))
