"""Operators' checks of the running platform."""

from __future__ import annotations

from meeteasy import db
from meeteasy.readings import Reading
from meeteasy.redisconn import get_redis
from models.jobs import Job
from services.access import Caller
from services.jobs import start_job


def ping(caller: Caller, hold_seconds: int, idempotency_key: str | None = None) -> Job:
    """Round-trip a job through a worker; it reports progress each second it is held."""
    return start_job(caller.tenant_id, caller.user_id, "diagnostics.ping",
                     {"hold_seconds": hold_seconds}, idempotency_key=idempotency_key)


def _ask_versions() -> dict[str, str]:
    return {"redis_version": get_redis().info("server")["redis_version"],
            "mongodb_version": db.database().command("buildInfo")["version"]}


# The servers' versions change only when a server is upgraded, yet asking for them cost
# every ping a MongoDB command (buildInfo) and a Redis INFO: a third more MongoDB round
# trips on the job that benchmarks the pipeline. The job's own claim and finish already
# prove that the worker reaches both servers, so each process asks once, and again after
# five minutes so that an upgrade shows.
_versions = Reading(_ask_versions, ttl=300.0)


def server_versions() -> dict[str, str]:
    """``redis_version`` and ``mongodb_version``, as this process last asked them."""
    return _versions.get()
