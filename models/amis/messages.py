"""Default English error messages, keyed like AMIS's ``validate.*`` translation keys.

A form's ``validationErrors`` (``{"minLength": "At least $1 letters"}``) wins
over these. ``$1``, ``$2``… stand for the rule's arguments. Keys that AMIS does
not define (option membership, number precision, dates, combo rows) follow the
same naming style.
"""

from __future__ import annotations

from models.amis.expressions import render_message

DEFAULT_MESSAGES: dict[str, str] = {
    "validate.isRequired": "This field is required.",
    "validate.isEmail": "Enter a valid email address.",
    "validate.isUrl": "Enter a valid URL.",
    "validate.isInt": "Enter a whole number.",
    "validate.isAlpha": "Use letters only.",
    "validate.isNumeric": "Enter a number.",
    "validate.isAlphanumeric": "Use letters and digits only.",
    "validate.isFloat": "Enter a decimal number.",
    "validate.isWords": "Use letters and spaces only.",
    "validate.isSpecialWords": "Use letters, accented letters and spaces only.",
    "validate.isUrlPath": "Use letters, digits, underscores, hyphens and backslashes only.",
    "validate.matchRegexp": "The value does not have the expected format.",
    "validate.regexpTimeout":
        "This answer could not be checked against the form's pattern in time.",
    "validate.minLength": "Enter at least $1 characters.",
    "validate.maxLength": "Enter no more than $1 characters.",
    "validate.array.minLength": "Too short: the minimum length is $1.",
    "validate.array.maxLength": "Too long: the maximum length is $1.",
    "validate.maximum": "Enter a value of at most $1.",
    "validate.lt": "Enter a value below $1.",
    "validate.minimum": "Enter a value of at least $1.",
    "validate.gt": "Enter a value above $1.",
    "validate.isJson": "Enter a JSON object or array.",
    "validate.isLength": "Enter exactly $1 characters.",
    "validate.notEmptyString": "This field cannot be just spaces.",
    "validate.equalsField": "This value must match the $1 field.",
    "validate.equals": "The value must be $1.",
    "validate.isPhoneNumber": "Enter a valid mobile phone number.",
    "validate.isTelNumber": "Enter a valid telephone number.",
    "validate.isZipcode": "Enter a valid six-digit postal code.",
    "validate.isId": "Enter a valid identity card number.",
    "validate.isExisty": "This field must have a value.",
    "validate.isUndefined": "This field must be left out.",
    "validate.isEmptyString": "This field must be empty.",
    "validate.isTrue": "This must be checked.",
    "validate.isFalse": "This must not be checked.",
    "validate.isVariableName": "Use letters, digits and underscores, not starting with a digit.",
    "validate.isDateTimeSame": "Enter the date $1.",
    "validate.isDateTimeBefore": "Enter a date before $1.",
    "validate.isDateTimeAfter": "Enter a date after $1.",
    "validate.isDateTimeSameOrBefore": "Enter a date on or before $1.",
    "validate.isDateTimeSameOrAfter": "Enter a date on or after $1.",
    "validate.isDateTimeBetween": "Enter a date between $1 and $2.",
    # Server-side checks of what the widgets themselves guarantee in the browser.
    "validate.option": "Choose one of the available options.",
    "validate.precision": "Use no more than $1 decimal places.",
    "validate.isDate": "Enter a valid date.",
    "validate.isBoolean": "This value must be $1 or $2.",
    "validate.maxTags": "Too many tags: the maximum is $1.",
    "validate.maxTagLength": "Keep each tag to $1 characters or fewer.",
    "validate.unique": "This value must be unique.",
    "validate.type": "This value has the wrong type.",
    "Combo.minLength": "Too few entries: the minimum is $1.",
    "Combo.maxLength": "Too many entries: the maximum is $1.",
    "Combo.type": "This field must be a list of items.",
}


def message(key: str, args: list | tuple = (), custom: str | None = None,
            names: dict | None = None) -> str:
    """The message for ``key`` (or ``custom``) with ``$1``… replaced by ``args``.

    ``names`` adds named values a custom message may use (``${minLength}``).
    """
    template = custom or DEFAULT_MESSAGES.get(key) or DEFAULT_MESSAGES["validate.matchRegexp"]
    return render_message(template, list(args), names)
