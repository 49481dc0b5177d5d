"""The REST API over the same service functions as the CLI; one router per area under routes/."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gateway import ui
from gateway.api.limits import BodyLimit
from gateway.api.problems import document_problems, install_problem_handlers
from gateway.api.ratelimit import RateLimit
from gateway.api.request_slots import RequestSlots
from gateway.api.routes import adapters, datasets, jobs, lineage, policy, users
from gateway.errors import FtgateError
from gateway.logging import configure_logging
from gateway.models import HealthPublic
from gateway.runtime import Runtime
from gateway.scan_worker import ScanWorkers
from gateway.services import dataset_scans
from gateway.services.witnessing import WitnessSubmitter, make_submitter
from gateway.settings import Settings

log = structlog.get_logger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ftgate API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="/static/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-ui/init.js"></script>
</body>
</html>
"""
# Everything from this server; Swagger UI sets inline styles and shows data: images.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@asynccontextmanager
async def _warm_scan_workers(app: FastAPI) -> AsyncIterator[None]:
    """Start the scan workers beside the server, so the first upload does not wait for the models.

    In a thread: the server answers (`/healthz` too) while they load; an upload meanwhile waits for
    them, and a broken redaction config fails that upload, closed, with its reason.

    Then, in a process of its own (`ftgate serve`), what the server has loaded by now (its modules,
    the scanner's and the libraries they import: half a million objects) is frozen out of the garbage
    collector's full passes (`gc.freeze`): each pass looked at all of them, up to 0.2 s with every
    request thread stopped. They live as long as the process anyway.
    """
    rt: Runtime = app.state.runtime

    def warm() -> None:
        try:
            log.info("redaction.workers_ready", analyzer=rt.scanner.analyzer_name)  # starts the pool
            if dataset_scans.waiting(rt):  # scans a restart interrupted: resumed now, not on an upload
                app.state.scan_workers.ensure()
        except FtgateError as exc:
            log.warning("redaction.workers_not_started", error=exc.message)
        finally:
            if app.state.own_process:
                gc.freeze()

    threading.Thread(target=warm, name="scan-workers", daemon=True).start()
    witnesses: WitnessSubmitter | None = app.state.witness_submitter
    if witnesses is not None:
        witnesses.start()
    try:
        yield
    finally:
        if witnesses is not None:
            witnesses.close()
        app.state.scan_workers.close()
        rt.close()  # the read decisions and decision-log events still buffered


class PokeWitnesses:
    """After each request that may have appended to the log, wake the witness submitter.

    Only an event is set: the submission runs in the submitter's thread, a few seconds later, so no
    request waits for a witness (and a witness that is down costs requests nothing).
    """

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: Any, submitter: WitnessSubmitter) -> None:
        self.app = app
        self.submitter = submitter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope.get("method") not in self.SAFE:
                self.submitter.poke()


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, *, own_process: bool = False
) -> FastAPI:
    """Build the app; tests hand it a temporary SQLite home or the PostgreSQL server. `own_process`:
    the app is all its process serves, for as long as it lives (`ftgate serve`)."""
    rt = runtime or Runtime(settings or Settings())
    # This process answers HTTP: it never analyses text itself, its scan workers do (runtime.scanner).
    rt.serving = True
    configure_logging(rt.settings.log_level)
    # Built now, so a decision-log sink that cannot start (an unreadable token file) or a single sign-on
    # configured wrongly (a JWKS URL over plain http, a role map naming no role) stops the server at
    # start rather than on its first decision or sign-in.
    rt.decision_log  # noqa: B018
    rt.oidc  # noqa: B018
    app = FastAPI(
        title="ftgate",
        version="0.1.0",
        description="Governed LLM fine-tuning.",
        lifespan=_warm_scan_workers,
        docs_url=None,  # served below from vendored assets: /docs works with no way out to a CDN
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.own_process = own_process
    # Uploads are scanned by these processes, started on the first one (`ScanWorkers.ensure`).
    app.state.scan_workers = ScanWorkers(rt.settings)
    # How many API requests run at once, lookups apart from the rest.
    app.state.request_slots = RequestSlots.from_settings(rt.settings)
    install_problem_handlers(app)
    # Cosignatures are asked for in the background: after writes (debounced) and on a timer.
    app.state.witness_submitter = make_submitter(rt=rt) if rt.settings.witnesses else None
    if app.state.witness_submitter is not None:
        app.add_middleware(PokeWitnesses, submitter=app.state.witness_submitter)
    app.add_middleware(
        BodyLimit, upload_bytes=rt.settings.max_upload_bytes, request_bytes=rt.settings.max_request_bytes
    )
    # Added last, so it runs first: a caller over its rate costs no body read, no token lookup.
    app.add_middleware(
        RateLimit, per_minute=rt.settings.rate_limit_per_minute, burst=rt.settings.rate_limit_burst
    )

    @app.get("/healthz", tags=["meta"])
    async def healthz() -> HealthPublic:
        # On the event loop, not a worker thread: it answers even while every thread is busy.
        return HealthPublic(status="ok")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE, headers={"Content-Security-Policy": DOCS_CSP})

    for module in (users, datasets, jobs, adapters, policy, lineage):
        app.include_router(module.router)
    document_problems(app)
    ui.install(app)  # the console at /ui: after the API's problem handlers, which it defers to
    return app
