"""MongoDB round trips of the hot paths, counted, and the cost of a registration insert.

    .venv/bin/python bench/roundtrips.py               # 5 registrations, 3 pings, 3 insert runs
    .venv/bin/python bench/roundtrips.py --registrations 10 --insert 2000 --runs 5
    .venv/bin/python bench/roundtrips.py --plugin      # the tenant also enables a plugin
    .venv/bin/python bench/roundtrips.py --trace       # and each command of one registration

The script starts its own SecantusDB and Redis (``meeteasy.embedded``, free loopback
ports, stopped by PID at the end; the Redis on 6379 is never touched), connects the
models with a pymongo ``CommandListener`` and counts every command sent to MongoDB, by
name, while it runs, in this process:

* registration, web part: ``services.registrations.register`` for a logged-in attendee
  on a published conference (automatic policy) with a three-field form, as the API's
  handler calls it (no ``Idempotency-Key``; a key adds its own record's round trips);
* registration, worker part: the ``registrations.apply_policy`` task run in-process on
  its job (claim, ``services.decisions.run_policy``, finish); ``run_policy`` is also
  shown on its own;
* ping: ``services.diagnostics.ping`` (web) and the ``diagnostics.ping`` task (worker).

Each registration is a new attendee on the same conference; the first one after the
setup is shown apart (``cold``: what a request pays after the conference, its form or
the tenant's plugins changed), then the median of the others (``warm``). Sending a task
is a Redis write; no Celery worker runs, the bench runs each task itself.

Insert cost: ``insert_many(ordered=False)`` of ``--insert`` registration documents (as
``models.registrations.create_registration`` would store them) into the registrations
collection with the model's indexes, a fresh conference each run; the same rows into a
scratch collection with the registration indexes of before issue 9 (``BEFORE``: twelve,
each partial unique index with its plain twin), and into one with no index (``raw``),
in the same runs, alternating. It prints the median ms per document.

Job write cost: the flusher's jobs writer (``models.jobs.flush``) storing ``--insert`` jobs
created and ended within one batch (one insert each), created only (one insert each), and
ended after an earlier batch stored their creation (one guarded update each), median ms
per job over ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pymongo import monitoring  # noqa: E402

from meeteasy import embedded  # noqa: E402

WRITES = {"insert", "update", "delete", "findAndModify"}
FORM = {"type": "form", "body": [
    {"type": "input-text", "name": "name", "label": "Name", "required": True},
    {"type": "input-email", "name": "email", "label": "Email"},
    {"type": "input-text", "name": "city", "label": "City"},
]}
ANSWERS = {"name": "Ada", "email": "ada@example.com", "city": "Lyon"}
# The registrations' indexes before issue 9 (models/registrations.py at 02e6d3c).
BEFORE = [
    ({"tenant_id": 1, "conference_id": 1, "user_id": 1},
     {"unique": True, "partialFilterExpression": {"user_id": {"$type": "string"}}}),
    ({"tenant_id": 1, "conference_id": 1, "user_id": 1, "status": 1}, {}),
    ({"tenant_id": 1, "conference_id": 1, "email": 1},
     {"unique": True, "partialFilterExpression": {"email": {"$type": "string"}}}),
    ({"tenant_id": 1, "conference_id": 1, "email": 1, "status": 1}, {}),
    ({"tenant_id": 1, "conference_id": 1, "ticket_code": 1},
     {"unique": True, "partialFilterExpression": {"ticket_code": {"$type": "string"}}}),
    ({"tenant_id": 1, "ticket_code": 1, "conference_id": 1}, {}),
    ({"tenant_id": 1, "_id": 1, "status": 1, "policy_checked": 1}, {}),
    ({"tenant_id": 1, "conference_id": 1, "seq": 1}, {"unique": True}),
    ({"tenant_id": 1, "conference_id": 1, "status": 1, "seq": 1}, {}),
    ({"tenant_id": 1, "conference_id": 1, "status": 1, "policy_checked": 1, "seq": 1}, {}),
    ({"tenant_id": 1, "conference_id": 1, "status": 1, "waitlist_seq": 1}, {}),
    ({"tenant_id": 1, "conference_id": 1, "party": 1}, {}),
]


class Commands(monitoring.CommandListener):
    """Every command sent to the bench's database while ``active``, by name."""

    def __init__(self):
        self.active = False
        self.names: list[str] = []
        self.trace: list[str] = []  # "name collection", for --trace

    def started(self, event):
        if self.active and event.command_name not in ("endSessions", "hello", "isMaster"):
            self.names.append(event.command_name)
            target = event.command.get(event.command_name)
            self.trace.append(f"{event.command_name} {target if isinstance(target, str) else ''}")

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def count(self, call) -> tuple[Counter, object]:
        self.names.clear()
        self.trace.clear()
        self.active = True
        try:
            result = call()
        finally:
            self.active = False
        return Counter(self.names), result


def row(label: str, counts: Counter) -> str:
    writes = sum(n for name, n in counts.items() if name in WRITES)
    total = sum(counts.values())
    names = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    return f"{label:<34} {total:>5} {writes:>6} {total - writes:>5}   {names}"


def median_counts(samples: list[Counter]) -> Counter:
    """The sample whose total is the median (a whole sample, so its names add up)."""
    ordered = sorted(samples, key=lambda c: sum(c.values()))
    return ordered[len(ordered) // 2]


def run(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="meeteasy-roundtrips-"))
    mongo = embedded.start_mongo(workdir / "mongodb", workdir / "mongodb.log")
    try:
        redis_server = embedded.start_redis(workdir / "redis", workdir / "redis.log", durable=True)
    except BaseException:
        mongo.stop()
        raise
    try:
        os.environ.update({
            "MEETEASY_MONGODB_URI": mongo.url, "MEETEASY_MONGODB_DB": "meeteasy_bench",
            "MEETEASY_REDIS_URL": redis_server.url, "MEETEASY_DATA_DIR": str(workdir / "data"),
            "MEETEASY_JWT_KEYS": "bench:" + "k" * 40, "MEETEASY_LOG_LEVEL": "WARNING",
            "MEETEASY_PASSWORD_HASH_TIME_COST": "1", "MEETEASY_PASSWORD_HASH_MEMORY_KIB": "1024",
        })
        measure(args)
    finally:
        redis_server.stop()
        mongo.stop()


def measure(args) -> None:
    from meeteasy import db
    from meeteasy.settings import get_settings

    listener = Commands()
    monitoring.register(listener)  # before the connection: it applies to clients made later
    db.connect(get_settings())
    import models

    models.ensure_indexes()
    from models import conferences, forms, tenants, users
    from models import plugins as plugin_store
    from models.base import utcnow
    from services import diagnostics
    from services import registrations as registration_service
    from services.access import Caller
    from tasks import base as task_base
    from tasks import diagnostics as ping_tasks
    from tasks import registrations as registration_tasks

    task_base.ensure_process_ready = lambda: None  # connected above, with the listener
    slug = f"rt-{uuid.uuid4().hex[:8]}"
    tenant_id = str(tenants.create_tenant(slug, "Round trips").id)
    admin = users.create_user(tenant_id, f"admin@{slug}.example.com", "long enough password",
                              ["tenant_admin"])
    starts = utcnow() + timedelta(days=30)
    conference = conferences.create_conference(
        tenant_id, str(admin.id), title="Round trips", slug="rt", timezone="UTC",
        starts_at=starts, ends_at=starts + timedelta(days=1), capacity=100_000,
        policy={"mode": "automatic"})
    conference_id = str(conference.id)
    conferences.transition(tenant_id, conference_id, "published", actor=str(admin.id))
    forms.save_version(tenant_id, conference_id, FORM, str(admin.id))
    if args.plugin:
        plugin_store.set_activation(tenant_id, "activity_log", enabled=True, config={},
                                    updated_by=str(admin.id))

    # run_policy, counted on its own inside the worker part
    inner: list[Counter] = []
    run_policy = registration_tasks.decisions.run_policy

    def counted_run_policy(*a, **k):
        before = len(listener.names)
        try:
            return run_policy(*a, **k)
        finally:
            inner.append(Counter(listener.names[before:]))

    registration_tasks.decisions.run_policy = counted_run_policy
    web, worker = [], []
    for n in range(args.registrations):
        attendee = users.create_user(tenant_id, f"a{n}@{slug}.example.com",
                                     "long enough password", ["attendee"])
        caller = Caller(user_id=str(attendee.id), tenant_id=tenant_id, roles=("attendee",))
        counts, (job, _) = listener.count(lambda: registration_service.register(
            caller, conference_id, answers=dict(ANSWERS), invite_code=None, email=None,
            name=None, seating=None, idempotency_key=None))
        web.append(counts)
        traced = list(listener.trace)
        counts, _ = listener.count(lambda: registration_tasks.apply_policy_task(
            tenant_id=tenant_id, job_id=job.id))
        worker.append(counts)
        if args.trace and n == args.registrations - 1:
            print("last registration, web:", "; ".join(traced))
            print("last registration, worker:", "; ".join(listener.trace))
    registration_tasks.decisions.run_policy = run_policy
    ping_web, ping_worker = [], []
    staff = Caller(user_id=str(admin.id), tenant_id=tenant_id, roles=("tenant_admin",))
    for _ in range(args.pings):
        counts, job = listener.count(lambda: diagnostics.ping(staff, 0))
        ping_web.append(counts)
        counts, _ = listener.count(lambda: ping_tasks.ping(tenant_id=tenant_id, job_id=job.id))
        ping_worker.append(counts)

    print(f"MongoDB commands per operation (SecantusDB, plugin enabled: {args.plugin})")
    print(f"{'':<34} {'total':>5} {'writes':>6} {'reads':>5}   by name")
    print(row("registration, web (cold)", web[0]))
    print(row("registration, worker (cold)", worker[0]))
    print(row("  of which run_policy (cold)", inner[0]))
    if len(web) > 1:
        print(row("registration, web (warm)", median_counts(web[1:])))
        print(row("registration, worker (warm)", median_counts(worker[1:])))
        print(row("  of which run_policy (warm)", median_counts(inner[1:])))
        print(row("registration, both (warm)", median_counts(web[1:]) + median_counts(worker[1:])))
    print(row("ping, web", median_counts(ping_web)))
    print(row("ping, worker", median_counts(ping_worker)))
    print(row("ping, both", median_counts(ping_web) + median_counts(ping_worker)))
    if args.insert:
        insert_cost(tenant_id, args.insert, args.runs)
        job_write_cost(tenant_id, args.insert, args.runs)


def insert_cost(tenant_id: str, count: int, runs: int) -> None:
    from meeteasy import db
    from models.registrations import HistoryEntry, Registration
    from models.base import utcnow

    collection = Registration._get_collection()
    before = db.database()[f"bench_before_{uuid.uuid4().hex[:8]}"]
    for keys, options in BEFORE:
        before.create_index(list(keys.items()), **options)
    raw = db.database()[f"bench_raw_{uuid.uuid4().hex[:8]}"]

    def documents(conference_id: str) -> list[dict]:
        now = utcnow()
        return [Registration(
            tenant_id=tenant_id, conference_id=conference_id, user_id=uuid.uuid4().hex,
            email=f"p{n}-{uuid.uuid4().hex[:6]}@example.com", name=f"Person {n}",
            answers=dict(ANSWERS), form_version=1, seq=n + 1, registered_by="bench",
            created_at=now, updated_at=now,
            history=[HistoryEntry(at=now, by="bench", to="pending", reason="registered")],
        ).to_mongo().to_dict() for n in range(count)]

    def per_document(target, rows: list[dict]) -> float:
        rows = [dict(row) for row in rows]  # insert_many sets _id in the rows it is given
        started = time.perf_counter()
        target.insert_many(rows, ordered=False)
        return (time.perf_counter() - started) * 1000 / count

    costs: dict[str, list[float]] = {"ours": [], "before": [], "raw": []}
    targets = {"ours": collection, "before": before, "raw": raw}
    for run in range(runs):
        rows = documents(uuid.uuid4().hex[:24])
        order = list(targets) if run % 2 == 0 else list(reversed(targets))
        for name in order:
            costs[name].append(per_document(targets[name], rows))
    before.drop()
    raw.drop()
    indexes = len(collection.index_information())
    print(f"\ninsert_many of {count:,} registrations, median of {runs} runs (ms per document)")
    print(f"  registrations, now ({indexes} indexes with _id):    "
          f"{statistics.median(costs['ours']):.3f}")
    print(f"  registrations, before ({len(BEFORE) + 1} indexes with _id): "
          f"{statistics.median(costs['before']):.3f}")
    print(f"  raw (_id only):                           {statistics.median(costs['raw']):.3f}")


def job_write_cost(tenant_id: str, count: int, runs: int) -> None:
    """What the flusher's jobs writer (``models.jobs.flush``) costs per job, for the three
    shapes of batch it meets: a job created and ended within one batch (one insert),
    jobs created in a batch (one insert each), and the ends of jobs stored by an earlier
    batch (one guarded update each: a job that waited longer than a flush interval)."""
    from models import job_state, jobs
    from models.base import utcnow

    def record(job_id: str, seq: int, ended: bool) -> tuple[int, dict]:
        now = utcnow()
        values = {"id": job_id, "tenant_id": tenant_id, "user_id": "bench",
                  "kind": "diagnostics.ping", "state": "succeeded" if ended else "queued", "args": {"hold_seconds": 0},
                  "attempts": 1 if ended else 0, "progress": 100 if ended else 0,
                  "created_at": now, "updated_at": now, "change_seq": seq}
        if ended:
            values.update(started_at=now, finished_at=now, worker="bench@host",
                          result={"worker": "bench@host", "queue_delay_ms": 3})
        return seq, job_state.encode(values)[0]

    def per_job(records: list[tuple[int, dict]]) -> float:
        started = time.perf_counter()
        jobs.flush(records)
        return (time.perf_counter() - started) * 1000 / count

    costs: dict[str, list[float]] = {"created and ended in one batch": [], "created": [],
                                      "ended, stored before": []}
    seq = 10**9
    for _ in range(runs):
        ids = [uuid.uuid4().hex for _ in range(count)]
        both = [record(job_id, seq + n, False) for n, job_id in enumerate(ids)] + \
            [record(job_id, seq + count + n, True) for n, job_id in enumerate(ids)]
        costs["created and ended in one batch"].append(per_job(both))
        ids = [uuid.uuid4().hex for _ in range(count)]
        costs["created"].append(per_job([record(job_id, seq + 2 * count + n, False)
                                         for n, job_id in enumerate(ids)]))
        costs["ended, stored before"].append(per_job([record(job_id, seq + 3 * count + n, True)
                                                      for n, job_id in enumerate(ids)]))
        seq += 4 * count
    one_write = statistics.median(costs["created and ended in one batch"])
    print(f"\nthe flusher's jobs writer, {count:,} jobs a batch, median of {runs} runs "
          f"(ms per job, and against a job written once)")
    for label, values in costs.items():
        cost = statistics.median(values)
        print(f"  {label:<32} {cost:.3f}  x{cost / one_write:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=5)
    parser.add_argument("--pings", type=int, default=3)
    parser.add_argument("--insert", type=int, default=2000,
                        help="registrations per insert_many run (0: skip)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trace", action="store_true",
                        help="print the commands of the last registration, in order")
    parser.add_argument("--plugin", action="store_true",
                        help="the tenant enables the activity_log plugin")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
