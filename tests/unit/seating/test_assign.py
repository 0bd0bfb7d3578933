"""The seat map model and the assignment on small hand-made maps."""

from __future__ import annotations

import pytest

from services.seating.assignment.assign import (VIP, Options, Reason, Request, SplitReason,
                                                assign, measure)
from services.seating.assignment.layout import (ROW, SPLIT, STACKED, Layout, Row, Seat, Section,
                                                grid, infer_breaks)


def one_row(n: int, **attrs) -> Layout:
    return Layout((grid(1, n, **attrs),))


def party(name: str, size: int, first: int, **fields) -> list[Request]:
    return [Request(f"{name}{i}", first + i, party=name if size > 1 else None, **fields)
            for i in range(size)]


def seats_of(result, requests) -> list[str]:
    return [result.assignments[r.registration] for r in requests]


def numbers(seat_ids) -> list[int]:
    return sorted(int(s.rsplit("-", 1)[1]) for s in seat_ids)


# -- the seat map ---------------------------------------------------------------------


def test_gaps_and_aisle_pairs_break_adjacency():
    seats = [Seat(str(i), str(i), x, 1.0, aisle=i in (3, 4)) for i, x in
             enumerate([0, 1, 2, 5, 6, 7])]
    assert infer_breaks(seats) == {2, 3}  # the gap 2 → 5, and two aisle seats side by side
    row = Row("A", tuple(seats))
    assert [len(b) for b in row.blocks()] == [3, 1, 2]


def test_explicit_breaks_override_inference():
    row = Row("A", tuple(Seat(str(i), str(i), i * 3.0, 1.0) for i in range(4)), frozenset({0}))
    assert not row.adjacent(0) and row.adjacent(1) and row.adjacent(2)


def test_seats_must_go_left_to_right_and_ids_be_unique():
    with pytest.raises(ValueError):
        Row("A", (Seat("a", "1", 2.0, 1.0), Seat("b", "2", 1.0, 1.0)))
    row = Row("A", (Seat("a", "1", 0.0, 1.0),))
    with pytest.raises(ValueError):
        Layout((Section("s", (row,)), Section("t", (row,))))


def test_default_rank_prefers_the_stage_and_the_centre():
    layout = Layout((grid(2, 5),))  # rows at y = 1, 2; x = 0..4, centre 2
    assert layout.rank("main-A-3") == 1.0
    assert layout.rank("main-A-1") == 1.0 + 0.5 * 2
    assert layout.rank("main-B-3") == 2.0
    explicit = Layout((Section("s", (Row("A", (Seat("a", "1", 0.0, 9.0, rank=0.5),)),)),))
    assert explicit.rank("a") == 0.5


def test_formation_of_seat_groups():
    layout = Layout((grid(3, 6, breaks=[2]),))
    assert layout.formation(["main-A-1", "main-A-2", "main-A-3"]) == ROW
    assert layout.formation(["main-A-3", "main-A-4"]) == SPLIT  # across the aisle
    assert layout.formation(["main-A-1", "main-A-2", "main-B-2"]) == STACKED
    assert layout.formation(["main-A-1", "main-C-1"]) == SPLIT  # a row in between
    assert layout.formation(["main-A-1", "main-B-3"]) == SPLIT  # not behind each other
    assert [g.seats for g in layout.groups(["main-A-1", "main-A-2", "main-B-2"])] == [
        ("main-A-1", "main-A-2"), ("main-B-2",)]


# -- assignment -----------------------------------------------------------------------


def test_a_party_sits_side_by_side_in_the_best_seats():
    layout = one_row(9)
    group = party("p", 3, 0)
    result = assign(layout, group)
    assert numbers(seats_of(result, group)) == [4, 5, 6]  # the centre of the row
    assert result.quality.together_share == 1.0 and result.quality.in_one_row == 1


def test_an_aisle_breaks_a_run():
    layout = one_row(8, breaks=[3])  # blocks 1-4 and 5-8
    group = party("p", 3, 0)
    result = assign(layout, group)
    assert layout.formation(seats_of(result, group)) == ROW
    assert numbers(seats_of(result, group)) in ([2, 3, 4], [5, 6, 7])


def test_blocked_seats_are_never_used_and_end_a_run():
    layout = one_row(6, blocked=[(0, 2)])
    group = party("p", 3, 0)
    result = assign(layout, group)
    assert numbers(seats_of(result, group)) == [4, 5, 6]
    full = assign(layout, party("q", 6, 0))
    assert "main-A-3" not in full.assignments.values()
    assert [u.reason for u in full.unseated] == [Reason.MAP_FULL]


def test_categories_are_met():
    layout = Layout((grid(1, 4, category="VIP"), grid(1, 4, section="back", category="standard")))
    vip = Request("v", 2, category="VIP")
    std = Request("s", 1, category="standard")
    lost = Request("x", 3, category="press")
    result = assign(layout, [vip, std, lost])
    assert layout.seat(result.assignments["v"]).category == "VIP"
    assert layout.seat(result.assignments["s"]).category == "standard"
    assert [(u.registration, u.reason) for u in result.unseated] == [
        ("x", Reason.NO_SUCH_CATEGORY)]
    crowd = [Request(f"c{i}", i, category="VIP") for i in range(5)]
    assert {u.reason for u in assign(layout, crowd).unseated} == {Reason.CATEGORY_FULL}


def test_a_flexible_request_leaves_the_category_seat_to_who_asked_for_it():
    layout = Layout((grid(1, 1, category="VIP"), grid(1, 1, section="back")))
    first = Request("any", 0, band=VIP)  # better priority, no category
    second = Request("vip", 1, category="VIP")
    result = assign(layout, [first, second])
    assert result.assignments == {"any": "back-A-1", "vip": "main-A-1"}


def test_accessibility_is_met_and_mixed_parties_stay_together():
    layout = one_row(8, accessible=[(0, 0)])  # seat 1, at the end of the row
    group = party("p", 3, 0)
    group[1] = Request("p1", 1, party="p", accessible=True)
    result = assign(layout, group)
    assert result.assignments["p1"] == "main-A-1"
    assert numbers(seats_of(result, group)) == [1, 2, 3]
    assert result.quality.in_one_row == 1


def test_accessible_seats_are_kept_for_those_who_need_them():
    layout = one_row(3, accessible=[(0, 1)])  # the best seat is the accessible one
    early = Request("early", 0, band=VIP)
    needs = Request("needs", 1, accessible=True)
    result = assign(layout, [early, needs])
    assert result.assignments["needs"] == "main-A-2"
    assert not result.unseated


def test_unseated_reasons_for_accessibility():
    nothing = assign(one_row(3), [Request("a", 0, accessible=True)])
    assert nothing.unseated[0].reason == Reason.NO_ACCESSIBLE_SEAT
    layout = one_row(3, accessible=[(0, 0)])
    full = assign(layout, [Request("a", 0, accessible=True)], taken={"main-A-1": "other"})
    assert full.unseated[0].reason == Reason.ACCESSIBLE_FULL


def test_taken_seats_are_kept_and_seated_registrations_not_moved():
    layout = one_row(5)
    taken = {"main-A-3": "old"}
    requests = [Request("old", 0), Request("new", 1)]
    result = assign(layout, requests, taken)
    assert result.assignments == {"new": "main-A-2"}
    assert result.quality.seated == 1


def test_a_rerun_seats_only_the_newcomers():
    layout = Layout((grid(2, 6),))
    first = party("p", 2, 0) + party("q", 3, 2)
    done = assign(layout, first)
    taken = {seat: reg for reg, seat in done.assignments.items()}
    later = first + [Request("late", 9)]
    again = assign(layout, later, taken)
    assert list(again.assignments) == ["late"]
    assert again.assignments["late"] not in taken


def test_a_newcomer_joins_the_party_seated_before():
    layout = one_row(9)
    taken = {"main-A-4": "p0", "main-A-5": "p1"}
    group = party("p", 3, 0)
    result = assign(layout, group, taken)
    assert result.assignments["p2"] in ("main-A-3", "main-A-6")
    assert result.quality.in_one_row == 1


def test_a_newcomer_with_no_room_next_to_the_party_is_reported():
    layout = one_row(9)
    taken = {"main-A-3": "x", "main-A-4": "p0", "main-A-5": "p1", "main-A-6": "y"}
    result = assign(layout, party("p", 3, 0), taken)
    assert [s.reason for s in result.splits] == [SplitReason.SEATED_ELSEWHERE]
    assert result.quality.split == 1


def test_parties_stack_in_the_fewest_rows_behind_each_other():
    layout = Layout((grid(3, 4, breaks=[1]),))  # blocks of two seats, three rows
    group = party("p", 4, 0)
    result = assign(layout, group)
    assert result.splits == ()
    [stacked] = result.stacked
    assert len(stacked.groups) == 2  # two rows of two, not three rows
    assert {g.row for g in stacked.groups} in ({"A", "B"}, {"B", "C"})
    assert layout.formation(seats_of(result, group)) == STACKED


def test_a_split_is_reported_when_nothing_else_fits():
    layout = one_row(6, breaks=[2])  # two blocks of three, one row
    group = party("p", 5, 0)
    result = assign(layout, group)
    assert len(result.assignments) == 5
    [split] = result.splits
    assert split.party == "p" and split.reason == SplitReason.NO_ROOM
    assert sorted(len(g.seats) for g in split.groups) == [2, 3]
    assert result.quality.split == 1 and result.quality.together_share == 0.0


def test_members_asking_for_different_categories_are_a_reported_split():
    layout = Layout((grid(1, 3, category="VIP"), grid(1, 3, section="back")))
    group = [Request("a", 0, party="p", category="VIP"), Request("b", 1, party="p")]
    group.append(Request("c", 2, party="p", category="standard"))
    result = assign(layout, group)
    assert len(result.assignments) == 3
    assert [s.reason for s in result.splits] == [SplitReason.CATEGORIES]


def test_a_row_is_repacked_to_keep_a_party_together():
    layout = one_row(5)
    alone = Request("alone", 0)  # takes the centre, leaving 2 + 2
    group = party("p", 4, 1)
    result = assign(layout, [alone, *group], options=Options(exact_limit=0))
    assert layout.formation(seats_of(result, group)) == ROW
    assert result.assignments["alone"] in ("main-A-1", "main-A-5")


def test_vip_gets_the_better_rank_then_registration_order():
    layout = Layout((grid(3, 1),))  # one seat per row: ranks 1, 2, 3
    late_vip = Request("vip", 5, band=VIP)
    early, later = Request("early", 1), Request("later", 2)
    result = assign(layout, [early, later, late_vip])
    ranks = {r: layout.rank(s) for r, s in result.assignments.items()}
    assert ranks["vip"] < ranks["early"] < ranks["later"]
    assert result.quality.mean_rank_by_band[VIP] == ranks["vip"]


def test_largest_first_is_an_option():
    layout = one_row(6)
    requests = [Request("one", 0)] + party("p", 5, 1)
    by_size = assign(layout, requests, options=Options(order="size", exact_limit=0,
                                                       repair=False))
    assert layout.formation(seats_of(by_size, requests[1:])) == ROW
    with pytest.raises(ValueError):
        assign(layout, requests, options=Options(order="alphabetical"))


def test_bad_input_is_refused():
    layout = one_row(3)
    with pytest.raises(ValueError, match="twice"):
        assign(layout, [Request("a", 0), Request("a", 1)])
    with pytest.raises(ValueError, match="not on the map"):
        assign(layout, [Request("a", 0)], taken={"nowhere": "b"})


def test_progress_is_reported():
    calls = []
    assign(one_row(10), [Request(str(i), i) for i in range(7)],
           options=Options(progress=lambda done, total: calls.append((done, total)),
                           progress_every=3))
    assert calls == [(3, 7), (6, 7), (7, 7)]


def test_measure_scores_any_assignment():
    layout = one_row(6, breaks=[2])
    requests = party("p", 2, 0) + party("q", 2, 2)
    quality = measure(layout, requests, {"p0": "main-A-1", "p1": "main-A-2",
                                         "q0": "main-A-3", "q1": "main-A-4"})
    assert (quality.parties, quality.in_one_row, quality.split) == (2, 1, 1)
    assert quality.together_share == 0.5
