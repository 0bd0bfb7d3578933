"""A safe evaluator for AMIS's ``hiddenOn``/``visibleOn``/``requiredOn`` expressions.

AMIS has two expression styles and decides by the text:

* **formula** – the whole string starts with ``${`` and ends with ``}``
  (``"${age >= 18}"``, ``"${a}${b}"``): a template evaluated by amis-formula.
  A missing name is ``undefined``, reading a property of ``null`` gives
  ``undefined``, ``this`` is an ordinary (usually missing) name, and
  ``true``/``false``/``null``/``undefined`` are keywords in any letter case.
* **legacy JS** – anything else (``"this.age >= 18 && country == 'FR'"``) is run
  by the browser as JavaScript inside ``with (data)``: a name missing from the
  data throws, and so does reading a property of ``null``; AMIS turns any
  throw into ``false``. ``this`` and ``data`` are the data itself.

Both take the same subset here: literals (numbers, '…'/"…" strings, booleans,
null, undefined), names, ``a.b`` and ``a[expr]`` (including ``.length``),
``!``, unary ``+``/``-``, comparisons (``==``, ``===``, ``!=``, ``!==``, ``<``,
``<=``, ``>``, ``>=``), ``&&``, ``||`` and parentheses, with JavaScript's
coercions. Nothing is ever passed to ``eval``. Anything else is an
:class:`ExpressionError` when the schema is saved, so a form never depends on
a construct the server cannot reproduce.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from models.amis import jsvalues as js
from models.amis.jsvalues import UNDEFINED
from models.amis.scope import Scope


class ExpressionError(ValueError):
    """The expression cannot be parsed (or uses something the server does not evaluate)."""


class _Throw(Exception):
    """A JS runtime error (ReferenceError, TypeError): AMIS answers ``false``."""


# ----------------------------------------------------------------------------- tokens

_PUNCTUATORS = ("===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")",
                "[", "]", ".", "+", "-")
_NAME_START = re.compile(r"[A-Za-z_$\u4e00-\u9fa5]")
_NAME = re.compile(r"[A-Za-z_$\u4e00-\u9fa5][A-Za-z0-9_$\u4e00-\u9fa5]*")
_JS_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_FORMULA_NUMBER = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_STRING_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "str", "name", "punct", "end"
    value: Any
    pos: int


def _tokenize(text: str, formula: bool) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in js.JS_WHITESPACE:
            i += 1
            continue
        number = (_FORMULA_NUMBER if formula else _JS_NUMBER).match(text, i)
        if number and not (formula and c == "."):
            literal = number.group(0)
            value = float(int(literal, 16)) if literal[:2] in ("0x", "0X") else float(literal)
            tokens.append(Token("num", value, i))
            i = number.end()
            if i < len(text) and _NAME_START.match(text[i]):
                raise ExpressionError(f"unexpected {text[i]!r} after a number at {i}")
            continue
        if c in "'\"":
            value, i = _string(text, i)
            tokens.append(Token("str", value, i))
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(Token("name", name.group(0), i))
            i = name.end()
            continue
        for punct in _PUNCTUATORS:
            if text.startswith(punct, i):
                tokens.append(Token("punct", punct, i))
                i += len(punct)
                break
        else:
            raise ExpressionError(f"unsupported character {c!r} at {i}")
    tokens.append(Token("end", None, len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c in "\n\r":
            break
        if c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2:i + 6]):
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            if nxt in ("\\", "'", '"', "/"):
                out.append(nxt)
            elif nxt in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[nxt])
            else:
                raise ExpressionError(f"unsupported escape \\{nxt} at {i}")
            i += 2
            continue
        out.append(c)
        i += 1
    raise ExpressionError(f"unterminated string starting at {start}")


# ----------------------------------------------------------------------------- syntax

_KEYWORDS = {"true": True, "false": False, "null": None, "undefined": UNDEFINED}
_EQUALITY = ("==", "!=", "===", "!==")
_RELATIONAL = ("<", "<=", ">", ">=")


class _Parser:
    def __init__(self, text: str, formula: bool):
        self.tokens = _tokenize(text, formula)
        self.formula = formula
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, *values: str) -> Token | None:
        token = self.tokens[self.i]
        if token.kind == "punct" and token.value in values:
            self.i += 1
            return token
        return None

    def parse(self) -> tuple:
        node = self.logical("||")
        token = self.peek()
        if token.kind != "end":
            raise ExpressionError(f"unexpected {token.value!r} at {token.pos}")
        return node

    def logical(self, op: str) -> tuple:
        node = self.logical("&&") if op == "||" else self.binary(_EQUALITY)
        while self.take(op):
            right = self.logical("&&") if op == "||" else self.binary(_EQUALITY)
            node = (op, node, right)
        return node

    def binary(self, ops: tuple[str, ...]) -> tuple:
        operand = (lambda: self.binary(_RELATIONAL)) if ops is _EQUALITY else self.unary
        node = operand()
        while (token := self.take(*ops)) is not None:
            node = (token.value, node, operand())
        return node

    def unary(self) -> tuple:
        token = self.take("!", "-", "+")
        if token:
            return ("unary" + token.value, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: tuple) -> tuple:
        while True:
            if self.take("."):
                token = self.peek()
                if token.kind != "name":
                    raise ExpressionError(f"expected a property name at {token.pos}")
                self.i += 1
                node = ("get", node, ("lit", token.value))
            elif self.take("["):
                key = self.logical("||")
                if not self.take("]"):
                    raise ExpressionError(f"expected ']' at {self.peek().pos}")
                node = ("get", node, key)
            else:
                return node

    def primary(self) -> tuple:
        token = self.peek()
        self.i += 1
        if token.kind in ("num", "str"):
            return ("lit", token.value)
        if token.kind == "name":
            word = token.value.lower() if self.formula else token.value
            if word in _KEYWORDS and (self.formula or word != "undefined"):
                return ("lit", _KEYWORDS[word])
            if token.value == "this" and not self.formula:
                return ("this",)
            return ("name", token.value)
        if token.kind == "punct" and token.value == "(":
            node = self.logical("||")
            if not self.take(")"):
                raise ExpressionError(f"expected ')' at {self.peek().pos}")
            return node
        shown = "end of expression" if token.kind == "end" else repr(token.value)
        raise ExpressionError(f"unexpected {shown} at {token.pos}")


# ----------------------------------------------------------------------------- templates

_TEMPLATE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "/": "/"}
_DOLLAR_NAME = re.compile(r"[a-zA-Z0-9_]+(?:\.[a-zA-Z0-9_]+)*")


def parse_template(text: str) -> list:
    """Split an AMIS template into parts: raw strings and ``("script", node)`` entries.

    ``${expr}`` is an expression, ``$name`` / ``$a.b`` a variable, ``\\$`` a
    literal dollar sign.
    """
    parts: list = []
    buffer: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            buffer.append(nxt if nxt in "$`" else _TEMPLATE_ESCAPES.get(nxt, c + nxt))
            i += 2
            continue
        if c == "$" and text[i + 1:i + 2] == "{":
            end = _script_end(text, i + 2)
            if buffer:
                parts.append("".join(buffer))
                buffer = []
            body = text[i + 2:end]
            if not body.strip():
                raise ExpressionError(f"empty ${{}} at {i}")
            try:
                parts.append(("script", _Parser(body, formula=True).parse()))
            except RecursionError:
                raise ExpressionError("the expression is nested too deeply") from None
            i = end + 1
            continue
        if c == "$" and text[i + 1:i + 2] == "$":
            if buffer:
                parts.append("".join(buffer))
                buffer = []
            parts.append(("script", ("whole",)))
            i += 2
            continue
        if c == "$":
            match = _DOLLAR_NAME.match(text, i + 1)
            if match:
                if buffer:
                    parts.append("".join(buffer))
                    buffer = []
                head, *keys = match.group(0).split(".")
                node: tuple = ("name", head)
                for key in keys:
                    node = ("get", node, ("lit", key))
                parts.append(("script", node))
                i = match.end()
                continue
        buffer.append(c)
        i += 1
    if buffer:
        parts.append("".join(buffer))
    return parts


def _script_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start``.

    Braces inside string literals do not count.
    """
    i, depth = start, 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            _, i = _string(text, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise ExpressionError("unclosed ${")


# ----------------------------------------------------------------------------- public API

@dataclass(frozen=True)
class Expression:
    """A parsed visibility/condition expression; call :meth:`evaluate` with the data."""

    text: str
    formula: bool
    tree: Any

    def evaluate(self, data: Scope | dict) -> bool:
        """The boolean AMIS would compute for ``data``: errors during evaluation mean ``False``."""
        scope = data if isinstance(data, Scope) else Scope(data)
        try:
            if self.formula:
                return js.truthy(render_parts(self.tree, scope))
            return js.truthy(_Evaluator(scope, formula=False).eval(self.tree))
        except _Throw:
            return False


@lru_cache(maxsize=1024)
def parse_expression(text: str) -> Expression:
    """Parse a ``hiddenOn``-style expression.

    Raises :class:`ExpressionError` if it cannot be evaluated here.
    """
    if not isinstance(text, str) or not text:
        raise ExpressionError("an expression must be a non-empty string")
    try:
        if text.startswith("${") and text.endswith("}"):
            return Expression(text, True, tuple(parse_template(text)))
        if "${" in text:
            raise ExpressionError("${...} must wrap the whole expression (as in ${a == 1})")
        if not text.strip():
            raise ExpressionError("the expression is blank")
        return Expression(text, False, _Parser(text, formula=False).parse())
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None


def evaluate(text: str, data: Scope | dict) -> bool:
    """Parse (cached) and evaluate ``text`` against ``data``."""
    return parse_expression(text).evaluate(data)


def render_parts(parts, scope: Scope) -> Any:
    """Evaluate template parts: a single part gives its value, several a joined string."""
    evaluator = _Evaluator(scope, formula=True)
    values = [evaluator.eval(part[1]) if isinstance(part, tuple) else part for part in parts]
    if len(values) == 1:
        return values[0]
    if not values:
        return UNDEFINED
    return "".join("" if v is None or v is UNDEFINED else js.to_string(v) for v in values)


def resolve_pure_variable(arg: Any, scope: Scope) -> Any:
    """A rule argument like ``"${start}"`` or ``"$start"`` read from the data.

    Any other value is returned unchanged.
    """
    if not isinstance(arg, str) or "$" not in arg:
        return arg
    try:
        parts = parse_template(arg)
    except ExpressionError:
        return arg
    if len(parts) == 1 and isinstance(parts[0], tuple):
        return render_parts(parts, scope)
    return arg


def render_message(template: str, args: list, names: dict | None = None) -> str:
    """A validation message with ``$1``, ``$2``… replaced by the rule's arguments.

    Unlike AMIS, substituted values are not HTML-escaped: the API returns plain
    text. A template that does not parse is returned unchanged, as AMIS does.
    """
    if "$" not in template:
        return template
    try:
        parts = parse_template(template)
    except ExpressionError:
        return template
    data = {**(names or {}), **{str(i): arg for i, arg in enumerate([""] + list(args))}}
    evaluator = _Evaluator(Scope(data), formula=True)  # formula mode never throws
    out = []
    for part in parts:
        value = evaluator.eval(part[1]) if isinstance(part, tuple) else part
        out.append("" if value is None or value is UNDEFINED else js.to_string(value))
    return "".join(out)


# ----------------------------------------------------------------------------- evaluation

_GLOBALS = {"undefined": UNDEFINED, "NaN": math.nan, "Infinity": math.inf}


class _Evaluator:
    def __init__(self, scope: Scope, formula: bool):
        self.scope = scope
        self.formula = formula

    def eval(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            return self.lookup(node[1])
        if kind in ("this", "whole"):
            return self.scope
        if kind == "get":
            return self.member(self.eval(node[1]), self.eval(node[2]))
        if kind == "unary!":
            return not js.truthy(self.eval(node[1]))
        if kind == "unary-":
            return -js.to_number(self.eval(node[1]))
        if kind == "unary+":
            return js.to_number(self.eval(node[1]))
        if kind == "&&":
            left = self.eval(node[1])
            return self.eval(node[2]) if js.truthy(left) else left
        if kind == "||":
            left = self.eval(node[1])
            return left if js.truthy(left) else self.eval(node[2])
        left, right = self.eval(node[1]), self.eval(node[2])
        if kind == "==":
            return js.loose_equals(left, right)
        if kind == "!=":
            return not js.loose_equals(left, right)
        if kind == "===":
            return js.strict_equals(left, right)
        if kind == "!==":
            return not js.strict_equals(left, right)
        return js.compare(kind, left, right)

    def lookup(self, name: str) -> Any:
        if self.scope.has(name):
            return self.scope.get(name)
        if self.formula:
            return UNDEFINED
        if name == "data":
            return self.scope
        if name in _GLOBALS:
            return _GLOBALS[name]
        raise _Throw(f"{name} is not defined")

    def member(self, host: Any, key: Any) -> Any:
        if host is UNDEFINED or host is None:
            if self.formula:
                return UNDEFINED
            raise _Throw("cannot read a property of null or undefined")
        name = js.to_string(key)
        if isinstance(host, Scope):
            return host.get(name)
        if isinstance(host, dict):
            return host.get(name, UNDEFINED)
        if isinstance(host, (list, str)):
            items = js.utf16(host) if isinstance(host, str) else host
            if name == "length":
                return len(items)
            if name.isdigit() and js.number_to_string(int(name)) == name and int(name) < len(items):
                return items[int(name)]
        return UNDEFINED
