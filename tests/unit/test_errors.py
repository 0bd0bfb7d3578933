"""The error mapping of api/errors.py, installed on an in-process Sanic app."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from sanic import Sanic
from sanic_testing.testing import SanicASGITestClient

from api import errors
from meeteasy.errors import Conflict


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
