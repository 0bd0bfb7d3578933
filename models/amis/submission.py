"""Checking and cleaning what a registration form submits.

The walk mirrors the browser: an item hidden by a ``hiddenOn``/``visibleOn``
expression, or inside a hidden container, is not validated and its value is
not kept. (A form item with the static ``hidden: true`` or ``visible: false``
is hidden from view but, in AMIS, still validated and submitted: amis-core
keeps that long-standing behaviour deliberately, so the server does too; see
:func:`is_visible`.) A visible field's AMIS rules run in
AMIS's order and the first failure is its error; when they pass, the widget
guards of :mod:`models.amis.widgets` run. Each field gets at most one
message, keyed by its full dotted name; a combo row's fields are keyed
``guests.0.name``.

The cleaned data keeps exactly the values of visible, known fields, nested
the way AMIS submits them (``person.name`` becomes ``{"person": {"name": …}}``).
Everything else (keys no field owns, values of hidden fields) is dropped and
listed in :attr:`SubmissionReview.dropped`, so the caller can log it; it is
not an error, since AMIS forms routinely submit extra data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.amis import jsvalues as js
from models.amis.jsregex import time_budget
from models.amis.jsvalues import UNDEFINED
from models.amis.messages import message
from models.amis.rules import first_failure
from models.amis.schema import STATIC_HIDING_TYPES, CompiledForm, Node
from models.amis.scope import Scope
from models.amis.widgets import GUARDS


@dataclass
class SubmissionReview:
    """The outcome of checking a submission against its form."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    cleaned: dict = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    #: What failed for each field in ``errors``: an AMIS rule name ("isRequired"),
    #: or the message key of a server-side widget check ("validate.option").
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def review(form: CompiledForm, data: Any) -> SubmissionReview:
    """Validate and clean ``data`` against a compiled form."""
    result = SubmissionReview()
    if not isinstance(data, dict):
        result.errors[""] = ["The submission must be a JSON object."]
        return result
    with time_budget():
        _Walk(result).nodes(form.nodes, Scope(data), "", result.cleaned)
    result.dropped = _dropped(data, result.cleaned, "")
    return result


def is_visible(node: Node, scope: Scope) -> bool:
    """Whether AMIS renders (and so validates) ``node`` for this data.

    ``hiddenOn``/``visibleOn`` hide any item. The static ``hidden: true`` /
    ``visible: false`` flags only hide a group or a grid: a form item (and a
    fieldset) carrying them is still validated and submitted, which amis-core
    keeps doing on purpose. Grid columns cannot be hidden at all.
    """
    item = node.item
    static_hidden = item.get("hidden") is True or item.get("visible") is False
    if static_hidden and node.type in STATIC_HIDING_TYPES:
        return False
    hidden_on, visible_on = node.conditions.get("hiddenOn"), node.conditions.get("visibleOn")
    if hidden_on is not None and hidden_on.evaluate(scope):
        return False
    return not (visible_on is not None and not visible_on.evaluate(scope))


def _blank(value: Any) -> bool:
    return value is UNDEFINED or value is None or (isinstance(value, str) and value == "")


def _set_path(out: dict, name: str, value: Any) -> None:
    *parents, leaf = name.split(".")
    for key in parents:
        nested = out.get(key)
        if not isinstance(nested, dict):
            nested = out[key] = {}
        out = nested
    out[leaf] = value


class _Walk:
    def __init__(self, result: SubmissionReview):
        self.result = result

    def fail(self, where: str, what: str, text: str) -> None:
        if where not in self.result.errors:
            self.result.errors[where] = [text]
            self.result.failed[where] = what

    def nodes(self, nodes: list[Node], scope: Scope, prefix: str, out: dict) -> None:
        for node in nodes:
            if node.kind == "display" or not is_visible(node, scope):
                continue
            if node.kind == "container":
                self.nodes(node.children, scope, prefix, out)
                continue
            value = scope.get_path(node.name, own=True)
            if node.kind == "combo":
                value = self.combo(node, value, scope, prefix)
            elif node.kind == "field":
                self.field(node, value, scope, prefix)
            if value is not UNDEFINED:
                _set_path(out, node.name, value)

    def rules_for(self, node: Node, scope: Scope) -> dict:
        rules = node.rules
        required_on = node.conditions.get("requiredOn")
        if required_on is not None and required_on.evaluate(scope):
            rules = {**rules, "isRequired": True}
        return rules

    def field(self, node: Node, value: Any, scope: Scope, prefix: str) -> bool:
        """Check one field; record its first problem. True when it passed."""
        messages = node.item.get("validationErrors")
        failure = first_failure(value, scope, self.rules_for(node, scope), messages)
        if failure is None and not _blank(value) and node.type in GUARDS:
            problem = GUARDS[node.type](node.item, value, scope)
            if problem is not None:
                key, args = problem
                custom = messages.get(key.split(".")[-1]) if isinstance(messages, dict) else None
                custom = custom if isinstance(custom, str) else None
                failure = key, message(key, args, custom)
        if failure is not None:
            self.fail(prefix + node.name, *failure)
            return False
        return True

    def combo(self, node: Node, value: Any, scope: Scope, prefix: str) -> Any:
        """Check a combo and its rows; returns the cleaned value (rows keep only their fields)."""
        if not self.field(node, value, scope, prefix):
            return value
        item, where = node.item, prefix + node.name
        multiple = item.get("multiple") is True
        rows = value if multiple else ([] if _blank(value) else [value])
        if _blank(value) and multiple:
            rows = []
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            self.fail(where, "Combo.type", message("Combo.type"))
            return value
        if multiple:
            problem = self.row_count(item, rows, scope)
            if problem:
                self.fail(where, *problem)
                return value
        cleaned_rows = []
        for index, row in enumerate(rows):
            row_scope = scope.child(row) if not multiple else _row_scope(scope, row, index)
            row_prefix = f"{where}.{index}." if multiple else f"{where}."
            cleaned: dict = {}
            self.nodes(node.children, row_scope, row_prefix, cleaned)
            cleaned_rows.append(cleaned)
        self.unique(node, rows, where)
        if value is UNDEFINED or value is None:
            return value
        return cleaned_rows if multiple else cleaned_rows[0]

    def row_count(self, item: dict, rows: list, scope: Scope) -> tuple[str, str] | None:
        custom = item.get("messages") if isinstance(item.get("messages"), dict) else {}
        for key, too_few in (("minLength", True), ("maxLength", False)):
            limit = item.get(key)
            if isinstance(limit, str) and limit.startswith("${"):
                limit = scope.get_path(limit[2:-1])
            if not js.truthy(limit):
                continue
            number = js.to_number(limit)
            if (too_few and len(rows) < number) or (not too_few and len(rows) > number):
                text = custom.get(f"{key}ValidateFailed")
                return f"Combo.{key}", message(f"Combo.{key}", [limit],
                                               text if isinstance(text, str) else None,
                                               names={key: limit})
        return None

    def unique(self, node: Node, rows: list, where: str) -> None:
        """Combo items marked ``unique`` must differ from row to row."""
        for child in node.children:
            if child.kind != "field" or not child.item.get("unique"):
                continue
            values = [Scope(row).get_path(child.name, own=True) for row in rows]
            for index, value in enumerate(values):
                if _blank(value):
                    continue
                others = values[:index] + values[index + 1:]
                if any(js.strict_equals(value, other) for other in others):
                    self.fail(f"{where}.{index}.{child.name}", "unique", message("validate.unique"))


def _row_scope(scope: Scope, row: dict, index: int) -> Scope:
    """A combo row's data over the form's, with ``index`` available as AMIS provides it."""
    extras = {key: index for key in ("index", "__index") if not scope.has(key)}
    return Scope(row, Scope(extras, scope))


def _dropped(data: Any, cleaned: Any, prefix: str) -> list[str]:
    """Paths of input values the cleaned data does not keep."""
    dropped: list[str] = []
    if isinstance(data, dict) and isinstance(cleaned, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if key not in cleaned:
                dropped.append(path)
            elif cleaned[key] is not value:
                dropped += _dropped(value, cleaned[key], path + ".")
    elif isinstance(data, list) and isinstance(cleaned, list) and len(data) == len(cleaned):
        for index, (value, kept) in enumerate(zip(data, cleaned)):
            if kept is not value:
                dropped += _dropped(value, kept, f"{prefix}{index}.")
    return dropped
