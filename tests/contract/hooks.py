"""Schemathesis hooks for the contract run (``tests/integration/test_api_contract.py``),
loaded by schemathesis through the ``hooks`` entry of the run's configuration."""

from __future__ import annotations

import re
import uuid

import schemathesis

from api.idempotency import HEADER, KEY_PATTERN


@schemathesis.hook
def before_call(context, case, kwargs):
    """A real client sends a new Idempotency-Key with each new request; schemathesis
    repeats a generated key with other bodies, which the API refuses as it should (422
    ``idempotency_key_reused``). A well-formed key is made unique; a malformed one is
    left as generated, for the negative cases."""
    headers = case.headers or {}
    key = headers.get(HEADER)
    if isinstance(key, str) and re.fullmatch(KEY_PATTERN, key):
        headers[HEADER] = uuid.uuid4().hex
        case.headers = headers
