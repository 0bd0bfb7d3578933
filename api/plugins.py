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
from services import plugins

bp = Blueprint("plugins", url_prefix="/plugins")


class PluginView(BaseModel):
    name: str
    description: str
    hooks: list[str]
    enabled: bool
    config: dict[str, Any]
    settings_schema: dict[str, Any] = Field(description="JSON Schema of the plugin's `config`.")


class PluginList(BaseModel):
    items: list[PluginView]


class ActivationBody(Body):
    enabled: bool
    config: dict[str, Any] = Field(default_factory=dict, description=(
        "The plugin's settings, as its `settings_schema` (GET /plugins) states them."))


@bp.get("/")
@openapi.definition(summary="Installed plugins and whether this tenant uses them", tag="plugins",
                    response=[json_response(PluginList), *ERRORS(401, 403)])
@authenticated("tenant_admin")
async def list_plugins(request):
    return json({"items": await offload.run_sync(plugins.list_plugins, request.ctx.principal)})


@bp.put("/<name:str>")
@openapi.definition(summary="Enable or disable a plugin for this tenant, with its settings",
                    tag="plugins", body=json_body(ActivationBody),
                    response=[json_response(PluginView), *ERRORS(400, 401, 403, 404, 422)])
@authenticated("tenant_admin")
async def set_plugin(request, name: str):
    body = parse_body(request, ActivationBody)
    return json(await offload.run_sync(plugins.set_plugin, request.ctx.principal, name,
                                       enabled=body.enabled, config=body.config))
