"""Finding a conference's registrations: filtered pages in arrival order.

MongoDB serves these reads (once the flusher stored every change made so far, see
:func:`models.registration_state.settled`); text and form-answer filters, which no
index can serve, are checked here row by row.
"""

from __future__ import annotations

import re

from models import registration_state
from models.registrations import MAX_PAGE, Registration


def list_registrations(tenant_id: str, conference_id: str, *, status: str | None = None,
                       text: str | None = None, answers: dict[str, str] | None = None,
                       user_id: str | None = None, after_seq: int | None = None,
                       limit: int = 50) -> list[Registration]:
    """Registrations in arrival order after ``after_seq``, filtered by status, text on
    name/email (case-insensitive) and exact form answers (``{"person.city": "Lyon"}``).

    The server reads by conference (and status) from the cursor on; a person's own
    listing reads their one registration. Text and answers (no index can serve a
    substring or an arbitrary answer path) are checked here, row by row, until the
    page is full, so results and the ``after_seq`` cursor are those of the full filter."""
    limit = max(1, min(limit, MAX_PAGE))
    registration_state.settled()
    filters: dict = {"tenant_id": tenant_id, "conference_id": conference_id}
    checks = []
    if user_id:
        filters["user_key"] = user_id  # one registration per person: the rest is checked below
        if status:
            checks.append(lambda r: r.status == status)
        if after_seq is not None:
            checks.append(lambda r: r.seq > after_seq)
    else:
        if status:
            filters["status"] = status
        if after_seq is not None:
            filters["seq__gt"] = after_seq
    if text:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
        checks.append(lambda r: any(isinstance(value, str) and pattern.search(value)
                                    for value in (r.name, r.email)))
    for name, value in (answers or {}).items():
        checks.append(lambda r, path=name.split("."), value=value:
                      _path_equals(r.answers, path, value))
    found = Registration.objects(**filters).order_by("seq")
    if not checks:
        return list(found.limit(limit))
    page = []
    for registration in found.batch_size(limit + 50):
        if all(check(registration) for check in checks):
            page.append(registration)
            if len(page) == limit:
                break
    return page


def _path_equals(document, path: list[str], value) -> bool:
    """MongoDB's ``{"a.b": value}`` on a stored document: the path descends into
    sub-documents, into the documents of an array and by position (``a.0``); it
    matches a value equal to ``value``, or an array holding it."""
    if not path:
        if isinstance(document, list) and any(_same(item, value) for item in document):
            return True
        return _same(document, value)
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return head in document and _path_equals(document[head], rest, value)
    if isinstance(document, list):
        if head.isdigit() and int(head) < len(document) \
                and _path_equals(document[int(head)], rest, value):
            return True
        return any(_path_equals(item, path, value) for item in document
                   if isinstance(item, dict))
    return False


def _same(stored, value) -> bool:
    # BSON equality: numbers compare by value across int and float, but never equal a
    # boolean or a string (in Python, 1 == True).
    if isinstance(stored, bool) or isinstance(value, bool):
        return isinstance(stored, bool) and isinstance(value, bool) and stored == value
    numbers = (int, float)
    if isinstance(stored, numbers) != isinstance(value, numbers):
        return False
    return stored == value
