"""What CLI commands share: settings, a database connection, errors shown as one line."""

from __future__ import annotations

import contextlib
import functools

import click

from meeteasy import db
from meeteasy.errors import MeetEasyError
from meeteasy.settings import load_or_exit


def with_database(command):
    """Connect before the command runs; show domain errors as a clean one-line failure."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        settings = load_or_exit()
        if not settings.mongodb_uri:
            raise click.ClickException(
                "MEETEASY_MONGODB_URI is not set (`meeteasy dev` prints the one it started).")
        db.connect(settings)
        try:
            return command(*args, **kwargs)
        except MeetEasyError as error:
            detail = f" {error.details}" if error.details else ""
            raise click.ClickException(f"{error.message}{detail}")
        finally:
            with contextlib.suppress(Exception):
                db.disconnect()

    return wrapper
