"""The platform's own upkeep, outside any tenant."""

from __future__ import annotations

import models


def ensure_indexes() -> None:
    """Create every declared index; idempotent. Run when `web` starts, when `meeteasy dev`
    seeds its demo tenant and before the CLI creates a tenant."""
    models.ensure_indexes()
