"""Whole forms: visibility, nesting, combos, dotted names and what the cleaned data keeps."""

from __future__ import annotations

import pytest

from models.amis import clean_submission, review_submission, validate_submission

REQUIRED = "This field is required."
TIMED_OUT = "This answer could not be checked against the form's pattern in time."
OPTIONS = [{"label": "Private", "value": "private"}, {"label": "Professional", "value": "pro"}]


def form(*items):
    return {"type": "form", "body": list(items)}


def kind():
    return {"type": "radios", "name": "kind", "options": OPTIONS}


def company(**condition):
    return {"type": "input-text", "name": "company", "required": True, **condition}


VISIBILITY = [
    # (id, condition on "company", data without company, company is required)
    ("visibleOn-formula-true", {"visibleOn": "${kind == 'pro'}"}, {"kind": "pro"}, True),
    ("visibleOn-formula-false", {"visibleOn": "${kind == 'pro'}"}, {"kind": "private"}, False),
    ("visibleOn-formula-missing-name", {"visibleOn": "${kind == 'pro'}"}, {}, False),
    ("visibleOn-js-true", {"visibleOn": "kind == 'pro'"}, {"kind": "pro"}, True),
    ("visibleOn-js-missing-name-is-false", {"visibleOn": "kind != 'pro'"}, {}, False),
    ("visibleOn-this", {"visibleOn": "this.kind != 'pro'"}, {}, True),
    ("hiddenOn-js", {"hiddenOn": "this.kind != 'pro'"}, {"kind": "private"}, False),
    ("hiddenOn-js-false", {"hiddenOn": "this.kind != 'pro'"}, {"kind": "pro"}, True),
    ("hiddenOn-formula", {"hiddenOn": "${!kind}"}, {}, False),
    # amis-core keeps validating form items hidden by the static flags (on purpose).
    ("hidden-flag-still-checked", {"hidden": True}, {"kind": "pro"}, True),
    ("visible-flag-still-checked", {"visible": False}, {"kind": "pro"}, True),
    ("visible-flag-true", {"visible": True}, {}, True),
    ("hidden-flag-and-visibleOn-false", {"hidden": True, "visibleOn": "${kind}"}, {}, False),
    (
        "and-or",
        {"visibleOn": "${kind == 'pro' && (age >= 18 || guardian)}"},
        {"kind": "pro", "age": 16},
        False,
    ),
    (
        "and-or-second-branch",
        {"visibleOn": "${kind == 'pro' && (age >= 18 || guardian)}"},
        {"kind": "pro", "age": 16, "guardian": "Ann"},
        True,
    ),
    ("number-string-comparison", {"visibleOn": "${age >= 18}"}, {"age": "9"}, False),
    ("loose-equality", {"visibleOn": "${age == 18}"}, {"age": "18"}, True),
    ("strict-equality", {"visibleOn": "${age === 18}"}, {"age": "18"}, False),
    ("nested-path", {"visibleOn": "${person.age >= 18}"}, {"person": {"age": 30}}, True),
    ("nested-path-null", {"visibleOn": "${person.age >= 18}"}, {"person": None}, False),
    ("js-nested-path-null-throws-false", {"visibleOn": "person.age < 18"}, {"person": None}, False),
    ("bare-template", {"visibleOn": "${kind}"}, {"kind": "pro"}, True),
    ("bare-template-empty", {"visibleOn": "${kind}"}, {"kind": ""}, False),
    ("length", {"visibleOn": "${tags.length > 1}"}, {"tags": ["a", "b"]}, True),
    ("not", {"visibleOn": "!(kind == 'private')"}, {"kind": "pro"}, True),
    ("requiredOn", {"required": False, "requiredOn": "${kind == 'pro'}"}, {"kind": "pro"}, True),
    (
        "requiredOn-false",
        {"required": False, "requiredOn": "${kind == 'pro'}"},
        {"kind": "private"},
        False,
    ),
]


@pytest.mark.parametrize(
    "condition, data, required", [c[1:] for c in VISIBILITY], ids=[c[0] for c in VISIBILITY]
)
def test_visibility_decides_whether_a_field_is_checked(condition, data, required):
    errors = validate_submission(form(kind(), company(**condition)), data)
    errors.pop("kind", None)  # some rows submit values the radios do not offer
    assert errors == ({"company": [REQUIRED]} if required else {})


def test_a_hidden_fields_value_is_neither_checked_nor_kept():
    schema = form(
        kind(), {"type": "input-email", "name": "work_email", "visibleOn": "${kind == 'pro'}"}
    )
    review = review_submission(schema, {"kind": "private", "work_email": "not an email"})
    assert review.errors == {}
    assert review.cleaned == {"kind": "private"}
    assert review.dropped == ["work_email"]


CONTAINERS = [
    ("group", {"type": "group", "body": [company()]}),
    ("fieldset", {"type": "fieldset", "title": "Work", "body": [company()]}),
    ("fieldSet-alias-single-body", {"type": "fieldSet", "body": company()}),
    (
        "grid",
        {
            "type": "grid",
            "columns": [
                {"md": 6, "body": [{"type": "tpl", "tpl": "x"}]},
                {"md": 6, "body": [company()]},
            ],
        },
    ),
    ("group-in-fieldset", {"type": "fieldset", "body": [{"type": "group", "body": [company()]}]}),
]


@pytest.mark.parametrize("container", [c[1] for c in CONTAINERS], ids=[c[0] for c in CONTAINERS])
def test_layout_containers_share_the_forms_data(container):
    schema = form(kind(), container)
    assert validate_submission(schema, {"kind": "pro"}) == {"company": [REQUIRED]}
    assert clean_submission(schema, {"kind": "pro", "company": "ACME"}) == {
        "kind": "pro",
        "company": "ACME",
    }


@pytest.mark.parametrize("container", [c[1] for c in CONTAINERS], ids=[c[0] for c in CONTAINERS])
def test_a_hidden_container_hides_its_fields(container):
    schema = form(kind(), {**container, "visibleOn": "${kind == 'pro'}"})
    assert validate_submission(schema, {"kind": "private"}) == {}
    assert clean_submission(schema, {"kind": "private", "company": "ACME"}) == {"kind": "private"}


@pytest.mark.parametrize(
    "container, hides",
    [
        ({"type": "group", "body": [company()]}, True),
        ({"type": "grid", "columns": [{"body": [company()]}]}, True),
        ({"type": "fieldset", "body": [company()]}, False),  # AMIS ignores the flag here
    ],
    ids=["group", "grid", "fieldset"],
)
@pytest.mark.parametrize(
    "flag", [{"hidden": True}, {"visible": False}], ids=["hidden", "invisible"]
)
def test_static_hidden_flags_on_containers(container, hides, flag):
    errors = validate_submission(form({**container, **flag}), {})
    assert errors == ({} if hides else {"company": [REQUIRED]})


def test_dotted_names_are_nested_objects():
    schema = form(
        {"type": "input-text", "name": "person.name", "required": True},
        {"type": "input-number", "name": "person.age", "min": 0},
        {"type": "input-email", "name": "person.contact.email"},
    )
    assert validate_submission(
        schema, {"person": {"name": "", "age": -1, "contact": {"email": "x"}}}
    ) == {
        "person.name": [REQUIRED],
        "person.age": ["Enter a value of at least 0."],
        "person.contact.email": ["Enter a valid email address."],
    }
    data = {
        "person": {"name": "Ann", "age": 30, "contact": {"email": "ann@example.org", "fax": "1"}}
    }
    review = review_submission(schema, data)
    assert review.errors == {}
    assert review.cleaned == {
        "person": {"name": "Ann", "age": 30, "contact": {"email": "ann@example.org"}}
    }
    assert review.dropped == ["person.contact.fax"]


def test_a_dotted_name_also_reads_a_flat_key():
    schema = form({"type": "input-text", "name": "person.name", "required": True})
    assert validate_submission(schema, {"person.name": "Ann"}) == {}
    assert clean_submission(schema, {"person.name": "Ann"}) == {"person": {"name": "Ann"}}


def guests(**props):
    return {
        "type": "combo",
        "name": "guests",
        "multiple": True,
        **props,
        "items": [
            {"type": "input-text", "name": "name", "required": True},
            {"type": "input-email", "name": "email"},
            {
                "type": "select",
                "name": "meal",
                "options": ["meat", "veg"],
                "visibleOn": "${attends_dinner}",
            },
        ],
    }


def test_combo_rows_are_checked_one_by_one():
    rows = [
        {"name": "Ann", "email": "ann@example.org"},
        {"name": "", "email": "x"},
        {"name": "Bob"},
    ]
    assert validate_submission(form(guests()), {"guests": rows}) == {
        "guests.1.name": [REQUIRED],
        "guests.1.email": ["Enter a valid email address."],
    }


def test_combo_rows_see_the_forms_data():
    schema = form({"type": "switch", "name": "attends_dinner"}, guests())
    rows = [{"name": "Ann", "meal": "fish"}]
    assert validate_submission(schema, {"attends_dinner": False, "guests": rows}) == {}
    assert validate_submission(schema, {"attends_dinner": True, "guests": rows}) == {
        "guests.0.meal": ["Choose one of the available options."]
    }


def test_combo_row_expressions_see_the_row_first_and_the_index():
    schema = form(
        {
            "type": "combo",
            "name": "people",
            "multiple": True,
            "items": [
                {"type": "input-text", "name": "role"},
                {
                    "type": "input-text",
                    "name": "badge",
                    "required": True,
                    "visibleOn": "${role == 'speaker' || index == 0}",
                },
            ],
        }
    )
    data = {
        "role": "speaker",
        "people": [{"role": "guest"}, {"role": "guest"}, {"role": "speaker"}],
    }
    assert validate_submission(schema, data) == {
        "people.0.badge": [REQUIRED],
        "people.2.badge": [REQUIRED],
    }


def test_combo_cleaning_keeps_only_row_fields():
    rows = [{"name": "Ann", "email": "ann@example.org", "meal": "veg", "secret": 1}]
    review = review_submission(form(guests()), {"guests": rows})
    assert review.cleaned == {"guests": [{"name": "Ann", "email": "ann@example.org"}]}
    assert review.dropped == ["guests.0.meal", "guests.0.secret"]


@pytest.mark.parametrize(
    "props, rows, message",
    [
        ({"minLength": 1}, [], "Too few entries: the minimum is 1."),
        ({"minLength": 1}, None, "Too few entries: the minimum is 1."),
        ({"maxLength": 2}, [{"name": "a"}] * 3, "Too many entries: the maximum is 2."),
        (
            {
                "maxLength": 2,
                "messages": {"maxLengthValidateFailed": "At most ${maxLength} guests"},
            },
            [{"name": "a"}] * 3,
            "At most 2 guests",
        ),
        ({"required": True}, [], "This field is required."),
        ({}, "Ann", "This field must be a list of items."),
        ({}, ["Ann"], "This field must be a list of items."),
    ],
    ids=["min", "min-missing", "max", "max-custom", "required", "not-a-list", "rows-not-objects"],
)
def test_combo_level_errors(props, rows, message):
    assert validate_submission(form(guests(**props)), {"guests": rows}) == {"guests": [message]}


def test_combo_unique_items_must_differ_between_rows():
    schema = form(
        {
            "type": "combo",
            "name": "tickets",
            "multiple": True,
            "items": [{"type": "input-text", "name": "code", "unique": True}],
        }
    )
    rows = [{"code": "A"}, {"code": "B"}, {"code": "A"}, {"code": ""}, {"code": ""}]
    assert validate_submission(schema, {"tickets": rows}) == {
        "tickets.0.code": ["This value must be unique."],
        "tickets.2.code": ["This value must be unique."],
    }


def test_a_backtracking_pattern_fails_every_combo_row_without_holding_the_server():
    # Each match has a time budget and so does the whole submission: 5,000 rows
    # times one match's budget would hold the server for minutes.
    code = {"type": "input-text", "name": "code", "validations": {"matchRegexp": "/^(a|a)+$/"}}
    schema = form({"type": "combo", "name": "codes", "multiple": True, "items": [code]})
    rows = [{"code": "a" * 64 + "!"}] * 5000
    assert validate_submission(schema, {"codes": rows}) == {
        f"codes.{index}.code": [TIMED_OUT] for index in range(5000)
    }
    # The next submission has a budget of its own.
    assert validate_submission(schema, {"codes": [{"code": "aaa"}]}) == {}


def test_single_combo_is_an_object():
    schema = form(
        {
            "type": "combo",
            "name": "address",
            "items": [
                {"type": "input-text", "name": "city", "required": True},
                {"type": "input-text", "name": "zip", "validations": {"isZipcode": True}},
            ],
        }
    )
    assert validate_submission(schema, {"address": {"city": "", "zip": "12"}}) == {
        "address.city": [REQUIRED],
        "address.zip": ["Enter a valid six-digit postal code."],
    }
    assert clean_submission(schema, {"address": {"city": "Lyon", "x": 1}}) == {
        "address": {"city": "Lyon"}
    }


def test_combo_inside_a_group_with_dotted_item_names():
    schema = form(
        {
            "type": "group",
            "body": [
                {
                    "type": "combo",
                    "name": "team.members",
                    "multiple": True,
                    "items": [{"type": "input-text", "name": "person.name", "required": True}],
                }
            ],
        }
    )
    data = {"team": {"members": [{"person": {"name": "Ann"}}, {"person": {}}]}}
    assert validate_submission(schema, data) == {"team.members.1.person.name": [REQUIRED]}


def test_unvalidated_types_pass_through_and_display_items_carry_nothing():
    schema = form(
        {"type": "tpl", "tpl": "Welcome"},
        {"type": "input-file", "name": "cv"},
        {"type": "input-text", "name": "name"},
    )
    data = {"cv": {"url": "https://files/cv.pdf"}, "name": "Ann", "tpl": "x"}
    review = review_submission(schema, data)
    assert review.errors == {}
    assert review.cleaned == {"cv": {"url": "https://files/cv.pdf"}, "name": "Ann"}
    assert review.dropped == ["tpl"]


def test_a_submission_that_is_not_an_object():
    assert validate_submission(form(company()), ["x"]) == {
        "": ["The submission must be a JSON object."]
    }


def test_an_empty_submission_reports_every_required_field():
    schema = form(
        {"type": "input-text", "name": "first", "required": True},
        {"type": "checkboxes", "name": "days", "options": ["mon", "tue"], "required": True},
        {"type": "input-number", "name": "seats", "required": True},
    )
    assert validate_submission(schema, {}) == {
        "first": [REQUIRED],
        "days": [REQUIRED],
        "seats": [REQUIRED],
    }


def test_a_pattern_taken_from_the_answers_that_is_no_regex_fails_the_answer():
    # ``${pattern}`` is read from the submission, so it cannot be checked when the schema
    # is saved; a broken one must make the answer invalid, not crash the review (a 500).
    schema = {"type": "form", "body": [
        {"type": "input-text", "name": "pattern"},
        {"type": "input-text", "name": "f", "validations": {"matchRegexp": "${pattern}"}}]}
    assert review_submission(schema, {"pattern": "^x$", "f": "x"}).valid
    broken = review_submission(schema, {"pattern": "(", "f": "x"})
    assert not broken.valid and list(broken.errors) == ["f"]
