"""The seating job tests' shared set-up and reads: grid seat maps, approved registrations
written through the model layer (one by one or thousands at once), and who sits where,
read through the model layer and (double bookings) straight from the collection."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from models import registrations, seatmaps
from models.base import utcnow
from models.seat_assignments import SeatBlock, all_of
from services.seating.assignment.maps import layout_of
from tests.integration.stack import wait_for_job


def token(tenant, role):
    return tenant.tokens[role]["access_token"]


# --- maps and people ----------------------------------------------------------------------


def grid_map(rows: int, per_row: int, *, sections=("Stalls",), categories=("standard", "vip"),
             category=lambda section, r, s: "standard", attributes=lambda section, r, s: (),
             aisle_after: int | None = None) -> dict:
    """Sections side by side, ``rows`` rows of ``per_row`` seats each, labels 1..n left to
    right, pitch 1; ``aisle_after`` leaves a gap (an aisle) after that many seats."""
    out = []
    for no, name in enumerate(sections):
        offset = no * (per_row + 10)
        out.append({"name": name, "rows": [
            {"label": f"R{r + 1}", "seats": [
                {"label": str(s + 1),
                 "x": offset + s + (3 if aisle_after is not None and s >= aisle_after else 0),
                 "y": r + 1, "category": category(name, r, s),
                 "attributes": list(attributes(name, r, s))} for s in range(per_row)]}
            for r in range(rows)]})
    return {"categories": list(categories), "sections": out}


def put_map(client, conference_id: str, data: dict) -> dict:
    response = client.put(f"/conferences/{conference_id}/seating/map", json=data)
    assert response.status_code == 200, response.text
    return response.json()


def next_seqs(tenant, conference_id: str, count: int) -> range:
    return registrations.reserve_arrivals(tenant.id, conference_id, count)


def approve(tenant, conference_id: str, people: list[dict]) -> list[str]:
    """Approved registrations (set-up through the model layer): each person is a dict of
    seating wishes (party, seat_category, needs_accessible, priority), maybe a user_id."""
    staff = tenant.users["staff"].id
    ids = []
    for person in people:
        wishes = {k: v for k, v in person.items() if k in registrations.SEATING_FIELDS}
        tag = uuid.uuid4().hex[:8]
        registration = registrations.create_registration(
            tenant.id, conference_id, registered_by=staff,
            user_id=person.get("user_id"), email=f"p-{tag}@example.com",
            name=f"Person {tag}", answers={}, form_version=None, invite_code=None, seating=wishes)
        assert registrations.decide(tenant.id, registration.id, to="approved", by=staff)
        ids.append(str(registration.id))
    return ids


def approve_in_bulk(tenant, conference_id: str, people: list[dict]) -> list[str]:
    """As :func:`approve`, for thousands: one approved registration converted by the model,
    copied for each person, inserted by four threads (SecantusDB takes 18,000 in about
    15 s so, 25 s in one insert: each registration feeds a dozen indexes)."""
    staff = tenant.users["staff"].id
    now = utcnow()
    template = registrations.Registration(
        tenant_id=tenant.id, conference_id=conference_id, seq=0, registered_by=staff, name="",
        answers={}, status="approved", policy_checked=True, decided_by=staff, decided_at=now,
        history=[registrations.HistoryEntry(at=now, by=staff, to="pending",
                                                 reason="registered"),
                 registrations.HistoryEntry(at=now, by=staff, to="approved")],
    ).to_mongo().to_dict()
    documents = []
    for seq, person in zip(next_seqs(tenant, conference_id, len(people)), people):
        email, code = f"b{seq}-{uuid.uuid4().hex[:6]}@example.com", registrations.new_ticket_code()
        documents.append({
            **template, "_id": ObjectId(), "seq": seq, "name": f"Bulk {seq}", "email": email,
            "ticket_code": code, **registrations.key_fields(None, email, code),
            **{k: v for k, v in person.items() if k in registrations.SEATING_FIELDS}})
    collection = registrations.Registration._get_collection()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: collection.insert_many(documents[i::4], ordered=False), range(4)))
    registrations.ensure_built(tenant.id, conference_id, force=True)
    return [str(document["_id"]) for document in documents]


def party(name: str, size: int, **wishes) -> list[dict]:
    return [{"party": name, **wishes} for _ in range(size)]


# --- what is stored -----------------------------------------------------------------------


def stored(tenant, conference_id: str) -> dict[str, tuple]:
    """registration → (seat, kind, by, created_at), as the model reads them."""
    return {a.registration_id: (a.seat_id, a.kind, a.by, a.created_at)
            for a in all_of(tenant.id, conference_id)}


def doubles(tenant, conference_id: str) -> tuple[list, list]:
    """Seats holding two people and people holding two seats, straight from the collection
    (every entry of every block, whatever the model would make of them)."""
    collection = SeatBlock._get_collection()

    def twice(field):
        return list(collection.aggregate([
            {"$match": {"tenant_id": tenant.id, "conference_id": conference_id}},
            {"$unwind": f"${field}"},
            {"$group": {"_id": f"${field}", "n": {"$sum": 1}}},
            {"$match": {"n": {"$gt": 1}}}]))

    return twice("seats"), twice("registrations")


def seats_on_map(tenant, conference_id: str) -> dict[str, seatmaps.SeatSpec]:
    return {sid: seat for sid, _, _, seat in seatmaps.load_spec(tenant.id, conference_id).seats()}


def layout(tenant, conference_id: str):
    return layout_of(seatmaps.load_spec(tenant.id, conference_id))


def in_one_row(seat_ids: list[str]) -> bool:
    """Side by side in one row of a gap-free grid row: same section and row, labels consecutive."""
    places = {sid.rsplit("/", 1)[0] for sid in seat_ids}
    labels = sorted(int(sid.rsplit("/", 1)[1]) for sid in seat_ids)
    return len(places) == 1 and labels == list(range(labels[0], labels[0] + len(labels)))


def auto_assign(client, conference_id: str) -> str:
    response = client.post(f"/conferences/{conference_id}/seating/auto-assign")
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def run_auto_assign(client, conference_id: str, timeout: float = 30) -> dict:
    """Start a job, wait for it; its result, with the job id as ``job_id``."""
    job = wait_for_job(client, auto_assign(client, conference_id), timeout=timeout)
    assert job["state"] == "succeeded", job
    return {**job["result"], "job_id": job["id"]}


def job_events(events, job_id):
    return [data for name, data in events if name == "job.updated" and data["id"] == job_id]
