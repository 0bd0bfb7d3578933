"""Seating wishes of a registration (party, category, accessibility, priority), given
when registering or later, and who may ask for what."""

from __future__ import annotations

from meeteasy.errors import Forbidden, ValidationFailed
from models import registrations, seatmaps
from services.access import Caller

NEW_PARTY = "new"
# The API's names of the wishes → the registration's fields.
FIELD_OF = {"party": "party", "category": "seat_category", "accessible": "needs_accessible",
            "priority": "priority"}


def wishes_fields(given: dict) -> dict:
    """The registration fields that the wishes a client gave set (only those given)."""
    fields = {FIELD_OF[key]: value for key, value in given.items()}
    if "needs_accessible" in fields:
        fields["needs_accessible"] = bool(fields["needs_accessible"])
    if "priority" in fields:
        # Given at all, even null (which resets it to standard), priority is staff's to set.
        fields["priority"] = fields["priority"] or "standard"
    return fields


def check_wishes(caller: Caller, conference_id: str, fields: dict) -> None:
    """Priority, and categories the map does not open to attendees (VIP, press…), are
    staff's to give; a category must be one of the map's (the default ones before it has one).

    Parties: ``"new"`` starts one under a code the server makes (people registered
    together share it). An attendee joins a party only by a code that exists in the
    conference, so unrelated groups never merge by choosing the same name, and nobody
    joins a party whose code was not shared with them. Staff may name parties freely."""
    if "priority" in fields and not caller.is_staff:
        raise Forbidden("Only staff set a registration's priority.", code="missing_role")
    party = fields.get("party")
    if party == NEW_PARTY:
        fields["party"] = registrations.new_party_code()
    elif party is not None and not caller.is_staff \
            and not registrations.party_exists(caller.tenant_id, conference_id, party):
        raise ValidationFailed.for_fields({"seating.party": [
            f"No party {party!r} in this conference: use the code the first of your party got, "
            f"or {NEW_PARTY!r} to start one."]})
    category = fields.get("seat_category")
    if category is None:
        return
    current = seatmaps.find_map(caller.tenant_id, conference_id)
    categories = list(current.categories) if current else list(seatmaps.DEFAULT_CATEGORIES)
    open_to_all = list(current.open_categories) if current else list(seatmaps.OPEN_CATEGORIES)
    if category not in categories:
        raise ValidationFailed.for_fields({"seating.category": [
            f"Unknown category {category!r}; the seat map's are {', '.join(categories)}."]})
    if not caller.is_staff and category not in open_to_all:
        raise Forbidden(f"Seats of category {category!r} are given by staff; you may ask for "
                        f"{', '.join(open_to_all) or 'no category'}.", code="category_reserved")


def change_wishes(caller: Caller, registration_id: str, given: dict) -> dict:
    """Change a registration's seating wishes (attendees: their own) with the wishes as
    the API names them; they count from the next automatic assignment, and a seat
    already given stays. Returns the registration's full view."""
    changes = wishes_fields(given)
    registration = registrations.get_registration(caller.tenant_id, registration_id,
                                                  user_id=caller.own_only)
    check_wishes(caller, registration.conference_id, changes)
    registration = registrations.update_seating(registration, changes, caller.user_id)
    return registrations.full_view(registration)
