"""The people side of the solver: requests grouped into units, and the counting model of
pending demand (categories × accessibility) that vets seat choices.

Step 1 and step 4 of the algorithm described in :mod:`services.seating.assignment.assign`:
a seat choice that could starve someone later (a flexible request taking a category someone
asked for, a non-needer on an accessible seat) is allowed only if the number of people who
can still be seated stays maximal. ``_DemandMixin`` works on the state of ``solver._Solver``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.seating.assignment.contract import SplitReason

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


class _DemandMixin:
    """Building the units and the pool, and asking the pool before seating."""

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
