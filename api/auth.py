"""Authentication: the login and refresh endpoints, and the decorator every other
endpoint uses to get its caller (and so its tenant) from the bearer token."""

from __future__ import annotations

from functools import wraps

from pydantic import Field
from sanic import Blueprint, json
from sanic_ext import openapi
from sanic_ext.extensions.openapi.builders import OperationStore

from api import offload, tokens
from api.schemas import ERRORS, TokenPair, json_body, json_response
from api.validation import Body, parse_body
from meeteasy.errors import Forbidden, Unauthorized
from meeteasy.settings import get_settings
from services import identity

bp = Blueprint("auth", url_prefix="/auth")


def bearer_token(request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send `Authorization: Bearer <access token>`.", code="missing_token")
    return token.strip()


def authenticated(*roles: str):
    """Require a valid access token, and one of ``roles`` if given (403 otherwise).
    The caller is put in ``request.ctx.principal``."""

    def decorator(handler):
        @wraps(handler)
        async def wrapper(request, *args, **kwargs):
            principal = tokens.principal_from(get_settings(), bearer_token(request))
            if roles and not principal.has_any(*roles):
                raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.",
                                code="missing_role")
            request.ctx.principal = principal
            return await handler(request, *args, **kwargs)

        # sanic-ext files documentation under the function object it decorated; carry what
        # inner decorators declared (e.g. @idempotent's header) over to the route's handler.
        operations = OperationStore()
        if handler in operations:
            operations[wrapper] = operations.pop(handler)
        return openapi.secured("bearer")(wrapper)

    return decorator


class LoginBody(Body):
    tenant: str = Field(min_length=1, max_length=63, description="The tenant's slug.")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class SignupBody(Body):
    tenant: str = Field(min_length=1, max_length=63, description="The tenant's slug.")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field("", max_length=200)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=4096)


@bp.post("/login")
@openapi.definition(
    summary="Log in with a password", tag="auth",
    body=json_body(LoginBody),
    response=[json_response(TokenPair), *ERRORS(400, 401, 422)],
)
async def login(request):
    body = parse_body(request, LoginBody)
    tenant_id, user_id, roles = await offload.run_sync(
        identity.log_in, body.tenant, body.email, body.password)
    return json(tokens.issue_pair(get_settings(), tenant_id=tenant_id, user_id=user_id,
                                  roles=roles))


@bp.post("/signup")
@openapi.definition(
    summary="Create an attendee account in a tenant (or join it with an existing account)",
    tag="auth", body=json_body(SignupBody),
    response=[json_response(TokenPair, status=201), *ERRORS(400, 404, 409, 422)],
)
async def signup(request):
    body = parse_body(request, SignupBody)
    tenant_id, user_id, roles = await offload.run_sync(
        identity.sign_up, body.tenant, body.email, body.password, body.name)
    return json(tokens.issue_pair(get_settings(), tenant_id=tenant_id, user_id=user_id,
                                  roles=roles), status=201)


@bp.post("/refresh")
@openapi.definition(
    summary="Trade a refresh token (single use) for a new token pair", tag="auth",
    body=json_body(RefreshBody),
    response=[json_response(TokenPair), *ERRORS(400, 401, 422)],
)
async def refresh(request):
    body = parse_body(request, RefreshBody)
    settings = get_settings()
    claims = tokens.decode(settings, body.refresh_token, "refresh")
    roles = await offload.run_sync(identity.refresh_roles, claims)
    return json(tokens.issue_pair(settings, tenant_id=claims["tid"], user_id=claims["sub"],
                                  roles=roles))
