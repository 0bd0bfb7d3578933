"""Server → client push. Rooms are named here, once, for the relay and the emitters.

Workers and the API emit through a write-only ``socketio.RedisManager``; the relay
(``api/relay.py``) listens on the same channel and delivers to sockets. Push is
at-most-once and best effort: state is always stored before it is pushed, and a
failed push is logged, never raised (clients can poll ``GET /jobs``).
"""

from __future__ import annotations

import logging
import os

import socketio

from meeteasy.settings import get_settings

log = logging.getLogger(__name__)
CHANNEL = "meeteasy:socketio"

_manager: socketio.RedisManager | None = None
_manager_pid: int | None = None


def user_room(tenant_id: str, user_id: str) -> str:
    return f"tenant:{tenant_id}:user:{user_id}"


def staff_room(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:staff"


def _emitter() -> socketio.RedisManager:
    # Created lazily in the process that emits: a manager made before a fork would
    # share its Redis connection with the children.
    global _manager, _manager_pid
    if _manager is None or _manager_pid != os.getpid():
        _manager = socketio.RedisManager(get_settings().redis_url, channel=CHANNEL, write_only=True)
        _manager_pid = os.getpid()
    return _manager


def emit(event: str, data: dict, *, tenant_id: str, user_id: str | None = None,
         staff: bool = True) -> None:
    """Send ``event`` to a user's room and/or the tenant's staff room (a socket in both gets it once)."""
    rooms = [user_room(tenant_id, user_id)] if user_id else []
    if staff:
        rooms.append(staff_room(tenant_id))
    try:
        _emitter().emit(event, data, to=rooms)
    except Exception:
        log.warning("push of %s to %s failed; clients will see it when they poll", event, rooms,
                    exc_info=True)
