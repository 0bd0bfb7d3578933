"""The long-running processes of the Procfile that need settings to start:
`meeteasy web`, `meeteasy relay`, `meeteasy worker`, `meeteasy flusher`, `meeteasy flower`."""

from __future__ import annotations

import click

from meeteasy import durability
from meeteasy.settings import load_or_exit


@click.command()
def web() -> None:
    """Run the Sanic API."""
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from api.app import create_app

    settings = load_or_exit()
    loader = AppLoader(factory=create_app)
    app = loader.load()
    durability.warn_if_volatile(settings.redis_url)
    app.prepare(host=settings.api_host, port=settings.api_port, workers=settings.api_workers,
                access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


@click.command()
def relay() -> None:
    """Run the Socket.IO relay."""
    import uvicorn

    settings = load_or_exit()
    uvicorn.run("api.relay:create_relay", factory=True, host=settings.relay_host,
                port=settings.relay_port, log_level=settings.log_level.lower(), access_log=False)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker on every queue of the routing table (meeteasy.broker.ROUTES);
    other arguments go to `celery worker` as they are (e.g. `-c 4 --loglevel INFO`)."""
    from meeteasy.broker import QUEUES
    from tasks.app import app, settings

    durability.warn_if_volatile(settings.redis_url)
    app.worker_main(["worker", "-E", "-Q", ",".join(QUEUES), *celery_args])


@click.command()
def flusher() -> None:
    """Run the flusher: hot changes from the Redis stream into MongoDB, in bulk. Run one or
    two (a standby takes over within seconds when the active one dies)."""
    import signal

    from meeteasy import db
    from meeteasy.flusher import Flusher
    from meeteasy.logs import configure_logging
    from models.writers import WRITERS

    settings = load_or_exit()
    configure_logging(settings.log_level)
    db.connect(settings)
    loop = Flusher(WRITERS, delay_ms=settings.flush_delay_ms,
                   interval_ms=settings.flush_interval_ms)
    # A stop finishes the batch in hand (written and committed), then hands the lease over.
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    signal.signal(signal.SIGINT, lambda *_: loop.stop())
    loop.run()


@click.command()
def flower() -> None:
    """Run Flower behind basic auth, against the same broker as the workers."""
    from tasks.app import app

    settings = load_or_exit()
    if not settings.flower_password:
        raise click.ClickException("Set MEETEASY_FLOWER_PASSWORD: Flower never runs without auth.")
    app.start(["flower", f"--port={settings.flower_port}", "--address=127.0.0.1",
               f"--basic-auth={settings.flower_user}:{settings.flower_password}"])


COMMANDS = [web, relay, worker, flusher, flower]
