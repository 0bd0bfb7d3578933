"""Finding plugins and calling them.

Plugins are classes registered in the ``meeteasy.plugins`` entry-point group
(MeetEasy's own built-ins are registered the same way in setup.cfg). A plugin
has a ``name``, a ``description`` and one method per hook it handles, named
after the hook with dots as underscores (``registration_approved``), and the settings it
takes as a pydantic model named ``Settings`` (none: it takes none). A tenant enables a
plugin and gives it settings (:mod:`models.plugins`), checked against that model before
they are stored, so that no stored value can break a later read; the dispatcher
only calls plugins enabled for the tenant, and one plugin's failure is logged
and never reaches the caller or the other plugins.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from meeteasy.errors import ValidationFailed
from models import plugins as plugin_store
from plugins.hooks import HOOKS

log = logging.getLogger(__name__)
GROUP = "meeteasy.plugins"


@functools.cache
def available() -> dict[str, Any]:
    """name → plugin instance, for every installed plugin (loaded once per process)."""
    found = {}
    for entry_point in entry_points(group=GROUP):
        try:
            plugin = entry_point.load()()
        except Exception:
            log.exception("plugin %s could not be loaded; it is ignored", entry_point.name)
            continue
        found[entry_point.name] = plugin
    return found


class PluginSettings(BaseModel):
    """Base of a plugin's ``Settings``: JSON types as they are, no unknown field."""

    model_config = ConfigDict(strict=True, extra="forbid")


class NoSettings(PluginSettings):
    """The settings of a plugin that declares none: nothing."""


def settings_model(plugin: Any) -> type[BaseModel]:
    return getattr(plugin, "Settings", NoSettings)


def checked_settings(plugin: Any, config: dict) -> dict:
    """``config`` as the plugin's settings (defaults filled in); 422 naming each field
    (``config.<field>``) that does not fit them."""
    try:
        return settings_model(plugin).model_validate(config).model_dump(mode="json")
    except ValidationError as error:
        fields: dict[str, list[str]] = {}
        for problem in error.errors():
            name = ".".join(["config", *(str(part) for part in problem["loc"])])
            fields.setdefault(name, []).append(problem["msg"])
        raise ValidationFailed.for_fields(fields, "The plugin's settings are invalid.") from None


def hooks_of(plugin: Any) -> list[str]:
    """The declared hooks a plugin handles."""
    return [name for name in HOOKS if _handler(plugin, name) is not None]


def _handler(plugin: Any, hook: str):
    return getattr(plugin, hook.replace(".", "_"), None)


def _enabled_handlers(tenant_id: str, hook: str):
    if hook not in HOOKS:
        raise ValueError(f"undeclared hook {hook!r}")
    plugins = available()
    for activation in plugin_store.enabled_for(tenant_id):
        plugin = plugins.get(activation.plugin)
        handler = _handler(plugin, hook) if plugin else None
        if handler is not None:
            yield activation, handler


def fire(tenant_id: str, hook: str, **arguments: Any) -> dict[str, str]:
    """Tell every enabled plugin; returns plugin → "ok" or "failed" (for the log and tests)."""
    outcomes = {}
    for activation, handler in _enabled_handlers(tenant_id, hook):
        try:
            handler(tenant_id=tenant_id, config=activation.config, **arguments)
            outcomes[activation.plugin] = "ok"
        except Exception:
            log.exception("plugin %s failed on %s for tenant %s", activation.plugin, hook, tenant_id)
            outcomes[activation.plugin] = "failed"
    return outcomes


def ask(tenant_id: str, hook: str, **arguments: Any) -> tuple[str, Any] | None:
    """The first answer of an enabled plugin to a decision hook, as (plugin, answer)."""
    assert HOOKS[hook].decision
    for activation, handler in _enabled_handlers(tenant_id, hook):
        try:
            answer = handler(tenant_id=tenant_id, config=activation.config, **arguments)
        except Exception:
            log.exception("plugin %s failed on %s for tenant %s", activation.plugin, hook, tenant_id)
            continue
        if answer is not None:
            return activation.plugin, answer
    return None
