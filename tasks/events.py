"""Announcing a domain event: to the people concerned (push) and to plugins (hooks).

Both are at-most-once: state is stored before, clients can poll, and plugin
delivery runs on the `plugins` queue so a slow plugin never delays the work.
"""

from __future__ import annotations

import uuid

from meeteasy import push
from models import plugins as plugin_store
from plugins.hooks import HOOKS
from tasks.app import app


def announce(hook: str, view: dict, *, tenant_id: str, user_id: str | None) -> None:
    assert hook in HOOKS and not HOOKS[hook].decision, hook
    push.emit(hook, view, tenant_id=tenant_id, user_id=user_id)
    if not plugin_store.enabled_for(tenant_id):
        return  # most tenants use no plugin: spare the workers a task per event
    # The event id lets a plugin recognise a delivery it has already seen (redelivery).
    app.send_task("plugins.deliver", kwargs={"tenant_id": tenant_id, "hook": hook,
                                             "arguments": {"registration": view,
                                                           "event_id": uuid.uuid4().hex}},
                  queue="plugins")
