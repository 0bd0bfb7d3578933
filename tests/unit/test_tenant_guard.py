"""The tenant guard: a tenant-owned collection cannot be queried without tenant_id.

No database is needed: the guard fires while the query is built, before anything
is sent. A lazy client (pointing at a port nobody listens on) satisfies
mongoengine's need for a registered connection; if the session is already
connected (integration tests ran first), that connection is used untouched.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import mongoengine
import pytest
from mongoengine.queryset.visitor import Q

import models
from models.base import TenantDocument, UnscopedQuery, all_documents
from models.idempotency import IdempotencyRecord
from models.jobs import Job
from models.users import Membership

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def lazy_connection():
    try:
        mongoengine.get_connection()
        yield
        return
    except mongoengine.connection.ConnectionFailure:
        pass
    mongoengine.connect(db="meeteasy_guard_test", host="mongodb://127.0.0.1:9/", connect=False,
                        serverSelectionTimeoutMS=200)
    try:
        yield
    finally:
        mongoengine.disconnect()


TENANT_DOCUMENTS = [Job, Membership, IdempotencyRecord]


@pytest.mark.parametrize("document", TENANT_DOCUMENTS, ids=lambda d: d.__name__)
def test_a_query_without_tenant_id_is_refused(document):
    with pytest.raises(UnscopedQuery, match=document.__name__):
        document.objects(user_id="u1")._query
    with pytest.raises(UnscopedQuery):
        document.objects.filter()._query
    with pytest.raises(UnscopedQuery):
        document.objects.all()._query


def test_every_way_of_running_an_unscoped_query_is_refused():
    """Reads, counts, updates, deletes, find-and-modify and aggregations all build
    their filter through the guard; none of them reaches the (absent) server."""
    queryset = Job.objects(state="queued")
    for run in (lambda: queryset.first(), lambda: list(queryset), lambda: queryset.count(),
                lambda: queryset.update(set__state="failed"), lambda: queryset.delete(),
                lambda: queryset.modify(set__state="failed"),
                lambda: list(queryset.aggregate([{"$group": {"_id": "$kind"}}])),
                lambda: queryset.distinct("kind"), lambda: Job.objects.get(id="j1"),
                lambda: Job.objects.with_id("j1"), lambda: Job.objects.in_bulk(["j1", "j2"])):
        with pytest.raises(UnscopedQuery):
            run()


@pytest.mark.parametrize("tenant_id", [None, "", {"$ne": None}, {"$in": ["a", "b"]}])
def test_a_tenant_id_that_names_no_single_tenant_is_refused(tenant_id):
    with pytest.raises(UnscopedQuery):
        Job.objects(__raw__={"tenant_id": tenant_id, "state": "queued"})._query
    if not isinstance(tenant_id, dict):
        with pytest.raises(UnscopedQuery):
            Job.objects(tenant_id=tenant_id, state="queued")._query


def test_tenant_in_an_or_of_its_own_is_not_enough():
    with pytest.raises(UnscopedQuery):
        Job.objects(Q(tenant_id="t1") | Q(state="queued"))._query


@pytest.mark.parametrize("document", TENANT_DOCUMENTS, ids=lambda d: d.__name__)
def test_a_query_with_tenant_id_passes(document):
    assert document.objects(tenant_id="t1", user_id="u1")._query == {
        "tenant_id": "t1", "user_id": "u1"}


def test_tenant_id_combined_with_other_conditions_passes():
    query = Job.objects(Q(tenant_id="t1") & (Q(state="queued") | Q(state="running")))._query
    assert query["$and"][0] == {"tenant_id": "t1"} or query.get("tenant_id") == "t1"
    assert Job.objects(tenant_id="t1").filter(state="queued").order_by("updated_at")._query == {
        "tenant_id": "t1", "state": "queued"}


def test_across_tenants_lifts_the_guard_and_survives_chaining():
    queryset = Job.objects.across_tenants().filter(state="running").order_by("lease_until")
    assert queryset.limit(5)._query == {"state": "running"}
    # The lift is per queryset: a fresh one is guarded again.
    with pytest.raises(UnscopedQuery):
        Job.objects.filter(state="running")._query


def test_saving_and_reloading_a_document_names_its_tenant():
    """mongoengine adds the shard key (tenant_id) to the filter of save/reload/delete."""
    job = Job(tenant_id="t1", user_id="u1", kind="diagnostics.ping")
    assert job._object_key == {"pk": job.pk, "tenant_id": "t1"}
    assert job._qs.filter(**job._object_key)._query == {"_id": job.pk, "tenant_id": "t1"}


def _platform_level_indexes(path: Path) -> set[tuple[str, ...]]:
    """Indexes a models module declares under a "# Platform-level" comment (the one
    place a tenant-owned collection may be read across tenants, by beat jobs)."""
    found = set()
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        if not line.strip().startswith("# Platform-level"):
            continue
        for following in lines[number + 1:]:
            text = following.strip()
            if text.startswith("#"):
                continue
            if not text.startswith("("):
                break
            found.add(tuple(re.findall(r'"(\w+)"', text)))
    return found


def test_jobs_have_no_platform_level_index():
    """The reaper, the one reader of jobs across tenants, reads Redis (models/job_state.py)."""
    assert _platform_level_indexes(ROOT / "models" / "jobs.py") == set()


def test_every_tenant_document_index_leads_with_tenant_id():
    """Except indexes commented as platform-level (beat's, across tenants) and
    TTL indexes (MongoDB allows one field in a TTL index; it serves expiry, no query)."""
    tenant_documents = [doc for doc in all_documents() if issubclass(doc, TenantDocument)]
    assert set(TENANT_DOCUMENTS) <= set(tenant_documents)
    for document in tenant_documents:
        allowed = _platform_level_indexes(Path(inspect.getsourcefile(document)))
        specs = document._meta["index_specs"]
        assert specs, f"{document.__name__} declares no index"
        for spec in specs:
            fields = tuple("id" if name == "_id" else name for name, _ in spec["fields"])
            if "expireAfterSeconds" in spec and len(fields) == 1:
                continue
            if fields in allowed:
                continue
            assert fields[0] == "tenant_id", f"{document.__name__} index {fields} is not tenant-led"


def test_every_document_is_registered():
    names = {doc.__name__ for doc in all_documents()}
    assert {"Job", "Membership", "IdempotencyRecord", "Tenant", "User",
            "SpentRefreshToken"} <= names
    assert callable(models.ensure_indexes)
