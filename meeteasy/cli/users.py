"""`meeteasy users`: bootstrap accounts."""

from __future__ import annotations

import click

from meeteasy.cli.context import with_database
from models import tenants as tenant_store
from models import users as user_store

ROLES = list(user_store.TENANT_ROLES) + [user_store.PLATFORM_ADMIN]


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
    tenant = tenant_store.get_tenant_by_slug(tenant_slug)
    user = user_store.create_user(str(tenant.id), email, password, list(roles), name)
    click.echo(f"user {user.email} ({user.id}) has roles {', '.join(roles)} in {tenant.slug}")
