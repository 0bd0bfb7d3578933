"""Every hook MeetEasy fires, declared once.

Event hooks are told that something happened; their return value is ignored and
their failure never affects the platform. Decision hooks are asked a question;
the first enabled plugin that answers (returns something other than None) decides.
Every hook receives ``tenant_id`` and ``config`` (the plugin's settings for that
tenant) as keyword arguments besides those listed; event hooks also receive
``event_id``, the same for every delivery of one event (deliveries are
at-least-once: a plugin uses it to ignore a repeat).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hook:
    name: str
    doc: str
    decision: bool = False


_REGISTRATION = "``registration``: the registration as ``GET /registrations/{id}`` shows it."

HOOKS = {hook.name: hook for hook in (
    Hook("registration.created", f"A registration was stored (pending). {_REGISTRATION}"),
    Hook("registration.approved", f"A registration was approved; it has its ticket code. {_REGISTRATION}"),
    Hook("registration.rejected", f"A registration was rejected; ``reason`` says why. {_REGISTRATION}"),
    Hook("registration.waitlisted", f"A registration went on the waitlist. {_REGISTRATION}"),
    Hook("registration.withdrawn", f"A registration was withdrawn; its ticket is void. {_REGISTRATION}"),
    Hook("registration.approval_rule",
         "Decide a registration of a conference whose policy is `rules` with plugin rules on. "
         f"{_REGISTRATION} ``conference``: the conference. Return ``\"approve\"``, "
         "``\"reject\"`` or ``(verdict, reason)``, or None to leave it to the other rules.",
         decision=True),
)}


def is_declared(name: str) -> bool:
    return name in HOOKS
