"""Idempotency keys of creating requests: the caller's claim on a key, and what the
first request answered (see :mod:`models.idempotency` for how the claim is kept)."""

from __future__ import annotations

from models import idempotency as idempotency_records
from models.idempotency import IdempotencyRecord
from services.access import Caller


def begin(caller: Caller, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Claim the caller's key for this request: None when claimed, else the earlier
    record (``fingerprint``, ``state``, and once done the answer's ``status`` and ``body``)."""
    return idempotency_records.begin(caller.tenant_id, caller.user_id, key, fingerprint)


def complete(caller: Caller, key: str, status: int, body: dict) -> None:
    """Remember the answer, so that a replay of the key gets it back."""
    idempotency_records.complete(caller.tenant_id, caller.user_id, key, status, body)


def abandon(caller: Caller, key: str) -> None:
    """The request failed: free the key so that the client's retry runs for real."""
    idempotency_records.abandon(caller.tenant_id, caller.user_id, key)
