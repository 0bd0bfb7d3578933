"""The API keeps the contract its document states: schemathesis, as an outside client
would run it, against the served ``/docs/openapi.json`` of a real stack, as two tenants.

All checks are on, with the generation modes positive and negative and the phases
examples, coverage, fuzzing and stateful (following the links the document declares
from what a POST creates). Each tenant gets data of its own first (a published
conference with a form, a speaker, a session, an approved registration, a finished
job), named to schemathesis as the values of the path parameters, so that the
operations reach their happy paths rather than 404s. A fixed seed and a bounded number
of examples keep the run reproducible and within the suite's time; `make contract`
runs it without the seed and with more examples.

A few rules the document states in words because JSON Schema cannot express them let a
generated "valid" request get 422 on the operations they concern (:data:`DATA_RULES`).
A body over the size limit is refused whatever its shape (413). The checks are
otherwise schemathesis's defaults. Any failure fails the test, with schemathesis's report
as the message.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import make_tenant
from tests.integration.stack import BIN, ROOT, wait_for_job

FORM = {"type": "form", "body": [
    {"type": "input-text", "name": "name", "label": "Name", "required": True}]}
# schemathesis's defaults (4.32), and 413: a body over the size limit is refused too.
NEGATIVE_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                     "428", "429", "5xx"]
POSITIVE_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]
# Operations a schema-valid request may still fail with 422, and the rule it breaks.
DATA_RULES = {
    ("POST", "/conferences"): "ends_at after starts_at",
    ("PATCH", "/conferences/{conference_id}"): "ends_at after starts_at",
    ("POST", "/conferences/{conference_id}/sessions"):
        "ends_at after starts_at, within the conference's dates",
    ("PATCH", "/conferences/{conference_id}/sessions/{session_id}"):
        "ends_at after starts_at, within the conference's dates",
    ("POST", "/conferences/{conference_id}/registrations"):
        "answers fit the conference's current form; seating categories its seat map's",
    ("POST", "/forms/check"): "answers fit the conference's current form",
    ("POST", "/forms"): "the schema is an AMIS form the server can validate answers with",
    ("PATCH", "/registrations/{registration_id}/seating"):
        "categories are the seat map's",
    ("PUT", "/plugins/{name}"): "config fits the named plugin's settings_schema",
}
SEED = os.environ.get("MEETEASY_CONTRACT_SEED", "1")
EXAMPLES = os.environ.get("MEETEASY_CONTRACT_EXAMPLES", "10")
TIMEOUT = int(os.environ.get("MEETEASY_CONTRACT_TIMEOUT", "600"))  # seconds per tenant


def seed_data(stack, tenant) -> dict[str, str]:
    """Path parameter values that exist for ``tenant``."""
    admin, attendee = tenant.tokens["tenant_admin"], tenant.tokens["attendee"]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    with stack.client(admin["access_token"]) as client:
        conference = client.post("/conferences", json={
            "title": "Contract", "slug": f"c-{uuid.uuid4().hex[:8]}",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=2)).isoformat(),
            "capacity": 1000}).json()
        conference_id = conference["id"]
        assert client.post(f"/conferences/{conference_id}/status",
                           json={"status": "published"}).status_code == 200
        assert client.post("/forms", json={"conference_id": conference_id,
                                           "schema": FORM}).status_code == 201
        speaker = client.post(f"/conferences/{conference_id}/speakers",
                              json={"name": "Ada Lovelace"}).json()
        session = client.post(f"/conferences/{conference_id}/sessions", json={
            "title": "Engines", "starts_at": (start + timedelta(hours=1)).isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "speaker_ids": [speaker["id"]]}).json()
    with stack.client(attendee["access_token"]) as client:
        accepted = client.post(f"/conferences/{conference_id}/registrations",
                               json={"answers": {"name": "Ada"}}).json()
        assert wait_for_job(client, accepted["job_id"])["state"] == "succeeded"
        registration = client.get(f"/registrations/{accepted['registration']['id']}").json()
    return {"conference_id": conference_id, "speaker_id": speaker["id"],
            "session_id": session["id"], "registration_id": registration["id"],
            "job_id": accepted["job_id"], "code": registration["ticket_code"],
            "name": "activity_log"}


def configuration(token: str, parameters: dict[str, str]) -> str:
    lines = ['hooks = "tests.contract.hooks"',
             # As the document's security scheme: a check that leaves the token out
             # sends the request without it.
             "[auth.openapi.bearer]", f'bearer = "{token}"',
             "[checks.negative_data_rejection]", f"expected-statuses = {NEGATIVE_REJECTED}",
             "[parameters]"]
    lines += [f'"path.{name}" = "{value}"' for name, value in parameters.items()]
    lines += ["[checks.positive_data_acceptance]", f"expected-statuses = {POSITIVE_ACCEPTED}"]
    for method, path in DATA_RULES:
        lines += ["[[operations]]", f'include-path = "{path}"', f'include-method = "{method}"',
                  "[operations.checks.positive_data_acceptance]",
                  f"expected-statuses = {POSITIVE_ACCEPTED + ['422']}"]
    return "\n".join(lines) + "\n"


def run_schemathesis(stack, tenant, workdir: Path) -> subprocess.CompletedProcess:
    token = tenant.tokens["tenant_admin"]["access_token"]
    config = workdir / "schemathesis.toml"
    config.write_text(configuration(token, seed_data(stack, tenant)))
    command = [str(BIN / "st"), "--config-file", str(config), "run",
               f"{stack.api_url}/docs/openapi.json", "--checks", "all", "--mode", "all",
               "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", EXAMPLES,
               "--generation-database", "none", "--no-color", "--output-truncate", "false"]
    if SEED:
        command += ["--seed", SEED]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.mark.timeout(2 * TIMEOUT + 120)
def test_schemathesis_finds_nothing_as_two_tenants(stack, tmp_path):
    for index in range(2):
        tenant = make_tenant(stack)
        workdir = tmp_path / f"tenant-{index}"
        workdir.mkdir()
        result = run_schemathesis(stack, tenant, workdir)
        report = result.stdout + result.stderr
        assert result.returncode == 0, report
        # Shown with -rP (`make contract`): what was run, and the seed.
        print(f"tenant {index}:", *report.splitlines()[-14:], sep="\n")

