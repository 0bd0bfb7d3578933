"""Embedded services for `meeteasy dev` and the tests: a MongoDB wire-protocol
server (SecantusDB) and, when none answers, a Redis server, each a child process
on a free loopback port, stopped by PID. Nothing here touches a server it did not start."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    url: str
    port: int

    def stop(self, timeout: float = 10) -> None:
        """Stop our child by its PID: SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f}s")


def _binary(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


def start_mongo(storage: Path, log_path: Path, port: int | None = None) -> Service:
    """SecantusDB on 127.0.0.1; its data persists in ``storage`` across runs."""
    command = _binary("secantusd-py")
    if command is None:
        raise RuntimeError("secantusd-py is not installed (pip install secantusdb)")
    port = port or free_port()
    storage.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [command, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
         "--log-level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()  # the child has its own descriptor
    service = Service("mongodb", process, mongo_url(port), port)
    _wait_or_stop(service, "SecantusDB")
    return service


def mongo_url(port: int) -> str:
    """The URI of an embedded SecantusDB. ``retryWrites=false``: with retryable writes on,
    the server keeps every write for 30 minutes and scans that list on each new one, so
    its write cost grows from ~2 ms to 15-20 ms within ~12,000 writes. Nothing here
    relies on a retried write (each one is conditional or carries its own id)."""
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def start_redis(workdir: Path, log_path: Path, port: int | None = None, *,
                durable: bool = False) -> Service:
    """A private redis-server. ``durable``: append-only persistence in ``workdir``, fsync'd
    every second, so that queued jobs outlive a restart (what `meeteasy dev` runs, and
    what the README asks of a production Redis); otherwise it keeps nothing on disk
    (the tests' default, for speed)."""
    command = shutil.which("redis-server")
    if command is None:
        raise RuntimeError("redis-server is not installed")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if durable else \
        ["--appendonly", "no"]
    process = subprocess.Popen(
        [command, "--bind", "127.0.0.1", "--port", str(port), "--save", "", *persistence,
         "--dir", str(workdir), "--logfile", str(log_path), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True)
    service = Service("redis", process, f"redis://127.0.0.1:{port}/0", port)
    _wait_or_stop(service, "redis-server")
    return service


def _wait_or_stop(service: Service, name: str) -> None:
    """Wait until the child listens; if it fails or we are interrupted (Ctrl-C, SIGTERM
    turned into KeyboardInterrupt), stop it, since no caller holds it yet."""
    try:
        wait_for_port(service.port, service.process, name)
    except BaseException:
        service.stop()
        raise


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.exceptions.RedisError, OSError):
        return False


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({key: value for key, value in overrides.items() if value is not None})
    return env
