"""Idempotency-Key records: a retried creating POST gets the first answer back.

The unique index on (tenant, user, key) is the lock: the first request inserts an
`in_progress` record, a concurrent duplicate finds it and gets 409, a later replay
finds it `done` and receives the stored response. Records expire after a day.
"""

from __future__ import annotations

from datetime import timedelta

import mongoengine as me

from models.base import TenantDocument, utcnow

RETENTION = timedelta(hours=24)
# No request runs this long; an older `in_progress` record belongs to a web process
# that died mid-request, and holding its key for a day would block every retry.
ABANDONED_AFTER = timedelta(seconds=120)


class IdempotencyRecord(TenantDocument):
    user_id = me.StringField(required=True)
    key = me.StringField(required=True, max_length=200)
    fingerprint = me.StringField(required=True)
    state = me.StringField(required=True, choices=("in_progress", "done"), default="in_progress")
    status = me.IntField(null=True)
    body = me.DictField(null=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    meta = {
        "collection": "idempotency_records",
        "indexes": [
            {"fields": ("tenant_id", "user_id", "key"), "unique": True},
            ("tenant_id", "user_id", "key", "state", "created_at"),  # conditional deletes
            {"fields": ["created_at"], "expireAfterSeconds": int(RETENTION.total_seconds())},
        ],
    }


def begin(tenant_id: str, user_id: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Claim the key for this request: None when claimed, else the earlier record."""
    try:
        IdempotencyRecord(tenant_id=tenant_id, user_id=user_id, key=key,
                          fingerprint=fingerprint).save(force_insert=True)
        return None
    except me.NotUniqueError:
        record = IdempotencyRecord.objects(tenant_id=tenant_id, user_id=user_id, key=key).first()
        if record is None:  # expired between the insert and the read: claim again
            return begin(tenant_id, user_id, key, fingerprint)
        if record.state == "in_progress" and record.created_at < utcnow() - ABANDONED_AFTER:
            # Take the key over from the dead request (conditional, so only one retry does).
            if IdempotencyRecord.objects(tenant_id=tenant_id, user_id=user_id, key=key,
                                         state="in_progress", created_at=record.created_at).delete():
                return begin(tenant_id, user_id, key, fingerprint)
        return record


def complete(tenant_id: str, user_id: str, key: str, status: int, body: dict) -> None:
    IdempotencyRecord.objects(tenant_id=tenant_id, user_id=user_id, key=key).update_one(
        set__state="done", set__status=status, set__body=body)


def abandon(tenant_id: str, user_id: str, key: str) -> None:
    """The request failed: free the key so that the client's retry runs for real."""
    IdempotencyRecord.objects(tenant_id=tenant_id, user_id=user_id, key=key,
                              state="in_progress").delete()
