"""Seat maps as plain data: sections → rows → seats, with adjacency and default ranks.

Conventions every producer (JSON/CSV import) and consumer (the assignment) relies on:

* Coordinates: the stage is the line ``y = 0`` and ``y`` grows away from it; ``x`` runs
  across the hall. Units are free but shared by all seats of one map.
* A section lists its rows front to back; "directly behind" means the next row in that
  list. A row lists its seats left to right (ascending ``x``).
* Adjacency: two consecutive seats of a row are side by side unless a break separates
  them. Breaks are given explicitly (``Row.breaks``) or inferred: an ``x`` gap wider than
  ``GAP_FACTOR`` times the row's pitch (its smallest spacing), or two consecutive aisle
  seats (the aisle runs between them; a two-seat block between two aisles needs explicit
  breaks). A blocked seat keeps its place in the row, so it does not break adjacency,
  but it is never assigned and therefore ends every run of free seats.
* Rank, lower is better: ``y + lateral_weight * |x - stage_x|``. Depth counts fully,
  distance from the stage's centre line half by default (two places sideways cost as
  much as one row back). ``stage_x`` defaults to the centre of the map's ``x`` extent,
  not each section's: a side section's best seats are on its inner aisle, as in a
  theatre. A seat's explicit ``rank`` overrides the derived one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

GAP_FACTOR = 1.5
LATERAL_WEIGHT = 0.5

# Formations of a group of seats, best first (see Layout.formation).
ROW = "row"  # one run of side-by-side seats in one row
STACKED = "stacked"  # one run per row, consecutive rows of one section, x ranges overlapping,
#                      at most max_stack_rows(size) rows
SPLIT = "split"  # anything else


def max_stack_rows(size: int) -> int:
    """Rows a stacked party of ``size`` may use: two people per row on average (two rows
    for two or three people). A single-file column is not a party sitting together."""
    return max(2, -(-size // 2))


@dataclass(frozen=True, slots=True)
class Seat:
    id: str  # unique in the map; the assignment speaks in these ids
    label: str  # as printed on the seat
    x: float
    y: float
    category: str = "standard"
    accessible: bool = False
    aisle: bool = False
    blocked: bool = False
    rank: float | None = None  # None: derived from the position (module docstring)


def infer_breaks(seats: Sequence[Seat], gap_factor: float = GAP_FACTOR) -> frozenset[int]:
    """Indices ``i`` such that ``seats[i]`` and ``seats[i + 1]`` are not side by side."""
    gaps = [b.x - a.x for a, b in zip(seats, seats[1:])]
    positive = [g for g in gaps if g > 0]
    pitch = min(positive) if positive else None
    return frozenset(
        i for i, g in enumerate(gaps)
        if (pitch is not None and g > gap_factor * pitch)
        or (seats[i].aisle and seats[i + 1].aisle))


@dataclass(frozen=True)
class Row:
    """Seats left to right. ``breaks``: see :func:`infer_breaks`; None infers them."""

    label: str
    seats: tuple[Seat, ...]
    breaks: frozenset[int] | None = None

    def __post_init__(self) -> None:
        seats = tuple(self.seats)
        object.__setattr__(self, "seats", seats)
        if any(b.x < a.x for a, b in zip(seats, seats[1:])):
            raise ValueError(f"row {self.label!r}: seats must go left to right (ascending x)")
        if self.breaks is None:
            object.__setattr__(self, "breaks", infer_breaks(seats))
        else:
            breaks = frozenset(self.breaks)
            if any(not 0 <= i < len(seats) - 1 for i in breaks):
                raise ValueError(f"row {self.label!r}: a break index is outside the row")
            object.__setattr__(self, "breaks", breaks)

    def adjacent(self, i: int) -> bool:
        """Whether ``seats[i]`` and ``seats[i + 1]`` are side by side."""
        return 0 <= i < len(self.seats) - 1 and i not in self.breaks

    def blocks(self) -> list[tuple[Seat, ...]]:
        """Maximal stretches of side-by-side seats (blocked seats included)."""
        out, start = [], 0
        for i in range(len(self.seats)):
            if not self.adjacent(i):
                out.append(self.seats[start:i + 1])
                start = i + 1
        return out


@dataclass(frozen=True)
class Section:
    name: str
    rows: tuple[Row, ...]  # front to back

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(self.rows))


@dataclass(frozen=True, slots=True)
class SeatGroup:
    """Seats of one party side by side in one row (a piece of a split, or a stacked row)."""

    section: str
    row: str
    seats: tuple[str, ...]


@dataclass(frozen=True)
class SeatIndex:
    """The map flattened for algorithms: seat ``i`` of the map in section, row, seat order.

    Seats of a row are consecutive; ``link[i]`` says seats ``i`` and ``i + 1`` are side by
    side (so also in the same row). Lists are shared: read them, never write.
    """

    ids: list[str]
    position: dict[str, int]
    rank: list[float]
    x: list[float]
    category: list[int]  # index into categories
    categories: tuple[str, ...]
    accessible: bytearray
    blocked: bytearray
    link: bytearray
    row: list[int]  # global row number of each seat
    row_start: list[int]  # first seat of each global row
    row_end: list[int]  # one past its last seat
    row_section: list[int]
    row_label: list[str]
    row_order: list[int]  # position of the row in its section (front = 0)
    section_rows: list[range]  # global row numbers of each section
    section_names: list[str]


@dataclass(frozen=True)
class Layout:
    """A seat map. Build it once per assignment; it is immutable and indexes itself lazily."""

    sections: tuple[Section, ...]
    stage_x: float | None = None  # None: centre of the map's x extent
    lateral_weight: float = LATERAL_WEIGHT

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))
        seen: set[str] = set()
        for seat in self.seats():
            if seat.id in seen:
                raise ValueError(f"duplicate seat id {seat.id!r}")
            seen.add(seat.id)

    def seats(self) -> Iterator[Seat]:
        for section in self.sections:
            for row in section.rows:
                yield from row.seats

    def __len__(self) -> int:
        return len(self.index.ids)

    def __contains__(self, seat_id: object) -> bool:
        return seat_id in self.index.position

    @cached_property
    def _seat_list(self) -> list[Seat]:
        return list(self.seats())

    @cached_property
    def index(self) -> SeatIndex:
        seats = self._seat_list
        xs = [s.x for s in seats]
        centre = self.stage_x
        if centre is None:
            centre = (min(xs) + max(xs)) / 2 if xs else 0.0
        w = self.lateral_weight
        categories = tuple(sorted({s.category for s in seats}))
        cat_no = {c: i for i, c in enumerate(categories)}
        link = bytearray(len(seats))
        row_of: list[int] = []
        row_start: list[int] = []
        row_end: list[int] = []
        row_section: list[int] = []
        row_label: list[str] = []
        row_order: list[int] = []
        section_rows: list[range] = []
        i = 0
        for s_no, section in enumerate(self.sections):
            first = len(row_start)
            for r_no, row in enumerate(section.rows):
                g = len(row_start)
                row_start.append(i)
                for j in range(len(row.seats)):
                    link[i + j] = row.adjacent(j)
                i += len(row.seats)
                row_end.append(i)
                row_section.append(s_no)
                row_label.append(row.label)
                row_order.append(r_no)
                row_of.extend([g] * len(row.seats))
            section_rows.append(range(first, len(row_start)))
        return SeatIndex(
            ids=[s.id for s in seats],
            position={s.id: i for i, s in enumerate(seats)},
            rank=[s.rank if s.rank is not None else s.y + w * abs(s.x - centre) for s in seats],
            x=xs,
            category=[cat_no[s.category] for s in seats],
            categories=categories,
            accessible=bytearray(s.accessible for s in seats),
            blocked=bytearray(s.blocked for s in seats),
            link=link,
            row=row_of,
            row_start=row_start,
            row_end=row_end,
            row_section=row_section,
            row_label=row_label,
            row_order=row_order,
            section_rows=section_rows,
            section_names=[s.name for s in self.sections],
        )

    @property
    def categories(self) -> tuple[str, ...]:
        return self.index.categories

    def seat(self, seat_id: str) -> Seat:
        return self._seat_list[self.index.position[seat_id]]

    def rank(self, seat_id: str) -> float:
        """The seat's rank (explicit or derived); lower is better."""
        return self.index.rank[self.index.position[seat_id]]

    def adjacent(self, a: str, b: str) -> bool:
        """Whether two seats are side by side (same row, consecutive, no break)."""
        ix = self.index
        i, j = sorted((ix.position[a], ix.position[b]))
        return j == i + 1 and bool(ix.link[i])

    def groups(self, seat_ids: Iterable[str]) -> tuple[SeatGroup, ...]:
        """The seats cut into runs of side-by-side seats, in map order."""
        ix = self.index
        order = sorted(ix.position[s] for s in seat_ids)
        out: list[list[int]] = []
        for i in order:
            if out and out[-1][-1] == i - 1 and ix.link[i - 1]:
                out[-1].append(i)
            else:
                out.append([i])
        return tuple(
            SeatGroup(ix.section_names[ix.row_section[ix.row[g[0]]]], ix.row_label[ix.row[g[0]]],
                      tuple(ix.ids[i] for i in g))
            for g in out)

    def formation(self, seat_ids: Iterable[str]) -> str:
        """ROW, STACKED or SPLIT for the seats of one party (see the constants)."""
        ix = self.index
        order = sorted(ix.position[s] for s in seat_ids)
        runs: list[list[int]] = []
        for i in order:
            if runs and runs[-1][-1] == i - 1 and ix.link[i - 1]:
                runs[-1].append(i)
            else:
                runs.append([i])
        if len(runs) <= 1:
            return ROW
        rows = [ix.row[r[0]] for r in runs]
        if (len(runs) > max_stack_rows(len(order))
                or len(set(ix.row_section[g] for g in rows)) != 1
                or any(b != a + 1 for a, b in zip(rows, rows[1:]))):
            return SPLIT
        spans = [(ix.x[r[0]], ix.x[r[-1]]) for r in runs]
        if all(a0 <= b1 and b0 <= a1 for (a0, a1), (b0, b1) in zip(spans, spans[1:])):
            return STACKED
        return SPLIT


def grid(rows: int, seats: int, *, section: str = "main", category: str = "standard",
         breaks: Iterable[int] = (), pitch: float = 1.0, **attributes: Iterable[tuple[int, int]]
         ) -> Section:
    """A rectangular section for tests and examples: row ``r`` at ``y = r + 1``, seat ``s`` at
    ``x = s * pitch``; ids ``"{section}-{row}-{seat}"`` with rows lettered A, B, … and seats
    numbered from 1. ``breaks`` applies to every row; ``accessible=[(row, seat), …]``,
    ``blocked=…``, ``aisle=…`` mark single seats (0-based)."""
    marks = {name: set(map(tuple, cells)) for name, cells in attributes.items()}
    unknown = set(marks) - {"accessible", "blocked", "aisle"}
    if unknown:
        raise TypeError(f"unknown seat attributes {sorted(unknown)}")
    out = []
    for r in range(rows):
        label = _row_label(r)
        out.append(Row(label, tuple(
            Seat(f"{section}-{label}-{s + 1}", str(s + 1), s * pitch, float(r + 1), category,
                 **{name: (r, s) in cells for name, cells in marks.items()})
            for s in range(seats)), frozenset(breaks)))
    return Section(section, tuple(out))


def _row_label(r: int) -> str:
    label = ""
    r += 1
    while r:
        r, rem = divmod(r - 1, 26)
        label = chr(65 + rem) + label
    return label


__all__ = ["GAP_FACTOR", "LATERAL_WEIGHT", "ROW", "STACKED", "SPLIT", "Seat", "Row", "Section",
           "SeatGroup", "SeatIndex", "Layout", "infer_breaks", "grid", "max_stack_rows"]
