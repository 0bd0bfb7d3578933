"""Speakers of a conference: their profiles and links.

Speakers belong to one conference of one tenant; every query names both. A speaker
is removed for real on delete (unlike conferences), with an audit entry that keeps
what was removed; removing one also unlinks them from the sessions they give, so the
delete lives with the programme as a whole (:func:`models.agenda.delete_speaker`).
Writes to an archived conference are refused.
"""

from __future__ import annotations

import re

from typing import Any

import mongoengine as me
from bson import ObjectId

from meeteasy.errors import NotFound, ValidationFailed
from models import audit
from models.base import (TenantDocument, is_object_id, iso, normalise_email, snapshot_diff, utcnow,
                         validate_document)
from models.conferences import get_changeable

MAX_PAGE = 500
MAX_LINKS = 20
SPEAKER_FIELDS = ("name", "bio", "company", "title", "email", "photo_url", "links")


class Link(me.EmbeddedDocument):
    label = me.StringField(default="", max_length=100)
    url = me.StringField(required=True, max_length=2000)


class Speaker(TenantDocument):
    conference_id = me.StringField(required=True)
    name = me.StringField(required=True, max_length=200)
    bio = me.StringField(default="", max_length=10000)
    company = me.StringField(default="", max_length=200)
    title = me.StringField(default="", max_length=200)
    email = me.StringField(null=True)
    photo_url = me.StringField(null=True, max_length=2000)
    links = me.ListField(me.EmbeddedDocumentField(Link))
    created_by = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    # As for sessions: each query shape's filter is exactly the leading fields of one.
    meta = {
        "collection": "speakers",
        "indexes": [
            # listing by name
            ("tenant_id", "conference_id", "name"),
            # one speaker, and a session's speakers (`id $in [...]`)
            ("tenant_id", "conference_id", "id"),
        ],
    }


def check_speaker_fields(fields: dict) -> dict:
    """Validate and normalise speaker fields (a full set or a patch); 422 naming each field."""
    problems: dict[str, list[str]] = {}
    cleaned = dict(fields)
    for name in sorted(set(fields) - set(SPEAKER_FIELDS)):
        problems[name] = ["Not a field that can be set."]
    for name in ("name", "bio", "company", "title"):
        if name in fields and not isinstance(fields[name], str):
            problems[name] = ["Must be a string."]
    if "name" in fields and "name" not in problems:
        cleaned["name"] = " ".join(fields["name"].split())
        if not cleaned["name"]:
            problems["name"] = ["A name is required."]
    if fields.get("email") is not None:
        try:
            cleaned["email"] = normalise_email(fields["email"])
        except ValidationFailed:
            problems["email"] = ["Not an email address."]
    if fields.get("photo_url") is not None and not is_web_url(fields["photo_url"]):
        problems["photo_url"] = ["Use an http(s) URL."]
    if "links" in fields:
        links = fields["links"] or []
        if not isinstance(links, list) or len(links) > MAX_LINKS:
            problems["links"] = [f"A list of at most {MAX_LINKS} links."]
        else:
            cleaned["links"] = []
            for index, link in enumerate(links):
                link = link if isinstance(link, dict) else {}
                if not is_web_url(link.get("url")):
                    problems[f"links.{index}.url"] = ["Use an http(s) URL."]
                cleaned["links"].append(Link(label=str(link.get("label") or ""),
                                             url=link.get("url")))
    if problems:
        raise ValidationFailed.for_fields(problems)
    return cleaned


# An absolute http(s) URL: a host, then an optional path, query or fragment, with no
# space or control character. The API documents this very pattern.
WEB_URL = re.compile(r"^https?://[^/?#\x00-\x20\x7f]+(?:[/?#][^\x00-\x20\x7f]*)?$")


def is_web_url(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 2000 and bool(WEB_URL.fullmatch(value))


def speaker_view(speaker: Speaker, *, staff: bool) -> dict:
    """The speaker's profile; the email address only for staff."""
    return {
        "id": str(speaker.id),
        "conference_id": speaker.conference_id,
        "name": speaker.name,
        "bio": speaker.bio,
        "company": speaker.company,
        "title": speaker.title,
        "email": speaker.email if staff else None,
        "photo_url": speaker.photo_url,
        "links": [{"label": link.label, "url": link.url} for link in speaker.links],
        "created_at": iso(speaker.created_at),
        "updated_at": iso(speaker.updated_at),
    }


def speaker_snapshot(speaker: Speaker) -> dict:
    view = speaker_view(speaker, staff=True)
    return {name: view[name] for name in SPEAKER_FIELDS}


def create_speaker(tenant_id: str, conference_id: str, *, actor: str, **fields) -> Speaker:
    get_changeable(tenant_id, conference_id)
    if fields.get("name") is None:
        raise ValidationFailed.for_fields({"name": ["This field is required."]})
    fields = check_speaker_fields(fields)
    speaker = Speaker(tenant_id=tenant_id, conference_id=conference_id, created_by=actor, **fields)
    validate_document(speaker)
    speaker.save(force_insert=True)
    audit.record(tenant_id, actor, "speaker.created", "speaker", str(speaker.id),
                 conference_id=conference_id, changes=speaker_snapshot(speaker))
    return speaker


def get_speaker(tenant_id: str, conference_id: str, speaker_id: str) -> Speaker:
    speaker = None
    if is_object_id(speaker_id):
        speaker = Speaker.objects(tenant_id=tenant_id, conference_id=conference_id,
                                  id=speaker_id).first()
    if speaker is None:
        raise NotFound("No such speaker.", code="speaker_not_found")
    return speaker


def list_speakers(tenant_id: str, conference_id: str, *, offset: int = 0,
                  limit: int = 200) -> tuple[list[Speaker], int]:
    """Speakers by name, and the total."""
    found = Speaker.objects(tenant_id=tenant_id, conference_id=conference_id).order_by("name", "id")
    limit = max(1, min(limit, MAX_PAGE))
    return list(found.skip(max(0, offset)).limit(limit)), found.count()


def speakers_by_id(tenant_id: str, conference_id: str, ids) -> dict[str, Speaker]:
    ids = [ObjectId(i) for i in set(ids) if ObjectId.is_valid(i)]
    if not ids:
        return {}
    return {str(s.id): s for s in Speaker.objects(tenant_id=tenant_id, conference_id=conference_id,
                                                   id__in=ids)}


def update_speaker(tenant_id: str, conference_id: str, speaker_id: str, changes: dict, *,
                   actor: str) -> Speaker:
    get_changeable(tenant_id, conference_id)
    speaker = get_speaker(tenant_id, conference_id, speaker_id)
    if "name" in changes and changes["name"] is None:
        raise ValidationFailed.for_fields({"name": ["A name is required."]})
    changes = check_speaker_fields(changes)
    before = speaker_snapshot(speaker)
    for name, value in changes.items():
        setattr(speaker, name, value)
    validate_document(speaker)
    diff = snapshot_diff(before, speaker_snapshot(speaker))
    if not diff:
        return speaker
    updated = Speaker.objects(tenant_id=tenant_id, conference_id=conference_id,
                              id=speaker.id).modify(
        new=True, set__updated_at=utcnow(), **{f"set__{name}": changes[name] for name in diff})
    if updated is None:
        raise NotFound("No such speaker.", code="speaker_not_found")
    audit.record(tenant_id, actor, "speaker.updated", "speaker", str(updated.id),
                 conference_id=conference_id, changes=diff)
    return updated
