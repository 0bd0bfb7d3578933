"""`meeteasy tenants`: create and list tenants (platform operators)."""

from __future__ import annotations

import click

from cli.context import with_database
from services import platform
from services.tenants import create_tenant, list_tenants


@click.group()
def tenants() -> None:
    """Manage tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@with_database
def create(slug: str, name: str) -> None:
    """Create tenant SLUG."""
    platform.ensure_indexes()
    tenant = create_tenant(slug, name)
    click.echo(f"created tenant {tenant.slug} ({tenant.id})")


@tenants.command("list")
@with_database
def list_() -> None:
    """List tenants."""
    for tenant in list_tenants():
        click.echo(f"{tenant.slug}\t{tenant.status}\t{tenant.id}\t{tenant.name}")
