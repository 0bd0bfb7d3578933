"""Saving a registration form: what is refused (422, per schema path) and what only warns."""

from __future__ import annotations

import pytest

from meeteasy.errors import ValidationFailed
from models.amis import check_form_schema


def form(*items, **props):
    return {"type": "form", "body": list(items), **props}


def text(name="f", **props):
    return {"type": "input-text", "name": name, **props}


INVALID = [
    # (id, schema, path of the error, words the message contains)
    ("not-an-object", ["form"], "", "JSON object"),
    ("not-a-form", {"type": "page", "body": []}, "type", '"form"'),
    ("no-body", {"type": "form"}, "body", "list"),
    ("body-object", {"type": "form", "body": {"type": "input-text", "name": "a"}}, "body", "list"),
    ("old-controls", {"type": "form", "controls": []}, "controls", "body"),
    ("item-not-object", form("name"), "body.0", "object"),
    ("item-without-type", form({"name": "a"}), "body.0.type", "type"),
    ("type-not-string", form({"type": 3, "name": "a"}), "body.0.type", "type"),
    ("input-without-name", form({"type": "input-text"}), "body.0.name", "name"),
    ("select-without-name", form({"type": "select", "options": []}), "body.0.name", "name"),
    ("hidden-without-name", form({"type": "hidden"}), "body.0.name", "name"),
    ("combo-without-name", form({"type": "combo", "items": [text()]}), "body.0.name", "name"),
    ("name-with-space", form(text("first name")), "body.0.name", "plain field name"),
    ("name-expression", form(text("${field}")), "body.0.name", "plain field name"),
    ("name-empty-segment", form(text("a..b")), "body.0.name", "plain field name"),
    ("name-brackets", form(text("a[0]")), "body.0.name", "plain field name"),
    ("name-not-string", form(text(5)), "body.0.name", "plain field name"),
    ("duplicate-name", form(text("email"), text("email")), "body.1.name", "already used at body.0"),
    (
        "duplicate-across-group",
        form(text("a"), {"type": "group", "body": [text("a")]}),
        "body.1.body.0.name",
        "already used",
    ),
    (
        "duplicate-in-grid",
        form({"type": "grid", "columns": [{"body": [text("a")]}, {"body": [text("a")]}]}),
        "body.0.columns.1.body.0.name",
        "already used",
    ),
    ("name-inside-other", form(text("person"), text("person.name")), "body.1.name", "overwrite"),
    (
        "duplicate-in-combo-row",
        form({"type": "combo", "name": "g", "items": [text("a"), text("a")]}),
        "body.0.items.1.name",
        "already used",
    ),
    ("unknown-rule", form(text(validations={"isEmial": True})), "body.0.validations", '"isEmial"'),
    (
        "unknown-rule-string",
        form(text(validations="isEmail,isPhone")),
        "body.0.validations",
        '"isPhone"',
    ),
    (
        "space-before-matchRegexp",
        form(text(validations="isEmail, matchRegexp:/^a/")),
        "body.0.validations",
        "no space after the comma",
    ),
    (
        "malformed-regexp",
        form(text(validations={"matchRegexp": "/(/"})),
        "body.0.validations",
        "malformed",
    ),
    (
        "malformed-regexp-string",
        form(text(validations="matchRegexp:/[z-a]/")),
        "body.0.validations",
        "malformed",
    ),
    (
        "malformed-regexp-numbered",
        form(text(validations={"matchRegexp3": "/a**/"})),
        "body.0.validations",
        "malformed",
    ),
    (
        "regexp-python-cannot-run",
        form(text(validations={"matchRegexp": "/(?<=a+)b/"})),
        "body.0.validations",
        "malformed",
    ),
    (
        "regexp-unsupported-property",
        form(text(validations={"matchRegexp": "/\\p{Script=Han}/u"})),
        "body.0.validations",
        "general categories",
    ),
    (
        "validations-wrong-type",
        form(text(validations=["isEmail"])),
        "body.0.validations",
        "object or a string",
    ),
    (
        "minLength-needs-number",
        form(text(validations={"minLength": "abc"})),
        "body.0.validations",
        "number",
    ),
    (
        "isLength-string",
        form(text(validations={"isLength": "3"})),
        "body.0.validations",
        "never matches",
    ),
    (
        "equalsField-needs-name",
        form(text(validations={"equalsField": 1})),
        "body.0.validations",
        "other field",
    ),
    (
        "argument-arithmetic",
        form(text(validations={"minimum": "${low + 1}"})),
        "body.0.validations",
        "cannot evaluate",
    ),
    (
        "email-string-validations",
        form({"type": "input-email", "name": "e", "validations": "minLength:3"}),
        "body.0.validations",
        "as an object",
    ),
    ("minLength-prop-string", form(text(minLength="3")), "body.0.minLength", "number"),
    (
        "validationErrors-not-strings",
        form(text(validationErrors={"isRequired": 1})),
        "body.0.validationErrors",
        "map rule names",
    ),
    ("required-not-bool", form(text(required="yes")), "body.0.required", "true or false"),
    ("hidden-not-bool", form(text(hidden=1)), "body.0.hidden", "true or false"),
    ("visibleOn-not-string", form(text(visibleOn=True)), "body.0.visibleOn", "expression string"),
    (
        "visibleOn-unparseable",
        form(text(visibleOn="a ==")),
        "body.0.visibleOn",
        "cannot be evaluated",
    ),
    (
        "visibleOn-arithmetic",
        form(text(visibleOn="${age + 1 > 18}")),
        "body.0.visibleOn",
        "cannot be evaluated",
    ),
    (
        "visibleOn-template-inside-js",
        form(text(visibleOn="${a} == 1")),
        "body.0.visibleOn",
        "wrap the whole",
    ),
    ("hiddenOn-blank", form(text(hiddenOn="  ")), "body.0.hiddenOn", "blank"),
    (
        "requiredOn-unparseable",
        form(text(requiredOn="a ? b : c")),
        "body.0.requiredOn",
        "cannot be evaluated",
    ),
    (
        "container-visibleOn-unparseable",
        form({"type": "group", "visibleOn": "(a", "body": []}),
        "body.0.visibleOn",
        "cannot be evaluated",
    ),
    (
        "options-string",
        form({"type": "select", "name": "s", "options": "a,b"}),
        "body.0.options",
        "list",
    ),
    (
        "option-without-value",
        form({"type": "radios", "name": "s", "options": [{"label": "A"}]}),
        "body.0.options.0",
        '"value"',
    ),
    (
        "option-without-label",
        form({"type": "radios", "name": "s", "options": [{"value": "a"}]}),
        "body.0.options.0",
        '"label"',
    ),
    (
        "option-label-not-string",
        form({"type": "select", "name": "s", "options": [{"label": 1, "value": 1}]}),
        "body.0.options.0.label",
        "string",
    ),
    (
        "option-null",
        form({"type": "checkboxes", "name": "s", "options": [None]}),
        "body.0.options.0",
        "object",
    ),
    (
        "option-children-not-list",
        form({"type": "select", "name": "s", "options": [{"label": "G", "children": 1}]}),
        "body.0.options.0.children",
        "list",
    ),
    (
        "option-in-group-without-value",
        form(
            {
                "type": "select",
                "name": "s",
                "options": [{"label": "G", "children": [{"label": "A"}]}],
            }
        ),
        "body.0.options.0.children.0",
        '"value"',
    ),
    (
        "multiple-not-bool",
        form({"type": "select", "name": "s", "options": [], "multiple": "yes"}),
        "body.0.multiple",
        "true or false",
    ),
    (
        "delimiter-not-string",
        form({"type": "checkboxes", "name": "s", "options": [], "delimiter": 1}),
        "body.0.delimiter",
        "string",
    ),
    (
        "number-min-not-number",
        form({"type": "input-number", "name": "n", "min": "abc"}),
        "body.0.min",
        "number",
    ),
    (
        "tag-max-not-number",
        form({"type": "input-tag", "name": "t", "max": "x"}),
        "body.0.max",
        "number",
    ),
    (
        "checkbox-trueValue-object",
        form({"type": "checkbox", "name": "c", "trueValue": {}}),
        "body.0.trueValue",
        "boolean, string or number",
    ),
    (
        "date-format-not-string",
        form({"type": "input-date", "name": "d", "valueFormat": 1}),
        "body.0.valueFormat",
        "moment format",
    ),
    ("combo-without-items", form({"type": "combo", "name": "g"}), "body.0.items", "items"),
    (
        "combo-item-invalid",
        form({"type": "combo", "name": "g", "items": [{"type": "input-text"}]}),
        "body.0.items.0.name",
        "name",
    ),
    (
        "combo-minLength-not-number",
        form({"type": "combo", "name": "g", "minLength": "x", "items": [text()]}),
        "body.0.minLength",
        "number",
    ),
    ("grid-columns-not-list", form({"type": "grid", "columns": {}}), "body.0.columns", "list"),
    (
        "grid-column-not-object",
        form({"type": "grid", "columns": [[]]}),
        "body.0.columns.0",
        "object",
    ),
    (
        "grid-column-visibility",
        form({"type": "grid", "columns": [{"hiddenOn": "${a}", "body": []}]}),
        "body.0.columns.0.hiddenOn",
        "ignores visibility",
    ),
    ("group-body-not-list", form({"type": "group", "body": "x"}), "body.0.body", "list"),
    (
        "nested-error-path",
        form(
            {
                "type": "fieldset",
                "body": [
                    {
                        "type": "group",
                        "body": [
                            {"type": "input-text", "name": "a", "validations": {"nope": True}}
                        ],
                    }
                ],
            }
        ),
        "body.0.body.0.body.0.validations",
        '"nope"',
    ),
]


@pytest.mark.parametrize(
    "schema, path, words", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_schemas_are_refused(schema, path, words):
    with pytest.raises(ValidationFailed) as caught:
        check_form_schema(schema)
    error = caught.value
    assert error.status == 422 and error.code == "validation_failed"
    fields = error.details["fields"]
    assert path in fields, fields
    assert any(words in message for message in fields[path]), fields[path]


def test_every_problem_is_reported_at_once():
    schema = form({"type": "input-text"}, text("a", validations={"x": True}), text("a"))
    with pytest.raises(ValidationFailed) as caught:
        check_form_schema(schema)
    assert set(caught.value.details["fields"]) == {
        "body.0.name",
        "body.1.validations",
        "body.2.name",
    }


VALID = [
    # (id, schema, warnings: a list of substrings, one per expected warning)
    ("plain", form(text("name", required=True), {"type": "input-email", "name": "email"}), []),
    (
        "every-validated-type",
        form(
            text("t"),
            {"type": "input-password", "name": "p"},
            {"type": "textarea", "name": "ta"},
            {"type": "input-email", "name": "e"},
            {"type": "input-url", "name": "u"},
            {"type": "input-number", "name": "n", "min": 0, "max": "${max}", "precision": 2},
            {"type": "select", "name": "s", "options": ["a"]},
            {"type": "radios", "name": "r", "options": {"a": "A"}},
            {"type": "checkboxes", "name": "c", "options": [{"label": "A", "value": "a"}]},
            {"type": "checkbox", "name": "cb"},
            {"type": "switch", "name": "sw", "trueValue": 1, "falseValue": 0},
            {"type": "input-date", "name": "d"},
            {"type": "input-datetime", "name": "dt", "valueFormat": "YYYY-MM-DD HH:mm"},
            {"type": "input-tag", "name": "tags"},
            {"type": "hidden", "name": "h"},
            {"type": "group", "body": [text("g")]},
            {"type": "fieldset", "body": [text("fs")]},
            {"type": "grid", "columns": [{"body": [text("gr")]}]},
            {"type": "combo", "name": "co", "multiple": True, "items": [text("x")]},
            {"type": "tpl", "tpl": "Hello"},
            {"type": "divider"},
            {"type": "submit", "label": "Send"},
        ),
        [],
    ),
    (
        "same-name-in-two-combos",
        form(
            {"type": "combo", "name": "a", "items": [text("x")]},
            {"type": "combo", "name": "b", "items": [text("x")]},
        ),
        [],
    ),
    (
        "all-rule-forms",
        form(
            text(validations="isEmail,minLength:3,matchRegexp:/^a,b/i,matchRegexp1:/x/"),
            text(
                "g",
                validations={
                    "isUrl": {"schemes": ["https"]},
                    "minimum": "${low}",
                    "isDateTimeBefore": "2030-01-01",
                    "matchRegexp": "/^\\p{L}+$/u",
                },
            ),
        ),
        [],
    ),
    ("rule-off", form(text(validations={"notARule": False})), []),
    (
        "passthrough-type",
        form({"type": "input-file", "name": "cv"}),
        ['"input-file" is not validated'],
    ),
    (
        "nameless-unknown-type",
        form({"type": "service", "api": "/x"}),
        ['"service" is not understood'],
    ),
    (
        "combo-flat",
        form({"type": "combo", "name": "c", "flat": True, "items": [text()]}),
        ['"flat"'],
    ),
    ("remote-options", form({"type": "select", "name": "s", "source": "/api/options"}), ["source"]),
    ("no-options", form({"type": "radios", "name": "s"}), ["no options"]),
    ("browser-only-rule", form(text(validations={"isTimeBefore": "10:00"})), ["browser only"]),
    (
        "unsupported-date-format",
        form({"type": "input-date", "name": "d", "valueFormat": "Do MMM"}),
        ["not checked by the server"],
    ),
    ("template-with-text", form(text(visibleOn="${a} and ${b}")), ["text template"]),
    ("empty-expression-means-unset", form(text(visibleOn="")), []),
    ("static-hidden-item", form(text(hidden=True)), ["still validates"]),
    ("static-hidden-fieldset", form({"type": "fieldset", "visible": False, "body": []}), ["still"]),
    ("static-hidden-group", form({"type": "group", "hidden": True, "body": []}), []),
]


@pytest.mark.parametrize("schema, warnings", [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_schemas_and_their_warnings(schema, warnings):
    got = check_form_schema(schema)
    assert len(got) == len(warnings), got
    for expected, message in zip(warnings, got):
        assert expected in message


def test_warnings_name_their_path():
    schema = form(text("a"), {"type": "group", "body": [{"type": "input-file", "name": "cv"}]})
    assert check_form_schema(schema)[0].startswith("body.1.body.0: ")
