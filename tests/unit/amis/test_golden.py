"""The server's AMIS rules, rule parsing, messages and expressions agree with amis-core.

``golden/validations.json`` holds amis-core 6.13.0's own answers (and, under
"forms", what real AMIS forms rendered in jsdom report), computed by
``golden/generate.js`` (see the command there). Every case must agree, except
the few listed in ``KNOWN`` below, each with the reason it cannot or should not
be reproduced; a listed reason that no longer matches any disagreement fails
too, so the list stays true.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from meeteasy.errors import ValidationFailed
from models.amis import check_form_schema, review_submission
from models.amis import jsvalues as js
from models.amis.expressions import ExpressionError, parse_expression, render_message
from models.amis.jsvalues import UNDEFINED
from models.amis.rules import check_rule, first_failure, parse_rules
from models.amis.schema import VALIDATED_TYPES
from models.amis.scope import Scope

GOLDEN = json.loads((Path(__file__).parent / "golden" / "validations.json").read_text("utf-8"))


def _value(case: dict, key: str = "value"):
    return case[key] if key in case else UNDEFINED


def _same_json(a, b) -> bool:
    """Equal as JS sees JSON: numbers compare as doubles, key order matters."""
    if js.is_number(a) and js.is_number(b):
        return js.as_double(a) == js.as_double(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# Documented disagreements: (category, reason, predicate over the case).
KNOWN = [
    (
        "rules",
        "moment hands strings it cannot read as ISO 8601 to the browser's Date parser, which "
        "also reads free text such as 'Jan 2 2024'; the server does not imitate that parser "
        "and treats such dates as invalid (see models/amis/datetimes.py).",
        lambda c: c["rule"].startswith("isDateTime") and c.get("value") == "Jan 2 2024",
    ),
    (
        "validate",
        "An argument such as '${low + 1}' needs arithmetic, which the server's evaluator does "
        "not do; check_form_schema refuses such a schema, so it never reaches validation.",
        lambda c: any(
            isinstance(v, str) and "+" in v and v.startswith("${") for v in c["rules"].values()
        ),
    ),
    (
        "expressions",
        "Syntax the server's evaluator does not support (arithmetic, the ternary operator) or "
        "that is broken (an unclosed parenthesis, an assignment, ${...} not wrapping the whole "
        "expression, a blank or empty expression); AMIS evaluates broken ones to false. "
        "check_form_schema refuses all of them, so a stored form never depends on them.",
        lambda c: c["expression"]
        in {
            " ",
            " ${a}",
            "${a} ",
            "${a}x",
            "${a} == 1",
            "${}",
            "(a",
            "a ==",
            "a = 1",
            "a == 1;",
            "a + 1 > 1",
            "${a + 1 > 1}",
            "a ? 1 : 0",
            "${a ? 1 : 0}",
        },
    ),
    (
        "forms",
        "AMIS silently ignores hidden/visible/hiddenOn on grid columns (schema.json does not "
        "allow them there); check_form_schema refuses them so an author notices.",
        lambda c: c["id"].startswith("grid-column-"),
    ),
]


def _rule_outcome(case: dict) -> bool:
    """Whether the server agrees with amis-core on one rule case."""
    try:
        got = check_rule(case["rule"], Scope(case.get("values", {})), _value(case), case["args"])
    except Exception:  # noqa: BLE001 - a malformed regexp must throw on both sides
        return "throws" in case
    return "throws" not in case and got == case["valid"]


def _validate_outcome(case: dict) -> bool:
    try:
        failure = first_failure(
            _value(case), Scope(case.get("values", {})), case["rules"], case.get("messages")
        )
    except Exception:  # noqa: BLE001 - unknown rules throw on both sides
        return "throws" in case
    if "throws" in case:
        return False
    expected = case["result"][0] if case["result"] else None
    if (failure and failure[0]) != (expected and expected["rule"]):
        return False
    custom = (case.get("messages") or {}).get(expected["rule"]) if expected else None
    # AMIS HTML-escapes substituted values; the API returns plain text.
    return not custom or failure[1] == html.unescape(expected["msg"])


def _str2rules_outcome(case: dict) -> bool:
    return _same_json(parse_rules(case["input"]), case["rules"])


def _template_outcome(case: dict) -> bool:
    return render_message(case["template"], case["args"]) == html.unescape(case["text"])


def _expression_outcome(case: dict) -> bool:
    scope = Scope(case["data"])
    if "parent" in case:
        scope = Scope(case["data"], Scope(case["parent"]))
    try:
        expression = parse_expression(case["expression"])
    except ExpressionError:
        return False
    return expression.evaluate(scope) is case["result"]


def _amis_form_failures(case: dict) -> dict[str, str]:
    """The first failing rule per field in a rendered AMIS form ("Combo.count" for row counts)."""
    failures = {}
    for name, errors in case["errors"].items():
        builtin = [e["rule"] for e in errors if e["tag"] == "builtin"]
        if builtin:
            failures[name] = builtin[0]
        elif any(e["msg"] != "Validate failed" for e in errors):  # not just "a row failed"
            failures[name] = "Combo.count"
    return failures


def _form_outcome(case: dict) -> bool:
    schema = {"type": "form", "body": case["body"]}
    if "throws" in case:  # amis-core itself breaks on this schema: it must be refused
        with pytest.raises(ValidationFailed):
            check_form_schema(schema)
        return True
    try:
        review = review_submission(schema, case["data"])
    except ValidationFailed:
        return False
    ours = {
        name: "Combo.count" if rule in ("Combo.minLength", "Combo.maxLength") else rule
        for name, rule in review.failed.items()
    }
    return ours == _amis_form_failures(case)


OUTCOMES = {
    "rules": _rule_outcome,
    "validate": _validate_outcome,
    "str2rules": _str2rules_outcome,
    "templates": _template_outcome,
    "expressions": _expression_outcome,
    "forms": _form_outcome,
}


def test_golden_forms_cover_every_validated_item_type():
    types = {item["type"] for case in GOLDEN["forms"] for item in _items(case["body"])}
    assert VALIDATED_TYPES | {"combo", "group", "fieldset", "grid"} <= types


def _items(items):
    for item in items:
        yield item
        yield from _items(item.get("body", []) if isinstance(item.get("body"), list) else [])
        yield from _items(item.get("items", []))
        for column in item.get("columns", []):
            yield from _items(column.get("body", []))


def test_golden_file_comes_from_amis_core_6_13():
    assert GOLDEN["amis_core_version"] == "6.13.0"
    assert GOLDEN["timezone"] == "UTC"
    assert sum(len(GOLDEN[category]) for category in OUTCOMES) > 10_000


@pytest.mark.parametrize("category", sorted(OUTCOMES))
def test_server_agrees_with_amis_core(category):
    known = [(reason, matches) for cat, reason, matches in KNOWN if cat == category]
    unexplained, explained = [], {reason: 0 for reason, _ in known}
    for case in GOLDEN[category]:
        if OUTCOMES[category](case):
            continue
        reasons = [reason for reason, matches in known if matches(case)]
        if reasons:
            explained[reasons[0]] += 1
        else:
            unexplained.append(case)
    assert unexplained == [], f"{len(unexplained)} {category} cases disagree with amis-core"
    stale = [reason for reason, count in explained.items() if count == 0]
    assert stale == [], "documented disagreements that no longer happen"


@pytest.mark.parametrize("rule", sorted({case["rule"] for case in GOLDEN["rules"]}))
def test_every_rule_has_golden_cases_with_both_verdicts(rule):
    verdicts = {case.get("valid") for case in GOLDEN["rules"] if case["rule"] == rule}
    assert {True, False} <= verdicts


def test_rejected_expressions_are_refused_when_a_schema_is_saved():
    _, _, rejected = KNOWN[2]
    for case in GOLDEN["expressions"]:
        if not rejected(case):
            continue
        schema = {
            "type": "form",
            "body": [{"type": "input-text", "name": "x", "visibleOn": case["expression"]}],
        }
        with pytest.raises(ValidationFailed):
            check_form_schema(schema)
