"""Registrations: register, read, withdraw, and announce what changed.

Deciding is the workers' job (:mod:`services.decisions`): registering records a
pending registration in Redis (one script, :mod:`models.registration_state`) and starts
its approval job; withdrawing is one conditional change that frees the place at once
and starts the waitlist's promotion.
"""

from __future__ import annotations

import logging

from bson import ObjectId

from meeteasy import cache, durability
from meeteasy.errors import Conflict, ServiceUnavailable, ValidationFailed
from meeteasy.redisconn import OUTAGES
from models import amis, forms, seat_assignments, users
from models import plugins as plugin_activations
from models.base import is_object_id
from models import conferences as conference_records
from models import registration_search
from models import tenants as tenant_records
from models import registrations as registration_records
from models.jobs import Job
from models.registrations import MAX_PAGE, Registration  # noqa: F401  (the API's page limit)
from services import backpressure, events, plugins
from services.access import Caller, conference_for, require_staff
from services.jobs import prepare_job, start_job
from services.seating_wishes import check_wishes, wishes_fields

log = logging.getLogger(__name__)
OPEN_STATUSES = ("published", "ongoing")


def announce(registrations: list[Registration]) -> None:
    """Tell each registrant, the tenant's staff and the tenant's plugins what changed."""
    if not registrations:
        return
    # Announced only once durable: in the change stream of an append-only Redis, or else
    # stored by the flusher (a decision a client saw is never lost with Redis).
    if not durability.await_durable(max(r.change_seq for r in registrations)):
        log.warning("announcing %d registration changes the flusher has not stored yet",
                    len(registrations))
    positions = registration_records.waitlist_positions(registrations)
    changes = [(events.event_of(r),
                registration_records.public_view(r, waitlist_position=positions.get(r.id)),
                r.user_id) for r in registrations]
    tenant_id = registrations[0].tenant_id
    for event, view, user_id in changes:
        events.registration_changed(event, view, tenant_id=tenant_id, user_id=user_id)
    plugins.notify(tenant_id, [(event, view) for event, view, _ in changes])


# --- registering ------------------------------------------------------------------------


def register(caller: Caller, conference_id: str, *, answers: dict, invite_code: str | None,
             email: str | None, name: str | None, seating: dict | None,
             idempotency_key: str | None) -> tuple[Job, dict]:
    """Validate and store a pending registration, then start its approval job.

    ``email`` (staff only) registers someone else; ``seating`` holds the seating
    wishes as the client gave them. Returns the job and the registration's view."""
    # What every registration re-reads comes from this process's caches: their versions
    # are read once for the request.
    with cache.versions_read(*_cached_reads(caller.tenant_id, conference_id, caller.user_id)):
        return _register(caller, conference_id, answers=answers, invite_code=invite_code,
                         email=email, name=name, seating=seating,
                         idempotency_key=idempotency_key)


def _cached_reads(tenant_id: str, conference_id: str, caller_id: str) -> list[str]:
    if not is_object_id(conference_id):
        return []
    return [conference_records.CACHE.key(tenant_id, conference_id),
            forms.CACHE.key(tenant_id, conference_id), plugin_activations.CACHE.key(tenant_id),
            users.CONTACT.key(caller_id)]


def _register(caller: Caller, conference_id: str, *, answers: dict, invite_code: str | None,
              email: str | None, name: str | None, seating: dict | None,
              idempotency_key: str | None) -> tuple[Job, dict]:
    conference = conference_for(caller, conference_id)
    if conference.status not in OPEN_STATUSES:
        raise Conflict(f"Registration is closed: the conference is {conference.status}.",
                       code="registration_closed")
    form = forms.current(caller.tenant_id, str(conference.id))
    if form is not None:
        review = amis.review_submission(form.schema, answers)
        if not review.valid:
            raise ValidationFailed.for_fields(
                {f"answers.{field}": messages for field, messages in review.errors.items()},
                "Some answers are invalid.")
        answers = review.cleaned
    elif answers:
        raise ValidationFailed.for_fields({"answers": ["This conference has no form to answer."]})
    user_id, email, name = _registrant(caller, email, name)
    seating = wishes_fields(seating) if seating else {}
    check_wishes(caller, str(conference.id), seating)
    # Admitted (or refused with 503/429) before anything is written; then the
    # registration and its approval job are recorded in one Redis transaction.
    kind = "registrations.apply_policy"
    backpressure.admit(caller.tenant_id, caller.user_id, kind)
    registration_id = str(ObjectId())
    job = prepare_job(caller.tenant_id, caller.user_id, kind,
                      {"conference_id": str(conference.id), "registration_id": registration_id},
                      idempotency_key)
    try:
        registration, job = registration_records.create_with_job(
            caller.tenant_id, str(conference.id), job, registration_id=registration_id,
            registered_by=caller.user_id, user_id=user_id, email=email, name=name,
            answers=answers, form_version=form.version if form else None,
            invite_code=invite_code, seating=seating)
    except OUTAGES as error:
        # Redis may have run the transaction before the connection failed: the outcome
        # is unknown here. A retry tells (409 already_registered names the registration).
        raise ServiceUnavailable(
            "Redis became unavailable while the registration was being recorded; it may "
            "or may not be recorded. Retry: a 409 already_registered then names it.",
            code="registration_unconfirmed") from error
    announce([registration])
    return job, registration_records.full_view(registration)


def _registrant(caller: Caller, email: str | None, name: str | None
                ) -> tuple[str | None, str | None, str]:
    """Who is registered: the caller, or (staff only) the person named by ``email``."""
    if email is not None:
        require_staff(caller, "register other people")
        email = users.normalise_email(email)
        user = users.User.objects(email=email).first()
        member = user is not None and "attendee" in users.roles_in(caller.tenant_id, user)
        return (str(user.id) if member else None), email, (name or "").strip()
    own_email, own_name = users.contact(caller.user_id)
    return caller.user_id, own_email, (name or own_name or "").strip()


# --- reading ----------------------------------------------------------------------------


def list_page(caller: Caller, conference_id: str, *, status: str | None, text: str | None,
              answers: dict[str, str], after: int | None, limit: int
              ) -> tuple[list[dict], int | None]:
    """A page of a conference's registrations in arrival order (attendees: their own),
    with live waitlist positions, and the ``after`` cursor of the next page."""
    conference = conference_for(caller, conference_id)
    found = registration_search.list_registrations(
        caller.tenant_id, str(conference.id), status=status, text=text, answers=answers,
        user_id=caller.own_only, after_seq=after, limit=limit)
    positions = registration_records.waitlist_positions(found)
    views = [registration_records.public_view(r, waitlist_position=positions.get(r.id))
             for r in found]
    return views, (found[-1].seq if len(found) == limit else None)


def get_one(caller: Caller, registration_id: str) -> dict:
    """One registration's view (attendees: only their own)."""
    return registration_records.full_view(registration_records.get_registration(
        caller.tenant_id, registration_id, user_id=caller.own_only))


def ticket(caller: Caller, code: str) -> dict:
    """The registration a ticket code belongs to (staff, e.g. at the door)."""
    require_staff(caller, "look tickets up")
    return registration_records.full_view(registration_records.get_by_ticket(caller.tenant_id,
                                                                             code))


# --- withdrawing ------------------------------------------------------------------------


def withdraw(caller: Caller, registration_id: str) -> tuple[dict, Job]:
    """Withdraw a registration (attendees: their own): its ticket is void and its seat
    free at once; then a job promotes the waitlist. Returns its view and that job. Both
    changes happen under the conference's seating lock, so no job seats the person
    meanwhile (503 ``seating_busy``, before any change, if it stays taken)."""
    registration = registration_records.get_registration(caller.tenant_id, registration_id,
                                                         user_id=caller.own_only)
    with seat_assignments.seating_lock(caller.tenant_id, registration.conference_id) as seating:
        done = registration_records.withdraw(caller.tenant_id, registration_id, caller.user_id,
                                             user_id=caller.own_only)
        freed = seat_assignments.release(seating, str(done.id))
    announce([done])
    view = registration_records.full_view(done)
    if freed is not None:
        events.seat_updated(caller.tenant_id, done.conference_id, str(done.id), done.user_id,
                            None)
    job = start_job(caller.tenant_id, caller.user_id, "registrations.apply_policy",
                    {"conference_id": done.conference_id})
    return view, job


# --- after a Redis loss -----------------------------------------------------------------


def rebuild_hot_state(tenant_id: str | None = None) -> int:
    """Rebuild every conference's registration counters and queues in Redis from
    MongoDB, once the flusher stored every change so far (all tenants', or one
    tenant's). The number of conferences rebuilt. Registrations themselves need
    nothing: one Redis no longer holds is read from MongoDB."""
    tenant_ids = [tenant_id] if tenant_id is not None else \
        [str(tenant.id) for tenant in tenant_records.list_tenants()]
    rebuilt = 0
    for one in tenant_ids:
        for conference_id in conference_records.ids_of_tenant(one):
            registration_records.ensure_built(one, conference_id, force=True)
            rebuilt += 1
    return rebuilt
