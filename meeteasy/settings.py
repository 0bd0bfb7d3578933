"""Every setting MeetEasy reads, from environment variables prefixed ``MEETEASY_``.

Read once per process through :func:`get_settings`; a wrong value stops the
process with one line naming the variable (see :func:`load_or_exit`).
The README's settings table is checked against this class by a test.
"""

from __future__ import annotations

import functools
import os
import secrets
import sys
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEETEASY_", extra="ignore", frozen=True)

    # --- data -------------------------------------------------------------------------
    mongodb_uri: str | None = Field(
        None, description="MongoDB URI. Unset: `meeteasy dev` and the tests start an embedded "
        "wire-protocol server (SecantusDB) on a free loopback port.")
    mongodb_db: str = Field("meeteasy", description="Database name.")
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis for the Celery broker, Socket.IO fan-out, locks and beat.")
    data_dir: Path = Field(
        Path(".meeteasy"), description="Embedded MongoDB data, the generated dev JWT key, logs.")

    # --- auth -----------------------------------------------------------------------
    jwt_keys: str | None = Field(
        None, description="Signing keys as `kid:secret[,kid:secret...]`; the first signs, all "
        "verify (rotation). Unset: a key is generated once into `DATA_DIR/jwt-keys` (dev only).")
    jwt_issuer: str = Field("meeteasy", description="`iss` claim written and required.")
    jwt_audience: str = Field("meeteasy-api", description="`aud` claim written and required.")
    access_token_ttl: int = Field(900, ge=30, le=86400, description="Access JWT lifetime, seconds.")
    refresh_token_ttl: int = Field(
        30 * 86400, ge=60, description="Refresh JWT lifetime, seconds.")
    password_hash_time_cost: int = Field(
        3, ge=1, le=20, description="Argon2id passes per password hash (the RFC 9106 default).")
    password_hash_memory_kib: int = Field(
        65536, ge=64, description="Argon2id memory per password hash, KiB. The tests lower both "
        "costs for speed; keep the defaults in production.")

    # --- processes ------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Sanic API bind address.")
    api_port: int = Field(8000, ge=1, le=65535, description="Sanic API port.")
    api_workers: int = Field(1, ge=1, le=64, description="Sanic worker processes.")
    relay_host: str = Field("127.0.0.1", description="Socket.IO relay bind address.")
    relay_port: int = Field(8001, ge=1, le=65535, description="Socket.IO relay port.")
    flower_port: int = Field(5555, ge=1, le=65535, description="Flower port.")
    flower_user: str = Field("admin", min_length=1, description="Flower basic-auth user.")
    flower_password: str | None = Field(
        None, description="Flower basic-auth password. Unset: generated and printed by "
        "`meeteasy dev`; `meeteasy flower` refuses to start without one.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Larger request bodies get 413.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")

    # --- tasks ----------------------------------------------------------------------
    task_time_limit: int = Field(
        300, ge=2, description="Hard limit of one task run, seconds; a job's lease lasts this long.")
    long_task_time_limit: int = Field(
        1800, ge=2, description="Hard limit of bulk jobs (thousands of staff decisions, exports), "
        "seconds.")
    visibility_timeout: int = Field(
        2400, ge=3, description="Seconds before Redis redelivers an unacknowledged task; must "
        "exceed TASK_TIME_LIMIT and LONG_TASK_TIME_LIMIT.")
    task_max_retries: int = Field(
        5, ge=0, le=50, description="Attempts after the first for transient failures.")
    reaper_interval: float = Field(
        60.0, gt=0, description="Seconds between beat runs of the stuck-job reaper.")
    hold_sweep_interval: float = Field(
        30.0, gt=0, description="Seconds between beat runs that release expired seat holds.")
    policy_sweep_interval: float = Field(
        30.0, gt=0, description="Seconds between beat runs that decide registrations left "
        "in a conference's policy queue with no approval job coming.")
    seating_lock_timeout: int = Field(
        30, ge=2, description="Seconds a conference's seating lock outlives its last renewal; "
        "the auto-assign task renews it between steps, so this bounds how long a dead worker "
        "holds seating up.")
    max_seatmap_bytes: int = Field(
        16_777_216, ge=1024, description="Larger seat map uploads (JSON or CSV) get 413; other "
        "bodies are limited by MAX_BODY_BYTES.")
    queued_job_grace: int = Field(
        600, ge=1, description="A job still `queued` this long is sent again by the reaper.")
    finished_job_ttl: int = Field(
        3600, ge=1, description="Seconds a finished job's hot state stays in Redis once its "
        "end is stored in MongoDB; older jobs are read from MongoDB.")
    flush_interval_ms: int = Field(
        100, ge=0, le=10000, description="Least milliseconds between the starts of two flusher "
        "batches that were not full: a job started and finished within it is written once, "
        "and each write carries more changes; a flush is up to that much later.")
    flush_delay_ms: int = Field(
        0, ge=0, le=60000, description="Milliseconds the flusher waits before writing each "
        "batch: 0 in production; tests raise it to show that a late flush loses nothing.")

    # --- overload -------------------------------------------------------------------
    web_backlog: int = Field(
        64, ge=0, description="Requests a web process lets wait for one of its 32 threads. "
        "Past that it answers 503 `overloaded` with Retry-After at once, so that overload "
        "costs it little and what it takes is answered in time. 0: no limit.")
    queue_limit: int = Field(
        1000, ge=0, description="Jobs that may wait in one queue. A request that would start a "
        "job on a fuller queue gets 503 `overloaded` with Retry-After, and nothing is recorded. "
        "0: no limit.")
    queue_limits: str | None = Field(
        None, description="Per-queue limits overriding QUEUE_LIMIT, as "
        "`queue:limit[,queue:limit...]` (e.g. `seating:200,plugins:0`).")
    user_job_rate: float = Field(
        0.0, ge=0, description="Jobs per second one user may start, on average; beyond it 429 "
        "`too_many_requests` with Retry-After. 0: no per-user limit.")
    user_job_burst: int = Field(
        20, ge=1, description="Jobs one user may start at once before USER_JOB_RATE applies.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("mongodb_uri")
    @classmethod
    def _mongo_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value or None

    @field_validator("queue_limits")
    @classmethod
    def _limits_format(cls, value: str | None) -> str | None:
        if value:
            parse_queue_limits(value)
        return value or None

    @field_validator("jwt_keys")
    @classmethod
    def _keys_format(cls, value: str | None) -> str | None:
        if value:
            parse_jwt_keys(value)
        return value or None

    @model_validator(mode="after")
    def _visibility_above_limit(self) -> Settings:
        for name in ("task_time_limit", "long_task_time_limit"):
            if self.visibility_timeout <= getattr(self, name):
                raise ValueError(
                    f"MEETEASY_VISIBILITY_TIMEOUT ({self.visibility_timeout}) must exceed "
                    f"MEETEASY_{name.upper()} ({getattr(self, name)}), otherwise Redis redelivers "
                    "tasks that are still running")
        return self

    @property
    def queue_limit_overrides(self) -> dict[str, int]:
        """queue → its own limit (QUEUE_LIMITS); other queues have QUEUE_LIMIT."""
        return parse_queue_limits(self.queue_limits) if self.queue_limits else {}

    @property
    def signing_keys(self) -> dict[str, str]:
        """kid → secret; the first entry signs new tokens."""
        return parse_jwt_keys(self.jwt_keys or _dev_jwt_key(self.data_dir))


def parse_jwt_keys(text: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for item in text.split(","):
        kid, sep, secret = item.strip().partition(":")
        if not sep or not kid or len(secret) < 32:
            raise ValueError("must be kid:secret pairs separated by commas, secrets of 32+ chars")
        keys[kid] = secret
    return keys


def parse_queue_limits(text: str) -> dict[str, int]:
    limits: dict[str, int] = {}
    for item in text.split(","):
        queue, sep, limit = item.strip().partition(":")
        if not sep or not queue.strip() or not limit.strip().isdigit():
            raise ValueError("must be queue:limit pairs separated by commas, limits of 0 or more")
        limits[queue.strip()] = int(limit)
    return limits


def _dev_jwt_key(data_dir: Path) -> str:
    """A per-checkout key so that a fresh `meeteasy dev` works; production sets JWT_KEYS."""
    path = data_dir / "jwt-keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"dev:{secrets.token_urlsafe(48)}")
    return path.read_text().strip()


def describe_error(error: ValidationError) -> str:
    """One line naming the variable(s) at fault; values are not echoed (they may be secrets)."""
    problems = error.errors()
    first = problems[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        line = f"invalid setting {_variable(first['loc'])}: {message}"
    else:
        # A rule between settings (a model validator): its message names the variables.
        line = f"invalid settings: {message}"
    others = [_variable(problem["loc"]) for problem in problems[1:] if problem["loc"]]
    if others:
        line += f" (also invalid: {', '.join(dict.fromkeys(others))})"
    return " ".join(line.split())


def _variable(loc: tuple) -> str:
    return "MEETEASY_" + str(loc[0]).upper()


@functools.cache
def get_settings() -> Settings:
    return Settings()


def load_or_exit() -> Settings:
    """Settings for a process entry point: a bad value ends the process with one clear line."""
    try:
        return get_settings()
    except ValidationError as error:
        sys.exit(f"meeteasy: {describe_error(error)}")
