"""What CLI commands share: settings, a database connection, errors shown as one line."""

from __future__ import annotations

import contextlib
import functools

import click
import mongoengine

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
        # A command invoked in a process that is already connected (a test, a shell)
        # uses that connection and leaves it open; otherwise it owns its own.
        owned = not _connected()
        if owned:
            db.connect(settings)
        try:
            return command(*args, **kwargs)
        except MeetEasyError as error:
            raise click.ClickException(describe(error))
        finally:
            if owned:
                with contextlib.suppress(Exception):
                    db.disconnect()

    return wrapper


def describe(error: MeetEasyError) -> str:
    """The error's message, with the fields of a validation error spelled out."""
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    if fields:
        return error.message + " " + "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in fields.items())
    return error.message + (f" {error.details}" if error.details else "")


def _connected() -> bool:
    try:
        mongoengine.get_connection(db.ALIAS)
    except mongoengine.connection.ConnectionFailure:
        return False
    return True
