"""Registration benchmark: POST registration → approved by policy → pushed to the attendee's
socket, against the bare baseline of ``bench/pipeline.py``, at fixed offered loads.

    .venv/bin/python bench/registrations.py                 # 10,25,50,100/s, 10 s, 3 runs
    .venv/bin/python bench/registrations.py --quick         # short smoke run
    .venv/bin/python bench/registrations.py --loads 10,25 --seconds 5 --runs 1

Both sides run in the same invocation, on their own Redis and SecantusDB started here
(``meeteasy.embedded``, free loopback ports; the Redis on 6379 is never touched), with the
processes of ``bench/pipeline.py``:

* MeetEasy: ``meeteasy web``, ``meeteasy relay``, one Celery worker of ``tasks.app``. Before
  measuring, ``--sockets`` attendees are created in a fresh tenant (``models.users.create_user``)
  and logged in through the API, and each keeps one Socket.IO connection to the relay (so it
  is in its own user room). Request *i* of a measurement is attendee ``i % sockets``
  registering itself (its own token) to conference ``i // sockets`` of that measurement's
  fresh conferences (published, automatic policy, capacity 100,000, a three-field AMIS form
  the answers are validated against). The push is the ``registration.approved`` event that
  attendee's socket receives for that registration.
* baseline: ``bench/baseline_app.py`` + ``bench/baseline_tasks.py`` + ``bench/baseline_relay.py``
  with as many sockets, each in its own room; request *i* names room ``i % sockets``.

Load, latencies, errors, achieved rate and CPU shares are measured as in ``bench/pipeline.py``
(open loop, from each request's due time). Between measurements the queue is drained and the
bench tenant's jobs, registrations and conferences are deleted (SecantusDB's lookups slow down
with a tenant's document count). It prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import pymongo  # noqa: E402
import redis  # noqa: E402
import socketio  # noqa: E402
from bson import ObjectId  # noqa: E402

from bench.pipeline import (BASELINE_QUEUE, CLK_TCK, MEETEASY_QUEUE, PASSWORD,  # noqa: E402
                            Result, Side, cpu_ticks_by_group, fmt, measure, median, now,
                            parse_loads, percentile, print_table, progress_line, run_loop,
                            running_platform, settle)
from tests.integration.stack import Stack  # noqa: E402

# The small AMIS form of tests/integration/test_registrations.py: a required nested text
# field, a select, a text field with a length limit; every request's answers pass it.
FORM = {"type": "form", "body": [
    {"type": "input-text", "name": "person.name", "label": "Name", "required": True},
    {"type": "select", "name": "diet", "options": [{"label": "Any", "value": "any"},
                                                   {"label": "Vegan", "value": "vegan"}]},
    {"type": "input-text", "name": "company", "validations": {"maxLength": 20}},
]}
ANSWERS = {"person": {"name": "Ada Lovelace"}, "diet": "vegan", "company": "Analytical Engines"}
CAPACITY = 100_000
MAX_REQUESTS_PER_POINT = 20_000
QUIET_CPU = 15.0   # % of one core, all of a side's processes together, before a measurement
# Tenant-owned documents the measurements create; users, memberships and the tenant stay.
KEEP_COLLECTIONS = {"tenants", "users", "memberships"}
KEPT_WHEN_AGED = {"registrations", "jobs"}  # see reset_tenant


def requests_in(rate: float, seconds: float) -> int:
    return max(1, round(rate * seconds))   # as bench.pipeline.drive counts them


# --- sides with one socket per client identity -----------------------------------------------


@dataclass
class PoolSide(Side):
    """A side whose pushes go to a pool of sockets, one per client identity (an attendee, or a
    baseline room); request *i* belongs to identity ``i % len(pool)``."""

    socks: list = field(default_factory=list)
    socket_session: aiohttp.ClientSession | None = None

    def auths(self) -> list[dict]:
        raise NotImplementedError

    def bind(self, sock: socketio.AsyncClient) -> None:
        raise NotImplementedError

    def prepare(self, count: int) -> None:
        """Before a measurement of ``count`` requests (blocking; run in a thread)."""

    def achieved_rate(self, arrivals: list[float], t0: float, rate: float) -> float:
        """Pushes received per second from the first request's due time to the last push
        (one inter-arrival added). Unlike pipeline.py's span of arrivals, a burst (one
        approval pass announces all its decisions at once) does not read as a high rate."""
        return len(arrivals) / (max(arrivals) - t0 + 1 / rate) if arrivals else 0.0

    async def connect(self) -> None:
        self.socket_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        gate = asyncio.Semaphore(16)

        async def one(auth: dict) -> None:
            sock = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2,
                                        handle_sigint=False, http_session=self.socket_session)
            self.bind(sock)

            @sock.event
            async def disconnect(*_):
                self.disconnects += 1

            self.socks.append(sock)
            async with gate:
                await sock.connect(self.relay_url, auth=auth, transports=["websocket"],
                                   wait_timeout=10)

        await asyncio.gather(*(one(auth) for auth in self.auths()))

    async def close(self) -> None:
        await asyncio.gather(*(sock.disconnect() for sock in self.socks if sock.connected),
                             return_exceptions=True)
        self.socks = []  # connect() may open a new set (bench/aging.py)
        if self.socket_session is not None:
            await self.socket_session.close()


@dataclass
class BaselinePool(PoolSide):
    size: int = 1

    def auths(self) -> list[dict]:
        return [{"room": f"bench-{k}"} for k in range(self.size)]

    def request(self, index: int) -> tuple[str, dict, dict]:
        return self.post_url, {}, {"room": f"bench-{index % self.size}"}

    def bind(self, sock: socketio.AsyncClient) -> None:
        @sock.on("job.updated")
        async def on_job(data):
            arrived = now()
            self.last_event = arrived
            if not isinstance(data, dict):
                return
            if data.get("state") == "succeeded":
                self.succeeded.setdefault(data.get("id"), arrived)
            elif data.get("state") == "failed":
                self.failed.setdefault(data.get("id"), "job_failed")


@dataclass
class AttendeePool(PoolSide):
    """MeetEasy: each socket is one attendee's; pushes are keyed by registration id."""

    tokens: list[str] = field(default_factory=list)
    make_conferences: object = None          # count → list of conference ids (blocking)
    conferences: list[str] = field(default_factory=list)
    job_of: dict[str, str] = field(default_factory=dict)          # job id → registration id
    internals: dict = field(default_factory=dict)   # of the last measurement, set by reset
    early_failures: dict[str, str] = field(default_factory=dict)  # job id → kind, before its 202

    def auths(self) -> list[dict]:
        return [{"token": token} for token in self.tokens]

    def prepare(self, count: int) -> None:
        self.conferences = self.make_conferences(math.ceil(count / len(self.tokens)))

    def request(self, index: int) -> tuple[str, dict, dict]:
        size = len(self.tokens)
        return (f"{self.post_url}/conferences/{self.conferences[index // size]}/registrations",
                {"Authorization": f"Bearer {self.tokens[index % size]}"}, {"answers": ANSWERS})

    def accept(self, payload) -> str | None:
        if not isinstance(payload, dict) or not isinstance(payload.get("registration"), dict):
            return None
        registration, job = payload["registration"].get("id"), payload.get("job_id")
        if not registration or not job:
            return None
        self.job_of[job] = registration
        if job in self.early_failures:
            self.failed.setdefault(registration, self.early_failures.pop(job))
        return registration

    def bind(self, sock: socketio.AsyncClient) -> None:
        @sock.on("registration.approved")
        async def approved(data):
            self.last_event = arrived = now()
            if isinstance(data, dict):
                self.succeeded.setdefault(data.get("id"), arrived)

        def other_decision(kind: str):
            async def handler(data):
                self.last_event = now()
                if isinstance(data, dict):
                    self.failed.setdefault(data.get("id"), kind)
            return handler

        sock.on("registration.waitlisted", other_decision("waitlisted"))
        sock.on("registration.rejected", other_decision("rejected"))

        @sock.on("registration.created")
        async def created(data):
            self.last_event = now()

        @sock.on("job.updated")
        async def on_job(data):
            self.last_event = now()
            if isinstance(data, dict) and data.get("state") == "failed":
                registration = self.job_of.get(data.get("id"))
                if registration:
                    self.failed.setdefault(registration, "job_failed")
                else:
                    self.early_failures[data.get("id")] = "job_failed"

    def forget(self) -> None:
        super().forget()
        self.job_of.clear()
        self.early_failures.clear()


# --- MeetEasy data: tenant, attendees, conferences, reset ------------------------------------


@dataclass
class Tenant:
    id: str
    slug: str
    staff_id: str
    tokens: list[str]


@contextmanager
def models_connected(stack: Stack) -> Iterator[None]:
    """Connect this process's mongoengine to the bench's SecantusDB (the stack's settings)
    for the block; disconnect after it."""
    from meeteasy import db
    from meeteasy.settings import get_settings

    os.environ.update({key: value for key, value in stack.env.items()
                       if key.startswith("MEETEASY_")})
    get_settings.cache_clear()
    db.connect(get_settings())
    try:
        yield
    finally:
        db.disconnect()


def make_tenant(stack: Stack, attendees: int) -> Tenant:
    """A fresh tenant with one staff member (creates the conferences) and ``attendees``
    attendees, created with models.users.create_user and each logged in through the API.
    Password hashing and checking (argon2) make this slow, so it happens before measuring."""
    from models import tenants, users

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    tenant = tenants.create_tenant(slug, f"Bench {slug}")
    tenant_id = str(tenant.id)
    staff = users.create_user(tenant_id, f"staff@{slug}.example.com", PASSWORD, ["staff"])
    emails = [f"attendee-{k:04d}@{slug}.example.com" for k in range(attendees)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda email: users.create_user(tenant_id, email, PASSWORD, ["attendee"]),
                      emails))
        tokens = list(pool.map(lambda email: stack.login(slug, email, PASSWORD)["access_token"],
                               emails))
    return Tenant(tenant_id, slug, str(staff.id), tokens)


def make_conferences(tenant: Tenant, count: int) -> list[str]:
    """``count`` fresh published conferences: automatic policy, large capacity, the form."""
    from models import conferences, forms

    made = []
    start = datetime.now(UTC) + timedelta(days=30)
    for _ in range(count):
        conference = conferences.create_conference(
            tenant.id, tenant.staff_id, title="Bench conference", slug=f"b-{uuid.uuid4().hex[:10]}",
            timezone="UTC", starts_at=start, ends_at=start + timedelta(days=2), capacity=CAPACITY,
            policy={"mode": "automatic"})
        conferences.transition(tenant.id, str(conference.id), "published")
        forms.save_version(tenant.id, str(conference.id), FORM, tenant.staff_id)
        made.append(str(conference.id))
    return made


def internals(database: pymongo.database.Database, tenant_id: str) -> dict:
    """What the stored documents say about the measurement just made: how long the approval
    jobs waited in the queue and ran, how many of them made an approval pass (decided
    something) and how many registrations each pass decided, and the time from a
    registration's insert (by the web) to its approval (by a worker)."""
    jobs = list(database["jobs"].find(
        {"tenant_id": tenant_id, "kind": "registrations.apply_policy"},
        {"created_at": 1, "started_at": 1, "finished_at": 1, "result": 1, "attempts": 1}))
    ended = [job for job in jobs if job.get("started_at") and job.get("finished_at")]
    # A job that joined another's task (models/job_state.Join) is ended by that task's
    # pass without an attempt of its own.
    ran = [job for job in ended if job.get("attempts")]
    joined = [job for job in ended if not job.get("attempts")]
    waits = [(job["started_at"] - job["created_at"]).total_seconds() for job in ran]
    runs = [(job["finished_at"] - job["started_at"]).total_seconds() for job in ran]
    passes = [job for job in ran if (job.get("result") or {}).get("decided")]
    pass_runs = [(job["finished_at"] - job["started_at"]).total_seconds() for job in passes]
    decided = [job["result"]["decided"] for job in passes]
    approved = [(reg["decided_at"] - reg["created_at"]).total_seconds() for reg in
                database["registrations"].find({"tenant_id": tenant_id, "status": "approved"},
                                               {"created_at": 1, "decided_at": 1})
                if reg.get("decided_at")]
    return {"jobs": len(jobs), "ran": len(ran), "joined": len(joined),
            "wait_p50": percentile(waits, 50),
            "run_p50": percentile(runs, 50), "passes": len(passes),
            "per_pass": statistics.mean(decided) if decided else None,
            "max_per_pass": max(decided) if decided else None,
            "pass_p50": percentile(pass_runs, 50),
            "stored_p50": percentile(approved, 50), "stored_p99": percentile(approved, 99)}


def reset_tenant(database: pymongo.database.Database, broker: redis.Redis, tenant_id: str,
                 record: dict, keep_before: datetime | None = None) -> float:
    """Once no approval pass holds a conference lock of the tenant, note its internals
    in ``record``, delete the tenant's jobs, registrations, conferences, forms and whatever
    else the measurement created (registrations and jobs created before ``keep_before``
    stay: ``bench/aging.py``'s), then time a registration lookup by tenant and id (the
    worker's first read): median of 5, in ms."""
    deadline = now() + 60
    pattern = f"meeteasy:lock:{tenant_id}:conference:*"
    while now() < deadline and next(iter(broker.scan_iter(match=pattern, count=1000)), None):
        time.sleep(0.25)
    record.clear()
    record.update(internals(database, tenant_id))
    names = [name for name in database.list_collection_names() if name not in KEEP_COLLECTIONS]
    deadline = now() + 30
    while now() < deadline:
        deleted = sum(database[name].delete_many(
            {"tenant_id": tenant_id} | ({"created_at": {"$gte": keep_before}}
                                        if keep_before and name in KEPT_WHEN_AGED else {})
        ).deleted_count for name in names)
        if not deleted:
            break
        time.sleep(0.5)   # until no straggling request of the web inserted one meanwhile
    registrations = database["registrations"]
    times = []
    for _ in range(5):
        started = now()
        registrations.find_one({"tenant_id": tenant_id, "_id": ObjectId()})
        times.append(now() - started)
    return statistics.median(times) * 1000


# --- orchestration ---------------------------------------------------------------------------


async def quiesce(side: PoolSide, threshold: float = QUIET_CPU, limit: float = 60.0) -> float:
    """Wait until the side's processes together use less than ``threshold`` % of a core over
    one second (a web still working through requests whose clients gave up, or a database
    still busy, would otherwise spill into the next measurement). Bounded by ``limit``;
    returns the seconds waited."""
    started = now()
    while now() - started < limit:
        before, at = await asyncio.to_thread(cpu_ticks_by_group), now()
        await asyncio.sleep(1.0)
        after = await asyncio.to_thread(cpu_ticks_by_group)
        busy = sum(after[pgid] - before[pgid] for pgid in side.groups.values())
        if 100 * busy / CLK_TCK / (now() - at) < threshold:
            break
    return now() - started


async def run_point(side: PoolSide, session, broker, rate: float, seconds: float, grace: float,
                    http_timeout: float) -> tuple[Result, float, int, float]:
    await asyncio.to_thread(side.prepare, requests_in(rate, seconds))
    waited = await quiesce(side)
    result = await measure(side, session, rate, seconds, grace, http_timeout)
    took, dropped = await settle(side, broker)
    return result, took, dropped, waited


async def benchmark(args, sides: dict[str, PoolSide], broker: redis.Redis) -> None:
    connector = aiohttp.TCPConnector(limit=args.connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            for side in sides.values():
                started = now()
                await side.connect()
                print(f"  {side.name}: {len(side.socks)} sockets connected in "
                      f"{now() - started:.1f} s", flush=True)
            # Warm-up: forked pool children connect, caches fill; not measured.
            for side in sides.values():
                await run_point(side, session, broker, args.warmup_rate, args.warmup_seconds,
                                5.0, args.http_timeout)
            results: dict[str, dict[float, list[Result]]] = {
                name: {load: [] for load in args.loads} for name in sides}
            inside: dict[float, list[dict]] = {load: [] for load in args.loads}
            for run in range(1, args.runs + 1):
                for index, load in enumerate(args.loads):
                    order = ["baseline", "meeteasy"]
                    if (run + index) % 2 == 0:
                        order.reverse()
                    for name in order:
                        side = sides[name]
                        result, took, dropped, waited = await run_point(
                            side, session, broker, load, args.seconds, args.grace,
                            args.http_timeout)
                        results[name][load].append(result)
                        print(progress_line(run, args.runs, load, side, result)
                              + f" | quiet after {waited:.0f} s | settled in {took:.0f} s, "
                              f"{dropped} queued dropped", flush=True)
                        if isinstance(side, AttendeePool):
                            inside[load].append(dict(side.internals))
                            print("    " + internals_line(side.internals), flush=True)
        finally:
            for side in sides.values():
                await side.close()
    print_table(args.loads, results, args.runs)
    print_internals(args.loads, inside)


def internals_line(stats: dict) -> str:
    return (f"approval jobs {stats['jobs']} ({stats['ran']} ran, {stats['joined']} joined "
            f"another's task): queue wait p50 "
            f"{fmt(stats['wait_p50'])} ms, run p50 {fmt(stats['run_p50'])} ms; "
            f"{stats['passes']} passes decided {fmt(stats['per_pass'])} each on average "
            f"(max {stats['max_per_pass'] or '-'}), pass run p50 {fmt(stats['pass_p50'])} ms; "
            f"stored insert→approved p50 {fmt(stats['stored_p50'])} "
            f"p99 {fmt(stats['stored_p99'])} ms")


def print_internals(loads: list[float], inside: dict[float, list[dict]]) -> None:
    print()
    print("MeetEasy inside (from the stored jobs and registrations), medians over the runs:")
    columns = (("jobs", "jobs", 0), ("ran", "ran", 0), ("joined", "joined", 0),
               ("wait_p50", "wait p50", 1),
               ("run_p50", "run p50", 1), ("passes", "passes", 0), ("per_pass", "per pass", 1),
               ("pass_p50", "pass p50", 1), ("stored_p50", "ins→ok p50", 1),
               ("stored_p99", "ins→ok p99", 1))
    print(f"{'load/s':>7}  " + " ".join(f"{title:>10}" for _, title, _ in columns))
    for load in loads:
        rows = inside[load]
        print(f"{load:>7g}  " + " ".join(f"{fmt(median(row.get(key) for row in rows), digits):>10}"
                                         for key, _, digits in columns))
    print("  ran: jobs whose own task ran; joined: jobs that joined the conference's queued "
          "task and were ended by its pass; wait and run: of those that ran.")
    print("  wait: job created (web) → claimed (worker); run: claimed → finished; passes: jobs "
          "that decided registrations (one pass decides every pending registration of its "
          "conference); ins→ok: registration inserted → approved, as stored (ms).")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(
        "MeetEasy registration → approval → attendee push vs a bare Sanic→Celery→Socket.IO "
        "baseline at fixed offered loads."))
    parser.add_argument("--loads", default="10,25,50,100",
                        help="offered loads, registrations per second (default 10,25,50,100)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="per load and side (default 10)")
    parser.add_argument("--runs", type=int, default=3,
                        help="repetitions; medians are shown (default 3)")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="after the last request, how long to wait for pushes (default 10 s)")
    parser.add_argument("--http-timeout", type=float, default=10.0,
                        help="per request (default 10 s)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="Celery prefork processes per worker, both sides (default 2)")
    parser.add_argument("--connections", type=int, default=256,
                        help="HTTP client connection pool size (default 256)")
    parser.add_argument("--sockets", type=int, default=200,
                        help="attendees (MeetEasy) and rooms (baseline), one socket each "
                             "(default 200; 50 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: loads 10,25, 3 s each, 1 run, 50 sockets, short grace")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    parse_loads(parser, args, quick_loads="10,25", warmup_rate=10.0)
    if args.quick and "--sockets" not in (argv if argv is not None else sys.argv[1:]):
        args.sockets = 50
    if not 1 <= args.sockets <= 1000:
        parser.error("--sockets must be between 1 and 1000")
    if max(args.loads) * args.seconds > MAX_REQUESTS_PER_POINT:
        parser.error(f"at most {MAX_REQUESTS_PER_POINT} requests per point (load × seconds)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        with (running_platform("meeteasy-bench-reg-", args) as platform,
              models_connected(platform.stack)):
            started = now()
            tenant = make_tenant(platform.stack, args.sockets)
            print(f"Created and logged in {args.sockets} attendees in {now() - started:.0f} s",
                  flush=True)
            database, broker = platform.database, platform.broker
            sides = {
                "baseline": BaselinePool(
                    "baseline", platform.baseline_url + "/ping", {}, {}, platform.baseline_relay,
                    {}, BASELINE_QUEUE, platform.groups("baseline"), size=args.sockets),
                "meeteasy": AttendeePool(
                    "meeteasy", platform.api_url, {}, {}, platform.relay_url, {}, MEETEASY_QUEUE,
                    platform.groups("meeteasy"), tokens=tenant.tokens,
                    make_conferences=lambda count: make_conferences(tenant, count)),
            }
            meeteasy = sides["meeteasy"]
            meeteasy.reset = lambda: reset_tenant(database, broker, tenant.id, meeteasy.internals)
            platform.print_header("Registration benchmark", args,
                                  f", {args.sockets} sockets per side")
            print("  MeetEasy: attendee POST /conferences/{id}/registrations → "
                  "registration.approved on that attendee's socket; baseline: POST /ping → "
                  "job.updated on the room's socket", flush=True)
            run_loop(benchmark(args, sides, broker))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
