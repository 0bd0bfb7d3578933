"""Which plugins a tenant has enabled, with its settings for each."""

from __future__ import annotations

import mongoengine as me

from models.base import TenantDocument, utcnow


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
    return PluginActivation.objects(tenant_id=tenant_id, plugin=plugin).modify(
        upsert=True, new=True, set__enabled=enabled, set__config=config,
        set__updated_by=updated_by, set__updated_at=utcnow())


def enabled_for(tenant_id: str) -> list[PluginActivation]:
    return list(PluginActivation.objects(tenant_id=tenant_id, enabled=True).order_by("plugin"))


def list_activations(tenant_id: str) -> list[PluginActivation]:
    return list(PluginActivation.objects(tenant_id=tenant_id).order_by("plugin"))
