"""The baseline's web process: a bare Sanic app with one POST that enqueues a no-op
Celery task (``bench/baseline_tasks.py``) and answers 202 with the job id.

Like ``meeteasy web`` it runs under Sanic's server with one worker process and
publishes from a thread pool (never blocking the event loop); unlike it, there is
no auth, no validation model, no MongoDB and no idempotency.

    BENCH_REDIS_URL=redis://127.0.0.1:PORT/0 python -m bench.baseline_app --port 8100
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from sanic import Sanic, json
from sanic.exceptions import BadRequest

from bench.baseline_tasks import QUEUE, app as celery_app


def create_app() -> Sanic:
    app = Sanic("bench_baseline")
    app.config.update(FALLBACK_ERROR_FORMAT="json", HEALTH=False)

    @app.before_server_start
    async def start_pool(app):
        app.ctx.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="bench-io")

    @app.after_server_stop
    async def stop_pool(app):
        app.ctx.pool.shutdown(wait=True)

    @app.get("/health")
    async def health(request):
        return json({"status": "ok"})

    @app.post("/ping")
    async def ping(request):
        body = request.json if request.body else {}
        room = body.get("room") if isinstance(body, dict) else None
        if not isinstance(room, str) or not room:
            raise BadRequest("Send {\"room\": <name>}.")
        job_id = uuid.uuid4().hex
        await asyncio.get_running_loop().run_in_executor(
            request.app.ctx.pool, lambda: celery_app.send_task(
                "bench.noop", kwargs={"job_id": job_id, "room": room}, task_id=job_id, queue=QUEUE))
        return json({"job_id": job_id}, status=202)

    return app


def main() -> None:
    """Serve like ``meeteasy web``: Sanic's server, one worker process, no access log."""
    from sanic.worker.loader import AppLoader

    from bench.baseline_app import create_app as factory  # by its importable name, for the worker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    loader = AppLoader(factory=factory)
    app = loader.load()
    app.prepare(host=args.host, port=args.port, workers=args.workers, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
