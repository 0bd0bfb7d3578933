"""The operator CLI (`meeteasy tenants|users|jobs`), run in-process with CliRunner
against the tests' own database (MEETEASY_* set by conftest)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from click.testing import CliRunner

from cli import main
from models import jobs as job_store
from models import tenants as tenant_store
from models import users as user_store


@pytest.fixture
def cli(services):
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def slug(cli):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    result = cli("tenants", "create", name, "--name", "CLI Conferences")
    assert result.exit_code == 0, result.output
    return name


def _tenant_id(slug: str) -> str:
    return str(tenant_store.get_tenant_by_slug(slug).id)


def _failed_ping(tenant_id: str, error_message: str = "broker fell over") -> job_store.Job:
    """A ping job that ran once and failed, made with the models' own transitions."""
    job = job_store.create_job(tenant_id, "operator", "diagnostics.ping", {"hold_seconds": 0})
    claimed = job_store.claim_job(tenant_id, job.id, "test-worker", lease_seconds=60)
    assert claimed is not None and claimed.attempts == 1
    failed = job_store.finish_job(tenant_id, job.id, 1, "failed",
                                  error={"code": "boom", "message": error_message})
    assert failed is not None and failed.state == "failed"
    return failed


def _snapshot(tenant_id: str, job_id: str) -> dict:
    job = job_store.get_job(tenant_id, job_id)
    return {name: job[name] for name in ("state", "attempts", "error", "result", "message",
                                         "updated_at", "cancel_requested", "finished_at")}


# --- tenants -----------------------------------------------------------------------------

def test_tenants_create_and_list(cli, slug):
    tenant = tenant_store.get_tenant_by_slug(slug)
    assert tenant.name == "CLI Conferences" and tenant.status == "active"
    result = cli("tenants", "list")
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith(slug + "\t"))
    assert line.split("\t") == [slug, "active", str(tenant.id), "CLI Conferences"]


def test_tenants_create_refuses_a_duplicate_slug(cli, slug):
    result = cli("tenants", "create", slug, "--name", "Again")
    assert result.exit_code == 1
    assert f"A tenant with slug '{slug}' already exists." in result.output
    assert "Traceback" not in result.output
    assert tenant_store.get_tenant_by_slug(slug).name == "CLI Conferences"


@pytest.mark.parametrize("bad", ["Bad Slug!", "trailing-", "x" * 64, "under_score"])
def test_tenants_create_refuses_an_invalid_slug(cli, bad):
    result = cli("tenants", "create", bad, "--name", "Nope")
    assert result.exit_code == 1
    assert "slug: Use 1-63 lowercase letters, digits and inner hyphens." in result.output
    assert bad.lower() not in [t.slug for t in tenant_store.list_tenants()]


# --- users -------------------------------------------------------------------------------

def test_users_create_gives_roles_in_the_tenant(cli, slug):
    email = f"Owner@{slug}.example.com"
    result = cli("users", "create", "--tenant", slug, "--email", email, "--password",
                 "long enough password", "--role", "tenant_admin", "--role", "staff")
    assert result.exit_code == 0, result.output
    assert f"has roles tenant_admin, staff in {slug}" in result.output
    tenant, user, roles = user_store.authenticate(slug, email.lower(), "long enough password")
    assert sorted(roles) == ["staff", "tenant_admin"]


def test_users_create_asks_for_the_password_twice(cli, slug):
    result = cli("users", "create", "--tenant", slug, "--email", f"prompt@{slug}.example.com",
                 "--role", "attendee", input="typed password\ntyped password\n")
    assert result.exit_code == 0, result.output
    user_store.authenticate(slug, f"prompt@{slug}.example.com", "typed password")


@pytest.mark.parametrize("email,password,message", [
    ("not-an-email", "long enough password", "email:"),
    ("ok@example.com", "short", "password: Use at least 8 characters."),
])
def test_users_create_refuses_bad_input(cli, slug, email, password, message):
    result = cli("users", "create", "--tenant", slug, "--email", email, "--password", password,
                 "--role", "staff")
    assert result.exit_code == 1
    assert message in result.output
    assert user_store.User.objects(email=email).first() is None


def test_users_create_refuses_an_unknown_tenant_and_role(cli):
    result = cli("users", "create", "--tenant", "no-such-tenant", "--email", "a@example.com",
                 "--password", "long enough password", "--role", "staff")
    assert result.exit_code == 1 and "No such tenant." in result.output
    result = cli("users", "create", "--tenant", "no-such-tenant", "--email", "a@example.com",
                 "--password", "long enough password", "--role", "king")
    assert result.exit_code == 2 and "'king' is not one of" in result.output


# --- jobs --------------------------------------------------------------------------------

def test_jobs_list_and_show(cli, slug):
    tenant_id = _tenant_id(slug)
    queued = job_store.create_job(tenant_id, "u1", "diagnostics.ping", {"hold_seconds": 1})
    failed = _failed_ping(tenant_id)

    listed = cli("jobs", "list", "--tenant", slug)
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.output.splitlines()]
    assert [row[0] for row in rows] == [queued.id, failed.id]
    assert rows[1][2:] == ["failed", "0%", "attempts=1", "boom"]

    only_failed = cli("jobs", "list", "--tenant", slug, "--state", "failed")
    assert [line.split("\t")[0] for line in only_failed.output.splitlines()] == [failed.id]
    assert cli("jobs", "list", "--tenant", slug, "--kind", "nothing.such").output == ""

    shown = cli("jobs", "show", failed.id, "--tenant", slug)
    assert shown.exit_code == 0
    view = json.loads(shown.output)
    assert view["id"] == failed.id and view["state"] == "failed"
    assert view["error"] == {"code": "boom", "message": "broker fell over", "details": None}
    assert view["args"] == {"hold_seconds": 0}


def test_jobs_are_scoped_to_the_tenant_named(cli, slug):
    other = f"cli-{uuid.uuid4().hex[:8]}"
    assert cli("tenants", "create", other, "--name", "Other").exit_code == 0
    job = _failed_ping(_tenant_id(slug))
    result = cli("jobs", "show", job.id, "--tenant", other)
    assert result.exit_code == 1 and "No such job." in result.output
    assert cli("jobs", "list", "--tenant", other).output == ""
    assert "No such tenant." in cli("jobs", "list", "--tenant", "no-such-tenant").output


def test_jobs_cancel_asks_unless_forced(cli, slug):
    tenant_id = _tenant_id(slug)
    job = job_store.create_job(tenant_id, "u1", "diagnostics.ping")

    declined = cli("jobs", "cancel", job.id, "--tenant", slug, input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert f"Cancel job {job.id}" in declined.output
    assert job_store.get_job(tenant_id, job.id).state == "queued"

    before = _snapshot(tenant_id, job.id)
    dry = cli("jobs", "cancel", job.id, "--tenant", slug, "--dry-run")
    assert dry.exit_code == 0 and "would be cancelled" in dry.output
    assert _snapshot(tenant_id, job.id) == before

    confirmed = cli("jobs", "cancel", job.id, "--tenant", slug, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert f"job {job.id} is cancelled" in confirmed.output
    assert job_store.get_job(tenant_id, job.id).state == "cancelled"

    again = cli("jobs", "cancel", job.id, "--tenant", slug, "--force")
    assert again.exit_code == 1 and "already finished" in again.output


def test_jobs_cancel_force_asks_nothing(cli, slug):
    tenant_id = _tenant_id(slug)
    job = job_store.create_job(tenant_id, "u1", "diagnostics.ping")
    result = cli("jobs", "cancel", job.id, "--tenant", slug, "--force")
    assert result.exit_code == 0, result.output
    assert "Cancel job" not in result.output
    assert job_store.get_job(tenant_id, job.id).state == "cancelled"


def test_jobs_retry_refuses_a_job_that_is_not_failed(cli, slug):
    tenant_id = _tenant_id(slug)
    job = job_store.create_job(tenant_id, "u1", "diagnostics.ping")
    before = _snapshot(tenant_id, job.id)
    for extra in ([], ["--dry-run"]):
        result = cli("jobs", "retry", job.id, "--tenant", slug, *extra)
        assert result.exit_code == 1
        assert "Only failed jobs can be retried; this one is queued." in result.output
    assert _snapshot(tenant_id, job.id) == before
    missing = cli("jobs", "retry", "f" * 32, "--tenant", slug)
    assert missing.exit_code == 1 and "No such job." in missing.output


def test_jobs_retry_dry_run_changes_nothing(cli, slug):
    tenant_id = _tenant_id(slug)
    job = _failed_ping(tenant_id)
    before = _snapshot(tenant_id, job.id)
    result = cli("jobs", "retry", job.id, "--tenant", slug, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"job {job.id} would be queued again (attempt 2)" in result.output
    assert _snapshot(tenant_id, job.id) == before


def test_a_retried_failed_job_runs_again_as_a_new_attempt(cli, stack, slug):
    tenant_id = _tenant_id(slug)
    job = _failed_ping(tenant_id)

    result = cli("jobs", "retry", job.id, "--tenant", slug)
    assert result.exit_code == 0, result.output
    assert f"job {job.id} queued again (attempt 2)" in result.output

    deadline = time.monotonic() + 30
    while (current := job_store.get_job(tenant_id, job.id)).state not in job_store.FINISHED:
        assert time.monotonic() < deadline, f"job still {current.state}"
        time.sleep(0.1)
    assert current.state == "succeeded", current.error
    assert current.attempts == 2
    assert current.error is None
    assert current.result["mongodb_version"]

    again = cli("jobs", "retry", job.id, "--tenant", slug)
    assert again.exit_code == 1
    assert "this one is succeeded" in again.output
