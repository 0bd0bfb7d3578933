"""Operators' checks of the running platform."""

from __future__ import annotations

from models.jobs import Job
from services.access import Caller
from services.jobs import start_job


def ping(caller: Caller, hold_seconds: int, idempotency_key: str | None = None) -> Job:
    """Round-trip a job through a worker; it reports progress each second it is held."""
    return start_job(caller.tenant_id, caller.user_id, "diagnostics.ping",
                     {"hold_seconds": hold_seconds}, idempotency_key=idempotency_key)
