"""A conference's agenda on the real stack: sessions, rooms, overlap (also under
concurrency), speakers and their links, the day-grouped agenda, roles and tenancy."""

from __future__ import annotations

import threading

import httpx
import pytest

from models.sessions import Session
from models.speakers import Speaker
from models.audit import AuditLog
from tests.integration.conftest import make_tenant
from tests.integration.test_conferences import (answer_schema, create, documented, error, move,
                                                token)
from tests.integration.test_openapi import mismatches, resolve, well_formed

# 2031-05-01 09:00 to 2031-05-03 18:00 in Paris (UTC+2): 07:00Z to 16:00Z.
DAY1, DAY2, DAY3 = "2031-05-01", "2031-05-02", "2031-05-03"


def slot(day: str, start: str, end: str) -> dict:
    return {"starts_at": f"{day}T{start}:00+02:00", "ends_at": f"{day}T{end}:00+02:00"}


def add_session(client, cid: str, title: str, day=DAY1, start="10:00", end="11:00",
                expect=201, **fields) -> httpx.Response | dict:
    response = client.post(f"/conferences/{cid}/sessions",
                           json={"title": title, **slot(day, start, end), **fields})
    assert response.status_code == expect, response.text
    return response.json() if expect == 201 else response


def add_speaker(client, cid: str, name: str, **fields) -> dict:
    response = client.post(f"/conferences/{cid}/speakers", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def staff(stack, tenant):
    with stack.client(token(tenant)) as client:
        yield client


@pytest.fixture
def conference(staff) -> str:
    return create(staff)["id"]


def sessions_in(tenant, cid) -> int:
    return Session.objects(tenant_id=tenant.id, conference_id=cid).count()


# --- sessions ------------------------------------------------------------------------


def test_sessions_are_listed_by_start_and_filtered(staff, conference):
    cid = conference
    keynote = add_session(staff, cid, "Keynote", start="09:00", end="10:00", room="Hall A",
                          track="Main")
    talk = add_session(staff, cid, "Talk", start="10:00", end="11:00", room="Hall A", track="Web")
    workshop = add_session(staff, cid, "Workshop", start="09:30", end="12:00", room="Room 2",
                           track="Data")
    closing = add_session(staff, cid, "Closing", day=DAY3, start="17:00", end="18:00",
                          room="Hall A", track="Main")
    late = add_session(staff, cid, "Late social", day=DAY2, start="23:30", end="23:59")

    def titles(**params):
        page = staff.get(f"/conferences/{cid}/sessions", params=params)
        assert page.status_code == 200, page.text
        return [s["title"] for s in page.json()["items"]]

    assert titles() == ["Keynote", "Workshop", "Talk", "Late social", "Closing"]
    assert titles(track="Main") == ["Keynote", "Closing"]
    assert titles(room="hall a") == ["Keynote", "Talk", "Closing"]
    assert titles(day=DAY1) == ["Keynote", "Workshop", "Talk"]
    assert titles(day=DAY2) == ["Late social"]  # 21:30Z, still May 2nd in Paris
    assert titles(day=DAY1, room="Room 2") == ["Workshop"]
    assert titles(limit=2, offset=1) == ["Workshop", "Talk"]
    assert staff.get(f"/conferences/{cid}/sessions", params={"day": "May 1"}).status_code == 422

    assert keynote["starts_at"] == "2031-05-01T07:00:00Z"
    assert keynote["local_starts_at"] == "2031-05-01T09:00:00+02:00"
    one = staff.get(f"/conferences/{cid}/sessions/{talk['id']}")
    assert one.status_code == 200 and one.json() == talk
    assert {workshop["id"], closing["id"], late["id"]} <= {
        s["id"] for s in staff.get(f"/conferences/{cid}/sessions").json()["items"]}


def test_a_session_can_be_changed_and_deleted(staff, tenant, conference):
    cid = conference
    talk = add_session(staff, cid, "Talk", room="Hall A")
    changed = staff.patch(f"/conferences/{cid}/sessions/{talk['id']}",
                          json={"title": "Better talk", **slot(DAY2, "14:00", "15:00"),
                                "track": "Web"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["starts_at"], changed.json()["room"]) == (
        "Better talk", "2031-05-02T12:00:00Z", "Hall A")
    deleted = staff.delete(f"/conferences/{cid}/sessions/{talk['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert staff.get(f"/conferences/{cid}/sessions/{talk['id']}").status_code == 404
    assert staff.delete(f"/conferences/{cid}/sessions/{talk['id']}").status_code == 404
    actions = [e["action"] for e in staff.get(f"/conferences/{cid}/audit").json()["items"]]
    assert actions == ["conference.created", "session.created", "session.updated",
                       "session.deleted"]


@pytest.mark.parametrize("fields, named", [
    (slot(DAY1, "08:00", "10:00"), {"starts_at"}),  # before the conference opens
    (slot(DAY3, "17:00", "19:00"), {"ends_at"}),  # after it closes
    (slot(DAY1, "11:00", "10:00"), {"ends_at"}),
    ({"starts_at": "2031-05-01T10:00:00", "ends_at": "2031-05-01T11:00:00+02:00"},
     {"starts_at"}),
    ({"title": "", **slot(DAY1, "10:00", "11:00")}, {"title"}),
    ({"speaker_ids": "abc", **slot(DAY1, "10:00", "11:00")}, {"speaker_ids"}),
    ({"speaker_ids": ["0" * 24], **slot(DAY1, "10:00", "11:00")}, {"speaker_ids"}),
    ({"hall": "A", **slot(DAY1, "10:00", "11:00")}, {"hall"}),
])
def test_bad_sessions_are_422_naming_the_fields_and_write_nothing(staff, tenant, conference,
                                                                  fields, named):
    response = staff.post(f"/conferences/{conference}/sessions", json={"title": "T", **fields})
    assert response.status_code == 422, response.text
    assert set(error(response)["details"]["fields"]) == named
    assert sessions_in(tenant, conference) == 0
    assert AuditLog.objects(tenant_id=tenant.id, target_type="session").count() == 0


# --- overlap -------------------------------------------------------------------------


def test_overlap_in_one_room_is_409_naming_the_other_session(staff, tenant, conference):
    cid = conference
    keynote = add_session(staff, cid, "Keynote", start="10:00", end="11:00", room="Hall A")
    clash = add_session(staff, cid, "Clash", start="10:30", end="11:30", room=" hall  a ",
                        expect=409)
    assert error(clash)["code"] == "session_overlap"
    assert "Keynote" in error(clash)["message"]
    assert error(clash)["details"]["session"] == {
        "id": keynote["id"], "title": "Keynote", "room": "Hall A",
        "starts_at": "2031-05-01T08:00:00Z", "ends_at": "2031-05-01T09:00:00Z"}
    # Elsewhere, back to back, or without a room: fine.
    add_session(staff, cid, "Other room", start="10:30", end="11:30", room="Hall B")
    after = add_session(staff, cid, "Right after", start="11:00", end="12:00", room="Hall A")
    add_session(staff, cid, "Coffee", start="10:00", end="11:00")
    assert sessions_in(tenant, cid) == 4
    # Moving a session onto another is refused too, and changes nothing.
    moved = staff.patch(f"/conferences/{cid}/sessions/{after['id']}",
                        json=slot(DAY1, "10:59", "12:00"))
    assert moved.status_code == 409 and error(moved)["details"]["session"]["id"] == keynote["id"]
    assert staff.get(f"/conferences/{cid}/sessions/{after['id']}").json() == after
    renamed_room = staff.patch(f"/conferences/{cid}/sessions/{after['id']}",
                               json={"room": "Hall C"})
    assert renamed_room.status_code == 200  # 11:00-12:00 in Hall C is free
    # A session does not clash with itself.
    assert staff.patch(f"/conferences/{cid}/sessions/{keynote['id']}",
                       json=slot(DAY1, "10:15", "11:00")).status_code == 200


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_overlapping_creates_only_one_wins(stack, tenant, conference, round_):
    """Many writers at once, each with a different slot overlapping all the others in one
    room: exactly one is scheduled, every other gets 409 naming it."""
    writers = 8
    barrier = threading.Barrier(writers)
    answers: list[httpx.Response] = [None] * writers

    def write(n: int) -> None:
        with stack.client(token(tenant)) as client:
            payload = {"title": f"Writer {n}", "room": "Main hall",
                       **slot(DAY2, "10:00", f"{11 + n % 3}:{n:02d}")}
            barrier.wait()
            answers[n] = client.post(f"/conferences/{conference}/sessions", json=payload)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * (writers - 1), [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert {error(a)["details"]["session"]["id"] for a in answers if a.status_code == 409} == {
        winner["id"]}
    assert Session.objects(tenant_id=tenant.id, conference_id=conference,
                           room_key="main hall").count() == 1


def test_concurrent_moves_into_one_slot_only_one_wins(stack, tenant, staff, conference):
    sessions = [add_session(staff, conference, f"S{n}", day=DAY3, start=f"{9 + n:02d}:00",
                            end=f"{9 + n:02d}:30", room="Hall C") for n in range(6)]
    barrier = threading.Barrier(len(sessions))
    answers: list[httpx.Response] = [None] * len(sessions)

    def move_to_four(n: int) -> None:
        with stack.client(token(tenant)) as client:
            barrier.wait()
            answers[n] = client.patch(
                f"/conferences/{conference}/sessions/{sessions[n]['id']}",
                json=slot(DAY3, "16:00", "16:45"))

    threads = [threading.Thread(target=move_to_four, args=(n,)) for n in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [200] + [409] * (len(sessions) - 1)
    at_four = [s for s in Session.objects(tenant_id=tenant.id, conference_id=conference)
               if s.starts_at.hour == 14]  # 16:00 in Paris
    assert len(at_four) == 1


# --- speakers ------------------------------------------------------------------------


def test_speakers_are_managed_and_linked_to_sessions(staff, tenant, conference):
    cid = conference
    ada = add_speaker(staff, cid, "Ada Lovelace", company="Analytical Engines",
                      email="Ada@Example.com", photo_url="https://example.com/ada.png",
                      links=[{"label": "site", "url": "https://ada.example"}])
    grace = add_speaker(staff, cid, "Grace Hopper", title="Rear Admiral")
    assert ada["email"] == "ada@example.com"
    assert [s["name"] for s in staff.get(f"/conferences/{cid}/speakers").json()["items"]] == [
        "Ada Lovelace", "Grace Hopper"]
    talk = add_session(staff, cid, "Compilers", speaker_ids=[grace["id"], ada["id"], grace["id"]])
    assert talk["speaker_ids"] == [grace["id"], ada["id"]]

    other_conference = create(staff)["id"]
    stranger = add_speaker(staff, other_conference, "Someone Else")
    refused = staff.patch(f"/conferences/{cid}/sessions/{talk['id']}",
                          json={"speaker_ids": [ada["id"], stranger["id"], "nope"]})
    assert refused.status_code == 422
    assert list(error(refused)["details"]["fields"]) == ["speaker_ids"]
    assert len(error(refused)["details"]["fields"]["speaker_ids"]) == 2
    assert staff.get(f"/conferences/{cid}/sessions/{talk['id']}").json() == talk
    # A speaker of another conference is not found under this one.
    assert staff.get(f"/conferences/{cid}/speakers/{stranger['id']}").status_code == 404

    renamed = staff.patch(f"/conferences/{cid}/speakers/{grace['id']}",
                          json={"company": "US Navy", "email": None})
    assert renamed.status_code == 200 and renamed.json()["company"] == "US Navy"
    bad = staff.patch(f"/conferences/{cid}/speakers/{grace['id']}",
                      json={"name": None, "photo_url": "file:///etc/passwd"})
    assert bad.status_code == 422
    assert set(error(bad)["details"]["fields"]) == {"name", "photo_url"}

    deleted = staff.delete(f"/conferences/{cid}/speakers/{grace['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": grace["id"], "deleted": True, "unlinked_sessions": 1}
    assert staff.get(f"/conferences/{cid}/sessions/{talk['id']}").json()["speaker_ids"] == [
        ada["id"]]
    assert staff.get(f"/conferences/{cid}/speakers/{grace['id']}").status_code == 404
    assert Speaker.objects(tenant_id=tenant.id, conference_id=cid).count() == 1


# --- the agenda ----------------------------------------------------------------------


def test_agenda_groups_by_local_day_with_speakers(stack, tenant, staff, conference):
    cid = conference
    ada = add_speaker(staff, cid, "Ada Lovelace", email="ada@example.com")
    add_session(staff, cid, "Closing", day=DAY3, start="17:00", end="18:00", room="Hall A")
    add_session(staff, cid, "Late social", day=DAY1, start="23:00", end="23:59")
    add_session(staff, cid, "Keynote", start="09:00", end="10:00", room="Hall A",
                speaker_ids=[ada["id"]])
    add_session(staff, cid, "Parallel", start="09:00", end="10:00", room="Hall B")
    staff_view = staff.get(f"/conferences/{cid}/agenda").json()
    assert staff_view["conference"]["timezone"] == "Europe/Paris"
    assert [(d["date"], [s["title"] for s in d["sessions"]]) for d in staff_view["days"]] == [
        (DAY1, ["Keynote", "Parallel", "Late social"]), (DAY3, ["Closing"])]
    keynote = staff_view["days"][0]["sessions"][0]
    assert [(s["name"], s["email"]) for s in keynote["speakers"]] == [
        ("Ada Lovelace", "ada@example.com")]

    with stack.client(token(tenant, "attendee")) as attendee:
        hidden = [attendee.get(f"/conferences/{cid}{path}") for path in
                  ("/agenda", "/sessions", f"/sessions/{keynote['id']}", "/speakers",
                   f"/speakers/{ada['id']}")]
        assert [r.status_code for r in hidden] == [404] * 5
        assert {error(r)["code"] for r in hidden} == {"conference_not_found"}
        move(staff, cid, "published")
        public = attendee.get(f"/conferences/{cid}/agenda").json()
        speaker = attendee.get(f"/conferences/{cid}/speakers/{ada['id']}").json()
    assert [d["date"] for d in public["days"]] == [DAY1, DAY3]
    assert public["days"][0]["sessions"][0]["speakers"][0]["email"] is None
    assert speaker["name"] == "Ada Lovelace" and speaker["email"] is None


def test_attendees_cannot_write_the_agenda(stack, tenant, staff, conference):
    cid = conference
    talk = add_session(staff, cid, "Talk")
    ada = add_speaker(staff, cid, "Ada")
    move(staff, cid, "published")
    with stack.client(token(tenant, "attendee")) as attendee:
        writes = [
            attendee.post(f"/conferences/{cid}/sessions", json={"title": "Mine", **slot(
                DAY1, "12:00", "13:00")}),
            attendee.patch(f"/conferences/{cid}/sessions/{talk['id']}", json={"title": "Mine"}),
            attendee.delete(f"/conferences/{cid}/sessions/{talk['id']}"),
            attendee.post(f"/conferences/{cid}/speakers", json={"name": "Me"}),
            attendee.patch(f"/conferences/{cid}/speakers/{ada['id']}", json={"name": "Me"}),
            attendee.delete(f"/conferences/{cid}/speakers/{ada['id']}"),
        ]
        reads = [attendee.get(f"/conferences/{cid}/sessions/{talk['id']}"),
                 attendee.get(f"/conferences/{cid}/sessions")]
    assert [r.status_code for r in writes] == [403] * 6
    assert [r.status_code for r in reads] == [200, 200]
    assert sessions_in(tenant, cid) == 1


def test_an_archived_conferences_agenda_is_read_only(staff, tenant, conference):
    cid = conference
    talk = add_session(staff, cid, "Talk")
    ada = add_speaker(staff, cid, "Ada")
    staff.delete(f"/conferences/{cid}")
    writes = [
        staff.post(f"/conferences/{cid}/sessions", json={"title": "New", **slot(
            DAY1, "12:00", "13:00")}),
        staff.patch(f"/conferences/{cid}/sessions/{talk['id']}", json={"title": "New"}),
        staff.delete(f"/conferences/{cid}/sessions/{talk['id']}"),
        staff.post(f"/conferences/{cid}/speakers", json={"name": "New"}),
        staff.patch(f"/conferences/{cid}/speakers/{ada['id']}", json={"name": "New"}),
        staff.delete(f"/conferences/{cid}/speakers/{ada['id']}"),
    ]
    assert [r.status_code for r in writes] == [409] * 6
    assert {error(r)["code"] for r in writes} == {"conference_archived"}
    assert staff.get(f"/conferences/{cid}/agenda").json()["days"][0]["sessions"][0]["title"] == \
        "Talk"


def test_conference_dates_cannot_leave_sessions_outside(staff, conference):
    cid = conference
    add_session(staff, cid, "Closing", day=DAY3, start="17:00", end="18:00")
    shrink = staff.patch(f"/conferences/{cid}", json={"ends_at": "2031-05-02T18:00:00+02:00"})
    assert shrink.status_code == 409
    assert error(shrink)["code"] == "sessions_outside_dates"
    assert staff.get(f"/conferences/{cid}").json()["ends_at"] == "2031-05-03T16:00:00Z"
    assert staff.patch(f"/conferences/{cid}", json={
        "ends_at": "2031-05-04T18:00:00+02:00"}).status_code == 200


# --- tenancy -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(stack):
    """Tenant A with a published conference, a session and a speaker; a second
    conference of A's; tenant B."""
    a = make_tenant(stack)
    with stack.client(token(a)) as client:
        cid = create(client)["id"]
        speaker = add_speaker(client, cid, "Ada")
        session = add_session(client, cid, "Talk", speaker_ids=[speaker["id"]])
        move(client, cid, "published")
        other_cid = create(client)["id"]
        move(client, other_cid, "published")
    return {"a": a, "b": make_tenant(stack), "cid": cid, "other_cid": other_cid,
            "sid": session["id"], "pid": speaker["id"], "session": session}


ENDPOINTS = [
    ("GET", "/conferences/{cid}/sessions", None),
    ("POST", "/conferences/{cid}/sessions", {"title": "X", **slot(DAY1, "13:00", "14:00")}),
    ("GET", "/conferences/{cid}/sessions/{sid}", None),
    ("PATCH", "/conferences/{cid}/sessions/{sid}", {"title": "Taken over"}),
    ("DELETE", "/conferences/{cid}/sessions/{sid}", None),
    ("GET", "/conferences/{cid}/speakers", None),
    ("POST", "/conferences/{cid}/speakers", {"name": "X"}),
    ("GET", "/conferences/{cid}/speakers/{pid}", None),
    ("PATCH", "/conferences/{cid}/speakers/{pid}", {"name": "Taken over"}),
    ("DELETE", "/conferences/{cid}/speakers/{pid}", None),
    ("GET", "/conferences/{cid}/agenda", None),
]


@pytest.mark.parametrize("role", ["staff", "attendee"])
@pytest.mark.parametrize("method, path, payload", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_another_tenants_agenda_is_not_found(stack, world, role, method, path, payload):
    with stack.client(token(world["b"], role)) as client:
        response = client.request(method, path.format(**world), json=payload)
    if role == "attendee" and method != "GET":
        assert response.status_code == 403
    else:
        assert response.status_code == 404, response.text
        assert error(response)["code"] == "conference_not_found"
    assert_untouched(stack, world)


@pytest.mark.parametrize("method, path, payload",
                         [e for e in ENDPOINTS if "{sid}" in e[1] or "{pid}" in e[1]],
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS if "{sid}" in p or "{pid}" in p])
def test_ids_of_another_conference_are_not_found(stack, world, method, path, payload):
    """A's own staff, but the session or speaker named under A's other conference."""
    with stack.client(token(world["a"])) as client:
        response = client.request(method, path.format(**{**world, "cid": world["other_cid"]}),
                                  json=payload)
    assert response.status_code == 404, response.text
    assert error(response)["code"] in ("session_not_found", "speaker_not_found")
    assert_untouched(stack, world)


def assert_untouched(stack, world):
    with stack.client(token(world["a"])) as client:
        session = client.get("/conferences/{cid}/sessions/{sid}".format(**world)).json()
        speaker = client.get("/conferences/{cid}/speakers/{pid}".format(**world))
        count = client.get("/conferences/{cid}/sessions".format(**world)).json()["total"]
    assert session == world["session"]
    assert speaker.status_code == 200 and speaker.json()["name"] == "Ada"
    assert count == 1


# --- the OpenAPI document ------------------------------------------------------------


ROUTES = [
    ("/conferences/{conference_id}/sessions", "get", 200),
    ("/conferences/{conference_id}/sessions", "post", 201),
    ("/conferences/{conference_id}/sessions/{session_id}", "get", 200),
    ("/conferences/{conference_id}/sessions/{session_id}", "patch", 200),
    ("/conferences/{conference_id}/sessions/{session_id}", "delete", 200),
    ("/conferences/{conference_id}/speakers", "get", 200),
    ("/conferences/{conference_id}/speakers", "post", 201),
    ("/conferences/{conference_id}/speakers/{speaker_id}", "get", 200),
    ("/conferences/{conference_id}/speakers/{speaker_id}", "patch", 200),
    ("/conferences/{conference_id}/speakers/{speaker_id}", "delete", 200),
    ("/conferences/{conference_id}/agenda", "get", 200),
]


@pytest.fixture(scope="module")
def document(stack) -> dict:
    with stack.client() as client:
        return client.get("/docs/openapi.json").json()


@pytest.mark.parametrize("path, method, status", ROUTES)
def test_every_agenda_route_is_documented(document, path, method, status):
    operation = documented(document, path, method)
    assert operation.get("security") == [{"bearer": []}]
    assert well_formed(document, answer_schema(document, path, method, status)) == []
    assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == {
        part[1:-1] for part in path.split("/") if part.startswith("{")}
    if method in ("post", "patch"):
        content = operation["requestBody"]["content"]
        schema = resolve(document, content["application/json"]["schema"])
        assert well_formed(document, schema) == [] and schema["additionalProperties"] is False


def test_real_agenda_answers_fit_the_documented_schemas(document, staff, conference):
    cid = conference
    base = f"/conferences/{cid}"
    speaker = staff.post(f"{base}/speakers", json={"name": "Ada", "links": [
        {"label": "site", "url": "https://ada.example"}]})
    pid = speaker.json()["id"]
    session = staff.post(f"{base}/sessions", json={"title": "T", "speaker_ids": [pid],
                                                   **slot(DAY1, "10:00", "11:00")})
    sid = session.json()["id"]
    answers = [
        ("/conferences/{conference_id}/speakers", "post", speaker),
        ("/conferences/{conference_id}/sessions", "post", session),
        ("/conferences/{conference_id}/sessions", "post", staff.post(
            f"{base}/sessions", json={"title": "Clash", **slot(DAY1, "10:00", "11:00"),
                                      "room": ""})),
        ("/conferences/{conference_id}/sessions", "get", staff.get(f"{base}/sessions")),
        ("/conferences/{conference_id}/sessions/{session_id}", "get",
         staff.get(f"{base}/sessions/{sid}")),
        ("/conferences/{conference_id}/sessions/{session_id}", "patch",
         staff.patch(f"{base}/sessions/{sid}", json={"track": "Main"})),
        ("/conferences/{conference_id}/speakers", "get", staff.get(f"{base}/speakers")),
        ("/conferences/{conference_id}/speakers/{speaker_id}", "get",
         staff.get(f"{base}/speakers/{pid}")),
        ("/conferences/{conference_id}/speakers/{speaker_id}", "patch",
         staff.patch(f"{base}/speakers/{pid}", json={"bio": "Analyst"})),
        ("/conferences/{conference_id}/agenda", "get", staff.get(f"{base}/agenda")),
        ("/conferences/{conference_id}/sessions", "post", staff.post(
            f"{base}/sessions", json={"title": "Bad", **slot(DAY1, "11:00", "10:00")})),
        ("/conferences/{conference_id}/speakers/{speaker_id}", "delete",
         staff.delete(f"{base}/speakers/{pid}")),
        ("/conferences/{conference_id}/sessions/{session_id}", "delete",
         staff.delete(f"{base}/sessions/{sid}")),
        ("/conferences/{conference_id}/sessions/{session_id}", "get",
         staff.get(f"{base}/sessions/{sid}")),
    ]
    for path, method, response in answers:
        schema = answer_schema(document, path, method, response.status_code)
        assert mismatches(document, schema, response.json()) == [], (path, method, response.text)

