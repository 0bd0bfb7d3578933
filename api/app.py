"""The Sanic application factory: ``sanic api.app:create_app --factory`` or ``meeteasy web``."""

from __future__ import annotations

import logging

from sanic import Sanic, json
from sanic_ext import openapi

from api import (agenda, auth, conferences, contract, diagnostics, errors, forms, jobs, offload,
                 plugins, registrations, seating)
from api.schemas import Health, json_response
from meeteasy import db
from meeteasy.logs import configure_logging
from meeteasy.settings import load_or_exit
from services import platform

log = logging.getLogger("meeteasy.api")


def create_app() -> Sanic:
    settings = load_or_exit()
    configure_logging(settings.log_level)
    app = Sanic("meeteasy", configure_logging=False)
    app.config.update(
        REQUEST_MAX_SIZE=settings.max_body_bytes,
        FALLBACK_ERROR_FORMAT="json",
        OAS_UI_DEFAULT="swagger",
        OAS_URL_PREFIX="/docs",
        API_TITLE="MeetEasy API",
        API_VERSION="0.1.0",
        API_DESCRIPTION="Multi-tenant conference platform. Asynchronous work answers 202 with a "
                        "job; follow it on the Socket.IO relay (`job.updated`) or poll /jobs.",
        CORS=False,
        HEALTH=False,
    )
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    errors.install(app)
    contract.install(app)
    for blueprint in (auth.bp, jobs.bp, diagnostics.bp, conferences.bp, agenda.bp, forms.bp,
                      registrations.bp, plugins.bp, seating.bp):
        app.blueprint(blueprint)

    @app.before_server_start
    async def open_resources(app):
        offload.start(backlog=settings.web_backlog)
        await offload.run_sync(db.connect, settings)
        await offload.run_sync(platform.ensure_indexes)

    @app.after_server_stop
    async def close_resources(app):
        offload.stop()
        db.disconnect()

    @app.get("/health")
    @openapi.definition(summary="Liveness: the API process answers", tag="platform",
                        response=[json_response(Health)])
    async def health(request):
        return json({"status": "ok"})

    return app
