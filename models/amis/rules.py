"""AMIS's named validation rules (``validations``), with the browser's verdicts.

Each rule is ``rule(scope, value, *args) -> bool``; ``scope`` is the data the
field lives in (for ``equalsField`` and ``${var}`` arguments). Like amis-core,
most rules accept an empty value (``undefined``, ``null``, ``""``) and leave
emptiness to ``isRequired``, and every coercion follows JavaScript (see
:mod:`models.amis.jsvalues`); the golden tests hold the verdicts to amis-core's
own over a large table of cases.

:func:`parse_rules` reads the string form (``"isEmail,minLength:3"``) the way
amis-core does, and :func:`first_failure` runs a rule set in order and reports
the first rule that fails, which is all AMIS shows next to a field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from models.amis import datetimes, idcard
from models.amis import jsvalues as js
from models.amis.expressions import resolve_pure_variable
from models.amis.jsregex import RegexpError, RegexpTimeout, compile_js, rule_regexp
from models.amis.jsvalues import UNDEFINED
from models.amis.messages import message
from models.amis.scope import Scope


class UnknownRule(KeyError):
    """A rule name AMIS does not know (the browser would throw on it)."""


@dataclass(frozen=True)
class Rule:
    check: Callable[..., bool]
    message_key: str


def _absent(value: Any) -> bool:
    return value is UNDEFINED or value is None


def _blank(value: Any) -> bool:
    return _absent(value) or value == "" and isinstance(value, str)


def _pattern(python_regex: str) -> Callable[..., bool]:
    compiled = re.compile(python_regex)

    def check(scope, value, *args) -> bool:
        return _blank(value) or compiled.search(js.utf16(js.to_string(value))) is not None

    return check


# Characters AMIS's email and URL patterns treat as letters beyond ASCII.
_UCS = "\\u00a0-\\ud7ff\\uf900-\\ufdcf\\ufdf0-\\uffef"
_ATEXT = f"[a-zA-Z0-9!#$%&'*+\\-/=?^_`{{|}}~{_UCS}]"
_QTEXT = f"[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\x21\\x23-\\x5b\\x5d-\\x7e{_UCS}]"
_QPAIR = f"\\\\[\\x01-\\x09\\x0b\\x0c\\x0d-\\x7f{_UCS}]"
_FWS = "(?:(?:[\\x20\\x09]*\\x0d\\x0a)?[\\x20\\x09]+)"
_LABEL_END = f"[a-zA-Z0-9{_UCS}]"
_LABEL_MID = f"[a-zA-Z0-9\\-._~{_UCS}]"
_TLD_END = f"[a-zA-Z{_UCS}]"
# Same language as AMIS's email pattern, written so that matching stays linear
# (a long hostile value must not make the server backtrack for minutes). The
# domain, "labels each ending with a dot, then a top-level label", is every
# string of label characters that starts with a letter or digit, ends with a
# letter and contains <letter or digit>.<letter> somewhere.
EMAIL_REGEX = (
    f"\\A(?:{_ATEXT}+(?:\\.{_ATEXT}+)*|\"(?:{_FWS}?(?:{_QTEXT}|{_QPAIR}))*{_FWS}?\")"
    f"@(?={_LABEL_MID}*?{_LABEL_END}\\.{_TLD_END}){_LABEL_END}(?:{_LABEL_MID}*{_TLD_END})\\Z"
)

PHONE_REGEX = "\\A(?:\\+[0-9]{2}-)?1[3-9][0-9]{9}\\Z"
TELEPHONE_REGEX = (f"\\A(?:\\+[0-9]{{2}}-)?(?:\\([0-9]{{3,4}}\\)|[0-9]{{3,4}}-|[{js.WS_CLASS}])?"
                   "[0-9]{7,14}\\Z")


def url_source(options: Any) -> str:
    """The JS source of AMIS's URL pattern for ``isUrl`` options (used with the ``i`` flag).

    Options: ``schemes`` (default http, https, ftp, sftp), ``allowLocal``
    (default true: hosts without a dot), ``allowDataUrl`` (default false).
    Host names are written as ``X(?:[X-]*X)?``, the same language as AMIS's
    ``(?:X-*)*X+`` without its catastrophic backtracking.
    """
    options = options if isinstance(options, dict) else {}
    schemes = options.get("schemes", UNDEFINED)
    if not isinstance(schemes, list):
        schemes = ["http", "https", "ftp", "sftp"]
    allow_local = js.truthy(options.get("allowLocal", True))
    allow_data = js.truthy(options.get("allowDataUrl", False))
    scheme_alternatives = "|".join("" if _absent(s) else js.to_string(s) for s in schemes)
    host_char = "[a-z\\u00a1-\\uffff0-9]"
    regex = f"^(?:(?:{scheme_alternatives})://)(?:\\S+@)?(?:"
    tld = "(?:\\.(?:[a-z\\u00a1-\\uffff]{2,}))"
    if allow_local:
        tld += "?"
    else:
        regex += ("(?!(?:10|127)(?:\\.\\d{1,3}){3})"
                  "(?!(?:169\\.254|192\\.168)(?:\\.\\d{1,3}){2})"
                  "(?!172\\.(?:1[6-9]|2\\d|3[0-1])(?:\\.\\d{1,3}){2})")
    regex += ("(?:[1-9]\\d?|1\\d\\d|2[01]\\d|22[0-3])"
              "(?:\\.(?:1?\\d{1,2}|2[0-4]\\d|25[0-5])){2}"
              "(?:\\.(?:[1-9]\\d?|1\\d\\d|2[0-4]\\d|25[0-4]))"
              f"|{host_char}(?:[a-z\\u00a1-\\uffff0-9-]*{host_char})?"
              f"(?:\\.{host_char}(?:[a-z\\u00a1-\\uffff0-9-]*{host_char})?)*"
              f"{tld})(?::\\d{{2,5}})?(?:[/?#]\\S*)?$")
    if allow_data:
        data_url = ("data:(?:\\w+\\/[-+.\\w]+(?:;[\\w=]+)*)?(?:;base64)?,"
                    "[A-Za-z0-9-_.!~\\*'();\\/?:@&=+$,%]*")
        regex = f"(?:{regex})|(?:^{data_url}$)"
    return regex


def is_url(scope, value, options=UNDEFINED, *_) -> bool:
    return _blank(value) or compile_js(url_source(options), "i").test(js.to_string(value))


def match_regexp(scope, value, regexp=UNDEFINED, *_) -> bool:
    return _blank(value) or rule_regexp(regexp).test(js.to_string(value))


def is_required(scope, value, *_) -> bool:
    if _absent(value) or value == "" and isinstance(value, str):
        return False
    return not (isinstance(value, list) and not value)


_NUMERIC = _pattern("\\A[-+]?(?:[0-9]*\\.)?[0-9]+\\Z")
_VARIABLE_NAME = _pattern("\\A[a-zA-Z_]+[a-zA-Z0-9_]*\\Z")


def is_numeric(scope, value, *_) -> bool:
    return js.is_number(value) or _NUMERIC(scope, value)


def _length_limit(compare: Callable[[int, Any], bool], allow_empty: bool) -> Callable[..., bool]:
    def check(scope, value, length=UNDEFINED, *_) -> bool:
        text = js.value_to_string(value)
        if allow_empty and text == "":
            return True
        return compare(js.js_length(text), length)

    return check


def _number_limit(op: str) -> Callable[..., bool]:
    def check(scope, value, limit=UNDEFINED, *_) -> bool:
        if _blank(value):
            return True
        left = js.parse_float(value)
        right = js.parse_float(limit)
        left = 0.0 if left != left or left == 0 else left
        right = 0.0 if right != right or right == 0 else right
        return js.compare(op, left, right)

    return check


def is_length(scope, value, length=UNDEFINED, *_) -> bool:
    text = js.value_to_string(value)
    return text == "" or js.strict_equals(js.js_length(text), length)


def equals(scope, value, expected=UNDEFINED, *_) -> bool:
    return _blank(value) or js.loose_equals(value, expected)


def equals_field(scope, value, field=UNDEFINED, *_) -> bool:
    other = scope.get(js.to_string(field)) if isinstance(scope, Scope) else UNDEFINED
    return js.loose_equals(value, other)


def is_json(scope, value, *_) -> bool:
    if not isinstance(value, str) or value == "":
        return True
    try:
        parsed = json.loads(value, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, (dict, list))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _js_int(text: str) -> int | float:
    """An integer literal as JS holds it: exact up to 2**53, a double beyond."""
    number = int(text)
    return number if abs(number) <= 2 ** 53 else js.as_double(number)


def not_empty_string(scope, value, *_) -> bool:
    if _absent(value):
        return True
    text = js.to_string(value)
    return not (text and text.strip(js.JS_WHITESPACE) == "")


def _id_rule(check_id: Callable[[str], bool]) -> Callable[..., bool]:
    def check(scope, value, *_) -> bool:
        return _blank(value) or check_id(js.to_string(value))

    return check


def is_variable_name(scope, value, regexp=UNDEFINED, *_) -> bool:
    # AMIS only honours a RegExp object here, which JSON cannot carry.
    return _VARIABLE_NAME(scope, value)


def is_special_words(scope, value, *_) -> bool:
    return _blank(value) or compile_js("^[A-Z\\s\\u00C0-\\u017F]+$", "i").test(js.to_string(value))


RULES: dict[str, Rule] = {
    "isRequired": Rule(is_required, "validate.isRequired"),
    "isExisty": Rule(lambda scope, value, *_: not _absent(value), "validate.isExisty"),
    "matchRegexp": Rule(match_regexp, "validate.matchRegexp"),
    "isUndefined": Rule(lambda scope, value, *_: value is UNDEFINED, "validate.isUndefined"),
    "isEmptyString": Rule(lambda scope, value, *_: value == "" and isinstance(value, str),
                          "validate.isEmptyString"),
    "isEmail": Rule(_pattern(EMAIL_REGEX), "validate.isEmail"),
    "isUrl": Rule(is_url, "validate.isUrl"),
    "isTrue": Rule(lambda scope, value, *_: value is True, "validate.isTrue"),
    "isFalse": Rule(lambda scope, value, *_: value is False, "validate.isFalse"),
    "isNumeric": Rule(is_numeric, "validate.isNumeric"),
    "isAlpha": Rule(_pattern("\\A[A-Za-z]+\\Z"), "validate.isAlpha"),
    "isAlphanumeric": Rule(_pattern("\\A[0-9A-Za-z]+\\Z"), "validate.isAlphanumeric"),
    "isInt": Rule(_pattern("\\A[-+]?(?:0|[1-9][0-9]*)\\Z"), "validate.isInt"),
    "isFloat": Rule(_pattern("\\A(?:[-+]?[0-9]+)?(?:\\.[0-9]*)?(?:[eE][+-]?[0-9]+)?\\Z"),
                    "validate.isFloat"),
    "isWords": Rule(_pattern(f"\\A[A-Za-z{js.WS_CLASS}]+\\Z"), "validate.isWords"),
    "isSpecialWords": Rule(is_special_words, "validate.isSpecialWords"),
    "isLength": Rule(is_length, "validate.isLength"),
    "equals": Rule(equals, "validate.equals"),
    "equalsField": Rule(equals_field, "validate.equalsField"),
    "maxLength": Rule(_length_limit(lambda n, limit: js.compare("<=", n, limit), False),
                      "validate.maxLength"),
    "minLength": Rule(_length_limit(lambda n, limit: js.compare(">=", n, limit), True),
                      "validate.minLength"),
    "isUrlPath": Rule(_pattern("\\A[a-zA-Z0-9_\\\\-]+\\Z"), "validate.isUrlPath"),
    "maximum": Rule(_number_limit("<="), "validate.maximum"),
    "lt": Rule(_number_limit("<"), "validate.lt"),
    "minimum": Rule(_number_limit(">="), "validate.minimum"),
    "gt": Rule(_number_limit(">"), "validate.gt"),
    "isJson": Rule(is_json, "validate.isJson"),
    "isPhoneNumber": Rule(_pattern(PHONE_REGEX), "validate.isPhoneNumber"),
    "isTelNumber": Rule(_pattern(TELEPHONE_REGEX), "validate.isTelNumber"),
    "isZipcode": Rule(_pattern("\\A[0-9]{6}\\Z"), "validate.isZipcode"),
    "isId": Rule(_id_rule(idcard.is_id), "validate.isId"),
    "isId18": Rule(_id_rule(idcard.is_id18), "validate.isId"),
    "isId15": Rule(_id_rule(idcard.is_id15), "validate.isId"),
    "notEmptyString": Rule(not_empty_string, "validate.notEmptyString"),
    "isVariableName": Rule(is_variable_name, "validate.isVariableName"),
    **{f"matchRegexp{n}": Rule(match_regexp, "validate.matchRegexp") for n in range(1, 10)},
    **{name: Rule(check, f"validate.{name}") for name, check in datetimes.DATE_RULES.items()},
}

# Rules amis-core knows but the server cannot reproduce (they parse times with
# moment's lenient format parser). A schema using them is accepted with a
# warning, and the server does not apply them.
BROWSER_ONLY_RULES = frozenset({
    "isTimeSame", "isTimeBefore", "isTimeAfter", "isTimeSameOrBefore", "isTimeSameOrAfter",
    "isTimeBetween",
})

# Rules whose arguments are regexes, checked when a schema is saved.
REGEXP_RULES = frozenset({"matchRegexp", *(f"matchRegexp{n}" for n in range(1, 10))})


def known_rule(name: str) -> bool:
    return name in RULES or name in BROWSER_ONLY_RULES


def check_rule(name: str, scope: Scope, value: Any, args: list | tuple) -> bool:
    """The verdict of rule ``name`` for ``value`` with ``args`` (already resolved)."""
    if name in BROWSER_ONLY_RULES:
        return True
    try:
        rule = RULES[name]
    except KeyError:
        raise UnknownRule(name) from None
    return bool(rule.check(scope, value, *args))


# ----------------------------------------------------------------------------- rule sets

_PLACEHOLDER = re.compile(r"matchRegexp\d*\s*:\s*/[^\n\r\u2028\u2029]*?/[igm]*")
_TOP_LEVEL_COMMA = re.compile(r",(?![^{\[]*[}\]])")


def parse_rules(spec: Any) -> dict[str, Any]:
    """The rule set a ``validations`` value stands for.

    An object is used as is. A string is read as amis-core reads it: rules
    separated by commas (commas inside ``[...]``/``{...}`` and inside
    ``matchRegexp:/.../`` literals do not split), ``name:arg1,arg2`` with each
    argument JSON-decoded when it can be, and regex arguments kept verbatim.
    Quirks included: a space after the comma that precedes a
    ``matchRegexp:/…/`` turns that rule into an unknown one, and a later
    duplicate overrides an earlier one in its original position.
    """
    if not isinstance(spec, str):
        return dict(spec) if isinstance(spec, dict) else {}
    if not spec:
        return {}
    saved: dict[str, str] = {}

    def hide(match: re.Match) -> str:
        key = f"__{len(saved)}"
        saved[key] = match.group(0)
        return key

    pieces = _TOP_LEVEL_COMMA.split(_PLACEHOLDER.sub(hide, spec))
    rules: dict[str, Any] = {}
    for piece in pieces:
        piece = saved[piece] if re.fullmatch(r"__\d+", piece) else piece.strip(js.JS_WHITESPACE)
        name, colon, rest = piece.partition(":")
        if not colon:
            rules[name] = True
            continue
        if name.startswith("matchRegexp"):
            args = [rest.strip(js.JS_WHITESPACE)]
        else:
            args = [_json_or_text(arg) for arg in rest.split(",")]
        rules[name] = args
    return rules


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_js_int)
    except (ValueError, RecursionError):
        return text


def rule_args(setting: Any) -> list:
    """The argument list a rule setting spreads into (a list as is, anything else alone)."""
    return list(setting) if isinstance(setting, list) else [setting]


def is_active(setting: Any) -> bool:
    """Whether a rule setting switches its rule on (falsy settings other than 0 do not)."""
    return js.truthy(setting) or (js.is_number(setting) and setting == 0)


def first_failure(value: Any, scope: Scope, rules: dict[str, Any],
                  messages: dict | None = None) -> tuple[str, str] | None:
    """Run ``rules`` in order on ``value``; ``(rule, message)`` for the first that fails, else None.

    Arguments written as ``"${field}"`` are read from ``scope``. The message is
    ``messages[rule]`` when the form gives one, else the default for the rule
    (the ``validate.array.*`` variant for list values), with ``$1``… replaced
    by the arguments. A regexp that runs out of time (see :mod:`models.amis.jsregex`)
    fails its rule with the ``validate.regexpTimeout`` message; one that is not a regex
    (read from the answers) fails its rule. Raises
    :class:`UnknownRule` for a name AMIS does not know.
    """
    for name, setting in rules.items():
        if not is_active(setting):
            continue
        if not known_rule(name):
            raise UnknownRule(name)
        args = [resolve_pure_variable(arg, scope) for arg in rule_args(setting)]
        try:
            if check_rule(name, scope, value, args):
                continue
        except RegexpTimeout:
            # Not a verdict on the answer, so not the form's own message for the rule.
            return name, message("validate.regexpTimeout")
        except RegexpError:
            # Only a pattern read from the answers (``${field}``) can be broken here: the
            # schema's own are checked when it is saved. amis-core throws; the answer fails.
            pass
        custom = messages.get(name) if isinstance(messages, dict) else None
        key = RULES[name].message_key
        if isinstance(value, list) and name in ("minLength", "maxLength"):
            key = f"validate.array.{name}"
        return name, message(key, args, custom if isinstance(custom, str) else None)
    return None
