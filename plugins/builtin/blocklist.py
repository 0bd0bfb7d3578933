"""Built-in plugin: a `rules` conference rejects registrations from blocked addresses.

Settings: ``{"emails": ["a@b.org"], "domains": ["spam.example"]}``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from plugins.registry import PluginSettings

MAX_ENTRIES = 10_000


class Blocklist:
    name = "blocklist"
    description = "Rejects registrations whose email or email domain is on the tenant's blocklist."

    class Settings(PluginSettings):
        emails: list[Annotated[str, Field(min_length=1, max_length=320)]] = Field(
            default_factory=list, max_length=MAX_ENTRIES, description="Blocked addresses.")
        domains: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
            default_factory=list, max_length=MAX_ENTRIES, description="Blocked email domains.")

    def registration_approval_rule(self, *, tenant_id, config, registration, conference):
        email = (registration.get("email") or "").lower()
        emails = {address.lower() for address in config.get("emails", [])}
        domains = {domain.lower() for domain in config.get("domains", [])}
        if email and (email in emails or email.rpartition("@")[2] in domains):
            return "reject", "This address may not register."
        return None
