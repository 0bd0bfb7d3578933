"""Request bodies and query strings, parsed into pydantic models or a 4xx naming the fields."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from meeteasy.errors import BadRequest, ValidationFailed

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base of request bodies: JSON types are taken as they are ("5" is not 5) and
    unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Base of query strings: values arrive as text, so they are converted."""

    model_config = ConfigDict(extra="forbid")


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"]) or "_body"
        fields.setdefault(name, []).append(problem["msg"])
    return fields


# What MongoDB can store of a free-form value (answers, a plugin's settings...): BSON
# integers are 64-bit, and nesting is bounded.
INT64 = range(-2**63, 2**63)
MAX_DEPTH = 20


def storable_problems(value, where: str = "", depth: int = 0) -> dict[str, list[str]]:
    """Where a parsed JSON value could not be stored as it is, and why."""
    if depth > MAX_DEPTH:
        return {where or "_body": [f"Nested deeper than {MAX_DEPTH} levels."]}
    if isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
        return {where or "_body": ["Integers must fit in 64 bits."]}
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    problems: dict[str, list[str]] = {}
    for key, item in items:
        problems.update(storable_problems(item, f"{where}.{key}" if where else str(key),
                                          depth + 1))
    return problems


def parse_body(request, model: type[M]) -> M:
    raw = request.body or b""
    if not raw.strip():
        raw = b"{}"
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as error:
        if any(problem["type"] == "json_invalid" for problem in error.errors()):
            raise BadRequest("The body is not valid JSON.", code="malformed_json")
        if any(problem["type"] == "model_type" and not problem["loc"] for problem in error.errors()):
            raise ValidationFailed.for_fields({"_body": ["The body must be a JSON object."]})
        raise ValidationFailed.for_fields(field_errors(error))
    problems = storable_problems(parsed.model_dump(mode="python", by_alias=True))
    if problems:
        raise ValidationFailed.for_fields(problems)
    return parsed


def parse_query(request, model: type[M], skip=lambda name: False) -> M:
    """Parse the query string; names for which ``skip`` is true are the caller's to read."""
    # Blank values are kept: `?q=` is an empty q (refused where q needs a character),
    # not an absent one.
    args = request.get_args(keep_blank_values=True)
    values = {name: args.get(name) for name in args if not skip(name)}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ValidationFailed.for_fields(field_errors(error), "Some query parameters are invalid.")
