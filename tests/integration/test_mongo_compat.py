"""Every MongoDB feature MeetEasy relies on, exercised through pymongo and mongoengine
against the tests' server: SecantusDB by default, a real MongoDB when
MEETEASY_TEST_MONGODB_URI is set (tests/integration/conftest.py). If a test here
fails on a server, the app does not work on it.

The explain() checks record the commands the CRUD functions really send (pymongo
command monitoring) and ask the server how it would run each: none may scan the
whole collection.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import mongoengine
import pymongo
import pytest
from bson import SON
from pymongo import monitoring
from pymongo.errors import DuplicateKeyError

from meeteasy import db
from meeteasy.redisconn import get_redis
from meeteasy.errors import Conflict, NotFound
from meeteasy.settings import get_settings
from models import activity, audit, exports, idempotency, invites, tokens
from models import agenda, conferences, forms, sessions, speakers
from models import job_state
from models import jobs as job_store
from models import plugins as plugin_store
from models import registration_keys, registration_search, registration_state
from models import registrations as registration_store
from models import seat_assignments
from models import seatmap_files, seatmaps
from models import tenants as tenant_store
from models import users as user_store
from models.base import utcnow
from services import conferences as conference_service
from services.access import Caller
from tests.integration.hot_jobs import backdate, flushed


@pytest.fixture
def database(services):
    return db.database()


@pytest.fixture
def scratch(database):
    """A collection of this test's own, dropped afterwards."""
    collection = database[f"compat_{uuid.uuid4().hex[:10]}"]
    database.create_collection(collection.name)
    yield collection
    collection.drop()


# --- features ----------------------------------------------------------------------------

def test_build_info_reports_a_version(database):
    info = database.command("buildInfo")
    assert re.match(r"^\d+\.\d+", info["version"])
    assert info["versionArray"][0] >= 4  # transactions need a 4.x+ wire protocol


def test_writes_are_journaled(database):
    assert database.client.write_concern.document.get("j") is True
    assert job_store.Job._get_collection().write_concern.document.get("j") is True


def test_conditional_find_one_and_update_moves_a_document_once(scratch):
    scratch.insert_one({"_id": "j1", "tenant_id": "t1", "state": "queued", "attempts": 0})
    claim = dict(filter={"tenant_id": "t1", "_id": "j1", "state": "queued"},
                 update={"$set": {"state": "running"}, "$inc": {"attempts": 1}},
                 return_document=pymongo.ReturnDocument.AFTER)
    first = scratch.find_one_and_update(**claim)
    assert first["state"] == "running" and first["attempts"] == 1
    assert scratch.find_one_and_update(**claim) is None
    assert scratch.find_one({"_id": "j1"})["attempts"] == 1


def test_the_job_claim_happens_once(services):
    job = job_store.create_job("compat-tenant", "u1", "diagnostics.ping")
    claimed = job_store.claim_job("compat-tenant", job.id, "worker-a", lease_seconds=60)
    assert claimed.state == "running" and claimed.attempts == 1 and claimed.worker == "worker-a"
    assert job_store.claim_job("compat-tenant", job.id, "worker-b", lease_seconds=60) is None
    # An expired lease (its worker died) can be claimed again: a compare-and-set on attempts.
    backdate(claimed, lease_until=utcnow() - timedelta(seconds=1))
    again = job_store.claim_job("compat-tenant", job.id, "worker-b", lease_seconds=60)
    assert again.worker == "worker-b" and again.attempts == 2
    assert job_store.finish_job("compat-tenant", job.id, 1, "succeeded") is None  # stale attempt
    assert job_store.finish_job("compat-tenant", job.id, 2, "succeeded").state == "succeeded"


def test_unique_index_refuses_a_duplicate(scratch, services):
    scratch.create_index([("email", 1)], unique=True)
    scratch.insert_one({"email": "a@example.com"})
    with pytest.raises(DuplicateKeyError):
        scratch.insert_one({"email": "a@example.com"})
    # Through mongoengine, as the models see it.
    slug = f"compat-{uuid.uuid4().hex[:8]}"
    tenant_store.Tenant(slug=slug, name="One").save(force_insert=True)
    with pytest.raises(mongoengine.NotUniqueError):
        tenant_store.Tenant(slug=slug, name="Two").save(force_insert=True)
    with pytest.raises(Conflict):
        tenant_store.create_tenant(slug, "Three")


def test_compound_index_serves_an_equality_and_range_query(scratch):
    scratch.create_index([("tenant_id", 1), ("state", 1), ("updated_at", 1)], name="t_s_u")
    now = utcnow()
    scratch.insert_many([{"tenant_id": f"t{i % 3}", "state": "queued",
                          "updated_at": now + timedelta(seconds=i)} for i in range(30)])
    assert scratch.index_information()["t_s_u"]["key"] == [
        ("tenant_id", 1), ("state", 1), ("updated_at", 1)]
    cursor = scratch.find({"tenant_id": "t1", "state": "queued",
                           "updated_at": {"$gt": now}}).sort("updated_at", 1)
    assert len(list(cursor.clone())) == 10
    plan = cursor.explain()["queryPlanner"]["winningPlan"]
    assert "t_s_u" in index_names(plan)


def test_ttl_index_is_created(scratch, services):
    scratch.create_index([("created_at", 1)], expireAfterSeconds=3600, name="ttl")
    assert scratch.index_information()["ttl"]["expireAfterSeconds"] == 3600
    # The models' own TTL indexes.
    record_indexes = idempotency.IdempotencyRecord._get_collection().index_information()
    assert any(spec.get("expireAfterSeconds") == 86400 for spec in record_indexes.values())
    token_indexes = tokens.SpentRefreshToken._get_collection().index_information()
    assert any(spec.get("expireAfterSeconds") == 0 for spec in token_indexes.values())


def test_partial_unique_index_applies_only_to_matching_documents(scratch):
    """The shape a future "one active registration per attendee" rule needs. SecantusDB
    never answers a query from a partial index: pair it with a plain one (README)."""
    scratch.create_index([("tenant_id", 1), ("user_id", 1)], unique=True, name="one_active",
                         partialFilterExpression={"state": "active"})
    scratch.create_index([("tenant_id", 1), ("user_id", 1), ("state", 1)], name="reads")
    info = scratch.index_information()["one_active"]
    assert info["unique"] is True and info["partialFilterExpression"] == {"state": "active"}
    scratch.insert_one({"tenant_id": "t1", "user_id": "u1", "state": "active"})
    scratch.insert_one({"tenant_id": "t1", "user_id": "u1", "state": "cancelled"})
    scratch.insert_one({"tenant_id": "t1", "user_id": "u1", "state": "cancelled"})
    with pytest.raises(DuplicateKeyError):
        scratch.insert_one({"tenant_id": "t1", "user_id": "u1", "state": "active"})
    plan = scratch.find({"tenant_id": "t1", "user_id": "u1", "state": "active"}).explain()
    assert "COLLSCAN" not in stage_names(plan["queryPlanner"]["winningPlan"])


def test_registrations_stored_before_the_key_indexes_get_their_keys_once(scratch):
    scratch.create_index([("tenant_id", 1), ("conference_id", 1), ("user_id", 1)], unique=True,
                         name="one_per_user",
                         partialFilterExpression={"user_id": {"$type": "string"}})
    scratch.insert_many([
        {"tenant_id": "t1", "conference_id": "c1", "user_id": "u1", "email": "a@x.org",
         "ticket_code": "code-1"},
        {"tenant_id": "t1", "conference_id": "c1", "user_id": None, "email": "b@x.org"},
        {"tenant_id": "t1", "conference_id": "c1", "user_id": None, "email": None}])
    registration_keys.adopt_key_fields(scratch)
    for spec in registration_store.Registration._meta["index_specs"]:
        if spec.get("name") in registration_store.KEY_INDEXES:
            scratch.create_index(spec["fields"], unique=True, name=spec["name"])
    stored = list(scratch.find({}, {"_id": 0, "user_key": 1, "email_key": 1, "ticket_key": 1}))
    assert [(r["user_key"], r["email_key"], r["ticket_key"]) for r in stored][0] == (
        "u1", "a@x.org", "code-1")
    assert stored[1]["email_key"] == "b@x.org" and stored[1]["user_key"].startswith("~")
    assert len({r["user_key"] for r in stored} | {r["ticket_key"] for r in stored}) == 6
    assert "one_per_user" not in scratch.index_information()
    registration_keys.adopt_key_fields(scratch)  # the key indexes exist: nothing to do
    assert list(scratch.find({}, {"_id": 0, "user_key": 1, "email_key": 1, "ticket_key": 1})) \
        == stored


def test_regex_with_options_matches_case_insensitively_on_an_indexed_field(scratch):
    scratch.create_index([("email", 1)], unique=True)
    scratch.insert_many([{"email": "Alice@Example.com"}, {"email": "bob@example.com"}])
    found = scratch.find({"email": {"$regex": "^alice@", "$options": "i"}})
    assert [doc["email"] for doc in found] == ["Alice@Example.com"]
    assert scratch.count_documents({"email": {"$regex": "EXAMPLE\\.COM$", "$options": "i"}}) == 2


def test_a_transaction_commits_or_aborts_as_a_whole(scratch):
    client = scratch.database.client

    def write_both(session):
        scratch.insert_one({"_id": "a"}, session=session)
        scratch.insert_one({"_id": "b"}, session=session)

    with client.start_session() as session:
        session.with_transaction(write_both)
    assert sorted(doc["_id"] for doc in scratch.find()) == ["a", "b"]

    class Refused(Exception):
        pass

    def write_then_fail(session):
        scratch.insert_one({"_id": "c"}, session=session)
        scratch.update_one({"_id": "a"}, {"$set": {"touched": True}}, session=session)
        raise Refused

    with client.start_session() as session:
        with pytest.raises(Refused):
            session.with_transaction(write_then_fail)
    assert sorted(doc["_id"] for doc in scratch.find()) == ["a", "b"]
    assert "touched" not in scratch.find_one({"_id": "a"})


# --- explain: the app's query shapes -----------------------------------------------------

def stage_names(plan) -> list[str]:
    """Every `stage` in a winningPlan tree (classic or slot-based explain output)."""
    names = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "stage" and isinstance(value, str):
                    names.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(plan)
    return names


def index_names(plan) -> list[str]:
    names = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("indexName"), str):
                names.append(node["indexName"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(plan)
    return names


QUERY_COMMANDS = {"find": "filter", "findAndModify": "query", "update": "updates",
                  "delete": "deletes", "count": "query", "distinct": "query",
                  "aggregate": "pipeline"}
# Session, transaction and routing fields that `explain` does not take.
NOT_EXPLAINABLE = {"lsid", "$db", "$clusterTime", "txnNumber", "$readPreference", "writeConcern",
                   "readConcern", "autocommit", "startTransaction", "apiVersion", "apiStrict",
                   "apiDeprecationErrors", "signature"}


class Recorder(monitoring.CommandListener):
    """Keeps the query commands sent to the tests' database while ``active`` (and the
    name of every command, queries or not)."""

    def __init__(self, database_name: str):
        self.database_name = database_name
        self.active = False
        self.commands: list[SON] = []
        self.names: list[str] = []

    def started(self, event):
        if not self.active or event.database_name != self.database_name:
            return
        self.names.append(event.command_name)
        if event.command_name in QUERY_COMMANDS:
            self.commands.append(SON((key, value) for key, value in event.command.items()
                                     if key not in NOT_EXPLAINABLE))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def explainable(command: SON) -> SON:
    """The command to explain. An update or delete is explained as the find of its
    filter: the server plans both alike, and SecantusDB's explain reads no filter
    from inside `updates`/`deletes` (it would report a COLLSCAN for any of them)."""
    name = next(iter(command))
    if name in ("update", "delete"):
        statement = command[QUERY_COMMANDS[name]][0]
        return SON([("find", command[name]), ("filter", statement["q"]),
                    ("limit", 0 if statement.get("multi") or statement.get("limit") == 0 else 1)])
    return command


def shape(command: SON) -> str:
    """`collection.command{field,field:$op,...} sort(...)` — what decides the plan."""
    name = next(iter(command))
    query = command.get(QUERY_COMMANDS[name]) or {}
    if name in ("update", "delete"):
        query = query[0]["q"]
    elif name == "aggregate":
        query = next((stage["$match"] for stage in query if "$match" in stage), {})

    def describe(part: dict) -> list[str]:
        out = []
        for key, value in part.items():
            if isinstance(value, dict) and value and all(op.startswith("$") for op in value):
                out.append(f"{key}:{','.join(sorted(value))}")
            else:
                out.append(key)
        return sorted(out)

    text = f"{command[name]}.{name}{{{','.join(describe(query))}}}"
    if command.get("sort"):
        text += f" sort({','.join(command['sort'])})"
    return text


@pytest.fixture(scope="module")
def recorder(services):
    """Reconnect the models' connection with a command listener (exactly as the app
    connects otherwise); back to the plain connection afterwards."""
    settings = get_settings()
    listener = Recorder(settings.mongodb_db)
    monitoring.register(listener)  # applies to clients created from now on
    db.connect(settings)
    try:
        yield listener
    finally:
        listener.active = False
        db.connect(settings)


@pytest.fixture(scope="module")
def world(recorder):
    """A tenant with a user, memberships, jobs in every state, an idempotency record, and a
    published conference with its agenda, form, invite codes and registrations in every
    state, so that every CRUD function has something to find."""
    slug = f"plans-{uuid.uuid4().hex[:8]}"
    tenant = tenant_store.create_tenant(slug, "Plans")
    tenant_id = str(tenant.id)
    email = f"admin@{slug}.example.com"
    user = user_store.create_user(tenant_id, email, "long enough password", ["tenant_admin"])
    for n in range(5):
        job = job_store.create_job(tenant_id, str(user.id), "diagnostics.ping", {"n": n})
        if n % 2:
            job_store.claim_job(tenant_id, job.id, "w", lease_seconds=60)
    idempotency.begin(tenant_id, str(user.id), "key-1", "fingerprint")
    w = SimpleNamespace(tenant_id=tenant_id, slug=slug, user_id=str(user.id), email=email,
                        user=user)
    w.starts_at = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    w.conference_id = _conference(w, policy={"mode": "manual"}, venue="Main Hall")
    forms.save_version(tenant_id, w.conference_id, FORM, w.user_id)
    w.speaker = _speaker(w)
    w.session = sessions.create_session(
        tenant_id, w.conference_id, actor=w.user_id, title="Keynote", room="Hall A",
        track="Main", starts_at=w.starts_at + timedelta(hours=1),
        ends_at=w.starts_at + timedelta(hours=2), speaker_ids=[str(w.speaker.id)])
    w.invite = invites.create_codes(tenant_id, w.conference_id, count=1, max_uses=1000,
                                    label="plans", created_by=w.user_id)[0]
    w.mine = _registration(w, user_id=w.user_id, email=w.email)
    w.approved = registration_store.decide(tenant_id, _registration(w).id, to="approved",
                                           by=w.user_id)
    w.waitlisted = registration_store.decide(
        tenant_id, _registration(w).id, to="waitlisted", by=w.user_id,
        waitlist_seq=registration_store.next_waitlist_seq(tenant_id, w.conference_id))
    exports.store_export(tenant_id, "plans-export", w.user_id, "plans.csv", "a\n1\n", 1)
    plugin_store.set_activation(tenant_id, "activity_log", enabled=True, config={},
                                updated_by=w.user_id)
    return w


FORM = {"type": "form", "body": [
    {"type": "input-text", "name": "person.city", "label": "City"},
]}


def _conference(w, status="published", **fields) -> str:
    fields.setdefault("title", "Plans")
    fields.setdefault("starts_at", w.starts_at)
    fields.setdefault("ends_at", fields["starts_at"] + timedelta(days=2))
    fields.setdefault("capacity", 100)
    conference = conferences.create_conference(
        w.tenant_id, w.user_id, slug=f"c-{uuid.uuid4().hex[:8]}", timezone="UTC", **fields)
    if status != "draft":
        conferences.transition(w.tenant_id, str(conference.id), status)
    return str(conference.id)


def _staff(w) -> Caller:
    return Caller(user_id=w.user_id, tenant_id=w.tenant_id, roles=("tenant_admin",))


def _speaker(w):
    return speakers.create_speaker(w.tenant_id, w.conference_id, actor=w.user_id,
                                   name=f"Speaker {uuid.uuid4().hex[:6]}")


def _session(w, room="Hall B"):
    start = w.starts_at + timedelta(hours=3, minutes=uuid.uuid4().int % 600)
    return sessions.create_session(w.tenant_id, w.conference_id, actor=w.user_id,
                                   title="Talk", room=room, track="Side", starts_at=start,
                                   ends_at=start + timedelta(minutes=1))


def _registration(w, *, user_id=None, email=None):
    tag = uuid.uuid4().hex[:8]
    return registration_store.create_registration(
        w.tenant_id, w.conference_id, registered_by=w.user_id, user_id=user_id,
        email=email or f"r-{tag}@example.com", name=f"Person {tag}",
        answers={"person": {"city": "Lyon"}}, form_version=1, invite_code=None)


def _refused(error, call):
    """A call that must raise ``error`` (its queries are explained all the same)."""
    def run():
        with pytest.raises(error):
            call()
    return run


def _cold(cache, parts, call):
    """A cached read whose copy is out of date, so that it reads MongoDB."""
    cache.changed(*parts)
    return call


def _queued(w):
    return job_store.create_job(w.tenant_id, w.user_id, "diagnostics.ping")


def _running(w, lease_seconds=60):
    job = _queued(w)
    return job_store.claim_job(w.tenant_id, job.id, "w", lease_seconds=lease_seconds)


def _failed(w):
    job = _running(w)
    return job_store.finish_job(w.tenant_id, job.id, job.attempts, "failed",
                                error={"code": "x", "message": "x"})


def _stored(w):
    """A job whose hot state Redis no longer has (it expired): read and changed from
    MongoDB, where the flusher stored it."""
    job = _failed(w)
    flushed()
    get_redis().delete(job_state.hash_key(w.tenant_id, job.id))
    return job


def _flush_batch(w):
    """A batch of changes as the flusher reads it from the stream: a job's hash."""
    job = _running(w)
    flat = get_redis().hgetall(job_state.hash_key(w.tenant_id, job.id))
    doc = {name.decode(): value.decode() for name, value in flat.items()}
    return [(int(doc["change_seq"]), doc)]


def _since(w):
    _, cursor = job_store.list_jobs(w.tenant_id, limit=2)
    return cursor


def _advance_by_dates_in_2001(w):
    """Beat's pass at a moment long past, so that only this tenant's conference moves."""
    _conference(w, starts_at=datetime(2001, 1, 1, tzinfo=UTC),
                ends_at=datetime(2001, 1, 2, tzinfo=UTC))
    return lambda: conferences.advance_by_dates(datetime(2001, 1, 3, tzinfo=UTC))


def _list_registrations(**filters):
    return lambda w: lambda: registration_search.list_registrations(
        w.tenant_id, w.conference_id, **filters)


def _list_sessions(on_day=False, **filters):
    def prepare(w):
        day = {"day": w.starts_at.date()} if on_day else {}
        return lambda: sessions.list_sessions(w.tenant_id, w.conference_id, **filters, **day)
    return prepare


def _list_conferences(**filters):
    return lambda w: lambda: conferences.list_conferences(w.tenant_id, **filters)


SEAT_MAP = {"categories": ["standard", "vip"], "sections": [{"name": "Hall", "rows": [
    {"label": row, "seats": [{"label": str(n), "x": n, "y": y, "category": "vip" if y == 1 else "standard"}
                             for n in range(1, 11)]}
    for y, row in enumerate("ABC", start=1)]}]}


def _seat_map(w, fresh=False) -> str:
    """A conference with a seat map (the world's own, made once, unless ``fresh``)."""
    if fresh or not hasattr(w, "seating_conference"):
        conference_id = _conference(w)
        seatmaps.save_map(w.tenant_id, conference_id, seatmap_files.parse_map(SEAT_MAP), w.user_id)
        if fresh:
            return conference_id
        w.seating_conference = conference_id
    return w.seating_conference


def _seated(w, kind="assigned"):
    """A new person on a new seat (a seat id off the map: the CRUD layer does not look)."""
    conference_id = _seat_map(w)
    with seat_assignments.seating_lock(w.tenant_id, conference_id) as seating:
        _, after = seat_assignments.place(seating, uuid.uuid4().hex[:24],
                                          f"Side/{uuid.uuid4().hex[:8]}/1", user_id=None,
                                          by=w.user_id, hold_minutes=5 if kind == "held" else None)
    return after


def _expired_hold(w):
    hold = _seated(w, kind="held")
    seat_assignments.SeatBlock.objects(
        tenant_id=w.tenant_id, conference_id=hold.conference_id,
        registrations=hold.registration_id).update(
        set__expires_at=utcnow() - timedelta(minutes=1))
    return seat_assignments.seat_of(w.tenant_id, hold.conference_id, hold.registration_id)


def _locked(w, conference_id, change):
    """The call ``change(seating)`` under the conference's seating lock (a Redis lock: only
    the change's own commands reach the database)."""
    def run():
        with seat_assignments.seating_lock(w.tenant_id, conference_id) as seating:
            return change(seating)
    return run


# Each entry: a name, and a function that prepares (not recorded) and returns the call
# whose commands are explained: every query function of models/ (tokens only inserts, so
# do audit.record, create_conference, create_codes and create_registration without a
# conflict). A new query function belongs here.
OPERATIONS = {
    "tenants.get_tenant_by_slug": lambda w: lambda: tenant_store.get_tenant_by_slug(w.slug),
    "tenants.get_tenant": lambda w: lambda: tenant_store.get_tenant(w.tenant_id),
    "tenants.list_tenants": lambda w: tenant_store.list_tenants,
    "users.create_user(new)": lambda w: lambda: user_store.create_user(
        w.tenant_id, f"{uuid.uuid4().hex[:8]}@{w.slug}.example.com", "long enough password",
        ["staff"]),
    "users.create_user(existing, platform_admin)": lambda w: lambda: user_store.create_user(
        w.tenant_id, w.email, "long enough password", ["platform_admin", "staff"]),
    "users.get_user": lambda w: lambda: user_store.get_user(w.user_id),
    "users.roles_in": lambda w: lambda: user_store.roles_in(w.tenant_id, w.user),
    "users.authenticate": lambda w: lambda: user_store.authenticate(
        w.slug, w.email, "long enough password"),
    "idempotency.begin(replay)": lambda w: lambda: idempotency.begin(
        w.tenant_id, w.user_id, "key-1", "fingerprint"),
    "idempotency.complete": lambda w: lambda: idempotency.complete(
        w.tenant_id, w.user_id, "key-1", 202, {"job_id": "x"}),
    "idempotency.abandon": lambda w: lambda: idempotency.abandon(
        w.tenant_id, w.user_id, "key-2"),
    # A job's transitions and the reaper's lists use Redis only (see
    # test_a_job_s_hot_path_sends_nothing_to_mongodb); MongoDB serves the jobs whose hot
    # state is gone, the feed, the flusher's writes and the restore after a Redis loss.
    "jobs.get_job(stored)": lambda w: (lambda job: lambda: job_store.get_job(
        w.tenant_id, job.id))(_stored(w)),
    "jobs.get_job(stored, user)": lambda w: (lambda job: lambda: job_store.get_job(
        w.tenant_id, job.id, w.user_id))(_stored(w)),
    "jobs.requeue_failed(stored)": lambda w: (lambda job: lambda: job_store.requeue_failed(
        w.tenant_id, job.id))(_stored(w)),
    "jobs.list_jobs": lambda w: lambda: job_store.list_jobs(w.tenant_id),
    "jobs.list_jobs(state)": lambda w: lambda: job_store.list_jobs(w.tenant_id, state="running"),
    "jobs.list_jobs(kind)": lambda w: lambda: job_store.list_jobs(
        w.tenant_id, kind="diagnostics.ping"),
    "jobs.list_jobs(user)": lambda w: lambda: job_store.list_jobs(w.tenant_id, user_id=w.user_id),
    "jobs.list_jobs(user,state)": lambda w: lambda: job_store.list_jobs(
        w.tenant_id, user_id=w.user_id, state="queued"),
    "jobs.list_jobs(since)": lambda w: (lambda cursor: lambda: job_store.list_jobs(
        w.tenant_id, since=cursor))(_since(w)),
    "jobs.flush": lambda w: (lambda batch: lambda: job_store.flush(batch))(_flush_batch(w)),
    "jobs.restore_hot_state": lambda w: lambda: job_store.restore_hot_state(w.tenant_id),
    "users.sign_up(new)": lambda w: lambda: user_store.sign_up(
        w.slug, f"{uuid.uuid4().hex[:8]}@{w.slug}.example.com", "long enough password", "New"),
    "users.sign_up(existing)": lambda w: lambda: user_store.sign_up(
        w.slug, w.email, "long enough password", "Admin"),
    # conferences
    "conferences.get_conference": lambda w: lambda: conferences.get_conference(
        w.tenant_id, w.conference_id),
    "conferences.get_conference(attendee)": lambda w: lambda: conferences.get_conference(
        w.tenant_id, w.conference_id, visible_to_attendees=True),
    "conferences.get_changeable": lambda w: lambda: conferences.get_changeable(
        w.tenant_id, w.conference_id),
    "conferences.list_conferences": _list_conferences(),
    "conferences.list_conferences(status)": _list_conferences(status="published"),
    "conferences.list_conferences(attendee)": _list_conferences(visible_to_attendees=True),
    "conferences.list_conferences(text)": _list_conferences(text="MAIN hall", limit=1),
    "conferences.list_conferences(status,text)": _list_conferences(status="published",
                                                                   text="plans"),
    # the update operation: its checks across collections, then models' save_update
    "conferences.update_conference": lambda w: lambda: conference_service.update_conference(
        _staff(w), w.conference_id, {"title": f"Plans {uuid.uuid4().hex[:6]}"}),
    "conferences.update_conference(dates)": lambda w: lambda: conference_service
    .update_conference(_staff(w), w.conference_id, {"ends_at": w.starts_at + timedelta(days=3)}),
    "conferences.transition": lambda w: (lambda cid: lambda: conferences.transition(
        w.tenant_id, cid, "published", actor=w.user_id))(_conference(w, status="draft")),
    "conferences.archive_conference": lambda w: (lambda cid: lambda: conferences
                                                 .archive_conference(w.tenant_id, cid))(
        _conference(w)),
    "conferences.advance_by_dates": lambda w: _advance_by_dates_in_2001(w),
    # a new conference's registrations in Redis are built from what MongoDB holds
    "registrations.ensure_built": lambda w: (lambda cid: lambda: registration_store
                                             .ensure_built(w.tenant_id, cid))(_conference(w)),
    "conferences.get_cached(cold)": lambda w: _cold(conferences.CACHE, (
        w.tenant_id, w.conference_id), lambda: conferences.get_cached(
        w.tenant_id, w.conference_id, visible_to_attendees=True)),
    "audit.list_for_conference": lambda w: lambda: audit.list_for_conference(
        w.tenant_id, w.conference_id),
    # sessions, speakers, the agenda
    "sessions.create_session": lambda w: lambda: _session(w),
    "sessions.get_session": lambda w: lambda: sessions.get_session(
        w.tenant_id, w.conference_id, str(w.session.id)),
    "sessions.list_sessions": _list_sessions(),
    "sessions.list_sessions(room)": _list_sessions(room="hall a"),
    "sessions.list_sessions(track)": _list_sessions(track="Main"),
    "sessions.list_sessions(day)": _list_sessions(on_day=True),
    "sessions.list_sessions(room,track)": _list_sessions(room="Hall A", track="Main"),
    "sessions.list_sessions(room,day)": _list_sessions(room="Hall A", on_day=True),
    "sessions.list_sessions(track,day)": _list_sessions(track="Main", on_day=True),
    "sessions.list_sessions(room,track,day)": _list_sessions(room="Hall A", track="Main",
                                                             on_day=True),
    "sessions.update_session(move, speakers)": lambda w: (lambda session: lambda: sessions
                                                          .update_session(
        w.tenant_id, w.conference_id, str(session.id),
        {"room": "Hall C", "speaker_ids": [str(w.speaker.id)]}, actor=w.user_id))(_session(w)),
    "sessions.delete_session": lambda w: (lambda session: lambda: sessions.delete_session(
        w.tenant_id, w.conference_id, str(session.id), actor=w.user_id))(_session(w)),
    "sessions.count_sessions_outside": lambda w: lambda: sessions.count_sessions_outside(
        w.tenant_id, w.conference_id, w.starts_at + timedelta(hours=1),
        w.starts_at + timedelta(hours=1)),
    "sessions.unlink_speaker": lambda w: lambda: sessions.unlink_speaker(
        w.tenant_id, w.conference_id, "0" * 24),
    "speakers.create_speaker": lambda w: lambda: _speaker(w),
    "speakers.get_speaker": lambda w: lambda: speakers.get_speaker(
        w.tenant_id, w.conference_id, str(w.speaker.id)),
    "speakers.list_speakers": lambda w: lambda: speakers.list_speakers(
        w.tenant_id, w.conference_id),
    "speakers.speakers_by_id": lambda w: lambda: speakers.speakers_by_id(
        w.tenant_id, w.conference_id, [str(w.speaker.id), "0" * 24]),
    "speakers.update_speaker": lambda w: (lambda speaker: lambda: speakers.update_speaker(
        w.tenant_id, w.conference_id, str(speaker.id), {"company": "ACME"},
        actor=w.user_id))(_speaker(w)),
    "agenda.delete_speaker": lambda w: (lambda speaker: lambda: agenda.delete_speaker(
        w.tenant_id, w.conference_id, str(speaker.id), actor=w.user_id))(_speaker(w)),
    "agenda.agenda": lambda w: lambda: agenda.agenda(
        w.tenant_id, conferences.get_conference(w.tenant_id, w.conference_id), staff=True),
    # registrations
    "registrations.get_by_ticket": lambda w: lambda: registration_store.get_by_ticket(
        w.tenant_id, w.approved.ticket_code),
    # a registration Redis no longer holds is read from MongoDB, and loaded to change it
    "registrations.get_registration(cold)": lambda w: (lambda r: lambda: registration_store
                                                       .get_registration(w.tenant_id, str(r.id)))(
        _cold_registration(w)),
    # (an id Redis does not know is looked for in MongoDB)
    "registrations.by_ids": lambda w: lambda: registration_store.by_ids(
        w.tenant_id, w.conference_id, [str(w.approved.id), str(w.mine.id), "0" * 24, "bad"]),
    "registrations.decide(cold)": lambda w: (lambda r: lambda: registration_store.decide(
        w.tenant_id, r.id, to="approved", by=w.user_id))(_cold_registration(w)),
    "registrations.list_registrations": _list_registrations(),
    "registrations.list_registrations(after)": _list_registrations(after_seq=1),
    "registrations.list_registrations(status)": _list_registrations(status="approved"),
    "registrations.list_registrations(status,after)": _list_registrations(status="pending",
                                                                          after_seq=1),
    "registrations.list_registrations(text)": _list_registrations(text="PERSON"),
    "registrations.list_registrations(answers)": _list_registrations(
        answers={"person.city": "Lyon"}),
    "registrations.list_registrations(status,text,answers,after)": _list_registrations(
        status="pending", text="example.com", answers={"person.city": "Lyon"}, after_seq=1),
    "registrations.list_registrations(user)": lambda w: lambda: registration_search
    .list_registrations(w.tenant_id, w.conference_id, user_id=w.user_id),
    "registrations.list_registrations(user,status,text,after)": lambda w: lambda: registration_search
    .list_registrations(w.tenant_id, w.conference_id, user_id=w.user_id, status="pending",
                        text="admin", after_seq=0),
    "registrations.ids_with_status": lambda w: lambda: registration_store.ids_with_status(
        w.tenant_id, w.conference_id, "pending"),
    # forms, invites, exports, plugins, activity
    "forms.save_version": lambda w: lambda: forms.save_version(
        w.tenant_id, w.conference_id, FORM, w.user_id),
    "forms.current(cold)": lambda w: _cold(forms.CACHE, (w.tenant_id, w.conference_id),
                                           lambda: forms.current(w.tenant_id, w.conference_id)),
    "forms.get_version": lambda w: lambda: forms.get_version(
        w.tenant_id, w.conference_id, 1),
    "forms.list_versions": lambda w: lambda: forms.list_versions(
        w.tenant_id, w.conference_id),
    "invites.list_codes": lambda w: lambda: invites.list_codes(w.tenant_id, w.conference_id),
    "invites.redeem": lambda w: lambda: invites.redeem(
        w.tenant_id, w.conference_id, w.invite.code),
    "exports.store_export": lambda w: lambda: exports.store_export(
        w.tenant_id, "plans-export", w.user_id, "plans.csv", "a\n2\n", 1),
    "exports.get_export": lambda w: lambda: exports.get_export(w.tenant_id, "plans-export"),
    "plugins.set_activation": lambda w: lambda: plugin_store.set_activation(
        w.tenant_id, "activity_log", enabled=True, config={"n": 1}, updated_by=w.user_id),
    "plugins.enabled_for(cold)": lambda w: _cold(plugin_store.CACHE, (w.tenant_id,),
                                                 lambda: plugin_store.enabled_for(w.tenant_id)),
    "plugins.list_activations": lambda w: lambda: plugin_store.list_activations(w.tenant_id),
    "activity.for_registration": lambda w: lambda: activity.for_registration(
        w.tenant_id, str(w.mine.id)),
    # seating wishes
    "registrations.approved_for_seating": lambda w: lambda: registration_store
    .approved_for_seating(w.tenant_id, w.conference_id),
    "registrations.party_exists": lambda w: lambda: registration_store.party_exists(
        w.tenant_id, w.conference_id, "p-nobody"),
    # seat maps
    "seatmaps.get_map": lambda w: (lambda cid: lambda: seatmaps.get_map(w.tenant_id, cid))(
        _seat_map(w)),
    "seatmaps.get_map(none)": lambda w: (lambda cid: _refused(
        NotFound, lambda: seatmaps.get_map(w.tenant_id, cid)))(_conference(w)),
    "seatmaps.find_map": lambda w: (lambda cid: lambda: seatmaps.find_map(w.tenant_id, cid))(
        _seat_map(w)),
    "seatmaps.load_spec": lambda w: (lambda cid: lambda: seatmaps.load_spec(w.tenant_id, cid))(
        _seat_map(w, fresh=True)),
    "seatmaps.load_spec(unchanged)": lambda w: (lambda cid: (seatmaps.load_spec(w.tenant_id, cid),
                                                             lambda: seatmaps.load_spec(
        w.tenant_id, cid))[1])(_seat_map(w, fresh=True)),
    "seatmaps.load_spec(none)": lambda w: (lambda cid: lambda: seatmaps.load_spec(
        w.tenant_id, cid, missing_ok=True))(_conference(w)),
    "seatmaps.save_map(new)": lambda w: (lambda cid: lambda: seatmaps.save_map(
        w.tenant_id, cid, seatmap_files.parse_map(SEAT_MAP), w.user_id))(_conference(w)),
    "seatmaps.save_map(replace, occupied)": lambda w: (lambda cid: lambda: seatmaps.save_map(
        w.tenant_id, cid, seatmap_files.parse_map(SEAT_MAP), w.user_id, {"Hall/A/1": "r1"}))(
        _seat_map(w, fresh=True)),
    "seatmaps.save_map(version)": lambda w: (lambda cid: lambda: seatmaps.save_map(
        w.tenant_id, cid, seatmap_files.parse_map(SEAT_MAP), w.user_id,
        expected_version=seatmaps.get_map(w.tenant_id, cid).version))(_seat_map(w, fresh=True)),
    "seatmaps.save_map(changed)": lambda w: (lambda cid: _refused(Conflict, lambda: seatmaps.save_map(
        w.tenant_id, cid, seatmap_files.parse_map(SEAT_MAP), w.user_id, expected_version=99)))(
        _seat_map(w, fresh=True)),
    # seat assignments
    "seat_assignments.all_of": lambda w: (lambda cid: lambda: seat_assignments.all_of(
        w.tenant_id, cid))(_seated(w).conference_id),
    "seat_assignments.list_page": lambda w: (lambda cid: lambda: seat_assignments.list_page(
        w.tenant_id, cid, limit=2))(_seated(w).conference_id),
    "seat_assignments.list_page(after)": lambda w: (lambda a: lambda: seat_assignments.list_page(
        w.tenant_id, a.conference_id, after=a.seat_id, limit=2))(_seated(w)),
    "seat_assignments.seat_of": lambda w: (lambda a: lambda: seat_assignments.seat_of(
        w.tenant_id, a.conference_id, a.registration_id))(_seated(w)),
    "seat_assignments.occupant_of": lambda w: (lambda a: lambda: seat_assignments.occupant_of(
        w.tenant_id, a.conference_id, a.seat_id))(_seated(w)),
    "seat_assignments.current": lambda w: (lambda cid: _locked(
        w, cid, seat_assignments.current))(_seated(w).conference_id),
    "seat_assignments.insert_many": lambda w: (lambda cid: _locked(
        w, cid, lambda seating: seat_assignments.insert_many(
            seating, [(uuid.uuid4().hex[:24], f"Side/{uuid.uuid4().hex[:8]}/5", None)],
            w.user_id)))(_seated(w).conference_id),
    "seat_assignments.place(new)": lambda w: (lambda cid: _locked(
        w, cid, lambda seating: seat_assignments.place(
            seating, uuid.uuid4().hex[:24], f"Side/{uuid.uuid4().hex[:8]}/2", user_id=None,
            by=w.user_id)))(_seat_map(w)),
    "seat_assignments.place(move)": lambda w: (lambda a: _locked(
        w, a.conference_id, lambda seating: seat_assignments.place(
            seating, a.registration_id, f"Side/{uuid.uuid4().hex[:8]}/3", user_id=None,
            by=w.user_id)))(_seated(w)),
    "seat_assignments.place(hold)": lambda w: (lambda cid: _locked(
        w, cid, lambda seating: seat_assignments.place(
            seating, uuid.uuid4().hex[:24], f"Side/{uuid.uuid4().hex[:8]}/4", user_id=None,
            by=w.user_id, hold_minutes=10)))(_seat_map(w)),
    "seat_assignments.place(taken)": lambda w: (lambda a: _refused(Conflict, _locked(
        w, a.conference_id, lambda seating: seat_assignments.place(
            seating, uuid.uuid4().hex[:24], a.seat_id, user_id=None, by=w.user_id))))(_seated(w)),
    "seat_assignments.release": lambda w: (lambda a: _locked(
        w, a.conference_id, lambda seating: seat_assignments.release(
            seating, a.registration_id)))(_seated(w)),
    "seat_assignments.release_many": lambda w: (lambda a, b: _locked(
        w, a.conference_id, lambda seating: seat_assignments.release_many(
            seating, [a.registration_id, b.registration_id])))(_seated(w), _seated(w)),
    "seat_assignments.swap": lambda w: (lambda a, b: _locked(
        w, a.conference_id, lambda seating: seat_assignments.swap(
            seating, a.registration_id, b.registration_id, w.user_id)))(_seated(w), _seated(w)),
    "seat_assignments.swap(not seated)": lambda w: (lambda a: _refused(Conflict, _locked(
        w, a.conference_id, lambda seating: seat_assignments.swap(
            seating, a.registration_id, uuid.uuid4().hex[:24], w.user_id))))(_seated(w)),
    "seat_assignments.expired_holds": lambda w: (lambda _: lambda: seat_assignments.expired_holds(
        utcnow()))(_expired_hold(w)),
    "seat_assignments.release_expired": lambda w: (lambda hold: _locked(
        w, hold.conference_id, lambda seating: seat_assignments.release_expired(
            seating, hold)))(_expired_hold(w)),
}

# SecantusDB uses an index only when the filter's fields are exactly a prefix of one
# (equalities plus at most one range on the next field); any other field, or a
# top-level $or, means a collection scan. So every query shape of the CRUD layer has
# an index whose leading fields are exactly its filter, and this test holds them to it.


def _cold_registration(w):
    """A registration stored in MongoDB that Redis no longer holds (its hot copy expired)."""
    registration = _registration(w)
    flushed()
    get_redis().delete(registration_state.doc_key(w.tenant_id, str(registration.id)))
    return registration


# Registrations' operations on Redis alone (models/registration_state.py): they send
# MongoDB nothing while the registrations are hot.
HOT_OPERATIONS = {
    "registrations.create_registration(already registered)": lambda w: _refused(
        Conflict, lambda: _registration(w, user_id=w.user_id, email=w.email)),
    "registrations.get_registration": lambda w: lambda: registration_store.get_registration(
        w.tenant_id, str(w.approved.id)),
    "registrations.get_registration(user)": lambda w: lambda: registration_store.get_registration(
        w.tenant_id, str(w.mine.id), user_id=w.user_id),
    "registrations.full_view(waitlisted)": lambda w: lambda: registration_store.full_view(
        w.waitlisted),
    "registrations.count_status": lambda w: lambda: registration_store.count_status(
        w.tenant_id, w.conference_id, "approved"),
    "registrations.unchecked_pending": lambda w: lambda: registration_store.unchecked_pending(
        w.tenant_id, w.conference_id, 10),
    "registrations.next_waitlisted": lambda w: lambda: registration_store.next_waitlisted(
        w.tenant_id, w.conference_id, 10),
    "registrations.decide(approve)": lambda w: (lambda r: lambda: registration_store.decide(
        w.tenant_id, r.id, to="approved", by=w.user_id))(_registration(w)),
    "registrations.decide(reject)": lambda w: (lambda r: lambda: registration_store.decide(
        w.tenant_id, r.id, to="rejected", by=w.user_id))(_registration(w)),
    "registrations.decide_many": lambda w: (lambda rs: lambda: registration_store.decide_many(
        w.tenant_id, [registration_store.Decision(rs[0].id, "approved"),
                      registration_store.Decision(rs[1].id, "waitlisted", waitlist_seq=7),
                      registration_store.Decision(rs[2].id, "checked")], by="policy"))(
        [_registration(w) for _ in range(3)]),
    "registrations.waitlist_positions": lambda w: (lambda rs: lambda: registration_store
                                                   .waitlist_positions(rs))(
        registration_store.decide_many(w.tenant_id, [
            registration_store.Decision(_registration(w).id, "waitlisted", waitlist_seq=100 + i)
            for i in range(3)], by="policy")),
    "registrations.withdraw": lambda w: (lambda r: lambda: registration_store.withdraw(
        w.tenant_id, str(r.id), w.user_id))(_registration(w)),
    "registrations.withdraw(user)": lambda w: (lambda r: lambda: registration_store.withdraw(
        w.tenant_id, str(r.id), r.user_id, user_id=r.user_id))(
        _registration(w, user_id=uuid.uuid4().hex)),
    "registrations.update_seating": lambda w: (lambda r: lambda: registration_store
                                               .update_seating(
        r, {"party": "p1", "seat_category": "vip", "priority": "vip"}, w.user_id))(
        _registration(w)),
    "registrations.next_waitlist_seq": lambda w: lambda: registration_store.next_waitlist_seq(
        w.tenant_id, w.conference_id),
}


def _commands_of(recorder, call) -> list:
    """The MongoDB commands that ``call()`` sends."""
    recorder.commands.clear()
    recorder.active = True
    try:
        call()
    finally:
        recorder.active = False
    return list(recorder.commands)


@pytest.mark.parametrize("operation", list(HOT_OPERATIONS))
def test_registrations_hot_operations_send_nothing_to_mongodb(recorder, world, operation):
    assert _commands_of(recorder, HOT_OPERATIONS[operation](world)) == [], operation


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_no_query_shape_of_the_app_scans_a_collection(recorder, world, database, operation):
    commands = _commands_of(recorder, OPERATIONS[operation](world))
    assert commands, f"{operation} sent no query"
    scans = []
    for command in commands:
        explained = database.command("explain", explainable(command), verbosity="queryPlanner")
        stages = stage_names(explained["queryPlanner"]["winningPlan"])
        assert stages, explained
        if "COLLSCAN" in stages:
            scans.append(f"{shape(command)} → {' < '.join(stages)}")
    assert scans == [], f"{operation} scans a whole collection"


def test_a_job_s_hot_path_sends_nothing_to_mongodb(recorder, world):
    """Creating, claiming, progressing, finishing and reading a job, and the reaper's
    lists, are Redis scripts and reads: no MongoDB command at all (so no findAndModify,
    which SecantusDB runs as a collection scan). The flusher stores them later, in bulk."""
    w = world
    recorder.names.clear()
    recorder.active = True
    try:
        job = job_store.create_job(w.tenant_id, w.user_id, "diagnostics.ping")
        claimed = job_store.claim_job(w.tenant_id, job.id, "w", lease_seconds=60)
        job_store.record_progress(w.tenant_id, job.id, claimed.attempts, 50, "half")
        done = job_store.finish_job(w.tenant_id, job.id, claimed.attempts, "succeeded",
                                    result={"ok": True})
        polled = job_store.get_job(w.tenant_id, job.id, w.user_id)
        job_store.expired_leases(utcnow())
        job_store.stale_queued(utcnow())
    finally:
        recorder.active = False
    assert (done.state, polled.state, polled.result) == ("succeeded", "succeeded", {"ok": True})
    assert recorder.names == []
    # And MongoDB has the job once the flusher caught up.
    flushed()
    stored = job_store.Job.objects(tenant_id=w.tenant_id, id=job.id).first()
    assert (stored.state, stored.progress, stored.attempts) == ("succeeded", 100, 1)


# --- no findAndModify on the hot path ------------------------------------------------------

WRITE_COMMANDS = {"insert", "update", "delete", "findAndModify"}


def test_registering_and_the_approval_pass_send_no_find_and_modify(recorder, world):
    """SecantusDB runs findAndModify as a collection scan. Registering (caches cold, then
    warm) and the approval job's service function (approve, overflow to the waitlist,
    promote from it) send none: conditional updates, then a read where needed."""
    from services import decisions
    from services import registrations as registration_service

    w = world
    conference_id = _conference(w, policy={"mode": "automatic", "waitlist": True}, capacity=1)
    forms.save_version(w.tenant_id, conference_id, FORM, w.user_id)

    def attendee():
        user = user_store.create_user(w.tenant_id, f"{uuid.uuid4().hex[:8]}@{w.slug}.example.com",
                                      "long enough password", ["attendee"])
        return Caller(user_id=str(user.id), tenant_id=w.tenant_id, roles=("attendee",))

    def register(caller):
        _, view = registration_service.register(
            caller, conference_id, answers={"person": {"city": "Lyon"}}, invite_code=None,
            email=None, name=None, seating=None, idempotency_key=None)
        return view["id"]

    def recorded(call):
        recorder.commands.clear()
        recorder.active = True
        try:
            return call()
        finally:
            recorder.active = False

    def sent():
        return [next(iter(c.items())) for c in recorder.commands]  # (command, collection)

    callers = [attendee(), attendee()]
    first = recorded(lambda: register(callers[0]))  # cold: conference, form, plugins read
    cold = sent()
    second = recorded(lambda: register(callers[1]))  # warm
    warm = sent()
    outcomes = []
    for registration_id in (first, second):
        outcomes.append(recorded(lambda: decisions.run_policy(w.tenant_id, conference_id,
                                                              registration_id)))
        warm += sent()
    registration_store.withdraw(w.tenant_id, first, w.user_id)
    recorded(lambda: decisions.run_policy(w.tenant_id, conference_id))  # the promotion
    warm += sent()

    assert [o["registration"]["status"] for o in outcomes] == ["approved", "waitlisted"]
    assert registration_store.get_registration(w.tenant_id, second).status == "approved"
    assert ("find", "conferences") in cold
    assert "findAndModify" not in {name for name, _ in cold + warm}
    # Registrations live in Redis on this path: the flusher writes them, in bulk.
    assert not [c for c in warm if c[1] == "registrations" or c[0] in WRITE_COMMANDS], warm


# --- what is filtered in Python matches what the server would have matched --------------

ANSWERS = [
    {"person": {"city": "Lyon"}, "diet": "vegan"},
    {"person": [{"city": "Paris"}, {"city": "Lyon"}]},
    {"person": {"city": ["Nice", "Lyon"]}},
    {"person": {"city": "lyon"}},
    {"tags": ["a", "Lyon"], "n": 5},
    {"items": ["Lyon", "x"], "n": "5"},
    {"items": [{"0": "x"}, "Lyon"], "flag": True},
    {"person": "Lyon"},
    {},
]
ANSWER_FILTERS = [{"person.city": "Lyon"}, {"tags": "Lyon"}, {"n": "5"}, {"items.0": "Lyon"},
                  {"items.1": "Lyon"}, {"items.0": "x"}, {"flag": "True"}, {"person": "Lyon"},
                  {"diet": "vegan", "person.city": "Lyon"}, {"missing.path": "Lyon"}]


def test_registration_filters_applied_in_python_match_the_servers(world):
    """Text and answers are no longer sent to the server (no index serves them); the
    listing must still return exactly what the server's own filter returned, page by page."""
    w = world
    conference_id = _conference(w)
    for n, answers in enumerate(ANSWERS):
        created = registration_store.create_registration(
            w.tenant_id, conference_id, registered_by=w.user_id,
            user_id=f"user-{n}" if n % 3 else None,
            email=None if n == 4 else f"p{n}@{'lovelace' if n % 2 else 'example'}.org",
            name=["Ada Lovelace", "Alan Turing", "grace hopper"][n % 3], answers=answers,
            form_version=None, invite_code=None)
        if n % 2:
            registration_store.decide(w.tenant_id, created.id, to="approved", by=w.user_id)

    def by_server(status=None, text=None, answers=None, user_id=None):
        flushed()
        raw = {"tenant_id": w.tenant_id, "conference_id": conference_id}
        if status:
            raw["status"] = status
        if user_id:
            raw["user_id"] = user_id
        if text:
            pattern = {"$regex": re.escape(text), "$options": "i"}
            raw["$or"] = [{"name": pattern}, {"email": pattern}]
        raw.update({f"answers.{name}": value for name, value in (answers or {}).items()})
        return [r.seq for r in registration_store.Registration.objects(__raw__=raw).order_by("seq")]

    def paged(limit, **filters):
        seqs, after = [], None
        while page := registration_search.list_registrations(
                w.tenant_id, conference_id, after_seq=after, limit=limit, **filters):
            seqs += [r.seq for r in page]
            after = page[-1].seq
        return seqs

    cases = [{"answers": answers} for answers in ANSWER_FILTERS] + [
        {"text": "LOVE"}, {"text": "example.ORG"}, {"text": "a.o"}, {"text": "(x"},
        {"status": "approved", "text": "lovelace"}, {"status": "pending", "answers": {"n": "5"}},
        {"user_id": "user-5"}, {"user_id": "user-5", "status": "approved"},
        {"user_id": "user-5", "status": "pending"}, {"user_id": "user-4", "text": "grace"},
        {"user_id": "user-1", "answers": {"person.city": "Lyon"}}, {"user_id": "nobody"}]
    assert any(by_server(**case) for case in cases)
    for case in cases:
        expected = by_server(**case)
        assert [r.seq for r in registration_search.list_registrations(
            w.tenant_id, conference_id, **case)] == expected, case
        assert paged(2, **case) == expected, case


def test_conference_text_search_applied_in_python_matches_the_servers(world):
    w = world
    for title, venue in (("PyCon Lyon", "Centre"), ("DjangoCon", "lyon hall"), ("Other", "")):
        _conference(w, title=title, venue=venue)
    archived = _conference(w, title="Lyon archived")
    conferences.archive_conference(w.tenant_id, archived)
    for text, status, attendee in (("LYON", None, False), ("lyon", "archived", False),
                                   ("c-", None, True), ("nothing", None, False),
                                   ("o", "published", True)):
        statuses = ([status] if status else
                    list(conferences.VISIBLE_TO_ATTENDEES) if attendee else
                    list(conferences.NOT_ARCHIVED))
        pattern = {"$regex": re.escape(text), "$options": "i"}
        expected = [str(c.id) for c in conferences.Conference.objects(__raw__={
            "tenant_id": w.tenant_id, "status": {"$in": statuses},
            "$or": [{"title": pattern}, {"slug": pattern}, {"venue": pattern}]},
        ).order_by("starts_at", "id")]
        for offset, limit in ((0, 50), (1, 2)):
            found, total = conferences.list_conferences(
                w.tenant_id, status=status, text=text, visible_to_attendees=attendee,
                offset=offset, limit=limit)
            assert [str(c.id) for c in found] == expected[offset:offset + limit], text
            assert total == len(expected), text
