"""Stacking: a party no row can take sits in the fewest rows directly behind each other
(see ``layout.STACKED``), through an index of adjacent row pairs by capacity.

Part of step 3 of the algorithm described in :mod:`services.seating.assignment.assign`. The
row chains enumerated here also serve the exact search
(:mod:`services.seating.assignment.repair`). ``_StackingMixin`` works on the state of
``solver._Solver``.
"""

from __future__ import annotations

import heapq

from services.seating.assignment.demand import _Unit
from services.seating.assignment.layout import STACKED, max_stack_rows

STACK_CHAINS = 32  # feasible row chains compared per stacked party at most


class _StackingMixin:
    """Finding and taking stacked placements."""

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
