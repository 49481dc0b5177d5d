"""A stand-in for `opa run --server --bundle <dir>`, for tests and benchmarks only.

It serves the parts of OPA's REST API that the OPA backend uses, with the shapes OPA documents
(https://www.openpolicyagent.org/docs/rest-api):

- `POST /v1/data/{path}` with `{"input": ...}`: `{"result": <value>}`, or `{}` when `data.<path>` is
  undefined. A body that is not a JSON object is a 400; a body without "input" evaluates without
  input and adds OPA's `warning`. An evaluation error is a 500 with OPA's error object
  (`{"code": "internal_error", "message": ...}`).
- `GET /v1/data/{path}`: the same, without input.
- `GET /v1/policies`: `{"result": [{"id", "raw", "ast"}, ...]}`; ids are `<bundle dir>/<file>`, as
  `opa run --bundle` names them, and `ast` carries the package path only (the backend never reads
  it; OPA's full AST is not reproduced).
- `GET /health`: `{}`.

Evaluation is regorus's, on the same bundle files (`.rego`, tests included, as `opa run --bundle`
loads them, and each `data.json` at its folder's path). regorus raises where a built-in function
fails, so the double always behaves as OPA does with `?strict-builtin-errors=true`, which the
backend sends. So the double proves the backend speaks OPA's protocol; it does not prove OPA and
regorus agree on Rego. Faults (an HTTP status, a delay, a body that is not JSON) can be switched on
to test that the backend fails closed.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regorus
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from gateway.policy.bundle import PolicyBundle
from gateway.policy.regorus_backend import compile_bundle, engine_message

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)", re.MULTILINE)


@dataclass
class Fault:
    """What to do instead of answering properly, for requests under /v1/ with this method."""

    status: int | None = None  # answer with this HTTP status and OPA's error object
    delay_s: float = 0.0  # wait this long before answering
    body: bytes | None = None  # answer 200 with these bytes (e.g. not JSON)
    method: str = "POST"  # "POST" (decisions), "GET" (the bundle check) or "*"


class OpaDataApi:
    """The REST API of an OPA server that loaded `policy_dir` as a bundle."""

    def __init__(self, policy_dir: Path | str, *, include_tests: bool = True) -> None:
        self.policy_dir = Path(policy_dir).resolve()
        self.include_tests = include_tests
        self.fault: Fault | None = None
        self.requests: list[str] = []  # "METHOD /path" of every request, in order
        self.queries: list[str] = []  # the query string of every request, in the same order
        self.url = ""  # set once served
        self._bundle = PolicyBundle.load(self.policy_dir)
        self._generation = 1
        # Touched only on the server's event-loop thread: a regorus engine is bound to its thread.
        self._engine: tuple[int, regorus.Engine] | None = None
        self.app = self._build_app()

    def reload(self, policy_dir: Path | str | None = None, *, include_tests: bool | None = None) -> None:
        """Read the policy directory again, as `opa run --watch` does after an edit, or serve another.

        Switching directories stands for an OPA restarted on other files; it saves tests a server.
        """
        if policy_dir is not None:
            self.policy_dir = Path(policy_dir).resolve()
        if include_tests is not None:
            self.include_tests = include_tests
        self._bundle = PolicyBundle.load(self.policy_dir)
        self._generation += 1

    # -- evaluation (on the event-loop thread) ---------------------------------------------------

    def _prototype(self) -> regorus.Engine:
        if self._engine is None or self._engine[0] != self._generation:
            generation = self._generation
            self._engine = (generation, compile_bundle(self._bundle, include_tests=self.include_tests))
        return self._engine[1]

    def _evaluate(self, path: str, input: Any, has_input: bool) -> tuple[bool, Any]:
        """(defined, value) of `data.<path>`; path segments as OPA reads them (numbers index arrays)."""
        ref = "data" + "".join(f"[{_segment(part)}]" for part in path.split("/") if part)
        engine = self._prototype().clone()
        try:
            if has_input:
                engine.set_input_json(json.dumps(input))
            results = engine.eval_query(ref)["result"]
        finally:
            del engine
        if not results:
            return False, None
        return True, results[0]["expressions"][0]["value"]

    # -- HTTP ------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            yield
            self._engine = None  # dropped on the loop thread, which built it

        app = FastAPI(lifespan=lifespan)

        @app.middleware("http")
        async def faults(request: Request, call_next: Any) -> Response:
            self.requests.append(f"{request.method} {request.url.path}")
            self.queries.append(request.url.query)
            fault = self.fault
            if fault is None or not request.url.path.startswith("/v1/"):
                return await call_next(request)
            if fault.method not in ("*", request.method):
                return await call_next(request)
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.status is not None:
                return _error(fault.status, "internal_error", "injected fault")
            if fault.body is not None:
                return Response(fault.body, media_type="application/json")
            return await call_next(request)

        # Handlers are async so they run on the loop thread, where the regorus engine lives.
        @app.get("/health")
        async def health() -> dict[str, Any]:
            return {}

        @app.get("/v1/policies")
        async def policies() -> dict[str, Any]:
            files = self._bundle.policy_files + (self._bundle.test_files if self.include_tests else [])
            return {
                "result": [
                    {"id": f"{self.policy_dir}/{f.path}", "raw": f.text, "ast": _ast_stub(f.text)}
                    for f in files
                ]
            }

        @app.get("/v1/data")
        @app.get("/v1/data/{path:path}")
        async def get_document(path: str = "") -> Response:
            return self._answer(path, None, has_input=False)

        @app.post("/v1/data")
        @app.post("/v1/data/{path:path}")
        async def post_document(request: Request, path: str = "") -> Response:
            raw = await request.body()
            body: Any = {}
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    return _error(400, "invalid_parameter", f"body contains malformed input document: {exc}")
            if not isinstance(body, dict):
                return _error(400, "invalid_parameter", "body contains malformed input document")
            answer = self._answer(path, body.get("input"), has_input="input" in body)
            if "input" not in body and answer.status_code == 200:
                content = json.loads(bytes(answer.body))
                content["warning"] = {
                    "code": "api_usage_warning",
                    "message": "'input' key missing from the request",
                }
                return JSONResponse(content)
            return answer

        return app

    def _answer(self, path: str, input: Any, *, has_input: bool) -> Response:
        try:
            defined, value = self._evaluate(path, input, has_input)
        except Exception as exc:  # regorus raises RuntimeError for evaluation errors
            return _error(500, "internal_error", engine_message(exc))
        return JSONResponse({"result": value} if defined else {})


def _segment(part: str) -> str:
    # OPA converts a path segment to an integer when it can, to index arrays.
    return part if part.isdigit() else json.dumps(part)


def _ast_stub(text: str) -> dict[str, Any]:
    match = _PACKAGE.search(text)
    names = match.group(1).split(".") if match else []
    path = [{"type": "var", "value": "data"}] + [{"type": "string", "value": n} for n in names]
    return {"package": {"path": path}}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


@contextmanager
def serve(policy_dir: Path | str, *, include_tests: bool = True) -> Iterator[OpaDataApi]:
    """Serve an `OpaDataApi` on 127.0.0.1, on a free port, from a background thread."""
    api = OpaDataApi(policy_dir, include_tests=include_tests)
    # Port 0: the kernel picks a free one. Binding here rather than handing uvicorn a socket keeps
    # asyncio's TCP_NODELAY (it sets it only on sockets it creates), without which every request
    # on a kept-alive connection waits some 40 ms for a delayed ACK.
    config = uvicorn.Config(
        api.app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the OPA test double did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    api.url = f"http://127.0.0.1:{port}"
    try:
        yield api
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
