"""api/tokens.py: what a token must carry to be believed, and what each refusal says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from api import tokens
from meeteasy.errors import Unauthorized
from meeteasy.settings import Settings
from services.access import Caller

NEW_SECRET = "n" * 40
OLD_SECRET = "o" * 40


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_keys=f"new:{NEW_SECRET},old:{OLD_SECRET}", jwt_issuer="meeteasy-test",
                    jwt_audience="meeteasy-test-api", access_token_ttl=600,
                    refresh_token_ttl=3600)


@pytest.fixture
def pair(settings) -> dict:
    return tokens.issue_pair(settings, tenant_id="tenant-1", user_id="user-1",
                             roles=["tenant_admin", "staff"])


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def sign(claims: dict, secret: str = NEW_SECRET, kid: str | None = "new",
         algorithm: str = "HS256") -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


def hand_signed(header: dict, claims: dict, secret: str = NEW_SECRET) -> str:
    """A correctly HMAC-signed token with a header PyJWT itself would refuse to write."""
    def part(value: dict) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def refusal(settings, token, expected_type="access") -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        tokens.decode(settings, token, expected_type)
    assert caught.value.status == 401
    return caught.value


def test_issued_pair_round_trips(settings, pair):
    before = int(time.time())
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 600

    access = tokens.decode(settings, pair["access_token"], "access")
    refresh = tokens.decode(settings, pair["refresh_token"], "refresh")

    assert jwt.get_unverified_header(pair["access_token"]) == {
        "alg": "HS256", "typ": "JWT", "kid": "new"}
    assert jwt.get_unverified_header(pair["refresh_token"])["kid"] == "new"
    for claims in (access, refresh):
        assert claims["iss"] == "meeteasy-test"
        assert claims["aud"] == "meeteasy-test-api"
        assert claims["sub"] == "user-1"
        assert claims["tid"] == "tenant-1"
        assert before - 1 <= claims["iat"] <= int(time.time())
        assert isinstance(claims["jti"], str) and claims["jti"]
    assert access["typ"] == "access"
    assert access["roles"] == ["tenant_admin", "staff"]
    assert access["exp"] - access["iat"] == 600
    assert refresh["typ"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 3600
    assert access["jti"] != refresh["jti"]

    principal = tokens.principal_from(settings, pair["access_token"])
    assert principal == Caller(user_id="user-1", tenant_id="tenant-1",
                               roles=("tenant_admin", "staff"), jti=access["jti"],
                               expires_at=access["exp"])
    assert principal.is_staff
    assert principal.has_any("staff", "attendee")
    assert not principal.has_any("attendee")


def test_every_pair_has_fresh_ids(settings):
    first = tokens.issue_pair(settings, tenant_id="t", user_id="u", roles=["attendee"])
    second = tokens.issue_pair(settings, tenant_id="t", user_id="u", roles=["attendee"])
    assert claims_of(first["access_token"])["jti"] != claims_of(second["access_token"])["jti"]
    assert claims_of(first["refresh_token"])["jti"] != claims_of(second["refresh_token"])["jti"]


def test_alg_none_is_refused(settings, pair):
    unsigned = jwt.encode(claims_of(pair["access_token"]), None, algorithm="none",
                          headers={"kid": "new"})
    assert refusal(settings, unsigned).code == "invalid_token"


def test_hs256_with_a_wrong_key_is_refused(settings, pair):
    forged = sign(claims_of(pair["access_token"]), secret="x" * 40)
    assert refusal(settings, forged).code == "invalid_token"


def test_a_key_of_one_kid_does_not_verify_under_another(settings, pair):
    # Signed with the old secret but claiming the new kid.
    mislabelled = sign(claims_of(pair["access_token"]), secret=OLD_SECRET, kid="new")
    assert refusal(settings, mislabelled).code == "invalid_token"


@pytest.mark.parametrize("kid", ["ghost", None, ""])
def test_unknown_or_missing_kid_is_refused(settings, pair, kid):
    token = sign(claims_of(pair["access_token"]), kid=kid)
    assert refusal(settings, token).code == "invalid_token"


def test_non_string_kid_is_refused(settings, pair):
    claims = claims_of(pair["access_token"])
    assert tokens.decode(settings, hand_signed({"alg": "HS256", "kid": "new"}, claims), "access")
    token = hand_signed({"alg": "HS256", "kid": ["new"]}, claims)
    assert refusal(settings, token).code == "invalid_token"


def test_expired_token_says_so(settings, pair):
    claims = {**claims_of(pair["access_token"]), "iat": int(time.time()) - 120,
              "exp": int(time.time()) - 60}
    error = refusal(settings, sign(claims))
    assert error.code == "token_expired"
    assert error.code != Unauthorized.code


def test_expired_and_forged_is_just_invalid(settings, pair):
    claims = {**claims_of(pair["access_token"]), "exp": int(time.time()) - 60}
    assert refusal(settings, sign(claims, secret="x" * 40)).code == "invalid_token"


@pytest.mark.parametrize("claim, value", [
    ("aud", "someone-else"),
    ("aud", ["someone-else"]),
    ("iss", "not-meeteasy"),
])
def test_wrong_audience_or_issuer_is_refused(settings, pair, claim, value):
    claims = {**claims_of(pair["access_token"]), claim: value}
    assert refusal(settings, sign(claims)).code == "invalid_token"


@pytest.mark.parametrize("claim", tokens.REQUIRED_CLAIMS)
def test_each_required_claim_is_required(settings, pair, claim):
    claims = claims_of(pair["access_token"])
    del claims[claim]
    assert refusal(settings, sign(claims)).code == "invalid_token"


def test_access_token_without_roles_gives_no_principal(settings, pair):
    claims = claims_of(pair["access_token"])
    del claims["roles"]
    with pytest.raises(Unauthorized) as caught:
        tokens.principal_from(settings, sign(claims))
    assert caught.value.code == "invalid_token"


def test_refresh_token_is_not_an_access_token(settings, pair):
    assert refusal(settings, pair["refresh_token"], "access").code == "invalid_token"
    with pytest.raises(Unauthorized) as caught:
        tokens.principal_from(settings, pair["refresh_token"])
    assert caught.value.code == "invalid_token"


def test_access_token_is_not_a_refresh_token(settings, pair):
    assert refusal(settings, pair["access_token"], "refresh").code == "invalid_token"


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "....", "Bearer x",
                                     "eyJhbGciOiJIUzI1NiJ9.e30.", "\u00e9\u00e8"])
def test_garbage_is_refused(settings, garbage):
    assert refusal(settings, garbage).code == "invalid_token"


def test_token_signed_with_the_second_key_still_verifies(settings, pair):
    """Rotation: tokens signed before the new key was put first stay valid."""
    claims = claims_of(pair["access_token"])
    old = sign(claims, secret=OLD_SECRET, kid="old")
    assert tokens.decode(settings, old, "access") == claims
    assert tokens.principal_from(settings, old).user_id == "user-1"


def test_after_the_old_key_is_dropped_its_tokens_stop_verifying(settings, pair):
    old = sign(claims_of(pair["access_token"]), secret=OLD_SECRET, kid="old")
    rotated = Settings(jwt_keys=f"new:{NEW_SECRET}", jwt_issuer=settings.jwt_issuer,
                       jwt_audience=settings.jwt_audience)
    assert refusal(rotated, old).code == "invalid_token"
    # Tokens of the remaining key are unaffected.
    assert tokens.decode(rotated, pair["access_token"], "access")["sub"] == "user-1"


def test_other_settings_do_not_accept_our_tokens(pair):
    """A deployment with another issuer/audience (or secret) refuses our tokens."""
    elsewhere = Settings(jwt_keys=f"new:{'z' * 40}", jwt_issuer="meeteasy-test",
                         jwt_audience="meeteasy-test-api")
    assert refusal(elsewhere, pair["access_token"]).code == "invalid_token"
