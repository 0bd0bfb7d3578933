"""Reading an AMIS form schema: what is a valid registration form, and its field tree.

:func:`compile_form` checks a schema against what AMIS 6 accepts (its
``schema.json`` and what amis-core does at run time) and turns it into a tree
of :class:`Node` objects the submission code walks. Problems that make the
form unusable or ambiguous are errors, keyed by a dotted path into the schema
(``body.2.validations``); things the server stores but does not check are
warnings.

Item kinds:

* fields the server validates (:data:`VALIDATED_TYPES`);
* layout containers whose children share the form's data (group, fieldset,
  grid columns);
* ``combo``: a list (``multiple``) or object of rows, each its own data scope;
* display-only items (tpl, divider, buttons…), which carry no data;
* anything else: a *pass-through* item, stored as sent under its ``name`` and
  reported as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from meeteasy.errors import ValidationFailed
from models.amis import jsvalues as js
from models.amis.expressions import Expression, ExpressionError, parse_expression, parse_template
from models.amis.jsregex import RegexpError, rule_regexp
from models.amis.rules import (BROWSER_ONLY_RULES, REGEXP_RULES, is_active, known_rule,
                               parse_rules, rule_args)
from models.amis.widgets import OPTION_TYPES, TEXT_TYPES, date_format, date_pattern

VALIDATED_TYPES = TEXT_TYPES | OPTION_TYPES | frozenset({
    "input-number", "checkbox", "switch", "input-date", "input-datetime", "input-tag", "hidden",
})
CONTAINER_TYPES = frozenset({"group", "fieldset", "fieldSet", "grid"})
DISPLAY_TYPES = frozenset({
    "tpl", "html", "plain", "divider", "alert", "static", "button", "submit", "reset", "action",
    "button-toolbar", "button-group", "remark", "markdown", "link", "icon", "image", "images",
    "qrcode", "spinner", "tag", "mapping", "property", "json", "date", "datetime", "time",
    "video", "audio", "progress", "status", "steps", "timeline", "avatar", "iframe",
})
# Rules an item type adds by itself (amis registers input-email with "isEmail").
DEFAULT_RULES = {"input-email": "isEmail", "input-url": "isUrl"}
# Text widgets whose minLength/maxLength props become rules.
LENGTH_PROP_TYPES = frozenset({"input-text", "textarea"})
# Types whose static hidden/visible flags hide them (and what they contain); on
# form items and fieldsets AMIS hides nothing from validation.
STATIC_HIDING_TYPES = frozenset({"group", "grid"})
EXPRESSION_PROPS = ("hiddenOn", "visibleOn", "requiredOn", "disabledOn", "readOnlyOn", "staticOn")
NUMERIC_ARG_RULES = frozenset({"minLength", "maxLength", "minimum", "maximum", "lt", "gt"})
_NAME = re.compile(r"[^.\s\[\]${}]+(?:\.[^.\s\[\]${}]+)*")


@dataclass
class Node:
    """One schema item: ``kind`` is "field", "container", "combo", "passthrough" or "display"."""

    kind: str
    item: dict
    path: str
    name: str | None = None
    rules: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    conditions: dict[str, Expression] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.item["type"]


@dataclass
class CompiledForm:
    """A checked form: its top-level nodes and the warnings found while checking."""

    nodes: list[Node]
    warnings: list[str]


def compile_form(schema: Any) -> CompiledForm:
    """Check ``schema`` and build its field tree.

    Raises :class:`ValidationFailed` listing every problem, by schema path.
    """
    checker = _Checker()
    nodes = checker.form(schema)
    if checker.errors:
        raise ValidationFailed.for_fields(checker.errors,
                                          "The registration form is not a valid AMIS form.")
    return CompiledForm(nodes, checker.warnings)


class _Checker:
    def __init__(self):
        self.errors: dict[str, list[str]] = {}
        self.warnings: list[str] = []

    def error(self, path: str, text: str) -> None:
        self.errors.setdefault(path, []).append(text)

    def warn(self, path: str, text: str) -> None:
        self.warnings.append(f"{path}: {text}" if path else text)

    # ------------------------------------------------------------------ structure

    def form(self, schema: Any) -> list[Node]:
        if not isinstance(schema, dict):
            self.error("", "The schema must be a JSON object.")
            return []
        if schema.get("type") != "form":
            self.error("type", 'The schema must be an AMIS form: "type" must be "form".')
        if "controls" in schema and "body" not in schema:
            self.error("controls", 'AMIS 6 forms list their items in "body", not "controls".')
        body = schema.get("body")
        if not isinstance(body, list):
            self.error("body", '"body" must be a list of form items.')
            return []
        nodes = self.items(body, "body")
        self.check_names(nodes)
        return nodes

    def items(self, items: list, path: str) -> list[Node]:
        return [node for index, item in enumerate(items)
                if (node := self.item(item, f"{path}.{index}")) is not None]

    def body_of(self, item: dict, key: str, path: str, single_ok: bool) -> list[Node]:
        body = item.get(key, [])
        if single_ok and isinstance(body, dict):
            body = [body]
        if not isinstance(body, list):
            self.error(f"{path}.{key}", f'"{key}" must be a list of form items.')
            return []
        return self.items(body, f"{path}.{key}")

    def item(self, item: Any, path: str) -> Node | None:
        if not isinstance(item, dict):
            self.error(path, "A form item must be a JSON object.")
            return None
        kind_name = item.get("type")
        if not isinstance(kind_name, str) or not kind_name:
            self.error(f"{path}.type", 'Every form item needs a "type" string.')
            return None
        if "controls" in item and "body" not in item:
            self.error(f"{path}.controls", 'AMIS 6 uses "body", not "controls".')
        conditions = self.conditions(item, path)
        static_hidden = item.get("hidden") is True or item.get("visible") is False
        if static_hidden and kind_name in VALIDATED_TYPES | {"combo", "fieldset", "fieldSet"}:
            self.warn(path, '"hidden"/"visible" hide this item from view, but AMIS still validates '
                            'and submits it; use "hiddenOn"/"visibleOn" to leave it out.')
        if kind_name in CONTAINER_TYPES:
            node = Node("container", item, path, conditions=conditions)
            if kind_name == "grid":
                node.children = self.grid_columns(item, path)
            else:
                node.children = self.body_of(item, "body", path, single_ok=kind_name != "group")
            return node
        if kind_name in DISPLAY_TYPES:
            return Node("display", item, path, conditions=conditions)
        name = self.name(item, path, required=kind_name in VALIDATED_TYPES or kind_name == "combo")
        if kind_name == "combo":
            return self.combo(item, path, name, conditions)
        if kind_name in VALIDATED_TYPES:
            if name is None:
                return None
            node = Node("field", item, path, name, conditions=conditions)
            node.rules = self.rules(item, path)
            self.type_props(item, path)
            return node
        if name is None:
            self.warn(path, f'Type "{kind_name}" is not understood by the server; '
                            "fields inside it are neither validated nor kept.")
            return Node("display", item, path, conditions=conditions)
        self.warn(path, f'Type "{kind_name}" is not validated by the server; '
                        f'the value of "{name}" is stored as sent.')
        return Node("passthrough", item, path, name, conditions=conditions)

    def grid_columns(self, item: dict, path: str) -> list[Node]:
        columns = item.get("columns", [])
        if not isinstance(columns, list):
            self.error(f"{path}.columns", '"columns" must be a list of columns.')
            return []
        nodes = []
        for index, column in enumerate(columns):
            column_path = f"{path}.columns.{index}"
            if not isinstance(column, dict):
                self.error(column_path, 'A grid column must be an object with a "body".')
                continue
            for key in ("hidden", "visible", *EXPRESSION_PROPS):
                if key in column:
                    self.error(f"{column_path}.{key}", "AMIS ignores visibility on grid columns; "
                                                       "put the column's body in a group instead.")
            nodes.append(Node("container", {**column, "type": "grid-column"}, column_path,
                              children=self.body_of(column, "body", column_path, single_ok=True)))
        return nodes

    def combo(self, item: dict, path: str, name: str | None, conditions: dict) -> Node | None:
        if name is None:
            return None
        if item.get("flat") or item.get("conditions"):
            self.warn(path, f'A combo with "flat" or "conditions" is not validated by the server; '
                            f'the value of "{name}" is stored as sent.')
            return Node("passthrough", item, path, name, conditions=conditions)
        items = item.get("items")
        if not isinstance(items, list) or not items:
            self.error(f"{path}.items", 'A combo needs "items": a list of form items.')
            return None
        node = Node("combo", item, path, name, conditions=conditions)
        node.children = self.items(items, f"{path}.items")
        self.check_names(node.children)
        node.rules = self.rules(item, path)
        self.bool_props(item, path, ("multiple",))
        for key in ("minLength", "maxLength"):
            self.number_prop(item, key, path)
        return node

    # ------------------------------------------------------------------ properties

    def name(self, item: dict, path: str, required: bool) -> str | None:
        name = item.get("name")
        if name is None:
            if required:
                self.error(f"{path}.name", f'Items of type "{item["type"]}" need a "name".')
            return None
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            self.error(f"{path}.name", "A name must be a plain field name; use dots for nesting "
                                       '(person.name), no spaces, brackets or "${...}".')
            return None
        return name

    def conditions(self, item: dict, path: str) -> dict[str, Expression]:
        self.bool_props(item, path, ("hidden", "visible", "required", "disabled"))
        parsed = {}
        for key in EXPRESSION_PROPS:
            text = item.get(key)
            if text is None or text == "":
                continue
            if not isinstance(text, str):
                self.error(f"{path}.{key}",
                           f'"{key}" must be an expression string such as "${{age >= 18}}".')
                continue
            try:
                expression = parse_expression(text)
            except ExpressionError as exc:
                self.error(f"{path}.{key}", f"This expression cannot be evaluated: {exc}.")
                continue
            if expression.formula and len(expression.tree) > 1:
                self.warn(f"{path}.{key}", "Text around ${...} makes AMIS treat the expression as "
                                           "a text template, true whenever it is not empty.")
            parsed[key] = expression
        return parsed

    def bool_props(self, item: dict, path: str, keys: tuple[str, ...]) -> None:
        for key in keys:
            if key in item and not isinstance(item[key], bool):
                self.error(f"{path}.{key}", f'"{key}" must be true or false.')

    def number_prop(self, item: dict, key: str, path: str) -> None:
        value = item.get(key)
        if value is None or js.is_number(value) or _is_variable(value):
            return
        self.error(f"{path}.{key}", f'"{key}" must be a number.')

    def rules(self, item: dict, path: str) -> dict[str, Any]:
        """The rule set AMIS builds for the item (order matters: the first failure is shown)."""
        kind_name = item["type"]
        spec = item.get("validations")
        if spec is not None and not isinstance(spec, (str, dict)):
            self.error(f"{path}.validations", '"validations" must be an object or a string '
                                              'like "isEmail,minLength:3".')
            spec = None
        default = DEFAULT_RULES.get(kind_name)
        if default and isinstance(spec, str) and spec:
            self.error(f"{path}.validations", f'AMIS 6 cannot combine "{kind_name}" with '
                                              "validations written as a string; write them as "
                                              "an object.")
            spec = None
        rules = parse_rules(spec)
        if default:
            if js.truthy(spec):
                rules.update(parse_rules(default))
            else:
                rules = parse_rules(default)
        required = item.get("required")
        min_length, max_length = item.get("minLength"), item.get("maxLength")
        if (spec is not None or default or required is not None
                or js.is_number(min_length) or js.is_number(max_length)):
            rules["isRequired"] = required is True or rules.get("isRequired")
        if kind_name in LENGTH_PROP_TYPES:
            for key, value in (("minLength", min_length), ("maxLength", max_length)):
                if js.is_number(value):
                    rules[key] = value
                elif value is not None:
                    self.error(f"{path}.{key}", f'"{key}" must be a number.')
        self.check_rules(rules, path)
        messages = item.get("validationErrors")
        if messages is not None and not (isinstance(messages, dict)
                                         and all(isinstance(v, str) for v in messages.values())):
            self.error(f"{path}.validationErrors",
                       '"validationErrors" must map rule names to messages.')
        return rules

    def check_rules(self, rules: dict, path: str) -> None:
        where = f"{path}.validations"
        for name, setting in rules.items():
            if not is_active(setting):
                continue
            if not known_rule(name):
                hint = (" (in the string form, write no space after the comma before matchRegexp)"
                        if re.fullmatch(r"__[0-9]+", name) else "")
                self.error(where, f'Unknown validation rule "{name}"{hint}.')
                continue
            if name in BROWSER_ONLY_RULES:
                self.warn(where, f'Rule "{name}" is checked in the browser only.')
                continue
            args = rule_args(setting)
            for arg in args:
                if _is_variable(arg):
                    try:
                        parse_template(arg)
                    except ExpressionError as exc:
                        self.error(where, f'Rule "{name}" has an argument the server cannot '
                                          f"evaluate: {exc}.")
            first = args[0] if args else None
            if name in REGEXP_RULES and not _is_variable(first):
                try:
                    rule_regexp(first)
                except RegexpError as exc:
                    self.error(where, f'Rule "{name}" has a malformed regexp: {exc}.')
            if name in NUMERIC_ARG_RULES and not (_numeric(first) or _is_variable(first)):
                self.error(where, f'Rule "{name}" needs a number.')
            if name == "isLength" and not (js.is_number(first) or _is_variable(first)):
                self.error(where, 'Rule "isLength" needs a number '
                                  "(a string never matches in AMIS).")
            if name == "equalsField" and not isinstance(first, str):
                self.error(where, 'Rule "equalsField" needs the name of the other field.')

    def type_props(self, item: dict, path: str) -> None:
        kind_name = item["type"]
        if kind_name in OPTION_TYPES or kind_name == "input-tag":
            self.bool_props(item, path, ("multiple", "joinValues", "extractValue", "creatable"))
            if "delimiter" in item and not isinstance(item["delimiter"], str):
                self.error(f"{path}.delimiter", '"delimiter" must be a string.')
            self.options(item, path)
        if kind_name == "input-number":
            for key in ("min", "max", "precision", "step"):
                self.number_prop(item, key, path)
            if item.get("unitOptions"):
                self.warn(path, "A number with units is not checked by the server.")
        if kind_name == "input-tag":
            for key in ("max", "maxTagLength"):
                self.number_prop(item, key, path)
        if kind_name in ("checkbox", "switch"):
            for key in ("trueValue", "falseValue"):
                if key in item and js.type_of(item[key]) not in ("boolean", "string", "number"):
                    self.error(f"{path}.{key}", f'"{key}" must be a boolean, string or number.')
        if kind_name in ("input-date", "input-datetime"):
            for key in ("format", "valueFormat"):
                if key in item and not isinstance(item[key], str):
                    self.error(f"{path}.{key}", f'"{key}" must be a moment format string.')
            if date_pattern(date_format(item)) is None:
                self.warn(path, f'Date format "{date_format(item)}" is not checked by the server.')

    def options(self, item: dict, path: str) -> None:
        options = item.get("options")
        if item.get("source") is not None and item["type"] in OPTION_TYPES:
            self.warn(path, 'Options come from "source"; the server does not check values '
                            "against them.")
        if options is None:
            if item.get("source") is None and item["type"] in OPTION_TYPES:
                self.warn(path, "This item has no options.")
            return
        if isinstance(options, dict):
            return
        if not isinstance(options, list):
            self.error(f"{path}.options", '"options" must be a list of {label, value} objects.')
            return
        self.option_list(options, f"{path}.options", item.get("valueField") or "value",
                         item.get("labelField") or "label")

    def option_list(self, options: list, path: str, value_field: str, label_field: str) -> None:
        for index, option in enumerate(options):
            where = f"{path}.{index}"
            if js.type_of(option) in ("string", "number"):
                continue
            if not isinstance(option, dict):
                self.error(where, "An option must be a {label, value} object.")
                continue
            if label_field in option and not isinstance(option[label_field], str):
                self.error(f"{where}.{label_field}", "An option's label must be a string.")
            children = option.get("children")
            if children is not None:
                if isinstance(children, list):
                    self.option_list(children, f"{where}.children", value_field, label_field)
                else:
                    self.error(f"{where}.children", '"children" must be a list of options.')
            elif value_field not in option:
                self.error(where, f'An option needs a "{value_field}".')
            elif label_field not in option:
                self.error(where, f'An option needs a "{label_field}".')

    # ------------------------------------------------------------------ names

    def check_names(self, nodes: list[Node]) -> None:
        """Names sharing a data scope must differ, and none may be a prefix of another."""
        seen: dict[str, str] = {}
        for node in _named(nodes):
            if node.name in seen:
                self.error(f"{node.path}.name",
                           f'The name "{node.name}" is already used at {seen[node.name]}.')
                continue
            for other, where in seen.items():
                shorter, longer = sorted((other, node.name), key=len)
                if longer.startswith(shorter + "."):
                    self.error(f"{node.path}.name", f'"{node.name}" and "{other}" (at {where}) '
                                                    "would overwrite each other.")
            seen[node.name] = node.path


def _named(nodes: list[Node]):
    for node in nodes:
        if node.kind == "container":
            yield from _named(node.children)
        elif node.name is not None:
            yield node


def _is_variable(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def _numeric(value: Any) -> bool:
    if js.is_number(value):
        return True
    return isinstance(value, str) and js.parse_float(value) == js.parse_float(value)
