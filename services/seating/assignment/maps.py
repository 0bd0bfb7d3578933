"""A stored seat map (``models.seatmaps``) as the assignment's :class:`Layout`."""

from __future__ import annotations

from models.seatmaps import MapSpec, seat_id
from services.seating.assignment.layout import Layout, Row, Seat, Section


def layout_of(spec: MapSpec) -> Layout:
    """The map's sections, rows (seats left to right; explicit ``breaks_after`` or the
    inferred breaks) and seats, with ids as assignments store them."""
    sections = []
    for section in spec.sections:
        rows = []
        for row in section.rows:
            seats = tuple(
                Seat(seat_id(section.name, row.label, s.label), s.label, s.x, s.y, s.category,
                     accessible="accessible" in s.attributes, aisle="aisle" in s.attributes,
                     blocked="blocked" in s.attributes, rank=s.rank)
                for s in row.seats)
            breaks = None
            if row.breaks_after:
                after = set(row.breaks_after)
                breaks = frozenset(i for i, s in enumerate(row.seats[:-1]) if s.label in after)
            rows.append(Row(row.label, seats, breaks))
        sections.append(Section(section.name, tuple(rows)))
    return Layout(tuple(sections), stage_x=spec.stage_x)
