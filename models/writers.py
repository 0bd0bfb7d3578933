"""The flusher's writers (meeteasy.flusher): for each collection whose hot state lives
in Redis, the function that stores a batch of its changes in MongoDB. A collection
that records changes (meeteasy.changes) adds its writer here."""

from __future__ import annotations

from meeteasy.flusher import Writer
from models import jobs, registrations

WRITERS: dict[str, Writer] = {
    "jobs": jobs.flush,
    "registrations": registrations.flush,
}
