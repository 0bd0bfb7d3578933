"""AMIS registration forms: checking schemas and validating submissions on the server.

A conference's registration form is an AMIS form schema (``{"type": "form",
"body": [...]}``). The browser validates it with amis-core; the server must
reach the same verdict for the same rule and value, so this package follows
amis-core's semantics (JavaScript coercions, rule order, expression styles)
and is held to amis-core's own answers by golden tests
(``tests/unit/amis/golden``).

Public API:

* :func:`check_form_schema` – when a form is saved;
* :func:`validate_submission`, :func:`clean_submission` and
  :func:`review_submission` (both at once, plus what was dropped) – when a
  registration is submitted.
"""

from __future__ import annotations

from typing import Any

from models.amis.expressions import Expression, ExpressionError, parse_expression
from models.amis.rules import RULES, first_failure, parse_rules
from models.amis.schema import compile_form
from models.amis.submission import SubmissionReview, review

__all__ = [
    "check_form_schema", "validate_submission", "clean_submission", "review_submission",
    "SubmissionReview", "parse_expression", "Expression", "ExpressionError", "parse_rules",
    "first_failure", "RULES",
]


def check_form_schema(schema: Any) -> list[str]:
    """Check that ``schema`` is an AMIS form the server can validate; return warnings.

    Raises :class:`meeteasy.errors.ValidationFailed` (422) with
    ``details["fields"]`` mapping a dotted path into the schema (``body.2.name``)
    to messages, for: a schema that is not an object or not ``type: "form"``;
    ``body`` not a list; items without a ``type``; data items without a valid
    ``name``; names used twice in one data scope (or one nested in another);
    unknown validation rules, malformed regexps or rule arguments of the wrong
    kind; expressions (``hiddenOn``, ``visibleOn``, ``requiredOn``…) that cannot
    be evaluated; malformed options; props of the wrong type.

    Warnings (strings prefixed by their path) name what is stored but not
    checked: item types the server does not validate, options loaded from an
    API, rules checked in the browser only, date formats it cannot parse.
    """
    return compile_form(schema).warnings


def review_submission(schema: dict, data: Any) -> SubmissionReview:
    """Validate and clean ``data`` for the form ``schema`` in one pass.

    Returns the per-field errors, the cleaned data and the dotted paths of
    values that were dropped. Raises :class:`ValidationFailed` if ``schema`` is
    not a valid form (see :func:`check_form_schema`).
    """
    return review(compile_form(schema), data)


def validate_submission(schema: dict, data: Any) -> dict[str, list[str]]:
    """Field errors for ``data``; empty when it is valid.

    For example ``{"guests.0.name": ["This field is required."]}``: keys are
    the fields' full dotted names, so an AMIS front end can show each message
    next to its field. Raises :class:`ValidationFailed` if ``schema`` is not a
    valid form.
    """
    return review_submission(schema, data).errors


def clean_submission(schema: dict, data: Any) -> dict:
    """The values of the visible, known fields of ``data``, nested as AMIS submits them.

    Unknown keys and values of hidden fields are left out (see
    :func:`review_submission` for the list). Does not validate: call
    :func:`validate_submission` (or use :func:`review_submission`) first.
    """
    return review_submission(schema, data).cleaned
