"""People and their roles.

A :class:`User` is one identity across the platform (email + password, or later a
WeChat openid); a :class:`Membership` gives it roles inside one tenant. Only
``platform_admin`` is global.
"""

from __future__ import annotations

import functools

import mongoengine as me
from bson import ObjectId
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from meeteasy.cache import Versioned
from meeteasy.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from meeteasy.settings import get_settings
from models.base import TenantDocument, is_object_id, normalise_email, utcnow
from models.tenants import Tenant, get_tenant_by_slug

TENANT_ROLES = ("tenant_admin", "staff", "attendee")
PLATFORM_ADMIN = "platform_admin"
MIN_PASSWORD_LENGTH = 8

@functools.cache
def _hasher() -> PasswordHasher:
    """Argon2id with the cost of MEETEASY_PASSWORD_HASH_TIME_COST / _MEMORY_KIB. A hash
    carries its own parameters, so changing them never locks anyone out."""
    settings = get_settings()
    return PasswordHasher(time_cost=settings.password_hash_time_cost,
                          memory_cost=settings.password_hash_memory_kib)


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the email is unknown, so a miss costs as long as a hit.
    return _hasher().hash("not-a-real-password")


class User(me.Document):
    email = me.StringField(required=True, unique=True)
    password_hash = me.StringField()
    name = me.StringField(max_length=200, default="")
    platform_admin = me.BooleanField(default=False)
    active = me.BooleanField(default=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    # Not tenant-owned: read by id, or by email (login, sign-up) through its unique index.
    meta = {"collection": "users", "auto_create_index": False}


class Membership(TenantDocument):
    user_id = me.StringField(required=True)
    roles = me.ListField(me.StringField(choices=TENANT_ROLES), required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "memberships",
        "indexes": [
            # a user's roles in the tenant: read at login, upserted when roles are given
            {"fields": ("tenant_id", "user_id"), "unique": True},
        ],
    }


def create_user(tenant_id: str, email: str, password: str, roles: list[str], name: str = "") -> User:
    """Create the user if the email is new, and give them ``roles`` in the tenant.

    ``platform_admin`` in ``roles`` makes the user a platform admin instead of a tenant role.
    """
    email = normalise_email(email)
    unknown = [r for r in roles if r not in TENANT_ROLES and r != PLATFORM_ADMIN]
    problems = {}
    if unknown or not roles:
        problems["roles"] = [f"Roles must be among {', '.join(TENANT_ROLES + (PLATFORM_ADMIN,))}."]
    if len(password) < MIN_PASSWORD_LENGTH:
        problems["password"] = [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if problems:
        raise ValidationFailed.for_fields(problems)
    user = User.objects(email=email).first()
    if user is None:
        try:
            user = User(email=email, password_hash=_hasher().hash(password), name=name,
                        platform_admin=PLATFORM_ADMIN in roles).save(force_insert=True)
        except me.NotUniqueError:
            raise Conflict("A user with this email was created concurrently.", code="user_exists")
    elif PLATFORM_ADMIN in roles and not user.platform_admin:
        User.objects(id=user.id).update_one(set__platform_admin=True)
        user.platform_admin = True
    tenant_roles = [r for r in roles if r in TENANT_ROLES]
    if tenant_roles:
        Membership.objects(tenant_id=tenant_id, user_id=str(user.id)).update_one(
            add_to_set__roles=tenant_roles, set_on_insert__created_at=utcnow(), upsert=True)
    return user


def get_user(user_id: str) -> User:
    user = User.objects(id=user_id).first()
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


# A user's email and name as registering reads them, cached per process. Nothing changes
# them after creation yet; whatever comes to change them calls CONTACT.changed(user_id).
CONTACT = Versioned("user-contact", max_entries=8192)


def contact(user_id: str) -> tuple[str, str]:
    """A user's (email, name), from this process's cache when it is current."""
    return CONTACT.get((user_id,), lambda: _stored_contact(user_id), lambda pair: pair)


def _stored_contact(user_id: str) -> tuple[str, str]:
    stored = User._get_collection().find_one({"_id": ObjectId(user_id)}, {"email": 1, "name": 1}) \
        if is_object_id(user_id) else None
    if stored is None:
        raise NotFound("No such user.", code="user_not_found")
    return stored["email"], stored.get("name") or ""


def roles_in(tenant_id: str, user: User) -> list[str]:
    membership = Membership.objects(tenant_id=tenant_id, user_id=str(user.id)).first()
    roles = list(membership.roles) if membership else []
    if user.platform_admin:
        roles.append(PLATFORM_ADMIN)
    return roles


def authenticate(tenant_slug: str, email: str, password: str) -> tuple[Tenant, User, list[str]]:
    """The tenant, user and roles for a password login, or :class:`Unauthorized`.

    Every failure says the same thing, so a caller cannot probe which tenants or
    emails exist."""
    refusal = Unauthorized("Wrong tenant, email or password.", code="invalid_credentials")
    try:
        tenant = get_tenant_by_slug(tenant_slug)
    except NotFound:
        _hasher().verify(_dummy_hash(), "not-a-real-password")
        raise refusal
    user = User.objects(email=email.strip().lower()).first()
    try:
        _hasher().verify(user.password_hash if user and user.password_hash else _dummy_hash(),
                         password)
    except (VerificationError, InvalidHashError):
        raise refusal
    if user is None or not user.active or tenant.status != "active":
        raise refusal
    roles = roles_in(str(tenant.id), user)
    if not roles:
        raise refusal
    return tenant, user, roles


def sign_up(tenant_slug: str, email: str, password: str, name: str) -> tuple[Tenant, User, list[str]]:
    """An attendee joins a tenant: a new account, or an existing one proven by its password."""
    tenant = get_tenant_by_slug(tenant_slug)
    if tenant.status != "active":
        raise NotFound("No such tenant.", code="tenant_not_found")
    email = normalise_email(email)
    existing = User.objects(email=email).first()
    if existing is not None:
        try:
            _hasher().verify(existing.password_hash or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            raise Conflict("An account with this email exists; log in with its password.",
                           code="email_taken")
    user = create_user(str(tenant.id), email, password, ["attendee"], name.strip())
    return tenant, user, roles_in(str(tenant.id), user)
