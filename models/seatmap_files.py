"""Seat map files: a map read from its JSON form or from a venue's CSV, checked seat by
seat with every problem named (422), and written back in both forms.

The map itself (:class:`models.seatmaps.MapSpec`) and its storage are in
``models/seatmaps.py``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any

from meeteasy.errors import ValidationFailed
from models.seatmaps import (ATTRIBUTES, DEFAULT_CATEGORIES, MAX_SEATS, OPEN_CATEGORIES, MapSpec,
                             RowSpec, SeatSpec, SectionSpec, seat_id)

MAX_ERRORS = 100  # errors reported per import; the rest are counted
CSV_COLUMNS = ("section", "row", "seat", "x", "y", "category", "attributes")
CSV_OPTIONAL = ("rank",)
LABEL = re.compile(r"^[^/\x00-\x1f]{1,40}$")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ATTRIBUTE_SEPARATORS = re.compile(r"[;|,\s]+")


# --- reading input ----------------------------------------------------------------------


class _Errors:
    """Collects ``{where: [messages]}`` up to MAX_ERRORS, then only counts."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}
        self.dropped = 0

    def add(self, where: str, message: str, *, always: bool = False) -> None:
        if len(self.fields) >= MAX_ERRORS and where not in self.fields and not always:
            self.dropped += 1
            return
        self.fields.setdefault(where, []).append(message)

    def raise_if_any(self, message: str) -> None:
        if self.fields:
            details: dict[str, Any] = {"fields": self.fields}
            if self.dropped:
                details["more_errors"] = self.dropped
            raise ValidationFailed(message, details=details)


def _number(value: Any, decimal_comma: bool = False) -> float | None:
    """A finite number from JSON (int/float, not bool) or CSV text (with ``decimal_comma``
    a decimal comma is accepted, as venues in much of Europe export it); None if it is
    not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if decimal_comma:
            text = text.replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            return None
        value = float(text)
    if isinstance(value, int):
        # JSON integers are unbounded; one beyond a float's range is not a coordinate.
        try:
            value = float(value)
        except OverflowError:
            return None
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def _categories(declared: Any, errors: _Errors) -> list[str]:
    if declared is None:
        return list(DEFAULT_CATEGORIES)
    if not isinstance(declared, list) or not declared:
        errors.add("categories", "Must be a non-empty list of category names.")
        return []
    out: list[str] = []
    for i, name in enumerate(declared):
        if not isinstance(name, str) or not CATEGORY.match(name):
            errors.add(f"categories.{i}", "A category is 1-40 lower-case letters, digits, '_' or '-'.")
        elif name in out:
            errors.add(f"categories.{i}", f"Category {name!r} is listed twice.")
        else:
            out.append(name)
    return out


def _open_categories(declared: Any, categories: list[str], errors: _Errors) -> list[str]:
    if declared is None:
        return [c for c in OPEN_CATEGORIES if c in categories]
    if not isinstance(declared, list) or not all(isinstance(c, str) for c in declared):
        errors.add("open_categories", "Must be a list of category names.")
        return []
    unknown = [c for c in declared if c not in categories]
    if unknown:
        errors.add("open_categories", f"Not categories of the map: {', '.join(map(repr, unknown))}.")
    return list(dict.fromkeys(declared))


def _attributes(raw: Any, where: str, errors: _Errors) -> tuple[str, ...]:
    if isinstance(raw, str):
        names = [a for a in ATTRIBUTE_SEPARATORS.split(raw.strip().lower()) if a]
    elif isinstance(raw, list) and all(isinstance(a, str) for a in raw):
        names = [a.strip().lower() for a in raw]
    else:
        errors.add(where, "Attributes are a list of names.")
        return ()
    unknown = [a for a in names if a not in ATTRIBUTES]
    if unknown:
        errors.add(where, f"Unknown attribute {unknown[0]!r}; known: {', '.join(ATTRIBUTES)}.")
    return tuple(a for a in ATTRIBUTES if a in names)


def _label(value: Any, what: str, where: str, errors: _Errors) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not LABEL.match(value.strip()):
        errors.add(where, f"A {what} label is 1-40 characters, without '/' or control characters.")
        return None
    return value.strip()


class _Builder:
    """Assembles sections and rows from seats given one by one (JSON or CSV), checking
    what spans seats: duplicate labels, unknown categories, the seat limit."""

    def __init__(self, categories: list[str], errors: _Errors, field_paths: bool = False):
        self.field_paths = field_paths  # JSON: "<seat path>.category"; CSV: the line alone
        self.categories = categories
        self.known = set(categories)
        self.errors = errors
        self.sections: dict[str, SectionSpec] = {}
        self.rows: dict[tuple[str, str], RowSpec] = {}
        self.seen: dict[str, str] = {}  # seat id → where it was first given
        self.count = 0

    def row(self, section: str, row: str) -> RowSpec:
        key = (section, row)
        if key not in self.rows:
            if section not in self.sections:
                self.sections[section] = SectionSpec(section)
            self.rows[key] = RowSpec(row)
            self.sections[section].rows.append(self.rows[key])
        return self.rows[key]

    def seat(self, where: str, section: str | None, row: str | None, label: str | None,
             x: float | None, y: float | None, category: Any, attributes: tuple[str, ...],
             rank: float | None) -> None:
        self.count += 1
        if self.count == MAX_SEATS + 1:
            # Reported even past MAX_ERRORS: fixing the other errors would not help.
            self.errors.add(where, f"A map holds at most {MAX_SEATS:,} seats.", always=True)
        category_where = f"{where}.category" if self.field_paths else where
        if category is None or category == "":
            category = "standard" if "standard" in self.known else None
            if category is None:
                self.errors.add(category_where, "The seat needs a category (the map has no 'standard').")
        elif not isinstance(category, str) or category.strip().lower() not in self.known:
            self.errors.add(category_where, f"Unknown category {category!r}; the map's categories "
                                            f"are {', '.join(self.categories)}.")
            category = None
        else:
            category = category.strip().lower()
        if None in (section, row, label, x, y, category):
            return
        sid = seat_id(section, row, label)
        if sid in self.seen:
            self.errors.add(f"{where}.label" if self.field_paths else where,
                            f"Seat {label!r} of row {row!r} in section {section!r} is already "
                            f"given at {self.seen[sid]}.")
            return
        self.seen[sid] = where
        self.row(section, row).seats.append(SeatSpec(label, x, y, category, attributes, rank))

    def build(self, stage_x: float | None) -> MapSpec:
        for spec in self.rows.values():
            spec.seats.sort(key=lambda s: s.x)
        return MapSpec(self.categories, list(self.sections.values()), stage_x)


def parse_map(data: Any) -> MapSpec:
    """A seat map from its JSON form (see ``export_json``); 422 naming every problem by
    its path, e.g. ``sections.0.rows.2.seats.5.category``."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise ValidationFailed.for_fields({"_body": ["The seat map must be a JSON object."]})
    for key in set(data) - {"categories", "open_categories", "stage_x", "sections"}:
        errors.add(key, "Unknown field.")
    builder = _Builder(_categories(data.get("categories"), errors), errors, field_paths=True)
    open_categories = _open_categories(data.get("open_categories"), builder.categories, errors)
    stage_x = data.get("stage_x")
    if stage_x is not None and (isinstance(stage_x, str) or _number(stage_x) is None):
        errors.add("stage_x", "Must be a number or null.")
        stage_x = None
    sections = data.get("sections")
    if not isinstance(sections, list):
        errors.add("sections", "Must be a list of sections.")
        sections = []
    for s_no, section in enumerate(sections):
        where = f"sections.{s_no}"
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
            errors.add(where, "A section is an object with a name and a list of rows.")
            continue
        for key in set(section) - {"name", "rows"}:
            errors.add(f"{where}.{key}", "Unknown field.")
        name = _label(section.get("name"), "section", f"{where}.name", errors)
        if name is not None and name in builder.sections:
            errors.add(f"{where}.name", f"Section {name!r} is given twice.")
            continue
        for r_no, row in enumerate(section["rows"]):
            row_where = f"{where}.rows.{r_no}"
            if not isinstance(row, dict) or not isinstance(row.get("seats"), list):
                errors.add(row_where, "A row is an object with a label and a list of seats.")
                continue
            for key in set(row) - {"label", "seats", "breaks_after"}:
                errors.add(f"{row_where}.{key}", "Unknown field.")
            label = _label(row.get("label"), "row", f"{row_where}.label", errors)
            row_spec = None
            if name is not None and label is not None:
                if (name, label) in builder.rows:
                    errors.add(f"{row_where}.label", f"Row {label!r} is given twice in section {name!r}.")
                    continue
                row_spec = builder.row(name, label)
                breaks = row.get("breaks_after", [])
                if not isinstance(breaks, list):
                    errors.add(f"{row_where}.breaks_after", "A list of seat labels.")
                else:
                    row_spec.breaks_after = [str(b) for b in breaks]
            # Labels given in this row, also on seats with other errors: a bad x should not
            # make breaks_after look wrong too.
            given = set()
            for i, seat in enumerate(row["seats"]):
                seat_where = f"{row_where}.seats.{i}"
                if not isinstance(seat, dict):
                    errors.add(seat_where, "A seat is an object.")
                    continue
                # id and occupant are what export_json adds with occupancy: derived, read-only,
                # ignored so that a downloaded map can be edited and uploaded again.
                for key in set(seat) - {"label", "x", "y", "category", "attributes", "rank",
                                        "id", "occupant"}:
                    errors.add(f"{seat_where}.{key}", "Unknown field.")
                coordinates = []
                for axis in ("x", "y"):
                    value = _number(seat.get(axis)) if not isinstance(seat.get(axis), str) else None
                    if value is None:
                        errors.add(f"{seat_where}.{axis}", "Must be a number.")
                    coordinates.append(value)
                rank = seat.get("rank")
                if rank is not None:
                    rank = _number(rank) if not isinstance(rank, str) else None
                    if rank is None:
                        errors.add(f"{seat_where}.rank", "Must be a number or null.")
                seat_label = _label(seat.get("label"), "seat", f"{seat_where}.label", errors)
                given.add(seat_label)
                builder.seat(seat_where, name, label, seat_label, *coordinates, seat.get("category"),
                             _attributes(seat.get("attributes", []), f"{seat_where}.attributes", errors),
                             rank)
            for b_no, seat_label in enumerate(row_spec.breaks_after if row_spec else []):
                if seat_label not in given:
                    errors.add(f"{row_where}.breaks_after.{b_no}",
                               f"breaks_after names seat {seat_label!r}, which is not in the row.")
    spec = builder.build(_number(stage_x) if stage_x is not None else None)
    spec.open_categories = open_categories
    errors.raise_if_any("The seat map is invalid.")
    return spec


def parse_csv(text: str, categories: list[str] | None = None, *,
              open_categories: list[str] | None = None, stage_x: float | None = None) -> MapSpec:
    """A seat map from a venue's CSV: a header naming ``section,row,seat,x,y,category,
    attributes`` (any order, any case; ``rank`` optional), then one seat per line.
    Commas or semicolons (then decimal commas are fine); attributes separated by ``;``,
    ``|`` or spaces. 422 naming every bad line (``line 12``) and the problem.
    A CSV has no place for the map-wide settings: ``open_categories`` and ``stage_x``
    (the API passes the current map's) are kept as given."""
    errors = _Errors()
    categories = list(categories or DEFAULT_CATEGORIES)
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ValidationFailed.for_fields({"line 1": [
            f"The first line must be the header: {','.join(CSV_COLUMNS)}."]}, "The CSV is invalid.")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    # A decimal comma only where it cannot also be a thousands separator: "1,500" in a
    # comma-separated file is refused rather than read as 1.5.
    decimal_comma = delimiter == ";"
    # newline=None: lines may end in \r\n, \n or a lone \r (Excel's "CSV (Macintosh)").
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as error:
        raise ValidationFailed.for_fields({"line 1": [f"Unreadable header: {error}."]},
                                          "The CSV is invalid.")
    missing = [name for name in CSV_COLUMNS if name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS + CSV_OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {', '.join(unknown)}")
        if len(set(header)) != len(header):
            problems.append("a column is named twice")
        raise ValidationFailed.for_fields({"line 1": [
            f"Bad header ({'; '.join(problems)}); expected {','.join(CSV_COLUMNS)}[,rank]."]},
            "The CSV is invalid.")
    column = {name: i for i, name in enumerate(header)}
    builder = _Builder(categories, errors)
    try:
        for values in reader:
            line = f"line {reader.line_num}"
            if not any(v.strip() for v in values):
                continue  # blank lines, as spreadsheets leave them
            if len(values) != len(header):
                errors.add(line, f"Expected {len(header)} values, found {len(values)}.")
                continue
            cell = {name: values[i].strip() for name, i in column.items()}
            x, y = _number(cell["x"], decimal_comma), _number(cell["y"], decimal_comma)
            for axis, value in (("x", x), ("y", y)):
                if value is None:
                    errors.add(line, _not_a_number(axis, cell[axis], decimal_comma))
            rank = None
            if cell.get("rank"):
                rank = _number(cell["rank"], decimal_comma)
                if rank is None:
                    errors.add(line, _not_a_number("rank", cell["rank"], decimal_comma))
            builder.seat(line, _label(cell["section"], "section", line, errors),
                         _label(cell["row"], "row", line, errors),
                         _label(cell["seat"], "seat", line, errors), x, y, cell["category"],
                         _attributes(cell["attributes"], line, errors), rank)
    except csv.Error as error:
        errors.add(f"line {reader.line_num}", f"Unreadable CSV: {error}.")
    spec = builder.build(stage_x)
    if open_categories is not None:
        spec.open_categories = [c for c in open_categories if c in categories]
    else:
        spec.open_categories = [c for c in OPEN_CATEGORIES if c in categories]
    errors.raise_if_any("The CSV is invalid.")
    return spec


def _not_a_number(column: str, text: str, decimal_comma: bool) -> str:
    hint = "" if decimal_comma or "," not in text else \
        " (write decimals with '.', or separate the values with ';' to use decimal commas)"
    return f"{column} is not a number: {text!r}{hint}."


# --- writing output ---------------------------------------------------------------------


def export_json(spec: MapSpec, occupancy: dict[str, dict] | None = None) -> dict:
    """The map in the form :func:`parse_map` reads; with ``occupancy`` (seat id → who),
    each seat also carries its ``id`` and ``occupant`` (None when free)."""
    def seat_json(section: str, row: str, seat: SeatSpec) -> dict:
        out = {"label": seat.label, "x": seat.x, "y": seat.y, "category": seat.category,
               "attributes": list(seat.attributes), "rank": seat.rank}
        if occupancy is not None:
            sid = seat_id(section, row, seat.label)
            out["id"] = sid
            out["occupant"] = occupancy.get(sid)
        return out

    return {"categories": spec.categories, "open_categories": spec.open_categories,
            "stage_x": spec.stage_x, "sections": [
        {"name": section.name, "rows": [
            {"label": row.label, "breaks_after": row.breaks_after,
             "seats": [seat_json(section.name, row.label, seat) for seat in row.seats]}
            for row in section.rows]}
        for section in spec.sections]}


def export_csv(spec: MapSpec) -> str:
    """The map as the CSV :func:`parse_csv` reads (with the rank column when a seat has one)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with_rank = any(seat.rank is not None for *_, seat in spec.seats())
    writer.writerow(CSV_COLUMNS + (CSV_OPTIONAL if with_rank else ()))
    for _, section, row, seat in spec.seats():
        values = [section.name, row.label, seat.label, _num(seat.x), _num(seat.y), seat.category,
                  ";".join(seat.attributes)]
        if with_rank:
            values.append("" if seat.rank is None else _num(seat.rank))
        writer.writerow(values)
    return out.getvalue()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
