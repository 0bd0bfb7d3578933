"""What each form widget guarantees in the browser, checked again on the server.

AMIS's rules (:mod:`models.amis.rules`) are the same on both sides. On top of
them, a widget only ever produces certain values: a select picks among its
options, a checkbox yields its ``trueValue`` or ``falseValue``, an
``input-number`` is a number within ``min``/``max`` at its ``precision``, an
``input-date`` is formatted with its ``valueFormat``. A request that did not
come from the widget can break these, so the server checks them after the
rules pass; they never reject anything the widget itself would send.

Each ``guard_*`` takes the item, the (non-empty) value and the data scope, and
returns ``(message key, args)`` for the first problem or ``None``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

from models.amis import jsvalues as js
from models.amis.expressions import resolve_pure_variable
from models.amis.scope import Scope

Problem = tuple[str, list] | None

TEXT_TYPES = frozenset({"input-text", "input-email", "input-url", "input-password", "textarea"})
OPTION_TYPES = frozenset({"select", "radios", "checkboxes"})
# Types whose value is the selected options joined by a delimiter or listed.
MULTIPLE_ALWAYS = frozenset({"checkboxes", "input-tag"})


# ----------------------------------------------------------------------------- options

def normalize_options(options: Any, value_field: str = "value",
                      label_field: str = "label") -> list[dict]:
    """Options as a flat list of ``{label, value}`` dicts (groups' children included).

    Accepts what AMIS accepts: option objects, plain strings or numbers, or a
    ``{value: label}`` mapping.
    """
    if isinstance(options, dict):
        return [{label_field: label, value_field: value} for value, label in options.items()]
    flat: list[dict] = []
    for option in options if isinstance(options, list) else []:
        if isinstance(option, (str, int, float)) and not isinstance(option, bool):
            flat.append({label_field: option, value_field: option})
        elif isinstance(option, dict):
            if value_field in option:
                flat.append(option)
            flat.extend(normalize_options(option.get("children"), value_field, label_field))
    return flat


def _same_value(a: Any, b: Any) -> bool:
    if js.strict_equals(a, b):
        return True
    primitive = ("string", "number", "boolean")
    return (js.type_of(a) in primitive and js.type_of(b) in primitive
            and js.to_string(a) == js.to_string(b))


def _option_props(item: dict) -> tuple[str, bool, bool, str, bool]:
    value_field = item.get("valueField") or "value"
    join_values = item.get("joinValues", True) is not False
    extract_value = bool(item.get("extractValue", False))
    delimiter = item.get("delimiter") or ","
    multiple = item["type"] in MULTIPLE_ALWAYS or bool(item.get("multiple", False))
    return value_field, join_values, extract_value, delimiter, multiple


def selected_values(item: dict, value: Any) -> list | None:
    """The option values a select-like value stands for; None when its shape is wrong.

    Multiple selections arrive joined with ``delimiter`` (AMIS's default) or,
    with ``joinValues: false``, as a list of values (``extractValue``) or of
    option objects; a single selection is the value itself, or the option
    object when ``joinValues`` is false.
    """
    value_field, join_values, _, delimiter, multiple = _option_props(item)

    def one(entry: Any) -> Any:
        if isinstance(entry, dict):
            return entry.get(value_field, js.UNDEFINED)
        return entry

    if multiple:
        if isinstance(value, list):
            return [one(entry) for entry in value]
        if isinstance(value, str):
            return value.split(delimiter)
        if js.type_of(value) == "number":
            return [value]
        return None
    if isinstance(value, list):
        return None
    if isinstance(value, dict):
        return None if join_values else [one(value)]
    return [value]


def membership_enforced(item: dict) -> bool:
    """Whether the value must be among static options (not for creatable or remote options)."""
    if item.get("creatable") or item.get("source") is not None or item["type"] == "input-tag":
        return False
    return isinstance(item.get("options"), (list, dict))


def _joins_options(pieces: list[str], delimiter: str, allowed: set[str]) -> bool:
    """Whether ``pieces`` (a value split on the delimiter) regroup into option values.

    An option value may itself contain the delimiter ("Paris, France").
    """
    reachable = [True] + [False] * len(pieces)
    for end in range(1, len(pieces) + 1):
        reachable[end] = any(reachable[start] and delimiter.join(pieces[start:end]) in allowed
                             for start in range(end))
    return reachable[-1]


def guard_options(item: dict, value: Any, scope: Scope) -> Problem:
    values = selected_values(item, value)
    if values is None:
        return "validate.type", []
    if not membership_enforced(item):
        return None
    value_field, _, _, delimiter, multiple = _option_props(item)
    options = normalize_options(item.get("options"), value_field)
    allowed = [option.get(value_field) for option in options]
    if multiple and isinstance(value, str):
        texts = {js.to_string(option) for option in allowed if js.type_of(option) != "object"}
        ok = _joins_options(values, delimiter, texts)
        return None if ok else ("validate.option", [value])
    for selected in values:
        if not any(_same_value(selected, option) for option in allowed):
            return "validate.option", [selected]
    return None


def guard_tags(item: dict, value: Any, scope: Scope) -> Problem:
    values = selected_values(item, value)
    if values is None:
        return "validate.type", []
    limit = resolve_pure_variable(item.get("max"), scope)
    if js.is_number(limit) and float(limit).is_integer() and len(values) > limit:
        return "validate.maxTags", [limit]
    length = resolve_pure_variable(item.get("maxTagLength"), scope)
    if js.is_number(length) and float(length).is_integer():
        for tag in values:
            if js.js_length(js.to_string(tag)) > length:
                return "validate.maxTagLength", [length]
    return None


def guard_toggle(item: dict, value: Any, scope: Scope) -> Problem:
    true_value = item.get("trueValue", True)
    false_value = item.get("falseValue", False)
    if _same_value(value, true_value) or _same_value(value, false_value):
        return None
    return "validate.isBoolean", [true_value, false_value]


def guard_text(item: dict, value: Any, scope: Scope) -> Problem:
    return None if isinstance(value, str) or js.is_number(value) else ("validate.type", [])


# ----------------------------------------------------------------------------- numbers

def _number_prop(item: dict, key: str, scope: Scope) -> float | None:
    raw = resolve_pure_variable(item.get(key), scope)
    if js.is_number(raw):
        return js.as_double(raw)
    if isinstance(raw, str) and raw.strip():
        number = js.string_to_number(raw)
        return number if number == number else None
    return None


_NUMERIC = re.compile(r"[-+]?(?:[0-9]*\.)?[0-9]+")


def decimal_places(number: float) -> int:
    """Digits after the point in the shortest form JS prints ``number`` with."""
    exponent = decimal.Decimal(js.number_to_string(number)).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def guard_number(item: dict, value: Any, scope: Scope) -> Problem:
    if item.get("unitOptions"):
        return None  # the value carries a unit ("12px"); the schema check warned
    if js.is_number(value):
        number = js.as_double(value)
    elif isinstance(value, str) and item.get("big") and _NUMERIC.fullmatch(value):
        number = float(value)
    else:
        return "validate.isNumeric", []
    minimum, maximum = _number_prop(item, "min", scope), _number_prop(item, "max", scope)
    if minimum is not None and number < minimum:
        return "validate.minimum", [minimum]
    if maximum is not None and number > maximum:
        return "validate.maximum", [maximum]
    precision = _number_prop(item, "precision", scope)
    if precision is not None and precision >= 0 and decimal_places(number) > precision:
        return "validate.precision", [int(precision)]
    return None


# ----------------------------------------------------------------------------- dates

# moment format tokens the server understands, as regex pieces.
_DATE_TOKENS = {
    "YYYY": r"(?P<YYYY>[0-9]{4})", "MM": r"(?P<MM>[0-9]{2})", "M": r"(?P<M>[0-9]{1,2})",
    "DD": r"(?P<DD>[0-9]{2})", "D": r"(?P<D>[0-9]{1,2})", "HH": r"(?P<HH>[0-9]{2})",
    "H": r"(?P<H>[0-9]{1,2})", "mm": r"(?P<mm>[0-9]{2})", "m": r"(?P<m>[0-9]{1,2})",
    "ss": r"(?P<ss>[0-9]{2})", "s": r"(?P<s>[0-9]{1,2})", "SSS": r"(?P<SSS>[0-9]{3})",
}
_TOKEN_RE = re.compile(r"\[[^\]]*\]|YYYY|SSS|MM|DD|HH|mm|ss|M|D|H|m|s|X|x|[A-Za-z]+|.", re.S)
DEFAULT_DATE_FORMAT = "X"


def date_format(item: dict) -> str:
    fmt = item.get("valueFormat") or item.get("format") or DEFAULT_DATE_FORMAT
    return fmt if isinstance(fmt, str) else DEFAULT_DATE_FORMAT


def date_pattern(fmt: str) -> re.Pattern | None:
    """A strict regex for values formatted with moment format ``fmt``; None if unsupported."""
    if fmt == "X":
        return re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
    if fmt == "x":
        return re.compile(r"-?[0-9]+\Z")
    pieces = []
    for token in _TOKEN_RE.findall(fmt):
        if token.startswith("["):
            pieces.append(re.escape(token[1:-1]))
        elif token in _DATE_TOKENS:
            if f"(?P<{token}>" in "".join(pieces):
                return None
            pieces.append(_DATE_TOKENS[token])
        elif token.isalpha():
            return None
        else:
            pieces.append(re.escape(token))
    return re.compile("".join(pieces) + r"\Z")


def guard_date(item: dict, value: Any, scope: Scope) -> Problem:
    fmt = date_format(item)
    pattern = date_pattern(fmt)
    if pattern is None:
        return None  # a format the server does not parse: the schema check warned
    if fmt in ("X", "x") and js.is_number(value):
        return None
    if not isinstance(value, str):
        return "validate.isDate", []
    match = pattern.match(value)
    if not match:
        return "validate.isDate", []
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    try:
        dt.datetime(parts.get("YYYY", 2000), parts.get("MM", parts.get("M", 1)),
                    parts.get("DD", parts.get("D", 1)), parts.get("HH", parts.get("H", 0)),
                    parts.get("mm", parts.get("m", 0)), parts.get("ss", parts.get("s", 0)))
    except ValueError:
        return "validate.isDate", []
    return None


GUARDS = {
    **{t: guard_text for t in TEXT_TYPES},
    "input-number": guard_number,
    **{t: guard_options for t in OPTION_TYPES},
    "input-tag": guard_tags,
    "checkbox": guard_toggle,
    "switch": guard_toggle,
    "input-date": guard_date,
    "input-datetime": guard_date,
}
