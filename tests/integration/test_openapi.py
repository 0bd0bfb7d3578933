"""GET /docs/openapi.json describes the API that actually answers: every route, its
body, its success answer and its errors, checked against real responses."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from api.auth import LoginBody, RefreshBody
from api.diagnostics import PingBody
from tests.integration.conftest import make_tenant

JSON = "application/json"

# Routes anyone may call; every other route needs a bearer token.
PUBLIC = {("/auth/login", "post"), ("/auth/refresh", "post"), ("/auth/signup", "post"),
          ("/health", "get")}
# Request bodies checked against their pydantic model.
BODIES = {("/auth/login", "post"): LoginBody, ("/auth/refresh", "post"): RefreshBody,
          ("/diagnostics/ping", "post"): PingBody}


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method in methods:
            yield path, method


def concrete(path: str) -> str:
    """A documented path with each {parameter} replaced by an id nobody has."""
    return re.sub(r"\{[^}]+\}", lambda _: uuid.uuid4().hex[:24], path)


def _norm(path: str) -> str:
    return path.rstrip("/") or "/"


@pytest.fixture(scope="module")
def document(stack) -> dict:
    with stack.client() as client:
        response = client.get("/docs/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    return response.json()


@pytest.fixture(scope="module")
def tenant(stack):
    return make_tenant(stack, roles=("tenant_admin",))


def operation(document: dict, path: str, method: str) -> dict:
    for documented, operations in document["paths"].items():
        if _norm(documented) == _norm(path) and method in operations:
            return operations[method]
    raise AssertionError(f"{method.upper()} {path} is not documented")


# --- a small OpenAPI 3.0 schema checker ----------------------------------------------

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int,
          "number": (int, float)}
_NOT_OAS30 = {"const", "$defs", "prefixItems", "unevaluatedProperties"}


def resolve(document: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/"), f"$ref {ref} points outside the document"
    target: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(target, dict) and part in target, f"$ref {ref} does not resolve"
        target = target[part]
    return resolve(document, target)


def well_formed(document: dict, schema: dict, where: str = "$") -> list[str]:
    """Problems that make ``schema`` wrong as OpenAPI 3.0 (not as JSON Schema 2020-12)."""
    try:
        schema = resolve(document, schema)
    except AssertionError as error:
        return [f"{where}: {error}"]
    problems = [f"{where}: JSON Schema keyword {key!r}" for key in _NOT_OAS30 & set(schema)]
    kind = schema.get("type")
    if kind == "null" or isinstance(kind, list):
        problems.append(f"{where}: type {kind!r} is not OpenAPI 3.0")
    elif kind is not None and kind not in _TYPES:
        problems.append(f"{where}: unknown type {kind!r}")
    if "enum" in schema and kind not in ("string", "integer", "number", "boolean"):
        problems.append(f"{where}: enum {schema['enum']} on type {kind!r}")
    if "model_config" in schema.get("properties", {}):
        problems.append(f"{where}: pydantic's model_config shown as a property")
    for name, sub in schema.get("properties", {}).items():
        problems += well_formed(document, sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        problems += well_formed(document, schema["items"], f"{where}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        problems += well_formed(document, schema["additionalProperties"], f"{where}.*")
    for combinator in ("anyOf", "oneOf", "allOf"):
        for index, sub in enumerate(schema.get(combinator, [])):
            problems += well_formed(document, sub, f"{where}<{combinator}{index}>")
    return problems


def mismatches(document: dict, schema: dict, value: Any, where: str = "$") -> list[str]:
    """Where ``value`` (a real JSON answer) does not fit ``schema``."""
    schema = resolve(document, schema)
    if value is None:
        return [] if schema.get("nullable") or not schema else [f"{where}: null not allowed"]
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            if not any(not mismatches(document, sub, value, where) for sub in schema[combinator]):
                return [f"{where}: {value!r} fits none of {combinator}"]
    kind = schema.get("type")
    if kind is not None:
        expected = _TYPES.get(kind)
        if expected is None or not isinstance(value, expected) or (
                isinstance(value, bool) and kind in ("integer", "number")):
            return [f"{where}: {value!r} is not of type {kind!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    problems = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems += [f"{where}: missing {name!r}" for name in schema.get("required", [])
                     if name not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{where}: undocumented {name!r}" for name in value
                         if name not in properties]
        for name, item in value.items():
            if name in properties:
                problems += mismatches(document, properties[name], item, f"{where}.{name}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += mismatches(document, schema["items"], item, f"{where}[{index}]")
    return problems


def json_schema(document: dict, op: dict, status: int) -> dict:
    responses = op.get("responses", {})
    assert str(status) in responses, f"status {status} not documented: {sorted(responses)}"
    content = responses[str(status)].get("content", {})
    assert JSON in content and "schema" in content[JSON], responses[str(status)]
    return content[JSON]["schema"]


def assert_documented(document: dict, path: str, method: str, response) -> None:
    """The real ``response`` has a documented status and fits the documented schema."""
    op = operation(document, path, method)
    schema = json_schema(document, op, response.status_code)
    assert well_formed(document, schema) == []
    assert mismatches(document, schema, response.json()) == []


# --- the routes --------------------------------------------------------------------


def test_every_route_is_documented_and_served(stack, document, tenant):
    assert document["openapi"].startswith("3.0.")
    assert document["info"]["title"] == "MeetEasy API"
    documented = {(_norm(path), method) for path, method in operations(document)}
    expected = {("/auth/login", "post"), ("/jobs", "get"), ("/jobs/{job_id}", "get"),
                ("/jobs/{job_id}/cancel", "post"), ("/diagnostics/ping", "post"),
                ("/health", "get"), ("/conferences/{conference_id}/registrations", "post")}
    assert expected <= documented

    # Each documented route is one the server answers (not an unknown route or method),
    # with a success answer described by a schema.
    token = tenant.tokens["tenant_admin"]["access_token"]
    with stack.client(token) as client:
        for path, method in operations(document):
            op = operation(document, path, method)
            successes = [status for status in op["responses"] if status.startswith("2")]
            assert successes, (method, path)
            for status in successes:
                assert op["responses"][status].get("content"), (method, path, status)
            response = client.request(method.upper(), concrete(path),
                                      json={} if method in ("post", "put", "patch") else None)
            assert response.status_code != 405, (method, path)
            if response.status_code == 404:
                assert response.json()["error"]["code"] != "not_found", (method, path)


def test_bearer_security_is_declared_where_it_is_required(stack, document):
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    with stack.client() as client:
        for path, method in operations(document):
            op = operation(document, path, method)
            anonymous = client.request(method.upper(), concrete(path),
                                       json={} if method in ("post", "put", "patch") else None)
            if (_norm(path), method) not in {(_norm(p), m) for p, m in PUBLIC}:
                assert op.get("security") == [{"bearer": []}], (method, path)
                assert anonymous.status_code == 401, (method, path)
                assert_documented(document, path, method, anonymous)
            else:
                assert not op.get("security"), (method, path)
                assert anonymous.status_code != 401 or path == "/auth/login", (method, path)


@pytest.mark.parametrize("path, method", [
    ("/auth/login", "post"),
    ("/auth/refresh", "post"),
    ("/diagnostics/ping", "post"),
])
def test_request_body_is_the_model(document, path, method):
    model = BODIES[(path, method)]
    body = operation(document, path, method).get("requestBody")
    assert body, f"{method.upper()} {path} documents no body"
    schema = resolve(document, body["content"][JSON]["schema"])
    assert well_formed(document, schema) == []
    assert schema["type"] == "object"
    assert set(schema["properties"]) == set(model.model_fields)
    assert set(schema.get("required", [])) == {
        name for name, field in model.model_fields.items() if field.is_required()}
    # Unknown fields are refused (validation.Body), so the document says so.
    assert schema.get("additionalProperties") is False


def test_idempotency_key_is_documented_on_ping(document):
    parameters = operation(document, "/diagnostics/ping", "post").get("parameters", [])
    assert {"name": "Idempotency-Key", "in": "header"} in [
        {"name": p["name"], "in": p["in"]} for p in parameters]


def test_job_id_is_a_required_path_parameter(document):
    for path, method in (("/jobs/{job_id}", "get"), ("/jobs/{job_id}/cancel", "post")):
        parameters = operation(document, path, method)["parameters"]
        assert {"name": "job_id", "in": "path", "required": True} in [
            {"name": p["name"], "in": p["in"], "required": p.get("required")}
            for p in parameters]


# --- success answers, checked against real ones -------------------------------------


def _login(stack, tenant):
    admin = tenant.users["tenant_admin"]
    with stack.client() as client:
        return client.post("/auth/login", json={"tenant": tenant.slug, "email": admin.email,
                                                "password": "correct horse battery"})


def _refresh(stack, tenant):
    refresh = _login(stack, tenant).json()["refresh_token"]
    with stack.client() as client:
        return client.post("/auth/refresh", json={"refresh_token": refresh})


def _ping(stack, tenant, hold=0):
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        return client.post("/diagnostics/ping", json={"hold_seconds": hold})


def _list_jobs(stack, tenant):
    _ping(stack, tenant)
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        return client.get("/jobs/")


def _get_job(stack, tenant):
    job_id = _ping(stack, tenant).json()["job_id"]
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        return client.get(f"/jobs/{job_id}")


def _cancel_job(stack, tenant):
    job_id = _ping(stack, tenant, hold=5).json()["job_id"]
    with stack.client(tenant.tokens["tenant_admin"]["access_token"]) as client:
        return client.post(f"/jobs/{job_id}/cancel")


def _health(stack, tenant):
    with stack.client() as client:
        return client.get("/health")


@pytest.mark.parametrize("path, method, status, call", [
    ("/auth/login", "post", 200, _login),
    ("/auth/refresh", "post", 200, _refresh),
    ("/jobs/", "get", 200, _list_jobs),
    ("/jobs/{job_id}", "get", 200, _get_job),
    ("/jobs/{job_id}/cancel", "post", 200, _cancel_job),
    ("/diagnostics/ping", "post", 202, _ping),
    ("/health", "get", 200, _health),
])
def test_success_answer_fits_its_schema(stack, document, tenant, path, method, status, call):
    response = call(stack, tenant)
    assert response.status_code == status, response.text
    assert_documented(document, path, method, response)


# --- errors --------------------------------------------------------------------------


def test_declared_errors_are_the_error_shape(document):
    for path, method in operations(document):
        op = operation(document, path, method)
        for status in op["responses"]:
            if status == "default" or int(status) < 400:
                continue
            schema = resolve(document, json_schema(document, op, int(status)))
            assert well_formed(document, schema) == [], (status, method, path)
            assert schema.get("type") == "object" and schema.get("required") == ["error"]
            error = resolve(document, schema["properties"]["error"])
            assert set(error["properties"]) == {"code", "message", "details"}
            assert set(error["required"]) == {"code", "message", "details"}
            assert error["properties"]["code"]["type"] == "string"
            assert error["properties"]["message"]["type"] == "string"
            assert error["properties"]["details"].get("nullable") is True


def test_real_errors_fit_their_documented_schema(stack, document, tenant):
    admin = tenant.tokens["tenant_admin"]["access_token"]
    with stack.client() as client:
        answers = {
            ("/auth/login", "post"): [
                client.post("/auth/login", json={"tenant": tenant.slug, "email": "x@y.z",
                                                 "password": "nope"}),
                client.post("/auth/login", json={"tenant": tenant.slug}),
                client.post("/auth/login", content=b"{", headers={"Content-Type": JSON}),
            ],
            ("/auth/refresh", "post"): [
                client.post("/auth/refresh", json={"refresh_token": "garbage"}),
                client.post("/auth/refresh", json={}),
            ],
        }
    with stack.client(admin) as client:
        answers[("/jobs/", "get")] = [client.get("/jobs/", params={"limit": "x"})]
        answers[("/jobs/{job_id}", "get")] = [client.get(f"/jobs/{uuid.uuid4().hex}")]
        answers[("/jobs/{job_id}/cancel", "post")] = [
            client.post(f"/jobs/{uuid.uuid4().hex}/cancel")]
        answers[("/diagnostics/ping", "post")] = [
            client.post("/diagnostics/ping", json={"hold_seconds": -1}),
            client.post("/diagnostics/ping", content=b"[", headers={"Content-Type": JSON}),
            client.post("/diagnostics/ping", content=b"{}" + b" " * 5000,
                        headers={"Content-Type": JSON}),
        ]
    for (path, method), responses in answers.items():
        for response in responses:
            assert response.status_code >= 400, response.text
            assert_documented(document, path, method, response)
