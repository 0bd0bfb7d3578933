"""``Idempotency-Key`` for creating POSTs: a replay gets the first answer, a
concurrent duplicate 409, the same key with another body 422."""

from __future__ import annotations

import hashlib
import json as jsonlib
import re
from functools import wraps

from sanic import json
from sanic_ext import openapi

from api import offload
from api.schemas import as_is
from meeteasy.errors import Conflict, ValidationFailed
from services import idempotency

HEADER = "Idempotency-Key"


# Printable ASCII, as the document states it, without the spaces at either end that
# HTTP strips from a header value (a header value is ASCII in practice).
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
KEY_FORMAT = re.compile(KEY_PATTERN)
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": KEY_PATTERN}


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same request" for one key."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def idempotent(handler):
    """Wrap a creating POST (inside @authenticated). Only 2xx answers are remembered;
    after a failure the key is freed so that the client's retry runs for real."""

    @wraps(handler)
    async def wrapper(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return await handler(request, *args, **kwargs)
        if len(key) > 200 or not KEY_FORMAT.fullmatch(key):
            raise ValidationFailed.for_fields({HEADER: ["Use 1-200 printable ASCII characters."]})
        caller = request.ctx.principal
        this = fingerprint(request.method, request.path, request.body or b"")
        earlier = await offload.run_sync(idempotency.begin, caller, key, this)
        if earlier is not None:
            if earlier.fingerprint != this:
                raise ValidationFailed(f"This {HEADER} was used for a different request.",
                                       code="idempotency_key_reused")
            if earlier.state == "in_progress":
                raise Conflict("A request with this Idempotency-Key is still being processed.",
                               code="idempotency_in_progress")
            return json(earlier.body, status=earlier.status, headers={"Idempotent-Replayed": "true"})
        try:
            response = await handler(request, *args, **kwargs)
        except BaseException:
            await offload.run_sync(idempotency.abandon, caller, key)
            raise
        if 200 <= response.status < 300:
            await offload.run_sync(idempotency.complete, caller, key, response.status,
                                   jsonlib.loads(response.body))
        else:
            await offload.run_sync(idempotency.abandon, caller, key)
        return response

    return openapi.parameter(HEADER, as_is(KEY_SCHEMA), "header", description=(
        "Optional. Retrying with the same key returns the first answer; a concurrent "
        "duplicate gets 409."))(wrapper)
