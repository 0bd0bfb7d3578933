"""Registration forms: staff save versions of a conference's AMIS form; anyone who can
see the conference reads its current form and checks answers against it."""

from __future__ import annotations

from meeteasy.errors import NotFound
from models import amis
from models import forms as form_records
from models.forms import RegistrationForm
from services.access import Caller, conference_for


def save_form(caller: Caller, conference_id: str, schema: dict) -> dict:
    """Store ``schema`` as the next version of the conference's form (422 if it is not an
    AMIS form; 409 if the conference is archived)."""
    conference = conference_for(caller, conference_id, change=True)
    form = form_records.save_version(caller.tenant_id, str(conference.id), schema,
                                     caller.user_id)
    return form_records.public_view(form)


def list_forms(caller: Caller, conference_id: str) -> list[dict]:
    """The versions of the conference's form, newest first; attendees get the current one."""
    conference = conference_for(caller, conference_id)
    found = form_records.list_versions(caller.tenant_id, str(conference.id))
    return [form_records.public_view(f) for f in (found if caller.is_staff else found[:1])]


def current_form(caller: Caller, conference_id: str) -> RegistrationForm:
    """The conference's current form (404 ``form_not_found`` if it has none yet)."""
    conference = conference_for(caller, conference_id)
    form = form_records.current(caller.tenant_id, str(conference.id))
    if form is None:
        raise NotFound("This conference has no registration form yet.", code="form_not_found")
    return form


def check_answers(caller: Caller, conference_id: str, answers: dict) -> dict:
    """The verdict the server would give these answers at registration, without
    registering. Run it in a thread: author patterns may use their whole time budget
    (models/amis/jsregex.py)."""
    review = amis.review_submission(current_form(caller, conference_id).schema, answers)
    return {"valid": review.valid, "errors": review.errors, "cleaned": review.cleaned,
            "dropped": list(review.dropped)}
