"""Delivering hook events to plugins, off the path of the work that fired them."""

from __future__ import annotations

from plugins import registry
from tasks.app import app
from tasks.base import ensure_process_ready


@app.task(name="plugins.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver(tenant_id: str, hook: str, arguments: dict) -> dict:
    """Fire ``hook`` to the tenant's enabled plugins; a plugin's failure is logged, not raised."""
    ensure_process_ready()
    return registry.fire(tenant_id, hook, **arguments)
