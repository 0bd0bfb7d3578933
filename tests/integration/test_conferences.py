"""/conferences on the real stack: lifecycle, soft delete, slugs, validation, roles,
tenancy, the audit log, the beat task, and the OpenAPI document of every route."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from models import audit
from models.base import utcnow
from models.conferences import Conference
from tests.integration.conftest import make_tenant
from tests.integration.stack import receive_events
from tests.integration.test_openapi import mismatches, resolve, well_formed


def body(**overrides) -> dict:
    fields = {
        "title": "PyCon Paris",
        "slug": f"pycon-{uuid.uuid4().hex[:8]}",
        "description": "Three days of Python.",
        "venue": "Palais des Congrès",
        "timezone": "Europe/Paris",
        "starts_at": "2031-05-01T09:00:00+02:00",
        "ends_at": "2031-05-03T18:00:00+02:00",
        "capacity": 300,
        "policy": {"mode": "rules", "waitlist": True, "email_domains": ["example.com"],
                   "rules_fallback": "reject", "plugin_rules": False},
    }
    fields.update(overrides)
    return fields


def token(tenant, role="staff") -> str:
    return tenant.tokens[role]["access_token"]


def create(client, **overrides) -> dict:
    response = client.post("/conferences/", json=body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def move(client, conference_id: str, *statuses: str) -> dict:
    for status in statuses:
        response = client.post(f"/conferences/{conference_id}/status", json={"status": status})
        assert response.status_code == 200, response.text
    return response.json()


def error(response) -> dict:
    return response.json()["error"]


def stored(tenant) -> int:
    return Conference.objects(tenant_id=tenant.id).count()


def audited(tenant) -> int:
    return audit.AuditLog.objects(tenant_id=tenant.id).count()


# --- create and read -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "tenant_admin"])
def test_staff_create_a_draft_and_read_it_back(stack, tenant, role):
    with stack.client(token(tenant, role)) as client:
        created = create(client, slug="PyCon-Paris-2027", capacity=None)
        read = client.get(f"/conferences/{created['id']}")
    assert read.status_code == 200
    assert read.json() == created
    assert created["slug"] == "pycon-paris-2027"
    assert created["status"] == "draft"
    assert created["allowed_transitions"] == ["published", "archived"]
    # Stored in UTC; the same instant as given.
    assert (created["starts_at"], created["ends_at"]) == ("2031-05-01T07:00:00Z",
                                                          "2031-05-03T16:00:00Z")
    assert created["capacity"] is None
    assert created["policy"] == {"mode": "rules", "waitlist": True,
                                 "email_domains": ["example.com"], "rules_fallback": "reject",
                                 "plugin_rules": False}
    assert created["created_by"] == tenant.users[role].id


def test_defaults_fill_what_is_left_out(stack, tenant):
    minimal = {"title": "Small", "slug": "small", "starts_at": "2031-06-01T09:00:00Z",
               "ends_at": "2031-06-01T17:00:00Z"}
    with stack.client(token(tenant)) as client:
        response = client.post("/conferences/", json=minimal)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["timezone"], created["capacity"], created["venue"]) == ("UTC", None, "")
    assert created["policy"] == {"mode": "automatic", "waitlist": True, "email_domains": [],
                                 "rules_fallback": "manual", "plugin_rules": False}


def test_list_filters_and_paginates(stack, tenant):
    with stack.client(token(tenant)) as client:
        made = [create(client, title=f"Conf {n}", venue="Lyon" if n % 2 else "Nantes",
                       starts_at=f"2031-0{n + 1}-01T09:00:00Z",
                       ends_at=f"2031-0{n + 1}-02T09:00:00Z") for n in range(5)]
        move(client, made[1]["id"], "published")
        everything = client.get("/conferences/").json()
        page = client.get("/conferences/", params={"offset": 1, "limit": 2}).json()
        lyon = client.get("/conferences/", params={"q": "lyON"}).json()
        published = client.get("/conferences/", params={"status": "published"}).json()
        none = client.get("/conferences/", params={"q": "conf 4", "status": "published"}).json()
        bad = client.get("/conferences/", params={"limit": 0, "status": "gone"})
    ids = [c["id"] for c in made]
    assert [c["id"] for c in everything["items"]] == ids and everything["total"] == 5
    assert [c["id"] for c in page["items"]] == ids[1:3]
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 2)
    assert [c["id"] for c in lyon["items"]] == [ids[1], ids[3]]
    assert [c["id"] for c in published["items"]] == [ids[1]]
    assert none == {"items": [], "total": 0, "offset": 0, "limit": 50}
    assert bad.status_code == 422
    assert set(error(bad)["details"]["fields"]) == {"limit", "status"}


# --- lifecycle -----------------------------------------------------------------------


def test_the_whole_lifecycle_is_allowed_and_audited(stack, tenant):
    with stack.client(token(tenant)) as client:
        conference = create(client)
        cid = conference["id"]
        for status, allowed in [("published", ["draft", "ongoing", "archived"]),
                                ("draft", ["published", "archived"]),
                                ("published", ["draft", "ongoing", "archived"]),
                                ("ongoing", ["ended"]), ("ended", ["archived"]),
                                ("archived", [])]:
            moved = move(client, cid, status)
            assert (moved["status"], moved["allowed_transitions"]) == (status, allowed)
        history = client.get(f"/conferences/{cid}/audit").json()
    steps = [(e["action"], e["changes"].get("status", {}).get("to")) for e in history["items"]]
    assert steps == [("conference.created", None),
                     ("conference.status_changed", "published"),
                     ("conference.status_changed", "draft"),
                     ("conference.status_changed", "published"),
                     ("conference.status_changed", "ongoing"),
                     ("conference.status_changed", "ended"),
                     ("conference.archived", "archived")]
    assert {e["actor"] for e in history["items"]} == {tenant.users["staff"].id}
    assert history["total"] == 7


@pytest.mark.parametrize("path, to", [
    ((), "ongoing"), ((), "ended"), ((), "draft"),
    (("published",), "ended"), (("published",), "published"),
    (("published", "ongoing"), "draft"), (("published", "ongoing"), "archived"),
    (("published", "ongoing"), "published"),
    (("published", "ongoing", "ended"), "published"),
    (("published", "ongoing", "ended"), "ongoing"),
    (("archived",), "draft"), (("archived",), "published"), (("archived",), "archived"),
])
def test_refused_transitions_are_409_and_change_nothing(stack, tenant, path, to):
    with stack.client(token(tenant)) as client:
        cid = create(client)["id"]
        if path:
            move(client, cid, *path)
        before = client.get(f"/conferences/{cid}").json()
        entries = audited(tenant)
        response = client.post(f"/conferences/{cid}/status", json={"status": to})
        after = client.get(f"/conferences/{cid}").json()
    assert response.status_code == 409, response.text
    assert error(response)["code"] == "invalid_transition"
    assert error(response)["details"] == {"from": before["status"], "to": to,
                                          "allowed": before["allowed_transitions"]}
    assert after == before
    assert audited(tenant) == entries


def test_unknown_status_is_422(stack, tenant):
    with stack.client(token(tenant)) as client:
        cid = create(client)["id"]
        response = client.post(f"/conferences/{cid}/status", json={"status": "cancelled"})
    assert response.status_code == 422
    assert list(error(response)["details"]["fields"]) == ["status"]


# --- archive: the soft delete --------------------------------------------------------


def test_archive_is_a_soft_delete(stack, tenant):
    with stack.client(token(tenant)) as client:
        kept = create(client)
        gone = create(client)
        archived = client.delete(f"/conferences/{gone['id']}")
        assert archived.status_code == 200, archived.text
        assert archived.json()["status"] == "archived"
        listed = [c["id"] for c in client.get("/conferences/").json()["items"]]
        listed_archived = client.get("/conferences/", params={"status": "archived"}).json()
        read = client.get(f"/conferences/{gone['id']}")
        patched = client.patch(f"/conferences/{gone['id']}", json={"title": "Back"})
        again = client.delete(f"/conferences/{gone['id']}")
    assert listed == [kept["id"]]
    assert [c["id"] for c in listed_archived["items"]] == [gone["id"]]
    assert read.status_code == 200 and read.json()["status"] == "archived"
    assert read.json()["title"] == gone["title"]
    assert patched.status_code == 409 and error(patched)["code"] == "conference_archived"
    assert again.status_code == 409 and error(again)["code"] == "invalid_transition"
    # Never hard-deleted.
    assert Conference.objects(tenant_id=tenant.id, id=gone["id"]).count() == 1
    with stack.client(token(tenant, "attendee")) as client:
        assert client.get(f"/conferences/{gone['id']}").status_code == 404
        assert client.get("/conferences/", params={"status": "archived"}).json()["items"] == []


def test_an_ongoing_conference_cannot_be_archived(stack, tenant):
    with stack.client(token(tenant)) as client:
        cid = create(client)["id"]
        move(client, cid, "published", "ongoing")
        response = client.delete(f"/conferences/{cid}")
        status = client.get(f"/conferences/{cid}").json()["status"]
    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"
    assert error(response)["details"]["allowed"] == ["ended"]
    assert status == "ongoing"


# --- slugs ---------------------------------------------------------------------------


def test_slug_is_unique_per_tenant_only(stack, tenant, other_tenant):
    with stack.client(token(tenant)) as client:
        first = create(client, slug="devconf")
        duplicate = client.post("/conferences/", json=body(slug="DevConf"))
        second = create(client, slug="devconf-2")
        renamed = client.patch(f"/conferences/{second['id']}", json={"slug": "devconf"})
        unchanged = client.get(f"/conferences/{second['id']}").json()["slug"]
    assert duplicate.status_code == 409
    assert error(duplicate)["code"] == "conference_slug_taken"
    assert error(duplicate)["details"] == {"fields": {"slug": ["Taken."]}}
    assert renamed.status_code == 409 and error(renamed)["code"] == "conference_slug_taken"
    assert unchanged == "devconf-2"
    assert stored(tenant) == 2
    with stack.client(token(other_tenant)) as client:
        elsewhere = create(client, slug="devconf")
    assert elsewhere["slug"] == first["slug"] and elsewhere["id"] != first["id"]


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("overrides, fields", [
    ({"starts_at": "2031-05-01T09:00:00"}, {"starts_at"}),
    ({"ends_at": "tomorrow"}, {"ends_at"}),
    ({"starts_at": "2031-05-03T09:00:00Z", "ends_at": "2031-05-01T09:00:00Z"}, {"ends_at"}),
    ({"title": ""}, {"title"}),
    ({"title": None}, {"title"}),
    ({"slug": "no spaces please"}, {"slug"}),
    ({"timezone": "Europe/Atlantis"}, {"timezone"}),
    ({"capacity": -1}, {"capacity"}),
    ({"capacity": "300"}, {"capacity"}),
    ({"policy": {"mode": "lottery"}}, {"policy.mode"}),
    ({"policy": {"email_domains": ["not a domain"]}}, {"policy.email_domains"}),
    ({"colour": "red"}, {"colour"}),
    ({"timezone": "Nowhere", "capacity": -2, "starts_at": "soon"},
     {"timezone", "capacity", "starts_at"}),
])
def test_bad_input_names_the_fields_and_writes_nothing(stack, tenant, overrides, fields):
    with stack.client(token(tenant)) as client:
        response = client.post("/conferences/", json=body(**overrides))
    assert response.status_code == 422, response.text
    assert error(response)["code"] == "validation_failed"
    assert set(error(response)["details"]["fields"]) == fields
    assert stored(tenant) == 0
    assert audited(tenant) == 0


def test_missing_fields_are_named(stack, tenant):
    with stack.client(token(tenant)) as client:
        response = client.post("/conferences/", json={"description": "no title"})
    assert response.status_code == 422
    assert set(error(response)["details"]["fields"]) == {"title", "slug", "starts_at", "ends_at"}


@pytest.mark.parametrize("patch, fields", [
    ({"title": None}, {"title"}),
    ({"starts_at": "2031-05-01T09:00:00"}, {"starts_at"}),
    ({"ends_at": "2031-04-01T09:00:00Z"}, {"ends_at"}),
    ({"capacity": -1, "timezone": "Mars"}, {"capacity", "timezone"}),
    ({"policy": {"mode": "lottery"}}, {"policy.mode"}),
    ({"status": "ended"}, {"status"}),
])
def test_a_bad_patch_changes_nothing(stack, tenant, patch, fields):
    with stack.client(token(tenant)) as client:
        conference = create(client)
        entries = audited(tenant)
        response = client.patch(f"/conferences/{conference['id']}", json=patch)
        after = client.get(f"/conferences/{conference['id']}").json()
    assert response.status_code == 422, response.text
    assert set(error(response)["details"]["fields"]) == fields
    assert after == conference
    assert audited(tenant) == entries


def test_patch_changes_only_what_is_sent_and_is_audited(stack, tenant):
    with stack.client(token(tenant, "tenant_admin")) as client:
        conference = create(client)
        response = client.patch(f"/conferences/{conference['id']}", json={
            "title": "PyCon Paris 2027", "capacity": None, "policy": {"waitlist": False},
            "ends_at": "2031-05-03T20:00:00+02:00"})
        same = client.patch(f"/conferences/{conference['id']}", json={"venue": conference["venue"]})
        history = client.get(f"/conferences/{conference['id']}/audit").json()["items"]
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "PyCon Paris 2027" and updated["capacity"] is None
    assert updated["policy"] == {**conference["policy"], "waitlist": False}
    assert updated["ends_at"] == "2031-05-03T18:00:00Z"
    assert updated["venue"] == conference["venue"]
    assert same.status_code == 200 and same.json()["updated_at"] == updated["updated_at"]
    assert [e["action"] for e in history] == ["conference.created", "conference.updated"]
    change = history[1]
    assert change["actor"] == tenant.users["tenant_admin"].id
    assert change["changes"] == {
        "title": {"from": "PyCon Paris", "to": "PyCon Paris 2027"},
        "capacity": {"from": 300, "to": None},
        "ends_at": {"from": "2031-05-03T16:00:00Z", "to": "2031-05-03T18:00:00Z"},
        "policy": {"from": conference["policy"], "to": updated["policy"]},
    }


# --- roles ---------------------------------------------------------------------------


def test_attendees_cannot_write_and_do_not_see_drafts(stack, tenant):
    with stack.client(token(tenant)) as client:
        draft = create(client)
        public = create(client)
        move(client, public["id"], "published")
    with stack.client(token(tenant, "attendee")) as client:
        writes = [
            client.post("/conferences/", json=body()),
            client.patch(f"/conferences/{public['id']}", json={"title": "Mine"}),
            client.post(f"/conferences/{public['id']}/status", json={"status": "draft"}),
            client.delete(f"/conferences/{public['id']}"),
            client.get(f"/conferences/{public['id']}/audit"),
        ]
        hidden = client.get(f"/conferences/{draft['id']}")
        visible = client.get(f"/conferences/{public['id']}")
        listed = client.get("/conferences/").json()
        asked_for_drafts = client.get("/conferences/", params={"status": "draft"}).json()
    assert [r.status_code for r in writes] == [403] * 5
    assert {error(r)["code"] for r in writes} == {"missing_role"}
    assert hidden.status_code == 404 and error(hidden)["code"] == "conference_not_found"
    assert visible.status_code == 200 and visible.json()["title"] == public["title"]
    assert [c["id"] for c in listed["items"]] == [public["id"]] and listed["total"] == 1
    assert asked_for_drafts["items"] == []
    assert stored(tenant) == 2
    with stack.client(token(tenant)) as client:
        assert client.get(f"/conferences/{public['id']}").json()["title"] == public["title"]


# --- tenancy -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tenant_a(stack):
    tenant = make_tenant(stack)
    with stack.client(token(tenant)) as client:
        conference = create(client)
        move(client, conference["id"], "published")
    tenant.conference_id = conference["id"]
    return tenant


@pytest.fixture(scope="module")
def tenant_b(stack):
    return make_tenant(stack)


ENDPOINTS = [
    ("GET", "/conferences/{id}", None),
    ("PATCH", "/conferences/{id}", {"title": "Taken over"}),
    ("POST", "/conferences/{id}/status", {"status": "draft"}),
    ("DELETE", "/conferences/{id}", None),
    ("GET", "/conferences/{id}/audit", None),
]


@pytest.mark.parametrize("role", ["staff", "tenant_admin", "attendee"])
@pytest.mark.parametrize("method, path, payload", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_another_tenants_conference_is_not_found(stack, tenant_a, tenant_b, role, method, path,
                                                 payload):
    staff_only = method != "GET" or path.endswith("/audit")
    with stack.client(token(tenant_b, role)) as client:
        for conference_id in (tenant_a.conference_id, uuid.uuid4().hex[:24], "not-an-id"):
            response = client.request(method, path.format(id=conference_id), json=payload)
            if role == "attendee" and staff_only:
                assert response.status_code == 403, response.text
                continue
            assert response.status_code == 404, response.text
            assert error(response)["code"] == "conference_not_found"
        listed = client.get("/conferences/", params={"status": "published"}).json()
    assert tenant_a.conference_id not in [c["id"] for c in listed["items"]]
    with stack.client(token(tenant_a)) as client:
        still = client.get(f"/conferences/{tenant_a.conference_id}").json()
    assert (still["status"], still["title"]) == ("published", "PyCon Paris")


# --- beat ----------------------------------------------------------------------------


def _iso(moment) -> str:
    return moment.isoformat()


def make_dated(client, start_offset: timedelta, end_offset: timedelta, *statuses: str) -> str:
    """A conference starting and ending relative to now, moved through ``statuses``."""
    now = utcnow()
    conference = create(client, starts_at=_iso(now + start_offset), ends_at=_iso(now + end_offset))
    if statuses:
        move(client, conference["id"], *statuses)
    return conference["id"]


def test_beat_pass_run_twice_moves_each_conference_once(stack, tenant):
    from services.conferences import advance_by_dates

    hour = timedelta(hours=1)
    with stack.client(token(tenant)) as client:
        started = make_dated(client, -hour, hour, "published")
        over = make_dated(client, -2 * hour, -hour, "published")
        ongoing_over = make_dated(client, -2 * hour, -hour, "published", "ongoing")
        future = make_dated(client, hour, 2 * hour, "published")
        draft = make_dated(client, -2 * hour, -hour)
        ended = make_dated(client, -2 * hour, -hour, "published", "ongoing", "ended")

    def mine(result):
        return {item["id"]: item["status"] for item in result["moved"]
                if item["tenant_id"] == tenant.id}

    first = mine(advance_by_dates())
    second = mine(advance_by_dates())
    assert first == {started: "ongoing", over: "ended", ongoing_over: "ended"}
    assert second == {}
    with stack.client(token(tenant)) as client:
        statuses = {cid: client.get(f"/conferences/{cid}").json()["status"]
                    for cid in (started, over, ongoing_over, future, draft, ended)}
        history = client.get(f"/conferences/{over}/audit").json()["items"]
    assert statuses == {started: "ongoing", over: "ended", ongoing_over: "ended",
                        future: "published", draft: "draft", ended: "ended"}
    # Through `ongoing`, as the lifecycle says; by beat.
    beat_steps = [(e["actor"], e["changes"]["status"]) for e in history
                  if e["action"] == "conference.status_changed" and e["actor"] == "system:beat"]
    assert beat_steps == [("system:beat", {"from": "published", "to": "ongoing"}),
                          ("system:beat", {"from": "ongoing", "to": "ended"})]


def test_beat_task_runs_in_the_worker_and_tells_staff(stack, tenant):
    from tasks.app import app

    with stack.client(token(tenant)) as client:
        cid = make_dated(client, -timedelta(minutes=5), timedelta(hours=1), "published")
    sock = stack.socket(token(tenant))
    try:
        app.send_task("conferences.advance_by_dates", queue="default")
        deadline = time.monotonic() + 30
        while Conference.objects(tenant_id=tenant.id, id=cid).first().status != "ongoing":
            assert time.monotonic() < deadline, "the worker did not advance the conference"
            time.sleep(0.1)
        events = receive_events(sock, lambda seen: any(
            name == "conference.updated" and data["id"] == cid for name, data in seen))
    finally:
        sock.disconnect()
    pushed = [data for name, data in events if name == "conference.updated" and data["id"] == cid]
    assert pushed and pushed[-1]["status"] == "ongoing"
    assert "conferences.advance_by_dates" in stack.log_text("worker")


def test_changes_are_pushed_to_staff_only(stack, tenant):
    staff = stack.socket(token(tenant))
    attendee = stack.socket(token(tenant, "attendee"))
    try:
        with stack.client(token(tenant)) as client:
            cid = create(client)["id"]
            move(client, cid, "published")
        heard = receive_events(staff, lambda seen: any(
            data.get("status") == "published" for _, data in seen))
        heard_by_attendee = receive_events(attendee, lambda seen: False, timeout=1.5)
    finally:
        staff.disconnect()
        attendee.disconnect()
    assert [(name, data["status"]) for name, data in heard if data["id"] == cid] == [
        ("conference.updated", "draft"), ("conference.updated", "published")]
    assert heard_by_attendee == []


# --- the OpenAPI document ------------------------------------------------------------


ROUTES = [("/conferences/", "post", 201), ("/conferences/", "get", 200),
          ("/conferences/{conference_id}", "get", 200),
          ("/conferences/{conference_id}", "patch", 200),
          ("/conferences/{conference_id}", "delete", 200),
          ("/conferences/{conference_id}/status", "post", 200),
          ("/conferences/{conference_id}/audit", "get", 200)]


@pytest.fixture(scope="module")
def document(stack) -> dict:
    with stack.client() as client:
        return client.get("/docs/openapi.json").json()


def documented(document, path, method) -> dict:
    for candidate, operations in document["paths"].items():
        if candidate.rstrip("/") == path.rstrip("/") and method in operations:
            return operations[method]
    raise AssertionError(f"{method.upper()} {path} is not documented")


def answer_schema(document, path, method, status) -> dict:
    responses = documented(document, path, method)["responses"]
    assert str(status) in responses, (path, method, status, sorted(responses))
    return responses[str(status)]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("path, method, status", ROUTES)
def test_every_route_is_documented_with_schemas(document, path, method, status):
    operation = documented(document, path, method)
    assert operation.get("security") == [{"bearer": []}]
    assert well_formed(document, answer_schema(document, path, method, status)) == []
    for code in operation["responses"]:
        if code != "default" and int(code) >= 400:
            schema = resolve(document, answer_schema(document, path, method, int(code)))
            assert schema["required"] == ["error"]
    if method in ("post", "patch") and not path.endswith("/audit"):
        content = operation["requestBody"]["content"]
        schema = resolve(document, content["application/json"]["schema"])
        assert well_formed(document, schema) == []
        assert schema.get("additionalProperties") is False


def test_real_answers_fit_the_documented_schemas(stack, document, tenant):
    with stack.client(token(tenant)) as client:
        created = client.post("/conferences/", json=body())
        cid = created.json()["id"]
        answers = [
            ("/conferences/", "post", created),
            ("/conferences/", "post", client.post("/conferences/", json=body(capacity=-1))),
            ("/conferences/", "get", client.get("/conferences/")),
            ("/conferences/{conference_id}", "get", client.get(f"/conferences/{cid}")),
            ("/conferences/{conference_id}", "patch",
             client.patch(f"/conferences/{cid}", json={"capacity": None})),
            ("/conferences/{conference_id}/status", "post",
             client.post(f"/conferences/{cid}/status", json={"status": "ended"})),
            ("/conferences/{conference_id}/audit", "get", client.get(f"/conferences/{cid}/audit")),
            ("/conferences/{conference_id}", "delete", client.delete(f"/conferences/{cid}")),
            ("/conferences/{conference_id}", "get", client.get(f"/conferences/{'0' * 24}")),
        ]
    for path, method, response in answers:
        schema = answer_schema(document, path, method, response.status_code)
        assert mismatches(document, schema, response.json()) == [], (path, method, response.text)
