"""Free-run bookkeeping: maximal stretches of adjacent free seats of one category, kept in
heaps bucketed by length and keyed by their best seat's rank.

Step 2 of the algorithm described in :mod:`services.seating.assignment.assign`: "the best
run that can take k people" is a look at the top of at most (longest row) buckets, whatever
the number of seats. Heap entries go stale when a run is cut; ``run_end`` tells the valid
ones, and stale ones are dropped lazily. ``_RunsMixin`` works on the state of
``solver._Solver``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

EPS = 1e-9


class _RunsMixin:
    """Scanning, indexing, cutting and looking up free runs."""

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
