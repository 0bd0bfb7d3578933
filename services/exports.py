"""CSV exports of registrations: a job makes the file, staff download it for a week."""

from __future__ import annotations

import csv
import io
import json

from models import exports as export_records
from models import registration_search, registrations
from models.exports import ExportFile
from models.jobs import Job
from services.access import Caller, conference_for, require_staff
from services.jobs import start_job

COLUMNS = ("id", "seq", "status", "name", "email", "ticket_code", "waitlist_seq", "reason",
           "created_at", "decided_at", "decided_by")


def start_export(caller: Caller, conference_id: str, status: str | None,
                 idempotency_key: str | None) -> Job:
    """Start the job that exports a conference's registrations (all, or one status)."""
    require_staff(caller, "export registrations")
    conference = conference_for(caller, conference_id)
    return start_job(caller.tenant_id, caller.user_id, "registrations.export",
                     {"conference_id": str(conference.id), "status": status},
                     idempotency_key=idempotency_key)


def get_export(caller: Caller, job_id: str) -> ExportFile:
    """The file an export job produced (staff; kept for 7 days)."""
    require_staff(caller, "download exports")
    return export_records.get_export(caller.tenant_id, job_id)


def export_registrations(tenant_id: str, job_id: str, user_id: str, conference_id: str,
                         status: str | None) -> dict:
    """The export job: write the CSV and keep it under the job's id (a re-run replaces it)."""
    content, rows = registrations_csv(tenant_id, conference_id, status)
    filename = f"registrations-{conference_id}{'-' + status if status else ''}.csv"
    export_records.store_export(tenant_id, job_id, user_id, filename, content, rows)
    return {"rows": rows, "filename": filename, "download_url": f"/exports/{job_id}"}


def flatten(answers: dict, prefix: str = "") -> dict[str, str]:
    """Nested answers as dotted columns (person.name); lists as JSON."""
    flat = {}
    for key, value in answers.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return flat


def registrations_csv(tenant_id: str, conference_id: str, status: str | None) -> tuple[str, int]:
    """The CSV text and its row count; answer columns follow the fixed ones, sorted."""
    rows, answer_columns, after = [], set(), None
    while page := registration_search.list_registrations(tenant_id, conference_id, status=status,
                                                   after_seq=after, limit=registrations.MAX_PAGE):
        for registration in page:
            answers = flatten(registration.answers or {})
            answer_columns.update(answers)
            view = registrations.public_view(registration)
            rows.append({**{column: view.get(column) for column in COLUMNS},
                         "waitlist_seq": registration.waitlist_seq,
                         **{f"answers.{k}": v for k, v in answers.items()}})
        after = page[-1].seq
    header = list(COLUMNS) + [f"answers.{name}" for name in sorted(answer_columns)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue(), len(rows)
