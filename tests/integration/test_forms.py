"""/forms: AMIS registration forms, versioned per conference, checked on save."""

from __future__ import annotations

from tests.integration.test_registrations import FORM, make_conference, register, token


def save(client, conference_id, schema):
    return client.post("/forms/", json={"conference_id": conference_id, "schema": schema})


def test_each_save_is_a_new_version_and_registrations_keep_theirs(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    with stack.client(token(tenant, "staff")) as staff:
        first = save(staff, conference_id, FORM)
        assert first.status_code == 201, first.text
        second_schema = {"type": "form", "body": [
            {"type": "input-email", "name": "work_email", "required": True},
            {"type": "input-rating", "name": "mood"}]}
        second = save(staff, conference_id, second_schema)
        assert second.status_code == 201
        versions = staff.get("/forms/", params={"conference_id": conference_id}).json()["items"]
    assert [first.json()["version"], second.json()["version"]] == [1, 2]
    assert first.json()["warnings"] == []
    assert any("input-rating" in warning for warning in second.json()["warnings"])
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["schema"] == second_schema
    with stack.client(token(tenant, "attendee")) as attendee:
        current = attendee.get("/forms/", params={"conference_id": conference_id}).json()["items"]
        registered = attendee.post(f"/conferences/{conference_id}/registrations",
                                   json={"answers": {"work_email": "ada@example.com", "mood": 4}})
    assert [v["version"] for v in current] == [2]
    assert registered.status_code == 202, registered.text
    assert registered.json()["registration"]["form_version"] == 2
    # Types the server does not validate are stored and passed through as they came.
    assert registered.json()["registration"]["answers"] == {"work_email": "ada@example.com", "mood": 4}


def test_a_schema_that_is_not_an_amis_form_is_422_saying_why(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    cases = [
        ({"type": "page", "body": []}, "type"),
        ({"type": "form", "body": {"type": "input-text"}}, "body"),
        ({"type": "form", "body": [{"name": "x"}]}, "body.0.type"),
        ({"type": "form", "body": [{"type": "input-text", "name": "a"},
                                   {"type": "input-text", "name": "a"}]}, "body.1.name"),
        ({"type": "form", "body": [{"type": "input-text", "name": "a",
                                    "validations": {"isShiny": True}}]}, "body.0.validations"),
    ]
    with stack.client(token(tenant, "staff")) as staff:
        for schema, field in cases:
            response = save(staff, conference_id, schema)
            assert response.status_code == 422, (schema, response.text)
            fields = response.json()["error"]["details"]["fields"]
            assert any(name.startswith(field) for name in fields), (field, fields)
        assert staff.get("/forms/", params={"conference_id": conference_id}).json()["items"] == []


def test_an_answer_a_backtracking_pattern_cannot_check_in_time_is_422(stack, tenant):
    conference_id = make_conference(tenant, form=None)
    schema = {"type": "form", "body": [
        {"type": "input-text", "name": "code", "validations": {"matchRegexp": "/^(a|a)+$/"}}]}
    with stack.client(token(tenant, "staff")) as staff:
        assert save(staff, conference_id, schema).status_code == 201  # valid JS, if slow
    with stack.client(token(tenant, "attendee")) as attendee:
        response = register(attendee, conference_id, answers={"code": "a" * 64 + "!"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"] == {
        "answers.code": ["This answer could not be checked against the form's pattern in time."]}


def test_answers_can_be_checked_before_registering(stack, tenant):
    conference_id = make_conference(tenant)
    with stack.client(token(tenant, "attendee")) as attendee:
        bad = attendee.post("/forms/check", params={"conference_id": conference_id},
                            json={"answers": {"diet": "meat"}}).json()
        good = attendee.post("/forms/check", params={"conference_id": conference_id},
                             json={"answers": {"person": {"name": "Ada"}, "extra": 1}}).json()
    assert bad["valid"] is False and set(bad["errors"]) == {"person.name", "diet"}
    assert good == {"valid": True, "errors": {}, "cleaned": {"person": {"name": "Ada"}},
                    "dropped": ["extra"]}


def test_attendees_cannot_save_forms_and_other_tenants_see_none(stack, tenant, other_tenant):
    conference_id = make_conference(tenant)
    with stack.client(token(tenant, "attendee")) as attendee:
        assert save(attendee, conference_id, FORM).status_code == 403
    for role in ("tenant_admin", "staff", "attendee"):
        with stack.client(token(other_tenant, role)) as client:
            calls = [client.get("/forms/", params={"conference_id": conference_id}),
                     client.post("/forms/check", params={"conference_id": conference_id},
                                 json={"answers": {}})]
            if role != "attendee":
                calls.append(save(client, conference_id, FORM))
            assert [c.status_code for c in calls] == [404] * len(calls)
