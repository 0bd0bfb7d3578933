"""Deciding a conference's places: the approval policy's pass, the waitlist, staff decisions.

Every decision about a conference's places is taken under one Redis lock per
conference, in arrival order, so the approved count never exceeds capacity and
the waitlist keeps its order however many workers run. Each decision is also a
conditional update (models/registrations.py), so a redelivered or re-run job
finds the work done and does nothing twice.

No plugin code runs under the lock: the ``registration.approval_rule`` plugins are
asked about a batch with the lock let go, and the batch is then decided under it
with their answers. Spending an invite code (a write) stays under the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis.lock import Lock

from meeteasy import locks
from meeteasy.errors import Conflict, NotFound, TransientError, ValidationFailed
from models import conferences, invites, registration_state, registrations
from models.conferences import Conference
from models.jobs import Job
from models.registrations import Registration
from plugins import registry
from services import approval
from services.access import Caller, require_staff
from services.jobs import finish_joined, start_job
from services.registrations import announce

LOCK_TIMEOUT = 15  # seconds a holder keeps the lock per batch; a dead holder's lock expires then
LOCK_WAIT = 20  # seconds to wait for it (longer than LOCK_TIMEOUT) before the job is retried
BATCH = 100
BULK_LIMIT = 20_000  # registrations one staff decision may name, or find by status


@contextmanager
def conference_lock(tenant_id: str, conference_id: str) -> Iterator[Lock]:
    """The conference's places, held by one task at a time. A holder renews it for each
    batch (``lock.reacquire()``), so a dead holder blocks the others for LOCK_TIMEOUT at most."""
    busy = TransientError("The conference's places are being decided by another task.")
    with locks.held(f"meeteasy:lock:{tenant_id}:conference:{conference_id}:places",
                    timeout=LOCK_TIMEOUT, wait=LOCK_WAIT, busy=busy) as lock:
        yield lock


class Places:
    """Free places of a conference while its lock is held (None: unlimited)."""

    def __init__(self, conference: Conference):
        self.conference = conference
        approved = registrations.count_status(conference.tenant_id, str(conference.id), "approved")
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
    conference = places.conference
    if places.free == 0:
        return []
    limit = places.free if places.free is not None else registrations.MAX_PAGE
    waiting = registrations.next_waitlisted(conference.tenant_id, str(conference.id), limit=limit)
    decisions = [registrations.Decision(r.id, "approved", "A place became free.")
                 for r in waiting if places.take()]
    return registrations.decide_many(conference.tenant_id, decisions, by="waitlist",
                                     from_statuses=("waitlisted",))


# --- the approval policy's pass ---------------------------------------------------------


def run_policy(tenant_id: str, conference_id: str, registration_id: str | None = None) -> dict:
    """The approval job: decide the conference's new registrations and announce them;
    with ``registration_id``, report that one.

    A registration's job often finds that another job already decided it (one pass
    under the lock decides every registration waiting); it then skips the lock."""
    # First: a registration recorded from now on queues a task of its own, and those
    # recorded until now are this pass's to decide (their jobs joined this task).
    due = registration_state.start_pass(tenant_id, conference_id)
    registration = (registrations.get_registration(tenant_id, registration_id)
                    if registration_id else None)
    moved = []
    if due or registration is None or not registration.policy_checked:
        moved = decide_and_announce(tenant_id, conference_id)
        if registration is not None:
            # The pass may have decided it: it is among those that moved, or else it was
            # left for staff or decided by another pass, and only a read can tell.
            registration = next((r for r in moved if r.id == registration.id), None) \
                or registrations.get_registration(tenant_id, registration_id)
            if not registration.policy_checked and registration.status == "pending":
                # Another pass holds it (it is being decided): report it once that is done.
                raise TransientError("The registration is being decided.")
    result = {"decided": len(moved)}
    if registration is not None:
        result["registration"] = registrations.full_view(registration)
    return result


def decide_and_announce(tenant_id: str, conference_id: str) -> list[Registration]:
    """The approval pass (:func:`apply_policy`), its decisions announced and the jobs
    that joined its task finished: the registrations it moved."""
    moved = apply_policy(tenant_id, conference_id)
    announce(moved)
    finish_joined_jobs(tenant_id, conference_id, moved)
    return moved


def finish_joined_jobs(tenant_id: str, conference_id: str, moved: list[Registration]) -> None:
    """End the approval jobs that joined a task (``models.job_state.Join``) and whose
    registration the policy has seen, or that is no longer pending (staff decided it, its
    registrant withdrew), each with the result its own task would have given. The others
    wait for the next pass."""
    joined = registration_state.joined_jobs(tenant_id, conference_id)
    if not joined:
        return
    known = {str(r.id): r for r in moved if str(r.id) in joined}
    known.update(registrations.get_many(tenant_id, [i for i in joined if i not in known]))
    done = [i for i in joined
            if i not in known or known[i].policy_checked or known[i].status != "pending"]
    results = {joined[i]: {"decided": len(moved)} | (
        {"registration": registrations.full_view(known[i])} if i in known else {})
        for i in done}
    finish_joined(tenant_id, results)
    registration_state.forget_joined(tenant_id, conference_id, done)


def apply_policy(tenant_id: str, conference_id: str) -> list[Registration]:
    """Under the conference's lock: promote the waitlist into free places, then decide
    every registration the policy has not seen yet, in arrival order, a batch at a
    time. Returns the registrations it moved (the caller announces them).

    No plugin is asked under the lock. When the pass reaches a registration that the
    plugins may decide and were not asked about, it lets the lock go, asks them about
    the next batch, and goes on under the lock again with their answers (so a
    conference whose plugins decide takes the lock once more per batch; the others
    pay nothing)."""
    moved: list[Registration] = []
    promoted, answers = False, {}
    while True:
        with conference_lock(tenant_id, conference_id) as lock:
            conference = conferences.get_cached(tenant_id, conference_id)
            places = Places(conference)
            if not promoted:
                moved += promote_waitlist(places)
                promoted = True
            ask_first = False
            while batch := registrations.unchecked_pending(tenant_id, conference_id, BATCH):
                lock.reacquire()
                asked = _answered(conference, batch, answers)
                ask_first = len(asked) < len(batch)
                if not asked:
                    break
                moved += _decide(conference, places, asked, answers)
                if len(asked) < len(batch) or len(batch) < BATCH:
                    # A short batch was the last: a registration stored since has its own
                    # job, which makes a pass of its own, so asking again would find nothing.
                    break
        if not ask_first:
            break
        answers = plugin_answers(tenant_id, conference_id)
    return sorted(moved, key=lambda r: r.seq)


def plugin_answers(tenant_id: str, conference_id: str) -> dict:
    """What the ``registration.approval_rule`` plugins say of the next batch the policy
    will decide, asked with no lock held: registration id → the first answer
    (plugin, answer), or None when no plugin answered. Only registrations that can
    reach the plugin rule are asked (an invite code's bearer too: whether the code is
    valid is only known by spending it, under the lock)."""
    conference = conferences.get_cached(tenant_id, conference_id)
    if not approval.plugin_rules_on(conference.policy):
        return {}
    batch = registrations.unchecked_pending(tenant_id, conference_id, BATCH)
    conference_view = conferences.public_view(conference)
    return {registration.id: registry.ask(
                tenant_id, "registration.approval_rule",
                registration=registrations.public_view(registration), conference=conference_view)
            for registration in batch if approval.may_ask_plugins(conference, registration)}


def _answered(conference: Conference, usable: list[Registration], answers: dict
              ) -> list[Registration]:
    """The registrations of ``usable`` up to the first that the plugins may decide and
    that they were not asked about (not yet, or not since it became next)."""
    for index, registration in enumerate(usable):
        if registration.id not in answers and approval.may_ask_plugins(conference, registration):
            return usable[:index]
    return usable


def _decide(conference: Conference, places: Places, batch: list[Registration],
            answers: dict) -> list[Registration]:
    """Decide a batch by the policy, with the plugins' answers, within the free places."""
    tenant_id, conference_id = conference.tenant_id, str(conference.id)
    by_actor: dict[str, list[registrations.Decision]] = {}
    overflow = []
    for registration in batch:
        verdict = approval.policy_verdict(
            conference, registration,
            invite_valid=lambda r=registration: invites.redeem(tenant_id, conference_id,
                                                               r.invite_code),
            ask_plugins=lambda r=registration: answers[r.id])
        if verdict.action == "approve" and not places.take():
            overflow.append((registration, verdict.by))
            continue
        to = {"approve": "approved", "reject": "rejected", "wait": "checked"}[verdict.action]
        by_actor.setdefault(verdict.by, []).append(
            registrations.Decision(registration.id, to, verdict.reason))
    for by, full in _overflow(conference, overflow).items():
        by_actor.setdefault(by, []).extend(full)
    moved = []
    for by, decisions in by_actor.items():
        moved += registrations.decide_many(tenant_id, decisions, by=by)
    return moved


def _overflow(conference: Conference, waiting: list[tuple[Registration, str]]
              ) -> dict[str, list[registrations.Decision]]:
    """Decisions for approvable registrations past capacity: the waitlist, in arrival
    order (one block of waitlist numbers), or rejection when there is no waitlist."""
    decisions: dict[str, list[registrations.Decision]] = {}
    if not waiting:
        return decisions
    if conference.policy.waitlist:
        last = registrations.next_waitlist_seq(conference.tenant_id, str(conference.id),
                                               count=len(waiting))
        first = last - len(waiting) + 1
        for offset, (registration, by) in enumerate(waiting):
            decisions.setdefault(by, []).append(registrations.Decision(
                registration.id, "waitlisted", "The conference is full; you are on the waitlist.",
                waitlist_seq=first + offset))
    else:
        for registration, by in waiting:
            decisions.setdefault(by, []).append(
                registrations.Decision(registration.id, "rejected", "The conference is full."))
    return decisions


# --- staff decisions --------------------------------------------------------------------


def start_decision(caller: Caller, registration_id: str, action: str, reason: str,
                   idempotency_key: str | None) -> Job:
    """Staff approve or reject one registration: a job, started only while it is
    still pending or waitlisted (409 ``already_decided`` otherwise)."""
    require_staff(caller, "decide registrations")
    registration = registrations.get_registration(caller.tenant_id, registration_id)
    if registration.status not in registrations.DECIDABLE:
        raise Conflict(f"The registration is already {registration.status}.",
                       code="already_decided")
    return _start_decision(caller, registration.conference_id, [str(registration.id)], action,
                           reason, idempotency_key)


def start_decisions(caller: Caller, conference_id: str, *, action: str, reason: str,
                    registration_ids: list[str] | None, status: str | None,
                    idempotency_key: str | None) -> Job:
    """Staff approve or reject many registrations of a conference, named by id or all
    of those in ``status``: one job, with progress."""
    require_staff(caller, "decide registrations")
    conference = conferences.get_conference(caller.tenant_id, conference_id)
    cid = str(conference.id)
    ids = registration_ids or registrations.ids_with_status(caller.tenant_id, cid, status,
                                                            limit=BULK_LIMIT)
    return _start_decision(caller, cid, list(dict.fromkeys(ids)), action, reason,
                           idempotency_key)


def _start_decision(caller: Caller, conference_id: str, ids: list[str], action: str, reason: str,
                    idempotency_key: str | None) -> Job:
    return start_job(caller.tenant_id, caller.user_id, "registrations.staff_decision",
                     {"conference_id": conference_id, "registration_ids": ids, "action": action,
                      "reason": reason}, idempotency_key=idempotency_key)


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
            places = Places(conferences.get_cached(tenant_id, conference_id))
            for registration in registrations.by_ids(tenant_id, conference_id, chunk):
                seen.add(str(registration.id))
                if registration.status not in registrations.DECIDABLE:
                    outcome["skipped"].append({"id": str(registration.id),
                                               "reason": f"already {registration.status}"})
                elif action == "reject":
                    decisions.append(registrations.Decision(registration.id, "rejected",
                                                            reason or "Rejected by staff."))
                elif places.take():
                    decisions.append(registrations.Decision(registration.id, "approved",
                                                            reason or "Approved by staff."))
                else:
                    outcome["skipped"].append({"id": str(registration.id), "reason": "capacity reached"})
            moved = registrations.decide_many(tenant_id, decisions, by=staff_id)
        for registration in moved:
            outcome[registration.status] += 1
        announce(moved)
        if progress:
            progress(min(total, start + BATCH), total)
    missing = set(registration_ids) - seen
    outcome["skipped"] += [{"id": rid, "reason": "not found"} for rid in sorted(missing)]
    return outcome


# --- beat's sweep ----------------------------------------------------------------------


def sweep_queued() -> dict:
    """Run the approval pass of every conference whose policy queue still holds
    registrations: those whose own job was lost are decided all the same. A pass finds
    nothing to do when the jobs did it first, so the sweep repeats no decision."""
    decided = 0
    for tenant_id, conference_id in registration_state.queued_conferences():
        try:
            registration_state.start_pass(tenant_id, conference_id)
            moved = decide_and_announce(tenant_id, conference_id)
        except (TransientError, NotFound):
            continue  # busy (its pass is running) or gone: the next sweep looks again
        decided += len(moved)
    return {"decided": decided}
