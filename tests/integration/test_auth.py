"""Login, refresh and the bearer check, through the real API and the real relay."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import socketio

from meeteasy.settings import parse_jwt_keys
from tests.integration.conftest import PASSWORD
from tests.integration.stack import TEST_SETTINGS
from tests.integration.hot_jobs import stored_jobs

KEYS = parse_jwt_keys(TEST_SETTINGS["MEETEASY_JWT_KEYS"])
SIGNING_KID, SECRET = next(iter(KEYS.items()))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def resign(token: str, secret: str = SECRET, kid: str = SIGNING_KID, algorithm="HS256",
           **changes) -> str:
    """The token's claims with ``changes``, signed again."""
    claims = {**claims_of(token), **changes}
    return jwt.encode(claims, secret, algorithm=algorithm, headers={"kid": kid})


def login(stack, slug, email, password):
    with stack.client() as client:
        return client.post("/auth/login", json={"tenant": slug, "email": email,
                                                "password": password})


# --- login ---------------------------------------------------------------------------


def test_login_returns_a_token_pair(stack, tenant):
    admin = tenant.users["tenant_admin"]
    response = login(stack, tenant.slug, admin.email, PASSWORD)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "Bearer"
    claims = claims_of(pair["access_token"])
    assert pair["expires_in"] == claims["exp"] - claims["iat"] > 0
    assert claims["sub"] == admin.id and claims["tid"] == tenant.id
    assert claims["roles"] == ["tenant_admin"]
    with stack.client(pair["access_token"]) as client:
        assert client.get("/jobs/").status_code == 200


def test_email_is_case_insensitive_at_login(stack, tenant):
    admin = tenant.users["tenant_admin"]
    assert login(stack, tenant.slug.upper(), admin.email.upper(), PASSWORD).status_code == 200


def test_login_failures_all_look_the_same(stack, tenant, other_tenant):
    admin = tenant.users["tenant_admin"]
    outsider = other_tenant.users["tenant_admin"]
    attempts = {
        "wrong password": (tenant.slug, admin.email, PASSWORD + "!"),
        "unknown email": (tenant.slug, f"nobody-{uuid.uuid4().hex}@example.com", PASSWORD),
        "unknown tenant": (f"no-{uuid.uuid4().hex[:8]}", admin.email, PASSWORD),
        "member of another tenant": (tenant.slug, outsider.email, PASSWORD),
    }
    bodies = {}
    for name, (slug, email, password) in attempts.items():
        bodies[name] = assert_error(login(stack, slug, email, password), 401,
                                    "invalid_credentials")
    assert len({(body["message"], str(body["details"])) for body in bodies.values()}) == 1, bodies


# --- refresh -------------------------------------------------------------------------


def test_refresh_gives_a_new_pair_once(stack, tenant):
    pair = tenant.tokens["staff"]
    with stack.client() as client:
        response = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert response.status_code == 200, response.text
        fresh = response.json()
        assert set(fresh) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert fresh["access_token"] != pair["access_token"]
        assert fresh["refresh_token"] != pair["refresh_token"]
        assert claims_of(fresh["access_token"])["sub"] == tenant.users["staff"].id
        assert claims_of(fresh["access_token"])["roles"] == ["staff"]

        replay = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert_error(replay, 401, "token_reused")

        # The new refresh token is good for exactly one more refresh.
        again = client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
        assert again.status_code == 200, again.text
    with stack.client(fresh["access_token"]) as client:
        assert client.get("/jobs/").status_code == 200


def test_access_token_cannot_refresh(stack, tenant):
    pair = tenant.tokens["staff"]
    with stack.client() as client:
        response = client.post("/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert_error(response, 401, "invalid_token")


def test_forged_or_expired_refresh_token_is_refused(stack, tenant):
    refresh = tenant.tokens["staff"]["refresh_token"]
    with stack.client() as client:
        forged = client.post("/auth/refresh", json={
            "refresh_token": resign(refresh, secret="f" * 40)})
        expired = client.post("/auth/refresh", json={
            "refresh_token": resign(refresh, exp=int(time.time()) - 60)})
        # Neither refusal spent the genuine token.
        genuine = client.post("/auth/refresh", json={"refresh_token": refresh})
    assert_error(forged, 401, "invalid_token")
    assert_error(expired, 401, "token_expired")
    assert genuine.status_code == 200, genuine.text


# --- the bearer check ----------------------------------------------------------------


def test_refresh_token_is_not_a_bearer_token(stack, tenant):
    with stack.client(tenant.tokens["tenant_admin"]["refresh_token"]) as client:
        assert_error(client.get("/jobs/"), 401, "invalid_token")


BAD_TOKENS = {
    "alg none": lambda token: resign(token, secret=None, algorithm="none"),
    "wrong key": lambda token: resign(token, secret="w" * 40),
    "unknown kid": lambda token: resign(token, kid="ghost"),
    "wrong audience": lambda token: resign(token, aud="someone-else"),
    "wrong issuer": lambda token: resign(token, iss="not-meeteasy"),
    "no tenant claim": lambda token: _without(token, "tid"),
    "garbage": lambda token: "not.a.token",
}


def _without(token: str, claim: str) -> str:
    claims = claims_of(token)
    del claims[claim]
    return jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": SIGNING_KID})


@pytest.mark.parametrize("name", BAD_TOKENS)
def test_bad_bearer_tokens_are_401(stack, tenant, name):
    token = BAD_TOKENS[name](tenant.tokens["tenant_admin"]["access_token"])
    with stack.client(token) as client:
        assert_error(client.get("/jobs/"), 401, "invalid_token")


def test_expired_bearer_token_is_401_token_expired(stack, tenant):
    token = resign(tenant.tokens["tenant_admin"]["access_token"], exp=int(time.time()) - 60)
    with stack.client(token) as client:
        assert_error(client.get("/jobs/"), 401, "token_expired")


def test_token_of_the_previous_key_is_accepted(stack, tenant):
    """Key rotation: MEETEASY_JWT_KEYS lists a second ("old") key that still verifies."""
    old_kid, old_secret = list(KEYS.items())[1]
    token = resign(tenant.tokens["tenant_admin"]["access_token"], secret=old_secret, kid=old_kid)
    with stack.client(token) as client:
        assert client.get("/jobs/").status_code == 200


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic dXNlcjpwYXNz",
                                    "Token abc"])
def test_missing_bearer_is_401(stack, header):
    with stack.client() as client:
        headers = {} if header is None else {"Authorization": header}
        assert_error(client.get("/jobs/", headers=headers), 401, "missing_token")


def test_attendee_cannot_ping(stack, tenant):
    before = stored_jobs(tenant_id=tenant.id)
    with stack.client(tenant.tokens["attendee"]["access_token"]) as client:
        response = client.post("/diagnostics/ping", json={})
    assert_error(response, 403, "missing_role")
    assert stored_jobs(tenant_id=tenant.id) == before


# --- the relay -----------------------------------------------------------------------


def relay_refusal(stack, auth) -> dict:
    """Connect with ``auth``; the connection must be refused. Returns what the client
    was told (python-socketio's ``connect_error`` payload)."""
    client = socketio.Client(reconnection=False)
    refusals = []
    client.on("connect_error", refusals.append)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(stack.relay_url, auth=auth, transports=["websocket"], wait_timeout=10)
    finally:
        client.disconnect()
    assert client.connected is False
    assert refusals, "the relay refused without saying why"
    return refusals[0]


def test_relay_refuses_a_missing_token(stack):
    sock = socketio.SimpleClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        sock.connect(stack.relay_url, transports=["websocket"], wait_timeout=10)
    assert "missing_token" in str(relay_refusal(stack, None))
    assert "missing_token" in str(relay_refusal(stack, {"token": ""}))


def test_relay_refuses_bad_tokens(stack, tenant):
    pair = tenant.tokens["tenant_admin"]
    bad = {
        "expired": (resign(pair["access_token"], exp=int(time.time()) - 60), "token_expired"),
        "forged": (resign(pair["access_token"], secret="w" * 40), "invalid_token"),
        "refresh": (pair["refresh_token"], "invalid_token"),
        "alg none": (resign(pair["access_token"], secret=None, algorithm="none"),
                     "invalid_token"),
    }
    for name, (token, code) in bad.items():
        with pytest.raises(socketio.exceptions.ConnectionError):
            stack.socket(token)
        assert code in str(relay_refusal(stack, {"token": token})), name


def _refusal_code(refusal: dict) -> str | None:
    data = refusal.get("data")
    return refusal.get("code") or (data.get("code") if isinstance(data, dict) else None)


def test_relay_refusal_code_is_machine_readable(stack, tenant):
    token = resign(tenant.tokens["tenant_admin"]["access_token"], exp=int(time.time()) - 60)
    assert _refusal_code(relay_refusal(stack, {"token": token})) == "token_expired"
    assert _refusal_code(relay_refusal(stack, None)) == "missing_token"


def test_relay_accepts_a_valid_token(stack, tenant):
    sock = stack.socket(tenant.tokens["attendee"]["access_token"])
    try:
        assert sock.connected
        assert sock.sid
    finally:
        sock.disconnect()
