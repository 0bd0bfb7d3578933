"""Real MeetEasy processes for integration tests.

A :class:`Stack` runs `meeteasy web`, `meeteasy relay`, Celery workers, the flusher and beat as
child processes against a Redis and a MongoDB wire-protocol server that the tests
started themselves (``meeteasy.embedded``), each in its own session so that a
test can SIGKILL a whole worker (pool children included). Nothing is mocked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import socketio

from meeteasy.embedded import free_port, wait_for_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
# Short limits; the visibility timeout exceeds both. Worker-loss tests shorten it further.
TEST_SETTINGS = {
    "MEETEASY_TASK_TIME_LIMIT": "6",
    "MEETEASY_LONG_TASK_TIME_LIMIT": "90",
    "MEETEASY_VISIBILITY_TIMEOUT": "95",
    "MEETEASY_JWT_KEYS": "test:" + "k" * 40 + ",old:" + "o" * 40,
    "MEETEASY_LOG_LEVEL": "INFO",
    "MEETEASY_MAX_BODY_BYTES": "4096",
    # Real Argon2id, at a test cost: some 200 tenants are made, each hashing and
    # verifying three passwords (0.13 s apiece at the production cost).
    "MEETEASY_PASSWORD_HASH_TIME_COST": "1",
    "MEETEASY_PASSWORD_HASH_MEMORY_KIB": "1024",
}


class Stack:
    """One set of MeetEasy processes sharing a broker (Redis) and a database."""

    def __init__(self, workdir: Path, mongodb_uri: str, redis_url: str, **overrides: str):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update(TEST_SETTINGS)
        self.env.update({
            "MEETEASY_MONGODB_URI": mongodb_uri,
            "MEETEASY_MONGODB_DB": "meeteasy_test",
            "MEETEASY_REDIS_URL": redis_url,
            "MEETEASY_DATA_DIR": str(workdir / "data"),
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        })
        self.env.update(overrides)
        self.processes: dict[str, subprocess.Popen] = {}
        self.api_url: str | None = None
        self.relay_url: str | None = None

    # --- processes -------------------------------------------------------------------

    def spawn(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = open(self.log_path(name), "ab")
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def log_text(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def start_web(self) -> str:
        port = free_port()
        process = self.spawn("web", [str(BIN / "meeteasy"), "web"], MEETEASY_API_PORT=str(port))
        self.api_url = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _answers(self.api_url + "/health"), process, "web", self)
        return self.api_url

    def start_relay(self) -> str:
        port = free_port()
        process = self.spawn("relay", [str(BIN / "meeteasy"), "relay"], MEETEASY_RELAY_PORT=str(port))
        wait_for_port(port, process, "relay")
        self.relay_url = f"http://127.0.0.1:{port}"
        return self.relay_url

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen:
        process = self.spawn(name, [
            str(BIN / "meeteasy"), "worker", "--loglevel", "INFO", "-c", str(concurrency),
            "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip"])
        _wait_until(lambda: " ready." in self.log_text(name), process, name, self)
        return process

    def start_flusher(self, name: str = "flusher", **env: str) -> subprocess.Popen:
        """`meeteasy flusher`: job changes from this stack's Redis into MongoDB."""
        process = self.spawn(name, [str(BIN / "meeteasy"), "flusher"], **env)
        _wait_until(lambda: "started" in self.log_text(name), process, name, self)
        return process

    def start_beat(self, name: str = "beat", **env: str) -> subprocess.Popen:
        return self.spawn(name, [str(BIN / "celery"), "-A", "beat.schedule", "beat",
                                 "--loglevel", "INFO", "-s", str(self.workdir / f"{name}.db")],
                          **env)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker's pool children too)."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(15)

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    # --- clients ---------------------------------------------------------------------

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=15)

    def login(self, tenant: str, email: str, password: str) -> dict:
        with self.client() as client:
            response = client.post("/auth/login", json={"tenant": tenant, "email": email,
                                                        "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    def socket(self, token: str) -> socketio.SimpleClient:
        sock = socketio.SimpleClient()
        sock.connect(self.relay_url, auth={"token": token}, transports=["websocket"],
                     wait_timeout=10)
        return sock


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(check, process: subprocess.Popen, name: str, stack: Stack, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{stack.log_text(name)[-3000:]}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} not ready within {timeout}s:\n{stack.log_text(name)[-3000:]}")


def wait_for_job(client: httpx.Client, job_id: str, states=("succeeded", "failed", "cancelled"),
                 timeout: float = 30) -> dict:
    """Poll GET /jobs/{id} until the job is in one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['state']} after {timeout}s: {job}")
        time.sleep(0.1)


def receive_events(sock: socketio.SimpleClient, until, timeout: float = 20) -> list[tuple[str, dict]]:
    """Collect events until ``until(events)`` holds or ``timeout`` passes."""
    events: list[tuple[str, dict]] = []
    deadline = time.monotonic() + timeout
    while not until(events):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            event, *args = sock.receive(timeout=remaining)
        except socketio.exceptions.TimeoutError:
            break
        events.append((event, args[0] if args else None))
    return events
