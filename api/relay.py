"""The Socket.IO relay: its own process (python-socketio ASGI app under uvicorn).

A socket must present an access JWT in the ``auth`` payload (``{"token": ...}``);
it joins its user's room and, for staff, its tenant's staff room, and is
disconnected when the token expires. Events come from workers and the API
through Redis (``meeteasy.push``); there is no unscoped broadcast.
"""

from __future__ import annotations

import asyncio
import logging
import time

import socketio

from api import tokens
from meeteasy.errors import Unauthorized
from meeteasy.logs import configure_logging
from meeteasy.push import CHANNEL, staff_room, user_room
from meeteasy.settings import load_or_exit

log = logging.getLogger("meeteasy.relay")


def create_relay() -> socketio.ASGIApp:
    settings = load_or_exit()
    configure_logging(settings.log_level)
    manager = socketio.AsyncRedisManager(settings.redis_url, channel=CHANNEL)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager,
                               cors_allowed_origins="*", logger=False, engineio_logger=False)

    @sio.event
    async def connect(sid, environ, auth):
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "Send the access token as auth.token.", {"code": "missing_token"})
        try:
            principal = tokens.principal_from(settings, token)
        except Unauthorized as error:
            raise socketio.exceptions.ConnectionRefusedError(error.message, {"code": error.code})
        await sio.enter_room(sid, user_room(principal.tenant_id, principal.user_id))
        if principal.is_staff:
            await sio.enter_room(sid, staff_room(principal.tenant_id))
        # A socket lives no longer than its token; the client reconnects with a fresh one.
        asyncio.get_running_loop().call_later(
            max(0.0, principal.expires_at - time.time()),
            lambda: asyncio.ensure_future(sio.disconnect(sid)))
        log.info("socket %s connected for user %s of tenant %s", sid, principal.user_id,
                 principal.tenant_id)

    return socketio.ASGIApp(sio)
