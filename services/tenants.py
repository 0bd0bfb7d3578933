"""Tenants, for platform operators (the CLI): create, list, and find one by slug."""

from __future__ import annotations

from models import tenants as tenant_records
from models.tenants import Tenant


def create_tenant(slug: str, name: str) -> Tenant:
    """A new tenant (400 on a bad slug or name, 409 when the slug is taken)."""
    return tenant_records.create_tenant(slug, name)


def list_tenants() -> list[Tenant]:
    """Every tenant, in slug order."""
    return tenant_records.list_tenants()


def get_tenant_by_slug(slug: str) -> Tenant:
    """The tenant with this slug (404 otherwise)."""
    return tenant_records.get_tenant_by_slug(slug)
