"""Built-in plugin: a `rules` conference rejects registrations from blocked addresses.

Settings: ``{"emails": ["a@b.org"], "domains": ["spam.example"]}``.
"""

from __future__ import annotations


class Blocklist:
    name = "blocklist"
    description = "Rejects registrations whose email or email domain is on the tenant's blocklist."

    def registration_approval_rule(self, *, tenant_id, config, registration, conference):
        email = (registration.get("email") or "").lower()
        emails = {address.lower() for address in config.get("emails", [])}
        domains = {domain.lower() for domain in config.get("domains", [])}
        if email and (email in emails or email.rpartition("@")[2] in domains):
            return "reject", "This address may not register."
        return None
