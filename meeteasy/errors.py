"""The one error hierarchy of MeetEasy.

Every layer raises these; ``api/errors.py`` maps them to
``{"error": {"code", "message", "details"}}`` with :attr:`status`, and the base
task turns them into a failed job with the same code and message. ``code`` is a
stable machine-readable name: clients switch on it, so never rename one. An error
with :attr:`retry_after` (seconds) tells the client when to try again (``Retry-After``).
"""

from __future__ import annotations

from typing import Any


class MeetEasyError(Exception):
    status = 500
    code = "internal_error"
    message = "Something went wrong."
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, details: Any = None, code: str | None = None,
                 retry_after: int | None = None):
        self.message = message or self.message
        self.details = details
        if code:
            self.code = code
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class BadRequest(MeetEasyError):
    status = 400
    code = "bad_request"
    message = "The request could not be understood."


class ValidationFailed(MeetEasyError):
    """Input that parses but breaks a rule. ``details`` is ``{"fields": {name: [messages]}}``."""

    status = 422
    code = "validation_failed"
    message = "Some fields are invalid."

    @classmethod
    def for_fields(cls, fields: dict[str, list[str]], message: str | None = None):
        return cls(message, details={"fields": fields})


class Unauthorized(MeetEasyError):
    status = 401
    code = "unauthorized"
    message = "Authentication is required."


class Forbidden(MeetEasyError):
    status = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(MeetEasyError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(MeetEasyError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(MeetEasyError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class TooManyRequests(MeetEasyError):
    """One client's excess: it started jobs faster than its share."""

    status = 429
    code = "too_many_requests"
    message = "Too many jobs started; try again later."
    retry_after = 1


class ServiceUnavailable(MeetEasyError):
    status = 503
    code = "service_unavailable"
    message = "A service MeetEasy depends on is unavailable; try again shortly."
    retry_after = 5


class Overloaded(ServiceUnavailable):
    """A workload's queue is over its limit: new work is refused, nothing is recorded."""

    code = "overloaded"
    message = "The platform is at capacity for this kind of work; try again shortly."


class TransientError(MeetEasyError):
    """An infrastructure hiccup a task should retry with backoff (never shown as a 4xx)."""

    status = 503
    code = "transient_error"
    message = "A temporary failure; the job will be retried."
    retry_after = 5


class JobCancelled(MeetEasyError):
    """Raised inside a task when staff cancelled its job; the job ends `cancelled`."""

    status = 409
    code = "job_cancelled"
    message = "The job was cancelled."
