"""Plugins: which ones a tenant uses, and telling them what happened.

Hook events reach plugins through tracked jobs (``plugins.deliver`` on the
``plugins`` queue): the work that fired them never waits for a plugin, a failed
delivery shows in ``GET /jobs`` like any job, and an operator can retry it.
Decision hooks (``registration.approval_rule``) are asked directly, outside the
conference lock, by the approval pass (:func:`services.decisions.plugin_answers`).
"""

from __future__ import annotations

import logging
import uuid

from meeteasy.errors import NotFound, ServiceUnavailable
from models import plugins as plugin_activations
from plugins import registry
from plugins.hooks import HOOKS
from services.access import Caller
from services.jobs import start_job

log = logging.getLogger(__name__)
# Deliveries are platform work, not any one person's: they are listed to staff only.
DELIVERY_OWNER = "system"


def list_plugins(caller: Caller) -> list[dict]:
    """Every installed plugin, and whether (and how) the caller's tenant uses it."""
    activations = {a.plugin: a for a in plugin_activations.list_activations(caller.tenant_id)}
    views = []
    for name, plugin in sorted(registry.available().items()):
        activation = activations.get(name)
        views.append({"name": name, "description": getattr(plugin, "description", ""),
                      "hooks": registry.hooks_of(plugin),
                      "enabled": bool(activation and activation.enabled),
                      "config": dict(activation.config) if activation else {},
                      "settings_schema": registry.settings_model(plugin).model_json_schema()})
    return views


def set_plugin(caller: Caller, name: str, *, enabled: bool, config: dict) -> dict:
    """Enable or disable an installed plugin for the caller's tenant, with its settings."""
    plugin = registry.available().get(name)
    if plugin is None:
        raise NotFound("No such plugin is installed.", code="plugin_not_found")
    config = registry.checked_settings(plugin, config)
    plugin_activations.set_activation(caller.tenant_id, name, enabled=enabled, config=config,
                                      updated_by=caller.user_id)
    return next(view for view in list_plugins(caller) if view["name"] == name)


def notify(tenant_id: str, events: list[tuple[str, dict]]) -> None:
    """Start one delivery job for ``(hook, registration view)`` events of one tenant.

    Best effort, like a push: the events are stored facts already, so a broker that
    cannot take the delivery is logged and does not undo them."""
    for hook, _ in events:
        assert hook in HOOKS and not HOOKS[hook].decision, hook
    if not events or not plugin_activations.enabled_for(tenant_id):
        return  # most tenants use no plugin: spare them a job per event
    # The event id lets a plugin recognise a delivery it has already seen (a retry).
    deliveries = [{"hook": hook, "arguments": {"registration": view, "event_id": uuid.uuid4().hex}}
                  for hook, view in events]
    try:
        start_job(tenant_id, DELIVERY_OWNER, "plugins.deliver", {"events": deliveries})
    except ServiceUnavailable:
        log.warning("could not queue %d plugin deliveries of tenant %s", len(deliveries),
                    tenant_id)


def deliver(tenant_id: str, events: list[dict]) -> list[dict[str, str]]:
    """Fire each event to the tenant's enabled plugins; per event, plugin → "ok" or
    "failed" (a plugin's failure is logged and never stops the others)."""
    return [registry.fire(tenant_id, event["hook"], **event["arguments"]) for event in events]
