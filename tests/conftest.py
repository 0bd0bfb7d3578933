"""Suite-wide ordering.

The heaviest test files run first. With two xdist workers (``make test``) each file
goes to whichever worker is free, so starting with the longest ones balances the
workers, and it gives those files a young embedded database: SecantusDB is one Python
process that slows down as it serves more (README, "SecantusDB").
"""

from __future__ import annotations

HEAVY_FIRST = (
    "tests/integration/test_registrations.py",  # 1,000 concurrent registrations; 5,000 decisions
    "tests/integration/test_seating_tasks.py",  # 200 concurrent seat moves; SIGKILL while storing
    "tests/integration/test_registration_tasks.py",  # SIGKILL during a bulk approval
    # 2,000 registrations while flusher, worker and web are killed; a Redis restart
    "tests/integration/test_registration_loss.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return HEAVY_FIRST.index(path) if path in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=rank)  # stable: the order within a rank is kept
