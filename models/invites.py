"""Invite codes: a `rules` conference approves a registration that brings a valid one."""

from __future__ import annotations

import secrets

import mongoengine as me

from models.base import TenantDocument, utcnow


class InviteCode(TenantDocument):
    conference_id = me.StringField(required=True)
    code = me.StringField(required=True)
    max_uses = me.IntField(required=True, min_value=1, default=1)
    remaining = me.IntField(required=True)  # never below 0: redeem only takes from > 0
    label = me.StringField(default="", max_length=200)
    created_by = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    # Each query shape below has an index whose leading fields are exactly its filter:
    # SecantusDB (the embedded server) uses an index only then, and MongoDB is served too.
    meta = {
        "collection": "invite_codes",
        "indexes": [
            # a code names one invite of the conference; listing a conference's codes
            {"fields": ("tenant_id", "conference_id", "code"), "unique": True},
            # redeeming: the code, and `remaining > 0` as the range on the next field
            ("tenant_id", "conference_id", "code", "remaining"),
        ],
    }


def public_view(invite: InviteCode) -> dict:
    return {"code": invite.code, "max_uses": invite.max_uses,
            "uses": invite.max_uses - invite.remaining,
            "label": invite.label, "created_at": invite.created_at.isoformat().replace("+00:00", "Z")}


def create_codes(tenant_id: str, conference_id: str, *, count: int, max_uses: int, label: str,
                 created_by: str) -> list[InviteCode]:
    return [InviteCode(tenant_id=tenant_id, conference_id=conference_id,
                       code=secrets.token_urlsafe(9), max_uses=max_uses, remaining=max_uses,
                       label=label,
                       created_by=created_by).save(force_insert=True)
            for _ in range(count)]


def list_codes(tenant_id: str, conference_id: str) -> list[InviteCode]:
    return list(InviteCode.objects(tenant_id=tenant_id, conference_id=conference_id).order_by("created_at"))


def redeem(tenant_id: str, conference_id: str, code: str) -> bool:
    """Use the code once if it has uses left; atomic, so a code is never overdrawn."""
    return bool(InviteCode.objects(tenant_id=tenant_id, conference_id=conference_id, code=code,
                                   remaining__gt=0).update_one(dec__remaining=1))
