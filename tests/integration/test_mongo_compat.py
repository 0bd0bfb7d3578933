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
from datetime import timedelta
from types import SimpleNamespace

import mongoengine
import pymongo
import pytest
from bson import SON
from pymongo import monitoring
from pymongo.errors import DuplicateKeyError

from meeteasy import db
from meeteasy.errors import Conflict
from meeteasy.settings import get_settings
from models import idempotency, tokens
from models import jobs as job_store
from models import tenants as tenant_store
from models import users as user_store
from models.base import utcnow


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
    # An expired lease (its worker died) can be claimed again: the $or branch.
    job_store.Job.objects(tenant_id="compat-tenant", id=job.id).update(
        set__lease_until=utcnow() - timedelta(seconds=1))
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
    """Keeps the query commands sent to the tests' database while ``active``."""

    def __init__(self, database_name: str):
        self.database_name = database_name
        self.active = False
        self.commands: list[SON] = []

    def started(self, event):
        if self.active and event.database_name == self.database_name \
                and event.command_name in QUERY_COMMANDS:
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
    """A tenant with a user, memberships, jobs in every state and an idempotency record,
    so that every CRUD function has something to find."""
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
    return SimpleNamespace(tenant_id=tenant_id, slug=slug, user_id=str(user.id), email=email,
                           user=user)


def _queued(w):
    return job_store.create_job(w.tenant_id, w.user_id, "diagnostics.ping")


def _running(w, lease_seconds=60):
    job = _queued(w)
    return job_store.claim_job(w.tenant_id, job.id, "w", lease_seconds=lease_seconds)


def _failed(w):
    job = _running(w)
    return job_store.finish_job(w.tenant_id, job.id, job.attempts, "failed",
                                error={"code": "x", "message": "x"})


def _expired(w):
    job = _running(w)
    job_store.Job.objects(tenant_id=w.tenant_id, id=job.id).update(
        set__lease_until=utcnow() - timedelta(seconds=5))
    return job


def _since(w):
    _, cursor = job_store.list_jobs(w.tenant_id, limit=2)
    return cursor


# Each entry: a name, and a function that prepares (not recorded) and returns the call
# whose commands are explained: every query function of models/ tenants, users,
# idempotency and jobs (tokens only inserts). A new query function belongs here.
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
    "jobs.get_job": lambda w: lambda: job_store.get_job(w.tenant_id, _queued(w).id),
    "jobs.get_job(user)": lambda w: (lambda job: lambda: job_store.get_job(
        w.tenant_id, job.id, w.user_id))(_queued(w)),
    "jobs.list_jobs": lambda w: lambda: job_store.list_jobs(w.tenant_id),
    "jobs.list_jobs(state)": lambda w: lambda: job_store.list_jobs(w.tenant_id, state="running"),
    "jobs.list_jobs(kind)": lambda w: lambda: job_store.list_jobs(
        w.tenant_id, kind="diagnostics.ping"),
    "jobs.list_jobs(user)": lambda w: lambda: job_store.list_jobs(w.tenant_id, user_id=w.user_id),
    "jobs.list_jobs(user,state)": lambda w: lambda: job_store.list_jobs(
        w.tenant_id, user_id=w.user_id, state="queued"),
    "jobs.list_jobs(since)": lambda w: (lambda cursor: lambda: job_store.list_jobs(
        w.tenant_id, since=cursor))(_since(w)),
    "jobs.claim_job": lambda w: (lambda job: lambda: job_store.claim_job(
        w.tenant_id, job.id, "w", 60))(_queued(w)),
    "jobs.record_progress": lambda w: (lambda job: lambda: job_store.record_progress(
        w.tenant_id, job.id, job.attempts, 50, "half"))(_running(w)),
    "jobs.finish_job": lambda w: (lambda job: lambda: job_store.finish_job(
        w.tenant_id, job.id, job.attempts, "succeeded", result={}))(_running(w)),
    "jobs.release_for_retry": lambda w: (lambda job: lambda: job_store.release_for_retry(
        w.tenant_id, job.id, job.attempts, {"code": "t", "message": "t"}))(_running(w)),
    "jobs.request_cancel(queued)": lambda w: (lambda job: lambda: job_store.request_cancel(
        w.tenant_id, job.id))(_queued(w)),
    "jobs.request_cancel(running)": lambda w: (lambda job: lambda: job_store.request_cancel(
        w.tenant_id, job.id))(_running(w)),
    "jobs.requeue_failed": lambda w: (lambda job: lambda: job_store.requeue_failed(
        w.tenant_id, job.id))(_failed(w)),
    "jobs.fail_unsent": lambda w: (lambda job: lambda: job_store.fail_unsent(
        w.tenant_id, job.id, {"code": "e", "message": "e"}))(_queued(w)),
    "jobs.touch_queued": lambda w: (lambda job: lambda: job_store.touch_queued(
        w.tenant_id, job.id, "again", utcnow()))(_queued(w)),
    "jobs.expired_leases": lambda w: (lambda _: lambda: job_store.expired_leases(utcnow()))(
        _expired(w)),
    "jobs.stale_queued": lambda w: lambda: job_store.stale_queued(utcnow()),
    "jobs.fail_expired": lambda w: (lambda job: lambda: job_store.fail_expired(
        w.tenant_id, job.id, job.attempts, {"code": "e", "message": "e"}))(_expired(w)),
    "jobs.requeue_expired": lambda w: (lambda job: lambda: job_store.requeue_expired(
        w.tenant_id, job.id, job.attempts))(_expired(w)),
}

# SecantusDB uses an index only when the filter's fields are exactly a prefix of one
# (equalities plus at most one range on the next field); any other field, or a
# top-level $or, means a collection scan. So every query shape of the CRUD layer has
# an index whose leading fields are exactly its filter, and this test holds them to it.


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_no_query_shape_of_the_app_scans_a_collection(recorder, world, database, operation):
    call = OPERATIONS[operation](world)
    recorder.commands.clear()
    recorder.active = True
    try:
        call()
    finally:
        recorder.active = False
    commands = list(recorder.commands)
    assert commands, f"{operation} sent no query"
    scans = []
    for command in commands:
        explained = database.command("explain", explainable(command), verbosity="queryPlanner")
        stages = stage_names(explained["queryPlanner"]["winningPlan"])
        assert stages, explained
        if "COLLSCAN" in stages:
            scans.append(f"{shape(command)} → {' < '.join(stages)}")
    assert scans == [], f"{operation} scans a whole collection"
