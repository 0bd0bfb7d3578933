"""Settings: every one is documented in the README, and a wrong value stops a
process with one line that names the variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from meeteasy.settings import Settings, describe_error

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOAD = "from meeteasy.settings import load_or_exit; load_or_exit()"


def readme_settings() -> dict[str, list[str]]:
    """MEETEASY_<NAME> → the cells of its row in the README's settings table."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells:
            match = re.fullmatch(r"`(MEETEASY_[A-Z0-9_]+)`", cells[0])
            if match:
                rows[match.group(1)] = cells[1:]
    return rows


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The current environment without any MEETEASY_* (the integration conftest sets
    some), plus ``values``: each check starts from the defaults."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEETEASY_")}
    env["MEETEASY_DATA_DIR"] = str(tmp_path / "data")
    env.update(values)
    return env


def test_every_setting_is_in_the_readme_table():
    documented = readme_settings()
    fields = {f"MEETEASY_{name.upper()}": field for name, field in Settings.model_fields.items()}
    assert sorted(set(fields) - set(documented)) == [], "settings missing from README.md"
    assert sorted(set(documented) - set(fields)) == [], "README.md documents unknown settings"
    for variable, field in fields.items():
        default, meaning = documented[variable][0], documented[variable][1]
        assert meaning, f"{variable} has no meaning in the README table"
        if isinstance(field.default, (int, float, str)) and not isinstance(field.default, bool):
            assert f"`{field.default}`" in default, \
                f"README says {variable} defaults to {default}, the code to {field.default!r}"
        elif field.default is None:
            assert "unset" in default.lower(), f"README gives {variable} a default: {default}"


def test_defaults_load_without_any_variable(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("MEETEASY_"):
            monkeypatch.delenv(key)
    settings = Settings()
    assert settings.visibility_timeout > settings.task_time_limit
    assert settings.mongodb_uri is None


BAD_VALUES = [
    ({"MEETEASY_API_PORT": "abc"}, "MEETEASY_API_PORT"),
    ({"MEETEASY_RELAY_PORT": "70000"}, "MEETEASY_RELAY_PORT"),
    ({"MEETEASY_REDIS_URL": "http://x"}, "MEETEASY_REDIS_URL"),
    ({"MEETEASY_MONGODB_URI": "localhost:27017"}, "MEETEASY_MONGODB_URI"),
    ({"MEETEASY_VISIBILITY_TIMEOUT": "100"}, "MEETEASY_VISIBILITY_TIMEOUT"),
    ({"MEETEASY_TASK_TIME_LIMIT": "60", "MEETEASY_VISIBILITY_TIMEOUT": "60"},
     "MEETEASY_VISIBILITY_TIMEOUT"),
    ({"MEETEASY_JWT_KEYS": "short"}, "MEETEASY_JWT_KEYS"),
    ({"MEETEASY_JWT_KEYS": "a:" + "x" * 40 + ",b:tooshort"}, "MEETEASY_JWT_KEYS"),
    ({"MEETEASY_LOG_LEVEL": "LOUD"}, "MEETEASY_LOG_LEVEL"),
    ({"MEETEASY_ACCESS_TOKEN_TTL": "5"}, "MEETEASY_ACCESS_TOKEN_TTL"),
    ({"MEETEASY_MAX_BODY_BYTES": "-1"}, "MEETEASY_MAX_BODY_BYTES"),
]


@pytest.mark.parametrize("values,variable", BAD_VALUES, ids=[v for _, v in BAD_VALUES])
def test_a_bad_value_stops_the_process_with_one_line(tmp_path, values, variable):
    done = subprocess.run([sys.executable, "-c", LOAD], env=clean_env(tmp_path, **values),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert variable in lines[0]
    assert lines[0].startswith("meeteasy: invalid setting")
    assert "Value error" not in lines[0]
    assert done.stdout == ""


def test_the_secret_itself_is_never_printed(tmp_path):
    secret = "kid:" + "s" * 20  # too short, so invalid
    done = subprocess.run([sys.executable, "-c", LOAD],
                          env=clean_env(tmp_path, MEETEASY_JWT_KEYS=secret),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "s" * 20 not in done.stderr


@pytest.mark.parametrize("command", ["web", "relay", "flower", "tenants list", "jobs list --tenant x"])
def test_process_entry_points_stop_on_a_bad_value(tmp_path, command):
    """The real commands (Procfile and operator CLI) stop before doing anything else."""
    env = clean_env(tmp_path, MEETEASY_VISIBILITY_TIMEOUT="10", MEETEASY_TASK_TIME_LIMIT="20",
                    MEETEASY_MONGODB_URI="mongodb://127.0.0.1:1/")
    done = subprocess.run([str(BIN / "meeteasy"), *command.split()], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "meeteasy: invalid settings: MEETEASY_VISIBILITY_TIMEOUT (10) must exceed "
        "MEETEASY_TASK_TIME_LIMIT (20), otherwise Redis redelivers tasks that are still running"]


def test_several_bad_values_are_all_named_on_one_line(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("MEETEASY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MEETEASY_API_PORT", "abc")
    monkeypatch.setenv("MEETEASY_LOG_LEVEL", "LOUD")
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = describe_error(caught.value)
    assert "\n" not in line
    assert "MEETEASY_API_PORT" in line and "MEETEASY_LOG_LEVEL" in line
