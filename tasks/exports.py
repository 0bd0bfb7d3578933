"""CSV exports of registrations."""

from __future__ import annotations

import csv
import io
import json

from models import exports
from models import registrations as store
from tasks.app import app, long_running
from tasks.base import JobContext, JobTask

COLUMNS = ("id", "seq", "status", "name", "email", "ticket_code", "waitlist_seq", "reason",
           "created_at", "decided_at", "decided_by")


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
    while page := store.list_registrations(tenant_id, conference_id, status=status,
                                           after_seq=after, limit=store.MAX_PAGE):
        for registration in page:
            answers = flatten(registration.answers or {})
            answer_columns.update(answers)
            view = store.public_view(registration)
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


@app.task(base=JobTask, name="registrations.export", **long_running())
def export_task(job: JobContext, conference_id: str, status: str | None = None) -> dict:
    content, rows = registrations_csv(job.tenant_id, conference_id, status)
    filename = f"registrations-{conference_id}{'-' + status if status else ''}.csv"
    exports.store_export(job.tenant_id, job.job.id, job.job.user_id, filename, content, rows)
    return {"rows": rows, "filename": filename, "download_url": f"/exports/{job.job.id}"}
