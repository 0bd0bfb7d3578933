"""Registration approval: the conference's policy, capacity, the waitlist, staff decisions.

Every decision about a conference's places is taken under one Redis lock per
conference, in arrival order, so the approved count never exceeds capacity and
the waitlist keeps its order however many workers run. Each decision is also a
conditional update (models/registrations.py), so a redelivered or re-run task
finds the work done and does nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from redis.lock import Lock

from meeteasy.errors import TransientError, ValidationFailed
from meeteasy import locks
from models import conferences as conference_store
from models import invites
from models import registrations as store
from models.base import utcnow
from models.conferences import Conference
from models.registrations import Registration
from plugins import registry
from services.registrations import announce
from tasks.app import app, long_running
from tasks.base import JobContext, JobTask

log = logging.getLogger(__name__)
LOCK_TIMEOUT = 15  # seconds a holder keeps the lock per batch; a dead holder's lock expires then
LOCK_WAIT = 20  # seconds to wait for it (longer than LOCK_TIMEOUT) before the job is retried
BATCH = 100
ARRIVAL_GRACE = timedelta(seconds=5)


@contextmanager
def conference_lock(tenant_id: str, conference_id: str) -> Iterator[Lock]:
    """The conference's places, held by one task at a time. A holder renews it for each
    batch (``lock.reacquire()``), so a dead holder blocks the others for LOCK_TIMEOUT at most."""
    busy = TransientError("The conference's places are being decided by another task.")
    with locks.held(f"meeteasy:lock:{tenant_id}:conference:{conference_id}:places",
                    timeout=LOCK_TIMEOUT, wait=LOCK_WAIT, busy=busy) as lock:
        yield lock


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
    domain = (registration.email or "").rpartition("@")[2].lower()
    if domain and domain in policy.email_domains:
        return Verdict("approve", f"Email domain {domain} is allowed.", "rules")
    if registration.invite_code and invite_valid():
        return Verdict("approve", "Valid invite code.", "rules")
    if policy.plugin_rules:
        answer = ask_plugins()
        if answer is not None:
            plugin, said = answer
            action, reason = said if isinstance(said, tuple) else (said, "")
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


class Places:
    """Free places of a conference while its lock is held (None: unlimited)."""

    def __init__(self, conference: Conference):
        self.conference = conference
        approved = store.count_status(conference.tenant_id, str(conference.id), "approved")
        self.free = None if conference.capacity is None else max(0, conference.capacity - approved)

    def take(self) -> bool:
        if self.free is None:
            return True
        if self.free > 0:
            self.free -= 1
            return True
        return False


def promote_waitlist(places: Places) -> list[Registration]:
    """Fill free places from the waitlist, first come first served."""
    if places.free == 0:
        return []
    conference = places.conference
    limit = places.free if places.free is not None else store.MAX_PAGE
    waiting = store.next_waitlisted(conference.tenant_id, str(conference.id), limit=limit)
    decisions = [store.Decision(r.id, "approved", "A place became free.")
                 for r in waiting if places.take()]
    return store.decide_many(conference.tenant_id, decisions, by="waitlist",
                             from_statuses=("waitlisted",))


def apply_policy(tenant_id: str, conference_id: str) -> list[Registration]:
    """Under the conference's lock: promote the waitlist into free places, then decide
    every registration the policy has not seen yet, in arrival order, a batch at a
    time. Returns the registrations it moved (the caller announces them)."""
    moved: list[Registration] = []
    with conference_lock(tenant_id, conference_id) as lock:
        conference = conference_store.get_conference(tenant_id, conference_id)
        places = Places(conference)
        moved += promote_waitlist(places)
        watermark = conference.decided_seq
        while batch := store.unchecked_pending(tenant_id, conference_id, BATCH):
            lock.reacquire()
            usable = _in_arrival_order(batch, watermark)
            if not usable:
                break
            watermark = max(watermark, usable[-1].seq)
            by_actor: dict[str, list[store.Decision]] = {}
            overflow = []
            for registration in usable:
                verdict = policy_verdict(
                    conference, registration,
                    invite_valid=lambda r=registration: invites.redeem(tenant_id, conference_id,
                                                                       r.invite_code),
                    ask_plugins=lambda r=registration: registry.ask(
                        tenant_id, "registration.approval_rule", registration=store.public_view(r),
                        conference=conference_store.public_view(conference)))
                if verdict.action == "approve" and not places.take():
                    overflow.append((registration, verdict.by))
                    continue
                to = {"approve": "approved", "reject": "rejected", "wait": "checked"}[verdict.action]
                by_actor.setdefault(verdict.by, []).append(
                    store.Decision(registration.id, to, verdict.reason))
            for by, full in _overflow(conference, overflow).items():
                by_actor.setdefault(by, []).extend(full)
            for by, decisions in by_actor.items():
                moved += store.decide_many(tenant_id, decisions, by=by)
            conference_store.set_decided_seq(tenant_id, conference_id, watermark)
            if len(usable) < len(batch):
                break
    return sorted(moved, key=lambda r: r.seq)


def _in_arrival_order(batch: list[Registration], watermark: int) -> list[Registration]:
    """The registrations of ``batch`` (in arrival order) that may be decided now.

    An arrival number is handed out before its registration is written, so a later
    arrival can be visible before an earlier one. Deciding stops at such a gap while
    it is young (its registration is probably still being written); an old gap is a
    registration that was never written, or was decided by staff, and is passed."""
    usable, expected = [], watermark + 1
    for registration in batch:
        if registration.seq > expected and utcnow() - registration.created_at < ARRIVAL_GRACE:
            break
        usable.append(registration)
        expected = registration.seq + 1
    return usable


def _overflow(conference: Conference, registrations: list[tuple[Registration, str]]
              ) -> dict[str, list[store.Decision]]:
    """Decisions for approvable registrations past capacity: the waitlist, in arrival
    order (one block of waitlist numbers), or rejection when there is no waitlist."""
    decisions: dict[str, list[store.Decision]] = {}
    if not registrations:
        return decisions
    if conference.policy.waitlist:
        last = conference_store.next_waitlist_seq(conference.tenant_id, str(conference.id),
                                                  count=len(registrations))
        first = last - len(registrations) + 1
        for offset, (registration, by) in enumerate(registrations):
            decisions.setdefault(by, []).append(store.Decision(
                registration.id, "waitlisted", "The conference is full; you are on the waitlist.",
                waitlist_seq=first + offset))
    else:
        for registration, by in registrations:
            decisions.setdefault(by, []).append(
                store.Decision(registration.id, "rejected", "The conference is full."))
    return decisions


def staff_decide(tenant_id: str, conference_id: str, registration_ids: list[str], action: str,
                 staff_id: str, reason: str = "",
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Staff approve or reject registrations (pending or waitlisted), in chunks.

    Approval respects capacity: once full, the rest are reported as skipped. Already
    decided ones are skipped too, so re-running after a crash decides nothing twice."""
    if action not in ("approve", "reject"):
        raise ValidationFailed.for_fields({"action": ["Must be approve or reject."]})
    outcome = {"approved": 0, "rejected": 0, "skipped": []}
    seen: set[str] = set()
    total = len(registration_ids)
    for start in range(0, total, BATCH):
        chunk = registration_ids[start:start + BATCH]
        decisions = []
        with conference_lock(tenant_id, conference_id):
            places = Places(conference_store.get_conference(tenant_id, conference_id))
            for registration in store.by_ids(tenant_id, conference_id, chunk):
                seen.add(str(registration.id))
                if registration.status not in store.DECIDABLE:
                    outcome["skipped"].append({"id": str(registration.id),
                                               "reason": f"already {registration.status}"})
                elif action == "reject":
                    decisions.append(store.Decision(registration.id, "rejected",
                                                    reason or "Rejected by staff."))
                elif places.take():
                    decisions.append(store.Decision(registration.id, "approved",
                                                    reason or "Approved by staff."))
                else:
                    outcome["skipped"].append({"id": str(registration.id), "reason": "capacity reached"})
            moved = store.decide_many(tenant_id, decisions, by=staff_id)
        for registration in moved:
            outcome[registration.status] += 1
        announce(moved)
        if progress:
            progress(min(total, start + BATCH), total)
    missing = set(registration_ids) - seen
    outcome["skipped"] += [{"id": rid, "reason": "not found"} for rid in sorted(missing)]
    return outcome


# --- tasks: thin wrappers -------------------------------------------------------------


@app.task(base=JobTask, name="registrations.apply_policy")
def apply_policy_task(job: JobContext, conference_id: str, registration_id: str | None = None) -> dict:
    """Decide the conference's new registrations; with ``registration_id``, report that one.

    A registration's job often finds that another job already decided it (one pass
    under the lock decides every registration waiting); it then skips the lock."""
    registration = store.get_registration(job.tenant_id, registration_id) if registration_id else None
    moved = []
    if registration is None or not registration.policy_checked:
        moved = apply_policy(job.tenant_id, conference_id)
        announce(moved)
        if registration is not None:
            registration = store.get_registration(job.tenant_id, registration_id)
            if not registration.policy_checked and registration.status == "pending":
                # An earlier arrival is still being written: decide after it (retried shortly).
                raise TransientError("Waiting for earlier registrations to be stored.")
    result = {"decided": len(moved)}
    if registration is not None:
        result["registration"] = store.full_view(registration)
    return result


@app.task(base=JobTask, name="registrations.staff_decision", **long_running())
def staff_decision_task(job: JobContext, conference_id: str, registration_ids: list[str],
                        action: str, reason: str = "") -> dict:
    def progress(done: int, total: int) -> None:
        job.progress(100 * done // max(total, 1), f"{done} of {total} registrations")

    return staff_decide(job.tenant_id, conference_id, registration_ids, action, job.job.user_id,
                        reason, progress)
