"""`meeteasy tenants`: create and list tenants (platform operators)."""

from __future__ import annotations

import click

from meeteasy.cli.context import with_database
from models import tenants as tenant_store


@click.group()
def tenants() -> None:
    """Manage tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@with_database
def create(slug: str, name: str) -> None:
    """Create tenant SLUG."""
    import models

    models.ensure_indexes()
    tenant = tenant_store.create_tenant(slug, name)
    click.echo(f"created tenant {tenant.slug} ({tenant.id})")


@tenants.command("list")
@with_database
def list_() -> None:
    """List tenants."""
    for tenant in tenant_store.list_tenants():
        click.echo(f"{tenant.slug}\t{tenant.status}\t{tenant.id}\t{tenant.name}")
