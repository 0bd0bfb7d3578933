"""The 202 path alone: how many requests per second the web accepts, workers stopped.

    .venv/bin/python bench/accept.py                  # 5 s per point, 5 runs, 64 clients
    .venv/bin/python bench/accept.py --quick          # 2 s, 1 run

With no worker running, nothing is ever claimed, so this measures only what a request
costs before its 202: authentication, validation, recording the job, publishing its
Celery message. Three endpoints, each driven in turn by the same closed loop (``--clients``
aiohttp connections, each sending its next request as soon as the previous answered):

* ``hello``: ``GET /health`` of the bare Sanic app ``bench/baseline_app.py`` (the ceiling
  of one Sanic worker process on this machine);
* ``baseline ping``: that app's ``POST /ping``, a Celery ``send_task`` from a thread pool;
* ``meeteasy ping``: ``meeteasy web``'s ``POST /diagnostics/ping`` as a tenant_admin, with
  the queue limit raised so that backpressure never refuses.

Each point is the median of ``--runs`` runs, endpoints alternating, each run on queues
emptied beforehand. The ratios are against ``hello`` measured in the same run. It prints
figures only; it asserts nothing. Everything runs on 127.0.0.1 on a Redis and a
SecantusDB that the script starts and stops (the Redis on 6379 is never touched).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis  # noqa: E402

from bench.pipeline import answers, make_admin, run_loop, wait_until  # noqa: E402
from meeteasy import embedded  # noqa: E402
from meeteasy.broker import QUEUES  # noqa: E402
from tests.integration.stack import BIN, Stack  # noqa: E402

BASELINE_QUEUE = "bench-baseline"
NO_LIMIT = str(10 ** 9)


async def drive(url: str, headers: dict, method: str, body: dict | None, clients: int,
                seconds: float) -> tuple[float, int]:
    """Closed loop for ``seconds``: (accepted answers per second, other answers)."""
    accepted = refused = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def client() -> None:
            nonlocal accepted, refused
            while time.perf_counter() < deadline:
                async with session.request(method, url, json=body) as response:
                    await response.read()
                    if response.status in (200, 202):
                        accepted += 1
                    else:
                        refused += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return accepted / elapsed, refused


def empty_queues(broker: redis.Redis) -> None:
    """No worker consumes: drop what the last run queued, so each run starts alike."""
    for queue in (*QUEUES, BASELINE_QUEUE):
        broker.delete(queue)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.runs = 2.0, 1
    workdir = Path(tempfile.mkdtemp(prefix="meeteasy-accept-"))
    services, stack = [], None
    try:
        services.append(embedded.start_redis(workdir / "redis", workdir / "redis.log"))
        services.append(embedded.start_mongo(workdir / "mongodb", workdir / "mongodb.log"))
        redis_service, mongo_service = services
        stack = Stack(workdir / "stack", mongo_service.url, redis_service.url,
                      MEETEASY_MONGODB_DB="meeteasy_bench", MEETEASY_ACCESS_TOKEN_TTL="86400",
                      MEETEASY_LOG_LEVEL="WARNING", MEETEASY_QUEUE_LIMIT=NO_LIMIT)
        api_url = stack.start_web()
        port = embedded.free_port()
        baseline = stack.spawn("baseline-web", [str(BIN / "python"), "-m", "bench.baseline_app",
                                                "--port", str(port)],
                               BENCH_REDIS_URL=redis_service.url, PYTHONPATH=str(ROOT))
        baseline_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(baseline_url + "/health"), baseline, "baseline-web", stack)
        token, _ = make_admin(stack)
        broker = redis.Redis.from_url(redis_service.url)
        points = {
            "hello": (baseline_url + "/health", {}, "GET", None),
            "baseline ping": (baseline_url + "/ping", {}, "POST", {"room": "bench"}),
            "meeteasy ping": (api_url + "/diagnostics/ping",
                              {"Authorization": f"Bearer {token}"}, "POST", {}),
        }
        print(f"Accept benchmark: {args.clients} clients, {args.seconds:g} s per point, "
              f"{args.runs} run(s), no worker running", flush=True)
        rates: dict[str, list[float]] = {name: [] for name in points}
        for run in range(args.runs):
            order = list(points) if run % 2 == 0 else list(reversed(points))
            for name in order:
                empty_queues(broker)
                rate, refused = _run(drive(*points[name], args.clients, args.seconds))
                rates[name].append(rate)
                print(f"  run {run + 1}: {name:<14} {rate:8.0f}/s accepted"
                      + (f", {refused} refused" if refused else ""), flush=True)
        hello = statistics.median(rates["hello"])
        print(f"\n{'endpoint':<15}{'accepted/s':>12}{'vs hello':>10}")
        for name, values in rates.items():
            value = statistics.median(values)
            print(f"{name:<15}{value:>12.0f}{value / hello:>10.2f}")
        empty_queues(broker)
    except KeyboardInterrupt:
        return 130
    finally:
        if stack is not None:
            stack.stop()
        for service in reversed(services):
            service.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _run(coroutine):
    """Run on uvloop when installed, returning the coroutine's result."""
    box = []

    async def keep():
        box.append(await coroutine)

    run_loop(keep())
    return box[0]


if __name__ == "__main__":
    sys.exit(main())
