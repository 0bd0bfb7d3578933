"""`meeteasy dev`, the README's first command, run as a newcomer runs it: embedded
MongoDB, its own Redis, every Procfile process, the demo tenant; and nothing left
running after SIGTERM.

Ports are free ones and MEETEASY_REDIS_URL points at a port nobody listens on, so
dev starts everything itself and touches no server the tests did not start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from meeteasy.embedded import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
MARK = "MEETEASY_DEV_TEST_RUN"


class Dev:
    """One `meeteasy dev` process, its output in a file."""

    def __init__(self, data_dir: Path, log: Path):
        self.run_id = uuid.uuid4().hex
        self.log = log
        env = {key: value for key, value in os.environ.items() if not key.startswith("MEETEASY_")}
        env.update({
            "MEETEASY_DATA_DIR": str(data_dir),
            "MEETEASY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "MEETEASY_API_PORT": str(free_port()),
            "MEETEASY_RELAY_PORT": str(free_port()),
            "MEETEASY_FLOWER_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            # Every descendant inherits this, whatever session or parent it ends up in.
            MARK: self.run_id,
        })
        self.api_url = f"http://127.0.0.1:{env['MEETEASY_API_PORT']}"
        self.flower_url = f"http://127.0.0.1:{env['MEETEASY_FLOWER_PORT']}"
        with open(log, "wb") as out:
            self.process = subprocess.Popen([str(BIN / "meeteasy"), "dev"], cwd=ROOT, env=env,
                                            stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.tree: dict[int, bytes] = {}

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, check, what: str, timeout: float = 90, interval: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dev exited ({self.process.returncode}) before {what}:\n"
                                     f"{self.output()[-4000:]}")
            value = check()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"no {what} within {timeout}s:\n{self.output()[-4000:]}")

    def announced(self, interval: float = 0.2) -> dict:
        return self.wait_for(lambda: _announcement(self.output()), "URLs printed",
                             interval=interval)

    def remember_descendants(self) -> None:
        """Record every process dev started: its descendants by parent id (redis-server
        rewrites its environment, so it is found this way) and every process carrying
        this run's mark (the Procfile processes live in sessions of their own)."""
        self.tree.update(_descendants(self.process.pid))
        self.tree.update(_marked(self.run_id))

    def survivors(self) -> list[str]:
        alive = {pid for pid, start in self.tree.items() if _start_time(pid) == start}
        alive |= set(_marked(self.run_id))
        return [f"{pid} {_cmdline(pid)}" for pid in sorted(alive)]

    def terminate_and_wait(self, timeout: float = 120) -> int:
        """SIGTERM dev and wait until it has exited and every process it started is gone.
        The deadline is generous: how fast a loaded machine stops is not under test."""
        self.remember_descendants()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"dev still running {timeout}s after SIGTERM:\n"
                                 f"{self.output()[-4000:]}")
        deadline = time.monotonic() + timeout
        while self.survivors() and time.monotonic() < deadline:
            time.sleep(0.2)
        return code

    def kill_everything(self) -> None:
        """Last resort, so a failed test leaves nothing behind: our own recorded pids only."""
        if self.process.poll() is None:
            self.remember_descendants()
        for pid in set(self.tree) | set(_marked(self.run_id)):
            if pid in self.tree and _start_time(pid) != self.tree[pid]:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _announcement(text: str) -> dict | None:
    if "Press Ctrl-C to stop everything." not in text:
        return None
    flower = re.search(r"Flower\s+(http://\S+)\s+\((\S+) / (\S+)\)", text)
    return {"api": re.search(r"API\s+(http://\S+)", text).group(1),
            "relay": re.search(r"Relay\s+(http://\S+)", text).group(1),
            "flower": flower.group(1), "flower_auth": (flower.group(2), flower.group(3)),
            "mongodb": re.search(r"MongoDB\s+(mongodb://\S+)", text).group(1),
            "redis": re.search(r"Redis\s+(redis://\S+)", text).group(1),
            "created_now": "(created now)" in text}


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (2nd field) may hold spaces; it is wrapped in parentheses.
    return text[text.rindex(")") + 2:].split()


def _start_time(pid: int) -> bytes | None:
    fields = _proc_stat(pid)
    if fields is None or fields[0] == "Z":  # a zombie is gone, only not yet reaped
        return None
    return fields[19].encode()


def _descendants(root: int) -> dict[int, bytes]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _proc_stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = {}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if (start := _start_time(child)) is not None:
                found[child] = start
                stack.append(child)
    return found


def _marked(run_id: str) -> dict[int, bytes]:
    needle = f"{MARK}={run_id}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and (start := _start_time(int(entry.name))):
            found[int(entry.name)] = start
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def _listening(url: str) -> bool:
    port = int(re.search(r":(\d+)/", url).group(1))
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _answers(url: str, **kwargs) -> int | None:
    try:
        return httpx.get(url, timeout=2, **kwargs).status_code
    except httpx.HTTPError:
        return None


@pytest.fixture
def dev_runs(tmp_path):
    started: list[Dev] = []

    def start() -> Dev:
        dev = Dev(tmp_path / "data", tmp_path / f"dev-{len(started)}.log")
        started.append(dev)
        return dev

    yield start
    for dev in started:
        dev.kill_everything()


# Every wait below has its own generous deadline; the hang guard sits above their sum.
@pytest.mark.timeout(600)
def test_dev_runs_the_platform_and_stops_every_child(dev_runs):
    dev = dev_runs()
    urls = dev.announced()
    assert urls["api"] == dev.api_url and urls["flower"] == dev.flower_url
    assert urls["created_now"], "the first run seeds the demo tenant"
    dev.wait_for(lambda: _answers(dev.api_url + "/health") == 200, "API /health")

    with httpx.Client(base_url=dev.api_url, timeout=15) as client:
        login = client.post("/auth/login", json={
            "tenant": "demo", "email": "admin@demo.example.com", "password": "meeteasy-demo"})
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        accepted = client.post("/diagnostics/ping", json={})
        assert accepted.status_code == 202, accepted.text
        status_url = accepted.json()["status_url"]
        job = dev.wait_for(lambda: (lambda j: j if j["state"] in ("succeeded", "failed") else None)(
            client.get(status_url).json()), "the ping job to finish", timeout=60)
    assert job["state"] == "succeeded", job
    assert job["result"]["mongodb_version"] and job["result"]["redis_version"]
    dev_redis = redis.Redis.from_url(urls["redis"], decode_responses=True)
    assert dev_redis.config_get("appendonly") == {"appendonly": "yes"}, "dev's Redis keeps no AOF"
    dev_redis.close()
    assert "persistence is off" not in dev.output()

    dev.wait_for(lambda: _answers(dev.flower_url + "/") is not None, "Flower")
    assert _answers(dev.flower_url + "/") == 401
    assert _answers(dev.flower_url + "/", auth=("admin", "wrong password")) == 401
    assert _answers(dev.flower_url + "/", auth=urls["flower_auth"]) == 200

    dev.remember_descendants()
    commands = " ".join(_cmdline(pid) for pid in dev.tree)
    for expected in ("secantusd-py", "redis-server", "meeteasy web", "meeteasy relay",
                     "worker", "meeteasy flusher", "beat", "meeteasy flower"):
        assert expected in commands, f"{expected} is not running under dev: {commands}"

    code = dev.terminate_and_wait()
    assert dev.survivors() == [], "processes left behind after SIGTERM"
    assert _listening(urls["mongodb"]) is False and _listening(urls["redis"]) is False
    assert code in (0, 143, -signal.SIGTERM), dev.output()[-3000:]
    assert "Traceback" not in dev.output(), dev.output()[-4000:]


@pytest.mark.timeout(900)  # three runs of dev, each waited for as above
def test_a_sigterm_during_start_up_leaves_nothing_and_data_is_kept(dev_runs):
    # While the embedded MongoDB starts (before any Procfile process exists).
    starting = dev_runs()
    starting.wait_for(lambda: any("secantusd-py" in _cmdline(pid)
                                  for pid in _descendants(starting.process.pid)),
                      "SecantusDB to start", interval=0.01)
    starting.remember_descendants()
    starting.terminate_and_wait()
    assert starting.survivors() == [], "processes left behind by a SIGTERM at start-up"

    # Straight after the announcement, while honcho is still starting the processes.
    announcing = dev_runs()
    urls = announcing.announced(interval=0.005)
    announcing.terminate_and_wait()
    assert announcing.survivors() == [], "processes left behind by a SIGTERM at start-up"
    assert _listening(urls["mongodb"]) is False and _listening(urls["redis"]) is False
    assert "KeyError" not in announcing.output(), announcing.output()[-3000:]

    # The same data directory again: seeded once, not twice, and the demo admin logs in.
    again = dev_runs()
    urls = again.announced()
    assert not urls["created_now"], "the demo tenant was seeded again"
    assert "(created now)" not in again.output()
    again.wait_for(lambda: _answers(again.api_url + "/health") == 200, "API /health")
    login = httpx.post(again.api_url + "/auth/login", json={
        "tenant": "demo", "email": "admin@demo.example.com", "password": "meeteasy-demo"},
        timeout=15)
    assert login.status_code == 200, login.text
    again.remember_descendants()
    again.terminate_and_wait()
    assert again.survivors() == []
