"""Files produced by export jobs (CSV), kept a week for download."""

from __future__ import annotations

from datetime import timedelta

import mongoengine as me

from meeteasy.errors import NotFound
from models.base import TenantDocument, utcnow

RETENTION = timedelta(days=7)


class ExportFile(TenantDocument):
    job_id = me.StringField(required=True)
    user_id = me.StringField(required=True)
    filename = me.StringField(required=True)
    content_type = me.StringField(required=True, default="text/csv")
    content = me.StringField(required=True)
    rows = me.IntField(default=0)
    created_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "export_files",
        "indexes": [
            # an export job's file: stored (upsert) and downloaded by job id
            {"fields": ("tenant_id", "job_id"), "unique": True},
            # expiry only (a TTL index serves no query)
            {"fields": ["created_at"], "expireAfterSeconds": int(RETENTION.total_seconds())},
        ],
    }


def store_export(tenant_id: str, job_id: str, user_id: str, filename: str, content: str,
                 rows: int) -> ExportFile:
    """Idempotent: a re-run of the same job replaces its file."""
    return ExportFile.objects(tenant_id=tenant_id, job_id=job_id).modify(
        upsert=True, new=True, set__user_id=user_id, set__filename=filename, set__content=content,
        set__rows=rows, set__created_at=utcnow())


def get_export(tenant_id: str, job_id: str) -> ExportFile:
    found = ExportFile.objects(tenant_id=tenant_id, job_id=job_id).first()
    if found is None:
        raise NotFound("No such export (they are kept for 7 days).", code="export_not_found")
    return found
