"""Automatic seat assignment: seat approved registrations that have no seat yet.

Pure function, no I/O: :func:`assign` takes the map, the seats already taken and the
requests, and returns who sits where, who could not be seated and why, which parties had
to be split or stacked, and a quality score. The task that wires it to the database holds
the conference lock, reads the state, calls it, writes the batch and pushes progress
(``Options.progress``).

What the result guarantees (the property tests hold it to these):

* Taken seats are kept and never reused; blocked seats are never used; no seat gets two
  people. A registration that already has a seat keeps it (re-runs seat newcomers only).
* A requested category is met; whoever needs accessibility sits on an accessible seat.
  Everyone who can be seated is: the number seated is the maximum any assignment reaches.
* Parties sit together: side by side in one row (a run of adjacent free seats of one
  category); when no row can take them, in the fewest rows directly behind each other
  (see ``layout.STACKED``); otherwise split, and every split is reported. On small
  instances (``Options.exact_limit``) this holds exactly: whenever an assignment keeping
  every party together exists, the result keeps every party together.
* Better-ranked seats go to higher priority: band first (VIP = 0), then registration order.

How:

1. Parties become *units* (a party, or the part of it that asked for one category). Units
   with an accessibility need go first, in priority order: accessible seats are the
   scarce resource tied to a need. Then all others in priority order.
2. Free seats are kept as *runs* (maximal stretches of adjacent free seats of one
   category), in heaps bucketed by length and keyed by their best seat's rank: "the best
   run that can take k people" is a look at the top of at most (longest row) buckets,
   whatever the number of seats. The unit takes the best window of k seats in that run
   (lowest rank sum, ties to the run's edge, so a run is cut once rather than twice).
   Cost per unit: O(longest row + log runs); no pass over all seats or all parties.
3. When no run is long enough: a local repair re-places, by exact search under a node
   budget, the units of the row segments with the most free seats together with the new
   one. Then a stack of rows, found through an index of adjacent row pairs by capacity.
   Then a split into the fewest pieces (longest runs first).
4. A counting model of the remaining demand (categories × accessibility) vets the seat
   choices that could starve someone later (flexible requests, non-needers on accessible
   seats), which keeps the number seated maximal.
5. Small instances: if some party is still not in one row, an exact backtracking search
   over all placements tries again. Last, a polish pass gives the best of interchangeable
   placements (same size, same categories and needs) to the higher priority.

Why registration order and best rank rather than largest parties first or best fit
(both are options, measured by ``bench/seating.py``): on realistic maps all three keep
every party together up to 100 % fill, once the repair is in; largest-first breaks
registration order within a band (about 63 % of pairs in order against 98 %), and best
fit only costs time.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import accumulate

from tasks.seating.layout import ROW, SPLIT, STACKED, Layout, SeatGroup, max_stack_rows

VIP = 0
STANDARD = 1
EPS = 1e-9
STACK_CHAINS = 32  # feasible row chains compared per stacked party at most


class Reason(StrEnum):
    """Why a registration stayed unseated (stable codes for the API)."""

    NO_SUCH_CATEGORY = "no_such_category"  # the map has no usable seat of the requested category
    NO_ACCESSIBLE_SEAT = "no_accessible_seat"  # no usable accessible seat (of that category)
    ACCESSIBLE_FULL = "accessible_full"  # there are some, all taken
    CATEGORY_FULL = "category_full"  # every seat of the requested category is taken
    MAP_FULL = "map_full"  # no free seat left for this request


class SplitReason(StrEnum):
    NO_ROOM = "no_room"  # no run of seats or stacked block could take the whole party
    CATEGORIES = "categories"  # members asked for different categories
    SEATED_ELSEWHERE = "seated_elsewhere"  # members seated earlier had no room next to them


@dataclass(frozen=True, slots=True)
class Request:
    """One approved registration. Registrations that already have a seat may be passed too
    (the integration passes all approved ones): they keep their seat, and newcomers of
    their party are seated next to them when possible."""

    registration: str
    order: int  # registration order: lower registered earlier
    band: int = STANDARD  # priority band: lower goes first (VIP = 0)
    party: str | None = None  # people registered together share it; None = alone
    category: str | None = None  # None: any category (the party still sits in one)
    accessible: bool = False  # needs an accessible seat


@dataclass(frozen=True)
class Options:
    """Tuning; the defaults are what the benchmark measures as ``ours``."""

    order: str = "priority"  # band, then registration order; "size": largest first in a band
    fit_slack: float = 0.0  # > 0: the tightest run within this much rank of the best wins
    repair: bool = True  # re-place nearby parties by exact search before stacking or splitting
    repair_budget: int = 300_000  # search nodes all repairs of one call may spend together
    exact_limit: int = 12  # up to this many new units the exact search backs the greedy up
    exact_seats: int = 96  # ... and up to this many free seats (also the repair's area)
    exact_budget: int = 200_000  # search nodes before the exact search gives up
    progress: Callable[[int, int], None] | None = None  # (units done, units)
    progress_every: int = 500  # units between two progress calls


@dataclass(frozen=True, slots=True)
class Unseated:
    registration: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class PartySeating:
    """Where a party sits when that is not one row: ``formation`` is STACKED or SPLIT."""

    party: str
    formation: str
    groups: tuple[SeatGroup, ...]
    reason: SplitReason | None = None  # for SPLIT


@dataclass(frozen=True)
class Quality:
    seated: int  # registrations seated by this run
    unseated: int
    parties: int  # parties of two or more people with a member to seat in this run
    in_one_row: int
    stacked: int
    split: int
    incomplete: int  # parties with a member left unseated
    together_share: float  # (in_one_row + stacked) / parties; 1.0 when there are none
    mean_rank_by_band: dict[int, float]  # over the seats given by this run


@dataclass(frozen=True)
class Result:
    assignments: dict[str, str]  # registration → seat id, new ones only
    unseated: tuple[Unseated, ...]
    splits: tuple[PartySeating, ...]  # every split party, with its groups
    stacked: tuple[PartySeating, ...]  # parties seated in rows directly behind each other
    quality: Quality


def assign(layout: Layout, requests: Sequence[Request], taken: Mapping[str, str] | None = None,
           options: Options | None = None) -> Result:
    """Seat every request that has no seat yet.

    ``taken`` maps seat id → registration id for seats already occupied (kept as they are);
    requests whose registration appears there are not moved. Raises ValueError on a
    duplicate registration or a taken seat that is not on the map.
    """
    return _Solver(layout, requests, dict(taken or {}), options or Options()).run()


def measure(layout: Layout, requests: Sequence[Request], assignments: Mapping[str, str],
            taken: Mapping[str, str] | None = None) -> Quality:
    """The quality of an assignment (ours or any other): see :class:`Quality`."""
    taken = taken or {}
    before = {reg: seat for seat, reg in taken.items()}
    parties: dict[str, list[Request]] = defaultdict(list)
    for r in requests:
        if r.party is not None:
            parties[r.party].append(r)
    counts = {ROW: 0, STACKED: 0, SPLIT: 0, None: 0}
    n = 0
    for members in parties.values():
        if len(members) < 2 or all(m.registration in before for m in members):
            continue
        n += 1
        seats = [before.get(m.registration) or assignments.get(m.registration) for m in members]
        counts[None if None in seats else layout.formation(seats)] += 1
    by_band: dict[int, list[float]] = defaultdict(list)
    for r in requests:
        seat = assignments.get(r.registration)
        if seat is not None and r.registration not in before:
            by_band[r.band].append(layout.rank(seat))
    new = [r for r in requests if r.registration not in before]
    return Quality(
        seated=sum(r.registration in assignments for r in new),
        unseated=sum(r.registration not in assignments for r in new),
        parties=n, in_one_row=counts[ROW], stacked=counts[STACKED], split=counts[SPLIT],
        incomplete=counts[None],
        together_share=(counts[ROW] + counts[STACKED]) / n if n else 1.0,
        mean_rank_by_band={b: sum(v) / len(v) for b, v in sorted(by_band.items())})


# ---------------------------------------------------------------------------------------
# Internals. Seats are integers (positions in layout.index); a window is (a, b), seats a..b-1.


@dataclass(eq=False)
class _Unit:
    no: int
    party: str | None  # the party id (None for a registration alone)
    members: list[int]  # request numbers, needers first
    cats: tuple[int, ...]  # categories it may sit in
    flexible: bool  # no member asked for a category
    loose: int  # members without a category (their choice of category is vetted)
    needers: int
    prio: tuple[int, int]
    anchors: list[int] = field(default_factory=list)  # seats of party members seated before
    dropped: list[int] = field(default_factory=list)  # members nothing could seat
    split_reason: SplitReason | None = None
    kind: tuple = ()  # units of one kind can swap places (same size, categories, people)
    seats: list[int] = field(default_factory=list)  # aligned with members[:len(seats)]
    level: str | None = None  # ROW / STACKED / SPLIT once placed

    @property
    def k(self) -> int:
        return len(self.members)


class _Pool:
    """Free seats and pending people counted by type, to keep the number seated maximal.

    Seat types: (category, accessible). People: (category, or ``c`` for any, needs
    accessibility). :meth:`max_seated` matches them greedily, most constrained first,
    which is exact for this nested structure (the property tests compare it with a
    brute-force matching). Seating someone on a seat of their own kind never lowers the
    maximum (swap argument); only flexible people and non-needers on accessible seats
    need the check.
    """

    def __init__(self, n_cats: int):
        self.c = n_cats
        self.free = [[0, 0] for _ in range(n_cats)]  # [category][accessible]
        self.need = [0] * (n_cats + 1)
        self.plain = [0] * (n_cats + 1)
        self.needers = 0  # pending people who need accessibility
        self.constrained = 0  # pending people who asked for a category
        self.best = 0  # max_seated() now, kept up to date by the solver

    def max_seated(self) -> int:
        c = self.c
        acc = [f[1] for f in self.free]
        non = [f[0] for f in self.free]
        total = 0
        for i in range(c):
            m = min(self.need[i], acc[i])
            acc[i] -= m
            m2 = min(self.plain[i], non[i])
            non[i] -= m2
            m3 = min(self.plain[i] - m2, acc[i])
            acc[i] -= m3
            total += m + m2 + m3
        left_acc = sum(acc)
        m = min(self.need[c], left_acc)
        return total + m + min(self.plain[c], left_acc - m + sum(non))

    def people(self, types: Iterable[tuple[int, int]], sign: int) -> None:
        c = self.c
        for ci, needs in types:
            if needs:
                self.need[ci] += sign
                self.needers += sign
            else:
                self.plain[ci] += sign
            if ci != c:
                self.constrained += sign

    def seats(self, types: Iterable[tuple[int, int]], sign: int) -> None:
        free = self.free
        for c, a in types:
            free[c][a] += sign

    def allows(self, people: list[tuple[int, int]], seats: list[tuple[int, int]]) -> bool:
        """Whether seating ``people`` on ``seats`` keeps the maximum reachable."""
        self.people(people, -1)
        self.seats(seats, -1)
        after = self.max_seated()
        self.people(people, +1)
        self.seats(seats, +1)
        return after + len(people) >= self.best


class _Solver:
    def __init__(self, layout: Layout, requests: Sequence[Request], taken: dict[str, str],
                 options: Options):
        self.layout = layout
        self.opt = options
        ix = self.ix = layout.index
        n = len(ix.ids)
        self.requests = list(requests)
        self.rank = rank = ix.rank
        self.x = ix.x
        self.cat = cat = ix.category
        self.acc = acc = ix.accessible
        self.row = ix.row
        self.pre = [0.0, *accumulate(rank)]
        self.apre = [0, *accumulate(acc)]
        # A run never crosses a category boundary: a party sits in one category.
        self.link = bytearray(a and c == d for a, c, d in zip(ix.link, cat, cat[1:])) + b"\0"
        self.free = free = bytearray(ix.blocked.translate(_NOT))
        self.fixed = taken  # seat id → registration, kept as they are
        self.seated_before: dict[str, int] = {}
        for seat_id, reg in taken.items():
            i = ix.position.get(seat_id)
            if i is None:
                raise ValueError(f"taken seat {seat_id!r} is not on the map")
            free[i] = 0
            self.seated_before[reg] = i
        self.owner = [-1] * n  # unit number of the newcomer on each seat
        self.seat_of: dict[int, int] = {}  # request number → seat
        self.unseated: list[int] = []
        n_rows = len(ix.row_start)
        spans = list(zip(ix.row_start, ix.row_end))
        self.row_free = [sum(free[a:b]) for a, b in spans]
        self.row_head = [min(rank[a:b], default=math.inf) for a, b in spans]
        self.rows_by_rank = sorted(range(n_rows), key=lambda r: (self.row_head[r], r))
        self.maxlen = max((b - a for a, b in spans), default=0)
        self.max_section_rows = max((len(s) for s in ix.section_rows), default=0)
        self.acc_by_rank = sorted((i for i in range(n) if acc[i] and not ix.blocked[i]),
                                  key=lambda i: (rank[i], i))
        self._by_rank: list[int] | None = None
        self.repair_budget = options.repair_budget
        self.pair_heaps: list[list[tuple[float, int]]] | None = None  # see _stack_two
        self.maxrun: list[int] = []
        self.row_dirty: set[int] = set()
        self.row_version = [0] * n_rows  # bumped whenever a row's free runs change
        self.chain_cache: dict[tuple, tuple[list[int], list]] = {}
        self.spent = 0
        # Segments: maximal stretches of side-by-side seats of one category free at the
        # start; the repair re-places parties within them. They are also the first runs.
        self.segs = self._scan_runs(0, n, free)
        self.seg = [-1] * n
        self.segs_of_cat: list[list[int]] = [[] for _ in ix.categories]
        for g, (s, e) in enumerate(self.segs):
            self.segs_of_cat[cat[s]].append(g)
            self.seg[s:e] = [g] * (e - s)
        self.seg_free = [e - s for s, e in self.segs]
        self.seg_head = [min(rank[s:e]) for s, e in self.segs]
        self.seg_max = [max((self.segs[g][1] - self.segs[g][0] for g in gs), default=0)
                        for gs in self.segs_of_cat]
        self._index_runs(self.segs)
        self._build_units()

    # -- setup -----------------------------------------------------------------------

    def _build_units(self) -> None:
        """Group requests into units: a party, or the part of it that asked for one category."""
        ix, reqs = self.ix, self.requests
        cats = ix.categories
        c = len(cats)
        cat_no = {name: i for i, name in enumerate(cats)}
        usable = Counter((ix.category[i], ix.accessible[i]) for i in range(len(ix.ids))
                         if not ix.blocked[i])
        self.usable = [usable[(i, 0)] + usable[(i, 1)] for i in range(c)]
        self.usable_acc = [usable[(i, 1)] for i in range(c)]
        every = tuple(range(c))
        regs = [r.registration for r in reqs]
        if len(set(regs)) != len(regs):
            dup = next(reg for reg, n in Counter(regs).items() if n > 1)
            raise ValueError(f"registration {dup!r} is requested twice")
        # person type: (category number, c for any, -1 for none on the map; needs access)
        number = {None: c} | {name: i if self.usable[i] else -1 for name, i in cat_no.items()}
        self.ptype = ptype = [(number.get(r.category, -1), int(r.accessible)) for r in reqs]
        groups: dict[object, list[int]] = {}
        for no, r in enumerate(reqs):
            key = r.party if r.party is not None else (regs[no],)
            g = groups.get(key)
            if g is None:
                groups[key] = [no]
            else:
                g.append(no)
        units = self.units = []
        before = self.seated_before
        singles = [((i,), False) for i in range(c)] + [(every, True)]
        for key, nos in groups.items():
            if len(nos) == 1:  # the common case, kept cheap
                m = nos[0]
                r = reqs[m]
                ci, needs = ptype[m]
                if r.registration in before:
                    continue
                if ci < 0:
                    self.unseated.append(m)
                    continue
                u_cats, flexible = singles[ci]
                u = _Unit(len(units), r.party, [m], u_cats, flexible, int(flexible), needs,
                          (r.band, r.order))
                u.kind = (u_cats, 1, needs, int(flexible), needs if flexible else 0)
                units.append(u)
                continue
            party = key if isinstance(key, str) else None
            ci = ptype[nos[0]][0]
            if ci >= 0 and all(ptype[m][0] == ci for m in nos) and (
                    not before or not any(regs[m] in before for m in nos)):
                # a whole new party asking for one category (or none): one unit
                needers = [m for m in nos if ptype[m][1]]
                if needers:
                    nos.sort(key=lambda m: (not ptype[m][1], reqs[m].order))
                u_cats, flexible = singles[ci]
                n_loose = len(nos) if flexible else 0
                u = _Unit(len(units), party, nos, u_cats, flexible, n_loose, len(needers),
                          (min([reqs[m].band for m in nos]), min([reqs[m].order for m in nos])))
                u.kind = (u_cats, len(nos), len(needers), n_loose, len(needers) if flexible else 0)
                units.append(u)
                continue
            new = [m for m in nos if reqs[m].registration not in before]
            if not new:
                continue
            prio = (min([reqs[m].band for m in nos]), min([reqs[m].order for m in nos]))
            # Members asking for a category the map lacks cannot be seated at all.
            if any(ptype[m][0] < 0 for m in new):
                self.unseated.extend(m for m in new if ptype[m][0] < 0)
                new = [m for m in new if ptype[m][0] >= 0]
            by_cat: dict[int, list[int]] = {}
            for m in new:
                by_cat.setdefault(ptype[m][0], []).append(m)
            loose = by_cat.pop(c, [])
            if not by_cat:
                parts: list[tuple[int, list[int]]] = [(c, loose)] if loose else []
            else:
                # The largest part takes the members without a preference.
                ordered = sorted(by_cat.items(), key=lambda kv: (-len(kv[1]), kv[0]))
                parts = [(ci, ms + loose if j == 0 else ms) for j, (ci, ms) in enumerate(ordered)]
            reason = SplitReason.CATEGORIES if len(parts) > 1 else None
            for j, (ci, ms) in enumerate(parts):
                needers = [m for m in ms if ptype[m][1]]
                if needers:
                    ms.sort(key=lambda m: (not ptype[m][1], reqs[m].order))
                n_loose = len(loose) if j == 0 else 0
                u = _Unit(len(units), party, ms, every if ci == c else (ci,), ci == c, n_loose,
                          len(needers), prio, split_reason=reason,
                          anchors=[before[reqs[m].registration] for m in nos
                                   if reqs[m].registration in before] if j == 0 else [])
                u.kind = (u.cats, len(ms), len(needers), n_loose,
                          sum(ptype[m][0] == c for m in needers))
                units.append(u)
        self.pool = pool = _Pool(c)
        free, cat, acc = self.free, self.cat, self.acc
        pool.seats(((cat[i], acc[i]) for i in range(len(free)) if free[i]), +1)
        pool.people((ptype[m] for u in units for m in u.members), +1)
        pool.best = pool.max_seated()

    @property
    def by_rank(self) -> list[int]:
        if self._by_rank is None:
            rank = self.rank
            self._by_rank = sorted(range(len(rank)), key=lambda i: (rank[i], i))
        return self._by_rank

    def _scan_runs(self, lo: int, hi: int, free: bytearray) -> list[tuple[int, int]]:
        link = self.link
        out = []
        i = lo
        while i < hi:
            if not free[i]:
                i = free.find(1, i, hi)
                if i < 0:
                    break
            j = i + 1
            while j < hi and free[j] and link[j - 1]:
                j += 1
            out.append((i, j))
            i = j
        return out

    def _index_runs(self, runs: list[tuple[int, int]] | None = None) -> None:
        n = len(self.free)
        if runs is None:
            runs = self._scan_runs(0, n, self.free)
        self.run_end = [-1] * n
        buckets: list[list[list]] = [[[] for _ in range(self.maxlen + 1)]
                                     for _ in self.ix.categories]
        rank, cat, run_end = self.rank, self.cat, self.run_end
        for s, e in runs:
            run_end[s] = e
            buckets[cat[s]][e - s].append((min(rank[s:e]), s, e))
        for per_cat in buckets:
            for h in per_cat:
                heapq.heapify(h)
        self.heaps = buckets

    # -- runs ------------------------------------------------------------------------

    def _add_run(self, s: int, e: int) -> None:
        self.run_end[s] = e
        heapq.heappush(self.heaps[self.cat[s]][e - s], (min(self.rank[s:e]), s, e))

    def _run_at(self, i: int) -> tuple[int, int]:
        s = i
        free, link = self.free, self.link
        while s > 0 and free[s - 1] and link[s - 1]:
            s -= 1
        return s, self.run_end[s]

    def _carve(self, a: int, b: int, s: int | None = None, e: int | None = None) -> None:
        """Take window [a, b) out of its free run (before the seats are marked taken)."""
        if s is None:
            s, e = self._run_at(a)
        r = self.row[a]
        self.row_dirty.add(r)
        self.row_version[r] += 1
        self.run_end[s] = -1
        if s < a:
            self._add_run(s, a)
        if b < e:
            self._add_run(b, e)

    def _best_window(self, s: int, e: int, k: int) -> int:
        pre = self.pre
        best, score = s, pre[s + k] - pre[s]
        for a in range(s + 1, e - k + 1):
            v = pre[a + k] - pre[a]
            if v < score - EPS:
                best, score = a, v
        if best != s and pre[e] - pre[e - k] <= score + EPS:
            best = e - k  # ties go to an edge: the run is cut once, not twice
        return best

    def _top_runs(self, k: int, cats: Iterable[int]) -> list[tuple[float, int, int, int]]:
        """Per category and length >= k, the valid run with the best head: (key, L, s, e)."""
        run_end = self.run_end
        out = []
        for c in cats:
            hs = self.heaps[c]
            for L in range(k, len(hs)):
                h = hs[L]
                while h:
                    key, s, e = h[0]
                    if run_end[s] == e:
                        out.append((key, L, s, e))
                        break
                    heapq.heappop(h)
        return out

    # -- seating ---------------------------------------------------------------------

    def _seat(self, u: _Unit, seats: list[int]) -> None:
        """Seat u's next members on ``seats`` (runs already carved): needers on accessible ones."""
        acc, cat = self.acc, self.cat
        if any(acc[i] for i in seats):
            seats = sorted(seats, key=lambda i: -acc[i])
        start = len(u.seats)
        members = u.members[start:start + len(seats)]
        pool = self.pool
        ptype = self.ptype
        pool.people([ptype[m] for m in members], -1)
        pool.seats([(cat[i], acc[i]) for i in seats], -1)
        pool.best -= len(members)
        free, owner, row, row_free, seg, seg_free, seat_of, no = (
            self.free, self.owner, self.row, self.row_free, self.seg, self.seg_free,
            self.seat_of, u.no)
        for m, i in zip(members, seats):
            seat_of[m] = i
            free[i] = 0
            owner[i] = no
            row_free[row[i]] -= 1
            seg_free[seg[i]] -= 1
        u.seats.extend(seats)

    def _reseat(self, u: _Unit, seats: list[int]) -> None:
        """Move all of u's seated members to ``seats`` (free bookkeeping done by the caller)."""
        acc = self.acc
        if any(acc[i] for i in seats):
            seats = sorted(seats, key=lambda i: -acc[i])
        for m, i in zip(u.members, seats):
            self.seat_of[m] = i
            self.owner[i] = u.no
        u.seats = seats

    def _allows(self, u: _Unit, members: list[int], seats: list[int]) -> bool:
        """Whether these members may take these seats: enough accessible seats for the
        needers, and the number of people who can still be seated does not drop."""
        pool, ptype, acc = self.pool, self.ptype, self.acc
        needers = sum(ptype[m][1] for m in members) if u.needers else 0
        spare_acc = sum(acc[i] for i in seats) - needers
        if spare_acc < 0:
            return False
        if spare_acc == 0 or not pool.needers:
            if not u.loose or (u.flexible and not pool.constrained):
                return True  # people on seats of their own kind (see _Pool)
        return pool.allows([ptype[m] for m in members],
                           [(self.cat[i], acc[i]) for i in seats])

    def _cats_for(self, u: _Unit, n: int) -> tuple[int, ...]:
        """Categories in which n more of u's members may sit without starving anyone."""
        pool = self.pool
        if not u.loose or (u.flexible and not pool.constrained):
            return u.cats
        members = u.members[len(u.seats):len(u.seats) + n]
        people = [self.ptype[m] for m in members]
        out = []
        for c in u.cats:
            non = min(n, pool.free[c][0])
            if non + pool.free[c][1] >= n and pool.allows(
                    people, [(c, 0)] * non + [(c, 1)] * (n - non)):
                out.append(c)
        return tuple(out)

    # -- the passes --------------------------------------------------------------------

    def run(self) -> Result:
        units = [u for u in self.units if u.members]
        first = sorted((u for u in units if u.needers), key=lambda u: u.prio)
        if self.opt.order == "size":
            key = lambda u: (u.prio[0], -u.k, u.prio[1])  # noqa: E731
        elif self.opt.order == "priority":
            key = lambda u: u.prio  # noqa: E731
        else:
            raise ValueError(f"unknown order {self.opt.order!r}")
        rest = sorted((u for u in units if not u.needers), key=key)
        total = len(first) + len(rest)
        for done, u in enumerate(first + rest, 1):
            self._place(u)
            if self.opt.progress and (done % self.opt.progress_every == 0 or done == total):
                self.opt.progress(done, total)
        if self.opt.exact_limit:
            self._exact_fallback()
        self._polish()
        return self._result()

    def _place(self, u: _Unit) -> None:
        cats = self._cats_for(u, u.k)
        if u.anchors and self._join(u, cats):
            return
        if u.anchors:
            u.split_reason = u.split_reason or SplitReason.SEATED_ELSEWHERE
        room = sum(self.pool.free[c][0] + self.pool.free[c][1] for c in cats)
        if room >= u.k and (self._in_row(u, cats) or self._reshuffle(u, cats)
                            or self._stack(u, cats)):
            return
        self._split(u)

    def _in_row(self, u: _Unit, cats: tuple[int, ...]) -> bool:
        k = u.k
        if u.needers:
            return self._in_row_accessible(u, cats)
        tops = self._top_runs(k, cats)
        if not tops:
            return False
        tops.sort()
        if self.opt.fit_slack > 0:
            limit = tops[0][0] + self.opt.fit_slack
            tops.sort(key=lambda t: (t[0] > limit, t[1], t[0]))  # tightest within the slack
        for key, L, s, e in tops:
            a = self._best_window(s, e, k)
            window = list(range(a, a + k))
            if self._allows(u, u.members, window):
                self._carve(a, a + k, s, e)
                self._seat(u, window)
                u.level = ROW
                return True
        return False

    def _in_row_accessible(self, u: _Unit, cats: tuple[int, ...]) -> bool:
        """Runs are found through their accessible seats, best ranked first; the window
        holds enough accessible seats, as few extra as possible, then the best rank."""
        k, need = u.k, u.needers
        pre, apre, free, catset = self.pre, self.apre, self.free, set(cats)
        seen: set[int] = set()
        best = None
        looked = 0
        for i in self.acc_by_rank:
            if not free[i] or self.cat[i] not in catset:
                continue
            s, e = self._run_at(i)
            if s in seen or e - s < k:
                continue
            seen.add(s)
            for a in range(s, e - k + 1):
                extra = apre[a + k] - apre[a] - need
                if extra < 0:
                    continue
                score = (extra, pre[a + k] - pre[a])
                if (best is None or score < best[0]) and self._allows(u, u.members,
                                                                      list(range(a, a + k))):
                    best = (score, a, s, e)
            if best is not None:
                looked += 1
                if looked >= 8:
                    break
        if best is None:
            return False
        _, a, s, e = best
        self._carve(a, a + k, s, e)
        self._seat(u, list(range(a, a + k)))
        u.level = ROW
        return True

    def _join(self, u: _Unit, cats: tuple[int, ...]) -> bool:
        """Seat newcomers of a party next to its members seated before: extend their run,
        else the row in front or behind, overlapping them."""
        anchors = sorted(u.anchors)
        link, free, pre, apre = self.link, self.free, self.pre, self.apre
        ix = self.ix
        if any(b != a + 1 or not link[a] for a, b in zip(anchors, anchors[1:])):
            return False
        p, q = anchors[0], anchors[-1] + 1
        k = u.k
        best = None
        if self.cat[p] in cats:
            left = 0
            while left < k and p - left - 1 >= 0 and free[p - left - 1] and link[p - left - 1]:
                left += 1
            right = 0
            while right < k and q + right < len(free) and free[q + right] and link[q + right - 1]:
                right += 1
            for i in range(max(0, k - right), min(left, k) + 1):
                a, b = p - i, q + k - i
                seats = list(range(a, p)) + list(range(q, b))
                if apre[p] - apre[a] + apre[b] - apre[q] < u.needers:
                    continue
                score = pre[p] - pre[a] + pre[b] - pre[q]
                if (best is None or score < best[0]) and self._allows(u, u.members, seats):
                    best = (score, [(a, p), (q, b)])
        level = ROW
        if best is None:
            level = STACKED
            r = self.row[p]
            sec = ix.section_rows[ix.row_section[r]]
            x0, x1 = self.x[p], self.x[q - 1]
            for r2 in (r - 1, r + 1):
                if r2 not in sec:
                    continue
                for s, e in self._scan_runs(ix.row_start[r2], ix.row_end[r2], free):
                    if self.cat[s] not in cats:
                        continue
                    for a in range(s, e - k + 1):
                        b = a + k
                        if (self.x[a] > x1 or self.x[b - 1] < x0
                                or apre[b] - apre[a] < u.needers):
                            continue
                        score = pre[b] - pre[a]
                        if (best is None or score < best[0]) and self._allows(
                                u, u.members, list(range(a, b))):
                            best = (score, [(a, b)])
        if best is None:
            return False
        seats = []
        for a, b in best[1]:
            if a < b:
                self._carve(a, b)
                seats.extend(range(a, b))
        self._seat(u, seats)
        u.level = level
        return True

    def _chains(self, r0: int, m: int, k: int, needers: int, cats: tuple[int, ...],
                free: bytearray, every: bool = True) -> list[tuple[float, list[tuple[int, int]]]]:
        """Stacked placements of k people in rows r0 .. r0+m-1 (one run per row, each part's
        x range overlapping the next one's, one category, enough accessible seats).

        ``every``: all of them (the exact search, parties with an accessibility need).
        Otherwise, for each run and part size, only the best-ranked window overlapping the
        part in front (for the front part, one per run of the next row it overlaps)."""
        ix, x, pre, apre, cat = self.ix, self.x, self.pre, self.apre, self.cat
        catset = set(cats)
        rows = []
        for r in range(r0, r0 + m):
            runs = [(s, e) for s, e in self._scan_runs(ix.row_start[r], ix.row_end[r], free)
                    if cat[s] in catset]
            if not runs:
                return []
            rows.append(runs)
        room = [max(e - s for s, e in runs) for runs in rows]
        after = [sum(room[j + 1:]) for j in range(m)]
        out: list[tuple[float, list[tuple[int, int]]]] = []

        def rec(j, left, span, c, score, accs, wins):
            if j == m:
                if left == 0 and accs >= needers:
                    out.append((score, wins))
                return
            last = j == m - 1
            for s, e in rows[j]:
                if c is not None and cat[s] != c:
                    continue
                lo = left if last else max(1, left - after[j])
                hi = min(e - s, left if last else left - (m - j - 1))
                for t in range(lo, hi + 1):
                    fits = [a for a in range(s, e - t + 1)
                            if span is None or (x[a] <= span[1] and x[a + t - 1] >= span[0])]
                    if not every and fits:
                        targets = [span] if span is not None else [
                            (x[s2], x[e2 - 1]) for s2, e2 in rows[1]
                            if x[s2] <= x[e - 1] and x[e2 - 1] >= x[s]]
                        picks = set()
                        for lo_x, hi_x in targets:
                            near = [a for a in fits if x[a] <= hi_x and x[a + t - 1] >= lo_x]
                            if near:
                                picks.add(min(near, key=lambda a: (pre[a + t] - pre[a], a)))
                        fits = sorted(picks)
                    for a in fits:
                        b = a + t
                        rec(j + 1, left - t, (x[a], x[b - 1]), cat[s], score + pre[b] - pre[a],
                            accs + apre[b] - apre[a], wins + [(a, b)])

        rec(0, k, None, None, 0.0, 0, [])
        return out

    def _stack(self, u: _Unit, cats: tuple[int, ...]) -> bool:
        """Fewest rows directly behind each other; among those, the lowest rank sum."""
        k = u.k
        if k < 2 or u.anchors:
            return False
        every = bool(u.needers)  # few such parties: afford every window
        best = self._stack_two(u, cats, every)
        for m in range(3, min(max_stack_rows(k), self.max_section_rows) + 1):
            if best is not None:
                break
            best = self._stack_scan(u, cats, m, every)
        if best is None:
            return False
        seats = []
        for a, b in best[1]:
            self._carve(a, b)
            seats.extend(range(a, b))
        self._seat(u, seats)
        u.level = STACKED
        return True

    def _consider(self, u: _Unit, cats: tuple[int, ...], r0: int, m: int, every: bool, best):
        """Fold the chains of rows r0 .. r0+m-1 into ``best``; say whether there were any.
        Enumerations are cached until one of the rows changes (row_version)."""
        version = self.row_version[r0:r0 + m]
        key = (r0, m, u.k, u.needers, cats, every)
        hit = self.chain_cache.get(key)
        if hit is not None and hit[0] == version:
            chains = hit[1]
        else:
            chains = sorted(self._chains(r0, m, u.k, u.needers, cats, self.free, every),
                            key=lambda c: c[0])
            self.chain_cache[key] = (version, chains)
        for score, wins in chains:
            if best is None or score < best[0]:
                if self._allows(u, u.members, [i for a, b in wins for i in range(a, b)]):
                    best = (score, wins)
        return best, bool(chains)

    def _stack_two(self, u: _Unit, cats: tuple[int, ...], every: bool):
        """Two rows, through the index of row pairs: bucketed by capacity (the sum of the
        two rows' longest free runs), keyed by the better row's head. The candidates are
        taken out best first, tried, and put back."""
        self._refresh_rows()
        k, heaps, cap_of = u.k, self.pair_heaps, self._pair_cap
        out, seen = [], set()
        for cap in range(k, len(heaps)):
            h = heaps[cap]
            while h and len(out) < 4 * STACK_CHAINS:
                entry = heapq.heappop(h)
                if cap_of(entry[1]) == cap and entry not in seen:
                    seen.add(entry)
                    out.append((cap, entry))
        for cap, entry in out:
            heapq.heappush(heaps[cap], entry)
        best, feasible = None, 0
        for head, r0 in sorted(entry for _, entry in out):
            if best is not None and (head * k >= best[0] or feasible >= STACK_CHAINS):
                break
            best, ok = self._consider(u, cats, r0, 2, every, best)
            feasible += ok
        return best

    def _stack_scan(self, u: _Unit, cats: tuple[int, ...], m: int, every: bool):
        """m rows: chains through the rows in rank order (rare: no two rows could do)."""
        ix, maxrun, rows, k = self.ix, self.maxrun, self.rows_by_rank, u.k
        best, feasible, tried = None, 0, set()
        for r in rows:
            # Chains not tried yet only hold rows ranked at least this row's head.
            if best is not None and (self.row_head[r] * k >= best[0] or feasible >= STACK_CHAINS):
                break
            if not maxrun[r]:
                continue
            sec = ix.section_rows[ix.row_section[r]]
            for r0 in range(max(sec.start, r - m + 1), min(r, sec.stop - m) + 1):
                if r0 not in tried and sum(maxrun[r0:r0 + m]) >= k:
                    tried.add(r0)
                    best, ok = self._consider(u, cats, r0, m, every, best)
                    feasible += ok
        return best

    def _pair_cap(self, r0: int) -> int:
        return self.maxrun[r0] + self.maxrun[r0 + 1]

    def _refresh_rows(self) -> None:
        """Bring the longest free run of the rows changed since the last stacking up to
        date, and file their pairs under their new capacity."""
        ix, free, link = self.ix, self.free, self.link
        if self.pair_heaps is None:
            self.pair_heaps = [[] for _ in range(2 * self.maxlen + 1)]
            self.maxrun = [0] * len(ix.row_start)
            self.row_dirty = set(range(len(ix.row_start)))
        heads, maxrun, section = self.row_head, self.maxrun, ix.row_section
        touched = set()
        for r in self.row_dirty:
            best = run = 0
            for i in range(ix.row_start[r], ix.row_end[r]):
                run = run + 1 if free[i] and run and link[i - 1] else (1 if free[i] else 0)
                best = max(best, run)
            maxrun[r] = best
            touched.update((r - 1, r))
        self.row_dirty = set()
        last = len(maxrun) - 1
        for r0 in touched:
            if 0 <= r0 < last and section[r0] == section[r0 + 1]:
                cap = maxrun[r0] + maxrun[r0 + 1]
                if cap >= 2:
                    heapq.heappush(self.pair_heaps[cap], (min(heads[r0], heads[r0 + 1]), r0))

    def _split(self, u: _Unit) -> None:
        """Seat what cannot sit together: needers on the best accessible seats, the others
        in the fewest pieces (longest runs first); members nothing fits stay unseated."""
        u.split_reason = u.split_reason or SplitReason.NO_ROOM
        u.level = SPLIT
        while len(u.seats) < u.k:
            m = u.members[len(u.seats)]
            if self.ptype[m][1]:
                if not self._single(u, m):
                    self._drop(u, m)
                continue
            rest = u.k - len(u.seats)
            cats = self._cats_for(u, rest)
            placed = False
            tops = self._top_runs(rest, cats)
            if tops:
                key, L, s, e = min(tops)
                t = rest
            else:  # the longest runs there are (all shorter than rest)
                for L in range(min(rest - 1, self.maxlen), 0, -1):
                    tops = self._top_runs(L, cats)
                    if tops:
                        break
                t = L if tops else 0
                if tops:
                    key, L, s, e = min(tops)
            if t:
                a = self._best_window(s, e, t)
                window = list(range(a, a + t))
                if self._allows(u, u.members[len(u.seats):len(u.seats) + t], window):
                    self._carve(a, a + t, s, e)
                    self._seat(u, window)
                    placed = True
            if not placed and not self._single(u, m):
                self._drop(u, m)
        seats = sorted(u.seats)
        if seats and all(b == a + 1 and self.link[a] for a, b in zip(seats, seats[1:])):
            u.level = ROW  # it all went into one run after all

    def _single(self, u: _Unit, m: int) -> bool:
        """The best free seat member m may take, or False."""
        ci, needs = self.ptype[m]
        pool, free, cat = self.pool, self.free, self.cat
        cats = range(pool.c) if ci == pool.c else (ci,)
        if needs:
            if not any(pool.free[c][1] for c in cats):
                return False
            seq = self.acc_by_rank
        else:
            cats = [c for c in cats if pool.free[c][0] + pool.free[c][1]]
            # The best seat of each category, through the runs; a refusal concerns the
            # whole category, unless needers are pending (then accessible seats differ).
            for key, L, s, e in sorted(self._top_runs(1, cats)):
                i = self._best_window(s, e, 1)
                if self._allows(u, [m], [i]):
                    self._carve(i, i + 1, s, e)
                    self._seat(u, [i])
                    return True
            if not cats or not pool.needers:
                return False
            seq = self.by_rank  # the slow, sure path
        for i in seq:
            if free[i] and (ci == self.pool.c or cat[i] == ci) and (
                    self._allows(u, [m], [i])):
                self._carve(i, i + 1)
                self._seat(u, [i])
                return True
        return False

    def _drop(self, u: _Unit, m: int) -> None:
        """Member m cannot be seated: out of u and out of the pending demand."""
        u.members.remove(m)
        u.dropped.append(m)
        self.pool.people([self.ptype[m]], -1)
        self.pool.best = self.pool.max_seated()
        self.unseated.append(m)

    # -- small instances: exact search -------------------------------------------------

    def _exact_fallback(self) -> None:
        """Small instances: if the greedy left a party out of one row, search them all."""
        parts = [u for u in self.units if (u.members or u.dropped) and not u.anchors]
        if not parts or len(parts) > self.opt.exact_limit or any(u.dropped for u in parts):
            return  # too big, or someone cannot be seated at all: nothing to gain
        if all(u.level == ROW for u in parts):
            return
        n = len(self.free)
        avail = bytearray(self.free)
        for u in parts:
            for i in u.seats:
                avail[i] = 1
        if sum(avail) > self.opt.exact_seats:
            return
        cats = {u.no: u.cats for u in parts}
        plan = self._search(parts, avail, [(0, n)], cats, self.opt.exact_budget)
        if plan is None and any(u.level == SPLIT for u in parts):
            plan = self._search(parts, avail, [(0, n)], cats, self.opt.exact_budget,
                                stacked=True)
        if plan is not None:
            self._apply_plan(parts, plan, [(0, n)])

    def _reshuffle(self, u: _Unit, cats: tuple[int, ...]) -> bool:
        """The general repair: re-place, by exact search, the parties of the row segments
        with the most free seats together with u, each in its own category."""
        if (not self.opt.repair or u.anchors or self.pool.needers
                or self.repair_budget <= 0):
            return False
        seg_free, segs = self.seg_free, self.segs
        if all(self.seg_max[c] < u.k for c in cats):
            return False  # no segment is long enough, however it is packed
        cands = [g for c in cats for g in self.segs_of_cat[c] if seg_free[g]]
        cands.sort(key=lambda g: (-seg_free[g], self.seg_head[g], g))
        chosen, size = [], 0
        for g in cands:
            s, e = segs[g]
            if size + e - s <= self.opt.exact_seats:
                chosen.append(g)
                size += e - s
                if len(chosen) == 8:
                    break
        if sum(seg_free[g] for g in chosen) < u.k:
            return False
        free, owner, units, cat = self.free, self.owner, self.units, self.cat
        avail = bytearray(len(free))
        movers: dict[int, _Unit] = {}
        spans = [segs[g] for g in sorted(chosen)]
        for s, e in spans:
            for i in range(s, e):
                if free[i]:
                    avail[i] = 1
                elif owner[i] >= 0:
                    w = units[owner[i]]
                    if w.level == ROW and not w.anchors:
                        avail[i] = 1
                        movers[w.no] = w
        group = [u, *movers.values()]
        allowed = {w.no: (cat[w.seats[0]],) for w in movers.values()} | {u.no: cats}
        budget = min(self.opt.exact_budget // 10, self.repair_budget)
        plan = self._search(group, avail, spans, allowed, budget)
        self.repair_budget -= self.spent
        if plan is None:
            return False
        self._apply_plan(group, plan, spans)
        return True

    def _search(self, units: list[_Unit], avail: bytearray, spans: list[tuple[int, int]],
                cats: dict[int, tuple[int, ...]], budget: int, stacked: bool = False):
        """Backtracking over every placement of every unit in the ``avail`` seats of
        ``spans``, most constrained unit first, failed states remembered. Returns
        {unit number: windows} or None (nothing keeps them all together, or the budget of
        search nodes ran out); ``self.spent`` tells the nodes used."""
        spots = [i for s, e in spans for i in range(s, e) if avail[i]]
        bit = {i: 1 << n for n, i in enumerate(spots)}
        pre, apre, ix, cat = self.pre, self.apre, self.ix, self.cat
        runs = [r for s, e in spans for r in self._scan_runs(s, e, avail)]
        cands = []
        for u in units:
            k, need, catset = u.k, u.needers, set(cats[u.no])
            opts = []
            for s, e in runs:
                if cat[s] in catset:
                    opts.extend((0, pre[a + k] - pre[a], [(a, a + k)]) for a in range(s, e - k + 1)
                                if apre[a + k] - apre[a] >= need)
            if stacked and k > 1:
                for sec in ix.section_rows:
                    for m in range(2, min(max_stack_rows(k), len(sec)) + 1):
                        for r0 in range(sec.start, sec.stop - m + 1):
                            for score, wins in self._chains(r0, m, k, need, cats[u.no], avail):
                                opts.append((m, score, wins))
            opts.sort(key=lambda o: (o[0], o[1]))
            masks = []
            for _, _, wins in opts:
                mask = 0
                for a, b in wins:
                    for i in range(a, b):
                        mask |= bit[i]
                masks.append((mask, wins))
            cands.append(masks)
        order = sorted(range(len(units)), key=lambda j: (len(cands[j]), -units[j].k))
        sig = [(units[j].k, cats[units[j].no], units[j].needers, len(cands[j])) for j in order]
        failed: set[tuple[int, int, int]] = set()
        left = [budget]

        def dfs(d: int, used: int, floor: int):
            if d == len(order):
                return []
            left[0] -= 1
            if left[0] < 0:
                raise _OutOfBudget
            # identical units take their placements in increasing order (no permutations)
            start = floor if d and sig[d] == sig[d - 1] else 0
            if (d, used, start) in failed:
                return None
            options = cands[order[d]]
            for n in range(start, len(options)):
                mask, wins = options[n]
                if mask & used:
                    continue
                nxt = dfs(d + 1, used | mask, n + 1)
                if nxt is not None:
                    return [wins] + nxt
            failed.add((d, used, start))
            return None

        try:
            found = dfs(0, 0, 0)
        except _OutOfBudget:
            found = None
        self.spent = budget - max(left[0], 0)
        if found is None:
            return None
        return {units[order[d]].no: wins for d, wins in enumerate(found)}

    def _apply_plan(self, units: list[_Unit], plan: dict[int, list[tuple[int, int]]],
                    spans: list[tuple[int, int]]) -> None:
        """Move the units to the planned windows; all their seats lie in ``spans``."""
        pool, ptype, cat, acc = self.pool, self.ptype, self.cat, self.acc
        for u in units:
            pool.people([ptype[m] for m in u.members[:len(u.seats)]], +1)
            pool.seats([(cat[i], acc[i]) for i in u.seats], +1)
            pool.best += len(u.seats)
            for i in u.seats:
                self.free[i] = 1
                self.owner[i] = -1
                self.row_free[self.row[i]] += 1
                self.seg_free[self.seg[i]] += 1
            for m in u.members[:len(u.seats)]:
                del self.seat_of[m]
            u.seats = []
        for u in units:
            wins = plan[u.no]
            self._seat(u, [i for a, b in wins for i in range(a, b)])
            u.level = ROW if len(wins) == 1 else STACKED
            if u.split_reason is SplitReason.NO_ROOM:
                u.split_reason = None
        run_end = self.run_end
        if len(spans) > 1 or spans[0][1] - spans[0][0] < len(self.free):
            for s, e in spans:
                self.row_dirty.add(self.row[s])
                self.row_version[self.row[s]] += 1
        else:
            self.chain_cache.clear()
            self.pair_heaps = None  # the whole map: rebuild the pair index when needed
        for s, e in spans:
            for i in range(s, e):
                run_end[i] = -1
            for a, b in self._scan_runs(s, e, self.free):
                self._add_run(a, b)

    # -- polish and result -----------------------------------------------------------------

    def _polish(self) -> None:
        """Units of one kind (same size, categories and kinds of people, one row each) swap
        places so that higher priority gets the better-ranked window."""
        groups: dict[tuple, list[_Unit]] = defaultdict(list)
        for u in self.units:
            if u.level == ROW and not u.anchors and not u.dropped and u.seats:
                groups[u.kind].append(u)
        pre = self.pre
        for us in groups.values():
            if len(us) < 2:
                continue
            windows = sorted(((min(u.seats), max(u.seats) + 1) for u in us),
                             key=lambda w: (pre[w[1]] - pre[w[0]], w[0]))
            us.sort(key=lambda u: (u.prio, u.no))
            for u, (a, b) in zip(us, windows):
                if min(u.seats) != a:
                    self._reseat(u, list(range(a, b)))

    def _result(self) -> Result:
        """The result; party formations and quality are counted as :func:`measure` does."""
        reqs, ix, layout = self.requests, self.ix, self.layout
        ids, rank, before, seat_of = ix.ids, self.rank, self.seated_before, self.seat_of
        assignments = {reqs[m].registration: ids[i] for m, i in sorted(seat_of.items())}
        lost = set(self.unseated)
        unseated = tuple(Unseated(reqs[m].registration, self._reason(m)) for m in sorted(
            lost, key=lambda m: (reqs[m].band, reqs[m].order, m)))
        units_of: dict[str, list[_Unit]] = defaultdict(list)
        for u in self.units:
            if u.party is not None:
                units_of[u.party].append(u)
        members_of: dict[str, list[int]] = defaultdict(list)
        for m, r in enumerate(reqs):
            if r.party is not None:
                members_of[r.party].append(m)
        counts: Counter[str] = Counter()
        splits, stacked = [], []
        for party, ms in members_of.items():
            if len(ms) < 2 or all(reqs[m].registration in before for m in ms):
                continue
            us = units_of.get(party, [])
            incomplete = any(m in lost for m in ms)
            if not incomplete and len(us) == 1 and not us[0].anchors and us[0].level == ROW:
                counts[ROW] += 1  # one unit in one run: no need to look at the seats
                continue
            seats = [ids[before[reqs[m].registration]] if reqs[m].registration in before
                     else ids[seat_of[m]] for m in ms if m in seat_of
                     or reqs[m].registration in before]
            formation = layout.formation(seats) if len(seats) > 1 else ROW
            counts["incomplete" if incomplete else formation] += 1
            if formation == SPLIT:
                reason = next((u.split_reason for u in us if u.split_reason), SplitReason.NO_ROOM)
                splits.append(PartySeating(party, SPLIT, layout.groups(seats), reason))
            elif formation == STACKED:
                stacked.append(PartySeating(party, STACKED, layout.groups(seats)))
        by_band: dict[int, list[float]] = defaultdict(list)
        for m, i in seat_of.items():
            by_band[reqs[m].band].append(rank[i])
        n = sum(counts.values())
        quality = Quality(
            seated=len(seat_of), unseated=len(lost), parties=n, in_one_row=counts[ROW],
            stacked=counts[STACKED], split=counts[SPLIT], incomplete=counts["incomplete"],
            together_share=(counts[ROW] + counts[STACKED]) / n if n else 1.0,
            mean_rank_by_band={b: sum(v) / len(v) for b, v in sorted(by_band.items())})
        return Result(assignments, unseated, tuple(splits), tuple(stacked), quality)

    def _reason(self, m: int) -> Reason:
        r = self.requests[m]
        ix = self.ix
        cats = ix.categories
        if r.category is not None and (r.category not in cats
                                       or not self.usable[cats.index(r.category)]):
            return Reason.NO_SUCH_CATEGORY
        want = range(len(cats)) if r.category is None else [cats.index(r.category)]
        if r.accessible and not any(self.usable_acc[c] for c in want):
            return Reason.NO_ACCESSIBLE_SEAT
        if r.accessible:
            return Reason.ACCESSIBLE_FULL
        if r.category is not None:
            return Reason.CATEGORY_FULL
        return Reason.MAP_FULL


class _OutOfBudget(Exception):
    pass


_NOT = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 → 1, 1 → 0


__all__ = ["VIP", "STANDARD", "Reason", "SplitReason", "Request", "Options", "Unseated",
           "PartySeating", "Quality", "Result", "assign", "measure"]
