"""Identity: who may act in a tenant. Password login, attendee sign-up, the refresh
of a token pair, and the operator's bootstrap of accounts.

Each login-like operation answers the tenant id, user id and roles that a token pair
is issued for; signing the tokens is the API's part (``api.tokens``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from meeteasy.errors import NotFound, Unauthorized
from models import tokens, users
from models.users import PLATFORM_ADMIN, TENANT_ROLES  # noqa: F401  (the roles an operator gives)

Grant = tuple[str, str, list[str]]
"""What a token pair is issued for: (tenant id, user id, roles)."""


def log_in(tenant_slug: str, email: str, password: str) -> Grant:
    """A password login; every failure is the same 401 (see :func:`models.users.authenticate`)."""
    tenant, user, roles = users.authenticate(tenant_slug, email, password)
    return str(tenant.id), str(user.id), roles


def sign_up(tenant_slug: str, email: str, password: str, name: str) -> Grant:
    """An attendee joins a tenant: a new account, or an existing one proven by its password."""
    tenant, user, roles = users.sign_up(tenant_slug, email, password, name)
    return str(tenant.id), str(user.id), roles


def refresh_roles(claims: dict) -> list[str]:
    """Spend the refresh token and read the user's roles as they are now (a revoked
    role or a disabled user stops at the next refresh)."""
    tokens.spend_refresh_token(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
    try:
        user = users.get_user(claims["sub"])
    except NotFound:
        raise Unauthorized("The account no longer exists.", code="invalid_token")
    roles = users.roles_in(claims["tid"], user)
    if not user.active or not roles:
        raise Unauthorized("The account has no access to this tenant.", code="invalid_token")
    return roles


def create_user(tenant_id: str, email: str, password: str, roles: list[str],
                name: str = "") -> users.User:
    """An operator creates an account (or gives an existing one more roles) in a tenant."""
    return users.create_user(tenant_id, email, password, roles, name)
