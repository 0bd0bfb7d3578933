"""The routing table (meeteasy/broker.py) is the one place that says which queue
serves which task: every task is in it, and the worker, beat and the docs follow it."""

from __future__ import annotations

import importlib
from pathlib import Path

from meeteasy.broker import JOB_KINDS, QUEUES, ROUTES, app

ROOT = Path(__file__).resolve().parents[2]


def registered_tasks() -> dict:
    for module in app.conf.include:
        importlib.import_module(module)
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_has_a_route_and_every_route_a_task():
    assert set(registered_tasks()) == set(ROUTES)


def test_job_kinds_are_the_tasks_that_run_as_jobs():
    from tasks.base import JobTask

    tasks = registered_tasks()
    assert JOB_KINDS == {name for name, task in tasks.items() if isinstance(task, JobTask)}


def test_routes_name_served_queues_and_celery_routes_by_them():
    assert set(ROUTES.values()) <= set(QUEUES)
    assert QUEUES[0] == "default"
    for name, queue in ROUTES.items():
        assert app.amqp.router.route({}, name)["queue"].name == queue, name


def test_beat_sends_each_periodic_task_to_its_queue():
    from beat.schedule import app as beat_app

    for entry in beat_app.conf.beat_schedule.values():
        assert entry["options"]["queue"] == ROUTES[entry["task"]], entry


def test_the_worker_process_and_the_docs_serve_every_queue():
    procfile = (ROOT / "Procfile").read_text().splitlines()
    assert any(line.startswith("worker: meeteasy worker") for line in procfile), procfile
    worker_row = next(line for line in (ROOT / "README.md").read_text().splitlines()
                      if line.startswith("| `worker` |"))
    for queue in QUEUES:
        assert f"`{queue}`" in worker_row, queue
