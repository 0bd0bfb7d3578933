"""One form item, one value: the message a registrant sees (or none).

Each row is (item, value, expected message); the item is named "f" and the
value is submitted as {"f": value} (MISSING leaves the key out). Expected
verdicts follow amis-core: rules run in AMIS's order and only the first
failure is shown, empty values pass every rule but ``required``, and the
widget checks (options, numbers, dates, toggles) come after the rules.
"""

from __future__ import annotations

import pytest

from models.amis import validate_submission

MISSING = object()
REQUIRED = "This field is required."
NOT_OPTION = "Choose one of the available options."
WRONG_TYPE = "This value has the wrong type."
ID_NUMBER = "11010519491231002X"  # a valid 18-character resident identity card number
OPTIONS = [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]
TIMED_OUT = "This answer could not be checked against the form's pattern in time."


def text(**props):
    return {"type": "input-text", **props}


# Valid JS that backtracks exponentially on "aaa…!": without a time budget one
# answer would hold the server for centuries.
BACKTRACKING = text(validations={"matchRegexp": "/^(a|a)+$/"},
                    validationErrors={"matchRegexp": "Only a's, please."})


CASES = [
    # --- required and lengths on text inputs
    ("text-required-missing", text(required=True), MISSING, REQUIRED),
    ("text-required-empty", text(required=True), "", REQUIRED),
    ("text-required-null", text(required=True), None, REQUIRED),
    ("text-required-spaces-pass", text(required=True), "  ", None),
    ("text-optional-missing", text(), MISSING, None),
    ("text-minLength-prop", text(minLength=3), "ab", "Enter at least 3 characters."),
    ("text-minLength-empty-passes", text(minLength=3), "", None),
    ("text-maxLength-prop", text(maxLength=5), "abcdef", "Enter no more than 5 characters."),
    ("text-length-counts-utf16", text(maxLength=2), "😀a", "Enter no more than 2 characters."),
    ("text-length-emoji-is-two", text(maxLength=2), "😀", None),
    ("text-number-value", text(maxLength=2), 123, "Enter no more than 2 characters."),
    ("text-list-value", text(), ["a"], WRONG_TYPE),
    ("password-ignores-minLength-prop", {"type": "input-password", "minLength": 8}, "abc", None),
    (
        "password-minLength-rule",
        {"type": "input-password", "validations": {"minLength": 8}},
        "abc",
        "Enter at least 8 characters.",
    ),
    (
        "textarea-maxLength-prop",
        {"type": "textarea", "maxLength": 10},
        "a" * 11,
        "Enter no more than 10 characters.",
    ),
    ("textarea-multiline-ok", {"type": "textarea", "maxLength": 10}, "a\nb", None),
    # --- input-email / input-url imply their rule
    ("email-invalid", {"type": "input-email"}, "x@", "Enter a valid email address."),
    ("email-valid", {"type": "input-email"}, "ann@example.org", None),
    ("email-unicode-domain", {"type": "input-email"}, "ann@例え.テスト", None),
    ("email-empty-optional", {"type": "input-email"}, "", None),
    ("email-required-missing", {"type": "input-email", "required": True}, MISSING, REQUIRED),
    (
        "email-own-rules-first",
        {"type": "input-email", "validations": {"minLength": 10}},
        "a@b.co",
        "Enter at least 10 characters.",
    ),
    (
        "email-after-own-rules",
        {"type": "input-email", "validations": {"minLength": 3}},
        "xyz@",
        "Enter a valid email address.",
    ),
    ("url-invalid", {"type": "input-url"}, "example.com", "Enter a valid URL."),
    ("url-valid", {"type": "input-url"}, "https://example.com/a?b=1", None),
    # --- validations: string form keeps its order
    (
        "string-form-first-rule-wins",
        text(validations="isEmail,minLength:3"),
        "ab",
        "Enter a valid email address.",
    ),
    (
        "string-form-order",
        text(validations="minLength:3,isEmail"),
        "ab",
        "Enter at least 3 characters.",
    ),
    ("string-form-regexp-with-comma", text(validations="matchRegexp:/^a,b$/"), "a,b", None),
    (
        "isNumeric-then-minimum",
        text(validations={"isNumeric": True, "minimum": 18}),
        "17",
        "Enter a value of at least 18.",
    ),
    ("isNumeric-rejects-text", text(validations={"isNumeric": True}), "12a", "Enter a number."),
    ("isInt", text(validations={"isInt": True}), "1.5", "Enter a whole number."),
    ("isInt-ok", text(validations={"isInt": True}), "-15", None),
    ("isFloat", text(validations={"isFloat": True}), "abc", "Enter a decimal number."),
    ("isAlpha", text(validations={"isAlpha": True}), "abc1", "Use letters only."),
    ("isAlpha-not-unicode", text(validations={"isAlpha": True}), "é", "Use letters only."),
    (
        "isAlphanumeric",
        text(validations={"isAlphanumeric": True}),
        "ab_c",
        "Use letters and digits only.",
    ),
    ("maximum", text(validations={"maximum": 10}), "11", "Enter a value of at most 10."),
    ("maximum-parses-prefix", text(validations={"maximum": 10}), "9kg", None),
    ("minLength-zero-active", text(validations={"minLength": 0}), "", None),
    ("rule-false-is-off", text(validations={"isEmail": False}), "nope", None),
    ("equals", text(validations={"equals": "yes"}), "no", "The value must be yes."),
    ("equals-loose", text(validations={"equals": 1}), "1", None),
    (
        "matchRegexp",
        text(validations={"matchRegexp": "/^[A-Z]{2}\\d+$/"}),
        "ab12",
        "The value does not have the expected format.",
    ),
    ("matchRegexp-flag-i", text(validations={"matchRegexp": "/^[A-Z]{2}\\d+$/i"}), "ab12", None),
    (
        "matchRegexp-numbered",
        text(validations={"matchRegexp1": "/^a/", "matchRegexp2": "/z$/"}),
        "abc",
        "The value does not have the expected format.",
    ),
    (
        "matchRegexp-custom-message",
        text(
            validations={"matchRegexp1": "/^a/", "matchRegexp2": "/z$/"},
            validationErrors={"matchRegexp2": "Must end with z"},
        ),
        "abc",
        "Must end with z",
    ),
    # The browser folds case with "iu" by Unicode's simple case folding: "ı" is not "i".
    ("matchRegexp-flags-iu-dotless-i", text(validations={"matchRegexp": "/^i$/iu"}), "ı",
     "The value does not have the expected format."),
    ("matchRegexp-flags-iu-kelvin-sign", text(validations={"matchRegexp": "/^k$/iu"}), "\u212a",
     None),
    # A pattern that cannot decide in time fails the field with a message saying so
    # (not the form's own message: the answer may well be right).
    ("matchRegexp-backtracking-times-out", BACKTRACKING, "a" * 64 + "!", TIMED_OUT),
    ("matchRegexp-backtracking-still-passes", BACKTRACKING, "a" * 64, None),
    ("matchRegexp-backtracking-still-fails", BACKTRACKING, "ab", "Only a's, please."),
    (
        "isPhoneNumber",
        text(validations={"isPhoneNumber": True}),
        "12345",
        "Enter a valid mobile phone number.",
    ),
    ("isPhoneNumber-ok", text(validations={"isPhoneNumber": True}), "+86-13800138000", None),
    ("isTelNumber-ok", text(validations={"isTelNumber": True}), "010-12345678", None),
    (
        "isZipcode",
        text(validations={"isZipcode": True}),
        "12345",
        "Enter a valid six-digit postal code.",
    ),
    ("isId-ok", text(validations={"isId": True}), ID_NUMBER, None),
    (
        "isId-bad-check",
        text(validations={"isId": True}),
        ID_NUMBER[:-1] + "1",
        "Enter a valid identity card number.",
    ),
    ("isJson", text(validations={"isJson": True}), "{a:1}", "Enter a JSON object or array."),
    ("isJson-ok", text(validations={"isJson": True}), '{"a": 1}', None),
    (
        "notEmptyString",
        text(validations={"notEmptyString": True}),
        "   ",
        "This field cannot be just spaces.",
    ),
    (
        "isUrl-options",
        text(validations={"isUrl": {"schemes": ["https"]}}),
        "http://x.com",
        "Enter a valid URL.",
    ),
    ("isLength", text(validations={"isLength": 4}), "abc", "Enter exactly 4 characters."),
    (
        "isVariableName",
        text(validations={"isVariableName": True}),
        "1abc",
        "Use letters, digits and underscores, not starting with a digit.",
    ),
    # --- messages
    (
        "custom-required",
        text(required=True, validationErrors={"isRequired": "Tell us your name"}),
        MISSING,
        "Tell us your name",
    ),
    (
        "custom-with-argument",
        text(minLength=3, validationErrors={"minLength": "Need $1+ chars"}),
        "ab",
        "Need 3+ chars",
    ),
    (
        "custom-empty-falls-back",
        text(minLength=3, validationErrors={"minLength": ""}),
        "ab",
        "Enter at least 3 characters.",
    ),
    ("required-before-length", text(required=True, minLength=3), "", REQUIRED),
    ("required-after-own-rules", text(required=True, validations={"isEmail": True}), "", REQUIRED),
    # --- dates in rules (moment reads ISO dates)
    (
        "isDateTimeAfter",
        {
            "type": "input-date",
            "valueFormat": "YYYY-MM-DD",
            "validations": {"isDateTimeAfter": "2024-01-01"},
        },
        "2023-12-31",
        "Enter a date after 2024-01-01.",
    ),
    (
        "isDateTimeBetween-day",
        {
            "type": "input-date",
            "valueFormat": "YYYY-MM-DD",
            "validations": {"isDateTimeBetween": ["2024-01-01", "2024-01-31", "day", "[]"]},
        },
        "2024-01-31",
        None,
    ),
    # --- input-number
    ("number-ok", {"type": "input-number"}, 5, None),
    ("number-string", {"type": "input-number"}, "5", "Enter a number."),
    ("number-bool", {"type": "input-number"}, True, "Enter a number."),
    (
        "number-min",
        {"type": "input-number", "min": 1, "max": 10},
        0,
        "Enter a value of at least 1.",
    ),
    (
        "number-max",
        {"type": "input-number", "min": 1, "max": 10},
        11,
        "Enter a value of at most 10.",
    ),
    ("number-bounds-inclusive", {"type": "input-number", "min": 1, "max": 10}, 10, None),
    (
        "number-precision",
        {"type": "input-number", "precision": 2},
        1.234,
        "Use no more than 2 decimal places.",
    ),
    ("number-precision-ok", {"type": "input-number", "precision": 2}, 1.25, None),
    ("number-precision-zero", {"type": "input-number", "precision": 0}, 3.0, None),
    ("number-big-string", {"type": "input-number", "big": True}, "12345678901234567890", None),
    ("number-required", {"type": "input-number", "required": True}, MISSING, REQUIRED),
    (
        "number-rule-before-widget",
        {"type": "input-number", "min": 0, "validations": {"minimum": 18}},
        17,
        "Enter a value of at least 18.",
    ),
    (
        "number-custom-widget-message",
        {"type": "input-number", "min": 1, "validationErrors": {"minimum": "At least one"}},
        0,
        "At least one",
    ),
    # --- select / radios / checkboxes: the value must be one of the options
    ("select-ok", {"type": "select", "options": OPTIONS}, "a", None),
    ("select-not-an-option", {"type": "select", "options": OPTIONS}, "c", NOT_OPTION),
    ("select-empty", {"type": "select", "options": OPTIONS}, "", None),
    ("select-required", {"type": "select", "options": OPTIONS, "required": True}, "", REQUIRED),
    (
        "select-number-values",
        {"type": "select", "options": [{"label": "One", "value": 1}]},
        1,
        None,
    ),
    (
        "select-number-as-string",
        {"type": "select", "options": [{"label": "One", "value": 1}]},
        "1",
        None,
    ),
    ("select-string-options", {"type": "select", "options": ["red", "blue"]}, "blue", None),
    ("select-map-options", {"type": "select", "options": {"fr": "France"}}, "fr", None),
    (
        "select-groups",
        {"type": "select", "options": [{"label": "G", "children": OPTIONS}]},
        "b",
        None,
    ),
    (
        "select-group-label-is-not-a-value",
        {"type": "select", "options": [{"label": "G", "children": OPTIONS}]},
        "G",
        NOT_OPTION,
    ),
    ("select-single-list", {"type": "select", "options": OPTIONS}, ["a"], WRONG_TYPE),
    (
        "select-multiple-joined",
        {"type": "select", "multiple": True, "options": OPTIONS},
        "a,b",
        None,
    ),
    (
        "select-multiple-one-bad",
        {"type": "select", "multiple": True, "options": OPTIONS},
        "a,c",
        NOT_OPTION,
    ),
    (
        "select-multiple-delimiter",
        {"type": "select", "multiple": True, "delimiter": ";", "options": OPTIONS},
        "a;b",
        None,
    ),
    (
        "select-multiple-extract",
        {
            "type": "select",
            "multiple": True,
            "joinValues": False,
            "extractValue": True,
            "options": OPTIONS,
        },
        ["b"],
        None,
    ),
    (
        "select-multiple-extract-bad",
        {
            "type": "select",
            "multiple": True,
            "joinValues": False,
            "extractValue": True,
            "options": OPTIONS,
        },
        ["x"],
        NOT_OPTION,
    ),
    (
        "select-multiple-objects",
        {"type": "select", "multiple": True, "joinValues": False, "options": OPTIONS},
        [{"label": "A", "value": "a"}],
        None,
    ),
    (
        "select-multiple-objects-bad",
        {"type": "select", "multiple": True, "joinValues": False, "options": OPTIONS},
        [{"value": "z"}],
        NOT_OPTION,
    ),
    (
        "select-single-object",
        {"type": "select", "joinValues": False, "options": OPTIONS},
        {"label": "B", "value": "b"},
        None,
    ),
    (
        "select-multiple-required-empty-list",
        {
            "type": "select",
            "multiple": True,
            "joinValues": False,
            "extractValue": True,
            "required": True,
            "options": OPTIONS,
        },
        [],
        REQUIRED,
    ),
    ("select-creatable", {"type": "select", "creatable": True, "options": OPTIONS}, "new", None),
    ("select-remote-options", {"type": "select", "source": "/api/options"}, "anything", None),
    (
        "select-valueField",
        {"type": "select", "valueField": "id", "options": [{"label": "A", "id": 7}]},
        7,
        None,
    ),
    ("radios-ok", {"type": "radios", "options": OPTIONS}, "b", None),
    ("radios-bad", {"type": "radios", "options": OPTIONS}, "z", NOT_OPTION),
    ("radios-list", {"type": "radios", "options": OPTIONS}, ["a"], WRONG_TYPE),
    ("checkboxes-ok", {"type": "checkboxes", "options": OPTIONS}, "a,b", None),
    (
        "checkboxes-option-containing-delimiter",
        {"type": "checkboxes", "options": ["Paris, France", "Lyon"]},
        "Paris, France,Lyon",
        None,
    ),
    (
        "checkboxes-part-of-an-option",
        {"type": "checkboxes", "options": ["Paris, France", "Lyon"]},
        "Paris",
        NOT_OPTION,
    ),
    ("checkboxes-bad", {"type": "checkboxes", "options": OPTIONS}, "a,z", NOT_OPTION),
    ("checkboxes-object", {"type": "checkboxes", "options": OPTIONS}, {"x": 1}, WRONG_TYPE),
    (
        "checkboxes-required",
        {"type": "checkboxes", "options": OPTIONS, "required": True},
        "",
        REQUIRED,
    ),
    (
        "checkboxes-rule-on-joined-value",
        {"type": "checkboxes", "options": OPTIONS, "validations": {"maxLength": 1}},
        "a,b",
        "Enter no more than 1 characters.",
    ),
    # --- checkbox / switch
    ("checkbox-true", {"type": "checkbox"}, True, None),
    ("checkbox-false", {"type": "checkbox"}, False, None),
    ("checkbox-required-false-passes", {"type": "checkbox", "required": True}, False, None),
    (
        "checkbox-must-accept",
        {"type": "checkbox", "validations": {"isTrue": True}},
        False,
        "This must be checked.",
    ),
    ("checkbox-other", {"type": "checkbox"}, "yes", "This value must be true or false."),
    (
        "checkbox-custom-values",
        {"type": "checkbox", "trueValue": "Y", "falseValue": "N"},
        "Y",
        None,
    ),
    (
        "checkbox-custom-values-bad",
        {"type": "checkbox", "trueValue": "Y", "falseValue": "N"},
        True,
        "This value must be Y or N.",
    ),
    ("switch-number-values", {"type": "switch", "trueValue": 1, "falseValue": 0}, 1, None),
    (
        "switch-number-bad",
        {"type": "switch", "trueValue": 1, "falseValue": 0},
        2,
        "This value must be 1 or 0.",
    ),
    # --- dates
    ("date-default-timestamp", {"type": "input-date"}, "1700000000", None),
    ("date-default-timestamp-number", {"type": "input-date"}, 1700000000, None),
    ("date-default-rejects-iso", {"type": "input-date"}, "2024-01-01", "Enter a valid date."),
    ("date-format-ok", {"type": "input-date", "valueFormat": "YYYY-MM-DD"}, "2024-02-29", None),
    (
        "date-format-impossible",
        {"type": "input-date", "valueFormat": "YYYY-MM-DD"},
        "2023-02-29",
        "Enter a valid date.",
    ),
    (
        "date-format-shape",
        {"type": "input-date", "valueFormat": "YYYY-MM-DD"},
        "2024-2-1",
        "Enter a valid date.",
    ),
    ("date-format-from-format", {"type": "input-date", "format": "DD/MM/YYYY"}, "31/01/2024", None),
    (
        "datetime-ok",
        {"type": "input-datetime", "valueFormat": "YYYY-MM-DD HH:mm:ss"},
        "2024-01-02 10:20:30",
        None,
    ),
    (
        "datetime-bad-hour",
        {"type": "input-datetime", "valueFormat": "YYYY-MM-DD HH:mm:ss"},
        "2024-01-02 25:00:00",
        "Enter a valid date.",
    ),
    (
        "date-unsupported-format-unchecked",
        {"type": "input-date", "valueFormat": "Do MMM YYYY"},
        "whatever",
        None,
    ),
    # --- input-tag: free tags, limits
    ("tag-ok", {"type": "input-tag"}, "a,b", None),
    ("tag-not-in-options-ok", {"type": "input-tag", "options": OPTIONS}, "zz", None),
    ("tag-max", {"type": "input-tag", "max": 2}, "a,b,c", "Too many tags: the maximum is 2."),
    (
        "tag-max-length",
        {"type": "input-tag", "maxTagLength": 3},
        "abcd",
        "Keep each tag to 3 characters or fewer.",
    ),
    (
        "tag-list",
        {"type": "input-tag", "joinValues": False, "extractValue": True},
        ["a", "b"],
        None,
    ),
    # --- hidden
    ("hidden-any-value", {"type": "hidden"}, {"any": ["json"]}, None),
    (
        "hidden-with-rule",
        {"type": "hidden", "validations": {"isInt": True}},
        "x",
        "Enter a whole number.",
    ),
]


@pytest.mark.parametrize("item, value, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_field(item, value, expected):
    schema = {"type": "form", "body": [{**item, "name": "f"}]}
    data = {} if value is MISSING else {"f": value}
    errors = validate_submission(schema, data)
    assert errors == ({} if expected is None else {"f": [expected]})


def test_equals_field_compares_with_the_other_field():
    schema = {
        "type": "form",
        "body": [
            {"type": "input-password", "name": "password"},
            {
                "type": "input-password",
                "name": "confirm",
                "validations": {"equalsField": "password"},
            },
        ],
    }
    assert validate_submission(schema, {"password": "a", "confirm": "a"}) == {}
    assert validate_submission(schema, {"password": "a", "confirm": "b"}) == {
        "confirm": ["This value must match the password field."]
    }


def test_rule_arguments_can_come_from_the_data():
    schema = {
        "type": "form",
        "body": [
            {"type": "hidden", "name": "min_len"},
            {"type": "input-text", "name": "code", "validations": {"minLength": "${min_len}"}},
        ],
    }
    assert validate_submission(schema, {"min_len": 4, "code": "abc"}) == {
        "code": ["Enter at least 4 characters."]
    }
    assert validate_submission(schema, {"min_len": 2, "code": "abc"}) == {}
