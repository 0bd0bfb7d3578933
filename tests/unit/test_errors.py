"""The error mapping of api/errors.py, installed on an in-process Sanic app."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from sanic import Sanic
from sanic_testing.testing import SanicASGITestClient

from api import errors
import redis.exceptions
from kombu.exceptions import OperationalError

from meeteasy.errors import Conflict, Overloaded, TooManyRequests


@pytest.fixture
def app():
    application = Sanic(f"errors-{uuid.uuid4().hex[:8]}")
    errors.install(application)

    @application.get("/boom")
    async def boom(request):
        raise RuntimeError("secret detail /srv/app/models/x.py line 3")

    @application.get("/conflict")
    async def conflict(request):
        raise Conflict("It is taken.", code="taken", details={"id": "1"})

    @application.get("/overloaded")
    async def overloaded(request):
        raise Overloaded(details={"queue": "default"})

    @application.get("/slow-down")
    async def slow_down(request):
        raise TooManyRequests(retry_after=3)

    @application.get("/redis-down")
    async def redis_down(request):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    @application.get("/redis-full")
    async def redis_full(request):
        raise redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > "
                                                "'maxmemory'.")

    @application.get("/broker-down")
    async def broker_down(request):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    return application


def get(app, path, **kwargs):
    return asyncio.run(SanicASGITestClient(app).get(path, **kwargs))[1]


def test_unknown_error_is_a_logged_500_that_leaks_nothing(app, caplog):
    with caplog.at_level(logging.ERROR, logger="meeteasy.api"):
        response = get(app, "/boom", headers={"X-Request-ID": "req-42"})
    assert response.status == 500
    assert response.json == {"error": {"code": "internal_error",
                                       "message": "Something went wrong on our side.",
                                       "details": {"request_id": "req-42"}}}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["X-Request-ID"] == "req-42"
    logged = [record for record in caplog.records if "req-42" in record.getMessage()]
    assert logged and "secret detail" in str(logged[0].exc_info[1])


def test_domain_error_keeps_its_status_code_and_details(app):
    response = get(app, "/conflict")
    assert response.status == 409
    assert response.json == {"error": {"code": "taken", "message": "It is taken.",
                                       "details": {"id": "1"}}}


def test_an_overloaded_queue_answers_503_with_retry_after(app):
    response = get(app, "/overloaded")
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "overloaded"
    assert response.json["error"]["details"] == {"queue": "default"}


def test_one_clients_excess_answers_429_with_its_own_retry_after(app):
    response = get(app, "/slow-down")
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json["error"]["code"] == "too_many_requests"


def test_an_error_without_retry_after_sends_none(app):
    assert "Retry-After" not in get(app, "/conflict").headers


@pytest.mark.parametrize("path", ["/redis-down", "/redis-full", "/broker-down"])
def test_an_unreachable_broker_is_a_503_to_retry_not_a_500(app, path):
    response = get(app, path)
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "service_unavailable"
    assert "6379" not in response.text
