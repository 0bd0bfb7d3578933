"""Aging benchmark: registrations per second through the whole platform on a fresh
database, then again once it holds 100,000 more registrations and their jobs.

    .venv/bin/python bench/aging.py                        # 100/s, 10 s, 3 runs, 100,000
    .venv/bin/python bench/aging.py --load 50 --runs 1 --registrations 20000

The MeetEasy side of ``bench/registrations.py`` (its processes, attendees, sockets,
measurement and reset), without its baseline: the baseline is the same platform before
it aged, measured in the same run. Between the two phases the bench tenant receives
``--registrations`` approved registrations (1,000 per conference) and as many finished
approval jobs, stored by the flusher's own writers (``models.registration_state.flush``,
``models.job_state.flush``) in batches of 1,000, as the flusher stores them after a
burst. The measurements' own documents are deleted between points; the aged ones stay.
It prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from bson import ObjectId  # noqa: E402

from bench import registrations as bench  # noqa: E402
from bench.pipeline import fmt, median, now, progress_line, run_loop  # noqa: E402
from models import job_state, registration_state  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.jobs import new_job_values  # noqa: E402
from models.registrations import HistoryEntry, Registration, new_ticket_code  # noqa: E402

PER_CONFERENCE = 1000


def aged_batch(tenant: bench.Tenant, conference_id: str, first_seq: int
               ) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]]]:
    """A conference's worth of approved registrations and their finished approval jobs,
    as the change stream carries them: each one's creation, then its end."""
    registrations, jobs = [], []
    at = utcnow() - timedelta(days=1)
    for n in range(PER_CONFERENCE):
        seq = first_seq + 2 * n
        registration = Registration(
            id=ObjectId(), tenant_id=tenant.id, conference_id=conference_id, user_id=None,
            email=f"aged-{conference_id}-{n}@example.com", name="Aged Attendee",
            answers=bench.ANSWERS, form_version=1, seq=n + 1, registered_by=tenant.staff_id,
            created_at=at, updated_at=at, change_seq=seq,
            history=[HistoryEntry(at=at, by=tenant.staff_id, to="pending", reason="registered")])
        registration.validate()
        created = registration.to_mongo().to_dict()
        registration.status, registration.policy_checked = "approved", True
        registration.ticket_code = registration.ticket_key = new_ticket_code()
        registration.decided_at, registration.decided_by = at, "policy"
        registration.change_seq = seq + 1
        registration.history.append(HistoryEntry(at=at, by="policy", to="approved", reason=""))
        registrations += [(seq, created), (seq + 1, registration.to_mongo().to_dict())]
        job = new_job_values(tenant.id, tenant.staff_id, "registrations.apply_policy",
                             {"conference_id": conference_id,
                              "registration_id": str(registration.id)}, None)
        job.update(created_at=at, updated_at=at, change_seq=seq)
        ended = job | {"state": "succeeded", "progress": 100, "attempts": 1, "started_at": at,
                       "finished_at": at, "result": {"decided": 1}, "change_seq": seq + 1}
        jobs += [(seq, job_state.encode(job)[0]), (seq + 1, job_state.encode(ended)[0])]
    return registrations, jobs


def age(database, tenant: bench.Tenant, count: int) -> float:
    """Store ``count`` aged registrations and jobs in the bench tenant; seconds taken."""
    started = now()
    conferences = bench.make_conferences(tenant, max(1, count // PER_CONFERENCE))
    for index, conference_id in enumerate(conferences):
        registrations, jobs = aged_batch(tenant, conference_id, 1 + 2 * PER_CONFERENCE * index)
        registration_state.flush(database["registrations"], registrations)
        job_state.flush(database["jobs"], jobs)
    return now() - started


async def measure_phase(name: str, args, side, session, broker) -> list:
    results = []
    for run in range(1, args.runs + 1):
        result, took, dropped, waited = await bench.run_point(
            side, session, broker, args.load, args.seconds, args.grace, args.http_timeout)
        results.append(result)
        print(progress_line(run, args.runs, args.load, side, result).replace(
                  side.name, f"{side.name} {name}")
              + f" | quiet after {waited:.0f} s | settled in {took:.0f} s", flush=True)
    return results


def summary(results: list) -> dict:
    return {"achieved": median(r.achieved for r in results),
            "push_p50": median(r.push_p50 for r in results),
            "push_p99": median(r.push_p99 for r in results)}


async def aging(args, platform, tenant, side, broker) -> None:
    connector = aiohttp.TCPConnector(limit=args.connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            await side.connect()
            await bench.run_point(side, session, broker, 10.0, 3.0, 5.0, args.http_timeout)
            fresh = summary(await measure_phase("fresh", args, side, session, broker))
            # The sockets go while the tenant is aged: the storing thread holds the GIL for
            # minutes, and their pings would time out.
            await side.close()
            took = await asyncio.to_thread(age, platform.database, tenant, args.registrations)
            await side.connect()
            stored = platform.database["registrations"].count_documents({"tenant_id": tenant.id})
            print(f"  aged: {stored} registrations and their jobs stored in {took:.0f} s "
                  f"({1000 * took / max(1, stored):.2f} ms each)", flush=True)
            aged = summary(await measure_phase("aged", args, side, session, broker))
        finally:
            await side.close()
    print()
    print(f"Aging at {args.load:g}/s, medians of {args.runs} run(s):")
    print(f"{'':>8} {'achieved/s':>11} {'push p50':>9} {'push p99':>9}")
    for name, row in (("fresh", fresh), ("aged", aged)):
        print(f"{name:>8} {fmt(row['achieved'], 1):>11} {fmt(row['push_p50'], 1):>9} "
              f"{fmt(row['push_p99'], 1):>9}")
    ratio = aged["achieved"] / fresh["achieved"] if fresh["achieved"] else float("nan")
    print(f"aged/fresh achieved rate: x{ratio:.3f}; push p50 "
          f"x{aged['push_p50'] / fresh['push_p50']:.2f}" if fresh["push_p50"] else "")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Registration throughput, fresh and aged.")
    parser.add_argument("--load", type=float, default=100.0, help="registrations/s (100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per run (10)")
    parser.add_argument("--runs", type=int, default=3, help="runs per phase; medians (3)")
    parser.add_argument("--registrations", type=int, default=100_000,
                        help="registrations stored between the phases (100,000)")
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--http-timeout", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    if args.load * args.seconds > bench.MAX_REQUESTS_PER_POINT or args.registrations < 1:
        parser.error("load × seconds too large, or no registrations to age with")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        with (bench.running_platform("meeteasy-bench-aging-", args) as platform,
              bench.models_connected(platform.stack)):
            tenant = bench.make_tenant(platform.stack, args.sockets)
            database, broker = platform.database, platform.broker
            side = bench.AttendeePool(
                "meeteasy", platform.api_url, {}, {}, platform.relay_url, {},
                bench.MEETEASY_QUEUE, platform.groups("meeteasy"), tokens=tenant.tokens,
                make_conferences=lambda count: bench.make_conferences(tenant, count))
            # Each point's documents go; the aged ones (stored a day earlier) stay.
            side.reset = lambda: bench.reset_tenant(database, broker, tenant.id, side.internals,
                                                    keep_before=utcnow() - timedelta(hours=1))
            print(f"Aging benchmark: {args.load:g}/s, {args.seconds:g} s × {args.runs} per "
                  f"phase, {args.registrations} registrations between", flush=True)
            run_loop(aging(args, platform, tenant, side, broker))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
