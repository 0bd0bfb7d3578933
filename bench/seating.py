"""Seat assignment benchmark: ``services.seating.assignment.assign`` against a naive
first-fit baseline.

    .venv/bin/python bench/seating.py                    # 1k/10k/50k seats × 60/90/100 % fill
    .venv/bin/python bench/seating.py --quick            # 1k/10k, 1 run
    .venv/bin/python bench/seating.py --seats 50000 --fills 0.9 --runs 5
    .venv/bin/python bench/seating.py --hard             # also the adversarial map below

Maps (seeded, so every run sees the same input): three stalls sections side by side and,
from 10,000 seats, a balcony of three more; rows of 20–40 seats cut by one or two aisles
(an x gap); the first three rows of the centre stalls are VIP, the first two of the
right stalls press, the rest standard; every fourth row has accessible seats at its
aisle ends; 1 % of seats are blocked. Requests fill each category to the given share:
parties of 1–8 (38 % alone, 34 % pairs, 8 % threes, 10 % fours, 10 % 5–8), one member of
2 % of parties needs accessibility, 5 % of standard parties ask for no category; VIP
parties are band 0, the others band 1; registration order is random.

Per configuration it prints the median compute time of several runs (the call only; the
map and requests are built beforehand), the time to build the write batch (the list of
documents the integration will insert), and, from the last run: the share of parties of
two or more seated together (one row or stacked), the share in one row, splits,
unseated, the mean rank per band, and ``in order``: in how many of 20,000 sampled pairs
of seated people of one band and category the earlier registration sits at least as
well. The baseline (first-fit by rank, person by person in priority order, categories
and accessibility respected, parties ignored) runs on the same input in the same
invocation; ``ratio`` is our compute time / the baseline's.

Alternatives measured on the same input: ``size`` (largest parties first within a band
instead of registration order) and ``bestfit`` (the tightest run within one rank unit of
the best one instead of the best one).

``--hard`` adds an adversarial map: 60-row sections of 30 seats in blocks of six, and
parties of five to eight only, so that no party fits any block and every one needs a
stack of rows (or the repair).

Store time (``--store``): the script starts its own SecantusDB and Redis (free ports,
stopped by PID at the end; nothing else is touched) and writes each result as the task
does: under the conference's seating lock, the occupancy read, then
``services.seating.automatic.store`` (parties whole in batches of ``STORE_BATCH``, each
checked and written as blocks by ``models.seat_assignments.insert_many``) into a fresh
conference, with the collection's indexes in place. ``store ms`` is the median of the
runs; ``raw ms`` is the baseline of that write: the same rows as plain dicts, one per
seat, one pymongo ``insert_many`` into a collection without indexes; ``/raw`` is their
ratio. Without ``--store``, those columns print ``-``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.seating.assignment.assign import (STANDARD, VIP, Options, Request,  # noqa: E402
                                                assign, measure)
from services.seating.assignment.layout import Layout, Row, Seat, Section, grid  # noqa: E402

SIZES = [1, 2, 3, 4, 5, 6, 7, 8]
SIZE_WEIGHTS = [38, 34, 8, 10, 4, 3, 2, 1]
STRATEGIES = {
    "ours": Options(),
    "size": Options(order="size"),
    "bestfit": Options(fit_slack=1.0),
}

STORE: Store | None = None  # set by --store


def make_layout(n_seats: int, seed: int = 1) -> Layout:
    rnd = random.Random(seed)
    blocks = 3 if n_seats < 10_000 else 6
    rows_per_section = max(3, round(n_seats / blocks / 30))
    sections = []
    for b in range(blocks):
        balcony = b >= 3
        side = b % 3  # 0 left, 1 centre, 2 right
        name = ("balcony-" if balcony else "stalls-") + ("left", "centre", "right")[side]
        rows = []
        for r in range(rows_per_section):
            n = rnd.randint(20, 40)
            aisles = sorted(rnd.sample(range(6, n - 6), 2 if n >= 30 else 1))
            y = (rows_per_section + 5 if balcony else 0) + r + 1.0
            x0 = (side - 1) * 50 - n / 2
            seats, x, gaps = [], x0, set(aisles)
            for i in range(n):
                if i in gaps:
                    x += 2.0  # the aisle
                category = "standard"
                if not balcony and side == 1 and r < 3:
                    category = "VIP"
                elif not balcony and side == 2 and r < 2:
                    category = "press"
                edge = i == 0 or i == n - 1 or i in gaps or i + 1 in gaps
                seats.append(Seat(f"{name}-{r + 1}-{i + 1}", str(i + 1), x, y, category,
                                  accessible=edge and r % 4 == 0 and (i == 0 or i in gaps),
                                  aisle=edge, blocked=rnd.random() < 0.01))
                x += 1.0
            rows.append(Row(str(r + 1), tuple(seats)))
        sections.append(Section(name, tuple(rows)))
    return Layout(tuple(sections))


def make_requests(layout: Layout, fill: float, seed: int = 2) -> list[Request]:
    rnd = random.Random(seed)
    capacity: dict[str, int] = {}
    for s in layout.seats():
        if not s.blocked:
            capacity[s.category] = capacity.get(s.category, 0) + 1
    parties = []
    for category, cap in sorted(capacity.items()):
        left = round(cap * fill)
        while left > 0:
            size = min(left, rnd.choices(SIZES, SIZE_WEIGHTS)[0])
            left -= size
            asked = category if category != "standard" or rnd.random() >= 0.05 else None
            parties.append((size, asked, VIP if category == "VIP" else STANDARD,
                            rnd.random() < 0.02))
    rnd.shuffle(parties)
    out, order = [], 0
    for p, (size, category, band, accessible) in enumerate(parties):
        for m in range(size):
            out.append(Request(f"reg{order}", order, band, f"party{p}" if size > 1 else None,
                               category, accessible and m == 0))
            order += 1
    return out


def make_hard(n_seats: int, fill: float, seed: int = 4) -> tuple[Layout, list[Request]]:
    layout = Layout(tuple(grid(60, 30, section=f"s{i}", breaks=[5, 11, 17, 23])
                          for i in range(max(1, round(n_seats / 1800)))))
    rnd = random.Random(seed)
    out: list[Request] = []
    cap = round(len(layout) * fill)
    while len(out) < cap:
        size = min(rnd.randint(5, 8), cap - len(out))
        p = len(out)
        out += [Request(f"reg{p + i}", p + i, STANDARD, f"party{p}") for i in range(size)]
    return layout, out


def first_fit(layout: Layout, requests: list[Request]) -> dict[str, str]:
    """The baseline: each person in priority order takes the best-ranked free seat that
    meets their category and accessibility; parties are ignored."""
    ix = layout.index
    usable = [i for i in sorted(range(len(ix.ids)), key=lambda i: ix.rank[i]) if not ix.blocked[i]]
    lists: dict[tuple[int | None, bool], list[int]] = {}
    for c in [None, *range(len(ix.categories))]:
        for acc in (False, True):
            lists[(c, acc)] = [i for i in usable if (c is None or ix.category[i] == c)
                               and (not acc or ix.accessible[i])]
    head = {key: 0 for key in lists}
    used = bytearray(len(ix.ids))
    out = {}
    for r in sorted(requests, key=lambda r: (r.band, r.order)):
        key = (None if r.category is None else ix.categories.index(r.category), r.accessible)
        seats, h = lists[key], head[key]
        while h < len(seats) and used[seats[h]]:
            h += 1
        head[key] = h
        if h < len(seats):
            used[seats[h]] = 1
            out[r.registration] = ix.ids[seats[h]]
    return out


def in_order(layout: Layout, requests: list[Request], assignments: dict[str, str],
             pairs: int = 20_000) -> float:
    """Share of sampled pairs of seated people with the same band and category in which the
    one who registered first has a rank at least as good: how well registration order holds."""
    rnd = random.Random(7)
    groups: dict[tuple, list[tuple[int, float]]] = {}
    for r in requests:
        seat = assignments.get(r.registration)
        if seat is not None:
            groups.setdefault((r.band, r.category), []).append((r.order, layout.rank(seat)))
    pools = [g for g in groups.values() if len(g) > 1]
    weights = [len(g) for g in pools]
    good = 0
    for _ in range(pairs):
        a, b = rnd.sample(rnd.choices(pools, weights)[0], 2)
        if a[0] > b[0]:
            a, b = b, a
        good += a[1] <= b[1] + 1e-9
    return good / pairs


def write_batch(conference: str, assignments: dict[str, str]) -> list[dict]:
    return [{"conference": conference, "registration": reg, "seat": seat}
            for reg, seat in assignments.items()]


def app_seat_ids(layout: Layout) -> dict[str, str]:
    """The bench's seat ids as the app writes them (``section/row/seat``): the store
    keys its blocks by row."""
    return {seat.id: f"{section.name}/{row.label}/{seat.label}"
            for section in layout.sections for row in section.rows for seat in row.seats}


class Store:
    """The task's write path on a SecantusDB of the benchmark's own."""

    def __init__(self, workdir: Path):
        import os

        from meeteasy import embedded

        self.servers = [embedded.start_mongo(workdir / "mongodb", workdir / "mongodb.log")]
        self.servers.append(embedded.start_redis(workdir / "redis", workdir / "redis.log"))
        os.environ.update(MEETEASY_MONGODB_URI=self.servers[0].url,
                          MEETEASY_MONGODB_DB="meeteasy_bench",
                          MEETEASY_REDIS_URL=self.servers[1].url)
        from meeteasy import db
        from meeteasy.settings import get_settings

        get_settings.cache_clear()
        db.connect(get_settings())
        from models.seat_assignments import SeatBlock

        SeatBlock.ensure_indexes()
        self.raw = SeatBlock._get_collection().database["bench_raw_assignments"]

    def ours(self, assignments: dict[str, str], parties: dict[str, SimpleNamespace]) -> None:
        from models import seat_assignments
        from services.seating.automatic import store

        conference = uuid.uuid4().hex
        with seat_assignments.seating_lock("bench", conference) as seating:
            seat_assignments.current(seating)
            refused = store(seating, assignments, parties, "bench", lambda percent, message: None)
        assert not refused

    def baseline(self, batch: list[dict]) -> None:
        if batch:
            self.raw.insert_many([dict(row) for row in batch], ordered=False)

    def stop(self) -> None:
        from meeteasy import db

        db.disconnect()
        for server in reversed(self.servers):
            server.stop()


def rank(ranks: dict[int, float], band: int) -> str:
    return f"{ranks[band]:.2f}" if band in ranks else "-"


def timed(fn, runs: int):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seats", default="1000,10000,50000")
    ap.add_argument("--fills", default="0.6,0.9,1.0")
    ap.add_argument("--runs", type=int, default=0, help="runs per point (default 5, 3 at 50k)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--hard", action="store_true", help="also the adversarial map")
    ap.add_argument("--store", action="store_true", help="also time the write to SecantusDB")
    args = ap.parse_args()
    global STORE
    if args.store:
        workdir = Path(tempfile.mkdtemp(prefix="meeteasy-bench-seating-"))
        STORE = Store(workdir)
    try:
        run(args)
    finally:
        if STORE is not None:
            STORE.stop()


def run(args) -> None:
    sizes = [int(s) for s in args.seats.split(",")]
    if args.quick:
        sizes = [s for s in sizes if s <= 10_000]
    fills = [float(f) for f in args.fills.split(",")]
    head = (f"{'seats':>10} {'fill':>5} {'algo':<8} {'people':>6} {'parties':>7} "
            f"{'compute ms':>10} {'ratio':>6} {'batch ms':>8} {'store ms':>8} {'raw ms':>7} "
            f"{'/raw':>5} "
            f"{'together':>8} {'one row':>7} {'splits':>6} {'unseated':>8} "
            f"{'rank VIP':>8} {'rank std':>8} {'in order':>8}")
    print(head)
    print("-" * len(head))
    for n in sizes:
        layout = make_layout(n)
        runs = args.runs or (1 if args.quick else 3 if n >= 50_000 else 5)
        for fill in fills:
            report(layout, make_requests(layout, fill), fill, runs)
    if args.hard:
        for n in sizes:
            runs = args.runs or (1 if args.quick else 3 if n >= 50_000 else 5)
            for fill in fills:
                report(*make_hard(n, fill), fill, runs, label="hard ")


def report(layout: Layout, requests: list[Request], fill: float, runs: int,
           label: str = "") -> None:
    layout.index  # built once per map, outside the timings (the integration caches it too)
    people = len(requests)
    n_parties = len({r.party or r.registration for r in requests})
    base_t, base = timed(lambda: first_fit(layout, requests), runs)
    rows = [("baseline", base_t, base)]
    for name, opt in STRATEGIES.items():
        t, res = timed(lambda: assign(layout, requests, options=opt), runs)
        rows.append((name, t, res.assignments))
    parties = {r.registration: SimpleNamespace(party=r.party, user_id=None) for r in requests}
    app_ids = app_seat_ids(layout)
    for name, t, assignments in rows:
        q = measure(layout, requests, assignments)
        tb, batch = timed(lambda: write_batch("conf", assignments), runs)
        store = raw = share = "-"
        if STORE is not None and name in ("baseline", "ours"):
            stored = {reg: app_ids[seat] for reg, seat in assignments.items()}
            ts, _ = timed(lambda: STORE.ours(stored, parties), min(runs, 3))
            rows_raw = write_batch("conf", stored)
            tr, _ = timed(lambda: STORE.baseline(rows_raw), min(runs, 3))
            store, raw, share = f"{ts * 1000:.0f}", f"{tr * 1000:.0f}", f"{ts / tr:.2f}"
        ratio = "" if name == "baseline" else f"{t / base_t:.1f}"
        ranks = q.mean_rank_by_band
        print(f"{label + str(len(layout)):>10} {fill:>5.0%} {name:<8} {people:>6} {n_parties:>7} "
              f"{t * 1000:>10.0f} {ratio:>6} {tb * 1000:>8.1f} {store:>8} {raw:>7} {share:>5} "
              f"{q.together_share:>8.1%} {q.in_one_row / max(q.parties, 1):>7.1%} "
              f"{q.split:>6} {q.unseated:>8} "
              f"{rank(ranks, VIP):>8} {rank(ranks, STANDARD):>8} "
              f"{in_order(layout, requests, assignments):>8.1%}", flush=True)
    print()

if __name__ == "__main__":
    main()
