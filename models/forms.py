"""Registration forms: AMIS schemas stored per conference, one immutable version per save.

A registration records the version it answered, so changing a form never
changes what an earlier registrant was asked. The schema is stored as JSON
text: it is opaque to queries, and AMIS keys need not be valid MongoDB names.
"""

from __future__ import annotations

import copy
import json

import mongoengine as me

from meeteasy.cache import Versioned
from meeteasy.errors import NotFound
from models import amis
from models.base import TenantDocument, utcnow


# A conference's current form, kept per process until a new version is saved.
CACHE = Versioned("form")


class RegistrationForm(TenantDocument):
    conference_id = me.StringField(required=True)
    version = me.IntField(required=True, min_value=1)
    schema_json = me.StringField(required=True)
    warnings = me.ListField(me.StringField())
    created_by = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "registration_forms",
        "indexes": [
            # the versions of a conference's form (newest first), one version; unique, so
            # two staff saving at once never get the same number
            {"fields": ("tenant_id", "conference_id", "version"), "unique": True},
        ],
    }

    @property
    def schema(self) -> dict:
        return json.loads(self.schema_json)


def public_view(form: RegistrationForm) -> dict:
    return {
        "id": str(form.id),
        "conference_id": form.conference_id,
        "version": form.version,
        "schema": form.schema,
        "warnings": list(form.warnings),
        "created_by": form.created_by,
        "created_at": form.created_at.isoformat().replace("+00:00", "Z"),
    }


def save_version(tenant_id: str, conference_id: str, schema: dict, created_by: str) -> RegistrationForm:
    """Check ``schema`` (422 if it is not an AMIS form) and store it as the next version."""
    warnings = amis.check_form_schema(schema)
    text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    for _ in range(5):  # two staff saving at once: the unique index decides who gets which number
        latest = _latest(tenant_id, conference_id)
        try:
            saved = RegistrationForm(
                tenant_id=tenant_id, conference_id=conference_id,
                version=(latest.version + 1) if latest else 1, schema_json=text, warnings=warnings,
                created_by=created_by).save(force_insert=True)
        except me.NotUniqueError:
            continue
        CACHE.changed(tenant_id, conference_id)
        return saved
    raise me.NotUniqueError("could not allocate a form version")


def current(tenant_id: str, conference_id: str) -> RegistrationForm | None:
    """The newest version, from this process's copy while no newer one was saved."""
    return CACHE.get((tenant_id, conference_id), lambda: _stored_latest(tenant_id, conference_id),
                     _copy)


def _latest(tenant_id: str, conference_id: str) -> RegistrationForm | None:
    return RegistrationForm.objects(tenant_id=tenant_id, conference_id=conference_id) \
        .order_by("-version").first()


def _stored_latest(tenant_id: str, conference_id: str) -> dict | None:
    latest = _latest(tenant_id, conference_id)
    return latest.to_mongo().to_dict() if latest else None


def _copy(stored: dict | None) -> RegistrationForm | None:
    return RegistrationForm._from_son(copy.deepcopy(stored)) if stored else None


def get_version(tenant_id: str, conference_id: str, version: int) -> RegistrationForm:
    form = RegistrationForm.objects(tenant_id=tenant_id, conference_id=conference_id,
                                    version=version).first()
    if form is None:
        raise NotFound("No such form version.", code="form_not_found")
    return form


def list_versions(tenant_id: str, conference_id: str) -> list[RegistrationForm]:
    return list(RegistrationForm.objects(tenant_id=tenant_id, conference_id=conference_id)
                .order_by("-version"))
