"""The REST API over the same service functions as the CLI; one router per area under routes/."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from audit.errors import AuditError
from gateway.api.routes import adapters, datasets, jobs, lineage, policy, users
from gateway.errors import FtgateError
from gateway.logging import configure_logging
from gateway.runtime import Runtime
from gateway.services.authz import AuthzDenied, record_denial
from gateway.settings import Settings
from trainer.errors import TrainerError

log = structlog.get_logger(__name__)


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"detail": {"code": code, "message": message, "details": details}}
    return JSONResponse(status_code=status, content=body, headers=headers)


@asynccontextmanager
async def _warm_scan_workers(app: FastAPI) -> AsyncIterator[None]:
    """Start the scan workers beside the server, so the first upload does not wait for the models.

    In a thread: the server answers (`/healthz` too) while they load; an upload meanwhile waits for
    them, and a broken redaction config fails that upload, closed, with its reason.
    """
    rt: Runtime = app.state.runtime

    def warm() -> None:
        try:
            log.info("redaction.workers_ready", analyzer=rt.scanner.analyzer_name)  # starts the pool
        except FtgateError as exc:
            log.warning("redaction.workers_not_started", error=exc.message)

    threading.Thread(target=warm, name="scan-workers", daemon=True).start()
    yield


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; tests hand it a temporary SQLite home or the PostgreSQL server."""
    rt = runtime or Runtime(settings or Settings())
    # This process answers HTTP: it never analyses text itself, its scan workers do (runtime.scanner).
    rt.serving = True
    configure_logging(rt.settings.log_level)
    app = FastAPI(
        title="ftgate",
        version="0.1.0",
        description="Governed LLM fine-tuning.",
        lifespan=_warm_scan_workers,
    )
    app.state.runtime = rt

    @app.exception_handler(FtgateError)
    async def _ftgate_error(_: Request, exc: FtgateError) -> JSONResponse:
        if isinstance(exc, AuthzDenied):
            # The request's transaction is rolled back; the denial is kept in one of its own.
            await run_in_threadpool(record_denial, rt=rt, error=exc)
        return _error(exc.http_status, exc.code, exc.message, exc.details)

    @app.exception_handler(AuditError)
    async def _audit_error(_: Request, exc: AuditError) -> JSONResponse:
        return _error(404 if exc.code == "not_found" else 409, exc.code, str(exc))

    @app.exception_handler(TrainerError)
    async def _trainer_error(_: Request, exc: TrainerError) -> JSONResponse:
        return _error(422, "trainer_error", str(exc))

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (users, datasets, jobs, adapters, policy, lineage):
        app.include_router(module.router)
    return app
