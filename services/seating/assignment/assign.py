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

Where the code is: this module is the entry point (:func:`assign`, :func:`measure`, and the
types of :mod:`~services.seating.assignment.contract` re-exported);
:mod:`~services.seating.assignment.solver` holds the solver's state and passes, with its parts
by step: free runs (:mod:`~services.seating.assignment.runs`), units and the demand model
(:mod:`~services.seating.assignment.demand`), stacking
(:mod:`~services.seating.assignment.stacking`), splitting
(:mod:`~services.seating.assignment.splitting`), repair and exact search
(:mod:`~services.seating.assignment.repair`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from services.seating.assignment.contract import (STANDARD, VIP, Options, PartySeating,
                                                  Quality, Reason, Request, Result, SplitReason,
                                                  Unseated)
from services.seating.assignment.layout import ROW, SPLIT, STACKED, Layout
from services.seating.assignment.solver import _Solver


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


__all__ = ["VIP", "STANDARD", "Reason", "SplitReason", "Request", "Options", "Unseated",
           "PartySeating", "Quality", "Result", "assign", "measure"]
