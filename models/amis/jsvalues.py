"""JavaScript value semantics over JSON-decoded Python values.

AMIS runs its validators in the browser, so "is this value valid" depends on
JavaScript's coercions: ``String(x)``, ``Number(x)``, ``parseFloat``, ``==``,
``<`` and UTF-16 string lengths. The server must give the same verdict, so the
rules call these helpers instead of Python's own conversions (``str(1.0)`` is
``"1.0"`` but ``String(1.0)`` is ``"1"``; ``len("😀")`` is 1 but its JS
``length`` is 2).

Values are what ``json.loads`` returns: ``None`` is JS ``null``, :data:`UNDEFINED`
stands for a missing key, ``bool`` is checked before ``int`` (``True`` is an
``int`` in Python), and every number behaves as a double.
"""

from __future__ import annotations

import math
import re
from typing import Any


class _Undefined:
    """JS ``undefined``: a missing key, distinct from ``null``."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

# WhiteSpace and LineTerminator code points (what String.prototype.trim and \s use).
JS_WHITESPACE = (
    "\t\n\u000b\u000c\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_WS_CLASS = "".join(f"\\u{ord(c):04x}" for c in JS_WHITESPACE)
WS_CLASS = _WS_CLASS  # for building regexes: "[" + WS_CLASS + "]"

_DECIMAL_LITERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}


def type_of(value: Any) -> str:
    """The JS ``typeof``-like kind of a JSON value ("null" for None, "object" for dict/list)."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_double(value: int | float) -> float:
    """A JSON number as JS holds it (a double); huge integers overflow to infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number_to_string(value: int | float) -> str:
    """``Number.prototype.toString()`` for a double (shortest round-trip digits)."""
    x = as_double(value)
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x < 0:
        return "-" + number_to_string(-x)
    mantissa, _, exp = repr(x).partition("e")
    int_part, _, frac = mantissa.partition(".")
    digits = (int_part + frac).lstrip("0")
    exponent = (int(exp) if exp else 0) - len(frac)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = exponent + k  # value = 0.digits × 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


def to_string(value: Any) -> str:
    """``String(value)``."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return number_to_string(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if item is None or item is UNDEFINED else to_string(item)
                        for item in value)
    return "[object Object]"


def to_primitive(value: Any) -> Any:
    """ToPrimitive for the objects JSON can hold: arrays join, objects stringify."""
    if isinstance(value, (list, dict)) or type_of(value) == "object":
        return to_string(value)
    return value


def string_to_number(text: str) -> float:
    """``Number(text)`` for a string."""
    s = text.strip(JS_WHITESPACE)
    if not s:
        return 0.0
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    radix = _RADIX.get(s[:2])
    if radix:
        try:
            return as_double(int(s[2:], radix)) if "_" not in s else math.nan
        except ValueError:
            return math.nan
    if _DECIMAL_LITERAL.match(s):
        return float(s)
    return math.nan


def to_number(value: Any) -> float:
    """``Number(value)``."""
    if value is UNDEFINED:
        return math.nan
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if is_number(value):
        return as_double(value)
    if isinstance(value, str):
        return string_to_number(value)
    return to_number(to_primitive(value))


def parse_float(value: Any) -> float:
    """``parseFloat(value)``: the longest numeric prefix after leading whitespace."""
    text = to_string(value).lstrip(JS_WHITESPACE)
    match = _FLOAT_PREFIX.match(text)
    if not match:
        return math.nan
    literal = match.group(0)
    if literal.endswith("Infinity"):
        return -math.inf if literal.startswith("-") else math.inf
    return float(literal)


def truthy(value: Any) -> bool:
    """JS ToBoolean: only undefined, null, false, 0, NaN and "" are false."""
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        x = as_double(value)
        return not (x == 0 or x != x)
    if isinstance(value, str):
        return value != ""
    return True


def strict_equals(a: Any, b: Any) -> bool:
    """``a === b`` (objects compare by identity, as in JS)."""
    ta, tb = type_of(a), type_of(b)
    if ta != tb:
        return False
    if ta == "number":
        return as_double(a) == as_double(b)
    if ta in ("string", "boolean"):
        return a == b
    if ta in ("undefined", "null"):
        return True
    return a is b


def loose_equals(a: Any, b: Any) -> bool:
    """``a == b`` with JS's coercions."""
    ta, tb = type_of(a), type_of(b)
    if ta == tb:
        return strict_equals(a, b)
    nullish = ("undefined", "null")
    if ta in nullish or tb in nullish:
        return ta in nullish and tb in nullish
    if ta == "number" and tb == "string":
        return as_double(a) == string_to_number(b)
    if ta == "string" and tb == "number":
        return string_to_number(a) == as_double(b)
    if ta == "boolean":
        return loose_equals(to_number(a), b)
    if tb == "boolean":
        return loose_equals(a, to_number(b))
    if ta == "object" and tb in ("number", "string"):
        return loose_equals(to_primitive(a), b)
    if tb == "object" and ta in ("number", "string"):
        return loose_equals(a, to_primitive(b))
    return False


def utf16(text: str) -> str:
    """``text`` with astral characters split into surrogate pairs, as JS stores strings.

    Regexes without the ``u`` flag and ``.length`` see these code units, so the
    server matches and measures this form.
    """
    if all(ord(c) < 0x10000 for c in text):
        return text
    out = []
    for c in text:
        cp = ord(c)
        if cp < 0x10000:
            out.append(c)
        else:
            cp -= 0x10000
            out.append(chr(0xD800 + (cp >> 10)) + chr(0xDC00 + (cp & 0x3FF)))
    return "".join(out)


def js_length(text: str) -> int:
    """``text.length`` in UTF-16 code units."""
    return len(utf16(text))


def less_than(a: Any, b: Any) -> bool | None:
    """Abstract relational comparison ``a < b``; ``None`` when undefined (a NaN was involved)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return _units(pa) < _units(pb)
    na, nb = to_number(pa), to_number(pb)
    if na != na or nb != nb:
        return None
    return na < nb


def _units(text: str) -> bytes:
    """Big-endian UTF-16 bytes: they sort like JS compares strings (by code unit)."""
    return utf16(text).encode("utf-16-be", "surrogatepass")


def compare(op: str, a: Any, b: Any) -> bool:
    """``a op b`` for ``<``, ``<=``, ``>``, ``>=`` with JS semantics."""
    if op == "<":
        return less_than(a, b) is True
    if op == ">":
        return less_than(b, a) is True
    if op == "<=":
        result = less_than(b, a)
        return result is False
    if op == ">=":
        result = less_than(a, b)
        return result is False
    raise ValueError(op)


def stringify(value: Any) -> str | None:
    """``JSON.stringify(value)``; ``None`` where JS returns ``undefined``."""
    if value is UNDEFINED:
        return None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        x = as_double(value)
        return "null" if x != x or math.isinf(x) else number_to_string(x)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ",".join(stringify(v) or "null" for v in value) + "]"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            text = stringify(item)
            if text is not None:
                parts.append(_quote(str(key)) + ":" + text)
        return "{" + ",".join(parts) + "}"
    return None


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
            "\r": "\\r", "\t": "\\t"}


def _quote(text: str) -> str:
    """A JSON string literal as well-formed ``JSON.stringify`` writes it."""
    units = utf16(text)
    out = ['"']
    i = 0
    while i < len(units):
        c = units[i]
        code = ord(c)
        pair = units[i:i + 2]
        if 0xD800 <= code <= 0xDBFF and len(pair) == 2 and 0xDC00 <= ord(pair[1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + ord(pair[1]) - 0xDC00))
            i += 2
            continue
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(c)
        i += 1
    return "".join(out) + '"'


def value_to_string(value: Any) -> str:
    """How AMIS's length rules see a value: strings as is, null/undefined as "", else JSON."""
    if value is UNDEFINED or value is None:
        return ""
    if isinstance(value, str):
        return value
    return stringify(value) or ""
