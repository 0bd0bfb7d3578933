"""Splitting, the last resort: a party that fits neither one row nor a stack is seated in
the fewest pieces (longest runs first), needers on the best accessible seats; members
nothing fits are dropped and reported unseated.

End of step 3 of the algorithm described in :mod:`services.seating.assignment.assign`.
``_SplittingMixin`` works on the state of ``solver._Solver``.
"""

from __future__ import annotations

from services.seating.assignment.contract import SplitReason
from services.seating.assignment.demand import _Unit
from services.seating.assignment.layout import ROW, SPLIT


class _SplittingMixin:
    """Seating a party piece by piece, or person by person."""

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
