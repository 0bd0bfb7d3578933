"""`meeteasy registrations`: operators rebuild registrations' hot state after a Redis loss."""

from __future__ import annotations

import click

from cli.context import with_database
from services.registrations import rebuild_hot_state
from services.tenants import get_tenant_by_slug


@click.group()
def registrations() -> None:
    """Operate registrations' state in Redis."""


@registrations.command("rebuild")
@click.option("--tenant", "tenant_slug", help="Only this tenant's conferences.")
@with_database
def rebuild(tenant_slug: str | None) -> None:
    """After losing Redis (or to check it): rebuild each conference's registration
    counters, waitlist and policy queue from MongoDB, once the flusher stored every
    change. Run `meeteasy jobs restore-hot-state` first; running it twice is harmless."""
    tenant_id = str(get_tenant_by_slug(tenant_slug).id) if tenant_slug else None
    click.echo(f"{rebuild_hot_state(tenant_id)} conferences rebuilt")
