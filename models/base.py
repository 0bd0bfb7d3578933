"""What every document shares, and the guard that keeps tenants apart.

A tenant-owned document subclasses :class:`TenantDocument`. Its queryset refuses to
run any query without ``tenant_id``, and ``tenant_id`` is declared as the shard key
so that mongoengine adds it to the filters of save/reload/delete too. The CRUD
functions in this package take ``tenant_id`` explicitly; nothing else queries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import mongoengine as me
from email_validator import EmailNotValidError, validate_email
from mongoengine.queryset import QuerySet

from meeteasy.errors import ValidationFailed


def iso(moment: datetime | None) -> str | None:
    """A stored time as the API writes it: ISO 8601 in UTC with a Z."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # a connection without tz_aware: MongoDB stores UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def is_object_id(value) -> bool:
    """Whether ``value`` is an id as MeetEasy writes them (24 lower-case hex digits); a
    malformed id in a path answers 404 without a query."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{24}", value) is not None


def normalise_email(email: str) -> str:
    """An email address as MeetEasy stores and compares it (users, speakers…); 422 if it
    is not one."""
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationFailed.for_fields({"email": [str(error)]})


def validate_document(document: me.Document) -> None:
    """mongoengine's own field rules (lengths, choices), as a 422 instead of a 500."""
    try:
        document.validate()
    except me.ValidationError as error:
        raise ValidationFailed.for_fields(flatten_errors(error.to_dict()))


def flatten_errors(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for name, problem in errors.items():
        if isinstance(problem, dict):
            flat.update(flatten_errors(problem, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = [str(problem)]
    return flat


def snapshot_diff(before: dict, after: dict) -> dict:
    """What changed between two snapshots, as the audit log records it."""
    return {name: {"from": before[name], "to": value} for name, value in after.items()
            if value != before[name]}


def utcnow() -> datetime:
    # Mongo keeps milliseconds; truncating here keeps in-memory and stored values equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class UnscopedQuery(RuntimeError):
    """A programming error: a tenant-owned collection was queried without tenant_id."""


class TenantQuerySet(QuerySet):
    _across_tenants = False

    def across_tenants(self) -> TenantQuerySet:
        """Lift the guard, for platform operations only (the reaper, /admin/)."""
        clone = self.clone()
        clone._across_tenants = True
        return clone

    def _clone_into(self, new_qs):
        new_qs = super()._clone_into(new_qs)
        new_qs._across_tenants = self._across_tenants
        return new_qs

    @property
    def _query(self):
        query = super()._query
        if not self._across_tenants and not _names_tenant(query):
            raise UnscopedQuery(f"{self._document.__name__} queried without tenant_id: {query}")
        return query

    def in_bulk(self, object_ids):
        """mongoengine's ``in_bulk`` queries the collection by ids alone, skipping the
        filters (and so the guard); here it goes through them like every other read."""
        return {document.pk: document for document in self.filter(pk__in=list(object_ids))}


def _names_tenant(query: dict) -> bool:
    # An empty tenant_id is as unscoped as a missing one (a lost token claim, a blank form).
    if isinstance(query.get("tenant_id"), str) and query["tenant_id"]:
        return True
    return any(_names_tenant(part) for part in query.get("$and", ()))


class TenantDocument(me.Document):
    tenant_id = me.StringField(required=True)
    meta = {
        "abstract": True,
        "queryset_class": TenantQuerySet,
        "shard_key": ("tenant_id",),
        "auto_create_index": False,
    }


def all_documents() -> list[type[me.Document]]:
    from mongoengine.base import _document_registry

    return [doc for doc in _document_registry.values()
            if issubclass(doc, me.Document) and not doc._meta.get("abstract")]
