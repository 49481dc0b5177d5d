"""The review console: server-rendered pages at `/ui` over the same services as the API and the CLI.

`install(app)` adds the pages (`routes.py`), their static files (`static/`, every asset vendored), and
the console's own answers to errors: a page that needs a session sends the browser to the sign-in
form, and a refusal under `/ui` is a page, not a problem document.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from gateway.ui import routes

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(routes.router)

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, routes.SignInRequired)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request"):
            response = Response(status_code=401, headers={"HX-Redirect": "/ui/login"})
            return response
        if request.method != "GET":
            return routes.see_other(f"/ui/login?reason={quote(exc.reason)}")
        return routes.see_other(f"/ui/login?next={quote(target)}&reason={quote(exc.reason)}")

    app.add_exception_handler(routes.SignInRequired, sign_in)
    for kind in (*routes.REFUSALS, RequestValidationError):
        _answer_as_page(app, kind)


def _answer_as_page(app: FastAPI, kind: type[Exception]) -> None:
    """Under `/ui`, an error of `kind` is a page; elsewhere the API's problem document, as before."""
    api_handler = app.exception_handlers[kind]

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/ui/"):
            return routes.error_page(request, exc)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(kind, handler)
