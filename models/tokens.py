"""Refresh tokens are single-use: each refresh spends its jti, so a stolen and
replayed refresh token is refused. Entries expire with the token itself."""

from __future__ import annotations

from datetime import datetime

import mongoengine as me

from meeteasy.errors import Unauthorized


class SpentRefreshToken(me.Document):
    jti = me.StringField(primary_key=True)
    expires_at = me.DateTimeField(required=True)
    meta = {
        "collection": "spent_refresh_tokens",
        "auto_create_index": False,
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }


def spend_refresh_token(jti: str, expires_at: datetime) -> None:
    try:
        SpentRefreshToken(jti=jti, expires_at=expires_at).save(force_insert=True)
    except me.NotUniqueError:
        raise Unauthorized("This refresh token was already used.", code="token_reused")
