"""A registration's unique keys, and what stored registrations need, once per database,
when the registrations' indexes change (Registration.ensure_indexes runs it)."""

from __future__ import annotations

import secrets

KEY_INDEXES = ("one_per_user_key", "one_per_email_key", "one_per_ticket_key")


def key_fields(user_id: str | None, email: str | None, ticket_code: str | None) -> dict:
    """The unique keys of a registration: each value, or while it has none a placeholder
    of its own ("~" and random; no user id, email or ticket code starts so), since a
    non-partial unique index takes one entry per document."""
    return {f"{name}_key": value or "~" + secrets.token_hex(12)
            for name, value in (("user", user_id), ("email", email), ("ticket", ticket_code))}


# The indexes the key indexes replaced (dropped by Registration.ensure_indexes).
REPLACED_INDEXES = ("one_per_user", "one_per_email", "ticket_code_unique",
                    "tenant_id_1_conference_id_1_user_id_1_status_1",
                    "tenant_id_1_conference_id_1_email_1_status_1",
                    "tenant_id_1_ticket_code_1_conference_id_1")
# The guarded write's index, and those that the queues and counters in Redis replaced.
CHANGE_INDEX = "tenant_id_1__id_1_change_seq_1"
HOT_REPLACED_INDEXES = ("tenant_id_1__id_1_status_1_policy_checked_1",
                        "tenant_id_1_conference_id_1_status_1_policy_checked_1_seq_1",
                        "tenant_id_1_conference_id_1_status_1_waitlist_seq_1")


def adopt_key_fields(collection) -> None:
    """Once per database, before its key indexes exist: give registrations stored before
    the key fields theirs, and drop the indexes the key indexes replaced."""
    if KEY_INDEXES[0] in collection.index_information():
        return
    for stored in collection.find({"user_key": {"$exists": False}}):
        collection.update_one({"_id": stored["_id"], "user_key": {"$exists": False}},
                              {"$set": key_fields(stored.get("user_id"), stored.get("email"),
                                                  stored.get("ticket_code"))})
    for name in set(REPLACED_INDEXES) & set(collection.index_information()):
        collection.drop_index(name)


def adopt_change_seq(collection) -> None:
    """Once per database, before the guarded write's index exists: number the stored
    registrations' changes 0 (the flusher writes only over a lower number), and drop
    the indexes that Redis's queues and counters replaced."""
    indexes = collection.index_information()
    if CHANGE_INDEX in indexes:
        return
    collection.update_many({"change_seq": {"$exists": False}}, {"$set": {"change_seq": 0}})
    for name in set(HOT_REPLACED_INDEXES) & set(indexes):
        collection.drop_index(name)
