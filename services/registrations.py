"""Registrations: register, read, decide, withdraw, export."""

from __future__ import annotations

from models import registrations as registration_records
from models.registrations import Registration
from services import events, plugins


def announce(registrations: list[Registration]) -> None:
    """Tell each registrant, the tenant's staff and the tenant's plugins what changed."""
    if not registrations:
        return
    positions = registration_records.waitlist_positions(registrations)
    changes = [(events.event_of(r),
                registration_records.public_view(r, waitlist_position=positions.get(r.id)),
                r.user_id) for r in registrations]
    tenant_id = registrations[0].tenant_id
    for event, view, user_id in changes:
        events.registration_changed(event, view, tenant_id=tenant_id, user_id=user_id)
    plugins.notify(tenant_id, [(event, view) for event, view, _ in changes])
