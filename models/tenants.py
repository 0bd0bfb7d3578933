"""Tenants: the organisers. Platform-level (not tenant-owned) collection."""

from __future__ import annotations

import re

import mongoengine as me

from meeteasy.errors import Conflict, NotFound, ValidationFailed
from models.base import is_object_id, utcnow

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
STATUSES = ("active", "suspended")


class Tenant(me.Document):
    slug = me.StringField(required=True, unique=True)
    name = me.StringField(required=True, max_length=200)
    status = me.StringField(required=True, choices=STATUSES, default="active")
    created_at = me.DateTimeField(required=True, default=utcnow)
    # Read by id, or by slug (and listed in slug order) through the slug's unique index.
    meta = {"collection": "tenants", "auto_create_index": False}


def create_tenant(slug: str, name: str) -> Tenant:
    slug = slug.strip().lower()
    problems = {}
    if not SLUG.match(slug):
        problems["slug"] = ["Use 1-63 lowercase letters, digits and inner hyphens."]
    if not name.strip():
        problems["name"] = ["A name is required."]
    if problems:
        raise ValidationFailed.for_fields(problems)
    try:
        return Tenant(slug=slug, name=name.strip()).save(force_insert=True)
    except me.NotUniqueError:
        raise Conflict(f"A tenant with slug {slug!r} already exists.", code="tenant_exists")


def get_tenant(tenant_id: str) -> Tenant:
    tenant = Tenant.objects(id=tenant_id).first() if is_object_id(tenant_id) else None
    if tenant is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return tenant


def get_tenant_by_slug(slug: str) -> Tenant:
    tenant = Tenant.objects(slug=slug.strip().lower()).first()
    if tenant is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return tenant


def list_tenants() -> list[Tenant]:
    return list(Tenant.objects.order_by("slug"))
