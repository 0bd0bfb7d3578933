"""`meeteasy users`: bootstrap accounts."""

from __future__ import annotations

import click

from cli.context import with_database
from services import identity
from services.tenants import get_tenant_by_slug

ROLES = list(identity.TENANT_ROLES) + [identity.PLATFORM_ADMIN]


@click.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--email", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", type=click.Choice(ROLES), multiple=True, required=True,
              help="Repeat for several roles.")
@click.option("--name", default="")
@with_database
def create(tenant_slug: str, email: str, password: str, roles: tuple[str, ...], name: str) -> None:
    """Create a user (or give an existing one more roles) in a tenant."""
    tenant = get_tenant_by_slug(tenant_slug)
    user = identity.create_user(str(tenant.id), email, password, list(roles), name)
    click.echo(f"user {user.email} ({user.id}) has roles {', '.join(roles)} in {tenant.slug}")
