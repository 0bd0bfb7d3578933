"""The solver's state and its passes: the greedy placement of units in priority order
(one row, joining members seated before), the fallbacks in turn, the polish, the result.

The parts live in mixins by sub-domain: free runs (:mod:`~services.seating.assignment.runs`),
units and demand (:mod:`~services.seating.assignment.demand`), stacking
(:mod:`~services.seating.assignment.stacking`), splitting
(:mod:`~services.seating.assignment.splitting`), repair and exact search
(:mod:`~services.seating.assignment.repair`). ``_Solver.__init__`` sets up the state they all
share. The algorithm is described in :mod:`services.seating.assignment.assign`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import accumulate

from services.seating.assignment.contract import (Options, PartySeating, Quality, Reason,
                                                  Request, Result, SplitReason, Unseated)
from services.seating.assignment.demand import _DemandMixin, _Unit
from services.seating.assignment.layout import ROW, SPLIT, STACKED, Layout
from services.seating.assignment.repair import _RepairMixin
from services.seating.assignment.runs import _RunsMixin
from services.seating.assignment.splitting import _SplittingMixin
from services.seating.assignment.stacking import _StackingMixin

# Internals. Seats are integers (positions in layout.index); a window is (a, b), seats a..b-1.


class _Solver(_RunsMixin, _DemandMixin, _StackingMixin, _SplittingMixin, _RepairMixin):
    """One call of :func:`~services.seating.assignment.assign.assign`: the state and the passes."""

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

    @property
    def by_rank(self) -> list[int]:
        if self._by_rank is None:
            rank = self.rank
            self._by_rank = sorted(range(len(rank)), key=lambda i: (rank[i], i))
        return self._by_rank

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


_NOT = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 → 1, 1 → 0
