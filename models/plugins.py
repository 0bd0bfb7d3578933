"""Which plugins a tenant has enabled, with its settings for each."""

from __future__ import annotations

import copy

import mongoengine as me

from meeteasy.cache import Versioned
from models.base import TenantDocument, utcnow


# A tenant's enabled plugins, which every hook and every announced change reads: kept
# per process until the tenant changes one.
CACHE = Versioned("plugins")


class PluginActivation(TenantDocument):
    plugin = me.StringField(required=True, max_length=100)
    enabled = me.BooleanField(default=True)
    config = me.DictField()
    updated_by = me.StringField(required=True)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "plugin_activations",
        "indexes": [
            # one plugin's activation (upsert), and every activation of the tenant
            {"fields": ("tenant_id", "plugin"), "unique": True},
            # the enabled ones, which the dispatcher reads for each hook
            ("tenant_id", "enabled", "plugin"),
        ],
    }


def set_activation(tenant_id: str, plugin: str, *, enabled: bool, config: dict,
                   updated_by: str) -> PluginActivation:
    activation = PluginActivation.objects(tenant_id=tenant_id, plugin=plugin).modify(
        upsert=True, new=True, set__enabled=enabled, set__config=config,
        set__updated_by=updated_by, set__updated_at=utcnow())
    CACHE.changed(tenant_id)
    return activation


def enabled_for(tenant_id: str) -> list[PluginActivation]:
    """The tenant's enabled plugins by name, from this process's copy while unchanged."""
    return CACHE.get((tenant_id,), lambda: [
        activation.to_mongo().to_dict() for activation in PluginActivation.objects(
            tenant_id=tenant_id, enabled=True).order_by("plugin")],
        lambda stored: [PluginActivation._from_son(copy.deepcopy(s)) for s in stored])


def list_activations(tenant_id: str) -> list[PluginActivation]:
    return list(PluginActivation.objects(tenant_id=tenant_id).order_by("plugin"))
