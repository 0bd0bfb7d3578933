"""Local repair and exact search: backtracking over every placement of a few units, under
a budget of search nodes.

The repair (step 3 of the algorithm described in :mod:`services.seating.assignment.assign`)
re-places the parties of the row segments with the most free seats together with a party
that fits nowhere; the exact fallback (step 5) searches all placements on small instances.
``_RepairMixin`` works on the state of ``solver._Solver``.
"""

from __future__ import annotations

from services.seating.assignment.contract import SplitReason
from services.seating.assignment.demand import _Unit
from services.seating.assignment.layout import ROW, SPLIT, STACKED, max_stack_rows


class _OutOfBudget(Exception):
    pass


class _RepairMixin:
    """Re-placing units by exact search."""

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
