"""The console's pages and forms under `/ui`: the same services as the API and the CLI, rendered.

GET routes render pages; POST routes act, each behind the session's CSRF token and the `Origin`
check (`sessions.py`), and answer with a redirect (303) to the page that shows the result, or the form
again with the service's refusal and its reasons. Every refusal is the service's or the policy's: a
route decides nothing of its own.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as Path_
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from gateway.contract import field_errors
from gateway.errors import AuthenticationError, FtgateError, InvalidInput
from gateway.models import DEFAULT_LICENCE, DatasetStatus, JobStatus, Role, Verdict
from gateway.runtime import Runtime
from gateway.scan_worker import ScanWorkers
from gateway.services import (
    adapters,
    audit,
    authz,
    catalog,
    datasets,
    job_reviews,
    jobs,
    lineage,
    tokens,
    users,
)
from gateway.services.adapters import ADAPTER_STATUSES
from gateway.ui import sessions, views
from gateway.ui.sessions import ConsoleSession

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
TEMPLATES.env.globals.update(age=views.age, pretty=views.pretty, compact=views.compact)
# Nothing but this server's own files; no inline script or style (SVG charts use attributes).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
EVENTS_POLL_S = 1.0  # how often a live page's event stream looks for new events
EVENTS_MAX_S = 3600.0  # one event stream's longest life; the browser reconnects after it

router = APIRouter(prefix="/ui", include_in_schema=False)


class SignInRequired(Exception):
    """No valid session: a page sends the browser to the sign-in form."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def console(request: Request, rt: RuntimeDep) -> ConsoleSession:
    with rt.session() as session:
        try:
            return sessions.read(rt, session, request.cookies.get(sessions.COOKIE))
        except AuthenticationError as exc:
            raise SignInRequired(exc.message) from None


Console = Annotated[ConsoleSession, Depends(console)]


def acting(
    request: Request,
    who: Console,
    csrf_token: Annotated[str | None, Form(max_length=128)] = None,
) -> ConsoleSession:
    """The session of a POST whose CSRF token and origin are this console's."""
    url = request.url
    sessions.check_origin(request.headers.get("origin"), request.headers.get("host"), url.scheme)
    sessions.check_csrf(who, csrf_token or request.headers.get(sessions.CSRF_HEADER))
    return who


Acting = Annotated[ConsoleSession, Depends(acting)]


def page(
    request: Request, who: ConsoleSession | None, template: str, code: int = 200, **context: Any
) -> HTMLResponse:
    """A page; for an htmx request its content alone (the layout `fragment.html`)."""
    context.update(
        request=request,
        layout="fragment.html" if request.headers.get("hx-request") else "base.html",
        who=who.user if who else None,
        csrf=who.csrf if who else "",
        csrf_field=sessions.CSRF_FIELD,
        roles=Role,
    )
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=code)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, exc: Exception) -> HTMLResponse:
    """A refusal under `/ui` that no form showed itself: a page with its message and reasons."""
    headings = {401: "Sign in first", 403: "Not allowed", 404: "Not found", 409: "Not now", 422: "Not valid"}
    refused = refusal(exc)
    return page(
        request,
        None,
        "error.html",
        refused["status"],
        refused=refused,
        heading=headings.get(refused["status"], "Refused"),
    )


def see_other(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


@contextmanager
def service(rt: Runtime) -> Iterator[Session]:
    """A transaction for one service call; a refusal is recorded in one of its own before it is raised
    (`services.decisions`), as the API's and the CLI's are."""
    with rt.session() as session:
        yield session


# What a service may refuse with: ftgate's one root, the audit package's errors (a log that does not
# verify) and the trainer's among them.
REFUSALS = (FtgateError,)


def refusal(exc: Exception) -> dict[str, Any]:
    """What a page shows of a refusal: the message, and the policy's reasons or the fields at fault."""
    if isinstance(exc, FtgateError):
        details = exc.details if isinstance(exc.details, dict) else {}
        reasons, errors = details.get("reasons") or [], details.get("errors") or []
        return {"message": exc.message, "reasons": reasons, "errors": errors, "status": exc.http_status}
    errors = field_errors(exc.errors()) if isinstance(exc, RequestValidationError) else []
    return {"message": "the form is not valid", "reasons": [], "errors": errors, "status": 422}


def attempt(rt: Runtime, call: Callable[[Session], Any]) -> tuple[Any, dict[str, Any] | None]:
    """Run a service call; its result, or None and the refusal to show."""
    try:
        with service(rt) as session:
            return call(session), None
    except REFUSALS as exc:
        return None, refusal(exc)


# --- sign-in -----------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path of this console: never another site (an open redirect)."""
    if not target:
        return "/ui/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return "/ui/"
    return target


@router.get("/login")
def login_form(
    request: Request,
    rt: RuntimeDep,
    next: Annotated[str | None, Query(max_length=512)] = None,
    reason: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    return page(request, None, "login.html", next=_safe_next(next), reason=reason, sso=_sso_name(rt))


@router.post("/login")
def login(
    request: Request,
    rt: RuntimeDep,
    token: Annotated[str, Form(min_length=1, max_length=256)],
    next: Annotated[str | None, Form(max_length=512)] = None,
) -> Response:
    sessions.check_origin(request.headers.get("origin"), request.headers.get("host"), request.url.scheme)
    try:
        with rt.session() as session:
            user, row = users.identify(rt=rt, session=session, token=token.strip())
    except AuthenticationError as exc:
        return page(
            request, None, "login.html", 401, next=_safe_next(next), error=exc.message, sso=_sso_name(rt)
        )
    response = see_other(_safe_next(next))
    _keep_session(request, rt, response, sessions.issue(rt, user, row))
    return response


def _keep_session(request: Request, rt: Runtime, response: Response, cookie: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        max_age=int(rt.settings.session_hours * 3600),
        path=sessions.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=sessions.secure_cookie(request.url.hostname, request.url.scheme),
    )


def _sso_name(rt: Runtime) -> str | None:
    """The provider's name when the console can sign in through it (FTGATE_OIDC_AUTHORIZATION_ENDPOINT)."""
    return rt.oidc.provider_name if rt.oidc is not None and rt.oidc.console else None


def _redirect_uri(request: Request, rt: Runtime) -> str:
    return rt.settings.oidc_redirect_uri or str(request.url_for("sso_callback"))


@router.get("/sso")
def sso_start(
    request: Request, rt: RuntimeDep, next: Annotated[str | None, Query(max_length=512)] = None
) -> Response:
    """Send the browser to the OpenID provider (authorization code flow with PKCE)."""
    if rt.oidc is None or not rt.oidc.console:
        error = "single sign-on is not configured here; sign in with your ftgate token"
        return page(request, None, "login.html", 404, next=_safe_next(next), error=error, sso=None)
    pending, cookie = sessions.start_sign_in(rt, _safe_next(next))
    url = rt.oidc.authorization_url(
        state=pending.state,
        nonce=pending.nonce,
        verifier=pending.verifier,
        redirect_uri=_redirect_uri(request, rt),
    )
    response = see_other(url)
    response.set_cookie(
        sessions.SSO_COOKIE,
        cookie,
        max_age=sessions.SSO_SECONDS,
        path=sessions.SSO_COOKIE_PATH,
        httponly=True,
        samesite="lax",  # it must come back with the provider's top-level redirect to the callback
        secure=sessions.secure_cookie(request.url.hostname, request.url.scheme),
    )
    return response


@router.get("/sso/callback", name="sso_callback")
def sso_callback(
    request: Request,
    rt: RuntimeDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_.\-]*$")] = None,
) -> Response:
    """Where the provider sends the browser back: the code is redeemed, its ID token checked (signature,
    issuer, audience, expiry, this sign-in's nonce), and the user signed in as the API would sign them in."""
    try:
        if rt.oidc is None or not rt.oidc.console:
            raise AuthenticationError("single sign-on is not configured here")
        pending = sessions.pending_sign_in(rt, request.cookies.get(sessions.SSO_COOKIE))
        if error:
            raise AuthenticationError(f"the provider did not sign you in ({error})")
        if not code or not state or not hmac.compare_digest(state, pending.state):
            raise AuthenticationError("the provider's answer is not for the sign-in this browser started")
        who = rt.oidc.redeem(
            code=code, verifier=pending.verifier, redirect_uri=_redirect_uri(request, rt), nonce=pending.nonce
        )
        with rt.session() as session:
            user = users.sso_user(session=session, who=who)
    except AuthenticationError as exc:
        response = page(request, None, "login.html", 401, next="/ui/", error=exc.message, sso=_sso_name(rt))
        response.delete_cookie(sessions.SSO_COOKIE, path=sessions.SSO_COOKIE_PATH)
        return response
    # A page rather than a redirect: the browser arrived here from the provider's site, and a browser
    # that counts a whole redirect chain as cross-site would not send the SameSite=Strict session cookie
    # on a redirect that follows; a navigation this page starts is same-site in every browser.
    response = page(request, None, "signed_in.html", next=pending.next)
    _keep_session(request, rt, response, sessions.issue(rt, user, None))
    response.delete_cookie(sessions.SSO_COOKIE, path=sessions.SSO_COOKIE_PATH)
    return response


@router.post("/logout")
def logout(who: Acting) -> Response:
    response = see_other("/ui/login")
    response.delete_cookie(sessions.COOKIE, path=sessions.COOKIE_PATH)
    return response


@router.get("/")
def home(who: Console) -> Response:
    """Each role's first page: the review queue, my work, the log, the users."""
    start = {
        Role.approver: "/ui/queue",
        Role.submitter: "/ui/datasets",
        Role.auditor: "/ui/audit",
        Role.admin: "/ui/admin",
    }
    return see_other(start.get(who.user.role, "/ui/datasets"))


# --- compliance: queue, dataset review, revocation ------------------------------------------------------


@router.get("/queue")
def queue(request: Request, rt: RuntimeDep, who: Console) -> HTMLResponse:
    with service(rt) as session:
        waiting = datasets.review_queue(rt=rt, session=session, actor=who.user)
        held = job_reviews.review_queue(rt=rt, session=session, actor=who.user)
    return page(request, who, "queue.html", datasets=waiting, jobs=held)


@router.get("/datasets")
def dataset_list(
    request: Request,
    rt: RuntimeDep,
    who: Console,
    status: DatasetStatus | None = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    with service(rt) as session:
        found = datasets.list_datasets(rt=rt, session=session, actor=who.user, status=status, after=after)
    template = "datasets_rows.html" if request.headers.get("hx-request") else "datasets.html"
    return page(request, who, template, found=found, status=status, statuses=list(DatasetStatus))


def _dataset_page(
    request: Request, rt: Runtime, who: ConsoleSession, dataset_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    with service(rt) as session:
        dataset = datasets.get_dataset(rt=rt, session=session, actor=who.user, dataset_id=dataset_id)
        detail = datasets.describe(session=session, actor=who.user, dataset=dataset)
        progress = (
            datasets.approval_progress(rt=rt, session=session, dataset=dataset)
            if dataset.redacted_sha256 is not None
            else None
        )
        admission = (
            datasets.admission_record(session=session, dataset=dataset) if dataset.decision_id else None
        )
        events = datasets.events_of(session=session, dataset=dataset)
        preview = datasets.trained_on(session=session, dataset=dataset)
    may = {
        action: datasets.permits(rt=rt, actor=who.user, dataset=dataset, action=f"datasets.{action}")
        for action in ("approve", "reject", "revoke", "download")
    }
    report = detail.scan_report or {}
    charts = [
        views.bar_chart("Values replaced, by entity type", report.get("entities", {})),
        views.bar_chart("Values replaced, by field path", report.get("fields", {})),
    ]
    samples = [{"sample": s, "fields": views.marked_fields(s)} for s in report.get("sample", [])]
    return page(
        request,
        who,
        "dataset.html",
        status,
        d=detail,
        report=report,
        charts=charts,
        samples=samples,
        progress=progress,
        admission=admission,
        events=events,
        may=may,
        preview=preview,
        reviewed=any(r.approver == who.user.name for r in detail.reviews),
        **extra,
    )


@router.get("/datasets/new")
def upload_form(request: Request, rt: RuntimeDep, who: Console) -> HTMLResponse:
    return page(request, who, "upload.html", licence=DEFAULT_LICENCE)


@router.get("/datasets/{dataset_id}")
def dataset_page(request: Request, rt: RuntimeDep, who: Console, dataset_id: str) -> HTMLResponse:
    return _dataset_page(request, rt, who, dataset_id)


@router.get("/datasets/{dataset_id}/progress")
def scan_progress(request: Request, rt: RuntimeDep, who: Console, dataset_id: str) -> Response:
    """What a scanning dataset's page polls: its scan events alone; once the scan has ended, an empty
    answer that tells htmx to reload the page (`HX-Refresh`), which then shows the report."""
    with service(rt) as session:
        dataset = datasets.get_dataset(rt=rt, session=session, actor=who.user, dataset_id=dataset_id)
        events = datasets.events_of(session=session, dataset=dataset)
    if dataset.status is not DatasetStatus.scanning:
        ended = Response(status_code=200, headers={"HX-Refresh": "true"})
        ended.headers.update(SECURITY_HEADERS)
        return ended
    return page(request, who, "scan_events.html", events=events)


@router.post("/datasets/{dataset_id}/review")
def review_dataset(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    dataset_id: str,
    verdict: Annotated[Verdict, Form()],
    note: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    _, refused = attempt(
        rt,
        lambda s: datasets.review_dataset(
            rt=rt, session=s, actor=who.user, dataset_id=dataset_id, verdict=verdict, note=note
        ),
    )
    if refused is not None:
        return _dataset_page(request, rt, who, dataset_id, refused["status"], refused=refused, note=note)
    return see_other(f"/ui/datasets/{quote(dataset_id)}?reviewed={verdict.value}")


@router.post("/datasets/{dataset_id}/revoke")
def revoke_dataset(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    dataset_id: str,
    note: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    _, refused = attempt(
        rt,
        lambda s: datasets.revoke_dataset(rt=rt, session=s, actor=who.user, dataset_id=dataset_id, note=note),
    )
    if refused is not None:
        return _dataset_page(request, rt, who, dataset_id, refused["status"], refused=refused)
    return see_other(f"/ui/datasets/{quote(dataset_id)}?revoked=1")


@router.get("/datasets/{dataset_id}/download")
def download_dataset(rt: RuntimeDep, who: Console, dataset_id: str) -> Response:
    with service(rt) as session:
        path = datasets.dataset_file(rt=rt, session=session, actor=who.user, dataset_id=dataset_id)
    data = path.read_bytes()
    return Response(
        data,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{dataset_id}.jsonl"', **SECURITY_HEADERS},
    )


# --- ML team: upload, submit, job pages ------------------------------------------------------------------


@router.post("/datasets")
def upload(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=1000)],
    purpose: Annotated[str, Form(max_length=1000)],
    classification: Annotated[str, Form(max_length=1000)],
    licence: Annotated[str, Form(max_length=1000)] = DEFAULT_LICENCE,
) -> Response:
    received, refused = attempt(
        rt,
        lambda s: datasets.receive_dataset(
            rt=rt,
            session=s,
            actor=who.user,
            source=file.file,
            name=name,
            purpose=purpose,
            classification=classification,
            licence=licence,
        ),
    )
    if refused is not None:
        form = {"name": name, "purpose": purpose, "classification": classification, "licence": licence}
        return page(
            request, who, "upload.html", code=refused["status"], refused=refused, form=form, licence=licence
        )
    workers: ScanWorkers = request.app.state.scan_workers
    workers.ensure()
    return see_other(f"/ui/datasets/{quote(received.id)}")


@router.get("/jobs")
def job_list(
    request: Request,
    rt: RuntimeDep,
    who: Console,
    status: JobStatus | None = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    with service(rt) as session:
        found = jobs.list_jobs(rt=rt, session=session, actor=who.user, status=status, after=after)
    template = "jobs_rows.html" if request.headers.get("hx-request") else "jobs.html"
    return page(request, who, template, found=found, status=status, statuses=list(JobStatus))


def _submit_page(
    request: Request, rt: Runtime, who: ConsoleSession, status: int = 200, **extra: Any
) -> HTMLResponse:
    with service(rt) as session:
        ready = datasets.list_datasets(rt=rt, session=session, actor=who.user, status=DatasetStatus.approved)
        models = catalog.list_models(rt=rt, session=session, actor=who.user)
    return page(request, who, "submit.html", code=status, ready=ready, models=models, **extra)


@router.get("/jobs/new")
def submit_form(
    request: Request,
    rt: RuntimeDep,
    who: Console,
    dataset: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    return _submit_page(
        request, rt, who, form={"dataset_id": dataset or "", "max_steps": 30, "max_seq_len": 512}
    )


@router.post("/jobs")
def submit(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    dataset_id: Annotated[str, Form(max_length=64)],
    base_model: Annotated[str, Form(max_length=64)],
    max_steps: Annotated[int, Form(ge=1, le=1_000_000)] = 30,
    max_seq_len: Annotated[int, Form(ge=1, le=1_000_000)] = 512,
    action: Annotated[str, Form(pattern="^(dry_run|submit)$")] = "dry_run",
) -> Response:
    form = {
        "dataset_id": dataset_id,
        "base_model": base_model,
        "max_steps": max_steps,
        "max_seq_len": max_seq_len,
    }
    try:
        config = jobs.parse_config({"max_steps": max_steps, "max_seq_len": max_seq_len})
    except InvalidInput as exc:
        return _submit_page(request, rt, who, status=422, form=form, refused=refusal(exc))
    result, refused = attempt(
        rt,
        lambda s: jobs.submit_job(
            rt=rt,
            session=s,
            actor=who.user,
            dataset_id=dataset_id,
            base_model=base_model,
            config=config,
            dry_run=action == "dry_run",
        ),
    )
    if refused is not None:
        return _submit_page(request, rt, who, status=refused["status"], form=form, refused=refused)
    if result.job is not None:
        return see_other(f"/ui/jobs/{quote(result.job.id)}")
    return _submit_page(
        request,
        rt,
        who,
        form=form,
        dry=result.decision,
        estimate=result.estimate,
        budget=_budget(result.estimate),
    )


def _budget(estimate: dict[str, Any]) -> dict[str, Any]:
    """The team's month in GPU-hours as a bar: committed before, this job, and (where the policy gives
    the monthly budget) what is left of it; a job past the budget runs over the end of the bar."""
    usage = estimate.get("team_usage") or {}
    used = float(usage.get("gpu_hours") or 0.0)
    job = float(estimate.get("gpu_hours") or 0.0)
    limit = estimate.get("team_budget") or {}
    monthly = float(limit["gpu_hours_per_month"]) if limit else None
    remaining = float(limit["remaining"]) if limit else None
    scale = 400 / max(used + job, monthly or 0.0, 1e-9)
    return {
        "month": usage.get("month", ""),
        "used": used,
        "job": job,
        "monthly": monthly,
        "remaining": remaining,
        "left_after": None if remaining is None else remaining - job,
        "used_px": round(used * scale),
        "job_px": max(1, round(job * scale)),
        "monthly_px": None if monthly is None else round(monthly * scale),
    }


def _job_page(
    request: Request, rt: Runtime, who: ConsoleSession, job_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    with service(rt) as session:
        job = jobs.get_job(rt=rt, session=session, actor=who.user, job_id=job_id)
        events = jobs.job_events(rt=rt, session=session, actor=who.user, job_id=job_id)
    steps = [
        (int(e.data["step"]), float(e.data["loss"])) for e in events if e.kind == "step" and "loss" in e.data
    ]
    evals = {e.data.get("phase"): e.data.get("loss") for e in events if e.kind == "eval"}
    samples = next((e.data.get("samples") for e in reversed(events) if e.kind == "samples"), None)
    may = {
        action: jobs.permits(rt=rt, actor=who.user, job=job, action=f"jobs.{action}")
        for action in ("approve", "reject", "cancel")
    }
    return page(
        request,
        who,
        "job.html",
        status,
        job=job,
        events=events,
        loss=views.line_chart("Training loss", steps),
        evals=evals,
        samples=samples or [],
        may=may,
        last_event=events[-1].id if events else 0,
        **extra,
    )


@router.get("/jobs/{job_id}")
def job_page(request: Request, rt: RuntimeDep, who: Console, job_id: str) -> HTMLResponse:
    return _job_page(request, rt, who, job_id)


@router.post("/jobs/{job_id}/review")
def review_job(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    job_id: str,
    verdict: Annotated[Verdict, Form()],
    note: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    _, refused = attempt(
        rt,
        lambda s: job_reviews.review_job(
            rt=rt, session=s, actor=who.user, job_id=job_id, verdict=verdict, note=note
        ),
    )
    if refused is not None:
        return _job_page(request, rt, who, job_id, refused["status"], refused=refused, note=note)
    return see_other(f"/ui/jobs/{quote(job_id)}")


@router.get("/jobs/{job_id}/events")
async def job_event_stream(
    request: Request, rt: RuntimeDep, who: Console, job_id: str, after: int = 0
) -> Response:
    """Server-sent events: each new job event as it is written (`event: job`, its JSON as data)."""
    with service(rt) as session:
        jobs.get_job(rt=rt, session=session, actor=who.user, job_id=job_id)  # authorized once, up front
    return StreamingResponse(
        _stream(rt, who, job_id, max(0, after)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(rt: Runtime, who: ConsoleSession, job_id: str, after: int) -> AsyncIterator[str]:
    waited = 0.0
    while waited < EVENTS_MAX_S:
        found = await asyncio.to_thread(_events_after, rt, who, job_id, after)
        for event in found:
            after = event["id"]
            yield f"id: {event['id']}\nevent: job\ndata: {json.dumps(event)}\n\n"
            if event["kind"] in ("succeeded", "failed", "cancelled"):
                return
        if not found:
            yield ": waiting\n\n"
        await asyncio.sleep(EVENTS_POLL_S)
        waited += EVENTS_POLL_S


def _events_after(rt: Runtime, who: ConsoleSession, job_id: str, after: int) -> list[dict[str, Any]]:
    with rt.session() as session:
        found = jobs.job_events(rt=rt, session=session, actor=who.user, job_id=job_id, after=after)
        return [{"id": e.id, "kind": e.kind, "time": e.time.isoformat(), "data": e.data} for e in found]


# --- auditor: log, verification, adapters, lineage -----------------------------------------------------


@router.get("/audit")
def audit_log(
    request: Request,
    rt: RuntimeDep,
    who: Console,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    subject: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    filters = {
        "action": action or "",
        "actor": actor or "",
        "subject": subject or "",
        "since": since or "",
        "until": until or "",
    }
    found, refused = attempt(
        rt,
        lambda s: audit.list_entries(
            rt=rt,
            session=s,
            actor=who.user,
            where=audit.EntryFilter(
                action=action or None,
                actor=actor or None,
                subject=subject or None,
                since=lineage.parse_time(since, "since") if since else None,
                until=lineage.parse_time(until, "until") if until else None,
            ),
            limit=50,
            after=after,
        ),
    )
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
    template = "audit_rows.html" if request.headers.get("hx-request") else "audit.html"
    return page(request, who, template, found=found, refused=refused, filters=filters, query=query)


@router.post("/audit/verify")
def verify_log(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    checkpoint: Annotated[str, Form(max_length=8192)] = "",
) -> HTMLResponse:
    """The verification badge: the whole log recomputed, and, with a checkpoint, consistency with it."""
    result, refused = attempt(
        rt,
        lambda s: audit.verify(rt=rt, session=s, actor=who.user, checkpoint_note=_note(checkpoint)),
    )
    return page(request, who, "verify_badge.html", result=result, refused=refused)


def _note(text: str) -> str | None:
    """A signed note as a textarea sends it back (CRLF line ends, maybe trimmed): LF, ending in one."""
    text = text.replace("\r\n", "\n").strip()
    return text + "\n" if text else None


@router.post("/audit/checkpoint")
def checkpoint(request: Request, rt: RuntimeDep, who: Acting) -> HTMLResponse:
    result, refused = attempt(rt, lambda s: audit.make_checkpoint(rt=rt, session=s, actor=who.user))
    return page(request, who, "checkpoint.html", result=result, refused=refused)


@router.get("/audit/state")
def log_state(
    request: Request, rt: RuntimeDep, who: Console, at: Annotated[str | None, Query(max_length=40)] = None
) -> HTMLResponse:
    state, refused = (None, None)
    if at:
        state, refused = attempt(rt, lambda s: lineage.log_state(rt=rt, session=s, actor=who.user, at=at))
    return page(
        request,
        who,
        "state.html",
        at=at or datetime.now().astimezone().isoformat(timespec="seconds"),
        state=state,
        refused=refused,
    )


@router.get("/adapters")
def adapter_list(
    request: Request,
    rt: RuntimeDep,
    who: Console,
    status: Annotated[str | None, Query(max_length=32)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    with service(rt) as session:
        found = adapters.list_adapters(
            rt=rt, session=session, actor=who.user, status=status or None, after=after
        )
    template = "adapters_rows.html" if request.headers.get("hx-request") else "adapters.html"
    return page(request, who, template, found=found, status=status, statuses=ADAPTER_STATUSES)


def _adapter_page(
    request: Request, rt: Runtime, who: ConsoleSession, adapter_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    with service(rt) as session:
        adapter = adapters.get_adapter(rt=rt, session=session, actor=who.user, adapter_id=adapter_id)
        may = {
            action: adapters.permits(rt=rt, session=session, actor=who.user, adapter=adapter, action=action)
            for action in ("adapters.release", "adapters.download", "audit.export")
        }
    graph, refused_lineage = None, None
    if may["audit.export"].allow:
        document, refused_lineage = attempt(
            rt,
            lambda s: audit.export_document(
                rt=rt, session=s, actor=who.user, adapter_id=adapter_id, fmt="json"
            ),
        )
        if document is not None:
            graph = views.lineage_graph(document.lineage.get("log", {}).get("entries", []))
    return page(
        request,
        who,
        "adapter.html",
        status,
        adapter=adapter,
        may=may,
        graph=graph,
        refused_lineage=refused_lineage,
        formats=audit.EXPORT_FORMATS,
        **extra,
    )


@router.get("/adapters/{adapter_id}")
def adapter_page(request: Request, rt: RuntimeDep, who: Console, adapter_id: str) -> HTMLResponse:
    return _adapter_page(request, rt, who, adapter_id)


@router.post("/adapters/{adapter_id}/release")
def release(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    adapter_id: str,
    note: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    _, refused = attempt(
        rt,
        lambda s: adapters.release_adapter(
            rt=rt, session=s, actor=who.user, adapter_id=adapter_id, note=note
        ),
    )
    if refused is not None:
        return _adapter_page(request, rt, who, adapter_id, refused["status"], refused=refused, note=note)
    return see_other(f"/ui/adapters/{quote(adapter_id)}")


@router.get("/adapters/{adapter_id}/export/{fmt}")
def export(rt: RuntimeDep, who: Console, adapter_id: str, fmt: str) -> Response:
    with service(rt) as session:
        document = audit.export_document(
            rt=rt, session=session, actor=who.user, adapter_id=adapter_id, fmt=fmt
        )
    suffix = {"text/html": "html", "application/x-ndjson": "jsonl"}.get(document.media_type, "json")
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{adapter_id}.{fmt}.{suffix}"',
            **SECURITY_HEADERS,
        },
    )


@router.get("/adapters/{adapter_id}/proof")
def proof(rt: RuntimeDep, who: Console, adapter_id: str) -> Response:
    with service(rt) as session:
        bundle = audit.proof_bundle(rt=rt, session=session, actor=who.user, adapter_id=adapter_id)
    return Response(
        json.dumps(bundle, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{adapter_id}.proof.json"',
            **SECURITY_HEADERS,
        },
    )


# --- admin -------------------------------------------------------------------------------------------


def _admin_page(
    request: Request, rt: Runtime, who: ConsoleSession, code: int = 200, **extra: Any
) -> HTMLResponse:
    people, refused = attempt(rt, lambda s: users.list_users(rt=rt, session=s, actor=who.user))
    with service(rt) as session:
        models = catalog.list_models(rt=rt, session=session, actor=who.user)
    may = {
        action: authz.permits(rt=rt, actor=who.user, action=name, resource_type=kind).allow
        for action, name, kind in (
            ("add_user", "users.add", "user"),
            ("add_model", "models.add", "model"),
            ("manage", "users.disable", "user"),
        )
    }
    return page(
        request,
        who,
        "admin.html",
        code,
        people=people,
        models=models,
        may=may,
        roles_list=list(Role),
        **{"refused": refused, **extra},
    )


@router.get("/admin")
def admin(request: Request, rt: RuntimeDep, who: Console) -> HTMLResponse:
    return _admin_page(request, rt, who)


@router.post("/admin/users")
def add_user(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    name: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form(max_length=64)],
    team: Annotated[str, Form(max_length=1000)] = "default",
) -> HTMLResponse:
    created, refused = attempt(
        rt, lambda s: users.add_user(rt=rt, session=s, actor=who.user, name=name, role=role, team=team)
    )
    if refused is not None:
        return _admin_page(request, rt, who, refused["status"], refused=refused)
    return _admin_page(request, rt, who, 201, created=created)


@router.post("/admin/users/{name}/{change}")
def change_user(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    name: Annotated[str, Path_(max_length=64)],
    change: Annotated[str, Path_(pattern="^(disable|enable|rotate)$")],
) -> HTMLResponse:
    """Disable or enable a user, or give them a new token (their old ones revoked), as the CLI does."""
    if change == "rotate":
        rotated, refused = attempt(rt, lambda s: tokens.rotate(rt=rt, session=s, actor=who.user, user=name))
        if refused is not None:
            return _admin_page(request, rt, who, refused["status"], refused=refused)
        return _admin_page(request, rt, who, rotated=rotated)
    disable = change == "disable"
    changed, refused = attempt(
        rt, lambda s: users.set_disabled(rt=rt, session=s, actor=who.user, name=name, disabled=disable)
    )
    if refused is not None:
        return _admin_page(request, rt, who, refused["status"], refused=refused)
    return _admin_page(request, rt, who, changed=changed)


@router.post("/admin/models")
def add_model(
    request: Request,
    rt: RuntimeDep,
    who: Acting,
    name: Annotated[str, Form(max_length=1000)],
    path: Annotated[str, Form(max_length=4096)],
) -> HTMLResponse:
    """Register a base model from a directory or GGUF file on the gateway's host (its weights hashed)."""
    added, refused = attempt(
        rt, lambda s: catalog.add_model(rt=rt, session=s, actor=who.user, name=name, path=Path(path))
    )
    if refused is not None:
        return _admin_page(request, rt, who, refused["status"], refused=refused)
    return _admin_page(request, rt, who, 201, added=added)
