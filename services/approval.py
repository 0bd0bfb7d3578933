"""The approval policy's rules, as plain functions: no database, no lock, no plugin call.

:mod:`services.decisions` applies them under the conference's lock; the unit tests
call them directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from models.conferences import ApprovalPolicy, Conference
from models.registrations import Registration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    action: str  # "approve", "reject" or "wait" (for staff)
    reason: str
    by: str


def policy_verdict(conference: Conference, registration: Registration, *,
                   invite_valid: Callable[[], bool],
                   ask_plugins: Callable[[], tuple[str, object] | None]) -> Verdict:
    """What the conference's policy says of a new registration, capacity aside.

    Rules are tried in order: allowed email domain, a valid invite code, then a
    plugin's answer; the first that approves or rejects decides. The callables
    are only called when their rule is reached (an invite is spent only if used).
    """
    policy = conference.policy
    if policy.mode == "automatic":
        return Verdict("approve", "", "policy")
    if policy.mode == "manual":
        return Verdict("wait", "Awaiting a staff decision.", "policy")
    domain = _email_domain(registration)
    if _domain_allowed(policy, domain):
        return Verdict("approve", f"Email domain {domain} is allowed.", "rules")
    if registration.invite_code and invite_valid():
        return Verdict("approve", "Valid invite code.", "rules")
    if policy.plugin_rules:
        answer = ask_plugins()
        if answer is not None:
            plugin, said = answer
            # A tuple of another length is garbage too: ignored, never an error that
            # would fail every pass of the conference.
            action, reason = said if isinstance(said, tuple) and len(said) == 2 else (said, "")
            if action in ("approve", "reject"):
                return Verdict(action, str(reason) or f"Decided by plugin {plugin}.", f"plugin:{plugin}")
            log.warning("plugin %s answered %r to approval_rule; ignored", plugin, said)
    if registration.invite_code:
        reason = "The invite code is not valid or has been used up."
    else:
        reason = "No approval rule matched."
    if policy.rules_fallback == "reject":
        return Verdict("reject", reason, "rules")
    return Verdict("wait", f"{reason} Awaiting a staff decision.", "rules")


def plugin_rules_on(policy: ApprovalPolicy) -> bool:
    """Whether the policy may ask the ``registration.approval_rule`` plugins at all."""
    return policy.mode == "rules" and bool(policy.plugin_rules)


def may_ask_plugins(conference: Conference, registration: Registration) -> bool:
    """Whether :func:`policy_verdict` can reach the plugin rule for this registration.

    A registration bringing an invite code can: whether the code is valid is only
    known by spending it, which happens under the conference's lock."""
    policy = conference.policy
    return plugin_rules_on(policy) and not _domain_allowed(policy, _email_domain(registration))


def _email_domain(registration: Registration) -> str:
    return (registration.email or "").rpartition("@")[2].lower()


def _domain_allowed(policy: ApprovalPolicy, domain: str) -> bool:
    return bool(domain) and domain in policy.email_domains
