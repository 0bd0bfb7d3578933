"""JavaScript regular expressions, run with the ``regex`` engine under a time budget.

Forms carry regexes written for the browser (``matchRegexp: "/^[a-z]+$/i"``). To
give the browser's verdict the server translates the JS pattern into an
equivalent Python one: JS ``\\d``/``\\w``/``\\b`` are ASCII-only, ``.`` stops at
any line terminator, ``$`` is the very end, ``\\s`` is JS's whitespace set,
unknown escapes like ``\\a`` are the letter itself, a ``{`` that does not start
a quantifier is literal, ``(?<n>…)`` is a named group, ``[^]`` matches
anything and ``[]`` nothing. Without the ``u`` flag the subject is matched as
UTF-16 code units (see :func:`jsvalues.utf16`) and ``i`` folds case the JS way,
by upper-casing and never mapping a non-ASCII character onto an ASCII one
(Python's ``re.I`` would let ``ſ`` match ``s`` and ``K`` match ``k``); the
translation spells the folded classes out instead of using ``re.I``.

Known differences, documented in the golden tests: a back-reference to a group
that did not take part matches "" in JS but fails in Python, or refers to a group
still open; variable-width look-behind is valid JS but not valid Python (so it
is reported as a malformed regexp when the schema is saved); with ``i`` a
back-reference compares with the engine's case folding; case tables follow
Python's Unicode version (with ``iu``, the ``regex`` package's), which may
trail the browser's by a release.

The translation is compiled with ``re`` (so the server accepts exactly the
patterns ``re`` accepts, as the golden tests hold it to) and run with the
``regex`` package in its ``re``-compatible ``VERSION0`` mode, which can stop a
match: a form author's pattern such as ``/^(a|a)+$/`` backtracks exponentially
on ``"aaaa…!"``, and an answer must not hold a worker. A match that runs out of
time raises :class:`RegexpTimeout`; :func:`time_budget` also caps the total a
block (one submission's review) may spend, however many matches it runs.
"""

from __future__ import annotations

import re
import time
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import regex

from models.amis.jsvalues import JS_WHITESPACE, WS_CLASS, to_string, utf16


class RegexpError(ValueError):
    """The pattern is not a valid JS regular expression (or cannot run on the server)."""


class RegexpTimeout(Exception):
    """A pattern could not decide a subject within its time budget."""


# A sane pattern decides a form answer in microseconds; a pathological one
# would take minutes, so a match gets this long (seconds) and no more.
MATCH_TIMEOUT = 0.05

# What one submission's review may spend on matches in all (seconds): a combo
# with thousands of rows must not turn MATCH_TIMEOUT into minutes.
REVIEW_TIMEOUT = 0.5


@dataclass
class _Budget:
    left: float


_BUDGET: ContextVar[_Budget | None] = ContextVar("regexp_budget", default=None)


@contextmanager
def time_budget(seconds: float = REVIEW_TIMEOUT) -> Iterator[None]:
    """Let the matches run inside the block take ``seconds`` in all."""
    token = _BUDGET.set(_Budget(seconds))
    try:
        yield
    finally:
        _BUDGET.reset(token)


# The slash form AMIS accepts in a rule argument: "/body/flags", optionally prefixed.
_SLASH_FORM = re.compile(r"(?:matchRegexp:)?/([^\n\r\u2028\u2029]+)/([gimuy]*)\Z")

_LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"
_WORD = "A-Za-z0-9_"
_WHITESPACE_RANGES = [(ord(c), ord(c)) for c in JS_WHITESPACE]
_CLASS_ESCAPES = {
    "d": [(0x30, 0x39)],
    "w": [(0x41, 0x5A), (0x61, 0x7A), (0x30, 0x39), (0x5F, 0x5F)],
    "s": _WHITESPACE_RANGES,
}
_ATOM_ESCAPES = {
    "d": "[0-9]", "D": "[^0-9]", "w": f"[{_WORD}]", "W": f"[^{_WORD}]",
    "s": f"[{WS_CLASS}]", "S": f"[^{WS_CLASS}]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
_CONTROL_CHARS = {"n": "\n", "r": "\r", "t": "\t", "v": "\x0b", "f": "\x0c"}
_QUANTIFIER = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")


@dataclass(frozen=True)
class JsRegExp:
    """A compiled JS regex: ``test(subject)`` behaves like ``RegExp.prototype.test``."""

    source: str
    flags: str
    compiled: regex.Pattern

    def test(self, subject: str) -> bool:
        """Raises :class:`RegexpTimeout` when the match runs out of time."""
        text = subject if "u" in self.flags else utf16(subject)
        run = self.compiled.match if "y" in self.flags else self.compiled.search
        budget = _BUDGET.get()
        timeout = MATCH_TIMEOUT if budget is None else min(MATCH_TIMEOUT, budget.left)
        if timeout <= 0:  # regex reads a negative timeout as "none"
            raise RegexpTimeout(self.source)
        start = time.perf_counter()
        try:
            return run(text, timeout=timeout) is not None
        except TimeoutError:
            raise RegexpTimeout(self.source) from None
        finally:
            if budget is not None:
                budget.left -= time.perf_counter() - start


def rule_regexp(arg) -> JsRegExp:
    """The regex a ``matchRegexp`` argument denotes, as AMIS builds it.

    ``"/body/flags"`` (optionally ``"matchRegexp:/body/flags"``) is a regex
    literal (any value whose ``String()`` has that form); any other string is
    a pattern without flags; any other value yields a regex matching only "".
    """
    match = _SLASH_FORM.match(to_string(arg))
    if match:
        return compile_js(match.group(1), match.group(2))
    if isinstance(arg, str):
        return compile_js(arg, "")
    return compile_js("^$", "")


@lru_cache(maxsize=512)
def compile_js(source: str, flags: str = "") -> JsRegExp:
    """Compile JS regex ``source`` with ``flags``.

    Raises :class:`RegexpError` if JS or Python rejects it.
    """
    if len(set(flags)) != len(flags) or set(flags) - set("gimsuy"):
        raise RegexpError(f"invalid flags {flags!r}")
    python = _Translator(source, flags).translate()
    fold = "i" in flags and "u" in flags
    try:
        # regex also takes what re refuses (variable-width look-behind, a group
        # name used twice…); re's verdict keeps the accepted patterns the tested ones.
        re.compile(python, re.IGNORECASE if fold else 0)
        compiled = regex.compile(python, (regex.IGNORECASE if fold else 0) | regex.VERSION0)
    except (re.error, regex.error, OverflowError, RecursionError) as exc:
        raise RegexpError(str(exc)) from None
    return JsRegExp(source, flags, compiled)


def _char(char: str) -> str:
    """A literal character in Python regex syntax (also safe inside a class)."""
    if char.isascii() and (char.isalnum() or char == "_"):
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _has_case(char: str) -> bool:
    return char.lower() != char or char.upper() != char


class _Translator:
    def __init__(self, source: str, flags: str):
        self.unicode = "u" in flags
        self.multiline = "m" in flags
        self.dotall = "s" in flags
        # JS folds case itself only without "u"; with "u" it uses Unicode's simple case
        # folding, as regex.IGNORECASE does (re.I would also let "ı" match "i").
        self.fold = "i" in flags and not self.unicode
        self.source = source if self.unicode else utf16(source)
        self.groups = self._count_groups()
        self.named = bool(re.search(r"\(\?<(?![=!])", self.source))
        self.group_stack: list[int | None] = []  # open groups: their number, None if not capturing
        self.closed: set[int] = set()
        self.names: dict[str, int] = {}
        self.opened = 0

    def _count_groups(self) -> int:
        source, count, i, in_class = self.source, 0, 0, False
        while i < len(source):
            c = source[i]
            if c == "\\":
                i += 2
                continue
            if in_class:
                in_class = c != "]"
            elif c == "[":
                in_class = True
            elif c == "(" and (source[i + 1:i + 2] != "?" or
                               (source[i + 2:i + 3] == "<" and source[i + 3:i + 4] not in "=!")):
                count += 1
            i += 1
        return count

    # ------------------------------------------------------------------ atoms

    def literal(self, char: str) -> str:
        if not self.fold or ord(char) not in _folding_table()[1]:
            return _char(char)
        return self.build_class([(ord(char), ord(char))], negated=False)

    def translate(self) -> str:
        source, out = self.source, []
        i, depth = 0, 0
        quantifiable = False  # an atom was just written, so a quantifier may follow
        lazy_ok = False  # a quantifier was just written, so "?" makes it lazy
        while i < len(source):
            c = source[i]
            if c == "\\":
                text, i, char = self.escape(i, in_class=False)
                out.append(self.literal(char) if char is not None else text)
                quantifiable, lazy_ok = text not in (_ATOM_ESCAPES["b"], _ATOM_ESCAPES["B"]), False
                continue
            if c == "[":
                text, i = self.char_class(i)
                out.append(text)
                quantifiable, lazy_ok = True, False
                continue
            if c == "(":
                text = self.open_group_source(i)
                out.append(self.open_group(i))
                i += len(text)
                capturing = text == "(" or text not in ("(?:", "(?=", "(?!", "(?<=", "(?<!")
                if capturing:
                    self.opened += 1
                    if text != "(":
                        self.names[text[3:-1]] = self.opened
                self.group_stack.append(self.opened if capturing else None)
                depth += 1
                quantifiable, lazy_ok = False, False
                continue
            if c == ")":
                if depth == 0:
                    raise RegexpError("unmatched ')'")
                depth -= 1
                number = self.group_stack.pop()
                if number is not None:
                    self.closed.add(number)
                out.append(")")
                i += 1
                quantifiable, lazy_ok = True, False
                continue
            quantifier = _QUANTIFIER.match(source, i) if c == "{" else None
            if c in "*+?" or quantifier:
                if c == "?" and lazy_ok:
                    out.append("?")
                    i += 1
                    quantifiable, lazy_ok = False, False
                    continue
                if not quantifiable:
                    raise RegexpError("nothing to repeat")
                text = quantifier.group(0) if quantifier else c
                if quantifier:
                    low, _, high = text[1:-1].partition(",")
                    if high and int(high) < int(low):
                        raise RegexpError("numbers out of order in {} quantifier")
                out.append(text)
                i += len(text)
                quantifiable, lazy_ok = False, True
                continue
            if c == ".":
                out.append("(?s:.)" if self.dotall else f"[^{_LINE_TERMINATORS}]")
            elif c == "$":
                out.append(f"(?=[{_LINE_TERMINATORS}]|\\Z)" if self.multiline else "\\Z")
            elif c == "^":
                out.append(f"(?:(?<=[{_LINE_TERMINATORS}])|\\A)" if self.multiline else "\\A")
            elif c == "|":
                out.append("|")
            elif c in "{}]" and self.unicode:
                raise RegexpError(f"lone {c!r}")
            else:
                out.append(self.literal(c))
            i += 1
            quantifiable, lazy_ok = c not in "^$|", False
        if depth:
            raise RegexpError("missing ')'")
        return "".join(out)

    def open_group_source(self, i: int) -> str:
        source = self.source
        for prefix in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
            if source.startswith(prefix, i):
                return prefix
        if source.startswith("(?<", i):
            end = source.find(">", i)
            if end < 0:
                raise RegexpError("invalid capture group name")
            return source[i:end + 1]
        if source.startswith("(?", i):
            raise RegexpError("invalid group")
        return "("

    def open_group(self, i: int) -> str:
        text = self.open_group_source(i)
        if text.startswith("(?<") and text not in ("(?<=", "(?<!"):
            name = text[3:-1]
            if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", name):
                raise RegexpError("invalid capture group name")
            return f"(?P<{name.replace('$', '_S_')}>"
        return text

    def escape(self, i: int, *, in_class: bool) -> tuple[str, int, str | None]:
        """Translate the escape at ``i``: (python text, next index, the one character or None)."""
        source = self.source
        if i + 1 >= len(source):
            raise RegexpError("\\ at end of pattern")
        c = source[i + 1]
        if in_class and c in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[c], i + 2, None  # type: ignore[return-value]
        if in_class and c in "DWS":
            raise RegexpError(f"\\{c} inside a character class is not supported on the server")
        if not in_class and c in _ATOM_ESCAPES:
            return _ATOM_ESCAPES[c], i + 2, None
        if in_class and c == "b":
            return "", i + 2, "\x08"
        if c in _CONTROL_CHARS:
            return "", i + 2, _CONTROL_CHARS[c]
        if c == "c":
            nxt = source[i + 2:i + 3]
            if nxt.isascii() and nxt.isalpha():
                return "", i + 3, chr(ord(nxt) % 32)
            return "", i + 1, "\\"  # "\c" without a letter: a literal backslash, then "c"
        if c == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", source[i + 2:i + 4]):
            return "", i + 4, chr(int(source[i + 2:i + 4], 16))
        if c == "u":
            if self.unicode and source[i + 2:i + 3] == "{":
                end = source.find("}", i)
                digits = source[i + 3:end] if end > 0 else ""
                if not re.fullmatch(r"[0-9A-Fa-f]+", digits) or int(digits, 16) > 0x10FFFF:
                    raise RegexpError("invalid unicode escape")
                return "", end + 1, chr(int(digits, 16))
            if re.fullmatch(r"[0-9A-Fa-f]{4}", source[i + 2:i + 6]):
                return "", i + 6, chr(int(source[i + 2:i + 6], 16))
            if self.unicode:
                raise RegexpError("invalid unicode escape")
        if c == "k" and not in_class and (self.named or self.unicode):
            end = source.find(">", i)
            name = source[i + 3:end] if source[i + 2:i + 3] == "<" and end > 0 else ""
            if name not in self.names and not re.search(rf"\(\?<{re.escape(name)}>", source):
                raise RegexpError("invalid named reference")
            return self.backreference(self.names.get(name)), end + 1, None
        if c in "pP" and self.unicode:
            end = source.find("}", i)
            if source[i + 2:i + 3] != "{" or end < 0:
                raise RegexpError("invalid property name")
            ranges = _property_ranges(source[i + 3:end], negated=c == "P")
            text = ranges if in_class else _class_text(ranges, False)
            return text, end + 1, None  # type: ignore[return-value]
        if c.isascii() and c.isdigit():
            return self.numeric_escape(i, in_class)
        if self.unicode and c not in "^$\\.*+?()[]{}|/-":
            raise RegexpError("invalid escape")
        return "", i + 2, c

    def backreference(self, number: int | None) -> str:
        """JS back-references match "" until their group has matched (also forward or open ones)."""
        if number is None or number not in self.closed:
            return "(?:)"
        ref = f"\\{number}"
        return f"(?({number}){'(?i:' + ref + ')' if self.fold else ref}|)"

    def numeric_escape(self, i: int, in_class: bool) -> tuple[str, int, str | None]:
        source = self.source
        j = i + 1
        while j < len(source) and source[j].isascii() and source[j].isdigit():
            j += 1
        if source[i + 1] == "0" and j == i + 2:
            return "", i + 2, "\x00"
        if not in_class and source[i + 1] != "0" and int(source[i + 1:j]) <= self.groups:
            return self.backreference(int(source[i + 1:j])), j, None
        if self.unicode:
            raise RegexpError("invalid escape")
        # Annex B: a legacy octal escape (value up to 0o377), else the digit itself.
        octal = re.match(r"[0-3][0-7]{0,2}|[4-7][0-7]?", source[i + 1:])
        if octal:
            return "", i + 1 + len(octal.group(0)), chr(int(octal.group(0), 8))
        return "", i + 2, source[i + 1]

    # ------------------------------------------------------------------ classes

    def char_class(self, i: int) -> tuple[str, int]:
        source = self.source
        j = i + 1
        negated = source[j:j + 1] == "^"
        if negated:
            j += 1
        if source[j:j + 1] == "]":
            return ("(?s:.)" if negated else "(?!)"), j + 1
        ranges: list[tuple[int, int]] = []
        while True:
            if j >= len(source):
                raise RegexpError("missing ']'")
            c = source[j]
            if c == "]":
                break
            text, j, char = self.escape(j, in_class=True) if c == "\\" else ("", j + 1, c)
            if char is None:
                ranges += text  # a class escape: its ranges
                continue
            if source[j:j + 1] == "-" and source[j + 1:j + 2] not in ("]", ""):
                k = j + 1
                end_text, k, end_char = (self.escape(k, in_class=True) if source[k] == "\\"
                                         else ("", k + 1, source[k]))
                if end_char is None:
                    if self.unicode:
                        raise RegexpError("invalid character class range")
                    # Annex B: [a-\d] is "a", "-" and the digits.
                    ranges += [(ord(char), ord(char)), (ord("-"), ord("-"))] + list(end_text)
                elif ord(end_char) < ord(char):
                    raise RegexpError("range out of order in character class")
                else:
                    ranges.append((ord(char), ord(end_char)))
                j = k
                continue
            ranges.append((ord(char), ord(char)))
        return self.build_class(ranges, negated), j + 1

    def build_class(self, ranges: list[tuple[int, int]], negated: bool) -> str:
        if self.fold:
            ranges = _fold_ranges(ranges)
        return _class_text(ranges, negated)


def _class_text(ranges: list[tuple[int, int]], negated: bool) -> str:
    if not ranges:
        return "(?s:.)" if negated else "(?!)"
    body = "".join(_char(chr(lo)) if lo == hi else f"{_char(chr(lo))}-{_char(chr(hi))}"
                   for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"


_CATEGORY_NAMES = {
    "Letter": "L", "Cased_Letter": "LC", "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll",
    "Titlecase_Letter": "Lt", "Modifier_Letter": "Lm", "Other_Letter": "Lo", "Mark": "M",
    "Combining_Mark": "M", "Nonspacing_Mark": "Mn", "Spacing_Mark": "Mc", "Enclosing_Mark": "Me",
    "Number": "N", "Decimal_Number": "Nd", "digit": "Nd", "Letter_Number": "Nl",
    "Other_Number": "No",
    "Punctuation": "P", "punct": "P", "Connector_Punctuation": "Pc", "Dash_Punctuation": "Pd",
    "Open_Punctuation": "Ps", "Close_Punctuation": "Pe", "Initial_Punctuation": "Pi",
    "Final_Punctuation": "Pf", "Other_Punctuation": "Po", "Symbol": "S", "Math_Symbol": "Sm",
    "Currency_Symbol": "Sc", "Modifier_Symbol": "Sk", "Other_Symbol": "So", "Separator": "Z",
    "Space_Separator": "Zs", "Line_Separator": "Zl", "Paragraph_Separator": "Zp", "Other": "C",
    "Control": "Cc", "cntrl": "Cc", "Format": "Cf", "Surrogate": "Cs", "Private_Use": "Co",
    "Unassigned": "Cn",
}


@lru_cache(maxsize=64)
def _property_ranges(name: str, negated: bool) -> list[tuple[int, int]]:
    """Code point ranges of a ``\\p{General_Category}`` (the only properties supported here)."""
    if name.startswith(("General_Category=", "gc=")):
        name = name.split("=", 1)[1]
    category = _CATEGORY_NAMES.get(name, name)
    if category not in set(_CATEGORY_NAMES.values()) | {"L", "M", "N", "P", "S", "Z", "C"}:
        raise RegexpError(f"\\p{{{name}}} is not supported on the server (general categories only)")
    cased = ("Lu", "Ll", "Lt")

    def matches(code: int) -> bool:
        got = unicodedata.category(chr(code))
        hit = got in cased if category == "LC" else got.startswith(category)
        return hit != negated

    ranges: list[tuple[int, int]] = []
    start = None
    for code in range(0x110000 + 1):
        if code <= 0x10FFFF and matches(code):
            if start is None:
                start = code
        elif start is not None:
            ranges.append((start, code - 1))
            start = None
    return ranges


def _canonical(char: str) -> str:
    """JS's case canonicalisation for ``i`` without ``u``.

    Simple upper case, but never from a non-ASCII character to an ASCII one.
    """
    upper = char.upper()
    if len(upper) != 1 or (ord(char) > 0x7F and ord(upper) <= 0x7F):
        return char
    return upper


@lru_cache(maxsize=1)
def _folding_table() -> tuple[dict[int, int], dict[int, list[int]]]:
    """For the code units whose case matters: unit -> canonical, and unit -> all its equivalents."""
    canon: dict[int, int] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        target = ord(_canonical(chr(code)))
        if target != code:
            canon[code] = target
    groups: dict[int, list[int]] = {}
    for code, target in canon.items():
        groups.setdefault(target, [target]).append(code)
    members = {code: groups[target] for code, target in canon.items()}
    members.update(groups)
    return canon, members


def _fold_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The code units that match ``ranges`` case-insensitively the JS way.

    A unit matches when its canonical form is the canonical form of a member,
    so each member with a case counterpart brings in all units sharing its
    canonical form.
    """
    _, members = _folding_table()

    def inside(code: int) -> bool:
        return any(lo <= code <= hi for lo, hi in ranges)

    extra: set[int] = set()
    for code, equivalents in members.items():
        if inside(code):
            extra.update(e for e in equivalents if not inside(e))
    return list(ranges) + [(code, code) for code in sorted(extra)]
