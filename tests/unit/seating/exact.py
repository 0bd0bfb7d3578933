"""Exact answers for small seating instances, the oracle of the property tests.

Written from the rules, not from the algorithm: it walks ``Section``/``Row``/``Seat``
objects (not the flattened index the algorithm uses) and tries everything.

* :func:`max_seated`: the most newcomers any assignment can seat (bipartite matching).
* :func:`together`: an assignment seating every party together, or None. A party sits in
  one category (the one its members asked for, if any); "together" is one run of
  side-by-side free seats in one row, or, with ``stacked``, one run per row in consecutive
  rows of one section with each part's x range overlapping the next one's, in at most
  ``max_stack_rows(size)`` rows.
* :func:`violations`: what an assignment breaks (empty when valid).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from services.seating.assignment.assign import Request
from services.seating.assignment.layout import Layout, Seat, max_stack_rows


def _free(layout: Layout, taken: Mapping[str, str]) -> set[str]:
    return {s.id for s in layout.seats() if not s.blocked and s.id not in taken}


def _newcomers(requests: Sequence[Request], taken: Mapping[str, str]) -> list[Request]:
    seated = set(taken.values())
    return [r for r in requests if r.registration not in seated]


def _fits(r: Request, seat: Seat) -> bool:
    return (r.category is None or seat.category == r.category) and (
        not r.accessible or seat.accessible)


def violations(layout: Layout, requests: Sequence[Request], taken: Mapping[str, str],
               assignments: Mapping[str, str]) -> list[str]:
    out = []
    free = _free(layout, taken)
    by_reg = {r.registration: r for r in requests}
    new = {r.registration for r in _newcomers(requests, taken)}
    seen: dict[str, str] = {}
    for reg, seat_id in assignments.items():
        if reg not in new:
            out.append(f"{reg} was not to be seated")
            continue
        if seat_id in seen:
            out.append(f"{seat_id} given to {seen[seat_id]} and {reg}")
        seen[seat_id] = reg
        if seat_id not in free:
            out.append(f"{reg} on {seat_id}, which is blocked, taken or unknown")
        elif not _fits(by_reg[reg], layout.seat(seat_id)):
            out.append(f"{reg} on {seat_id}, which breaks its category or accessibility")
    return out


def max_seated(layout: Layout, requests: Sequence[Request], taken: Mapping[str, str]) -> int:
    seats = [layout.seat(s) for s in sorted(_free(layout, taken))]
    people = _newcomers(requests, taken)
    options = [[j for j, s in enumerate(seats) if _fits(r, s)] for r in people]
    holder: dict[int, int] = {}

    def augment(p: int, visited: set[int]) -> bool:
        for j in options[p]:
            if j in visited:
                continue
            visited.add(j)
            if j not in holder or augment(holder[j], visited):
                holder[j] = p
                return True
        return False

    return sum(augment(p, set()) for p in range(len(people)))


def parties(requests: Sequence[Request]) -> list[list[Request]]:
    groups: dict[str, list[Request]] = {}
    for r in requests:
        groups.setdefault(r.party if r.party is not None else "\0" + r.registration, []).append(r)
    return list(groups.values())


def _windows(layout: Layout, free: set[str], size: int) -> Iterator[tuple[int, int, list[Seat]]]:
    """(section number, row number, seats) for every run of ``size`` side-by-side free seats."""
    for s_no, section in enumerate(layout.sections):
        for r_no, row in enumerate(section.rows):
            for a in range(len(row.seats) - size + 1):
                seats = row.seats[a:a + size]
                if all(s.id in free for s in seats) and all(
                        row.adjacent(i) for i in range(a, a + size - 1)):
                    yield s_no, r_no, list(seats)


def _compositions(k: int, m: int) -> Iterator[list[int]]:
    if m == 1:
        yield [k]
        return
    for first in range(1, k - m + 2):
        for rest in _compositions(k - first, m - 1):
            yield [first] + rest


def _placements(layout: Layout, free: set[str], members: list[Request], stacked: bool
                ) -> list[list[Seat]]:
    k = len(members)
    asked = {r.category for r in members if r.category is not None}
    if len(asked) > 1:
        return []
    need = sum(r.accessible for r in members)

    def ok(seats: list[Seat]) -> bool:
        cats = {s.category for s in seats}
        return (len(cats) == 1 and (not asked or cats == asked)
                and sum(s.accessible for s in seats) >= need)

    out = [seats for _, _, seats in _windows(layout, free, k) if ok(seats)]
    if not stacked:
        return out
    for s_no, section in enumerate(layout.sections):
        for m in range(2, min(max_stack_rows(k), len(section.rows)) + 1):
            for r0 in range(len(section.rows) - m + 1):
                for sizes in _compositions(k, m):
                    per_row = []
                    for j, t in enumerate(sizes):
                        per_row.append([w for sn, rn, w in _windows(layout, free, t)
                                        if sn == s_no and rn == r0 + j])
                    out.extend(p for p in _chains(per_row) if ok(p))
    return out


def _chains(per_row: list[list[list[Seat]]]) -> Iterator[list[Seat]]:
    def rec(j: int, prev: list[Seat] | None, acc: list[Seat]):
        if j == len(per_row):
            yield acc
            return
        for w in per_row[j]:
            if prev is None or (w[0].x <= prev[-1].x and prev[0].x <= w[-1].x):
                yield from rec(j + 1, w, acc + w)

    yield from rec(0, None, [])


def together(layout: Layout, requests: Sequence[Request], taken: Mapping[str, str],
             stacked: bool = False) -> dict[str, str] | None:
    """Seat every newcomer with all parties together, or None if that is impossible."""
    free = _free(layout, taken)
    groups = [g for g in parties(_newcomers(requests, taken))]
    options = [_placements(layout, free, g, stacked) for g in groups]
    order = sorted(range(len(groups)), key=lambda j: len(options[j]))
    failed: set[tuple[int, frozenset[str]]] = set()

    def dfs(d: int, used: frozenset[str]) -> dict[str, str] | None:
        if d == len(order):
            return {}
        if (d, used) in failed:
            return None
        members = groups[order[d]]
        for seats in options[order[d]]:
            ids = {s.id for s in seats}
            if ids & used:
                continue
            rest = dfs(d + 1, used | ids)
            if rest is not None:
                # needers on accessible seats, the others on the rest
                people = sorted(members, key=lambda r: not r.accessible)
                spots = sorted(seats, key=lambda s: not s.accessible)
                rest.update({r.registration: s.id for r, s in zip(people, spots)})
                return rest
        failed.add((d, used))
        return None

    return dfs(0, frozenset())
