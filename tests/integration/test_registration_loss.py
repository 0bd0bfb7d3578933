"""No accepted registration is lost, whatever process dies under load.

Black-box: registrations go in through the HTTP API, and what counts is what MongoDB
holds once every job has ended and the flusher has caught up (``hot_jobs.flushed``).
Neither test looks at how a registration travels in between (through Redis and the
flusher, as jobs do), so both hold whatever the way.

Each test runs its own Redis, flusher, worker, web and beat (whose reaper requeues a
job a dead worker held): killing a flusher must not disturb the session's, which
drains the session Redis.

The clients behave as a careful client would: they retry a request that got no
answer (the connection died, or never opened while the web restarted) and one that
got 503/429, after a pause. A retried request that finds the registration there
(409 ``already_registered``) shows that the lost attempt had stored it.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis

from meeteasy import embedded
from models import conferences as conference_store
from models import registration_state
from tests.integration import hot_jobs
from tests.integration.conftest import make_tenant
from tests.integration.stack import Stack, wait_for_job

# The suite's task time limit (6 s) is shorter than an approval pass over the backlog
# that builds up while a worker is down takes on SecantusDB; here 20 s (production: 300).
# A killed worker's job comes back after its lease (20 s, beat's reaper, run every
# second) or the visibility timeout (25 s), whichever is first, as in a deployment.
LOSSY = {"MEETEASY_TASK_TIME_LIMIT": "20", "MEETEASY_LONG_TASK_TIME_LIMIT": "20",
         "MEETEASY_VISIBILITY_TIMEOUT": "25", "MEETEASY_REAPER_INTERVAL": "1",
         "MEETEASY_POLICY_SWEEP_INTERVAL": "2"}
CLIENTS = 8
GIVE_UP_AFTER = 120.0  # seconds one registration keeps being retried
STORED = "stored"  # a retry's 409 already_registered: the lost attempt stored it
# A retry's 409 already_registered when every earlier attempt was answered 503: the
# 503 said nothing was started, yet the registration was stored.
BEHIND_503 = "stored behind a 503"


@dataclass
class Outcome:
    """Every answer one registrant's request got, in order, and how it ended."""

    email: str
    answers: list[int | str] = field(default_factory=list)  # statuses, or "no answer: <error>"
    job_id: str | None = None
    result: int | str | None = None  # 202, STORED, BEHIND_503, or what stopped the client


class Registrar:
    """``CLIENTS`` threads registering ``emails`` (as staff, by email) to one conference,
    each request to the stack's current web (``stack.api_url`` moves when it restarts)."""

    def __init__(self, stack: Stack, token: str, conference_id: str, emails: list[str]):
        self.stack, self.token, self.conference_id = stack, token, conference_id
        self.outcomes = {email: Outcome(email) for email in emails}
        self.todo: queue.Queue[str] = queue.Queue()
        for email in emails:
            self.todo.put(email)
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.join(timeout=0)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def done(self) -> int:
        with self.lock:
            return sum(1 for outcome in self.outcomes.values() if outcome.result is not None)

    def count(self, status: int) -> int:
        with self.lock:
            return self.statuses[status]

    def _run(self):
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(headers=headers, timeout=15) as client:
            while True:
                try:
                    email = self.todo.get_nowait()
                except queue.Empty:
                    return
                self._register(client, self.outcomes[email])

    def _register(self, client: httpx.Client, outcome: Outcome) -> None:
        give_up = time.monotonic() + GIVE_UP_AFTER
        pause = 0.05
        while True:
            url = f"{self.stack.api_url}/conferences/{self.conference_id}/registrations"
            try:
                response = client.post(url, json={"email": outcome.email, "answers": {}})
            except httpx.TransportError as error:
                self._note(outcome, f"no answer: {type(error).__name__}")
            else:
                # A 503 registration_unconfirmed: Redis went away mid-write, the outcome is
                # unknown (like no answer); every other 503 or 429 means nothing recorded.
                unconfirmed = response.status_code == 503 and \
                    _code(response) == "registration_unconfirmed"
                self._note(outcome, "503 unconfirmed" if unconfirmed else response.status_code)
                if response.status_code == 202:
                    outcome.job_id = response.json()["job_id"]
                    outcome.result = 202
                    return
                if response.status_code not in (429, 503):
                    outcome.result = _stopped_by(response, outcome.answers)
                    return
                pause = max(pause, min(float(response.headers.get("Retry-After", 1)), 1.0))
            if time.monotonic() > give_up:
                outcome.result = f"gave up after {outcome.answers[-5:]}"
                return
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 1.0)

    def _note(self, outcome: Outcome, answer: int | str) -> None:
        with self.lock:
            outcome.answers.append(answer)
            self.statuses[answer] += 1


def _code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _stopped_by(response: httpx.Response, earlier: list[int | str]) -> str:
    """What an answer other than 202/429/503 means for the registration."""
    code = _code(response)
    if response.status_code == 409 and code == "already_registered" and len(earlier) > 1:
        return STORED if any(isinstance(answer, str) for answer in earlier) else BEHIND_503
    return f"{response.status_code} {code}"


def _log_tail(stack: Stack, name: str) -> str:
    lines = [line for line in stack.log_text(name).splitlines()
             if "Cannot publish to redis" not in line]  # socketio's retries: noise
    return "\n".join(lines[-40:])


def _revive(stack: Stack, names) -> dict[str, str]:
    """Start again each of ``names`` that exited (what a process manager does); the
    last lines each one logged, for the report."""
    revived = {}
    for name in names:
        if stack.processes[name].poll() is None:
            continue
        revived[name] = _log_tail(stack, name)[-1500:]
        stack.processes.pop(name)
        again = f"{name}-again"
        stack.start_worker(again) if name == "worker" else stack.start_beat(again)
        stack.processes[name] = stack.processes.pop(again)
    return revived


def _note(what: str) -> None:
    """Print when each blow fell, to read the processes' logs against."""
    print(f"{datetime.now(UTC):%H:%M:%S.%f} {what}")


def _until(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def _conference(tenant, capacity: int) -> str:
    """A published conference: automatic approval, ``capacity`` places, a waitlist."""
    staff_id = tenant.users["staff"].id
    start = datetime.now(UTC) + timedelta(days=30)
    conference = conference_store.create_conference(
        tenant.id, staff_id, title="Crowded", slug=f"c-{uuid.uuid4().hex[:8]}", timezone="UTC",
        starts_at=start, ends_at=start + timedelta(days=2), capacity=capacity,
        policy={"mode": "automatic", "waitlist": True})
    conference_store.transition(tenant.id, str(conference.id), "published")
    return str(conference.id)


def _registrar(stack: Stack, capacity: int, registrants: int, prefix: str
               ) -> tuple[object, str, Registrar]:
    """A tenant, its conference of ``capacity`` places, and a Registrar (not started) for
    ``registrants`` people of emails starting with ``prefix``."""
    tenant = make_tenant(stack, roles=("staff",))
    conference_id = _conference(tenant, capacity)
    run = uuid.uuid4().hex[:6]
    emails = [f"{prefix}{i:04d}-{run}@example.com" for i in range(registrants)]
    return tenant, conference_id, Registrar(stack, tenant.tokens["staff"]["access_token"],
                                            conference_id, emails)


def _stack(services, tmp_path, broker, *, worker_concurrency: int = 2) -> Stack:
    stack = Stack(tmp_path / "stack", services.mongodb_uri, broker.url, **LOSSY)
    try:
        stack.start_web()
        stack.start_flusher()
        stack.start_worker(concurrency=worker_concurrency)
        stack.start_beat()
    except BaseException:
        stack.stop()
        raise
    return stack


def _everything_accepted_ends_decided(stack: Stack, broker_url: str, registrar: Registrar,
                                      tenant, conference_id: str, capacity: int) -> None:
    """Every job accepted ends; then MongoDB holds each stored registration exactly
    once, decided, within capacity, with unique waitlist numbers and tickets; and no
    registration was stored behind a 503 (checked last, to report the rest first)."""
    outcomes = list(registrar.outcomes.values())
    unfinished = [o for o in outcomes if o.result not in (202, STORED, BEHIND_503)]
    assert not unfinished, [(o.email, o.result, o.answers) for o in unfinished[:10]]
    ended: Counter = Counter()
    with stack.client(tenant.tokens["staff"]["access_token"]) as client:
        for outcome in outcomes:
            if outcome.job_id:
                job = wait_for_job(client, outcome.job_id, timeout=120)
                ended[job["state"]] += 1
                if job["state"] != "succeeded":
                    # A job may fail (e.g. past its time limit while a killed process's
                    # lock expires) and its registration still be decided by a later
                    # pass: what is stored is checked below, whatever the job said.
                    print(f"job {job['id']} {job['state']}: {job['error']} "
                          f"(started {job['started_at']}, finished {job['finished_at']})")
    print(f"jobs ended: {dict(ended)}")
    collection = conference_store.Conference._get_db()["registrations"]
    scope = {"tenant_id": tenant.id, "conference_id": conference_id}

    def stored():
        hot_jobs.flushed(timeout=60, redis_url=broker_url)
        return list(collection.find(scope, {"email": 1, "status": 1, "waitlist_seq": 1,
                                            "ticket_code": 1}))

    # A registration stored by an attempt whose job was never started (the web died in
    # between) is decided by a later approval pass of the conference: give it that time.
    deadline = time.monotonic() + 60
    documents = stored()
    while any(d["status"] == "pending" for d in documents) and time.monotonic() < deadline:
        time.sleep(0.5)
        documents = stored()

    per_email = Counter(d["email"] for d in documents)
    assert set(per_email) == {o.email for o in outcomes}, (
        f"missing: {sorted({o.email for o in outcomes} - set(per_email))[:10]}, "
        f"never sent: {sorted(set(per_email) - {o.email for o in outcomes})[:10]}")
    assert [email for email, n in per_email.items() if n != 1] == []
    by_status = Counter(d["status"] for d in documents)
    assert by_status == {"approved": capacity, "waitlisted": len(outcomes) - capacity}, (
        by_status, _redis_view(broker_url, tenant.id, conference_id,
                               [d for d in documents if d["status"] == "pending"]))
    approved = [d for d in documents if d["status"] == "approved"]
    waiting = [d for d in documents if d["status"] == "waitlisted"]
    assert all(d.get("ticket_code") for d in approved)
    assert len({d["ticket_code"] for d in approved}) == capacity
    assert not any(d.get("ticket_code") for d in waiting)
    numbers = [d.get("waitlist_seq") for d in waiting]
    assert None not in numbers and len(set(numbers)) == len(waiting)
    behind = [(o.email, o.answers) for o in outcomes if o.result == BEHIND_503]
    assert behind == [], "answered 503 (nothing recorded), yet stored: a retry found them"


@pytest.fixture
def broker(services, tmp_path):
    server = embedded.start_redis(tmp_path / "redis", tmp_path / "redis.log")
    yield server
    server.stop()


@pytest.mark.timeout(600)
def test_no_registration_is_lost_when_flusher_worker_and_web_are_killed(services, broker,
                                                                        tmp_path):
    """2,000 registrations for 1,500 places from 8 clients; meanwhile the flusher, the
    worker and the web are SIGKILLed in turn, each restarted (the web on a new port)."""
    registrants, capacity = 2000, 1500
    stack = _stack(services, tmp_path, broker)
    try:
        tenant, conference_id, registrar = _registrar(stack, capacity, registrants, "r")
        with registrar:
            _until(lambda: registrar.done() >= registrants // 5, "a fifth registered", 120)
            _note("killing the flusher")
            stack.kill("flusher")
            stack.start_flusher("flusher2")
            _until(lambda: registrar.done() >= 2 * registrants // 5, "two fifths registered",
                   120)
            _note("killing the worker")
            stack.kill("worker")
            stack.start_worker("worker2")
            _until(lambda: registrar.done() >= 3 * registrants // 5, "three fifths registered",
                   120)
            _note("killing the web")
            stack.kill("web")
            stack.start_web()
            registrar.join(timeout=GIVE_UP_AFTER + 60)
        assert registrar.done() == registrants
        unexpected = {status: n for status, n in registrar.statuses.items()
                      if status not in (202, 409, 429, 503) and not isinstance(status, str)}
        assert unexpected == {}, registrar.statuses
        print(f"answers: {dict(registrar.statuses)}")
        _everything_accepted_ends_decided(stack, broker.url, registrar, tenant, conference_id,
                                          capacity)
    finally:
        stack.stop()


@pytest.fixture
def durable(services, tmp_path):
    """A Redis with append-only persistence, restartable on the same port and directory."""
    redis_dir, redis_log = tmp_path / "redis", tmp_path / "redis.log"
    server = embedded.start_redis(redis_dir, redis_log, durable=True)
    holder = {"server": server}
    holder["restart"] = lambda: embedded.start_redis(redis_dir, redis_log, port=server.port,
                                                     durable=True)
    yield holder
    holder["server"].stop()


@pytest.mark.timeout(600)
def test_redis_restart_with_aof_loses_no_registration(services, durable, tmp_path):
    """400 registrations for 300 places; Redis shuts down mid-load and comes back with its
    append-only file: meanwhile the API answers 503 (never 500), and afterwards every
    accepted registration is stored once and decided, within capacity."""
    registrants, capacity = 400, 300
    broker = durable["server"]
    stack = _stack(services, tmp_path, broker)
    try:
        tenant, conference_id, registrar = _registrar(stack, capacity, registrants, "a")
        with registrar:
            _until(lambda: registrar.done() >= registrants // 4, "a quarter registered", 120)
            _note("stopping Redis")
            broker.stop()  # SIGTERM: Redis's graceful shutdown (fsyncs the AOF)
            refused, down = registrar.count(503), time.monotonic()
            # Down for a while (2 s at least): long enough for the worker and the flusher
            # to meet the outage too, not just the requests in flight.
            _until(lambda: registrar.count(503) >= refused + 8 and time.monotonic() - down > 2,
                   "503s while Redis is down", 60)
            durable["server"] = durable["restart"]()
            _note("Redis restarted")
            registrar.join(timeout=GIVE_UP_AFTER + 60)
        # The web and the flusher live through the outage. A Celery worker or beat may
        # exit on a lost broker connection (seen with kombu 5.7 / RedBeat): their process
        # manager starts them again, as here, and the jobs they held must still end.
        for name in ("web", "flusher"):
            assert stack.processes[name].poll() is None, \
                f"{name} exited:\n{_log_tail(stack, name)}"
        revived = _revive(stack, ("worker", "beat"))
        print(f"answers: {dict(registrar.statuses)}; restarted after exiting: {list(revived)}")
        for name, tail in revived.items():
            print(f"--- {name}'s last lines:\n{tail}")
        assert registrar.done() == registrants
        assert registrar.count(500) == 0, registrar.statuses
        answered = {status for status in registrar.statuses if not isinstance(status, str)}
        assert answered <= {202, 409, 503}, registrar.statuses
        _everything_accepted_ends_decided(stack, broker.url, registrar, tenant, conference_id,
                                          capacity)
    finally:
        stack.stop()


def _redis_view(broker_url: str, tenant_id: str, conference_id: str, documents: list) -> list:
    """What Redis holds of some stored registrations (for a failure's message)."""
    client = redis.Redis.from_url(broker_url)
    keys = registration_state.Keys.of(tenant_id, conference_id)
    return [(str(d["_id"]), client.hmget(registration_state.doc_key(tenant_id, str(d["_id"])),
                                         "s", "v"),
             client.zscore(keys.pending, str(d["_id"])),
             client.smembers(registration_state.QUEUED)) for d in documents]
