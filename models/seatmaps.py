"""Seat maps: sections → rows → seats, stored per conference (read from JSON or a venue's
CSV by ``models/seatmap_files.py``).

A seat is named by its section, row and seat labels; its id, ``"{section}/{row}/{seat}"``,
is what assignments refer to, so a map can be replaced (re-imported, corrected) and
every seat that still exists keeps its occupant. Labels therefore may not contain
``/``. A row's seats are kept left to right (ascending ``x``), whatever order they
arrive in; adjacency (``breaks_after`` or inferred from gaps and aisles) and the
default rank are defined in ``services/seating/assignment/layout.py``, which reads these
maps.

The map is one document, its seats packed as short arrays: a 50,000-seat map is about
3 MB of BSON, read and written in one round trip (one document per seat would cost
50,000 inserts on every re-import).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import mongoengine as me
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from meeteasy.errors import Conflict, NotFound
from models.base import TenantDocument, iso, utcnow

MAX_SEATS = 50_000  # per map; checked as a map is read (models/seatmap_files.py)
DEFAULT_CATEGORIES = ("standard", "vip", "press", "sponsor", "staff")
OPEN_CATEGORIES = ("standard",)
ATTRIBUTES = ("accessible", "aisle", "blocked")


@dataclass
class SeatSpec:
    label: str
    x: float
    y: float
    category: str
    attributes: tuple[str, ...] = ()
    rank: float | None = None

    def packed(self) -> list:
        return [self.label, self.x, self.y, self.category, list(self.attributes), self.rank]


@dataclass
class RowSpec:
    label: str
    seats: list[SeatSpec] = field(default_factory=list)
    breaks_after: list[str] = field(default_factory=list)  # seat labels; None-equivalent: []


@dataclass
class SectionSpec:
    name: str
    rows: list[RowSpec] = field(default_factory=list)


@dataclass
class MapSpec:
    """A validated seat map (rows sorted left to right)."""

    categories: list[str]
    sections: list[SectionSpec]
    stage_x: float | None = None
    # Categories attendees may ask for themselves; the others (VIP, press…) staff give.
    open_categories: list[str] = field(default_factory=lambda: list(OPEN_CATEGORIES))
    _by_id: dict | None = field(default=None, repr=False, compare=False)

    def seats(self):
        """(seat id, section, row, seat) for every seat, in map order."""
        for section in self.sections:
            for row in section.rows:
                for seat in row.seats:
                    yield seat_id(section.name, row.label, seat.label), section, row, seat

    def seat(self, sid: str) -> SeatSpec | None:
        """The seat with this id, or None (indexed on first use)."""
        if self._by_id is None:
            self._by_id = {s_id: seat for s_id, _, _, seat in self.seats()}
        return self._by_id.get(sid)

    @property
    def seat_count(self) -> int:
        return sum(len(row.seats) for section in self.sections for row in section.rows)


def seat_id(section: str, row: str, seat: str) -> str:
    return f"{section}/{row}/{seat}"


class SeatMap(TenantDocument):
    conference_id = me.StringField(required=True)
    version = me.IntField(required=True, default=1)
    categories = me.ListField(me.StringField())
    open_categories = me.ListField(me.StringField())
    stage_x = me.FloatField(null=True)
    # [{"name", "rows": [{"label", "breaks_after": [...], "seats": [[label, x, y, category,
    #   [attributes], rank], ...]}]}] — see the module docstring for why it is packed.
    sections = me.ListField(me.DictField())
    seat_count = me.IntField(required=True, default=0)
    outline = me.ListField(me.DictField())  # [{"name", "rows", "seats"}]: summaries skip `sections`
    updated_by = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=utcnow)
    updated_at = me.DateTimeField(required=True, default=utcnow)
    meta = {
        "collection": "seat_maps",
        "indexes": [{"fields": ("tenant_id", "conference_id"), "unique": True},
                    # a conditional replace (`?version=`): SecantusDB needs the exact fields
                    ("tenant_id", "conference_id", "version")],
    }


# --- the stored form --------------------------------------------------------------------


def packed_sections(spec: MapSpec) -> list[dict]:
    return [{"name": section.name, "rows": [
        {"label": row.label, "breaks_after": row.breaks_after,
         "seats": [seat.packed() for seat in row.seats]} for row in section.rows]}
        for section in spec.sections]


def unpack(document: dict | SeatMap) -> MapSpec:
    """The stored map back as a :class:`MapSpec`."""
    get = document.get if isinstance(document, dict) else lambda key, default=None: getattr(document, key, default)
    return MapSpec(list(get("categories") or []), [
        SectionSpec(section["name"], [
            RowSpec(row["label"], [SeatSpec(s[0], s[1], s[2], s[3], tuple(s[4]), s[5])
                                   for s in row["seats"]], list(row.get("breaks_after") or []))
            for row in section["rows"]])
        for section in get("sections") or []], get("stage_x"),
        list(get("open_categories") or []))


# --- CRUD -------------------------------------------------------------------------------


def get_map(tenant_id: str, conference_id: str) -> SeatMap:
    """The map's metadata (its seats are not read: see :func:`load_spec`), or NotFound."""
    found = find_map(tenant_id, conference_id)
    if found is None:
        raise NotFound("This conference has no seat map yet.", code="seat_map_not_found")
    return found


def find_map(tenant_id: str, conference_id: str) -> SeatMap | None:
    return SeatMap.objects(tenant_id=tenant_id, conference_id=conference_id).exclude("sections").first()


_SPECS: OrderedDict[tuple[str, str], tuple[int, MapSpec]] = OrderedDict()
SPEC_CACHE = 4  # maps a process keeps unpacked (a 50,000-seat map is some 20 MB of objects)


def load_spec(tenant_id: str, conference_id: str, *, missing_ok: bool = False) -> MapSpec | None:
    """The map's seats. Read raw: mongoengine's conversion of 50,000 nested arrays costs
    about a second, pymongo's a third of that. A process keeps the last few maps and reads
    one again only when its version changed (one small indexed read to check). Callers
    must not modify the result."""
    collection = SeatMap._get_collection()
    where = {"tenant_id": tenant_id, "conference_id": conference_id}
    head = collection.find_one(where, {"version": 1})
    if head is None:
        if missing_ok:
            return None
        raise NotFound("This conference has no seat map yet.", code="seat_map_not_found")
    key = (tenant_id, conference_id)
    cached = _SPECS.get(key)
    if cached is not None and cached[0] == head["version"]:
        _SPECS.move_to_end(key)
        return cached[1]
    document = collection.find_one(where)
    if document is None:  # replaced by nothing in between: maps are never deleted
        raise NotFound("This conference has no seat map yet.", code="seat_map_not_found")
    spec = unpack(document)
    _SPECS[key] = (document["version"], spec)
    while len(_SPECS) > SPEC_CACHE:
        _SPECS.popitem(last=False)
    return spec


def save_map(tenant_id: str, conference_id: str, spec: MapSpec, by: str,
             occupied: dict[str, str] | None = None, *, expected_version: int | None = None) -> SeatMap:
    """Create or replace the conference's map.

    ``occupied`` maps seat id → registration for assigned or held seats: a change that
    would remove one, or change its category, is refused (409 ``seats_occupied``,
    listing them) until its occupant is moved. The caller holds the seating lock, so no
    seat is taken between that check and this write. ``expected_version`` makes the
    write conditional (409 ``seat_map_changed`` if someone saved in between)."""
    current = load_spec(tenant_id, conference_id, missing_ok=True) if occupied else None
    refused = occupied_conflicts(current, spec, occupied or {})
    if refused:
        raise Conflict(f"{len(refused)} occupied seat(s) would be removed, re-categorised or blocked; "
                       "move or release their occupants first.", code="seats_occupied",
                       details={"seats": refused[:100], "count": len(refused)})
    now = utcnow()
    fields = {"categories": spec.categories, "open_categories": spec.open_categories,
              "stage_x": spec.stage_x,
              "sections": packed_sections(spec), "seat_count": spec.seat_count,
              "outline": [{"name": section.name, "rows": len(section.rows),
                           "seats": sum(len(row.seats) for row in section.rows)}
                          for section in spec.sections],
              "updated_by": by, "updated_at": now}
    collection = SeatMap._get_collection()
    query: dict[str, Any] = {"tenant_id": tenant_id, "conference_id": conference_id}
    if expected_version is not None:
        query["version"] = expected_version
    try:
        document = collection.find_one_and_update(
            query, {"$set": fields, "$inc": {"version": 1},
                    "$setOnInsert": {"created_at": now}},
            projection={"sections": 0}, upsert=expected_version is None,
            return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:  # two first saves racing: one upsert loses on the unique index
        document = None
    if document is None:
        raise Conflict("The seat map was changed by someone else; reload it and try again.",
                       code="seat_map_changed")
    return SeatMap._from_son(document)


def occupied_conflicts(current: MapSpec | SeatMap | dict | None, spec: MapSpec,
                       occupied: dict[str, str]) -> list[dict]:
    """Occupied seats that ``spec`` would remove, move to another category or newly block."""
    if current is None or not occupied:
        return []
    before_spec = current if isinstance(current, MapSpec) else unpack(current)
    before = {sid: seat for sid, _, _, seat in before_spec.seats()}
    after = {sid: seat for sid, _, _, seat in spec.seats()}
    out = []
    for sid, registration in sorted(occupied.items()):
        if sid not in before:
            continue  # a seat the map no longer had (should not happen; harmless)
        problem = None
        if sid not in after:
            problem = "removed"
        elif after[sid].category != before[sid].category:
            problem = f"category {before[sid].category} → {after[sid].category}"
        elif "blocked" in after[sid].attributes and "blocked" not in before[sid].attributes:
            problem = "blocked"
        if problem:
            out.append({"seat": sid, "registration_id": registration, "problem": problem})
    return out


def summary(document: SeatMap) -> dict:
    """The map's metadata without its seats."""
    return {"conference_id": document.conference_id, "version": document.version,
            "categories": list(document.categories),
            "open_categories": list(document.open_categories), "stage_x": document.stage_x,
            "seat_count": document.seat_count,
            "sections": [dict(section) for section in document.outline],
            "updated_by": document.updated_by, "created_at": iso(document.created_at),
            "updated_at": iso(document.updated_at)}
