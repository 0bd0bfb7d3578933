"""Announcing a domain event: to the people concerned (push) and to plugins (hooks).

Both are at-most-once: state is stored before, clients can poll, and plugin
delivery runs on the `plugins` queue so a slow plugin never delays the work.
"""

from __future__ import annotations

import logging
import uuid

from meeteasy import push
from models import plugins as plugin_store
from models.seat_assignments import seat_event
from plugins.hooks import HOOKS
from tasks.app import app

log = logging.getLogger(__name__)


def announce(hook: str, view: dict, *, tenant_id: str, user_id: str | None) -> None:
    announce_many(tenant_id, [(hook, view, user_id)])


def announce_seat(tenant_id: str, conference_id: str, registration_id: str,
                  user_id: str | None, assignment, *, staff: bool = True) -> None:
    """``seat.updated`` to the attendee (and staff): where they sit now, or ``seat: null``."""
    push.emit("seat.updated", seat_event(conference_id, registration_id, assignment),
              tenant_id=tenant_id, user_id=user_id, staff=staff)


def announce_many(tenant_id: str, events: list[tuple[str, dict, str | None]]) -> None:
    """Announce (hook, view, user id) events of one tenant; plugins are looked up once."""
    if not events:
        return
    for hook, view, user_id in events:
        assert hook in HOOKS and not HOOKS[hook].decision, hook
        push.emit(hook, view, tenant_id=tenant_id, user_id=user_id)
    if not plugin_store.enabled_for(tenant_id):
        return  # most tenants use no plugin: spare the workers a task per event
    for hook, view, _ in events:
        # The event id lets a plugin recognise a delivery it has already seen (redelivery).
        try:
            app.send_task("plugins.deliver", kwargs={"tenant_id": tenant_id, "hook": hook,
                                                     "arguments": {"registration": view,
                                                                   "event_id": uuid.uuid4().hex}},
                          queue="plugins")
        except Exception:
            log.warning("could not queue %s for plugins of tenant %s", hook, tenant_id,
                        exc_info=True)
