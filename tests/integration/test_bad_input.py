"""Bad input gets a 4xx in the one error shape, and writes nothing."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import make_tenant
from tests.integration.hot_jobs import stored_jobs

MAX_BODY = 4096  # MEETEASY_MAX_BODY_BYTES in tests/integration/stack.py


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every error answer: JSON, exactly {"error": {"code", "message", "details"}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0].strip() == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"])
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    assert "Traceback" not in response.text
    return error


@pytest.fixture(scope="module")
def tenant(stack):
    """One tenant for the module: every check compares its job count before and after."""
    return make_tenant(stack)


@pytest.fixture
def admin(stack, tenant):
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        yield client


def job_count(tenant) -> int:
    return stored_jobs(tenant_id=tenant.id)


def post_ping(client, content: bytes, **headers):
    return client.post("/diagnostics/ping", content=content,
                       headers={"Content-Type": "application/json", **headers})


# --- bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"{bad", b'{"hold_seconds": 1', b'{"hold_seconds": 1}}',
                                     b"\xff\xfe", b"hold_seconds=1", b"'x'"])
def test_malformed_json_is_400(admin, tenant, content):
    before = job_count(tenant)
    assert_error(post_ping(admin, content), 400, "malformed_json")
    assert job_count(tenant) == before


@pytest.mark.parametrize("content", [b"[]", b'[{"hold_seconds": 1}]', b'"text"', b"5", b"null",
                                     b"true"])
def test_a_body_that_is_not_an_object_is_422(admin, tenant, content):
    before = job_count(tenant)
    error = assert_error(post_ping(admin, content), 422, "validation_failed")
    assert list(error["details"]["fields"]) == ["_body"]
    assert job_count(tenant) == before


@pytest.mark.parametrize("body, field", [
    ({"hold_seconds": "5"}, "hold_seconds"),     # strings are not numbers
    ({"hold_seconds": 1.5}, "hold_seconds"),
    ({"hold_seconds": True}, "hold_seconds"),
    ({"hold_seconds": None}, "hold_seconds"),
    ({"hold_seconds": [1]}, "hold_seconds"),
    ({"hold_seconds": -1}, "hold_seconds"),      # out of range
    ({"hold_seconds": 61}, "hold_seconds"),
    ({"hold_seconds": 10 ** 30}, "hold_seconds"),
    ({"hold_secnods": 1}, "hold_secnods"),      # unknown field
    ({"hold_seconds": 1, "tenant_id": "someone-else"}, "tenant_id"),
])
def test_invalid_fields_are_422_naming_the_field(admin, tenant, body, field):
    before = job_count(tenant)
    error = assert_error(admin.post("/diagnostics/ping", json=body), 422, "validation_failed")
    fields = error["details"]["fields"]
    assert list(fields) == [field], fields
    assert all(isinstance(message, str) and message for message in fields[field])
    assert job_count(tenant) == before


def test_every_bad_field_is_named_at_once(admin, tenant):
    before = job_count(tenant)
    error = assert_error(admin.post("/diagnostics/ping", json={"hold_seconds": "x", "extra": 1}),
                         422, "validation_failed")
    assert set(error["details"]["fields"]) == {"hold_seconds", "extra"}
    assert job_count(tenant) == before


def test_login_validates_its_body_too(stack):
    with stack.client() as client:
        error = assert_error(client.post("/auth/login", json={"tenant": "x", "email": "a@b.c"}),
                             422, "validation_failed")
        assert list(error["details"]["fields"]) == ["password"]
        assert_error(client.post("/auth/login", content=b"{nope",
                                 headers={"Content-Type": "application/json"}),
                     400, "malformed_json")
        assert_error(client.post("/auth/refresh", json={"refresh_token": 5}),
                     422, "validation_failed")


def test_a_valid_ping_is_accepted(admin, tenant):
    """The control for the tests above: the same endpoint does write with good input."""
    before = job_count(tenant)
    response = post_ping(admin, b'{"hold_seconds": 0}')
    assert response.status_code == 202, response.text
    assert job_count(tenant) == before + 1


def test_body_over_the_limit_is_413(admin, tenant):
    before = job_count(tenant)
    padding = b" " * MAX_BODY
    assert_error(post_ping(admin, b'{"hold_seconds": 0}' + padding), 413, "payload_too_large")
    assert job_count(tenant) == before


def test_chunked_body_over_the_limit_is_413(admin, tenant):
    """No Content-Length to refuse up front: the limit holds while reading."""
    before = job_count(tenant)

    def chunks():
        yield b'{"hold_seconds": 0'
        for _ in range(MAX_BODY // 512 + 2):
            yield b" " * 512
        yield b"}"

    response = admin.post("/diagnostics/ping", content=chunks(),
                          headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    assert job_count(tenant) == before


def test_body_just_under_the_limit_is_read(admin, tenant):
    content = b'{"hold_seconds": 0}'
    content += b" " * (MAX_BODY - len(content) - 16)
    assert post_ping(admin, content).status_code == 202


# --- routes and methods --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nothing", "/jobs/x/y/z", "/auth", "/diagnostics/pong"])
def test_unknown_route_is_404(stack, path):
    with stack.client() as client:
        assert_error(client.get(path), 404, "not_found")
        assert_error(client.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/diagnostics/ping", "POST"), ("DELETE", "/jobs/", "GET"),
    ("PUT", "/auth/login", "POST"), ("GET", "/auth/refresh", "POST"), ("POST", "/health", "GET"),
    ("PATCH", "/jobs/abc", "GET"), ("DELETE", "/jobs/abc/cancel", "POST"),
])
def test_wrong_method_is_405_naming_the_allowed_ones(admin, tenant, method, path, allowed):
    before = job_count(tenant)
    response = admin.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    methods = {name.strip() for name in response.headers.get("Allow", "").split(",")}
    assert allowed in methods
    assert method not in methods
    assert job_count(tenant) == before


def test_unknown_job_is_404_in_the_error_shape(admin):
    assert_error(admin.get("/jobs/does-not-exist"), 404, "job_not_found")
    assert_error(admin.post("/jobs/does-not-exist/cancel"), 404, "job_not_found")


# --- query strings -------------------------------------------------------------------


@pytest.mark.parametrize("params, field", [
    ({"limit": "abc"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "100000"}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"state": "bogus"}, "state"),
    ({"state": "QUEUED"}, "state"),
    ({"kind": "k" * 101}, "kind"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_query_on_jobs_is_422(admin, params, field):
    error = assert_error(admin.get("/jobs/", params=params), 422, "validation_failed")
    assert list(error["details"]["fields"]) == [field]


@pytest.mark.parametrize("since", [
    "abc", "1e3", ".", "x.y", "9999999999999999",
    "99999999999999999999",
])
def test_bad_since_cursor_is_422_naming_it(admin, since):
    error = assert_error(admin.get("/jobs/", params={"since": since}), 422, "validation_failed")
    assert list(error["details"]["fields"]) == ["since"]


@pytest.mark.parametrize("value, problem", [
    (2 ** 64, "Integers must fit in 64 bits."),
    (-2 ** 63 - 1, "Integers must fit in 64 bits."),
    ({"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {
        "a": {"a": {"a": {"a": {"a": {"a": 1}}}}}}}}}}}}}}}}}}}}, "Nested deeper than 20 levels."),
])
def test_a_free_form_value_mongodb_cannot_store_is_422_not_500(admin, tenant, value, problem):
    # A form schema is free-form JSON: it reached MongoDB's encoder (a 500) before.
    body = {"conference_id": "0" * 24, "schema": {"type": "form", "body": [], "x": value}}
    error = assert_error(admin.post("/forms", json=body), 422, "validation_failed")
    (name, messages), = error["details"]["fields"].items()
    assert name.startswith("schema.x") and messages == [problem]
    # Stored nowhere: the same check guards a plugin's settings.
    settings = admin.put("/plugins/blocklist", json={"enabled": True, "config": {"x": value}})
    assert_error(settings, 422, "validation_failed")
    assert admin.get("/plugins").json()["items"][1]["enabled"] is False
