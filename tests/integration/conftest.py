"""Integration fixtures: the tests' own Redis and MongoDB wire-protocol server, and
real MeetEasy processes on top of them.

Ports are chosen and MEETEASY_* variables set when this file is imported, before
any test module imports `tasks.app` (which reads settings at import), so that no
part of the test process ever talks to a server the tests did not start.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from meeteasy import db, embedded
from meeteasy.settings import get_settings
from tests.integration.stack import TEST_SETTINGS, Stack

MONGO_PORT = embedded.free_port()
REDIS_PORT = embedded.free_port()
WORKDIR = Path(tempfile.mkdtemp(prefix="meeteasy-tests-"))
MONGODB_URI = os.environ.get("MEETEASY_TEST_MONGODB_URI") or \
    embedded.mongo_url(MONGO_PORT)
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
os.environ.update(TEST_SETTINGS)
os.environ.update({
    "MEETEASY_MONGODB_URI": MONGODB_URI,
    "MEETEASY_MONGODB_DB": "meeteasy_test",
    "MEETEASY_REDIS_URL": REDIS_URL,
    "MEETEASY_DATA_DIR": str(WORKDIR / "data"),
})
get_settings.cache_clear()
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def services():
    """Redis and (unless MEETEASY_TEST_MONGODB_URI points at a real MongoDB) SecantusDB,
    started for this run and stopped by PID at its end, and the flusher between them."""
    started = []
    try:
        if not os.environ.get("MEETEASY_TEST_MONGODB_URI"):
            started.append(embedded.start_mongo(WORKDIR / "mongodb", WORKDIR / "mongodb.log",
                                                port=MONGO_PORT))
        started.append(embedded.start_redis(WORKDIR / "redis", WORKDIR / "redis.log",
                                            port=REDIS_PORT))
        db.connect(get_settings())
        import models

        models.ensure_indexes()
        # Job changes reach MongoDB through the flusher, as in every deployment.
        flusher = Stack(WORKDIR / "flusher", MONGODB_URI, REDIS_URL)
        started.append(flusher)
        flusher.start_flusher()
        yield SimpleNamespace(mongodb_uri=MONGODB_URI, redis_url=REDIS_URL, workdir=WORKDIR)
    finally:
        db.disconnect()
        for service in reversed(started):
            service.stop()


@pytest.fixture(scope="session")
def stack(services):
    """The API, the relay and one worker (2 processes), shared by most tests."""
    platform = Stack(WORKDIR / "stack", services.mongodb_uri, services.redis_url)
    try:
        platform.start_web()
        platform.start_relay()
        platform.start_worker()
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def private_redis(services, tmp_path):
    """A Redis of this test's own, for tests that kill workers or run beat."""
    server = embedded.start_redis(tmp_path / "redis", tmp_path / "redis.log")
    yield server
    server.stop()


def make_tenant(stack: Stack, roles=("tenant_admin", "staff", "attendee")) -> SimpleNamespace:
    """A fresh tenant with one user per role, each logged in through the API."""
    from models import tenants, users

    slug = f"t-{uuid.uuid4().hex[:10]}"
    tenant = tenants.create_tenant(slug, f"Tenant {slug}")
    result = SimpleNamespace(slug=slug, id=str(tenant.id), users={}, tokens={})
    for role in roles:
        email = f"{role.replace('_', '-')}@{slug}.example.com"
        user = users.create_user(str(tenant.id), email, PASSWORD, [role])
        result.users[role] = SimpleNamespace(id=str(user.id), email=email)
        result.tokens[role] = stack.login(slug, email, PASSWORD)
    return result


@pytest.fixture
def tenant(stack):
    return make_tenant(stack)


@pytest.fixture
def other_tenant(stack):
    return make_tenant(stack)
