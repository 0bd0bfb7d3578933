"""`meeteasy dev`: the whole platform on one machine, on embedded defaults.

Starts the embedded MongoDB (unless MEETEASY_MONGODB_URI is set) and a Redis
(unless one answers at MEETEASY_REDIS_URL), seeds a demo tenant on first run,
then runs every Procfile process until Ctrl-C or SIGTERM, and stops them all.
"""

from __future__ import annotations

import secrets
import signal
import sys
from pathlib import Path

import click
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from meeteasy import db, embedded
from meeteasy.errors import Conflict
from meeteasy.settings import load_or_exit

PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"
DEMO_TENANT = "demo"
DEMO_EMAIL = "admin@demo.example.com"
DEMO_PASSWORD = "meeteasy-demo"


def seed_demo(settings, mongodb_uri: str) -> bool:
    """Create the demo tenant and its admin once; True if they were created now."""
    from services import identity, platform, tenants

    db.connect(settings, uri=mongodb_uri)
    try:
        platform.ensure_indexes()
        try:
            tenant = tenants.create_tenant(DEMO_TENANT, "Demo Conferences")
        except Conflict:
            return False
        identity.create_user(str(tenant.id), DEMO_EMAIL, DEMO_PASSWORD,
                             ["tenant_admin", "staff"], "Demo Admin")
        return True
    finally:
        db.disconnect()


def _flower_password(data_dir: Path) -> str:
    path = data_dir / "flower-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


@click.command()
def dev() -> None:
    """Run every MeetEasy process, with embedded MongoDB and Redis when needed."""
    settings = load_or_exit()
    stop = _StopRequest()
    signal.signal(signal.SIGTERM, stop.handle)
    signal.signal(signal.SIGINT, stop.handle)
    services: list[embedded.Service] = []
    try:
        code = _run(settings, stop, services)
    finally:
        for service in reversed(services):
            service.stop()
    sys.exit(code)


def _run(settings, stop: _StopRequest, services: list[embedded.Service]) -> int | None:
    """Start what is missing, seed, run the Procfile; the exit code. Each step first
    checks whether a stop was asked for meanwhile."""
    data_dir = settings.data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    mongodb_uri = settings.mongodb_uri
    if not mongodb_uri:
        mongo = embedded.start_mongo(data_dir / "mongodb", data_dir / "logs" / "mongodb.log")
        services.append(mongo)
        mongodb_uri = mongo.url
    if stop.requested:
        return stop.code
    redis_url = settings.redis_url
    if not embedded.redis_answers(redis_url):
        redis = embedded.start_redis(data_dir / "redis", data_dir / "logs" / "redis.log",
                                     durable=True)
        services.append(redis)
        redis_url = redis.url
    if stop.requested:
        return stop.code
    seeded = seed_demo(settings, mongodb_uri)
    if stop.requested:
        return stop.code
    flower_password = settings.flower_password or _flower_password(data_dir)
    env = embedded.child_env(
        MEETEASY_MONGODB_URI=mongodb_uri,
        MEETEASY_REDIS_URL=redis_url,
        MEETEASY_DATA_DIR=str(data_dir),
        MEETEASY_JWT_KEYS=settings.jwt_keys or _format_keys(settings.signing_keys),
        MEETEASY_FLOWER_PASSWORD=flower_password,
        PATH=f"{Path(sys.executable).parent}:{embedded.child_env().get('PATH', '')}",
    )
    _announce(settings, mongodb_uri, redis_url, flower_password, seeded)
    manager = _Manager(Printer(sys.stdout))
    for name, command in parse_procfile(PROCFILE.read_text()).processes.items():
        manager.add_process(name, command, env=env, cwd=str(PROCFILE.parent))
    stop.manager = manager
    if stop.requested:
        stop.handle_later()
    manager.loop()  # installs honcho's own SIGINT/SIGTERM handlers
    return manager.returncode


class _StopRequest:
    """SIGINT/SIGTERM before honcho's loop takes over: remembered, and acted on at the
    next step. Raising from the handler instead would be lost whenever the signal
    lands in a finaliser (Python ignores exceptions there), and dying at once would
    leave the embedded MongoDB and Redis running."""

    def __init__(self):
        self.requested = False
        self.code: int | None = None
        self.manager: _Manager | None = None

    def handle(self, signum, frame) -> None:
        self.requested = True
        self.code = 128 + signum
        if self.manager is not None:
            self.handle_later()

    def handle_later(self) -> None:
        """Hand the stop to the manager (carried out once every process has started)."""
        if self.manager.returncode is None:
            self.manager.returncode = self.code
        self.manager.terminate()


class _Manager(Manager):
    """honcho's Manager, safe against Ctrl-C or SIGTERM during start-up.

    honcho learns each process's pid from a message its runner sends after the
    start; a terminate before every pid has arrived fails with KeyError, which
    leaves the started processes running and this process hanging at exit. Here
    such a terminate waits until every pid is known (``loop`` asks each turn)."""

    _terminate_requested = False

    def terminate(self):
        if not self._all_started():
            self._terminate_requested = True
            return
        super().terminate()

    def _all_started(self):
        started = super()._all_started()
        if started and self._terminate_requested:
            self._terminate_requested = False
            super().terminate()
        return started


def _format_keys(keys: dict[str, str]) -> str:
    return ",".join(f"{kid}:{secret}" for kid, secret in keys.items())


def _announce(settings, mongodb_uri, redis_url, flower_password, seeded) -> None:
    click.echo(f"""
MeetEasy is starting.
  API        http://{settings.api_host}:{settings.api_port}   (OpenAPI: /docs/openapi.json)
  Relay      http://{settings.relay_host}:{settings.relay_port}   (Socket.IO, auth: {{"token": <access token>}})
  Flower     http://127.0.0.1:{settings.flower_port}   ({settings.flower_user} / {flower_password})
  MongoDB    {mongodb_uri}
  Redis      {redis_url}
  Demo login tenant={DEMO_TENANT} email={DEMO_EMAIL} password={DEMO_PASSWORD}{'  (created now)' if seeded else ''}
Press Ctrl-C to stop everything.
""")
