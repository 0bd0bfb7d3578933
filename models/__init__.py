"""Documents and the tenant-scoped CRUD layer. Nothing here imports api/ or tasks/."""

from models import agenda, audit, conferences  # noqa: F401  (registers documents)
from models import sessions, speakers  # noqa: F401  (registers documents)
from models import idempotency, jobs, tenants, tokens, users  # noqa: F401  (registers documents)
from models import activity, exports, forms, invites, plugins, registrations  # noqa: F401
from models import seat_assignments, seatmaps  # noqa: F401
from models.base import all_documents


def ensure_indexes() -> None:
    """Create every declared index; idempotent, run at each process start."""
    for document in all_documents():
        document.ensure_indexes()
