"""The baseline's Socket.IO relay: python-socketio's ASGI app under uvicorn with an
AsyncRedisManager, as ``api/relay.py``, minus authentication: a socket names the
room it joins in its auth payload (``{"room": ...}``).

    BENCH_REDIS_URL=redis://127.0.0.1:PORT/0 \\
        uvicorn bench.baseline_relay:create_relay --factory --port 8101 --no-access-log
"""

from __future__ import annotations

import os

import socketio

from bench.baseline_tasks import CHANNEL


def create_relay() -> socketio.ASGIApp:
    manager = socketio.AsyncRedisManager(os.environ["BENCH_REDIS_URL"], channel=CHANNEL)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, logger=False,
                               engineio_logger=False)

    @sio.event
    async def connect(sid, environ, auth):
        room = auth.get("room") if isinstance(auth, dict) else None
        if not isinstance(room, str) or not room:
            raise socketio.exceptions.ConnectionRefusedError("Send auth {\"room\": <name>}.")
        await sio.enter_room(sid, room)

    return socketio.ASGIApp(sio)
