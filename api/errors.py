"""The single place where errors become HTTP responses.

Domain errors keep their status and code; Sanic's own errors (unknown route,
wrong method, oversize body, unreadable JSON) get the same shape; Redis (the broker)
out of reach is a 503 with ``Retry-After``, like a domain ServiceUnavailable; anything
else is a logged 500 carrying only the request id.
"""

from __future__ import annotations

import logging
import uuid

from kombu.exceptions import OperationalError
from sanic import Sanic, json
from sanic.constants import HTTP_METHODS
from sanic.exceptions import SanicException

from meeteasy.errors import MeetEasyError, ServiceUnavailable
from meeteasy.redisconn import OUTAGES as REDIS_OUTAGES

log = logging.getLogger("meeteasy.api")

_SANIC_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    416: "range_not_satisfiable",
}


# Redis out of reach (meeteasy.redisconn.OUTAGES), seen by redis-py or by kombu: the
# request may succeed once Redis is back.
OUTAGES = (*REDIS_OUTAGES, OperationalError)


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(error: MeetEasyError):
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return json({"error": error.to_dict()}, status=error.status, headers=headers)


def install(app: Sanic) -> None:
    """Tag each request with an id (the client's X-Request-ID or a new one), echo it on
    the response, and map every error to the JSON error shape."""

    @app.on_request(priority=100)
    async def tag_request(request):
        request.ctx.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex

    @app.on_response
    async def echo_request_id(request, response):
        request_id = getattr(request.ctx, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id

    @app.exception(MeetEasyError)
    async def domain_error(request, error: MeetEasyError):
        return error_response(error)

    @app.exception(*OUTAGES)
    async def outage(request, error: Exception):
        log.warning("%s %s: broker unavailable (%s) [request %s]", request.method, request.path,
                    error, getattr(request.ctx, "request_id", None))
        return error_response(ServiceUnavailable())

    @app.exception(SanicException)
    async def framework_error(request, error: SanicException):
        status = error.status_code
        if status >= 500:
            return _internal(request, error)
        code = _SANIC_CODES.get(status, "bad_request")
        message = {
            404: "No such endpoint.",
            405: "This endpoint does not accept that method.",
            413: "The request body is too large.",
        }.get(status, str(error) or "The request could not be understood.")
        headers = dict(getattr(error, "headers", None) or {})
        if status == 405 and "Allow" not in headers:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return json(error_body(code, message), status=status, headers=headers)

    @app.exception(Exception)
    async def unexpected(request, error: Exception):
        return _internal(request, error)


def _allowed_methods(request) -> list[str]:
    """The methods a path answers. A 405 must name them (RFC 9110 15.5.6); Sanic's router
    does so for static paths only, not for ones with parameters such as /jobs/<job_id>."""
    host = request.headers.getone("host", None)
    allowed = []
    for method in HTTP_METHODS:
        try:
            request.app.router.get(request.path, method, host)
        except SanicException:
            continue
        allowed.append(str(method))
    return allowed


def _internal(request, error: Exception):
    request_id = getattr(request.ctx, "request_id", None) if request else None
    log.error("unhandled error in %s %s [request %s]", request.method if request else "-",
              request.path if request else "-", request_id, exc_info=error)
    return json(error_body("internal_error", "Something went wrong on our side.",
                           {"request_id": request_id}), status=500)
