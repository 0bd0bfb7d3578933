"""Pipeline benchmark: MeetEasy's ping path against a bare baseline, at fixed offered loads.

    .venv/bin/python bench/pipeline.py                       # 50,100,200,400/s, 10 s, 3 runs
    .venv/bin/python bench/pipeline.py --quick               # short smoke run
    .venv/bin/python bench/pipeline.py --loads 50,100 --seconds 5 --runs 1

Both sides run in the same invocation, on their own Redis and SecantusDB started here
(``meeteasy.embedded``, free loopback ports; the Redis on 6379 is never touched):

* baseline: ``bench/baseline_app.py`` (Sanic, one POST that enqueues a no-op Celery task
  from a thread pool), one worker of ``bench/baseline_tasks.py`` (emits one ``job.updated``
  through a write-only ``socketio.RedisManager``) and the minimal relay
  ``bench/baseline_relay.py`` (python-socketio ASGI under uvicorn, AsyncRedisManager, no
  auth). No MongoDB.
* MeetEasy: ``meeteasy web``, ``meeteasy relay`` and one Celery worker of ``tasks.app``
  (``tests.integration.stack.Stack``), ``POST /diagnostics/ping`` as a tenant_admin; the
  push is the ``job.updated`` event whose state is ``succeeded``.

The load is open loop: request *i* is due at ``t0 + i/rate`` and is sent then whatever
happened to the earlier ones; latencies are measured from the due time (so a late
generator or a full connection pool counts as latency, not as a lower offered rate).
HTTP latency ends at the 2xx answer, push latency when the one Socket.IO client of the
side receives the job's succeeded event. Errors: non-2xx, HTTP timeouts and connection
errors, failed jobs, and accepted jobs whose push did not arrive within the grace period.
Each (side, load) is measured ``--runs`` times, sides alternating order; the table shows
medians, and the MeetEasy/baseline ratios. It prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import pymongo  # noqa: E402
import redis  # noqa: E402
import socketio  # noqa: E402

from meeteasy import embedded  # noqa: E402
from tests.integration.stack import BIN, Stack  # noqa: E402

try:
    from uvloop import run as uvloop_run
except ImportError:  # pragma: no cover
    uvloop_run = None

BASELINE_QUEUE = "bench-baseline"   # bench.baseline_tasks.QUEUE (not imported: it reads env)
MEETEASY_QUEUE = "default"           # meeteasy.broker.ROUTES["diagnostics.ping"]
PASSWORD = "correct horse battery"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def now() -> float:
    return time.perf_counter()


# --- the two sides -------------------------------------------------------------------------


@dataclass
class Side:
    """One pipeline under test, and its one Socket.IO client."""

    name: str
    post_url: str
    headers: dict
    body: dict
    relay_url: str
    socket_auth: dict
    queue: str
    groups: dict[str, int]                  # component → process group id, for CPU shares
    # Run between measurements (MeetEasy: delete the jobs, then time a MongoDB lookup);
    # returns the lookup's latency in ms, shown with the next measurement.
    reset: Callable[[], float | None] | None = None
    db_ms: float | None = None
    sock: socketio.AsyncClient | None = None
    succeeded: dict[str, float] = field(default_factory=dict)   # job id → arrival time
    failed: dict[str, str] = field(default_factory=dict)        # job id → error kind
    last_event: float = 0.0
    disconnects: int = 0

    async def connect(self) -> None:
        self.sock = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2)

        @self.sock.on("job.updated")
        async def on_job(data):
            arrived = now()
            self.last_event = arrived
            if not isinstance(data, dict):
                return
            if data.get("state") == "succeeded":
                self.succeeded.setdefault(data.get("id"), arrived)
            elif data.get("state") == "failed":
                self.failed.setdefault(data.get("id"), "job_failed")

        @self.sock.event
        async def disconnect(*_):
            self.disconnects += 1

        await self.sock.connect(self.relay_url, auth=self.socket_auth, transports=["websocket"],
                                wait_timeout=10)

    def request(self, index: int) -> tuple[str, dict, dict]:
        """URL, headers and JSON body of request number ``index`` of a measurement."""
        return self.post_url, self.headers, self.body

    def accept(self, payload) -> str | None:
        """From a 2xx answer, the id its push will carry (None: not an acceptance)."""
        return payload.get("job_id") if isinstance(payload, dict) else None

    def achieved_rate(self, arrivals: list[float], t0: float, rate: float) -> float:
        """Completions per second over the span in which they arrived (one inter-arrival
        added): the offered rate below saturation, the pipeline's throughput above it."""
        return (len(arrivals) / (max(arrivals) - min(arrivals) + 1 / rate)) if arrivals else 0.0

    def forget(self) -> None:
        self.succeeded.clear()
        self.failed.clear()


@dataclass
class Result:
    sent_rate: float
    achieved: float
    http_p50: float | None
    http_p99: float | None
    push_p50: float | None
    push_p99: float | None
    errors: int
    error_kinds: Counter
    cpu: dict[str, float]
    db_ms: float | None = None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1] * 1000


# --- CPU accounting (/proc, by process group: each child runs in its own session) -------


def cpu_ticks_by_group() -> dict[int, int]:
    ticks: Counter = Counter()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # after "pid (comm) ": state ppid pgrp session ... utime(14th overall) stime(15th)
        ticks[int(fields[2])] += int(fields[11]) + int(fields[12])
    return ticks


class CpuMeter:
    def __init__(self, groups: dict[str, int]):
        self.groups = groups

    def __enter__(self):
        self.start_wall = now()
        self.start = cpu_ticks_by_group()
        self.start_self = sum(os.times()[:2])
        return self

    def __exit__(self, *exc):
        wall = now() - self.start_wall
        end = cpu_ticks_by_group()
        self.shares = {name: 100 * (end[pgid] - self.start[pgid]) / CLK_TCK / wall
                       for name, pgid in self.groups.items()}
        self.shares["client"] = 100 * (sum(os.times()[:2]) - self.start_self) / wall
        return False


# --- one measurement -------------------------------------------------------------------------


async def drive(side: Side, session: aiohttp.ClientSession, rate: float, seconds: float,
                http_timeout: float) -> tuple[float, dict[str, float], list[float], Counter, float]:
    """Send ``rate * seconds`` POSTs open loop. Returns t0, job id → due time,
    HTTP latencies, error kinds and the achieved send rate."""
    accepted: dict[str, float] = {}
    http_latencies: list[float] = []
    errors: Counter = Counter()
    timeout = aiohttp.ClientTimeout(total=http_timeout)

    async def request(index: int, due: float) -> None:
        url, headers, body = side.request(index)
        try:
            async with session.post(url, json=body, headers=headers, timeout=timeout) as response:
                payload = await response.json(content_type=None) if response.status < 300 else None
                answered = now()
                key = side.accept(payload) if 200 <= response.status < 300 else None
                if key:
                    http_latencies.append(answered - due)
                    accepted[key] = due
                else:
                    errors[f"http_{response.status}"] += 1
        except asyncio.TimeoutError:
            errors["http_timeout"] += 1
        except (aiohttp.ClientError, OSError, ValueError) as error:
            errors[f"conn_{type(error).__name__}"] += 1

    count = max(1, round(rate * seconds))
    t0 = now() + 0.05
    tasks = []
    for i in range(count):
        due = t0 + i / rate
        delay = due - now()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(request(i, due)))
    last_sent = now()
    # Requests actually started per second (equals ``rate`` unless the generator fell behind).
    sent_rate = (count - 1) / max(last_sent - t0, 1e-9) if count > 1 else float(rate)
    await asyncio.wait(tasks, timeout=http_timeout + 5)
    for task in tasks:
        if not task.done():
            task.cancel()
            errors["http_unfinished"] += 1
    return t0, accepted, http_latencies, errors, sent_rate


async def measure(side: Side, session: aiohttp.ClientSession, rate: float, seconds: float,
                  grace: float, http_timeout: float) -> Result:
    side.forget()
    disconnects = side.disconnects
    db_ms = side.db_ms
    with CpuMeter(side.groups) as cpu:
        t0, accepted, http_latencies, errors, sent_rate = await drive(
            side, session, rate, seconds, http_timeout)
        deadline = t0 + seconds + grace
        while now() < deadline and any(job not in side.succeeded and job not in side.failed
                                       for job in accepted):
            await asyncio.sleep(0.05)
    pushes, arrivals = [], []
    for job, due in accepted.items():
        arrived = side.succeeded.get(job)
        if arrived is not None and arrived <= deadline:
            pushes.append(arrived - due)
            arrivals.append(arrived)
        elif job in side.failed:
            errors[side.failed[job]] += 1
        else:
            errors["no_push"] += 1
    if side.disconnects != disconnects:
        errors["socket_disconnects"] += side.disconnects - disconnects
    achieved = side.achieved_rate(arrivals, t0, rate)
    return Result(sent_rate, achieved, percentile(http_latencies, 50), percentile(http_latencies, 99),
                  percentile(pushes, 50), percentile(pushes, 99),
                  sum(errors.values()), errors, cpu.shares, db_ms)


async def settle(side: Side, broker: redis.Redis, limit: float = 90.0) -> tuple[float, int]:
    """Drop what is still queued (an overloaded run leaves a backlog, and the web may still
    be working through requests whose client gave up), until the side has been quiet for
    two seconds: nothing newly queued and no event. Then reset its state. Bounded by
    ``limit``. Returns the seconds it took and the number of messages dropped."""
    started = now()
    keys = [side.queue] + [f"{side.queue}\x06\x16{priority}" for priority in (3, 6, 9)]
    dropped = 0
    quiet_since = None
    while now() - started < limit:
        pipe = broker.pipeline()
        for key in keys:
            pipe.llen(key)
        pipe.delete(*keys)
        *lengths, _ = pipe.execute()
        dropped += sum(lengths)
        if sum(lengths) == 0 and now() - side.last_event > 1.0:
            quiet_since = quiet_since or now()
            if now() - quiet_since >= 2.0:
                break
        else:
            quiet_since = None
        await asyncio.sleep(0.25)
    if side.reset is not None:
        side.db_ms = await asyncio.to_thread(side.reset)
    side.forget()
    return now() - started, dropped


# --- orchestration ---------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"x{a / b:.2f}"


def median(values) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def progress_line(run: int, runs: int, load: float, side: Side, result: Result) -> str:
    cpu = " ".join(f"{name} {share:.0f}%" for name, share in result.cpu.items())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result.error_kinds.items()))
    return (f"  run {run}/{runs} {load:>5g}/s {side.name:<9} sent {result.sent_rate:6.1f}/s "
            f"achieved {result.achieved:6.1f}/s  http p50 {fmt(result.http_p50):>7} "
            f"p99 {fmt(result.http_p99):>7} ms  push p50 {fmt(result.push_p50):>7} "
            f"p99 {fmt(result.push_p99):>7} ms  errors {result.errors}"
            f"{' (' + kinds + ')' if kinds else ''}  | cpu {cpu}"
            + (f" | db lookup before {result.db_ms:.1f} ms" if result.db_ms is not None else ""))


def print_table(loads: list[float], results: dict[str, dict[float, list[Result]]], runs: int) -> None:
    header = (f"{'load/s':>7}  {'side':<9} {'sent/s':>7} {'achieved/s':>10} {'http p50':>9} "
              f"{'http p99':>9} {'push p50':>9} {'push p99':>9} {'errors':>7}")
    print()
    print(f"Medians of {runs} run(s); latencies in ms from each request's due time; "
          "errors = median count per run.")
    print(header)
    print("-" * len(header))
    summary = []
    for load in loads:
        medians = {}
        for name in ("baseline", "meeteasy"):
            rows = results[name][load]
            medians[name] = {key: median(getattr(row, key) for row in rows) for key in
                             ("sent_rate", "achieved", "http_p50", "http_p99", "push_p50",
                              "push_p99", "errors")}
            m = medians[name]
            print(f"{load:>7g}  {name:<9} {fmt(m['sent_rate']):>7} {fmt(m['achieved']):>10} "
                  f"{fmt(m['http_p50']):>9} {fmt(m['http_p99']):>9} {fmt(m['push_p50']):>9} "
                  f"{fmt(m['push_p99']):>9} {fmt(m['errors'], 0):>7}")
        b, m = medians["baseline"], medians["meeteasy"]
        print(f"{'':>7}  {'M/B':<9} {'':>7} {ratio(m['achieved'], b['achieved']):>10} "
              f"{ratio(m['http_p50'], b['http_p50']):>9} {ratio(m['http_p99'], b['http_p99']):>9} "
              f"{ratio(m['push_p50'], b['push_p50']):>9} {ratio(m['push_p99'], b['push_p99']):>9}")
        summary.append((load, ratio(m["push_p50"], b["push_p50"]), ratio(m["achieved"], b["achieved"])))
    print()
    print("MeetEasy/baseline:  " + "   ".join(
        f"{load:g}/s: push p50 {push}, achieved rate {rate}" for load, push, rate in summary))
    kinds: dict[str, Counter] = {}
    for name in ("baseline", "meeteasy"):
        kinds[name] = Counter()
        for load in loads:
            for row in results[name][load]:
                kinds[name].update(row.error_kinds)
    for name, counter in kinds.items():
        if counter:
            print(f"Errors of {name} over all runs: "
                  + ", ".join(f"{kind} {count}" for kind, count in sorted(counter.items())))
    print()
    print("CPU, median % of one core during the measurement (2 cores = 200%):")
    components = list(next(iter(results["meeteasy"].values()))[0].cpu)
    print(f"{'load/s':>7}  {'side':<9} " + " ".join(f"{name:>7}" for name in components))
    for load in loads:
        for name in ("baseline", "meeteasy"):
            rows = results[name][load]
            print(f"{load:>7g}  {name:<9} " + " ".join(
                f"{fmt(median(row.cpu.get(c) for row in rows), 0):>7}" for c in components))


async def benchmark(args, sides: dict[str, Side], broker: redis.Redis) -> None:
    connector = aiohttp.TCPConnector(limit=args.connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            for side in sides.values():
                await side.connect()
            results = await measure_all(args, sides, broker, session)
        finally:
            for side in sides.values():
                if side.sock is not None and side.sock.connected:
                    await side.sock.disconnect()
    print_table(args.loads, results, args.runs)


async def measure_all(args, sides: dict[str, Side], broker: redis.Redis,
                      session: aiohttp.ClientSession) -> dict[str, dict[float, list[Result]]]:
    # Warm-up: forked pool children connect, caches fill; not measured.
    for side in sides.values():
        await measure(side, session, args.warmup_rate, args.warmup_seconds, 5.0, args.http_timeout)
        await settle(side, broker)
    results: dict[str, dict[float, list[Result]]] = {
        name: {load: [] for load in args.loads} for name in sides}
    for run in range(1, args.runs + 1):
        for index, load in enumerate(args.loads):
            order = ["baseline", "meeteasy"]
            if (run + index) % 2 == 0:
                order.reverse()
            for name in order:
                side = sides[name]
                result = await measure(side, session, load, args.seconds, args.grace,
                                       args.http_timeout)
                results[name][load].append(result)
                took, dropped = await settle(side, broker)
                print(progress_line(run, args.runs, load, side, result)
                      + f" | settled in {took:.0f} s, {dropped} queued dropped", flush=True)
    return results


def spawn_baseline(stack: Stack, redis_url: str, concurrency: int) -> tuple[str, str]:
    env = {"BENCH_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    python = str(BIN / "python")
    web_port, relay_port = embedded.free_port(), embedded.free_port()
    web = stack.spawn("baseline-web", [python, "-m", "bench.baseline_app", "--port", str(web_port)],
                      **env)
    relay = stack.spawn("baseline-relay", [
        str(BIN / "uvicorn"), "bench.baseline_relay:create_relay", "--factory", "--host",
        "127.0.0.1", "--port", str(relay_port), "--log-level", "info", "--no-access-log"], **env)
    worker = stack.spawn("baseline-worker", [
        str(BIN / "celery"), "-A", "bench.baseline_tasks", "worker", "-E", "--loglevel", "INFO",
        "-Q", BASELINE_QUEUE, "-c", str(concurrency), "-n", f"baseline-{uuid.uuid4().hex[:6]}@%h",
        "--without-mingle", "--without-gossip"], **env)
    web_url = f"http://127.0.0.1:{web_port}"
    wait_until(lambda: answers(web_url + "/health"), web, "baseline-web", stack)
    embedded.wait_for_port(relay_port, relay, "baseline-relay")
    wait_until(lambda: " ready." in stack.log_text("baseline-worker"), worker, "baseline-worker", stack)
    return web_url, f"http://127.0.0.1:{relay_port}"


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check, process, name: str, stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n"
                               f"{stack.log_text(name)[-3000:]}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} not ready within {timeout}s:\n{stack.log_text(name)[-3000:]}")


def make_admin(stack: Stack) -> tuple[str, str]:
    """A fresh tenant with one tenant_admin, written directly, logged in through the API."""
    from meeteasy import db
    from meeteasy.settings import get_settings
    from models import tenants, users

    os.environ.update({key: value for key, value in stack.env.items() if key.startswith("MEETEASY_")})
    get_settings.cache_clear()
    db.connect(get_settings())
    try:
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        tenant = tenants.create_tenant(slug, f"Bench {slug}")
        email = f"admin@{slug}.example.com"
        user = users.create_user(str(tenant.id), email, PASSWORD, ["tenant_admin"])
    finally:
        db.disconnect()
    return stack.login(slug, email, PASSWORD)["access_token"], str(tenant.id)


def reset_jobs(jobs: pymongo.collection.Collection, tenant_id: str) -> float:
    """Delete the bench tenant's jobs (their number slows SecantusDB's lookups down), then
    time the lookup the worker's claim starts with, by tenant and id: median of 5, in ms."""
    deadline = now() + 30
    while jobs.delete_many({"tenant_id": tenant_id}).deleted_count and now() < deadline:
        time.sleep(0.5)   # until no straggling request of the web inserted one meanwhile
    times = []
    for attempt in range(5):
        started = now()
        jobs.find_one({"tenant_id": tenant_id, "_id": f"probe-{attempt}"})
        times.append(now() - started)
    return statistics.median(times) * 1000


def parse_loads(parser: argparse.ArgumentParser, args: argparse.Namespace, quick_loads: str,
                warmup_rate: float) -> None:
    """Finish the options both benchmarks share, in place: ``--quick`` means ``quick_loads``,
    3 s, 1 run and a 5 s grace; ``args.loads`` becomes a list of floats; loads and seconds
    must be positive and runs at least 1; the warm-up is ``warmup_rate``/s for 1 s with
    ``--quick``, else 2 s."""
    if args.quick:
        args.loads, args.seconds, args.runs, args.grace = quick_loads, 3.0, 1, 5.0
    args.loads = [float(item) for item in str(args.loads).split(",") if item.strip()]
    if not args.loads or min(args.loads) <= 0 or args.seconds <= 0 or args.runs < 1:
        parser.error("loads and seconds must be positive, runs at least 1")
    args.warmup_rate, args.warmup_seconds = warmup_rate, 1.0 if args.quick else 2.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MeetEasy ping path vs a bare Sanic→Celery→"
                                     "Socket.IO baseline at fixed offered loads.")
    parser.add_argument("--loads", default="50,100,200,400",
                        help="offered loads, requests per second (default 50,100,200,400)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per load and side (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are shown (default 3)")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="after the last request, how long to wait for pushes (default 10 s)")
    parser.add_argument("--http-timeout", type=float, default=10.0, help="per request (default 10 s)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="Celery prefork processes per worker, both sides (default 2)")
    parser.add_argument("--connections", type=int, default=256,
                        help="HTTP client connection pool size (default 256)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: loads 20,50, 3 s each, 1 run, short grace")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    parse_loads(parser, args, quick_loads="20,50", warmup_rate=20.0)
    return args


@dataclass
class Platform:
    """Both sides' processes, started by ``running_platform`` on their own Redis and SecantusDB."""

    workdir: Path
    stack: Stack
    redis_service: embedded.Service
    mongo_service: embedded.Service
    api_url: str                    # MeetEasy web and relay
    relay_url: str
    baseline_url: str               # baseline web and relay
    baseline_relay: str
    mongo: pymongo.MongoClient      # on the SecantusDB
    broker: redis.Redis             # on the Redis (the Celery broker of both sides)

    @property
    def database(self) -> pymongo.database.Database:
        return self.mongo[self.stack.env["MEETEASY_MONGODB_DB"]]

    def groups(self, side: str) -> dict[str, int]:
        """Component → process group id of ``side`` ("baseline" or "meeteasy"), for CpuMeter."""
        prefix = "baseline-" if side == "baseline" else ""
        processes = self.stack.processes
        return {"web": processes[prefix + "web"].pid, "relay": processes[prefix + "relay"].pid,
                "worker": processes[prefix + "worker"].pid,
                "redis": self.redis_service.process.pid, "mongodb": self.mongo_service.process.pid}

    def print_header(self, title: str, args: argparse.Namespace, detail: str = "") -> None:
        """The two lines a benchmark starts with: its settings and the machine, then the
        processes of each side; ``detail`` follows the grace period on the first line."""
        loads = ",".join(f"{load:g}" for load in args.loads)
        print(f"{title}: loads {loads}/s, {args.seconds:g} s each, {args.runs} run(s), "
              f"grace {args.grace:g} s{detail}; {os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"  each side: Sanic web (1 worker process), Socket.IO relay (uvicorn), Celery "
              f"worker -c {args.concurrency}; Redis {self.redis_service.url}, "
              f"SecantusDB {self.mongo_service.url} (MeetEasy only)", flush=True)


@contextmanager
def running_platform(prefix: str, args: argparse.Namespace) -> Iterator[Platform]:
    """Start both sides in a fresh temporary work directory named ``prefix``…: Redis,
    SecantusDB, MeetEasy's web, relay and worker (``args.concurrency``), the baseline's; yield
    them as a Platform. On the way out stop everything, and remove the work directory if the
    block finished and ``args.keep`` is not set (else say where the logs are). SIGTERM acts
    as Ctrl-C; an interrupt is announced and re-raised (the caller exits with 130)."""

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    services: list[embedded.Service] = []
    stack: Stack | None = None
    mongo: pymongo.MongoClient | None = None
    ok = False
    try:
        # Append-only, as `meeteasy dev` runs it (both sides share this Redis): a change
        # recorded there is durable, so a decision is announced without waiting for MongoDB.
        services.append(embedded.start_redis(workdir / "redis", workdir / "redis.log",
                                             durable=True))
        services.append(embedded.start_mongo(workdir / "mongodb", workdir / "mongodb.log"))
        redis_service, mongo_service = services
        stack = Stack(workdir / "stack", mongo_service.url, redis_service.url,
                      MEETEASY_MONGODB_DB="meeteasy_bench", MEETEASY_LOG_LEVEL="INFO",
                      MEETEASY_ACCESS_TOKEN_TTL="86400", MEETEASY_TASK_TIME_LIMIT="60",
                      MEETEASY_VISIBILITY_TIMEOUT="120")
        api_url = stack.start_web()
        relay_url = stack.start_relay()
        stack.start_worker("worker", concurrency=args.concurrency)
        stack.start_flusher()
        baseline_url, baseline_relay = spawn_baseline(stack, redis_service.url, args.concurrency)
        mongo = pymongo.MongoClient(mongo_service.url)
        yield Platform(workdir, stack, redis_service, mongo_service, api_url, relay_url,
                       baseline_url, baseline_relay, mongo, redis.Redis.from_url(redis_service.url))
        ok = True
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        raise
    finally:
        if mongo is not None:
            mongo.close()
        if stack is not None:
            stack.stop()
        for service in reversed(services):
            service.stop()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)


def run_loop(coroutine) -> None:
    """Run ``coroutine`` to the end on uvloop if it is installed, else on asyncio's loop."""
    (uvloop_run or asyncio.run)(coroutine)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        with running_platform("meeteasy-bench-", args) as platform:
            token, tenant_id = make_admin(platform.stack)
            jobs = platform.database["jobs"]
            sides = {
                "baseline": Side("baseline", platform.baseline_url + "/ping", {}, {"room": "bench"},
                                 platform.baseline_relay, {"room": "bench"}, BASELINE_QUEUE,
                                 platform.groups("baseline")),
                "meeteasy": Side("meeteasy", platform.api_url + "/diagnostics/ping",
                                 {"Authorization": f"Bearer {token}"}, {}, platform.relay_url,
                                 {"token": token}, MEETEASY_QUEUE, platform.groups("meeteasy"),
                                 reset=lambda: reset_jobs(jobs, tenant_id)),
            }
            platform.print_header("Pipeline benchmark", args)
            run_loop(benchmark(args, sides, platform.broker))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
