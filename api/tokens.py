"""JWTs: issued by /auth, verified by the API and the relay.

HS256 is pinned on both sides, so a token cannot choose its own algorithm
(``none`` included). ``kid`` picks the verification key, which lets operators
rotate keys: put the new key first, keep the old one until old tokens expire.
"""

from __future__ import annotations

import time
import uuid
import jwt

from meeteasy.errors import Unauthorized
from meeteasy.settings import Settings
from services.access import Caller

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "jti", "sub", "tid", "typ"]


def issue_pair(settings: Settings, *, tenant_id: str, user_id: str, roles: list[str]) -> dict:
    now = int(time.time())
    common = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now,
              "sub": user_id, "tid": tenant_id}
    access = _sign(settings, {**common, "typ": "access", "roles": roles, "jti": uuid.uuid4().hex,
                              "exp": now + settings.access_token_ttl})
    refresh = _sign(settings, {**common, "typ": "refresh", "jti": uuid.uuid4().hex,
                               "exp": now + settings.refresh_token_ttl})
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": settings.access_token_ttl}


def _sign(settings: Settings, claims: dict) -> str:
    kid, secret = next(iter(settings.signing_keys.items()))
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})


def decode(settings: Settings, token: str, expected_type: str) -> dict:
    """Verified claims of a token of ``expected_type`` ('access' or 'refresh'), else 401."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        secret = settings.signing_keys.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise Unauthorized("The token was signed with an unknown key.", code="invalid_token")
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=settings.jwt_audience,
                            issuer=settings.jwt_issuer, options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired.", code="token_expired")
    except jwt.PyJWTError:
        raise Unauthorized("The token is not valid.", code="invalid_token")
    if claims["typ"] != expected_type:
        raise Unauthorized(f"An {expected_type} token is required.", code="invalid_token")
    return claims


def principal_from(settings: Settings, token: str) -> Caller:
    claims = decode(settings, token, "access")
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("The token is not valid.", code="invalid_token")
    return Caller(user_id=claims["sub"], tenant_id=claims["tid"], roles=tuple(roles),
                     jti=claims["jti"], expires_at=claims["exp"])
