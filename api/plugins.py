"""/plugins: which plugins a tenant uses, and their settings (tenant admins)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sanic import Blueprint, json
from sanic_ext import openapi

from api import offload
from api.auth import authenticated
from api.schemas import ERRORS, json_body, json_response
from api.validation import Body, parse_body
from meeteasy.errors import NotFound
from models import plugins as plugin_store
from plugins import registry

bp = Blueprint("plugins", url_prefix="/plugins")


class PluginView(BaseModel):
    name: str
    description: str
    hooks: list[str]
    enabled: bool
    config: dict[str, Any]


class PluginList(BaseModel):
    items: list[PluginView]


class ActivationBody(Body):
    enabled: bool
    config: dict[str, Any] = Field(default_factory=dict)


def _views(tenant_id: str) -> list[dict]:
    activations = {a.plugin: a for a in plugin_store.list_activations(tenant_id)}
    views = []
    for name, plugin in sorted(registry.available().items()):
        activation = activations.get(name)
        views.append({"name": name, "description": getattr(plugin, "description", ""),
                      "hooks": registry.hooks_of(plugin),
                      "enabled": bool(activation and activation.enabled),
                      "config": dict(activation.config) if activation else {}})
    return views


@bp.get("/")
@openapi.definition(summary="Installed plugins and whether this tenant uses them", tag="plugins",
                    response=[json_response(PluginList), *ERRORS(401, 403)])
@authenticated("tenant_admin")
async def list_plugins(request):
    return json({"items": await offload.run_sync(_views, request.ctx.principal.tenant_id)})


@bp.put("/<name:str>")
@openapi.definition(summary="Enable or disable a plugin for this tenant, with its settings",
                    tag="plugins", body=json_body(ActivationBody),
                    response=[json_response(PluginView), *ERRORS(400, 401, 403, 404, 422)])
@authenticated("tenant_admin")
async def set_plugin(request, name: str):
    body = parse_body(request, ActivationBody)
    caller = request.ctx.principal
    if name not in registry.available():
        raise NotFound("No such plugin is installed.", code="plugin_not_found")

    def save():
        plugin_store.set_activation(caller.tenant_id, name, enabled=body.enabled, config=body.config,
                                    updated_by=caller.user_id)
        return next(view for view in _views(caller.tenant_id) if view["name"] == name)

    return json(await offload.run_sync(save))
