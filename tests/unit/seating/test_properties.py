"""Property tests of the seat assignment over random small maps and parties, checked
against the exact solver of ``exact.py``. (This directory has no ``__init__.py``, so pytest
puts it on ``sys.path`` and ``exact`` imports as a top-level module; with a package here it
would become ``from .exact import …``.)"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exact import max_seated, parties, together, violations
from services.seating.assignment.assign import Request, assign, measure
from services.seating.assignment.layout import ROW, SPLIT, Layout, Row, Seat, Section

CATEGORIES = ("standard", "vip")
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def seat_maps(draw) -> Layout:
    sections = []
    for s_no in range(draw(st.integers(1, 2))):
        rows = []
        for r in range(draw(st.integers(1, 3))):
            n = draw(st.integers(1, 8))
            explicit = draw(st.booleans())
            seats = tuple(
                Seat(f"{s_no}{chr(65 + r)}{i}", str(i), x=float(i + 10 * s_no), y=float(r + 1),
                     category=draw(st.sampled_from(CATEGORIES + ("standard",) * 2)),
                     accessible=draw(st.integers(0, 4)) == 0,
                     blocked=draw(st.integers(0, 9)) == 0,
                     rank=float(draw(st.integers(0, 5))) if explicit else None)
                for i in range(n))
            breaks = frozenset(i for i in range(n - 1) if draw(st.integers(0, 6)) == 0)
            rows.append(Row(chr(65 + r), seats, breaks))
        sections.append(Section(f"s{s_no}", tuple(rows)))
    return Layout(tuple(sections))


@st.composite
def instances(draw):
    layout = draw(seat_maps())
    usable = [s.id for s in layout.seats() if not s.blocked]
    taken = {s: f"out{n}" for n, s in enumerate(usable) if draw(st.integers(0, 6)) == 0}
    requests = []
    order = draw(st.permutations(range(40)))
    n = 0
    for p in range(draw(st.integers(1, 6))):
        size = draw(st.integers(1, 4))
        category = draw(st.sampled_from((None, None) + CATEGORIES))
        band = draw(st.integers(0, 1))
        for _ in range(size):
            requests.append(Request(
                f"r{n}", order[n], band=band, party=f"p{p}" if size > 1 else None,
                # now and then a member without the party's preference
                category=category if draw(st.integers(0, 5)) else None,
                accessible=draw(st.integers(0, 6)) == 0))
            n += 1
    return layout, taken, requests


def _formations(layout, requests, taken, result):
    seats = dict(result.assignments)
    out = []
    for members in parties(requests):
        ids = [seats.get(r.registration) for r in members if r.registration not in taken.values()]
        out.append(SPLIT if None in ids else layout.formation(ids))
    return out


@SETTINGS
@given(instances())
def test_assignment_is_valid(instance):
    layout, taken, requests = instance
    result = assign(layout, requests, taken)
    assert violations(layout, requests, taken, result.assignments) == []
    assert len(set(result.assignments.values())) == len(result.assignments)
    unseated = {u.registration for u in result.unseated}
    assert unseated.isdisjoint(result.assignments)
    assert unseated | set(result.assignments) == {r.registration for r in requests}
    # the result's own score agrees with one computed from scratch
    again = measure(layout, requests, result.assignments, taken)
    assert again.mean_rank_by_band == pytest.approx(result.quality.mean_rank_by_band)
    assert replace(again, mean_rank_by_band={}) == replace(result.quality, mean_rank_by_band={})
    # every split is listed; a split party with someone unseated counts as incomplete
    q = result.quality
    assert q.split <= len(result.splits) <= q.split + q.incomplete


@SETTINGS
@given(instances())
def test_seats_as_many_as_possible(instance):
    layout, taken, requests = instance
    result = assign(layout, requests, taken)
    assert len(result.assignments) == max_seated(layout, requests, taken)


@SETTINGS
@given(instances())
def test_parties_together_whenever_possible(instance):
    layout, taken, requests = instance
    result = assign(layout, requests, taken)
    formations = _formations(layout, requests, taken, result)
    in_rows = together(layout, requests, taken)
    if in_rows is not None:
        assert violations(layout, requests, taken, in_rows) == []  # the oracle itself
        assert set(formations) == {ROW}, (formations, in_rows, result)
    elif together(layout, requests, taken, stacked=True) is not None:
        assert SPLIT not in formations, (formations, result)
        assert not result.splits


@SETTINGS
@given(instances(), st.data())
def test_rerun_seats_only_newcomers(instance, data):
    layout, taken, requests = instance
    cut = data.draw(st.integers(0, len(requests)))
    first = assign(layout, requests[:cut], taken)
    now_taken = dict(taken) | {seat: reg for reg, seat in first.assignments.items()}
    second = assign(layout, requests, now_taken)
    assert violations(layout, requests, now_taken, second.assignments) == []
    assert set(second.assignments).isdisjoint(first.assignments)
    # a second run with nothing new changes nothing
    done = now_taken | {seat: reg for reg, seat in second.assignments.items()}
    assert assign(layout, requests, done).assignments == {}


@SETTINGS
@given(instances())
def test_higher_priority_never_ranks_worse_among_equals(instance):
    layout, taken, requests = instance
    result = assign(layout, requests, taken)
    singles = [r for r in requests if r.party is None and r.registration in result.assignments]
    for a in singles:
        for b in singles:
            if (a.band, a.order) < (b.band, b.order) and (a.category, a.accessible) == (
                    b.category, b.accessible):
                assert layout.rank(result.assignments[a.registration]) <= layout.rank(
                    result.assignments[b.registration]) + 1e-9


@SETTINGS
@given(instances())
def test_deterministic(instance):
    layout, taken, requests = instance
    assert assign(layout, requests, taken) == assign(layout, requests, taken)
