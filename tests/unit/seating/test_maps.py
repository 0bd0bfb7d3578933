"""A stored seat map becomes the assignment's Layout with the same seats, ids and adjacency."""

from models.seatmap_files import parse_map
from services.seating.assignment.layout import ROW, SPLIT
from services.seating.assignment.maps import layout_of


def row(label, xs, marks=None, **extra):
    """A row of seats labelled 1, 2, … at ``xs``; ``marks`` adds fields to seat number n."""
    marks = marks or {}
    return {"label": label, "seats": [{"label": str(i + 1), "x": x, "y": 1 if label == "A" else 2,
                                       "category": "standard", **marks.get(i + 1, {})}
                                      for i, x in enumerate(xs)], **extra}


def test_ids_attributes_and_ranks_carry_over():
    spec = parse_map({"sections": [{"name": "Stalls", "rows": [
        row("A", [0, 1, 2], {1: {"attributes": ["accessible"]}, 3: {"attributes": ["blocked"],
                                                                    "rank": 0.5}}),
    ]}]})
    layout = layout_of(spec)
    assert [s.id for s in layout.seats()] == ["Stalls/A/1", "Stalls/A/2", "Stalls/A/3"]
    assert layout.seat("Stalls/A/1").accessible and not layout.seat("Stalls/A/2").accessible
    assert layout.seat("Stalls/A/3").blocked
    assert layout.rank("Stalls/A/3") == 0.5


def test_explicit_breaks_and_inferred_gaps_cut_adjacency():
    spec = parse_map({"sections": [{"name": "S", "rows": [
        row("A", [0, 1, 2, 3], breaks_after=["2"]),
        row("B", [0, 1, 5, 6]),  # a gap of 4 pitches: an aisle between seats 2 and 3
    ]}]})
    layout = layout_of(spec)
    assert layout.adjacent("S/A/1", "S/A/2")
    assert not layout.adjacent("S/A/2", "S/A/3")
    assert layout.adjacent("S/A/3", "S/A/4")
    assert not layout.adjacent("S/B/2", "S/B/3")
    assert layout.formation(["S/A/1", "S/A/2"]) == ROW
    assert layout.formation(["S/A/2", "S/A/3"]) == SPLIT


def test_seats_given_out_of_order_sit_left_to_right():
    spec = parse_map({"sections": [{"name": "S", "rows": [row("A", [2, 0, 1])]}]})
    layout = layout_of(spec)
    assert [s.x for s in layout.seats()] == [0, 1, 2]
    assert layout.adjacent("S/A/2", "S/A/3")  # x = 0 and x = 1
