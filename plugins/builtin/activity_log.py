"""Built-in plugin: keeps a tenant's registration activity as a feed (what happened, when)."""

from __future__ import annotations

from models import activity


class ActivityLog:
    name = "activity_log"
    description = "Records every registration event of the tenant in an activity feed."

    def _record(self, hook: str, tenant_id: str, registration: dict, event_id: str) -> None:
        activity.record(tenant_id, hook, registration, event_id)

    def registration_created(self, *, tenant_id, config, registration, event_id):
        self._record("registration.created", tenant_id, registration, event_id)

    def registration_approved(self, *, tenant_id, config, registration, event_id):
        self._record("registration.approved", tenant_id, registration, event_id)

    def registration_rejected(self, *, tenant_id, config, registration, event_id):
        self._record("registration.rejected", tenant_id, registration, event_id)

    def registration_waitlisted(self, *, tenant_id, config, registration, event_id):
        self._record("registration.waitlisted", tenant_id, registration, event_id)

    def registration_withdrawn(self, *, tenant_id, config, registration, event_id):
        self._record("registration.withdrawn", tenant_id, registration, event_id)
