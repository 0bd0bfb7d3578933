"""Who is calling, and the access rules every domain shares."""

from __future__ import annotations

from dataclasses import dataclass

from meeteasy.errors import Forbidden
from models import conferences
from models.conferences import Conference

STAFF_ROLES = ("tenant_admin", "staff")


@dataclass(frozen=True)
class Caller:
    """Who is calling: taken from a verified token only (or the system, for jobs)."""

    user_id: str
    tenant_id: str
    roles: tuple[str, ...]
    jti: str = ""
    expires_at: int = 0

    @property
    def is_staff(self) -> bool:
        """Staff of the tenant, and so of each of its conferences."""
        return bool(set(STAFF_ROLES) & set(self.roles))

    def has_any(self, *roles: str) -> bool:
        return bool(set(roles) & set(self.roles))

    @property
    def own_only(self) -> str | None:
        """The user id to scope reads to: staff see all of the tenant's, others their own."""
        return None if self.is_staff else self.user_id


def require_staff(caller: Caller, what: str) -> None:
    """403 unless the caller is staff; ``what`` completes "Only staff …"."""
    if not caller.is_staff:
        raise Forbidden(f"Only staff {what}.", code="missing_role")


def conference_for(caller: Caller, conference_id: str, *, change: bool = False) -> Conference:
    """The conference a request acts on, in the caller's tenant: staff reach all of it,
    attendees only a visible one (404 otherwise, as for a missing one). With
    ``change``, an archived conference is refused (409 ``conference_archived``).

    It is this process's copy while the conference is unchanged, without its counters
    (:func:`models.conferences.get_cached`)."""
    conference = conferences.get_cached(caller.tenant_id, conference_id,
                                        visible_to_attendees=not caller.is_staff)
    return conferences.ensure_changeable(conference) if change else conference
