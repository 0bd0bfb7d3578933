"""MongoDB connection: one mongoengine connection per process, opened by the
process's start hook (Sanic listener, Celery worker_process_init, CLI), never at import."""

from __future__ import annotations

import mongoengine

from meeteasy.settings import Settings

ALIAS = mongoengine.DEFAULT_CONNECTION_NAME


def connect(settings: Settings, uri: str | None = None) -> None:
    """Open (or reopen after fork) the default connection. Journaled writes, because
    a registration acknowledged to a client must survive a server crash."""
    mongoengine.disconnect(ALIAS)
    mongoengine.connect(
        db=settings.mongodb_db,
        host=uri or settings.mongodb_uri,
        alias=ALIAS,
        tz_aware=True,
        uuidRepresentation="standard",
        journal=True,
        serverSelectionTimeoutMS=5000,
    )


def disconnect() -> None:
    mongoengine.disconnect(ALIAS)


def database():
    """The raw pymongo Database, for server-level commands (buildInfo, explain)."""
    return mongoengine.get_db(ALIAS)
